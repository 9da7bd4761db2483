/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The oci backend's config.json generation (backends/oci/spec.c, seccomp.c,
 * user.c): CRI configs built in memory, root filesystems and host paths made
 * in a temporary directory, and every value that matters checked exactly
 * against JSON written out in the test.  Host features (AppArmor, SELinux,
 * cgroup v2) are fixed by the test, not probed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crib/backend.h>

#include "error.h"
#include "backend_check.h"
#include "cri_fixture.h"
#include "fake_host.h"
#include "seccomp_profile.h"
#include "spec.h"
#include "user.h"
#include "util.h"

#define PAUSE_ROOT "/usr/lib/crib/pause-root"
#define SANDBOX_ID "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"

static const struct crib_host host = FAKE_HOST_INIT("oci");

/* ---- seccomp profile checks ---- */

static bool strv_json_has(json_t *a, const char *s)
{
	json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
	{
		if (streq(json_string_value(e), s))
			return true;
	}
	return false;
}

/* The first rule of PROFILE that names NAME, or NULL. */
static json_t *seccomp_rule(json_t *profile, const char *name)
{
	json_t *rule;
	size_t i;

	json_array_foreach(json_object_get(profile, "syscalls"), i, rule)
	{
		if (strv_json_has(json_object_get(rule, "names"), name))
			return rule;
	}
	return NULL;
}

/* Whether PROFILE has a rule allowing NAME with no argument filter. */
static bool seccomp_allows(json_t *profile, const char *name)
{
	json_t *rule;
	size_t i;

	json_array_foreach(json_object_get(profile, "syscalls"), i, rule)
	{
		if (strv_json_has(json_object_get(rule, "names"), name) &&
		    streq(json_string_value(json_object_get(rule, "action")), "SCMP_ACT_ALLOW") &&
		    !json_object_get(rule, "args"))
			return true;
	}
	return false;
}

/* ---- the fixture: a pod, a container, a root filesystem ---- */

struct fixture {
	char dir[64];
	char base[PATH_MAX]; /* dir, symbolic links resolved */
	char rootfs[PATH_MAX + 16];
	Runtime__V1__PodSandboxConfig pod;
	Runtime__V1__PodSandboxMetadata pod_md;
	Runtime__V1__LinuxPodSandboxConfig pod_linux;
	Runtime__V1__LinuxSandboxSecurityContext pod_sc;
	Runtime__V1__NamespaceOption pod_ns;
	Runtime__V1__ContainerConfig cfg;
	Runtime__V1__ContainerMetadata md;
	Runtime__V1__ImageSpec image;
	Runtime__V1__LinuxContainerConfig linux;
	Runtime__V1__LinuxContainerSecurityContext sc;
	Runtime__V1__NamespaceOption ns;
	Runtime__V1__LinuxContainerResources res;
	struct oci_host_features features;
	struct oci_container_input in;
	struct oci_sandbox_input sin;
	struct crib_error *err;
};

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "daemon:x:1:1::/:/sbin/nologin\n"
                             "broken line\n"
                             "bad:x:notanumber:1::/:\n"
                             "app:x:1000:1000:App:/home/app:/bin/sh\n"
                             "svc:x:1001:1001::/:/bin/sh";
static const char group[] = "root:x:0:root\n"
                            "bin:x:1:root,daemon\n"
                            "wheel:x:10:root,app\n"
                            "app:x:1000:\n"
                            "staff:x:50:\n"
                            "audio:x:29:svc,app\n";

static void write_file(const char *dir, const char *name, const char *content)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);
	FILE *fp;

	assert_int_equal(crib_mkdir_p(dir, 0755), 0);
	fp = fopen(path, "we");
	assert_non_null(fp);
	assert_int_equal(fputs(content, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* DIR/NAME below the fixture, created as a directory; the path is the fixture's. */
static const char *mkdir_in(struct fixture *f, const char *name)
{
	static char path[2 * PATH_MAX];

	(void)snprintf(path, sizeof(path), "%s/%s", f->base, name);
	assert_int_equal(crib_mkdir_p(path, 0755), 0);
	return path;
}

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));
	_cleanup_free_ char *etc = NULL;

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/crib-spec-XXXXXX");
	if (!mkdtemp(f->dir) || !realpath(f->dir, f->base))
		return -1;
	(void)snprintf(f->rootfs, sizeof(f->rootfs), "%s/rootfs", f->base);
	etc = crib_xasprintf("%s/etc", f->rootfs);
	write_file(etc, "passwd", passwd);
	write_file(etc, "group", group);

	cri_fixture_pod(&f->pod, &f->pod_md, &f->pod_linux, &f->pod_sc, &f->pod_ns);
	f->pod.log_directory = "/var/log/pods/default_web_uid-1";
	cri_fixture_container(&f->cfg, &f->md, &f->linux, &f->sc, &f->ns, &f->res);
	f->image = (Runtime__V1__ImageSpec)RUNTIME__V1__IMAGE_SPEC__INIT;
	f->image.image = "docker.io/library/busybox:latest";
	f->cfg.image = &f->image;

	f->features = (struct oci_host_features){.cgroup2 = true, .cap_last_cap = 40};
	f->in = (struct oci_container_input){
	    .config = &f->cfg,
	    .pod = &f->pod,
	    .sandbox_id = SANDBOX_ID,
	    .image_config = "{\"config\": {\"Cmd\": [\"sh\"]}}",
	    .rootfs = f->rootfs,
	    .cgroups_path = "/kubepods/pod1/ctr",
	    .ns = {.net = "/proc/4242/ns/net",
	           .uts = "/proc/4242/ns/uts",
	           .ipc = "/proc/4242/ns/ipc",
	           .pid = "/proc/4242/ns/pid"},
	    .features = &f->features,
	};
	f->sin = (struct oci_sandbox_input){
	    .pod = &f->pod,
	    .sandbox_id = SANDBOX_ID,
	    .rootfs = PAUSE_ROOT,
	    .netns_path = "/var/run/netns/cni-1",
	    .cgroups_path = "/kubepods/pod1/sandbox",
	    .own_oom_score_adj = -999,
	    .features = &f->features,
	};
	*state = f;
	return 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	(void)nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	crib_error_free(f->err);
	free(f);
	return 0;
}

/* The container's spec, which must build. */
static json_t *build(struct fixture *f)
{
	json_t *spec = NULL;
	int r = oci_spec_container(&host, &f->in, &spec, &f->err);

	if (r < 0)
		fail_msg("oci_spec_container: %d %s", r, crib_error_msg(f->err));
	assert_non_null(spec);
	return spec;
}

static json_t *build_sandbox(struct fixture *f)
{
	json_t *spec = NULL;
	int r = oci_spec_sandbox(&host, &f->sin, &spec, &f->err);

	if (r < 0)
		fail_msg("oci_spec_sandbox: %d %s", r, crib_error_msg(f->err));
	assert_non_null(spec);
	return spec;
}

/* The container's spec must fail with ERRNUM and a message containing NEEDLE. */
static void build_fails(struct fixture *f, int errnum, const char *needle)
{
	json_t *spec = NULL;
	int r = oci_spec_container(&host, &f->in, &spec, &f->err);

	assert_null(spec);
	check_error(r, &f->err, errnum, needle);
}

static void sandbox_fails(struct fixture *f, int errnum, const char *needle)
{
	json_t *spec = NULL;
	int r = oci_spec_sandbox(&host, &f->sin, &spec, &f->err);

	assert_null(spec);
	check_error(r, &f->err, errnum, needle);
}

/* ---- process ---- */

static char *root_json(const struct fixture *f, bool readonly)
{
	return crib_xasprintf("{'path': '%s', 'readonly': %s}", f->rootfs,
	                      readonly ? "true" : "false");
}

