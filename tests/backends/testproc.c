/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testproc: the backend cribd's own tests route pods to.  Containers are
 * plain host processes (no isolation) run under crib-test-keeper, so they have
 * real pids, exit codes, CRI logs and outlive cribd; pods are directories.
 * It exercises every part of the ABI the broker relies on: private blobs
 * (checked on every op), asynchronous completion (container_stop), events
 * (exits), reconcile, health, and every optional op.  Failure injection for
 * tests: the class key `fail = OP` or the pod/container annotation
 * `crib.test/fail = OP` makes OP fail; the annotation `crib.test/sleep-ms = N`
 * makes pod_run and container_create take N ms; the file
 * <state_dir>/unhealthy makes health() report its content.
 * Never install it: it runs whatever a pod asks on the host.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <crib/backend.h>

#include <jansson.h>

#include "cri-api-v1.pb-c.h"

/* Ids are 64 hex digits; room for them and a NUL. */
#define ID_MAX 80

#ifndef TESTPROC_NAME
#define TESTPROC_NAME "testproc"
#endif

#define CAPS_BASE                                                                                  \
	(CRIB_CAP_EXEC_SYNC | CRIB_CAP_CONTAINER_STATS | CRIB_CAP_POD_STATS |                      \
	 CRIB_CAP_REOPEN_LOG | CRIB_CAP_UPDATE_RESOURCES | CRIB_CAP_POD_STATUS | CRIB_CAP_HEALTH | \
	 CRIB_CAP_STREAMS)
#ifdef TESTPROC_OWN_IMAGES
#include "testimages.h"
#define CAPS (CAPS_BASE | CRIB_CAP_OWN_IMAGES)
#else
#define CAPS CAPS_BASE
#endif

/* A running container the watcher thread follows. */
struct watch {
	struct watch *next;
	char id[ID_MAX];
	char dir[PATH_MAX];
	int pidfd;
	pid_t keeper;
	struct crib_op *stop_op; /* an asynchronous stop waiting for the exit */
	int64_t kill_at;         /* monotonic ns at which the stop escalates */
};

struct state {
	const struct crib_host *host;
	char keeper[PATH_MAX];
	pthread_mutex_t lock;
	struct watch *watches;
	int epfd;
	int wake_fd;
	pthread_t thread;
	bool thread_started;
	bool quit;
};

struct class_data {
	char *fail;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void path_of(char out[PATH_MAX], const struct state *st, const char *kind, const char *id,
                    const char *file)
{
	snprintf(out, PATH_MAX, "%s/%s/%s%s%s", st->host->state_dir, kind, id, file ? "/" : "",
	         file ? file : "");
}

/* pods/POD/members/ID: the pod's containers, so that pod stats need not scan them all. */
static int add_member(const struct state *st, const char *pod, const char *id)
{
	char path[PATH_MAX];
	int fd;

	path_of(path, st, "pods", pod, "members");
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path + strlen(path), PATH_MAX - strlen(path), "/%s", id);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

static int write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* The process start time from /proc, to tell a pid from its reuse. */
static unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long t = 0;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')');
	/* Field 22 is starttime; each step moves to the space before the next field. */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &t);
	return t;
}

static bool blob_is(const void *priv, size_t len, const char *kind, const char *id)
{
	char want[128];
	int n = snprintf(want, sizeof(want), "%s:%s", kind, id);

	return priv && (size_t)n == len && memcmp(priv, want, len) == 0;
}

static int make_blob(struct crib_blob *b, const char *kind, const char *id)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%s:%s", kind, id);

	b->data = malloc((size_t)n);
	if (!b->data)
		return -ENOMEM;
	memcpy(b->data, buf, (size_t)n);
	b->len = (size_t)n;
	return 0;
}

/* Every op checks that cribd handed back the blob it was given. */
static int check_pod(const struct state *st, const struct crib_pod_ref *p,
                     struct crib_error **reterr)
{
	if (!blob_is(p->priv, p->priv_len, "pod", p->id))
		return st->host->error_set(reterr, EPROTO, "cribd lost pod '%s''s private blob",
		                           p->id);
	return 0;
}

static int check_ctr(const struct state *st, const struct crib_container_ref *c,
                     struct crib_error **reterr)
{
	int r = check_pod(st, &c->pod, reterr);

	if (r < 0)
		return r;
	if (!blob_is(c->priv, c->priv_len, "ctr", c->id))
		return st->host->error_set(reterr, EPROTO,
		                           "cribd lost container '%s''s private blob", c->id);
	return 0;
}

/* Failure injection: the class's `fail` key or a `crib.test/fail` annotation. */
static int injected(const struct state *st, const struct crib_class *cls, const char *op,
                    const char *annotation, struct crib_error **reterr)
{
	const struct class_data *cd = cls->data;

	if ((cd && cd->fail && strcmp(cd->fail, op) == 0) ||
	    (annotation && strcmp(annotation, op) == 0))
		return st->host->error_set(reterr, EIO, "%s failed as the test asked", op);
	return 0;
}

static const char *annotation(void **entries, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		Runtime__V1__PodSandboxConfig__AnnotationsEntry *e = entries[i];

		if (strcmp(e->key, key) == 0)
			return e->value;
	}
	return NULL;
}

static void sleep_ms(const char *ms)
{
	long v = ms ? strtol(ms, NULL, 10) : 0;
	struct timespec ts = {.tv_sec = v / 1000, .tv_nsec = (v % 1000) * 1000000};

	if (v > 0)
		nanosleep(&ts, NULL);
}

/* The watcher thread. */

static void wake(struct state *st)
{
	uint64_t one = 1;

	(void)!write(st->wake_fd, &one, sizeof(one));
}

static struct watch *find_watch(struct state *st, const char *id)
{
	for (struct watch *w = st->watches; w; w = w->next)
		if (strcmp(w->id, id) == 0)
			return w;
	return NULL;
}

