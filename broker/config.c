/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ini.h>
#include <jansson.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "util.h"

#ifndef CRIB_PLUGIN_DIR
#define CRIB_PLUGIN_DIR "/usr/local/lib/crib/backends"
#endif

/* Where the upstream release installs CNI plugins, then where Debian's package does. */
#define CRIB_CNI_BIN_DIRS "/opt/cni/bin:/usr/lib/cni"

enum section_kind {
	SECTION_NONE,
	SECTION_DAEMON,
	SECTION_RUNTIME,
	SECTION_BACKEND,
	SECTION_REGISTRY,
};

enum key_type {
	KEY_PATH,
	KEY_PATH_LIST,
	KEY_CLASS_NAME,
	KEY_LOG_LEVEL,
	KEY_LOG_FORMAT,
	KEY_NUMBER, /* unsigned, from min to max */
	KEY_CGROUP_DRIVER,
	KEY_ADDRESS, /* ADDR, ADDR:PORT or [ADDR6]:PORT; the port goes to port_offset */
};

struct daemon_key {
	const char *name;
	enum key_type type;
	size_t offset;
	unsigned min, max;
	const char *unit;
	size_t port_offset; /* KEY_ADDRESS */
};

#define KEY(n, t)                                                                                  \
	{                                                                                          \
#n, t, offsetof(struct crib_config, n), 0, 0, NULL, 0                              \
	}
#define ADDRESS(n, p)                                                                              \
	{                                                                                          \
#n, KEY_ADDRESS, offsetof(struct crib_config, n), 0, 0, NULL,                      \
		    offsetof(struct crib_config, p)                                                \
	}
#define NUMBER(n, lo, hi, u)                                                                       \
	{                                                                                          \
#n, KEY_NUMBER, offsetof(struct crib_config, n), lo, hi, u, 0                      \
	}
static const struct daemon_key daemon_keys[] = {
    KEY(cri_socket, KEY_PATH),
    KEY(admin_socket, KEY_PATH),
    ADDRESS(admin_address, admin_port),
    KEY(admin_token_file, KEY_PATH),
    KEY(admin_tls_cert, KEY_PATH),
    KEY(admin_tls_key, KEY_PATH),
    KEY(state_dir, KEY_PATH),
    KEY(run_dir, KEY_PATH),
    KEY(plugin_dir, KEY_PATH),
    KEY(conf_dir, KEY_PATH),
    KEY(cni_conf_dir, KEY_PATH),
    KEY(cni_bin_dirs, KEY_PATH_LIST),
    KEY(default_runtime_class, KEY_CLASS_NAME),
    KEY(log_level, KEY_LOG_LEVEL),
    KEY(log_format, KEY_LOG_FORMAT),
    NUMBER(workers, 1, 128, NULL),
    KEY(cgroup_driver, KEY_CGROUP_DRIVER),
    ADDRESS(stream_address, stream_port),
    NUMBER(stream_token_ttl, 1, 3600, "seconds"),
    NUMBER(stream_idle_timeout, 1, 7 * 24 * 3600, "seconds"),
    NUMBER(stream_max, 1, 4096, NULL),
    NUMBER(stream_max_per_object, 1, 4096, NULL),
};
#undef KEY
#undef ADDRESS
#undef NUMBER

/*
 * Debian's inih reads lines of at most this many bytes including "\r\n\0";
 * a longer line would be split silently, so the reader refuses it.
 */
#define INI_LINE_MAX 200

#define BOM "\xEF\xBB\xBF"

/*
 * Class settings end up in the state store as JSON, which is UTF-8 only; jansson's own
 * check says whether a string qualifies.
 */
