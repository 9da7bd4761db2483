/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI config.json -> liblxc keys.  The oci backend's spec.c writes the spec
 * from CRI; this reads it back the way LXC can apply it.  What LXC does itself
 * (a /dev with the standard nodes, devpts, /proc, /sys and the cgroup tree)
 * replaces the spec's mounts of those; masks and read-only paths are done by
 * crib-lxc's mount hook, which runs where the container's /proc is mounted.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lxcconf.h"
#include "util.h"

/* What runc allows every container besides the spec's rules (its AllowedDevices). */
static const char *const default_devices[] = {"c *:* m",   "b *:* m",   "c 1:3 rwm",   "c 1:5 rwm",
                                              "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",   "c 5:0 rwm",
                                              "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", NULL};

struct conv {
	const struct crib_lxc_conf_in *in;
	struct crib_lxc_conf *out;
	char **err;
	bool userns;   /* the spec has a user namespace */
	bool sys_bind; /* ... and no network namespace of its own: no sysfs of its own */
};

static int fail(struct conv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct conv *v, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	free(*v->err);
	*v->err = msg;
	return -EINVAL;
}

static void add(struct conv *v, const char *key, const char *value)
{
	size_t n = v->out->n;

	crib_strv_add(&v->out->keys, &n, key);
	crib_strv_add(&v->out->values, &v->out->n, value);
}

static void addf(struct conv *v, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void addf(struct conv *v, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *value = NULL;

	va_start(ap, fmt);
	if (vasprintf(&value, fmt, ap) < 0)
		abort();
	va_end(ap);
	add(v, key, value);
	free(value);
}

void crib_lxc_conf_clear(struct crib_lxc_conf *c)
{
	size_t n_argv = 0;

	crib_strv_free(c->keys, c->n);
	crib_strv_free(c->values, c->n);
	while (c->argv && c->argv[n_argv])
		n_argv++;
	crib_strv_free(c->argv, n_argv);
	free(c->cgroup);
	*c = (struct crib_lxc_conf){0};
}

static bool has_space(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s))
			return true;
	return false;
}

/* Appends WORD to the blank-separated *LIST (malloc'd, NULL for empty). */
static void append_word(char **list, const char *word)
{
	char *joined = crib_xasprintf("%s%s%s", *list ? *list : "", *list ? " " : "", word);

	free(*list);
	*list = joined;
}

/*
 * The member KEY of OBJ (FIELD names OBJ in messages) when it has TYPE: 1 and
 * *RET; 0 when absent or null; else a type error naming it (WHAT: "an integer").
 */
static int get_member(struct conv *v, json_t *obj, const char *key, const char *field,
                      json_type type, const char *what, json_t **ret)
{
	json_t *j = json_object_get(obj, key);

	if (!j || json_is_null(j))
		return 0;
	if (json_typeof(j) != type)
		return fail(v, "%s.%s is not %s", field, key, what);
	*ret = j;
	return 1;
}

/* The typed getters: absent leaves *RET as it was (get_array: NULL). */
static int get_int(struct conv *v, json_t *obj, const char *key, const char *field, long long *ret)
{
	json_t *j = NULL;
	int r = get_member(v, obj, key, field, JSON_INTEGER, "an integer", &j);

	if (r > 0)
		*ret = json_integer_value(j);
	return r;
}

static int get_string(struct conv *v, json_t *obj, const char *key, const char *field,
                      const char **ret)
{
	json_t *j = NULL;
	int r = get_member(v, obj, key, field, JSON_STRING, "a string", &j);

	if (r > 0)
		*ret = json_string_value(j);
	return r;
}

static int get_array(struct conv *v, json_t *obj, const char *key, const char *field, json_t **ret)
{
	*ret = NULL;
	return get_member(v, obj, key, field, JSON_ARRAY, "an array", ret);
}

bool crib_lxc_strings_contain(json_t *array, const char *s)
{
	size_t i;
	json_t *e;

	json_array_foreach(array, i, e)
	{
		if (json_is_string(e) && streq(json_string_value(e), s))
			return true;
	}
	return false;
}

/* Process. */

static int conv_caps(struct conv *v, json_t *caps)
{
	json_t *bounding = NULL, *e;
	size_t i;
	int r = get_array(v, caps, "bounding", "process.capabilities", &bounding);

	if (r < 0)
		return r;
	/* A system without a capability set: what LXC's common.conf drops for system containers. */
	if (!caps && v->in->system) {
		add(v, "lxc.cap.drop", "mac_admin mac_override sys_time sys_module sys_rawio");
		return 0;
	}
	if (!bounding || json_array_size(bounding) == 0) {
		add(v, "lxc.cap.keep", "none");
		return 0;
	}
	json_array_foreach(bounding, i, e)
	{
		const char *name = json_string_value(e);
		_cleanup_free_ char *lower = NULL;

		if (!name || strncmp(name, "CAP_", 4) != 0 || !name[4])
			return fail(v, "process.capabilities.bounding[%zu] is not a CAP_ name", i);
		lower = crib_xstrdup(name + 4);
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		add(v, "lxc.cap.keep", lower);
	}
	return 0;
}

