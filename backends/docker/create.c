/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Engine create bodies (POST /containers/create, API 1.41) from CRI configs.
 *
 * Where CRI leaves a choice open, crib makes cri-dockerd's (dockershim's), so
 * that a pod behaves as it did on dockershim: the sandbox owns the pod's
 * network, IPC and UTS namespaces, containers join them as
 * "container:<sandbox>", and security contexts become HostConfig members and
 * SecurityOpt strings.  The checks both backends make are shared with the
 * oci backend (backends/common/crirules.c), and the rest follow spec.c's
 * messages, so that a config is refused for the same reason, naming the
 * same CRI field, on either backend.  What the Engine's API cannot express
 * (ambient capabilities, ID-mapped, image and recursive read-only mounts,
 * CDI devices, the Strict supplemental groups policy) is refused with
 * ENOTSUP rather than dropped: kubelet asks for those only when a runtime
 * claims them.
 *
 * OOM policy (broker/util.h): a body is sized by kubelet's request, so
 * jansson's allocation failures become -ENOMEM; names and copies of short
 * strings the request holds use the aborting crib_x*() helpers.  jansson
 * refuses strings that are not UTF-8, which protobuf-c lets through: those
 * become -EINVAL naming the field.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crirules.h"
#include "docker.h"
#include "util.h"

#define POD_SC "PodSandboxConfig.linux.security_context"
#define CTR_SC "ContainerConfig.linux.security_context"
#define RES    "LinuxContainerResources"

/* Labels under this prefix are crib's: a CRI label there is left out. */
#define OWN_LABEL_PREFIX "io.crib."
/* What dockershim named the sandbox in io.kubernetes.container.name, which cAdvisor reads. */
#define SANDBOX_CONTAINER_NAME "POD"

/* The kernel's ranges (cpu.shares; CFS period and quota in microseconds). */
#define CPU_SHARES_MAX 262144
#define CFS_PERIOD_MIN 1000
#define CFS_PERIOD_MAX 1000000
#define CFS_QUOTA_MIN  1000

/* Localhost seccomp profiles are read up to this size, as the oci backend reads them. */
#define SECCOMP_FILE_MAX (1024 * 1024)

#define NS_POD       RUNTIME__V1__NAMESPACE_MODE__POD
#define NS_CONTAINER RUNTIME__V1__NAMESPACE_MODE__CONTAINER
#define NS_NODE      RUNTIME__V1__NAMESPACE_MODE__NODE

struct body_ctx {
	const struct crib_host *host;
	struct crib_error **reterr;
	char *const *node_caps; /* see docker_sandbox_input */
	size_t n_node_caps;
};

