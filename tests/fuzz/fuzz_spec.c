/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the oci backend's container spec generation with what an image
 * brings: its config document and its /etc/passwd and /etc/group.  The input
 * is "<flags byte><image config JSON>\0<passwd>\0<group>" (missing parts are
 * empty); the flags pick how the fixed CRI config names the user.  Besides
 * not crashing or leaking: a failure sets an error with the code returned and
 * no spec; a spec has arguments, a user whose first additional gid is its
 * gid, no gid twice, and no environment variable twice.
 *
 * The root filesystem is made once per process; each input rewrites its two
 * files.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <crib/backend.h>

#include "error.h"
#include "fake_host.h"
#include "fuzz.h"
#include "spec.h"
#include "util.h"

enum {
	FLAG_USERNAME = 1 << 0, /* run_as_username "app" */
	FLAG_UID = 1 << 1,      /* run_as_user 1000 */
	FLAG_GROUP = 1 << 2,    /* run_as_group 2000 (with one of the above) */
	FLAG_STRICT = 1 << 3,   /* SupplementalGroupsPolicy Strict */
	FLAG_COMMAND = 1 << 4,  /* ContainerConfig.command set */
	FLAG_READONLY = 1 << 5, /* a read-only root */
};

static const struct crib_host host = FAKE_HOST_INIT("oci");

static const struct oci_host_features features = {.cgroup2 = true, .cap_last_cap = 40};

struct work {
	char dir[64]; /* the root filesystem */
	char *etc;
	char *passwd;
	char *group;
};

static struct work *work_dir;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void work_cleanup(void)
{
	if (work_dir)
		(void)nftw(work_dir->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct work *work_get(void)
{
	struct work *w;

	if (work_dir)
		return work_dir;
	w = crib_xcalloc(1, sizeof(*w));
	(void)snprintf(w->dir, sizeof(w->dir), "/tmp/crib-fuzz-spec-XXXXXX");
	FUZZ_CHECK(mkdtemp(w->dir));
	w->etc = crib_xasprintf("%s/etc", w->dir);
	w->passwd = crib_xasprintf("%s/passwd", w->etc);
	w->group = crib_xasprintf("%s/group", w->etc);
	FUZZ_CHECK(mkdir(w->etc, 0755) == 0);
	work_dir = w;
	FUZZ_CHECK(atexit(work_cleanup) == 0);
	return w;
}

static void write_all(const char *path, const uint8_t *data, size_t size)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	FUZZ_CHECK(fd >= 0);
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		FUZZ_CHECK(n > 0);
		data += n;
		size -= (size_t)n;
	}
}

/* The INIT macro sets the deprecated fields too, which clang warns about. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void init_security_context(Runtime__V1__LinuxContainerSecurityContext *sc)
{
	*sc = (Runtime__V1__LinuxContainerSecurityContext)
	    RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
}
#pragma GCC diagnostic pop

/* The next NUL-terminated part of the input, advancing *p; empty at the end. */
static const uint8_t *next_part(const uint8_t **p, const uint8_t *end, size_t *ret_len)
{
	const uint8_t *start = *p;
	const uint8_t *nul = memchr(start, '\0', (size_t)(end - start));

	*ret_len = (size_t)((nul ? nul : end) - start);
	*p = nul ? nul + 1 : end;
	return start;
}

static void check_spec(json_t *spec)
{
	json_t *process = json_object_get(spec, "process");
	json_t *user = json_object_get(process, "user");
	json_t *gids = json_object_get(user, "additionalGids");
	_cleanup_(json_decrefp) json_t *names = json_object();
	json_t *v;
	size_t i;

	FUZZ_CHECK(json_array_size(json_object_get(process, "args")) > 0);
	FUZZ_CHECK(json_is_integer(json_object_get(user, "uid")));
	FUZZ_CHECK(json_equal(json_array_get(gids, 0), json_object_get(user, "gid")));
	json_array_foreach(gids, i, v)
	{
		char key[32];

		(void)snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(v));
		FUZZ_CHECK(!json_object_get(names, key));
		FUZZ_CHECK(json_object_set_new(names, key, json_true()) == 0);
	}
	json_object_clear(names);
	json_array_foreach(json_object_get(process, "env"), i, v)
	{
		const char *s = json_string_value(v);
		const char *eq = strchr(s, '=');
		_cleanup_free_ char *name = eq ? strndup(s, (size_t)(eq - s)) : crib_xstrdup(s);

		FUZZ_CHECK(name && !json_object_get(names, name));
		FUZZ_CHECK(json_object_set_new(names, name, json_true()) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Runtime__V1__PodSandboxConfig pod = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	Runtime__V1__LinuxContainerConfig linux = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
	Runtime__V1__LinuxContainerSecurityContext sc;
	Runtime__V1__Int64Value uid = {.value = 1000}, gid = {.value = 2000};
	Runtime__V1__KeyValue env = RUNTIME__V1__KEY_VALUE__INIT;
	Runtime__V1__KeyValue *envs[] = {&env};
	char *command[] = {"/bin/app"};
	int64_t supplemental[] = {2000, 3000};
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *image_config = NULL;
	struct work *w = work_get();
	const uint8_t *p = data, *end = data + size, *part;
	struct oci_container_input in;
	json_t *spec = NULL;
	uint8_t flags;
	size_t len;
	int r;

	if (size < 1)
		return 0;
	flags = *p++;
	part = next_part(&p, end, &len);
	image_config = crib_xmalloc(len + 1);
	memcpy(image_config, part, len);
	image_config[len] = '\0';
	part = next_part(&p, end, &len);
	write_all(w->passwd, part, len);
	part = next_part(&p, end, &len);
	write_all(w->group, part, len);

	init_security_context(&sc);
	pod.hostname = "fuzz";
	env.key = "PATH";
	env.value = (ProtobufCBinaryData){4, (uint8_t *)"/bin"};
	cfg.envs = envs;
	cfg.n_envs = 1;
	cfg.linux = &linux;
	linux.security_context = &sc;
	if (flags & FLAG_USERNAME)
		sc.run_as_username = "app";
	if (flags & FLAG_UID)
		sc.run_as_user = &uid;
	if (flags & FLAG_GROUP)
		sc.run_as_group = &gid;
	if (flags & FLAG_STRICT)
		sc.supplemental_groups_policy = RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Strict;
	sc.supplemental_groups = supplemental;
	sc.n_supplemental_groups = 2;
	sc.readonly_rootfs = (flags & FLAG_READONLY) != 0;
	if (flags & FLAG_COMMAND) {
		cfg.command = command;
		cfg.n_command = 1;
	}
	in = (struct oci_container_input){
	    .config = &cfg,
	    .pod = &pod,
	    .sandbox_id = "fuzz",
	    .image_config = image_config,
	    .rootfs = w->dir,
	    .ns = {.net = "/proc/1/ns/net",
	           .uts = "/proc/1/ns/uts",
	           .ipc = "/proc/1/ns/ipc",
	           .pid = "/proc/1/ns/pid"},
	    .features = &features,
	};

	r = oci_spec_container(&host, &in, &spec, &err);
	if (r < 0) {
		FUZZ_CHECK(!spec && err && err->errnum == -r && err->msg);
		return 0;
	}
	FUZZ_CHECK(!err && json_is_object(spec));
	check_spec(spec);
	json_decref(spec);
	return 0;
}