static void test_root_and_terminal(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *rw = root_json(f, false), *ro = root_json(f, true);
	_cleanup_(json_decrefp) json_t *a = build(f);
	_cleanup_(json_decrefp) json_t *b = NULL;

	CHECK(a, "'1.0.2'", "ociVersion");
	CHECK(a, rw, "root");
	CHECK(a, "false", "process", "terminal");
	CHECK(a, "false", "process", "noNewPrivileges");
	CHECK(a, "'/kubepods/pod1/ctr'", "linux", "cgroupsPath");
	CHECK(a, "absent", "hostname"); /* the UTS namespace is joined */
	f->sc.readonly_rootfs = true;
	f->sc.no_new_privs = true;
	f->cfg.tty = true;
	b = build(f);
	CHECK(b, ro, "root");
	CHECK(b, "true", "process", "terminal");
	CHECK(b, "true", "process", "noNewPrivileges");
}

static void test_args(void **state)
{
	struct fixture *f = *state;
	char *cmd[] = {"/bin/app", "serve"};
	char *args[] = {"--port", "80"};
	json_t *spec;

	f->in.image_config = "{\"config\": {\"Entrypoint\": [\"/ep\", \"-x\"], \"Cmd\": [\"c1\"]}}";
	/* Neither: Entrypoint + Cmd. */
	spec = build(f);
	CHECK(spec, "['/ep', '-x', 'c1']", "process", "args");
	json_decref(spec);
	/* args alone replace Cmd. */
	f->cfg.args = args;
	f->cfg.n_args = 2;
	spec = build(f);
	CHECK(spec, "['/ep', '-x', '--port', '80']", "process", "args");
	json_decref(spec);
	/* command and args: the image's are ignored. */
	f->cfg.command = cmd;
	f->cfg.n_command = 2;
	spec = build(f);
	CHECK(spec, "['/bin/app', 'serve', '--port', '80']", "process", "args");
	json_decref(spec);
	/* command alone drops the Cmd too. */
	f->cfg.n_args = 0;
	spec = build(f);
	CHECK(spec, "['/bin/app', 'serve']", "process", "args");
	json_decref(spec);
	/* Nothing at all to run. */
	f->cfg.n_command = 0;
	f->in.image_config = "{\"config\": {\"Entrypoint\": null}}";
	build_fails(f, EINVAL, "ContainerConfig.command");
	f->in.image_config = NULL;
	build_fails(f, EINVAL, "ContainerConfig.command");
}

static void test_image_config_errors(void **state)
{
	struct fixture *f = *state;

	f->in.image_config = "{\"config\": ";
	build_fails(f, EINVAL, "Image config: invalid JSON at 1:");
	f->in.image_config = "{\"config\": {\"Cmd\": \"sh\"}}";
	build_fails(f, EINVAL, "Image config Cmd: not an array");
	f->in.image_config = "{\"config\": {\"Env\": [1]}}";
	build_fails(f, EINVAL, "Image config Env[0]: not a string");
	f->in.image_config = "[]";
	build_fails(f, EINVAL, "not a JSON object");
}

static void test_env(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__KeyValue kv[3] = {RUNTIME__V1__KEY_VALUE__INIT, RUNTIME__V1__KEY_VALUE__INIT,
	                               RUNTIME__V1__KEY_VALUE__INIT};
	Runtime__V1__KeyValue *envs[] = {&kv[0], &kv[1], &kv[2]};
	json_t *spec;

	kv[0].key = "A";
	kv[0].value = (ProtobufCBinaryData){1, (uint8_t *)"x"};
	kv[1].key = "C";
	kv[1].value = (ProtobufCBinaryData){3, (uint8_t *)"y=z"};
	kv[2].key = "EMPTY";
	f->cfg.envs = envs;
	f->cfg.n_envs = 3;
	f->in.image_config =
	    "{\"config\": {\"Cmd\": [\"sh\"], \"Env\": [\"PATH=/img/bin\", \"A=1\", \"B=2\"]}}";
	spec = build(f);
	CHECK(spec, "['PATH=/img/bin', 'HOSTNAME=pod-host', 'A=x', 'B=2', 'C=y=z', 'EMPTY=']",
	      "process", "env");
	json_decref(spec);
	/* No PATH in the image: the default; a CRI PATH replaces it in place. */
	f->in.image_config = "{\"config\": {\"Cmd\": [\"sh\"]}}";
	kv[2].key = "PATH";
	kv[2].value = (ProtobufCBinaryData){4, (uint8_t *)"/bin"};
	spec = build(f);
	CHECK(spec, "['PATH=/bin', 'HOSTNAME=pod-host', 'A=x', 'C=y=z']", "process", "env");
	json_decref(spec);
	f->cfg.n_envs = 1;
	spec = build(f);
	CHECK(spec,
	      "['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', "
	      "'HOSTNAME=pod-host', 'A=x']",
	      "process", "env");
	json_decref(spec);
	/* Bad names and values. */
	kv[0].key = "A=B";
	build_fails(f, EINVAL, "ContainerConfig.envs[0].key 'A=B'");
	kv[0].key = "A";
	kv[0].value = (ProtobufCBinaryData){3, (uint8_t *)"a\0b"};
	build_fails(f, EINVAL, "holds a NUL byte");
	kv[0].value = (ProtobufCBinaryData){2, (uint8_t *)"\xc3\x28"};
	build_fails(f, EINVAL, "ContainerConfig.envs[0] 'A': not valid UTF-8");
}

static void test_cwd(void **state)
{
	struct fixture *f = *state;
	json_t *spec;

	spec = build(f);
	CHECK(spec, "'/'", "process", "cwd");
	json_decref(spec);
	f->in.image_config = "{\"config\": {\"Cmd\": [\"sh\"], \"WorkingDir\": \"srv\"}}";
	spec = build(f);
	CHECK(spec, "'/srv'", "process", "cwd");
	json_decref(spec);
	f->cfg.working_dir = "/work";
	spec = build(f);
	CHECK(spec, "'/work'", "process", "cwd");
	json_decref(spec);
	f->cfg.working_dir = "work";
	build_fails(f, EINVAL, "ContainerConfig.working_dir 'work': not absolute");
}

/* ---- user ---- */

static void check_user(struct fixture *f, const char *expected)
{
	_cleanup_(json_decrefp) json_t *spec = build(f);

	CHECK(spec, expected, "process", "user");
}

static void set_image_user(struct fixture *f, const char *user)
{
	static char buf[256];

	(void)snprintf(buf, sizeof(buf), "{\"config\": {\"Cmd\": [\"sh\"], \"User\": \"%s\"}}",
	               user);
	f->in.image_config = buf;
}

static void test_user_image(void **state)
{
	struct fixture *f = *state;

	/* Root by default, with the groups that list root. */
	check_user(f, "{'uid': 0, 'gid': 0, 'additionalGids': [0, 1, 10]}");
	set_image_user(f, "app");
	check_user(f, "{'uid': 1000, 'gid': 1000, 'additionalGids': [1000, 10, 29]}");
	set_image_user(f, "app:staff");
	check_user(f, "{'uid': 1000, 'gid': 50, 'additionalGids': [50, 10, 29]}");
	/* A known uid still brings its name's groups. */
	set_image_user(f, "1000:2000");
	check_user(f, "{'uid': 1000, 'gid': 2000, 'additionalGids': [2000, 10, 29]}");
	set_image_user(f, "1001");
	check_user(f, "{'uid': 1001, 'gid': 1001, 'additionalGids': [1001, 29]}");
	/* An unknown uid runs with gid 0. */
	set_image_user(f, "4242");
	check_user(f, "{'uid': 4242, 'gid': 0, 'additionalGids': [0]}");
	set_image_user(f, "4242:app");
	check_user(f, "{'uid': 4242, 'gid': 1000, 'additionalGids': [1000]}");
	set_image_user(f, "nobody");
	build_fails(f, EINVAL,
	            "Image config User 'nobody': no such user in the image's /etc/passwd");
	set_image_user(f, "app:nogroup");
	build_fails(f, EINVAL, "'app:nogroup': no such group in the image's /etc/group");
	set_image_user(f, ":1");
	build_fails(f, EINVAL, "not a user, uid, user:group or uid:gid");
	set_image_user(f, "4294967295");
	build_fails(f, EINVAL, "no such user");
}