static int conv_user(struct conv *v, json_t *user)
{
	long long uid = 0, gid = 0;
	json_t *gids = NULL, *e;
	size_t i;
	char *list = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if ((r = get_int(v, user, "uid", "process.user", &uid)) < 0 ||
	    (r = get_int(v, user, "gid", "process.user", &gid)) < 0 ||
	    (r = get_array(v, user, "additionalGids", "process.user", &gids)) < 0)
		return r;
	addf(v, "lxc.init.uid", "%lld", uid);
	addf(v, "lxc.init.gid", "%lld", gid);
	if (!gids || json_array_size(gids) == 0)
		return 0;
	f = open_memstream(&list, &len);
	if (!f)
		abort();
	json_array_foreach(gids, i, e)
	{
		if (!json_is_integer(e)) {
			fclose(f);
			free(list);
			return fail(v, "process.user.additionalGids[%zu] is not an integer", i);
		}
		fprintf(f, "%s%lld", i ? "," : "", (long long)json_integer_value(e));
	}
	fclose(f);
	add(v, "lxc.init.groups", list);
	free(list);
	return 0;
}

static int conv_rlimits(struct conv *v, json_t *rlimits)
{
	json_t *e;
	size_t i;

	json_array_foreach(rlimits, i, e)
	{
		const char *type = NULL;
		long long soft = -1, hard = -1;
		_cleanup_free_ char *key = NULL;
		int r;

		if ((r = get_string(v, e, "type", "process.rlimits[]", &type)) < 0 ||
		    (r = get_int(v, e, "soft", "process.rlimits[]", &soft)) < 0 ||
		    (r = get_int(v, e, "hard", "process.rlimits[]", &hard)) < 0)
			return r;
		if (!type || strncmp(type, "RLIMIT_", 7) != 0 || soft < 0 || hard < 0)
			return fail(v, "process.rlimits[%zu] needs an RLIMIT_ type, soft and hard",
			            i);
		key = crib_xasprintf("lxc.prlimit.%s", type + 7);
		for (char *p = key + 12; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		addf(v, key, "%lld:%lld", soft, hard);
	}
	return 0;
}

static int conv_argv(struct conv *v, json_t *args)
{
	size_t i, n = 0;
	json_t *e;

	if (!args || json_array_size(args) == 0)
		return fail(v, "process.args is empty: nothing to run");
	if (v->in->system) {
		/* The image's init runs the system; the command is not its to choose. */
		crib_strv_add(&v->out->argv, &n, "/sbin/init");
		crib_strv_add(&v->out->argv, &n, NULL);
		/* What LXC's own shutdown sends: busybox, sysvinit and OpenRC halt on it. */
		add(v, "lxc.signal.halt", "SIGPWR");
		return 0;
	}
	json_array_foreach(args, i, e)
	{
		if (!json_is_string(e))
			return fail(v, "process.args[%zu] is not a string", i);
		crib_strv_add(&v->out->argv, &n, json_string_value(e));
	}
	crib_strv_add(&v->out->argv, &n, NULL);
	return 0;
}

static int conv_process(struct conv *v, json_t *process)
{
	json_t *args = NULL, *env = NULL, *rlimits = NULL, *e;
	const char *cwd = NULL, *apparmor = NULL, *selinux = NULL;
	long long oom = 0;
	size_t i;
	int r;

	if (!json_is_object(process))
		return fail(v, "process is missing");
	if ((r = get_array(v, process, "args", "process", &args)) < 0 ||
	    (r = get_array(v, process, "env", "process", &env)) < 0 ||
	    (r = get_array(v, process, "rlimits", "process", &rlimits)) < 0 ||
	    (r = get_string(v, process, "cwd", "process", &cwd)) < 0 ||
	    (r = get_string(v, process, "apparmorProfile", "process", &apparmor)) < 0 ||
	    (r = get_string(v, process, "selinuxLabel", "process", &selinux)) < 0)
		return r;
	r = conv_argv(v, args);
	if (r < 0)
		return r;
	v->out->terminal = json_is_true(json_object_get(process, "terminal"));
	json_array_foreach(env, i, e)
	{
		if (!json_is_string(e) || !strchr(json_string_value(e), '='))
			return fail(v, "process.env[%zu] is not NAME=VALUE", i);
		add(v, "lxc.environment", json_string_value(e));
	}
	add(v, "lxc.init.cwd", cwd && *cwd ? cwd : "/");
	r = conv_user(v, json_object_get(process, "user"));
	if (r < 0)
		return r;
	r = conv_caps(v, json_object_get(process, "capabilities"));
	if (r < 0)
		return r;
	if (json_is_true(json_object_get(process, "noNewPrivileges")))
		add(v, "lxc.no_new_privs", "1");
	if ((r = get_int(v, process, "oomScoreAdj", "process", &oom)) < 0)
		return r;
	if (r > 0)
		addf(v, "lxc.proc.oom_score_adj", "%lld", oom);
	if (rlimits && (r = conv_rlimits(v, rlimits)) < 0)
		return r;
	/* Without one LXC would generate a profile of its own; the spec says what it wants. */
	add(v, "lxc.apparmor.profile", apparmor && *apparmor ? apparmor : "unconfined");
	if (selinux && *selinux)
		add(v, "lxc.selinux.context", selinux);
	return 0;
}

/* Mounts. */

/* OPTIONS joined with commas, plus EXTRA (or NULL). */
static char *join_options(json_t *options, const char *extra)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);
	bool first = true;
	json_t *e;

	if (!f)
		abort();
	json_array_foreach(options, i, e) if (json_is_string(e))
	{
		fprintf(f, "%s%s", first ? "" : ",", json_string_value(e));
		first = false;
	}
	if (extra)
		fprintf(f, "%s%s", first ? "" : ",", extra);
	else if (first)
		fputs("defaults", f);
	fclose(f);
	return text;
}