static void drop_watch(struct state *st, struct watch *w)
{
	struct watch **pp = &st->watches;

	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	epoll_ctl(st->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
	close(w->pidfd);
	free(w);
}

struct exit_info {
	int code;
	long long finished;
	char reason[32];
};

static bool read_exit(const char *dir, struct exit_info *x)
{
	char path[PATH_MAX + 16], buf[128];

	snprintf(path, sizeof(path), "%s/exit", dir);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return false;
	return sscanf(buf, "%d %lld %31s", &x->code, &x->finished, x->reason) == 3;
}

/* The keeper is gone: report the exit and finish a stop that waited for it.  Lock held. */
static void keeper_exited(struct state *st, struct watch *w)
{
	struct exit_info x = {.code = 137, .finished = wall_ns()};
	struct crib_event ev = {.kind = CRIB_EVENT_CONTAINER_EXITED, .id = w->id};

	if (!read_exit(w->dir, &x)) {
		char path[PATH_MAX + 16], text[64];
		int n;

		/* The keeper died without a word: record what the status will say. */
		snprintf(x.reason, sizeof(x.reason), "Error");
		snprintf(path, sizeof(path), "%s/exit", w->dir);
		n = snprintf(text, sizeof(text), "%d %lld %s\n", x.code, x.finished, x.reason);
		write_bytes(path, text, (size_t)n);
	}
	ev.exit_code = x.code;
	ev.at = x.finished;
	ev.reason = x.reason;
	st->host->emit(st->host, &ev);
	if (w->stop_op)
		st->host->op_done(w->stop_op, 0, NULL);
	drop_watch(st, w);
}

static int next_timeout_ms(struct state *st)
{
	int64_t now = mono_ns(), best = -1;

	for (struct watch *w = st->watches; w; w = w->next) {
		int64_t left;

		if (!w->kill_at)
			continue;
		left = w->kill_at > now ? (w->kill_at - now) / 1000000 + 1 : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return (int)best;
}

static void *watcher(void *arg)
{
	struct state *st = arg;
	struct epoll_event evs[16];
	int timeout = -1;

	for (;;) {
		int n = epoll_wait(st->epfd, evs, 16, timeout);
		int64_t now = mono_ns();

		pthread_mutex_lock(&st->lock);
		if (st->quit) {
			pthread_mutex_unlock(&st->lock);
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				uint64_t v;

				(void)!read(st->wake_fd, &v, sizeof(v));
				continue;
			}
			keeper_exited(st, evs[i].data.ptr);
		}
		for (struct watch *w = st->watches; w; w = w->next)
			if (w->kill_at && now >= w->kill_at) {
				kill(w->keeper, SIGUSR2);
				w->kill_at = 0;
			}
		timeout = next_timeout_ms(st);
		pthread_mutex_unlock(&st->lock);
	}
	return NULL;
}

/* Follows a running container's keeper.  Lock held. */
static int add_watch(struct state *st, const char *id, const char *dir, pid_t keeper)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct watch *w;
	int fd;

	if (find_watch(st, id))
		return 0;
	fd = (int)syscall(SYS_pidfd_open, keeper, 0);
	if (fd < 0)
		return -errno;
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		return -ENOMEM;
	}
	snprintf(w->id, sizeof(w->id), "%s", id);
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	w->pidfd = fd;
	w->keeper = keeper;
	ev.data.ptr = w;
	if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = -errno;

		close(fd);
		free(w);
		return e;
	}
	w->next = st->watches;
	st->watches = w;
	return 0;
}

/* Lifetime. */

static void tp_fini(void *state)
{
	struct state *st = state;

	if (!st)
		return;
	if (st->thread_started) {
		pthread_mutex_lock(&st->lock);
		st->quit = true;
		pthread_mutex_unlock(&st->lock);
		wake(st);
		pthread_join(st->thread, NULL);
	}
	while (st->watches) {
		struct watch *w = st->watches;

		st->watches = w->next;
		close(w->pidfd);
		free(w);
	}
	if (st->epfd >= 0)
		close(st->epfd);
	if (st->wake_fd >= 0)
		close(st->wake_fd);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static const char *host_key(const struct crib_host *host, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; i < host->n_kv; i++)
		if (strcmp(host->kv[i].key, key) == 0)
			v = host->kv[i].value;
	return v;
}

static int tp_init(const struct crib_host *host, void **ret_state, struct crib_error **reterr)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	const char *keeper = host_key(host, "keeper");
	const char *fail = host_key(host, "fail_init");
	struct state *st = calloc(1, sizeof(*st));
	char dir[PATH_MAX];
	Dl_info info;
	int n;

	if (!st)
		return host->error_set(reterr, ENOMEM, "out of memory");
	st->host = host;
	st->epfd = st->wake_fd = -1;
	pthread_mutex_init(&st->lock, NULL);
	*ret_state = st;
	if (fail && strcmp(fail, "true") == 0)
		return host->error_set(reterr, EIO, "fail_init is set in [backend.%s]",
		                       host->backend_name);
	/* The keeper lives next to this module unless [backend.NAME] says otherwise. */
	if (keeper) {
		snprintf(st->keeper, sizeof(st->keeper), "%s", keeper);
	} else if (dladdr((void *)tp_init, &info) && info.dli_fname) {
		snprintf(dir, sizeof(dir), "%s", info.dli_fname);
		*strrchr(dir, '/') = '\0';
		n = snprintf(st->keeper, sizeof(st->keeper), "%.*s/crib-test-keeper",
		             (int)(sizeof(st->keeper) - 20), dir);
		(void)n;
	}
	if (access(st->keeper, X_OK) < 0)
		return host->error_set(reterr, errno, "keeper '%s' is not executable: %s",
		                       st->keeper, strerror(errno));
	for (const char *const *k = (const char *const[]){"pods", "containers", NULL}; *k; k++) {
		snprintf(dir, sizeof(dir), "%s/%s", host->state_dir, *k);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return host->error_set(reterr, errno, "cannot create '%s'", dir);
	}
	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	st->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (st->epfd < 0 || st->wake_fd < 0 ||
	    epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->wake_fd, &ev) < 0)
		return host->error_set(reterr, errno, "cannot set up the watcher: %s",
		                       strerror(errno));
	if (pthread_create(&st->thread, NULL, watcher, st) != 0)
		return host->error_set(reterr, EAGAIN, "cannot start the watcher thread");
	st->thread_started = true;
	return 0;
}

static int tp_class_open(void *state, const struct crib_class *cls, uint64_t *ret_features,
                         void **ret_data, struct crib_error **reterr)
{
	struct state *st = state;
	struct class_data *cd;

	for (size_t i = 0; i < cls->n_kv; i++)
		if (strcmp(cls->kv[i].key, "fail") != 0 && strcmp(cls->kv[i].key, "features") != 0)
			return st->host->class_error(cls, cls->kv[i].key, reterr, EINVAL,
			                             "unknown key '%s' for backend '%s'",
			                             cls->kv[i].key, TESTPROC_NAME);
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return st->host->error_set(reterr, ENOMEM, "out of memory");
	if (st->host->class_get(cls, "fail"))
		cd->fail = strdup(st->host->class_get(cls, "fail"));
	*ret_features = 0;
	if (st->host->class_get(cls, "features") &&
	    strstr(st->host->class_get(cls, "features"), "userns"))
		*ret_features |= CRIB_FEATURE_USER_NAMESPACES;
	*ret_data = cd;
	return 0;
}

