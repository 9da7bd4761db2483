/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Long answers of the admin API, on its thread: a container's log (also
 * followed) and the event feed.  Each is a chunked response whose content
 * reader hands out what is buffered and, when there is nothing, suspends the
 * connection until new output wakes it: no busy loop.  Events are made on
 * cribd's loop, only while someone listens, and posted to the thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "admin_impl.h"
#include "crilog.h"
#include "daemon.h"
#include "log.h"
#include "registry.h"
#include "view_snap.h"
#include "views.h"

#define LOG_CAT "admin"

/* An event subscriber this far behind is dropped (as GetContainerEvents does). */
#define EVENTS_BUFFER_MAX (4 * 1024 * 1024)
/* How often a followed log is checked for growth, and event streams get a keep-alive. */
#define LOG_POLL_MS    200
#define KEEPALIVE_MS   15000
#define LOG_READ_CHUNK (64 * 1024)

enum stream_kind { STREAM_LOGS, STREAM_EVENTS };

struct admin_stream {
	enum stream_kind kind;
	struct crib_admin *admin;
	struct admin_listener *listener; /* to kick when it has output again */
	struct MHD_Connection *conn;
	struct crib_list link;
	char *buf; /* what is ready to send */
	size_t len, off;
	bool suspended;
	bool ended;
	/* Logs. */
	char id[CRIB_ID_LEN + 1];
	char *path;
	int fd;
	ino_t ino;
	bool follow;
	struct crib_crilog_decoder dec;
	uv_timer_t *timer;
};

static void append(struct admin_stream *s, const char *data, size_t n)
{
	s->buf = crib_xrealloc(s->buf, s->len + n + 1, 1);
	memcpy(s->buf + s->len, data, n);
	s->len += n;
}

static void append_str(struct admin_stream *s, const char *text)
{
	append(s, text, strlen(text));
}

static void wake(struct admin_stream *s)
{
	if (!s->suspended)
		return;
	s->suspended = false;
	(void)MHD_resume_connection(s->conn);
	crib_admin_kick(s->admin, s->listener);
}

static void emit(void *ctx, const char *data, size_t n)
{
	append(ctx, data, n);
}

/* The offset where the last N lines of FD start (read backwards, not the whole file). */
static off_t tail_offset(int fd, unsigned long n)
{
	char block[8192];
	off_t size = lseek(fd, 0, SEEK_END), pos = size;
	unsigned long seen = 0;

	if (n == 0 || size <= 0)
		return size > 0 ? size : 0;
	while (pos > 0) {
		size_t want = pos < (off_t)sizeof(block) ? (size_t)pos : sizeof(block);
		off_t start = pos - (off_t)want;

		if (pread(fd, block, want, start) != (ssize_t)want)
			return 0;
		for (size_t i = want; i-- > 0;) {
			/* The file's final newline ends the last line rather than starting one. */
			if (block[i] == '\n' && start + (off_t)i != size - 1 && ++seen == n)
				return start + (off_t)i + 1;
		}
		pos = start;
	}
	return 0;
}

static int open_log(struct admin_stream *s)
{
	struct stat st;

	s->fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (s->fd < 0)
		return -errno;
	if (fstat(s->fd, &st) == 0)
		s->ino = st.st_ino;
	return 0;
}

/* Whether the path now names another file (rotation, ReopenContainerLog): follow it. */
static bool log_replaced(struct admin_stream *s)
{
	struct stat st;

	if (stat(s->path, &st) < 0 || st.st_ino == s->ino)
		return false;
	close(s->fd);
	return open_log(s) == 0;
}

static bool container_state_done(uint32_t state)
{
	return state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED ||
	       state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN;
}

/* Whether the container is gone or ended; with stale views, not yet (the next poll sees). */
static bool container_done(struct admin_stream *s)
{
	struct crib_view_snap *snap = crib_admin_views(s->admin);
	const struct crib_view_rec *c;
	bool done;

	if (!snap)
		return false;
	c = crib_view_snap_find(snap->ctrs, snap->n_ctrs, s->id);
	done = !c || container_state_done(c->state);
	crib_view_snap_unref(snap);
	return done;
}