static bool is_bind(const char *type, json_t *options)
{
	return streq(type, "bind") || crib_lxc_strings_contain(options, "bind") ||
	       crib_lxc_strings_contain(options, "rbind");
}

static int conv_mount(struct conv *v, json_t *m, size_t i, char **ret_auto)
{
	const char *dest = NULL, *type = NULL, *source = NULL;
	json_t *options = NULL;
	_cleanup_free_ char *opts = NULL, *src = NULL;
	const char *piece = NULL;
	int r;

	if ((r = get_string(v, m, "destination", "mounts[]", &dest)) < 0 ||
	    (r = get_string(v, m, "type", "mounts[]", &type)) < 0 ||
	    (r = get_string(v, m, "source", "mounts[]", &source)) < 0 ||
	    (r = get_array(v, m, "options", "mounts[]", &options)) < 0)
		return r;
	if (!dest || dest[0] != '/')
		return fail(v, "mounts[%zu].destination is not an absolute path", i);
	type = type ? type : "none";
	/* LXC makes these itself: /dev with its nodes, devpts, and the kernel's trees. */
	if (streq(dest, "/dev") && streq(type, "tmpfs"))
		return 0;
	if (streq(dest, "/dev/pts") && streq(type, "devpts"))
		return 0;
	/*
	 * /proc read-write: the mount hook writes the spec's sysctls, then makes
	 * the spec's read-only paths (/proc/sys among them) read-only.
	 */
	if (streq(dest, "/proc") && streq(type, "proc"))
		piece = "proc:rw";
	else if (streq(dest, "/sys") && streq(type, "sysfs") && v->sys_bind) {
		/* As runc does where a new sysfs is refused: the host's, read-only. */
		add(v, "lxc.mount.entry",
		    "/sys sys none rbind,ro,nosuid,nodev,noexec,create=dir 0 0");
		return 0;
	} else if (streq(dest, "/sys") && streq(type, "sysfs"))
		piece = crib_lxc_strings_contain(options, "ro") ? "sys:ro" : "sys:rw";
	else if (streq(dest, "/sys/fs/cgroup") && streq(type, "cgroup"))
		piece = crib_lxc_strings_contain(options, "ro") ? "cgroup:ro" : "cgroup:rw";
	if (piece) {
		append_word(ret_auto, piece);
		return 0;
	}
	if (!source)
		source = type;
	if (has_space(dest) || has_space(source))
		return fail(v, "mounts[%zu]: LXC's mount entries cannot hold blanks ('%s' on '%s')",
		            i, source, dest);
	if (is_bind(type, options)) {
		struct stat st;
		const char *kind;

		src = source[0] == '/' ? crib_xstrdup(source)
		                       : crib_xasprintf("%s/%s", v->in->bundle, source);
		if (stat(src, &st) < 0)
			return fail(v, "mounts[%zu].source '%s': %s", i, src, strerror(errno));
		kind = S_ISDIR(st.st_mode) ? "dir" : "file";
		type = "none";
		source = src;
		if (v->userns) {
			/* A placeholder for crib-lxc's start-host hook to mount the source over. */
			if (!v->in->placeholders)
				return fail(v,
				            "mounts[%zu]: a bind in a user namespace needs "
				            "placeholders",
				            i);
			free(src);
			source = src = crib_xasprintf("%s/%s", v->in->placeholders, kind);
			opts = crib_xasprintf("bind,create=%s", kind);
		} else {
			_cleanup_free_ char *create = crib_xasprintf("create=%s", kind);

			opts = join_options(options, create);
		}
	} else {
		opts = join_options(options, "create=dir");
	}
	addf(v, "lxc.mount.entry", "%s %s %s %s 0 0", source, dest + 1, type, opts);
	return 0;
}

