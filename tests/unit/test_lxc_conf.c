/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-lxc's reading of an OCI config.json (backends/lxc/lxcconf.c): the
 * liblxc keys for what LXC does itself, what it is given, and the fields it
 * cannot express, which are refused by name.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lxcconf.h"
#include "util.h"

static char bind_dir[] = "/tmp/crib-lxcconf-XXXXXX";
static char bind_file[4200];

/* JSON with ' for " (readable C strings), with @DIR@ and @FILE@ replaced. */
static json_t *load(const char *json)
{
	char *s = crib_xstrdup(json), *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	json_error_t jerr;
	json_t *obj;

	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	for (const char *p = s; *p;) {
		if (strncmp(p, "@DIR@", 5) == 0) {
			fputs(bind_dir, f);
			p += 5;
		} else if (strncmp(p, "@FILE@", 6) == 0) {
			fputs(bind_file, f);
			p += 6;
		} else {
			fputc(*p++, f);
		}
	}
	fclose(f);
	obj = json_loads(out, 0, &jerr);
	if (!obj)
		fail_msg("bad test JSON: %s: %s", jerr.text, out);
	free(s);
	free(out);
	return obj;
}

static const struct crib_lxc_conf_in in_v1 = {.bundle = "/b",
                                              .name = "ID",
                                              .log_file = "/l/lxc.log",
                                              .hook = "/x/crib-lxc hook /b",
                                              .devices_dir = "/l/devices",
                                              .cgroups = CRIB_LXC_CGROUP_V1};

/* The values of KEY, joined by '|', or NULL when absent. */
static char *values(const struct crib_lxc_conf *c, const char *key)
{
	char *out = NULL;

	for (size_t i = 0; i < c->n; i++) {
		if (!streq(c->keys[i], key))
			continue;
		char *joined =
		    crib_xasprintf("%s%s%s", out ? out : "", out ? "|" : "", c->values[i]);

		free(out);
		out = joined;
	}
	return out;
}

static void assert_key(const struct crib_lxc_conf *c, const char *key, const char *want)
{
	_cleanup_free_ char *got = values(c, key);

	if (!want) {
		if (got)
			fail_msg("%s should be absent, is '%s'", key, got);
		return;
	}
	if (!got || !streq(got, want))
		fail_msg("%s: want '%s', got '%s'", key, want, got ? got : "(absent)");
}

/* A spec as spec.c writes one for an app container of a pod with an infra container. */
#define APP_SPEC                                                                                   \
	"{'ociVersion':'1.0.2','process':{'terminal':false,'cwd':'/work',"                         \
	"'env':['PATH=/bin','FOO=bar'],'args':['sh','-c','echo hi'],"                              \
	"'user':{'uid':1000,'gid':1001,'additionalGids':[1001,20]},"                               \
	"'capabilities':{'bounding':['CAP_CHOWN','CAP_NET_BIND_SERVICE']},"                        \
	"'noNewPrivileges':true,'oomScoreAdj':5,"                                                  \
	"'rlimits':[{'type':'RLIMIT_NOFILE','soft':1024,'hard':4096}]},"                           \
	"'root':{'readonly':true,'path':'rootfs'},"                                                \
	"'mounts':[{'type':'proc','destination':'/proc','source':'proc'},"                         \
	"{'type':'tmpfs','destination':'/dev','source':'tmpfs'},"                                  \
	"{'type':'devpts','destination':'/dev/pts','source':'devpts'},"                            \
	"{'type':'mqueue','options':['nosuid'],'destination':'/dev/mqueue','source':'mqueue'},"    \
	"{'type':'sysfs','options':['ro'],'destination':'/sys','source':'sysfs'},"                 \
	"{'type':'cgroup','options':['ro'],'destination':'/sys/fs/cgroup','source':'cgroup'},"     \
	"{'type':'bind','options':['rbind','ro'],'destination':'/etc/hosts','source':'@FILE@'},"   \
	"{'type':'bind','options':['rbind'],'destination':'/data','source':'@DIR@'}],"             \
	"'linux':{'namespaces':[{'type':'network','path':'/proc/7/ns/net'},"                       \
	"{'type':'uts','path':'/proc/7/ns/uts'},{'type':'ipc','path':'/proc/7/ns/ipc'},"           \
	"{'type':'pid'},{'type':'mount'}],"                                                        \
	"'readonlyPaths':['/proc/sys'],'maskedPaths':['/proc/kcore'],"                             \
	"'sysctl':{'net.ipv4.ip_forward':'1'},"                                                    \
	"'resources':{'devices':[{'allow':false,'access':'rwm'}],"                                 \
	"'memory':{'limit':104857600,'reservation':1000},"                                         \
	"'cpu':{'shares':512,'quota':50000,'period':100000,'cpus':'0'},"                           \
	"'pids':{'limit':100}},"                                                                   \
	"'cgroupsPath':'/crib/pod-1/ID'}}"