static bool utf8_valid(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

struct parse_ctx {
	struct crib_config *cfg;
	const char *file;
	bool main_file;
	/* Source: a FILE or a string. */
	FILE *stream;
	const char *text;
	uint32_t line; /* number of the line inih is looking at */
	struct crib_error *err;
	enum section_kind kind;
	size_t sec; /* index into classes or backends */
	uint32_t daemon_lines[ARRAY_SIZE(daemon_keys)];
	uint32_t default_class_line;
};

static int parse_error(struct parse_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int parse_error(struct parse_ctx *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ctx->err)
		return 0;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)crib_error_set(&ctx->err, EINVAL, "%s:%u: %s", ctx->file, ctx->line, msg);
	return 0; /* what an inih handler returns to report an error */
}

static const char *intern_file(struct crib_config *cfg, const char *name)
{
	cfg->files = crib_xrealloc(cfg->files, cfg->n_files + 1, sizeof(*cfg->files));
	cfg->files[cfg->n_files] = crib_xstrdup(name);
	return cfg->files[cfg->n_files++];
}

static struct crib_config_section *find_section(struct crib_config_section *v, size_t n,
                                                const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(v[i].name, name))
			return &v[i];
	return NULL;
}

const struct crib_config_section *crib_config_find_class(const struct crib_config *cfg,
                                                         const char *name)
{
	return find_section(cfg->classes, cfg->n_classes, name);
}

const struct crib_config_section *crib_config_find_backend(const struct crib_config *cfg,
                                                           const char *name)
{
	return find_section(cfg->backends, cfg->n_backends, name);
}

static struct crib_config_section *current_section(struct parse_ctx *ctx)
{
	if (ctx->kind == SECTION_RUNTIME)
		return &ctx->cfg->classes[ctx->sec];
	if (ctx->kind == SECTION_BACKEND)
		return &ctx->cfg->backends[ctx->sec];
	return NULL;
}

static void add_section(struct parse_ctx *ctx, struct crib_config_section **v, size_t *n,
                        const char *name)
{
	struct crib_config_section *s;

	*v = crib_xrealloc(*v, *n + 1, sizeof(**v));
	s = &(*v)[*n];
	*s = (struct crib_config_section){
	    .name = crib_xstrdup(name),
	    .file = ctx->file,
	    .line = ctx->line,
	};
	ctx->sec = (*n)++;
}

static int start_typed_section(struct parse_ctx *ctx, enum section_kind kind, const char *name)
{
	struct crib_config_section **v =
	    kind == SECTION_RUNTIME ? &ctx->cfg->classes : &ctx->cfg->backends;
	size_t *n = kind == SECTION_RUNTIME ? &ctx->cfg->n_classes : &ctx->cfg->n_backends;
	const char *what = kind == SECTION_RUNTIME ? "runtime class" : "backend section";
	struct crib_config_section *dup;

	if (!crib_name_valid(name))
		return parse_error(ctx,
		                   "%s name '%s' is invalid: use 1 to 63 characters of a-z, 0-9, "
		                   "'-' and '_'",
		                   what, name);
	dup = find_section(*v, *n, name);
	if (dup)
		return parse_error(ctx, "%s '%s' is already defined at %s:%u", what, name,
		                   dup->file, dup->line);
	ctx->kind = kind;
	add_section(ctx, v, n, name);
	return 1;
}

const struct crib_config_registry *crib_config_find_registry(const struct crib_config *cfg,
                                                             const char *host)
{
	const struct crib_config_registry *any = NULL;

	for (size_t i = 0; i < cfg->n_registries; i++) {
		if (streq(cfg->registries[i].host, host))
			return &cfg->registries[i];
		if (streq(cfg->registries[i].host, "*"))
			any = &cfg->registries[i];
	}
	return any;
}

/* A registry host as references name it: a DNS name or address, maybe a port; or "*". */
static bool registry_host_valid(const char *h)
{
	const char *colon = strrchr(h, ':');
	size_t n = colon ? (size_t)(colon - h) : strlen(h);

	if (streq(h, "*"))
		return true;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-')
			return false;
	if (colon) {
		char *end = NULL;
		long port = strtol(colon + 1, &end, 10);

		if (end == colon + 1 || *end || port < 1 || port > 65535)
			return false;
	}
	return true;
}

