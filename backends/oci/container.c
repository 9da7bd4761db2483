/* SPDX-License-Identifier: Apache-2.0 */
/* Containers: bundle, shim, runtime lifecycle, status, exec, stats, logs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cri-api-v1.pb-c.h"
#include "oci.h"
#include "spec.h"
#include "util.h"

/* How long ReopenContainerLog waits for the shim to say it reopened. */
#define REOPEN_TIMEOUT_MS 5000

/* "SIGTERM", "TERM", "15", "SIGRTMIN+3" → the number; 0 when unknown. */
static int signal_number(const char *name)
{
	char *end;
	long n;

	if (isempty(name))
		return 0;
	n = strtol(name, &end, 10);
	if (*end == '\0')
		return n > 0 && n < NSIG ? (int)n : 0;
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	if (strncmp(name, "RTMIN+", 6) == 0) {
		n = strtol(name + 6, &end, 10);
		return *end == '\0' && SIGRTMIN + n <= SIGRTMAX ? SIGRTMIN + (int)n : 0;
	}
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *abbrev = sigabbrev_np(sig);

		if (abbrev && streq(abbrev, name))
			return sig;
	}
	return 0;
}

/* CRI's stop_signal, else the image's StopSignal, else SIGTERM. */
static int stop_signal(const Runtime__V1__ContainerConfig *cfg, const char *image_config)
{
	int sig = 0;

	if (cfg->stop_signal != RUNTIME__V1__SIGNAL__SIGNAL_RUNTIME_DEFAULT) {
		const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		    &runtime__v1__signal__descriptor, cfg->stop_signal);

		/* Values are named SIGNAL_SIGTERM and so on. */
		if (v && strncmp(v->name, "SIGNAL_", 7) == 0)
			sig = signal_number(v->name + 7);
	}
	if (!sig && image_config) {
		json_t *o = json_loads(image_config, 0, NULL);
		json_t *s = json_object_get(json_object_get(o, "config"), "StopSignal");

		sig = signal_number(json_string_value(s));
		json_decref(o);
	}
	return sig ? sig : SIGTERM;
}

/* Everything create needs, decoded; freed by create_ctx_clear. */
struct create_ctx {
	Runtime__V1__ContainerConfig *cfg;
	Runtime__V1__PodSandboxConfig *pod_cfg;
	struct oci_priv pod;
	struct crib_rootfs rootfs;
	char *dir;
	char *pod_dir;
	char *files[4];
	char *ns[4]; /* the pod's namespaces: net, uts, ipc, pid */
};

static void create_ctx_clear(struct create_ctx *c)
{
	if (c->cfg)
		runtime__v1__container_config__free_unpacked(c->cfg, NULL);
	if (c->pod_cfg)
		runtime__v1__pod_sandbox_config__free_unpacked(c->pod_cfg, NULL);
	oci_priv_clear(&c->pod);
	free(c->rootfs.path);
	free(c->rootfs.upper);
	free(c->dir);
	free(c->pod_dir);
	for (int i = 0; i < 4; i++) {
		free(c->files[i]);
		free(c->ns[i]);
	}
}

/* Where the pod's namespaces are: its infra process's, else the pinned files. */
static struct oci_pod_ns pod_namespaces(const struct oci_state *st, const char *pod_id,
                                        struct create_ctx *c)
{
	static const char *const kinds[] = {"net", "uts", "ipc", "pid"};

	for (int i = 0; i < 4; i++)
		if (c->pod.pid > 0)
			c->ns[i] = crib_xasprintf("/proc/%d/ns/%s", (int)c->pod.pid, kinds[i]);
	if (c->pod.pid <= 0) {
		c->ns[0] = crib_xstrdup(c->pod.netns);
		c->ns[1] = oci_pod_ns(st, pod_id, "uts");
		c->ns[2] = oci_pod_ns(st, pod_id, "ipc");
	}
	return (struct oci_pod_ns){
	    .net = c->ns[0], .uts = c->ns[1], .ipc = c->ns[2], .pid = c->ns[3]};
}

