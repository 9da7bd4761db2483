/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cni.h"
#include "config.h"
#include "cri-api-v1.pb-c.h"
#include "error.h"
#include "netns.h"
#include "util.h"

extern char **environ;

/* What a plugin wrote to stderr is kept up to this size, for messages. */
#define STDERR_KEEP 4096
/* Plugin messages quoted in an error are cut here: they travel in gRPC trailers. */
#define MESSAGE_MAX 1024
/* The cache holds a configuration and a result. */
#define CACHE_MAX  (CRIB_CNI_CONF_MAX + CRIB_CNI_OUTPUT_MAX + 4096)
#define CACHE_KIND "crib-cni-cache/v1"

/* The versions cribd speaks, oldest first; the index orders them. */
static const char *const versions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};

/* Closes and disarms, so that a later cleanup of the same variable does nothing. */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -EBADF;
}

static void closepairp(int (*p)[2])
{
	close_fd(&(*p)[0]);
	close_fd(&(*p)[1]);
}

static int version_index(const char *v)
{
	for (size_t i = 0; v && i < ARRAY_SIZE(versions); i++)
		if (streq(v, versions[i]))
			return (int)i;
	return -1;
}

/* CHECK, and prevResult on DEL, arrived with 0.4.0. */
static bool since_0_4(const char *v)
{
	return version_index(v) >= version_index("0.4.0");
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Configuration. */

static int conf_error(const char *file, struct crib_error **reterr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int conf_error(const char *file, struct crib_error **reterr, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return crib_error_set(reterr, EINVAL, "CNI configuration '%s': %s", file, msg);
}

/* A file name in one of the plugin directories, never a path out of them. */
static bool plugin_type_valid(const char *t)
{
	return !isempty(t) && strlen(t) <= NAME_MAX && !strchr(t, '/') && !streq(t, ".") &&
	       !streq(t, "..");
}

/*
 * SPEC.md: an alphanumeric character, then alphanumerics, '_', '.' and '-'.
 * Bounded too, since messages quote it.
 */
static bool network_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > NAME_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/* disableCheck: a boolean, or since libcni 1.1 the strings "true" and "false". */
static int parse_disable_check(const char *file, json_t *v, bool *ret, struct crib_error **reterr)
{
	const char *s = json_string_value(v);

	if (!v || json_is_boolean(v)) {
		*ret = json_is_true(v);
		return 0;
	}
	if (streq(s, "true") || streq(s, "false")) {
		*ret = streq(s, "true");
		return 0;
	}
	return conf_error(file, reterr, "disableCheck is neither true nor false");
}

static int check_plugin(const char *file, size_t i, json_t *p, struct crib_error **reterr)
{
	json_t *caps;

	if (!json_is_object(p))
		return conf_error(file, reterr, "plugin %zu is not an object", i);
	if (!plugin_type_valid(json_string_value(json_object_get(p, "type"))))
		return conf_error(file, reterr,
		                  "plugin %zu has no type naming a plugin binary (a file name)", i);
	caps = json_object_get(p, "capabilities");
	if (caps && !json_is_object(caps))
		return conf_error(file, reterr, "capabilities of plugin %zu are not an object", i);
	return 0;
}

/* Checks LIST (a list document, taken) and makes the configuration of it. */
static int conf_from_list(const char *file, json_t *list, struct crib_cni_conf **ret,
                          struct crib_error **reterr)
{
	_cleanup_(json_decrefp) json_t *l = list;
	const char *name = json_string_value(json_object_get(l, "name"));
	const char *version = json_string_value(json_object_get(l, "cniVersion"));
	json_t *plugins = json_object_get(l, "plugins");
	struct crib_cni_conf *conf;
	bool disable_check = false;
	int r;

	if (!json_is_object(l))
		return conf_error(file, reterr, "not a JSON object");
	if (!network_name_valid(name))
		return conf_error(file, reterr,
		                  "the network has no name of letters, digits, '_', '.' and '-'");
	if (!version)
		return conf_error(file, reterr, "cniVersion is missing");
	if (version_index(version) < 0)
		return conf_error(
		    file, reterr,
		    "cniVersion '%.32s' is not one cribd speaks (0.3.0, 0.3.1, 0.4.0, "
		    "1.0.0)",
		    version);
	if (!json_is_array(plugins) || json_array_size(plugins) == 0)
		return conf_error(file, reterr, "plugins is not a non-empty list");
	for (size_t i = 0; i < json_array_size(plugins); i++) {
		r = check_plugin(file, i, json_array_get(plugins, i), reterr);
		if (r < 0)
			return r;
	}
	r = parse_disable_check(file, json_object_get(l, "disableCheck"), &disable_check, reterr);
	if (r < 0)
		return r;
	conf = crib_xcalloc(1, sizeof(*conf));
	conf->file = crib_xstrdup(file);
	conf->name = crib_xstrdup(name);
	conf->version = crib_xstrdup(version);
	conf->disable_check = disable_check;
	conf->list = TAKE_PTR(l);
	*ret = conf;
	return 0;
}

/* A single plugin's configuration (.conf, .json) as the list of it, as libcni wraps it. */
static json_t *wrap_plugin(json_t *plugin)
{
	json_t *list = json_object();
	json_t *plugins = json_array();

	if (!list || !plugins) {
		json_decref(list);
		json_decref(plugins);
		return NULL;
	}
	if (json_object_get(plugin, "cniVersion"))
		json_object_set(list, "cniVersion", json_object_get(plugin, "cniVersion"));
	if (json_object_get(plugin, "name"))
		json_object_set(list, "name", json_object_get(plugin, "name"));
	json_array_append(plugins, plugin);
	json_object_set_new(list, "plugins", plugins);
	return list;
}

int crib_cni_conf_parse(const char *file, const char *text, size_t len, struct crib_cni_conf **ret,
                        struct crib_error **reterr)
{
	_cleanup_(json_decrefp) json_t *doc = NULL;
	json_error_t jerr;
	json_t *list;

	doc = json_loadb(text, len, 0, &jerr);
	if (!doc)
		return conf_error(file, reterr, "not JSON: line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(doc))
		return conf_error(file, reterr, "not a JSON object");
	if (has_suffix(file, ".conflist"))
		return conf_from_list(file, TAKE_PTR(doc), ret, reterr);
	/* Also what a list put into a .conf file runs into, as with libcni. */
	if (!json_is_string(json_object_get(doc, "type")))
		return conf_error(file, reterr,
		                  "no plugin type (a list belongs in a .conflist file)");
	list = wrap_plugin(doc);
	if (!list)
		return crib_error_set(reterr, ENOMEM, "Out of memory reading '%s'", file);
	return conf_from_list(file, list, ret, reterr);
}

struct crib_cni_conf *crib_cni_conf_free(struct crib_cni_conf *conf)
{
	if (!conf)
		return NULL;
	free(conf->file);
	free(conf->name);
	free(conf->version);
	json_decref(conf->list);
	free(conf);
	return NULL;
}

/* Reads PATH whole, refusing more than MAX bytes (and anything but a regular file). */
static int read_bounded(const char *path, size_t max, char **ret, size_t *ret_len,
                        struct crib_error **reterr)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return crib_error_set(reterr, errno, "Failed to read '%s': %s", path,
		                      strerror(errno));
	if (!S_ISREG(st.st_mode))
		return crib_error_set(reterr, EINVAL, "Failed to read '%s': not a regular file",
		                      path);
	buf = crib_xmalloc(max + 1);
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return crib_error_set(reterr, errno, "Failed to read '%s': %s", path,
			                      strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return crib_error_set(reterr, EFBIG, "'%s' is larger than %zu bytes", path,
			                      max);
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int conf_file_filter(const struct dirent *de)
{
	return de->d_name[0] != '.' &&
	       (has_suffix(de->d_name, ".conflist") || has_suffix(de->d_name, ".conf") ||
	        has_suffix(de->d_name, ".json"));
}

static void free_dirents(struct dirent **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int load_file(const char *path, struct crib_cni_conf **ret, struct crib_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_bounded(path, CRIB_CNI_CONF_MAX, &text, &len, reterr);

	if (r < 0)
		return r == -EFBIG
		           ? conf_error(path, reterr, "larger than %d bytes", CRIB_CNI_CONF_MAX)
		           : r;
	return crib_cni_conf_parse(path, text, len, ret, reterr);
}

int crib_cni_conf_load(const char *dir, struct crib_cni_conf **ret, struct crib_error **reterr)
{
	struct dirent **names = NULL;
	int n, r = 1; /* 1: no file tried yet */

	/* alphasort in cribd's C locale: byte order, as Go's sort.Strings in libcni. */
	n = scandir(dir, &names, conf_file_filter, alphasort);
	if (n < 0 && errno != ENOENT)
		return crib_error_set(reterr, errno, "Failed to read cni_conf_dir '%s': %s", dir,
		                      strerror(errno));
	for (int i = 0; i < n && r > 0; i++) {
		_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, names[i]->d_name);
		struct stat st;

		/* Directories named like configurations are not; anything else is tried. */
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		r = load_file(path, ret, reterr);
	}
	free_dirents(names, n);
	if (r > 0)
		return crib_error_set(reterr, ENOENT, "No CNI network configuration in '%s'", dir);
	return r;
}

/* Results. */

/* Checks "ADDR/BITS" and copies ADDR out; false when it is no CIDR. */
static bool parse_cidr(const char *s, char addr[static INET6_ADDRSTRLEN], int *ret_family)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	unsigned char bin[sizeof(struct in6_addr)];
	size_t len = slash ? (size_t)(slash - s) : 0;
	char *end = NULL;
	long bits;
	int family;

	if (len == 0 || len >= INET6_ADDRSTRLEN)
		return false;
	memcpy(addr, s, len);
	addr[len] = '\0';
	family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, bin) != 1)
		return false;
	errno = 0;
	bits = strtol(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || bits < 0 || bits > (family == AF_INET ? 32 : 128))
		return false;
	*ret_family = family;
	return true;
}

struct result_ip {
	char addr[INET6_ADDRSTRLEN];
	int family;
	bool on_ifname;
};

/* Reads one entry of a result's "ips". */
static int read_ip(json_t *ip, json_t *ifaces, const char *ifname, struct result_ip *ret,
                   struct crib_error **reterr)
{
	json_t *idx = json_object_get(ip, "interface");
	json_int_t i;

	if (!json_is_object(ip) ||
	    !parse_cidr(json_string_value(json_object_get(ip, "address")), ret->addr, &ret->family))
		return crib_error_set(reterr, EBADMSG,
		                      "an entry of ips has no address in CIDR notation");
	ret->on_ifname = false;
	if (!idx)
		return 0;
	i = json_integer_value(idx);
	if (!json_is_integer(idx) || i < 0 || (size_t)i >= json_array_size(ifaces))
		return crib_error_set(
		    reterr, EBADMSG,
		    "an entry of ips names an interface that is not in interfaces");
	ret->on_ifname = streq(
	    json_string_value(json_object_get(json_array_get(ifaces, (size_t)i), "name")), ifname);
	return 0;
}

/* Orders the chosen IPs as CRI wants them: the pod IP first, then the others. */
static void pick_ips(const struct result_ip *v, size_t n, char ***ret, size_t *ret_n)
{
	bool any_on_ifname = false;
	size_t first = n;

	for (size_t i = 0; i < n; i++)
		any_on_ifname = any_on_ifname || v[i].on_ifname;
	for (size_t i = 0; i < n; i++) {
		if (any_on_ifname && !v[i].on_ifname)
			continue;
		if (first == n || (v[i].family == AF_INET && v[first].family != AF_INET))
			first = i;
	}
	*ret = NULL;
	*ret_n = 0;
	if (first == n)
		return;
	crib_strv_add(ret, ret_n, v[first].addr);
	for (size_t i = 0; i < n; i++)
		if (i != first && (!any_on_ifname || v[i].on_ifname))
			crib_strv_add_unique(ret, ret_n, v[i].addr);
}

int crib_cni_result_ips(const char *text, size_t len, const char *ifname, char ***ret_ips,
                        size_t *ret_n, struct crib_error **reterr)
{
	_cleanup_(json_decrefp) json_t *doc = json_loadb(text, len, 0, NULL);
	_cleanup_free_ struct result_ip *v = NULL;
	json_t *ips, *ifaces;
	size_t n;
	int r;

	if (!json_is_object(doc))
		return crib_error_set(reterr, EBADMSG, "the result is not a JSON object");
	ips = json_object_get(doc, "ips");
	ifaces = json_object_get(doc, "interfaces");
	if ((ips && !json_is_array(ips)) || (ifaces && !json_is_array(ifaces)))
		return crib_error_set(reterr, EBADMSG,
		                      "ips or interfaces of the result is not a list");
	n = json_array_size(ips);
	v = crib_xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		r = read_ip(json_array_get(ips, i), ifaces, ifname, &v[i], reterr);
		if (r < 0)
			return r;
	}
	pick_ips(v, n, ret_ips, ret_n);
	return 0;
}

