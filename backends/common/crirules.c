/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Knowledge of CRI configs that every backend applies the same way (see
 * crirules.h).  The messages name CRI's fields as kubelet's users know them;
 * tests of both backends check them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "crirules.h"
#include "util.h"

#define NS_POD  RUNTIME__V1__NAMESPACE_MODE__POD
#define NS_NODE RUNTIME__V1__NAMESPACE_MODE__NODE

#define RES "LinuxContainerResources"

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

const Runtime__V1__LinuxSandboxSecurityContext *
crib_cri_pod_sc(const Runtime__V1__PodSandboxConfig *pod)
{
	return pod->linux ? pod->linux->security_context : NULL;
}

const Runtime__V1__LinuxContainerSecurityContext *
crib_cri_container_sc(const Runtime__V1__ContainerConfig *cfg)
{
	return cfg->linux ? cfg->linux->security_context : NULL;
}

const Runtime__V1__LinuxContainerResources *
crib_cri_container_resources(const Runtime__V1__ContainerConfig *cfg)
{
	return cfg->linux ? cfg->linux->resources : NULL;
}

int crib_cri_check_privileged(const struct crib_host *host, const Runtime__V1__ContainerConfig *cfg,
                              const Runtime__V1__PodSandboxConfig *pod, struct crib_error **reterr)
{
	const Runtime__V1__LinuxContainerSecurityContext *sc = crib_cri_container_sc(cfg);
	const Runtime__V1__LinuxSandboxSecurityContext *psc = crib_cri_pod_sc(pod);

	if (sc && sc->privileged && !(psc && psc->privileged))
		return host->error_set(
		    reterr, EINVAL,
		    "ContainerConfig.linux.security_context.privileged: the pod is "
		    "not privileged");
	return 0;
}

int crib_cri_ns_modes(const struct crib_host *host, const Runtime__V1__NamespaceOption *o,
                      const char *field, struct crib_cri_ns_modes *ret, struct crib_error **reterr)
{
	if (!o) {
		*ret = (struct crib_cri_ns_modes){NS_POD, NS_POD, NS_POD};
		return 0;
	}
	if (o->network != NS_POD && o->network != NS_NODE)
		return host->error_set(reterr, ENOTSUP,
		                       "%s.namespace_options.network %d: only POD and NODE are "
		                       "supported",
		                       field, (int)o->network);
	if (o->ipc != NS_POD && o->ipc != NS_NODE)
		return host->error_set(
		    reterr, ENOTSUP, "%s.namespace_options.ipc %d: only POD and NODE are supported",
		    field, (int)o->ipc);
	if (o->userns_options && o->userns_options->mode != NS_NODE)
		return host->error_set(reterr, ENOTSUP,
		                       "%s.namespace_options.userns_options.mode %d: user "
		                       "namespaces are not supported",
		                       field, (int)o->userns_options->mode);
	*ret = (struct crib_cri_ns_modes){o->network, o->ipc, o->pid};
	return 0;
}

enum sysctl_ns {
	SYSCTL_NOT_NAMESPACED,
	SYSCTL_IPC,
	SYSCTL_NET, /* and kernel.domainname, whose UTS namespace goes with the network */
};

/* The namespace a sysctl belongs to, as runc (which refuses the others) sees it. */
static enum sysctl_ns sysctl_ns(const char *key)
{
	static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
	                                  "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
	                                  "kernel.shmmni", "kernel.shm_rmid_forced"};

	if (starts_with(key, "net.") || streq(key, "kernel.domainname"))
		return SYSCTL_NET;
	if (starts_with(key, "fs.mqueue."))
		return SYSCTL_IPC;
	for (size_t i = 0; i < ARRAY_SIZE(ipc); i++)
		if (streq(key, ipc[i]))
			return SYSCTL_IPC;
	/* kernel.hostname included: PodSandboxConfig.hostname sets it. */
	return SYSCTL_NOT_NAMESPACED;
}

