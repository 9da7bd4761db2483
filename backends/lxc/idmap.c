/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmount.h>

#include "crib-lxc.h"
#include "idmap.h"
#include "util.h"

static json_t *mappings(void)
{
	return json_pack("[{s:i,s:I,s:I}]", "containerID", 0, "hostID",
	                 (json_int_t)crib_lxc_g.idmap_host, "size",
	                 (json_int_t)crib_lxc_g.idmap_size);
}

/* The pod's user namespace: its infra container's, whose init's pid crib-lxc recorded. */
static char *pod_user_ns(const char *pod_id)
{
	_cleanup_free_ char *file = crib_lxc_file(pod_id, "init.pid"), *text = NULL;
	size_t len;
	long pid;

	if (crib_read_file(file, 64, &text, &len) < 0 || (pid = strtol(text, NULL, 10)) <= 0)
		crib_lxc_die("the user namespace of pod %s: no infra process recorded in %s",
		             pod_id, file);
	return crib_xasprintf("/proc/%ld/ns/user", pid);
}

/*
 * The path of SPEC's network namespace (malloc'd), or NULL; TAKE takes its
 * entry out of linux.namespaces.
 */
static char *net_path(json_t *spec, bool take)
{
	size_t i;
	json_t *net = crib_lxc_spec_ns(spec, "network", &i);
	const char *path = json_string_value(json_object_get(net, "path"));
	char *ret = path ? crib_xstrdup(path) : NULL;

	if (ret && take)
		json_array_remove(json_object_get(json_object_get(spec, "linux"), "namespaces"), i);
	return ret;
}

void crib_lxc_idmap_groups(json_t *spec, const char *helper)
{
	json_t *process = json_object_get(spec, "process");
	json_t *user = json_object_get(process, "user");
	json_t *gids = json_object_get(user, "additionalGids"), *args, *e;
	json_t *bounding = json_object_get(json_object_get(process, "capabilities"), "bounding");
	json_int_t uid = json_integer_value(json_object_get(user, "uid"));
	json_int_t gid = json_integer_value(json_object_get(user, "gid"));
	_cleanup_free_ char *list = NULL, *uid_s = NULL, *gid_s = NULL;
	bool others = false;
	size_t i;

	json_array_foreach(gids, i, e)
	{
		char *next = crib_xasprintf("%s%s%" JSON_INTEGER_FORMAT, list ? list : "",
		                            list ? "," : "", json_integer_value(e));

		free(list);
		list = next;
		others = others || json_integer_value(e) != gid;
	}
	/*
	 * Only the primary group, which LXC sets, needs nothing; without both
	 * capabilities the ids could not change: LXC's init, without groups.
	 */
	if (!others || !crib_lxc_strings_contain(bounding, "CAP_SETGID") ||
	    !crib_lxc_strings_contain(bounding, "CAP_SETUID"))
		return;
	uid_s = crib_xasprintf("%" JSON_INTEGER_FORMAT, uid);
	gid_s = crib_xasprintf("%" JSON_INTEGER_FORMAT, gid);
	args = json_pack("[s,s,s,s,s]", "/dev/.crib-setids", uid_s, gid_s, list, "--");
	json_array_extend(args, json_object_get(process, "args"));
	json_object_set_new(process, "args", args);
	json_object_set_new(process, "user", json_pack("{s:i,s:i}", "uid", 0, "gid", 0));
	json_array_append_new(json_object_get(spec, "mounts"),
	                      json_pack("{s:s,s:s,s:s,s:[s,s]}", "destination", "/dev/.crib-setids",
	                                "type", "bind", "source", helper, "options", "bind", "ro"));
}

static void join_net(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		crib_lxc_die("cannot join the network namespace %s: %s", path, strerror(errno));
}

/*
 * SPEC's network sysctls, taken out of it, and for the pod's infra (DEFAULTS)
 * unprivileged low ports and ping as containerd sets them, written into
 * network namespace NET from the host: the pod's user namespace does not own
 * it, so from inside they are refused, and so would binding port 80 be.
 */
static void net_sysctls(json_t *spec, const char *net, bool defaults)
{
	json_t *all = json_object_get(json_object_get(spec, "linux"), "sysctl"), *value;
	json_t *mine = json_object();
	const char *key;
	void *tmp;
	pid_t pid;
	int status;

	if (defaults) {
		json_object_set_new(mine, "net.ipv4.ip_unprivileged_port_start", json_string("0"));
		json_object_set_new(mine, "net.ipv4.ping_group_range", json_string("0 2147483647"));
	}
	json_object_foreach_safe(all, tmp, key, value)
	{
		if (strncmp(key, "net.", 4) != 0)
			continue;
		json_object_set(mine, key, value);
		json_object_del(all, key);
	}
	if (json_object_size(mine) == 0) {
		json_decref(mine);
		return;
	}
	pid = fork();
	if (pid < 0)
		crib_lxc_die("cannot fork: %s", strerror(errno));
	if (pid == 0) {
		join_net(net);
		crib_lxc_write_sysctls("", mine);
		_exit(0);
	}
	json_decref(mine);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		crib_lxc_die("cannot set the pod's network sysctls in %s", net);
}

