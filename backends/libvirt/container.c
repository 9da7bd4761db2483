/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRI containers in a pod's VM.  CreateContainer prepares the root
 * filesystem from the image (cribd's snapshot), binds it into the pod's
 * share, builds the process from the CRI config and the image as the oci
 * backend builds an OCI spec (spec.c, compiled in: the same rules and the
 * same errors naming CRI fields), and hands it to the agent.  The agent's
 * output and exit messages reach the records in pods.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "crirules.h"
#include "libvirt.h"
#include "oci.h"
#include "seccompbpf.h"
#include "spec.h"

/* How long a killed container may take to be reported gone. */
#define KILL_WAIT_MS 10000

/* <pod dir>/share/<ctr>: the container's directory in the share (malloc'd). */
static char *ctr_share_dir(const struct lv_state *st, const char *pod_id, const char *ctr_id)
{
	_cleanup_free_ char *dir = lv_pod_dir(st, pod_id);

	return crib_xasprintf("%s/" LV_SHARE "/%s", dir, ctr_id);
}

int lv_ctr_agent(struct lv_state *st, struct lv_pod *p, struct crib_lv_agent **ret,
                 struct crib_error **reterr)
{
	_cleanup_free_ char *dir = lv_pod_dir(st, p->id);

	return lv_pod_agent(p, dir, LV_CONNECT_TIMEOUT_MS, ret, reterr);
}

/* Strings of a JSON array, borrowed, into a new array of pointers. */
static char **json_strv(json_t *a, size_t *n)
{
	char **v = crib_xcalloc(json_array_size(a) + 1, sizeof(*v));
	size_t i;
	json_t *e;

	*n = 0;
	json_array_foreach(a, i, e) if (json_is_string(e)) v[(*n)++] = (char *)json_string_value(e);
	return v;
}

/* The agent's Process from SPEC's "process"; the arrays are malloc'd, the strings SPEC's. */
static void process_of(json_t *spec, Crib__Agent__Process *p)
{
	json_t *proc = json_object_get(spec, "process");
	json_t *user = json_object_get(proc, "user");
	json_t *gids = json_object_get(user, "additionalGids");
	size_t i;
	json_t *e;

	crib__agent__process__init(p);
	p->args = json_strv(json_object_get(proc, "args"), &p->n_args);
	p->env = json_strv(json_object_get(proc, "env"), &p->n_env);
	p->cwd = (char *)json_string_value(json_object_get(proc, "cwd"));
	p->uid = (uint32_t)json_integer_value(json_object_get(user, "uid"));
	p->gid = (uint32_t)json_integer_value(json_object_get(user, "gid"));
	p->additional_gids = crib_xcalloc(json_array_size(gids) + 1, sizeof(*p->additional_gids));
	json_array_foreach(gids, i, e) p->additional_gids[p->n_additional_gids++] =
	    (uint32_t)json_integer_value(e);
}

/* The capabilities named in the JSON array NAMES (spec.c's, all known) as a mask by number. */
static uint64_t cap_mask(json_t *names)
{
	uint64_t mask = 0;
	size_t i;
	json_t *e;

	json_array_foreach(names, i, e)
	{
		int cap = json_is_string(e) ? crib_cri_cap_parse(json_string_value(e)) : -1;

		if (cap >= 0 && cap < 64)
			mask |= 1ull << cap;
	}
	return mask;
}

/*
 * What SPEC (spec.c's) lets the process do, for the agent to apply:
 * capabilities, no_new_privs, the read-only root, the masked and read-only
 * paths, and the seccomp profile as a BPF program (seccompbpf.h).  The
 * arrays and the program are malloc'd, the strings SPEC's.
 */
static int security_of(const struct crib_host *host, json_t *spec, Crib__Agent__Security *ret,
                       struct crib_error **reterr)
{
	json_t *proc = json_object_get(spec, "process"), *linux = json_object_get(spec, "linux");
	json_t *caps = json_object_get(proc, "capabilities");
	size_t n;

	crib__agent__security__init(ret);
	ret->cap_bounding = cap_mask(json_object_get(caps, "bounding"));
	ret->cap_effective = cap_mask(json_object_get(caps, "effective"));
	ret->cap_permitted = cap_mask(json_object_get(caps, "permitted"));
	ret->cap_inheritable = cap_mask(json_object_get(caps, "inheritable"));
	ret->cap_ambient = cap_mask(json_object_get(caps, "ambient"));
	ret->no_new_privileges = json_is_true(json_object_get(proc, "noNewPrivileges"));
	ret->readonly_rootfs =
	    json_is_true(json_object_get(json_object_get(spec, "root"), "readonly"));
	ret->masked_paths = json_strv(json_object_get(linux, "maskedPaths"), &n);
	ret->n_masked_paths = n;
	ret->readonly_paths = json_strv(json_object_get(linux, "readonlyPaths"), &n);
	ret->n_readonly_paths = n;
	if (!json_object_get(linux, "seccomp"))
		return 0;
	return lv_seccomp_bpf(host, json_object_get(linux, "seccomp"), &ret->seccomp_filter.data,
	                      &ret->seccomp_filter.len, reterr);
}

static void security_clear(Crib__Agent__Security *s)
{
	free(s->masked_paths);
	free(s->readonly_paths);
	free(s->seccomp_filter.data);
}

/*
 * The limits in an OCI linux.resources object RES (spec.c's, checked there)
 * as the agent takes them; what the guest cannot apply yet is refused.
 */
static int resources_of(const struct crib_host *host, json_t *res, Crib__Agent__Resources *ret,
                        struct crib_error **reterr)
{
	json_t *cpu = json_object_get(res, "cpu"), *mem = json_object_get(res, "memory");

	crib__agent__resources__init(ret);
	if (json_object_get(cpu, "cpus") || json_object_get(cpu, "mems"))
		return host->error_set(reterr, ENOTSUP,
		                       "LinuxContainerResources.cpuset_cpus and cpuset_mems: not "
		                       "built yet for libvirt classes");
	if (json_array_size(json_object_get(res, "hugepageLimits")) ||
	    json_object_size(json_object_get(res, "unified")))
		return host->error_set(reterr, ENOTSUP,
		                       "LinuxContainerResources.hugepage_limits and unified: not "
		                       "built yet for libvirt classes");
	ret->memory_limit = json_integer_value(json_object_get(mem, "limit"));
	ret->cpu_quota = json_integer_value(json_object_get(cpu, "quota"));
	ret->cpu_period = (uint64_t)json_integer_value(json_object_get(cpu, "period"));
	ret->cpu_shares = (uint64_t)json_integer_value(json_object_get(cpu, "shares"));
	return 0;
}

static void process_clear(Crib__Agent__Process *p)
{
	free(p->args);
	free(p->env);
	free(p->additional_gids);
}

/*
 * What the VM cannot give a container yet is refused, never dropped: devices,
 * and joining another container's PID namespace (TARGET).
 */
static int check_unbuilt(const struct crib_host *host, const Runtime__V1__ContainerConfig *cfg,
                         struct crib_error **reterr)
{
	const Runtime__V1__LinuxContainerSecurityContext *sc = crib_cri_container_sc(cfg);
	const Runtime__V1__NamespaceOption *ns = sc ? sc->namespace_options : NULL;

	if (cfg->n_devices)
		return host->error_set(
		    reterr, ENOTSUP, "ContainerConfig.devices: not built yet for libvirt classes");
	if (ns && ns->pid == RUNTIME__V1__NAMESPACE_MODE__TARGET)
		return host->error_set(
		    reterr, ENOTSUP,
		    "ContainerConfig.linux.security_context.namespace_options.pid "
		    "TARGET: not built yet for libvirt classes");
	return 0;
}

/* Whether SPEC gives the container a PID namespace of its own (one without a path). */
static bool own_pid_namespace(json_t *spec)
{
	json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces"), *ns;
	size_t i;

	json_array_foreach(nss, i, ns) if (streq(json_string_value(json_object_get(ns, "type")),
	                                         "pid")) return !json_object_get(ns, "path");
	return false;
}

/*
 * The process SPEC's configs ask for, built by the oci backend's rules, into
 * *ret->process, with its stdio into RET.
 */
static int build_process(struct lv_state *st, const struct crib_container_spec *spec,
                         const char *rootfs, json_t **ret_oci, Crib__Agent__CreateContainer *ret,
                         struct crib_error **reterr)
{
	const struct crib_host *host = st->host;
	Runtime__V1__ContainerConfig *cfg =
	    runtime__v1__container_config__unpack(NULL, spec->cri_config_len, spec->cri_config);
	Runtime__V1__PodSandboxConfig *pod = runtime__v1__pod_sandbox_config__unpack(
	    NULL, spec->cri_pod_config_len, spec->cri_pod_config);
	_cleanup_free_ char *pod_dir = lv_pod_dir(st, spec->ref.pod.id);
	char *files[4];
	/* The namespaces are the VM's: these paths only satisfy the spec's rules. */
	struct oci_container_input in = {
	    .config = cfg,
	    .pod = pod,
	    .sandbox_id = spec->ref.pod.id,
	    .image_config = spec->image_config,
	    .rootfs = rootfs,
	    .ns = {.net = "/proc/1/ns/net",
	           .uts = "/proc/1/ns/uts",
	           .ipc = "/proc/1/ns/ipc",
	           .pid = "/proc/1/ns/pid"},
	    .own_oom_score_adj = -1000,
	};
	int r;

	/* The pod's /etc files (sandbox.c wrote them); the VM's /dev/shm is its own. */
	oci_pod_files(pod_dir, false, &in.files, files);
	if (!cfg || !pod)
		r = host->error_set(reterr, EINVAL,
		                    "the ContainerConfig or PodSandboxConfig does "
		                    "not parse");
	else
		r = check_unbuilt(host, cfg, reterr);
	r = r < 0 ? r : oci_spec_container(host, &in, ret_oci, reterr);
	if (r == 0) {
		process_of(*ret_oci, ret->process);
		r = security_of(host, *ret_oci, ret->security, reterr);
	}
	if (r == 0) {
		ret->stdin = cfg->stdin;
		ret->stdin_once = cfg->stdin_once;
		ret->tty = cfg->tty;
	}
	if (cfg)
		runtime__v1__container_config__free_unpacked(cfg, NULL);
	if (pod)
		runtime__v1__pod_sandbox_config__free_unpacked(pod, NULL);
	for (size_t i = 0; i < 4; i++)
		free(files[i]);
	return r;
}

/* Binds ROOTFS at DIR/rootfs, where the guest finds it through the share. */
static int bind_rootfs(const struct crib_host *host, const char *rootfs, const char *dir,
                       struct crib_error **reterr)
{
	_cleanup_free_ char *target = crib_xasprintf("%s/rootfs", dir);
	int r = crib_mkdir_p(target, 0755);

	if (r < 0)
		return host->error_set(reterr, -r, "cannot make %s: %s", target, strerror(-r));
	if (mount(rootfs, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return host->error_set(reterr, errno, "cannot bind %s into the pod's share: %s",
		                       rootfs, strerror(errno));
	return 0;
}

/* A bind target for SRC at PATH: a directory, or an empty file, as SRC is. */
static int make_target(const char *src, const char *path)
{
	struct stat st;
	int fd, r;

	if (stat(src, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return crib_mkdir_p(path, 0755);
	r = crib_mkdir_parent(path, 0755);
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * The spec's bind mounts (CRI's mounts, resolved and checked by spec.c),
 * each bound at DIR/mounts/<i> for the agent to bind in turn; RET's sources
 * are relative to the share.  Filesystems the agent makes itself (proc, dev,
 * sys) are not among them.
 */
static int bind_mounts(const struct crib_host *host, json_t *oci, const char *ctr_id,
                       const char *dir, Crib__Agent__Mount ***ret, size_t *n_ret,
                       struct crib_error **reterr)
{
	json_t *mounts = json_object_get(oci, "mounts"), *m, *o;
	size_t i, j;

	*ret = crib_xcalloc(json_array_size(mounts) + 1, sizeof(**ret));
	*n_ret = 0;
	json_array_foreach(mounts, i, m)
	{
		const char *src = json_string_value(json_object_get(m, "source"));
		_cleanup_free_ char *target = NULL;
		Crib__Agent__Mount *am;
		int r;

		if (!streq(json_string_value(json_object_get(m, "type")), "bind") || !src)
			continue;
		target = crib_xasprintf("%s/mounts/%zu", dir, *n_ret);
		r = make_target(src, target);
		if (r == 0 && mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			r = -errno;
		if (r < 0)
			return host->error_set(reterr, -r, "cannot share %s with the VM: %s", src,
			                       strerror(-r));
		am = crib_xcalloc(1, sizeof(*am));
		crib__agent__mount__init(am);
		am->source = crib_xasprintf("%s/mounts/%zu", ctr_id, *n_ret);
		am->destination =
		    crib_xstrdup(json_string_value(json_object_get(m, "destination")));
		json_array_foreach(json_object_get(m, "options"), j, o) am->readonly =
		    am->readonly || streq(json_string_value(o), "ro");
		(*ret)[(*n_ret)++] = am;
	}
	return 0;
}

static void mounts_free(Crib__Agent__Mount **mounts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(mounts[i]->source);
		free(mounts[i]->destination);
		free(mounts[i]);
	}
	free(mounts);
}

/* Detaches and removes DIR/mounts/<i>, whatever a crashed create left there. */
static void unbind_mounts(const char *dir)
{
	_cleanup_free_ char *mounts = crib_xasprintf("%s/mounts", dir);
	_cleanup_(closedirp) DIR *d = opendir(mounts);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		_cleanup_free_ char *path = NULL;

		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		path = crib_xasprintf("%s/%s", mounts, e->d_name);
		(void)umount2(path, MNT_DETACH);
		if (rmdir(path) < 0)
			(void)unlink(path);
	}
	rmdir(mounts);
}

/* Undoes bind_rootfs and releases the snapshot; idempotent. */
static void unshare_rootfs(struct lv_state *st, const char *pod_id, const char *ctr_id)
{
	_cleanup_free_ char *dir = ctr_share_dir(st, pod_id, ctr_id);
	_cleanup_free_ char *target = crib_xasprintf("%s/rootfs", dir);

	unbind_mounts(dir);
	if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		st->host->log(st->host, CRIB_LOG_WARNING, "cannot unmount %s: %s", target,
		              strerror(errno));
	rmdir(target);
	rmdir(dir);
	(void)st->host->rootfs_release(st->host, ctr_id, NULL);
}

static void encode_priv(const char *log_path, struct crib_blob *ret)
{
	json_t *o = json_pack("{s:s?}", "log_path", log_path);

	ret->data = o ? json_dumps(o, JSON_COMPACT) : NULL;
	ret->len = ret->data ? strlen(ret->data) : 0;
	json_decref(o);
}

/* The log path in a container's priv (malloc'd), or NULL. */
static char *priv_log_path(const void *priv, size_t len)
{
	json_t *o = priv && len ? json_loadb(priv, len, 0, NULL) : NULL;
	char *path = crib_xstrdup(json_string_value(json_object_get(o, "log_path")));

	json_decref(o);
	return path;
}

/* A new record for container ID of P, with its log writer. */
static int add_record(struct lv_pod *p, const char *id, const char *log_path, uint32_t state,
                      struct crib_error **reterr)
{
	const struct crib_host *host = p->st->host;
	struct lv_ctr *c = crib_xcalloc(1, sizeof(*c));
	int r = log_path ? host->log_open(log_path, &c->log, reterr) : 0;

	if (r < 0) {
		free(c);
		return r;
	}
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->state = state;
	pthread_mutex_lock(&p->lock);
	c->next = p->ctrs;
	p->ctrs = c;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void drop_record(struct lv_pod *p, const char *id)
{
	struct lv_ctr **cc, *c = NULL;

	pthread_mutex_lock(&p->lock);
	for (cc = &p->ctrs; *cc && !streq((*cc)->id, id); cc = &(*cc)->next)
		;
	if (*cc) {
		c = *cc;
		*cc = c->next;
		p->st->host->log_close(c->log);
	}
	pthread_mutex_unlock(&p->lock);
	free(c);
}

int lv_agent_request(struct crib_lv_agent *a, Crib__Agent__HostMessage *req,
                     struct crib_error **reterr)
{
	Crib__Agent__GuestMessage *answer = NULL;
	int r = crib_lv_agent_call(a, req, LV_CALL_TIMEOUT_MS, &answer, reterr);

	if (answer)
		crib__agent__guest_message__free_unpacked(answer, NULL);
	return r;
}

/* CREATE, its process, stdio, mounts and resources filled, for container ID. */
static int agent_create(struct crib_lv_agent *a, const char *id, bool own_pid,
                        Crib__Agent__CreateContainer *create, struct crib_error **reterr)
{
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	_cleanup_free_ char *rootfs = crib_xasprintf("%s/rootfs", id);

	create->container_id = (char *)id;
	create->rootfs = rootfs;
	create->own_pid_namespace = own_pid;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_CREATE;
	req.create = create;
	return lv_agent_request(a, &req, reterr);
}

int lv_container_create(void *state, struct crib_op *op, const struct crib_container_spec *spec,
                        struct crib_container_result *ret, struct crib_error **reterr)
{
	struct lv_state *st = state;
	const char *id = spec->ref.id, *pod_id = spec->ref.pod.id;
	_cleanup_free_ char *dir = ctr_share_dir(st, pod_id, id);
	Crib__Agent__Process proc = CRIB__AGENT__PROCESS__INIT;
	Crib__Agent__Resources res = CRIB__AGENT__RESOURCES__INIT;
	Crib__Agent__Security sec = CRIB__AGENT__SECURITY__INIT;
	Crib__Agent__CreateContainer create = CRIB__AGENT__CREATE_CONTAINER__INIT;
	struct crib_rootfs rootfs = {0};
	_cleanup_(lv_pod_putp) struct lv_pod *p = lv_pod_get(st, pod_id);
	struct crib_lv_agent *a = NULL;
	json_t *oci = NULL;
	int r;

	(void)op;
	r = lv_ctr_agent(st, p, &a, reterr);
	r = r < 0 ? r : st->host->rootfs_prepare(st->host, spec, &rootfs, reterr);
	create.process = &proc;
	create.security = &sec;
	create.resources = &res;
	r = r < 0 ? r : build_process(st, spec, rootfs.path, &oci, &create, reterr);
	r = r < 0 ? r
	          : resources_of(st->host,
	                         json_object_get(json_object_get(oci, "linux"), "resources"), &res,
	                         reterr);
	r = r < 0 ? r : bind_rootfs(st->host, rootfs.path, dir, reterr);
	r = r < 0 ? r
	          : bind_mounts(st->host, oci, id, dir, &create.mounts, &create.n_mounts, reterr);
	r = r < 0 ? r : add_record(p, id, spec->log_path, CRIB_CONTAINER_CREATED, reterr);
	if (r == 0) {
		r = agent_create(a, id, own_pid_namespace(oci), &create, reterr);
		if (r < 0)
			drop_record(p, id);
	}
	if (r < 0 && rootfs.path)
		unshare_rootfs(st, pod_id, id);
	if (r == 0)
		encode_priv(spec->log_path, &ret->priv);
	process_clear(&proc);
	security_clear(&sec);
	mounts_free(create.mounts, create.n_mounts);
	json_decref(oci);
	free(rootfs.path);
	free(rootfs.upper);
	return r;
}

/* Sends REQ to the agent of POD, connecting first; for requests whose answer says nothing more. */
static int ctr_call(struct lv_state *st, const struct crib_pod_ref *pod,
                    Crib__Agent__HostMessage *req, struct crib_error **reterr)
{
	_cleanup_(lv_pod_putp) struct lv_pod *p = lv_pod_get(st, pod->id);
	struct crib_lv_agent *a = NULL;
	int r = lv_ctr_agent(st, p, &a, reterr);

	return r < 0 ? r : lv_agent_request(a, req, reterr);
}

int lv_container_start(void *state, struct crib_op *op, const struct crib_container_ref *c,
                       struct crib_error **reterr)
{
	struct lv_state *st = state;
	_cleanup_(lv_pod_putp) struct lv_pod *p = lv_pod_get(st, c->pod.id);
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__StartContainer start = CRIB__AGENT__START_CONTAINER__INIT;
	struct lv_ctr *rec;
	int r;

	(void)op;
	start.container_id = (char *)c->id;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_START;
	req.start = &start;
	r = ctr_call(st, &c->pod, &req, reterr);
	pthread_mutex_lock(&p->lock);
	rec = lv_pod_ctr(p, c->id);
	/* A program that exits at once may have been reported already. */
	if (r == 0 && rec && rec->state == CRIB_CONTAINER_CREATED)
		rec->state = CRIB_CONTAINER_RUNNING;
	if (r == 0 && rec && !rec->started_at)
		rec->started_at = crib_now_ns();
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int send_signal(struct lv_state *st, const struct crib_container_ref *c, int sig,
                       struct crib_error **reterr)
{
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__SignalContainer s = CRIB__AGENT__SIGNAL_CONTAINER__INIT;

	s.container_id = (char *)c->id;
	s.signal = (uint32_t)sig;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_SIGNAL;
	req.signal = &s;
	return ctr_call(st, &c->pod, &req, reterr);
}

/* Waits up to TIMEOUT_MS for container ID of P to be reported gone; true when it is. */
static bool wait_exited(struct lv_pod *p, const char *id, int64_t timeout_ms)
{
	int64_t deadline = crib_mono_ns() + timeout_ms * 1000000;
	struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};
	struct lv_ctr *c;
	bool gone;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		c = lv_pod_ctr(p, id);
		gone = !c || c->state != CRIB_CONTAINER_RUNNING;
		if (gone || crib_mono_ns() >= deadline || !p->agent ||
		    !crib_lv_agent_alive(p->agent))
			break;
		pthread_cond_timedwait(&p->changed, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	return gone;
}

int lv_container_stop(void *state, struct crib_op *op, const struct crib_container_ref *c,
                      int64_t timeout_s, struct crib_error **reterr)
{
	struct lv_state *st = state;
	_cleanup_(lv_pod_putp) struct lv_pod *p = lv_pod_get(st, c->pod.id);
	int r;

	(void)op;
	/* Not running (also when its VM stopped): nothing to do. */
	if (wait_exited(p, c->id, 0))
		return 0;
	r = send_signal(st, c, SIGTERM, reterr);
	if (r == 0 && !wait_exited(p, c->id, timeout_s * 1000))
		r = send_signal(st, c, SIGKILL, reterr);
	if (r == 0 && !wait_exited(p, c->id, KILL_WAIT_MS))
		r = st->host->error_set(reterr, ETIMEDOUT,
		                        "container %.12s: still running %d ms after SIGKILL", c->id,
		                        KILL_WAIT_MS);
	/* A container the agent does not know is not running. */
	return r == -ENOENT ? 0 : r;
}

int lv_container_remove(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        struct crib_error **reterr)
{
	struct lv_state *st = state;
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__RemoveContainer rm = CRIB__AGENT__REMOVE_CONTAINER__INIT;
	_cleanup_(lv_pod_putp) struct lv_pod *p = lv_pod_get(st, c->pod.id);
	bool gone;
	int r;

	(void)op;
	rm.container_id = (char *)c->id;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_REMOVE;
	req.remove = &rm;
	/* A VM that is gone took the container's processes with it. */
	pthread_mutex_lock(&p->lock);
	gone = p->vm_gone;
	pthread_mutex_unlock(&p->lock);
	r = gone ? 0 : ctr_call(st, &c->pod, &req, reterr);
	if (r < 0)
		return r;
	drop_record(p, c->id);
	unshare_rootfs(st, c->pod.id, c->id);
	return 0;
}

/* CRI's view of a record; under its pod's lock. */
static void status_of(const struct lv_ctr *rec, struct crib_container_status *ret)
{
	ret->state = rec->state;
	ret->exit_code = rec->exit_code;
	ret->started_at = rec->started_at;
	ret->finished_at = rec->finished_at;
	if (rec->state == CRIB_CONTAINER_EXITED)
		ret->reason = crib_xstrdup(rec->exit_code ? "Error" : "Completed");
}

/* ExecSync's wait: the command's own timeout, and what the agent may take beyond it. */
static int64_t exec_wait_ms(int64_t timeout_s)
{
	/* No timeout: a day bounds a call whose VM hangs. */
	return timeout_s > 0 ? timeout_s * 1000 + LV_CALL_TIMEOUT_MS : 24 * 3600 * 1000;
}

int lv_exec_sync(void *state, struct crib_op *op, const struct crib_exec_sync_args *args,
                 struct crib_exec_sync_result *ret, struct crib_error **reterr)
{
	struct lv_state *st = state;
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__ExecSync exec = CRIB__AGENT__EXEC_SYNC__INIT;
	Crib__Agent__GuestMessage *answer = NULL;
	_cleanup_(lv_pod_putp) struct lv_pod *p = lv_pod_get(st, args->ref.pod.id);
	struct crib_lv_agent *a = NULL;
	int r;

	(void)op;
	exec.container_id = (char *)args->ref.id;
	exec.args = (char **)args->argv;
	exec.n_args = args->argc;
	exec.timeout_ms = args->timeout_s > 0 ? (uint32_t)args->timeout_s * 1000 : 0;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_EXEC;
	req.exec = &exec;
	r = lv_ctr_agent(st, p, &a, reterr);
	r = r < 0 ? r : crib_lv_agent_call(a, &req, exec_wait_ms(args->timeout_s), &answer, reterr);
	if (r < 0)
		return r;
	if (answer->reply_case != CRIB__AGENT__GUEST_MESSAGE__REPLY_EXEC)
		r = st->host->error_set(reterr, EPROTO,
		                        "the agent answered ExecSync with no result");
	else if (answer->exec->timed_out)
		r = st->host->error_set(reterr, ETIMEDOUT, "the command did not finish in %lld s",
		                        (long long)args->timeout_s);
	if (r == 0) {
		ret->exit_code = answer->exec->exit_code;
		ret->out.data = crib_xmemdup(answer->exec->stdout.data, answer->exec->stdout.len);
		ret->out.len = answer->exec->stdout.len;
		ret->err.data = crib_xmemdup(answer->exec->stderr.data, answer->exec->stderr.len);
		ret->err.len = answer->exec->stderr.len;
	}
	crib__agent__guest_message__free_unpacked(answer, NULL);
	return r;
}

int lv_container_update(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        const uint8_t *data, size_t len, struct crib_error **reterr)
{
	struct lv_state *st = state;
	Runtime__V1__UpdateContainerResourcesRequest *in =
	    runtime__v1__update_container_resources_request__unpack(NULL, len, data);
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__UpdateContainer update = CRIB__AGENT__UPDATE_CONTAINER__INIT;
	Crib__Agent__Resources res;
	json_t *oci = NULL;
	int r;

	(void)op;
	if (!in)
		return st->host->error_set(reterr, EINVAL,
		                           "the UpdateContainerResourcesRequest does not parse");
	r = oci_spec_resources(st->host, in->linux, -1000, &oci, reterr);
	r = r < 0 ? r : resources_of(st->host, oci, &res, reterr);
	if (r == 0) {
		update.container_id = (char *)c->id;
		update.resources = &res;
		req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_UPDATE;
		req.update = &update;
		r = ctr_call(st, &c->pod, &req, reterr);
	}
	json_decref(oci);
	runtime__v1__update_container_resources_request__free_unpacked(in, NULL);
	return r;
}

static void take_usage(const Crib__Agent__Usage *u, struct crib_usage *ret)
{
	ret->timestamp = crib_now_ns();
	ret->cpu_core_ns = u->cpu_usage_ns;
	ret->memory_usage_bytes = u->memory_usage_bytes;
	ret->memory_working_set_bytes = u->memory_working_set_bytes;
	ret->memory_rss_bytes = u->memory_rss_bytes;
	ret->page_faults = u->page_faults;
	ret->major_page_faults = u->major_page_faults;
	ret->process_count = u->process_count;
	ret->present = CRIB_USAGE_CPU | CRIB_USAGE_MEMORY_USAGE | CRIB_USAGE_MEMORY_WORKING_SET |
	               CRIB_USAGE_MEMORY_RSS | CRIB_USAGE_PAGE_FAULTS | CRIB_USAGE_PROCESSES;
}

int lv_container_stats(void *state, struct crib_op *op, const struct crib_container_ref *c,
                       struct crib_usage *ret, struct crib_error **reterr)
{
	struct lv_state *st = state;
	_cleanup_(lv_pod_putp) struct lv_pod *p = lv_pod_get(st, c->pod.id);
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__ContainerStats stats = CRIB__AGENT__CONTAINER_STATS__INIT;
	Crib__Agent__GuestMessage *answer = NULL;
	struct crib_lv_agent *a = NULL;
	int r;

	(void)op;
	stats.container_id = (char *)c->id;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_STATS;
	req.stats = &stats;
	r = lv_ctr_agent(st, p, &a, reterr);
	r = r < 0 ? r : crib_lv_agent_call(a, &req, LV_CALL_TIMEOUT_MS, &answer, reterr);
	if (r < 0)
		return r;
	if (answer->reply_case == CRIB__AGENT__GUEST_MESSAGE__REPLY_USAGE)
		take_usage(answer->usage, ret);
	else
		r = st->host->error_set(reterr, EPROTO, "the agent answered stats with no usage");
	crib__agent__guest_message__free_unpacked(answer, NULL);
	return r;
}

int lv_container_status(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        struct crib_container_status *ret, struct crib_error **reterr)
{
	struct lv_state *st = state;
	_cleanup_(lv_pod_putp) struct lv_pod *p = lv_pod_get(st, c->pod.id);
	struct lv_ctr *rec;
	int r = 0;

	(void)op;
	pthread_mutex_lock(&p->lock);
	rec = lv_pod_ctr(p, c->id);
	if (!rec) {
		r = st->host->error_set(reterr, ENOENT,
		                        "container %.12s: not known to the libvirt backend", c->id);
	} else {
		status_of(rec, ret);
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

int lv_container_reopen_log(void *state, struct crib_op *op, const struct crib_container_ref *c,
                            struct crib_error **reterr)
{
	struct lv_state *st = state;
	_cleanup_(lv_pod_putp) struct lv_pod *p = lv_pod_get(st, c->pod.id);
	struct lv_ctr *rec;
	int r = 0;

	(void)op;
	pthread_mutex_lock(&p->lock);
	rec = lv_pod_ctr(p, c->id);
	if (rec && rec->log)
		r = st->host->log_reopen(rec->log, reterr);
	pthread_mutex_unlock(&p->lock);
	return r;
}

void lv_reconcile_containers(struct lv_state *st, struct crib_reconcile_item *items, size_t n_items)
{
	/* The records first, with their writers: output the agent kept comes after Hello. */
	for (size_t i = 0; i < n_items; i++) {
		struct crib_reconcile_item *it = &items[i];
		_cleanup_free_ char *log_path = NULL;
		struct lv_pod *p;

		if (it->kind != CRIB_KIND_CONTAINER)
			continue;
		log_path = priv_log_path(it->priv, it->priv_len);
		p = lv_pod_get(st, it->pod_id);
		(void)add_record(p, it->id, log_path, CRIB_CONTAINER_UNKNOWN, NULL);
		lv_pod_put(p);
	}
	for (size_t i = 0; i < n_items; i++) {
		struct crib_reconcile_item *it = &items[i];
		_cleanup_free_ char *dir = NULL;
		struct crib_lv_agent *a = NULL;
		_cleanup_(lv_pod_putp) struct lv_pod *p = NULL;
		struct lv_ctr *rec;

		if (it->kind != CRIB_KIND_CONTAINER)
			continue;
		dir = lv_pod_dir(st, it->pod_id);
		p = lv_pod_get(st, it->pod_id);
		if (lv_pod_agent(p, dir, LV_CONNECT_TIMEOUT_MS, &a, NULL) < 0)
			continue;
		pthread_mutex_lock(&p->lock);
		rec = lv_pod_ctr(p, it->id);
		it->found = rec && rec->state != CRIB_CONTAINER_UNKNOWN;
		if (it->found)
			status_of(rec, &it->container);
		pthread_mutex_unlock(&p->lock);
	}
}