static void tp_class_close(void *state, const struct crib_class *cls)
{
	struct class_data *cd = cls->data;

	(void)state;
	if (cd) {
		free(cd->fail);
		free(cd);
	}
}

/* Pods. */

static int tp_pod_run(void *state, struct crib_op *op, const struct crib_pod_spec *spec,
                      struct crib_pod_result *ret, struct crib_error **reterr)
{
	struct state *st = state;
	Runtime__V1__PodSandboxConfig *cfg;
	const char *fail;
	char path[PATH_MAX];
	int r;

	(void)op;
	cfg = runtime__v1__pod_sandbox_config__unpack(NULL, spec->cri_config_len, spec->cri_config);
	if (!cfg)
		return st->host->error_set(reterr, EINVAL, "the pod config does not decode");
	fail = annotation((void **)cfg->annotations, cfg->n_annotations, "crib.test/fail");
	sleep_ms(annotation((void **)cfg->annotations, cfg->n_annotations, "crib.test/sleep-ms"));
	r = injected(st, spec->ref.cls, "pod_run", fail, reterr);
	protobuf_c_message_free_unpacked(&cfg->base, NULL);
	if (r < 0)
		return r;
	path_of(path, st, "pods", spec->ref.id, NULL);
	if (mkdir(path, 0700) < 0)
		return st->host->error_set(reterr, errno, "cannot create '%s': %s", path,
		                           strerror(errno));
	path_of(path, st, "pods", spec->ref.id, "state");
	r = write_bytes(path, "ready\n", 6);
	if (r == 0)
		r = make_blob(&ret->priv, "pod", spec->ref.id);
	if (r < 0) {
		path_of(path, st, "pods", spec->ref.id, NULL);
		rm_rf(path);
		return st->host->error_set(reterr, -r, "cannot record pod '%s'", spec->ref.id);
	}
	ret->ip = strdup("127.0.0.1");
	return 0;
}

static int tp_pod_stop(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                       struct crib_error **reterr)
{
	struct state *st = state;
	char path[PATH_MAX];
	int r = check_pod(st, pod, reterr);

	(void)op;
	if (r < 0)
		return r;
	r = injected(st, pod->cls, "pod_stop", NULL, reterr);
	if (r < 0)
		return r;
	path_of(path, st, "pods", pod->id, "state");
	if (write_bytes(path, "notready\n", 9) < 0 && errno != ENOENT)
		return st->host->error_set(reterr, EIO, "cannot record pod '%s'", pod->id);
	return 0;
}

static int tp_pod_remove(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                         struct crib_error **reterr)
{
	struct state *st = state;
	char path[PATH_MAX];
	int r;

	(void)op;
	/* A half-made pod never got a blob; anything else must carry ours. */
	if (pod->priv) {
		r = check_pod(st, pod, reterr);
		if (r < 0)
			return r;
	}
	r = injected(st, pod->cls, "pod_remove", NULL, reterr);
	if (r < 0)
		return r;
	path_of(path, st, "pods", pod->id, NULL);
	r = rm_rf(path);
	return r < 0 ? st->host->error_set(reterr, -r, "cannot remove '%s'", path) : 0;
}

static int pod_state(const struct state *st, const char *id, struct crib_pod_status *ret)
{
	char path[PATH_MAX], buf[32];

	path_of(path, st, "pods", id, "state");
	if (read_text(path, buf, sizeof(buf)) < 0)
		return -ENOENT;
	ret->state = strncmp(buf, "ready", 5) == 0 ? CRIB_POD_READY : CRIB_POD_NOTREADY;
	ret->ip = ret->state == CRIB_POD_READY ? strdup("127.0.0.1") : NULL;
	return 0;
}

static int tp_pod_status(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                         struct crib_pod_status *ret, struct crib_error **reterr)
{
	struct state *st = state;
	int r = check_pod(st, pod, reterr);

	(void)op;
	if (r < 0)
		return r;
	if (pod_state(st, pod->id, ret) < 0)
		return st->host->error_set(reterr, ENOENT, "pod '%s' is unknown", pod->id);
	ret->info = strdup("{\"backend\":\"" TESTPROC_NAME "\"}");
	return 0;
}

/* Containers. */

/* Writes NUL-separated strings. */
static int write_list(const char *path, char **v, size_t n)
{
	size_t len = 0, off = 0;
	char *buf;
	int r;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]) + 1;

		memcpy(buf + off, v[i], l);
		off += l;
	}
	r = write_bytes(path, buf, len);
	free(buf);
	return r;
}

/* Reads NUL-separated strings into a NULL-terminated vector; free the vector and *ret_buf. */
static char **read_list(const char *path, char **ret_buf)
{
	size_t cap = 1 << 16, n = 0, k = 0;
	char *buf = malloc(cap);
	char **v;
	int len;

	*ret_buf = buf;
	if (!buf)
		return NULL;
	len = read_text(path, buf, cap);
	if (len < 0)
		len = 0;
	for (int i = 0; i < len; i++)
		if (buf[i] == '\0')
			n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (int i = 0; i < len && k < n; i += (int)strlen(buf + i) + 1)
		v[k++] = buf + i;
	return v;
}

/* A growable vector of strings, each owned. */
struct strv {
	char **v;
	size_t n;
};

static void strv_push(struct strv *sv, const char *s)
{
	char **v = realloc(sv->v, (sv->n + 2) * sizeof(*v));

	if (!v)
		return;
	sv->v = v;
	sv->v[sv->n++] = strdup(s);
	sv->v[sv->n] = NULL;
}

static void strv_push_json(struct strv *sv, json_t *a)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e) if (json_is_string(e)) strv_push(sv, json_string_value(e));
}

static void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
}

/*
 * What runs, as Kubernetes defines it over the image's config: command
 * replaces the entrypoint (and then the image's cmd is dropped), args replace
 * the cmd.  The image's environment comes first, the CRI one overrides it.
 */
