/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "config.h"
#include "daemon.h"
#include "error.h"
#include "http_loop.h"
#include "log.h"
#include "remotecommand.h"
#include "stream_server.h"
#include "wschannel.h"

#define LOG_CAT "stream"
/* Outstanding URLs; more are refused until some are used or expire. */
#define TOKENS_MAX 1024
/* HTTP connections not yet upgraded, and how long one may take to ask. */
#define HTTP_CONNECTIONS_MAX  256
#define HTTP_TIMEOUT_S        30
#define PORT_FORWARD_PROTOCOL "portforward.k8s.io"

struct crib_stream_server {
	struct crib_daemon *d;
	struct crib_http_loop http;
	bool http_open; /* its libuv handles are not closed yet */
	struct crib_stream_tokens *tokens;
	char *base; /* http://HOST:PORT */
	struct crib_list links;
	size_t n_links;
	bool stopping;
};

/* RFC 6455's key suffix, which proves a server understood the handshake. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* One HTTP request, from its first callback to its upgrade (or its answer). */
struct request {
	struct crib_stream_request req;
	const char *version;               /* SPDY: negotiated */
	const struct crib_ws_protocol *ws; /* WebSocket: negotiated */
	const char *refusal;               /* why the upgrade was refused (static) */
	unsigned refusal_code;
};

static const char *const kind_paths[] = {
    [CRIB_STREAM_EXEC] = "exec",
    [CRIB_STREAM_ATTACH] = "attach",
    [CRIB_STREAM_PORT_FORWARD] = "portforward",
};

struct crib_daemon *crib_stream_server_daemon(const struct crib_stream_server *s)
{
	return s->d;
}

uint64_t crib_stream_server_idle_ms(const struct crib_stream_server *s)
{
	return (uint64_t)s->d->cfg->stream_idle_timeout * 1000;
}

const char *crib_stream_server_base(const struct crib_stream_server *s)
{
	return s->base;
}

static void maybe_free(struct crib_stream_server *s)
{
	if (!s->stopping || s->http_open || s->n_links > 0)
		return;
	crib_http_loop_free(&s->http);
	crib_stream_tokens_free(s->tokens);
	free(s->base);
	free(s);
}

void crib_stream_link_release(void *arg)
{
	struct crib_stream_link *l = arg;
	struct crib_stream_server *s = l->srv;

	crib_list_del(&l->node);
	s->n_links--;
	(void)MHD_upgrade_action(l->upgrade, MHD_UPGRADE_ACTION_CLOSE);
	free(l);
	crib_http_loop_run(&s->http);
	maybe_free(s);
}

static size_t links_on(const struct crib_stream_server *s, const char *id)
{
	const struct crib_list *i;
	size_t n = 0;

	crib_list_foreach (i, &s->links) {
		const struct crib_stream_link *l = container_of(i, struct crib_stream_link, node);

		n += strcmp(l->id, id) == 0;
	}
	return n;
}

static void on_upgraded(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra,
                        size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct crib_stream_server *s = cls;
	struct request *rq = req_cls;
	struct crib_stream_link *l = crib_xcalloc(1, sizeof(*l));
	int r;

	(void)conn;
	l->srv = s;
	l->upgrade = urh;
	(void)snprintf(l->id, sizeof(l->id), "%s", rq->req.id);
	crib_list_add_tail(&s->links, &l->node);
	s->n_links++;
	if (rq->req.kind == CRIB_STREAM_PORT_FORWARD)
		r = crib_stream_pf_start(l, sock, (const uint8_t *)extra, extra_len, rq->ws,
		                         &rq->req);
	else
		r = crib_stream_rc_start(l, sock, (const uint8_t *)extra, extra_len, rq->version,
		                         rq->ws, &rq->req);
	if (r < 0) {
		log_warning("cannot start a %s session for %s: %s", kind_paths[rq->req.kind],
		            rq->req.id, strerror(-r));
		crib_stream_link_release(l);
	}
	crib_stream_request_clear(&rq->req);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned code, const char *fmt, ...)
{
	struct MHD_Response *resp;
	char *text = NULL;
	enum MHD_Result r;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	r = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return r;
}

