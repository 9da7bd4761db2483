/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI runtime specs (config.json) from CRI configs.  Where CRI leaves a
 * choice open, crib makes containerd's, so that a pod behaves the same on
 * either: the Kubernetes command semantics, the default capabilities, mounts
 * and masked paths, and the lookup of users in the image.
 *
 * OOM policy (broker/util.h): a spec is sized by kubelet's request, so
 * jansson's allocation failures become -ENOMEM; copies of strings the request
 * already holds use the aborting crib_x*() helpers.  jansson also refuses
 * strings that are not UTF-8, which protobuf-c lets through: those become
 * -EINVAL naming the field.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "crirules.h"
#include "seccomp_profile.h"
#include "spec.h"
#include "user.h"
#include "util.h"

#define OCI_VERSION      "1.0.2"
#define DEFAULT_PATH     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define ANNOTATION(name) "io.kubernetes.cri." name
/* Device directories are walked this deep at most. */
#define DEVICE_DEPTH_MAX 8

#define CTR_SC "ContainerConfig.linux.security_context"
#define POD_SC "PodSandboxConfig.linux.security_context"

#define NS_POD       RUNTIME__V1__NAMESPACE_MODE__POD
#define NS_CONTAINER RUNTIME__V1__NAMESPACE_MODE__CONTAINER
#define NS_NODE      RUNTIME__V1__NAMESPACE_MODE__NODE
#define NS_TARGET    RUNTIME__V1__NAMESPACE_MODE__TARGET

#define STRV(...) ((const char *const[]){__VA_ARGS__, NULL})

struct spec_ctx {
	const struct crib_host *host;
	struct crib_error **reterr;
	struct oci_host_features features;
};

/* ---- errors and JSON building ---- */

static int vfail(const struct spec_ctx *c, int errnum, const char *suffix, const char *fmt,
                 va_list ap) __attribute__((format(printf, 4, 0)));

static int vfail(const struct spec_ctx *c, int errnum, const char *suffix, const char *fmt,
                 va_list ap)
{
	_cleanup_free_ char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	return c->host->error_set(c->reterr, errnum, "%s%s", msg ? msg : "Out of memory", suffix);
}

static int fail(const struct spec_ctx *c, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const struct spec_ctx *c, int errnum, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(c, errnum, "", fmt, ap);
	va_end(ap);
	return r;
}

/* Reports R of a failed insertion of client data at the field FMT names. */
static int fail_json(const struct spec_ctx *c, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_json(const struct spec_ctx *c, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r = vfail(c, r == -EINVAL ? EINVAL : ENOMEM,
	          r == -EINVAL ? ": not valid UTF-8" : ": out of memory", fmt, ap);
	va_end(ap);
	return r;
}

/* jansson's notion of UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t cp;
		size_t n;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0)
			n = 1, cp = *p & 0x1f;
		else if ((*p & 0xf0) == 0xe0)
			n = 2, cp = *p & 0x0f;
		else if ((*p & 0xf8) == 0xf0)
			n = 3, cp = *p & 0x07;
		else
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* Sets KEY to V (stolen; NULL stands for a failed allocation). */
static int obj_set(json_t *o, const char *key, json_t *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_set_new(o, key, v) < 0)
		return utf8_valid(key) ? -ENOMEM : -EINVAL;
	return 0;
}

static int arr_add(json_t *a, json_t *v)
{
	return v && json_array_append_new(a, v) == 0 ? 0 : -ENOMEM;
}

static int str_new(const char *s, json_t **ret)
{
	json_t *v = json_string(s);

	if (!v)
		return utf8_valid(s) ? -ENOMEM : -EINVAL;
	*ret = v;
	return 0;
}

static int obj_set_str(json_t *o, const char *key, const char *s)
{
	json_t *v;
	int r = str_new(s, &v);

	return r < 0 ? r : obj_set(o, key, v);
}

static int arr_add_str(json_t *a, const char *s)
{
	json_t *v;
	int r = str_new(s, &v);

	return r < 0 ? r : arr_add(a, v);
}

/* Adds an empty array or object at KEY and hands it out, borrowed. */
static int obj_add_new(json_t *o, const char *key, json_t *v, json_t **ret)
{
	int r = obj_set(o, key, v);

	if (r >= 0)
		*ret = v;
	return r;
}

/* Sets KEY to the client's string S, reporting a failure as one at FIELD. */
static int set_str_field(const struct spec_ctx *c, json_t *o, const char *key, const char *s,
                         const char *field)
{
	int r = obj_set_str(o, key, s);

	return r < 0 ? fail_json(c, r, "%s", field) : 0;
}

/* Whether an element of the array A has S at KEY. */
static bool array_has(json_t *a, const char *key, const char *s)
{
	json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
	{
		if (streq(json_string_value(json_object_get(e, key)), s))
			return true;
	}
	return false;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- the node ---- */

void oci_host_features_probe(struct oci_host_features *ret)
{
	struct statfs sfs;

	*ret = (struct oci_host_features){
	    .apparmor = access("/sys/kernel/security/apparmor", F_OK) == 0,
	    .selinux = access("/sys/fs/selinux/enforce", F_OK) == 0,
	    .cgroup2 = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC,
	    .cap_last_cap = crib_cri_cap_last_cap(),
	    .cap_bounding = crib_cri_cap_bounding(),
	};
}

static void ctx_init(struct spec_ctx *c, const struct crib_host *host,
                     const struct oci_host_features *features, struct crib_error **reterr)
{
	c->host = host;
	c->reterr = reterr;
	if (features)
		c->features = *features;
	else
		oci_host_features_probe(&c->features);
}

/* ---- paths ---- */

/* An absolute PATH made canonical as Go's filepath.Clean does; NULL when PATH is relative. */
static char *clean_path(const char *path)
{
	char *out;
	size_t n = 1;

	if (!path || path[0] != '/')
		return NULL;
	out = crib_xmalloc(strlen(path) + 1);
	out[0] = '/';
	for (const char *p = path; *p;) {
		const char *s;
		size_t len;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - s);
		if (len == 0 || (len == 1 && s[0] == '.'))
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			while (n > 1 && out[n - 1] != '/')
				n--;
			if (n > 1)
				n--;
			continue;
		}
		if (n > 1)
			out[n++] = '/';
		memcpy(out + n, s, len);
		n += len;
	}
	out[n] = '\0';
	return out;
}

static size_t path_depth(const char *path)
{
	size_t n = 0;

	for (const char *p = path; *p; p++)
		n += *p == '/';
	return streq(path, "/") ? 0 : n;
}

/* ---- the skeleton ---- */

static int spec_new(const struct spec_ctx *c, const char *rootfs, bool readonly, json_t **ret)
{
	_cleanup_(json_decrefp) json_t *spec = NULL;

	spec = json_pack("{s:s, s:{s:b, s:s, s:[]}, s:{s:b}, s:[], s:{}, s:{s:[], s:{}}}",
	                 "ociVersion", OCI_VERSION, "process", "terminal", 0, "cwd", "/", "env",
	                 "root", "readonly", readonly, "mounts", "annotations", "linux",
	                 "namespaces", "resources");
	if (!spec)
		return fail(c, ENOMEM, "Out of memory");
	if (obj_set_str(json_object_get(spec, "root"), "path", rootfs) < 0)
		return fail(c, EINVAL, "Root filesystem path '%s': not valid UTF-8", rootfs);
	*ret = TAKE_PTR(spec);
	return 0;
}

static json_t *spec_process(json_t *spec)
{
	return json_object_get(spec, "process");
}

static json_t *spec_linux(json_t *spec)
{
	return json_object_get(spec, "linux");
}

/* ---- process: args, env, cwd ---- */

/* What a container takes from its image's config. */
struct image_config {
	json_t *doc;
	json_t *entrypoint; /* borrowed from doc; arrays of strings or NULL */
	json_t *cmd;
	json_t *env;
	const char *working_dir; /* NULL when unset */
	const char *user;
};

static void image_config_clear(struct image_config *img)
{
	json_decref(img->doc);
	*img = (struct image_config){0};
}

static int image_strv(const struct spec_ctx *c, json_t *cfg, const char *key, json_t **ret)
{
	json_t *v = json_object_get(cfg, key);
	json_t *e;
	size_t i;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(c, EINVAL, "Image config %s: not an array of strings", key);
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			return fail(c, EINVAL, "Image config %s[%zu]: not a string", key, i);
	}
	*ret = v;
	return 0;
}

