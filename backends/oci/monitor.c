/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shims: starting crib-shim for a bundle, watching every shim's pidfd from one
 * thread (a shim ends right after its container, having written the exit
 * file), and stopping containers without holding one of cribd's workers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci.h"
#include "util.h"

/* How long a runtime may take to run a container (runsc boots a sandbox). */
#define CREATE_TIMEOUT_MS 120000
/* How long a killed container may take to be gone. */
#define KILL_WAIT_MS 30000

struct oci_watch {
	struct oci_watch *next;
	char *id;
	char *dir;
	char *cgroup;
	int pidfd;
	bool pod;
};

int oci_exit_read(const char *dir, int32_t *ret_code, int64_t *ret_at)
{
	_cleanup_free_ char *text = NULL;
	long long code, at;

	if (oci_read_file(dir, "exit", &text) < 0)
		return 0;
	if (sscanf(text, "%lld %lld", &code, &at) != 2)
		return 0;
	*ret_code = (int32_t)code;
	*ret_at = at;
	return 1;
}

const char **oci_shim_argv(const struct oci_state *st, const struct oci_runtime *rt,
                           const char *mode, const char *id, const char *dir, size_t n_more,
                           size_t *ret_n)
{
	const char **argv = crib_xcalloc(8 + 2 * rt->n_global + n_more + 1, sizeof(*argv));
	size_t n = 0;

	argv[n++] = st->shim;
	if (mode)
		argv[n++] = mode;
	argv[n++] = "--runtime";
	argv[n++] = rt->binary;
	for (size_t i = 0; i < rt->n_global; i++) {
		argv[n++] = "--runtime-arg";
		argv[n++] = rt->global[i];
	}
	argv[n++] = "--id";
	argv[n++] = id;
	argv[n++] = "--dir";
	argv[n++] = dir;
	*ret_n = n;
	return argv;
}

/* The run mode's argv; strings borrowed, the array the caller's. */
static const char **shim_argv(const struct oci_state *st, const struct oci_runtime *rt,
                              const char *id, const char *dir, const char *fd, const char *log_path,
                              unsigned flags)
{
	size_t n;
	const char **argv = oci_shim_argv(st, rt, NULL, id, dir, 9, &n);

	argv[n++] = "--bundle";
	argv[n++] = dir;
	argv[n++] = "--ready-fd";
	argv[n++] = fd;
	if (log_path) {
		argv[n++] = "--log";
		argv[n++] = log_path;
	}
	if (flags & OCI_SHIM_STDIN)
		argv[n++] = "--stdin";
	/* runc, crun and runsc alike: run's --console-socket, and config.json asks for the tty. */
	if (flags & OCI_SHIM_TTY)
		argv[n++] = "--tty";
	if (rt->monitor_exit)
		argv[n++] = "--monitor-exit";
	return argv;
}

/* Reads the shim's one-line report, waiting up to timeout_ms. */
static int read_report(int fd, char *buf, size_t size, int timeout_ms)
{
	int64_t deadline = crib_mono_ns() + (int64_t)timeout_ms * 1000000;
	size_t got = 0;

	buf[0] = '\0';
	while (got < size - 1 && !strchr(buf, '\n')) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - crib_mono_ns();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(left / 1000000) + 1) < 0 && errno != EINTR)
			return -errno;
		n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
	}
	return got > 0 ? 0 : -EPIPE;
}

int oci_monitor_read(const char *dir, struct oci_priv *p, int64_t *ret_started)
{
	_cleanup_free_ char *text = NULL;
	long long shim, pid, started;
	unsigned long long start;

	if (oci_read_file(dir, "monitor", &text) < 0 ||
	    sscanf(text, "%lld %llu %lld %lld", &shim, &start, &pid, &started) != 4 || shim <= 0)
		return 0;
	p->shim = (pid_t)shim;
	p->shim_start = start;
	p->pid = (pid_t)pid;
	if (ret_started)
		*ret_started = started;
	return 1;
}