struct offers {
	const char *header;
	char *v[16]; /* malloc'd */
	size_t n;
};

static void offers_clear(struct offers *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i]);
	o->n = 0;
}

/* Every value of the header, also when a client lists several in one (comma-separated). */
static enum MHD_Result collect_offer(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	struct offers *o = cls;
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	(void)kind;
	if (strcasecmp(key, o->header) != 0 || !value)
		return MHD_YES;
	copy = crib_xstrdup(value);
	for (char *t = strtok_r(copy, ", \t", &save); t && o->n < ARRAY_SIZE(o->v);
	     t = strtok_r(NULL, ", \t", &save))
		o->v[o->n++] = crib_xstrdup(t);
	return MHD_YES;
}

/*
 * The WebSocket subprotocol both sides speak, or NULL.  Port-forward has no
 * channel to close, so no v5 (as kubelet's port-forward over WebSocket).
 */
static const struct crib_ws_protocol *negotiate_ws(struct MHD_Connection *conn, bool port_forward)
{
	struct offers o = {.header = "Sec-WebSocket-Protocol"};
	const struct crib_ws_protocol *p;

	(void)MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_offer, &o);
	for (size_t i = 0; port_forward && i < o.n; i++)
		if (strcmp(o.v[i], "v5.channel.k8s.io") == 0)
			o.v[i][0] = '\0'; /* matches no protocol */
	p = crib_ws_negotiate((const char *const *)o.v, o.n);
	offers_clear(&o);
	return p;
}

/* The SPDY protocol both sides speak, or NULL. */
static const char *negotiate(struct MHD_Connection *conn, enum crib_stream_kind kind)
{
	struct offers o = {.header = "X-Stream-Protocol-Version"};
	const char *r = NULL;

	(void)MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_offer, &o);
	if (kind != CRIB_STREAM_PORT_FORWARD)
		r = crib_rc_negotiate((const char *const *)o.v, o.n);
	for (size_t i = 0; kind == CRIB_STREAM_PORT_FORWARD && i < o.n; i++)
		if (strcmp(o.v[i], PORT_FORWARD_PROTOCOL) == 0)
			r = PORT_FORWARD_PROTOCOL;
	offers_clear(&o);
	return r;
}

/* Sec-WebSocket-Accept for KEY: base64(SHA-1(KEY GUID)); RET holds 29 bytes. */
static int ws_accept(const char *key, char ret[29])
{
	_cleanup_free_ char *text = crib_xasprintf("%s%s", key, WS_GUID);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(text, strlen(text), md, &len, EVP_sha1(), NULL) || len != 20)
		return -EIO;
	return EVP_EncodeBlock((unsigned char *)ret, md, 20) == 28 ? 0 : -EIO;
}

/* "/KIND/TOKEN" */
static int parse_path(const char *url, enum crib_stream_kind *ret_kind, const char **ret_token)
{
	for (size_t k = 0; k < ARRAY_SIZE(kind_paths); k++) {
		size_t n = strlen(kind_paths[k]);

		if (url[0] == '/' && strncmp(url + 1, kind_paths[k], n) == 0 && url[n + 1] == '/') {
			*ret_kind = (enum crib_stream_kind)k;
			*ret_token = url + n + 2;
			return 0;
		}
	}
	return -ENOENT;
}

static enum MHD_Result upgrade(struct crib_stream_server *s, struct MHD_Connection *conn,
                               struct request *rq)
{
	struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgraded, s);
	enum MHD_Result r;

	if (!resp)
		return MHD_NO;
	if (rq->ws) {
		const char *key =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
		char accept[29];

		if (!key || ws_accept(key, accept) < 0) {
			MHD_destroy_response(resp);
			return MHD_NO;
		}
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
		(void)MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
		(void)MHD_add_response_header(resp, "Sec-WebSocket-Protocol", rq->ws->name);
	} else {
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "SPDY/3.1");
		(void)MHD_add_response_header(resp, "X-Stream-Protocol-Version", rq->version);
	}
	r = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return r;
}

