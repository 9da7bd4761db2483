/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-shim: the monitor process of one oci container (conmon's role).
 *
 *   crib-shim --runtime BIN [--runtime-arg ARG]... --id ID --bundle DIR --dir SHIMDIR
 *             --ready-fd N [--log PATH] [--stdin] [--tty] [--monitor-exit]
 *
 * Detaches from its caller (fork, setsid, fork), becomes a child subreaper, and
 * runs "BIN ARGS... run --detach --bundle DIR --pid-file SHIMDIR/pid ID" with
 * the container's stdio on pipes it owns: the runtime hands its own stdio to the
 * container process.  It writes SHIMDIR/shim.pid first; once the runtime is done,
 * SHIMDIR/monitor ("SHIM_PID SHIM_START_TICKS PID STARTED_NS") and then it
 * reports "ok PID" or "err ERRNO MESSAGE" on the ready fd (one line).  It then
 * copies the container's output into PATH in the CRI log format until the
 * container's init exits, and writes
 * SHIMDIR/exit as "CODE FINISHED_NS" ("255 FINISHED_NS unknown" when the exit
 * status could not be collected) before it exits itself.  SIGUSR1 reopens the
 * log and then bumps the counter in SHIMDIR/reopened.  SIGTERM, SIGINT and SIGHUP
 * are ignored: the shim lives exactly as long as the container, which the
 * backend stops through the runtime's "kill".  Before it reports "ok" it
 * listens on SHIMDIR/attach for attach sessions (shim_attach.h): with --stdin
 * it feeds their input to the container, whose stdin it holds.  With --tty
 * (the bundle's process.terminal) the runtime gets "--console-socket S" too and
 * sends the terminal's master there: the pipes then carry only the runtime's
 * own output, and the master is the container's only output (logged as
 * stdout) and, with --stdin, its input.  The shim never holds the slave, so
 * reads of the master end (EIO) once the container's processes let go of it.
 * With --monitor-exit the runtime leaves a monitor of its own as the init's
 * parent (liblxc's, for crib-lxc), which becomes ours and exits as the init
 * did: its status is the container's.
 *
 *   crib-shim exec --runtime BIN [--runtime-arg ARG]... --id ID --dir SHIMDIR
 *             --ctl-fd N [--tty [--console-only]] -- ARGV...
 *
 * One Exec session (conmon's --exec): stays the caller's child, becomes a child
 * subreaper and runs "BIN ARGS... --log F exec --detach --pid-file F
 * [--tty --console-socket S] ID ARGV..." (--console-only: no --tty, for
 * runtimes whose console socket alone asks for a terminal, as runsc's).
 * Without --tty its own stdio (the
 * session's pipes, or /dev/null) is the runtime's and so the process's; with
 * --tty the runtime sends the terminal's master to a console socket of the
 * shim's.  On the ctl fd (a SOCK_SEQPACKET socket) it sends one message,
 * "started PID" (with the master, SCM_RIGHTS, under --tty) or "err ERRNO
 * MESSAGE" (the runtime's error, from its --log file), then "exit CODE" (128 +
 * the signal when killed) once the process exited.  The end of the ctl socket
 * (the session was closed) kills the process.  Its files in SHIMDIR are named
 * exec-SHIMPID.* and gone once the process started.
 *
 * Only libc: one runs per container, so it must stay small.  Its own errors go
 * to SHIMDIR/shim.log, kept short.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <crib/backend.h>

#include "crilog.h"
#include "errtext.h"
#include "error.h"
#include "shim_attach.h"
#include "sock.h"
#include "util.h"

/* How much of the runtime's output during "run" is kept for its error message. */
#define SHIM_CHATTER_MAX ((size_t)16 * 1024)
/* How much the container may write, per stream, before the runtime's "run" returns. */
#define SHIM_EARLY_MAX ((size_t)1024 * 1024)
/* The error line on the ready fd stays below PIPE_BUF, so that it arrives in one piece. */
#define SHIM_REPORT_MAX 3800
/* shim.log is cut back to nothing when it passes this size. */
#define SHIM_DIAG_MAX ((off_t)64 * 1024)
/* How long output is still copied after the container's init exited. */
#define SHIM_DRAIN_NS ((int64_t)2 * 1000 * 1000 * 1000)

struct shim {
	/* From the command line (borrowed from argv). */
	const char *runtime;
	const char **runtime_args;
	size_t n_runtime_args;
	const char *id;
	const char *bundle;
	const char *dir;
	const char *log;
	bool stdin_pipe;
	int ready_fd; /* exec mode: the ctl socket */
	bool exec;
	bool tty;          /* run mode: the container's terminal; exec mode: the process's */
	bool console_only; /* the runtime's exec takes no --tty (runsc) */
	bool monitor_exit; /* the runtime's monitor exits as the init did (see proxy) */
	char **exec_argv;  /* the rest of argv, NULL-terminated */

	int sfd;      /* signalfd */
	int out_fd;   /* read end of the container's stdout (--tty: once it runs, the master) */
	int err_fd;   /* read end of the container's stderr (--tty: -EBADF once it runs) */
	int stdin_fd; /* write end of the container's stdin, held open (--stdin; --tty: a master) */
	int pidfd;    /* the container's init (exec mode: the process), when pidfd_open worked */
	struct crib_log_writer *w;
	struct shim_attach attach;
	unsigned reopened;
	bool log_failing; /* the last log write failed, already said in shim.log */

	/*
	 * The pipes while the runtime's "run" ran carry its own output and the
	 * container's first: the tail of both for an error message, and each
	 * stream whole (up to SHIM_EARLY_MAX) for the log once the run succeeded.
	 */
	char chatter[SHIM_CHATTER_MAX];
	size_t chatter_len;
	struct early {
		char *buf;
		size_t len;
		size_t dropped;
	} early[3]; /* by CRIB_STREAM_STDOUT, CRIB_STREAM_STDERR */

	pid_t pid; /* the container's init */
	/*
	 * With --monitor-exit, the runtime's monitor that stays the init's parent
	 * (crib-lxc: liblxc's monitor), left to us, which exits as the init did:
	 * its status is the container's.  0 when the init is ours to reap.
	 */
	pid_t proxy;
	bool exited;
	bool exit_unknown;
	int exit_code;
	int64_t finished_ns;
};

/* Appends one line to SHIMDIR/shim.log; the file is opened only when there is something to say. */
static void shim_diag(const struct shim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void shim_diag(const struct shim *s, const char *fmt, ...)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	char line[512], ts[40];
	struct stat st;
	va_list ap;
	int n, m;

	if (!s->dir)
		return; /* the command line was refused before it named the directory */
	path = crib_xasprintf("%s/shim.log", s->dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return;
	/* Errors repeat when a disk is full; the file must not grow without bound. */
	if (fstat(fd, &st) == 0 && st.st_size > SHIM_DIAG_MAX)
		(void)ftruncate(fd, 0);
	(void)crib_crilog_timestamp(crib_now_ns(), ts);
	n = snprintf(line, sizeof(line), "%s crib-shim[%d]: ", ts, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n = (int)strlen(line);
	line[n++] = '\n';
	(void)!write(fd, line, (size_t)n);
}

/* Writes DIR/NAME through a temporary file and a rename: readers never see half of it. */
static int write_file_atomic(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *tmp = crib_xasprintf("%s/.%s.tmp", dir, name);
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(text), done = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			(void)unlink(tmp);
			return r;
		}
		done += (size_t)n;
	}
	if (close(TAKE_FD(fd)) < 0 || rename(tmp, path) < 0) {
		int r = -errno;

		(void)unlink(tmp);
		return r;
	}
	return 0;
}

static int parse_int(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || (*end != '\0' && *end != '\n') || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Sends the one report line on the ready fd and closes it; later reports are dropped. */
static void report(struct shim *s, const char *line)
{
	size_t len = strlen(line), done = 0;

	if (s->ready_fd < 0)
		return;
	while (done < len) {
		ssize_t n = write(s->ready_fd, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			shim_diag(s, "Failed to write the ready report: %s", strerror(errno));
			break;
		}
		done += (size_t)n;
	}
	(void)close(s->ready_fd);
	s->ready_fd = -EBADF;
}

/* The length of TEXT (LEN bytes) without a UTF-8 sequence that a cut left incomplete. */
static size_t utf8_whole(const char *text, size_t len)
{
	size_t lead = len, need;
	unsigned char b;

	while (lead > 0 && ((unsigned char)text[lead - 1] & 0xC0) == 0x80)
		lead--;
	if (lead == 0)
		return len;
	b = (unsigned char)text[lead - 1];
	if (b < 0xC0)
		return len;
	need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
	return len - (lead - 1) < need ? lead - 1 : len;
}

/*
 * "err ERRNO MESSAGE": the message on one line, cut to fit one atomic pipe write
 * (and at a character boundary: it ends up in a protobuf string, which must be UTF-8).
 */
static void report_error(struct shim *s, int errnum, const char *msg)
{
	char line[SHIM_REPORT_MAX + 32];
	size_t n, start;

	(void)snprintf(line, sizeof(line), "err %d ", errnum);
	n = start = strlen(line);
	for (; *msg && n < SHIM_REPORT_MAX; msg++)
		line[n++] = iscntrl((unsigned char)*msg) ? ' ' : *msg;
	if (*msg)
		n = start + utf8_whole(line + start, n - start);
	line[n++] = '\n';
	line[n] = '\0';
	report(s, line);
}

/* Each mode's required options; the shim runs in "/", so its paths must stand on their own. */
static int check_args(const struct shim *s)
{
	if (isempty(s->runtime) || isempty(s->id) || isempty(s->dir) || s->dir[0] != '/' ||
	    s->ready_fd < 0)
		return -EINVAL;
	/* Exec mode keeps its stdio for the runtime: the ctl fd must not be one of them. */
	if (s->exec)
		return s->exec_argv && s->exec_argv[0] && s->ready_fd > STDERR_FILENO &&
		               !s->bundle && !s->log && !s->stdin_pipe
		           ? 0
		           : -EINVAL;
	if (isempty(s->bundle) || s->bundle[0] != '/' || (s->log && s->log[0] != '/') ||
	    s->console_only || s->exec_argv)
		return -EINVAL;
	return 0;
}

static int parse_args(struct shim *s, int argc, char **argv)
{
	long fd;
	int i = 1;

	s->runtime_args = crib_xcalloc((size_t)argc, sizeof(*s->runtime_args));
	if (argc > 1 && streq(argv[1], "exec")) {
		s->exec = true;
		i++;
	}
	for (; i < argc; i++) {
		const char *opt = argv[i];

		if (streq(opt, "--stdin")) {
			s->stdin_pipe = true;
			continue;
		}
		if (streq(opt, "--tty")) {
			s->tty = true;
			continue;
		}
		if (streq(opt, "--console-only")) {
			s->console_only = true;
			continue;
		}
		if (streq(opt, "--monitor-exit")) {
			s->monitor_exit = true;
			continue;
		}
		if (streq(opt, "--")) {
			s->exec_argv = argv + i + 1;
			break;
		}
		if (i + 1 >= argc)
			return -EINVAL;
		if (streq(opt, "--runtime"))
			s->runtime = argv[++i];
		else if (streq(opt, "--runtime-arg"))
			s->runtime_args[s->n_runtime_args++] = argv[++i];
		else if (streq(opt, "--id"))
			s->id = argv[++i];
		else if (streq(opt, "--bundle"))
			s->bundle = argv[++i];
		else if (streq(opt, "--dir"))
			s->dir = argv[++i];
		else if (streq(opt, "--log"))
			s->log = argv[++i];
		else if (streq(opt, s->exec ? "--ctl-fd" : "--ready-fd")) {
			if (parse_int(argv[++i], 0, INT_MAX, &fd) < 0)
				return -EINVAL;
			s->ready_fd = (int)fd;
		} else
			return -EINVAL;
	}
	return check_args(s);
}

/* BIN ARGS... TAIL...: a malloc'd array of borrowed strings. */
static char **runtime_argv(const struct shim *s, const char *const *tail)
{
	size_t n_tail = 0, n = 0;
	char **argv;

	while (tail[n_tail])
		n_tail++;
	argv = crib_xcalloc(1 + s->n_runtime_args + n_tail + 1, sizeof(*argv));
	argv[n++] = (char *)s->runtime;
	for (size_t i = 0; i < s->n_runtime_args; i++)
		argv[n++] = (char *)s->runtime_args[i];
	for (size_t i = 0; i < n_tail; i++)
		argv[n++] = (char *)tail[i];
	return argv;
}

/*
 * Forks and execs the runtime with IN, OUT and ERR as its stdio (-1: keep the shim's
 * /dev/null).  Returns the pid or -errno.
 */
static pid_t spawn_runtime(char **argv, int in, int out, int err)
{
	sigset_t none;
	pid_t pid = fork();

	if (pid != 0)
		return pid < 0 ? -errno : pid;
	/* The runtime and the container must not inherit the shim's blocked or ignored signals. */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	if ((in >= 0 && dup2(in, STDIN_FILENO) < 0) || (out >= 0 && dup2(out, STDOUT_FILENO) < 0) ||
	    (err >= 0 && dup2(err, STDERR_FILENO) < 0))
		_exit(127);
	execvp(argv[0], argv);
	/* This lands in the runtime's error output, which becomes the run error message. */
	dprintf(STDERR_FILENO, "Failed to execute '%s': %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Runs "BIN ARGS... delete --force ID" and waits for it, so that a failed run leaves nothing. */
static void delete_container(const struct shim *s)
{
	const char *tail[] = {"delete", "--force", s->id, NULL};
	_cleanup_free_ char **argv = runtime_argv(s, tail);
	pid_t pid = spawn_runtime(argv, -1, -1, -1);
	int status;

	if (pid < 0) {
		shim_diag(s, "Failed to run '%s delete': %s", s->runtime, strerror(-(int)pid));
		return;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		shim_diag(s, "'%s delete --force %s' failed with status %d", s->runtime, s->id,
		          status);
}

static void keep_early(struct shim *s, int stream, const char *buf, size_t n)
{
	struct early *e = &s->early[stream];
	char *grown;

	if (e->len + n > SHIM_EARLY_MAX || !(grown = realloc(e->buf, e->len + n))) {
		e->dropped += n;
		return;
	}
	memcpy(grown + e->len, buf, n);
	e->buf = grown;
	e->len += n;
}

/*
 * Reads one chunk of what arrived on STREAM while the runtime's "run" ran: into
 * the chatter tail, dropping its oldest bytes first so that the end (where an
 * error is) survives, and into the stream's early output.  *open_ becomes
 * false at EOF.  Returns true when it got something.
 */
static bool read_chatter(struct shim *s, int fd, int stream, bool *open_)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*open_ = false;
		return false;
	}
	if (s->chatter_len + (size_t)n > SHIM_CHATTER_MAX) {
		size_t drop = s->chatter_len + (size_t)n - SHIM_CHATTER_MAX;

		memmove(s->chatter, s->chatter + drop, s->chatter_len - drop);
		s->chatter_len -= drop;
	}
	memcpy(s->chatter + s->chatter_len, buf, (size_t)n);
	s->chatter_len += (size_t)n;
	/* With a terminal the container writes to it, never here: this is the runtime's. */
	if (!s->tty)
		keep_early(s, stream, buf, (size_t)n);
	return true;
}

/* The errno a CRI caller can act on: ENOENT for a missing executable, else EIO. */
static int runtime_errno(const char *msg)
{
	if (strcasestr(msg, "no such file or directory") ||
	    strcasestr(msg, "executable file not found"))
		return ENOENT;
	return EIO;
}

static int exit_code_of(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static void log_output(struct shim *s, uint32_t stream, const char *buf, size_t n)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	if (!s->w || n == 0)
		return;
	if (crib_crilog_write(s->w, stream, buf, n, &err) < 0) {
		/* Once per failing streak: a full disk must not fill shim.log too. */
		if (!s->log_failing)
			shim_diag(s, "%s", crib_error_msg(err));
		s->log_failing = true;
		return;
	}
	s->log_failing = false;
}

/*
 * Reads one chunk of container output into the log and the attach sessions;
 * *open_ becomes false at EOF (or EIO: a terminal's master once no one holds
 * the slave).
 */
static void copy_output(struct shim *s, int fd, uint32_t stream, bool *open_)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		*open_ = false;
		return;
	}
	log_output(s, stream, buf, (size_t)n);
	shim_attach_output(&s->attach, stream, buf, (size_t)n);
}

/* The container's output from before the runtime's "run" returned goes first into the log. */
static void flush_early(struct shim *s)
{
	for (uint32_t stream = CRIB_STREAM_STDOUT; stream <= CRIB_STREAM_STDERR; stream++) {
		struct early *e = &s->early[stream];

		log_output(s, stream, e->buf, e->len);
		if (e->dropped)
			shim_diag(s, "%zu bytes the container wrote while it started were dropped",
			          e->dropped);
		free(e->buf);
		*e = (struct early){0};
	}
}

static void record_exit(struct shim *s, int status)
{
	s->exited = true;
	s->exit_code = exit_code_of(status);
	s->finished_ns = crib_now_ns();
}

/* Reaps every child that is gone: the container's init, and orphans left to the subreaper. */
static void reap(struct shim *s)
{
	int status;

	for (;;) {
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		if ((pid == s->pid || (s->proxy > 0 && pid == s->proxy)) && !s->exited)
			record_exit(s, status);
	}
}

/* The pidfd of an init that is not a descendant fired: its status is lost to us. */
static void on_pidfd(struct shim *s)
{
	int status;
	pid_t pid = waitpid(s->pid, &status, WNOHANG);

	if (pid == s->pid) {
		record_exit(s, status);
		return;
	}
	if (pid == 0 || (s->proxy > 0 && kill(s->proxy, 0) == 0))
		return; /* our child, or a proxy's, and a SIGCHLD is on the way */
	s->exited = true;
	s->exit_unknown = true;
	s->exit_code = 255;
	s->finished_ns = crib_now_ns();
}

static void on_reopen(struct shim *s)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	char text[32];
	int r;

	if (s->w && crib_crilog_reopen(s->w, &err) < 0) {
		/* The counter stays put: the backend's wait for it fails, as the reopen did. */
		shim_diag(s, "%s", crib_error_msg(err));
		return;
	}
	s->log_failing = false;
	(void)snprintf(text, sizeof(text), "%u\n", ++s->reopened);
	r = write_file_atomic(s->dir, "reopened", text);
	if (r < 0)
		shim_diag(s, "Failed to write '%s/reopened': %s", s->dir, strerror(-r));
}

/*
 * Drains the signalfd.  SIGCHLD reaps only RUNTIME_PID when it is > 0 (while
 * the runtime's run is under way, before the container's pid is known, so that
 * its exit status waits as a zombie), else every child.
 */
static void on_signals(struct shim *s, pid_t runtime_pid, int *runtime_status, bool *runtime_done)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			if (runtime_pid <= 0)
				reap(s);
			else if (!*runtime_done &&
			         waitpid(runtime_pid, runtime_status, WNOHANG) == runtime_pid)
				*runtime_done = true;
			break;
		case SIGUSR1:
			on_reopen(s);
			break;
		default:
			/* SIGTERM, SIGINT, SIGHUP: the container's lifetime is the shim's. */
			break;
		}
	}
}