static void process_of(const Runtime__V1__ContainerConfig *cfg, json_t *image, struct strv *argv,
                       struct strv *env, const char **ret_cwd)
{
	json_t *c = image ? json_object_get(image, "config") : NULL;

	if (cfg->n_command) {
		for (size_t i = 0; i < cfg->n_command; i++)
			strv_push(argv, cfg->command[i]);
	} else {
		strv_push_json(argv, json_object_get(c, "Entrypoint"));
	}
	if (cfg->n_args) {
		for (size_t i = 0; i < cfg->n_args; i++)
			strv_push(argv, cfg->args[i]);
	} else if (!cfg->n_command) {
		strv_push_json(argv, json_object_get(c, "Cmd"));
	}
	strv_push_json(env, json_object_get(c, "Env"));
	for (size_t i = 0; i < cfg->n_envs; i++) {
		size_t klen = strlen(cfg->envs[i]->key);
		char *kv;

		/* KeyValue.value is bytes in CRI; ours are text. */
		if (asprintf(&kv, "%s=%.*s", cfg->envs[i]->key, (int)cfg->envs[i]->value.len,
		             (const char *)cfg->envs[i]->value.data) < 0)
			continue;
		for (size_t k = 0; k < env->n; k++)
			if (strncmp(env->v[k], kv, klen + 1) == 0) {
				free(env->v[k]);
				env->v[k] = env->v[--env->n];
				env->v[env->n] = NULL;
				break;
			}
		strv_push(env, kv);
		free(kv);
	}
	*ret_cwd = cfg->working_dir && *cfg->working_dir
	               ? cfg->working_dir
	               : json_string_value(json_object_get(c, "WorkingDir"));
}

static int save_spec(const struct state *st, const struct crib_container_spec *spec,
                     const Runtime__V1__ContainerConfig *cfg, const char *root)
{
	json_t *image = spec->image_config ? json_loads(spec->image_config, 0, NULL) : NULL;
	struct strv argv = {0}, env = {0};
	const char *cwd = NULL;
	char path[PATH_MAX];
	int r;

	process_of(cfg, image, &argv, &env, &cwd);
	r = argv.n ? 0 : -EINVAL;
	if (r == 0) {
		path_of(path, st, "containers", spec->ref.id, "argv");
		r = write_list(path, argv.v, argv.n);
	}
	if (r == 0) {
		path_of(path, st, "containers", spec->ref.id, "env");
		r = write_list(path, env.v, env.n);
	}
	if (r == 0) {
		path_of(path, st, "containers", spec->ref.id, "pod");
		r = write_bytes(path, spec->ref.pod.id, strlen(spec->ref.pod.id));
	}
	if (r == 0)
		r = add_member(st, spec->ref.pod.id, spec->ref.id);
	if (r == 0 && spec->log_path) {
		path_of(path, st, "containers", spec->ref.id, "log");
		r = write_bytes(path, spec->log_path, strlen(spec->log_path));
	}
	if (r == 0 && cwd && *cwd) {
		path_of(path, st, "containers", spec->ref.id, "cwd");
		r = write_bytes(path, cwd, strlen(cwd));
	}
	if (r == 0 && root) {
		path_of(path, st, "containers", spec->ref.id, "root");
		r = write_bytes(path, root, strlen(root));
	}
	strv_free(&argv);
	strv_free(&env);
	json_decref(image);
	return r;
}

static int tp_container_create(void *state, struct crib_op *op,
                               const struct crib_container_spec *spec,
                               struct crib_container_result *ret, struct crib_error **reterr)
{
	struct state *st = state;
	Runtime__V1__ContainerConfig *cfg;
	struct crib_rootfs rootfs = {0};
	char path[PATH_MAX];
	int r = check_pod(st, &spec->ref.pod, reterr);

	(void)op;
	if (r < 0)
		return r;
	cfg = runtime__v1__container_config__unpack(NULL, spec->cri_config_len, spec->cri_config);
	if (!cfg)
		return st->host->error_set(reterr, EINVAL, "the container config does not decode");
	sleep_ms(annotation((void **)cfg->annotations, cfg->n_annotations, "crib.test/sleep-ms"));
	r = injected(st, spec->ref.pod.cls, "container_create",
	             annotation((void **)cfg->annotations, cfg->n_annotations, "crib.test/fail"),
	             reterr);
	if (r == 0) {
		path_of(path, st, "containers", spec->ref.id, NULL);
		if (mkdir(path, 0700) < 0)
			r = st->host->error_set(reterr, errno, "cannot create '%s'", path);
	}
#ifdef TESTPROC_OWN_IMAGES
	if (r == 0 && !ti_has_image(st, spec->image))
		r = st->host->error_set(reterr, ENOENT, "%s has no image '%s'", TESTPROC_NAME,
		                        spec->image);
#endif
	/* The image's root filesystem, when cribd resolved one (ABI 1.1). */
	if (r == 0 && st->host->abi_minor >= 1 && spec->image_id) {
		r = st->host->rootfs_prepare(st->host, spec, &rootfs, reterr);
		if (r < 0)
			rm_rf(path);
	}
	if (r == 0) {
		r = save_spec(st, spec, cfg, rootfs.path);
		if (r == 0)
			r = make_blob(&ret->priv, "ctr", spec->ref.id);
		if (r < 0) {
			if (rootfs.path)
				(void)st->host->rootfs_release(st->host, spec->ref.id, NULL);
			rm_rf(path);
			r = st->host->error_set(reterr, -r,
			                        r == -EINVAL
			                            ? "container '%s' has nothing to run: no "
			                              "command and no image entrypoint"
			                            : "cannot record container '%s'",
			                        spec->ref.id);
		}
	}
	free(rootfs.path);
	free(rootfs.upper);
	protobuf_c_message_free_unpacked(&cfg->base, NULL);
	return r;
}

/* Starts the keeper; it reports on the ready pipe whether the command runs. */
static int spawn_keeper(struct state *st, const char *id, pid_t *ret_keeper,
                        struct crib_error **reterr)
{
	char dir[PATH_MAX], path[PATH_MAX], fdnum[16], line[128] = "";
	char *argv_buf = NULL, *env_buf = NULL, *log_path = NULL, *cwd = NULL;
	char **argv = NULL, **env = NULL, **args = NULL;
	char logbuf[PATH_MAX], cwdbuf[PATH_MAX], rootbuf[PATH_MAX];
	char *root = NULL;
	int ready[2] = {-1, -1}, r = 0, status;
	size_t na = 0, n = 0;
	long code = 0;
	long long started = 0;
	pid_t pid;

