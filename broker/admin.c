/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin API's server: its thread, listeners, limits, authentication,
 * routing and answers, and the two mailboxes between the thread and cribd's
 * loop (admin_impl.h).  A request whose answer is not ready at once (posted
 * to the loop, waiting for views, a backend op or a reload) suspends its
 * connection until it is, and streamed answers (logs -f, events) suspend it
 * whenever they have nothing to send.
 */
#include <arpa/inet.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "admin_impl.h"
#include "config.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "view_snap.h"

#define LOG_CAT "admin"

/* Connections at once per listener, and how long one may sit idle. */
#define CONNECTIONS_MAX 128
#define IDLE_TIMEOUT_S  60
/*
 * libmicrohttpd refuses requests that overflow a connection's memory with a
 * page of its own; headers past HEADERS_MAX but well below that get cribd's
 * JSON 431 instead.
 */
#define CONNECTION_MEMORY (256 * 1024)
#define HEADERS_MAX       (16 * 1024)
#define BODY_MAX          (64 * 1024)
/*
 * The thread's CPU budget.  SCHED_IDLE lets CRI's threads run first, but on a
 * machine with few CPUs a client hammering the API (on the same machine)
 * would keep every CPU busy, the thread on one and the client on another,
 * and each CRI call would wait for one to be taken back and for caches the
 * answers flushed.  So the thread takes at most CPU_BUDGET_PERCENT of one
 * CPU, counted in windows of CPU_WINDOW_NS; past it the listeners pause
 * (connections wait in the kernel) until the share is back (on_http_ran).
 * That is still thousands of pages of 1000 pods a second.
 */
#define CPU_WINDOW_NS      (100 * 1000 * 1000LL)
#define CPU_BUDGET_PERCENT 25

struct admin_listener {
	struct crib_admin *admin;
	struct crib_http_loop http;
	bool open; /* libuv handles not closed yet */
	bool tcp;
	char *name; /* for messages: the socket path or ADDR:PORT */
	dev_t dev;  /* the unix socket's file, removed at the end if it is still ours */
	ino_t ino;
};

/* Where a route's handler runs. */
enum where {
	AT_LOOP,    /* on cribd's loop */
	WITH_VIEWS, /* on the thread, with a current snapshot of the views */
	ON_THREAD,
};

struct route {
	const char *method;
	const char *path; /* "{id}" matches one segment */
	crib_admin_handler *handler;
	enum where where;
	const char *const *params; /* the query parameters it takes, NULL-terminated */
};

static const char *const list_params[] = {"limit",     "continue", "backend", "runtime_class",
                                          "namespace", "state",    NULL};
static const char *const container_list_params[] = {
    "limit", "continue", "backend", "runtime_class", "namespace", "state", "pod", NULL};
static const char *const log_params[] = {"tail", "follow", "timestamps", NULL};
static const char *const no_params[] = {NULL};

/* /healthz runs on the loop: it answers whether the loop is alive. */
static const struct route routes[] = {
    {"GET", "/healthz", crib_admin_healthz, AT_LOOP, no_params},
    {"GET", "/readyz", crib_admin_readyz, AT_LOOP, no_params},
    {"GET", "/metrics", crib_admin_metrics, AT_LOOP, no_params},
    {"GET", "/v1/backends", crib_admin_backends, AT_LOOP, no_params},
    {"GET", "/v1/runtime-classes", crib_admin_classes, AT_LOOP, no_params},
    {"GET", "/v1/pods", crib_admin_pods, WITH_VIEWS, list_params},
    {"GET", "/v1/pods/{id}", crib_admin_pod, AT_LOOP, no_params},
    {"GET", "/v1/containers", crib_admin_containers, WITH_VIEWS, container_list_params},
    {"GET", "/v1/containers/{id}", crib_admin_container, AT_LOOP, no_params},
    {"GET", "/v1/containers/{id}/logs", crib_admin_logs, WITH_VIEWS, log_params},
    {"POST", "/v1/reload", crib_admin_reload, AT_LOOP, no_params},
    {"GET", "/v1/events", crib_admin_events, ON_THREAD, no_params},
};

/* Answers. */

static void maybe_end(struct crib_admin *a);