/*
 * Whether SPEC allows every device: CRI's privileged, which the oci backend
 * writes as a first device rule allowing all (linux.resources.devices).
 */
static bool privileged(json_t *spec)
{
	json_t *rules = json_object_get(
	    json_object_get(json_object_get(spec, "linux"), "resources"), "devices");
	json_t *first = json_array_get(rules, 0);

	return first && json_is_true(json_object_get(first, "allow")) &&
	       !json_object_get(first, "type") && !json_object_get(first, "major") &&
	       !json_object_get(first, "minor");
}

/* Whether user namespace file PATH is the one crib-lxc runs in: the host's. */
static bool is_host_user_ns(const char *path)
{
	struct stat a, b;

	if (stat(path, &a) < 0 || stat("/proc/self/ns/user", &b) < 0)
		crib_lxc_die("cannot read user namespace %s: %s", path, strerror(errno));
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool crib_lxc_idmap_spec(json_t *spec, bool infra, const char *pod_id, char **ret_net)
{
	json_t *linux_ = json_object_get(spec, "linux"), *user;
	_cleanup_free_ char *path = NULL, *net = NULL;

	*ret_net = NULL;
	if (!json_is_array(json_object_get(linux_, "namespaces")))
		crib_lxc_die("linux.namespaces is missing");
	if (!infra && !pod_id)
		crib_lxc_die("the container names no pod (io.kubernetes.cri.sandbox-id)");
	/*
	 * As Kubernetes keeps hostNetwork, hostIPC and hostPID pods out of user
	 * namespaces: a pod sharing one of the node's namespaces stays in the node's,
	 * and so does a privileged container, which has the node's powers by definition.
	 */
	if (privileged(spec) || (infra && (!crib_lxc_spec_ns(spec, "network", NULL) ||
	                                   !crib_lxc_spec_ns(spec, "ipc", NULL) ||
	                                   !crib_lxc_spec_ns(spec, "pid", NULL))))
		return false;
	if (!infra && is_host_user_ns(path = pod_user_ns(pod_id)))
		return false;
	user = json_pack("{s:s}", "type", "user");
	if (!infra)
		json_object_set_new(user, "path", json_string(path));
	net = net_path(spec, !infra);
	if (net)
		net_sysctls(spec, net, infra);
	/* The infra's spec keeps its network entry: LXC joins it before the user namespace. */
	if (!infra)
		*ret_net = TAKE_PTR(net);
	json_array_append_new(json_object_get(linux_, "namespaces"), user);
	/* LXC needs the mappings also to join: they say the container is unprivileged. */
	json_object_set_new(linux_, "uidMappings", mappings());
	json_object_set_new(linux_, "gidMappings", mappings());
	return true;
}

void crib_lxc_idmap_join_net(const char *path, const char *dir)
{
	_cleanup_free_ char *pin = crib_xasprintf("%s/netns", dir);
	_cleanup_close_ int fd = -1;

	join_net(path);
	fd = open(pin, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || mount("/proc/self/ns/net", pin, NULL, MS_BIND, NULL) < 0)
		crib_lxc_die("cannot pin the network namespace at %s: %s", pin, strerror(errno));
}

void crib_lxc_idmap_enter_net(const char *id)
{
	_cleanup_free_ char *pin = crib_lxc_file(id, "netns");

	if (access(pin, F_OK) == 0)
		join_net(pin);
}

/* A user namespace with the class's mappings, as a descriptor (the caller's). */
static int mapped_user_ns(void)
{
	_cleanup_free_ char *map =
	    crib_xasprintf("0 %lu %lu\n", crib_lxc_g.idmap_host, crib_lxc_g.idmap_size);
	int ready[2], fd = -1, status;
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC) < 0)
		crib_lxc_die("cannot make a pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		crib_lxc_die("cannot fork: %s", strerror(errno));
	if (pid == 0) {
		/* Holds the namespace until the parent has its descriptor, then dies with it. */
		c = unshare(CLONE_NEWUSER) < 0 ? 'e' : 'u';
		(void)!write(ready[1], &c, 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) == 1 && c == 'u') {
		const char *files[] = {"uid_map", "gid_map"};
		bool ok = true;

		for (size_t i = 0; i < 2 && ok; i++) {
			_cleanup_free_ char *p = crib_xasprintf("/proc/%d/%s", (int)pid, files[i]);

			ok = crib_write_proc(p, map) == 0;
		}
		if (ok) {
			_cleanup_free_ char *p = crib_xasprintf("/proc/%d/ns/user", (int)pid);

			fd = open(p, O_RDONLY | O_CLOEXEC);
		}
	}
	close(ready[0]);
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
	if (fd < 0)
		crib_lxc_die("cannot make a user namespace mapping 0 to %lu (%lu ids)",
		             crib_lxc_g.idmap_host, crib_lxc_g.idmap_size);
	return fd;
}