/* Cuts S at MESSAGE_MAX bytes and turns control characters into spaces. */
static char *message_text(const char *s)
{
	char *m = crib_xstrdup(s);
	size_t len = strlen(m);

	while (len > 0 && (m[len - 1] == '\n' || m[len - 1] == ' '))
		m[--len] = '\0';
	if (len > MESSAGE_MAX)
		m[MESSAGE_MAX] = '\0';
	for (char *p = m; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return m;
}

char *crib_cni_error_text(const char *text, size_t len)
{
	_cleanup_(json_decrefp) json_t *doc = json_loadb(text, len, 0, NULL);
	_cleanup_free_ char *joined = NULL;
	const char *msg, *details;
	json_t *code;

	if (!json_is_object(doc))
		return NULL;
	code = json_object_get(doc, "code");
	msg = json_string_value(json_object_get(doc, "msg"));
	details = json_string_value(json_object_get(doc, "details"));
	if (!json_is_integer(code) && !msg)
		return NULL;
	if (isempty(msg))
		joined =
		    crib_xasprintf("error code %" JSON_INTEGER_FORMAT, json_integer_value(code));
	else if (!isempty(details))
		joined = crib_xasprintf("%s: %s", msg, details);
	else
		joined = crib_xstrdup(msg);
	return message_text(joined);
}

/* Pods: arguments. */

bool crib_cni_host_network(const Runtime__V1__PodSandboxConfig *pod)
{
	const Runtime__V1__LinuxPodSandboxConfig *lx = pod->linux;

	return lx && lx->security_context && lx->security_context->namespace_options &&
	       lx->security_context->namespace_options->network ==
	           RUNTIME__V1__NAMESPACE_MODE__NODE;
}

static const char *protocol_name(Runtime__V1__Protocol p)
{
	switch (p) {
	case RUNTIME__V1__PROTOCOL__UDP:
		return "udp";
	case RUNTIME__V1__PROTOCOL__SCTP:
		return "sctp";
	default:
		return "tcp";
	}
}

/*
 * The capability args cribd offers: portMappings, as containerd passes them
 * to the portmap plugin.  A host port of 0 means no mapping (CRI).  NULL
 * when there is nothing to offer.
 */
static char *capability_args(const Runtime__V1__PodSandboxConfig *pod)
{
	_cleanup_(json_decrefp) json_t *maps = json_array();
	_cleanup_(json_decrefp) json_t *args = NULL;

	for (size_t i = 0; maps && i < pod->n_port_mappings; i++) {
		const Runtime__V1__PortMapping *m = pod->port_mappings[i];
		json_t *o;

		if (m->host_port <= 0)
			continue;
		o = json_pack("{s:i, s:i, s:s}", "hostPort", (int)m->host_port, "containerPort",
		              (int)m->container_port, "protocol", protocol_name(m->protocol));
		if (o && !isempty(m->host_ip))
			json_object_set_new(o, "hostIP", json_string(m->host_ip));
		json_array_append_new(maps, o);
	}
	if (json_array_size(maps) == 0)
		return NULL;
	args = json_pack("{s:O}", "portMappings", maps);
	return args ? json_dumps(args, JSON_COMPACT) : NULL;
}

void crib_cni_args_init(struct crib_cni_args *a, const struct crib_config *cfg, const char *id,
                        const Runtime__V1__PodSandboxConfig *pod, const char *netns,
                        bool make_netns)
{
	const Runtime__V1__PodSandboxMetadata *md = pod->metadata;

	*a = (struct crib_cni_args){
	    .conf_dir = crib_xstrdup(cfg->cni_conf_dir),
	    .bin_dirs = crib_xstrdup(cfg->cni_bin_dirs),
	    .cache_dir = crib_xasprintf("%s/cni", cfg->state_dir),
	    .id = crib_xstrdup(id),
	    .name = crib_xstrdup(md->name),
	    .namespace_ = crib_xstrdup(md->namespace_),
	    .uid = crib_xstrdup(md->uid),
	    .netns = crib_xstrdup(netns),
	    .make_netns = make_netns,
	    .runtime_config = capability_args(pod),
	    .timeout_ms = CRIB_CNI_TIMEOUT_MS,
	};
}

void crib_cni_args_clear(struct crib_cni_args *a)
{
	free(a->conf_dir);
	free(a->bin_dirs);
	free(a->cache_dir);
	free(a->id);
	free(a->name);
	free(a->namespace_);
	free(a->uid);
	free(a->netns);
	free(a->runtime_config);
	memset(a, 0, sizeof(*a));
}

/* CNI_ARGS is "K=V;K=V": values with ';' or '=' would change its meaning. */
static int check_args(const struct crib_cni_args *a, struct crib_error **reterr)
{
	const char *const what[] = {"name", "namespace", "uid"};
	const char *const values[] = {a->name, a->namespace_, a->uid};

	for (size_t i = 0; i < ARRAY_SIZE(values); i++)
		if (values[i] && strpbrk(values[i], ";="))
			return crib_error_set(
			    reterr, EINVAL,
			    "Pod sandbox %s '%s' cannot be passed to CNI plugins: "
			    "it contains ';' or '='",
			    what[i], values[i]);
	return 0;
}

/* Plugins: finding and running one. */

static int find_plugin(const char *bin_dirs, const char *type, char **ret,
                       struct crib_error **reterr)
{
	_cleanup_free_ char *dirs = crib_xstrdup(bin_dirs);
	char *save = NULL;

	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *path = crib_xasprintf("%s/%s", d, type);
		struct stat st;

		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0) {
			*ret = TAKE_PTR(path);
			return 0;
		}
	}
	return crib_error_set(reterr, ENOEXEC, "CNI plugin '%s' not found in '%s'", type, bin_dirs);
}