static void free_req(struct crib_admin_req *rq)
{
	if (rq->answer)
		MHD_destroy_response(rq->answer);
	if (rq->args)
		for (size_t i = 0; rq->params[i]; i++)
			free(rq->args[i]);
	free(rq->args);
	crib_view_snap_unref(rq->snap);
	free(rq->body);
	free(rq);
}

/* The thread: RQ's answer is ready; its suspended connection sends it. */
static void resume(struct crib_admin_req *rq)
{
	struct crib_admin *a = rq->admin;

	if (rq->gone)
		free_req(rq);
	else {
		(void)MHD_resume_connection(rq->conn);
		crib_admin_kick(a, rq->listener);
	}
	if (a->stopping)
		maybe_end(a);
}

void crib_admin_reply(struct crib_admin_req *rq, unsigned code, struct MHD_Response *resp)
{
	if (!resp)
		abort(); /* libmicrohttpd only fails to allocate */
	if (rq->at_loop) {
		/* The thread owns RQ again once it has the message: nothing after this. */
		rq->answer = resp;
		rq->answer_code = code;
		rq->msg.kind = CRIB_MSG_ADMIN_ANSWER;
		(void)crib_mailbox_post(&rq->admin->inbox, &rq->msg);
		return;
	}
	if (!rq->deferred) {
		(void)MHD_queue_response(rq->conn, code, resp);
		MHD_destroy_response(resp);
		return;
	}
	/* Queued when the resumed connection calls back (on_request). */
	rq->answer = resp;
	rq->answer_code = code;
	resume(rq);
}

void crib_admin_reply_json_text(struct crib_admin_req *rq, unsigned code, char *text, size_t len)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);

	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	crib_admin_reply(rq, code, resp);
}

void crib_admin_reply_json(struct crib_admin_req *rq, unsigned code, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (!text)
		abort(); /* jansson only fails to allocate */
	crib_admin_reply_json_text(rq, code, text, strlen(text));
}

void crib_admin_reply_error(struct crib_admin_req *rq, unsigned code, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	crib_admin_reply_json(rq, code, json_pack("{s:i, s:s}", "code", (int)code, "message", msg));
}

void crib_admin_defer(struct crib_admin_req *rq)
{
	if (rq->deferred)
		return; /* the loop answers it, or it waited for views: already suspended */
	rq->deferred = true;
	(void)MHD_suspend_connection(rq->conn);
}

void crib_admin_kick(struct crib_admin *a, struct admin_listener *l)
{
	if (!a->stopping)
		crib_http_loop_run(&l->http);
}

/* Query parameters. */

const char *crib_admin_arg(const struct crib_admin_req *rq, const char *name)
{
	for (size_t i = 0; rq->args && rq->params[i]; i++)
		if (streq(rq->params[i], name))
			return rq->args[i];
	return NULL;
}

int crib_admin_arg_bool(struct crib_admin_req *rq, const char *name, bool *ret)
{
	const char *v = crib_admin_arg(rq, name);

	if (!v || streq(v, "0") || streq(v, "false")) {
		*ret = false;
		return 0;
	}
	if (streq(v, "1") || streq(v, "true") || !*v) {
		*ret = true;
		return 0;
	}
	crib_admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
	                       "query parameter '%s' must be 1, true, 0 or false, not '%s'", name,
	                       v);
	return -EINVAL;
}

int crib_admin_arg_uint(struct crib_admin_req *rq, const char *name, unsigned long min,
                        unsigned long max, unsigned long def, unsigned long *ret)
{
	const char *v = crib_admin_arg(rq, name);
	char *end = NULL;
	unsigned long n;

	if (!v) {
		*ret = def;
		return 0;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max) {
		crib_admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		                       "query parameter '%s' must be a number from %lu to %lu, not "
		                       "'%s'",
		                       name, min, max, v);
		return -EINVAL;
	}
	*ret = n;
	return 0;
}

struct param_check {
	const char *const *allowed;
	const char *unknown; /* the first parameter not allowed */
};

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	struct param_check *pc = cls;

	(void)kind;
	(void)value;
	for (const char *const *p = pc->allowed; *p; p++)
		if (streq(*p, key))
			return MHD_YES;
	pc->unknown = key;
	return MHD_NO;
}

/*
 * Whether every query parameter is one the route takes (else a 400 is
 * answered); their values are copied into RQ, where handlers on either side
 * find them.
 */