static void test_app_container(void **state)
{
	json_t *spec = load(APP_SPEC);
	struct crib_lxc_conf c;
	_cleanup_free_ char *err = NULL, *want_mounts = NULL;

	(void)state;
	assert_int_equal(crib_lxc_conf_from_oci(spec, &in_v1, &c, &err), 0);
	assert_null(err);
	assert_string_equal(c.argv[0], "sh");
	assert_string_equal(c.argv[2], "echo hi");
	assert_null(c.argv[3]);
	assert_false(c.terminal);
	assert_string_equal(c.cgroup, "crib/pod-1/ID");
	assert_key(&c, "lxc.rootfs.path", "dir:/b/rootfs");
	assert_key(&c, "lxc.rootfs.managed", "0");
	/* Read-only root is the hook's, after LXC made its mount points. */
	assert_key(&c, "lxc.rootfs.options", NULL);
	assert_key(&c, "lxc.environment", "PATH=/bin|FOO=bar");
	assert_key(&c, "lxc.init.cwd", "/work");
	assert_key(&c, "lxc.init.uid", "1000");
	assert_key(&c, "lxc.init.gid", "1001");
	assert_key(&c, "lxc.init.groups", "1001,20");
	assert_key(&c, "lxc.cap.keep", "chown|net_bind_service");
	assert_key(&c, "lxc.no_new_privs", "1");
	assert_key(&c, "lxc.proc.oom_score_adj", "5");
	assert_key(&c, "lxc.prlimit.nofile", "1024:4096");
	assert_key(&c, "lxc.apparmor.profile", "unconfined");
	assert_key(&c, "lxc.console.path", "none");
	/* Joined namespaces are shared by path; nothing is kept from the host. */
	assert_key(&c, "lxc.namespace.share.net", "/proc/7/ns/net");
	assert_key(&c, "lxc.namespace.share.uts", "/proc/7/ns/uts");
	assert_key(&c, "lxc.namespace.share.ipc", "/proc/7/ns/ipc");
	assert_key(&c, "lxc.namespace.share.pid", NULL);
	/* LXC makes only the spec's new ones (and a cgroup namespace, always). */
	assert_key(&c, "lxc.namespace.clone", "pid mnt cgroup");
	assert_key(&c, "lxc.namespace.keep", NULL);
	assert_key(&c, "lxc.net.0.type", NULL);
	assert_key(&c, "lxc.uts.name", NULL);
	/* /dev, devpts, /proc, /sys and the cgroup tree are LXC's own. */
	assert_key(&c, "lxc.autodev", "1");
	/* /proc stays writable for the hook's sysctls; the hook makes /proc/sys read-only. */
	assert_key(&c, "lxc.mount.auto", "proc:rw sys:ro cgroup:ro");
	want_mounts = crib_xasprintf(
	    "mqueue dev/mqueue mqueue nosuid,create=dir 0 0|"
	    "%s etc/hosts none rbind,ro,create=file 0 0|%s data none rbind,create=dir 0 0",
	    bind_file, bind_dir);
	assert_key(&c, "lxc.mount.entry", want_mounts);
	assert_key(&c, "lxc.hook.mount", "/x/crib-lxc hook /b");
	assert_key(&c, "lxc.hook.version", "1");
	/* Written by the hook: LXC's lxc.sysctl would come after /proc/sys is read-only. */
	assert_key(&c, "lxc.sysctl.net.ipv4.ip_forward", NULL);
	assert_key(&c, "lxc.cgroup.dir.container", "crib/pod-1/ID");
	assert_key(&c, "lxc.cgroup.dir.monitor", "crib.lxc/ID.monitor");
	assert_key(&c, "lxc.cgroup.memory.limit_in_bytes", "104857600");
	assert_key(&c, "lxc.cgroup.memory.soft_limit_in_bytes", "1000");
	assert_key(&c, "lxc.cgroup.cpu.shares", "512");
	assert_key(&c, "lxc.cgroup.cpu.cfs_quota_us", "50000");
	assert_key(&c, "lxc.cgroup.cpu.cfs_period_us", "100000");
	assert_key(&c, "lxc.cgroup.cpuset.cpus", "0");
	assert_key(&c, "lxc.cgroup.pids.max", "100");
	assert_key(&c, "lxc.cgroup.devices.deny", "a");
	/* runc's defaults follow the spec's rules: /dev/null and friends stay usable. */
	{
		_cleanup_free_ char *allow = values(&c, "lxc.cgroup.devices.allow");

		assert_non_null(strstr(allow, "c 1:3 rwm"));
		assert_non_null(strstr(allow, "c 136:* rwm"));
	}
	assert_key(&c, "lxc.seccomp.profile", NULL);
	crib_lxc_conf_clear(&c);
	json_decref(spec);
}