	path_of(dir, st, "containers", id, NULL);
	path_of(path, st, "containers", id, "argv");
	argv = read_list(path, &argv_buf);
	path_of(path, st, "containers", id, "env");
	env = read_list(path, &env_buf);
	path_of(path, st, "containers", id, "log");
	if (read_text(path, logbuf, sizeof(logbuf)) > 0)
		log_path = logbuf;
	path_of(path, st, "containers", id, "cwd");
	if (read_text(path, cwdbuf, sizeof(cwdbuf)) > 0)
		cwd = cwdbuf;
	path_of(path, st, "containers", id, "root");
	if (read_text(path, rootbuf, sizeof(rootbuf)) > 0)
		root = rootbuf;
	while (argv && argv[na])
		na++;
	args = calloc(na + 14, sizeof(*args));
	if (!argv || !env || !args || na == 0 || pipe2(ready, O_CLOEXEC) < 0) {
		r = st->host->error_set(reterr, EIO, "cannot prepare container '%s'", id);
		goto out;
	}
	snprintf(fdnum, sizeof(fdnum), "%d", ready[1]);
	args[n++] = st->keeper;
	args[n++] = "--dir";
	args[n++] = dir;
	args[n++] = "--ready-fd";
	args[n++] = fdnum;
	if (log_path) {
		args[n++] = "--log";
		args[n++] = log_path;
	}
	if (cwd) {
		args[n++] = "--cwd";
		args[n++] = cwd;
	}
	if (root) {
		args[n++] = "--root";
		args[n++] = root;
	}
	args[n++] = "--";
	for (size_t i = 0; i < na; i++)
		args[n++] = argv[i];

	pid = fork();
	if (pid < 0) {
		r = st->host->error_set(reterr, errno, "fork failed");
		goto out;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls until exec: the parent has threads. */
		fcntl(ready[1], F_SETFD, 0);
		execve(st->keeper, args, env);
		_exit(127);
	}
	close(ready[1]);
	ready[1] = -1;
	/* The keeper forks once more and exits, so this returns at once. */
	waitpid(pid, &status, 0);
	{
		struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
		size_t got = 0;

		while (got < sizeof(line) - 1 && poll(&pfd, 1, 10000) > 0) {
			ssize_t k = read(ready[0], line + got, sizeof(line) - 1 - got);

			if (k <= 0)
				break;
			got += (size_t)k;
			line[got] = '\0';
			if (strchr(line, '\n'))
				break;
		}
	}
	if (sscanf(line, "ok %ld %lld", &code, &started) == 2) {
		char text[64];

		snprintf(text, sizeof(text), "%ld %lld\n", code, started);
		path_of(path, st, "containers", id, "child");
		write_bytes(path, text, strlen(text));
		path_of(path, st, "containers", id, "keeper.pid");
		if (read_text(path, text, sizeof(text)) > 0)
			*ret_keeper = (pid_t)strtol(text, NULL, 10);
		snprintf(text, sizeof(text), "%llu\n", proc_starttime(*ret_keeper));
		path_of(path, st, "containers", id, "keeper.start");
		write_bytes(path, text, strlen(text));
	} else if (sscanf(line, "err %ld", &code) == 1) {
		r = st->host->error_set(reterr, (int)code, "cannot run '%s' in container '%s': %s",
		                        argv[0], id, strerror((int)code));
	} else {
		r = st->host->error_set(reterr, EIO, "the keeper of container '%s' did not report",
		                        id);
	}
out:
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	free(args);
	free(argv);
	free(env);
	free(argv_buf);
	free(env_buf);
	return r;
}

static int tp_container_start(void *state, struct crib_op *op, const struct crib_container_ref *c,
                              struct crib_error **reterr)
{
	struct state *st = state;
	char dir[PATH_MAX];
	pid_t keeper = 0;
	int r = check_ctr(st, c, reterr);

	(void)op;
	if (r < 0)
		return r;
	r = injected(st, c->pod.cls, "container_start", NULL, reterr);
	if (r < 0)
		return r;
	r = spawn_keeper(st, c->id, &keeper, reterr);
	if (r < 0)
		return r;
	path_of(dir, st, "containers", c->id, NULL);
	pthread_mutex_lock(&st->lock);
	r = add_watch(st, c->id, dir, keeper);
	pthread_mutex_unlock(&st->lock);
	if (r < 0)
		return st->host->error_set(reterr, -r, "cannot follow container '%s'", c->id);
	return 0;
}

/* The keeper's pid if it still runs (and is still the same process). */
static pid_t live_keeper(const struct state *st, const char *id)
{
	char path[PATH_MAX], buf[64];
	unsigned long long start;
	pid_t pid;

	path_of(path, st, "containers", id, "keeper.pid");
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return 0;
	pid = (pid_t)strtol(buf, NULL, 10);
	path_of(path, st, "containers", id, "keeper.start");
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return 0;
	start = strtoull(buf, NULL, 10);
	return pid > 0 && start && proc_starttime(pid) == start ? pid : 0;
}

static int tp_container_stop(void *state, struct crib_op *op, const struct crib_container_ref *c,
                             int64_t timeout_s, struct crib_error **reterr)
{
	struct state *st = state;
	struct watch *w;
	int r = check_ctr(st, c, reterr);

	if (r < 0)
		return r;
	r = injected(st, c->pod.cls, "container_stop", NULL, reterr);
	if (r < 0)
		return r;
	pthread_mutex_lock(&st->lock);
	w = find_watch(st, c->id);
	if (!w) {
		pthread_mutex_unlock(&st->lock);
		return 0; /* not running: stopping is idempotent */
	}
	/* Finished by the watcher when the keeper exits: no worker waits meanwhile. */
	w->stop_op = op;
	kill(w->keeper, timeout_s > 0 ? SIGTERM : SIGUSR2);
	w->kill_at = timeout_s > 0 ? mono_ns() + timeout_s * 1000000000 : 0;
	pthread_mutex_unlock(&st->lock);
	wake(st);
	return CRIB_ASYNC;
}

static int tp_container_remove(void *state, struct crib_op *op, const struct crib_container_ref *c,
                               struct crib_error **reterr)
{
	struct state *st = state;
	char path[PATH_MAX];
	pid_t keeper;
	int r;