/* The terminal's master, which the runtime sends to the console socket; -errno until then. */
static int recv_console(int listen_fd)
{
	_cleanup_close_ int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	char buf[OCI_SOCK_MSG_MAX];
	size_t n_fds;
	int fd;

	if (conn < 0)
		return -errno;
	if (oci_sock_recv(conn, buf, sizeof(buf), &fd, 1, &n_fds) < 0 || n_fds != 1)
		return -EBADMSG;
	return fd;
}

/* A console socket in SHIMDIR, to which the runtime sends a terminal's master. */
struct console {
	int dirfd; /* SHIMDIR: the runtime reaches the socket through our fd of it */
	int listen_fd;
	char *name;
	char *path; /* what the runtime's --console-socket gets */
};

#define CONSOLE_NULL ((struct console){.dirfd = -EBADF, .listen_fd = -EBADF})

/* Listens on SHIMDIR/NAME; C is set up (and must be closed) also on failure. */
static int console_open(const struct shim *s, const char *name, struct console *c)
{
	*c = CONSOLE_NULL;
	c->dirfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0)
		return -errno;
	c->listen_fd = oci_sock_listen(c->dirfd, name, SOCK_STREAM, 1);
	if (c->listen_fd < 0)
		return c->listen_fd;
	c->name = crib_xstrdup(name);
	/* The runtime connects by path, and SHIMDIR may be longer than sun_path holds. */
	c->path = crib_xasprintf("/proc/%d/fd/%d/%s", (int)getpid(), c->dirfd, name);
	return 0;
}