static int parse_report(struct oci_state *st, const char *id, const char *dir, const char *line,
                        struct oci_priv *ret, struct crib_error **reterr)
{
	long pid = 0;
	int e = 0, off = 0;

	if (sscanf(line, "ok %ld", &pid) == 1 && pid > 0) {
		if (!oci_monitor_read(dir, ret, NULL))
			return st->host->error_set(reterr, EIO,
			                           "the monitor of '%s' left no monitor file", id);
		return 0;
	}
	if (sscanf(line, "err %d %n", &e, &off) >= 1 && e > 0) {
		char *nl = strchr(line + off, '\n');

		if (nl)
			*nl = '\0';
		return st->host->error_set(reterr, e, "%s", line + off);
	}
	return st->host->error_set(reterr, EIO, "the monitor of '%s' failed to start", id);
}

int oci_shim_run(struct oci_state *st, const struct oci_runtime *rt, const char *id,
                 const char *dir, const char *log_path, unsigned flags, struct oci_priv *ret,
                 struct crib_error **reterr)
{
	int ready[2] = {-EBADF, -EBADF};
	_cleanup_free_ const char **argv = NULL;
	char fd[16], line[4096];
	int r, status;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return st->host->error_set(reterr, errno, "cannot make a pipe for '%s'", id);
	snprintf(fd, sizeof(fd), "%d", ready[1]);
	argv = shim_argv(st, rt, id, dir, fd, log_path, flags);
	r = oci_spawn(argv, -1, -1, ready[1], &pid);
	close(ready[1]);
	if (r < 0) {
		close(ready[0]);
		return st->host->error_set(reterr, -r, "cannot run %s", st->shim);
	}
	/* The shim forks twice and its first process exits at once. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r = read_report(ready[0], line, sizeof(line), CREATE_TIMEOUT_MS);
	close(ready[0]);
	if (r < 0)
		return st->host->error_set(reterr, r == -ETIMEDOUT ? ETIMEDOUT : EIO,
		                           "%s run of '%s' did not report back", rt->binary, id);
	return parse_report(st, id, dir, line, ret, reterr);
}

static struct oci_watch *watch_free(struct oci_watch *w)
{
	if (!w)
		return NULL;
	if (w->pidfd >= 0)
		close(w->pidfd);
	free(w->id);
	free(w->dir);
	free(w->cgroup);
	free(w);
	return NULL;
}

void oci_watch_add(struct oci_state *st, const char *id, bool pod, const char *dir,
                   const struct oci_priv *p)
{
	struct oci_watch *w;
	struct epoll_event ev = {.events = EPOLLIN};
	int fd = oci_pidfd_checked(p->shim, p->shim_start);

	if (fd < 0)
		return;
	w = crib_xcalloc(1, sizeof(*w));
	*w = (struct oci_watch){.id = crib_xstrdup(id),
	                        .dir = crib_xstrdup(dir),
	                        .cgroup = crib_xstrdup(p->cgroup),
	                        .pidfd = fd,
	                        .pod = pod};
	ev.data.ptr = w;
	pthread_mutex_lock(&st->lock);
	w->next = st->watches;
	st->watches = w;
	epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &ev);
	pthread_mutex_unlock(&st->lock);
}

/* Unlinks the watch of ID (or W itself); the caller frees it.  Under st->lock. */
static struct oci_watch *watch_unlink(struct oci_state *st, const char *id, struct oci_watch *w)
{
	for (struct oci_watch **pp = &st->watches; *pp; pp = &(*pp)->next) {
		struct oci_watch *cur = *pp;

		if (cur == w || (id && streq(cur->id, id))) {
			*pp = cur->next;
			epoll_ctl(st->epfd, EPOLL_CTL_DEL, cur->pidfd, NULL);
			return cur;
		}
	}
	return NULL;
}

void oci_watch_remove(struct oci_state *st, const char *id)
{
	struct oci_watch *w;

	pthread_mutex_lock(&st->lock);
	w = watch_unlink(st, id, NULL);
	pthread_mutex_unlock(&st->lock);
	watch_free(w);
}

static void report_exit(struct oci_state *st, const struct oci_watch *w)
{
	struct crib_event ev = {.id = w->id};
	uint64_t ooms = 0;

	if (w->pod) {
		ev.kind = CRIB_EVENT_POD_NOTREADY;
		ev.reason = "SandboxExited";
		st->host->emit(st->host, &ev);
		return;
	}
	ev.kind = CRIB_EVENT_CONTAINER_EXITED;
	if (!oci_exit_read(w->dir, &ev.exit_code, &ev.at)) {
		ev.exit_code = 255;
		ev.reason = "Unknown";
		ev.message = "the container's monitor ended without recording an exit";
	} else if (w->cgroup && oci_cg_oom_kills(&st->cg, w->cgroup, &ooms) == 0 && ooms > 0) {
		ev.reason = "OOMKilled";
	} else {
		ev.reason = ev.exit_code == 0 ? "Completed" : "Error";
	}
	st->host->emit(st->host, &ev);
}

static void *monitor_main(void *arg)
{
	struct oci_state *st = arg;

	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(st->epfd, evs, 16, -1);

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			struct oci_watch *w = evs[i].data.ptr;

			if (!w) {
				uint64_t v;

				if (read(st->wake_fd, &v, sizeof(v)) < 0) {
					/* Nothing to drain: the flag below is what counts. */
				}
				continue;
			}
			pthread_mutex_lock(&st->lock);
			w = watch_unlink(st, NULL, w);
			pthread_mutex_unlock(&st->lock);
			/* NULL: removed by a remove op between epoll_wait and here. */
			if (w)
				report_exit(st, w);
			watch_free(w);
		}
		pthread_mutex_lock(&st->lock);
		if (st->stopping) {
			pthread_mutex_unlock(&st->lock);
			break;
		}
		pthread_mutex_unlock(&st->lock);
	}
	return NULL;
}