static int start_registry_section(struct parse_ctx *ctx, const char *host)
{
	struct crib_config *cfg = ctx->cfg;

	if (!registry_host_valid(host))
		return parse_error(
		    ctx, "registry '%s' is not a host name with an optional port, or '*'", host);
	for (size_t i = 0; i < cfg->n_registries; i++)
		if (streq(cfg->registries[i].host, host))
			return parse_error(ctx, "registry section '%s' is already defined at %s:%u",
			                   host, cfg->registries[i].file, cfg->registries[i].line);
	cfg->registries =
	    crib_xrealloc(cfg->registries, cfg->n_registries + 1, sizeof(*cfg->registries));
	cfg->registries[cfg->n_registries] = (struct crib_config_registry){
	    .host = crib_xstrdup(host),
	    .file = ctx->file,
	    .line = ctx->line,
	    .insecure = -1,
	};
	ctx->sec = cfg->n_registries++;
	ctx->kind = SECTION_REGISTRY;
	return 1;
}

static int start_section(struct parse_ctx *ctx, const char *name)
{
	if (streq(name, "daemon")) {
		if (!ctx->main_file)
			return parse_error(ctx, "[daemon] belongs in the main config file %s",
			                   ctx->cfg->path ? ctx->cfg->path : CRIB_DEFAULT_CONFIG);
		ctx->kind = SECTION_DAEMON;
		return 1;
	}
	if (strncmp(name, "runtime.", 8) == 0)
		return start_typed_section(ctx, SECTION_RUNTIME, name + 8);
	if (strncmp(name, "backend.", 8) == 0)
		return start_typed_section(ctx, SECTION_BACKEND, name + 8);
	if (strncmp(name, "registry.", 9) == 0)
		return start_registry_section(ctx, name + 9);
	return parse_error(ctx,
	                   "unknown section [%s]: expected [daemon], [runtime.NAME], "
	                   "[backend.NAME] or [registry.HOST]",
	                   name);
}

/* Recognizes "[name]" lines so that sections get their line numbers even when empty. */
static int scan_section_header(struct parse_ctx *ctx, const char *line)
{
	const char *start, *end;
	char name[INI_LINE_MAX];
	size_t len;

	if (*line != '[') {
		/*
		 * inih reads an indented "[..." after a key as a continuation of that
		 * key's value, elsewhere as a section: refuse what reads two ways.
		 */
		while (*line && isspace((unsigned char)*line))
			line++;
		if (*line == '[')
			return parse_error(ctx, "section header is indented; start it at the "
			                        "beginning of the line");
		return 1;
	}
	start = line + 1;
	end = strchr(start, ']');
	if (!end)
		return parse_error(ctx, "section header lacks its closing ']'");
	len = (size_t)(end - start);
	memcpy(name, start, len);
	name[len] = '\0';
	return start_section(ctx, name);
}

static char *reader(char *buf, int size, void *user)
{
	struct parse_ctx *ctx = user;
	size_t len;

	if (ctx->err)
		return NULL;
	if (ctx->stream) {
		if (!fgets(buf, size, ctx->stream)) {
			/* The end of the file, or a read error that must not pass for one. */
			if (ferror(ctx->stream))
				(void)crib_error_set(&ctx->err, errno ? errno : EIO,
				                     "Failed to read config file '%s': %s",
				                     ctx->file, strerror(errno ? errno : EIO));
			return NULL;
		}
	} else {
		const char *nl;

		if (!*ctx->text)
			return NULL;
		nl = strchr(ctx->text, '\n');
		len = nl ? (size_t)(nl - ctx->text) + 1 : strlen(ctx->text);
		if (len > (size_t)size - 1)
			len = (size_t)size - 1;
		memcpy(buf, ctx->text, len);
		buf[len] = '\0';
		ctx->text += len;
	}
	ctx->line++;
	len = strlen(buf);
	if (len == (size_t)size - 1 && buf[len - 1] != '\n') {
		(void)parse_error(ctx,
		                  "line is longer than %d characters; split list values "
		                  "over several lines",
		                  INI_LINE_MAX - 3);
		return NULL;
	}
	/* inih skips a UTF-8 byte order mark at the start of a file; so do we. */
	if (!scan_section_header(ctx, ctx->line == 1 && strncmp(buf, BOM, 3) == 0 ? buf + 3 : buf))
		return NULL;
	return buf;
}