static bool take_params(struct crib_admin_req *rq, const struct route *rt)
{
	struct param_check pc = {.allowed = rt->params};
	size_t n = 0;

	(void)MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, check_param, &pc);
	if (pc.unknown) {
		crib_admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		                       "unknown query parameter '%s' for %s", pc.unknown, rt->path);
		return false;
	}
	while (rt->params[n])
		n++;
	rq->params = rt->params;
	rq->args = crib_xcalloc(n + 1, sizeof(*rq->args));
	for (size_t i = 0; i < n; i++) {
		const char *v =
		    MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, rt->params[i]);

		rq->args[i] = v ? crib_xstrdup(v) : NULL;
	}
	return true;
}

/* The thread: RQ goes to the loop, which answers it (crib_admin_reply). */
static void post_to_loop(struct crib_admin_req *rq)
{
	struct crib_admin *a = rq->admin;

	crib_admin_defer(rq);
	rq->at_loop = true;
	a->at_loop++;
	rq->msg.kind = CRIB_MSG_ADMIN_REQUEST;
	(void)crib_mailbox_post(&a->outbox, &rq->msg);
}

static void ask_for_views(struct crib_admin *a)
{
	if (a->refreshing)
		return;
	a->refreshing = true;
	a->refresh_msg.kind = CRIB_MSG_ADMIN_REFRESH;
	(void)crib_mailbox_post(&a->outbox, &a->refresh_msg);
}

/* The latest snapshot the loop published (a reference), or NULL: none yet. */
static struct crib_view_snap *latest_views(struct crib_admin *a)
{
	struct crib_view_snap *s;

	pthread_mutex_lock(&a->snap_lock);
	s = a->snap ? crib_view_snap_ref(a->snap) : NULL;
	pthread_mutex_unlock(&a->snap_lock);
	return s;
}

struct crib_view_snap *crib_admin_views(struct crib_admin *a)
{
	unsigned long long gen = atomic_load_explicit(&a->d->reg.gen, memory_order_relaxed);
	struct crib_view_snap *s = latest_views(a);

	if (s && s->gen != gen) {
		crib_view_snap_unref(s);
		s = NULL;
	}
	if (!s)
		ask_for_views(a);
	return s;
}

/* The thread: runs RQ's handler now if the views are current, else once they are. */
static void with_views(struct crib_admin_req *rq)
{
	rq->snap = crib_admin_views(rq->admin);
	if (rq->snap) {
		rq->handler(rq);
		return;
	}
	crib_admin_defer(rq);
	crib_list_add_tail(&rq->admin->view_waiters, &rq->link);
}

/* The thread: the loop published a snapshot; the requests waiting for one run. */
static void views_published(struct crib_admin *a)
{
	struct crib_list *n;

	a->refreshing = false;
	while ((n = crib_list_pop(&a->view_waiters))) {
		struct crib_admin_req *rq = container_of(n, struct crib_admin_req, link);

		rq->snap = latest_views(a);
		rq->handler(rq);
	}
}

static size_t header_bytes_add(size_t n, const char *key, const char *value)
{
	return n + strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
	size_t *n = cls;

	(void)kind;
	*n = header_bytes_add(*n, key, value);
	return MHD_YES;
}

/* Routing. */