static int image_str(const struct spec_ctx *c, json_t *cfg, const char *key, const char **ret)
{
	json_t *v = json_object_get(cfg, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(c, EINVAL, "Image config %s: not a string", key);
	*ret = json_string_value(v);
	return 0;
}

/* Parses TEXT (NULL: no image config) into *img, which the caller clears. */
static int image_config_parse(const struct spec_ctx *c, const char *text, struct image_config *img)
{
	json_error_t jerr;
	json_t *cfg;
	int r;

	if (!text)
		return 0;
	img->doc = json_loads(text, 0, &jerr);
	if (!img->doc)
		return fail(c, EINVAL, "Image config: invalid JSON at %d:%d: %s", jerr.line,
		            jerr.column, jerr.text);
	if (!json_is_object(img->doc))
		return fail(c, EINVAL, "Image config: not a JSON object");
	cfg = json_object_get(img->doc, "config");
	if (!cfg || json_is_null(cfg))
		return 0;
	if (!json_is_object(cfg))
		return fail(c, EINVAL, "Image config: config is not an object");
	r = image_strv(c, cfg, "Entrypoint", &img->entrypoint);
	if (r >= 0)
		r = image_strv(c, cfg, "Cmd", &img->cmd);
	if (r >= 0)
		r = image_strv(c, cfg, "Env", &img->env);
	if (r >= 0)
		r = image_str(c, cfg, "WorkingDir", &img->working_dir);
	if (r >= 0)
		r = image_str(c, cfg, "User", &img->user);
	return r;
}

static int add_cri_strv(const struct spec_ctx *c, json_t *a, char *const *v, size_t n,
                        const char *field)
{
	for (size_t i = 0; i < n; i++) {
		int r = arr_add_str(a, v[i]);

		if (r < 0)
			return fail_json(c, r, "ContainerConfig.%s[%zu]", field, i);
	}
	return 0;
}

static int add_image_strv(const struct spec_ctx *c, json_t *a, json_t *v)
{
	if (v && json_array_extend(a, v) < 0)
		return fail(c, ENOMEM, "Out of memory");
	return 0;
}

/*
 * Kubernetes semantics: command replaces the image's Entrypoint and drops its
 * Cmd; args alone replace only the Cmd.
 */
static int process_args(const struct spec_ctx *c, const Runtime__V1__ContainerConfig *cfg,
                        const struct image_config *img, json_t *process)
{
	json_t *args;
	int r;

	r = obj_add_new(process, "args", json_array(), &args);
	if (r < 0)
		return fail(c, ENOMEM, "Out of memory");
	if (cfg->n_command > 0)
		r = add_cri_strv(c, args, cfg->command, cfg->n_command, "command");
	else
		r = add_image_strv(c, args, img->entrypoint);
	if (r < 0)
		return r;
	if (cfg->n_args > 0)
		r = add_cri_strv(c, args, cfg->args, cfg->n_args, "args");
	else if (cfg->n_command == 0)
		r = add_image_strv(c, args, img->cmd);
	if (r < 0)
		return r;
	if (json_array_size(args) == 0)
		return fail(c, EINVAL,
		            "ContainerConfig.command: none given, and the image has no Entrypoint "
		            "or Cmd");
	return 0;
}

/* The environment as it is built: later values replace earlier ones of the same name in place. */
struct env_list {
	json_t *vars;  /* "NAME=value" */
	json_t *index; /* NAME -> position in vars */
};

/* Adds VAR ("NAME=value", a JSON string, stolen). */
static int env_put(struct env_list *e, json_t *var)
{
	const char *s = json_string_value(var);
	const char *eq = strchr(s, '=');
	_cleanup_free_ char *name = eq ? strndup(s, (size_t)(eq - s)) : strdup(s);
	json_t *pos;
	int r;

	if (!name) {
		json_decref(var);
		return -ENOMEM;
	}
	pos = json_object_get(e->index, name);
	if (pos)
		return json_array_set_new(e->vars, (size_t)json_integer_value(pos), var) < 0
		           ? -ENOMEM
		           : 0;
	r = obj_set(e->index, name, json_integer((json_int_t)json_array_size(e->vars)));
	if (r < 0) {
		json_decref(var);
		return r;
	}
	return arr_add(e->vars, var);
}

static int env_put_str(struct env_list *e, const char *var)
{
	json_t *v;
	int r = str_new(var, &v);

	return r < 0 ? r : env_put(e, v);
}

static int env_put_cri(const struct spec_ctx *c, struct env_list *e,
                       const Runtime__V1__KeyValue *kv, size_t i)
{
	_cleanup_free_ char *var = NULL;
	int r;

	r = crib_cri_env_string(c->host, kv, i, &var, c->reterr);
	if (r < 0)
		return r;
	r = env_put_str(e, var);
	return r < 0 ? fail_json(c, r, "ContainerConfig.envs[%zu] '%s'", i, kv->key) : 0;
}

static int pod_hostname(const Runtime__V1__PodSandboxConfig *pod, char **ret)
{
	char buf[HOST_NAME_MAX + 1];

	if (!isempty(pod->hostname)) {
		*ret = crib_xstrdup(pod->hostname);
		return 0;
	}
	/* Empty only with the node's network: the node's name, as containerd does. */
	if (gethostname(buf, sizeof(buf)) < 0)
		return -errno;
	buf[sizeof(buf) - 1] = '\0';
	*ret = crib_xstrdup(buf);
	return 0;
}

/* PATH (a default), HOSTNAME, then the image's variables, then CRI's, each replacing by name. */
static int process_env(const struct spec_ctx *c, const struct oci_container_input *in,
                       const struct image_config *img, json_t *process)
{
	_cleanup_(json_decrefp) json_t *index = json_object();
	struct env_list e = {.vars = json_object_get(process, "env"), .index = index};
	_cleanup_free_ char *hostname = NULL, *hostname_var = NULL;
	json_t *v;
	size_t i;
	int r;

	r = pod_hostname(in->pod, &hostname);
	if (r < 0)
		return fail(c, -r, "Failed to get the node's host name: %s", strerror(-r));
	hostname_var = crib_xasprintf("HOSTNAME=%s", hostname);
	r = index ? env_put_str(&e, DEFAULT_PATH) : -ENOMEM;
	if (r >= 0)
		r = env_put_str(&e, hostname_var);
	if (r < 0)
		return fail_json(c, r, "PodSandboxConfig.hostname");
	json_array_foreach(img->env, i, v)
	{
		r = env_put(&e, json_incref(v));
		if (r < 0)
			return fail_json(c, r, "Image config Env[%zu]", i);
	}
	for (i = 0; i < in->config->n_envs; i++) {
		r = env_put_cri(c, &e, in->config->envs[i], i);
		if (r < 0)
			return r;
	}
	return 0;
}

static int process_cwd(const struct spec_ctx *c, const Runtime__V1__ContainerConfig *cfg,
                       const struct image_config *img, json_t *process)
{
	_cleanup_free_ char *cwd = NULL;

	if (!isempty(cfg->working_dir)) {
		if (cfg->working_dir[0] != '/')
			return fail(c, EINVAL, "ContainerConfig.working_dir '%s': not absolute",
			            cfg->working_dir);
		cwd = crib_xstrdup(cfg->working_dir);
	} else if (!isempty(img->working_dir)) {
		/* Docker takes a relative WorkingDir as relative to "/". */
		cwd =
		    crib_xasprintf("%s%s", img->working_dir[0] == '/' ? "" : "/", img->working_dir);
	} else {
		return 0; /* spec_new's "/" */
	}
	return set_str_field(c, process, "cwd", cwd, "ContainerConfig.working_dir");
}

/* ---- process: user ---- */

/* The user fields a pod's and a container's security contexts share. */
struct user_fields {
	const Runtime__V1__Int64Value *run_as_user;
	const Runtime__V1__Int64Value *run_as_group;
	const char *run_as_username;
	const int64_t *supplemental_groups;
	size_t n_supplemental_groups;
	bool strict;
};

static int user_json(const struct spec_ctx *c, const struct oci_user *u, json_t *process)
{
	json_t *user = json_pack("{s:I, s:I, s:[]}", "uid", (json_int_t)u->uid, "gid",
	                         (json_int_t)u->gid, "additionalGids");
	json_t *gids = json_object_get(user, "additionalGids");
	int r = obj_set(process, "user", user);

	for (size_t i = 0; r >= 0 && i < u->n_additional_gids; i++)
		r = arr_add(gids, json_integer(u->additional_gids[i]));
	return r < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

/*
 * The string naming the user (run_as_user, run_as_username or else the
 * image's User) and the field it came from, both malloc'd.
 */
static int user_source(const struct spec_ctx *c, const struct user_fields *f, const char *field,
                       const char *image_user, char **ret_user, char **ret_field)
{
	uint32_t uid = 0;
	int r;

	if (f->run_as_user && !isempty(f->run_as_username))
		return fail(c, EINVAL, "%s: both run_as_user and run_as_username are set", field);
	if (f->run_as_group && !f->run_as_user && isempty(f->run_as_username))
		return fail(c, EINVAL,
		            "%s.run_as_group: set without run_as_user or run_as_username", field);
	if (f->run_as_user) {
		r = crib_cri_check_id(c->host, f->run_as_user->value, field, "run_as_user", &uid,
		                      c->reterr);
		if (r < 0)
			return r;
		*ret_user = crib_xasprintf("%u", uid);
		*ret_field = crib_xasprintf("%s.run_as_user", field);
	} else if (!isempty(f->run_as_username)) {
		*ret_user = crib_xstrdup(f->run_as_username);
		*ret_field = crib_xasprintf("%s.run_as_username", field);
	} else {
		*ret_user = crib_xstrdup(image_user);
		*ret_field = crib_xstrdup("Image config User");
	}
	return 0;
}

static int supplemental_gids(const struct spec_ctx *c, const struct user_fields *f,
                             const char *field, uint32_t **ret)
{
	_cleanup_free_ uint32_t *gids = crib_xcalloc(f->n_supplemental_groups, sizeof(*gids));

	for (size_t i = 0; i < f->n_supplemental_groups; i++) {
		int r = crib_cri_check_id(c->host, f->supplemental_groups[i], field,
		                          "supplemental_groups", &gids[i], c->reterr);

		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(gids);
	return 0;
}

/*
 * Resolves the process's user from F (FIELD names the security context) or
 * else IMAGE_USER, and sets process.user.  *ret_uid decides the capabilities.
 */
static int process_user(const struct spec_ctx *c, const char *rootfs, const struct user_fields *f,
                        const char *field, const char *image_user, json_t *process,
                        uint32_t *ret_uid)
{
	_cleanup_free_ uint32_t *supplemental = NULL;
	_cleanup_free_ char *user = NULL, *source = NULL;
	struct oci_user_request req = {.strict = f->strict};
	struct oci_user u;
	int r;

	r = user_source(c, f, field, image_user, &user, &source);
	if (r >= 0 && f->run_as_group) {
		r = crib_cri_check_id(c->host, f->run_as_group->value, field, "run_as_group",
		                      &req.gid, c->reterr);
		req.has_gid = true;
	}
	if (r >= 0)
		r = supplemental_gids(c, f, field, &supplemental);
	if (r < 0)
		return r;
	req.user = user;
	req.field = source;
	req.supplemental_groups = supplemental;
	req.n_supplemental_groups = f->n_supplemental_groups;
	r = oci_user_resolve(c->host, rootfs, &req, &u, c->reterr);
	if (r < 0)
		return r;
	r = user_json(c, &u, process);
	if (r >= 0)
		*ret_uid = u.uid;
	oci_user_clear(&u);
	return r;
}

/* ---- process: capabilities ---- */

/* containerd's default set, itself Docker's. */
static const uint64_t default_caps =
    OCI_CAP(CAP_CHOWN) | OCI_CAP(CAP_DAC_OVERRIDE) | OCI_CAP(CAP_FSETID) | OCI_CAP(CAP_FOWNER) |
    OCI_CAP(CAP_MKNOD) | OCI_CAP(CAP_NET_RAW) | OCI_CAP(CAP_SETGID) | OCI_CAP(CAP_SETUID) |
    OCI_CAP(CAP_SETFCAP) | OCI_CAP(CAP_SETPCAP) | OCI_CAP(CAP_NET_BIND_SERVICE) |
    OCI_CAP(CAP_SYS_CHROOT) | OCI_CAP(CAP_KILL) | OCI_CAP(CAP_AUDIT_WRITE);

struct cap_sets {
	uint64_t bounding;
	uint64_t effective;
	uint64_t permitted;
	uint64_t inheritable;
	uint64_t ambient;
};

/* Every capability this crib and the running kernel both know. */
static uint64_t all_caps(const struct spec_ctx *c)
{
	unsigned last = c->features.cap_last_cap;

	if (last >= crib_cri_cap_count())
		last = crib_cri_cap_count() - 1;
	return (OCI_CAP(last) - 1) | OCI_CAP(last);
}

static bool strv_has_all(char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i], "ALL") == 0)
			return true;
	return false;
}

