/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exec and Attach sessions (ABI 1.2 streams).
 *
 * Exec: a crib-shim in exec mode per session, our child, runs the runtime's
 * "exec --detach" as a child subreaper and waits for the process (conmon's
 * --exec).  The session's pipes are the shim's stdio, which the runtime hands
 * to the process: no byte passes through the shim.  With a terminal the shim
 * passes the master on to us.  Its ctl socket (SOCK_SEQPACKET) carries
 * "started PID" or "err ERRNO MESSAGE", then "exit CODE"; our end of it
 * closing kills the process.
 *
 * Attach: the container's own shim listens on SHIMDIR/attach (shim_attach.h);
 * a session is one connection with fresh pipes.  In a container with a
 * terminal the shim holds its master: output comes on stdout alone, and a
 * resize is a "resize COLS ROWS" message on the connection.
 *
 * done_fd is a copy of the socket in both cases: it becomes readable with the
 * exit message, or at EOF when the shim went away.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "oci.h"
#include "sock.h"
#include "util.h"

/* How long a runtime's exec, or a shim's answer to an attach request, may take. */
#define STREAM_START_TIMEOUT_MS 30000
/* stream_finish runs once done_fd is readable: the message is there or never comes. */
#define STREAM_FINISH_TIMEOUT_MS 1000
/* How long an exec session's shim may take to kill its process and go. */
#define SHIM_EXIT_TIMEOUT_MS 10000

struct oci_stream {
	char *id; /* the container, for messages */
	int sock; /* exec: the shim's ctl socket; attach: the connection to the container's shim */
	int master;      /* exec with a terminal: its master, for resizes */
	pid_t shim;      /* exec: the session's shim, our child (0 for attach) */
	bool attach_tty; /* attach to a container with a terminal: resizes go to its shim */
};

static struct oci_stream *stream_free(struct oci_stream *s)
{
	if (!s)
		return NULL;
	closep(&s->sock);
	closep(&s->master);
	free(s->id);
	free(s);
	return NULL;
}

static void stream_freep(struct oci_stream **s)
{
	*s = stream_free(*s);
}

static struct oci_stream *stream_new(const char *id)
{
	struct oci_stream *s = crib_xcalloc(1, sizeof(*s));

	*s = (struct oci_stream){.id = crib_xstrdup(id), .sock = -EBADF, .master = -EBADF};
	return s;
}

