/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-lxc: the OCI runtime command line the lxc backend's containers run
 * under, done with liblxc.  The lxc backend is the oci backend's code (CRI ->
 * OCI spec, crib-shim, streams, stats) with this as its runtime, so every CRI
 * container and every pod's infra container is an LXC container, named by its
 * id under the class's lxcpath (--root):
 *
 *   crib-lxc [--root DIR] [--log FILE] [--system] [--template NAME | --rootfs DIR]
 *            [--attach] [--idmap HOST:SIZE] run --detach --bundle DIR --pid-file F
 * [--console-socket S] ID crib-lxc ... exec [--detach] --pid-file F [--tty --console-socket S] ID
 * ARGV... crib-lxc ... kill [--all] ID SIGNAL crib-lxc ... delete [--force] ID crib-lxc ... state
 * ID crib-lxc ... update --resources FILE ID crib-lxc hook BUNDLE        (LXC's mount hook:
 * sysctls, masks, read-only paths) crib-lxc started DIR        (LXC's start-host hook: the init's
 * pid in DIR/init.pid)
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
 * the image's snapshot.  --attach turns this round: the pod's infra container
 * is the system (those options apply to it), and each CRI container is a
 * process attached into it (attached.c).  --idmap puts each pod in a user
 * namespace of its own (idmap.h).
 *
 * Errors: one line on stderr and in --log's file, exit code 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
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

#include "attached.h"
#include "cgstats.h"
#include "cgwrite.h"
#include "crib-lxc.h"
#include "idmap.h"
#include "lxcconf.h"
#include "lxcseccomp.h"
#include "sock.h"
#include "trees.h"
#include "util.h"

#define CRIB_LXC_VERSION "0.1.0"
/* How long run waits for the init to be running. */
#define START_TIMEOUT_MS 60000

struct crib_lxc_opts crib_lxc_g = {.root = "/run/crib/lxc"};

/*
 * LeakSanitizer (ASan builds) stops the world through /proc/PID/task with its
 * own pid; a hook runs in the container's PID namespace but sees the host's
 * /proc, where that pid is another process: hooks opt out of leak checks.
 */
static bool in_hook;
__attribute__((visibility("default"))) int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return in_hook;
}

void crib_lxc_die(const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	fprintf(stderr, "crib-lxc: %s\n", msg ? msg : fmt);
	if (crib_lxc_g.log) {
		FILE *f = fopen(crib_lxc_g.log, "ae");

		if (f) {
			fprintf(f, "%s\n", msg ? msg : fmt);
			fclose(f);
		}
	}
	exit(1);
}

char *crib_lxc_container_dir(const char *id)
{
	return crib_xasprintf("%s/%s", crib_lxc_g.root, id);
}

char *crib_lxc_file(const char *id, const char *name)
{
	return crib_xasprintf("%s/%s/%s", crib_lxc_g.root, id, name);
}

/* DIR/ID, made if need be; the caller frees it. */
char *crib_lxc_make_container_dir(const char *id)
{
	char *dir = crib_lxc_container_dir(id);

	/* Searchable: a container in a user namespace reaches its root filesystem here. */
	if (mkdir(dir, crib_lxc_g.idmap ? 0711 : 0700) < 0 && errno != EEXIST)
		crib_lxc_die("cannot create %s: %s", dir, strerror(errno));
	return dir;
}

static bool valid_id(const char *id)
{
	return id && *id && strlen(id) <= 128 && !strchr(id, '/') && !streq(id, ".") &&
	       !streq(id, "..");
}

struct lxc_container *crib_lxc_open_container(const char *id)
{
	struct lxc_container *c;

	if (!valid_id(id))
		crib_lxc_die("'%s' is not a container id", id ? id : "");
	crib_lxc_idmap_enter_net(id);
	c = lxc_container_new(id, crib_lxc_g.root);
	if (!c)
		crib_lxc_die("liblxc cannot open container %s under %s", id, crib_lxc_g.root);
	return c;
}

static bool exists(const char *id)
{
	_cleanup_free_ char *dir = crib_lxc_container_dir(id);

	return access(dir, F_OK) == 0;
}

json_t *crib_lxc_load_json(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (!j)
		crib_lxc_die("cannot read %s: %s (line %d)", path, jerr.text, jerr.line);
	return j;
}

/* Atomically, so that a reader never sees a half-written pid. */
void crib_lxc_write_pid_file(const char *path, pid_t pid)
{
	_cleanup_free_ char *tmp = crib_xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "we");

	if (!f || fprintf(f, "%d", (int)pid) < 0 || fclose(f) != 0 || rename(tmp, path) < 0)
		crib_lxc_die("cannot write the pid file %s: %s", path, strerror(errno));
}