/* "DIR:DIR...": absolute directories, as CNI_PATH lists them; no empty entry. */
static bool path_list_valid(const char *value)
{
	const char *p = value;

	for (;;) {
		const char *colon = strchr(p, ':');

		if (*p != '/')
			return false;
		if (!colon)
			return true;
		p = colon + 1;
	}
}

/* "ADDR", "ADDR:PORT" or "[ADDR6]:PORT", numeric only: a listener's address. */
static int set_address(struct parse_ctx *ctx, const struct daemon_key *k, const char *value)
{
	char *base = (char *)ctx->cfg;
	_cleanup_free_ char *host = crib_xstrdup(value);
	char *port = NULL, *end = NULL;
	unsigned char buf[sizeof(struct in6_addr)];
	long n = 0;

	if (host[0] == '[') {
		char *close = strchr(host, ']');

		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		*close = '\0';
		port = close[1] ? close + 2 : NULL;
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else if (strchr(host, ':') && strchr(host, ':') == strrchr(host, ':')) {
		port = strchr(host, ':');
		*port++ = '\0';
	}
	if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
		goto bad;
	if (port) {
		errno = 0;
		n = strtol(port, &end, 10);
		if (errno || end == port || *end || n < 0 || n > 65535)
			goto bad;
	}
	crib_strreplace((char **)(void *)(base + k->offset), host);
	*(unsigned *)(void *)(base + k->port_offset) = (unsigned)n;
	return 1;
bad:
	return parse_error(ctx,
	                   "%s '%s' is not a numeric IP address with an optional "
	                   "port (127.0.0.1, 127.0.0.1:10010, [::1]:10010)",
	                   k->name, value);
}

static int set_daemon_key(struct parse_ctx *ctx, const struct daemon_key *k, const char *value)
{
	char *base = (char *)ctx->cfg;
	int v;

	switch (k->type) {
	case KEY_PATH:
		if (value[0] != '/')
			return parse_error(ctx, "%s must be an absolute path, not '%s'", k->name,
			                   value);
		crib_strreplace((char **)(void *)(base + k->offset), value);
		return 1;
	case KEY_PATH_LIST:
		if (!path_list_valid(value))
			return parse_error(ctx,
			                   "%s must be absolute paths separated by ':', not '%s'",
			                   k->name, value);
		crib_strreplace((char **)(void *)(base + k->offset), value);
		return 1;
	case KEY_CLASS_NAME:
		if (*value && !crib_name_valid(value))
			return parse_error(ctx, "%s '%s' is not a valid runtime class name",
			                   k->name, value);
		crib_strreplace((char **)(void *)(base + k->offset), value);
		ctx->default_class_line = ctx->line;
		return 1;
	case KEY_LOG_LEVEL:
		v = crib_log_level_from_string(value);
		if (v < 0)
			return parse_error(ctx,
			                   "log_level '%s' is not one of err, warning, notice, "
			                   "info, debug",
			                   value);
		ctx->cfg->log_level = v;
		return 1;
	case KEY_LOG_FORMAT:
		if (streq(value, "text"))
			ctx->cfg->log_format = CRIB_LOG_FORMAT_TEXT;
		else if (streq(value, "json"))
			ctx->cfg->log_format = CRIB_LOG_FORMAT_JSON;
		else
			return parse_error(ctx, "log_format '%s' is not one of text, json", value);
		return 1;
	case KEY_NUMBER: {
		char *end = NULL;
		long n;

		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || end == value || *end || n < (long)k->min || n > (long)k->max)
			return parse_error(ctx, "%s '%s' is not a number from %u to %u%s%s",
			                   k->name, value, k->min, k->max, k->unit ? " " : "",
			                   k->unit ? k->unit : "");
		*(unsigned *)(void *)(base + k->offset) = (unsigned)n;
		return 1;
	}
	case KEY_ADDRESS:
		return set_address(ctx, k, value);
	case KEY_CGROUP_DRIVER:
		if (streq(value, "auto"))
			ctx->cfg->cgroup_driver = CRIB_CGROUP_AUTO;
		else if (streq(value, "cgroupfs"))
			ctx->cfg->cgroup_driver = CRIB_CGROUP_CGROUPFS;
		else if (streq(value, "systemd"))
			ctx->cfg->cgroup_driver = CRIB_CGROUP_SYSTEMD;
		else
			return parse_error(ctx,
			                   "cgroup_driver '%s' is not one of auto, cgroupfs, "
			                   "systemd",
			                   value);
		return 1;
	}
	return parse_error(ctx, "internal: unhandled key type");
}