	(void)op;
	/* A half-made container has no blob yet. */
	if (c->priv) {
		r = check_ctr(st, c, reterr);
		if (r < 0)
			return r;
	}
	r = injected(st, c->pod.cls, "container_remove", NULL, reterr);
	if (r < 0)
		return r;
	keeper = live_keeper(st, c->id);
	if (keeper) {
		int fd = (int)syscall(SYS_pidfd_open, keeper, 0);

		kill(keeper, SIGUSR2);
		if (fd >= 0) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};

			poll(&pfd, 1, 10000);
			close(fd);
		}
	}
	if (st->host->abi_minor >= 1) {
		r = st->host->rootfs_release(st->host, c->id, reterr);
		if (r < 0)
			return r;
	}
	path_of(path, st, "containers", c->id, NULL);
	r = rm_rf(path);
	return r < 0 ? st->host->error_set(reterr, -r, "cannot remove '%s'", path) : 0;
}

/* Fills RET from the container's files; -ENOENT when it does not exist. */
static int ctr_state(const struct state *st, const char *id, struct crib_container_status *ret)
{
	char dir[PATH_MAX], path[PATH_MAX], buf[PATH_MAX + 32];
	struct exit_info x;
	long pid = 0;
	long long started = 0;

	path_of(dir, st, "containers", id, NULL);
	if (access(dir, F_OK) < 0)
		return -ENOENT;
	path_of(path, st, "containers", id, "child");
	if (read_text(path, buf, sizeof(buf)) > 0)
		sscanf(buf, "%ld %lld", &pid, &started);
	ret->started_at = started;
	if (read_exit(dir, &x)) {
		ret->state = CRIB_CONTAINER_EXITED;
		ret->exit_code = x.code;
		ret->finished_at = x.finished;
		ret->reason = strdup(x.reason);
	} else if (started && live_keeper(st, id)) {
		ret->state = CRIB_CONTAINER_RUNNING;
		ret->pid = (int32_t)pid;
	} else if (started) {
		ret->state = CRIB_CONTAINER_EXITED;
		ret->exit_code = 137;
		ret->finished_at = wall_ns();
		ret->reason = strdup("Error");
		ret->message = strdup("the keeper vanished");
	} else {
		ret->state = CRIB_CONTAINER_CREATED;
	}
	snprintf(buf, sizeof(buf), "{\"dir\":\"%s\"}", dir);
	ret->info = strdup(buf);
	return 0;
}

static int tp_container_status(void *state, struct crib_op *op, const struct crib_container_ref *c,
                               struct crib_container_status *ret, struct crib_error **reterr)
{
	struct state *st = state;
	int r = check_ctr(st, c, reterr);

	(void)op;
	if (r < 0)
		return r;
	if (ctr_state(st, c->id, ret) < 0)
		return st->host->error_set(reterr, ENOENT, "container '%s' is unknown", c->id);
	return 0;
}

static int tp_reconcile(void *state, struct crib_op *op, struct crib_reconcile_item *items,
                        size_t n, struct crib_error **reterr)
{
	struct state *st = state;

	(void)op;
	(void)reterr;
	for (size_t i = 0; i < n; i++) {
		struct crib_reconcile_item *it = &items[i];

		if (it->kind == CRIB_KIND_POD) {
			it->found = pod_state(st, it->id, &it->pod) == 0;
			continue;
		}
		it->found = ctr_state(st, it->id, &it->container) == 0;
		if (it->found && it->container.state == CRIB_CONTAINER_RUNNING) {
			char dir[PATH_MAX];

			path_of(dir, st, "containers", it->id, NULL);
			pthread_mutex_lock(&st->lock);
			(void)add_watch(st, it->id, dir, live_keeper(st, it->id));
			pthread_mutex_unlock(&st->lock);
		}
	}
	return 0;
}

/* Optional ops. */

static int tp_health(void *state, struct crib_health *ret, struct crib_error **reterr)
{
	struct state *st = state;
	char path[PATH_MAX], buf[256];

	(void)reterr;
	snprintf(path, sizeof(path), "%s/unhealthy", st->host->state_dir);
	if (read_text(path, buf, sizeof(buf)) >= 0) {
		buf[strcspn(buf, "\n")] = '\0';
		ret->healthy = 0;
		ret->message = strdup(buf);
		return 0;
	}
	ret->healthy = 1;
	ret->info = strdup("{\"watcher\":\"running\"}");
	return 0;
}

/* Appends what FD has to B, keeping at most CRIB_EXEC_OUTPUT_MAX bytes. */
static bool drain(int fd, struct crib_blob *b)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && errno == EINTR;
	if (b->len < CRIB_EXEC_OUTPUT_MAX) {
		size_t keep = (size_t)n;
		void *p;

		if (b->len + keep > CRIB_EXEC_OUTPUT_MAX)
			keep = CRIB_EXEC_OUTPUT_MAX - b->len;
		p = realloc(b->data, b->len + keep);
		if (p) {
			memcpy((char *)p + b->len, buf, keep);
			b->data = p;
			b->len += keep;
		}
	}
	return true;
}

static int tp_exec_sync(void *state, struct crib_op *op, const struct crib_exec_sync_args *args,
                        struct crib_exec_sync_result *ret, struct crib_error **reterr)
{
	struct state *st = state;
	int64_t deadline = args->timeout_s > 0 ? mono_ns() + args->timeout_s * 1000000000 : 0;
	int out[2], err[2], status = 0, r = check_ctr(st, &args->ref, reterr);
	bool out_open = true, err_open = true, timed_out = false, has_root;
	char path[PATH_MAX], root[PATH_MAX], *env_buf = NULL, **env;
	pid_t pid;

	(void)op;
	if (r < 0)
		return r;
	path_of(path, st, "containers", args->ref.id, "env");
	env = read_list(path, &env_buf);
	if (!env || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		free(env);
		free(env_buf);
		return st->host->error_set(reterr, EIO, "cannot prepare the command");
	}
	path_of(path, st, "containers", args->ref.id, "root");
	has_root = read_text(path, root, sizeof(root)) > 0;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		if (has_root && (chroot(root) < 0 || chdir("/") < 0))
			_exit(127);
		execvpe(args->argv[0], (char *const *)args->argv, env);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	free(env);
	free(env_buf);
	while (pid > 0 && (out_open || err_open)) {
		struct pollfd pfd[2] = {{.fd = out_open ? out[0] : -1, .events = POLLIN},
		                        {.fd = err_open ? err[0] : -1, .events = POLLIN}};
		int wait_ms = -1;

		if (deadline) {
			int64_t left = deadline - mono_ns();

			if (left <= 0) {
				timed_out = true;
				break;
			}
			wait_ms = (int)(left / 1000000) + 1;
		}
		if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			out_open = drain(out[0], &ret->out);
		if (pfd[1].revents)
			err_open = drain(err[0], &ret->err);
	}
	close(out[0]);
	close(err[0]);
	if (pid < 0)
		return st->host->error_set(reterr, EAGAIN, "fork failed");
	if (timed_out)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (timed_out)
		return st->host->error_set(
		    reterr, ETIMEDOUT, "command timed out after %" PRId64 " s", args->timeout_s);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && ret->out.len == 0 &&
	    ret->err.len == 0)
		return st->host->error_set(reterr, ENOENT, "cannot run '%s'", args->argv[0]);
	ret->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