int oci_monitor_start(struct oci_state *st, struct crib_error **reterr)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	int r;

	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	st->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (st->epfd < 0 || st->wake_fd < 0 ||
	    epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->wake_fd, &ev) < 0)
		return st->host->error_set(reterr, errno, "cannot set up the shim monitor");
	r = pthread_create(&st->monitor, NULL, monitor_main, st);
	if (r != 0)
		return st->host->error_set(reterr, r, "cannot start the shim monitor thread");
	st->monitor_running = true;
	return 0;
}

void oci_monitor_stop(struct oci_state *st)
{
	uint64_t one = 1;

	if (st->monitor_running) {
		pthread_mutex_lock(&st->lock);
		st->stopping = true;
		pthread_mutex_unlock(&st->lock);
		if (write(st->wake_fd, &one, sizeof(one)) < 0) {
			/* An eventfd write fails only on overflow: the thread is awake anyway. */
		}
		pthread_join(st->monitor, NULL);
		st->monitor_running = false;
	}
	while (st->watches) {
		struct oci_watch *w = st->watches;

		st->watches = w->next;
		watch_free(w);
	}
	if (st->epfd >= 0)
		close(st->epfd);
	if (st->wake_fd >= 0)
		close(st->wake_fd);
	st->epfd = st->wake_fd = -EBADF;
}

/* A stop in flight: everything it needs, copied, since it may outlive the op's arguments. */
struct stop_job {
	struct oci_state *st;
	struct crib_op *op;
	const struct oci_runtime *rt; /* the class outlives every op on it */
	char *id;
	int pidfd;
	int sig;
	int64_t timeout_s;
};