/* Whether PATH matches PATTERN; the "{id}" segment is copied to ID (cut to its size). */
static bool path_matches(const char *pattern, const char *path, char id[65], bool *ret_bad_id)
{
	while (*pattern && *path) {
		if (strncmp(pattern, "{id}", 4) == 0) {
			size_t n = strcspn(path, "/");

			*ret_bad_id = n == 0 || n > 64 || strspn(path, "0123456789abcdef") < n;
			(void)snprintf(id, 65, "%.*s", (int)(n > 64 ? 64 : n), path);
			pattern += 4;
			path += n;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == *path;
}

static void route(struct crib_admin_req *rq, const char *url)
{
	const struct route *found = NULL;
	char allow[64] = "";
	bool bad_id = false;

	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		bool bad = false;

		if (!path_matches(routes[i].path, url, rq->id, &bad))
			continue;
		bad_id = bad;
		if (streq(routes[i].method, rq->method))
			found = &routes[i];
		else
			(void)snprintf(allow, sizeof(allow), "%s", routes[i].method);
	}
	if (!found && !allow[0]) {
		crib_admin_reply_error(rq, MHD_HTTP_NOT_FOUND, "no such route: %s", url);
		return;
	}
	if (!found) {
		struct MHD_Response *resp;
		_cleanup_free_ char *msg =
		    crib_xasprintf("{\"code\":405,\"message\":\"%s takes %s only\"}", url, allow);

		/* The URL is an ASCII path here (it matched a route), so it embeds as is. */
		resp = MHD_create_response_from_buffer(strlen(msg), msg, MHD_RESPMEM_MUST_COPY);
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
		(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		                              "application/json");
		crib_admin_reply(rq, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
		return;
	}
	if (bad_id) {
		crib_admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		                       "'%s' is not an id (1 to 64 lowercase hex digits)", rq->id);
		return;
	}
	if (!take_params(rq, found))
		return;
	rq->handler = found->handler;
	if (found->where == AT_LOOP)
		post_to_loop(rq);
	else if (found->where == WITH_VIEWS)
		with_views(rq);
	else
		rq->handler(rq);
}

/* Authentication (TCP only: the unix socket is guarded by its mode). */

static bool token_matches(const char *want, const char *got)
{
	size_t wn = strlen(want), gn = got ? strlen(got) : 0;
	/* Compare as many bytes as the expected token has, whatever arrived, in constant time. */
	_cleanup_free_ char *padded = crib_xcalloc(1, wn + 1);

	if (got)
		memcpy(padded, got, gn < wn ? gn : wn);
	return (CRYPTO_memcmp(want, padded, wn) == 0) & (gn == wn);
}

static bool authorized(struct crib_admin_req *rq)
{
	const char *h;

	if (!rq->listener->tcp)
		return true;
	h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h && strncasecmp(h, "Bearer ", 7) == 0 && token_matches(rq->admin->token, h + 7))
		return true;
	return false;
}

static void refuse_unauthorized(struct crib_admin_req *rq, const char *url)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char addr[INET6_ADDRSTRLEN] = "?";
	struct MHD_Response *resp;
	static const char body[] = "{\"code\":401,\"message\":\"a bearer token is required "
	                           "(Authorization: Bearer TOKEN)\"}";

	if (ci) {
		/* Copied out: MHD's sockaddr pointer is not aligned for the wider types. */
		struct sockaddr_storage ss;

		memcpy(&ss, ci->client_addr,
		       ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                              : sizeof(struct sockaddr_in));
		if (ss.ss_family == AF_INET)
			(void)inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr,
			                sizeof(addr));
		else if (ss.ss_family == AF_INET6)
			(void)inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr,
			                sizeof(addr));
	}
	log_warning(
	    "Refused %s %s from %s: %s", rq->method, url, addr,
	    MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)
	        ? "wrong token"
	        : "no token");
	resp =
	    MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	crib_admin_reply(rq, MHD_HTTP_UNAUTHORIZED, resp);
}

