/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client.h"
#include "error.h"
#include "util.h"

#define CONNECT_TIMEOUT_S 10L
#define MAX_TOKEN_LEN     4096
/* Over the unix socket the host is a placeholder: cribd does not look at it. */
#define SOCKET_BASE_URL "http://localhost"

struct crib_ctl_client {
	CURL *curl;
	char *base_url;    /* scheme://host:port, no path */
	char *socket_path; /* NULL over TCP */
	char *token;       /* NULL over the socket */
	char *cacert;
	char *where; /* names the endpoint in messages */
	char errbuf[CURL_ERROR_SIZE];
};

enum method {
	METHOD_GET,
	METHOD_POST,
};

/* One request's answer as it comes in. */
struct transfer {
	struct crib_ctl_client *c;
	int stream_fd; /* a 2xx body goes here when >= 0; error bodies are always kept */
	char *body;    /* NUL-terminated */
	size_t len;
	size_t cap;
	int write_error; /* -errno that made the write callback stop the transfer */
};

static void curl_url_cleanupp(CURLU **u)
{
	curl_url_cleanup(*u);
}

static void transfer_done(struct transfer *t)
{
	free(t->body);
}

/* The token is the file's content up to its trailing line ends. */
static int read_token(const char *path, char **ret, struct crib_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = crib_xmalloc(MAX_TOKEN_LEN + 1);
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return crib_error_set(reterr, errno, "Failed to open token file '%s': %s", path,
		                      strerror(errno));
	n = read(fd, buf, MAX_TOKEN_LEN + 1);
	if (n < 0)
		return crib_error_set(reterr, errno, "Failed to read token file '%s': %s", path,
		                      strerror(errno));
	if (n > MAX_TOKEN_LEN)
		return crib_error_set(reterr, EFBIG, "Token file '%s' is larger than %d bytes",
		                      path, MAX_TOKEN_LEN);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (n == 0 || memchr(buf, '\0', (size_t)n) || strpbrk(buf, "\r\n"))
		return crib_error_set(reterr, EINVAL,
		                      "Token file '%s' does not hold a token on one line", path);
	*ret = TAKE_PTR(buf);
	return 0;
}

/* Checks URL (a base: scheme, host and port) and keeps it for the requests. */
static int set_url(struct crib_ctl_client *c, const char *url, struct crib_error **reterr)
{
	_cleanup_(curl_url_cleanupp) CURLU *u = curl_url();

	if (!u)
		return crib_error_set(reterr, ENOMEM, "Out of memory");
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return crib_error_set(reterr, EINVAL, "URL '%s' is neither http:// nor https://",
		                      url);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		return crib_error_set(reterr, EINVAL, "Invalid URL '%s'", url);
	c->base_url = crib_xstrdup(url);
	c->where = crib_xasprintf("'%s'", url);
	return 0;
}

int crib_ctl_client_new(const struct crib_ctl_client_config *cfg, struct crib_ctl_client **ret,
                        struct crib_error **reterr)
{
	_cleanup_(crib_ctl_client_freep) struct crib_ctl_client *c = NULL;
	int r;

	c = crib_xcalloc(1, sizeof(*c));
	c->curl = curl_easy_init();
	if (!c->curl)
		return crib_error_set(reterr, ENOMEM, "Failed to set up libcurl");
	if (cfg->url) {
		r = set_url(c, cfg->url, reterr);
		if (r < 0)
			return r;
		r = read_token(cfg->token_file, &c->token, reterr);
		if (r < 0)
			return r;
		c->cacert = crib_xstrdup(cfg->cacert);
	} else {
		c->base_url = crib_xstrdup(SOCKET_BASE_URL);
		c->socket_path = crib_xstrdup(cfg->socket_path);
		c->where = crib_xasprintf("admin socket '%s'", cfg->socket_path);
	}
	*ret = TAKE_PTR(c);
	return 0;
}

struct crib_ctl_client *crib_ctl_client_free(struct crib_ctl_client *c)
{
	if (!c)
		return NULL;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base_url);
	free(c->socket_path);
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->cacert);
	free(c->where);
	free(c);
	return NULL;
}

