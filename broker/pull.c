/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "config.h"
#include "content.h"
#include "error.h"
#include "imageref.h"
#include "log.h"
#include "manifest.h"
#include "pull.h"
#include "util.h"

#define LOG_CAT "pull"

/* Manifests and configs are small documents; anything bigger is not one. */
#define MANIFEST_MAX ((size_t)4 << 20)
#define CONFIG_MAX   ((size_t)8 << 20)
/* Registry error bodies are kept for messages only. */
#define ERROR_BODY_MAX ((size_t)16 << 10)

/* A response body kept in memory (manifests, configs, error documents). */
struct body {
	char *data;
	size_t len;
	size_t max;
	bool overflow;
};

/* One pull: a curl handle, the credentials, and what the last response said. */
struct session {
	CURL *curl;
	struct crib_content *cs;
	const struct crib_imageref *ref;
	const struct crib_pull_auth *auth;
	const struct crib_pull_opts *opts;
	const char *endpoint;
	char *token; /* bearer token for the endpoint */
	bool basic;  /* send basic credentials */
	char *user;  /* decoded credentials */
	char *pass;
	char errbuf[CURL_ERROR_SIZE];
	/* The response. */
	char *www_authenticate;
	char *content_type;
	char *content_digest;
	struct body body;
	struct crib_ingest *ingest; /* where a 2xx body goes, when set */
	struct crib_error *sink_err;
};

void crib_pull_host_platform(const char **ret_arch, const char **ret_variant)
{
	static const struct {
		const char *machine, *arch, *variant;
	} map[] = {
	    {"x86_64", "amd64", NULL},    {"aarch64", "arm64", "v8"}, {"armv7l", "arm", "v7"},
	    {"armv6l", "arm", "v6"},      {"i686", "386", NULL},      {"i386", "386", NULL},
	    {"ppc64le", "ppc64le", NULL}, {"s390x", "s390x", NULL},   {"riscv64", "riscv64", NULL},
	};
	struct utsname u;

	*ret_arch = "amd64";
	*ret_variant = NULL;
	if (uname(&u) < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (streq(u.machine, map[i].machine)) {
			*ret_arch = map[i].arch;
			*ret_variant = map[i].variant;
			return;
		}
}

void crib_pull_result_clear(struct crib_pull_result *r)
{
	free(r->digest);
	free(r->manifest_digest);
	free(r->config_digest);
	crib_strv_free(r->layers, r->n_layers);
	free(r->endpoint);
	*r = (struct crib_pull_result){0};
}

/* WWW-Authenticate: scheme, then key=value or key="quoted value" pairs. */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Reads a token or a quoted string at *pp into a malloc'd value. */
static char *read_value(const char **pp)
{
	const char *p = *pp;
	char *out, *o;

	if (*p != '"') {
		size_t n = strcspn(p, " \t,");
		char *v;

		if (n == 0)
			return NULL;
		v = crib_xmemdup(p, n + 1);
		v[n] = '\0';
		*pp = p + n;
		return v;
	}
	out = o = crib_xmalloc(strlen(p) + 1);
	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		*o++ = *p;
	}
	*o = '\0';
	if (*p != '"') {
		free(out);
		return NULL;
	}
	*pp = p + 1;
	return out;
}