static void test_user_cri(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Int64Value user = RUNTIME__V1__INT64_VALUE__INIT;
	Runtime__V1__Int64Value grp = RUNTIME__V1__INT64_VALUE__INIT;
	int64_t supplemental[] = {5000, 29};

	set_image_user(f, "app");
	user.value = 1001;
	f->sc.run_as_user = &user;
	check_user(f, "{'uid': 1001, 'gid': 1001, 'additionalGids': [1001, 29]}");
	grp.value = 3000;
	f->sc.run_as_group = &grp;
	f->sc.supplemental_groups = supplemental;
	f->sc.n_supplemental_groups = 2;
	check_user(f, "{'uid': 1001, 'gid': 3000, 'additionalGids': [3000, 29, 5000]}");
	/* Strict: no groups from the image. */
	f->sc.supplemental_groups_policy = RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Strict;
	check_user(f, "{'uid': 1001, 'gid': 3000, 'additionalGids': [3000, 5000, 29]}");
	f->sc.supplemental_groups_policy = RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Merge;
	f->sc.run_as_user = NULL;
	f->sc.run_as_username = "svc";
	check_user(f, "{'uid': 1001, 'gid': 3000, 'additionalGids': [3000, 29, 5000]}");
	f->sc.run_as_username = "ghost";
	build_fails(f, EINVAL,
	            "ContainerConfig.linux.security_context.run_as_username 'ghost': no such user");
	f->sc.run_as_username = "";
	build_fails(f, EINVAL, "run_as_group: set without run_as_user");
	f->sc.run_as_group = NULL;
	user.value = -1;
	f->sc.run_as_user = &user;
	build_fails(f, EINVAL, "run_as_user -1: not a valid id");
	user.value = 0;
	supplemental[0] = -5;
	build_fails(f, EINVAL, "supplemental_groups -5: not a valid id");
}

static void make_symlink(const char *target, const char *dir, const char *name)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);

	assert_int_equal(crib_mkdir_p(dir, 0755), 0);
	assert_int_equal(symlink(target, path), 0);
}

/* /etc/passwd as a symbolic link that points out of the root resolves inside it. */
static void test_user_symlink_confined(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *root2 = crib_xasprintf("%s/root2", f->base);
	_cleanup_free_ char *etc2 = crib_xasprintf("%s/etc", root2);
	_cleanup_free_ char *root3 = crib_xasprintf("%s/root3", f->base);
	_cleanup_free_ char *etc3 = crib_xasprintf("%s/etc", root3);
	_cleanup_free_ char *passwd3 = crib_xasprintf("%s/passwd", etc3);
	_cleanup_free_ char *outside3 = crib_xasprintf("%s/outside", root3);

	/* Absolute: the root's own /etc/shadow-outside-root, never the host's. */
	make_symlink("/etc/shadow-outside-root", etc2, "passwd");
	write_file(etc2, "shadow-outside-root", "app:x:7:7::/:/bin/sh\n");
	f->in.rootfs = root2;
	set_image_user(f, "app");
	check_user(f, "{'uid': 7, 'gid': 7, 'additionalGids': [7]}");
	/* Relative, climbing above the root: stops at the root. */
	write_file(mkdir_in(f, "outside"), "passwd", "app:x:666:666::/:/bin/sh\n");
	make_symlink("../../outside/passwd", etc3, "passwd");
	write_file(outside3, "passwd", "app:x:8:8::/:/bin/sh\n");
	f->in.rootfs = root3;
	check_user(f, "{'uid': 8, 'gid': 8, 'additionalGids': [8]}");
	/* Nor through the host's /proc: the host's root would be known. */
	assert_int_equal(unlink(passwd3), 0);
	make_symlink("/proc/self/root/etc/passwd", etc3, "passwd");
	set_image_user(f, "root");
	build_fails(f, EINVAL, "Image config User 'root': no such user");
}

static void test_user_files_refused(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *etc = crib_xasprintf("%s/etc", f->rootfs);
	_cleanup_free_ char *path = crib_xasprintf("%s/passwd", etc);
	_cleanup_free_ char *big = crib_xmalloc(OCI_USER_FILE_MAX + 2);

	/* A FIFO must neither be read nor block. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	set_image_user(f, "app");
	build_fails(f, EINVAL, "The image's /etc/passwd is not a regular file");
	assert_int_equal(unlink(path), 0);
	memset(big, '#', OCI_USER_FILE_MAX + 1);
	big[OCI_USER_FILE_MAX + 1] = '\0';
	write_file(etc, "passwd", big);
	build_fails(f, E2BIG, "The image's /etc/passwd is larger than");
	/* No /etc/passwd: root works (without its groups, being nameless), names do not. */
	assert_int_equal(unlink(path), 0);
	set_image_user(f, "");
	check_user(f, "{'uid': 0, 'gid': 0, 'additionalGids': [0]}");
	set_image_user(f, "app");
	build_fails(f, EINVAL, "no such user");
}

/* ---- capabilities ---- */

#define DEFAULT_CAPS                                                                               \
	"'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', "  \
	"'CAP_SETUID', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', "   \
	"'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP'"

static void check_caps(struct fixture *f, const char *set, const char *eff, const char *ambient)
{
	_cleanup_(json_decrefp) json_t *spec = build(f);

	CHECK(spec, set, "process", "capabilities", "bounding");
	CHECK(spec, eff, "process", "capabilities", "effective");
	CHECK(spec, eff, "process", "capabilities", "permitted");
	CHECK(spec, ambient, "process", "capabilities", "inheritable");
	CHECK(spec, ambient, "process", "capabilities", "ambient");
}

static void test_caps(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Capability cap = RUNTIME__V1__CAPABILITY__INIT;
	char *add[] = {"NET_ADMIN", "cap_sys_time", "CHOWN"};
	char *drop[] = {"CHOWN", "CAP_KILL"};
	char *all[] = {"ALL"};
	char *ambient[] = {"NET_BIND_SERVICE"};
	char *bad[] = {"NET_ADMINISTRATOR"};

	check_caps(f, "[" DEFAULT_CAPS "]", "[" DEFAULT_CAPS "]", "[]");
	f->sc.capabilities = &cap;
	check_caps(f, "[" DEFAULT_CAPS "]", "[" DEFAULT_CAPS "]", "[]");
	/* A drop wins over an add of the same. */
	cap.add_capabilities = add;
	cap.n_add_capabilities = 3;
	cap.drop_capabilities = drop;
	cap.n_drop_capabilities = 2;
	check_caps(
	    f,
	    "['CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_SETGID', 'CAP_SETUID', "
	    "'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_ADMIN', 'CAP_NET_RAW', "
	    "'CAP_SYS_CHROOT', 'CAP_SYS_TIME', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP']",
	    "['CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_SETGID', 'CAP_SETUID', "
	    "'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_ADMIN', 'CAP_NET_RAW', "
	    "'CAP_SYS_CHROOT', 'CAP_SYS_TIME', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP']",
	    "[]");
	/* drop ALL, then single adds. */
	cap.drop_capabilities = all;
	cap.n_drop_capabilities = 1;
	check_caps(f, "['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_TIME']",
	           "['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_TIME']", "[]");
	/* add ALL up to the kernel's last capability, then single drops. */
	cap.add_capabilities = all;
	cap.n_add_capabilities = 1;
	cap.drop_capabilities = drop;
	cap.n_drop_capabilities = 2;
	f->features.cap_last_cap = 8; /* CAP_SETPCAP */
	check_caps(f,
	           "['CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', "
	           "'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP']",
	           "['CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', "
	           "'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP']",
	           "[]");
	/* Ambient capabilities join every set. */
	cap.n_add_capabilities = 0;
	cap.drop_capabilities = all;
	cap.n_drop_capabilities = 1;
	cap.add_ambient_capabilities = ambient;
	cap.n_add_ambient_capabilities = 1;
	check_caps(f, "['CAP_NET_BIND_SERVICE']", "['CAP_NET_BIND_SERVICE']",
	           "['CAP_NET_BIND_SERVICE']");
	/* A non-root user keeps only the ambient ones effective. */
	set_image_user(f, "app");
	cap.n_drop_capabilities = 0;
	check_caps(f, "[" DEFAULT_CAPS "]", "['CAP_NET_BIND_SERVICE']", "['CAP_NET_BIND_SERVICE']");
	cap.n_add_ambient_capabilities = 0;
	check_caps(f, "[" DEFAULT_CAPS "]", "[]", "[]");
	cap.add_capabilities = bad;
	cap.n_add_capabilities = 1;
	build_fails(f, EINVAL,
	            "ContainerConfig.linux.security_context.capabilities.add_capabilities[0] "
	            "'NET_ADMINISTRATOR': unknown capability");
}

