/* SPDX-License-Identifier: Apache-2.0 */
/* crib-agent's container processes; see agentspawn.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentspawn.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_GROUPS   256

/* What the child tells the agent when it cannot get to its program. */
struct report {
	int err;
	char what[240];
};

static void fail(int rep, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(int rep, int err, const char *fmt, ...)
{
	struct report r = {.err = err};
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(r.what, sizeof(r.what), fmt, ap);
	va_end(ap);
	len = strlen(r.what);
	snprintf(r.what + len, sizeof(r.what) - len, ": %s", strerror(err));
	(void)!write(rep, &r, sizeof(r));
	_exit(127);
}

/* Mounts TYPE on ROOT/DIR (made if missing); fails the child on error. */
static void mount_at(int rep, const char *root, const char *dir, const char *type,
                     unsigned long flags, const char *data)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", root, dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		fail(rep, errno, "cannot make %s", dir);
	if (mount(type, path, type, flags, data) < 0)
		fail(rep, errno, "cannot mount %s on %s", type, dir);
}

/* /dev as runc makes it: a tmpfs with the usual nodes, devpts, shm and mqueue. */
static void setup_dev(int rep, const char *root)
{
	static const struct {
		const char *name;
		unsigned major, minor;
	} nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
	             {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
	static const struct {
		const char *name, *target;
	} links[] = {{"fd", "/proc/self/fd"},
	             {"stdin", "/proc/self/fd/0"},
	             {"stdout", "/proc/self/fd/1"},
	             {"stderr", "/proc/self/fd/2"},
	             {"ptmx", "pts/ptmx"}};
	char path[PATH_MAX];

	mount_at(rep, root, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, nodes[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
			fail(rep, errno, "cannot make /dev/%s", nodes[i].name);
		chmod(path, 0666); /* the umask took some */
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/dev/%s", root, links[i].name);
		if (symlink(links[i].target, path) < 0)
			fail(rep, errno, "cannot make /dev/%s", links[i].name);
	}
	mount_at(rep, root, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	         "newinstance,ptmxmode=0666,mode=0620");
	mount_at(rep, root, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	         "mode=1777,size=65536k");
	mount_at(rep, root, "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* Makes DIR and its parents (mkdir -p). */
static int make_dirs(char *dir)
{
	for (char *s = dir + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(dir, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* Binds M's source at its destination under ROOT: a directory or a file, as the source is. */
static void bind_mount(int rep, const char *root, const struct agent_mount *m)
{
	char path[PATH_MAX], *slash;
	struct stat st;
	int fd;

	if (stat(m->source, &st) < 0)
		fail(rep, errno, "cannot find the mount source for %s", m->destination);
	snprintf(path, sizeof(path), "%s%s", root, m->destination);
	if (S_ISDIR(st.st_mode)) {
		if (make_dirs(path) < 0)
			fail(rep, errno, "cannot make %s", m->destination);
	} else {
		slash = strrchr(path, '/');
		*slash = '\0';
		if (make_dirs(path) < 0)
			fail(rep, errno, "cannot make the directory of %s", m->destination);
		*slash = '/';
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EISDIR)
			fail(rep, errno, "cannot make %s", m->destination);
		if (fd >= 0)
			close(fd);
	}
	if (mount(m->source, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail(rep, errno, "cannot mount %s", m->destination);
	if (m->readonly && mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		fail(rep, errno, "cannot make %s read-only", m->destination);
}

/* The container's root: its filesystem with proc, dev, sys and its mounts, pivot_root'ed into. */
static void setup_root(int rep, const struct agent_process *p)
{
	const char *root = p->rootfs;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail(rep, errno, "cannot make the mounts private");
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail(rep, errno, "cannot bind the root filesystem %s", root);
	mount_at(rep, root, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	setup_dev(rep, root);
	mount_at(rep, root, "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
	/* Its cgroup, read-only, as the root of its cgroup namespace (containerd's way on v2). */
	if (p->cgroup)
		mount_at(rep, root, "/sys/fs/cgroup", "cgroup2",
		         MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
	for (size_t i = 0; i < p->n_mounts; i++)
		bind_mount(rep, root, &p->mounts[i]);
	/* runc's way: the old root stacked under the new one, then detached. */
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		fail(rep, errno, "cannot pivot_root into %s", root);
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		fail(rep, errno, "cannot detach the old root");
}

static void set_user(int rep, const struct agent_process *p)
{
	gid_t groups[MAX_GROUPS];
	size_t n = p->n_additional_gids < MAX_GROUPS ? p->n_additional_gids : MAX_GROUPS;

	for (size_t i = 0; i < n; i++)
		groups[i] = p->additional_gids[i];
	if (setgroups(n, groups) < 0)
		fail(rep, errno, "cannot set the supplementary groups");
	if (setgid(p->gid) < 0)
		fail(rep, errno, "cannot set gid %u", p->gid);
	if (setuid(p->uid) < 0)
		fail(rep, errno, "cannot set uid %u", p->uid);
}

/* PATH from the container's environment, as execvpe would take it from ours. */
static const char *env_path(char *const *env)
{
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], "PATH=", 5) == 0)
			return env[i] + 5;
	return DEFAULT_PATH;
}

/* Executes ARGS[0], looked up in the container's PATH unless it has a '/'. */
static void exec_program(int rep, const struct agent_process *p)
{
	const char *prog = p->args[0], *path = env_path(p->env);
	char full[PATH_MAX];
	int err = ENOENT;

	if (strchr(prog, '/')) {
		execve(prog, p->args, p->env);
		fail(rep, errno, "cannot execute %s", prog);
	}
	while (*path) {
		size_t len = strcspn(path, ":");

		snprintf(full, sizeof(full), "%.*s/%s", (int)len, len ? path : ".", prog);
		execve(full, p->args, p->env);
		/* A file there that cannot run says more than one that is missing. */
		if (errno != ENOENT && errno != ENOTDIR)
			err = errno;
		path += len + (path[len] == ':');
	}
	fail(rep, err, "cannot execute %s (PATH %s)", prog, env_path(p->env));
}

static int setns_to(pid_t pid, const char *ns, int type);

/* Moves the calling process into cgroup DIR, before it enters the container's mounts. */
static void join_cgroup(int rep, const char *dir)
{
	char path[PATH_MAX], pid[16];
	int fd, len;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	len = snprintf(pid, sizeof(pid), "%d", (int)getpid());
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, pid, (size_t)len) != len)
		fail(rep, errno, "cannot join the cgroup %s", dir);
	close(fd);
}

static void child(const struct agent_process *p, int mntns, int rep, int out, int err)
{
	int null;

	/* Its cgroup, then a cgroup namespace rooted there (ExecSync: the container's). */
	if (p->cgroup)
		join_cgroup(rep, p->cgroup);
	if (p->cgroup && mntns < 0 && unshare(CLONE_NEWCGROUP) < 0)
		fail(rep, errno, "cannot make a cgroup namespace");
	if (p->cgroup && mntns >= 0 && setns_to(p->join, "cgroup", CLONE_NEWCGROUP) < 0)
		fail(rep, errno, "cannot enter the container's cgroup namespace");
	/* Joining: the container's mounts, whose root is its pivot_root'ed one. */
	if (mntns >= 0 && setns(mntns, CLONE_NEWNS) < 0)
		fail(rep, errno, "cannot enter the container's mount namespace");
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		fail(rep, errno, "cannot set up stdio");
	setsid();
	if (mntns < 0)
		setup_root(rep, p);
	set_user(rep, p);
	if (chdir(p->cwd && p->cwd[0] ? p->cwd : "/") < 0)
		fail(rep, errno, "cannot enter the working directory %s", p->cwd);
	exec_program(rep, p);
}

static void close_pair(int fds[2])
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
}

/* The namespace file NS of process PID, opened close-on-exec. */
static int ns_open(pid_t pid, const char *ns)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Enters the namespace NS of process PID. */
static int setns_to(pid_t pid, const char *ns, int type)
{
	int fd = ns_open(pid, ns), r;

	if (fd < 0)
		return -1;
	r = setns(fd, type);
	close(fd);
	return r;
}

/*
 * Forks the child of P.  Joining a container, the agent enters its PID
 * namespace for its children only (setns leaves the agent's own pid alone),
 * forks, and goes back, so that the child stays the agent's to wait for.
 */
static pid_t fork_child(const struct agent_process *p, int *mntns)
{
	unsigned long flags = CLONE_NEWNS | (p->own_pid_namespace ? CLONE_NEWPID : 0);
	int own = -1, pidns = -1;
	pid_t pid;

	*mntns = -1;
	if (!p->join)
		return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	*mntns = ns_open(p->join, "mnt");
	pidns = ns_open(p->join, "pid");
	own = ns_open(getpid(), "pid");
	if (*mntns < 0 || pidns < 0 || own < 0 || setns(pidns, CLONE_NEWPID) < 0) {
		pid = -1;
		goto out;
	}
	pid = fork();
	if (pid != 0 && setns(own, CLONE_NEWPID) < 0)
		abort(); /* the agent's next containers would land in this one's namespace */
out:
	if (pid != 0) {
		int e = errno;

		if (pidns >= 0)
			close(pidns);
		if (own >= 0)
			close(own);
		errno = e;
	}
	return pid;
}

pid_t agent_spawn(const struct agent_process *p, int *ret_out, int *ret_err, char *err,
                  size_t err_size)
{
	int rep[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
	struct report r;
	int mntns;
	ssize_t n;
	pid_t pid;

	if (!p->args || !p->args[0]) {
		snprintf(err, err_size, "no program to run");
		return -EINVAL;
	}
	if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;

		snprintf(err, err_size, "cannot make pipes: %s", strerror(e));
		close_pair(rep);
		close_pair(out);
		close_pair(errp);
		return -e;
	}
	/* A new mount namespace; with a PID namespace, the program is its PID 1. */
	pid = fork_child(p, &mntns);
	if (pid == 0) {
		close(rep[0]);
		close(out[0]);
		close(errp[0]);
		child(p, mntns, rep[1], out[1], errp[1]);
	}
	if (mntns >= 0)
		close(mntns);
	close(rep[1]);
	close(out[1]);
	close(errp[1]);
	if (pid < 0) {
		int e = errno;

		snprintf(err, err_size, "cannot start the process: %s", strerror(e));
		close(rep[0]);
		close(out[0]);
		close(errp[0]);
		return -e;
	}
	/* The report pipe closes on a successful exec: EOF means the program runs. */
	do
		n = read(rep[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(rep[0]);
	if (n == (ssize_t)sizeof(r)) {
		waitpid(pid, NULL, 0);
		close(out[0]);
		close(errp[0]);
		snprintf(err, err_size, "%s", r.what);
		return -(r.err ? r.err : EIO);
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	*ret_out = out[0];
	*ret_err = errp[0];
	return pid;
}