/*
 * The first ERROR line of LXC's log (the cause; later ones are its echoes in
 * the monitor and the command socket), the part after " - ", or NULL.
 */
static char *lxc_log_error(const char *id)
{
	_cleanup_free_ char *path = crib_lxc_file(id, "lxc.log"), *text = NULL;
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
		crib_lxc_die("cannot tell how cgroups are mounted: %s", strerror(-r));
	return layout;
}

enum crib_lxc_cgroups crib_lxc_host_cgroups(void)
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
		crib_lxc_die("console socket path '%s' is too long", socket_path);
	memcpy(sa.sun_path, socket_path, strlen(socket_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		crib_lxc_die("cannot connect to the console socket %s: %s", socket_path,
		             strerror(errno));
	r = oci_sock_send(fd, "console", &master, 1);
	if (r < 0)
		crib_lxc_die("cannot send the terminal to %s: %s", socket_path, strerror(-r));
}

/* A terminal whose master went to SOCKET_PATH; returns the slave. */
int crib_lxc_open_terminal(const char *socket_path)
{
	int master, slave;

	if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
		crib_lxc_die("cannot open a terminal: %s", strerror(errno));
	(void)fcntl(master, F_SETFD, FD_CLOEXEC);
	(void)fcntl(slave, F_SETFD, FD_CLOEXEC);
	send_master(socket_path, master);
	close(master);
	return slave;
}

void crib_lxc_take_terminal(int tty)
{
	if (setsid() < 0 || dup2(tty, 0) < 0 || dup2(tty, 1) < 0 || dup2(tty, 2) < 0)
		_exit(255);
	(void)ioctl(0, TIOCSCTTY, 0);
}

void crib_lxc_exit_like(int status)
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
			crib_lxc_die("liblxc refused %s = %s", conf->keys[i], conf->values[i]);
}

static char *self_exe(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		crib_lxc_die("cannot tell where crib-lxc is: %s", strerror(errno));
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
		crib_lxc_die("cannot write %s: %s", path, strerror(errno));
	r = crib_lxc_seccomp_write(seccomp, f, &err);
	if (fclose(f) != 0 && r == 0)
		crib_lxc_die("cannot write %s: %s", path, strerror(errno));
	if (r < 0)
		crib_lxc_die("%s", err ? err : strerror(-r));
	return path;
}

static int write_spec(json_t *spec, const char *dir)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/config.json", dir);

	return json_dump_file(spec, path, JSON_COMPACT) < 0 ? -1 : 0;
}

/*
 * DIR/mnt with an empty directory and file: what LXC binds where a container
 * in a user namespace gets a bind mount, which crib-lxc's start-host hook
 * then mounts over (rejoin_shared): LXC would bind the source from inside
 * the user namespace, where the host root's directories are closed to it.
 */
