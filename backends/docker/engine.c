/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Docker Engine API client: libcurl over the Engine's unix socket.  A
 * request gets an easy handle of its own, so that threads never share one
 * (the event stream, log copiers and ops run side by side).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <http_parser.h>

#include "engine.h"
#include "util.h"

/* A buffered answer larger than this is refused: no Engine document comes near it. */
#define RESPONSE_MAX    (64u * 1024u * 1024u)
#define PING_TIMEOUT_MS 5000L

struct docker_engine {
	const struct crib_host *host;
	char *socket;
	char *api;     /* negotiated: "1.41" */
	char *version; /* the Engine's */
	unsigned last_cap;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	/* Never undone: other users of libcurl in the process may still run. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct transfer {
	const struct docker_request *rq;
	struct docker_response *resp;
	bool too_big;
	bool stopped; /* on_data asked to end */
};

static size_t on_write(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	struct docker_response *resp = t->resp;
	size_t len = size * n;
	char *grown;

	if (t->rq->cancel && atomic_load(t->rq->cancel))
		return 0;
	if (t->rq->on_data) {
		if (t->rq->on_data(t->rq->userdata, data, len) != 0) {
			t->stopped = true;
			return 0;
		}
		return len;
	}
	if (resp->len + len > RESPONSE_MAX) {
		t->too_big = true;
		return 0;
	}
	grown = realloc(resp->body, resp->len + len + 1);
	if (!grown) {
		t->too_big = true;
		return 0;
	}
	resp->body = grown;
	memcpy(resp->body + resp->len, data, len);
	resp->len += len;
	resp->body[resp->len] = '\0';
	return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct transfer *t = userdata;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return t->rq->cancel && atomic_load(t->rq->cancel);
}

void docker_response_clear(struct docker_response *r)
{
	free(r->body);
	*r = (struct docker_response){0};
}

static void slist_freep(struct curl_slist **l)
{
	curl_slist_free_all(*l);
}

static void easy_freep(CURL **c)
{
	if (*c)
		curl_easy_cleanup(*c);
}

/* The transport error CODE as -errno, with the message naming the socket. */
static int transport_error(const struct docker_engine *e, const struct docker_request *rq,
                           const struct transfer *t, CURLcode code, const char *detail,
                           struct crib_error **reterr)
{
	int errnum;

	if (t->stopped)
		return 0;
	if (rq->cancel && atomic_load(rq->cancel))
		errnum = ECANCELED;
	else if (t->too_big)
		errnum = ENOMEM;
	else if (code == CURLE_OPERATION_TIMEDOUT)
		errnum = ETIMEDOUT;
	else if (code == CURLE_COULDNT_CONNECT)
		errnum = ECONNREFUSED;
	else
		errnum = EIO;
	return e->host->error_set(reterr, errnum, "Docker Engine at %s: %s %s: %s", e->socket,
	                          rq->method, rq->path,
	                          *detail ? detail : curl_easy_strerror(code));
}

static int request(const struct docker_engine *e, const char *api, const struct docker_request *rq,
                   struct docker_response *ret, struct crib_error **reterr)
{
	_cleanup_(easy_freep) CURL *c = NULL;
	_cleanup_(slist_freep) struct curl_slist *hdrs = NULL;
	_cleanup_free_ char *url = NULL, *body = NULL, *ctype = NULL;
	struct transfer t = {.rq = rq, .resp = ret};
	char detail[CURL_ERROR_SIZE] = "";
	CURLcode code;