static void test_privileged(void **state)
{
	struct fixture *f = *state;
	_cleanup_(json_decrefp) json_t *spec = NULL;
	Runtime__V1__Capability cap = RUNTIME__V1__CAPABILITY__INIT;
	char *drop[] = {"ALL"};
	json_t *caps;

	f->sc.privileged = true;
	build_fails(f, EINVAL, "privileged: the pod is not privileged");
	f->pod_sc.privileged = true;
	cap.drop_capabilities = drop;
	cap.n_drop_capabilities = 1;
	f->sc.capabilities = &cap; /* no effect on a privileged container */
	spec = build(f);
	caps = json_path_get(spec, "process", "capabilities", "bounding", NULL);
	assert_int_equal(json_array_size(caps), 41);
	CHECK(spec, "'CAP_CHECKPOINT_RESTORE'", "process", "capabilities", "effective", "[40]");
	CHECK(spec, "absent", "linux", "maskedPaths");
	CHECK(spec, "absent", "linux", "readonlyPaths");
	CHECK(spec, "absent", "linux", "seccomp");
	CHECK(spec, "['nosuid', 'noexec', 'nodev', 'rw']", "mounts", "[destination=/sys]",
	      "options");
	CHECK(spec, "['nosuid', 'noexec', 'nodev', 'relatime', 'rw']", "mounts",
	      "[destination=/sys/fs/cgroup]", "options");
	CHECK(spec, "[{'allow': true, 'access': 'rwm'}]", "linux", "resources", "devices");
	CHECK(spec,
	      "{'path': '/dev/null', 'type': 'c', 'major': 1, 'minor': 3, 'fileMode': 438, "
	      "'uid': 0, 'gid': 0}",
	      "linux", "devices", "[path=/dev/null]");
	CHECK(spec, "absent", "linux", "devices", "[path=/dev/console]");
	/* No cgroup namespace: a privileged container sees the host's tree. */
	CHECK(spec, "absent", "linux", "namespaces", "[type=cgroup]");
}

/* ---- mounts ---- */

static void test_mounts(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Mount m[4] = {RUNTIME__V1__MOUNT__INIT, RUNTIME__V1__MOUNT__INIT,
	                           RUNTIME__V1__MOUNT__INIT, RUNTIME__V1__MOUNT__INIT};
	Runtime__V1__Mount *mounts[] = {&m[0], &m[1], &m[2], &m[3]};
	_cleanup_free_ char *data = crib_xstrdup(mkdir_in(f, "vol/data"));
	_cleanup_free_ char *logs = crib_xstrdup(mkdir_in(f, "vol/logs"));
	_cleanup_free_ char *link = crib_xasprintf("%s/vol/link", f->base);
	_cleanup_free_ char *want = NULL;
	_cleanup_(json_decrefp) json_t *spec = NULL;
	char *extra[] = {"noexec", "nosuid"};
	json_t *list;

	assert_int_equal(symlink(data, link), 0);
	m[0].container_path = "/data/logs/"; /* deeper: must come after /data */
	m[0].host_path = logs;
	m[0].propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER;
	m[0].readonly = true;
	m[1].container_path = "/data";
	m[1].host_path = link; /* mounted as its target */
	m[1].selinux_relabel = true;
	m[2].container_path = "/shared";
	m[2].host_path = data;
	m[2].propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL;
	m[2].mount_options = extra;
	m[2].n_mount_options = 2;
	m[3].container_path = "/dev/shm"; /* replaces the default tmpfs */
	m[3].host_path = data;
	m[3].recursive_read_only = true;
	m[3].readonly = true;
	f->cfg.mounts = mounts;
	f->cfg.n_mounts = 4;
	spec = build(f);
	list = json_path_get(spec, "mounts", NULL);
	CHECK(spec, "'/proc'", "mounts", "[0]", "destination");
	CHECK(spec,
	      "{'destination': '/proc', 'type': 'proc', 'source': 'proc', 'options': ['nosuid', "
	      "'noexec', 'nodev']}",
	      "mounts", "[0]");
	CHECK(spec,
	      "{'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['nosuid', "
	      "'strictatime', 'mode=755', 'size=65536k']}",
	      "mounts", "[1]");
	CHECK(spec,
	      "{'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts', 'options': "
	      "['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']}",
	      "mounts", "[2]");
	CHECK(spec,
	      "{'destination': '/dev/mqueue', 'type': 'mqueue', 'source': 'mqueue', 'options': "
	      "['nosuid', 'noexec', 'nodev']}",
	      "mounts", "[3]");
	CHECK(spec,
	      "{'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs', 'options': ['nosuid', "
	      "'noexec', 'nodev', 'ro']}",
	      "mounts", "[4]");
	CHECK(spec,
	      "{'destination': '/sys/fs/cgroup', 'type': 'cgroup', 'source': 'cgroup', 'options': "
	      "['nosuid', 'noexec', 'nodev', 'relatime', 'ro']}",
	      "mounts", "[5]");
	/* Then the CRI mounts, parents first, keeping their order otherwise. */
	want = crib_xasprintf("{'destination': '/data', 'type': 'bind', 'source': '%s', "
	                      "'options': ['rbind', 'rprivate', 'rw']}",
	                      data);
	CHECK(spec, want, "mounts", "[6]");
	free(want);
	want = crib_xasprintf("{'destination': '/shared', 'type': 'bind', 'source': '%s', "
	                      "'options': ['rbind', 'rshared', 'rw', 'noexec', 'nosuid']}",
	                      data);
	CHECK(spec, want, "mounts", "[7]");
	free(want);
	want = crib_xasprintf("{'destination': '/data/logs', 'type': 'bind', 'source': '%s', "
	                      "'options': ['rbind', 'rslave', 'ro']}",
	                      logs);
	CHECK(spec, want, "mounts", "[8]");
	free(want);
	want = crib_xasprintf("{'destination': '/dev/shm', 'type': 'bind', 'source': '%s', "
	                      "'options': ['rbind', 'rprivate', 'ro', 'rro']}",
	                      data);
	CHECK(spec, want, "mounts", "[9]");
	assert_int_equal(json_array_size(list), 10);
	CHECK(spec, "'rshared'", "linux", "rootfsPropagation");
}

static void test_mount_propagation_root(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Mount m = RUNTIME__V1__MOUNT__INIT;
	Runtime__V1__Mount *mounts[] = {&m};
	json_t *spec;

	m.container_path = "/x";
	m.host_path = f->base;
	f->cfg.mounts = mounts;
	f->cfg.n_mounts = 1;
	spec = build(f);
	CHECK(spec, "absent", "linux", "rootfsPropagation");
	json_decref(spec);
	m.propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER;
	spec = build(f);
	CHECK(spec, "'rslave'", "linux", "rootfsPropagation");
	json_decref(spec);
	m.propagation = 7;
	build_fails(f, EINVAL, "ContainerConfig.mounts[0].propagation 7: unknown");
}

static void test_mount_errors(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Mount m = RUNTIME__V1__MOUNT__INIT;
	Runtime__V1__Mount *mounts[] = {&m};
	Runtime__V1__ImageSpec image = RUNTIME__V1__IMAGE_SPEC__INIT;
	_cleanup_free_ char *missing = crib_xasprintf("%s/no/such/dir", f->base);
	_cleanup_free_ char *msg = NULL;

	f->cfg.mounts = mounts;
	f->cfg.n_mounts = 1;
	m.container_path = "/data";
	m.host_path = missing;
	msg = crib_xasprintf("ContainerConfig.mounts[0].host_path '%s' (for '/data'): No such file "
	                     "or directory",
	                     missing);
	build_fails(f, ENOENT, msg);
	m.host_path = f->base;
	m.container_path = "data";
	build_fails(f, EINVAL, "ContainerConfig.mounts[0].container_path 'data': not absolute");
	m.container_path = "/data";
	m.host_path = "";
	build_fails(f, EINVAL, "ContainerConfig.mounts[0].host_path: empty");
	m.image = &image;
	build_fails(f, ENOTSUP, "image volumes are not supported");
}