static void fill_logs(struct admin_stream *s)
{
	char chunk[LOG_READ_CHUNK];
	ssize_t n;

	for (;;) {
		bool done = s->follow && container_done(s); /* before reading: no output lost */

		n = s->fd >= 0 ? read(s->fd, chunk, sizeof(chunk)) : 0;
		if (n > 0) {
			crib_crilog_decode(&s->dec, chunk, (size_t)n, emit, s);
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (s->follow && log_replaced(s))
			continue;
		if (!s->follow || done || n < 0)
			s->ended = true;
		return;
	}
}

static void on_log_timer(uv_timer_t *t)
{
	struct admin_stream *s = t->data;

	wake(s);
}

/* Events: server-sent events, one per container event. */

static void keepalive_all(struct crib_admin *a);

static const char *const event_names[] = {"created", "started", "stopped",
                                          "deleted", [CRIB_ADMIN_EVENT_OOM] = "oom"};

/* An event on its way from the loop to the thread. */
struct event_msg {
	struct crib_msg msg;
	char text[];
};

void crib_admin_publish(struct crib_admin *a, int type, const struct crib_container *c)
{
	_cleanup_free_ char *data = NULL;
	struct event_msg *m;
	char ts[40];
	json_t *ev;
	size_t n;

	if (!a || a->loop_stopping || atomic_load(&a->event_streams) == 0 || type < 0 ||
	    type >= (int)ARRAY_SIZE(event_names))
		return;
	(void)crib_crilog_timestamp(crib_now_ns(), ts);
	ev =
	    json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", event_names[type], "container_id", c->id,
	              "pod_id", c->pod->id, "created_at", ts, "container", crib_view_container(c));
	data = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (!data)
		return;
	n = strlen(event_names[type]) + strlen(data) + sizeof("event: \ndata: \n\n");
	m = crib_xcalloc(1, sizeof(*m) + n);
	(void)snprintf(m->text, n, "event: %s\ndata: %s\n\n", event_names[type], data);
	m->msg.kind = CRIB_MSG_ADMIN_EVENT;
	(void)crib_mailbox_post(&a->inbox, &m->msg);
}

void crib_admin_stream_event(struct crib_admin *a, struct crib_msg *msg)
{
	struct event_msg *m = container_of(msg, struct event_msg, msg);
	struct crib_list *n, *tmp;

	crib_list_foreach_safe (n, tmp, &a->streams) {
		struct admin_stream *s = container_of(n, struct admin_stream, link);

		if (s->kind != STREAM_EVENTS || s->ended)
			continue;
		if (s->len - s->off > EVENTS_BUFFER_MAX) {
			log_warning("Dropping an event subscriber that fell %d MiB behind",
			            EVENTS_BUFFER_MAX >> 20);
			s->ended = true;
			s->len = s->off = 0;
		} else {
			append_str(s, m->text);
		}
		wake(s);
	}
	free(m);
}

/* The content reader both kinds share. */

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct admin_stream *s = cls;
	size_t n;

	(void)pos;
	if (s->off == s->len) {
		s->len = s->off = 0;
		if (s->kind == STREAM_LOGS && !s->ended)
			fill_logs(s);
	}
	if (s->off == s->len) {
		if (s->ended || s->admin->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		s->suspended = true;
		(void)MHD_suspend_connection(s->conn);
		return 0;
	}
	n = s->len - s->off < max ? s->len - s->off : max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h);
}

static void free_stream(void *cls)
{
	struct admin_stream *s = cls;

	crib_list_del(&s->link);
	if (s->kind == STREAM_EVENTS)
		atomic_fetch_sub(&s->admin->event_streams, 1);
	if (s->timer)
		uv_close((uv_handle_t *)s->timer, on_timer_closed);
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	crib_crilog_decoder_clear(&s->dec);
	free(s->buf);
	free(s);
}

static void start_stream(struct crib_admin_req *rq, struct admin_stream *s, const char *type)
{
	struct MHD_Response *resp;

	s->admin = rq->admin;
	s->listener = rq->listener;
	s->conn = rq->conn;
	crib_list_add_tail(&rq->admin->streams, &s->link);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_stream, s,
	                                         free_stream);
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	crib_admin_reply(rq, MHD_HTTP_OK, resp);
}

