/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Knowledge of CRI configs that every backend applies the same way, whatever
 * it makes of them (an OCI spec, an Engine create body): which namespace
 * modes a pod may ask for, which sysctls a pod may set, which seccomp and
 * AppArmor profiles a security context names, what makes a valid id,
 * environment variable, mount, device or resource limit.  Each check
 * refuses a config with the same message, naming the same CRI field, on
 * every backend.  Backends compile this file in; it builds no JSON, so that
 * each backend keeps its own document and its own way of reporting the
 * fields it writes.
 *
 * Every function that can fail returns 0 or -errno and sets *reterr through
 * host->error_set() on failure; ret_* parameters are written only on success.
 */
#ifndef CRIB_COMMON_CRIRULES_H
#define CRIB_COMMON_CRIRULES_H

#include <stddef.h>
#include <stdint.h>

#include <crib/backend.h>

#include "cri-api-v1.pb-c.h"

/*
 * The sandbox only waits for signals: the last of the pod to be OOM-killed,
 * the least CPU weight (containerd's and cri-dockerd's choice alike).
 */
#define CRIB_CRI_SANDBOX_OOM_SCORE_ADJ (-998)
#define CRIB_CRI_SANDBOX_CPU_SHARES    2

/* Where a config keeps its Linux security context or resources: NULL without a Linux part. */
const Runtime__V1__LinuxSandboxSecurityContext *
crib_cri_pod_sc(const Runtime__V1__PodSandboxConfig *pod);
const Runtime__V1__LinuxContainerSecurityContext *
crib_cri_container_sc(const Runtime__V1__ContainerConfig *cfg);
const Runtime__V1__LinuxContainerResources *
crib_cri_container_resources(const Runtime__V1__ContainerConfig *cfg);

/* CRI: a privileged container needs a pod that was created expecting one (EINVAL). */
int crib_cri_check_privileged(const struct crib_host *host, const Runtime__V1__ContainerConfig *cfg,
                              const Runtime__V1__PodSandboxConfig *pod, struct crib_error **reterr);

/* The network, IPC and PID modes of a pod or container (kubelet sets them per pod). */
struct crib_cri_ns_modes {
	Runtime__V1__NamespaceMode network;
	Runtime__V1__NamespaceMode ipc;
	Runtime__V1__NamespaceMode pid;
};

/*
 * The modes of O (NULL: all POD), for FIELD, the security context that holds
 * it.  Network and IPC are the pod's or the node's (kubelet sets nothing
 * else), and there are no user namespaces: anything else is ENOTSUP.  The pid
 * mode is passed on unchecked, for the caller to judge.
 */
int crib_cri_ns_modes(const struct crib_host *host, const Runtime__V1__NamespaceOption *o,
                      const char *field, struct crib_cri_ns_modes *ret, struct crib_error **reterr);

/*
 * Whether the pod, with the modes M, may set the sysctl KEY: it must be in a
 * namespace runc knows (it refuses the others), and in one the pod does not
 * share with the node, or it would change the node.  EINVAL otherwise.
 */
int crib_cri_sysctl_check(const struct crib_host *host, const char *key,
                          const struct crib_cri_ns_modes *m, struct crib_error **reterr);

/*
 * Checks V, the user or group id at FIELD.WHAT, to fit a uid_t other than
 * (uid_t)-1, and stores it in *ret when ret is not NULL.
 */
int crib_cri_check_id(const struct crib_host *host, int64_t v, const char *field, const char *what,
                      uint32_t *ret, struct crib_error **reterr);

/*
 * The variable "KEY=value" of KV, ContainerConfig.envs[I], whose value is
 * bytes.  *ret is malloc'd; the caller owns it.
 */
int crib_cri_env_string(const struct crib_host *host, const Runtime__V1__KeyValue *kv, size_t i,
                        char **ret, struct crib_error **reterr);

/* What a security profile asks for. */
enum crib_cri_profile_kind {
	CRIB_CRI_PROFILE_DEFAULT,    /* the runtime's default profile */
	CRIB_CRI_PROFILE_UNCONFINED, /* none */
	CRIB_CRI_PROFILE_LOCALHOST,  /* a profile from a file on the node */
};