static bool wait_gone(int pidfd, int64_t ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int64_t deadline = crib_mono_ns() + ms * 1000000;

	for (;;) {
		int64_t left = deadline - crib_mono_ns();
		int n = poll(&p, 1, left > 0 ? (int)(left / 1000000) : 0);

		if (n > 0)
			return true;
		if (n == 0 || (n < 0 && errno != EINTR))
			return false;
	}
}

static int kill_container(struct stop_job *j, int sig, bool all, struct crib_error **reterr)
{
	char signum[16];
	const char *args[] = {"kill", all ? "--all" : j->id, all ? j->id : signum,
	                      all ? signum : NULL, NULL};

	snprintf(signum, sizeof(signum), "%d", sig);
	return oci_runtime_call(j->st->host, j->rt, args, 0, NULL, reterr);
}

static int run_stop(struct stop_job *j, struct crib_error **reterr)
{
	if (j->timeout_s > 0) {
		/* A container that exits between our look and the kill makes kill fail: fine. */
		if (kill_container(j, j->sig, false, NULL) == 0 &&
		    wait_gone(j->pidfd, j->timeout_s * 1000))
			return 0;
		if (wait_gone(j->pidfd, 0))
			return 0;
	}
	/* kill fails for a container that just exited: its shim's exit tells. */
	(void)kill_container(j, SIGKILL, true, NULL);
	if (wait_gone(j->pidfd, KILL_WAIT_MS))
		return 0;
	return j->st->host->error_set(reterr, ETIMEDOUT, "container '%s' did not die after SIGKILL",
	                              j->id);
}

int oci_kill_delete(struct oci_state *st, const struct oci_runtime *rt, const char *id,
                    const char *dir, const struct oci_priv *p, struct crib_error **reterr)
{
	_cleanup_free_ char *shim_pid = crib_xasprintf("%s/shim.pid", dir);
	int r;

	oci_watch_remove(st, id);
	r = oci_stop(st, NULL, rt, id, dir, p, SIGKILL, 0, reterr);
	/* A shim writes shim.pid before it runs the runtime: without it, no run ever began. */
	if (r >= 0 && access(shim_pid, F_OK) == 0)
		r = oci_runtime_delete(st->host, rt, id, reterr);
	return r;
}

static void stop_job_free(struct stop_job *j)
{
	close(j->pidfd);
	free(j->id);
	free(j);
}

static void *stop_thread(void *arg)
{
	struct stop_job *j = arg;
	struct crib_error *err = NULL;
	int r = run_stop(j, &err);

	j->st->host->op_done(j->op, r, err);
	stop_job_free(j);
	return NULL;
}

int oci_stop(struct oci_state *st, struct crib_op *op, const struct oci_runtime *rt, const char *id,
             const char *dir, const struct oci_priv *p, int sig, int64_t timeout_s,
             struct crib_error **reterr)
{
	int pidfd = oci_pidfd_checked(p->shim, p->shim_start);
	struct stop_job *j;
	pthread_attr_t attr;
	pthread_t t;
	int32_t code;
	int64_t at;
	int r;

	/* No monitor, or an exit already recorded: nothing runs, Stop is done. */
	if (pidfd < 0)
		return 0;
	if (oci_exit_read(dir, &code, &at) && wait_gone(pidfd, 100)) {
		close(pidfd);
		return 0;
	}
	j = crib_xcalloc(1, sizeof(*j));
	*j = (struct stop_job){.st = st,
	                       .op = op,
	                       .rt = rt,
	                       .id = crib_xstrdup(id),
	                       .pidfd = pidfd,
	                       .sig = sig > 0 ? sig : SIGTERM,
	                       .timeout_s = timeout_s};
	if (!op || timeout_s <= 0) {
		r = run_stop(j, reterr);
		stop_job_free(j);
		return r;
	}
	/* A grace period must not hold one of cribd's workers: wait on a thread of our own. */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, stop_thread, j);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		r = run_stop(j, reterr);
		stop_job_free(j);
		return r;
	}
	return CRIB_ASYNC;
}