int crib_cri_sysctl_check(const struct crib_host *host, const char *key,
                          const struct crib_cri_ns_modes *m, struct crib_error **reterr)
{
	enum sysctl_ns ns = sysctl_ns(key);

	if (ns == SYSCTL_NOT_NAMESPACED)
		return host->error_set(
		    reterr, EINVAL, "PodSandboxConfig.linux.sysctls '%s': not a namespaced sysctl",
		    key);
	if ((ns == SYSCTL_NET && m->network == NS_NODE) || (ns == SYSCTL_IPC && m->ipc == NS_NODE))
		return host->error_set(reterr, EINVAL,
		                       "PodSandboxConfig.linux.sysctls '%s': the pod shares this "
		                       "namespace with the node",
		                       key);
	return 0;
}

int crib_cri_check_id(const struct crib_host *host, int64_t v, const char *field, const char *what,
                      uint32_t *ret, struct crib_error **reterr)
{
	if (v < 0 || v >= (int64_t)UINT32_MAX)
		return host->error_set(reterr, EINVAL, "%s.%s %lld: not a valid id", field, what,
		                       (long long)v);
	if (ret)
		*ret = (uint32_t)v;
	return 0;
}

int crib_cri_env_string(const struct crib_host *host, const Runtime__V1__KeyValue *kv, size_t i,
                        char **ret, struct crib_error **reterr)
{
	const ProtobufCBinaryData *v = &kv->value;
	size_t key_len = strlen(kv->key);
	char *var;

	if (key_len == 0 || strchr(kv->key, '='))
		return host->error_set(reterr, EINVAL,
		                       "ContainerConfig.envs[%zu].key '%s': not a variable name", i,
		                       kv->key);
	if (v->len > 0 && memchr(v->data, '\0', v->len))
		return host->error_set(reterr, EINVAL,
		                       "ContainerConfig.envs[%zu].value of '%s': holds a NUL byte",
		                       i, kv->key);
	/* Sized by the client's value: no aborting allocation. */
	var = malloc(key_len + 1 + v->len + 1);
	if (!var)
		return host->error_set(reterr, ENOMEM, "Out of memory");
	memcpy(var, kv->key, key_len);
	var[key_len] = '=';
	if (v->len > 0)
		memcpy(var + key_len + 1, v->data, v->len);
	var[key_len + 1 + v->len] = '\0';
	*ret = var;
	return 0;
}

static int seccomp_localhost(const struct crib_host *host, const char *field, const char *key,
                             const char *path, struct crib_cri_seccomp *ret,
                             struct crib_error **reterr)
{
	if (isempty(path))
		return host->error_set(reterr, EINVAL, "%s.%s: empty for a Localhost profile",
		                       field, key);
	*ret =
	    (struct crib_cri_seccomp){.kind = CRIB_CRI_PROFILE_LOCALHOST, .path = path, .key = key};
	return 0;
}

int crib_cri_seccomp_profile(const struct crib_host *host, const char *field,
                             const Runtime__V1__SecurityProfile *p, const char *old,
                             struct crib_cri_seccomp *ret, struct crib_error **reterr)
{
	enum crib_cri_profile_kind kind = CRIB_CRI_PROFILE_DEFAULT;

	if (p) {
		switch (p->profile_type) {
		case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault:
			break;
		case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined:
			kind = CRIB_CRI_PROFILE_UNCONFINED;
			break;
		case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost:
			return seccomp_localhost(host, field, "seccomp.localhost_ref",
			                         p->localhost_ref, ret, reterr);
		default:
			return host->error_set(reterr, EINVAL,
			                       "%s.seccomp.profile_type %d: unknown", field,
			                       (int)p->profile_type);
		}
	} else if (isempty(old) || streq(old, "unconfined")) {
		kind = CRIB_CRI_PROFILE_UNCONFINED;
	} else if (starts_with(old, "localhost/")) {
		return seccomp_localhost(host, field, "seccomp_profile_path",
		                         old + strlen("localhost/"), ret, reterr);
	} else if (!streq(old, "runtime/default") && !streq(old, "docker/default")) {
		return host->error_set(reterr, EINVAL,
		                       "%s.seccomp_profile_path '%s': unknown profile", field, old);
	}
	*ret = (struct crib_cri_seccomp){.kind = kind};
	return 0;
}

