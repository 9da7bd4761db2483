/* SPDX-License-Identifier: Apache-2.0 */
/* crib-agent's container processes; see agentspawn.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "agentspawn.h"
#include "agentutil.h"

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

/* Every capability outside BOUNDING leaves the bounding set, for good. */
static void drop_bounding(int rep, uint64_t bounding)
{
	for (unsigned cap = 0; cap < 64; cap++) {
		if (bounding & (1ull << cap))
			continue;
		/* EINVAL: past the kernel's last capability. */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			fail(rep, errno, "cannot drop capability %u from the bounding set", cap);
	}
}

/* The container's seccomp filter, if it has one. */
static void load_seccomp(int rep, const Crib__Agent__Security *sec)
{
	size_t len = sec->seccomp_filter.len;
	struct sock_fprog prog = {.len = (unsigned short)(len / sizeof(struct sock_filter))};

	if (!len)
		return;
	if (len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		fail(rep, EINVAL, "the seccomp filter is not a BPF program");
	/* The message's bytes have no alignment to speak of. */
	prog.filter = malloc(len);
	if (!prog.filter)
		fail(rep, ENOMEM, "cannot hold the seccomp filter");
	memcpy(prog.filter, sec->seccomp_filter.data, len);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		fail(rep, errno, "cannot load the seccomp filter");
	free(prog.filter);
}

/* The capability sets, once the user is set (PR_SET_KEEPCAPS kept the permitted ones). */
static void set_caps(int rep, const Crib__Agent__Security *sec)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {
	    {(uint32_t)sec->cap_effective, (uint32_t)sec->cap_permitted,
	     (uint32_t)sec->cap_inheritable},
	    {(uint32_t)(sec->cap_effective >> 32), (uint32_t)(sec->cap_permitted >> 32),
	     (uint32_t)(sec->cap_inheritable >> 32)},
	};

	if (syscall(SYS_capset, &hdr, data) < 0)
		fail(rep, errno, "cannot set the capabilities");
	for (unsigned cap = 0; cap < 64; cap++)
		if ((sec->cap_ambient & (1ull << cap)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			fail(rep, errno, "cannot raise ambient capability %u", cap);
	if (sec->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(rep, errno, "cannot set no_new_privs");
	/* With no_new_privs the filter loads unprivileged, as late as it can. */
	if (sec->no_new_privileges)
		load_seccomp(rep, sec);
}

static void set_user(int rep, const struct agent_process *p)
{
	gid_t groups[MAX_GROUPS];
	size_t n = p->n_additional_gids < MAX_GROUPS ? p->n_additional_gids : MAX_GROUPS;

	for (size_t i = 0; i < n; i++)
		groups[i] = p->additional_gids[i];
	if (p->security) {
		/* Without no_new_privs, loading the filter needs CAP_SYS_ADMIN: before it goes. */
		if (!p->security->no_new_privileges)
			load_seccomp(rep, p->security);
		drop_bounding(rep, p->security->cap_bounding);
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			fail(rep, errno, "cannot keep the capabilities across the user's change");
	}
	if (setgroups(n, groups) < 0)
		fail(rep, errno, "cannot set the supplementary groups");
	if (setgid(p->gid) < 0)
		fail(rep, errno, "cannot set gid %u", p->gid);
	if (setuid(p->uid) < 0)
		fail(rep, errno, "cannot set uid %u", p->uid);
	if (p->security)
		set_caps(rep, p->security);
}

/* The spec's masked paths (absent ones skipped), after pivot_root. */
static void mask_paths(int rep, const Crib__Agent__Security *sec)
{
	for (size_t i = 0; i < sec->n_masked_paths; i++) {
		const char *path = sec->masked_paths[i];
		struct stat st;

		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0
		                        : mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
			fail(rep, errno, "cannot mask %s", path);
	}
}

/* The spec's read-only paths (absent ones skipped), then the root itself when it is. */
static void make_readonly(int rep, const Crib__Agent__Security *sec)
{
	for (size_t i = 0; i < sec->n_readonly_paths; i++) {
		const char *path = sec->readonly_paths[i];

		if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			fail(rep, errno, "cannot bind %s", path);
		}
		if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
			fail(rep, errno, "cannot make %s read-only", path);
	}
	if (sec->readonly_rootfs &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		fail(rep, errno, "cannot make the root filesystem read-only");
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
	int e;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	e = agent_write_text(path, pid);
	if (e)
		fail(rep, e, "cannot join the cgroup %s", dir);
}

/* STDIO's descriptors (-1: /dev/null) become 0, 1 and 2, in a session of the process's own. */
static void set_stdio(int rep, const int stdio[3])
{
	int null = -1;

	for (int i = 0; i < 3; i++) {
		int fd = stdio[i];

		if (fd < 0 && null < 0 && (null = open("/dev/null", O_RDWR)) < 0)
			fail(rep, errno, "cannot open /dev/null");
		if (dup2(fd >= 0 ? fd : null, i) < 0)
			fail(rep, errno, "cannot set up stdio");
	}
	setsid();
}

/* Sends the master FD to the agent over the report socket REP. */
static void send_master(int rep, int fd)
{
	struct report r = {0};
	struct iovec iov = {.iov_base = &r, .iov_len = sizeof(r)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = {0};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = u.buf,
	                     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(rep, &msg, 0) < 0)
		fail(rep, errno, "cannot hand the terminal to the agent");
}

/*
 * A terminal from the container's own devpts (so that ttyname(3) finds it
 * there), as the controlling terminal and stdio; the master goes to the
 * agent.
 */
static void set_terminal(int rep)
{
	int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), slave, unlock = 0;

	if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0)
		fail(rep, errno, "cannot open a terminal");
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		fail(rep, errno, "cannot open the terminal's slave");
	set_stdio(rep, (const int[3]){slave, slave, slave});
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		fail(rep, errno, "cannot make the terminal the controlling one");
	send_master(rep, master);
	close(master);
	if (slave > 2)
		close(slave);
}

static void child(const struct agent_process *p, int mntns, int rep, const int stdio[3],
                  const struct agent_stdio *io)
{
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
	if (!io->tty)
		set_stdio(rep, stdio);
	if (mntns < 0)
		setup_root(rep, p);
	/* A process joining the container finds its paths as they were made. */
	if (mntns < 0 && p->security) {
		mask_paths(rep, p->security);
		make_readonly(rep, p->security);
	}
	if (io->tty)
		set_terminal(rep);
	set_user(rep, p);
	if (chdir(p->cwd && p->cwd[0] ? p->cwd : "/") < 0)
		fail(rep, errno, "cannot enter the working directory %s", p->cwd);
	exec_program(rep, p);
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

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		agent_close_fd(&fds[i]);
}

/* Pipes for the streams IO asks for: the agent's ends into io->fds, the child's into CHILD_FDS. */
static int open_pipes(struct agent_stdio *io, int child_fds[3])
{
	const bool want[3] = {io->in, io->out, io->err};

	for (int i = 0; i < 3; i++) {
		int pair[2];

		if (!want[i])
			continue;
		if (pipe2(pair, O_CLOEXEC) < 0)
			return -errno;
		/* stdin's write end is the agent's; the other pipes' read ends. */
		io->fds[i] = pair[i == 0 ? 1 : 0];
		child_fds[i] = pair[i == 0 ? 0 : 1];
		fcntl(io->fds[i], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

/*
 * The child's report: EOF once its program runs, a report of what failed,
 * or first (with a terminal) one carrying the master, which goes into IO.
 */
static ssize_t read_report(int rep, struct report *r, struct agent_stdio *io)
{
	for (;;) {
		struct iovec iov = {.iov_base = r, .iov_len = sizeof(*r)};
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr msg = {.msg_iov = &iov,
		                     .msg_iovlen = 1,
		                     .msg_control = u.buf,
		                     .msg_controllen = sizeof(u.buf)};
		struct cmsghdr *c;
		ssize_t n = recvmsg(rep, &msg, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
		if (!c || c->cmsg_type != SCM_RIGHTS)
			return n;
		memcpy(&io->fds[1], CMSG_DATA(c), sizeof(int));
		fcntl(io->fds[1], F_SETFL, O_NONBLOCK);
		if (io->in)
			io->fds[0] = fcntl(io->fds[1], F_DUPFD_CLOEXEC, 0);
	}
}

pid_t agent_spawn(const struct agent_process *p, struct agent_stdio *io, char *err, size_t err_size)
{
	int rep[2] = {-1, -1}, child_fds[3] = {-1, -1, -1};
	struct report r;
	int mntns, e;
	ssize_t n;
	pid_t pid;

	io->fds[0] = io->fds[1] = io->fds[2] = -1;
	if (!p->args || !p->args[0]) {
		snprintf(err, err_size, "no program to run");
		return -EINVAL;
	}
	e = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rep) < 0 ? -errno : 0;
	if (e == 0 && !io->tty)
		e = open_pipes(io, child_fds);
	if (e < 0) {
		snprintf(err, err_size, "cannot make the process's stdio: %s", strerror(-e));
		goto fail;
	}
	/* A new mount namespace; with a PID namespace, the program is its PID 1. */
	pid = fork_child(p, &mntns);
	if (pid == 0) {
		close(rep[0]);
		close_fds(io->fds, 3);
		child(p, mntns, rep[1], child_fds, io);
	}
	e = -errno;
	if (mntns >= 0)
		close(mntns);
	close_fds(&rep[1], 1);
	close_fds(child_fds, 3);
	if (pid < 0) {
		snprintf(err, err_size, "cannot start the process: %s", strerror(-e));
		goto fail;
	}
	/* The report socket closes on a successful exec: EOF means the program runs. */
	n = read_report(rep[0], &r, io);
	close(rep[0]);
	if (n == (ssize_t)sizeof(r)) {
		waitpid(pid, NULL, 0);
		close_fds(io->fds, 3);
		snprintf(err, err_size, "%s", r.what);
		return -(r.err ? r.err : EIO);
	}
	return pid;
fail:
	close_fds(rep, 2);
	close_fds(child_fds, 3);
	close_fds(io->fds, 3);
	return e;
}