int crib_pull_parse_challenge(const char *header, char **ret_scheme, const char *const *keys,
                              char **ret_params, size_t n_keys)
{
	const char *p = skip_ws(header);
	size_t n = strcspn(p, " \t");
	char *scheme;

	if (n == 0)
		return -EINVAL;
	scheme = crib_xmemdup(p, n + 1);
	scheme[n] = '\0';
	for (char *c = scheme; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (size_t i = 0; i < n_keys; i++)
		ret_params[i] = NULL;
	p = skip_ws(p + n);
	while (*p) {
		const char *key = p;
		size_t klen = strcspn(p, "= \t,");
		char *value;

		if (klen == 0 || p[klen] != '=')
			goto bad;
		p += klen + 1;
		value = read_value(&p);
		if (!value)
			goto bad;
		for (size_t i = 0; i < n_keys; i++)
			if (strlen(keys[i]) == klen && strncasecmp(keys[i], key, klen) == 0) {
				free(ret_params[i]);
				ret_params[i] = TAKE_PTR(value);
			}
		free(value);
		p = skip_ws(p);
		if (*p == ',')
			p = skip_ws(p + 1);
		else if (*p)
			goto bad;
	}
	*ret_scheme = scheme;
	return 0;
bad:
	free(scheme);
	for (size_t i = 0; i < n_keys; i++) {
		free(ret_params[i]);
		ret_params[i] = NULL;
	}
	return -EINVAL;
}

/* libcurl callbacks. */

static void body_reset(struct body *b, size_t max)
{
	free(b->data);
	*b = (struct body){.max = max};
}

static size_t body_append(struct body *b, const char *data, size_t len)
{
	char *n;

	if (b->len + len > b->max) {
		b->overflow = true;
		return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
	}
	n = realloc(b->data, b->len + len + 1);
	if (!n)
		return 0;
	memcpy(n + b->len, data, len);
	b->len += len;
	n[b->len] = '\0';
	b->data = n;
	return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	struct session *s = user;
	size_t len = size * nmemb;
	long code = 0;

	(void)curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	/* Only a successful answer is content; anything else is an error document. */
	if (s->ingest && code >= 200 && code < 300)
		return crib_ingest_write(s->ingest, data, len, &s->sink_err) < 0 ? 0 : len;
	return body_append(&s->body, data, len);
}

static char *header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	char *v;

	if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	len -= n + 1;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	v = crib_xmemdup(line, len + 1);
	v[len] = '\0';
	return v;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
	struct session *s = user;
	size_t len = size * nmemb;
	char *v;

	/* A new status line (after a redirect) starts a new response. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		crib_strreplace(&s->www_authenticate, NULL);
		crib_strreplace(&s->content_type, NULL);
		crib_strreplace(&s->content_digest, NULL);
	} else if ((v = header_value(data, len, "WWW-Authenticate"))) {
		free(s->www_authenticate);
		s->www_authenticate = v;
	} else if ((v = header_value(data, len, "Content-Type"))) {
		v[strcspn(v, "; ")] = '\0';
		free(s->content_type);
		s->content_type = v;
	} else if ((v = header_value(data, len, "Docker-Content-Digest"))) {
		free(s->content_digest);
		s->content_digest = v;
	}
	return len;
}

static CURL *new_handle(const struct crib_pull_opts *o, void *user, char *errbuf)
{
	const struct crib_config_registry *rc = o->registry;
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	(void)curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	(void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	                       o->connect_timeout_s > 0 ? o->connect_timeout_s : 5L);
	(void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	(void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
	                       o->stall_timeout_s > 0 ? o->stall_timeout_s : 30L);
	(void)curl_easy_setopt(c, CURLOPT_USERAGENT, "crib/0.1.0");
	(void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, user);
	(void)curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(c, CURLOPT_HEADERDATA, user);
	if (rc && rc->ca_file)
		(void)curl_easy_setopt(c, CURLOPT_CAINFO, rc->ca_file);
	return c;
}

static int transport_errno(CURLcode e)
{
	switch (e) {
	case CURLE_COULDNT_CONNECT:
		return ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return ENOMEM;
	default:
		return EPROTO;
	}
}

/* The registry's own words from an error document, for messages. */
static char *registry_message(const struct body *b)
{
	json_t *o = b->data ? json_loadb(b->data, b->len, 0, NULL) : NULL;
	const char *m = NULL;
	char *out;

	if (o)
		(void)json_unpack(o, "{s:[{s:s}]}", "errors", "message", &m);
	if (!m && o)
		(void)json_unpack(o, "{s:s}", "details", &m);
	if (m) {
		out = crib_xstrdup(m);
	} else if (b->data && b->len) {
		/* Not JSON: the first line, bounded and printable. */
		size_t n = strcspn(b->data, "\r\n");

		out = crib_xmemdup(b->data, (n > 200 ? 200 : n) + 1);
		out[n > 200 ? 200 : n] = '\0';
		for (char *c = out; *c; c++)
			if (!isprint((unsigned char)*c))
				*c = '?';
	} else {
		out = crib_xstrdup("no details");
	}
	json_decref(o);
	return out;
}

/* Credentials from the request: explicit, or the base64 "auth" string. */
static void load_credentials(struct session *s)
{
	const struct crib_pull_auth *a = s->auth;
	unsigned char *dec;
	size_t n;
	int len;
	char *colon;

	if (!a)
		return;
	if (!isempty(a->username)) {
		s->user = crib_xstrdup(a->username);
		s->pass = crib_xstrdup(a->password ? a->password : "");
		return;
	}
	if (isempty(a->auth))
		return;
	n = strlen(a->auth);
	dec = crib_xcalloc(1, n + 1);
	len = EVP_DecodeBlock(dec, (const unsigned char *)a->auth, (int)n);
	if (len > 0) {
		/* EVP_DecodeBlock counts padding as zero bytes. */
		while (len > 0 && dec[len - 1] == '\0')
			len--;
		dec[len] = '\0';
		colon = strchr((char *)dec, ':');
		if (colon) {
			*colon = '\0';
			s->user = crib_xstrdup((char *)dec);
			s->pass = crib_xstrdup(colon + 1);
		}
	}
	free(dec);
}

static bool have_credentials(const struct session *s)
{
	return s->user != NULL;
}

/* Fetches a bearer token from REALM (GET, or POST with an identity token). */
static int fetch_token(struct session *s, const char *realm, const char *service, const char *scope,
                       struct crib_error **reterr)
{
	struct session t = {.opts = s->opts, .auth = s->auth};
	_cleanup_free_ char *url = NULL, *esc_service = NULL, *esc_scope = NULL, *form = NULL;
	_cleanup_free_ char *msg = NULL;
	const char *token = NULL;
	json_t *o = NULL;
	CURLcode e;
	long code = 0;
	int r;

	t.curl = new_handle(s->opts, &t, t.errbuf);
	if (!t.curl)
		return crib_error_set(reterr, ENOMEM, "Out of memory starting a token request");
	body_reset(&t.body, MANIFEST_MAX);
	{
		char *a = curl_easy_escape(t.curl, service ? service : "", 0);
		char *b = curl_easy_escape(t.curl, scope ? scope : "", 0);

		esc_service = crib_xstrdup(a);
		esc_scope = crib_xstrdup(b);
		curl_free(a);
		curl_free(b);
	}
	if (s->auth && !isempty(s->auth->identity_token)) {
		char *tok = curl_easy_escape(t.curl, s->auth->identity_token, 0);

		/* OAuth2 refresh-token grant, as Docker's credential helpers expect. */
		form = crib_xasprintf("grant_type=refresh_token&client_id=crib&service=%s&scope=%s"
		                      "&refresh_token=%s",
		                      esc_service, esc_scope, tok);
		curl_free(tok);
		(void)curl_easy_setopt(t.curl, CURLOPT_URL, realm);
		(void)curl_easy_setopt(t.curl, CURLOPT_POSTFIELDS, form);
	} else {
		url = crib_xasprintf("%s%sservice=%s&scope=%s", realm,
		                     strchr(realm, '?') ? "&" : "?", esc_service, esc_scope);
		(void)curl_easy_setopt(t.curl, CURLOPT_URL, url);
		if (have_credentials(s)) {
			(void)curl_easy_setopt(t.curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
			(void)curl_easy_setopt(t.curl, CURLOPT_USERNAME, s->user);
			(void)curl_easy_setopt(t.curl, CURLOPT_PASSWORD, s->pass);
		}
	}
	e = curl_easy_perform(t.curl);
	(void)curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &code);
	if (e != CURLE_OK) {
		r = crib_error_set(reterr, transport_errno(e),
		                   "Failed to reach the token service %s: %s", realm,
		                   t.errbuf[0] ? t.errbuf : curl_easy_strerror(e));
	} else if (code == 401 || code == 403) {
		msg = registry_message(&t.body);
		r = crib_error_set(reterr, EKEYREJECTED,
		                   "The token service %s refused the credentials (HTTP %ld): %s",
		                   realm, code, msg);
	} else if (code != 200 || !(o = json_loadb(t.body.data, t.body.len, 0, NULL)) ||
	           (json_unpack(o, "{s:s}", "token", &token) < 0 &&
	            json_unpack(o, "{s:s}", "access_token", &token) < 0)) {
		msg = registry_message(&t.body);
		r = crib_error_set(reterr, EPROTO,
		                   "The token service %s gave no token (HTTP %ld): %s", realm, code,
		                   msg);
	} else {
		crib_strreplace(&s->token, token);
		r = 0;
	}
	json_decref(o);
	body_reset(&t.body, 0);
	free(t.www_authenticate);
	free(t.content_type);
	free(t.content_digest);
	curl_easy_cleanup(t.curl);
	return r;
}

/* Answers a 401 challenge; 0 means: try the request again. */
static int authenticate(struct session *s, struct crib_error **reterr)
{
	static const char *const keys[] = {"realm", "service", "scope"};
	char *params[3] = {NULL, NULL, NULL};
	_cleanup_free_ char *scheme = NULL, *scope = NULL;
	int r;

	if (!s->www_authenticate ||
	    crib_pull_parse_challenge(s->www_authenticate, &scheme, keys, params, 3) < 0)
		return crib_error_set(reterr, EKEYREJECTED,
		                      "%s requires authentication but sent no usable challenge",
		                      s->endpoint);
	if (streq(scheme, "basic")) {
		r = have_credentials(s) && !s->basic
		        ? 0
		        : crib_error_set(reterr, EKEYREJECTED, "%s requires credentials%s",
		                         s->endpoint,
		                         have_credentials(s) ? " and refused these" : "");
		s->basic = true;
	} else if (streq(scheme, "bearer") && params[0]) {
		if (s->token) {
			r = crib_error_set(reterr, EKEYREJECTED, "%s refused the token from %s",
			                   s->endpoint, params[0]);
		} else if (s->auth && !isempty(s->auth->registry_token)) {
			s->token = crib_xstrdup(s->auth->registry_token);
			r = 0;
		} else {
			scope = params[2] ? crib_xstrdup(params[2])
			                  : crib_xasprintf("repository:%s:pull", s->ref->path);
			r = fetch_token(s, params[0], params[1], scope, reterr);
		}
	} else {
		r = crib_error_set(reterr, EKEYREJECTED,
		                   "%s asks for '%s' authentication, which "
		                   "crib does not speak",
		                   s->endpoint, scheme);
	}
	for (size_t i = 0; i < 3; i++)
		free(params[i]);
	return r;
}

/*
 * GET URL.  With INGEST the body of a 2xx answer streams into it; otherwise
 * it lands in s->body (at most MAX bytes).  Answers a 401 challenge once.
 * Returns the HTTP status, or -errno when the registry could not be reached.
 */
static long get(struct session *s, const char *url, const char *accept, struct crib_ingest *ingest,
                size_t max, struct crib_error **reterr)
{
	for (int attempt = 0;; attempt++) {
		struct curl_slist *hdrs = NULL;
		_cleanup_free_ char *bearer = NULL;
		CURLcode e;
		long code = 0;
		int r;

		body_reset(&s->body, ingest ? ERROR_BODY_MAX : max);
		s->ingest = ingest;
		s->errbuf[0] = '\0';
		if (accept)
			hdrs = curl_slist_append(hdrs, accept);
		if (s->token) {
			bearer = crib_xasprintf("Authorization: Bearer %s", s->token);
			hdrs = curl_slist_append(hdrs, bearer);
		}
		(void)curl_easy_setopt(s->curl, CURLOPT_URL, url);
		(void)curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
		(void)curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
		if (s->basic && have_credentials(s)) {
			(void)curl_easy_setopt(s->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
			(void)curl_easy_setopt(s->curl, CURLOPT_USERNAME, s->user);
			(void)curl_easy_setopt(s->curl, CURLOPT_PASSWORD, s->pass);
		}
		e = curl_easy_perform(s->curl);
		curl_slist_free_all(hdrs);
		(void)curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
		s->ingest = NULL;
		if (s->sink_err) {
			if (reterr)
				*reterr = TAKE_PTR(s->sink_err);
			else
				s->sink_err = crib_error_free(s->sink_err);
			return -EBADMSG;
		}
		if (e != CURLE_OK && !(e == CURLE_WRITE_ERROR && s->body.overflow)) {
			int errnum = transport_errno(e);

			return crib_error_set(reterr, errnum, "Failed to reach %s: %s", url,
			                      s->errbuf[0] ? s->errbuf : curl_easy_strerror(e));
		}
		(void)curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
		if (s->body.overflow && code >= 200 && code < 300)
			return crib_error_set(reterr, EPROTO, "%s answered more than %zu bytes",
			                      url, s->body.max);
		if (code != 401 || attempt > 0 || (ingest && crib_ingest_offset(ingest) > 0))
			return code;
		r = authenticate(s, reterr);
		if (r < 0)
			return r;
	}
}

/* Maps a failed HTTP status to an error naming WHAT and quoting the registry. */
static int http_error(struct session *s, long code, const char *what, struct crib_error **reterr)
{
	_cleanup_free_ char *msg = registry_message(&s->body);
	int errnum;

	switch (code) {
	case 404:
		errnum = ENOENT;
		break;
	case 401:
		errnum = EKEYREJECTED;
		break;
	case 403:
		errnum = EACCES;
		break;
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		errnum = EAGAIN;
		break;
	default:
		errnum = EPROTO;
	}
	return crib_error_set(reterr, errnum, "%s: %s answered HTTP %ld: %s", what, s->endpoint,
	                      code, msg);
}

/*
 * Fetches the manifest REFERENCE (a tag or digest), checks it against
 * WANT_DIGEST (when given) and the registry's Docker-Content-Digest, parses
 * and stores it, and returns its digest.
 */
static int fetch_manifest(struct session *s, const char *reference, const char *want_digest,
                          char ret_digest[CRIB_DIGEST_LEN + 1], struct crib_manifest *ret,
                          struct crib_error **reterr)
{
	_cleanup_free_ char *url =
	    crib_xasprintf("%s/v2/%s/manifests/%s", s->endpoint, s->ref->path, reference);
	_cleanup_free_ char *what =
	    crib_xasprintf("Manifest %s of %s/%s", reference, s->ref->domain, s->ref->path);
	_cleanup_free_ char *accept = crib_xasprintf("Accept: %s", crib_manifest_accept);
	struct crib_error *perr = NULL;
	const char *data;
	long code;
	int r;

	code = get(s, url, accept, NULL, MANIFEST_MAX, reterr);
	if (code < 0)
		return (int)code;
	if (code != 200)
		return http_error(s, code, what, reterr);
	data = s->body.data ? s->body.data : "";
	crib_sha256_data(data, s->body.len, ret_digest);
	if (want_digest && !streq(want_digest, ret_digest))
		return crib_error_set(reterr, EBADMSG,
		                      "%s from %s does not match its digest (it hashes to %s)",
		                      what, s->endpoint, ret_digest);
	if (s->content_digest && strncmp(s->content_digest, "sha256:", 7) == 0 &&
	    !streq(s->content_digest, ret_digest))
		return crib_error_set(reterr, EBADMSG,
		                      "%s from %s hashes to %s, not to the %s the registry says",
		                      what, s->endpoint, ret_digest, s->content_digest);
	r = crib_manifest_parse(data, s->body.len, s->content_type, ret, &perr);
	if (r < 0) {
		r = crib_error_set(reterr, -r, "%s from %s: %s", what, s->endpoint,
		                   crib_error_msg(perr));
		crib_error_free(perr);
		return r;
	}
	r = crib_content_put(s->cs, ret_digest, data, s->body.len, reterr);
	if (r < 0)
		crib_manifest_clear(ret);
	return r;
}

/*
 * Fetches a blob into the store (WHAT names it: "Image config", "Layer").
 * Through an ingest, so that concurrent pulls of one blob fetch it once.
 */
static int fetch_blob(struct session *s, const char *what, const char *digest, int64_t size,
                      struct crib_error **reterr)
{
	_cleanup_free_ char *url =
	    crib_xasprintf("%s/v2/%s/blobs/%s", s->endpoint, s->ref->path, digest);
	struct crib_ingest *in = NULL;
	long code;
	int r;

	r = crib_content_ingest(s->cs, digest, size, &in, reterr);
	if (r != 0)
		return r < 0 ? r : 0; /* 1: already there (or another pull just fetched it) */
	code = get(s, url, NULL, in, 0, reterr);
	if (code < 0 || code != 200) {
		crib_ingest_abort(in);
		return code < 0 ? (int)code : http_error(s, code, what, reterr);
	}
	r = crib_ingest_commit(in, reterr);
	if (r < 0)
		return crib_error_set(reterr, -r, "%s from %s", what, s->endpoint);
	log_debug("Fetched %s %s (%lld bytes) from %s", what, digest, (long long)size, s->endpoint);
	return 0;
}

/* Resolves an index to the host's platform's manifest. */
static int resolve_index(struct session *s, struct crib_manifest *m,
                         char digest[CRIB_DIGEST_LEN + 1], struct crib_error **reterr)
{
	_cleanup_free_ char *name = crib_xasprintf("%s/%s", s->ref->domain, s->ref->path);
	const struct crib_platform_entry *e;
	char child[CRIB_DIGEST_LEN + 1];
	int r;

	e = crib_manifest_select(m, name, s->opts->os, s->opts->arch, s->opts->variant, reterr);
	if (!e)
		return -ENOENT;
	memcpy(child, e->digest, sizeof(child));
	crib_manifest_clear(m);
	r = fetch_manifest(s, child, child, digest, m, reterr);
	if (r == 0 && m->kind != CRIB_MANIFEST_IMAGE)
		r = crib_error_set(reterr, ENOTSUP, "Nested indexes are not supported (%s in %s)",
		                   child, name);
	return r;
}

/* Everything of the image from one endpoint. */
static int pull_from(struct session *s, struct crib_pull_result *res, struct crib_error **reterr)
{
	const char *reference = s->ref->digest ? s->ref->digest : s->ref->tag;
	_cleanup_(crib_manifest_clear) struct crib_manifest m = {0};
	char digest[CRIB_DIGEST_LEN + 1];
	int r;

	r = fetch_manifest(s, reference, s->ref->digest, digest, &m, reterr);
	if (r < 0)
		return r;
	res->digest = crib_xstrdup(digest);
	if (m.kind == CRIB_MANIFEST_INDEX) {
		r = resolve_index(s, &m, digest, reterr);
		if (r < 0)
			return r;
	}
	res->manifest_digest = crib_xstrdup(digest);
	res->config_digest = crib_xstrdup(m.config.digest);
	/* The config is read into memory later: refuse a giant before fetching it. */
	if (m.config.size > (int64_t)CONFIG_MAX)
		return crib_error_set(reterr, EPROTO, "The image config of %s is %lld bytes",
		                      digest, (long long)m.config.size);
	r = fetch_blob(s, "Image config", m.config.digest, m.config.size, reterr);
	res->size = (uint64_t)m.config.size;
	res->layers = crib_xcalloc(m.n_layers + 1, sizeof(*res->layers));
	for (size_t i = 0; r == 0 && i < m.n_layers; i++) {
		r = fetch_blob(s, "Layer", m.layers[i].digest, m.layers[i].size, reterr);
		res->layers[res->n_layers++] = crib_xstrdup(m.layers[i].digest);
		res->size += (uint64_t)m.layers[i].size;
	}
	if (r == 0)
		res->endpoint = crib_xstrdup(s->endpoint);
	return r;
}

/* The endpoints to try, in order: mirrors, then the registry itself. */
static char **endpoints(const struct crib_imageref *ref, const struct crib_config_registry *rc,
                        size_t *ret_n)
{
	char **v = crib_xcalloc((rc ? rc->n_mirrors : 0) + 1, sizeof(*v));
	size_t n = 0;
	bool plain;

	for (size_t i = 0; rc && i < rc->n_mirrors; i++)
		v[n++] = crib_xstrdup(rc->mirrors[i]);
	if (!rc || !rc->mirror_only) {
		plain = rc && rc->insecure >= 0 ? rc->insecure == 1
		                                : crib_registry_is_loopback(ref->domain);
		/* Docker Hub's API lives on another name than its references. */
		v[n++] = crib_xasprintf("%s://%s", plain ? "http" : "https",
		                        streq(ref->domain, CRIB_DOCKER_HUB) ? "registry-1.docker.io"
		                                                            : ref->domain);
	}
	*ret_n = n;
	return v;
}

char **crib_pull_sources(const struct crib_imageref *ref, const struct crib_config_registry *rc,
                         size_t *ret_n)
{
	char **v = crib_xcalloc((rc ? rc->n_mirrors : 0) + 1, sizeof(*v));
	_cleanup_free_ char *whole = crib_imageref_string(ref);
	const char *rest = whole + strlen(ref->domain); /* "/path:tag@digest" */
	size_t n = 0;

	for (size_t i = 0; rc && i < rc->n_mirrors; i++) {
		const char *m = rc->mirrors[i];
		const char *host = strstr(m, "://");

		v[n++] = crib_xasprintf("%s%s", host ? host + 3 : m, rest);
	}
	if (!rc || !rc->mirror_only)
		v[n++] = crib_xstrdup(whole);
	*ret_n = n;
	return v;
}

int crib_pull(struct crib_content *cs, const struct crib_imageref *ref,
              const struct crib_pull_auth *auth, const struct crib_pull_opts *opts,
              struct crib_pull_result *ret, struct crib_error **reterr)
{
	struct session s = {.cs = cs, .ref = ref, .auth = auth, .opts = opts};
	_cleanup_free_ char *name = crib_imageref_string(ref);
	struct crib_error *last = NULL;
	char *tried = crib_xstrdup("");
	size_t n = 0;
	char **eps = endpoints(ref, opts->registry, &n);
	int r = -ENOENT;

	load_credentials(&s);
	s.curl = new_handle(opts, &s, s.errbuf);
	if (!s.curl)
		r = crib_error_set(&last, ENOMEM, "Out of memory starting a pull");
	for (size_t i = 0; s.curl && i < n; i++) {
		struct crib_pull_result res = {0};
		char *more;

		s.endpoint = eps[i];
		crib_strreplace(&s.token, NULL);
		s.basic = false;
		last = crib_error_free(last);
		r = pull_from(&s, &res, &last);
		if (r == 0) {
			*ret = res;
			break;
		}
		crib_pull_result_clear(&res);
		log_debug("Pulling %s from %s failed: %s", name, eps[i], crib_error_msg(last));
		more = crib_xasprintf("%s%s%s", tried, *tried ? "; " : "", crib_error_msg(last));
		free(tried);
		tried = more;
	}
	if (r < 0) {
		/* The last endpoint's code (usually the registry itself), every endpoint's story.
		 */
		int errnum = last ? last->errnum : -r;

		r = crib_error_set(reterr, errnum, "Failed to pull %s: %s", name, tried);
	}
	crib_error_free(last);
	crib_strv_free(eps, n);
	free(tried);
	body_reset(&s.body, 0);
	free(s.www_authenticate);
	free(s.content_type);
	free(s.content_digest);
	free(s.token);
	free(s.user);
	free(s.pass);
	if (s.curl)
		curl_easy_cleanup(s.curl);
	return r;
}