/* Mounts an idmapped clone of directory SRC (its mounts with it) at DST. */
static void idmapped_bind(const char *src, const char *dst, int userns)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
	_cleanup_close_ int fd =
	    open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0)
		crib_lxc_die("cannot clone the mount of layer %s: %s", src, strerror(errno));
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		crib_lxc_die("cannot idmap layer %s: %s", src, strerror(errno));
	if (mkdir(dst, 0700) < 0 && errno != EEXIST)
		crib_lxc_die("cannot create %s: %s", dst, strerror(errno));
	if (move_mount(fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		crib_lxc_die("cannot mount layer %s at %s: %s", src, dst, strerror(errno));
}

/* The value of overlay option NAME of mount FS (malloc'd). */
static char *overlay_option(struct libmnt_fs *fs, const char *name, const char *root)
{
	char *value;
	size_t len;

	if (mnt_fs_get_option(fs, name, &value, &len) != 0 || len == 0)
		crib_lxc_die("the overlay at %s has no %s", root, name);
	return crib_xasprintf("%.*s", (int)len, value);
}

/* The layers of the idmapped overlay: idmapped clones of LOWERS under DIR, top first. */
static char *idmapped_lowers(char *lowers, const char *dir)
{
	_cleanup_close_ int userns = mapped_user_ns();
	char *list = NULL, *save = NULL;
	size_t n = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		crib_lxc_die("cannot create %s: %s", dir, strerror(errno));
	for (char *l = strtok_r(lowers, ":", &save); l; l = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *dst = crib_xasprintf("%s/%zu", dir, n++);
		char *next;

		idmapped_bind(l, dst, userns);
		next = crib_xasprintf("%s%s%s", list ? list : "", list ? ":" : "", dst);
		free(list);
		list = next;
	}
	return list;
}

/* Detaches the layer mounts under DIR: the overlay holds its own clones of them. */
static void drop_layer_mounts(const char *dir)
{
	for (size_t i = 0;; i++) {
		_cleanup_free_ char *p = crib_xasprintf("%s/%zu", dir, i);

		if (umount2(p, MNT_DETACH) < 0)
			break;
		(void)rmdir(p);
	}
	(void)rmdir(dir);
}

void crib_lxc_idmap_root(const char *root, const char *mnt)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_fs *fs = tb ? mnt_table_find_target(tb, root, MNT_ITER_BACKWARD) : NULL;
	_cleanup_free_ char *lowers = NULL, *upper = NULL, *work = NULL, *layers = NULL;
	_cleanup_free_ char *list = NULL, *opts = NULL;

	if (!tb)
		crib_lxc_die("cannot read /proc/self/mountinfo");
	if (mkdir(mnt, 0755) < 0 && errno != EEXIST)
		crib_lxc_die("cannot create %s: %s", mnt, strerror(errno));
	if (!fs || !mnt_fs_get_target(fs) || !streq(mnt_fs_get_target(fs), root) ||
	    !streq(mnt_fs_get_fstype(fs), "overlay")) {
		_cleanup_close_ int userns = mapped_user_ns();

		mnt_unref_table(tb);
		idmapped_bind(root, mnt, userns);
		return;
	}
	lowers = overlay_option(fs, "lowerdir", root);
	upper = overlay_option(fs, "upperdir", root);
	work = overlay_option(fs, "workdir", root);
	mnt_unref_table(tb);
	layers = crib_xasprintf("%s.layers", mnt);
	list = idmapped_lowers(lowers, layers);
	/* The root directory is the upper's: the container's root must own it to write there. */
	if (chown(upper, (uid_t)crib_lxc_g.idmap_host, (gid_t)crib_lxc_g.idmap_host) < 0)
		crib_lxc_die("cannot give %s to the container's root: %s", upper, strerror(errno));
	opts = crib_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", list, upper, work);
	if (umount2(root, MNT_DETACH) < 0 || mount("overlay", mnt, "overlay", 0, opts) < 0)
		crib_lxc_die("cannot mount the idmapped overlay at %s: %s", mnt, strerror(errno));
	drop_layer_mounts(layers);
}

void crib_lxc_idmap_release(const char *dir)
{
	_cleanup_free_ char *mnt = crib_xasprintf("%s/rootfs", dir);
	_cleanup_free_ char *pin = crib_xasprintf("%s/netns", dir);

	(void)umount2(mnt, MNT_DETACH);
	(void)umount2(pin, MNT_DETACH);
}