/* The mask of the capabilities named in V, except "ALL". */
static int caps_mask(const struct spec_ctx *c, char *const *v, size_t n, const char *field,
                     uint64_t *ret)
{
	uint64_t m = 0;

	for (size_t i = 0; i < n; i++) {
		int cap;

		if (strcasecmp(v[i], "ALL") == 0)
			continue;
		cap = crib_cri_cap_parse(v[i]);
		if (cap < 0)
			return fail(c, EINVAL,
			            CTR_SC ".capabilities.%s[%zu] '%s': unknown capability", field,
			            i, v[i]);
		m |= OCI_CAP(cap);
	}
	*ret = m;
	return 0;
}

/*
 * As containerd: "ALL" in add or drop applies first, then the single adds,
 * then the single drops, which CRI says leave every set.  Ambient
 * capabilities join all the sets.
 */
static int requested_caps(const struct spec_ctx *c, const Runtime__V1__Capability *cap,
                          uint64_t *ret_set, uint64_t *ret_ambient)
{
	uint64_t set = default_caps, add, drop, ambient;
	int r;

	if (!cap) {
		*ret_set = set;
		*ret_ambient = 0;
		return 0;
	}
	if (strv_has_all(cap->add_capabilities, cap->n_add_capabilities))
		set = all_caps(c);
	if (strv_has_all(cap->drop_capabilities, cap->n_drop_capabilities))
		set = 0;
	r = caps_mask(c, cap->add_capabilities, cap->n_add_capabilities, "add_capabilities", &add);
	if (r >= 0)
		r = caps_mask(c, cap->add_ambient_capabilities, cap->n_add_ambient_capabilities,
		              "add_ambient_capabilities", &ambient);
	if (r >= 0)
		r = caps_mask(c, cap->drop_capabilities, cap->n_drop_capabilities,
		              "drop_capabilities", &drop);
	if (r < 0)
		return r;
	*ret_set = (set | add | ambient) & ~drop;
	*ret_ambient = ambient & ~drop;
	return 0;
}

static int container_caps(const struct spec_ctx *c,
                          const Runtime__V1__LinuxContainerSecurityContext *sc, uint32_t uid,
                          struct cap_sets *ret)
{
	uint64_t set = all_caps(c), ambient = 0;
	int r;

	if (!sc || !sc->privileged) {
		r = requested_caps(c, sc ? sc->capabilities : NULL, &set, &ambient);
		if (r < 0)
			return r;
	}
	*ret = (struct cap_sets){
	    .bounding = set,
	    .effective = set,
	    .permitted = set,
	    .inheritable = ambient,
	    .ambient = ambient,
	};
	/*
	 * execve() leaves a non-root process only its ambient capabilities
	 * anyway; the spec says so instead of relying on it.
	 */
	if (uid != 0)
		ret->effective = ret->permitted = ambient;
	return 0;
}