static void test_pod_files(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Mount m = RUNTIME__V1__MOUNT__INIT;
	Runtime__V1__Mount *mounts[] = {&m};
	_cleanup_free_ char *shm = crib_xstrdup(mkdir_in(f, "pod/shm"));
	_cleanup_free_ char *want = NULL;
	json_t *spec;

	f->in.files = (struct oci_pod_files){
	    .hostname = "/run/crib/pod/hostname",
	    .hosts = "/run/crib/pod/hosts",
	    .resolv_conf = "/run/crib/pod/resolv.conf",
	    .shm = shm,
	};
	spec = build(f);
	CHECK(
	    spec,
	    "{'destination': '/etc/hostname', 'type': 'bind', 'source': '/run/crib/pod/hostname', "
	    "'options': ['rbind', 'rprivate', 'rw']}",
	    "mounts", "[destination=/etc/hostname]");
	CHECK(spec, "'/run/crib/pod/hosts'", "mounts", "[destination=/etc/hosts]", "source");
	CHECK(spec, "'/run/crib/pod/resolv.conf'", "mounts", "[destination=/etc/resolv.conf]",
	      "source");
	want = crib_xasprintf("{'destination': '/dev/shm', 'type': 'bind', 'source': '%s', "
	                      "'options': ['rbind', 'rprivate', 'rw']}",
	                      shm);
	CHECK(spec, want, "mounts", "[destination=/dev/shm]");
	json_decref(spec);
	/* A read-only root makes the /etc files read-only too, not /dev/shm. */
	f->sc.readonly_rootfs = true;
	spec = build(f);
	CHECK(spec, "['rbind', 'rprivate', 'ro']", "mounts", "[destination=/etc/hosts]", "options");
	CHECK(spec, "['rbind', 'rprivate', 'rw']", "mounts", "[destination=/dev/shm]", "options");
	json_decref(spec);
	/* The container's own mount wins over the pod's file. */
	m.container_path = "/etc/resolv.conf";
	m.host_path = shm;
	f->cfg.mounts = mounts;
	f->cfg.n_mounts = 1;
	f->in.files.shm = NULL;
	spec = build(f);
	CHECK(spec, "'bind'", "mounts", "[destination=/etc/resolv.conf]", "type");
	CHECK(spec, "['rbind', 'rprivate', 'rw']", "mounts", "[destination=/etc/resolv.conf]",
	      "options");
	free(want);
	want = crib_xasprintf("'%s'", shm);
	CHECK(spec, want, "mounts", "[destination=/etc/resolv.conf]", "source");
	CHECK(spec, "'tmpfs'", "mounts", "[destination=/dev/shm]", "type");
	json_decref(spec);
}

/* ---- devices ---- */

static void test_devices(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Device d = RUNTIME__V1__DEVICE__INIT;
	Runtime__V1__Device *devices[] = {&d};
	_cleanup_free_ char *file = crib_xasprintf("%s/etc/passwd", f->rootfs);
	_cleanup_free_ char *msg = crib_xasprintf("host_path '%s': not a device", file);
	_cleanup_(json_decrefp) json_t *spec = NULL;

	spec = build(f);
	CHECK(spec, "[]", "linux", "devices");
	CHECK(spec, "[{'allow': false, 'access': 'rwm'}]", "linux", "resources", "devices");
	json_decref(TAKE_PTR(spec));
	d.host_path = "/dev/null";
	d.container_path = "/dev/xnull";
	d.permissions = "rw";
	f->cfg.devices = devices;
	f->cfg.n_devices = 1;
	spec = build(f);
	CHECK(
	    spec,
	    "[{'path': '/dev/xnull', 'type': 'c', 'major': 1, 'minor': 3, 'fileMode': 438, 'uid': "
	    "0, 'gid': 0}]",
	    "linux", "devices");
	CHECK(spec,
	      "[{'allow': false, 'access': 'rwm'}, {'allow': true, 'type': 'c', 'major': 1, "
	      "'minor': 3, 'access': 'rw'}]",
	      "linux", "resources", "devices");
	d.permissions = "rwx";
	build_fails(f, EINVAL, "ContainerConfig.devices[0].permissions 'rwx'");
	d.permissions = "";
	d.host_path = file;
	build_fails(f, EINVAL, msg);
	d.host_path = "/dev/no-such-device";
	build_fails(f, ENOENT, "'/dev/no-such-device': No such file or directory");
}

/* ---- namespaces ---- */

static void test_namespaces(void **state)
{
	struct fixture *f = *state;
	json_t *spec;

	spec = build(f);
	CHECK(spec,
	      "[{'type': 'network', 'path': '/proc/4242/ns/net'}, {'type': 'uts', 'path': "
	      "'/proc/4242/ns/uts'}, {'type': 'ipc', 'path': '/proc/4242/ns/ipc'}, {'type': 'pid', "
	      "'path': '/proc/4242/ns/pid'}, {'type': 'mount'}, {'type': 'cgroup'}]",
	      "linux", "namespaces");
	json_decref(spec);
	f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	f->features.cgroup2 = false;
	spec = build(f);
	CHECK(
	    spec,
	    "[{'type': 'network', 'path': '/proc/4242/ns/net'}, {'type': 'uts', 'path': "
	    "'/proc/4242/ns/uts'}, {'type': 'ipc', 'path': '/proc/4242/ns/ipc'}, {'type': 'pid'}, "
	    "{'type': 'mount'}]",
	    "linux", "namespaces");
	json_decref(spec);
	/* NODE: the host's namespaces, by leaving them out. */
	f->ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->ns.ipc = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__NODE;
	spec = build(f);
	CHECK(spec, "[{'type': 'mount'}]", "linux", "namespaces");
	json_decref(spec);
	f->ns.network = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__TARGET;
	build_fails(f, ENOTSUP, "namespace_options.pid TARGET");
	f->in.target_pid = 77;
	spec = build(f);
	CHECK(spec,
	      "[{'type': 'network', 'path': '/proc/4242/ns/net'}, {'type': 'uts', 'path': "
	      "'/proc/4242/ns/uts'}, {'type': 'pid', 'path': '/proc/77/ns/pid'}, {'type': "
	      "'mount'}]",
	      "linux", "namespaces");
	json_decref(spec);
	f->ns.network = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	build_fails(f, ENOTSUP, "namespace_options.network 1: only POD and NODE");
	f->ns.network = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->in.ns.net = NULL;
	build_fails(f, EINVAL, "No network namespace of the pod to join");
}

static void test_userns_refused(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__UserNamespace userns = RUNTIME__V1__USER_NAMESPACE__INIT;
	json_t *spec;

	f->ns.userns_options = &userns;
	userns.mode = RUNTIME__V1__NAMESPACE_MODE__NODE;
	spec = build(f);
	json_decref(spec);
	userns.mode = RUNTIME__V1__NAMESPACE_MODE__POD;
	build_fails(f, ENOTSUP, "user namespaces are not supported");
	f->pod_ns.userns_options = &userns;
	sandbox_fails(f, ENOTSUP,
	              "PodSandboxConfig.linux.security_context.namespace_options.userns");
}

/* ---- resources ---- */