static int daemon_key(struct parse_ctx *ctx, const char *name, const char *value)
{
	for (size_t i = 0; i < ARRAY_SIZE(daemon_keys); i++) {
		if (!streq(daemon_keys[i].name, name))
			continue;
		if (ctx->daemon_lines[i])
			return parse_error(ctx, "key '%s' is already set at line %u", name,
			                   ctx->daemon_lines[i]);
		ctx->daemon_lines[i] = ctx->line;
		return set_daemon_key(ctx, &daemon_keys[i], value);
	}
	return parse_error(ctx, "unknown key '%s' in [daemon]", name);
}

static int section_key(struct parse_ctx *ctx, const char *name, const char *value)
{
	struct crib_config_section *s = current_section(ctx);

	if (!utf8_valid(name) || !utf8_valid(value))
		return parse_error(ctx, "%s of key '%s' is not valid UTF-8",
		                   utf8_valid(name) ? "the value" : "the name", name);
	if (ctx->kind == SECTION_RUNTIME && streq(name, "backend")) {
		if (s->backend)
			return parse_error(ctx, "key 'backend' is already set at line %u",
			                   s->backend_line);
		if (!crib_name_valid(value))
			return parse_error(ctx,
			                   "backend '%s' is not a valid backend name (the module "
			                   "file name without .so)",
			                   value);
		s->backend = crib_xstrdup(value);
		s->backend_line = ctx->line;
		return 1;
	}
	s->kv = crib_xrealloc(s->kv, s->n_kv + 1, sizeof(*s->kv));
	s->kv[s->n_kv++] = (struct crib_kv){
	    .key = crib_xstrdup(name),
	    .value = crib_xstrdup(value),
	    .file = ctx->file,
	    .line = ctx->line,
	};
	return 1;
}

static int parse_bool(struct parse_ctx *ctx, const char *name, const char *value, bool *ret)
{
	if (streq(value, "true"))
		*ret = true;
	else if (streq(value, "false"))
		*ret = false;
	else
		return parse_error(ctx, "%s '%s' is not one of true, false", name, value);
	return 1;
}

/* One mirror URL of a comma-separated list; the trailing slash is dropped. */
static int add_mirror(struct parse_ctx *ctx, struct crib_config_registry *r, const char *start,
                      size_t len)
{
	_cleanup_free_ char *url = NULL;

	while (len && isspace((unsigned char)*start)) {
		start++;
		len--;
	}
	while (len && (isspace((unsigned char)start[len - 1]) || start[len - 1] == '/'))
		len--;
	if (len == 0)
		return parse_error(ctx, "mirror list has an empty entry");
	url = crib_xmemdup(start, len + 1);
	url[len] = '\0';
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return parse_error(ctx, "mirror '%s' is not an http:// or https:// URL", url);
	if (strpbrk(url, " \t?#"))
		return parse_error(ctx, "mirror '%s' has spaces, a query or a fragment", url);
	r->mirrors = crib_xrealloc(r->mirrors, r->n_mirrors + 1, sizeof(*r->mirrors));
	r->mirrors[r->n_mirrors++] = TAKE_PTR(url);
	return 1;
}