char *crib_ctl_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *copy;

	if (!e) {
		fputs("cribctl: out of memory\n", stderr);
		abort();
	}
	/* Callers free() what we return; curl's memory goes back through curl_free(). */
	copy = crib_xstrdup(e);
	curl_free(e);
	return copy;
}

/* BASE_URL + PATH + the PARAMS that have a value, each escaped. */
static int build_url(const struct crib_ctl_client *c, const char *path,
                     const struct crib_ctl_param *params, size_t n, CURLU **ret,
                     struct crib_error **reterr)
{
	_cleanup_(curl_url_cleanupp) CURLU *u = curl_url();

	if (!u || curl_url_set(u, CURLUPART_URL, c->base_url, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PATH, path, 0) != CURLUE_OK)
		return crib_error_set(reterr, EINVAL, "Cannot make a URL of '%s' and '%s'",
		                      c->base_url, path);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *value = NULL, *pair = NULL;

		if (!params[i].value)
			continue;
		value = crib_ctl_escape(params[i].value);
		pair = crib_xasprintf("%s=%s", params[i].key, value);
		if (curl_url_set(u, CURLUPART_QUERY, pair, CURLU_APPENDQUERY) != CURLUE_OK)
			return crib_error_set(reterr, EINVAL, "Cannot add '%s' to a URL", pair);
	}
	*ret = TAKE_PTR(u);
	return 0;
}

static int keep(struct transfer *t, const char *data, size_t n)
{
	if (n > CRIB_CTL_MAX_BODY - t->len) {
		t->write_error = -EFBIG;
		return -EFBIG;
	}
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;

		while (cap < t->len + n + 1)
			cap *= 2;
		t->body = crib_xrealloc(t->body, cap, 1);
		t->cap = cap;
	}
	memcpy(t->body + t->len, data, n);
	t->len += n;
	t->body[t->len] = '\0';
	return 0;
}

static int write_all(int fd, const char *data, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, data, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		data += k;
		n -= (size_t)k;
	}
	return 0;
}

static bool status_ok(long status)
{
	return status >= 200 && status < 300;
}

/* libcurl's write callback: a short count stops the transfer with CURLE_WRITE_ERROR. */
static size_t on_data(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;
	long status = 0;
	int r;

	(void)curl_easy_getinfo(t->c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (t->stream_fd >= 0 && status_ok(status)) {
		r = write_all(t->stream_fd, data, n);
		if (r < 0)
			t->write_error = r;
		return r < 0 ? 0 : n;
	}
	return keep(t, data, n) < 0 ? 0 : n;
}

static void set_options(struct crib_ctl_client *c, enum method method, CURLU *u, struct transfer *t)
{
	CURL *h = c->curl;

	/* A reset keeps the connection cache: pages and top's samples reuse one connection. */
	curl_easy_reset(h);
	c->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_CURLU, u);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cribctl/" CRIBCTL_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	if (c->socket_path) {
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
		/* An http_proxy in the environment has nothing to do with a local socket. */
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	}
	if (c->token) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->token);
	}
	if (c->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	if (method == METHOD_POST) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
}

static int transport_error(struct crib_ctl_client *c, CURLcode cc, const struct transfer *t,
                           struct crib_error **reterr)
{
	const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
	long os_errno = 0;

	if (cc == CURLE_WRITE_ERROR && t->write_error == -EFBIG)
		return crib_error_set(reterr, EFBIG, "The answer from %s is larger than %u bytes",
		                      c->where, CRIB_CTL_MAX_BODY);
	if (cc == CURLE_WRITE_ERROR && t->write_error < 0)
		return crib_error_set(reterr, -t->write_error, "Failed to write output: %s",
		                      strerror(-t->write_error));
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_OPERATION_TIMEDOUT) {
		(void)curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
		/* The OS's reason names the socket's problem better than curl's "localhost port
		 * 80". */
		if (c->socket_path && os_errno > 0)
			detail = strerror((int)os_errno);
		return crib_error_set(reterr, ECONNREFUSED, "Cannot connect to cribd at %s: %s",
		                      c->where, detail);
	}
	return crib_error_set(reterr, EIO, "Request to %s failed: %s", c->where, detail);
}