static void test_host_namespaces_and_v2(void **state)
{
	json_t *spec = load("{'process':{'args':['/pause'],'user':{'uid':0,'gid':0},"
	                    "'capabilities':{'bounding':[]},'terminal':true},"
	                    "'root':{'path':'/r'},'hostname':'web',"
	                    "'linux':{'namespaces':[{'type':'uts'},{'type':'mount'},"
	                    "{'type':'network'}],'resources':{'memory':{'limit':1000,'swap':3000},"
	                    "'cpu':{'shares':1024,'quota':-1,'period':100000}}}}");
	struct crib_lxc_conf_in in = in_v1;
	struct crib_lxc_conf c;
	_cleanup_free_ char *err = NULL;

	(void)state;
	in.cgroups = CRIB_LXC_CGROUP_V2;
	in.seccomp_file = "/l/seccomp";
	assert_int_equal(crib_lxc_conf_from_oci(spec, &in, &c, &err), 0);
	assert_true(c.terminal);
	assert_key(&c, "lxc.cap.keep", "none");
	/* No ipc or pid namespace in the spec: the host's, by not being made. */
	assert_key(&c, "lxc.namespace.clone", "net uts mnt cgroup");
	/* A new network namespace gets lo up, as the runtime spec's does. */
	assert_key(&c, "lxc.net.0.type", "empty");
	assert_key(&c, "lxc.net.0.flags", "up");
	assert_key(&c, "lxc.uts.name", "web");
	assert_key(&c, "lxc.mount.auto", NULL);
	assert_key(&c, "lxc.cgroup2.memory.max", "1000");
	assert_key(&c, "lxc.cgroup2.memory.swap.max", "2000");
	/* runc's and crun's shares-to-weight conversion. */
	assert_key(&c, "lxc.cgroup2.cpu.weight", "39");
	assert_key(&c, "lxc.cgroup2.cpu.max", "max 100000");
	assert_key(&c, "lxc.cgroup.dir.container", NULL);
	assert_key(&c, "lxc.seccomp.profile", "/l/seccomp");
	assert_key(&c, "lxc.seccomp.allow_nesting", "1");
	crib_lxc_conf_clear(&c);
	json_decref(spec);
}