static int registry_key(struct parse_ctx *ctx, const char *name, const char *value)
{
	struct crib_config_registry *r = &ctx->cfg->registries[ctx->sec];
	bool b = false;

	if (streq(name, "mirror")) {
		/* Repeated keys and continuation lines append, in order. */
		for (const char *p = value;;) {
			const char *comma = strchr(p, ',');
			size_t len = comma ? (size_t)(comma - p) : strlen(p);

			if (!add_mirror(ctx, r, p, len))
				return 0;
			if (!comma)
				return 1;
			p = comma + 1;
		}
	}
	if (streq(name, "mirror_only")) {
		if (!parse_bool(ctx, name, value, &b))
			return 0;
		r->mirror_only = b;
		return 1;
	}
	if (streq(name, "insecure")) {
		if (!parse_bool(ctx, name, value, &b))
			return 0;
		r->insecure = b;
		return 1;
	}
	if (streq(name, "ca_file")) {
		if (value[0] != '/')
			return parse_error(ctx, "ca_file must be an absolute path, not '%s'",
			                   value);
		crib_strreplace(&r->ca_file, value);
		return 1;
	}
	return parse_error(ctx,
	                   "unknown key '%s' in [registry.%s]: expected mirror, mirror_only, "
	                   "insecure or ca_file",
	                   name, r->host);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;

	(void)section; /* the reader tracked it, with its line */
	if (ctx->err)
		return 0;
	if (ctx->kind == SECTION_NONE)
		return parse_error(ctx, "key '%s' appears before any section", name);
	if (ctx->kind == SECTION_DAEMON)
		return daemon_key(ctx, name, value);
	if (ctx->kind == SECTION_REGISTRY)
		return utf8_valid(value)
		           ? registry_key(ctx, name, value)
		           : parse_error(ctx, "the value of key '%s' is not valid UTF-8", name);
	return section_key(ctx, name, value);
}

static int parse(struct parse_ctx *ctx, struct crib_error **reterr)
{
	int r;

	/* File names travel with class settings into the store, as JSON. */
	if (!utf8_valid(ctx->file))
		return crib_error_set(reterr, EINVAL,
		                      "Config file name '%s' is not valid UTF-8; rename it",
		                      ctx->file);
	r = ini_parse_stream(reader, ctx, handler, ctx);
	if (ctx->err) {
		if (reterr)
			*reterr = TAKE_PTR(ctx->err);
		ctx->err = crib_error_free(ctx->err);
		return -EINVAL;
	}
	if (r > 0)
		return crib_error_set(reterr, EINVAL,
		                      "%s:%d: syntax error: expected [section] or key = value",
		                      ctx->file, r);
	if (r < 0)
		return crib_error_set(reterr, ENOMEM, "%s: out of memory while parsing", ctx->file);
	return 0;
}

/* The line where the main file set daemon key NAME (0: not set). */
static uint32_t key_line(const struct parse_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(daemon_keys); i++)
		if (streq(daemon_keys[i].name, name))
			return ctx->daemon_lines[i];
	return 0;
}

