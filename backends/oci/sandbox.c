/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod sandboxes: the pod's namespaces, pinned to files or held by an infra
 * container running crib-pause (api/BACKENDS.md says when which), plus the
 * files every container of the pod mounts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cri-api-v1.pb-c.h"
#include "nspin.h"
#include "oci.h"
#include "spec.h"
#include "util.h"

/* The pod's /dev/shm, as Docker and containerd size it. */
#define POD_SHM_OPTIONS "mode=1777,size=67108864"

static Runtime__V1__NamespaceMode ns_mode(const Runtime__V1__PodSandboxConfig *cfg, char which)
{
	const Runtime__V1__NamespaceOption *o = NULL;

	if (cfg->linux && cfg->linux->security_context)
		o = cfg->linux->security_context->namespace_options;
	if (!o)
		return RUNTIME__V1__NAMESPACE_MODE__POD;
	return which == 'n' ? o->network : which == 'i' ? o->ipc : o->pid;
}

/* The pod's shared /dev/shm: a tmpfs of its own unless the pod uses the host's IPC. */
static int mount_shm(const char *dir)
{
	_cleanup_free_ char *shm = crib_xasprintf("%s/shm", dir);

	if (mkdir(shm, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, POD_SHM_OPTIONS) < 0)
		return -errno;
	return 0;
}

static void unmount_shm(const char *dir)
{
	_cleanup_free_ char *shm = crib_xasprintf("%s/shm", dir);

	(void)umount2(shm, MNT_DETACH);
}

/* kubelet's cgroup parent, else one of ours: containers go below it, pod stats read it. */
static char *pod_cgroup(const Runtime__V1__PodSandboxConfig *cfg, const char *id)
{
	if (cfg->linux && !isempty(cfg->linux->cgroup_parent))
		return crib_xstrdup(cfg->linux->cgroup_parent);
	return crib_xasprintf("/crib/pod-%.12s", id);
}

/*
 * Removes the pod cgroup we made (kubelet's parents are kubelet's): the
 * runtime deletes each container's cgroup, nobody else this one.
 */
static void remove_own_cgroup(const struct oci_state *st, const char *cgroup)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *e;
	char path[PATH_MAX];

	if (strncmp(cgroup, "/crib/pod-", 10) != 0)
		return;
	if (st->cg.mode == OCI_CG_V2) {
		if (oci_cg_path(&st->cg, NULL, cgroup, path, sizeof(path)) == 0)
			(void)rmdir(path);
		return;
	}
	d = opendir(st->cg.root);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    oci_cg_path(&st->cg, e->d_name, cgroup, path, sizeof(path)) == 0)
			(void)rmdir(path);
}

/* What the pinning thread does inside the pod's new namespaces. */
struct pin_setup {
	const char *netns;    /* joined first, for the net.* sysctls; NULL: the node's network */
	const char *hostname; /* NULL: the node's stays */
	json_t *sysctls;
	const char *failed;        /* the step that failed, for the message */
	const char *failed_sysctl; /* or the sysctl that could not be set */
};

static int write_sysctl(const char *key, const char *value)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "/proc/sys/%s", key);

	if (n < 0 || (size_t)n >= sizeof(path) || strstr(key, ".."))
		return -EINVAL;
	for (char *c = path + 10; *c; c++)
		if (*c == '.')
			*c = '/';
	return crib_write_proc(path, value);
}

static int pin_setup(void *ctx)
{
	struct pin_setup *s = ctx;
	const char *key;
	json_t *value;
	int fd, r = 0;

	if (s->netns) {
		fd = open(s->netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			r = -errno;
		if (fd >= 0)
			(void)close(fd);
		if (r < 0) {
			s->failed = "joining the network namespace";
			return r;
		}
	}
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0) {
		s->failed = "setting the host name";
		return -errno;
	}
	json_object_foreach(s->sysctls, key, value)
	{
		r = write_sysctl(key, json_string_value(value));
		if (r < 0) {
			s->failed_sysctl = key;
			return r;
		}
	}
	return 0;
}

/*
 * New UTS and IPC namespaces (unless the pod shares the node's), pinned in
 * <run_dir>/ns, with the pod's host name and sysctls set inside.
 */