static char *make_placeholders(const char *dir)
{
	char *mnt = crib_xasprintf("%s/mnt", dir);
	_cleanup_free_ char *d = crib_xasprintf("%s/dir", mnt), *f = crib_xasprintf("%s/file", mnt);
	_cleanup_close_ int fd = -1;

	if ((mkdir(mnt, 0711) < 0 && errno != EEXIST) || (mkdir(d, 0755) < 0 && errno != EEXIST) ||
	    (fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		crib_lxc_die("cannot create the mount placeholders in %s: %s", mnt,
		             strerror(errno));
	return mnt;
}

/*
 * Writes DIR/config, DIR/config.json and DIR/bundle for later commands;
 * returns the conf to start with.
 */
static void prepare(struct lxc_container *c, const struct run_args *a, json_t *spec,
                    struct crib_lxc_conf *conf)
{
	_cleanup_free_ char *dir = crib_lxc_make_container_dir(a->id), *log = NULL, *seccomp = NULL;
	_cleanup_free_ char *hook = NULL, *self = self_exe(), *devices = NULL;
	_cleanup_free_ char *started = NULL, *init_pid_file = crib_xasprintf("%s/init.pid", dir);
	_cleanup_free_ char *abs_bundle = realpath(a->bundle, NULL), *err = NULL;
	_cleanup_free_ char *placeholders = NULL;
	struct crib_lxc_conf_in in;
	int r;

	if (!abs_bundle)
		crib_lxc_die("bundle %s: %s", a->bundle, strerror(errno));
	log = crib_xasprintf("%s/lxc.log", dir);
	devices = crib_xasprintf("%s/devices", dir);
	/* The spec as run (a system pod's is changed): the mount hook reads it there. */
	if (write_spec(spec, dir) < 0)
		crib_lxc_die("cannot write %s/config.json: %s", dir, strerror(errno));
	hook = crib_xasprintf("%s hook %s", self, dir);
	started = crib_xasprintf("%s started %s", self, dir);
	(void)unlink(init_pid_file);
	seccomp = write_seccomp(spec, dir);
	if (crib_lxc_has_user_ns(spec))
		placeholders = make_placeholders(dir);
	in = (struct crib_lxc_conf_in){.bundle = abs_bundle,
	                               .name = a->id,
	                               .log_file = log,
	                               .seccomp_file = seccomp,
	                               .hook = hook,
	                               .started_hook = started,
	                               .devices_dir = devices,
	                               .cgroups = crib_lxc_host_cgroups(),
	                               .rootfs = a->rootfs,
	                               .placeholders = placeholders,
	                               .system = a->system};
	r = crib_lxc_conf_from_oci(spec, &in, conf, &err);
	if (r < 0)
		crib_lxc_die("%s", err);
	r = crib_lxc_make_devices(spec, devices, &err);
	if (r < 0)
		crib_lxc_die("%s", err);
	set_items(c, conf);
	if (!c->save_config(c, NULL))
		crib_lxc_die("liblxc cannot save the config of %s in %s", a->id, dir);
	crib_lxc_link_bundle(dir, abs_bundle);
}

void crib_lxc_link_bundle(const char *dir, const char *abs_bundle)
{
	_cleanup_free_ char *link = crib_xasprintf("%s/bundle", dir);

	(void)unlink(link);
	if (symlink(abs_bundle, link) < 0)
		crib_lxc_die("cannot link %s: %s", link, strerror(errno));
}

/* The monitor: liblxc's start in the foreground, then leave as the init did. */
static void monitor_main(struct lxc_container *c, const struct crib_lxc_conf *conf, int tty,
                         bool system, const char *init_pid_file)
{
	int e;

	if (tty >= 0)
		crib_lxc_take_terminal(tty);
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
		crib_lxc_exit_like((e >> 8) & 0x7f);
	if (e >= 0 && (e & 0xff) == 0)
		crib_lxc_exit_like(e);
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
	_cleanup_free_ char *file = crib_lxc_file(id, "init.pid");

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
	crib_lxc_die("the container did not start within %d s", START_TIMEOUT_MS / 1000);
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
	_cleanup_free_ char *dir = crib_lxc_make_container_dir(id), *log = NULL, *why = NULL;
	_cleanup_free_ char *log_fd = NULL;
	_cleanup_close_ int fd = -EBADF, out = -EBADF, err = -EBADF;
	bool ok;

	log = crib_xasprintf("%s/template.log", dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		crib_lxc_die("cannot create %s: %s", log, strerror(errno));
	fflush(NULL);
	out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (out < 0 || err < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		crib_lxc_die("cannot redirect the template's output to %s: %s", log,
		             strerror(errno));
	ok = c->create(c, crib_lxc_g.template, "dir", NULL, 0, (char *const[]){NULL});
	fflush(NULL);
	(void)dup2(out, STDOUT_FILENO);
	(void)dup2(err, STDERR_FILENO);
	if (!ok) {
		/* Through the descriptor: liblxc removed DIR/ID, the log with it. */
		log_fd = crib_xasprintf("/proc/self/fd/%d", fd);
		why = last_line(log_fd);
		crib_lxc_die("LXC template '%s' failed: %s", crib_lxc_g.template,
		             why ? why : "it printed nothing");
	}
	c->clear_config(c);
	return crib_xasprintf("dir:%s/rootfs", dir);
}

/* An overlay of the class's root filesystem, writable in DIR/ID/delta0. */
static char *overlay_rootfs(const char *id)
{
	_cleanup_free_ char *dir = crib_lxc_make_container_dir(id), *upper = NULL;
	struct stat st;

	if (stat(crib_lxc_g.rootfs, &st) < 0)
		crib_lxc_die("rootfs %s: %s", crib_lxc_g.rootfs, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		crib_lxc_die("rootfs %s is not a directory", crib_lxc_g.rootfs);
	upper = crib_xasprintf("%s/delta0", dir);
	if (mkdir(upper, 0755) < 0 && errno != EEXIST)
		crib_lxc_die("cannot create %s: %s", upper, strerror(errno));
	return crib_xasprintf("overlay:%s:%s", crib_lxc_g.rootfs, upper);
}

/*
 * The pod's system container (--attach) is the infra container's spec made a
 * system's: its root filesystem writable, LXC's capabilities for system
 * containers rather than none, no seccomp policy or no_new_privs, no CPU
 * weight of a pause process.
 */
static void system_pod(json_t *spec)
{
	json_t *process = json_object_get(spec, "process");
	json_t *linux_ = json_object_get(spec, "linux");

	json_object_del(process, "capabilities");
	json_object_del(process, "noNewPrivileges");
	json_object_del(linux_, "seccomp");
	json_object_del(json_object_get(linux_, "resources"), "cpu");
	json_object_set_new(json_object_get(spec, "root"), "readonly", json_false());
}

/*
 * What the class makes of a container: of each CRI container, or with
 * --attach of the pod's infra container, which is then the system.
 */
static void class_settings(struct lxc_container *c, json_t *spec, struct run_args *a)
{
	if (is_infra(spec) != crib_lxc_g.attach)
		return;
	if (crib_lxc_g.attach)
		system_pod(spec);
	a->system = crib_lxc_g.system;
	if (crib_lxc_g.template)
		a->rootfs = template_rootfs(c, a->id);
	else if (crib_lxc_g.rootfs)
		a->rootfs = overlay_rootfs(a->id);
}

/*
 * --idmap: SPEC in the pod's user namespace (idmap.h), and its root filesystem
 * made to show the container's ids.
 */
static void in_pod_user_ns(json_t *spec, struct run_args *a)
{
	json_t *annotations = json_object_get(spec, "annotations");
	const char *pod =
	    json_string_value(json_object_get(annotations, "io.kubernetes.cri.sandbox-id"));
	const char *root =
	    json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
	_cleanup_free_ char *net = NULL, *abs = NULL, *dir = NULL, *mnt = NULL;
	_cleanup_free_ char *self = NULL, *helper = NULL;

	if (!crib_lxc_idmap_spec(spec, is_infra(spec), pod, &net))
		return;
	self = self_exe();
	helper = crib_xasprintf("%.*s/crib-setids", (int)(strrchr(self, '/') - self), self);
	if (!root)
		crib_lxc_die("root.path is missing");
	dir = crib_lxc_make_container_dir(a->id);
	abs = root[0] == '/' ? crib_xstrdup(root) : crib_xasprintf("%s/%s", a->bundle, root);
	mnt = crib_xasprintf("%s/rootfs", dir);
	crib_lxc_idmap_root(abs, mnt);
	crib_lxc_idmap_groups(spec, helper);
	a->rootfs = crib_xasprintf("dir:%s", mnt);
	/* Before the monitor forks: it and the container inherit the namespace. */
	if (net)
		crib_lxc_idmap_join_net(net, dir);
}

static int cmd_run(struct run_args *a)
{
	struct lxc_container *c = crib_lxc_open_container(a->id);
	json_t *spec;
	struct crib_lxc_conf conf;
	_cleanup_free_ char *config = NULL, *why = NULL, *init_pid_file = NULL;
	int tty = -1;
	pid_t monitor, init;

	if (!a->id || !a->detach || !a->bundle || !a->pid_file)
		crib_lxc_die("run needs --detach, --bundle, --pid-file and a container id");
	init_pid_file = crib_lxc_file(a->id, "init.pid");
	if (c->is_running(c))
		crib_lxc_die("container %s already exists", a->id);
	config = crib_xasprintf("%s/config.json", a->bundle);
	spec = crib_lxc_load_json(config);
	if (crib_lxc_g.attach && !is_infra(spec)) {
		int r = crib_lxc_attached_run(a->id, a->bundle, a->pid_file, a->console, spec);

		json_decref(spec);
		lxc_container_put(c);
		return r;
	}
	class_settings(c, spec, a);
	if (crib_lxc_g.idmap)
		in_pod_user_ns(spec, a);
	prepare(c, a, spec, &conf);
	if (conf.terminal) {
		if (!a->console)
			crib_lxc_die("process.terminal needs --console-socket");
		tty = crib_lxc_open_terminal(a->console);
	}
	monitor = fork();
	if (monitor < 0)
		crib_lxc_die("cannot fork: %s", strerror(errno));
	if (monitor == 0)
		monitor_main(c, &conf, tty, a->system, init_pid_file);
	init = wait_running(c, a->id, monitor);
	if (init <= 0) {
		why = lxc_log_error(a->id);
		crib_lxc_die("container %s did not start: %s", a->id,
		             why ? why : "see its lxc.log");
	}
	crib_lxc_write_pid_file(a->pid_file, init);
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
void crib_lxc_exec_options(json_t *process, lxc_attach_options_t *o, char ***ret_env)
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

void crib_lxc_exec_options_clear(lxc_attach_options_t *o, char **env)
{
	size_t n = 0;

	while (env && env[n])
		n++;
	crib_strv_free(env, n + 1);
	free(o->groups.list);
	o->groups.list = NULL;
	o->groups.size = 0;
}

static int cmd_exec(const struct exec_args *a)
{
	struct lxc_container *c;
	_cleanup_free_ char *config = NULL;
	lxc_attach_options_t o = LXC_ATTACH_OPTIONS_DEFAULT;
	struct exec_payload p = {.argv = a->argv, .tty = a->tty};
	char **env = NULL;
	json_t *spec;
	int tty = -1;
	pid_t pid;

	if (!a->pid_file || !a->argv || !a->argv[0])
		crib_lxc_die("exec needs --pid-file, a container id and a command");
	if (crib_lxc_attached(a->id))
		return crib_lxc_attached_exec(a->id, a->argv, a->tty, a->detach, a->pid_file,
		                              a->console);
	c = crib_lxc_open_container(a->id);
	if (!c->is_running(c))
		crib_lxc_die("container %s is not running", a->id);
	config = crib_lxc_file(a->id, "bundle/config.json");
	spec = crib_lxc_load_json(config);
	crib_lxc_exec_options(json_object_get(spec, "process"), &o, &env);
	if (a->tty) {
		if (!a->console)
			crib_lxc_die("--tty needs --console-socket");
		tty = crib_lxc_open_terminal(a->console);
		o.stdin_fd = o.stdout_fd = o.stderr_fd = tty;
	}
	if (c->attach(c, exec_in_container, &p, &o, &pid) < 0)
		crib_lxc_die("liblxc cannot attach to container %s", a->id);
	if (tty >= 0)
		close(tty);
	crib_lxc_write_pid_file(a->pid_file, pid);
	crib_lxc_exec_options_clear(&o, env);
	json_decref(spec);
	lxc_container_put(c);
	if (a->detach)
		return 0;
	crib_lxc_wait_and_exit_like(pid);
}

void crib_lxc_wait_and_exit_like(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			crib_lxc_die("cannot wait for the process: %s", strerror(errno));
	crib_lxc_exit_like(status);
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
	crib_lxc_die("'%s' is not a signal", s);
}

/* Every process in the container's cgroup gets SIG: the shared-PID-namespace case. */
static void kill_cgroup(struct lxc_container *c, int sig)
{
	char cgroup[4096];

	if (container_cgroup(c, cgroup, sizeof(cgroup)))
		crib_lxc_cg_kill(cgroup + 1, sig);
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
	struct lxc_container *c;
	int sig = parse_signal(signame);
	pid_t pid;

	if (crib_lxc_attached(id))
		return crib_lxc_attached_kill(id, sig, all);
	c = crib_lxc_open_container(id);
	sig = stop_signal(c, sig);

	if (!c->is_running(c) || (pid = c->init_pid(c)) <= 0)
		crib_lxc_die("container %s is not running", id);
	if (all)
		kill_cgroup(c, sig);
	if (kill(pid, sig) < 0 && errno != ESRCH)
		crib_lxc_die("cannot signal container %s: %s", id, strerror(errno));
	lxc_container_put(c);
	return 0;
}

/* delete. */

void crib_lxc_remove_tree(const char *path)
{
	_cleanup_(closedirp) DIR *d = opendir(path);
	struct stat top, st;
	struct dirent *e;

	if (!d || fstat(dirfd(d), &top) < 0) {
		(void)rmdir(path);
		return;
	}
	while ((e = readdir(d))) {
		_cleanup_free_ char *p = NULL;

		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		p = crib_xasprintf("%s/%s", path, e->d_name);
		/* A mount left below (an idmapped root, a pinned namespace): off, never emptied. */
		if (lstat(p, &st) == 0 && st.st_dev != top.st_dev)
			(void)umount2(p, MNT_DETACH);
		else if (e->d_type == DT_DIR)
			crib_lxc_remove_tree(p); /* which removes P */
		(void)(e->d_type == DT_DIR ? rmdir(p) : unlink(p));
	}
	(void)rmdir(path);
}

/*
 * What liblxc's monitor removes when the container stops, for a monitor that
 * could not: killed, or the start failed half-way.
 */
static void remove_cgroups(struct lxc_container *c, const char *id)
{
	char cgroup[4096];
	_cleanup_free_ char *monitor = crib_xasprintf(CRIB_LXC_MONITOR_CGROUP, id);

	if (container_cgroup(c, cgroup, sizeof(cgroup)))
		crib_lxc_cg_remove(cgroup + 1);
	crib_lxc_cg_remove(monitor);
}

static int cmd_delete(const char *id, bool force)
{
	struct lxc_container *c;
	_cleanup_free_ char *dir = crib_lxc_container_dir(id);

	if (crib_lxc_attached(id))
		return crib_lxc_attached_delete(id, force);
	c = crib_lxc_open_container(id);

	if (!exists(id) && !c->is_running(c))
		crib_lxc_die("container %s does not exist", id);
	if (c->is_running(c)) {
		if (!force)
			crib_lxc_die("container %s is running; delete it with --force", id);
		if (!c->stop(c))
			crib_lxc_die("liblxc cannot stop container %s", id);
	}
	remove_cgroups(c, id);
	crib_lxc_idmap_release(dir);
	crib_lxc_remove_tree(dir);
	lxc_container_put(c);
	return 0;
}

/* state. */

/* The init's (or attached process's) pid while the container runs, else 0. */
static pid_t running_pid(const char *id)
{
	struct lxc_container *c;
	pid_t pid = 0;

	if (crib_lxc_attached(id))
		return crib_lxc_attached_pid(id);
	c = crib_lxc_open_container(id);
	if (c->is_running(c))
		pid = c->init_pid(c);
	lxc_container_put(c);
	return pid > 0 ? pid : 0;
}

static int cmd_state(const char *id)
{
	_cleanup_free_ char *link = crib_lxc_file(id, "bundle");
	char bundle[4096] = "";
	pid_t pid = running_pid(id);
	json_t *j;

	if (!exists(id) && !pid)
		crib_lxc_die("container %s does not exist", id);
	if (readlink(link, bundle, sizeof(bundle) - 1) < 0)
		bundle[0] = '\0';
	j = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ociVersion", "1.0.2", "id", id, "status",
	              pid ? "running" : "stopped", "pid", (int)pid, "bundle", bundle);
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(j);
	return 0;
}

/* update. */

/* The running container's cgroup (REL, malloc'd): the attached process's or LXC's. */
static char *running_cgroup(const char *id)
{
	struct lxc_container *c;
	char cgroup[4096];
	char *rel = NULL;

	if (crib_lxc_attached(id))
		return crib_lxc_attached_cgroup(id);
	c = crib_lxc_open_container(id);
	if (c->is_running(c) && container_cgroup(c, cgroup, sizeof(cgroup)))
		rel = crib_xstrdup(cgroup + 1);
	lxc_container_put(c);
	return rel;
}

void crib_lxc_cg_limit(const char *rel, json_t *resources)
{
	_cleanup_free_ char *err = NULL;
	struct crib_lxc_conf conf;

	if (crib_lxc_resources(resources, crib_lxc_host_cgroups(), &conf, &err) < 0)
		crib_lxc_die("%s", err);
	if (crib_lxc_cg_set(rel, &conf, &err) < 0)
		crib_lxc_die("cannot set the limits of cgroup %s: %s", rel, err);
	crib_lxc_conf_clear(&conf);
}

static int cmd_update(const char *file, const char *id)
{
	_cleanup_free_ char *cgroup = NULL;
	json_t *resources;

	if (!file)
		crib_lxc_die("update needs --resources FILE");
	cgroup = running_cgroup(id);
	if (!cgroup)
		crib_lxc_die("container %s is not running", id);
	resources = crib_lxc_load_json(file);
	crib_lxc_cg_limit(cgroup, resources);
	json_decref(resources);
	return 0;
}

/* started: LXC's start-host hook, on the host just before the init runs. */
static bool wants_shared(json_t *options)
{
	return crib_lxc_strings_contain(options, "rshared") ||
	       crib_lxc_strings_contain(options, "shared");
}

/* In a child: mounts TREES over their destinations in PID's mount namespace and root. */
static void mount_in(pid_t pid, const struct crib_lxc_tree *trees, size_t n)
{
	_cleanup_free_ char *ns = crib_xasprintf("/proc/%d/ns/mnt", (int)pid);
	_cleanup_free_ char *root = crib_xasprintf("/proc/%d/root", (int)pid);
	_cleanup_close_ int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	pid_t child;
	int status;

	if (nsfd < 0 || rootfd < 0)
		crib_lxc_die("cannot open the container's %s: %s", nsfd < 0 ? ns : root,
		             strerror(errno));
	child = fork();
	if (child < 0)
		crib_lxc_die("cannot fork: %s", strerror(errno));
	if (child == 0) {
		if (setns(nsfd, CLONE_NEWNS) < 0 || fchdir(rootfd) < 0 || chroot(".") < 0)
			crib_lxc_die("cannot enter the container's mount namespace: %s",
			             strerror(errno));
		for (size_t i = 0; i < n; i++)
			if (move_mount(trees[i].fd, "", AT_FDCWD, trees[i].dest,
			               MOVE_MOUNT_F_EMPTY_PATH) < 0)
				crib_lxc_die("cannot share %s with the host: %s", trees[i].dest,
				             strerror(errno));
		_exit(0);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			crib_lxc_die("cannot wait for a child: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		crib_lxc_die("the container's shared mounts could not be set up");
}

/*
 * A mount the spec shares with the host (rshared, shared): LXC made every
 * mount of the container's namespace a slave of the host's before it bound
 * them, so what the container mounts there would never reach the host.
 * Here, on the host, a clone of the source (a peer of it in its propagation
 * group) goes over the container's bind.
 */
static void rejoin_shared(const char *dir, pid_t pid)
{
	_cleanup_free_ char *config = crib_xasprintf("%s/config.json", dir);
	_cleanup_free_ char *bundle = crib_xasprintf("%s/bundle", dir);
	_cleanup_free_ char *user = crib_xasprintf("/proc/%d/ns/user", (int)pid);
	json_t *spec = crib_lxc_load_json(config);
	/* In a user namespace every bind is ours (LXC bound a placeholder), idmapped to it. */
	bool userns = crib_lxc_has_user_ns(spec);
	_cleanup_close_ int ns = userns ? open(user, O_RDONLY | O_CLOEXEC) : -1;
	struct crib_lxc_tree *trees;
	size_t n;

	if (userns && ns < 0)
		crib_lxc_die("cannot open %s: %s", user, strerror(errno));
	trees = crib_lxc_open_trees(spec, bundle, userns ? NULL : wants_shared, ns, &n);
	if (n > 0)
		mount_in(pid, trees, n);
	crib_lxc_close_trees(trees, n);
	free(trees);
	json_decref(spec);
}

static int cmd_started(const char *dir)
{
	const char *pid = getenv("LXC_PID");
	_cleanup_free_ char *file = NULL;

	if (!dir || !pid || atoi(pid) <= 0)
		crib_lxc_die("started runs from LXC's lxc.hook.start-host with a directory");
	rejoin_shared(dir, atoi(pid));
	file = crib_xasprintf("%s/init.pid", dir);
	crib_lxc_write_pid_file(file, atoi(pid));
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
		crib_lxc_die("cannot mask %s: %s", path, strerror(fd < 0 ? -fd : errno));
	target = fd_path(fd);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", target, "tmpfs", MS_RDONLY, "size=0") < 0)
			crib_lxc_die("cannot mask %s: %s", path, strerror(errno));
	} else if (mount("/dev/null", target, NULL, MS_BIND, NULL) < 0) {
		crib_lxc_die("cannot mask %s: %s", path, strerror(errno));
	}
}

static void readonly_path(int rootfd, const char *path)
{
	_cleanup_close_ int fd = open_in_root(rootfd, path);
	_cleanup_free_ char *target = NULL;

	if (fd == -ENOENT)
		return;
	if (fd < 0)
		crib_lxc_die("cannot make %s read-only: %s", path, strerror(-fd));
	target = fd_path(fd);
	if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		crib_lxc_die("cannot make %s read-only: %s", path, strerror(errno));
	/* The bind is a new mount on top: reach it through a new descriptor. */
	close(fd);
	fd = open_in_root(rootfd, path);
	free(target);
	target = fd < 0 ? NULL : fd_path(fd);
	if (!target ||
	    mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
		crib_lxc_die("cannot make %s read-only: %s", path, strerror(errno));
}

/*
 * The spec's sysctls, through the container's /proc (the hook is in its
 * network and IPC namespaces), before /proc/sys becomes read-only.
 */
void crib_lxc_write_sysctls(const char *root, json_t *sysctl)
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
			crib_lxc_die("cannot set sysctl %s to %s: %s", key,
			             json_string_value(value), strerror(errno));
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
		crib_lxc_die("hook runs from LXC's lxc.hook.mount with a bundle");
	config = crib_xasprintf("%s/config.json", bundle);
	spec = crib_lxc_load_json(config);
	linux_ = json_object_get(spec, "linux");
	crib_lxc_write_sysctls(root, json_object_get(linux_, "sysctl"));
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		crib_lxc_die("cannot open the root filesystem %s: %s", root, strerror(errno));
	json_array_foreach(json_object_get(linux_, "maskedPaths"), i, e) if (json_is_string(e))
	    mask_path(rootfd, json_string_value(e));
	json_array_foreach(json_object_get(linux_, "readonlyPaths"), i, e) if (json_is_string(e))
	    readonly_path(rootfd, json_string_value(e));
	/* Last: the mount points above are made, and what is mounted on them stays as it is. */
	if (json_is_true(json_object_get(json_object_get(spec, "root"), "readonly")) &&
	    mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		crib_lxc_die("cannot make the root filesystem read-only: %s", strerror(errno));
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
		crib_lxc_die("%s needs a value", argv[*i]);
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
			crib_lxc_die("run: unknown option %s", argv[i]);
		else if (!a.id)
			a.id = argv[i];
		else
			crib_lxc_die("run: unexpected argument %s", argv[i]);
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
			crib_lxc_die("exec: unknown option %s", argv[i]);
	}
	if (i >= argc)
		crib_lxc_die("exec needs a container id");
	a.id = argv[i++];
	a.argv = argv + i;
	return cmd_exec(&a);
}

static int main_kill(int argc, char **argv)
{
	bool all = argc > 0 && streq(argv[0], "--all");

	if (argc - all != 2)
		crib_lxc_die("usage: crib-lxc kill [--all] ID SIGNAL");
	return cmd_kill(argv[all], argv[all + 1], all);
}

static int main_delete(int argc, char **argv)
{
	bool force = argc > 0 && (streq(argv[0], "--force") || streq(argv[0], "-f"));

	if (argc - force != 1)
		crib_lxc_die("usage: crib-lxc delete [--force] ID");
	return cmd_delete(argv[force], force);
}

static int main_update(int argc, char **argv)
{
	const char *file = NULL, *id = NULL;

	for (int i = 0; i < argc; i++) {
		if (streq(argv[i], "--resources") || streq(argv[i], "-r"))
			file = value_of(argc, argv, &i);
		else if (argv[i][0] == '-')
			crib_lxc_die("update: unknown option %s", argv[i]);
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
			crib_lxc_g.root = value_of(argc, argv, &i);
		} else if (streq(argv[i], "--log")) {
			crib_lxc_g.log = value_of(argc, argv, &i);
		} else if (streq(argv[i], "--log-format")) {
			(void)value_of(argc, argv, &i);
		} else if (streq(argv[i], "--system")) {
			crib_lxc_g.system = true;
		} else if (streq(argv[i], "--attach")) {
			crib_lxc_g.attach = true;
		} else if (streq(argv[i], "--template")) {
			crib_lxc_g.template = value_of(argc, argv, &i);
		} else if (streq(argv[i], "--rootfs")) {
			crib_lxc_g.rootfs = value_of(argc, argv, &i);
		} else if (streq(argv[i], "--idmap")) {
			const char *v = value_of(argc, argv, &i);

			crib_lxc_g.idmap =
			    crib_lxc_idmap_parse(v, &crib_lxc_g.idmap_host, &crib_lxc_g.idmap_size);
			if (!crib_lxc_g.idmap)
				crib_lxc_die("--idmap %s is not HOST:SIZE", v);
		} else {
			crib_lxc_die("unknown option %s", argv[i]);
		}
	}
	if (i >= argc)
		crib_lxc_die(
		    "usage: crib-lxc [--root DIR] [--log FILE] run|exec|kill|delete|state|update "
		    "...");
	if (!streq(argv[i], "hook") && !streq(argv[i], "started") &&
	    crib_mkdir_p(crib_lxc_g.root, 0711) < 0)
		crib_lxc_die("cannot create %s: %s", crib_lxc_g.root, strerror(errno));
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
	in_hook = streq(argv[i], "hook") || streq(argv[i], "started");
	if (streq(argv[i], "hook"))
		return cmd_hook(i + 1 < argc ? argv[i + 1] : NULL);
	if (streq(argv[i], "started"))
		return cmd_started(i + 1 < argc ? argv[i + 1] : NULL);
	crib_lxc_die("unknown command %s", argv[i]);
}
