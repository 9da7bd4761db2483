/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errtext.h"
#include "runtime.h"
#include "util.h"

/* Runtime calls other than create/exec answer in well under this. */
#define RUNTIME_CALL_TIMEOUT_MS 60000
/* How long a process gets to finish by itself once on_timeout has run. */
#define ON_TIMEOUT_GRACE_MS 2000
/* Runtime output kept for an error message. */
#define RUNTIME_OUTPUT_MAX ((size_t)64 * 1024)

extern char **environ;

void oci_proc_result_clear(struct oci_proc_result *res)
{
	free(res->out);
	free(res->err);
	*res = (struct oci_proc_result){0};
}

int oci_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* A growing output buffer with a cap; what passes the cap is read and dropped. */
struct sink {
	int fd;
	char *buf;
	size_t len, max;
};

static void sink_read(struct sink *s)
{
	char chunk[16384];
	ssize_t n = read(s->fd, chunk, sizeof(chunk));

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(s->fd);
			s->fd = -EBADF;
		}
		return;
	}
	if (s->len < s->max) {
		size_t take = (size_t)n < s->max - s->len ? (size_t)n : s->max - s->len;

		s->buf = crib_xrealloc(s->buf, s->len + take + 1, 1);
		memcpy(s->buf + s->len, chunk, take);
		s->len += take;
		s->buf[s->len] = '\0';
	}
}

int oci_spawn_stdio(const char *const *argv, const int stdio[3], int keep_fd, pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 3; i++) {
		if (stdio[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, stdio[i], i);
		else
			posix_spawn_file_actions_addopen(&fa, i, "/dev/null",
			                                 i ? O_WRONLY : O_RDONLY, 0);
	}
	/* dup2 onto itself clears FD_CLOEXEC (glibc >= 2.29): only this fd is inherited. */
	if (keep_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, keep_fd, keep_fd);
	/* Nothing blocked, everything default: cribd ignores SIGPIPE, its children must not. */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(ret_pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

int oci_spawn(const char *const *argv, int out, int err, int keep_fd, pid_t *ret_pid)
{
	const int stdio[3] = {-1, out, err};

	return oci_spawn_stdio(argv, stdio, keep_fd, ret_pid);
}

/* Waits for output and the exit until the deadline (mono ns, 0: none). */
static void collect(struct sink s[2], int pidfd, int64_t deadline, bool *ret_expired)
{
	bool exited = false;

	while (s[0].fd >= 0 || s[1].fd >= 0 || !exited) {
		struct pollfd p[3] = {{.fd = s[0].fd, .events = POLLIN},
		                      {.fd = s[1].fd, .events = POLLIN},
		                      {.fd = exited ? -1 : pidfd, .events = POLLIN}};
		int wait_ms = -1;

		/* Output written before the exit is in the pipes already: drain, never wait. */
		if (exited)
			wait_ms = 0;
		else if (deadline) {
			int64_t left = deadline - crib_mono_ns();

			if (left <= 0) {
				*ret_expired = true;
				return;
			}
			wait_ms = (int)(left / 1000000 + 1);
		}
		int n = poll(p, 3, wait_ms);

		if (n < 0 && errno != EINTR)
			return;
		/* A process the child left behind may hold the pipes: stop once drained. */
		if (n == 0 && exited)
			return;
		for (int i = 0; i < 2; i++)
			if (p[i].revents)
				sink_read(&s[i]);
		if (p[2].revents)
			exited = true;
	}
}

int oci_proc_run(const char *const *argv, int64_t timeout_ms, size_t max_out,
                 void (*on_timeout)(void *ctx), void *ctx, struct oci_proc_result *res)
{
	int out[2] = {-EBADF, -EBADF}, err[2] = {-EBADF, -EBADF};
	_cleanup_close_ int pidfd = -EBADF;
	struct sink s[2];
	bool expired = false;
	pid_t pid;
	int r;

	*res = (struct oci_proc_result){0};
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	r = oci_spawn(argv, out[1], err[1], -1, &pid);
	if (r < 0)
		goto out;
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -EBADF;
	pidfd = pidfd_open_(pid);
	s[0] = (struct sink){.fd = TAKE_FD(out[0]), .max = max_out};
	s[1] = (struct sink){.fd = TAKE_FD(err[0]), .max = max_out};
	collect(s, pidfd, timeout_ms > 0 ? crib_mono_ns() + timeout_ms * 1000000 : 0, &expired);
	if (expired) {
		/*
		 * After on_timeout killed what the process started, give the process
		 * (runc exec) a moment to reap it and leave: a kill at once would leave
		 * the zombie to whoever inherits it, visible for a while afterwards.
		 */
		if (on_timeout) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};

			on_timeout(ctx);
			(void)poll(&p, pidfd >= 0 ? 1 : 0, ON_TIMEOUT_GRACE_MS);
		}
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR)
		;
	for (int i = 0; i < 2; i++)
		if (s[i].fd >= 0)
			close(s[i].fd);
	res->out = s[0].buf ? s[0].buf : crib_xstrdup("");
	res->out_len = s[0].len;
	res->err = s[1].buf ? s[1].buf : crib_xstrdup("");
	res->err_len = s[1].len;
	res->timed_out = expired;
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return r;
}