static void test_resources(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__LinuxContainerResources r = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	Runtime__V1__HugepageLimit h[2] = {RUNTIME__V1__HUGEPAGE_LIMIT__INIT,
	                                   RUNTIME__V1__HUGEPAGE_LIMIT__INIT};
	Runtime__V1__HugepageLimit *hp[] = {&h[0], &h[1]};
	Runtime__V1__LinuxContainerResources__UnifiedEntry u[2] = {
	    RUNTIME__V1__LINUX_CONTAINER_RESOURCES__UNIFIED_ENTRY__INIT,
	    RUNTIME__V1__LINUX_CONTAINER_RESOURCES__UNIFIED_ENTRY__INIT};
	Runtime__V1__LinuxContainerResources__UnifiedEntry *unified[] = {&u[0], &u[1]};
	json_t *res = NULL;

	/* Nothing set: nothing in it. */
	assert_int_equal(oci_spec_resources(&host, &r, 0, &res, &f->err), 0);
	CHECK(res, "{}", NULL);
	json_decref(res);
	assert_int_equal(oci_spec_resources(&host, NULL, 0, &res, &f->err), 0);
	CHECK(res, "{}", NULL);
	json_decref(res);

	r.cpu_shares = 512;
	r.cpu_quota = 50000;
	r.cpu_period = 100000;
	r.cpuset_cpus = "0-1";
	r.cpuset_mems = "0";
	r.memory_limit_in_bytes = 268435456;
	h[0].page_size = "2MB";
	h[0].limit = 4194304;
	h[1].page_size = "1GB";
	r.hugepage_limits = hp;
	r.n_hugepage_limits = 2;
	u[0].key = "memory.high";
	u[0].value = "200000000";
	u[1].key = "io.weight";
	u[1].value = "default 100";
	r.unified = unified;
	r.n_unified = 2;
	assert_int_equal(oci_spec_resources(&host, &r, 0, &res, &f->err), 0);
	CHECK(res,
	      "{'cpu': {'shares': 512, 'quota': 50000, 'period': 100000, 'cpus': '0-1', 'mems': "
	      "'0'}, "
	      "'memory': {'limit': 268435456, 'swap': 268435456}, 'hugepageLimits': [{'pageSize': "
	      "'2MB', 'limit': 4194304}, {'pageSize': '1GB', 'limit': 0}], 'unified': "
	      "{'memory.high': '200000000', 'io.weight': 'default 100'}}",
	      NULL);
	json_decref(res);
	/* An explicit swap limit; no memory limit means no memory section at all. */
	r.memory_swap_limit_in_bytes = 536870912;
	assert_int_equal(oci_spec_resources(&host, &r, 0, &res, &f->err), 0);
	CHECK(res, "{'limit': 268435456, 'swap': 536870912}", "memory");
	json_decref(res);
	r.memory_limit_in_bytes = 0;
	assert_int_equal(oci_spec_resources(&host, &r, 0, &res, &f->err), 0);
	CHECK(res, "absent", "memory");
	json_decref(res);
	res = NULL;
	r.cpu_shares = -2;
	assert_int_equal(oci_spec_resources(&host, &r, 0, &res, &f->err), -EINVAL);
	assert_null(res);
	assert_string_equal(crib_error_msg(f->err),
	                    "LinuxContainerResources.cpu_shares -2: negative");
	f->err = crib_error_free(f->err);
	r.cpu_shares = 0;
	u[1].key = "../io.weight";
	assert_int_equal(oci_spec_resources(&host, &r, 0, &res, &f->err), -EINVAL);
	f->err = crib_error_free(f->err);
	u[1].key = "io.weight";
	r.oom_score_adj = 1001;
	assert_int_equal(oci_spec_resources(&host, &r, 0, &res, &f->err), -EINVAL);
	f->err = crib_error_free(f->err);
	h[1].page_size = "";
	r.oom_score_adj = 0;
	assert_int_equal(oci_spec_resources(&host, &r, 0, &res, &f->err), -EINVAL);
	assert_null(res);
}

static void test_container_resources_and_oom(void **state)
{
	struct fixture *f = *state;
	json_t *spec;

	f->res.memory_limit_in_bytes = 1048576;
	f->res.oom_score_adj = 500;
	f->in.own_oom_score_adj = -900;
	spec = build(f);
	CHECK(spec, "{'limit': 1048576, 'swap': 1048576}", "linux", "resources", "memory");
	CHECK(spec, "[{'allow': false, 'access': 'rwm'}]", "linux", "resources", "devices");
	CHECK(spec, "500", "process", "oomScoreAdj");
	json_decref(spec);
	/* Never below cribd's own: the OOM killer must not prefer cribd. */
	f->res.oom_score_adj = -999;
	spec = build(f);
	CHECK(spec, "-900", "process", "oomScoreAdj");
	json_decref(spec);
	f->linux.resources = NULL;
	f->in.own_oom_score_adj = 10;
	spec = build(f);
	CHECK(spec, "10", "process", "oomScoreAdj");
	CHECK(spec, "{'devices': [{'allow': false, 'access': 'rwm'}]}", "linux", "resources");
	json_decref(spec);
	assert_int_equal(oci_oom_score_adj(NULL, -1000), 0);
	assert_int_equal(oci_oom_score_adj(NULL, 2000), 1000);
	assert_int_equal(oci_oom_score_adj(&f->res, -1000), -999);
}

/* ---- masked paths, AppArmor, SELinux, sysctls, annotations ---- */

static void test_masked_paths(void **state)
{
	struct fixture *f = *state;
	char *masked[] = {"/proc/secret"};
	char *ro[] = {"/proc/ro1", "/proc/ro2"};
	json_t *spec;

	spec = build(f);
	CHECK(spec,
	      "['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', "
	      "'/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', "
	      "'/proc/scsi', '/sys/devices/virtual/powercap']",
	      "linux", "maskedPaths");
	CHECK(spec, "['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']",
	      "linux", "readonlyPaths");
	json_decref(spec);
	f->sc.masked_paths = masked;
	f->sc.n_masked_paths = 1;
	f->sc.readonly_paths = ro;
	f->sc.n_readonly_paths = 2;
	spec = build(f);
	CHECK(spec, "['/proc/secret']", "linux", "maskedPaths");
	CHECK(spec, "['/proc/ro1', '/proc/ro2']", "linux", "readonlyPaths");
	json_decref(spec);
}

static void test_apparmor_selinux(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__SecurityProfile aa = RUNTIME__V1__SECURITY_PROFILE__INIT;
	Runtime__V1__SELinuxOption se = RUNTIME__V1__SELINUX_OPTION__INIT;
	json_t *spec;

	f->sc.apparmor = &aa;
	f->sc.selinux_options = &se;
	se.level = "s0:c1,c2";
	/* RuntimeDefault: no profile (crib loads none); SELinux off: no label. */
	f->features.apparmor = true;
	spec = build(f);
	CHECK(spec, "absent", "process", "apparmorProfile");
	CHECK(spec, "absent", "process", "selinuxLabel");
	json_decref(spec);
	aa.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
	aa.localhost_ref = "k8s-nginx";
	f->features.selinux = true;
	se.user = "system_u";
	se.role = "system_r";
	se.type = "container_t";
	spec = build(f);
	CHECK(spec, "'k8s-nginx'", "process", "apparmorProfile");
	CHECK(spec, "'system_u:system_r:container_t:s0:c1,c2'", "process", "selinuxLabel");
	json_decref(spec);
	aa.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined;
	se.type = "";
	build_fails(f, EINVAL, "selinux_options: user, role and type are needed");
	se.type = "container_t";
	spec = build(f);
	CHECK(spec, "'unconfined'", "process", "apparmorProfile");
	json_decref(spec);
	/* Without AppArmor a named profile cannot be honoured; unconfined is moot. */
	f->features.apparmor = false;
	spec = build(f);
	CHECK(spec, "absent", "process", "apparmorProfile");
	json_decref(spec);
	aa.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
	build_fails(f, ENOTSUP, "apparmor 'k8s-nginx': AppArmor is not enabled on this node");
	aa.localhost_ref = "";
	build_fails(f, EINVAL, "a Localhost profile needs a name");
}