/* The upgrade and protocol the client asked for; false with the refusal set in RQ. */
static bool choose_protocol(struct MHD_Connection *conn, enum crib_stream_kind kind, const char *up,
                            struct request *rq)
{
	if (up && strcasecmp(up, "SPDY/3.1") == 0) {
		rq->version = negotiate(conn, kind);
		rq->refusal =
		    kind == CRIB_STREAM_PORT_FORWARD
		        ? "unable to upgrade: X-Stream-Protocol-Version offers "
		          "no " PORT_FORWARD_PROTOCOL
		        : "unable to upgrade: X-Stream-Protocol-Version offers none of " CRIB_RC_V4
		          ", " CRIB_RC_V3 ", " CRIB_RC_V2;
		rq->refusal_code = MHD_HTTP_FORBIDDEN;
		return rq->version != NULL;
	}
	rq->refusal_code = MHD_HTTP_BAD_REQUEST;
	if (!up || strcasecmp(up, "websocket") != 0) {
		rq->refusal = "this endpoint upgrades to SPDY/3.1 or websocket (Upgrade header)";
		return false;
	}
	if (!MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key")) {
		rq->refusal = "a WebSocket upgrade needs Sec-WebSocket-Key";
		return false;
	}
	rq->ws = negotiate_ws(conn, kind == CRIB_STREAM_PORT_FORWARD);
	rq->refusal = "unable to upgrade: Sec-WebSocket-Protocol offers none of "
	              "v5.channel.k8s.io, v4.channel.k8s.io, v4.base64.channel.k8s.io, "
	              "base64.channel.k8s.io, channel.k8s.io";
	rq->refusal_code = MHD_HTTP_FORBIDDEN;
	return rq->ws != NULL;
}

static enum MHD_Result handle(struct crib_stream_server *s, struct MHD_Connection *conn,
                              const char *url, const char *method, struct request *rq)
{
	const char *up =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE);
	enum crib_stream_kind kind;
	const char *token;
	int r;

	if (parse_path(url, &kind, &token) < 0)
		return answer(conn, MHD_HTTP_NOT_FOUND, "no such endpoint: %s\n", url);
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not served here\n", method);
	if (!choose_protocol(conn, kind, up, rq))
		return answer(conn, rq->refusal_code, "%s\n", rq->refusal);
	r = crib_stream_tokens_take(s->tokens, crib_mono_ns(), token, &rq->req);
	if (r == -ETIMEDOUT)
		return answer(conn, MHD_HTTP_NOT_FOUND, "the URL's token expired\n");
	if (r < 0)
		return answer(conn, MHD_HTTP_NOT_FOUND, "the URL's token is unknown or was used\n");
	if (rq->req.kind != kind)
		return answer(conn, MHD_HTTP_NOT_FOUND, "the token is not for %s\n",
		              kind_paths[kind]);
	if (s->n_links >= s->d->cfg->stream_max)
		return answer(conn, MHD_HTTP_TOO_MANY_REQUESTS,
		              "too many streaming sessions (stream_max = %u)\n",
		              s->d->cfg->stream_max);
	if (links_on(s, rq->req.id) >= s->d->cfg->stream_max_per_object)
		return answer(conn, MHD_HTTP_TOO_MANY_REQUESTS,
		              "too many streaming sessions on %s (stream_max_per_object = %u)\n",
		              rq->req.id, s->d->cfg->stream_max_per_object);
	return upgrade(s, conn, rq);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
	struct crib_stream_server *s = cls;
	struct request *rq = *req_cls;

	(void)version;
	(void)upload_data;
	if (!rq) {
		*req_cls = crib_xcalloc(1, sizeof(struct request));
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0; /* a body means nothing here */
		return MHD_YES;
	}
	if (s->stopping)
		return answer(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "cribd is shutting down\n");
	return handle(s, conn, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode code)
{
	struct request *rq = *req_cls;

	(void)cls;
	(void)conn;
	(void)code;
	if (!rq)
		return;
	crib_stream_request_clear(&rq->req);
	free(rq);
	*req_cls = NULL;
}