static int pin_namespaces(struct oci_state *st, const struct crib_pod_spec *spec,
                          const Runtime__V1__PodSandboxConfig *cfg, struct crib_error **reterr)
{
	bool host_net = ns_mode(cfg, 'n') == RUNTIME__V1__NAMESPACE_MODE__NODE;
	bool host_ipc = ns_mode(cfg, 'i') == RUNTIME__V1__NAMESPACE_MODE__NODE;
	_cleanup_free_ char *dir = crib_xasprintf("%s/ns", st->host->run_dir);
	_cleanup_free_ char *uts = oci_pod_ns(st, spec->ref.id, "uts");
	_cleanup_free_ char *ipc = oci_pod_ns(st, spec->ref.id, "ipc");
	_cleanup_(json_decrefp) json_t *sysctls = NULL;
	struct pin_setup setup = {0};
	struct crib_ns_pin pins[2];
	const char *step = NULL;
	size_t n = 0;
	int r;

	r = oci_spec_pod_sysctls(st->host, cfg, &sysctls, reterr);
	if (r < 0)
		return r;
	if (!host_net && !spec->netns_path)
		return st->host->error_set(
		    reterr, EINVAL, "pod '%s' has no network namespace to join", spec->ref.id);
	if (!host_net)
		pins[n++] = (struct crib_ns_pin){CLONE_NEWUTS, uts};
	if (!host_ipc)
		pins[n++] = (struct crib_ns_pin){CLONE_NEWIPC, ipc};
	/* With the node's network and IPC no sysctl is allowed: nothing to do inside. */
	if (n == 0)
		return 0;
	r = crib_ns_private_dir(dir);
	if (r < 0)
		return st->host->error_set(reterr, -r, "cannot make %s a private mount point", dir);
	setup = (struct pin_setup){
	    .netns = host_net ? NULL : spec->netns_path,
	    .hostname = host_net || isempty(cfg->hostname) ? NULL : cfg->hostname,
	    .sysctls = sysctls,
	};
	r = crib_ns_pin(pins, n, pin_setup, &setup, &step);
	if (r < 0 && setup.failed_sysctl)
		return st->host->error_set(reterr, -r, "PodSandboxConfig.linux.sysctls '%s': %s",
		                           setup.failed_sysctl, strerror(-r));
	if (r < 0)
		return st->host->error_set(reterr, -r, "cannot %s of pod '%s'%s%s: %s", step,
		                           spec->ref.id, setup.failed ? " when " : "",
		                           setup.failed ? setup.failed : "", strerror(-r));
	return 0;
}

static void unpin_namespaces(struct oci_state *st, const char *id)
{
	_cleanup_free_ char *uts = oci_pod_ns(st, id, "uts");
	_cleanup_free_ char *ipc = oci_pod_ns(st, id, "ipc");

	(void)crib_ns_unpin(uts);
	(void)crib_ns_unpin(ipc);
}

/* Builds the infra bundle in DIR and has the runtime run it. */
static int start_infra(struct oci_state *st, const struct crib_pod_spec *spec,
                       const Runtime__V1__PodSandboxConfig *cfg, const char *dir,
                       struct oci_priv *p, struct crib_error **reterr)
{
	const struct oci_runtime *rt = oci_rt(spec->ref.cls);
	struct oci_sandbox_input in = {.pod = cfg,
	                               .sandbox_id = spec->ref.id,
	                               .features = &st->features,
	                               .rootfs = st->pause_root,
	                               .netns_path = spec->netns_path,
	                               .cgroups_path = NULL,
	                               .own_oom_score_adj = st->own_oom_score_adj};
	_cleanup_free_ char *cg = crib_xasprintf("%s/%s", p->cgroup, spec->ref.id);
	json_t *json = NULL;
	int r;

	in.cgroups_path = cg;
	r = oci_spec_sandbox(st->host, &in, &json, reterr);
	if (r < 0)
		return r;
	r = oci_write_config(st->host, oci_cls(spec->ref.cls), dir, json, reterr);
	json_decref(json);
	if (r < 0)
		return r;
	return oci_shim_run(st, rt, spec->ref.id, dir, NULL, 0, p, reterr);
}

/*
 * Removes whatever of the pod exists: infra container or pinned namespaces,
 * shm mount, files.  Idempotent.
 */
static int pod_teardown(struct oci_state *st, const struct crib_pod_ref *pod, const char *dir,
                        bool remove, struct crib_error **reterr)
{
	struct oci_priv p = {0};
	int r;

	/*
	 * Without a readable record there is no shim to stop, but maybe runtime
	 * state to delete; a pod whose namespaces are pinned has neither, which
	 * oci_kill_delete tells from the directory (no shim.pid).
	 */
	if (pod->priv)
		(void)oci_priv_parse(st->host, pod->priv, pod->priv_len, &p, NULL);
	r = oci_kill_delete(st, oci_rt(pod->cls), pod->id, dir, &p, reterr);
	if (r >= 0) {
		_cleanup_free_ char *ready = crib_xasprintf("%s/ready", dir);

		(void)unlink(ready);
		unpin_namespaces(st, pod->id);
	}
	unmount_shm(dir);
	if (r >= 0 && remove) {
		r = oci_rm_rf(dir);
		if (r < 0)
			r = st->host->error_set(reterr, -r, "cannot remove %s", dir);
		else if (p.cgroup)
			remove_own_cgroup(st, p.cgroup);
	}
	oci_priv_clear(&p);
	return r;
}

int oci_pod_run(void *state, struct crib_op *op, const struct crib_pod_spec *spec,
                struct crib_pod_result *ret, struct crib_error **reterr)
{
	struct oci_state *st = state;
	Runtime__V1__PodSandboxConfig *cfg;
	_cleanup_free_ char *dir = oci_dir(st, "pods", spec->ref.id);
	struct oci_priv p = {0};
	bool host_net;
	int r;