/*
 * Exec sessions: the command as a child of cribd with pipes, or a terminal
 * for tty; a pidfd tells cribd when it exited.  No attach: a keeper's
 * container has no stdin to share.
 */
struct tp_stream {
	pid_t pid;
	int pidfd;
	int master; /* -1 without tty */
	bool reaped;
	int status;
};

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

static int open_terminal(int *ret_master, char **ret_slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !ptsname(m)) {
		if (m >= 0)
			close(m);
		return -EIO;
	}
	*ret_master = m;
	*ret_slave = strdup(ptsname(m));
	return *ret_slave ? 0 : -ENOMEM;
}

static void exec_child(const struct crib_stream_args *a, const char *slave, int in[2], int out[2],
                       int err[2], char **env, const char *root)
{
	if (slave) {
		int t;

		setsid();
		t = open(slave, O_RDWR);
		if (t < 0 || ioctl(t, TIOCSCTTY, 0) < 0)
			_exit(127);
		dup2(t, 0);
		dup2(t, 1);
		dup2(t, 2);
	} else {
		int null = open("/dev/null", O_RDWR);

		dup2(a->stdin_ ? in[0] : null, 0);
		dup2(a->stdout_ ? out[1] : null, 1);
		dup2(a->stderr_ ? err[1] : null, 2);
	}
	if (root && (chroot(root) < 0 || chdir("/") < 0))
		_exit(127);
	execvpe(a->argv[0], (char *const *)a->argv, env);
	_exit(127);
}

static int tp_stream_open(void *state, struct crib_op *op, const struct crib_stream_args *args,
                          struct crib_stream_result *ret, struct crib_error **reterr)
{
	struct state *st = state;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	char path[PATH_MAX], root[PATH_MAX], *env_buf = NULL, **env = NULL, *slave = NULL;
	struct tp_stream *x;
	int r = check_ctr(st, &args->ref, reterr);

	(void)op;
	if (r < 0)
		return r;
	if (!args->argv)
		return st->host->error_set(reterr, ENOTSUP,
		                           "testproc containers cannot be attached to");
	x = calloc(1, sizeof(*x));
	path_of(path, st, "containers", args->ref.id, "env");
	env = read_list(path, &env_buf);
	if (!x || !env)
		goto fail;
	if (args->tty ? open_terminal(&x->master, &slave) < 0
	              : pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	                    pipe2(err, O_CLOEXEC) < 0)
		goto fail;
	path_of(path, st, "containers", args->ref.id, "root");
	x->pid = fork();
	if (x->pid == 0)
		exec_child(args, slave, in, out, err, env,
		           read_text(path, root, sizeof(root)) > 0 ? root : NULL);
	x->pidfd = x->pid > 0 ? (int)syscall(SYS_pidfd_open, x->pid, 0) : -1;
	if (x->pidfd < 0)
		goto fail;
	ret->done_fd = fcntl(x->pidfd, F_DUPFD_CLOEXEC, 0);
	if (args->tty) {
		ret->stdin_fd = args->stdin_ ? fcntl(x->master, F_DUPFD_CLOEXEC, 0) : -1;
		ret->stdout_fd = fcntl(x->master, F_DUPFD_CLOEXEC, 0);
	} else {
		ret->stdin_fd = args->stdin_ ? in[1] : -1;
		ret->stdout_fd = args->stdout_ ? out[0] : -1;
		ret->stderr_fd = args->stderr_ ? err[0] : -1;
		in[1] = args->stdin_ ? -1 : in[1];
		out[0] = args->stdout_ ? -1 : out[0];
		err[0] = args->stderr_ ? -1 : err[0];
	}
	close_pair(in);
	close_pair(out);
	close_pair(err);
	free(slave);
	free(env);
	free(env_buf);
	ret->handle = x;
	return 0;
fail:
	if (x && x->pid > 0) {
		kill(x->pid, SIGKILL);
		waitpid(x->pid, NULL, 0);
	}
	if (x && x->master > 0)
		close(x->master);
	close_pair(in);
	close_pair(out);
	close_pair(err);
	free(slave);
	free(env);
	free(env_buf);
	free(x);
	return st->host->error_set(reterr, EIO, "cannot start '%s'", args->argv[0]);
}

static int tp_stream_resize(void *state, void *handle, uint16_t width, uint16_t height,
                            struct crib_error **reterr)
{
	struct state *st = state;
	struct tp_stream *x = handle;
	struct winsize ws = {.ws_col = width, .ws_row = height};

	if (x->master < 0 || ioctl(x->master, TIOCSWINSZ, &ws) < 0)
		return st->host->error_set(reterr, EINVAL, "the session has no terminal to resize");
	return 0;
}

static int tp_stream_finish(void *state, void *handle, int32_t *ret_exit_code,
                            struct crib_error **reterr)
{
	struct state *st = state;
	struct tp_stream *x = handle;

	if (!x->reaped && waitpid(x->pid, &x->status, WNOHANG) == x->pid)
		x->reaped = true;
	if (!x->reaped)
		return st->host->error_set(reterr, ESRCH, "the command has not exited");
	if (WIFEXITED(x->status) && WEXITSTATUS(x->status) == 127)
		return st->host->error_set(reterr, ENOENT, "cannot run the command");
	*ret_exit_code = WIFEXITED(x->status) ? WEXITSTATUS(x->status) : 128 + WTERMSIG(x->status);
	return 0;
}

static void tp_stream_close(void *state, void *handle)
{
	struct tp_stream *x = handle;

	(void)state;
	if (!x->reaped) {
		syscall(SYS_pidfd_send_signal, x->pidfd, SIGKILL, NULL, 0);
		waitpid(x->pid, NULL, 0);
	}
	close(x->pidfd);
	if (x->master >= 0)
		close(x->master);
	free(x);
}