/* The runtime is done with it: the socket file goes too. */
static void console_close(struct console *c)
{
	if (c->listen_fd >= 0) {
		(void)unlinkat(c->dirfd, c->name, 0);
		(void)close(c->listen_fd);
	}
	if (c->dirfd >= 0)
		(void)close(c->dirfd);
	free(c->name);
	free(c->path);
	*c = CONSOLE_NULL;
}

/*
 * Waits for the runtime PID: keeps what the run's pipes carry (run mode) and
 * takes the terminal's master from CONSOLE (a listening socket when there is
 * a terminal, else -1) into *ret_master.
 */
static int wait_runtime(struct shim *s, pid_t pid, int console, int *ret_master, int *ret_status)
{
	bool out_open = s->out_fd >= 0, err_open = s->err_fd >= 0, done = false;
	_cleanup_close_ int master = -EBADF;
	int status = 0;

	while (!done) {
		struct pollfd fds[4] = {{.fd = s->sfd, .events = POLLIN},
		                        {.fd = out_open ? s->out_fd : -1, .events = POLLIN},
		                        {.fd = err_open ? s->err_fd : -1, .events = POLLIN},
		                        {.fd = master < 0 ? console : -1, .events = POLLIN}};

		if (poll(fds, ARRAY_SIZE(fds), -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (fds[0].revents)
			on_signals(s, pid, &status, &done);
		if (fds[1].revents)
			read_chatter(s, s->out_fd, CRIB_STREAM_STDOUT, &out_open);
		if (fds[2].revents)
			read_chatter(s, s->err_fd, CRIB_STREAM_STDERR, &err_open);
		if (fds[3].revents)
			master = recv_console(console);
	}
	/* A runtime may send the master and exit before we polled. */
	if (master < 0 && console >= 0)
		master = recv_console(console);
	*ret_master = TAKE_FD(master);
	*ret_status = status;
	return 0;
}

/*
 * Runs "BIN ARGS... run --detach [--console-socket S] --bundle DIR --pid-file
 * F ID" and waits for it, keeping what the pipes carried, and taking the
 * terminal's master from CON (set up with --tty) into *ret_master.
 */
static int run_runtime(struct shim *s, const struct console *con, int in, int out, int err,
                       int *ret_master, int *ret_status)
{
	_cleanup_free_ char *pid_file = crib_xasprintf("%s/pid", s->dir);
	_cleanup_free_ char **argv = NULL;
	const char *tail[10] = {"run", "--detach"};
	size_t n = 2;
	pid_t pid;

	if (con->path) {
		tail[n++] = "--console-socket";
		tail[n++] = con->path;
	}
	tail[n++] = "--bundle";
	tail[n++] = s->bundle;
	tail[n++] = "--pid-file";
	tail[n++] = pid_file;
	tail[n++] = s->id;
	argv = runtime_argv(s, tail);
	pid = spawn_runtime(argv, in, out, err);
	if (pid < 0)
		return (int)pid;
	/* Only the runtime (and through it the container) may hold the write ends. */
	if (in >= 0)
		(void)close(in);
	(void)close(out);
	(void)close(err);
	return wait_runtime(s, pid, con->listen_fd, ret_master, ret_status);
}

/*
 * After a failed run: what the runtime wrote just before it exited may still
 * sit in the pipes, and its error message is in there.  Bounded, because a
 * container that did start may keep writing.
 */
static void drain_pipe(struct shim *s, int fd, int stream)
{
	bool open_ = true;

	for (int i = 0; i < 64 && open_ && read_chatter(s, fd, stream, &open_); i++)
		;
}

static void drain_chatter(struct shim *s)
{
	drain_pipe(s, s->out_fd, CRIB_STREAM_STDOUT);
	drain_pipe(s, s->err_fd, CRIB_STREAM_STDERR);
}

/* SHIMDIR/monitor: who watches the container, which container, since when. */
static int write_monitor_file(const struct shim *s)
{
	char text[128];

	(void)snprintf(text, sizeof(text), "%d %llu %d %lld\n", (int)getpid(),
	               crib_proc_start_time(getpid()), (int)s->pid, (long long)crib_now_ns());
	return write_file_atomic(s->dir, "monitor", text);
}

static int read_pid_file(const char *path, pid_t *ret)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[32];
	ssize_t n;
	long v;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (parse_int(buf, 1, INT_MAX, &v) < 0)
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

/* The parent of PID (/proc/PID/stat field 4), or 0. */
static pid_t parent_of(pid_t pid)
{
	return (pid_t)crib_proc_stat_field(pid, 4);
}

/* Our only child, or 0: none, or several. */
static pid_t only_child(void)
{
	char path[64], *end;
	_cleanup_free_ char *text = NULL;
	size_t len;
	long child;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if (crib_read_file(path, 256, &text, &len) < 0 || len == 0)
		return 0;
	child = strtol(text, &end, 10);
	while (*end == ' ' || *end == '\n')
		end++;
	return *end ? 0 : (pid_t)child;
}

/*
 * An init that is not our child (or is gone already) was left to a monitor of
 * the runtime's that is: our only child once the runtime is done.
 */
static pid_t find_proxy(const struct shim *s)
{
	pid_t parent = parent_of(s->pid), child;

	if (parent == getpid())
		return 0;
	if (parent > 0 && parent_of(parent) == getpid())
		return parent;
	child = only_child();
	return child != s->pid ? child : 0;
}

/*
 * Watches the init with a pidfd as well: a runtime may leave it outside our
 * descendants, where waitpid never reports it.
 */
static void watch_pid(struct shim *s)
{
	int fd = (int)syscall(SYS_pidfd_open, s->pid, 0);

	s->proxy = s->monitor_exit ? find_proxy(s) : 0;

	if (fd >= 0) {
		/* pidfds are close-on-exec from birth. */
		s->pidfd = fd;
		return;
	}
	if (errno == ESRCH || errno == ENOENT)
		on_pidfd(s); /* already gone: reaped here, or lost */
	else
		shim_diag(s, "Failed to open a pidfd for %d: %s", (int)s->pid, strerror(errno));
}

/* Copies output until the init exits, then until both pipes end or SHIM_DRAIN_NS passed. */
static void monitor(struct shim *s)
{
	bool out_open = s->out_fd >= 0, err_open = s->err_fd >= 0, dummy = false;
	int64_t deadline = 0;
	int dummy_status;

	/* Children that exited while run ran are still zombies whose SIGCHLD was used up. */
	reap(s);
	for (;;) {
		struct pollfd fds[4 + SHIM_ATTACH_SLOTS] = {
		    {.fd = s->sfd, .events = POLLIN},
		    {.fd = out_open ? s->out_fd : -1, .events = POLLIN},
		    {.fd = err_open ? s->err_fd : -1, .events = POLLIN},
		    {.fd = s->exited ? -1 : s->pidfd, .events = POLLIN}};
		int timeout = -1;

		if (s->exited) {
			int64_t left;

			/* Sessions that start now would see no output and no exit. */
			shim_attach_close_listener(&s->attach, s->dir);
			if (!out_open && !err_open)
				break;
			if (deadline == 0)
				deadline = crib_mono_ns() + SHIM_DRAIN_NS;
			left = deadline - crib_mono_ns();
			/* Whatever the container left behind may hold the pipes forever. */
			if (left <= 0)
				break;
			timeout = (int)(left / 1000000) + 1;
		}
		shim_attach_poll(&s->attach, fds + 4);
		if (poll(fds, ARRAY_SIZE(fds), timeout) < 0) {
			if (errno == EINTR)
				continue;
			shim_diag(s, "Failed to poll: %s", strerror(errno));
			break;
		}
		if (fds[0].revents)
			on_signals(s, 0, &dummy_status, &dummy);
		if (fds[1].revents)
			copy_output(s, s->out_fd, CRIB_STREAM_STDOUT, &out_open);
		if (fds[2].revents)
			copy_output(s, s->err_fd, CRIB_STREAM_STDERR, &err_open);
		if (fds[3].revents && !s->exited)
			on_pidfd(s);
		shim_attach_dispatch(&s->attach, fds + 4);
	}
	if (!s->exited) {
		/* Only a failed poll gets here. */
		s->exit_unknown = true;
		s->exit_code = 255;
		s->finished_ns = crib_now_ns();
	}
}

/* Signals arrive through the signalfd; the ones not handled there are ignored by it. */
static int setup_signals(struct shim *s)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	/* A backend that closed its end of the ready pipe must not kill the shim. */
	(void)signal(SIGPIPE, SIG_IGN);
	s->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return s->sfd < 0 ? -errno : 0;
}

/* Closes the fds from LO to HI; by hand where close_range(2) is missing (before Linux 5.9). */
static void close_fds(unsigned lo, unsigned hi)
{
	long max;

	if (close_range(lo, hi, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (unsigned fd = lo; fd <= hi && fd < (unsigned)max; fd++)
		(void)close((int)fd);
}

/* /dev/null on 0-2. */
static int stdio_to_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	for (int i = STDIN_FILENO; i <= STDERR_FILENO; i++)
		if (dup2(fd, i) < 0)
			return -errno;
	if (fd > STDERR_FILENO)
		(void)close(fd);
	return 0;
}

/*
 * Leaves the shim with /dev/null on 0-2 (exec mode: the caller's), the ready fd (close-on-exec,
 * above 2) and nothing else: whatever the caller leaked must not reach the runtime or the
 * container.
 */
static int setup_fds(struct shim *s)
{
	int fd;

	if (s->ready_fd <= STDERR_FILENO) {
		fd = fcntl(s->ready_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		if (fd < 0)
			return -errno;
		s->ready_fd = fd;
	} else if (fcntl(s->ready_fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	if (s->ready_fd > STDERR_FILENO + 1)
		close_fds(STDERR_FILENO + 1, (unsigned)s->ready_fd - 1);
	close_fds((unsigned)s->ready_fd + 1, ~0U);
	/* Exec mode: the caller's stdio is the session's, for the runtime to hand on. */
	return s->exec ? 0 : stdio_to_null();
}

/* pipe2 with the shim's end non-blocking (the container's end stays blocking). */
static int make_pipe(int fds[2], int nonblock_end)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(fds[nonblock_end], F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/*
 * Once the runtime's run succeeded: the pid, the monitor file, the attach
 * socket.  On failure TEXT says what failed.
 */
static int started(struct shim *s, char *text, size_t size)
{
	_cleanup_free_ char *pid_file = crib_xasprintf("%s/pid", s->dir);
	int r = read_pid_file(pid_file, &s->pid);

	if (r < 0) {
		(void)snprintf(text, size, "Failed to read the pid file '%s': %s", pid_file,
		               strerror(-r));
		return -EIO;
	}
	r = write_monitor_file(s);
	if (r < 0) {
		(void)snprintf(text, size, "Failed to write '%s/monitor': %s", s->dir,
		               strerror(-r));
		return -EIO;
	}
	r = shim_attach_init(&s->attach, s->id, s->dir, &s->stdin_fd, s->tty ? s->out_fd : -EBADF);
	if (r < 0) {
		(void)snprintf(text, size, "Failed to listen on '%s/attach': %s", s->dir,
		               strerror(-r));
		return r;
	}
	return 0;
}

/*
 * Subreaper (the container's init, or the exec'd process, is reparented to the
 * shim when the runtime exits), "/" and signals.
 */
static int become_monitor(struct shim *s)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return -errno;
	(void)chdir("/");
	return setup_signals(s);
}

/* The runtime's run failed: its error, from what the pipes carried, goes on the ready fd. */
static void run_failed(struct shim *s, int status)
{
	_cleanup_free_ char *msg = NULL;
	char fallback[PATH_MAX + 64];

	drain_chatter(s);
	if (WIFSIGNALED(status))
		(void)snprintf(fallback, sizeof(fallback), "%s run was killed by signal %d",
		               s->runtime, WTERMSIG(status));
	else
		(void)snprintf(fallback, sizeof(fallback), "%s run exited with code %d", s->runtime,
		               WEXITSTATUS(status));
	msg = oci_error_text(s->chatter, s->chatter_len, fallback);
	/* An empty msg="" must not make an empty error. */
	if (isempty(msg))
		crib_strreplace(&msg, fallback);
	shim_diag(s, "'%s run' failed: %s", s->runtime, msg);
	/* Whatever run got as far as making must not outlive the failure. */
	delete_container(s);
	report_error(s, runtime_errno(msg), msg);
}

/*
 * With a terminal the pipes carried only the runtime's output: from now on
 * MASTER (taken over) is the container's output, and with --stdin a copy of
 * it its input (a copy, as the attach code may close its stdin).
 */
static int use_terminal(struct shim *s, int master)
{
	int fd;

	closep(&s->out_fd);
	closep(&s->err_fd);
	s->err_fd = -EBADF;
	s->out_fd = master;
	if (fcntl(master, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	if (!s->stdin_pipe)
		return 0;
	fd = fcntl(master, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (fd < 0)
		return -errno;
	s->stdin_fd = fd;
	return 0;
}

/*
 * Runs the runtime's run (with a console socket under --tty) and sets the
 * container up for monitor().  On failure the error is reported and nothing
 * of the container is left.
 */
static int start_container(struct shim *s, int in, int out, int err)
{
	_cleanup_(console_close) struct console con = CONSOLE_NULL;
	_cleanup_close_ int master = -EBADF;
	char text[SHIM_REPORT_MAX];
	int status, r = 0;

	if (s->tty)
		r = console_open(s, "console.sock", &con);
	if (r >= 0)
		r = run_runtime(s, &con, in, out, err, &master, &status);
	console_close(&con);
	if (r < 0) {
		(void)snprintf(text, sizeof(text), "Failed to run '%s run': %s", s->runtime,
		               strerror(-r));
		report_error(s, -r, text);
		return r;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		run_failed(s, status);
		return -EIO;
	}
	if (s->tty && master < 0) {
		(void)snprintf(text, sizeof(text), "%s run sent no terminal", s->runtime);
		r = -EIO;
	} else {
		r = s->tty ? use_terminal(s, TAKE_FD(master)) : 0;
		if (r < 0)
			(void)snprintf(text, sizeof(text), "Failed to take the terminal: %s",
			               strerror(-r));
	}
	if (r >= 0) {
		/* The runtime succeeded: what the pipes carried was the container's. */
		flush_early(s);
		r = started(s, text, sizeof(text));
	}
	if (r < 0) {
		delete_container(s);
		report_error(s, -r, text);
	}
	return r;
}

/* Everything after the detach; the return value is the shim's exit status. */
static int shim_run(struct shim *s)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	int out[2] = {-EBADF, -EBADF}, errp[2] = {-EBADF, -EBADF}, in[2] = {-EBADF, -EBADF};
	char text[SHIM_REPORT_MAX];
	int r;

	r = become_monitor(s);
	if (r >= 0)
		r = make_pipe(out, 0);
	if (r >= 0)
		r = make_pipe(errp, 0);
	/* With a terminal the container's stdin is the terminal: the runtime's is /dev/null. */
	if (r >= 0 && s->stdin_pipe && !s->tty)
		r = make_pipe(in, 1);
	if (r < 0) {
		report_error(s, -r, "Failed to set up the shim");
		return 1;
	}
	s->out_fd = out[0];
	s->err_fd = errp[0];
	/* Held until the shim exits: the container's stdin never sees EOF. */
	s->stdin_fd = in[1];
	if (s->log && crib_crilog_open(s->log, &s->w, &err) < 0) {
		report_error(s, err->errnum, crib_error_msg(err));
		return 1;
	}
	/* Early, so that a backend can kill a shim whose runtime hangs in run. */
	(void)snprintf(text, sizeof(text), "%d\n", (int)getpid());
	r = write_file_atomic(s->dir, "shim.pid", text);
	if (r < 0) {
		(void)snprintf(text, sizeof(text), "Failed to write '%s/shim.pid': %s", s->dir,
		               strerror(-r));
		report_error(s, -r, text);
		return 1;
	}
	if (start_container(s, in[0], out[1], errp[1]) < 0)
		return 1;
	watch_pid(s);
	(void)snprintf(text, sizeof(text), "ok %d\n", (int)s->pid);
	report(s, text);

	monitor(s);
	shim_attach_finish(&s->attach, !s->exit_unknown, s->exit_code);
	if (s->exit_unknown)
		(void)snprintf(text, sizeof(text), "%d %lld unknown\n", s->exit_code,
		               (long long)s->finished_ns);
	else
		(void)snprintf(text, sizeof(text), "%d %lld\n", s->exit_code,
		               (long long)s->finished_ns);
	/* The exit file must exist before the shim is gone: the backend waits on our pidfd. */
	r = write_file_atomic(s->dir, "exit", text);
	if (r < 0)
		shim_diag(s, "Failed to write '%s/exit': %s", s->dir, strerror(-r));
	return r < 0 ? 1 : 0;
}

/* ---- exec mode ---- */

/* SHIMDIR/exec-SHIMPID.SUFFIX: the shim's pid keeps concurrent sessions apart. */
static char *exec_file(const struct shim *s, const char *suffix)
{
	return crib_xasprintf("%s/exec-%d.%s", s->dir, (int)getpid(), suffix);
}

/* "BIN ARGS... --log LOG exec --detach --pid-file PID [--tty --console-socket SOCK] ID ARGV..." */
static char **exec_runtime_argv(const struct shim *s, const char *pid_file, const char *log,
                                const char *console)
{
	size_t n_argv = 0, n = 0;
	_cleanup_free_ const char **tail = NULL;

	while (s->exec_argv[n_argv])
		n_argv++;
	tail = crib_xcalloc(n_argv + 12, sizeof(*tail));
	tail[n++] = "--log";
	tail[n++] = log;
	tail[n++] = "exec";
	tail[n++] = "--detach";
	tail[n++] = "--pid-file";
	tail[n++] = pid_file;
	if (console) {
		if (!s->console_only)
			tail[n++] = "--tty";
		tail[n++] = "--console-socket";
		tail[n++] = console;
	}
	tail[n++] = s->id;
	for (size_t i = 0; i < n_argv; i++)
		tail[n++] = s->exec_argv[i];
	return runtime_argv(s, tail);
}

/*
 * Runs the runtime's exec and waits for it, taking the terminal's master from
 * CONSOLE (a listening socket, or -1 without a terminal) on the way.
 */
static int exec_runtime(struct shim *s, char **argv, int console, int *ret_master, int *ret_status)
{
	pid_t pid = spawn_runtime(argv, -1, -1, -1);

	if (pid < 0)
		return (int)pid;
	return wait_runtime(s, pid, console, ret_master, ret_status);
}

/* The runtime's error: the end of its --log file, else how it exited. */
static char *exec_error(struct shim *s, const char *log, int status)
{
	_cleanup_close_ int fd = open(log, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	char fallback[PATH_MAX + 64];
	off_t size;
	ssize_t n;
	char *msg;

	(void)snprintf(fallback, sizeof(fallback), "%s exec exited with code %d", s->runtime,
	               exit_code_of(status));
	s->chatter_len = 0;
	if (fd >= 0 && (size = lseek(fd, 0, SEEK_END)) >= 0) {
		/* The error comes last: only the tail matters. */
		off_t from = size > (off_t)SHIM_CHATTER_MAX ? size - (off_t)SHIM_CHATTER_MAX : 0;

		n = pread(fd, s->chatter, SHIM_CHATTER_MAX, from);
		s->chatter_len = n > 0 ? (size_t)n : 0;
	}
	msg = oci_error_text(s->chatter, s->chatter_len, fallback);
	if (isempty(msg))
		crib_strreplace(&msg, fallback);
	return msg;
}

/* Kills the exec'd process, through its pidfd when there is one (the pid may be reused). */
static void exec_kill(const struct shim *s)
{
	if (s->pidfd >= 0 && syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0) == 0)
		return;
	(void)kill(s->pid, SIGKILL);
}

/*
 * Waits for the exec'd process.  The end of the ctl socket means the session
 * was closed: the process must not outlive it.
 */
static void exec_wait(struct shim *s)
{
	bool dummy = false;
	int dummy_status;

	reap(s);
	while (!s->exited) {
		struct pollfd fds[3] = {{.fd = s->sfd, .events = POLLIN},
		                        {.fd = s->ready_fd, .events = POLLIN},
		                        {.fd = s->pidfd, .events = POLLIN}};

		if (poll(fds, ARRAY_SIZE(fds), -1) < 0) {
			if (errno == EINTR)
				continue;
			shim_diag(s, "Failed to poll: %s", strerror(errno));
			return;
		}
		if (fds[0].revents)
			on_signals(s, 0, &dummy_status, &dummy);
		if (fds[2].revents && !s->exited)
			on_pidfd(s);
		if (fds[1].revents && s->ready_fd >= 0) {
			(void)close(s->ready_fd);
			s->ready_fd = -EBADF;
			if (!s->exited)
				exec_kill(s);
		}
	}
}

/* After a successful exec: the pid, and the shim's hold on the session's pipes let go. */
static int exec_started(struct shim *s, const char *pid_file, char *text, size_t size)
{
	int r = read_pid_file(pid_file, &s->pid);

	if (r < 0) {
		(void)snprintf(text, size, "Failed to read the pid file '%s': %s", pid_file,
		               strerror(-r));
		return r;
	}
	/* Only the process may hold them: its exit must be the end of the output. */
	r = stdio_to_null();
	if (r < 0) {
		(void)snprintf(text, size, "Failed to let go of the session's pipes: %s",
		               strerror(-r));
		return r;
	}
	return 0;
}

/* Runs the runtime's exec and reports; on success *ret_master is the terminal's (or -EBADF). */
static int exec_start(struct shim *s, int *ret_master)
{
	_cleanup_free_ char *pid_file = exec_file(s, "pid"), *log = exec_file(s, "log");
	_cleanup_(console_close) struct console con = CONSOLE_NULL;
	_cleanup_free_ char *msg = NULL;
	_cleanup_free_ char **argv = NULL;
	_cleanup_close_ int master = -EBADF;
	char text[SHIM_REPORT_MAX], console_name[32];
	int status, r = 0;

	if (s->tty) {
		(void)snprintf(console_name, sizeof(console_name), "exec-%d.sock", (int)getpid());
		r = console_open(s, console_name, &con);
	}
	if (r >= 0) {
		argv = exec_runtime_argv(s, pid_file, log, con.path);
		r = exec_runtime(s, argv, con.listen_fd, &master, &status);
	}
	console_close(&con);
	if (r < 0) {
		(void)snprintf(text, sizeof(text), "Failed to run '%s exec': %s", s->runtime,
		               strerror(-r));
		report_error(s, -r, text);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		msg = exec_error(s, log, status);
		report_error(s, runtime_errno(msg), msg);
		r = -EIO;
	} else if (s->tty && master < 0) {
		(void)snprintf(text, sizeof(text), "%s exec sent no terminal", s->runtime);
		report_error(s, EIO, text);
		r = -EIO;
	} else if ((r = exec_started(s, pid_file, text, sizeof(text))) < 0) {
		report_error(s, -r, text);
	}
	(void)unlink(log);
	(void)unlink(pid_file);
	*ret_master = TAKE_FD(master);
	return r;
}

/* Exec mode; the return value is the shim's exit status. */
static int shim_exec(struct shim *s)
{
	_cleanup_close_ int master = -EBADF;
	char text[64];
	int r;

	/* A session of its own: signals for cribd's process group are not the session's. */
	(void)setsid();
	r = become_monitor(s);
	if (r < 0) {
		report_error(s, -r, "Failed to set up the shim");
		return 1;
	}
	if (exec_start(s, &master) < 0)
		return 1;
	watch_pid(s);
	(void)snprintf(text, sizeof(text), "started %d\n", (int)s->pid);
	r = oci_sock_send(s->ready_fd, text, &master, master >= 0 ? 1 : 0);
	if (r < 0)
		shim_diag(s, "Failed to report the exec session: %s", strerror(-r));
	/* The backend holds the terminal now; ours would keep it open after the process. */
	if (master >= 0)
		(void)close(TAKE_FD(master));
	exec_wait(s);
	if (s->ready_fd < 0 || !s->exited || s->exit_unknown)
		return 0;
	(void)snprintf(text, sizeof(text), "exit %d\n", s->exit_code);
	(void)oci_sock_send(s->ready_fd, text, NULL, 0);
	return 0;
}

/*
 * Double fork around setsid: the shim is neither the caller's child nor a session
 * leader (it can never acquire a controlling terminal).  Returns true in the
 * shim; in the caller's process and the intermediate one it returns false with
 * the exit status in *ret_status.
 */
static bool detach(struct shim *s, int *ret_status)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		report_error(s, errno, "Failed to fork the shim");
		*ret_status = 1;
		return false;
	}
	if (pid > 0) {
		/* The intermediate process exits right after its fork: this wait is short. */
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				*ret_status = 1;
				return false;
			}
		}
		*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		return false;
	}
	(void)setsid();
	pid = fork();
	if (pid < 0) {
		report_error(s, errno, "Failed to fork the shim");
		_exit(1);
	}
	if (pid > 0)
		_exit(0);
	return true;
}

int main(int argc, char **argv)
{
	_cleanup_free_ const char **runtime_args = NULL;
	struct shim s = {
	    .ready_fd = -EBADF,
	    .sfd = -EBADF,
	    .out_fd = -EBADF,
	    .err_fd = -EBADF,
	    .stdin_fd = -EBADF,
	    .pidfd = -EBADF,
	};
	int status, r;

	r = parse_args(&s, argc, argv);
	runtime_args = s.runtime_args;
	if (r < 0) {
		fprintf(stderr,
		        "usage: crib-shim --runtime BIN [--runtime-arg ARG]... --id ID "
		        "--bundle DIR --dir SHIMDIR --ready-fd N [--log PATH] [--stdin] [--tty] "
		        "[--monitor-exit]\n"
		        "       crib-shim exec --runtime BIN [--runtime-arg ARG]... --id ID "
		        "--dir SHIMDIR --ctl-fd N [--tty [--console-only]] -- ARGV...\n");
		if (s.ready_fd >= 0 && fcntl(s.ready_fd, F_GETFD) >= 0)
			report_error(&s, EINVAL, "crib-shim: invalid command line");
		return 2;
	}
	r = setup_fds(&s);
	if (r < 0) {
		report_error(&s, -r, "Failed to set up the shim's file descriptors");
		return 1;
	}
	/* An exec session's shim stays the backend's child: it reaps it at the session's end. */
	if (s.exec)
		return shim_exec(&s);
	if (!detach(&s, &status))
		return status;
	status = shim_run(&s);
	crib_crilog_close(s.w);
	/* Left over when the run failed: what the pipes carried went into the error. */
	for (size_t i = 0; i < ARRAY_SIZE(s.early); i++)
		free(s.early[i].buf);
	return status;
}
