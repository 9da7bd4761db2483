/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI runtime spec (a bundle's config.json) of a pod's infra container and
 * of its application containers, generated from the CRI configs kubelet sent.
 */
#ifndef CRIB_OCI_SPEC_H
#define CRIB_OCI_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include <crib/backend.h>

#include "cri-api-v1.pb-c.h"

/*
 * What the node offers, which decides parts of a spec.  oci_host_features_probe()
 * fills it from /sys and /proc; tests set it by hand.
 */
struct oci_host_features {
	bool apparmor; /* /sys/kernel/security/apparmor exists */
	bool selinux;  /* selinuxfs is mounted (SELinux enabled) */
	bool cgroup2;  /* /sys/fs/cgroup is the unified hierarchy: containers get a cgroupns */
	unsigned cap_last_cap; /* the highest capability the kernel knows */
	uint64_t cap_bounding; /* cribd's own bounding set: no container gets more; 0: unknown */
};

void oci_host_features_probe(struct oci_host_features *ret);

/* Files of the pod that every container of it sees (NULL: not provided). */
struct oci_pod_files {
	const char *hostname;    /* bind-mounted at /etc/hostname */
	const char *hosts;       /* bind-mounted at /etc/hosts */
	const char *resolv_conf; /* bind-mounted at /etc/resolv.conf; NULL keeps the image's */
	const char *shm;         /* the pod's shared /dev/shm directory; NULL: a private tmpfs */
};

struct oci_sandbox_input {
	const Runtime__V1__PodSandboxConfig *pod;
	const char *sandbox_id; /* io.kubernetes.cri.sandbox-id, which gVisor and Kata read */
	const char *rootfs;     /* a directory holding the static infra binary as /pause */
	const char *netns_path; /* the network namespace to join; NULL: host network or a new one */
	const char *cgroups_path; /* linux.cgroupsPath */
	int own_oom_score_adj;    /* cribd's own; oom_score_adj is clamped to >= this */
	const struct oci_host_features *features; /* NULL: probed on each call */
};

/*
 * The pod's namespaces a container joins, as paths (/proc/PID/ns/net of an
 * infra process, or pinned namespace files).  Those of a namespace the pod
 * shares with the node are not read; pid is NULL unless the pod shares one.
 */
struct oci_pod_ns {
	const char *net;
	const char *uts;
	const char *ipc;
	const char *pid;
};

struct oci_container_input {
	const Runtime__V1__ContainerConfig *config;
	const Runtime__V1__PodSandboxConfig *pod;
	const char *sandbox_id;   /* the pod's id (io.kubernetes.cri.sandbox-id) */
	const char *image_config; /* the OCI image config document (JSON), or NULL */
	const char *rootfs;       /* the mounted root filesystem; image user names resolve in it */
	const char *cgroups_path; /* linux.cgroupsPath */
	struct oci_pod_ns ns;
	/*
	 * For namespace_options.pid TARGET: a process of the container named by
	 * target_id, whose pid namespace the container joins; 0 refuses TARGET.
	 */
	pid_t target_pid;
	struct oci_pod_files files;
	int own_oom_score_adj;
	const struct oci_host_features *features; /* NULL: probed on each call */
};

/*
 * Builds the infra container's config.json.  *ret is a new reference, the
 * caller's.  Errors (-errno, message through host->error_set) name the CRI field.
 */
int oci_spec_sandbox(const struct crib_host *host, const struct oci_sandbox_input *in, json_t **ret,
                     struct crib_error **reterr);

/* Builds an application container's config.json.  *ret is a new reference, the caller's. */
int oci_spec_container(const struct crib_host *host, const struct oci_container_input *in,
                       json_t **ret, struct crib_error **reterr);

/*
 * The OCI linux.resources object for CRI's LinuxContainerResources (create and
 * UpdateContainerResources); a new reference, the caller's.  R may be NULL (an
 * empty object).  OCI keeps oom_score_adj out of linux.resources (it is
 * process.oomScoreAdj): R's is only checked to be within [-1000, 1000], and
 * own_oom_score_adj is unused; an update applies oci_oom_score_adj() itself.
 */
int oci_spec_resources(const struct crib_host *host, const Runtime__V1__LinuxContainerResources *r,
                       int own_oom_score_adj, json_t **ret, struct crib_error **reterr);

/*
 * The pod's sysctls, checked as the infra spec checks them (namespaced, and
 * in a namespace the pod does not share with the node): *ret is a new JSON
 * object, name to value, the caller's.
 */
int oci_spec_pod_sysctls(const struct crib_host *host, const Runtime__V1__PodSandboxConfig *pod,
                         json_t **ret, struct crib_error **reterr);

/* R's oom_score_adj (0 without R) clamped to [max(own_oom_score_adj, -1000), 1000]. */
int oci_oom_score_adj(const Runtime__V1__LinuxContainerResources *r, int own_oom_score_adj);

#endif /* CRIB_OCI_SPEC_H */