static int conv_devices(struct conv *v, json_t *devices)
{
	json_t *e;
	size_t i;

	json_array_foreach(devices, i, e)
	{
		const char *path = NULL;
		int r = get_string(v, e, "path", "linux.devices[]", &path);

		if (r < 0)
			return r;
		if (!path || path[0] != '/' || has_space(path))
			return fail(v, "linux.devices[%zu].path is not an absolute path", i);
		/* LXC's own: its devpts instance and console (a privileged spec lists the host's).
		 */
		if (streq(path, "/dev/ptmx") || streq(path, "/dev/console") ||
		    strncmp(path, "/dev/pts/", 9) == 0)
			continue;
		addf(v, "lxc.mount.entry", "%s/%zu %s none bind,create=file 0 0",
		     v->in->devices_dir, i, path + 1);
	}
	return 0;
}

static int conv_mounts(struct conv *v, json_t *spec, json_t *linux_)
{
	json_t *mounts = NULL, *devices = NULL, *m;
	_cleanup_free_ char *autos = NULL;
	size_t i;
	int r;

	if ((r = get_array(v, spec, "mounts", "spec", &mounts)) < 0 ||
	    (r = get_array(v, linux_, "devices", "linux", &devices)) < 0)
		return r;
	add(v, "lxc.autodev", "1");
	add(v, "lxc.pty.max", "1024");
	add(v, "lxc.tty.max", "0");
	json_array_foreach(mounts, i, m)
	{
		r = conv_mount(v, m, i, &autos);
		if (r < 0)
			return r;
	}
	if (autos)
		add(v, "lxc.mount.auto", autos);
	r = conv_devices(v, devices);
	if (r < 0)
		return r;
	/* Masks and read-only paths need the container's own /proc: the hook's job. */
	add(v, "lxc.hook.version", "1");
	if (v->in->hook)
		add(v, "lxc.hook.mount", v->in->hook);
	/* An init that exits at once is gone before anyone can ask for its pid. */
	if (v->in->started_hook)
		add(v, "lxc.hook.start-host", v->in->started_hook);
	return 0;
}

/* Namespaces. */

struct ns_name {
	const char *oci, *lxc;
};

enum { NS_NET, NS_UTS, NS_IPC, NS_PID, NS_MNT, NS_CGROUP, NS_USER };

static const struct ns_name namespaces[] = {
    [NS_NET] = {"network", "net"}, [NS_UTS] = {"uts", "uts"},   [NS_IPC] = {"ipc", "ipc"},
    [NS_PID] = {"pid", "pid"},     [NS_MNT] = {"mount", "mnt"}, [NS_CGROUP] = {"cgroup", "cgroup"},
    [NS_USER] = {"user", "user"},
};

/* The index of OCI namespace type OCI in namespaces[], or -1. */
static int ns_index(const char *oci)
{
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
		if (streq(namespaces[i].oci, oci))
			return (int)i;
	return -1;
}

static int conv_idmaps(struct conv *v, json_t *linux_, const char *key, char kind)
{
	json_t *maps = NULL, *e;
	size_t i;
	int r = get_array(v, linux_, key, "linux", &maps);

	if (r < 0)
		return r;
	if (!maps || json_array_size(maps) == 0)
		return fail(v, "linux.%s is empty, but a user namespace needs it", key);
	json_array_foreach(maps, i, e)
	{
		long long c = -1, h = -1, n = -1;

		if ((r = get_int(v, e, "containerID", key, &c)) < 0 ||
		    (r = get_int(v, e, "hostID", key, &h)) < 0 ||
		    (r = get_int(v, e, "size", key, &n)) < 0)
			return r;
		if (c < 0 || h < 0 || n <= 0)
			return fail(v, "linux.%s[%zu] needs containerID, hostID and size", key, i);
		addf(v, "lxc.idmap", "%c %lld %lld %lld", kind, c, h, n);
	}
	return 0;
}

