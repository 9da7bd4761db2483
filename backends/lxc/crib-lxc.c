/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-lxc: the OCI runtime command line the lxc backend's containers run
 * under, done with liblxc.  The lxc backend is the oci backend's code (CRI ->
 * OCI spec, crib-shim, streams, stats) with this as its runtime, so every CRI
 * container and every pod's infra container is an LXC container, named by its
 * id under the class's lxcpath (--root):
 *
 *   crib-lxc [--root DIR] [--log FILE] [--system] [--template NAME | --rootfs DIR]
 *            run --detach --bundle DIR --pid-file F [--console-socket S] ID
 *   crib-lxc ... exec [--detach] --pid-file F [--tty --console-socket S] ID ARGV...
 *   crib-lxc ... kill [--all] ID SIGNAL
 *   crib-lxc ... delete [--force] ID
 *   crib-lxc ... state ID
 *   crib-lxc ... update --resources FILE ID
 *   crib-lxc hook BUNDLE        (LXC's mount hook: sysctls, masks, read-only paths)
 *   crib-lxc started DIR        (LXC's start-host hook: the init's pid in DIR/init.pid)
 *
 * run saves the container's LXC config at DIR/ID/config (lxc.rootfs.managed =
 * 0: LXC never deletes the snapshot) and links DIR/ID/bundle, then forks the
 * process that calls liblxc's start in the foreground: that process is LXC's
 * monitor, the container's init is its child with our stdio (crib-shim's
 * pipes, or a terminal whose master went to the console socket), and it exits
 * as the init did, so crib-shim, whose child it becomes, reads the
 * container's exit status from it.  run itself returns once the init runs,
 * with its pid in the pid file.  exec attaches a process (liblxc's attach: the
 * init's namespaces, cgroup, capabilities, LSM) with the spec's environment,
 * user and working directory.
 *
 * --system, --template and --rootfs are the runtime class's: they change what
 * run makes of a CRI container (never of a pod's infra container, whose spec
 * says io.kubernetes.cri.container-type = sandbox).  --system runs /sbin/init
 * (a system container: halted by SIGPWR, which kill sends for SIGTERM, and a
 * halt is exit code 0); --template runs LXC template NAME to make the
 * container's root filesystem at DIR/ID/rootfs; --rootfs mounts an overlay of
 * DIR, writable in DIR/ID/delta0, so DIR itself stays as it is.  Both replace
 * the image's snapshot.
 *
 * Errors: one line on stderr and in --log's file, exit code 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/openat2.h>
#include <lxc/attach_options.h>
#include <lxc/lxccontainer.h>

#include "cgstats.h"
#include "lxcconf.h"
#include "lxcseccomp.h"
#include "sock.h"
#include "util.h"

#define CRIB_LXC_VERSION "0.1.0"
/* How long run waits for the init to be running. */
#define START_TIMEOUT_MS 60000

struct opts {
	const char *root;     /* the lxcpath */
	const char *log;      /* errors go here too */
	bool system;          /* CRI containers are system containers */
	const char *template; /* their root filesystem is this LXC template's */
	const char *rootfs;   /* their root filesystem is an overlay of this directory */
};

static struct opts g = {.root = "/run/crib/lxc"};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	fprintf(stderr, "crib-lxc: %s\n", msg ? msg : fmt);
	if (g.log) {
		FILE *f = fopen(g.log, "ae");

		if (f) {
			fprintf(f, "%s\n", msg ? msg : fmt);
			fclose(f);
		}
	}
	exit(1);
}

static char *container_dir(const char *id)
{
	return crib_xasprintf("%s/%s", g.root, id);
}

/* DIR/ID, made if need be; the caller frees it. */
static char *make_container_dir(const char *id)
{
	char *dir = container_dir(id);

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		die("cannot create %s: %s", dir, strerror(errno));
	return dir;
}

static bool valid_id(const char *id)
{
	return id && *id && strlen(id) <= 128 && !strchr(id, '/') && !streq(id, ".") &&
	       !streq(id, "..");
}

static struct lxc_container *open_container(const char *id)
{
	struct lxc_container *c;

	if (!valid_id(id))
		die("'%s' is not a container id", id ? id : "");
	c = lxc_container_new(id, g.root);
	if (!c)
		die("liblxc cannot open container %s under %s", id, g.root);
	return c;
}

static bool exists(const char *id)
{
	_cleanup_free_ char *dir = container_dir(id);

	return access(dir, F_OK) == 0;
}

static json_t *load_json(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (!j)
		die("cannot read %s: %s (line %d)", path, jerr.text, jerr.line);
	return j;
}