	*ret = (struct docker_response){0};
	pthread_once(&curl_once, curl_init_once);
	c = curl_easy_init();
	if (!c)
		return e->host->error_set(reterr, ENOMEM, "libcurl could not make a handle");
	/* The host name is only what the Host header says; the socket decides where it goes. */
	url = api ? crib_xasprintf("http://docker/v%s%s", api, rq->path)
	          : crib_xasprintf("http://docker%s", rq->path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, PING_TIMEOUT_MS);
	if (rq->json) {
		body = json_dumps(rq->json, JSON_COMPACT);
		if (!body)
			return e->host->error_set(reterr, ENOMEM, "cannot encode a request body");
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	} else if (rq->raw) {
		ctype = crib_xasprintf("Content-Type: %s", rq->content_type);
		hdrs = curl_slist_append(hdrs, ctype);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->raw);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->raw_len);
	} else if (streq(rq->method, "POST")) {
		/* The Engine wants a body or none, never a form: an empty POST. */
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	/* 100-continue would only add a round trip on a local socket. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (rq->extra_header)
		hdrs = curl_slist_append(hdrs, rq->extra_header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	code = curl_easy_perform(c);
	if (code != CURLE_OK && !(t.stopped && code == CURLE_WRITE_ERROR)) {
		int r = transport_error(e, rq, &t, code, detail, reterr);

		docker_response_clear(ret);
		return r;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
	return 0;
}

int docker_engine_request(struct docker_engine *e, const struct docker_request *rq,
                          struct docker_response *ret, struct crib_error **reterr)
{
	return request(e, e->api, rq, ret, reterr);
}

/* The Engine's {"message": "..."}, or the body itself when it is not JSON. */
static char *engine_message(const struct docker_response *resp)
{
	json_t *o = resp->body ? json_loadb(resp->body, resp->len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(o, "message"));
	char *text = m ? crib_xstrdup(m) : NULL;
	size_t n;

	json_decref(o);
	if (text)
		return text;
	if (!resp->body || !resp->len)
		return crib_xasprintf("HTTP status %ld", resp->status);
	text = crib_xstrdup(resp->body);
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	return text;
}

static int status_errno(long status)
{
	switch (status) {
	case 304:
		return EALREADY;
	case 400:
		return EINVAL;
	case 401:
	case 403:
		return EACCES;
	case 404:
		return ENOENT;
	case 409:
		return EBUSY;
	default:
		return EIO;
	}
}

int docker_status_error(const struct crib_host *host, const struct docker_response *resp,
                        struct crib_error **reterr, const char *what, ...)
{
	_cleanup_free_ char *msg = NULL, *head = NULL;
	va_list ap;

	if (resp->status >= 200 && resp->status < 300)
		return 0;
	va_start(ap, what);
	if (vasprintf(&head, what, ap) < 0)
		head = NULL;
	va_end(ap);
	msg = engine_message(resp);
	return host->error_set(reterr, status_errno(resp->status), "%s: %s", head ? head : what,
	                       msg);
}

int docker_engine_json(struct docker_engine *e, const char *method, const char *path, json_t *body,
                       long timeout_ms, json_t **ret, const char *what, struct crib_error **reterr)
{
	struct docker_request rq = {
	    .method = method, .path = path, .json = body, .timeout_ms = timeout_ms};
	struct docker_response resp;
	json_error_t jerr;
	int r;

	*ret = NULL;
	r = docker_engine_request(e, &rq, &resp, reterr);
	if (r < 0)
		return r;
	r = docker_status_error(e->host, &resp, reterr, "%s", what);
	if (r == 0 && resp.len) {
		*ret = json_loadb(resp.body, resp.len, 0, &jerr);
		if (!*ret)
			r = e->host->error_set(reterr, EBADMSG,
			                       "%s: the Engine's answer is not JSON: %s", what,
			                       jerr.text);
	}
	docker_response_clear(&resp);
	return r;
}

/* "1.41" > "1.40": versions compare by their numbers, not as text. */
static int version_cmp(const char *a, const char *b)
{
	unsigned long amaj = strtoul(a, NULL, 10), bmaj = strtoul(b, NULL, 10);
	const char *ad = strchr(a, '.'), *bd = strchr(b, '.');
	unsigned long amin = ad ? strtoul(ad + 1, NULL, 10) : 0;
	unsigned long bmin = bd ? strtoul(bd + 1, NULL, 10) : 0;

	if (amaj != bmaj)
		return amaj < bmaj ? -1 : 1;
	return amin < bmin ? -1 : amin > bmin;
}

static int negotiate(struct docker_engine *e, struct crib_error **reterr)
{
	struct docker_request ping = {
	    .method = "GET", .path = "/_ping", .timeout_ms = PING_TIMEOUT_MS};
	struct docker_request ver = {
	    .method = "GET", .path = "/version", .timeout_ms = PING_TIMEOUT_MS};
	struct docker_response resp;
	const char *api = NULL, *version = NULL;
	json_t *o;
	int r;

	r = request(e, NULL, &ping, &resp, reterr);
	if (r < 0)
		return r;
	r = docker_status_error(e->host, &resp, reterr, "Docker Engine at %s: /_ping", e->socket);
	docker_response_clear(&resp);
	if (r < 0)
		return r;
	r = request(e, NULL, &ver, &resp, reterr);
	if (r < 0)
		return r;
	r = docker_status_error(e->host, &resp, reterr, "Docker Engine at %s: /version", e->socket);
	o = r == 0 ? json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL) : NULL;
	docker_response_clear(&resp);
	if (r < 0)
		return r;
	json_unpack(o, "{s?s s?s}", "ApiVersion", &api, "Version", &version);
	if (!api) {
		json_decref(o);
		return e->host->error_set(
		    reterr, EPROTO, "Docker Engine at %s: /version names no ApiVersion", e->socket);
	}
	if (version_cmp(api, DOCKER_API_MIN) < 0) {
		r = e->host->error_set(reterr, EPROTONOSUPPORT,
		                       "Docker Engine at %s speaks API %s; crib needs %s or newer",
		                       e->socket, api, DOCKER_API_MIN);
		json_decref(o);
		return r;
	}
	e->api = crib_xstrdup(version_cmp(api, DOCKER_API_MAX) > 0 ? DOCKER_API_MAX : api);
	/*
	 * Engines before 23.0 (API 1.42) refuse the capabilities after
	 * CAP_AUDIT_READ (37) by name: their list predates CAP_PERFMON.
	 */
	e->last_cap = version_cmp(api, "1.42") < 0 ? 37 : UINT_MAX;
	e->version = crib_xstrdup(version ? version : "unknown");
	json_decref(o);
	return 0;
}