static int conv_namespaces(struct conv *v, json_t *spec, json_t *linux_)
{
	json_t *list = NULL, *e;
	bool present[ARRAY_SIZE(namespaces)] = {0}, shared[ARRAY_SIZE(namespaces)] = {0};
	_cleanup_free_ char *clone = NULL;
	const char *hostname = NULL;
	size_t i;
	int r;

	if ((r = get_array(v, linux_, "namespaces", "linux", &list)) < 0 ||
	    (r = get_string(v, spec, "hostname", "spec", &hostname)) < 0)
		return r;
	json_array_foreach(list, i, e)
	{
		const char *type = NULL, *path = NULL, *name;
		char *key;
		int k;

		if ((r = get_string(v, e, "type", "linux.namespaces[]", &type)) < 0 ||
		    (r = get_string(v, e, "path", "linux.namespaces[]", &path)) < 0)
			return r;
		k = type ? ns_index(type) : -1;
		if (k < 0)
			return fail(v, "linux.namespaces[%zu].type '%s' is not one LXC knows", i,
			            type ? type : "");
		name = namespaces[k].lxc;
		present[k] = true;
		if (!path || !*path)
			continue;
		if (k == NS_MNT)
			return fail(v, "linux.namespaces[%zu]: LXC cannot join a mount namespace",
			            i);
		shared[k] = true;
		key = crib_xasprintf("lxc.namespace.share.%s", name);
		add(v, key, path);
		free(key);
	}
	/*
	 * The namespaces LXC makes are named (lxc.namespace.clone): with
	 * lxc.namespace.keep it would make every other one, a user namespace
	 * without an idmap among them.  Not named and not shared: the host's.
	 * A cgroup namespace always, as LXC's cgroup mounts expect.
	 */
	if (!present[NS_MNT])
		return fail(v, "linux.namespaces has no mount namespace, which LXC always makes");
	for (i = 0; i < ARRAY_SIZE(namespaces); i++)
		if (!shared[i] && (present[i] || i == NS_CGROUP))
			append_word(&clone, namespaces[i].lxc);
	add(v, "lxc.namespace.clone", clone);
	/* A new network namespace from LXC has lo down; the spec's has it up. */
	if (present[NS_NET] && !shared[NS_NET]) {
		add(v, "lxc.net.0.type", "empty");
		add(v, "lxc.net.0.flags", "up");
	}
	if (hostname && *hostname) {
		if (!present[NS_UTS] || shared[NS_UTS])
			return fail(v, "hostname is set, but the container has no UTS namespace "
			               "of its own");
		add(v, "lxc.uts.name", hostname);
	}
	if (present[NS_USER]) {
		if ((r = conv_idmaps(v, linux_, "uidMappings", 'u')) < 0 ||
		    (r = conv_idmaps(v, linux_, "gidMappings", 'g')) < 0)
			return r;
	}
	return 0;
}

/* Resources. */

struct res {
	struct conv *v;
	enum crib_lxc_cgroups cgroups;
	const char *prefix; /* "lxc.cgroup." / "lxc.cgroup2.", or "" for an update */
};