/* Atomically, so that a reader never sees a half-written pid. */
static void write_pid_file(const char *path, pid_t pid)
{
	_cleanup_free_ char *tmp = crib_xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "we");

	if (!f || fprintf(f, "%d", (int)pid) < 0 || fclose(f) != 0 || rename(tmp, path) < 0)
		die("cannot write the pid file %s: %s", path, strerror(errno));
}

/*
 * The first ERROR line of LXC's log (the cause; later ones are its echoes in
 * the monitor and the command socket), the part after " - ", or NULL.
 */
static char *lxc_log_error(const char *id)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/%s/lxc.log", g.root, id), *text = NULL;
	char *line, *save = NULL, *found = NULL;
	size_t len;

	if (crib_read_file(path, 1 << 20, &text, &len) < 0)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, " ERROR "))
			found = line;
	if (!found)
		return NULL;
	line = strstr(found, " - ");
	line = line ? strstr(line + 3, " - ") : NULL;
	return crib_xstrdup(line ? line + 3 : found);
}

/* The host's cgroup layout, as the oci backend's code detects it. */
static struct oci_cg_layout host_layout(void)
{
	struct oci_cg_layout layout;
	int r = oci_cg_detect(NULL, &layout);

	if (r < 0)
		die("cannot tell how cgroups are mounted: %s", strerror(-r));
	return layout;
}

static enum crib_lxc_cgroups host_cgroups(void)
{
	return host_layout().mode == OCI_CG_V2 ? CRIB_LXC_CGROUP_V2 : CRIB_LXC_CGROUP_V1;
}

/* The container's cgroup as the spec's cgroupsPath ("/crib/..."); false without one. */
static bool container_cgroup(struct lxc_container *c, char *buf, size_t size)
{
	buf[0] = '/';
	return c->get_config_item(c, "lxc.cgroup.dir.container", buf + 1, (int)size - 1) > 0;
}

/* Terminals: the master goes to the console socket, the slave becomes stdio. */