int docker_engine_open(const struct crib_host *host, const char *socket, struct docker_engine **ret,
                       struct crib_error **reterr)
{
	struct docker_engine *e = crib_xcalloc(1, sizeof(*e));
	int r;

	e->host = host;
	e->socket = crib_xstrdup(socket);
	r = negotiate(e, reterr);
	if (r < 0) {
		docker_engine_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

void docker_engine_free(struct docker_engine *e)
{
	if (!e)
		return;
	free(e->socket);
	free(e->api);
	free(e->version);
	free(e);
}

const char *docker_engine_socket(const struct docker_engine *e)
{
	return e->socket;
}

const char *docker_engine_api_version(const struct docker_engine *e)
{
	return e->api;
}

const char *docker_engine_version(const struct docker_engine *e)
{
	return e->version;
}

unsigned docker_engine_last_cap(const struct docker_engine *e)
{
	return e->last_cap;
}

char *docker_escape(const char *s)
{
	char *esc = curl_easy_escape(NULL, s, 0);
	char *copy;

	if (!esc)
		abort();
	/* curl's allocator is not necessarily malloc: hand out a copy that free() takes. */
	copy = crib_xstrdup(esc);
	curl_free(esc);
	return copy;
}

/* Appends LEN bytes to a growable buffer; -ENOMEM past RESPONSE_MAX. */
static int buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n > RESPONSE_MAX)
		return -ENOMEM;
	if (*len + n > *cap) {
		size_t want = *cap ? *cap : 4096;
		char *grown;

		while (want < *len + n)
			want *= 2;
		grown = realloc(*buf, want);
		if (!grown)
			return -ENOMEM;
		*buf = grown;
		*cap = want;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	return 0;
}

/* Drops the first N bytes of a buffer. */
static void buf_consume(char *buf, size_t *len, size_t n)
{
	memmove(buf, buf + n, *len - n);
	*len -= n;
}

#define FRAME_HEADER 8

static size_t frame_length(const unsigned char *h)
{
	return (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | (size_t)h[7];
}

int docker_demux_feed(struct docker_demux *d, const char *data, size_t len)
{
	size_t off = 0;
	int r;

	/* Whole frames straight from DATA when nothing waits; the rest is buffered. */
	while (d->len == 0 && len - off >= FRAME_HEADER) {
		size_t n = frame_length((const unsigned char *)data + off);

		if (len - off - FRAME_HEADER < n)
			break;
		r = d->fn(d->userdata, (unsigned char)data[off], data + off + FRAME_HEADER, n);
		if (r != 0)
			return r;
		off += FRAME_HEADER + n;
	}
	if (off == len)
		return 0;
	r = buf_append(&d->buf, &d->len, &d->cap, data + off, len - off);
	if (r < 0)
		return r;
	while (d->len >= FRAME_HEADER) {
		size_t n = frame_length((const unsigned char *)d->buf);

		if (d->len - FRAME_HEADER < n)
			break;
		r = d->fn(d->userdata, (unsigned char)d->buf[0], d->buf + FRAME_HEADER, n);
		if (r != 0)
			return r;
		buf_consume(d->buf, &d->len, FRAME_HEADER + n);
	}
	return 0;
}

void docker_demux_clear(struct docker_demux *d)
{
	free(d->buf);
	d->buf = NULL;
	d->len = d->cap = 0;
}

static int line_parsed(struct docker_lines *l, const char *line, size_t n)
{
	json_t *o = json_loadb(line, n, 0, NULL);
	int r = 0;

	if (json_is_object(o))
		r = l->fn(l->userdata, o);
	json_decref(o);
	return r;
}

int docker_lines_feed(struct docker_lines *l, const char *data, size_t len)
{
	const char *nl;
	int r;

	r = buf_append(&l->buf, &l->len, &l->cap, data, len);
	if (r < 0)
		return r;
	while ((nl = memchr(l->buf, '\n', l->len))) {
		size_t n = (size_t)(nl - l->buf);

		r = n ? line_parsed(l, l->buf, n) : 0;
		buf_consume(l->buf, &l->len, n + 1);
		if (r != 0)
			return r;
	}
	return 0;
}

void docker_lines_clear(struct docker_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

int64_t docker_parse_time(const char *s)
{
	struct tm tm = {0};
	const char *p;
	int64_t ns = 0, scale = 100000000;
	int64_t secs;
	int sign, oh, om;

	if (!s)
		return 0;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p || tm.tm_year + 1900 <= 1)
		return 0;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			ns += scale ? (*p - '0') * scale : 0;
	secs = (int64_t)timegm(&tm);
	if (*p == 'Z' || *p == 'z')
		return secs * 1000000000 + ns;
	if ((*p != '+' && *p != '-') || sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
		return 0;
	sign = *p == '+' ? 1 : -1;
	return (secs - sign * (int64_t)(oh * 3600 + om * 60)) * 1000000000 + ns;
}

/*
 * Hijacked connections (the exec and attach streams).  libcurl cannot hand
 * a connection over once the Engine switched it to a raw stream, so these
 * requests are written on a socket of their own and the answer's head is read
 * with http-parser; every byte after the head belongs to the stream.
 */

/* How long the Engine may take to answer a hijacked request. */
#define HIJACK_TIMEOUT_MS 30000L
/* A refusal's body longer than this is not the Engine's {"message"}. */
#define HIJACK_BODY_MAX (64u * 1024u)

struct hijack_answer {
	long status;
	bool switched; /* the head handed the connection over: the stream follows */
	bool complete; /* a refusal was read to its end */
	char *body;    /* a refusal's body, NUL-terminated */
	size_t len;
};

static int on_hijack_head(http_parser *p)
{
	struct hijack_answer *a = p->data;

	a->status = p->status_code;
	/*
	 * 101, or 200 from Engines older than upgrades.  Returning 2 says that
	 * neither a body nor another answer follows: the parser stops here.
	 */
	if (a->status == 101 || a->status == 200) {
		a->switched = true;
		return 2;
	}
	return 0;
}

static int on_refusal_body(http_parser *p, const char *at, size_t len)
{
	struct hijack_answer *a = p->data;
	char *grown;

	if (a->len + len > HIJACK_BODY_MAX)
		return 1;
	grown = realloc(a->body, a->len + len + 1);
	if (!grown)
		return 1;
	a->body = grown;
	memcpy(a->body + a->len, at, len);
	a->len += len;
	a->body[a->len] = '\0';
	return 0;
}

static int on_refusal_done(http_parser *p)
{
	struct hijack_answer *a = p->data;

	a->complete = true;
	return 0;
}

static int hijack_connect(const struct docker_engine *e, int *ret_fd)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -EBADF;

	if (strlen(e->socket) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, e->socket, strlen(e->socket) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Waits up to the deadline (crib_mono_ns) for FD to be readable. */
static int wait_readable(int fd, int64_t deadline_ns)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left_ms = (deadline_ns - crib_mono_ns()) / 1000000;
		int r;

		if (left_ms <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left_ms > INT32_MAX ? INT32_MAX : (int)left_ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * Reads the answer to a hijacked request until its head handed the
 * connection over (RET gets the bytes that came after the head) or a refusal
 * was read whole (A says which).  -EBADMSG when the answer is not HTTP.
 */
static int hijack_read(int fd, struct hijack_answer *a, struct docker_hijacked *ret)
{
	int64_t deadline = crib_mono_ns() + HIJACK_TIMEOUT_MS * 1000000;
	http_parser_settings settings;
	http_parser parser;
	char buf[4096];

	http_parser_init(&parser, HTTP_RESPONSE);
	parser.data = a;
	http_parser_settings_init(&settings);
	settings.on_headers_complete = on_hijack_head;
	settings.on_body = on_refusal_body;
	settings.on_message_complete = on_refusal_done;
	for (;;) {
		size_t parsed;
		ssize_t n;
		int r;

		r = wait_readable(fd, deadline);
		if (r < 0)
			return r;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		/* A read of 0 tells the parser the connection ended (a body up to EOF). */
		parsed = http_parser_execute(&parser, &settings, buf, (size_t)n);
		if (a->switched) {
			ret->extra_len = (size_t)n - parsed;
			ret->extra = crib_xmemdup(buf + parsed, ret->extra_len);
			return 0;
		}
		if (a->complete)
			return 0;
		if (HTTP_PARSER_ERRNO(&parser) != HPE_OK)
			return -EBADMSG;
		if (n == 0)
			return -ECONNRESET;
	}
}

int docker_engine_hijack(struct docker_engine *e, const char *method, const char *path,
                         json_t *body, const char *what, struct docker_hijacked *ret,
                         struct crib_error **reterr)
{
	_cleanup_free_ char *text = NULL, *rq = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct hijack_answer a = {0};
	struct docker_hijacked h = {.fd = -EBADF};
	struct docker_response refusal;
	int r;

	text = body ? json_dumps(body, JSON_COMPACT) : crib_xstrdup("");
	if (!text)
		return e->host->error_set(reterr, ENOMEM, "cannot encode a request body");
	rq = crib_xasprintf("%s /v%s%s HTTP/1.1\r\nHost: docker\r\n%sContent-Length: %zu\r\n"
	                    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n%s",
	                    method, e->api, path, body ? "Content-Type: application/json\r\n" : "",
	                    strlen(text), text);
	r = hijack_connect(e, &fd);
	if (r < 0)
		/* As docker_engine_request says it: the Engine is down (UNAVAILABLE). */
		return e->host->error_set(reterr, ECONNREFUSED, "Docker Engine at %s: %s %s: %s",
		                          e->socket, method, path, strerror(-r));
	r = send_all(fd, rq, strlen(rq));
	if (r == 0)
		r = hijack_read(fd, &a, &h);
	if (r < 0) {
		free(a.body);
		return e->host->error_set(reterr, -r, "Docker Engine at %s: %s %s: %s", e->socket,
		                          method, path,
		                          r == -EBADMSG ? "the answer is not HTTP" : strerror(-r));
	}
	if (!a.switched) {
		refusal =
		    (struct docker_response){.status = a.status, .body = a.body, .len = a.len};
		r = docker_status_error(e->host, &refusal, reterr, "%s", what);
		if (r == 0)
			r = e->host->error_set(
			    reterr, EPROTO, "%s: the Engine answered %ld and kept the connection",
			    what, a.status);
		free(a.body);
		return r;
	}
	h.fd = TAKE_FD(fd);
	*ret = h;
	return 0;
}

int docker_engine_ping(struct docker_engine *e)
{
	struct docker_request rq = {
	    .method = "GET", .path = "/_ping", .timeout_ms = PING_TIMEOUT_MS};
	struct docker_response resp;
	int r = docker_engine_request(e, &rq, &resp, NULL);

	if (r == 0) {
		r = resp.status == 200 ? 0 : -EIO;
		docker_response_clear(&resp);
	}
	return r;
}

void docker_pause_unless(const atomic_bool *stop, long ms)
{
	for (long waited = 0; waited < ms && !atomic_load(stop); waited += 100)
		nanosleep(&(struct timespec){.tv_nsec = 100 * 1000000L}, NULL);
}
