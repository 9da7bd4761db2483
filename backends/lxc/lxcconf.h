/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An OCI runtime-spec config.json as liblxc configuration: the keys and
 * values crib-lxc sets on a container, in order, and what it runs.
 */
#ifndef CRIB_LXC_LXCCONF_H
#define CRIB_LXC_LXCCONF_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The cgroup of a container's monitor process (a printf format of its id). */
#define CRIB_LXC_MONITOR_CGROUP "crib.lxc/%s.monitor"

/* Where the host's cgroups are, which decides the lxc.cgroup keys. */
enum crib_lxc_cgroups {
	CRIB_LXC_CGROUP_V1, /* legacy or hybrid: lxc.cgroup.* */
	CRIB_LXC_CGROUP_V2, /* unified only: lxc.cgroup2.* */
};

struct crib_lxc_conf_in {
	const char *bundle;       /* relative paths in the spec are relative to it */
	const char *name;         /* the LXC container's name */
	const char *log_file;     /* lxc.log.file */
	const char *seccomp_file; /* the policy crib-lxc wrote for linux.seccomp, or NULL */
	const char *hook;         /* "CRIB_LXC_PATH hook BUNDLE": masks and read-only paths */
	const char *started_hook; /* "CRIB_LXC_PATH started DIR": records the init's pid */
	const char *devices_dir;  /* where device nodes for linux.devices are made */
	enum crib_lxc_cgroups cgroups;
	/* lxc.rootfs.path instead of root.path's snapshot: a template's or the class's, or NULL */
	const char *rootfs;
	/* With a user namespace: the empty "dir" and "file" LXC binds in place of bind mounts */
	const char *placeholders;
	/* A system container: /sbin/init instead of process.args, halted with SIGPWR */
	bool system;
};

struct crib_lxc_conf {
	char **keys; /* keys[i] = values[i], in the order LXC gets them */
	char **values;
	size_t n;
	char **argv; /* process.args, NULL-terminated */
	bool terminal;
	char *cgroup; /* cgroupsPath without its leading '/', or NULL */
};

/*
 * Fills OUT (cleared by crib_lxc_conf_clear) from SPEC.  Returns 0, or -EINVAL
 * with *ret_err (malloc'd) naming the field LXC cannot express.  Device nodes
 * are made later (crib_lxc_make_devices); this only reads.
 */
int crib_lxc_conf_from_oci(json_t *spec, const struct crib_lxc_conf_in *in,
                           struct crib_lxc_conf *out, char **ret_err);
void crib_lxc_conf_clear(struct crib_lxc_conf *c);

/* Whether JSON array ARRAY holds string S (a mount's options, a capability set). */
bool crib_lxc_strings_contain(json_t *array, const char *s);

/*
 * SPEC's linux.namespaces entry of TYPE ("network", "user"...) and its index
 * in *RET_INDEX (when not NULL), or NULL when it has none.
 */
json_t *crib_lxc_spec_ns(json_t *spec, const char *type, size_t *ret_index);
/* Whether SPEC puts the container in a user namespace. */
bool crib_lxc_has_user_ns(json_t *spec);

/*
 * The cgroup settings of an OCI linux.resources object, as cgroup file names
 * (no lxc.cgroup prefix) and values, for a running container's update.
 * Same contract as crib_lxc_conf_from_oci; only keys/values/n are filled.
 */
int crib_lxc_resources(json_t *resources, enum crib_lxc_cgroups cgroups, struct crib_lxc_conf *out,
                       char **ret_err);

/*
 * Makes the node of each linux.devices entry of SPEC under DIR (named by its
 * index), as the entries crib_lxc_conf_from_oci wrote bind.  Returns 0 or
 * -errno with *ret_err (malloc'd).
 */
int crib_lxc_make_devices(json_t *spec, const char *dir, char **ret_err);

#endif