static json_t *caps_json(uint64_t m)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < crib_cri_cap_count(); i++)
		if ((m & OCI_CAP(i)) && arr_add(a, json_string(crib_cri_cap_name(i))) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static int set_caps(const struct spec_ctx *c, json_t *process, const struct cap_sets *in)
{
	/*
	 * Only what cribd itself may hand on: root here can lack some (no
	 * CAP_SYS_RESOURCE in this kind of VM), and runc then fails the whole
	 * container ("unable to apply caps") instead of dropping them.
	 */
	uint64_t own = c->features.cap_bounding ? c->features.cap_bounding : UINT64_MAX;
	const struct cap_sets masked = {.bounding = in->bounding & own,
	                                .effective = in->effective & own,
	                                .permitted = in->permitted & own,
	                                .inheritable = in->inheritable & own,
	                                .ambient = in->ambient & own};
	const struct cap_sets *s = &masked;

	json_t *caps =
	    json_pack("{s:o, s:o, s:o, s:o, s:o}", "bounding", caps_json(s->bounding), "effective",
	              caps_json(s->effective), "permitted", caps_json(s->permitted), "inheritable",
	              caps_json(s->inheritable), "ambient", caps_json(s->ambient));

	return obj_set(process, "capabilities", caps) < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

/* ---- process: AppArmor and SELinux ---- */

/*
 * The deprecated string forms of the security profiles: CRI keeps them for
 * kubelets that still send only those.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static const char *ctr_apparmor_string(const Runtime__V1__LinuxContainerSecurityContext *sc)
{
	return sc->apparmor_profile;
}

static const char *ctr_seccomp_string(const Runtime__V1__LinuxContainerSecurityContext *sc)
{
	return sc->seccomp_profile_path;
}

static const char *pod_seccomp_string(const Runtime__V1__LinuxSandboxSecurityContext *sc)
{
	return sc ? sc->seccomp_profile_path : NULL;
}
#pragma GCC diagnostic pop

/* The AppArmor profile to ask for, or NULL for none. */
static int apparmor_profile(const struct spec_ctx *c,
                            const Runtime__V1__LinuxContainerSecurityContext *sc, const char **ret)
{
	const char *name;
	int r;

	/*
	 * RuntimeDefault (NULL) means no profile: Docker's and containerd's
	 * default is a profile they load into the kernel themselves, and crib
	 * loads none (that would need apparmor_parser and a policy crib would
	 * have to own).
	 */
	r = crib_cri_apparmor_profile(c->host, CTR_SC, sc->apparmor, ctr_apparmor_string(sc), &name,
	                              c->reterr);
	if (r < 0)
		return r;
	/* Without AppArmor "unconfined" is what every process is. */
	if (name && !c->features.apparmor && !streq(name, "unconfined"))
		return fail(c, ENOTSUP,
		            CTR_SC ".apparmor '%s': AppArmor is not enabled on this node", name);
	*ret = c->features.apparmor ? name : NULL;
	return 0;
}

/* The SELinux label "user:role:type[:level]", or NULL. */
static int selinux_label(const struct spec_ctx *c, const Runtime__V1__SELinuxOption *o, char **ret)
{
	*ret = NULL;
	if (!o || (isempty(o->user) && isempty(o->role) && isempty(o->type) && isempty(o->level)))
		return 0;
	/*
	 * Without SELinux (Debian's default) there is nothing to label, and a
	 * label would only make the runtime fail writing /proc/self/attr/exec.
	 */
	if (!c->features.selinux)
		return 0;
	if (isempty(o->user) || isempty(o->role) || isempty(o->type))
		return fail(c, EINVAL, CTR_SC ".selinux_options: user, role and type are needed");
	*ret = crib_xasprintf("%s:%s:%s%s%s", o->user, o->role, o->type,
	                      isempty(o->level) ? "" : ":", isempty(o->level) ? "" : o->level);
	return 0;
}

static int process_security(const struct spec_ctx *c,
                            const Runtime__V1__LinuxContainerSecurityContext *sc, json_t *process)
{
	_cleanup_free_ char *label = NULL;
	const char *profile = NULL;
	int r;

	/* A privileged container is confined by neither (CRI's definition of privileged). */
	if (!sc || sc->privileged)
		return 0;
	r = apparmor_profile(c, sc, &profile);
	if (r >= 0 && profile)
		r = set_str_field(c, process, "apparmorProfile", profile, CTR_SC ".apparmor");
	if (r >= 0)
		r = selinux_label(c, sc->selinux_options, &label);
	if (r >= 0 && label)
		r = set_str_field(c, process, "selinuxLabel", label, CTR_SC ".selinux_options");
	return r;
}

/* ---- mounts ---- */

struct default_mount {
	const char *destination;
	const char *type;
	const char *source;
	const char *const *options;
	bool ro_unless_privileged; /* "ro", or "rw" for privileged containers */
	bool container_only;
};

static const struct default_mount default_mounts[] = {
    {.destination = "/proc",
     .type = "proc",
     .source = "proc",
     .options = STRV("nosuid", "noexec", "nodev")},
    {.destination = "/dev",
     .type = "tmpfs",
     .source = "tmpfs",
     .options = STRV("nosuid", "strictatime", "mode=755", "size=65536k")},
    {.destination = "/dev/pts",
     .type = "devpts",
     .source = "devpts",
     .options = STRV("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")},
    {.destination = "/dev/shm",
     .type = "tmpfs",
     .source = "shm",
     .options = STRV("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")},
    {.destination = "/dev/mqueue",
     .type = "mqueue",
     .source = "mqueue",
     .options = STRV("nosuid", "noexec", "nodev")},
    {.destination = "/sys",
     .type = "sysfs",
     .source = "sysfs",
     .options = STRV("nosuid", "noexec", "nodev"),
     .ro_unless_privileged = true},
    /* Programs read their own limits there; with a cgroupns (v2) they see only their own. */
    {.destination = "/sys/fs/cgroup",
     .type = "cgroup",
     .source = "cgroup",
     .options = STRV("nosuid", "noexec", "nodev", "relatime"),
     .ro_unless_privileged = true,
     .container_only = true},
};

/* A mount with no options yet; -EINVAL when DEST or SOURCE is not UTF-8. */
static int mount_new(const char *dest, const char *type, const char *source, json_t **ret)
{
	_cleanup_(json_decrefp) json_t *m = json_pack("{s:s, s:[]}", "type", type, "options");
	int r;

	if (!m)
		return -ENOMEM;
	r = obj_set_str(m, "destination", dest);
	if (r >= 0)
		r = obj_set_str(m, "source", source);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

static json_t *mount_options(json_t *m)
{
	return json_object_get(m, "options");
}

static const char *mount_destination(json_t *m)
{
	return json_string_value(json_object_get(m, "destination"));
}

static bool mounts_have(json_t *mounts, const char *dest)
{
	return array_has(mounts, "destination", dest);
}

/* A default mount gives way to a user mount at its place, and everything under /dev to a /dev. */
static bool default_overridden(json_t *user, const char *dest)
{
	return user && (mounts_have(user, dest) ||
	                (starts_with(dest, "/dev/") && mounts_have(user, "/dev")));
}

static int add_default_mounts(const struct spec_ctx *c, json_t *mounts, json_t *user,
                              bool privileged, bool container)
{
	for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++) {
		const struct default_mount *d = &default_mounts[i];
		json_t *m = NULL;
		int r;

		if ((d->container_only && !container) || default_overridden(user, d->destination))
			continue;
		r = mount_new(d->destination, d->type, d->source, &m);
		for (const char *const *o = d->options; r >= 0 && *o; o++)
			r = arr_add_str(mount_options(m), *o);
		if (r >= 0 && d->ro_unless_privileged)
			r = arr_add_str(mount_options(m), privileged ? "rw" : "ro");
		if (r >= 0)
			r = arr_add(mounts, m);
		else
			json_decref(m);
		if (r < 0)
			return fail(c, -r, "Out of memory");
	}
	return 0;
}

/* The options of a CRI mount (selinux_relabel needs none: see cri_mount()). */
static int cri_mount_options(const struct spec_ctx *c, size_t i, const Runtime__V1__Mount *m,
                             json_t *opts)
{
	int r = arr_add_str(opts, "rbind");

	if (r >= 0)
		r = arr_add_str(opts, crib_cri_propagation(m->propagation));
	if (r >= 0)
		r = arr_add_str(opts, m->readonly ? "ro" : "rw");
	/* Kubelet sets it only when the class reports recursive read-only mounts. */
	if (r >= 0 && m->recursive_read_only)
		r = arr_add_str(opts, "rro");
	if (r < 0)
		return fail(c, -r, "Out of memory");
	for (size_t j = 0; j < m->n_mount_options; j++) {
		r = arr_add_str(opts, m->mount_options[j]);
		if (r < 0)
			return fail_json(c, r, "ContainerConfig.mounts[%zu].mount_options[%zu]", i,
			                 j);
	}
	return 0;
}

/*
 * A bind mount of a CRI Mount.  host_path must exist (kubelet creates what
 * it mounts; creating missing paths is a Docker legacy) and is resolved, as
 * CRI asks, so that a symbolic link mounts its target.  selinux_relabel is
 * ignored: crib runs on hosts without SELinux, where there is no label to
 * give the files.
 */
static int cri_mount(const struct spec_ctx *c, size_t i, const Runtime__V1__Mount *m, json_t *user)
{
	_cleanup_free_ char *dest = NULL, *src = NULL;
	json_t *mj = NULL;
	int r;

	/* Recursive read-only mounts and mount options are the runtime's: none refused here. */
	r = crib_cri_check_mount(c->host, i, m, NULL, c->reterr);
	if (r < 0)
		return r;
	dest = clean_path(m->container_path);
	if (!dest)
		return fail(c, EINVAL,
		            "ContainerConfig.mounts[%zu].container_path '%s': not absolute", i,
		            m->container_path);
	src = realpath(m->host_path, NULL);
	if (!src)
		return fail(c, errno, "ContainerConfig.mounts[%zu].host_path '%s' (for '%s'): %s",
		            i, m->host_path, dest, strerror(errno));
	r = mount_new(dest, "bind", src, &mj);
	if (r >= 0)
		r = arr_add(user, mj);
	if (r < 0)
		return fail_json(c, r, "ContainerConfig.mounts[%zu]", i);
	return cri_mount_options(c, i, m, mount_options(mj));
}

/* The pod's files, bound where the container does not mount something itself. */
static const struct pod_file {
	const char *destination;
	size_t offset;     /* of the host path in struct oci_pod_files */
	bool follows_root; /* read-only when the root filesystem is */
} pod_files[] = {
    {"/etc/hostname", offsetof(struct oci_pod_files, hostname), true},
    {"/etc/hosts", offsetof(struct oci_pod_files, hosts), true},
    {"/etc/resolv.conf", offsetof(struct oci_pod_files, resolv_conf), true},
    {"/dev/shm", offsetof(struct oci_pod_files, shm), false},
};

static int pod_file_mounts(const struct spec_ctx *c, const struct oci_pod_files *files,
                           bool readonly_root, json_t *user)
{
	for (size_t i = 0; i < ARRAY_SIZE(pod_files); i++) {
		const struct pod_file *f = &pod_files[i];
		const char *src =
		    *(const char *const *)(const void *)((const char *)files + f->offset);
		bool ro = f->follows_root && readonly_root;
		json_t *m = NULL;
		int r;

		if (!src || mounts_have(user, f->destination))
			continue;
		r = mount_new(f->destination, "bind", src, &m);
		if (r >= 0)
			r = arr_add(user, m);
		if (r >= 0)
			r = arr_add_str(mount_options(m), "rbind");
		if (r >= 0)
			r = arr_add_str(mount_options(m), "rprivate");
		if (r >= 0)
			r = arr_add_str(mount_options(m), ro ? "ro" : "rw");
		if (r < 0)
			return fail_json(c, r, "Pod file '%s'", src);
	}
	return 0;
}

struct mount_order {
	json_t *mount;
	size_t depth;
	size_t index;
};

static int cmp_mount_order(const void *a, const void *b)
{
	const struct mount_order *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Appends USER to MOUNTS parents first (stable), so that no mount hides a deeper one. */
static int append_sorted(const struct spec_ctx *c, json_t *mounts, json_t *user)
{
	size_t n = json_array_size(user);
	_cleanup_free_ struct mount_order *order = calloc(n ? n : 1, sizeof(*order));

	if (!order)
		return fail(c, ENOMEM, "Out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(user, i);

		order[i] = (struct mount_order){m, path_depth(mount_destination(m)), i};
	}
	qsort(order, n, sizeof(*order), cmp_mount_order);
	for (size_t i = 0; i < n; i++)
		if (json_array_append(mounts, order[i].mount) < 0)
			return fail(c, ENOMEM, "Out of memory");
	return 0;
}

/* containerd's choice: the root follows the strongest propagation a mount asks for. */
static int set_root_propagation(const struct spec_ctx *c, const Runtime__V1__ContainerConfig *cfg,
                                json_t *linux)
{
	Runtime__V1__MountPropagation max = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE;

	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (cfg->mounts[i]->propagation > max)
			max = cfg->mounts[i]->propagation;
	if (max == RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE)
		return 0;
	if (obj_set(linux, "rootfsPropagation", json_string(crib_cri_propagation(max))) < 0)
		return fail(c, ENOMEM, "Out of memory");
	return 0;
}

static int container_mounts(const struct spec_ctx *c, const struct oci_container_input *in,
                            bool readonly_root, bool privileged, json_t *spec)
{
	_cleanup_(json_decrefp) json_t *user = json_array();
	const Runtime__V1__ContainerConfig *cfg = in->config;
	json_t *mounts = json_object_get(spec, "mounts");
	int r;

	if (!user)
		return fail(c, ENOMEM, "Out of memory");
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		r = cri_mount(c, i, cfg->mounts[i], user);
		if (r < 0)
			return r;
	}
	r = pod_file_mounts(c, &in->files, readonly_root, user);
	if (r >= 0)
		r = add_default_mounts(c, mounts, user, privileged, true);
	if (r >= 0)
		r = append_sorted(c, mounts, user);
	if (r >= 0)
		r = set_root_propagation(c, cfg, spec_linux(spec));
	return r;
}

/* ---- devices ---- */

/* Where a container's devices go: linux.devices and, unless all are allowed, cgroup rules. */
struct device_sink {
	json_t *devices;
	json_t *rules; /* NULL: every device is allowed already (privileged) */
};

static json_t *device_json(const struct stat *st)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "type", S_ISBLK(st->st_mode) ? "b" : "c",
	                 "major", (json_int_t)major(st->st_rdev), "minor",
	                 (json_int_t)minor(st->st_rdev), "fileMode",
	                 (json_int_t)(st->st_mode & 07777), "uid", (json_int_t)st->st_uid, "gid",
	                 (json_int_t)st->st_gid);
}