/* Appends S (taken) to the vector. */
static void push(char ***env, size_t *n, char *s)
{
	*env = crib_xrealloc(*env, *n + 1, sizeof(**env));
	(*env)[(*n)++] = s;
}

/* cribd's environment without its own CNI_* variables, then the call's. */
static char **plugin_env(const struct crib_cni_args *a, const char *command, const char *netns,
                         size_t *ret_n)
{
	char **env = NULL;
	size_t n = 0;

	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, "CNI_", 4) != 0)
			crib_strv_add(&env, &n, *e);
	push(&env, &n, crib_xasprintf("CNI_COMMAND=%s", command));
	push(&env, &n, crib_xasprintf("CNI_CONTAINERID=%s", a->id));
	push(&env, &n, crib_xasprintf("CNI_NETNS=%s", netns));
	push(&env, &n, crib_xasprintf("CNI_IFNAME=%s", CRIB_CNI_IFNAME));
	push(&env, &n, crib_xasprintf("CNI_PATH=%s", a->bin_dirs));
	push(&env, &n,
	     crib_xasprintf("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
	                    "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s",
	                    a->namespace_ ? a->namespace_ : "", a->name ? a->name : "", a->id,
	                    a->uid ? a->uid : ""));
	env = crib_xrealloc(env, n + 1, sizeof(*env));
	env[n] = NULL;
	*ret_n = n;
	return env;
}