void crib_admin_logs(struct crib_admin_req *rq)
{
	const struct crib_view_rec *c =
	    crib_view_snap_find(rq->snap->ctrs, rq->snap->n_ctrs, rq->id);
	struct admin_stream *s;
	unsigned long tail;
	bool follow, timestamps;
	int r;

	if (!c) {
		crib_admin_reply_error(rq, MHD_HTTP_NOT_FOUND, "container '%s' not found", rq->id);
		return;
	}
	if (crib_admin_arg_uint(rq, "tail", 0, INT_MAX, ULONG_MAX, &tail) < 0 ||
	    crib_admin_arg_bool(rq, "follow", &follow) < 0 ||
	    crib_admin_arg_bool(rq, "timestamps", &timestamps) < 0)
		return;
	if (!c->log_path) {
		crib_admin_reply_error(rq, MHD_HTTP_NOT_FOUND,
		                       "container '%s' has no log (its pod set no log_directory)",
		                       c->id);
		return;
	}
	s = crib_xcalloc(1, sizeof(*s));
	crib_list_init(&s->link);
	s->kind = STREAM_LOGS;
	s->path = crib_xstrdup(c->log_path);
	memcpy(s->id, c->id, sizeof(s->id));
	s->follow = follow;
	s->dec = (struct crib_crilog_decoder){.timestamps = timestamps, .at_line_start = true};
	r = open_log(s);
	if (r < 0 && !(r == -ENOENT && follow)) {
		crib_admin_reply_error(
		    rq, r == -ENOENT ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "cannot read the log of container '%s' (%s): %s", c->id, s->path, strerror(-r));
		free_stream(s);
		return;
	}
	if (s->fd >= 0 && tail != ULONG_MAX)
		(void)lseek(s->fd, tail_offset(s->fd, tail), SEEK_SET);
	if (follow) {
		s->timer = crib_xcalloc(1, sizeof(*s->timer));
		uv_timer_init(&rq->admin->loop, s->timer);
		s->timer->data = s;
		uv_timer_start(s->timer, on_log_timer, LOG_POLL_MS, LOG_POLL_MS);
	}
	start_stream(rq, s, "text/plain; charset=utf-8");
}

void crib_admin_events(struct crib_admin_req *rq)
{
	struct admin_stream *s = crib_xcalloc(1, sizeof(*s));

	s->kind = STREAM_EVENTS;
	s->fd = -1;
	atomic_fetch_add(&rq->admin->event_streams, 1);
	/* A first comment gets the headers out, so a client knows it is subscribed. */
	append_str(s, ": subscribed\n\n");
	start_stream(rq, s, "text/event-stream");
	keepalive_all(rq->admin);
}

static void on_keepalive(uv_timer_t *t)
{
	struct crib_admin *a = t->data;
	struct crib_list *n, *tmp;

	crib_list_foreach_safe (n, tmp, &a->streams) {
		struct admin_stream *s = container_of(n, struct admin_stream, link);

		if (s->kind == STREAM_EVENTS && !s->ended) {
			append_str(s, ": keep-alive\n\n");
			wake(s);
		}
	}
}

/* Every KEEPALIVE_MS an SSE comment, which also finds subscribers that left. */
static void keepalive_all(struct crib_admin *a)
{
	if (a->keepalive)
		return;
	a->keepalive = crib_xcalloc(1, sizeof(*a->keepalive));
	uv_timer_init(&a->loop, a->keepalive);
	a->keepalive->data = a;
	uv_timer_start(a->keepalive, on_keepalive, KEEPALIVE_MS, KEEPALIVE_MS);
}

void crib_admin_streams_end(struct crib_admin *a)
{
	struct crib_list *n, *tmp;

	if (a->keepalive)
		uv_close((uv_handle_t *)a->keepalive, on_timer_closed);
	a->keepalive = NULL;
	crib_list_foreach_safe (n, tmp, &a->streams) {
		struct admin_stream *s = container_of(n, struct admin_stream, link);

		s->ended = true;
		wake(s);
	}
}
