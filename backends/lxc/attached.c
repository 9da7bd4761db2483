/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attached.h"
#include "cgwrite.h"
#include "crib-lxc.h"
#include "trees.h"
#include "util.h"

/* How long delete waits for a killed process and its monitor to be gone. */
#define GONE_TIMEOUT_MS 5000

/* What the attached process does before it runs the command. */
struct launch {
	char **argv;
	const char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	bool tty;
	int err_fd; /* where a failure is told (run: to crib-lxc run), or -1: stderr */
	struct crib_lxc_tree *trees; /* run: a new mount namespace with these mounted */
	size_t n_trees;
	int mnt_fd; /* exec: the container's mount namespace, or -1 */
};

/* ROOT/ID/NAME's text (malloc'd, trailing newline cut), or NULL. */
static char *read_text(const char *id, const char *name)
{
	_cleanup_free_ char *path = crib_lxc_file(id, name);
	char *text = NULL;
	size_t len;

	if (crib_read_file(path, 4096, &text, &len) < 0)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	return text;
}

static void write_text(const char *id, const char *name, const char *text)
{
	_cleanup_free_ char *path = crib_lxc_file(id, name);
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		crib_lxc_die("cannot write %s: %s", path, strerror(errno));
}

static pid_t read_pid(const char *id, const char *name)
{
	_cleanup_free_ char *text = read_text(id, name);

	return text ? (pid_t)atoi(text) : 0;
}

bool crib_lxc_attached(const char *id)
{
	_cleanup_free_ char *path = crib_lxc_file(id, "pod");

	return access(path, F_OK) == 0;
}

static char *monitor_cgroup(const char *id)
{
	return crib_xasprintf(CRIB_LXC_MONITOR_CGROUP, id);
}

/* Whether PID runs: exists and is no zombie (one its parent has yet to reap is gone). */
static bool alive(pid_t pid)
{
	char state = crib_proc_state(pid);

	return state && state != 'Z' && state != 'X';
}

pid_t crib_lxc_attached_pid(const char *id)
{
	pid_t pid = read_pid(id, "init.pid"), proxy = read_pid(id, "proxy.pid");

	/* Still the proxy's child: not a later process with a reused pid. */
	if (!alive(pid) || proxy <= 0 || crib_proc_stat_field(pid, 4) != (unsigned long long)proxy)
		return 0;
	return pid;
}

