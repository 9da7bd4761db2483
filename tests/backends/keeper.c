/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-test-keeper: the monitor process of the test backend's containers.
 *
 *   crib-test-keeper --dir DIR --ready-fd N [--log PATH] [--cwd DIR] [--root DIR] -- ARGV...
 *
 * Detaches from the caller (a second fork and setsid), starts ARGV with its
 * stdout and stderr on pipes, reports "ok PID STARTED_NS" or "err ERRNO" on the
 * ready fd, copies the output into PATH in the CRI log format, and when the
 * process ends writes DIR/exit ("CODE FINISHED_NS REASON").  The process runs in
 * its own process group, killed whole when the process ends or is killed.  It outlives cribd,
 * so the test backend's containers survive cribd being killed.  Signals:
 * SIGTERM is forwarded, SIGUSR2 kills the process, SIGUSR1 reopens the log
 * (and bumps DIR/reopened).  The environment is the process's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <crib/backend.h>

#include "crilog.h"
#include "error.h"
#include "util.h"

struct keeper {
	const char *dir;
	const char *log;
	const char *cwd;
	const char *root;
	int ready_fd;
	char **argv;
	struct crib_log_writer *w;
	unsigned reopened;
};

static int write_file(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *tmp = crib_xasprintf("%s/.%s.tmp", dir, name);
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(tmp, "we");

	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f) != 0)
		return -errno;
	/* Readers never see a half-written file. */
	return rename(tmp, path) < 0 ? -errno : 0;
}

static int parse_args(struct keeper *k, int argc, char **argv)
{
	int i;

	k->ready_fd = -1;
	for (i = 1; i < argc; i++) {
		if (streq(argv[i], "--")) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			return -EINVAL;
		if (streq(argv[i], "--dir"))
			k->dir = argv[++i];
		else if (streq(argv[i], "--log"))
			k->log = argv[++i];
		else if (streq(argv[i], "--cwd"))
			k->cwd = argv[++i];
		else if (streq(argv[i], "--root"))
			k->root = argv[++i];
		else if (streq(argv[i], "--ready-fd"))
			k->ready_fd = (int)strtol(argv[++i], NULL, 10);
		else
			return -EINVAL;
	}
	if (!k->dir || k->ready_fd < 0 || i >= argc)
		return -EINVAL;
	k->argv = argv + i;
	return 0;
}

/* Tells the backend "ok PID STARTED_NS" or "err ERRNO", once. */
static void report(struct keeper *k, bool ok, long a, long long b)
{
	char buf[64];
	int n = ok ? snprintf(buf, sizeof(buf), "ok %ld %lld\n", a, b)
	           : snprintf(buf, sizeof(buf), "err %ld\n", a);

	if (n > 0)
		(void)!write(k->ready_fd, buf, (size_t)n);
	(void)close(k->ready_fd);
	k->ready_fd = -1;
}

/* In the child: stdio on the pipes, then exec; an exec failure goes back on ERR_FD. */
static void run_child(struct keeper *k, int out, int err, int err_fd)
{
	int e;

	/* Its own process group stands in for a container's pid namespace: all die together. */
	(void)setpgid(0, 0);
	(void)dup2(out, STDOUT_FILENO);
	(void)dup2(err, STDERR_FILENO);
	(void)dup2(open("/dev/null", O_RDONLY), STDIN_FILENO);
	(void)sigprocmask(SIG_SETMASK, &(sigset_t){0}, NULL);
	/* The image's root filesystem, when the container has one. */
	if (k->root && (chroot(k->root) < 0 || chdir("/") < 0)) {
		e = errno;
		(void)!write(err_fd, &e, sizeof(e));
		_exit(127);
	}
	if (k->cwd && chdir(k->cwd) < 0) {
		e = errno;
		(void)!write(err_fd, &e, sizeof(e));
		_exit(127);
	}
	execvp(k->argv[0], k->argv);
	e = errno;
	(void)!write(err_fd, &e, sizeof(e));
	_exit(127);
}