static void res_set(struct res *x, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void res_set(struct res *x, const char *file, const char *fmt, ...)
{
	_cleanup_free_ char *key = crib_xasprintf("%s%s", x->prefix, file);
	va_list ap;
	char *value = NULL;

	va_start(ap, fmt);
	if (vasprintf(&value, fmt, ap) < 0)
		abort();
	va_end(ap);
	add(x->v, key, value);
	free(value);
}

/* Whether the host accounts swap in cgroup v1 (swapaccount=1). */
static bool v1_has_memsw(void)
{
	return access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
}

static int res_memory(struct res *x, json_t *mem)
{
	long long limit = 0, swap = 0, reservation = 0;
	int r, has_limit, has_swap, has_res;

	if ((has_limit = r = get_int(x->v, mem, "limit", "linux.resources.memory", &limit)) < 0 ||
	    (has_swap = r = get_int(x->v, mem, "swap", "linux.resources.memory", &swap)) < 0 ||
	    (has_res = r =
	         get_int(x->v, mem, "reservation", "linux.resources.memory", &reservation)) < 0)
		return r;
	if (x->cgroups == CRIB_LXC_CGROUP_V1) {
		if (has_limit && limit > 0)
			res_set(x, "memory.limit_in_bytes", "%lld", limit);
		if (has_swap && swap > 0 && v1_has_memsw())
			res_set(x, "memory.memsw.limit_in_bytes", "%lld", swap);
		if (has_res && reservation > 0)
			res_set(x, "memory.soft_limit_in_bytes", "%lld", reservation);
		return 0;
	}
	if (has_limit && limit > 0)
		res_set(x, "memory.max", "%lld", limit);
	/* v1's swap counts memory too; v2's memory.swap.max is the swap alone. */
	if (has_swap && swap > 0 && has_limit && limit > 0 && swap >= limit)
		res_set(x, "memory.swap.max", "%lld", swap - limit);
	if (has_res && reservation > 0)
		res_set(x, "memory.low", "%lld", reservation);
	return 0;
}

static int res_cpu(struct res *x, json_t *cpu)
{
	long long shares = 0, quota = 0, period = 0;
	const char *cpus = NULL, *mems = NULL;
	int r, has_shares, has_quota, has_period;

	if ((has_shares = r = get_int(x->v, cpu, "shares", "linux.resources.cpu", &shares)) < 0 ||
	    (has_quota = r = get_int(x->v, cpu, "quota", "linux.resources.cpu", &quota)) < 0 ||
	    (has_period = r = get_int(x->v, cpu, "period", "linux.resources.cpu", &period)) < 0 ||
	    (r = get_string(x->v, cpu, "cpus", "linux.resources.cpu", &cpus)) < 0 ||
	    (r = get_string(x->v, cpu, "mems", "linux.resources.cpu", &mems)) < 0)
		return r;
	if (x->cgroups == CRIB_LXC_CGROUP_V1) {
		if (has_shares && shares > 0)
			res_set(x, "cpu.shares", "%lld", shares);
		if (has_period && period > 0)
			res_set(x, "cpu.cfs_period_us", "%lld", period);
		if (has_quota && quota != 0)
			res_set(x, "cpu.cfs_quota_us", "%lld", quota);
	} else {
		/* The conversion runc and crun use, so that weights match theirs. */
		if (has_shares && shares >= 2)
			res_set(x, "cpu.weight", "%lld", 1 + ((shares - 2) * 9999) / 262142);
		if ((has_quota && quota != 0) || (has_period && period > 0)) {
			if (quota > 0)
				res_set(x, "cpu.max", "%lld %lld", quota,
				        period > 0 ? period : 100000);
			else
				res_set(x, "cpu.max", "max %lld", period > 0 ? period : 100000);
		}
	}
	if (cpus && *cpus)
		res_set(x, "cpuset.cpus", "%s", cpus);
	if (mems && *mems)
		res_set(x, "cpuset.mems", "%s", mems);
	return 0;
}

static int res_hugepages(struct res *x, json_t *limits)
{
	json_t *e;
	size_t i;

	json_array_foreach(limits, i, e)
	{
		const char *size = NULL;
		long long limit = 0;
		_cleanup_free_ char *file = NULL;
		int r;

		if ((r = get_string(x->v, e, "pageSize", "linux.resources.hugepageLimits[]",
		                    &size)) < 0 ||
		    (r = get_int(x->v, e, "limit", "linux.resources.hugepageLimits[]", &limit)) < 0)
			return r;
		if (!size || has_space(size) || strchr(size, '/'))
			return fail(x->v, "linux.resources.hugepageLimits[%zu].pageSize is missing",
			            i);
		file = crib_xasprintf("hugetlb.%s.%s", size,
		                      x->cgroups == CRIB_LXC_CGROUP_V1 ? "limit_in_bytes" : "max");
		res_set(x, file, "%lld", limit);
	}
	return 0;
}

static int res_device(struct res *x, json_t *e, size_t i)
{
	const char *type = "a", *access_ = "rwm";
	long long major = -1, minor = -1;
	char maj[24] = "*", min[24] = "*";
	int r;

	if ((r = get_string(x->v, e, "type", "linux.resources.devices[]", &type)) < 0 ||
	    (r = get_string(x->v, e, "access", "linux.resources.devices[]", &access_)) < 0 ||
	    (r = get_int(x->v, e, "major", "linux.resources.devices[]", &major)) < 0 ||
	    (r = get_int(x->v, e, "minor", "linux.resources.devices[]", &minor)) < 0)
		return r;
	if (!json_is_boolean(json_object_get(e, "allow")))
		return fail(x->v, "linux.resources.devices[%zu].allow is not a boolean", i);
	if (!type || strlen(type) != 1 || !strchr("acb", type[0]) || !access_ ||
	    strspn(access_, "rwm") != strlen(access_))
		return fail(x->v, "linux.resources.devices[%zu] has a bad type or access", i);
	if (major >= 0)
		snprintf(maj, sizeof(maj), "%lld", major);
	if (minor >= 0)
		snprintf(min, sizeof(min), "%lld", minor);
	if (type[0] == 'a')
		res_set(
		    x, json_is_true(json_object_get(e, "allow")) ? "devices.allow" : "devices.deny",
		    "a");
	else
		res_set(
		    x, json_is_true(json_object_get(e, "allow")) ? "devices.allow" : "devices.deny",
		    "%s %s:%s %s", type, maj, min, access_);
	return 0;
}

static int res_all(struct res *x, json_t *resources, bool with_devices)
{
	json_t *mem = json_object_get(resources, "memory"),
	       *cpu = json_object_get(resources, "cpu");
	json_t *pids = json_object_get(resources, "pids"), *devices = NULL, *huge = NULL, *e;
	long long limit = 0;
	size_t i;
	int r;

	if ((r = get_array(x->v, resources, "devices", "linux.resources", &devices)) < 0 ||
	    (r = get_array(x->v, resources, "hugepageLimits", "linux.resources", &huge)) < 0)
		return r;
	if (json_is_object(mem) && (r = res_memory(x, mem)) < 0)
		return r;
	if (json_is_object(cpu) && (r = res_cpu(x, cpu)) < 0)
		return r;
	if (json_is_object(pids)) {
		if ((r = get_int(x->v, pids, "limit", "linux.resources.pids", &limit)) < 0)
			return r;
		if (r > 0 && limit > 0)
			res_set(x, "pids.max", "%lld", limit);
	}
	if (huge && (r = res_hugepages(x, huge)) < 0)
		return r;
	if (!with_devices || !devices)
		return 0;
	json_array_foreach(devices, i, e) if ((r = res_device(x, e, i)) < 0) return r;
	for (const char *const *d = default_devices; *d; d++)
		res_set(x, "devices.allow", "%s", *d);
	return 0;
}

int crib_lxc_resources(json_t *resources, enum crib_lxc_cgroups cgroups, struct crib_lxc_conf *out,
                       char **ret_err)
{
	struct conv v = {.out = out, .err = ret_err};
	struct res x = {.v = &v, .cgroups = cgroups, .prefix = ""};
	int r;

	*out = (struct crib_lxc_conf){0};
	*ret_err = NULL;
	if (!json_is_object(resources))
		return fail(&v, "the resources are not a JSON object");
	r = res_all(&x, resources, false);
	if (r < 0)
		crib_lxc_conf_clear(out);
	return r;
}

/* The container's cgroup, and the monitor's beside the containers' tree. */
static int conv_cgroups(struct conv *v, json_t *linux_)
{
	const char *path = NULL;
	json_t *resources = json_object_get(linux_, "resources");
	struct res x = {.v = v,
	                .cgroups = v->in->cgroups,
	                .prefix =
	                    v->in->cgroups == CRIB_LXC_CGROUP_V1 ? "lxc.cgroup." : "lxc.cgroup2."};
	int r = get_string(v, linux_, "cgroupsPath", "linux", &path);

	if (r < 0)
		return r;
	while (path && *path == '/')
		path++;
	if (path && *path) {
		if (has_space(path) || strstr(path, ".."))
			return fail(v, "linux.cgroupsPath '%s' is not a plain path", path);
		v->out->cgroup = crib_xstrdup(path);
		add(v, "lxc.cgroup.dir.container", path);
		addf(v, "lxc.cgroup.dir.monitor", CRIB_LXC_MONITOR_CGROUP, v->in->name);
		add(v, "lxc.cgroup.dir.monitor.pivot", "crib.lxc");
	}
	if (json_is_object(resources))
		return res_all(&x, resources, true);
	return 0;
}

/* Checked here, written by the mount hook: LXC's own lxc.sysctl runs after /proc/sys is read-only.
 */
static int check_sysctl(struct conv *v, json_t *linux_)
{
	json_t *sysctl = json_object_get(linux_, "sysctl"), *value;
	const char *key;

	if (sysctl && !json_is_object(sysctl))
		return fail(v, "linux.sysctl is not an object");
	json_object_foreach(sysctl, key, value)
	{
		if (!json_is_string(value))
			return fail(v, "linux.sysctl.%s is not a string", key);
		if (!*key || strstr(key, "..") || strchr(key, '/') || key[0] == '.')
			return fail(v, "linux.sysctl.%s is not a sysctl name", key);
	}
	return 0;
}

static int conv_root(struct conv *v, json_t *spec)
{
	json_t *root = json_object_get(spec, "root");
	const char *path = NULL;
	_cleanup_free_ char *abs = NULL;
	int r = get_string(v, root, "path", "root", &path);

	if (r < 0)
		return r;
	if (!path || !*path)
		return fail(v, "root.path is missing");
	abs = path[0] == '/' ? crib_xstrdup(path) : crib_xasprintf("%s/%s", v->in->bundle, path);
	if (v->in->rootfs)
		add(v, "lxc.rootfs.path", v->in->rootfs);
	else
		addf(v, "lxc.rootfs.path", "dir:%s", abs);
	/* Never LXC's to delete: the snapshot service or crib-lxc delete owns it. */
	add(v, "lxc.rootfs.managed", "0");
	/* root.readonly is the mount hook's: mounted read-only, LXC could not make mount points. */
	return 0;
}

json_t *crib_lxc_spec_ns(json_t *spec, const char *type, size_t *ret_index)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), i, e)
	{
		const char *t = json_string_value(json_object_get(e, "type"));

		if (t && streq(t, type)) {
			if (ret_index)
				*ret_index = i;
			return e;
		}
	}
	return NULL;
}