/* A listening socket on the configured address; *ret_port is the port it got. */
static int listen_on(const struct crib_config *cfg, int *ret_fd, unsigned *ret_port,
                     struct crib_error **reterr)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int one = 1, fd;

	if (inet_pton(AF_INET, cfg->stream_address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)cfg->stream_port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, cfg->stream_address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)cfg->stream_port);
		len = sizeof(*in6);
	} else {
		return crib_error_set(reterr, EINVAL, "stream_address '%s' is not an IP address",
		                      cfg->stream_address);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return crib_error_set(reterr, errno, "cannot make the streaming socket: %s",
		                      strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int e = errno;

		close(fd);
		return crib_error_set(reterr, e, "cannot listen on stream_address %s port %u: %s",
		                      cfg->stream_address, cfg->stream_port, strerror(e));
	}
	*ret_fd = fd;
	*ret_port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
	return 0;
}

/* The host part of the URLs: an unspecified address is reached through loopback. */
static char *url_base(const char *address, unsigned port)
{
	bool v6 = strchr(address, ':') != NULL;

	if (strcmp(address, "0.0.0.0") == 0)
		address = "127.0.0.1";
	else if (strcmp(address, "::") == 0)
		address = "::1";
	return crib_xasprintf(v6 ? "http://[%s]:%u" : "http://%s:%u", address, port);
}

static void on_http_closed(struct crib_http_loop *h)
{
	struct crib_stream_server *s = container_of(h, struct crib_stream_server, http);

	s->http_open = false;
	maybe_free(s);
}

int crib_stream_server_start(struct crib_daemon *d, struct crib_stream_server **ret,
                             struct crib_error **reterr)
{
	const struct crib_config *cfg = d->cfg;
	struct crib_stream_server *s;
	struct MHD_Daemon *mhd;
	unsigned port = 0;
	int fd = -1, r;

	r = listen_on(cfg, &fd, &port, reterr);
	if (r < 0)
		return r;
	s = crib_xcalloc(1, sizeof(*s));
	s->d = d;
	crib_list_init(&s->links);
	s->base = url_base(cfg->stream_address, port);
	r = crib_stream_tokens_new(TOKENS_MAX, (int64_t)cfg->stream_token_ttl * 1000000000,
	                           &s->tokens);
	if (r < 0)
		goto fail;
	mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	                       on_request, s, MHD_OPTION_EXTERNAL_LOGGER, crib_http_log, LOG_CAT,
	                       MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
	                       (unsigned)HTTP_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
	                       (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	                       s, MHD_OPTION_END);
	if (!mhd) {
		r = -EIO;
		goto fail;
	}
	fd = -1; /* libmicrohttpd's now */
	r = crib_http_loop_start(&s->http, d->loop, mhd);
	if (r < 0)
		goto fail;
	s->http_open = true;
	crib_log(CRIB_LOG_INFO, LOG_CAT, "streaming server on %s", s->base);
	*ret = s;
	return 0;
fail:
	closep(&fd);
	crib_stream_tokens_free(s->tokens);
	free(s->base);
	free(s);
	return crib_error_set(reterr, -r, "cannot start the streaming server on %s:%u: %s",
	                      cfg->stream_address, port, strerror(-r));
}

void crib_stream_server_stop(struct crib_stream_server *s)
{
	struct crib_list *i, *tmp;

	if (!s || s->stopping)
		return;
	s->stopping = true;
	crib_http_loop_close(&s->http, on_http_closed);
	crib_list_foreach_safe (i, tmp, &s->links) {
		struct crib_stream_link *l = container_of(i, struct crib_stream_link, node);

		if (l->abort)
			l->abort(l);
	}
}

int crib_stream_server_url(struct crib_stream_server *s, struct crib_stream_request *r,
                           char **ret_url, struct crib_error **reterr)
{
	char token[CRIB_ID_LEN + 1];
	enum crib_stream_kind kind = r->kind;
	int e;

	if (!s || s->stopping)
		return crib_error_set(reterr, EAGAIN, "the streaming server is not running");
	e = crib_stream_tokens_add(s->tokens, crib_mono_ns(), r, token);
	if (e < 0)
		return crib_error_set(reterr, ENOSPC,
		                      "%d streaming URLs are outstanding; retry once some are "
		                      "used or expired",
		                      TOKENS_MAX);
	*ret_url = crib_xasprintf("%s/%s/%s", s->base, kind_paths[kind], token);
	return 0;
}