/* A plugin process: what it read and wrote, and how it ended. */
struct proc {
	pid_t pid;
	int pidfd; /* readable once the process has exited */
	int in, out, err;
	const char *input;
	size_t input_len, input_off;
	char *output;
	size_t output_len;
	char errbuf[STDERR_KEEP + 1];
	size_t err_len;
	int status;
};

/* Starts PATH with the pipes' far ends as stdio, signals at their defaults, in its own group. */
static int spawn(const char *path, char **env, int in, int out, int err, pid_t *ret_pid)
{
	char *argv[] = {(char *)path, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	(void)sigemptyset(&none);
	(void)sigfillset(&all);
	(void)posix_spawn_file_actions_init(&fa);
	(void)posix_spawn_file_actions_adddup2(&fa, in, 0);
	(void)posix_spawn_file_actions_adddup2(&fa, out, 1);
	(void)posix_spawn_file_actions_adddup2(&fa, err, 2);
	(void)posix_spawnattr_init(&attr);
	/* The plugin inherits neither the worker's blocked signals nor cribd's ignored SIGPIPE. */
	(void)posix_spawnattr_setsigmask(&attr, &none);
	(void)posix_spawnattr_setsigdefault(&attr, &all);
	(void)posix_spawnattr_setpgroup(&attr, 0);
	(void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
	                                          POSIX_SPAWN_SETPGROUP);
	r = posix_spawn(ret_pid, path, &fa, &attr, argv, env);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)posix_spawnattr_destroy(&attr);
	return -r;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Feeds stdin; a plugin that stops reading early (EPIPE) just gets the rest no more. */
static void feed(struct proc *p)
{
	ssize_t n = write(p->in, p->input + p->input_off, p->input_len - p->input_off);

	if (n > 0)
		p->input_off += (size_t)n;
	if ((n < 0 && errno != EAGAIN && errno != EINTR) || p->input_off == p->input_len)
		close_fd(&p->in);
}

/* Reads what is there on FD into the output (bounded: -EFBIG) or the kept stderr. */
static int drain(struct proc *p, int *fd, bool is_stdout)
{
	char buf[16384];

	for (;;) {
		ssize_t n = read(*fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			close_fd(fd);
			return 0;
		}
		if (!is_stdout) {
			size_t keep = (size_t)n < STDERR_KEEP - p->err_len
			                  ? (size_t)n
			                  : STDERR_KEEP - p->err_len;

			memcpy(p->errbuf + p->err_len, buf, keep);
			p->err_len += keep;
			continue;
		}
		if (p->output_len + (size_t)n > CRIB_CNI_OUTPUT_MAX)
			return -EFBIG;
		p->output = crib_xrealloc(p->output, p->output_len + (size_t)n + 1, 1);
		memcpy(p->output + p->output_len, buf, (size_t)n);
		p->output_len += (size_t)n;
		p->output[p->output_len] = '\0';
	}
}

/* One round of poll: -ETIMEDOUT past DEADLINE, 1 once the process has exited. */
static int poll_once(struct proc *p, int64_t deadline)
{
	struct pollfd fds[4];
	int64_t left = (deadline - crib_mono_ns()) / 1000000;
	nfds_t n = 0;
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	fds[n++] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
	fds[n++] = (struct pollfd){.fd = p->in, .events = POLLOUT};
	fds[n++] = (struct pollfd){.fd = p->out, .events = POLLIN};
	fds[n++] = (struct pollfd){.fd = p->err, .events = POLLIN};
	/* Closed ones are negative and ignored by poll. */
	if (poll(fds, n, left > INT32_MAX ? INT32_MAX : (int)left) < 0)
		return errno == EINTR ? 0 : -errno;
	if (p->in >= 0 && fds[1].revents)
		feed(p);
	if (p->out >= 0 && fds[2].revents) {
		r = drain(p, &p->out, true);
		if (r < 0)
			return r;
	}
	if (p->err >= 0 && fds[3].revents)
		(void)drain(p, &p->err, false);
	return fds[0].revents ? 1 : 0;
}

static int wait_exit(pid_t pid, int *ret_status)
{
	while (waitpid(pid, ret_status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/*
 * Runs the process until it exits: feeds INPUT, collects stdout (bounded)
 * and stderr (kept in part).  Past the deadline, or past the output bound,
 * the process group is killed: -ETIMEDOUT or -EFBIG.
 */
static int supervise(struct proc *p, int64_t timeout_ms)
{
	int64_t deadline = crib_mono_ns() + timeout_ms * 1000000;
	int r = 0;

	set_nonblock(p->in);
	set_nonblock(p->out);
	set_nonblock(p->err);
	while (r == 0)
		r = poll_once(p, deadline);
	if (r < 0) {
		(void)kill(-p->pid, SIGKILL);
		(void)kill(p->pid, SIGKILL);
		(void)wait_exit(p->pid, &p->status);
		return r;
	}
	/* Everything the plugin wrote before it exited is in the pipes now. */
	if (p->out >= 0)
		r = drain(p, &p->out, true);
	if (p->err >= 0)
		(void)drain(p, &p->err, false);
	if (r < 0) {
		(void)wait_exit(p->pid, &p->status);
		return r;
	}
	return wait_exit(p->pid, &p->status);
}

static void proc_clear(struct proc *p)
{
	close_fd(&p->pidfd);
	close_fd(&p->in);
	close_fd(&p->out);
	close_fd(&p->err);
	free(p->output);
	p->output = NULL;
}

/* Starts PATH and supervises it; P holds the outcome.  -errno when it could not run at all. */
static int run_process(const char *path, char **env, const char *input, int64_t timeout_ms,
                       struct proc *p)
{
	_cleanup_(closepairp) int in[2] = {-EBADF, -EBADF};
	_cleanup_(closepairp) int out[2] = {-EBADF, -EBADF};
	_cleanup_(closepairp) int err[2] = {-EBADF, -EBADF};
	int r;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	r = spawn(path, env, in[0], out[1], err[1], &p->pid);
	if (r < 0)
		return r;
	/* Linux 5.3: lets poll() wait for the exit along with the pipes. */
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (p->pidfd < 0) {
		r = -errno;
		(void)kill(p->pid, SIGKILL);
		(void)wait_exit(p->pid, &p->status);
		return r;
	}
	p->in = TAKE_FD(in[1]);
	p->out = TAKE_FD(out[0]);
	p->err = TAKE_FD(err[0]);
	p->input = input;
	p->input_len = strlen(input);
	closepairp(&in);
	closepairp(&out);
	closepairp(&err);
	return supervise(p, timeout_ms);
}

/* The plugin's stdin: its configuration with the list's name and version, and more. */
static char *plugin_input(const struct crib_cni_conf *conf, json_t *plugin, json_t *prev,
                          json_t *cap_args)
{
	_cleanup_(json_decrefp) json_t *in = json_copy(plugin);
	json_t *caps = json_object_get(plugin, "capabilities");
	json_t *rc = NULL;
	const char *key;
	json_t *v;

	if (!in)
		return NULL;
	json_object_set_new(in, "name", json_string(conf->name));
	json_object_set_new(in, "cniVersion", json_string(conf->version));
	if (prev)
		json_object_set(in, "prevResult", prev);
	/* runtimeConfig: the capability args this plugin declares, as libcni injects them. */
	json_object_foreach(cap_args, key, v)
	{
		if (!json_is_true(json_object_get(caps, key)))
			continue;
		if (!rc)
			rc = json_object();
		json_object_set(rc, key, v);
	}
	if (rc)
		json_object_set_new(in, "runtimeConfig", rc);
	return json_dumps(in, JSON_COMPACT);
}

/* Why a plugin that ran failed: its error result, else its stderr, else its exit status. */
static int plugin_failed(const struct proc *p, const char *type, const char *command,
                         const struct crib_cni_conf *conf, struct crib_error **reterr)
{
	_cleanup_free_ char *why = crib_cni_error_text(p->output ? p->output : "", p->output_len);
	_cleanup_free_ char *text = NULL;

	if (!why && p->err_len > 0) {
		text = crib_xmemdup(p->errbuf, p->err_len + 1);
		text[p->err_len] = '\0';
		why = message_text(text);
	}
	if (!why && WIFSIGNALED(p->status))
		why = crib_xasprintf("killed by signal %d", WTERMSIG(p->status));
	if (!why)
		why = crib_xasprintf("exited with status %d", WEXITSTATUS(p->status));
	return crib_error_set(reterr, EIO, "CNI plugin '%s' failed to %s network '%s': %s", type,
	                      command, conf->name, why);
}

/* Runs plugin PLUGIN of CONF for COMMAND; on success *ret_out is its stdout (or NULL). */
static int run_plugin(const struct crib_cni_args *a, const struct crib_cni_conf *conf,
                      json_t *plugin, const char *command, const char *netns, json_t *prev,
                      json_t *cap_args, char **ret_out, struct crib_error **reterr)
{
	const char *type = json_string_value(json_object_get(plugin, "type"));
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *input = NULL;
	struct proc p = {.pidfd = -EBADF, .in = -EBADF, .out = -EBADF, .err = -EBADF};
	size_t n_env = 0;
	char **env;
	int r;

	r = find_plugin(a->bin_dirs, type, &path, reterr);
	if (r < 0)
		return r;
	input = plugin_input(conf, plugin, prev, cap_args);
	if (!input)
		return crib_error_set(reterr, ENOMEM, "Out of memory for CNI plugin '%s'", type);
	env = plugin_env(a, command, netns, &n_env);
	r = run_process(path, env, input, a->timeout_ms, &p);
	crib_strv_free(env, n_env);
	if (r == -ETIMEDOUT)
		r = crib_error_set(
		    reterr, ETIMEDOUT,
		    "CNI plugin '%s' did not %s network '%s' within %lld %s and was "
		    "killed",
		    type, command, conf->name,
		    (long long)(a->timeout_ms % 1000 ? a->timeout_ms : a->timeout_ms / 1000),
		    a->timeout_ms % 1000 ? "ms" : "s");
	else if (r == -EFBIG)
		r = crib_error_set(reterr, EIO, "CNI plugin '%s' wrote more than %d bytes; killed",
		                   type, CRIB_CNI_OUTPUT_MAX);
	else if (r < 0)
		r = crib_error_set(reterr, -r, "Failed to run CNI plugin '%s': %s", path,
		                   strerror(-r));
	else if (!WIFEXITED(p.status) || WEXITSTATUS(p.status) != 0)
		r = plugin_failed(&p, type, command, conf, reterr);
	else if (ret_out)
		*ret_out = TAKE_PTR(p.output);
	proc_clear(&p);
	return r;
}

/* ADD's step: the plugin's stdout must be a result, the next plugin's prevResult. */
static int take_result(const char *type, char *out, json_t **prev, struct crib_error **reterr)
{
	_cleanup_free_ char *text = out;
	json_t *res = text ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_object(res)) {
		json_decref(res);
		return crib_error_set(reterr, EIO, "CNI plugin '%s' returned no valid result",
		                      type);
	}
	json_decref(*prev);
	*prev = res;
	return 0;
}

/*
 * Runs CONF's plugins for COMMAND: in order for ADD (*ret_result the last
 * result) and CHECK, in reverse for DEL.  RESULT is prevResult for CHECK and
 * DEL (DEL only from 0.4.0 on, as libcni does).  The first failure ends the
 * run, as with libcni, unless KEEP_GOING (a DEL that is the last chance to
 * release anything) has every plugin run; the first error is returned.
 */
static int run_list(const struct crib_cni_args *a, const struct crib_cni_conf *conf,
                    const char *command, json_t *result, bool keep_going, json_t **ret_result,
                    struct crib_error **reterr)
{
	json_t *plugins = json_object_get(conf->list, "plugins");
	size_t n = json_array_size(plugins);
	bool add = streq(command, "ADD"), del = streq(command, "DEL");
	_cleanup_(json_decrefp) json_t *cap_args =
	    a->runtime_config ? json_loads(a->runtime_config, 0, NULL) : NULL;
	_cleanup_(json_decrefp) json_t *prev = NULL;
	/* A namespace that is gone is no error for DEL: the plugins release what is left. */
	const char *netns = del && (!a->netns || access(a->netns, F_OK) < 0) ? "" : a->netns;
	int r = 0;

	if (!add && (!del || since_0_4(conf->version)))
		prev = json_incref(result);
	for (size_t k = 0; k < n && (r == 0 || keep_going); k++) {
		json_t *plugin = json_array_get(plugins, del ? n - 1 - k : k);
		char *out = NULL;
		int q;

		q = run_plugin(a, conf, plugin, command, netns ? netns : "", prev, cap_args,
		               add ? &out : NULL, r < 0 ? NULL : reterr);
		if (q == 0 && add)
			q = take_result(json_string_value(json_object_get(plugin, "type")), out,
			                &prev, reterr);
		r = r < 0 ? r : q;
	}
	if (r == 0 && ret_result)
		*ret_result = TAKE_PTR(prev);
	return r;
}

/* The record of a pod's ADD. */

static char *cache_path(const struct crib_cni_args *a)
{
	return crib_xasprintf("%s/%s.json", a->cache_dir, a->id);
}

/* Writes the record atomically (a crash leaves the old one or the new one). */
static int cache_write(const struct crib_cni_args *a, const struct crib_cni_conf *conf,
                       json_t *result, struct crib_error **reterr)
{
	_cleanup_free_ char *path = cache_path(a);
	_cleanup_free_ char *tmp = crib_xasprintf("%s.tmp", path);
	_cleanup_(json_decrefp) json_t *doc = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r = crib_mkdir_p(a->cache_dir, 0700);

	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to create '%s': %s", a->cache_dir,
		                      strerror(-r));
	doc = json_pack("{s:s, s:s, s:s, s:s, s:O}", "kind", CACHE_KIND, "containerId", a->id,
	                "ifName", CRIB_CNI_IFNAME, "file", conf->file, "config", conf->list);
	if (doc && result)
		json_object_set(doc, "result", result);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!doc || fd < 0 || json_dumpfd(doc, fd, JSON_COMPACT) < 0 || fsync(fd) < 0 ||
	    rename(tmp, path) < 0) {
		r = !doc ? -ENOMEM : (errno ? -errno : -EIO);
		(void)unlink(tmp);
		return crib_error_set(reterr, -r, "Failed to record the CNI result in '%s': %s",
		                      path, strerror(-r));
	}
	return 0;
}

/*
 * Reads the record: *ret_conf NULL when there is none (no plugin ever ran),
 * *ret_result NULL when the ADD did not finish.
 */
static int cache_read(const struct crib_cni_args *a, struct crib_cni_conf **ret_conf,
                      json_t **ret_result, struct crib_error **reterr)
{
	_cleanup_free_ char *path = cache_path(a);
	_cleanup_free_ char *text = NULL;
	_cleanup_(json_decrefp) json_t *doc = NULL;
	json_t *list, *result;
	size_t len;
	int r;

	*ret_conf = NULL;
	*ret_result = NULL;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	r = read_bounded(path, CACHE_MAX, &text, &len, reterr);
	if (r < 0)
		return r;
	doc = json_loadb(text, len, 0, NULL);
	list = json_object_get(doc, "config");
	result = json_object_get(doc, "result");
	if (!streq(json_string_value(json_object_get(doc, "kind")), CACHE_KIND) ||
	    (result && !json_is_object(result)))
		return crib_error_set(reterr, EBADMSG, "'%s' is not a CNI record of cribd", path);
	r = conf_from_list(path, json_incref(list), ret_conf, reterr);
	if (r < 0)
		return r;
	*ret_result = json_incref(result);
	return 0;
}

static int cache_remove(const struct crib_cni_args *a, struct crib_error **reterr)
{
	_cleanup_free_ char *path = cache_path(a);

	if (unlink(path) < 0 && errno != ENOENT)
		return crib_error_set(reterr, errno, "Failed to remove '%s': %s", path,
		                      strerror(errno));
	return 0;
}

/* Pods: the operations. */

/*
 * DEL with the record, then the namespace.  FORCE (undoing a failed setup,
 * after which nobody retries) goes on past a failed DEL.
 */
static int teardown(const struct crib_cni_args *a, bool force, struct crib_error **reterr)
{
	_cleanup_(crib_cni_conf_freep) struct crib_cni_conf *conf = NULL;
	_cleanup_(json_decrefp) json_t *result = NULL;
	int r = cache_read(a, &conf, &result, reterr);

	if (r == 0 && conf)
		r = run_list(a, conf, "DEL", result, force, NULL, reterr);
	if (r < 0 && !force)
		return r;
	if (r == 0)
		r = cache_remove(a, reterr);
	else
		(void)cache_remove(a, NULL);
	if (a->make_netns) {
		int q = crib_netns_remove(a->netns, r < 0 ? NULL : reterr);

		r = r < 0 ? r : q;
	}
	return r;
}

int crib_cni_pod_teardown(const struct crib_cni_args *a, struct crib_error **reterr)
{
	return teardown(a, false, reterr);
}

/* What cannot run for want of a configuration is a node not ready for pods: ENOEXEC. */
static int load_for_pod(const struct crib_cni_args *a, struct crib_cni_conf **ret,
                        struct crib_error **reterr)
{
	struct crib_error *err = NULL;
	int r = crib_cni_conf_load(a->conf_dir, ret, &err);

	if (r == -ENOENT || r == -EINVAL) {
		err->errnum = ENOEXEC;
		r = -ENOEXEC;
	}
	if (r < 0) {
		if (reterr)
			*reterr = err;
		else
			crib_error_free(err);
	}
	return r;
}

/* ADD and the record of it; *ret_ips from the final result. */
static int add(const struct crib_cni_args *a, const struct crib_cni_conf *conf, char ***ret_ips,
               size_t *ret_n, struct crib_error **reterr)
{
	_cleanup_(json_decrefp) json_t *result = NULL;
	_cleanup_(crib_error_freep) struct crib_error *bad = NULL;
	_cleanup_free_ char *text = NULL;
	int r;

	r = cache_write(a, conf, NULL, reterr);
	if (r < 0)
		return r;
	r = run_list(a, conf, "ADD", NULL, false, &result, reterr);
	if (r < 0)
		return r;
	r = cache_write(a, conf, result, reterr);
	if (r < 0)
		return r;
	text = json_dumps(result, JSON_COMPACT);
	if (!text)
		return crib_error_set(reterr, ENOMEM, "Out of memory reading the CNI result");
	r = crib_cni_result_ips(text, strlen(text), CRIB_CNI_IFNAME, ret_ips, ret_n, &bad);
	if (r < 0)
		return crib_error_set(reterr, EIO,
		                      "CNI network '%s' returned an invalid result: %s", conf->name,
		                      crib_error_msg(bad));
	return 0;
}

int crib_cni_pod_setup(const struct crib_cni_args *a, char ***ret_ips, size_t *ret_n,
                       struct crib_error **reterr)
{
	_cleanup_(crib_cni_conf_freep) struct crib_cni_conf *conf = NULL;
	int r;

	r = check_args(a, reterr);
	if (r < 0)
		return r;
	r = load_for_pod(a, &conf, reterr);
	if (r < 0)
		return r;
	if (a->make_netns) {
		r = crib_netns_create(a->netns, reterr);
		if (r < 0)
			return r;
	}
	r = add(a, conf, ret_ips, ret_n, reterr);
	if (r < 0)
		(void)teardown(a, true, NULL);
	return r;
}

int crib_cni_pod_check(const struct crib_cni_args *a, bool *ret_checked, struct crib_error **reterr)
{
	_cleanup_(crib_cni_conf_freep) struct crib_cni_conf *conf = NULL;
	_cleanup_(json_decrefp) json_t *result = NULL;
	int r = cache_read(a, &conf, &result, reterr);

	if (r < 0)
		return r;
	if (!conf || !result || !since_0_4(conf->version) || conf->disable_check) {
		*ret_checked = false;
		return 0;
	}
	r = run_list(a, conf, "CHECK", result, false, NULL, reterr);
	if (r < 0)
		return r;
	*ret_checked = true;
	return 0;
}