	(void)op;
	cfg = runtime__v1__pod_sandbox_config__unpack(NULL, spec->cri_config_len, spec->cri_config);
	if (!cfg)
		return st->host->error_set(reterr, EINVAL, "PodSandboxConfig cannot be decoded");
	host_net = ns_mode(cfg, 'n') == RUNTIME__V1__NAMESPACE_MODE__NODE;
	r = crib_mkdir_p(dir, 0700);
	if (r < 0) {
		r = st->host->error_set(reterr, -r, "cannot create %s", dir);
		goto out;
	}
	r = oci_write_pod_files(dir, cfg, host_net);
	if (r >= 0 && ns_mode(cfg, 'i') != RUNTIME__V1__NAMESPACE_MODE__NODE)
		r = mount_shm(dir);
	if (r < 0) {
		r = st->host->error_set(reterr, -r, "cannot prepare the files of pod '%s'",
		                        spec->ref.id);
		goto fail;
	}
	p.cgroup = pod_cgroup(cfg, spec->ref.id);
	if (oci_cls(spec->ref.cls)->infra ||
	    ns_mode(cfg, 'p') == RUNTIME__V1__NAMESPACE_MODE__POD) {
		r = start_infra(st, spec, cfg, dir, &p, reterr);
		if (r < 0)
			goto fail;
		oci_watch_add(st, spec->ref.id, true, dir, &p);
	} else {
		p.netns = crib_xstrdup(spec->netns_path);
		r = pin_namespaces(st, spec, cfg, reterr);
		if (r >= 0 && (r = oci_write_file(dir, "ready", "", 0)) < 0)
			r = st->host->error_set(reterr, -r, "cannot write %s/ready", dir);
		if (r < 0)
			goto fail;
	}
	oci_priv_encode(&p, &ret->priv);
	goto out;
fail : {
	struct crib_pod_ref ref = spec->ref;
	struct crib_blob b = {0};

	/* Tear down with what we learnt so far (an infra's shim may already run). */
	oci_priv_encode(&p, &b);
	ref.priv = b.data;
	ref.priv_len = b.len;
	pod_teardown(st, &ref, dir, true, NULL);
	free(b.data);
}
out:
	oci_priv_clear(&p);
	runtime__v1__pod_sandbox_config__free_unpacked(cfg, NULL);
	return r;
}

int oci_pod_stop(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                 struct crib_error **reterr)
{
	struct oci_state *st = state;
	_cleanup_free_ char *dir = oci_dir(st, "pods", pod->id);

	(void)op;
	return pod_teardown(st, pod, dir, false, reterr);
}

int oci_pod_remove(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                   struct crib_error **reterr)
{
	struct oci_state *st = state;
	_cleanup_free_ char *dir = oci_dir(st, "pods", pod->id);

	(void)op;
	return pod_teardown(st, pod, dir, true, reterr);
}

int oci_pod_status(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                   struct crib_pod_status *ret, struct crib_error **reterr)
{
	struct oci_state *st = state;
	struct oci_priv p;
	int r;

	(void)op;
	r = oci_priv_parse(st->host, pod->priv, pod->priv_len, &p, reterr);
	if (r < 0)
		return r;
	ret->state = oci_pod_ready(st, pod->id, &p) ? CRIB_POD_READY : CRIB_POD_NOTREADY;
	oci_priv_clear(&p);
	return 0;
}

bool oci_pod_ready(const struct oci_state *st, const char *pod_id, const struct oci_priv *p)
{
	_cleanup_free_ char *dir = NULL, *ready = NULL;
	int fd;

	if (p->shim > 0) {
		fd = oci_pidfd_checked(p->shim, p->shim_start);
		if (fd >= 0)
			close(fd);
		return fd >= 0;
	}
	dir = oci_dir(st, "pods", pod_id);
	ready = crib_xasprintf("%s/ready", dir);
	return access(ready, F_OK) == 0;
}

int oci_pod_stats(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                  struct crib_usage *ret, struct crib_error **reterr)
{
	struct oci_state *st = state;
	struct oci_priv p;
	int r;

	(void)op;
	r = oci_priv_parse(st->host, pod->priv, pod->priv_len, &p, reterr);
	if (r < 0)
		return r;
	r = oci_cg_usage(&st->cg, p.cgroup, ret);
	if (r == -ENOENT && p.shim == 0) {
		/* Without an infra container the cgroup appears with the first container. */
		ret->timestamp = crib_now_ns();
		r = 0;
	}
	if (r < 0)
		r = st->host->error_set(reterr, -r, "no usage for pod '%s' in cgroup %s", pod->id,
		                        p.cgroup);
	else if (p.pid > 0)
		(void)oci_cg_net(p.pid, ret);
	else if (p.netns)
		(void)oci_cg_net_ns(p.netns, ret);
	oci_priv_clear(&p);
	return r;
}