/* In the attached process: tell what failed and end. */
static void launch_fail(const struct launch *l, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
static void launch_fail(const struct launch *l, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdprintf(l->err_fd >= 0 ? l->err_fd : STDERR_FILENO, fmt, ap);
	va_end(ap);
	dprintf(l->err_fd >= 0 ? l->err_fd : STDERR_FILENO, "\n");
	_exit(code);
}

/* The mount point, made in the pod's root filesystem if missing. */
static int make_target(const struct crib_lxc_tree *t)
{
	int fd;

	if (t->dir)
		return crib_mkdir_p(t->dest, 0755);
	if (crib_mkdir_parent(t->dest, 0755) < 0)
		return -errno;
	fd = open(t->dest, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno != EISDIR)
		return -errno;
	if (fd >= 0)
		close(fd);
	return 0;
}

/* A mount namespace of the container's own: the pod's, plus the spec's binds. */
static void mount_trees(const struct launch *l)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		launch_fail(l, 126, "cannot make the container's mount namespace: %s",
		            strerror(errno));
	for (size_t i = 0; i < l->n_trees; i++) {
		const struct crib_lxc_tree *t = &l->trees[i];
		int r = make_target(t);

		if (r < 0)
			launch_fail(l, 126, "cannot make the mount point %s: %s", t->dest,
			            strerror(-r));
		if (move_mount(t->fd, "", AT_FDCWD, t->dest, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			launch_fail(l, 126, "cannot mount on %s: %s", t->dest, strerror(errno));
	}
}

/*
 * liblxc calls this in the attached process, in the pod's namespaces, still
 * root (the user is ours to set, after the mounts), with the environment set.
 */
static int launch_main(void *data)
{
	const struct launch *l = data;

	if (l->tty) {
		(void)setsid();
		(void)ioctl(0, TIOCSCTTY, 0);
	}
	if (l->mnt_fd >= 0 && setns(l->mnt_fd, CLONE_NEWNS) < 0)
		launch_fail(l, 126, "cannot enter the container's mount namespace: %s",
		            strerror(errno));
	if (l->n_trees > 0)
		mount_trees(l);
	if (l->cwd && *l->cwd && chdir(l->cwd) < 0)
		launch_fail(l, 126, "cannot enter the working directory %s: %s", l->cwd,
		            strerror(errno));
	if (setgroups(l->n_groups, l->groups) < 0 || setgid(l->gid) < 0 || setuid(l->uid) < 0)
		launch_fail(l, 126, "cannot become user %u, group %u: %s", (unsigned)l->uid,
		            (unsigned)l->gid, strerror(errno));
	execvp(l->argv[0], l->argv);
	launch_fail(l, errno == ENOENT ? 127 : 126, "exec %s: %s", l->argv[0], strerror(errno));
}

/*
 * Fills L's user and O from PROCESS.  liblxc attaches as root: the process
 * sets the spec's user itself once its mounts are made.
 */
static void launch_options(json_t *process, struct launch *l, lxc_attach_options_t *o,
                           char ***ret_env)
{
	crib_lxc_exec_options(process, o, ret_env);
	l->cwd = o->initial_cwd;
	l->uid = o->uid;
	l->gid = o->gid;
	l->groups = o->groups.list;
	l->n_groups = o->groups.size > 0 ? (size_t)o->groups.size : 0;
	l->mnt_fd = l->err_fd = -1;
	o->uid = 0;
	o->gid = 0;
	o->attach_flags &= ~(LXC_ATTACH_SETGROUPS | LXC_ATTACH_MOVE_TO_CGROUP);
}

/*
 * Attaches L into POD inside the container's cgroup: the process is made in
 * the caller's cgroup, so the caller enters it first and leaves for its
 * monitor cgroup after.  Returns the process's pid, or -1 with *ret_err
 * (malloc'd) saying why.
 */
static pid_t attach_in_cgroup(struct lxc_container *pod, const char *id, const char *cgroup,
                              struct launch *l, lxc_attach_options_t *o, char **ret_err)
{
	_cleanup_free_ char *err = NULL, *monitor = monitor_cgroup(id);
	pid_t pid;

	if (crib_lxc_cg_enter(cgroup, &err) < 0) {
		*ret_err = crib_xasprintf("cannot enter the container's cgroup: %s", err);
		return -1;
	}
	if (pod->attach(pod, launch_main, l, o, &pid) < 0) {
		*ret_err =
		    crib_xasprintf("liblxc cannot attach to the pod's container %s", pod->name);
		return -1;
	}
	free(err);
	err = NULL;
	/* Best effort: the monitor in the container's cgroup only skews its counts. */
	(void)crib_lxc_cg_enter(monitor, &err);
	return pid;
}

/* The proxy: attaches, records the pid, closes ERR's end, then exits as the process does. */
static void proxy_main(struct lxc_container *pod, const char *id, const char *cgroup,
                       struct launch *l, lxc_attach_options_t *o)
{
	_cleanup_free_ char *init_pid = crib_lxc_file(id, "init.pid"), *err = NULL;
	pid_t pid = attach_in_cgroup(pod, id, cgroup, l, o, &err);

	/* Our errors go to crib-lxc run, not into the container's log (our stderr). */
	if (pid < 0) {
		dprintf(l->err_fd, "%s\n", err);
		_exit(255);
	}
	crib_lxc_write_pid_file(init_pid, pid);
	close(l->err_fd);
	crib_lxc_close_trees(l->trees, l->n_trees);
	crib_lxc_wait_and_exit_like(pid);
}

static const char *pod_of(json_t *spec)
{
	const char *pod = json_string_value(
	    json_object_get(json_object_get(spec, "annotations"), "io.kubernetes.cri.sandbox-id"));

	if (!pod)
		crib_lxc_die("config.json has no io.kubernetes.cri.sandbox-id: which pod to "
		             "attach to?");
	return pod;
}

/* The container's cgroup, made, with the spec's limits; malloc'd REL. */
static char *make_cgroup(json_t *spec)
{
	json_t *linux_ = json_object_get(spec, "linux");
	const char *path = json_string_value(json_object_get(linux_, "cgroupsPath"));
	_cleanup_free_ char *err = NULL;

	if (!path || path[0] != '/' || !path[1])
		crib_lxc_die("linux.cgroupsPath is missing: an attached process needs a cgroup "
		             "of its own");
	if (crib_lxc_cg_make(path + 1, &err) < 0)
		crib_lxc_die("cannot make the container's cgroup: %s", err);
	crib_lxc_cg_limit(path + 1, json_object_get(linux_, "resources"));
	return crib_xstrdup(path + 1);
}

static char **args_of(json_t *process)
{
	json_t *args = json_object_get(process, "args"), *e;
	char **argv = NULL;
	size_t i, n = 0;

	if (json_array_size(args) == 0)
		crib_lxc_die("process.args is empty: nothing to run");
	json_array_foreach(args, i, e)
	{
		if (!json_is_string(e))
			crib_lxc_die("process.args[%zu] is not a string", i);
		crib_strv_add(&argv, &n, json_string_value(e));
	}
	crib_strv_add(&argv, &n, NULL);
	return argv;
}

/* Waits for ERR's end: a message is the failure, the end without one is the exec. */
static void wait_launched(int err_fd)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (crib_read_fd(err_fd, 4096, &text, &len) < 0)
		crib_lxc_die("cannot read what the attached process said: %s", strerror(errno));
	if (len > 0) {
		text[strcspn(text, "\n")] = '\0';
		crib_lxc_die("%s", text);
	}
}

int crib_lxc_attached_run(const char *id, const char *bundle, const char *pid_file,
                          const char *console, json_t *spec)
{
	json_t *process = json_object_get(spec, "process");
	const char *pod_id = pod_of(spec);
	struct lxc_container *pod = crib_lxc_open_container(pod_id);
	_cleanup_free_ char *dir = crib_lxc_make_container_dir(id);
	_cleanup_free_ char *cgroup = NULL, *proxy_text = NULL,
	                    *abs_bundle = realpath(bundle, NULL);
	lxc_attach_options_t o = LXC_ATTACH_OPTIONS_DEFAULT;
	struct launch l = {.argv = args_of(process)};
	char **env = NULL;
	int err[2], tty = -1;
	pid_t proxy, pid;

	if (!abs_bundle)
		crib_lxc_die("bundle %s: %s", bundle, strerror(errno));
	if (!pod->is_running(pod))
		crib_lxc_die("the pod's container %s is not running", pod_id);
	write_text(id, "pod", pod_id);
	crib_lxc_link_bundle(dir, abs_bundle);
	cgroup = make_cgroup(spec);
	write_text(id, "cgroup", cgroup);
	launch_options(process, &l, &o, &env);
	l.trees = crib_lxc_open_trees(spec, abs_bundle, NULL, -1, &l.n_trees);
	if (json_is_true(json_object_get(process, "terminal"))) {
		if (!console)
			crib_lxc_die("process.terminal needs --console-socket");
		tty = crib_lxc_open_terminal(console);
		o.stdin_fd = o.stdout_fd = o.stderr_fd = tty;
		l.tty = true;
	}
	if (pipe2(err, O_CLOEXEC) < 0)
		crib_lxc_die("cannot make a pipe: %s", strerror(errno));
	l.err_fd = err[1];
	proxy = fork();
	if (proxy < 0)
		crib_lxc_die("cannot fork: %s", strerror(errno));
	if (proxy == 0)
		proxy_main(pod, id, cgroup, &l, &o);
	proxy_text = crib_xasprintf("%d", (int)proxy);
	write_text(id, "proxy.pid", proxy_text);
	close(err[1]);
	if (tty >= 0)
		close(tty);
	crib_lxc_close_trees(l.trees, l.n_trees);
	wait_launched(err[0]);
	close(err[0]);
	pid = read_pid(id, "init.pid");
	if (pid <= 0)
		crib_lxc_die("the process did not start in the pod's container %s", pod_id);
	crib_lxc_write_pid_file(pid_file, pid);
	crib_lxc_exec_options_clear(&o, env);
	crib_strv_free(l.argv, json_array_size(json_object_get(process, "args")) + 1);
	free(l.trees);
	lxc_container_put(pod);
	return 0;
}

int crib_lxc_attached_exec(const char *id, char **argv, bool tty, bool detach, const char *pid_file,
                           const char *console)
{
	_cleanup_free_ char *config = crib_lxc_file(id, "bundle/config.json"), *pod_id = NULL;
	_cleanup_free_ char *cgroup = read_text(id, "cgroup"), *ns = NULL;
	struct launch l = {.argv = argv};
	lxc_attach_options_t o = LXC_ATTACH_OPTIONS_DEFAULT;
	struct lxc_container *pod;
	json_t *spec = crib_lxc_load_json(config);
	char **env = NULL;
	pid_t target = crib_lxc_attached_pid(id), pid;
	_cleanup_free_ char *err = NULL;
	int term = -1;

	if (!target || !cgroup)
		crib_lxc_die("container %s is not running", id);
	pod_id = read_text(id, "pod");
	pod = crib_lxc_open_container(pod_id ? pod_id : "");
	launch_options(json_object_get(spec, "process"), &l, &o, &env);
	ns = crib_xasprintf("/proc/%d/ns/mnt", (int)target);
	l.mnt_fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (l.mnt_fd < 0)
		crib_lxc_die("cannot open %s: %s", ns, strerror(errno));
	if (tty) {
		if (!console)
			crib_lxc_die("--tty needs --console-socket");
		term = crib_lxc_open_terminal(console);
		o.stdin_fd = o.stdout_fd = o.stderr_fd = term;
		l.tty = true;
	}
	pid = attach_in_cgroup(pod, id, cgroup, &l, &o, &err);
	if (pid < 0)
		crib_lxc_die("%s", err);
	if (term >= 0)
		close(term);
	crib_lxc_write_pid_file(pid_file, pid);
	crib_lxc_exec_options_clear(&o, env);
	close(l.mnt_fd);
	json_decref(spec);
	lxc_container_put(pod);
	if (detach)
		return 0;
	crib_lxc_wait_and_exit_like(pid);
}

int crib_lxc_attached_kill(const char *id, int sig, bool all)
{
	_cleanup_free_ char *cgroup = read_text(id, "cgroup");
	pid_t pid = crib_lxc_attached_pid(id);

	if (!pid)
		crib_lxc_die("container %s is not running", id);
	if (all && cgroup)
		crib_lxc_cg_kill(cgroup, sig);
	if (kill(pid, sig) < 0 && errno != ESRCH)
		crib_lxc_die("cannot signal container %s: %s", id, strerror(errno));
	return 0;
}

/* Whether the process and its proxy are gone, after up to GONE_TIMEOUT_MS. */
static bool wait_gone(const char *id)
{
	int64_t deadline = crib_mono_ns() + (int64_t)GONE_TIMEOUT_MS * 1000000;
	pid_t proxy = read_pid(id, "proxy.pid");

	while (crib_mono_ns() < deadline) {
		if (!crib_lxc_attached_pid(id) && !alive(proxy))
			return true;
		(void)poll(NULL, 0, 10);
	}
	return false;
}

int crib_lxc_attached_delete(const char *id, bool force)
{
	_cleanup_free_ char *cgroup = read_text(id, "cgroup"), *monitor = monitor_cgroup(id);
	_cleanup_free_ char *dir = crib_lxc_container_dir(id);
	pid_t pid = crib_lxc_attached_pid(id);

	if (pid && !force)
		crib_lxc_die("container %s is running; delete it with --force", id);
	if (cgroup)
		crib_lxc_cg_kill(cgroup, SIGKILL);
	if (pid)
		(void)kill(pid, SIGKILL);
	if (!wait_gone(id))
		crib_lxc_die("container %s did not die after SIGKILL", id);
	if (cgroup)
		crib_lxc_cg_remove(cgroup);
	crib_lxc_cg_remove(monitor);
	crib_lxc_remove_tree(dir);
	return 0;
}

char *crib_lxc_attached_cgroup(const char *id)
{
	return crib_lxc_attached_pid(id) ? read_text(id, "cgroup") : NULL;
}