/* Adds the device ST at PATH in the container, unless a device is there already. */
static int add_device(struct device_sink *s, const char *path, const struct stat *st,
                      const char *access)
{
	json_t *d;
	int r;

	/* A privileged container gets the host's devices and may name one of them again. */
	if (array_has(s->devices, "path", path))
		return 0;
	d = device_json(st);
	r = arr_add(s->devices, d);
	if (r >= 0)
		r = obj_set_str(d, "path", path);
	if (r >= 0 && s->rules)
		r = arr_add(s->rules, json_pack("{s:b, s:s, s:I, s:I, s:s}", "allow", 1, "type",
		                                S_ISBLK(st->st_mode) ? "b" : "c", "major",
		                                (json_int_t)major(st->st_rdev), "minor",
		                                (json_int_t)minor(st->st_rdev), "access", access));
	return r;
}

/* Directories of /dev that hold no devices of the host's own (containerd skips the same). */
static bool skipped_dev_entry(const char *name)
{
	static const char *const skip[] = {"pts",  "shm",         "fd",    "mqueue",
	                                   ".lxc", ".lxd-mounts", ".udev", "console"};

	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (streq(name, skip[i]))
			return true;
	return false;
}

/* Adds every device under HOST_DIR as the same name under CTR_DIR; symbolic links are skipped. */
static int add_device_dir(struct device_sink *s, const char *host_dir, const char *ctr_dir,
                          const char *access, unsigned depth)
{
	_cleanup_(closedirp) DIR *d = opendir(host_dir);
	struct dirent *e;
	int r;

	if (!d)
		return -errno;
	for (;;) {
		_cleanup_free_ char *host = NULL, *ctr = NULL;
		struct stat st;

		errno = 0;
		e = readdir(d);
		if (!e)
			return errno > 0 ? -errno : 0;
		if (streq(e->d_name, ".") || streq(e->d_name, "..") || skipped_dev_entry(e->d_name))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		host = crib_xasprintf("%s/%s", host_dir, e->d_name);
		ctr = crib_xasprintf("%s/%s", streq(ctr_dir, "/") ? "" : ctr_dir, e->d_name);
		if (S_ISDIR(st.st_mode) && depth < DEVICE_DEPTH_MAX)
			r = add_device_dir(s, host, ctr, access, depth + 1);
		else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			r = add_device(s, ctr, &st, access);
		else
			r = 0;
		if (r < 0)
			return r;
	}
}

/*
 * A CRI device: a device node, or a directory whose devices are all added
 * (as containerd does).  The host path may be a symbolic link to the node.
 */
static int cri_device(const struct spec_ctx *c, size_t i, const Runtime__V1__Device *dev,
                      struct device_sink *s)
{
	_cleanup_free_ char *ctr = clean_path(dev->container_path);
	const char *access;
	struct stat st;
	int r;