/* The request as a whole: headers, then body, then the answer. */
static void dispatch(struct crib_admin_req *rq, const char *url)
{
	size_t header_bytes = 0;

	(void)MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, count_header, &header_bytes);
	if (!authorized(rq))
		refuse_unauthorized(rq, url);
	else if (header_bytes > HEADERS_MAX)
		crib_admin_reply_error(rq, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
		                       "request headers exceed %d bytes", HEADERS_MAX);
	else if (rq->body_too_big)
		crib_admin_reply_error(rq, MHD_HTTP_CONTENT_TOO_LARGE,
		                       "request body exceeds %d bytes", BODY_MAX);
	else if (rq->admin->stopping)
		crib_admin_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "cribd is shutting down");
	else
		route(rq, url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
	struct admin_listener *l = cls;
	struct crib_admin_req *rq = *req_cls;

	(void)version;
	if (!rq) {
		rq = crib_xcalloc(1, sizeof(*rq));
		rq->admin = l->admin;
		rq->listener = l;
		rq->conn = conn;
		rq->method = method;
		crib_list_init(&rq->link);
		*req_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (rq->body_len + *upload_data_size > BODY_MAX) {
			rq->body_too_big = true;
		} else {
			rq->body = crib_xrealloc(rq->body, rq->body_len + *upload_data_size + 1, 1);
			memcpy(rq->body + rq->body_len, upload_data, *upload_data_size);
			rq->body_len += *upload_data_size;
			rq->body[rq->body_len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->answer) {
		enum MHD_Result r = MHD_queue_response(conn, rq->answer_code, rq->answer);

		MHD_destroy_response(rq->answer);
		rq->answer = NULL;
		return r;
	}
	if (!rq->deferred)
		dispatch(rq, url);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode code)
{
	struct crib_admin_req *rq = *req_cls;

	(void)cls;
	(void)conn;
	(void)code;
	if (!rq)
		return;
	*req_cls = NULL;
	if (rq->at_loop) {
		rq->gone = true; /* the loop is making its answer; that frees it */
		return;
	}
	crib_list_del(&rq->link); /* a view waiter */
	free_req(rq);
}

/* Listeners. */

static int listen_unix(const char *path, int *ret_fd, struct crib_error **reterr)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return crib_error_set(reterr, ENAMETOOLONG, "admin_socket '%s' is too long", path);
	(void)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	r = crib_mkdir_parent(path, 0755);
	if (r < 0)
		return crib_error_set(reterr, -r,
		                      "cannot make the directory of admin_socket '%s': %s", path,
		                      strerror(-r));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return crib_error_set(reterr, errno, "cannot make the admin socket: %s",
		                      strerror(errno));
	(void)unlink(path); /* a stale socket; the lock file says no other cribd runs */
	old = umask(0177);  /* 0600 from the start: no window where others may connect */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	(void)umask(old);
	if (r < 0 || listen(fd, 128) < 0)
		return crib_error_set(reterr, errno, "cannot listen on admin_socket '%s': %s", path,
		                      strerror(errno));
	*ret_fd = fd;
	fd = -1;
	return 0;
}

static int listen_tcp(const char *address, unsigned port, int *ret_fd, struct crib_error **reterr)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	_cleanup_close_ int fd = -1;
	socklen_t len;
	int one = 1;

	if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		len = sizeof(*in6);
	} else {
		return crib_error_set(reterr, EINVAL, "admin_address '%s' is not an IP address",
		                      address);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return crib_error_set(reterr, errno, "cannot make the admin TCP socket: %s",
		                      strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0)
		return crib_error_set(reterr, errno,
		                      "cannot listen on admin_address %s port %u: %s", address,
		                      port, strerror(errno));
	*ret_fd = fd;
	fd = -1;
	return 0;
}

/* Reads a whole small file (token, PEM) into a string the caller frees. */
static int read_small_file(const char *key, const char *path, char **ret,
                           struct crib_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = crib_read_file(path, 1 << 20, &text, &len);

	if (r < 0)
		return crib_error_set(reterr, -r, "cannot read %s '%s': %s", key, path,
		                      strerror(-r));
	*ret = text;
	text = NULL;
	return 0;
}

static int load_token(struct crib_admin *a, const char *path, struct crib_error **reterr)
{
	int r = read_small_file("admin_token_file", path, &a->token, reterr);

	if (r < 0)
		return r;
	a->token[strcspn(a->token, "\r\n")] = '\0';
	if (strlen(a->token) < 16)
		return crib_error_set(
		    reterr, EINVAL,
		    "admin_token_file '%s' holds a token shorter than 16 characters", path);
	return 0;
}

static void on_listener_closed(struct crib_http_loop *h);
static void on_http_ran(struct crib_http_loop *h);