bool crib_lxc_has_user_ns(json_t *spec)
{
	return crib_lxc_spec_ns(spec, "user", NULL) != NULL;
}

/* What a user namespace changes: before the conversions. */
static void scan_user_ns(struct conv *v, json_t *spec)
{
	json_t *net = crib_lxc_spec_ns(spec, "network", NULL);

	v->userns = crib_lxc_has_user_ns(spec);
	/* A user namespace mounts sysfs only for a network namespace it owns. */
	v->sys_bind = v->userns && !(net && !json_object_get(net, "path"));
}

int crib_lxc_conf_from_oci(json_t *spec, const struct crib_lxc_conf_in *in,
                           struct crib_lxc_conf *out, char **ret_err)
{
	struct conv v = {.in = in, .out = out, .err = ret_err};
	json_t *linux_;
	int r;

	*out = (struct crib_lxc_conf){0};
	*ret_err = NULL;
	if (!json_is_object(spec))
		return fail(&v, "config.json is not a JSON object");
	linux_ = json_object_get(spec, "linux");
	if (!json_is_object(linux_))
		return fail(&v, "linux is missing");
	add(&v, "lxc.log.file", in->log_file);
	add(&v, "lxc.log.level", "WARN");
	/* stdio is the caller's (crib-shim's pipes or terminal), not a console of LXC's. */
	add(&v, "lxc.console.path", "none");
	scan_user_ns(&v, spec);
	if ((r = conv_root(&v, spec)) < 0 ||
	    (r = conv_process(&v, json_object_get(spec, "process"))) < 0 ||
	    (r = conv_namespaces(&v, spec, linux_)) < 0 ||
	    (r = conv_mounts(&v, spec, linux_)) < 0 || (r = conv_cgroups(&v, linux_)) < 0 ||
	    (r = check_sysctl(&v, linux_)) < 0)
		goto out;
	if (in->seccomp_file) {
		add(&v, "lxc.seccomp.profile", in->seccomp_file);
		/* Else LXC skips the policy when its caller is under a filter already. */
		add(&v, "lxc.seccomp.allow_nesting", "1");
	}
out:
	if (r < 0)
		crib_lxc_conf_clear(out);
	return r;
}