	if (!ctr)
		return fail(c, EINVAL,
		            "ContainerConfig.devices[%zu].container_path '%s': not absolute", i,
		            dev->container_path);
	r = crib_cri_device_access(c->host, i, dev, &access, c->reterr);
	if (r < 0)
		return r;
	if (stat(dev->host_path, &st) < 0)
		return fail(c, errno, "ContainerConfig.devices[%zu].host_path '%s': %s", i,
		            dev->host_path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		r = add_device_dir(s, dev->host_path, ctr, access, 0);
	else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		r = add_device(s, ctr, &st, access);
	else
		return fail(c, EINVAL, "ContainerConfig.devices[%zu].host_path '%s': not a device",
		            i, dev->host_path);
	if (r < 0)
		return r == -EINVAL ? fail_json(c, r, "ContainerConfig.devices[%zu]", i)
		                    : fail(c, -r, "ContainerConfig.devices[%zu].host_path '%s': %s",
		                           i, dev->host_path, strerror(-r));
	return 0;
}

/*
 * linux.devices and the device cgroup rules: everything denied but the CRI
 * devices (the runtime adds its defaults, /dev/null and friends, itself), or
 * for a privileged container every device of the host, all allowed.
 */
static int container_devices(const struct spec_ctx *c, const Runtime__V1__ContainerConfig *cfg,
                             bool privileged, json_t *linux)
{
	json_t *resources = json_object_get(linux, "resources");
	struct device_sink s = {0};
	int r;

	r = obj_add_new(linux, "devices", json_array(), &s.devices);
	if (r >= 0)
		r = obj_add_new(resources, "devices", json_array(), &s.rules);
	if (r >= 0)
		r = arr_add(s.rules, json_pack("{s:b, s:s}", "allow", privileged, "access", "rwm"));
	if (r < 0)
		return fail(c, ENOMEM, "Out of memory");
	if (privileged) {
		s.rules = NULL;
		r = add_device_dir(&s, "/dev", "/dev", "rwm", 0);
		if (r < 0)
			return fail(c, -r, "Failed to list the host's devices in /dev: %s",
			            strerror(-r));
	}
	for (size_t i = 0; i < cfg->n_devices; i++) {
		r = cri_device(c, i, cfg->devices[i], &s);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- namespaces ---- */

static int ns_add(json_t *nss, const char *type, const char *path)
{
	json_t *ns = json_pack("{s:s}", "type", type);
	int r = arr_add(nss, ns);

	if (r >= 0 && path)
		r = obj_set_str(ns, "path", path);
	return r;
}

static int ns_join(const struct spec_ctx *c, json_t *nss, const char *type, const char *path)
{
	int r;

	if (isempty(path))
		return fail(c, EINVAL, "No %s namespace of the pod to join", type);
	r = ns_add(nss, type, path);
	if (r == -EINVAL)
		return fail(c, EINVAL, "Namespace path '%s': not valid UTF-8", path);
	return r < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

static int ns_new(const struct spec_ctx *c, json_t *nss, const char *type)
{
	return ns_add(nss, type, NULL) < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

/* The pid namespace of a container; TARGET joins the target's, which the caller found. */
static int container_pid_ns(const struct spec_ctx *c, const struct oci_container_input *in,
                            Runtime__V1__NamespaceMode mode, json_t *nss)
{
	switch (mode) {
	case NS_POD:
		if (!in->ns.pid)
			return fail(c, EINVAL,
			            CTR_SC ".namespace_options.pid POD: the pod sandbox does not "
			                   "share a PID namespace (its own namespace_options.pid)");
		return ns_join(c, nss, "pid", in->ns.pid);
	case NS_CONTAINER:
		return ns_new(c, nss, "pid");
	case NS_NODE:
		return 0;
	case NS_TARGET: {
		char path[64];

		if (in->target_pid <= 0)
			return fail(c, ENOTSUP,
			            CTR_SC ".namespace_options.pid TARGET: no process of "
			                   "the target container known");
		(void)snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)in->target_pid);
		return ns_join(c, nss, "pid", path);
	}
	default:
		return fail(c, EINVAL, CTR_SC ".namespace_options.pid %d: unknown", (int)mode);
	}
}

/*
 * A container joins its pod's namespaces.  The UTS namespace goes with the
 * network: with the node's network a pod keeps the node's host name.
 */
static int container_namespaces(const struct spec_ctx *c, const struct oci_container_input *in,
                                const struct crib_cri_ns_modes *m, bool privileged, json_t *linux)
{
	json_t *nss = json_object_get(linux, "namespaces");
	int r = 0;

	if (m->network != NS_NODE) {
		r = ns_join(c, nss, "network", in->ns.net);
		if (r >= 0)
			r = ns_join(c, nss, "uts", in->ns.uts);
	}
	if (r >= 0 && m->ipc != NS_NODE)
		r = ns_join(c, nss, "ipc", in->ns.ipc);
	if (r >= 0)
		r = container_pid_ns(c, in, m->pid, nss);
	if (r >= 0)
		r = ns_new(c, nss, "mount");
	/* As containerd: on cgroup v2 a container sees only its own cgroup, unless privileged. */
	if (r >= 0 && c->features.cgroup2 && !privileged)
		r = ns_new(c, nss, "cgroup");
	return r;
}

static int sandbox_namespaces(const struct spec_ctx *c, const struct oci_sandbox_input *in,
                              const struct crib_cri_ns_modes *m, json_t *linux)
{
	json_t *nss = json_object_get(linux, "namespaces");
	int r = 0;

	if (m->network != NS_NODE) {
		r = ns_add(nss, "network", in->netns_path);
		if (r == -EINVAL)
			return fail(c, EINVAL, "Network namespace path '%s': not valid UTF-8",
			            in->netns_path);
		if (r >= 0)
			r = ns_add(nss, "uts", NULL);
	}
	if (r >= 0 && m->ipc != NS_NODE)
		r = ns_add(nss, "ipc", NULL);
	/* Even for pid CONTAINER: the infra process has its own, which nobody joins then. */
	if (r >= 0 && m->pid != NS_NODE)
		r = ns_add(nss, "pid", NULL);
	if (r >= 0)
		r = ns_add(nss, "mount", NULL);
	if (r >= 0 && c->features.cgroup2)
		r = ns_add(nss, "cgroup", NULL);
	return r < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

/* ---- sysctls ---- */

/* The pod's sysctls, each only in a namespace the pod does not share with the node. */
static int add_sysctls(const struct spec_ctx *c, const Runtime__V1__PodSandboxConfig *pod,
                       const struct crib_cri_ns_modes *m, json_t *linux)
{
	const Runtime__V1__LinuxPodSandboxConfig *lx = pod->linux;
	json_t *sysctl;
	int r;

	if (!lx || lx->n_sysctls == 0)
		return 0;
	r = obj_add_new(linux, "sysctl", json_object(), &sysctl);
	if (r < 0)
		return fail(c, ENOMEM, "Out of memory");
	for (size_t i = 0; i < lx->n_sysctls; i++) {
		const char *key = lx->sysctls[i]->key;

		r = crib_cri_sysctl_check(c->host, key, m, c->reterr);
		if (r < 0)
			return r;
		r = obj_set_str(sysctl, key, lx->sysctls[i]->value);
		if (r < 0)
			return fail_json(c, r, "PodSandboxConfig.linux.sysctls '%s'", key);
	}
	return 0;
}

/* ---- masked and read-only paths, seccomp ---- */

static const char *const default_masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
    "/sys/devices/virtual/powercap",
    NULL,
};

static const char *const default_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* GIVEN when CRI gives any (kubelet sends its own defaults), else crib's. */
static int set_paths(const struct spec_ctx *c, json_t *linux, const char *key, char *const *given,
                     size_t n, const char *const *defaults, const char *field)
{
	json_t *a;
	int r;

	r = obj_add_new(linux, key, json_array(), &a);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = arr_add_str(a, given[i]);
		if (r < 0)
			return fail_json(c, r, "%s[%zu]", field, i);
	}
	for (const char *const *p = defaults; r >= 0 && n == 0 && *p; p++)
		r = arr_add_str(a, *p);
	return r < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

static int set_default_paths(const struct spec_ctx *c, json_t *linux)
{
	int r = set_paths(c, linux, "maskedPaths", NULL, 0, default_masked_paths, "");

	return r < 0 ? r
	             : set_paths(c, linux, "readonlyPaths", NULL, 0, default_readonly_paths, "");
}

static int set_seccomp(const struct spec_ctx *c, const char *field,
                       const Runtime__V1__SecurityProfile *profile, const char *deprecated_path,
                       uint64_t caps, json_t *linux)
{
	json_t *seccomp = NULL;
	int r;

	r = oci_seccomp_select(c->host, field, profile, deprecated_path, caps, &seccomp, c->reterr);
	if (r < 0 || !seccomp)
		return r;
	return obj_set(linux, "seccomp", seccomp) < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

/* ---- annotations ---- */

static int set_annotation(const struct spec_ctx *c, json_t *spec, const char *key,
                          const char *value, const char *field)
{
	int r = obj_set_str(json_object_get(spec, "annotations"), key, value);

	return r < 0 ? fail_json(c, r, "%s '%s'", field, key) : 0;
}

/* The io.kubernetes.cri.sandbox-* annotations both kinds of spec carry. */
static int sandbox_annotations(const struct spec_ctx *c, const Runtime__V1__PodSandboxConfig *pod,
                               const char *sandbox_id, json_t *spec)
{
	const Runtime__V1__PodSandboxMetadata *md = pod->metadata;
	int r = set_annotation(c, spec, ANNOTATION("sandbox-id"), sandbox_id, "Sandbox id");

	if (r >= 0 && md)
		r = set_annotation(c, spec, ANNOTATION("sandbox-name"), md->name,
		                   "PodSandboxConfig.metadata.name");
	if (r >= 0 && md)
		r = set_annotation(c, spec, ANNOTATION("sandbox-namespace"), md->namespace_,
		                   "PodSandboxConfig.metadata.namespace");
	if (r >= 0 && md)
		r = set_annotation(c, spec, ANNOTATION("sandbox-uid"), md->uid,
		                   "PodSandboxConfig.metadata.uid");
	return r;
}

static int container_annotations(const struct spec_ctx *c, const struct oci_container_input *in,
                                 json_t *spec)
{
	const Runtime__V1__ContainerConfig *cfg = in->config;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < cfg->n_annotations; i++)
		r = set_annotation(c, spec, cfg->annotations[i]->key, cfg->annotations[i]->value,
		                   "ContainerConfig.annotations");
	if (r >= 0)
		r = set_annotation(c, spec, ANNOTATION("container-type"), "container", "");
	if (r >= 0 && cfg->metadata)
		r = set_annotation(c, spec, ANNOTATION("container-name"), cfg->metadata->name,
		                   "ContainerConfig.metadata.name");
	if (r >= 0 && cfg->image && !isempty(cfg->image->image))
		r = set_annotation(c, spec, ANNOTATION("image-name"), cfg->image->image,
		                   "ContainerConfig.image.image");
	if (r >= 0)
		r = sandbox_annotations(c, in->pod, in->sandbox_id, spec);
	return r;
}

static int pod_annotations(const struct spec_ctx *c, const struct oci_sandbox_input *in,
                           json_t *spec)
{
	const Runtime__V1__PodSandboxConfig *pod = in->pod;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < pod->n_annotations; i++)
		r = set_annotation(c, spec, pod->annotations[i]->key, pod->annotations[i]->value,
		                   "PodSandboxConfig.annotations");
	if (r >= 0)
		r = set_annotation(c, spec, ANNOTATION("container-type"), "sandbox", "");
	if (r >= 0 && !isempty(pod->log_directory))
		r = set_annotation(c, spec, ANNOTATION("sandbox-log-directory"), pod->log_directory,
		                   "PodSandboxConfig.log_directory");
	if (r >= 0)
		r = sandbox_annotations(c, pod, in->sandbox_id, spec);
	return r;
}

/* ---- resources ---- */

#define RES "LinuxContainerResources"

static int resources_cpu(const struct spec_ctx *c, const Runtime__V1__LinuxContainerResources *r,
                         json_t *res)
{
	_cleanup_(json_decrefp) json_t *cpu = json_object();
	int q = cpu ? 0 : -ENOMEM;

	if (r->cpu_shares < 0)
		return fail(c, EINVAL, RES ".cpu_shares %lld: negative", (long long)r->cpu_shares);
	if (r->cpu_period < 0)
		return fail(c, EINVAL, RES ".cpu_period %lld: negative", (long long)r->cpu_period);
	if (q >= 0 && r->cpu_shares > 0)
		q = obj_set(cpu, "shares", json_integer(r->cpu_shares));
	if (q >= 0 && r->cpu_quota != 0)
		q = obj_set(cpu, "quota", json_integer(r->cpu_quota));
	if (q >= 0 && r->cpu_period > 0)
		q = obj_set(cpu, "period", json_integer(r->cpu_period));
	if (q < 0)
		return fail(c, ENOMEM, "Out of memory");
	if (!isempty(r->cpuset_cpus))
		q = set_str_field(c, cpu, "cpus", r->cpuset_cpus, RES ".cpuset_cpus");
	if (q >= 0 && !isempty(r->cpuset_mems))
		q = set_str_field(c, cpu, "mems", r->cpuset_mems, RES ".cpuset_mems");
	if (q >= 0 && json_object_size(cpu) > 0 && obj_set(res, "cpu", TAKE_PTR(cpu)) < 0)
		q = fail(c, ENOMEM, "Out of memory");
	return q;
}

/*
 * No limit (0) leaves memory out.  Without a swap limit, swap equals the
 * limit: no swap, as containerd does it.
 */
static int resources_memory(const struct spec_ctx *c, const Runtime__V1__LinuxContainerResources *r,
                            json_t *res)
{
	int q = crib_cri_check_memory(c->host, r, c->reterr);

	if (q < 0 || r->memory_limit_in_bytes == 0)
		return q;
	if (obj_set(res, "memory",
	            json_pack("{s:I, s:I}", "limit", (json_int_t)r->memory_limit_in_bytes, "swap",
	                      (json_int_t)crib_cri_swap_limit(r))) < 0)
		return fail(c, ENOMEM, "Out of memory");
	return 0;
}

static int resources_hugepages(const struct spec_ctx *c,
                               const Runtime__V1__LinuxContainerResources *r, json_t *res)
{
	json_t *a;
	int q;

	if (r->n_hugepage_limits == 0)
		return 0;
	q = obj_add_new(res, "hugepageLimits", json_array(), &a);
	for (size_t i = 0; q >= 0 && i < r->n_hugepage_limits; i++) {
		const Runtime__V1__HugepageLimit *h = r->hugepage_limits[i];
		json_t *o;

		if (isempty(h->page_size))
			return fail(c, EINVAL, RES ".hugepage_limits[%zu].page_size: empty", i);
		if (h->limit > INT64_MAX)
			return fail(c, EINVAL, RES ".hugepage_limits[%zu].limit: too large", i);
		o = json_pack("{s:I}", "limit", (json_int_t)h->limit);
		q = arr_add(a, o);
		if (q >= 0)
			q = obj_set_str(o, "pageSize", h->page_size);
		if (q < 0)
			return fail_json(c, q, RES ".hugepage_limits[%zu].page_size", i);
	}
	return q < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

static int resources_unified(const struct spec_ctx *c,
                             const Runtime__V1__LinuxContainerResources *r, json_t *res)
{
	json_t *u;
	int q;

	if (r->n_unified == 0)
		return 0;
	q = obj_add_new(res, "unified", json_object(), &u);
	if (q < 0)
		return fail(c, ENOMEM, "Out of memory");
	for (size_t i = 0; i < r->n_unified; i++) {
		const char *key = r->unified[i]->key;

		if (isempty(key) || strchr(key, '/'))
			return fail(c, EINVAL, RES ".unified '%s': not a cgroup file name", key);
		q = obj_set_str(u, key, r->unified[i]->value);
		if (q < 0)
			return fail_json(c, q, RES ".unified '%s'", key);
	}
	return 0;
}

static int resources_fill(const struct spec_ctx *c, const Runtime__V1__LinuxContainerResources *r,
                          json_t *res)
{
	int q = crib_cri_check_oom_score_adj(c->host, r, c->reterr);

	if (q >= 0)
		q = resources_cpu(c, r, res);
	if (q >= 0)
		q = resources_memory(c, r, res);
	if (q >= 0)
		q = resources_hugepages(c, r, res);
	if (q >= 0)
		q = resources_unified(c, r, res);
	return q;
}

int oci_spec_resources(const struct crib_host *host, const Runtime__V1__LinuxContainerResources *r,
                       int own_oom_score_adj, json_t **ret, struct crib_error **reterr)
{
	/* Resources need no host features; probing would only cost. */
	struct spec_ctx c = {.host = host, .reterr = reterr};
	_cleanup_(json_decrefp) json_t *res = json_object();
	int q;

	(void)own_oom_score_adj;
	if (!res)
		return fail(&c, ENOMEM, "Out of memory");
	if (r) {
		q = resources_fill(&c, r, res);
		if (q < 0)
			return q;
	}
	*ret = TAKE_PTR(res);
	return 0;
}

int oci_oom_score_adj(const Runtime__V1__LinuxContainerResources *r, int own_oom_score_adj)
{
	return crib_cri_oom_score_adj(r ? r->oom_score_adj : 0, own_oom_score_adj);
}

/* Merges RES (stolen) into linux.resources, which may hold devices already. */
static int set_resources(const struct spec_ctx *c, json_t *linux, json_t *res)
{
	int r = json_object_update(json_object_get(linux, "resources"), res);

	json_decref(res);
	return r < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

/* ---- the container ---- */

static int container_process(const struct spec_ctx *c, const struct oci_container_input *in,
                             const struct image_config *img, json_t *spec, uint64_t *ret_bounding)
{
	const Runtime__V1__LinuxContainerSecurityContext *sc = crib_cri_container_sc(in->config);
	json_t *process = spec_process(spec);
	struct user_fields uf = {0};
	struct cap_sets caps;
	uint32_t uid = 0;
	int r;

	if (sc)
		uf = (struct user_fields){
		    .run_as_user = sc->run_as_user,
		    .run_as_group = sc->run_as_group,
		    .run_as_username = sc->run_as_username,
		    .supplemental_groups = sc->supplemental_groups,
		    .n_supplemental_groups = sc->n_supplemental_groups,
		    .strict = sc->supplemental_groups_policy ==
		              RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Strict,
		};
	r = process_args(c, in->config, img, process);
	if (r >= 0)
		r = process_env(c, in, img, process);
	if (r >= 0)
		r = process_cwd(c, in->config, img, process);
	if (r >= 0)
		r = process_user(c, in->rootfs, &uf, CTR_SC, img->user, process, &uid);
	if (r >= 0)
		r = container_caps(c, sc, uid, &caps);
	if (r >= 0)
		r = set_caps(c, process, &caps);
	if (r >= 0)
		r = process_security(c, sc, process);
	if (r < 0)
		return r;
	if (obj_set(process, "terminal", json_boolean(in->config->tty)) < 0 ||
	    obj_set(process, "noNewPrivileges", json_boolean(sc && sc->no_new_privs)) < 0 ||
	    obj_set(process, "oomScoreAdj",
	            json_integer(oci_oom_score_adj(crib_cri_container_resources(in->config),
	                                           in->own_oom_score_adj))) < 0)
		return fail(c, ENOMEM, "Out of memory");
	*ret_bounding = caps.bounding;
	return 0;
}

static int container_security_paths(const struct spec_ctx *c,
                                    const Runtime__V1__LinuxContainerSecurityContext *sc,
                                    uint64_t bounding, json_t *linux)
{
	int r;

	if (sc && sc->privileged)
		return 0; /* nothing masked, no seccomp: CRI's privileged */
	if (!sc)
		return set_default_paths(c,
		                         linux); /* and no seccomp: CRI's default is unconfined */
	r = set_paths(c, linux, "maskedPaths", sc->masked_paths, sc->n_masked_paths,
	              default_masked_paths, CTR_SC ".masked_paths");
	if (r >= 0)
		r = set_paths(c, linux, "readonlyPaths", sc->readonly_paths, sc->n_readonly_paths,
		              default_readonly_paths, CTR_SC ".readonly_paths");
	if (r >= 0)
		r = set_seccomp(c, CTR_SC, sc->seccomp, ctr_seccomp_string(sc), bounding, linux);
	return r;
}

static int container_linux(const struct spec_ctx *c, const struct oci_container_input *in,
                           uint64_t bounding, json_t *spec)
{
	const Runtime__V1__LinuxContainerSecurityContext *sc = crib_cri_container_sc(in->config);
	bool privileged = sc && sc->privileged;
	json_t *linux = spec_linux(spec);
	json_t *res = NULL;
	struct crib_cri_ns_modes m;
	int r;

	r = crib_cri_ns_modes(c->host, sc ? sc->namespace_options : NULL, CTR_SC, &m, c->reterr);
	if (r >= 0)
		r = container_namespaces(c, in, &m, privileged, linux);
	if (r >= 0)
		r = container_devices(c, in->config, privileged, linux);
	if (r >= 0)
		r = oci_spec_resources(c->host, crib_cri_container_resources(in->config),
		                       in->own_oom_score_adj, &res, c->reterr);
	if (r >= 0)
		r = set_resources(c, linux, res);
	if (r >= 0)
		r = container_security_paths(c, sc, bounding, linux);
	if (r >= 0)
		r = add_sysctls(c, in->pod, &m, linux);
	if (r >= 0 && in->cgroups_path)
		r = set_str_field(c, linux, "cgroupsPath", in->cgroups_path, "cgroupsPath");
	return r;
}

int oci_spec_container(const struct crib_host *host, const struct oci_container_input *in,
                       json_t **ret, struct crib_error **reterr)
{
	const Runtime__V1__LinuxContainerSecurityContext *sc = crib_cri_container_sc(in->config);
	_cleanup_(image_config_clear) struct image_config img = {0};
	_cleanup_(json_decrefp) json_t *spec = NULL;
	uint64_t bounding = 0;
	struct spec_ctx c;
	int r;

	assert(in->rootfs && in->sandbox_id);
	ctx_init(&c, host, in->features, reterr);
	r = crib_cri_check_privileged(host, in->config, in->pod, reterr);
	if (r >= 0)
		r = image_config_parse(&c, in->image_config, &img);
	if (r >= 0)
		r = spec_new(&c, in->rootfs, sc && sc->readonly_rootfs, &spec);
	if (r >= 0)
		r = container_process(&c, in, &img, spec, &bounding);
	if (r >= 0)
		r = container_mounts(&c, in, sc && sc->readonly_rootfs, sc && sc->privileged, spec);
	if (r >= 0)
		r = container_linux(&c, in, bounding, spec);
	if (r >= 0)
		r = container_annotations(&c, in, spec);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(spec);
	return 0;
}

/* ---- the sandbox ---- */

/*
 * The infra process needs no capability: it only waits for signals and
 * reaps.  Its user comes from the pod's security context; its root holds no
 * /etc, so ids stay numeric.
 */
static int sandbox_process(const struct spec_ctx *c, const struct oci_sandbox_input *in,
                           json_t *spec)
{
	const Runtime__V1__LinuxSandboxSecurityContext *sc = crib_cri_pod_sc(in->pod);
	json_t *process = spec_process(spec);
	struct cap_sets none = {0};
	struct user_fields uf = {0};
	uint32_t uid;
	int r;

	if (sc)
		uf = (struct user_fields){
		    .run_as_user = sc->run_as_user,
		    .run_as_group = sc->run_as_group,
		    .supplemental_groups = sc->supplemental_groups,
		    .n_supplemental_groups = sc->n_supplemental_groups,
		    .strict = true,
		};
	r = process_user(c, NULL, &uf, POD_SC, NULL, process, &uid);
	if (r >= 0)
		r = set_caps(c, process, &none);
	if (r < 0)
		return r;
	if (obj_set(process, "args", json_pack("[s]", "/pause")) < 0 ||
	    arr_add_str(json_object_get(process, "env"), DEFAULT_PATH) < 0 ||
	    obj_set(process, "noNewPrivileges", json_true()) < 0 ||
	    obj_set(process, "oomScoreAdj",
	            json_integer(CRIB_CRI_SANDBOX_OOM_SCORE_ADJ > in->own_oom_score_adj
	                             ? CRIB_CRI_SANDBOX_OOM_SCORE_ADJ
	                             : in->own_oom_score_adj)) < 0)
		return fail(c, ENOMEM, "Out of memory");
	return 0;
}

static int sandbox_linux(const struct spec_ctx *c, const struct oci_sandbox_input *in,
                         const struct crib_cri_ns_modes *m, json_t *spec)
{
	const Runtime__V1__LinuxSandboxSecurityContext *sc = crib_cri_pod_sc(in->pod);
	json_t *linux = spec_linux(spec);
	json_t *res = json_object_get(linux, "resources");
	int r;

	r = sandbox_namespaces(c, in, m, linux);
	if (r >= 0 &&
	    (obj_set(res, "devices", json_pack("[{s:b, s:s}]", "allow", 0, "access", "rwm")) < 0 ||
	     obj_set(res, "cpu", json_pack("{s:i}", "shares", CRIB_CRI_SANDBOX_CPU_SHARES)) < 0))
		r = fail(c, ENOMEM, "Out of memory");
	if (r >= 0)
		r = add_sysctls(c, in->pod, m, linux);
	if (r >= 0)
		r = set_default_paths(c, linux);
	/* The infra process has no capabilities: the profile for an empty bounding set. */
	if (r >= 0 && !(sc && sc->privileged))
		r = set_seccomp(c, POD_SC, sc ? sc->seccomp : NULL, pod_seccomp_string(sc), 0,
		                linux);
	if (r >= 0 && in->cgroups_path)
		r = set_str_field(c, linux, "cgroupsPath", in->cgroups_path, "cgroupsPath");
	return r;
}

int oci_spec_sandbox(const struct crib_host *host, const struct oci_sandbox_input *in, json_t **ret,
                     struct crib_error **reterr)
{
	const Runtime__V1__LinuxSandboxSecurityContext *sc = crib_cri_pod_sc(in->pod);
	_cleanup_(json_decrefp) json_t *spec = NULL;
	struct spec_ctx c;
	struct crib_cri_ns_modes m;
	int r;

	assert(in->rootfs && in->sandbox_id);
	ctx_init(&c, host, in->features, reterr);
	r = crib_cri_ns_modes(c.host, sc ? sc->namespace_options : NULL, POD_SC, &m, c.reterr);
	if (r >= 0)
		r = spec_new(&c, in->rootfs, true, &spec);
	if (r >= 0)
		r = sandbox_process(&c, in, spec);
	/* The host name needs the pod's own UTS namespace, which goes with its network. */
	if (r >= 0 && m.network != NS_NODE && !isempty(in->pod->hostname))
		r = set_str_field(&c, spec, "hostname", in->pod->hostname,
		                  "PodSandboxConfig.hostname");
	if (r >= 0)
		r = add_default_mounts(&c, json_object_get(spec, "mounts"), NULL, false, false);
	if (r >= 0)
		r = sandbox_linux(&c, in, &m, spec);
	if (r >= 0)
		r = pod_annotations(&c, in, spec);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(spec);
	return 0;
}

int oci_spec_pod_sysctls(const struct crib_host *host, const Runtime__V1__PodSandboxConfig *pod,
                         json_t **ret, struct crib_error **reterr)
{
	const Runtime__V1__LinuxSandboxSecurityContext *sc = crib_cri_pod_sc(pod);
	_cleanup_(json_decrefp) json_t *linux = json_object();
	static const struct oci_host_features unused; /* sysctls depend on no feature */
	struct spec_ctx c;
	struct crib_cri_ns_modes m;
	int r;

	ctx_init(&c, host, &unused, reterr);
	if (!linux)
		return fail(&c, ENOMEM, "Out of memory");
	r = crib_cri_ns_modes(c.host, sc ? sc->namespace_options : NULL, POD_SC, &m, c.reterr);
	if (r >= 0)
		r = add_sysctls(&c, pod, &m, linux);
	if (r < 0)
		return r;
	*ret = json_object_get(linux, "sysctl");
	*ret = *ret ? json_incref(*ret) : json_object();
	return *ret ? 0 : fail(&c, ENOMEM, "Out of memory");
}