static int decode_create(struct oci_state *st, const struct crib_container_spec *spec,
                         struct create_ctx *c, struct crib_error **reterr)
{
	c->cfg =
	    runtime__v1__container_config__unpack(NULL, spec->cri_config_len, spec->cri_config);
	if (!c->cfg)
		return st->host->error_set(reterr, EINVAL, "ContainerConfig cannot be decoded");
	c->pod_cfg = runtime__v1__pod_sandbox_config__unpack(NULL, spec->cri_pod_config_len,
	                                                     spec->cri_pod_config);
	if (!c->pod_cfg)
		return st->host->error_set(reterr, EINVAL, "PodSandboxConfig cannot be decoded");
	if (oci_priv_parse(st->host, spec->ref.pod.priv, spec->ref.pod.priv_len, &c->pod, reterr) <
	    0)
		return -EBADMSG;
	if (!oci_pod_ready(st, spec->ref.pod.id, &c->pod))
		return st->host->error_set(reterr, EBUSY, "pod sandbox '%s' is not running",
		                           spec->ref.pod.id);
	c->dir = oci_dir(st, "containers", spec->ref.id);
	c->pod_dir = oci_dir(st, "pods", spec->ref.pod.id);
	return 0;
}

/* A crib id: 64 lowercase hex digits, so safe as a path component. */
static bool is_id(const char *s)
{
	size_t n = 0;

	for (; s && s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

/* The pid of the container a TARGET pid namespace names (0: none, or not ours). */
static pid_t target_pid(const struct oci_state *st, const Runtime__V1__ContainerConfig *cfg)
{
	const Runtime__V1__NamespaceOption *o = NULL;
	_cleanup_free_ char *dir = NULL, *text = NULL;

	if (cfg->linux && cfg->linux->security_context)
		o = cfg->linux->security_context->namespace_options;
	if (!o || o->pid != RUNTIME__V1__NAMESPACE_MODE__TARGET || !is_id(o->target_id))
		return 0;
	dir = oci_dir(st, "containers", o->target_id);
	return oci_read_file(dir, "pid", &text) == 0 ? (pid_t)atoi(text) : 0;
}

static int write_bundle(struct oci_state *st, const struct crib_container_spec *spec,
                        struct create_ctx *c, struct oci_priv *p, struct crib_error **reterr)
{
	_cleanup_free_ char *shm = crib_xasprintf("%s/shm", c->pod_dir);
	struct oci_container_input in = {.config = c->cfg,
	                                 .pod = c->pod_cfg,
	                                 .sandbox_id = spec->ref.pod.id,
	                                 .features = &st->features,
	                                 .target_pid = target_pid(st, c->cfg),
	                                 .image_config = spec->image_config,
	                                 .rootfs = c->rootfs.path,
	                                 .cgroups_path = p->cgroup,
	                                 .ns = pod_namespaces(st, spec->ref.pod.id, c),
	                                 .own_oom_score_adj = st->own_oom_score_adj};
	json_t *json = NULL;
	int r;

	oci_pod_files(c->pod_dir, access(shm, F_OK) == 0, &in.files, c->files);
	r = oci_spec_container(st->host, &in, &json, reterr);
	if (r < 0)
		return r;
	r = oci_write_config(st->host, oci_cls(spec->ref.pod.cls), c->dir, json, reterr);
	json_decref(json);
	return r;
}

/* Undoes a create, or removes a container: runtime state, rootfs, directory. */
static int container_cleanup(struct oci_state *st, const struct crib_container_ref *ref,
                             const char *dir, const struct oci_priv *p, struct crib_error **reterr)
{
	int r = oci_kill_delete(st, oci_rt(ref->pod.cls), ref->id, dir, p, reterr);

	if (r < 0)
		return r;
	r = st->host->rootfs_release(st->host, ref->id, reterr);
	if (r < 0)
		return r;
	r = oci_rm_rf(dir);
	if (r < 0)
		return st->host->error_set(reterr, -r, "cannot remove %s", dir);
	return 0;
}

int oci_container_create(void *state, struct crib_op *op, const struct crib_container_spec *spec,
                         struct crib_container_result *ret, struct crib_error **reterr)
{
	struct oci_state *st = state;
	struct create_ctx c = {0};
	struct oci_priv p = {0};
	int r;

	(void)op;
	r = decode_create(st, spec, &c, reterr);
	if (r < 0)
		goto out;
	r = crib_mkdir_p(c.dir, 0700);
	if (r < 0) {
		r = st->host->error_set(reterr, -r, "cannot create %s", c.dir);
		goto out;
	}
	p.cgroup = crib_xasprintf("%s/%s", c.pod.cgroup, spec->ref.id);
	p.stop_signal = stop_signal(c.cfg, spec->image_config);
	p.log_path = crib_xstrdup(spec->log_path);
	p.stdin = c.cfg->stdin;
	p.stdin_once = c.cfg->stdin_once;
	p.tty = c.cfg->tty;
	r = st->host->rootfs_prepare(st->host, spec, &c.rootfs, reterr);
	if (r >= 0) {
		p.upper = crib_xstrdup(c.rootfs.upper);
		r = write_bundle(st, spec, &c, &p, reterr);
	}
	if (r < 0) {
		(void)container_cleanup(st, &spec->ref, c.dir, &p, NULL);
		goto out;
	}
	oci_priv_encode(&p, &ret->priv);
out:
	oci_priv_clear(&p);
	create_ctx_clear(&c);
	return r;
}

/* An existing container as its ops see it: our record of it and its directory. */
struct ctr {
	struct oci_state *st;
	char *dir;
	struct oci_priv p;
	int64_t started; /* ns; 0 until a shim ran the container */
};

static void ctr_clear(struct ctr *x)
{
	free(x->dir);
	oci_priv_clear(&x->p);
}

/*
 * Our record of a container: what create returned, and once it started the
 * monitor file its shim wrote (start returns nothing to cribd).
 */
static int ctr_load(struct oci_state *st, const char *dir, const void *priv, size_t len,
                    struct oci_priv *p, int64_t *ret_started, struct crib_error **reterr)
{
	int r = oci_priv_parse(st->host, priv, len, p, reterr);

	*ret_started = 0;
	if (r >= 0)
		(void)oci_monitor_read(dir, p, ret_started);
	return r;
}

/* Fills *x (cleared by ctr_clear, also on failure) from the ref cribd handed in. */
static int ctr_open(void *state, const struct crib_container_ref *c, struct ctr *x,
                    struct crib_error **reterr)
{
	*x = (struct ctr){.st = state};
	x->dir = oci_dir(x->st, "containers", c->id);
	return ctr_load(x->st, x->dir, c->priv, c->priv_len, &x->p, &x->started, reterr);
}

/*
 * The runtime creates and starts the container in one step here, not at
 * CreateContainer (as containerd does): one runtime process per container
 * rather than two ("create" and then "start"), which is most of pod-ready.
 */
int oci_container_start(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        struct crib_error **reterr)
{
	_cleanup_(ctr_clear) struct ctr x;
	char text[64];
	unsigned flags;
	int r;

	(void)op;
	r = ctr_open(state, c, &x, reterr);
	if (r < 0)
		return r;
	if (x.p.shim > 0)
		return x.st->host->error_set(reterr, EBUSY, "container '%s' was started already",
		                             c->id);
	flags = (x.p.stdin ? OCI_SHIM_STDIN : 0) | (x.p.tty ? OCI_SHIM_TTY : 0);
	r = oci_shim_run(x.st, oci_rt(c->pod.cls), c->id, x.dir, x.p.log_path, flags, &x.p, reterr);
	if (r >= 0) {
		oci_watch_add(x.st, c->id, false, x.dir, &x.p);
		return 0;
	}
	/* Exited, as cribd reports it (StartError), also after a restart. */
	(void)snprintf(text, sizeof(text), "128 %lld\n", (long long)crib_now_ns());
	(void)oci_write_file(x.dir, "exit", text, strlen(text));
	return r;
}

int oci_container_stop(void *state, struct crib_op *op, const struct crib_container_ref *c,
                       int64_t timeout_s, struct crib_error **reterr)
{
	_cleanup_(ctr_clear) struct ctr x;
	int r = ctr_open(state, c, &x, reterr);

	if (r < 0)
		return r;
	return oci_stop(x.st, op, oci_rt(c->pod.cls), c->id, x.dir, &x.p, x.p.stop_signal,
	                timeout_s, reterr);
}

int oci_container_remove(void *state, struct crib_op *op, const struct crib_container_ref *c,
                         struct crib_error **reterr)
{
	_cleanup_(ctr_clear) struct ctr x;

	(void)op;
	/* A record we cannot read still names a directory and a rootfs to clean. */
	(void)ctr_open(state, c, &x, NULL);
	return container_cleanup(x.st, c, x.dir, &x.p, reterr);
}

static const char *exit_reason(struct oci_state *st, const char *cgroup, int32_t code)
{
	uint64_t ooms = 0;

	if (cgroup && oci_cg_oom_kills(&st->cg, cgroup, &ooms) == 0 && ooms > 0)
		return "OOMKilled";
	return code == 0 ? "Completed" : "Error";
}

/* The state from the files the shim and container_start left. */
static void status_of(struct oci_state *st, const char *dir, const struct oci_priv *p,
                      int64_t started, struct crib_container_status *ret)
{
	int32_t code;
	int64_t at;
	int fd;

	ret->started_at = started;
	if (oci_exit_read(dir, &code, &at)) {
		ret->state = CRIB_CONTAINER_EXITED;
		ret->exit_code = code;
		ret->finished_at = at;
		ret->reason = crib_xstrdup(exit_reason(st, p->cgroup, code));
		return;
	}
	if (p->shim <= 0) {
		ret->state = CRIB_CONTAINER_CREATED;
		return;
	}
	fd = oci_pidfd_checked(p->shim, p->shim_start);
	if (fd < 0) {
		/* The monitor died without recording an exit (killed by hand, a reboot). */
		ret->state = CRIB_CONTAINER_EXITED;
		ret->exit_code = 255;
		ret->finished_at = crib_now_ns();
		ret->reason = crib_xstrdup("Unknown");
		ret->message = crib_xstrdup("the container's monitor process is gone");
		return;
	}
	close(fd);
	ret->state = CRIB_CONTAINER_RUNNING;
	ret->pid = p->pid;
}

/* Our record of C, which must be running (-EBUSY else), as ctr_open fills it. */
static int ctr_open_running(void *state, const struct crib_container_ref *c, struct ctr *x,
                            struct crib_error **reterr)
{
	struct crib_container_status s = {0};
	int r = ctr_open(state, c, x, reterr);

	if (r < 0)
		return r;
	status_of(x->st, x->dir, &x->p, x->started, &s);
	free(s.reason);
	free(s.message);
	if (s.state != CRIB_CONTAINER_RUNNING)
		return x->st->host->error_set(reterr, EBUSY, "container '%s' is not running",
		                              c->id);
	return 0;
}

int oci_container_running(struct oci_state *st, const struct crib_container_ref *c,
                          struct oci_priv *ret_p, char **ret_dir, struct crib_error **reterr)
{
	_cleanup_(ctr_clear) struct ctr x;
	int r = ctr_open_running(st, c, &x, reterr);

	if (r < 0)
		return r;
	*ret_p = x.p;
	x.p = (struct oci_priv){0};
	*ret_dir = TAKE_PTR(x.dir);
	return 0;
}

int oci_container_status(void *state, struct crib_op *op, const struct crib_container_ref *c,
                         struct crib_container_status *ret, struct crib_error **reterr)
{
	_cleanup_(ctr_clear) struct ctr x;
	int r;

	(void)op;
	r = ctr_open(state, c, &x, reterr);
	if (r < 0)
		return r;
	if (access(x.dir, F_OK) < 0)
		return x.st->host->error_set(reterr, ENOENT, "container '%s' is gone", c->id);
	status_of(x.st, x.dir, &x.p, x.started, ret);
	return 0;
}

void oci_reconcile_item(struct oci_state *st, struct crib_reconcile_item *it)
{
	bool pod = it->kind == CRIB_KIND_POD;
	_cleanup_free_ char *dir = oci_dir(st, pod ? "pods" : "containers", it->id);
	struct oci_priv p;
	int64_t started;
	int fd;

	if (access(dir, F_OK) < 0 ||
	    ctr_load(st, dir, it->priv, it->priv_len, &p, &started, NULL) < 0) {
		it->found = 0;
		return;
	}
	it->found = 1;
	fd = oci_pidfd_checked(p.shim, p.shim_start);
	if (pod) {
		it->pod.state = oci_pod_ready(st, it->id, &p) ? CRIB_POD_READY : CRIB_POD_NOTREADY;
	} else {
		status_of(st, dir, &p, started, &it->container);
	}
	/* A live shim gets watched again: its exit becomes an event as before the restart. */
	if (fd >= 0) {
		close(fd);
		oci_watch_add(st, it->id, pod, dir, &p);
	}
	oci_priv_clear(&p);
}

int oci_container_stats(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        struct crib_usage *ret, struct crib_error **reterr)
{
	_cleanup_(ctr_clear) struct ctr x;
	int r;

	(void)op;
	r = ctr_open(state, c, &x, reterr);
	if (r < 0)
		return r;
	r = oci_cg_usage(&x.st->cg, x.p.cgroup, ret);
	if (r == -ENOENT) {
		/* Created, not started yet (or gone): no cgroup, no usage, but it exists. */
		ret->timestamp = crib_now_ns();
		r = 0;
	} else if (r < 0) {
		r = x.st->host->error_set(reterr, -r, "cannot read the cgroup of '%s'", c->id);
	}
	if (r >= 0 && x.p.upper &&
	    oci_cg_fs_usage(x.p.upper, &ret->fs_used_bytes, &ret->fs_inodes_used) == 0) {
		ret->present |= CRIB_USAGE_FS;
		ret->fs_mountpoint = crib_xstrdup(x.p.upper);
	}
	return r;
}

static int read_counter(const char *dir)
{
	_cleanup_free_ char *text = NULL;

	return oci_read_file(dir, "reopened", &text) == 0 ? atoi(text) : 0;
}

int oci_container_reopen_log(void *state, struct crib_op *op, const struct crib_container_ref *c,
                             struct crib_error **reterr)
{
	_cleanup_(ctr_clear) struct ctr x;
	struct oci_state *st = state;
	const char *dir;
	int64_t deadline;
	int r, fd, before;

	(void)op;
	r = ctr_open(state, c, &x, reterr);
	if (r < 0)
		return r;
	dir = x.dir;
	fd = oci_pidfd_checked(x.p.shim, x.p.shim_start);
	if (fd < 0)
		return st->host->error_set(reterr, EBUSY, "container '%s' is not running", c->id);
	before = read_counter(dir);
	/* Through the pidfd: the signal cannot reach a process that reused the pid. */
	if (syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 0) < 0) {
		r = st->host->error_set(reterr, errno, "cannot signal the monitor of '%s'", c->id);
		close(fd);
		return r;
	}
	close(fd);
	deadline = crib_mono_ns() + (int64_t)REOPEN_TIMEOUT_MS * 1000000;
	while (read_counter(dir) == before) {
		if (crib_mono_ns() > deadline)
			return st->host->error_set(
			    reterr, ETIMEDOUT, "the monitor of '%s' did not reopen its log", c->id);
		usleep(2000);
	}
	return 0;
}

/*
 * OCI keeps oom_score_adj out of linux.resources, so no runtime's update
 * sets it: it is written to the container's init directly.  0 is proto3's
 * "not given" (crictl update sends it), so only other values are applied.
 */
static int update_oom_score_adj(struct ctr *x, const char *id,
                                const Runtime__V1__LinuxContainerResources *r,
                                struct crib_error **reterr)
{
	_cleanup_free_ char *path = NULL;
	char text[16];
	int e;

	if (r->oom_score_adj == 0 || x->p.pid <= 0)
		return 0;
	path = crib_xasprintf("/proc/%d/oom_score_adj", (int)x->p.pid);
	(void)snprintf(text, sizeof(text), "%d\n", oci_oom_score_adj(r, x->st->own_oom_score_adj));
	e = crib_write_proc(path, text);
	if (e < 0)
		return x->st->host->error_set(reterr, -e, "cannot set the oom_score_adj of '%s'",
		                              id);
	return 0;
}

/*
 * A container not started yet exists only as its bundle: the new resources go
 * into config.json, which the runtime reads when StartContainer runs it.
 */
static int update_bundle(struct ctr *x, const char *id, json_t *res,
                         const Runtime__V1__LinuxContainerResources *lr, struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/config.json", x->dir);
	_cleanup_free_ char *text = NULL;
	json_t *spec = json_load_file(path, 0, NULL);
	json_t *cur = json_object_get(json_object_get(spec, "linux"), "resources");
	int r = -EINVAL;

	if (json_is_object(cur) && json_object_update(cur, res) == 0) {
		if (lr->oom_score_adj != 0)
			(void)json_object_set_new(
			    json_object_get(spec, "process"), "oomScoreAdj",
			    json_integer(oci_oom_score_adj(lr, x->st->own_oom_score_adj)));
		text = json_dumps(spec, JSON_COMPACT);
		r = text ? oci_write_file(x->dir, "config.json", text, strlen(text)) : -ENOMEM;
	}
	json_decref(spec);
	if (r < 0)
		return x->st->host->error_set(reterr, -r, "cannot update the bundle of '%s'", id);
	return 0;
}

static int update_resources(struct ctr *x, const struct crib_container_ref *c,
                            const Runtime__V1__LinuxContainerResources *lr,
                            struct crib_error **reterr)
{
	_cleanup_(json_decrefp) json_t *res = NULL;
	_cleanup_free_ char *text = NULL, *file = NULL;
	int r;

	r = oci_spec_resources(x->st->host, lr, x->st->own_oom_score_adj, &res, reterr);
	if (r < 0)
		return r;
	if (x->p.shim <= 0)
		return update_bundle(x, c->id, res, lr, reterr);
	text = json_dumps(res, JSON_COMPACT);
	r = text ? oci_write_file(x->dir, "resources.json", text, strlen(text)) : -ENOMEM;
	if (r < 0)
		return x->st->host->error_set(reterr, -r, "cannot write the resources of '%s'",
		                              c->id);
	file = crib_xasprintf("%s/resources.json", x->dir);
	{
		const char *args[] = {"update", "--resources", file, c->id, NULL};

		r = oci_runtime_call(x->st->host, oci_rt(c->pod.cls), args, 0, NULL, reterr);
	}
	return r < 0 ? r : update_oom_score_adj(x, c->id, lr, reterr);
}

int oci_container_update(void *state, struct crib_op *op, const struct crib_container_ref *c,
                         const uint8_t *req, size_t req_len, struct crib_error **reterr)
{
	_cleanup_(ctr_clear) struct ctr x;
	Runtime__V1__UpdateContainerResourcesRequest *u;
	int r;

	(void)op;
	r = ctr_open(state, c, &x, reterr);
	if (r < 0)
		return r;
	u = runtime__v1__update_container_resources_request__unpack(NULL, req_len, req);
	if (!u)
		return x.st->host->error_set(reterr, EINVAL,
		                             "UpdateContainerResourcesRequest cannot be decoded");
	if (u->linux)
		r = update_resources(&x, c, u->linux, reterr);
	runtime__v1__update_container_resources_request__free_unpacked(u, NULL);
	return r;
}

/* On an ExecSync deadline: the exec'd process, not only the runtime's exec, must die. */
struct exec_kill {
	const char *pid_file_dir;
	const char *pid_file_name;
};

static void kill_exec(void *ctx)
{
	const struct exec_kill *k = ctx;
	_cleanup_free_ char *text = NULL;

	if (oci_read_file(k->pid_file_dir, k->pid_file_name, &text) == 0 && atoi(text) > 0)
		kill(atoi(text), SIGKILL);
}

static void blob_take(struct crib_blob *b, char **buf, size_t len)
{
	b->data = len ? TAKE_PTR(*buf) : NULL;
	b->len = len;
}

int oci_exec_sync(void *state, struct crib_op *op, const struct crib_exec_sync_args *args,
                  struct crib_exec_sync_result *ret, struct crib_error **reterr)
{
	struct oci_state *st = state;
	const struct crib_container_ref *c = &args->ref;
	_cleanup_(ctr_clear) struct ctr x;
	_cleanup_free_ char *pid_name = NULL, *pid_file = NULL;
	_cleanup_free_ const char **call = NULL, **argv = NULL;
	struct oci_proc_result res;
	struct exec_kill k;
	const char *dir;
	size_t n = 0;
	int r;

	(void)op;
	r = ctr_open_running(state, c, &x, reterr);
	if (r < 0)
		return r;
	dir = x.dir;
	pid_name = crib_xasprintf("exec-%lld.pid", (long long)crib_mono_ns());
	pid_file = crib_xasprintf("%s/%s", dir, pid_name);
	call = crib_xcalloc(args->argc + 5, sizeof(*call));
	call[n++] = "exec";
	call[n++] = "--pid-file";
	call[n++] = pid_file;
	call[n++] = c->id;
	for (size_t i = 0; i < args->argc; i++)
		call[n++] = args->argv[i];
	argv = oci_runtime_argv(oci_rt(c->pod.cls), call);
	k = (struct exec_kill){.pid_file_dir = dir, .pid_file_name = pid_name};
	r = oci_proc_run(argv, args->timeout_s * 1000, CRIB_EXEC_OUTPUT_MAX, kill_exec, &k, &res);
	(void)unlink(pid_file);
	if (r < 0)
		return st->host->error_set(reterr, -r, "cannot run %s exec",
		                           oci_rt(c->pod.cls)->binary);
	if (res.timed_out) {
		r = st->host->error_set(reterr, ETIMEDOUT, "command timed out after %llds",
		                        (long long)args->timeout_s);
	} else {
		ret->exit_code = oci_exit_code(res.status);
		blob_take(&ret->out, &res.out, res.out_len);
		blob_take(&ret->err, &res.err, res.err_len);
	}
	oci_proc_result_clear(&res);
	return r;
}