/* The admin API's TCP listener is only safe with a token; TLS needs both halves. */
static int check_admin_tcp(const struct parse_ctx *ctx, struct crib_error **reterr)
{
	const struct crib_config *cfg = ctx->cfg;

	if (cfg->admin_address && !cfg->admin_port)
		return crib_error_set(reterr, EINVAL, "%s:%u: admin_address needs a port",
		                      ctx->file, key_line(ctx, "admin_address"));
	if (cfg->admin_address && !cfg->admin_token_file)
		return crib_error_set(reterr, EINVAL,
		                      "%s:%u: admin_address needs admin_token_file (the bearer "
		                      "token TCP clients must send)",
		                      ctx->file, key_line(ctx, "admin_address"));
	if (!cfg->admin_tls_cert != !cfg->admin_tls_key)
		return crib_error_set(
		    reterr, EINVAL, "%s:%u: admin_tls_cert and admin_tls_key go together",
		    ctx->file,
		    key_line(ctx, cfg->admin_tls_cert ? "admin_tls_cert" : "admin_tls_key"));
	return 0;
}

/* Parses one file; for the main file, also reports where default_runtime_class was set. */
static int parse_file(struct crib_config *cfg, FILE *f, const char *path, bool main_file,
                      uint32_t *ret_default_line, struct crib_error **reterr)
{
	struct parse_ctx ctx = {
	    .cfg = cfg,
	    .file = intern_file(cfg, path),
	    .main_file = main_file,
	    .stream = f,
	};
	int r;

	r = parse(&ctx, reterr);
	if (r == 0 && main_file)
		r = check_admin_tcp(&ctx, reterr);
	if (r == 0 && ret_default_line)
		*ret_default_line = ctx.default_class_line;
	return r;
}

static int open_and_parse(struct crib_config *cfg, const char *path, struct crib_error **reterr)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return crib_error_set(reterr, errno, "Failed to open config file '%s': %s", path,
		                      strerror(errno));
	r = parse_file(cfg, f, path, false, NULL, reterr);
	(void)fclose(f);
	return r;
}

static struct crib_config *config_new(const char *path)
{
	struct crib_config *cfg = crib_xcalloc(1, sizeof(*cfg));

	cfg->path = crib_xstrdup(path);
	cfg->cri_socket = crib_xstrdup("/run/crib/crib.sock");
	cfg->admin_socket = crib_xstrdup("/run/crib/admin.sock");
	cfg->state_dir = crib_xstrdup("/var/lib/crib");
	cfg->run_dir = crib_xstrdup("/run/crib");
	cfg->plugin_dir = crib_xstrdup(CRIB_PLUGIN_DIR);
	cfg->conf_dir = crib_xstrdup("/etc/crib/conf.d");
	cfg->cni_conf_dir = crib_xstrdup("/etc/cni/net.d");
	cfg->cni_bin_dirs = crib_xstrdup(CRIB_CNI_BIN_DIRS);
	cfg->default_runtime_class = crib_xstrdup("");
	cfg->log_level = CRIB_LOG_INFO;
	cfg->log_format = CRIB_LOG_FORMAT_TEXT;
	cfg->workers = 8;
	cfg->cgroup_driver = CRIB_CGROUP_AUTO;
	/* Loopback unless told otherwise: whoever holds a URL can run commands in a container. */
	cfg->stream_address = crib_xstrdup("127.0.0.1");
	cfg->stream_token_ttl = 60;
	cfg->stream_idle_timeout = 4 * 3600; /* kubelet's and containerd's default */
	cfg->stream_max = 256;
	cfg->stream_max_per_object = 32;
	return cfg;
}

/* Checks that need the whole configuration. */
static int validate(struct crib_config *cfg, const char *default_file, uint32_t default_line,
                    struct crib_error **reterr)
{
	for (size_t i = 0; i < cfg->n_classes; i++) {
		const struct crib_config_section *s = &cfg->classes[i];

		if (!s->backend)
			return crib_error_set(reterr, EINVAL,
			                      "%s:%u: [runtime.%s] lacks the required key "
			                      "'backend'",
			                      s->file, s->line, s->name);
	}
	if (!isempty(cfg->default_runtime_class) &&
	    !crib_config_find_class(cfg, cfg->default_runtime_class))
		return crib_error_set(reterr, EINVAL,
		                      "%s:%u: default_runtime_class '%s' names no [runtime.%s] "
		                      "section",
		                      default_file, default_line, cfg->default_runtime_class,
		                      cfg->default_runtime_class);
	return 0;
}