/* CPU time and resident memory of the container's process, from /proc. */
static void proc_usage(pid_t pid, struct crib_usage *u)
{
	char path[64], buf[1024];
	unsigned long long utime = 0, stime = 0, rss = 0;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return;
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 14; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu %llu", &utime, &stime) != 2)
		return;
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if (read_text(path, buf, sizeof(buf)) >= 0)
		sscanf(buf, "%*u %llu", &rss);
	u->cpu_core_ns +=
	    (utime + stime) * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
	u->memory_working_set_bytes += rss * (unsigned long long)sysconf(_SC_PAGESIZE);
	u->memory_usage_bytes = u->memory_working_set_bytes;
	u->memory_rss_bytes = u->memory_working_set_bytes;
	u->process_count++;
	u->present |= CRIB_USAGE_CPU | CRIB_USAGE_MEMORY_WORKING_SET | CRIB_USAGE_MEMORY_USAGE |
	              CRIB_USAGE_MEMORY_RSS | CRIB_USAGE_PROCESSES;
}

static void ctr_usage(const struct state *st, const char *id, struct crib_usage *u)
{
	struct crib_container_status s = {0};

	if (ctr_state(st, id, &s) == 0 && s.state == CRIB_CONTAINER_RUNNING)
		proc_usage(s.pid, u);
	free(s.reason);
	free(s.message);
	free(s.info);
}

static int tp_container_stats(void *state, struct crib_op *op, const struct crib_container_ref *c,
                              struct crib_usage *ret, struct crib_error **reterr)
{
	struct state *st = state;
	int r = check_ctr(st, c, reterr);

	(void)op;
	if (r < 0)
		return r;
	ret->timestamp = wall_ns();
	ctr_usage(st, c->id, ret);
	return 0;
}

static int tp_pod_stats(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                        struct crib_usage *ret, struct crib_error **reterr)
{
	struct state *st = state;
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *dh;
	int r = check_pod(st, pod, reterr);

	(void)op;
	if (r < 0)
		return r;
	ret->timestamp = wall_ns();
	ret->present |= CRIB_USAGE_PROCESSES;
	path_of(dir, st, "pods", pod->id, "members");
	dh = opendir(dir);
	if (!dh)
		return 0;
	while ((de = readdir(dh))) {
		if (de->d_name[0] == '.')
			continue;
		path_of(path, st, "containers", de->d_name, NULL);
		if (access(path, F_OK) == 0) /* removed containers leave their entry */
			ctr_usage(st, de->d_name, ret);
	}
	closedir(dh);
	return 0;
}

static int tp_container_reopen_log(void *state, struct crib_op *op,
                                   const struct crib_container_ref *c, struct crib_error **reterr)
{
	struct state *st = state;
	char path[PATH_MAX], before[32] = "", now[32] = "";
	pid_t keeper;
	int r = check_ctr(st, c, reterr);

	(void)op;
	if (r < 0)
		return r;
	keeper = live_keeper(st, c->id);
	if (!keeper)
		return st->host->error_set(reterr, EBUSY, "container '%s' is not running", c->id);
	path_of(path, st, "containers", c->id, "reopened");
	read_text(path, before, sizeof(before));
	kill(keeper, SIGUSR1);
	/* Done when the keeper says it reopened (it bumps the counter). */
	for (int i = 0; i < 200; i++) {
		struct timespec ts = {.tv_nsec = 10000000};

		if (read_text(path, now, sizeof(now)) > 0 && strcmp(now, before) != 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	return st->host->error_set(reterr, ETIMEDOUT, "the keeper of '%s' did not reopen its log",
	                           c->id);
}

static int tp_container_update(void *state, struct crib_op *op, const struct crib_container_ref *c,
                               const uint8_t *req, size_t req_len, struct crib_error **reterr)
{
	struct state *st = state;
	Runtime__V1__UpdateContainerResourcesRequest *u;
	char path[PATH_MAX];
	int r = check_ctr(st, c, reterr);

	(void)op;
	if (r < 0)
		return r;
	u = runtime__v1__update_container_resources_request__unpack(NULL, req_len, req);
	if (!u)
		return st->host->error_set(reterr, EINVAL, "the update request does not decode");
	protobuf_c_message_free_unpacked(&u->base, NULL);
	path_of(path, st, "containers", c->id, "resources");
	r = write_bytes(path, req, req_len);
	return r < 0 ? st->host->error_set(reterr, -r, "cannot record resources") : 0;
}

static const struct crib_backend_ops tp_ops = {
    .abi_major = CRIB_BACKEND_ABI_MAJOR,
    .abi_minor = CRIB_BACKEND_ABI_MINOR,
    .struct_size = sizeof(struct crib_backend_ops),
    .name = TESTPROC_NAME,
    .version = "test",
    .caps = CAPS,
    .init = tp_init,
    .fini = tp_fini,
    .class_open = tp_class_open,
    .class_close = tp_class_close,
    .pod_run = tp_pod_run,
    .pod_stop = tp_pod_stop,
    .pod_remove = tp_pod_remove,
    .container_create = tp_container_create,
    .container_start = tp_container_start,
    .container_stop = tp_container_stop,
    .container_remove = tp_container_remove,
    .container_status = tp_container_status,
    .reconcile = tp_reconcile,
    .pod_status = tp_pod_status,
    .health = tp_health,
    .exec_sync = tp_exec_sync,
    .container_stats = tp_container_stats,
    .pod_stats = tp_pod_stats,
    .container_reopen_log = tp_container_reopen_log,
    .container_update = tp_container_update,
    .stream_open = tp_stream_open,
    .stream_resize = tp_stream_resize,
    .stream_finish = tp_stream_finish,
    .stream_close = tp_stream_close,
#ifdef TESTPROC_OWN_IMAGES
    .image_pull = ti_image_pull,
    .image_status = ti_image_status,
    .image_list = ti_image_list,
    .image_remove = ti_image_remove,
    .image_fs_info = ti_image_fs_info,
#endif
};

#ifdef TESTPROC_OWN_IMAGES
const struct crib_host *tp_host(void *state)
{
	return ((struct state *)state)->host;
}
#endif

CRIB_EXPORT const struct crib_backend_ops *crib_backend_entry(uint32_t host_abi_major)
{
	(void)host_abi_major;
	return &tp_ops;
}