/* A later cribd may have bound the path again (after a stop that gave up waiting). */
static void unlink_socket(const struct admin_listener *l)
{
	struct stat st;

	if (stat(l->name, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		(void)unlink(l->name);
}

static int start_listener(struct crib_admin *a, int fd, bool tcp, const char *name,
                          const char *cert, const char *key, struct crib_error **reterr)
{
	struct admin_listener *l = crib_xcalloc(1, sizeof(*l));
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *mhd;
	int r;

	l->admin = a;
	l->tcp = tcp;
	l->name = crib_xstrdup(name);
	l->http.ran = on_http_ran;
	if (cert)
		flags |= MHD_USE_TLS;
	mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER,
	                       crib_http_log, LOG_CAT, MHD_OPTION_LISTEN_SOCKET, fd,
	                       MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
	                       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
	                       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	                       MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
	                       cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
	                       MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);
	if (!mhd) {
		close(fd);
		r = -EIO;
	} else {
		r = crib_http_loop_start(&l->http, &a->loop, mhd);
	}
	if (r < 0) {
		free(l->name);
		free(l);
		return crib_error_set(reterr, -r, "cannot serve the admin API on %s%s", name,
		                      cert ? " (is the TLS certificate and key valid PEM?)" : "");
	}
	l->open = true;
	a->listeners[tcp] = l;
	if (!tcp) {
		struct stat st;

		if (stat(name, &st) == 0) {
			l->dev = st.st_dev;
			l->ino = st.st_ino;
		}
	}
	log_info("Admin API on %s%s", name, tcp ? (cert ? " (TLS, token)" : " (token)") : "");
	return 0;
}

static int start_tcp(struct crib_admin *a, const struct crib_config *cfg,
                     struct crib_error **reterr)
{
	_cleanup_free_ char *cert = NULL, *key = NULL, *name = NULL;
	int fd = -1, r;

	r = load_token(a, cfg->admin_token_file, reterr);
	if (r == 0 && cfg->admin_tls_cert)
		r = read_small_file("admin_tls_cert", cfg->admin_tls_cert, &cert, reterr);
	if (r == 0 && cfg->admin_tls_key)
		r = read_small_file("admin_tls_key", cfg->admin_tls_key, &key, reterr);
	if (r == 0)
		r = listen_tcp(cfg->admin_address, cfg->admin_port, &fd, reterr);
	if (r < 0)
		return r;
	name = crib_xasprintf(strchr(cfg->admin_address, ':') ? "[%s]:%u" : "%s:%u",
	                      cfg->admin_address, cfg->admin_port);
	return start_listener(a, fd, true, name, cert, key, reterr);
}

/* The CPU budget (the thread's). */

static void on_budget_renewed(uv_timer_t *t)
{
	struct crib_admin *a = container_of(t, struct crib_admin, budget_timer);

	a->paused = false;
	a->window_at = crib_mono_ns();
	a->window_cpu = crib_thread_cpu_ns();
	for (size_t i = 0; i < ARRAY_SIZE(a->listeners); i++)
		if (a->listeners[i])
			crib_http_loop_resume(&a->listeners[i]->http);
}

/*
 * After every round of HTTP work.  The thread earns CPU_BUDGET_PERCENT of the
 * time since the window began; past a window's worth of budget it pauses
 * until what it used is that share again.  A round can overshoot (a request
 * is answered whole, and sanitizers make each one dearer): the pause grows
 * with the overshoot, so the share holds whatever a request costs.
 */
static void on_http_ran(struct crib_http_loop *h)
{
	struct crib_admin *a = container_of(h, struct admin_listener, http)->admin;
	int64_t now = crib_mono_ns(), used = crib_thread_cpu_ns() - a->window_cpu;
	int64_t elapsed = now - a->window_at, until;

	if (a->paused || a->stopping)
		return;
	if (elapsed >= CPU_WINDOW_NS && used <= elapsed * CPU_BUDGET_PERCENT / 100) {
		a->window_at = now;
		a->window_cpu += used;
		return;
	}
	if (used < CPU_WINDOW_NS * CPU_BUDGET_PERCENT / 100)
		return;
	a->paused = true;
	for (size_t i = 0; i < ARRAY_SIZE(a->listeners); i++)
		if (a->listeners[i])
			crib_http_loop_pause(&a->listeners[i]->http);
	until = a->window_at + used * 100 / CPU_BUDGET_PERCENT;
	uv_timer_start(&a->budget_timer, on_budget_renewed,
	               (uint64_t)((until > now ? until - now : 0) / 1000000 + 1), 0);
}

/* The mailboxes. */

static void stop_thread(struct crib_admin *a);

/* The thread's: what cribd's loop sends it. */
static void on_inbox(struct crib_mailbox *mb, struct crib_msg *msg)
{
	struct crib_admin *a = mb->user;
	struct crib_admin_req *rq;

	switch (msg->kind) {
	case CRIB_MSG_ADMIN_ANSWER:
		rq = container_of(msg, struct crib_admin_req, msg);
		rq->at_loop = false;
		a->at_loop--;
		resume(rq);
		break;
	case CRIB_MSG_ADMIN_VIEWS:
		views_published(a);
		if (a->stopping)
			maybe_end(a);
		break;
	case CRIB_MSG_ADMIN_EVENT:
		crib_admin_stream_event(a, msg);
		break;
	case CRIB_MSG_ADMIN_STOP:
		stop_thread(a);
		break;
	default:
		abort();
	}
}

/* Loop thread: a snapshot of the views as they are now, for the thread. */
static void publish_views(struct crib_admin *a)
{
	struct crib_view_snap *s = crib_view_snap_take(&a->d->reg), *old;

	pthread_mutex_lock(&a->snap_lock);
	old = a->snap;
	a->snap = s;
	pthread_mutex_unlock(&a->snap_lock);
	crib_view_snap_unref(old);
	a->views_msg.kind = CRIB_MSG_ADMIN_VIEWS;
	(void)crib_mailbox_post(&a->inbox, &a->views_msg);
}

void crib_admin_release(struct crib_admin *a, struct crib_admin_release *r)
{
	r->msg.kind = CRIB_MSG_ADMIN_RELEASE;
	(void)crib_mailbox_post(&a->outbox, &r->msg);
}

static void free_admin(struct crib_admin *a)
{
	crib_view_snap_unref(a->snap);
	pthread_mutex_destroy(&a->snap_lock);
	free(a->token);
	free(a);
}

static void on_outbox_closed(struct crib_mailbox *mb)
{
	struct crib_admin *a = mb->user;

	/* A stop that gave up waiting closed it while the thread may still use A: leave it. */
	if (a->ended)
		free_admin(a);
}

/* cribd's loop's: what the thread sends it. */
static void on_outbox(struct crib_mailbox *mb, struct crib_msg *msg)
{
	struct crib_admin *a = mb->user;
	struct crib_admin_release *rel;
	struct crib_admin_req *rq;

	switch (msg->kind) {
	case CRIB_MSG_ADMIN_REQUEST:
		rq = container_of(msg, struct crib_admin_req, msg);
		if (a->loop_stopping)
			crib_admin_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE,
			                       "cribd is shutting down");
		else
			rq->handler(rq);
		break;
	case CRIB_MSG_ADMIN_REFRESH:
		publish_views(a);
		break;
	case CRIB_MSG_ADMIN_RELEASE:
		rel = container_of(msg, struct crib_admin_release, msg);
		rel->release(rel);
		break;
	case CRIB_MSG_ADMIN_ENDED:
		(void)pthread_join(a->thread, NULL);
		a->ended = true;
		a->d->admin_threads--;
		crib_mailbox_close(&a->outbox); /* which frees A */
		break;
	default:
		abort();
	}
}