static int status_errno(long status)
{
	switch (status) {
	case 400:
		return EINVAL;
	case 401:
	case 403:
		return EACCES;
	case 404:
		return ENOENT;
	case 405:
		return EOPNOTSUPP;
	case 409:
		return EBUSY;
	case 413:
		return EFBIG;
	case 503:
		return EAGAIN;
	default:
		return status >= 500 ? EIO : EPROTO;
	}
}

/* "<message> (HTTP <code>)", the message from the {code, message} body when there is one. */
static int http_error(long status, const struct transfer *t, struct crib_error **reterr)
{
	_cleanup_(crib_ctl_json_decrefp) json_t *doc = NULL;
	const char *msg = NULL;

	if (t->len > 0)
		doc = json_loadb(t->body, t->len, 0, NULL);
	msg = json_string_value(json_object_get(doc, "message"));
	if (isempty(msg))
		msg = "the server gave no reason";
	return crib_error_set(reterr, status_errno(status), "%s (HTTP %ld)", msg, status);
}

static int perform(struct crib_ctl_client *c, enum method method, const char *path,
                   const struct crib_ctl_param *params, size_t n, struct transfer *t,
                   struct crib_error **reterr)
{
	_cleanup_(curl_url_cleanupp) CURLU *u = NULL;
	CURLcode cc;
	long status = 0;
	int r;

	r = build_url(c, path, params, n, &u, reterr);
	if (r < 0)
		return r;
	t->c = c;
	set_options(c, method, u, t);
	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK)
		return transport_error(c, cc, t, reterr);
	(void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (!status_ok(status))
		return http_error(status, t, reterr);
	return 0;
}

static int request_json(struct crib_ctl_client *c, enum method method, const char *path,
                        const struct crib_ctl_param *params, size_t n, json_t **ret,
                        struct crib_error **reterr)
{
	_cleanup_(transfer_done) struct transfer t = {.stream_fd = -EBADF};
	json_error_t jerr;
	json_t *doc;
	int r;

	r = perform(c, method, path, params, n, &t, reterr);
	if (r < 0)
		return r;
	doc = json_loadb(t.body ? t.body : "", t.len, 0, &jerr);
	if (!doc)
		return crib_error_set(reterr, EPROTO, "Failed to parse the answer to %s: %s", path,
		                      jerr.text);
	*ret = doc;
	return 0;
}

int crib_ctl_client_get_json(struct crib_ctl_client *c, const char *path,
                             const struct crib_ctl_param *params, size_t n, json_t **ret,
                             struct crib_error **reterr)
{
	return request_json(c, METHOD_GET, path, params, n, ret, reterr);
}

int crib_ctl_client_post_json(struct crib_ctl_client *c, const char *path, json_t **ret,
                              struct crib_error **reterr)
{
	return request_json(c, METHOD_POST, path, NULL, 0, ret, reterr);
}

int crib_ctl_client_get_text(struct crib_ctl_client *c, const char *path, char **ret,
                             size_t *ret_len, struct crib_error **reterr)
{
	_cleanup_(transfer_done) struct transfer t = {.stream_fd = -EBADF};
	int r;

	r = perform(c, METHOD_GET, path, NULL, 0, &t, reterr);
	if (r < 0)
		return r;
	*ret = t.body ? TAKE_PTR(t.body) : crib_xstrdup("");
	*ret_len = t.len;
	return 0;
}

int crib_ctl_client_stream(struct crib_ctl_client *c, const char *path,
                           const struct crib_ctl_param *params, size_t n, int fd,
                           struct crib_error **reterr)
{
	_cleanup_(transfer_done) struct transfer t = {.stream_fd = fd};

	return perform(c, METHOD_GET, path, params, n, &t, reterr);
}
