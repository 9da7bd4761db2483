/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What crib-lxc's files share (crib-lxc.c: the command line and LXC
 * containers; attached.c: processes attached into a pod's container).
 * crib-lxc is a short-lived command: an error is crib_lxc_die's one line on
 * stderr (and in --log's file) and exit code 1, so these return only on
 * success.
 */
#ifndef CRIB_LXC_CRIB_LXC_H
#define CRIB_LXC_CRIB_LXC_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>
#include <lxc/attach_options.h>
#include <lxc/lxccontainer.h>

#include "lxcconf.h"

/* The global options: the class's, through the oci backend's runtime arguments. */
struct crib_lxc_opts {
	const char *root;     /* the lxcpath */
	const char *log;      /* errors go here too */
	bool system;          /* --system: CRI containers are system containers */
	const char *template; /* --template: their root filesystem is this LXC template's */
	const char *rootfs;   /* --rootfs: ... or an overlay of this directory */
	bool attach;          /* --attach: the pod's container is the system, CRI containers
	                         are processes attached into it */
	bool idmap;           /* --idmap HOST:SIZE: a user namespace per pod (idmap.h) */
	unsigned long idmap_host, idmap_size;
};

extern struct crib_lxc_opts crib_lxc_g;

void crib_lxc_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ROOT/ID (malloc'd); the make_ one creates it, mode 0700, if need be. */
char *crib_lxc_container_dir(const char *id);
char *crib_lxc_make_container_dir(const char *id);
/* liblxc's handle of container ID under ROOT; the caller puts it. */
struct lxc_container *crib_lxc_open_container(const char *id);
/* The JSON document at PATH; the caller decrefs it. */
json_t *crib_lxc_load_json(const char *path);
/* ROOT/ID/NAME (malloc'd). */
char *crib_lxc_file(const char *id, const char *name);
/* Points DIR/bundle at ABS_BUNDLE, for later commands. */
void crib_lxc_link_bundle(const char *dir, const char *abs_bundle);
/* Writes PID to PATH atomically. */
void crib_lxc_write_pid_file(const char *path, pid_t pid);
enum crib_lxc_cgroups crib_lxc_host_cgroups(void);

/* A new terminal whose master went to the console socket: the slave, the caller's. */
int crib_lxc_open_terminal(const char *socket_path);
/* Makes TTY the calling process's stdio and controlling terminal (a new session). */
void crib_lxc_take_terminal(int tty);
/* Leaves as the waited-for process did: its code, or killed by its signal. */
void crib_lxc_exit_like(int status) __attribute__((noreturn));
/* Waits for PID, a child, and leaves as it did. */
void crib_lxc_wait_and_exit_like(pid_t pid) __attribute__((noreturn));
/*
 * Applies the OCI linux.resources object RESOURCES to cgroup REL: converted
 * as LXC's keys are, written to REL's files.
 */
void crib_lxc_cg_limit(const char *rel, json_t *resources);
/*
 * Fills O from the spec's PROCESS: environment (*ret_env: a NULL-terminated
 * copy, the caller's), user, groups, working directory, no_new_privs.
 */
void crib_lxc_exec_options(json_t *process, lxc_attach_options_t *o, char ***ret_env);
/* Frees what crib_lxc_exec_options allocated: ENV and O's groups. */
void crib_lxc_exec_options_clear(lxc_attach_options_t *o, char **env);
/* Writes SYSCTL (an OCI linux.sysctl object) under ROOT/proc/sys. */
void crib_lxc_write_sysctls(const char *root, json_t *sysctl);
/* Removes PATH and everything below it; symlinks are not followed. */
void crib_lxc_remove_tree(const char *path);

#endif