/* A copy (close-on-exec) for cribd: it closes its descriptors, we keep ours. */
static int dup_cloexec(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/*
 * The session's pipes, as asked: ours[i] is cribd's end, theirs[i] the
 * process's (or the shim's), by stdin, stdout, stderr; -EBADF where not asked.
 */
static int make_pipes(const struct crib_stream_args *a, int ours[3], int theirs[3])
{
	const bool want[3] = {a->stdin_, a->stdout_, a->stderr_};

	for (int i = 0; i < 3; i++) {
		int p[2];

		ours[i] = theirs[i] = -EBADF;
		if (!want[i])
			continue;
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		/* stdin: cribd writes; stdout, stderr: cribd reads. */
		ours[i] = i == 0 ? p[1] : p[0];
		theirs[i] = i == 0 ? p[0] : p[1];
	}
	return 0;
}

static void close_three(int fds[3])
{
	for (int i = 0; i < 3; i++) {
		closep(&fds[i]);
		fds[i] = -EBADF;
	}
}

/* Waits up to timeout_ms for our child PID, then kills it; it is reaped either way. */
static void reap_shim(pid_t pid, int timeout_ms)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	if (pidfd >= 0) {
		while (poll(&p, 1, timeout_ms) < 0 && errno == EINTR)
			;
		if (p.revents == 0)
			(void)kill(pid, SIGKILL);
		(void)close(pidfd);
	} else {
		(void)kill(pid, SIGKILL);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/*
 * A shim's first answer: 0 for OK_WORD (with *ret_value after it), else the
 * "err ERRNO MESSAGE" it sent as an error naming WHAT.
 */
static int parse_answer(struct oci_state *st, const char *line, ssize_t n, const char *ok_word,
                        long *ret_value, const char *what, struct crib_error **reterr)
{
	size_t ok_len = strlen(ok_word);
	int e = 0, off = 0;

	if (n > 0 && strncmp(line, ok_word, ok_len) == 0 &&
	    (line[ok_len] == '\n' || line[ok_len] == ' ')) {
		*ret_value = strtol(line + ok_len, NULL, 10);
		return 0;
	}
	if (n > 0 && sscanf(line, "err %d %n", &e, &off) >= 1 && e > 0 && off > 0) {
		_cleanup_free_ char *msg = crib_xstrdup(line + off);

		msg[strcspn(msg, "\n")] = '\0';
		return st->host->error_set(reterr, e, "%s", msg);
	}
	if (n == -ETIMEDOUT)
		return st->host->error_set(reterr, ETIMEDOUT, "%s did not start in time", what);
	if (n < 0)
		return st->host->error_set(reterr, (int)-n, "%s failed: %s", what,
		                           strerror((int)-n));
	return st->host->error_set(reterr, EIO, "%s failed without saying why", what);
}

/* The exec'd process's argv for the shim: "exec ... --ctl-fd N [--tty] -- ARGV...". */
static const char **exec_argv(struct oci_state *st, const struct crib_stream_args *a,
                              const char *dir, const char *ctl_fd)
{
	size_t n;
	const struct oci_runtime *rt = oci_rt(a->ref.pod.cls);
	const char **argv = oci_shim_argv(st, rt, "exec", a->ref.id, dir, 5 + a->argc, &n);

	argv[n++] = "--ctl-fd";
	argv[n++] = ctl_fd;
	if (a->tty)
		argv[n++] = "--tty";
	if (a->tty && rt->exec_console_only)
		argv[n++] = "--console-only";
	argv[n++] = "--";
	for (size_t i = 0; i < a->argc; i++)
		argv[n++] = a->argv[i];
	return argv;
}

/* Starts the session's shim with THEIRS as its stdio; s->sock and s->shim are set. */
static int exec_spawn(struct oci_state *st, const struct crib_stream_args *a, const char *dir,
                      const int theirs[3], struct oci_stream *s, struct crib_error **reterr)
{
	_cleanup_free_ const char **argv = NULL;
	int ctl[2];
	char fd[16];
	int r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0)
		return st->host->error_set(reterr, errno, "cannot make a socket for exec in '%s'",
		                           a->ref.id);
	(void)snprintf(fd, sizeof(fd), "%d", ctl[1]);
	argv = exec_argv(st, a, dir, fd);
	r = oci_spawn_stdio(argv, theirs, ctl[1], &s->shim);
	(void)close(ctl[1]);
	if (r < 0) {
		(void)close(ctl[0]);
		s->shim = 0;
		return st->host->error_set(reterr, -r, "cannot run %s", st->shim);
	}
	s->sock = ctl[0];
	return 0;
}

/* Reads the shim's "started PID" (with the terminal's master under tty). */
static int exec_started(struct oci_state *st, const struct crib_stream_args *a,
                        struct oci_stream *s, struct crib_error **reterr)
{
	_cleanup_free_ char *what = crib_xasprintf("exec in container '%s'", a->ref.id);
	char line[OCI_SOCK_MSG_MAX];
	int master = -EBADF;
	size_t n_fds;
	long pid = 0;
	ssize_t n;
	int r;

	n = oci_sock_recv_wait(s->sock, STREAM_START_TIMEOUT_MS, line, sizeof(line), &master, 1,
	                       &n_fds);
	r = parse_answer(st, line, n, "started", &pid, what, reterr);
	if (n_fds > 0 && (r < 0 || !a->tty))
		closep(&master);
	else if (n_fds > 0)
		s->master = master;
	if (r >= 0 && (pid <= 0 || (a->tty && s->master < 0)))
		r = st->host->error_set(reterr, EIO, "%s: the monitor's report is malformed", what);
	return r;
}

/* cribd's descriptors: the pipes' ends, or copies of the master; done_fd a copy of the socket. */
static int exec_result(const struct crib_stream_args *a, struct oci_stream *s, int ours[3],
                       struct crib_stream_result *ret)
{
	int in = -EBADF, out = -EBADF, done;

	if (a->tty) {
		if (a->stdin_ && (in = dup_cloexec(s->master)) < 0)
			return -errno;
		if (a->stdout_ && (out = dup_cloexec(s->master)) < 0) {
			int r = -errno;

			closep(&in);
			return r;
		}
		ours[0] = in;
		ours[1] = out;
	}
	done = dup_cloexec(s->sock);
	if (done < 0)
		return -errno;
	*ret = (struct crib_stream_result){.handle = s,
	                                   .stdin_fd = TAKE_FD(ours[0]),
	                                   .stdout_fd = TAKE_FD(ours[1]),
	                                   .stderr_fd = TAKE_FD(ours[2]),
	                                   .done_fd = done};
	return 0;
}

static int exec_open(struct oci_state *st, const struct crib_stream_args *a, const char *dir,
                     struct crib_stream_result *ret, struct crib_error **reterr)
{
	_cleanup_(stream_freep) struct oci_stream *s = stream_new(a->ref.id);
	int ours[3] = {-EBADF, -EBADF, -EBADF}, theirs[3] = {-EBADF, -EBADF, -EBADF};
	int r;

	/* With a terminal the runtime makes the stdio: the shim's is /dev/null. */
	r = a->tty ? 0 : make_pipes(a, ours, theirs);
	if (r < 0) {
		r = st->host->error_set(reterr, -r, "cannot make pipes for exec in '%s'",
		                        a->ref.id);
		goto out;
	}
	r = exec_spawn(st, a, dir, theirs, s, reterr);
	/* Only the process may hold them: its exit must end cribd's reads. */
	close_three(theirs);
	if (r >= 0)
		r = exec_started(st, a, s, reterr);
	if (r >= 0 && (r = exec_result(a, s, ours, ret)) < 0)
		r = st->host->error_set(reterr, -r, "cannot set up exec in '%s'", a->ref.id);
	if (r >= 0) {
		s = NULL; /* the handle is cribd's now */
		goto out;
	}
	if (s->shim > 0) {
		/* Its end of the socket makes it kill what may have started. */
		closep(&s->sock);
		s->sock = -EBADF;
		reap_shim(s->shim, SHIM_EXIT_TIMEOUT_MS);
	}
out:
	close_three(ours);
	close_three(theirs);
	return r;
}

/* Sends the attach request with the shim's ends of the pipes and reads its answer. */
static int attach_request(struct oci_state *st, const struct crib_stream_args *a,
                          const struct oci_priv *p, struct oci_stream *s, const int theirs[3],
                          struct crib_error **reterr)
{
	_cleanup_free_ char *what = crib_xasprintf("attach to container '%s'", a->ref.id);
	char req[64], line[OCI_SOCK_MSG_MAX];
	int fds[3];
	size_t n_fds = 0, n_got;
	long unused;
	ssize_t n;
	int r;

	for (int i = 0; i < 3; i++)
		if (theirs[i] >= 0)
			fds[n_fds++] = theirs[i];
	(void)snprintf(req, sizeof(req), "attach %d %d %d %d\n", theirs[0] >= 0, theirs[1] >= 0,
	               theirs[2] >= 0, p->stdin_once);
	r = oci_sock_send(s->sock, req, fds, n_fds);
	/* A shim that refused us at once (too many sessions) has said why: read on. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return st->host->error_set(reterr, -r, "%s failed: %s", what, strerror(-r));
	n = oci_sock_recv_wait(s->sock, STREAM_START_TIMEOUT_MS, line, sizeof(line), NULL, 0,
	                       &n_got);
	return parse_answer(st, line, n, "ok", &unused, what, reterr);
}

/* Whether the request fits the container as created; -EINVAL or -ENOTSUP when not. */
static int attach_check(struct oci_state *st, const struct crib_stream_args *a,
                        const struct oci_priv *p, struct crib_error **reterr)
{
	if (a->tty && !p->tty)
		return st->host->error_set(
		    reterr, EINVAL, "container '%s' has no terminal (tty is false)", a->ref.id);
	/* Its one output would come raw, with no size, to a client that expects two streams. */
	if (!a->tty && p->tty)
		return st->host->error_set(
		    reterr, EINVAL, "container '%s' has a terminal: attach with tty", a->ref.id);
	if (a->stdin_ && !p->stdin)
		return st->host->error_set(reterr, EINVAL,
		                           "container '%s' was created without stdin", a->ref.id);
	return 0;
}

static int attach_open(struct oci_state *st, const struct crib_stream_args *a,
                       const struct oci_priv *p, const char *dir, struct crib_stream_result *ret,
                       struct crib_error **reterr)
{
	_cleanup_(stream_freep) struct oci_stream *s = stream_new(a->ref.id);
	int ours[3] = {-EBADF, -EBADF, -EBADF}, theirs[3] = {-EBADF, -EBADF, -EBADF};
	int r, done = -EBADF;

	r = attach_check(st, a, p, reterr);
	if (r < 0)
		return r;
	s->sock = oci_sock_connect(dir, "attach");
	/* No socket, or no one on it: the container's monitor is gone or going. */
	if (s->sock == -ENOENT || s->sock == -ECONNREFUSED)
		return st->host->error_set(reterr, EBUSY, "container '%s' is not running",
		                           a->ref.id);
	if (s->sock < 0)
		return st->host->error_set(reterr, -s->sock, "cannot attach to container '%s': %s",
		                           a->ref.id, strerror(-s->sock));
	r = make_pipes(a, ours, theirs);
	if (r < 0)
		r = st->host->error_set(reterr, -r, "cannot make pipes to attach to '%s'",
		                        a->ref.id);
	if (r >= 0)
		r = attach_request(st, a, p, s, theirs, reterr);
	close_three(theirs);
	if (r >= 0 && (done = dup_cloexec(s->sock)) < 0)
		r = st->host->error_set(reterr, errno, "cannot attach to '%s'", a->ref.id);
	if (r >= 0) {
		s->attach_tty = a->tty;
		*ret = (struct crib_stream_result){.handle = TAKE_PTR(s),
		                                   .stdin_fd = TAKE_FD(ours[0]),
		                                   .stdout_fd = TAKE_FD(ours[1]),
		                                   .stderr_fd = TAKE_FD(ours[2]),
		                                   .done_fd = done};
	}
	close_three(ours);
	return r;
}

int oci_stream_open(void *state, struct crib_op *op, const struct crib_stream_args *args,
                    struct crib_stream_result *ret, struct crib_error **reterr)
{
	struct oci_state *st = state;
	_cleanup_free_ char *dir = NULL;
	struct oci_priv p;
	int r;

	(void)op;
	r = oci_container_running(st, &args->ref, &p, &dir, reterr);
	if (r < 0)
		return r;
	if (args->argv)
		r = exec_open(st, args, dir, ret, reterr);
	else
		r = attach_open(st, args, &p, dir, ret, reterr);
	oci_priv_clear(&p);
	return r;
}

/*
 * An attach session's resize: the container's shim holds the master.  It
 * answers nothing, so that its next message on the connection stays the exit.
 */
static int attach_resize(struct oci_state *st, const struct oci_stream *s, uint16_t width,
                         uint16_t height, struct crib_error **reterr)
{
	char msg[64];
	int r;

	(void)snprintf(msg, sizeof(msg), "resize %u %u\n", (unsigned)width, (unsigned)height);
	r = oci_sock_send(s->sock, msg, NULL, 0);
	if (r < 0)
		return st->host->error_set(reterr, -r,
		                           "cannot resize the terminal of container '%s': %s",
		                           s->id, strerror(-r));
	return 0;
}

int oci_stream_resize(void *state, void *handle, uint16_t width, uint16_t height,
                      struct crib_error **reterr)
{
	struct oci_state *st = state;
	struct oci_stream *s = handle;
	struct winsize ws = {.ws_row = height, .ws_col = width};

	if (s->attach_tty)
		return attach_resize(st, s, width, height, reterr);
	if (s->master < 0)
		return st->host->error_set(reterr, EINVAL,
		                           "the session in container '%s' has no terminal", s->id);
	if (ioctl(s->master, TIOCSWINSZ, &ws) < 0)
		return st->host->error_set(
		    reterr, errno, "cannot resize the terminal of the session in '%s'", s->id);
	return 0;
}

int oci_stream_finish(void *state, void *handle, int32_t *ret_exit_code, struct crib_error **reterr)
{
	struct oci_state *st = state;
	struct oci_stream *s = handle;
	char line[OCI_SOCK_MSG_MAX];
	size_t n_fds;
	long code;
	ssize_t n;
	int e = 0, off = 0;

	n = oci_sock_recv_wait(s->sock, STREAM_FINISH_TIMEOUT_MS, line, sizeof(line), NULL, 0,
	                       &n_fds);
	if (n > 0 && sscanf(line, "exit %ld", &code) == 1) {
		*ret_exit_code = (int32_t)code;
		return 0;
	}
	if (n > 0 && sscanf(line, "err %d %n", &e, &off) >= 1 && off > 0) {
		line[strcspn(line, "\n")] = '\0';
		return st->host->error_set(reterr, ESRCH, "%s", line + off);
	}
	return st->host->error_set(
	    reterr, ESRCH, "the session in container '%s' ended without an exit code", s->id);
}

void oci_stream_close(void *state, void *handle)
{
	struct oci_stream *s = handle;
	pid_t shim = s->shim;

	(void)state;
	/* The end of the ctl socket makes an exec session's shim kill the process and exit. */
	stream_free(s);
	if (shim > 0)
		reap_shim(shim, SHIM_EXIT_TIMEOUT_MS);
}
