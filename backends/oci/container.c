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

static void fill_pod_files(const char *pod_dir, bool shared_shm, struct oci_pod_files *f,
                           char *paths[4])
{
	paths[0] = crib_xasprintf("%s/hostname", pod_dir);
	paths[1] = crib_xasprintf("%s/hosts", pod_dir);
	paths[2] = crib_xasprintf("%s/resolv.conf", pod_dir);
	paths[3] = shared_shm ? crib_xasprintf("%s/shm", pod_dir) : NULL;
	*f = (struct oci_pod_files){
	    .hostname = paths[0], .hosts = paths[1], .resolv_conf = paths[2], .shm = paths[3]};
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
	for (int i = 0; i < 4; i++)
		free(c->files[i]);
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
	if (oci_proc_start_time(c->pod.shim) != c->pod.shim_start)
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
	                                 .infra_pid = c->pod.pid,
	                                 .own_oom_score_adj = st->own_oom_score_adj};
	json_t *json = NULL;
	int r;

	fill_pod_files(c->pod_dir, access(shm, F_OK) == 0, &in.files, c->files);
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
	r = st->host->rootfs_prepare(st->host, spec, &c.rootfs, reterr);
	if (r >= 0) {
		p.upper = crib_xstrdup(c.rootfs.upper);
		r = write_bundle(st, spec, &c, &p, reterr);
	}
	if (r >= 0)
		r = oci_shim_create(st, oci_rt(spec->ref.pod.cls), spec->ref.id, c.dir,
		                    spec->log_path, &p, reterr);
	if (r < 0) {
		(void)container_cleanup(st, &spec->ref, c.dir, &p, NULL);
		goto out;
	}
	oci_watch_add(st, spec->ref.id, false, c.dir, &p);
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
};

static void ctr_clear(struct ctr *x)
{
	free(x->dir);
	oci_priv_clear(&x->p);
}

/* Fills *x (cleared by ctr_clear, also on failure) from the ref cribd handed in. */
static int ctr_open(void *state, const struct crib_container_ref *c, struct ctr *x,
                    struct crib_error **reterr)
{
	*x = (struct ctr){.st = state};
	x->dir = oci_dir(x->st, "containers", c->id);
	return oci_priv_parse(x->st->host, c->priv, c->priv_len, &x->p, reterr);
}

int oci_container_start(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        struct crib_error **reterr)
{
	const char *args[] = {"start", c->id, NULL};
	_cleanup_(ctr_clear) struct ctr x;
	char now[32];
	int r;

	(void)op;
	r = ctr_open(state, c, &x, reterr);
	if (r < 0)
		return r;
	snprintf(now, sizeof(now), "%lld\n", (long long)crib_now_ns());
	r = oci_runtime_call(x.st->host, oci_rt(c->pod.cls), args, 0, NULL, reterr);
	if (r >= 0 && oci_write_file(x.dir, "started", now, strlen(now)) < 0)
		r = x.st->host->error_set(reterr, errno, "cannot record the start of '%s'", c->id);
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

static int64_t read_started(const char *dir)
{
	_cleanup_free_ char *text = NULL;

	return oci_read_file(dir, "started", &text) == 0 ? strtoll(text, NULL, 10) : 0;
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
                      struct crib_container_status *ret)
{
	int32_t code;
	int64_t at;
	int fd;

	ret->started_at = read_started(dir);
	if (oci_exit_read(dir, &code, &at)) {
		ret->state = CRIB_CONTAINER_EXITED;
		ret->exit_code = code;
		ret->finished_at = at;
		ret->reason = crib_xstrdup(exit_reason(st, p->cgroup, code));
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
	ret->state = ret->started_at ? CRIB_CONTAINER_RUNNING : CRIB_CONTAINER_CREATED;
	ret->pid = p->pid;
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
	status_of(x.st, x.dir, &x.p, ret);
	return 0;
}

void oci_reconcile_item(struct oci_state *st, struct crib_reconcile_item *it)
{
	bool pod = it->kind == CRIB_KIND_POD;
	_cleanup_free_ char *dir = oci_dir(st, pod ? "pods" : "containers", it->id);
	struct oci_priv p;
	int fd;

	if (access(dir, F_OK) < 0 ||
	    oci_priv_parse(st->host, it->priv, it->priv_len, &p, NULL) < 0) {
		it->found = 0;
		return;
	}
	it->found = 1;
	fd = oci_pidfd_checked(p.shim, p.shim_start);
	if (pod) {
		it->pod.state = fd >= 0 ? CRIB_POD_READY : CRIB_POD_NOTREADY;
	} else {
		status_of(st, dir, &p, &it->container);
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

int oci_container_update(void *state, struct crib_op *op, const struct crib_container_ref *c,
                         const uint8_t *req, size_t req_len, struct crib_error **reterr)
{
	struct oci_state *st = state;
	Runtime__V1__UpdateContainerResourcesRequest *u;
	_cleanup_free_ char *dir = oci_dir(st, "containers", c->id);
	_cleanup_free_ char *text = NULL, *file = NULL;
	json_t *res = NULL;
	int r;

	(void)op;
	u = runtime__v1__update_container_resources_request__unpack(NULL, req_len, req);
	if (!u)
		return st->host->error_set(reterr, EINVAL,
		                           "UpdateContainerResourcesRequest cannot be decoded");
	if (!u->linux) {
		runtime__v1__update_container_resources_request__free_unpacked(u, NULL);
		return 0;
	}
	r = oci_spec_resources(st->host, u->linux, st->own_oom_score_adj, &res, reterr);
	runtime__v1__update_container_resources_request__free_unpacked(u, NULL);
	if (r < 0)
		return r;
	text = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	r = text ? oci_write_file(dir, "resources.json", text, strlen(text)) : -ENOMEM;
	if (r < 0)
		return st->host->error_set(reterr, -r, "cannot write the resources of '%s'", c->id);
	file = crib_xasprintf("%s/resources.json", dir);
	{
		const char *args[] = {"update", "--resources", file, c->id, NULL};

		return oci_runtime_call(st->host, oci_rt(c->pod.cls), args, 0, NULL, reterr);
	}
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
	struct crib_container_status s = {0};
	struct oci_proc_result res;
	struct exec_kill k;
	const char *dir;
	size_t n = 0;
	int r;

	(void)op;
	r = ctr_open(state, c, &x, reterr);
	if (r < 0)
		return r;
	dir = x.dir;
	status_of(st, dir, &x.p, &s);
	free(s.reason);
	free(s.message);
	if (s.state != CRIB_CONTAINER_RUNNING)
		return st->host->error_set(reterr, EBUSY, "container '%s' is not running", c->id);
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