/* A system class: /sbin/init whatever process.args says, and the class's root filesystem. */
static void test_system_container(void **state)
{
	json_t *spec = load(APP_SPEC);
	struct crib_lxc_conf_in in = in_v1;
	struct crib_lxc_conf c;
	_cleanup_free_ char *err = NULL;

	(void)state;
	in.system = true;
	in.rootfs = "overlay:/srv/sys:/l/delta0";
	assert_int_equal(crib_lxc_conf_from_oci(spec, &in, &c, &err), 0);
	assert_string_equal(c.argv[0], "/sbin/init");
	assert_null(c.argv[1]);
	assert_key(&c, "lxc.signal.halt", "SIGPWR");
	assert_key(&c, "lxc.rootfs.path", "overlay:/srv/sys:/l/delta0");
	assert_key(&c, "lxc.rootfs.managed", "0");
	/* The rest of the spec still applies. */
	assert_key(&c, "lxc.init.cwd", "/work");
	assert_key(&c, "lxc.environment", "PATH=/bin|FOO=bar");
	crib_lxc_conf_clear(&c);
	/* Not a system class: the spec's command and snapshot, no halt signal. */
	assert_int_equal(crib_lxc_conf_from_oci(spec, &in_v1, &c, &err), 0);
	assert_string_equal(c.argv[0], "sh");
	assert_key(&c, "lxc.signal.halt", NULL);
	assert_key(&c, "lxc.rootfs.path", "dir:/b/rootfs");
	crib_lxc_conf_clear(&c);
	json_decref(spec);
}

/*
 * In the pod's user namespace (crib-lxc --idmap): LXC joins it and learns the
 * mappings; binds are placeholders the start-host hook mounts over; the
 * network namespace, the host root's, gets the host's /sys.
 */
static void test_user_namespace(void **state)
{
	json_t *spec = load(APP_SPEC), *linux_, *nss;
	struct crib_lxc_conf_in in = in_v1;
	struct crib_lxc_conf c;
	_cleanup_free_ char *err = NULL, *mounts = NULL;
	json_t *map = load("[{'containerID':0,'hostID':100000,'size':65536}]");
	json_t *plain = load("{'linux':{'namespaces':[{'type':'pid'}]}}");

	(void)state;
	linux_ = json_object_get(spec, "linux");
	nss = json_object_get(linux_, "namespaces");
	/* As crib_lxc_idmap_spec leaves it: crib-lxc joins the network namespace itself. */
	json_array_remove(nss, 0);
	json_array_append_new(nss, load("{'type':'user','path':'/proc/7/ns/user'}"));
	json_object_set(linux_, "uidMappings", map);
	json_object_set(linux_, "gidMappings", map);
	assert_true(crib_lxc_has_user_ns(spec));
	assert_false(crib_lxc_has_user_ns(plain));
	/* Without placeholders the binds cannot be made: refused by name. */
	assert_int_equal(crib_lxc_conf_from_oci(spec, &in, &c, &err), -EINVAL);
	assert_non_null(strstr(err, "mounts[6]: a bind in a user namespace needs placeholders"));
	crib_lxc_conf_clear(&c);
	free(err);
	err = NULL;
	in.placeholders = "/l/mnt";
	assert_int_equal(crib_lxc_conf_from_oci(spec, &in, &c, &err), 0);
	assert_key(&c, "lxc.namespace.share.user", "/proc/7/ns/user");
	assert_key(&c, "lxc.namespace.share.net", NULL);
	assert_key(&c, "lxc.idmap", "u 0 100000 65536|g 0 100000 65536");
	assert_key(&c, "lxc.mount.auto", "proc:rw cgroup:ro");
	mounts = values(&c, "lxc.mount.entry");
	assert_non_null(
	    strstr(mounts, "/sys sys none rbind,ro,nosuid,nodev,noexec,create=dir 0 0"));
	assert_non_null(strstr(mounts, "/l/mnt/file etc/hosts none bind,create=file 0 0"));
	assert_non_null(strstr(mounts, "/l/mnt/dir data none bind,create=dir 0 0"));
	assert_null(strstr(mounts, bind_dir));
	crib_lxc_conf_clear(&c);
	json_decref(plain);
	json_decref(map);
	json_decref(spec);
}

static void test_update_resources(void **state)
{
	json_t *res = load("{'memory':{'limit':2000000},'cpu':{'shares':100,'quota':20000}}");
	struct crib_lxc_conf c;
	_cleanup_free_ char *err = NULL;

	(void)state;
	assert_int_equal(crib_lxc_resources(res, CRIB_LXC_CGROUP_V1, &c, &err), 0);
	/* Cgroup file names, for liblxc's set_cgroup_item on the running container. */
	assert_key(&c, "memory.limit_in_bytes", "2000000");
	assert_key(&c, "cpu.shares", "100");
	assert_key(&c, "cpu.cfs_quota_us", "20000");
	assert_key(&c, "devices.deny", NULL);
	crib_lxc_conf_clear(&c);
	json_decref(res);
}