static void send_master(const char *socket_path, int master)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (strlen(socket_path) >= sizeof(sa.sun_path))
		die("console socket path '%s' is too long", socket_path);
	memcpy(sa.sun_path, socket_path, strlen(socket_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("cannot connect to the console socket %s: %s", socket_path, strerror(errno));
	r = oci_sock_send(fd, "console", &master, 1);
	if (r < 0)
		die("cannot send the terminal to %s: %s", socket_path, strerror(-r));
}

/* A terminal whose master went to SOCKET_PATH; returns the slave. */
static int open_terminal(const char *socket_path)
{
	int master, slave;

	if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
		die("cannot open a terminal: %s", strerror(errno));
	(void)fcntl(master, F_SETFD, FD_CLOEXEC);
	(void)fcntl(slave, F_SETFD, FD_CLOEXEC);
	send_master(socket_path, master);
	close(master);
	return slave;
}

/* Leaves as the waited-for process did: its code, or killed by its signal. */
static void exit_like(int status) __attribute__((noreturn));
static void exit_like(int status)
{
	if (WIFSIGNALED(status)) {
		struct rlimit none = {0, 0};
		sigset_t all;

		(void)setrlimit(RLIMIT_CORE, &none);
		signal(WTERMSIG(status), SIG_DFL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		raise(WTERMSIG(status));
		_exit(128 + WTERMSIG(status));
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 255);
}

/* run. */

struct run_args {
	const char *bundle, *pid_file, *console, *id;
	bool detach;
	/* From the class, for a CRI container (not an infra one). */
	bool system;
	char *rootfs; /* lxc.rootfs.path, or NULL for the spec's root.path */
};

static void set_items(struct lxc_container *c, const struct crib_lxc_conf *conf)
{
	for (size_t i = 0; i < conf->n; i++)
		if (!c->set_config_item(c, conf->keys[i], conf->values[i]))
			die("liblxc refused %s = %s", conf->keys[i], conf->values[i]);
}

static char *self_exe(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		die("cannot tell where crib-lxc is: %s", strerror(errno));
	buf[n] = '\0';
	return crib_xstrdup(buf);
}

static char *write_seccomp(json_t *spec, const char *dir)
{
	json_t *seccomp = json_object_get(json_object_get(spec, "linux"), "seccomp");
	char *path, *err = NULL;
	FILE *f;
	int r;

	if (!json_is_object(seccomp))
		return NULL;
	path = crib_xasprintf("%s/seccomp", dir);
	f = fopen(path, "we");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	r = crib_lxc_seccomp_write(seccomp, f, &err);
	if (fclose(f) != 0 && r == 0)
		die("cannot write %s: %s", path, strerror(errno));
	if (r < 0)
		die("%s", err ? err : strerror(-r));
	return path;
}

/* Writes DIR/config and DIR/bundle for later commands; returns the conf to start with. */
static void prepare(struct lxc_container *c, const struct run_args *a, json_t *spec,
                    struct crib_lxc_conf *conf)
{
	_cleanup_free_ char *dir = make_container_dir(a->id), *log = NULL, *seccomp = NULL;
	_cleanup_free_ char *hook = NULL, *self = self_exe(), *devices = NULL, *link = NULL;
	_cleanup_free_ char *started = NULL, *init_pid_file = crib_xasprintf("%s/init.pid", dir);
	_cleanup_free_ char *abs_bundle = realpath(a->bundle, NULL), *err = NULL;
	struct crib_lxc_conf_in in;
	int r;

	if (!abs_bundle)
		die("bundle %s: %s", a->bundle, strerror(errno));
	log = crib_xasprintf("%s/lxc.log", dir);
	devices = crib_xasprintf("%s/devices", dir);
	hook = crib_xasprintf("%s hook %s", self, abs_bundle);
	started = crib_xasprintf("%s started %s", self, dir);
	(void)unlink(init_pid_file);
	seccomp = write_seccomp(spec, dir);
	in = (struct crib_lxc_conf_in){.bundle = abs_bundle,
	                               .name = a->id,
	                               .log_file = log,
	                               .seccomp_file = seccomp,
	                               .hook = hook,
	                               .started_hook = started,
	                               .devices_dir = devices,
	                               .cgroups = host_cgroups(),
	                               .rootfs = a->rootfs,
	                               .system = a->system};
	r = crib_lxc_conf_from_oci(spec, &in, conf, &err);
	if (r < 0)
		die("%s", err);
	r = crib_lxc_make_devices(spec, devices, &err);
	if (r < 0)
		die("%s", err);
	set_items(c, conf);
	if (!c->save_config(c, NULL))
		die("liblxc cannot save the config of %s in %s", a->id, dir);
	link = crib_xasprintf("%s/bundle", dir);
	(void)unlink(link);
	if (symlink(abs_bundle, link) < 0)
		die("cannot link %s: %s", link, strerror(errno));
}

/* The monitor: liblxc's start in the foreground, then leave as the init did. */
static void monitor_main(struct lxc_container *c, const struct crib_lxc_conf *conf, int tty,
                         bool system, const char *init_pid_file)
{
	int e;

	if (tty >= 0) {
		if (setsid() < 0 || dup2(tty, 0) < 0 || dup2(tty, 1) < 0 || dup2(tty, 2) < 0)
			_exit(255);
		(void)ioctl(0, TIOCSCTTY, 0);
	}
	c->want_daemonize(c, false);
	/*
	 * error_num: the init's wait status when it exited (start returns true or
	 * false), (S << 8) | 0x7f when signal S killed it, and a small error code
	 * of liblxc's when it never ran (its exec failed): then the start-host
	 * hook's init.pid goes, and run reports the failure.
	 */
	(void)c->start(c, 0, conf->argv);
	e = c->error_num;
	/* reboot(2)'s halt or power-off ends the init of a PID namespace with SIGINT. */
	if (system && e == ((SIGINT << 8) | 0x7f))
		_exit(0);
	if ((e & 0xff) == 0x7f)
		exit_like((e >> 8) & 0x7f);
	if (e >= 0 && (e & 0xff) == 0)
		exit_like(e);
	(void)unlink(init_pid_file);
	_exit(255);
}

/*
 * The init's pid once it runs, or 0 when it never did (the start failed).
 * The monitor is only peeked at, never reaped: crib-shim takes its status.
 */
static pid_t wait_running(struct lxc_container *c, const char *id, pid_t monitor)
{
	int64_t deadline = crib_mono_ns() + (int64_t)START_TIMEOUT_MS * 1000000;
	_cleanup_free_ char *file = crib_xasprintf("%s/%s/init.pid", g.root, id);

	while (crib_mono_ns() < deadline) {
		siginfo_t info = {0};
		_cleanup_free_ char *text = NULL;
		size_t len;

		if (waitid(P_PID, (id_t)monitor, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    info.si_pid == monitor) {
			/* Ended already: it ran if the start-host hook saw it. */
			if (crib_read_file(file, 64, &text, &len) == 0 && atoi(text) > 0)
				return atoi(text);
			return 0;
		}
		pid_t pid = c->init_pid(c);
		const char *state = pid > 0 ? c->state(c) : NULL;

		/* The monitor may be gone between the two: the next round sees it ended. */
		if (pid > 0 && state && streq(state, "RUNNING"))
			return pid;
		(void)poll(NULL, 0, 2);
	}
	kill(monitor, SIGKILL);
	die("the container did not start within %d s", START_TIMEOUT_MS / 1000);
}

static bool is_infra(json_t *spec)
{
	const char *type = json_string_value(json_object_get(json_object_get(spec, "annotations"),
	                                                     "io.kubernetes.cri.container-type"));

	return type && streq(type, "sandbox");
}

/* The last non-empty line of FILE (malloc'd), or NULL. */
static char *last_line(const char *file)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL, *last = NULL;
	size_t len;

	if (crib_read_file(file, 1 << 20, &text, &len) < 0)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		last = line;
	return last ? crib_xstrdup(last) : NULL;
}

/*
 * Runs the class's LXC template for container ID: the root filesystem at
 * DIR/ID/rootfs, the template's output in DIR/ID/template.log rather than on
 * our stdout, which is the container's log.  Returns the lxc.rootfs.path
 * (malloc'd).  The config the template writes is dropped: crib's replaces it.
 */
static char *template_rootfs(struct lxc_container *c, const char *id)
{
	_cleanup_free_ char *dir = make_container_dir(id), *log = NULL, *why = NULL;
	_cleanup_free_ char *log_fd = NULL;
	_cleanup_close_ int fd = -EBADF, out = -EBADF, err = -EBADF;
	bool ok;

	log = crib_xasprintf("%s/template.log", dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("cannot create %s: %s", log, strerror(errno));
	fflush(NULL);
	out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (out < 0 || err < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		die("cannot redirect the template's output to %s: %s", log, strerror(errno));
	ok = c->create(c, g.template, "dir", NULL, 0, (char *const[]){NULL});
	fflush(NULL);
	(void)dup2(out, STDOUT_FILENO);
	(void)dup2(err, STDERR_FILENO);
	if (!ok) {
		/* Through the descriptor: liblxc removed DIR/ID, the log with it. */
		log_fd = crib_xasprintf("/proc/self/fd/%d", fd);
		why = last_line(log_fd);
		die("LXC template '%s' failed: %s", g.template, why ? why : "it printed nothing");
	}
	c->clear_config(c);
	return crib_xasprintf("dir:%s/rootfs", dir);
}

/* An overlay of the class's root filesystem, writable in DIR/ID/delta0. */
static char *overlay_rootfs(const char *id)
{
	_cleanup_free_ char *dir = make_container_dir(id), *upper = NULL;
	struct stat st;

	if (stat(g.rootfs, &st) < 0)
		die("rootfs %s: %s", g.rootfs, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die("rootfs %s is not a directory", g.rootfs);
	upper = crib_xasprintf("%s/delta0", dir);
	if (mkdir(upper, 0755) < 0 && errno != EEXIST)
		die("cannot create %s: %s", upper, strerror(errno));
	return crib_xasprintf("overlay:%s:%s", g.rootfs, upper);
}

/* What the class makes of a CRI container; a pod's infra container stays as it is. */
static void class_settings(struct lxc_container *c, json_t *spec, struct run_args *a)
{
	if (is_infra(spec))
		return;
	a->system = g.system;
	if (g.template)
		a->rootfs = template_rootfs(c, a->id);
	else if (g.rootfs)
		a->rootfs = overlay_rootfs(a->id);
}

static int cmd_run(struct run_args *a)
{
	struct lxc_container *c = open_container(a->id);
	json_t *spec;
	struct crib_lxc_conf conf;
	_cleanup_free_ char *config = NULL, *why = NULL, *init_pid_file = NULL;
	int tty = -1;
	pid_t monitor, init;

	if (!a->id || !a->detach || !a->bundle || !a->pid_file)
		die("run needs --detach, --bundle, --pid-file and a container id");
	init_pid_file = crib_xasprintf("%s/%s/init.pid", g.root, a->id);
	if (c->is_running(c))
		die("container %s already exists", a->id);
	config = crib_xasprintf("%s/config.json", a->bundle);
	spec = load_json(config);
	class_settings(c, spec, a);
	prepare(c, a, spec, &conf);
	if (conf.terminal) {
		if (!a->console)
			die("process.terminal needs --console-socket");
		tty = open_terminal(a->console);
	}
	monitor = fork();
	if (monitor < 0)
		die("cannot fork: %s", strerror(errno));
	if (monitor == 0)
		monitor_main(c, &conf, tty, a->system, init_pid_file);
	init = wait_running(c, a->id, monitor);
	if (init <= 0) {
		why = lxc_log_error(a->id);
		die("container %s did not start: %s", a->id, why ? why : "see its lxc.log");
	}
	write_pid_file(a->pid_file, init);
	free(a->rootfs);
	crib_lxc_conf_clear(&conf);
	json_decref(spec);
	lxc_container_put(c);
	return 0;
}

/* exec. */

struct exec_args {
	const char *pid_file, *console, *id;
	bool detach, tty;
	char **argv;
};

struct exec_payload {
	char **argv;
	bool tty;
};

/* In the attached process, after liblxc set it up. */
static int exec_in_container(void *data)
{
	struct exec_payload *p = data;

	if (p->tty) {
		(void)setsid();
		(void)ioctl(0, TIOCSCTTY, 0);
	}
	execvp(p->argv[0], p->argv);
	fprintf(stderr, "exec %s: %s\n", p->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* The spec's environment, user and working directory, which exec'd processes get too. */
static void exec_options(json_t *process, lxc_attach_options_t *o, char ***ret_env)
{
	json_t *env = json_object_get(process, "env"), *user = json_object_get(process, "user");
	json_t *gids = json_object_get(user, "additionalGids"), *e;
	size_t i, n = 0;
	char **vars = NULL;

	json_array_foreach(env, i, e) if (json_is_string(e))
	    crib_strv_add(&vars, &n, json_string_value(e));
	crib_strv_add(&vars, &n, NULL);
	*ret_env = vars;
	o->env_policy = LXC_ATTACH_CLEAR_ENV;
	o->extra_env_vars = vars;
	o->initial_cwd = (char *)json_string_value(json_object_get(process, "cwd"));
	o->uid = (uid_t)json_integer_value(json_object_get(user, "uid"));
	o->gid = (gid_t)json_integer_value(json_object_get(user, "gid"));
	if (json_array_size(gids) > 0) {
		o->groups.size = (int)json_array_size(gids);
		o->groups.list = crib_xcalloc(json_array_size(gids), sizeof(gid_t));
		json_array_foreach(gids, i, e) o->groups.list[i] = (gid_t)json_integer_value(e);
		o->attach_flags |= LXC_ATTACH_SETGROUPS;
	}
	if (json_is_true(json_object_get(process, "noNewPrivileges")))
		o->attach_flags |= LXC_ATTACH_NO_NEW_PRIVS;
}

static int cmd_exec(const struct exec_args *a)
{
	struct lxc_container *c = open_container(a->id);
	_cleanup_free_ char *config = NULL;
	lxc_attach_options_t o = LXC_ATTACH_OPTIONS_DEFAULT;
	struct exec_payload p = {.argv = a->argv, .tty = a->tty};
	char **env = NULL;
	json_t *spec;
	int tty = -1, status;
	pid_t pid;

	if (!a->pid_file || !a->argv || !a->argv[0])
		die("exec needs --pid-file, a container id and a command");
	if (!c->is_running(c))
		die("container %s is not running", a->id);
	config = crib_xasprintf("%s/%s/bundle/config.json", g.root, a->id);
	spec = load_json(config);
	exec_options(json_object_get(spec, "process"), &o, &env);
	if (a->tty) {
		if (!a->console)
			die("--tty needs --console-socket");
		tty = open_terminal(a->console);
		o.stdin_fd = o.stdout_fd = o.stderr_fd = tty;
	}
	if (c->attach(c, exec_in_container, &p, &o, &pid) < 0)
		die("liblxc cannot attach to container %s", a->id);
	if (tty >= 0)
		close(tty);
	write_pid_file(a->pid_file, pid);
	if (a->detach)
		return 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("cannot wait for the process: %s", strerror(errno));
	exit_like(status);
}

/* kill. */

static int parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},  {"KILL", SIGKILL},
	             {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM},  {"STOP", SIGSTOP},
	             {"CONT", SIGCONT}, {"PWR", SIGPWR},   {"WINCH", SIGWINCH}};
	char *end;
	long n = strtol(s, &end, 10);

	if (*s && !*end && n > 0 && n < NSIG)
		return (int)n;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(names[i].name, s))
			return names[i].sig;
	die("'%s' is not a signal", s);
}

/* Every process in the container's cgroup gets SIG: the shared-PID-namespace case. */
static void kill_cgroup(struct lxc_container *c, int sig)
{
	struct oci_cg_layout layout = host_layout();
	_cleanup_free_ char *procs = NULL, *text = NULL;
	char cgroup[4096], dir[PATH_MAX], *line, *save = NULL;
	size_t len;

	if (!container_cgroup(c, cgroup, sizeof(cgroup)) ||
	    oci_cg_path(&layout, "pids", cgroup, dir, sizeof(dir)) < 0)
		return;
	procs = crib_xasprintf("%s/cgroup.procs", dir);
	if (crib_read_file(procs, 1 << 22, &text, &len) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (atoi(line) > 0)
			(void)kill(atoi(line), sig);
}

/*
 * A system container's init takes SIGTERM as a reboot (busybox, sysvinit),
 * which LXC's monitor would answer with a new start: Stop's SIGTERM becomes
 * the halt signal run set.
 */
static int stop_signal(struct lxc_container *c, int sig)
{
	char halt[32] = "";

	if (sig != SIGTERM || c->get_config_item(c, "lxc.signal.halt", halt, sizeof(halt)) <= 0)
		return sig;
	return atoi(halt) > 0 ? atoi(halt) : sig;
}

static int cmd_kill(const char *id, const char *signame, bool all)
{
	struct lxc_container *c = open_container(id);
	int sig = stop_signal(c, parse_signal(signame));
	pid_t pid;

	if (!c->is_running(c) || (pid = c->init_pid(c)) <= 0)
		die("container %s is not running", id);
	if (all)
		kill_cgroup(c, sig);
	if (kill(pid, sig) < 0 && errno != ESRCH)
		die("cannot signal container %s: %s", id, strerror(errno));
	lxc_container_put(c);
	return 0;
}

/* delete. */

static void remove_tree(const char *path)
{
	_cleanup_(closedirp) DIR *d = opendir(path);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		_cleanup_free_ char *p = NULL;

		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		p = crib_xasprintf("%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			remove_tree(p);
		else
			(void)unlink(p);
	}
	(void)rmdir(path);
}

/* Removes the empty cgroup REL in every hierarchy, its ".lxc" leaf (attach, v2) first. */
static void remove_cgroup(const char *rel)
{
	_cleanup_(closedirp) DIR *d = opendir("/sys/fs/cgroup");
	_cleanup_free_ char *v2 = crib_xasprintf("/sys/fs/cgroup/%s", rel);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		_cleanup_free_ char *leaf = NULL, *path = NULL;

		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		path = crib_xasprintf("/sys/fs/cgroup/%s/%s", e->d_name, rel);
		leaf = crib_xasprintf("%s/.lxc", path);
		(void)rmdir(leaf);
		(void)rmdir(path);
	}
	(void)rmdir(v2);
}

/*
 * What liblxc's monitor removes when the container stops, for a monitor that
 * could not: killed, or the start failed half-way.
 */
static void remove_cgroups(struct lxc_container *c, const char *id)
{
	char cgroup[4096];
	_cleanup_free_ char *monitor = crib_xasprintf("crib.lxc/%s.monitor", id);

	if (container_cgroup(c, cgroup, sizeof(cgroup)))
		remove_cgroup(cgroup + 1);
	remove_cgroup(monitor);
}

static int cmd_delete(const char *id, bool force)
{
	struct lxc_container *c = open_container(id);
	_cleanup_free_ char *dir = container_dir(id);

	if (!exists(id) && !c->is_running(c))
		die("container %s does not exist", id);
	if (c->is_running(c)) {
		if (!force)
			die("container %s is running; delete it with --force", id);
		if (!c->stop(c))
			die("liblxc cannot stop container %s", id);
	}
	remove_cgroups(c, id);
	remove_tree(dir);
	lxc_container_put(c);
	return 0;
}

/* state. */

static int cmd_state(const char *id)
{
	struct lxc_container *c = open_container(id);
	_cleanup_free_ char *link = crib_xasprintf("%s/%s/bundle", g.root, id);
	char bundle[4096] = "";
	bool running = c->is_running(c);
	json_t *j;

	if (!exists(id) && !running)
		die("container %s does not exist", id);
	if (readlink(link, bundle, sizeof(bundle) - 1) < 0)
		bundle[0] = '\0';
	j = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ociVersion", "1.0.2", "id", id, "status",
	              running ? "running" : "stopped", "pid", running ? (int)c->init_pid(c) : 0,
	              "bundle", bundle);
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(j);
	lxc_container_put(c);
	return 0;
}

/* update. */

static bool set_all(struct lxc_container *c, const struct crib_lxc_conf *conf, bool reverse,
                    size_t *failed)
{
	for (size_t k = 0; k < conf->n; k++) {
		size_t i = reverse ? conf->n - 1 - k : k;

		if (!c->set_cgroup_item(c, conf->keys[i], conf->values[i])) {
			*failed = i;
			return false;
		}
	}
	return true;
}

static int cmd_update(const char *file, const char *id)
{
	struct lxc_container *c = open_container(id);
	json_t *resources;
	struct crib_lxc_conf conf;
	_cleanup_free_ char *err = NULL;
	size_t failed = 0;

	if (!file)
		die("update needs --resources FILE");
	if (!c->is_running(c))
		die("container %s is not running", id);
	resources = load_json(file);
	if (crib_lxc_resources(resources, host_cgroups(), &conf, &err) < 0)
		die("%s", err);
	/* A memory limit and the swap limit above it: raising needs the swap first. */
	if (!set_all(c, &conf, false, &failed) && !set_all(c, &conf, true, &failed))
		die("cannot set %s to %s in container %s's cgroup", conf.keys[failed],
		    conf.values[failed], id);
	crib_lxc_conf_clear(&conf);
	json_decref(resources);
	lxc_container_put(c);
	return 0;
}

/* started: LXC's start-host hook, on the host just before the init runs. */
static int cmd_started(const char *dir)
{
	const char *pid = getenv("LXC_PID");
	_cleanup_free_ char *file = NULL;

	if (!dir || !pid || atoi(pid) <= 0)
		die("started runs from LXC's lxc.hook.start-host with a directory");
	file = crib_xasprintf("%s/init.pid", dir);
	write_pid_file(file, atoi(pid));
	return 0;
}

/* hook: LXC runs it in the container's mount namespace before pivot_root. */

/*
 * PATH inside the root filesystem at ROOTFD as an O_PATH descriptor, its
 * symlinks resolved inside it: before pivot_root an absolute link (bin/ls ->
 * /bin/busybox) would otherwise lead to the host's file.  -errno; -ENOENT
 * when there is nothing there.
 */
static int open_in_root(int rootfd, const char *path)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
	                       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* The descriptor's path for mount(2), which takes no descriptors. */
static char *fd_path(int fd)
{
	return crib_xasprintf("/proc/self/fd/%d", fd);
}

static void mask_path(int rootfd, const char *path)
{
	_cleanup_close_ int fd = open_in_root(rootfd, path);
	_cleanup_free_ char *target = NULL;
	struct stat st;

	if (fd == -ENOENT)
		return; /* nothing to hide */
	if (fd < 0 || fstat(fd, &st) < 0)
		die("cannot mask %s: %s", path, strerror(fd < 0 ? -fd : errno));
	target = fd_path(fd);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", target, "tmpfs", MS_RDONLY, "size=0") < 0)
			die("cannot mask %s: %s", path, strerror(errno));
	} else if (mount("/dev/null", target, NULL, MS_BIND, NULL) < 0) {
		die("cannot mask %s: %s", path, strerror(errno));
	}
}

static void readonly_path(int rootfd, const char *path)
{
	_cleanup_close_ int fd = open_in_root(rootfd, path);
	_cleanup_free_ char *target = NULL;

	if (fd == -ENOENT)
		return;
	if (fd < 0)
		die("cannot make %s read-only: %s", path, strerror(-fd));
	target = fd_path(fd);
	if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("cannot make %s read-only: %s", path, strerror(errno));
	/* The bind is a new mount on top: reach it through a new descriptor. */
	close(fd);
	fd = open_in_root(rootfd, path);
	free(target);
	target = fd < 0 ? NULL : fd_path(fd);
	if (!target ||
	    mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
		die("cannot make %s read-only: %s", path, strerror(errno));
}

/*
 * The spec's sysctls, through the container's /proc (the hook is in its
 * network and IPC namespaces), before /proc/sys becomes read-only.
 */
static void write_sysctls(const char *root, json_t *sysctl)
{
	json_t *value;
	const char *key;

	json_object_foreach(sysctl, key, value)
	{
		_cleanup_free_ char *path = crib_xasprintf("%s/proc/sys/%s", root, key);
		FILE *f;

		for (char *p = path + strlen(root) + strlen("/proc/sys/"); *p; p++)
			if (*p == '.')
				*p = '/';
		f = fopen(path, "we");
		if (!f || fputs(json_string_value(value), f) < 0 || fclose(f) != 0)
			die("cannot set sysctl %s to %s: %s", key, json_string_value(value),
			    strerror(errno));
	}
}

static int cmd_hook(const char *bundle)
{
	const char *root = getenv("LXC_ROOTFS_MOUNT");
	_cleanup_free_ char *config = NULL;
	_cleanup_close_ int rootfd = -EBADF;
	json_t *spec, *linux_, *e;
	size_t i;

	if (!bundle || !root)
		die("hook runs from LXC's lxc.hook.mount with a bundle");
	config = crib_xasprintf("%s/config.json", bundle);
	spec = load_json(config);
	linux_ = json_object_get(spec, "linux");
	write_sysctls(root, json_object_get(linux_, "sysctl"));
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die("cannot open the root filesystem %s: %s", root, strerror(errno));
	json_array_foreach(json_object_get(linux_, "maskedPaths"), i, e) if (json_is_string(e))
	    mask_path(rootfd, json_string_value(e));
	json_array_foreach(json_object_get(linux_, "readonlyPaths"), i, e) if (json_is_string(e))
	    readonly_path(rootfd, json_string_value(e));
	/* Last: the mount points above are made, and what is mounted on them stays as it is. */
	if (json_is_true(json_object_get(json_object_get(spec, "root"), "readonly")) &&
	    mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		die("cannot make the root filesystem read-only: %s", strerror(errno));
	json_decref(spec);
	return 0;
}

/* Command line. */

static void usage_exec(void)
{
	puts("usage: crib-lxc exec [--detach] --pid-file FILE [--tty --console-socket SOCKET] "
	     "ID COMMAND...");
	exit(0);
}

/* The value of option OPT at argv[*i], moving past it. */
static const char *value_of(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		die("%s needs a value", argv[*i]);
	return argv[++*i];
}

static int main_run(int argc, char **argv)
{
	struct run_args a = {0};

	for (int i = 0; i < argc; i++) {
		if (streq(argv[i], "--detach") || streq(argv[i], "-d"))
			a.detach = true;
		else if (streq(argv[i], "--bundle") || streq(argv[i], "-b"))
			a.bundle = value_of(argc, argv, &i);
		else if (streq(argv[i], "--pid-file"))
			a.pid_file = value_of(argc, argv, &i);
		else if (streq(argv[i], "--console-socket"))
			a.console = value_of(argc, argv, &i);
		else if (argv[i][0] == '-')
			die("run: unknown option %s", argv[i]);
		else if (!a.id)
			a.id = argv[i];
		else
			die("run: unexpected argument %s", argv[i]);
	}
	return cmd_run(&a);
}

static int main_exec(int argc, char **argv)
{
	struct exec_args a = {0};
	int i;

	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		if (streq(argv[i], "--help") || streq(argv[i], "-h"))
			usage_exec();
		else if (streq(argv[i], "--detach") || streq(argv[i], "-d"))
			a.detach = true;
		else if (streq(argv[i], "--tty") || streq(argv[i], "-t"))
			a.tty = true;
		else if (streq(argv[i], "--pid-file"))
			a.pid_file = value_of(argc, argv, &i);
		else if (streq(argv[i], "--console-socket"))
			a.console = value_of(argc, argv, &i);
		else
			die("exec: unknown option %s", argv[i]);
	}
	if (i >= argc)
		die("exec needs a container id");
	a.id = argv[i++];
	a.argv = argv + i;
	return cmd_exec(&a);
}

static int main_kill(int argc, char **argv)
{
	bool all = argc > 0 && streq(argv[0], "--all");

	if (argc - all != 2)
		die("usage: crib-lxc kill [--all] ID SIGNAL");
	return cmd_kill(argv[all], argv[all + 1], all);
}

static int main_delete(int argc, char **argv)
{
	bool force = argc > 0 && (streq(argv[0], "--force") || streq(argv[0], "-f"));

	if (argc - force != 1)
		die("usage: crib-lxc delete [--force] ID");
	return cmd_delete(argv[force], force);
}

static int main_update(int argc, char **argv)
{
	const char *file = NULL, *id = NULL;

	for (int i = 0; i < argc; i++) {
		if (streq(argv[i], "--resources") || streq(argv[i], "-r"))
			file = value_of(argc, argv, &i);
		else if (argv[i][0] == '-')
			die("update: unknown option %s", argv[i]);
		else
			id = argv[i];
	}
	return cmd_update(file, id);
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (streq(argv[i], "--version") || streq(argv[i], "-v")) {
			printf("crib-lxc version %s\nliblxc %s\n", CRIB_LXC_VERSION,
			       lxc_get_version());
			return 0;
		} else if (streq(argv[i], "--root")) {
			g.root = value_of(argc, argv, &i);
		} else if (streq(argv[i], "--log")) {
			g.log = value_of(argc, argv, &i);
		} else if (streq(argv[i], "--log-format")) {
			(void)value_of(argc, argv, &i);
		} else if (streq(argv[i], "--system")) {
			g.system = true;
		} else if (streq(argv[i], "--template")) {
			g.template = value_of(argc, argv, &i);
		} else if (streq(argv[i], "--rootfs")) {
			g.rootfs = value_of(argc, argv, &i);
		} else {
			die("unknown option %s", argv[i]);
		}
	}
	if (i >= argc)
		die("usage: crib-lxc [--root DIR] [--log FILE] run|exec|kill|delete|state|update "
		    "...");
	if (!streq(argv[i], "hook") && !streq(argv[i], "started") && crib_mkdir_p(g.root, 0700) < 0)
		die("cannot create %s: %s", g.root, strerror(errno));
	if (streq(argv[i], "run"))
		return main_run(argc - i - 1, argv + i + 1);
	if (streq(argv[i], "exec"))
		return main_exec(argc - i - 1, argv + i + 1);
	if (streq(argv[i], "kill"))
		return main_kill(argc - i - 1, argv + i + 1);
	if (streq(argv[i], "delete"))
		return main_delete(argc - i - 1, argv + i + 1);
	if (streq(argv[i], "state") && i + 2 == argc)
		return cmd_state(argv[i + 1]);
	if (streq(argv[i], "update"))
		return main_update(argc - i - 1, argv + i + 1);
	if (streq(argv[i], "hook"))
		return cmd_hook(i + 1 < argc ? argv[i + 1] : NULL);
	if (streq(argv[i], "started"))
		return cmd_started(i + 1 < argc ? argv[i + 1] : NULL);
	die("unknown command %s", argv[i]);
}