/* ---- errors and JSON building ---- */

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* FMT formatted into a new string, or NULL without memory. */
static char *vformat(const char *fmt, va_list ap)
{
	char *s;

	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

static int fail(const struct body_ctx *c, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const struct body_ctx *c, int errnum, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	return c->host->error_set(c->reterr, errnum, "%s", msg ? msg : "Out of memory");
}

/* Reports R, a failed insertion of the client's data at the field FMT names. */
static int fail_json(const struct body_ctx *c, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_json(const struct body_ctx *c, int r, const char *fmt, ...)
{
	_cleanup_free_ char *field = NULL;
	va_list ap;

	va_start(ap, fmt);
	field = vformat(fmt, ap);
	va_end(ap);
	if (r == -EINVAL)
		return fail(c, EINVAL, "%s: not valid UTF-8", field ? field : "A field");
	return fail(c, ENOMEM, "%s: out of memory", field ? field : "A field");
}

/*
 * A JSON string of the client's S; -EINVAL when S is not UTF-8.  jansson has
 * no public check: a string it refuses but takes unchecked is not UTF-8.
 */
static int str_new(const char *s, json_t **ret)
{
	json_t *v = json_string(s);
	bool not_utf8;

	if (v) {
		*ret = v;
		return 0;
	}
	v = json_string_nocheck(s);
	not_utf8 = v != NULL;
	json_decref(v);
	return not_utf8 ? -EINVAL : -ENOMEM;
}

/* Sets KEY to V (stolen; NULL stands for a failed allocation). */
static int obj_set(json_t *o, const char *key, json_t *v)
{
	json_t *k = NULL;
	int r;

	if (!v)
		return -ENOMEM;
	if (json_object_set_new(o, key, v) == 0)
		return 0;
	/* Refused for the key's sake, or for memory. */
	r = str_new(key, &k);
	json_decref(k);
	return r < 0 ? r : -ENOMEM;
}

static int obj_set_str(json_t *o, const char *key, const char *s)
{
	json_t *v = NULL;
	int r = str_new(s, &v);

	return r < 0 ? r : obj_set(o, key, v);
}

/* Adds V (stolen) at KEY and hands it out, borrowed. */
static int obj_add_new(json_t *o, const char *key, json_t *v, json_t **ret)
{
	int r = obj_set(o, key, v);

	if (r >= 0)
		*ret = v;
	return r;
}

static int arr_add(json_t *a, json_t *v)
{
	return v && json_array_append_new(a, v) == 0 ? 0 : -ENOMEM;
}

static int arr_add_str(json_t *a, const char *s)
{
	json_t *v = NULL;
	int r = str_new(s, &v);

	return r < 0 ? r : arr_add(a, v);
}

/* Sets KEY to V (stolen), which holds no client data: a failure is one of memory. */
static int put(const struct body_ctx *c, json_t *o, const char *key, json_t *v)
{
	return obj_set(o, key, v) < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

/* Sets KEY to the client's string S, reporting a failure as one at FIELD. */
static int set_str(const struct body_ctx *c, json_t *o, const char *key, const char *s,
                   const char *field)
{
	int r = obj_set_str(o, key, s);

	return r < 0 ? fail_json(c, r, "%s", field) : 0;
}

/* Sets KEY to the client's strings V, unless there are none. */
static int set_strv(const struct body_ctx *c, json_t *o, const char *key, char *const *v, size_t n,
                    const char *field)
{
	json_t *a = NULL;
	int r;

	if (n == 0)
		return 0;
	r = obj_add_new(o, key, json_array(), &a);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = arr_add_str(a, v[i]);
		if (r < 0)
			return fail_json(c, r, "%s[%zu]", field, i);
	}
	return r < 0 ? fail(c, ENOMEM, "Out of memory") : 0;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool absolute(const char *path)
{
	return path && path[0] == '/';
}

/*
 * A body with Image, an empty Labels object and a HostConfig logging through
 * LOG_DRIVER (with its options LOG_OPTS, borrowed; NULL for none); HostConfig
 * and Labels are handed out, borrowed.
 */
static int body_new(const struct body_ctx *c, const char *image, const char *log_driver,
                    json_t *log_opts, json_t **ret, json_t **ret_hc, json_t **ret_labels)
{
	_cleanup_(json_decrefp) json_t *body =
	    json_pack("{s:{}, s:{s:{s:s s:O*}}}", "Labels", "HostConfig", "LogConfig", "Type",
	              log_driver, "Config", log_opts);
	int r;

	if (!body)
		return fail(c, ENOMEM, "Out of memory");
	r = set_str(c, body, "Image", image, "Image");
	if (r < 0)
		return r;
	*ret_hc = json_object_get(body, "HostConfig");
	*ret_labels = json_object_get(body, "Labels");
	*ret = TAKE_PTR(body);
	return 0;
}

/* ---- names and labels ---- */

/*
 * The Engine takes names of [a-zA-Z0-9][a-zA-Z0-9_.-]+; every other byte
 * becomes '-'.  The names crib makes start with "k8s_".
 */
static char *sanitize_name(char *name)
{
	for (char *p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
		            *p))
			*p = '-';
	return name;
}

static const char *md_str(const char *s)
{
	return s ? s : "";
}

/* The labels crib sets itself on both kinds, which win over CRI's. */
struct own_labels {
	const char *kind;
	const char *id;
	const char *pod_id;
	const char *class_name;
	const char *container_name;
	const Runtime__V1__PodSandboxMetadata *pod_md;
};

/* A CRI label.  crib's own are not the client's to set: one under their prefix is left out. */
static int cri_label(const struct body_ctx *c, json_t *labels, const char *key, const char *value,
                     const char *field)
{
	int r;

	if (starts_with(key, OWN_LABEL_PREFIX))
		return 0;
	r = obj_set_str(labels, key, value);
	return r < 0 ? fail_json(c, r, "%s '%s'", field, key) : 0;
}

/*
 * The io.kubernetes.* labels node tooling reads, from the metadata (they
 * replace kubelet's CRI labels of the same names, which say the same), then
 * crib's own.
 */
static int own_labels(const struct body_ctx *c, const struct own_labels *o, json_t *labels)
{
	const Runtime__V1__PodSandboxMetadata *md = o->pod_md;
	int r = 0;

	if (md)
		r = set_str(c, labels, DOCKER_LABEL_POD_NAME, md_str(md->name),
		            "PodSandboxConfig.metadata.name");
	if (r >= 0 && md)
		r = set_str(c, labels, DOCKER_LABEL_POD_NAMESPACE, md_str(md->namespace_),
		            "PodSandboxConfig.metadata.namespace");
	if (r >= 0 && md)
		r = set_str(c, labels, DOCKER_LABEL_POD_UID, md_str(md->uid),
		            "PodSandboxConfig.metadata.uid");
	if (r >= 0)
		r = set_str(c, labels, DOCKER_LABEL_CONTAINER_NAME, md_str(o->container_name),
		            "ContainerConfig.metadata.name");
	if (r >= 0)
		r = set_str(c, labels, DOCKER_LABEL_MANAGED, "true", DOCKER_LABEL_MANAGED);
	if (r >= 0)
		r = set_str(c, labels, DOCKER_LABEL_ID, o->id, "The id");
	if (r >= 0)
		r = set_str(c, labels, DOCKER_LABEL_POD, o->pod_id, "The pod id");
	if (r >= 0)
		r = set_str(c, labels, DOCKER_LABEL_KIND, o->kind, DOCKER_LABEL_KIND);
	if (r >= 0 && o->class_name)
		r = set_str(c, labels, DOCKER_LABEL_CLASS, o->class_name, "The runtime class");
	return r;
}

/* ---- security contexts ---- */

/* What a pod's and a container's security contexts share, in the Engine's terms. */
struct sec_view {
	const char *field; /* POD_SC or CTR_SC, for messages */
	bool privileged;
	bool readonly_rootfs;
	bool no_new_privs;
	const Runtime__V1__Int64Value *run_as_user;
	const Runtime__V1__Int64Value *run_as_group;
	const char *run_as_username;
	const int64_t *groups;
	size_t n_groups;
	Runtime__V1__SupplementalGroupsPolicy groups_policy;
	const Runtime__V1__SELinuxOption *selinux;
	const Runtime__V1__SecurityProfile *seccomp;
	const Runtime__V1__SecurityProfile *apparmor;
	/* The deprecated string forms, which CRI keeps for older kubelets. */
	const char *seccomp_path;
	const char *apparmor_name;
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
/* The sandbox only waits for signals: no_new_privs always, as cri-dockerd runs it. */
static void pod_view(const Runtime__V1__LinuxSandboxSecurityContext *sc, struct sec_view *ret)
{
	*ret = (struct sec_view){.field = POD_SC, .no_new_privs = true};
	if (!sc)
		return;
	ret->privileged = sc->privileged;
	ret->readonly_rootfs = sc->readonly_rootfs;
	ret->run_as_user = sc->run_as_user;
	ret->run_as_group = sc->run_as_group;
	ret->groups = sc->supplemental_groups;
	ret->n_groups = sc->n_supplemental_groups;
	ret->groups_policy = sc->supplemental_groups_policy;
	ret->selinux = sc->selinux_options;
	ret->seccomp = sc->seccomp;
	ret->apparmor = sc->apparmor;
	ret->seccomp_path = sc->seccomp_profile_path;
}

static void container_view(const Runtime__V1__LinuxContainerSecurityContext *sc,
                           struct sec_view *ret)
{
	*ret = (struct sec_view){.field = CTR_SC};
	if (!sc)
		return;
	ret->privileged = sc->privileged;
	ret->readonly_rootfs = sc->readonly_rootfs;
	ret->no_new_privs = sc->no_new_privs;
	ret->run_as_user = sc->run_as_user;
	ret->run_as_group = sc->run_as_group;
	ret->run_as_username = sc->run_as_username;
	ret->groups = sc->supplemental_groups;
	ret->n_groups = sc->n_supplemental_groups;
	ret->groups_policy = sc->supplemental_groups_policy;
	ret->selinux = sc->selinux_options;
	ret->seccomp = sc->seccomp;
	ret->apparmor = sc->apparmor;
	ret->seccomp_path = sc->seccomp_profile_path;
	ret->apparmor_name = sc->apparmor_profile;
}
#pragma GCC diagnostic pop

/* The user as the Engine takes it ("uid", "name", "uid:gid" or "name:gid"), or NULL: the image's.
 */
static int user_string(const struct body_ctx *c, const struct sec_view *s, char **ret)
{
	_cleanup_free_ char *user = NULL;
	int r;

	if (s->run_as_user && !isempty(s->run_as_username))
		return fail(c, EINVAL, "%s: both run_as_user and run_as_username are set",
		            s->field);
	if (s->run_as_group && !s->run_as_user && isempty(s->run_as_username))
		return fail(c, EINVAL,
		            "%s.run_as_group: set without run_as_user or run_as_username",
		            s->field);
	if (s->run_as_user) {
		r = crib_cri_check_id(c->host, s->run_as_user->value, s->field, "run_as_user", NULL,
		                      c->reterr);
		if (r < 0)
			return r;
		user = crib_xasprintf("%lld", (long long)s->run_as_user->value);
	} else if (!isempty(s->run_as_username)) {
		/* The Engine would take what follows a ':' for the group. */
		if (strchr(s->run_as_username, ':'))
			return fail(c, EINVAL, "%s.run_as_username '%s': holds a ':'", s->field,
			            s->run_as_username);
		user = crib_xstrdup(s->run_as_username);
	}
	if (s->run_as_group) {
		_cleanup_free_ char *name = TAKE_PTR(user);

		r = crib_cri_check_id(c->host, s->run_as_group->value, s->field, "run_as_group",
		                      NULL, c->reterr);
		if (r < 0)
			return r;
		user = crib_xasprintf("%s:%lld", name, (long long)s->run_as_group->value);
	}
	*ret = TAKE_PTR(user);
	return 0;
}

static int set_user(const struct body_ctx *c, const struct sec_view *s, json_t *body, json_t *hc)
{
	_cleanup_free_ char *user = NULL;
	json_t *groups = NULL;
	int r;

	/* The Engine adds the image's groups of the user, always: Merge is all it does. */
	if (s->groups_policy != RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Merge)
		return fail(c, ENOTSUP,
		            "%s.supplemental_groups_policy %d: the Docker Engine supports only "
		            "Merge",
		            s->field, (int)s->groups_policy);
	r = user_string(c, s, &user);
	if (r >= 0 && user)
		r = set_str(c, body, "User", user, s->field);
	if (r >= 0 && s->n_groups > 0)
		r = obj_add_new(hc, "GroupAdd", json_array(), &groups) < 0
		        ? fail(c, ENOMEM, "Out of memory")
		        : 0;
	for (size_t i = 0; r >= 0 && i < s->n_groups; i++) {
		char gid[24];

		r = crib_cri_check_id(c->host, s->groups[i], s->field, "supplemental_groups", NULL,
		                      c->reterr);
		(void)snprintf(gid, sizeof(gid), "%lld", (long long)s->groups[i]);
		if (r >= 0 && arr_add(groups, json_string(gid)) < 0)
			r = fail(c, ENOMEM, "Out of memory");
	}
	return r;
}

/* Appends KEY=VALUE (or KEY alone, VALUE NULL) to HostConfig.SecurityOpt; FIELD is its source. */
static int secopt_add(const struct body_ctx *c, json_t *hc, const char *key, const char *value,
                      const char *field)
{
	_cleanup_free_ char *opt = NULL;
	json_t *opts = json_object_get(hc, "SecurityOpt");
	int r = 0;

	/* Not crib_xasprintf(): VALUE can be a seccomp profile of a megabyte. */
	if (value && asprintf(&opt, "%s=%s", key, value) < 0) {
		opt = NULL;
		return fail(c, ENOMEM, "Out of memory");
	}
	if (!opts)
		r = obj_add_new(hc, "SecurityOpt", json_array(), &opts);
	if (r >= 0)
		r = arr_add_str(opts, opt ? opt : key);
	return r < 0 ? fail_json(c, r, "%s", field) : 0;
}

/* Reads the profile at PATH into *ret, malloc'd and NUL-terminated. */
static int read_profile(const struct body_ctx *c, const char *field, const char *path, char **ret,
                        size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t len;
	int r;

	if (!absolute(path))
		return fail(c, EINVAL, "%s '%s': not an absolute path", field, path);
	/* O_NONBLOCK: a FIFO in its place must not hang the worker. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = errno;
		return fail(c, r, "%s '%s': %s", field, path, strerror(r));
	}
	if (!S_ISREG(st.st_mode))
		return fail(c, EINVAL, "%s '%s': not a regular file", field, path);
	r = crib_read_fd(fd, SECCOMP_FILE_MAX + 1, &text, &len);
	if (r < 0)
		return fail(c, -r, "%s '%s': %s", field, path, strerror(-r));
	if (len > SECCOMP_FILE_MAX)
		return fail(c, E2BIG, "%s '%s': larger than %d bytes", field, path,
		            SECCOMP_FILE_MAX);
	*ret = TAKE_PTR(text);
	*ret_len = len;
	return 0;
}

/*
 * A Localhost profile goes to the Engine as its text ("seccomp=<JSON>"), as
 * the docker CLI sends it: the Engine reads no files of the client's.  It is
 * checked to be a JSON object here, so that a broken file names its field.
 */
static int seccomp_localhost(const struct body_ctx *c, const char *field, const char *path,
                             json_t *hc)
{
	_cleanup_(json_decrefp) json_t *doc = NULL;
	_cleanup_free_ char *text = NULL, *compact = NULL;
	json_error_t jerr;
	size_t len = 0;
	int r;

	r = read_profile(c, field, path, &text, &len);
	if (r < 0)
		return r;
	doc = json_loadb(text, len, 0, &jerr);
	if (!doc)
		return fail(c, EINVAL, "%s '%s': invalid JSON at %d:%d: %s", field, path, jerr.line,
		            jerr.column, jerr.text);
	if (!json_is_object(doc))
		return fail(c, EINVAL, "%s '%s': not a JSON object", field, path);
	compact = json_dumps(doc, JSON_COMPACT);
	if (!compact)
		return fail(c, ENOMEM, "Out of memory");
	return secopt_add(c, hc, "seccomp", compact, field);
}

/*
 * RuntimeDefault is the Engine's own default profile, which it applies
 * without an option.  No profile at all is unconfined, as CRI defines it
 * (and cri-dockerd does), where the Engine's default would confine.
 */
static int seccomp_opt(const struct body_ctx *c, const struct sec_view *s, json_t *hc)
{
	_cleanup_free_ char *field = NULL;
	struct crib_cri_seccomp p;
	int r;

	r = crib_cri_seccomp_profile(c->host, s->field, s->seccomp, s->seccomp_path, &p, c->reterr);
	if (r < 0)
		return r;
	switch (p.kind) {
	case CRIB_CRI_PROFILE_DEFAULT:
		return 0;
	case CRIB_CRI_PROFILE_LOCALHOST:
		field = crib_xasprintf("%s.%s", s->field, p.key);
		return seccomp_localhost(c, field, p.path, hc);
	case CRIB_CRI_PROFILE_UNCONFINED:
		break;
	}
	return secopt_add(c, hc, "seccomp", "unconfined", s->field);
}

/*
 * RuntimeDefault (and no profile) is the Engine's docker-default profile,
 * which it applies without an option where AppArmor is enabled; a Localhost
 * profile is named, and must be loaded on the node.
 */
static int apparmor_opt(const struct body_ctx *c, const struct sec_view *s, json_t *hc)
{
	const char *name;
	int r = crib_cri_apparmor_profile(c->host, s->field, s->apparmor, s->apparmor_name, &name,
	                                  c->reterr);

	if (r < 0 || !name)
		return r;
	return secopt_add(c, hc, "apparmor", name, s->field);
}

/* "label=user:..." and its siblings; the Engine ignores them where SELinux is disabled. */
static int selinux_opts(const struct body_ctx *c, const struct sec_view *s, json_t *hc)
{
	const Runtime__V1__SELinuxOption *o = s->selinux;
	const struct {
		const char *name;
		const char *value;
	} parts[] = {
	    {"user", o ? o->user : NULL},
	    {"role", o ? o->role : NULL},
	    {"type", o ? o->type : NULL},
	    {"level", o ? o->level : NULL},
	};
	_cleanup_free_ char *field = NULL;

	if (!o)
		return 0;
	field = crib_xasprintf("%s.selinux_options", s->field);
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		_cleanup_free_ char *value = NULL;
		int r;

		if (isempty(parts[i].value))
			continue;
		value = crib_xasprintf("%s:%s", parts[i].name, parts[i].value);
		r = secopt_add(c, hc, "label", value, field);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Privileged where cribd lacks capabilities the kernel has: what the Engine's
 * Privileged gives, but with only the capabilities cribd holds (see
 * docker_sandbox_input): no seccomp, AppArmor or SELinux confinement, no
 * masked or read-only paths, every device allowed.
 */
static int bounded_privileged(const struct body_ctx *c, const struct sec_view *s, json_t *hc)
{
	static const char *const unconfined[] = {"seccomp=unconfined", "apparmor=unconfined",
	                                         "label=disable"};
	int r;

	r = set_strv(c, hc, "CapAdd", c->node_caps, c->n_node_caps, s->field);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(unconfined); i++)
		r = secopt_add(c, hc, unconfined[i], NULL, s->field);
	if (r >= 0)
		r = put(c, hc, "MaskedPaths", json_array());
	if (r >= 0)
		r = put(c, hc, "ReadonlyPaths", json_array());
	if (r >= 0)
		r = put(c, hc, "DeviceCgroupRules", json_pack("[s]", "a *:* rwm"));
	if (r >= 0)
		r = put(c, hc, "ReadonlyRootfs", json_boolean(s->readonly_rootfs));
	return r;
}

/*
 * User, groups and the HostConfig members both kinds share.  A privileged
 * process is confined by neither seccomp, AppArmor nor SELinux (CRI's
 * definition of privileged; the Engine would ignore the options anyway).
 */
static int apply_security(const struct body_ctx *c, const struct sec_view *s, json_t *body,
                          json_t *hc)
{
	int r;

	r = set_user(c, s, body, hc);
	if (r >= 0 && s->privileged && c->node_caps)
		return bounded_privileged(c, s, hc);
	if (r >= 0)
		r = put(c, hc, "Privileged", json_boolean(s->privileged));
	if (r >= 0)
		r = put(c, hc, "ReadonlyRootfs", json_boolean(s->readonly_rootfs));
	if (r >= 0 && s->no_new_privs)
		r = secopt_add(c, hc, "no-new-privileges", NULL, s->field);
	if (r < 0 || s->privileged)
		return r;
	r = seccomp_opt(c, s, hc);
	if (r >= 0)
		r = apparmor_opt(c, s, hc);
	if (r >= 0)
		r = selinux_opts(c, s, hc);
	return r;
}

/* ---- namespaces ---- */

/*
 * The sandbox owns the pod's namespaces.  Its network is "none": cribd runs
 * CNI in it.  Its IPC namespace is "shareable", which the Engine wants of a
 * namespace others join.  The UTS namespace goes with the network: with the
 * node's network a pod has the node's host name.
 */
static int sandbox_namespaces(const struct body_ctx *c, const Runtime__V1__PodSandboxConfig *pod,
                              const struct crib_cri_ns_modes *m, json_t *body, json_t *hc)
{
	bool host_net = m->network == NS_NODE;
	int r;

	if (m->pid != NS_POD && m->pid != NS_CONTAINER && m->pid != NS_NODE)
		return fail(c, EINVAL, POD_SC ".namespace_options.pid %d: not a pod's",
		            (int)m->pid);
	r = put(c, hc, "NetworkMode", json_string(host_net ? "host" : "none"));
	if (r >= 0)
		r = put(c, hc, "IpcMode", json_string(m->ipc == NS_NODE ? "host" : "shareable"));
	if (r >= 0 && m->pid == NS_NODE)
		r = put(c, hc, "PidMode", json_string("host"));
	if (r >= 0 && host_net)
		r = put(c, hc, "UTSMode", json_string("host"));
	if (r >= 0 && !host_net && !isempty(pod->hostname))
		r = set_str(c, body, "Hostname", pod->hostname, "PodSandboxConfig.hostname");
	return r;
}

/*
 * A container joins the sandbox's namespaces.  Its network is the sandbox's
 * even with the node's network, as cri-dockerd does it: joining the sandbox
 * also shares its /etc/resolv.conf, which carries the pod's DNS config
 * (ClusterFirstWithHostNet), where "host" would copy the node's.
 */
static int container_namespaces(const struct body_ctx *c, const struct docker_container_input *in,
                                const struct crib_cri_ns_modes *m, json_t *hc)
{
	_cleanup_free_ char *join = crib_xasprintf("container:%s", in->sandbox);
	int r;

	r = set_str(c, hc, "NetworkMode", join, "The sandbox's id");
	if (r >= 0 && m->network == NS_NODE)
		r = put(c, hc, "UTSMode", json_string("host"));
	if (r >= 0)
		r = set_str(c, hc, "IpcMode", m->ipc == NS_NODE ? "host" : join,
		            "The sandbox's id");
	if (r < 0)
		return r;
	switch (m->pid) {
	case NS_POD:
		return set_str(c, hc, "PidMode", join, "The sandbox's id");
	case NS_CONTAINER:
		return 0; /* the Engine's default: a namespace of its own */
	case NS_NODE:
		return put(c, hc, "PidMode", json_string("host"));
	case RUNTIME__V1__NAMESPACE_MODE__TARGET:
		/* The target's Docker id is not known here (docker_container_input). */
		return fail(c, ENOTSUP,
		            CTR_SC ".namespace_options.pid TARGET: not supported by the docker "
		                   "backend");
	default:
		return fail(c, EINVAL, CTR_SC ".namespace_options.pid %d: unknown", (int)m->pid);
	}
}

/* ---- the sandbox's sysctls and DNS ---- */

/*
 * The pod's sysctls go on the sandbox, whose namespaces the containers join;
 * each must be in a namespace the pod does not share with the node, or it
 * would change the node.
 */
static int sandbox_sysctls(const struct body_ctx *c, const Runtime__V1__PodSandboxConfig *pod,
                           const struct crib_cri_ns_modes *m, json_t *hc)
{
	const Runtime__V1__LinuxPodSandboxConfig *lx = pod->linux;
	json_t *sysctls = NULL;

	if (!lx || lx->n_sysctls == 0)
		return 0;
	if (obj_add_new(hc, "Sysctls", json_object(), &sysctls) < 0)
		return fail(c, ENOMEM, "Out of memory");
	for (size_t i = 0; i < lx->n_sysctls; i++) {
		const char *key = lx->sysctls[i]->key;
		int r = crib_cri_sysctl_check(c->host, key, m, c->reterr);

		if (r < 0)
			return r;
		r = obj_set_str(sysctls, key, lx->sysctls[i]->value);
		if (r < 0)
			return fail_json(c, r, "PodSandboxConfig.linux.sysctls '%s'", key);
	}
	return 0;
}

/* The Engine writes the sandbox's resolv.conf from these; containers share it. */
static int sandbox_dns(const struct body_ctx *c, const Runtime__V1__DNSConfig *dns, json_t *hc)
{
	int r;

	if (!dns)
		return 0;
	r = set_strv(c, hc, "Dns", dns->servers, dns->n_servers,
	             "PodSandboxConfig.dns_config.servers");
	if (r >= 0)
		r = set_strv(c, hc, "DnsSearch", dns->searches, dns->n_searches,
		             "PodSandboxConfig.dns_config.searches");
	if (r >= 0)
		r = set_strv(c, hc, "DnsOptions", dns->options, dns->n_options,
		             "PodSandboxConfig.dns_config.options");
	return r;
}

/* ---- resources ---- */

static int check_resources(const struct body_ctx *c, const Runtime__V1__LinuxContainerResources *r)
{
	int q;

	if (r->cpu_shares < 0 || r->cpu_shares > CPU_SHARES_MAX)
		return fail(c, EINVAL, RES ".cpu_shares %lld: not within [0, %d]",
		            (long long)r->cpu_shares, CPU_SHARES_MAX);
	if (r->cpu_period < 0 || (r->cpu_period > 0 && (r->cpu_period < CFS_PERIOD_MIN ||
	                                                r->cpu_period > CFS_PERIOD_MAX)))
		return fail(c, EINVAL, RES ".cpu_period %lld: not within [%d, %d]",
		            (long long)r->cpu_period, CFS_PERIOD_MIN, CFS_PERIOD_MAX);
	if (r->cpu_quota < -1 || (r->cpu_quota > 0 && r->cpu_quota < CFS_QUOTA_MIN))
		return fail(c, EINVAL, RES ".cpu_quota %lld: neither -1 (no limit) nor at least %d",
		            (long long)r->cpu_quota, CFS_QUOTA_MIN);
	q = crib_cri_check_memory(c->host, r, c->reterr);
	if (q < 0)
		return q;
	/* The Engine refuses a swap limit without a memory limit, or below it. */
	if (r->memory_swap_limit_in_bytes > 0 &&
	    r->memory_swap_limit_in_bytes < r->memory_limit_in_bytes)
		return fail(c, EINVAL,
		            RES ".memory_swap_limit_in_bytes %lld: below the memory limit",
		            (long long)r->memory_swap_limit_in_bytes);
	if (r->memory_swap_limit_in_bytes > 0 && r->memory_limit_in_bytes == 0)
		return fail(c, EINVAL,
		            RES ".memory_swap_limit_in_bytes %lld: set without "
		                "memory_limit_in_bytes",
		            (long long)r->memory_swap_limit_in_bytes);
	return crib_cri_check_oom_score_adj(c->host, r, c->reterr);
}

/*
 * Only what is set.  Without a swap limit, swap equals the memory limit: no
 * swap, as cri-dockerd and containerd do it (the Engine's default would be
 * as much swap again).  oom_score_adj is no resource to the Engine
 * (HostConfig.OomScoreAdj, which an update cannot change).  hugepage_limits
 * are not in the Engine's API, and kubelet sends one for every page size of
 * the node, mostly 0: they are ignored, as cri-dockerd ignores them.  So is
 * unified (cgroup v2 files: memory.high for MemoryQoS, swap), which the
 * Engine's API 1.41 does not have either; neither loosens a limit.
 */
static int resources_fill(const struct body_ctx *c, const Runtime__V1__LinuxContainerResources *r,
                          json_t *res)
{
	int q;

	q = check_resources(c, r);
	if (q < 0)
		return q;
	if (r->cpu_shares > 0)
		q = put(c, res, "CpuShares", json_integer(r->cpu_shares));
	if (q >= 0 && r->cpu_period > 0)
		q = put(c, res, "CpuPeriod", json_integer(r->cpu_period));
	if (q >= 0 && r->cpu_quota != 0)
		q = put(c, res, "CpuQuota", json_integer(r->cpu_quota));
	if (q >= 0 && r->memory_limit_in_bytes > 0)
		q = put(c, res, "Memory", json_integer(r->memory_limit_in_bytes));
	if (q >= 0 && r->memory_limit_in_bytes > 0)
		q = put(c, res, "MemorySwap", json_integer(crib_cri_swap_limit(r)));
	if (q >= 0 && !isempty(r->cpuset_cpus))
		q = set_str(c, res, "CpusetCpus", r->cpuset_cpus, RES ".cpuset_cpus");
	if (q >= 0 && !isempty(r->cpuset_mems))
		q = set_str(c, res, "CpusetMems", r->cpuset_mems, RES ".cpuset_mems");
	return q;
}

int docker_resources_body(const struct crib_host *host,
                          const Runtime__V1__LinuxContainerResources *r, json_t **ret,
                          struct crib_error **reterr)
{
	const struct body_ctx c = {.host = host, .reterr = reterr};
	_cleanup_(json_decrefp) json_t *res = json_object();
	int q;

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

/* ---- the sandbox ---- */

static const char *pod_cgroup_parent(const Runtime__V1__PodSandboxConfig *pod)
{
	return pod->linux ? pod->linux->cgroup_parent : NULL;
}

/*
 * Kubelet sends the cgroup parent in the form of its cgroup driver, which
 * must be the Engine's too: it is passed on as it is.
 */
static int set_cgroup_parent(const struct body_ctx *c, const Runtime__V1__PodSandboxConfig *pod,
                             json_t *hc)
{
	const char *parent = pod_cgroup_parent(pod);

	if (isempty(parent))
		return 0;
	return set_str(c, hc, "CgroupParent", parent, "PodSandboxConfig.linux.cgroup_parent");
}

static int sandbox_labels(const struct body_ctx *c, const struct docker_sandbox_input *in,
                          json_t *labels)
{
	const Runtime__V1__PodSandboxConfig *pod = in->pod;
	const struct own_labels own = {
	    .kind = DOCKER_KIND_SANDBOX,
	    .id = in->pod_id,
	    .pod_id = in->pod_id,
	    .class_name = in->class_name,
	    .container_name = SANDBOX_CONTAINER_NAME,
	    .pod_md = pod->metadata,
	};

	for (size_t i = 0; i < pod->n_labels; i++) {
		int r = cri_label(c, labels, pod->labels[i]->key, pod->labels[i]->value,
		                  "PodSandboxConfig.labels");

		if (r < 0)
			return r;
	}
	return own_labels(c, &own, labels);
}

/*
 * The sandbox's output is never read: no log driver.  It gets the least CPU
 * weight and the lowest OOM score a pod's process may have, as cri-dockerd
 * gives it; no restart policy (the Engine's default "no"), for cribd decides
 * what runs.
 */
static int sandbox_fill(const struct body_ctx *c, const struct docker_sandbox_input *in,
                        json_t *body, json_t *hc, json_t *labels)
{
	const Runtime__V1__LinuxSandboxSecurityContext *sc = crib_cri_pod_sc(in->pod);
	struct sec_view s;
	struct crib_cri_ns_modes m;
	int r;

	pod_view(sc, &s);
	r = crib_cri_ns_modes(c->host, sc ? sc->namespace_options : NULL, POD_SC, &m, c->reterr);
	if (r >= 0)
		r = sandbox_namespaces(c, in->pod, &m, body, hc);
	if (r >= 0)
		r = sandbox_labels(c, in, labels);
	if (r >= 0)
		r = sandbox_sysctls(c, in->pod, &m, hc);
	if (r >= 0)
		r = sandbox_dns(c, in->pod->dns_config, hc);
	if (r >= 0)
		r = apply_security(c, &s, body, hc);
	if (r >= 0)
		r = set_cgroup_parent(c, in->pod, hc);
	if (r >= 0)
		r = put(c, hc, "CpuShares", json_integer(CRIB_CRI_SANDBOX_CPU_SHARES));
	if (r >= 0)
		r = put(c, hc, "OomScoreAdj",
		        json_integer(crib_cri_oom_score_adj(CRIB_CRI_SANDBOX_OOM_SCORE_ADJ,
		                                            in->own_oom_score_adj)));
	return r;
}

static char *sandbox_name(const struct docker_sandbox_input *in)
{
	const Runtime__V1__PodSandboxMetadata *md = in->pod->metadata;

	return sanitize_name(
	    crib_xasprintf("k8s_POD_%s_%s_%s_%u_%.12s", md_str(md ? md->name : NULL),
	                   md_str(md ? md->namespace_ : NULL), md_str(md ? md->uid : NULL),
	                   md ? md->attempt : 0, in->pod_id));
}

int docker_sandbox_body(const struct crib_host *host, const struct docker_sandbox_input *in,
                        json_t **ret, char **ret_name, struct crib_error **reterr)
{
	const struct body_ctx c = {.host = host,
	                           .reterr = reterr,
	                           .node_caps = in->node_caps,
	                           .n_node_caps = in->n_node_caps};
	_cleanup_(json_decrefp) json_t *body = NULL;
	json_t *hc, *labels;
	int r;

	r = body_new(&c, in->image, "none", NULL, &body, &hc, &labels);
	if (r >= 0)
		r = sandbox_fill(&c, in, body, hc, labels);
	if (r < 0)
		return r;
	*ret_name = sandbox_name(in);
	*ret = TAKE_PTR(body);
	return 0;
}

/* ---- the container: process ---- */

/* Appends KV, ContainerConfig.envs[I], to ENV as "KEY=value". */
static int env_var(const struct body_ctx *c, const Runtime__V1__KeyValue *kv, size_t i, json_t *env)
{
	_cleanup_free_ char *var = NULL;
	int r;

	r = crib_cri_env_string(c->host, kv, i, &var, c->reterr);
	if (r < 0)
		return r;
	r = arr_add_str(env, var);
	return r < 0 ? fail_json(c, r, "ContainerConfig.envs[%zu] '%s'", i, kv->key) : 0;
}

/*
 * Kubernetes' command semantics are the Engine's: an Entrypoint given drops
 * the image's Cmd, a Cmd alone keeps the image's Entrypoint.  The Engine adds
 * the image's environment under CRI's, which wins by name.
 */
static int container_process(const struct body_ctx *c, const Runtime__V1__ContainerConfig *cfg,
                             json_t *body)
{
	json_t *env = NULL;
	int r;

	r = set_strv(c, body, "Entrypoint", cfg->command, cfg->n_command,
	             "ContainerConfig.command");
	if (r >= 0)
		r = set_strv(c, body, "Cmd", cfg->args, cfg->n_args, "ContainerConfig.args");
	if (r >= 0 && cfg->n_envs > 0)
		r = obj_add_new(body, "Env", json_array(), &env) < 0
		        ? fail(c, ENOMEM, "Out of memory")
		        : 0;
	for (size_t i = 0; r >= 0 && i < cfg->n_envs; i++)
		r = env_var(c, cfg->envs[i], i, env);
	if (r >= 0 && !isempty(cfg->working_dir) && !absolute(cfg->working_dir))
		r = fail(c, EINVAL, "ContainerConfig.working_dir '%s': not absolute",
		         cfg->working_dir);
	if (r >= 0 && !isempty(cfg->working_dir))
		r = set_str(c, body, "WorkingDir", cfg->working_dir, "ContainerConfig.working_dir");
	if (r < 0)
		return r;
	/* AttachStdin matters only to the docker CLI; set for a faithful inspect. */
	if (put(c, body, "Tty", json_boolean(cfg->tty)) < 0 ||
	    put(c, body, "OpenStdin", json_boolean(cfg->stdin)) < 0 ||
	    put(c, body, "AttachStdin", json_boolean(cfg->stdin)) < 0 ||
	    put(c, body, "StdinOnce", json_boolean(cfg->stdin_once)) < 0)
		return -ENOMEM;
	/* An image's HEALTHCHECK would run probes kubelet does not know of. */
	return put(c, body, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
}

/* The Engine's name of a CRI signal: SIGNAL_SIGRTMINPLUS1 is "SIGRTMIN+1". */
static int set_stop_signal(const struct body_ctx *c, const Runtime__V1__ContainerConfig *cfg,
                           json_t *body)
{
	const ProtobufCEnumValue *v;
	_cleanup_free_ char *name = NULL;
	const char *s;
	char *o;

	if (cfg->stop_signal == RUNTIME__V1__SIGNAL__SIGNAL_RUNTIME_DEFAULT)
		return 0;
	v = protobuf_c_enum_descriptor_get_value(&runtime__v1__signal__descriptor,
	                                         (int)cfg->stop_signal);
	if (!v || !starts_with(v->name, "SIGNAL_SIG"))
		return fail(c, EINVAL, "ContainerConfig.stop_signal %d: unknown",
		            (int)cfg->stop_signal);
	s = v->name + strlen("SIGNAL_");
	name = o = crib_xmalloc(strlen(s) + 1);
	while (*s) {
		if (starts_with(s, "PLUS")) {
			*o++ = '+';
			s += strlen("PLUS");
		} else if (starts_with(s, "MINUS")) {
			*o++ = '-';
			s += strlen("MINUS");
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return put(c, body, "StopSignal", json_string(name));
}

/* ---- the container: mounts and devices ---- */

static int check_mount(const struct body_ctx *c, size_t i, const Runtime__V1__Mount *m)
{
	int r = crib_cri_check_mount(c->host, i, m, "the Docker Engine's API 1.41", c->reterr);

	if (r < 0)
		return r;
	if (!absolute(m->container_path))
		return fail(c, EINVAL,
		            "ContainerConfig.mounts[%zu].container_path '%s': not absolute", i,
		            md_str(m->container_path));
	return 0;
}

/*
 * A bind mount in HostConfig.Mounts rather than Binds: its fields are
 * exact where a Binds string cannot hold a ':' or ','.  The Engine refuses a
 * missing source, as CRI asks (kubelet creates what it mounts).
 * selinux_relabel is not passed on: Mounts have no relabel option, and
 * crib's nodes run without SELinux.
 */
static int add_mount(const struct body_ctx *c, size_t i, const Runtime__V1__Mount *m,
                     json_t *mounts)
{
	json_t *mj;
	int r;

	r = check_mount(c, i, m);
	if (r < 0)
		return r;
	mj = json_pack("{s:s, s:b, s:{s:s}}", "Type", "bind", "ReadOnly", (int)m->readonly,
	               "BindOptions", "Propagation", crib_cri_propagation(m->propagation));
	r = arr_add(mounts, mj);
	if (r >= 0)
		r = obj_set_str(mj, "Source", m->host_path);
	if (r >= 0)
		r = obj_set_str(mj, "Target", m->container_path);
	return r < 0 ? fail_json(c, r, "ContainerConfig.mounts[%zu]", i) : 0;
}

/* The Engine adds a directory's devices itself, as CRI asks. */
static int add_device(const struct body_ctx *c, size_t i, const Runtime__V1__Device *d,
                      json_t *devices)
{
	const char *perms;
	json_t *dj = NULL;
	int r;

	if (isempty(d->host_path))
		return fail(c, EINVAL, "ContainerConfig.devices[%zu].host_path: empty", i);
	if (!absolute(d->container_path))
		return fail(c, EINVAL,
		            "ContainerConfig.devices[%zu].container_path '%s': not absolute", i,
		            md_str(d->container_path));
	r = crib_cri_device_access(c->host, i, d, &perms, c->reterr);
	if (r < 0)
		return r;
	dj = json_object();
	r = arr_add(devices, dj);
	if (r >= 0)
		r = obj_set_str(dj, "PathOnHost", d->host_path);
	if (r >= 0)
		r = obj_set_str(dj, "PathInContainer", d->container_path);
	if (r >= 0)
		r = obj_set_str(dj, "CgroupPermissions", perms);
	return r < 0 ? fail_json(c, r, "ContainerConfig.devices[%zu]", i) : 0;
}

static int container_mounts_devices(const struct body_ctx *c,
                                    const Runtime__V1__ContainerConfig *cfg, json_t *hc)
{
	json_t *mounts = NULL, *devices = NULL;
	int r = 0;

	if (cfg->n_cdi_devices > 0)
		return fail(c, ENOTSUP,
		            "ContainerConfig.CDI_devices: not supported by the Docker Engine's "
		            "API 1.41");
	if (cfg->n_mounts > 0 && obj_add_new(hc, "Mounts", json_array(), &mounts) < 0)
		return fail(c, ENOMEM, "Out of memory");
	for (size_t i = 0; r >= 0 && i < cfg->n_mounts; i++)
		r = add_mount(c, i, cfg->mounts[i], mounts);
	if (r >= 0 && cfg->n_devices > 0 && obj_add_new(hc, "Devices", json_array(), &devices) < 0)
		r = fail(c, ENOMEM, "Out of memory");
	for (size_t i = 0; r >= 0 && i < cfg->n_devices; i++)
		r = add_device(c, i, cfg->devices[i], devices);
	return r;
}

/* ---- the container: capabilities and paths ---- */

/* "NET_ADMIN", "net_admin" and "CAP_NET_ADMIN" are the same capability. */
static bool cap_eq(const char *a, const char *b)
{
	if (strncasecmp(a, "CAP_", 4) == 0)
		a += 4;
	if (strncasecmp(b, "CAP_", 4) == 0)
		b += 4;
	return strcasecmp(a, b) == 0;
}

static bool caps_have(char *const *v, size_t n, const char *cap)
{
	for (size_t i = 0; i < n; i++)
		if (cap_eq(v[i], cap))
			return true;
	return false;
}

/*
 * CapAdd and CapDrop as CRI names them (the Engine takes either spelling, and
 * "ALL", and refuses unknown names itself).  CRI drops a capability from
 * every set even when it is also added, where the Engine would add it back:
 * an added capability that is also dropped is left out of CapAdd.
 */
static int container_caps(const struct body_ctx *c, const Runtime__V1__Capability *cap, json_t *hc)
{
	json_t *add = NULL;
	int r = 0;

	if (!cap)
		return 0;
	if (cap->n_add_ambient_capabilities > 0)
		return fail(c, ENOTSUP,
		            CTR_SC ".capabilities.add_ambient_capabilities: the Docker Engine has "
		                   "no ambient capabilities");
	if (cap->n_add_capabilities > 0 && obj_add_new(hc, "CapAdd", json_array(), &add) < 0)
		return fail(c, ENOMEM, "Out of memory");
	for (size_t i = 0; r >= 0 && i < cap->n_add_capabilities; i++) {
		const char *name = cap->add_capabilities[i];
		/* "ALL" is every capability the Engine knows: only cribd's where it lacks some. */
		bool all = c->node_caps && strcasecmp(name, "ALL") == 0;
		char *const *names = all ? c->node_caps : (char *const *)&name;
		size_t n = all ? c->n_node_caps : 1;

		for (size_t j = 0; r >= 0 && j < n; j++)
			if (!caps_have(cap->drop_capabilities, cap->n_drop_capabilities, names[j]))
				r = arr_add_str(add, names[j]);
		if (r < 0)
			return fail_json(c, r, CTR_SC ".capabilities.add_capabilities[%zu]", i);
	}
	return set_strv(c, hc, "CapDrop", cap->drop_capabilities, cap->n_drop_capabilities,
	                CTR_SC ".capabilities.drop_capabilities");
}

/*
 * Capabilities and masked paths mean nothing to a privileged container.
 * Paths are passed on only when kubelet sends some: the Engine fills in its
 * defaults for a missing list, and an empty one would unmask everything.
 */
static int container_confinement(const struct body_ctx *c,
                                 const Runtime__V1__LinuxContainerSecurityContext *sc, json_t *hc)
{
	int r;

	if (!sc || sc->privileged)
		return 0;
	r = container_caps(c, sc->capabilities, hc);
	if (r >= 0)
		r = set_strv(c, hc, "MaskedPaths", sc->masked_paths, sc->n_masked_paths,
		             CTR_SC ".masked_paths");
	if (r >= 0)
		r = set_strv(c, hc, "ReadonlyPaths", sc->readonly_paths, sc->n_readonly_paths,
		             CTR_SC ".readonly_paths");
	return r;
}

/* ---- the container ---- */

static int container_labels(const struct body_ctx *c, const struct docker_container_input *in,
                            json_t *labels)
{
	const Runtime__V1__ContainerConfig *cfg = in->config;
	const struct own_labels own = {
	    .kind = DOCKER_KIND_CONTAINER,
	    .id = in->container_id,
	    .pod_id = in->pod_id,
	    .class_name = in->class_name,
	    .container_name = cfg->metadata ? cfg->metadata->name : NULL,
	    .pod_md = in->pod->metadata,
	};

	for (size_t i = 0; i < cfg->n_labels; i++) {
		int r = cri_label(c, labels, cfg->labels[i]->key, cfg->labels[i]->value,
		                  "ContainerConfig.labels");

		if (r < 0)
			return r;
	}
	return own_labels(c, &own, labels);
}

/* The resources, the OOM score (clamped) and the pod's cgroup, which every container shares. */
static int set_container_resources(const struct body_ctx *c,
                                   const struct docker_container_input *in, json_t *hc)
{
	const Runtime__V1__LinuxContainerResources *res = crib_cri_container_resources(in->config);
	_cleanup_(json_decrefp) json_t *rj = NULL;
	int r;

	r = docker_resources_body(c->host, res, &rj, c->reterr);
	if (r < 0)
		return r;
	if (json_object_update(hc, rj) < 0)
		return fail(c, ENOMEM, "Out of memory");
	r = put(c, hc, "OomScoreAdj",
	        json_integer(
	            crib_cri_oom_score_adj(res ? res->oom_score_adj : 0, in->own_oom_score_adj)));
	if (r >= 0)
		r = set_cgroup_parent(c, in->pod, hc);
	return r;
}

/*
 * The output goes to the Engine's "json-file" log driver, from which crib
 * copies it into kubelet's CRI log file.  Not "local": read back through the
 * API, its last piece of a line cut at 16 KiB loses the newline, and the CRI
 * log could not tell that the line ended.  Two files of 16 MiB bound what the
 * Engine keeps: the copier follows within milliseconds.
 */
static int container_fill(const struct body_ctx *c, const struct docker_container_input *in,
                          json_t *body, json_t *hc, json_t *labels)
{
	const Runtime__V1__LinuxContainerSecurityContext *sc = crib_cri_container_sc(in->config);
	struct sec_view s;
	struct crib_cri_ns_modes m;
	int r;

	r = crib_cri_check_privileged(c->host, in->config, in->pod, c->reterr);
	if (r < 0)
		return r;
	container_view(sc, &s);
	r = crib_cri_ns_modes(c->host, sc ? sc->namespace_options : NULL, CTR_SC, &m, c->reterr);
	if (r >= 0)
		r = container_namespaces(c, in, &m, hc);
	if (r >= 0)
		r = container_labels(c, in, labels);
	if (r >= 0)
		r = container_process(c, in->config, body);
	if (r >= 0)
		r = set_stop_signal(c, in->config, body);
	if (r >= 0)
		r = container_mounts_devices(c, in->config, hc);
	if (r >= 0)
		r = apply_security(c, &s, body, hc);
	if (r >= 0)
		r = container_confinement(c, sc, hc);
	if (r >= 0)
		r = set_container_resources(c, in, hc);
	return r;
}

static char *container_name(const struct docker_container_input *in)
{
	const Runtime__V1__ContainerMetadata *cmd = in->config->metadata;
	const Runtime__V1__PodSandboxMetadata *md = in->pod->metadata;

	return sanitize_name(
	    crib_xasprintf("k8s_%s_%s_%s_%s_%u_%.12s", md_str(cmd ? cmd->name : NULL),
	                   md_str(md ? md->name : NULL), md_str(md ? md->namespace_ : NULL),
	                   md_str(md ? md->uid : NULL), cmd ? cmd->attempt : 0, in->container_id));
}

int docker_container_body(const struct crib_host *host, const struct docker_container_input *in,
                          json_t **ret, char **ret_name, struct crib_error **reterr)
{
	const struct body_ctx c = {.host = host,
	                           .reterr = reterr,
	                           .node_caps = in->node_caps,
	                           .n_node_caps = in->n_node_caps};
	_cleanup_(json_decrefp) json_t *body = NULL;
	_cleanup_(json_decrefp) json_t *log_opts =
	    json_pack("{s:s s:s}", "max-size", "16m", "max-file", "2");
	json_t *hc, *labels;
	int r;

	r = body_new(&c, in->image, "json-file", log_opts, &body, &hc, &labels);
	if (r >= 0)
		r = container_fill(&c, in, body, hc, labels);
	if (r < 0)
		return r;
	*ret_name = container_name(in);
	*ret = TAKE_PTR(body);
	return 0;
}