static int conf_filter(const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	if (de->d_name[0] == '.' || len < 6)
		return 0;
	if (de->d_type != DT_REG && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
		return 0;
	return strcmp(de->d_name + len - 5, ".conf") == 0;
}

static int parse_conf_dir(struct crib_config *cfg, struct crib_error **reterr)
{
	struct dirent **names = NULL;
	int n, r = 0;

	n = scandir(cfg->conf_dir, &names, conf_filter, alphasort);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		return crib_error_set(reterr, errno, "Failed to read conf_dir '%s': %s",
		                      cfg->conf_dir, strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		if (r == 0) {
			_cleanup_free_ char *p =
			    crib_xasprintf("%s/%s", cfg->conf_dir, names[i]->d_name);

			r = open_and_parse(cfg, p, reterr);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int crib_config_load(const char *path, struct crib_config **ret, struct crib_error **reterr)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg = NULL;
	const char *file = path ? path : CRIB_DEFAULT_CONFIG;
	uint32_t default_line = 0;
	FILE *f;
	int r;

	cfg = config_new(file);
	f = fopen(file, "re");
	if (f) {
		r = parse_file(cfg, f, file, true, &default_line, reterr);
		(void)fclose(f);
		if (r < 0)
			return r;
	} else if (path || errno != ENOENT) {
		return crib_error_set(reterr, errno, "Failed to open config file '%s': %s", file,
		                      strerror(errno));
	}
	/* A missing file at the default path means built-in defaults. */

	r = parse_conf_dir(cfg, reterr);
	if (r < 0)
		return r;
	r = validate(cfg, file, default_line, reterr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(cfg);
	return 0;
}

int crib_config_parse_string(const char *name, const char *text, struct crib_config **ret,
                             struct crib_error **reterr)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg = config_new(name);
	struct parse_ctx ctx = {
	    .cfg = cfg,
	    .file = intern_file(cfg, name),
	    .main_file = true,
	    .text = text,
	};
	int r;

	r = parse(&ctx, reterr);
	if (r < 0)
		return r;
	r = validate(cfg, name, ctx.default_class_line, reterr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(cfg);
	return 0;
}

static void free_sections(struct crib_config_section *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].backend);
		for (size_t j = 0; j < v[i].n_kv; j++) {
			free((char *)v[i].kv[j].key);
			free((char *)v[i].kv[j].value);
		}
		free(v[i].kv);
	}
	free(v);
}

struct crib_config *crib_config_free(struct crib_config *cfg)
{
	if (!cfg)
		return NULL;
	free(cfg->path);
	free(cfg->cri_socket);
	free(cfg->admin_socket);
	free(cfg->admin_address);
	free(cfg->admin_token_file);
	free(cfg->admin_tls_cert);
	free(cfg->admin_tls_key);
	free(cfg->state_dir);
	free(cfg->stream_address);
	free(cfg->run_dir);
	free(cfg->plugin_dir);
	free(cfg->conf_dir);
	free(cfg->cni_conf_dir);
	free(cfg->cni_bin_dirs);
	free(cfg->default_runtime_class);
	free_sections(cfg->classes, cfg->n_classes);
	free_sections(cfg->backends, cfg->n_backends);
	for (size_t i = 0; i < cfg->n_registries; i++) {
		struct crib_config_registry *r = &cfg->registries[i];

		free(r->host);
		for (size_t j = 0; j < r->n_mirrors; j++)
			free(r->mirrors[j]);
		free(r->mirrors);
		free(r->ca_file);
	}
	free(cfg->registries);
	for (size_t i = 0; i < cfg->n_files; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg);
	return NULL;
}