/* The thread. */

static void *thread_main(void *arg)
{
	struct crib_admin *a = arg;

	/*
	 * When the CPUs are busy, CRI calls (kubelet's lifeline) go first and admin
	 * answers wait: the thread runs as SCHED_IDLE, which yields to every other
	 * thread of cribd's cgroup (not to the pods': cgroups share CPU by weight).
	 */
	struct sched_param sp = {0};

	(void)pthread_setname_np(pthread_self(), "crib-admin"); /* for top -H, and the tests */
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
		log_warning("The admin API's thread runs at normal priority: SCHED_IDLE refused");
	(void)uv_run(&a->loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&a->loop);
	a->ended_msg.kind = CRIB_MSG_ADMIN_ENDED;
	(void)crib_mailbox_post(&a->outbox, &a->ended_msg);
	return NULL;
}

static int start_thread(struct crib_admin *a, struct crib_error **reterr)
{
	sigset_t all, old;
	int r;

	/* cribd's loop takes the signals. */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&a->thread, NULL, thread_main, a);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return crib_error_set(reterr, r, "cannot start the admin API's thread: %s",
		                      strerror(r));
	return 0;
}

/* The listeners' libuv handles are closed: once nothing is owed to the loop, the thread ends. */
static void maybe_end(struct crib_admin *a)
{
	if (a->at_loop || a->refreshing || a->closing)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(a->listeners); i++)
		if (a->listeners[i] && a->listeners[i]->open)
			return;
	a->closing = true;
	for (size_t i = 0; i < ARRAY_SIZE(a->listeners); i++) {
		struct admin_listener *l = a->listeners[i];

		if (!l)
			continue;
		crib_http_loop_free(&l->http);
		if (!l->tcp)
			unlink_socket(l);
		free(l->name);
		free(l);
		a->listeners[i] = NULL;
	}
	uv_close((uv_handle_t *)&a->budget_timer, NULL);
	crib_mailbox_close(&a->inbox); /* the last handle: uv_run returns */
}