static void test_sysctls(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry e[3] = {
	    RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__SYSCTLS_ENTRY__INIT,
	    RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__SYSCTLS_ENTRY__INIT,
	    RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__SYSCTLS_ENTRY__INIT};
	Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry *sysctls[] = {&e[0], &e[1], &e[2]};
	json_t *spec;

	e[0].key = "net.ipv4.ip_unprivileged_port_start";
	e[0].value = "0";
	e[1].key = "kernel.shm_rmid_forced";
	e[1].value = "1";
	e[2].key = "fs.mqueue.msg_max";
	e[2].value = "64";
	f->pod_linux.sysctls = sysctls;
	f->pod_linux.n_sysctls = 3;
	spec = build(f);
	CHECK(spec,
	      "{'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1', "
	      "'fs.mqueue.msg_max': '64'}",
	      "linux", "sysctl");
	json_decref(spec);
	spec = build_sandbox(f);
	CHECK(spec,
	      "{'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1', "
	      "'fs.mqueue.msg_max': '64'}",
	      "linux", "sysctl");
	json_decref(spec);
	f->ns.ipc = RUNTIME__V1__NAMESPACE_MODE__NODE;
	build_fails(f, EINVAL, "sysctls 'kernel.shm_rmid_forced': the pod shares this namespace");
	f->pod_ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	sandbox_fails(f, EINVAL, "'net.ipv4.ip_unprivileged_port_start': the pod shares");
	e[0].key = "vm.swappiness";
	sandbox_fails(f, EINVAL,
	              "PodSandboxConfig.linux.sysctls 'vm.swappiness': not a namespaced");
}

static void test_annotations(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__ContainerConfig__AnnotationsEntry a =
	    RUNTIME__V1__CONTAINER_CONFIG__ANNOTATIONS_ENTRY__INIT;
	Runtime__V1__ContainerConfig__AnnotationsEntry *annotations[] = {&a};
	_cleanup_(json_decrefp) json_t *spec = NULL;

	a.key = "io.kubernetes.container.hash";
	a.value = "abc";
	f->cfg.annotations = annotations;
	f->cfg.n_annotations = 1;
	spec = build(f);
	CHECK(spec,
	      "{'io.kubernetes.container.hash': 'abc', 'io.kubernetes.cri.container-type': "
	      "'container', 'io.kubernetes.cri.container-name': 'app', "
	      "'io.kubernetes.cri.image-name': 'docker.io/library/busybox:latest', "
	      "'io.kubernetes.cri.sandbox-id': '" SANDBOX_ID "', "
	      "'io.kubernetes.cri.sandbox-name': 'web', 'io.kubernetes.cri.sandbox-namespace': "
	      "'default', 'io.kubernetes.cri.sandbox-uid': 'uid-1'}",
	      "annotations");
}

/* ---- seccomp ---- */

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void set_seccomp_string(Runtime__V1__LinuxContainerSecurityContext *sc, const char *s)
{
	sc->seccomp_profile_path = (char *)s;
}
#pragma GCC diagnostic pop

static void test_seccomp_default(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__SecurityProfile sp = RUNTIME__V1__SECURITY_PROFILE__INIT;
	Runtime__V1__Capability cap = RUNTIME__V1__CAPABILITY__INIT;
	char *add[] = {"SYS_ADMIN"};
	json_t *spec, *p;

	/* Unset: unconfined, as CRI defines it. */
	spec = build(f);
	CHECK(spec, "absent", "linux", "seccomp");
	json_decref(spec);
	f->sc.seccomp = &sp; /* RuntimeDefault */
	spec = build(f);
	p = json_path_get(spec, "linux", "seccomp", NULL);
	CHECK(p, "'SCMP_ACT_ERRNO'", "defaultAction");
	CHECK(p, "1", "defaultErrnoRet");
#if defined(__x86_64__)
	CHECK(p, "['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']", "architectures");
	assert_true(seccomp_allows(p, "arch_prctl"));
#endif
	assert_true(seccomp_allows(p, "read"));
	assert_true(seccomp_allows(p, "chroot")); /* CAP_SYS_CHROOT is a default */
	assert_false(seccomp_allows(p, "mount"));
	assert_false(seccomp_allows(p, "clone"));
	assert_false(seccomp_allows(p, "settimeofday"));
	CHECK(seccomp_rule(p, "clone"),
	      "{'names': ['clone'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': "
	      "2114060288, 'valueTwo': 0, 'op': 'SCMP_CMP_MASKED_EQ'}]}",
	      NULL);
	CHECK(seccomp_rule(p, "clone3"),
	      "{'names': ['clone3'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 38}", NULL);
	CHECK(
	    seccomp_rule(p, "socket"),
	    "{'names': ['socket'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': 40, "
	    "'valueTwo': 0, 'op': 'SCMP_CMP_NE'}]}",
	    NULL);
	CHECK(seccomp_rule(p, "personality"),
	      "{'names': ['personality'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, "
	      "'value': 0, 'valueTwo': 0, 'op': 'SCMP_CMP_EQ'}]}",
	      NULL);
	CHECK(seccomp_rule(p, "chroot"), "{'names': ['chroot'], 'action': 'SCMP_ACT_ALLOW'}", NULL);
	assert_null(seccomp_rule(p, "settimeofday"));
	assert_null(seccomp_rule(p, "open_by_handle_at"));
	json_decref(spec);
	/* CAP_SYS_ADMIN brings mount and a free clone. */
	f->sc.capabilities = &cap;
	cap.add_capabilities = add;
	cap.n_add_capabilities = 1;
	spec = build(f);
	p = json_path_get(spec, "linux", "seccomp", NULL);
	assert_true(seccomp_allows(p, "mount"));
	assert_true(seccomp_allows(p, "clone"));
	assert_true(seccomp_allows(p, "unshare"));
	assert_true(seccomp_allows(p, "clone3"));
	CHECK(seccomp_rule(p, "clone3"),
	      "{'names': ['bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', "
	      "'fsopen', 'fspick', 'lookup_dcookie', 'mount', 'mount_setattr', 'move_mount', "
	      "'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd', 'setdomainname', "
	      "'sethostname', 'setns', 'syslog', 'umount', 'umount2', 'unshare'], 'action': "
	      "'SCMP_ACT_ALLOW'}",
	      NULL);
	json_decref(spec);
	/* The deprecated string, used only without the field. */
	f->sc.seccomp = NULL;
	set_seccomp_string(&f->sc, "docker/default");
	spec = build(f);
	CHECK(spec, "'SCMP_ACT_ERRNO'", "linux", "seccomp", "defaultAction");
	json_decref(spec);
	set_seccomp_string(&f->sc, "unconfined");
	spec = build(f);
	CHECK(spec, "absent", "linux", "seccomp");
	json_decref(spec);
	sp.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined;
	f->sc.seccomp = &sp;
	set_seccomp_string(&f->sc, "runtime/default");
	spec = build(f);
	CHECK(spec, "absent", "linux", "seccomp");
	json_decref(spec);
	f->sc.seccomp = NULL;
	set_seccomp_string(&f->sc, "bogus");
	build_fails(f, EINVAL, "seccomp_profile_path 'bogus': unknown profile");
}

static void test_seccomp_localhost(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__SecurityProfile sp = RUNTIME__V1__SECURITY_PROFILE__INIT;
	_cleanup_free_ char *dir = crib_xstrdup(mkdir_in(f, "seccomp"));
	_cleanup_free_ char *good = crib_xasprintf("%s/good.json", dir);
	_cleanup_free_ char *bad = crib_xasprintf("%s/bad.json", dir);
	_cleanup_free_ char *missing = crib_xasprintf("%s/missing.json", dir);
	_cleanup_free_ char *msg = NULL, *old = NULL;
	json_t *spec;

	write_file(dir, "good.json",
	           "{\"defaultAction\": \"SCMP_ACT_LOG\", \"syscalls\": [{\"names\": [\"read\"], "
	           "\"action\": \"SCMP_ACT_ALLOW\"}]}");
	write_file(dir, "bad.json", "{\n  \"defaultAction\": \"SCMP_ACT_LOG\",\n  oops\n}");
	write_file(dir, "array.json", "[]");
	sp.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
	sp.localhost_ref = good;
	f->sc.seccomp = &sp;
	spec = build(f);
	CHECK(spec,
	      "{'defaultAction': 'SCMP_ACT_LOG', 'syscalls': [{'names': ['read'], 'action': "
	      "'SCMP_ACT_ALLOW'}]}",
	      "linux", "seccomp");
	json_decref(spec);
	sp.localhost_ref = missing;
	msg =
	    crib_xasprintf("ContainerConfig.linux.security_context.seccomp.localhost_ref '%s': No "
	                   "such file or directory",
	                   missing);
	build_fails(f, ENOENT, msg);
	free(msg);
	sp.localhost_ref = bad;
	msg = crib_xasprintf("seccomp.localhost_ref '%s': invalid JSON at 3:", bad);
	build_fails(f, EINVAL, msg);
	sp.localhost_ref = "relative.json";
	build_fails(f, EINVAL, "'relative.json': not an absolute path");
	sp.localhost_ref = "";
	build_fails(f, EINVAL, "seccomp.localhost_ref: empty for a Localhost profile");
	free(msg);
	msg = crib_xasprintf("%s/array.json", dir);
	sp.localhost_ref = msg;
	build_fails(f, EINVAL, "not a seccomp profile");
	sp.localhost_ref = dir;
	build_fails(f, EINVAL, "not a regular file");
	/* The deprecated form. */
	f->sc.seccomp = NULL;
	old = crib_xasprintf("localhost/%s", good);
	set_seccomp_string(&f->sc, old);
	spec = build(f);
	CHECK(spec, "'SCMP_ACT_LOG'", "linux", "seccomp", "defaultAction");
	json_decref(spec);
}