static void copy_output(struct keeper *k, int fd, uint32_t stream, bool *open_)
{
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*open_ = false;
		return;
	}
	if (k->w)
		(void)crib_crilog_write(k->w, stream, buf, (size_t)n, NULL);
}

static void on_signal(struct keeper *k, int sfd, pid_t child, bool *child_done, int *status)
{
	struct signalfd_siginfo si;
	char text[32];

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	switch (si.ssi_signo) {
	case SIGTERM:
		(void)kill(child, SIGTERM);
		break;
	case SIGUSR2:
		(void)kill(-child, SIGKILL);
		break;
	case SIGUSR1:
		if (k->w && crib_crilog_reopen(k->w, NULL) == 0) {
			(void)snprintf(text, sizeof(text), "%u\n", ++k->reopened);
			(void)write_file(k->dir, "reopened", text);
		}
		break;
	case SIGCHLD:
		if (waitpid(child, status, WNOHANG) == child) {
			*child_done = true;
			/* What the main process left behind goes with it, as in a container. */
			(void)kill(-child, SIGKILL);
		}
		break;
	}
}

static int monitor(struct keeper *k, pid_t child, int out, int err, int sfd)
{
	struct pollfd fds[3] = {{.fd = sfd, .events = POLLIN},
	                        {.fd = out, .events = POLLIN},
	                        {.fd = err, .events = POLLIN}};
	bool out_open = true, err_open = true, child_done = false;
	const char *reason;
	char text[96];
	int status = 0, code;

	/* Wait for the exit and for the pipes to drain, so no output is lost. */
	while (!child_done || out_open || err_open) {
		fds[1].fd = out_open ? out : -1;
		fds[2].fd = err_open ? err : -1;
		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN)
			on_signal(k, sfd, child, &child_done, &status);
		if (fds[1].revents)
			copy_output(k, out, CRIB_STREAM_STDOUT, &out_open);
		if (fds[2].revents)
			copy_output(k, err, CRIB_STREAM_STDERR, &err_open);
	}
	if (WIFSIGNALED(status)) {
		code = 128 + WTERMSIG(status);
		reason = "Error";
	} else {
		code = WEXITSTATUS(status);
		reason = code == 0 ? "Completed" : "Error";
	}
	(void)snprintf(text, sizeof(text), "%d %lld %s\n", code, (long long)crib_now_ns(), reason);
	return write_file(k->dir, "exit", text);
}

static int start(struct keeper *k)
{
	int out[2], err[2], exec_err[2], e = 0;
	sigset_t mask;
	pid_t child;
	char text[32];
	int sfd, r;

	/* The workload must not hold the ready pipe open. */
	(void)fcntl(k->ready_fd, F_SETFD, FD_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGCHLD);
	(void)sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(exec_err, O_CLOEXEC) < 0) {
		report(k, false, errno, 0);
		return 1;
	}
	if (k->log && crib_crilog_open(k->log, &k->w, NULL) < 0) {
		report(k, false, EIO, 0);
		return 1;
	}
	(void)snprintf(text, sizeof(text), "%d\n", getpid());
	(void)write_file(k->dir, "keeper.pid", text);

	child = fork();
	if (child < 0) {
		report(k, false, errno, 0);
		return 1;
	}
	if (child == 0)
		run_child(k, out[1], err[1], exec_err[1]);
	(void)close(out[1]);
	(void)close(err[1]);
	(void)close(exec_err[1]);
	if (read(exec_err[0], &e, sizeof(e)) == sizeof(e)) {
		(void)waitpid(child, NULL, 0);
		report(k, false, e, 0);
		return 1;
	}
	report(k, true, child, (long long)crib_now_ns());
	r = monitor(k, child, out[0], err[0], sfd);
	crib_crilog_close(k->w);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct keeper k = {0};
	pid_t pid;

	if (parse_args(&k, argc, argv) < 0) {
		fprintf(stderr, "usage: crib-test-keeper --dir DIR --ready-fd N [--log PATH] "
		                "[--cwd DIR] [--root DIR] -- ARGV...\n");
		return 2;
	}
	/* The second fork detaches: our parent reaps the first at once. */
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid > 0)
		return 0;
	(void)setsid();
	return start(&k);
}