struct crib_cri_seccomp {
	enum crib_cri_profile_kind kind;
	/*
	 * LOCALHOST only: the profile's file (not empty), and the CRI field
	 * under the security context that named it ("seccomp.localhost_ref" or
	 * "seccomp_profile_path").
	 */
	const char *path;
	const char *key;
};

/*
 * The seccomp profile of the security context FIELD: P wins over OLD, the
 * deprecated seccomp_profile_path string ("runtime/default",
 * "docker/default", "unconfined" or "localhost/<path>"); neither set means
 * unconfined, as CRI defines it.  ret->path is P's or OLD's.
 */
int crib_cri_seccomp_profile(const struct crib_host *host, const char *field,
                             const Runtime__V1__SecurityProfile *p, const char *old,
                             struct crib_cri_seccomp *ret, struct crib_error **reterr);

/*
 * The AppArmor profile to ask for, from P or else OLD, the deprecated string
 * form, of the security context FIELD: "unconfined" or a Localhost profile's
 * name, or NULL for RuntimeDefault and no profile at all, whose meaning is
 * the backend's.  *ret is P's, OLD's or static.
 */
int crib_cri_apparmor_profile(const struct crib_host *host, const char *field,
                              const Runtime__V1__SecurityProfile *p, const char *old,
                              const char **ret, struct crib_error **reterr);

/* The mount propagation P as a mount option ("rprivate", "rslave", "rshared"), or NULL. */
const char *crib_cri_propagation(Runtime__V1__MountPropagation p);

/*
 * Checks M, ContainerConfig.mounts[I]: a bind mount of a host path, with a
 * known propagation, and none of what crib does not offer (image volumes,
 * ID-mapped mounts).  UNSUPPORTED_BY, when not NULL, names what also lacks
 * recursive read-only mounts and mount options, which are then refused
 * (ENOTSUP) "not supported by UNSUPPORTED_BY".
 */
int crib_cri_check_mount(const struct crib_host *host, size_t i, const Runtime__V1__Mount *m,
                         const char *unsupported_by, struct crib_error **reterr);

/*
 * The cgroup access ("rwm" or a part of it) of D, ContainerConfig.devices[I]:
 * its permissions, or all of them when unset.  *ret is D's or static.
 */
int crib_cri_device_access(const struct crib_host *host, size_t i, const Runtime__V1__Device *d,
                           const char **ret, struct crib_error **reterr);

/* Checks R's memory and swap limits to be none (0), a limit, or for swap -1 (no limit). */
int crib_cri_check_memory(const struct crib_host *host,
                          const Runtime__V1__LinuxContainerResources *r,
                          struct crib_error **reterr);

/*
 * The swap limit R means: the one given, or without one the memory limit
 * (no swap), as containerd and cri-dockerd do it.
 */
int64_t crib_cri_swap_limit(const Runtime__V1__LinuxContainerResources *r);

/* Checks R's oom_score_adj to be within the kernel's [-1000, 1000]. */
int crib_cri_check_oom_score_adj(const struct crib_host *host,
                                 const Runtime__V1__LinuxContainerResources *r,
                                 struct crib_error **reterr);

/*
 * V clamped to [max(OWN, -1000), 1000], where OWN is cribd's own score:
 * lowering a score below one's own needs CAP_SYS_RESOURCE, which root lacks
 * on some nodes, and the start would fail.
 */
int crib_cri_oom_score_adj(int64_t v, int own);

/*
 * Capabilities by number, as <linux/capability.h> has them: the names
 * ("CAP_CHOWN") of the ones crib knows, crib_cri_cap_count() of them, NULL
 * beyond.  cribd's own bounding set (CapBnd of /proc/self/status; 0 when
 * unreadable) and the kernel's last capability bound what a container can
 * get: root can lack some (no CAP_SYS_RESOURCE in some VMs), and runtimes
 * then fail a container that asks for them instead of dropping them.
 */
unsigned crib_cri_cap_count(void);
const char *crib_cri_cap_name(unsigned cap);
/* The number of "NET_ADMIN", "net_admin" or "CAP_NET_ADMIN"; -1 when crib does not know it. */
int crib_cri_cap_parse(const char *name);
uint64_t crib_cri_cap_bounding(void);
unsigned crib_cri_cap_last_cap(void);

#endif /* CRIB_COMMON_CRIRULES_H */