int crib_cri_apparmor_profile(const struct crib_host *host, const char *field,
                              const Runtime__V1__SecurityProfile *p, const char *old,
                              const char **ret, struct crib_error **reterr)
{
	const char *name;

	if (p) {
		switch (p->profile_type) {
		case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault:
			*ret = NULL;
			return 0;
		case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined:
			name = "unconfined";
			break;
		case RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost:
			name = p->localhost_ref;
			break;
		default:
			return host->error_set(reterr, EINVAL,
			                       "%s.apparmor.profile_type %d: unknown", field,
			                       (int)p->profile_type);
		}
	} else if (isempty(old) || streq(old, "runtime/default")) {
		*ret = NULL;
		return 0;
	} else if (streq(old, "unconfined")) {
		name = old;
	} else if (starts_with(old, "localhost/")) {
		name = old + strlen("localhost/");
	} else {
		return host->error_set(reterr, EINVAL, "%s.apparmor_profile '%s': unknown profile",
		                       field, old);
	}
	if (isempty(name))
		return host->error_set(reterr, EINVAL,
		                       "%s.apparmor: a Localhost profile needs a name", field);
	*ret = name;
	return 0;
}

const char *crib_cri_propagation(Runtime__V1__MountPropagation p)
{
	switch (p) {
	case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE:
		return "rprivate";
	case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER:
		return "rslave";
	case RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL:
		return "rshared";
	default:
		return NULL;
	}
}

/* What a backend may lack of CRI mounts: recursive read-only mounts and mount options. */
static int check_mount_extras(const struct crib_host *host, size_t i, const Runtime__V1__Mount *m,
                              const char *unsupported_by, struct crib_error **reterr)
{
	if (!unsupported_by)
		return 0;
	if (m->recursive_read_only)
		return host->error_set(
		    reterr, ENOTSUP,
		    "ContainerConfig.mounts[%zu].recursive_read_only: not supported "
		    "by %s",
		    i, unsupported_by);
	if (m->n_mount_options > 0)
		return host->error_set(
		    reterr, ENOTSUP,
		    "ContainerConfig.mounts[%zu].mount_options: not supported by %s", i,
		    unsupported_by);
	return 0;
}

int crib_cri_check_mount(const struct crib_host *host, size_t i, const Runtime__V1__Mount *m,
                         const char *unsupported_by, struct crib_error **reterr)
{
	int r;

	if (m->image || !isempty(m->image_sub_path))
		return host->error_set(reterr, ENOTSUP,
		                       "ContainerConfig.mounts[%zu].image: image volumes are not "
		                       "supported",
		                       i);
	if (m->n_uidmappings > 0 || m->n_gidmappings > 0)
		return host->error_set(
		    reterr, ENOTSUP,
		    "ContainerConfig.mounts[%zu].uidMappings: ID-mapped mounts are "
		    "not supported",
		    i);
	r = check_mount_extras(host, i, m, unsupported_by, reterr);
	if (r < 0)
		return r;
	if (!crib_cri_propagation(m->propagation))
		return host->error_set(reterr, EINVAL,
		                       "ContainerConfig.mounts[%zu].propagation %d: unknown", i,
		                       (int)m->propagation);
	if (isempty(m->host_path))
		return host->error_set(reterr, EINVAL,
		                       "ContainerConfig.mounts[%zu].host_path: empty", i);
	return 0;
}

int crib_cri_device_access(const struct crib_host *host, size_t i, const Runtime__V1__Device *d,
                           const char **ret, struct crib_error **reterr)
{
	const char *access = isempty(d->permissions) ? "rwm" : d->permissions;

	if (strspn(access, "rwm") != strlen(access))
		return host->error_set(
		    reterr, EINVAL, "ContainerConfig.devices[%zu].permissions '%s': not of r, w, m",
		    i, access);
	*ret = access;
	return 0;
}

int crib_cri_check_memory(const struct crib_host *host,
                          const Runtime__V1__LinuxContainerResources *r, struct crib_error **reterr)
{
	if (r->memory_limit_in_bytes < 0)
		return host->error_set(reterr, EINVAL, RES ".memory_limit_in_bytes %lld: negative",
		                       (long long)r->memory_limit_in_bytes);
	if (r->memory_swap_limit_in_bytes < -1)
		return host->error_set(reterr, EINVAL,
		                       RES ".memory_swap_limit_in_bytes %lld: negative",
		                       (long long)r->memory_swap_limit_in_bytes);
	return 0;
}