const char **oci_runtime_argv(const struct oci_runtime *rt, const char *const *args)
{
	size_t n = 0, i = 0;
	const char **argv;

	while (args[n])
		n++;
	argv = crib_xcalloc(1 + rt->n_global + n + 1, sizeof(*argv));
	argv[i++] = rt->binary;
	for (size_t k = 0; k < rt->n_global; k++)
		argv[i++] = rt->global[k];
	for (size_t k = 0; k < n; k++)
		argv[i++] = args[k];
	return argv;
}

int oci_runtime_call(const struct crib_host *host, const struct oci_runtime *rt,
                     const char *const *args, int64_t timeout_ms, char **ret_out,
                     struct crib_error **reterr)
{
	_cleanup_free_ const char **argv = oci_runtime_argv(rt, args);
	struct oci_proc_result res;
	int r;

	r = oci_proc_run(argv, timeout_ms > 0 ? timeout_ms : RUNTIME_CALL_TIMEOUT_MS,
	                 RUNTIME_OUTPUT_MAX, NULL, NULL, &res);
	if (r < 0)
		return host->error_set(reterr, -r, "cannot run %s", rt->binary);
	if (res.timed_out) {
		r = host->error_set(reterr, ETIMEDOUT, "%s %s did not finish in time", rt->binary,
		                    args[0]);
	} else if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0) {
		_cleanup_free_ char *fallback = crib_xasprintf(
		    "%s %s exited with code %d", rt->binary, args[0], oci_exit_code(res.status));
		_cleanup_free_ char *msg = oci_error_text(res.err, res.err_len, fallback);

		r = host->error_set(reterr, EIO, "%s", msg);
	} else if (ret_out) {
		*ret_out = TAKE_PTR(res.out);
	}
	oci_proc_result_clear(&res);
	return r;
}

int oci_runtime_delete(const struct crib_host *host, const struct oci_runtime *rt, const char *id,
                       struct crib_error **reterr)
{
	const char *del[] = {"delete", "--force", id, NULL};
	const char *state[] = {"state", id, NULL};

	if (oci_runtime_call(host, rt, del, 0, NULL, NULL) == 0)
		return 0;
	/* Runtimes word "no such container" each their own way: ask whether it still exists. */
	if (oci_runtime_call(host, rt, state, 0, NULL, NULL) < 0)
		return 0;
	return oci_runtime_call(host, rt, del, 0, NULL, reterr);
}

void oci_runtime_clear(struct oci_runtime *rt)
{
	free(rt->binary);
	crib_strv_free(rt->global, rt->n_global);
	*rt = (struct oci_runtime){0};
}