static void on_listener_closed(struct crib_http_loop *h)
{
	struct admin_listener *l = container_of(h, struct admin_listener, http);

	l->open = false;
	maybe_end(l->admin);
}

static void stop_thread(struct crib_admin *a)
{
	struct crib_list *n;

	a->stopping = true;
	uv_timer_stop(&a->budget_timer);
	crib_admin_streams_end(a);
	while ((n = crib_list_pop(&a->view_waiters)))
		crib_admin_reply_error(container_of(n, struct crib_admin_req, link),
		                       MHD_HTTP_SERVICE_UNAVAILABLE, "cribd is shutting down");
	for (size_t i = 0; i < ARRAY_SIZE(a->listeners); i++) {
		struct admin_listener *l = a->listeners[i];

		if (l && l->open) {
			/* Let MHD send what ended streams still have before the loop lets go. */
			(void)MHD_run(l->http.mhd);
			crib_http_loop_close(&l->http, on_listener_closed);
		}
	}
	maybe_end(a);
}

/* Starting and stopping, on cribd's loop. */

static int init_mailboxes(struct crib_admin *a, struct crib_error **reterr)
{
	int r = uv_loop_init(&a->loop);

	if (r == 0) {
		r = crib_mailbox_init(&a->inbox, &a->loop, on_inbox, a);
		if (r < 0)
			(void)uv_loop_close(&a->loop);
		else
			uv_timer_init(&a->loop, &a->budget_timer);
	}
	if (r == 0) {
		r = crib_mailbox_init(&a->outbox, a->d->loop, on_outbox, a);
		if (r < 0) {
			uv_close((uv_handle_t *)&a->budget_timer, NULL);
			crib_mailbox_close(&a->inbox);
			(void)uv_run(&a->loop, UV_RUN_DEFAULT);
			(void)uv_loop_close(&a->loop);
		}
	}
	if (r < 0)
		return crib_error_set(reterr, -r, "cannot set up the admin API's loop: %s",
		                      uv_strerror(r));
	a->outbox.closed = on_outbox_closed;
	return 0;
}

/* Undoes a start that failed before the thread ran: what it would do, done here. */
static void abandon(struct crib_admin *a)
{
	stop_thread(a);
	(void)uv_run(&a->loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&a->loop);
	a->ended = true;
	crib_mailbox_close(&a->outbox); /* frees A once the loop closes it */
}

int crib_admin_start(struct crib_daemon *d, struct crib_admin **ret, struct crib_error **reterr)
{
	const struct crib_config *cfg = d->cfg;
	struct crib_admin *a = crib_xcalloc(1, sizeof(*a));
	int fd = -1, r;

	a->d = d;
	crib_list_init(&a->streams);
	crib_list_init(&a->view_waiters);
	atomic_init(&a->event_streams, 0);
	(void)pthread_mutex_init(&a->snap_lock, NULL);
	r = init_mailboxes(a, reterr);
	if (r < 0) {
		free_admin(a);
		return r;
	}
	r = listen_unix(cfg->admin_socket, &fd, reterr);
	if (r == 0)
		r = start_listener(a, fd, false, cfg->admin_socket, NULL, NULL, reterr);
	if (r == 0 && cfg->admin_address)
		r = start_tcp(a, cfg, reterr);
	if (r == 0)
		r = start_thread(a, reterr);
	if (r < 0) {
		abandon(a);
		return r;
	}
	d->admin_threads++; /* a stop frees the objects the thread reads once it ended */
	*ret = a;
	return 0;
}

void crib_admin_stop(struct crib_admin *a)
{
	if (!a || a->loop_stopping)
		return;
	/* Nothing is posted to the thread after this but what it waits for. */
	a->loop_stopping = true;
	crib_metrics_round_unref(a->metrics_last);
	a->metrics_last = NULL;
	a->stop_msg.kind = CRIB_MSG_ADMIN_STOP;
	(void)crib_mailbox_post(&a->inbox, &a->stop_msg);
}