int64_t crib_cri_swap_limit(const Runtime__V1__LinuxContainerResources *r)
{
	return r->memory_swap_limit_in_bytes ? r->memory_swap_limit_in_bytes
	                                     : r->memory_limit_in_bytes;
}

int crib_cri_check_oom_score_adj(const struct crib_host *host,
                                 const Runtime__V1__LinuxContainerResources *r,
                                 struct crib_error **reterr)
{
	if (r->oom_score_adj < -1000 || r->oom_score_adj > 1000)
		return host->error_set(reterr, EINVAL,
		                       RES ".oom_score_adj %lld: not within [-1000, 1000]",
		                       (long long)r->oom_score_adj);
	return 0;
}

int crib_cri_oom_score_adj(int64_t v, int own)
{
	int64_t floor = own > -1000 ? own : -1000;

	if (v < floor)
		v = floor;
	return (int)(v > 1000 ? 1000 : v);
}

/* ---- capabilities ---- */

#define CAP_NAME(cap) [cap] = #cap

static const char *const cap_names[] = {
    CAP_NAME(CAP_CHOWN),
    CAP_NAME(CAP_DAC_OVERRIDE),
    CAP_NAME(CAP_DAC_READ_SEARCH),
    CAP_NAME(CAP_FOWNER),
    CAP_NAME(CAP_FSETID),
    CAP_NAME(CAP_KILL),
    CAP_NAME(CAP_SETGID),
    CAP_NAME(CAP_SETUID),
    CAP_NAME(CAP_SETPCAP),
    CAP_NAME(CAP_LINUX_IMMUTABLE),
    CAP_NAME(CAP_NET_BIND_SERVICE),
    CAP_NAME(CAP_NET_BROADCAST),
    CAP_NAME(CAP_NET_ADMIN),
    CAP_NAME(CAP_NET_RAW),
    CAP_NAME(CAP_IPC_LOCK),
    CAP_NAME(CAP_IPC_OWNER),
    CAP_NAME(CAP_SYS_MODULE),
    CAP_NAME(CAP_SYS_RAWIO),
    CAP_NAME(CAP_SYS_CHROOT),
    CAP_NAME(CAP_SYS_PTRACE),
    CAP_NAME(CAP_SYS_PACCT),
    CAP_NAME(CAP_SYS_ADMIN),
    CAP_NAME(CAP_SYS_BOOT),
    CAP_NAME(CAP_SYS_NICE),
    CAP_NAME(CAP_SYS_RESOURCE),
    CAP_NAME(CAP_SYS_TIME),
    CAP_NAME(CAP_SYS_TTY_CONFIG),
    CAP_NAME(CAP_MKNOD),
    CAP_NAME(CAP_LEASE),
    CAP_NAME(CAP_AUDIT_WRITE),
    CAP_NAME(CAP_AUDIT_CONTROL),
    CAP_NAME(CAP_SETFCAP),
    CAP_NAME(CAP_MAC_OVERRIDE),
    CAP_NAME(CAP_MAC_ADMIN),
    CAP_NAME(CAP_SYSLOG),
    CAP_NAME(CAP_WAKE_ALARM),
    CAP_NAME(CAP_BLOCK_SUSPEND),
    CAP_NAME(CAP_AUDIT_READ),
    CAP_NAME(CAP_PERFMON),
    CAP_NAME(CAP_BPF),
    CAP_NAME(CAP_CHECKPOINT_RESTORE),
};

_Static_assert(ARRAY_SIZE(cap_names) <= 64, "capability masks are 64 bits");

unsigned crib_cri_cap_last_cap(void)
{
	_cleanup_close_ int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	char buf[16] = {0};
	unsigned v;

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0 || sscanf(buf, "%u", &v) != 1)
		return ARRAY_SIZE(cap_names) - 1;
	return v;
}

uint64_t crib_cri_cap_bounding(void)
{
	_cleanup_(fclosep) FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long v;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapBnd: %llx", &v) == 1)
			return v;
	return 0;
}

unsigned crib_cri_cap_count(void)
{
	return ARRAY_SIZE(cap_names);
}

const char *crib_cri_cap_name(unsigned cap)
{
	return cap < ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

int crib_cri_cap_parse(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (unsigned i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcasecmp(cap_names[i] + 4, name) == 0)
			return (int)i;
	return -1;
}