/* Each spec is refused with a message holding the field's name. */
static void test_refused(void **state)
{
	static const struct {
		const char *spec, *field;
	} cases[] = {
	    {"[]", "config.json"},
	    {"{'process':{'args':['x']},'root':{'path':'/r'}}", "linux"},
	    {"{'process':{'args':[]},'root':{'path':'/r'},'linux':{}}", "process.args"},
	    {"{'process':{'args':['x'],'env':['NOEQUALS']},'root':{'path':'/r'},'linux':{}}",
	     "process.env[0]"},
	    {"{'process':{'args':['x']},'root':{},'linux':{}}", "root.path"},
	    {"{'process':{'args':['x'],'capabilities':{'bounding':['chown']}},'root':{'path':'/"
	     "r'},'linux':{}}",
	     "process.capabilities.bounding[0]"},
	    {"{'process':{'args':['x']},'root':{'path':'/r'},'linux':{'namespaces':[{'type':'"
	     "mount','path':'/proc/1/ns/mnt'}]}}",
	     "linux.namespaces[0]"},
	    {"{'process':{'args':['x']},'root':{'path':'/r'},'linux':{'namespaces':[{'type':'"
	     "time'},{'type':'mount'}]}}",
	     "linux.namespaces[0].type"},
	    {"{'process':{'args':['x']},'root':{'path':'/r'},'linux':{'namespaces':[]}}",
	     "mount namespace"},
	    {"{'process':{'args':['x']},'root':{'path':'/r'},'hostname':'h','linux':{'namespaces':"
	     "[{'type':'mount'},{'type':'uts','path':'/proc/1/ns/uts'}]}}",
	     "hostname"},
	    {"{'process':{'args':['x']},'root':{'path':'/r'},'mounts':[{'destination':'rel'}],"
	     "'linux':{'namespaces':[{'type':'mount'}]}}",
	     "mounts[0].destination"},
	    {"{'process':{'args':['x']},'root':{'path':'/r'},'mounts':[{'type':'bind','"
	     "destination':'/a','source':'/nonexistent/crib'}],'linux':{'namespaces':[{'type':'"
	     "mount'}]}}",
	     "mounts[0].source"},
	    {"{'process':{'args':['x']},'root':{'path':'/r'},'mounts':[{'type':'tmpfs','"
	     "destination':'/a b'}],'linux':{'namespaces':[{'type':'mount'}]}}",
	     "mounts[0]"},
	    {"{'process':{'args':['x']},'root':{'path':'/r'},'linux':{'namespaces':[{'type':'"
	     "mount'}],'resources':{'memory':{'limit':'big'}}}}",
	     "linux.resources.memory.limit"},
	    {"{'process':{'args':['x']},'root':{'path':'/r'},'linux':{'namespaces':[{'type':'"
	     "mount'}],'cgroupsPath':'/a/../b'}}",
	     "linux.cgroupsPath"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *spec = load(cases[i].spec);
		struct crib_lxc_conf c;
		char *err = NULL;

		assert_int_equal(crib_lxc_conf_from_oci(spec, &in_v1, &c, &err), -EINVAL);
		if (!err || !strstr(err, cases[i].field))
			fail_msg("case %zu: want a message naming '%s', got '%s'", i,
			         cases[i].field, err ? err : "(none)");
		assert_int_equal(c.n, 0);
		free(err);
		json_decref(spec);
	}
}

static int setup(void **state)
{
	FILE *f;

	(void)state;
	if (!mkdtemp(bind_dir))
		return -1;
	snprintf(bind_file, sizeof(bind_file), "%s/hosts", bind_dir);
	f = fopen(bind_file, "w");
	if (!f)
		return -1;
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(bind_file);
	rmdir(bind_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_app_container),    cmocka_unit_test(test_host_namespaces_and_v2),
	    cmocka_unit_test(test_system_container), cmocka_unit_test(test_update_resources),
	    cmocka_unit_test(test_refused),          cmocka_unit_test(test_user_namespace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