int crib_lxc_make_devices(json_t *spec, const char *dir, char **ret_err)
{
	json_t *devices = json_object_get(json_object_get(spec, "linux"), "devices"), *e;
	size_t i;
	int r;

	*ret_err = NULL;
	if (!json_is_array(devices) || json_array_size(devices) == 0)
		return 0;
	r = crib_mkdir_p(dir, 0711); /* a user namespace's root binds the nodes */
	if (r < 0) {
		*ret_err = crib_xasprintf("cannot create %s: %s", dir, strerror(-r));
		return r;
	}
	json_array_foreach(devices, i, e)
	{
		const char *type = json_string_value(json_object_get(e, "type"));
		json_t *mode = json_object_get(e, "fileMode");
		_cleanup_free_ char *node = crib_xasprintf("%s/%zu", dir, i);
		mode_t kind = type && streq(type, "b")   ? S_IFBLK
		              : type && streq(type, "p") ? S_IFIFO
		                                         : S_IFCHR;
		dev_t dev = makedev((unsigned)json_integer_value(json_object_get(e, "major")),
		                    (unsigned)json_integer_value(json_object_get(e, "minor")));

		(void)unlink(node);
		if (mknod(node,
		          kind | (json_is_integer(mode) ? (mode_t)json_integer_value(mode) & 07777
		                                        : 0666),
		          dev) < 0 ||
		    chown(node, (uid_t)json_integer_value(json_object_get(e, "uid")),
		          (gid_t)json_integer_value(json_object_get(e, "gid"))) < 0) {
			r = -errno;
			*ret_err =
			    crib_xasprintf("cannot make the node of linux.devices[%zu] at %s: %s",
			                   i, node, strerror(errno));
			return r;
		}
	}
	return 0;
}