static void test_seccomp_large(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *dir = crib_xstrdup(mkdir_in(f, "seccomp-large"));
	_cleanup_free_ char *path = crib_xasprintf("%s/big.json", dir);
	_cleanup_free_ char *text = crib_xmalloc(OCI_SECCOMP_FILE_MAX + 64);
	json_t *p = NULL;
	size_t n;

	n = (size_t)snprintf(text, 64, "{\"defaultAction\": \"SCMP_ACT_LOG\", \"x\": \"");
	memset(text + n, 'a', OCI_SECCOMP_FILE_MAX);
	(void)snprintf(text + n + OCI_SECCOMP_FILE_MAX, 8, "\"}");
	write_file(dir, "big.json", text);
	assert_int_equal(oci_seccomp_load(&host, "F", path, &p, &f->err), -E2BIG);
	assert_null(p);
	assert_non_null(strstr(crib_error_msg(f->err), "larger than 1048576 bytes"));
}

/* ---- the sandbox ---- */

static void test_sandbox(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__PodSandboxConfig__AnnotationsEntry a =
	    RUNTIME__V1__POD_SANDBOX_CONFIG__ANNOTATIONS_ENTRY__INIT;
	Runtime__V1__PodSandboxConfig__AnnotationsEntry *annotations[] = {&a};
	json_t *spec;

	a.key = "kubernetes.io/config.seen";
	a.value = "now";
	f->pod.annotations = annotations;
	f->pod.n_annotations = 1;
	spec = build_sandbox(f);
	CHECK(spec, "'1.0.2'", "ociVersion");
	CHECK(spec, "{'path': '" PAUSE_ROOT "', 'readonly': true}", "root");
	CHECK(spec, "['/pause']", "process", "args");
	CHECK(spec, "'/'", "process", "cwd");
	CHECK(spec, "['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']",
	      "process", "env");
	CHECK(spec, "{'uid': 0, 'gid': 0, 'additionalGids': [0]}", "process", "user");
	CHECK(
	    spec,
	    "{'bounding': [], 'effective': [], 'permitted': [], 'inheritable': [], 'ambient': []}",
	    "process", "capabilities");
	CHECK(spec, "true", "process", "noNewPrivileges");
	CHECK(spec, "-998", "process", "oomScoreAdj");
	CHECK(spec, "'pod-host'", "hostname");
	CHECK(spec,
	      "[{'type': 'network', 'path': '/var/run/netns/cni-1'}, {'type': 'uts'}, {'type': "
	      "'ipc'}, {'type': 'pid'}, {'type': 'mount'}, {'type': 'cgroup'}]",
	      "linux", "namespaces");
	CHECK(spec, "'/kubepods/pod1/sandbox'", "linux", "cgroupsPath");
	CHECK(spec, "{'devices': [{'allow': false, 'access': 'rwm'}], 'cpu': {'shares': 2}}",
	      "linux", "resources");
	CHECK(spec, "absent", "mounts", "[destination=/sys/fs/cgroup]");
	CHECK(spec, "['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']",
	      "linux", "readonlyPaths");
	CHECK(spec, "absent", "linux", "seccomp"); /* nothing asked: unconfined */
	CHECK(spec,
	      "{'kubernetes.io/config.seen': 'now', 'io.kubernetes.cri.container-type': 'sandbox', "
	      "'io.kubernetes.cri.sandbox-log-directory': '/var/log/pods/default_web_uid-1', "
	      "'io.kubernetes.cri.sandbox-id': '" SANDBOX_ID "', "
	      "'io.kubernetes.cri.sandbox-name': 'web', 'io.kubernetes.cri.sandbox-namespace': "
	      "'default', 'io.kubernetes.cri.sandbox-uid': 'uid-1'}",
	      "annotations");
	json_decref(spec);
}

/* CHECK compares whole values; for the mounts list only the destinations matter here. */
static void test_sandbox_mount_order(void **state)
{
	struct fixture *f = *state;
	_cleanup_(json_decrefp) json_t *spec = build_sandbox(f);
	_cleanup_(json_decrefp) json_t *dests = json_array();
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(spec, "mounts"), i, m)
	{
		json_array_append(dests, json_object_get(m, "destination"));
	}
	CHECK(dests, "['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys']", NULL);
}

static void test_sandbox_namespaces(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Int64Value user = RUNTIME__V1__INT64_VALUE__INIT;
	Runtime__V1__Int64Value grp = RUNTIME__V1__INT64_VALUE__INIT;
	Runtime__V1__SecurityProfile sp = RUNTIME__V1__SECURITY_PROFILE__INIT;
	int64_t supplemental[] = {3000};
	json_t *spec;

	/* No netns path: a new network namespace. */
	f->sin.netns_path = NULL;
	f->features.cgroup2 = false;
	f->pod_ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	spec = build_sandbox(f);
	CHECK(spec,
	      "[{'type': 'network'}, {'type': 'uts'}, {'type': 'ipc'}, {'type': 'pid'}, {'type': "
	      "'mount'}]",
	      "linux", "namespaces");
	json_decref(spec);
	/* The node's network: no network or UTS namespace and no host name; the node's IPC/pid. */
	f->pod_ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->pod_ns.ipc = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->pod_ns.pid = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->sin.netns_path = "/var/run/netns/ignored";
	user.value = 65535;
	grp.value = 65534;
	f->pod_sc.run_as_user = &user;
	f->pod_sc.run_as_group = &grp;
	f->pod_sc.supplemental_groups = supplemental;
	f->pod_sc.n_supplemental_groups = 1;
	f->pod_sc.seccomp = &sp;
	f->sin.own_oom_score_adj = -500;
	spec = build_sandbox(f);
	CHECK(spec, "[{'type': 'mount'}]", "linux", "namespaces");
	CHECK(spec, "absent", "hostname");
	CHECK(spec, "{'uid': 65535, 'gid': 65534, 'additionalGids': [65534, 3000]}", "process",
	      "user");
	CHECK(spec, "-500", "process", "oomScoreAdj");
	/* RuntimeDefault for a process without capabilities: no chroot either. */
	CHECK(spec, "'SCMP_ACT_ERRNO'", "linux", "seccomp", "defaultAction");
	assert_false(seccomp_allows(json_path_get(spec, "linux", "seccomp", NULL), "chroot"));
	json_decref(spec);
	f->pod_sc.run_as_user = NULL;
	sandbox_fails(f, EINVAL,
	              "PodSandboxConfig.linux.security_context.run_as_group: set "
	              "without run_as_user");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_root_and_terminal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_args, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_image_config_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_env, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cwd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_image, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_cri, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_symlink_confined, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_files_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_privileged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mounts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mount_propagation_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mount_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_namespaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_userns_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_container_resources_and_oom, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_masked_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apparmor_selinux, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sysctls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_annotations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seccomp_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seccomp_localhost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seccomp_large, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sandbox, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sandbox_mount_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sandbox_namespaces, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
