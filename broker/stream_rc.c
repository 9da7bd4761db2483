/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A remote-command session (Exec or Attach) over SPDY.  The client opens the
 * streams the request asked for (error, stdin, stdout, stderr, resize); once
 * they are all there the backend opens the session (stream_open on a worker)
 * and pumps connect its descriptors to the streams.  When the backend says
 * the process is done, output is drained for a moment, the exit code is
 * fetched (stream_finish) and written to the error stream, and the
 * connection ends.  Whenever the session ends, stream_close runs, which kills
 * an exec'd process the client left behind.  At most one backend op per
 * session runs at a time, as the ABI promises backends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri-api-v1.pb-c.h"
#include "backend.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "op.h"
#include "registry.h"
#include "router.h"
#include "remotecommand.h"
#include "spdy_conn.h"
#include "ws_conn.h"
#include "stream_pump.h"
#include "stream_server.h"

/* How long a client may take to open the streams it asked for (kubelet's figure). */
#define STREAMS_TIMEOUT_MS 30000
/* How long output is still carried once the process ended, for what its children hold open. */
#define DRAIN_MS 2000
/*
 * Attach without stdin_once ends at the end of the client's input, as in
 * kubelet, once the container has been quiet this long (or DRAIN_MS passed):
 * the answer to the last input still reaches the client.
 */
#define ATTACH_QUIET_MS 250

enum channel { CH_ERROR, CH_STDIN, CH_STDOUT, CH_STDERR, CH_RESIZE, CH_COUNT };

static const char *const channel_names[CH_COUNT] = {"error", "stdin", "stdout", "stderr", "resize"};
/* The same channels as WebSocket numbers them. */
static const uint8_t ws_channels[CH_COUNT] = {CRIB_WS_ERROR, CRIB_WS_STDIN, CRIB_WS_STDOUT,
                                              CRIB_WS_STDERR, CRIB_WS_RESIZE};

enum phase {
	PHASE_STREAMS, /* waiting for the client's streams */
	PHASE_OPENING, /* stream_open runs */
	PHASE_RUNNING,
	PHASE_ENDING, /* the status is written; the connection flushes */
};

struct rc_session {
	struct crib_stream_link *link;
	struct crib_daemon *d;
	struct crib_container *c; /* reference */
	const char *version;
	bool attach;
	Runtime__V1__ExecRequest *exec; /* the request, for exec */
	char **argv;                    /* exec->cmd, NULL-terminated as the ABI wants */
	bool tty, want[CH_COUNT];
	bool stdin_once;         /* attach: the container's stdin closes with the client's */
	bool attach_draining;    /* attach: the client's input ended; output is still carried */
	uint64_t drain_deadline; /* uv_now() */

	/* The client's connection, one or the other; NULL once it closed. */
	struct crib_spdy_conn *conn;
	struct crib_ws_conn *ws;
	const struct crib_ws_protocol *ws_protocol;
	uint32_t sid[CH_COUNT];
	enum phase phase;
	uv_timer_t timer;    /* the streams' deadline, then the drain */
	unsigned handles;    /* libuv handles not yet closed, the timer included */
	unsigned fd_handles; /* those of them that hold one of the session's descriptors */

	void *handle; /* the backend's session, until stream_close */
	struct crib_pump in, out, err;
	uv_poll_t done_poll;
	int done_fd;
	bool done_polled;
	bool done; /* the backend says the session ended */
	bool finished;

	bool op_busy;
	bool finish_wanted;
	bool resize_pending;
	struct crib_rc_size size;
	char resize_buf[4096];
	size_t resize_len;
};

static void maybe_free(struct rc_session *s);
static void end_session(struct rc_session *s, int exit_code, const char *message);
static void run_next_op(struct rc_session *s);

static bool connected(const struct rc_session *s)
{
	return s->conn || s->ws;
}

static void ch_send(struct rc_session *s, enum channel ch, const void *data, size_t len, bool fin)
{
	if (s->ws)
		crib_ws_conn_send(s->ws, ws_channels[ch], data, len, fin);
	else if (s->conn && s->sid[ch])
		crib_spdy_conn_send(s->conn, s->sid[ch], data, len, fin);
}

static bool ch_writable(const struct rc_session *s)
{
	return s->ws ? crib_ws_conn_writable(s->ws) : s->conn && crib_spdy_conn_writable(s->conn);
}

static void ch_pause(struct rc_session *s, bool paused)
{
	if (s->ws)
		crib_ws_conn_pause(s->ws, paused);
	else if (s->conn)
		crib_spdy_conn_pause(s->conn, paused);
}

/* The resize channel spoke nonsense: it is ignored from now on. */
static void ch_drop_resize(struct rc_session *s)
{
	if (s->conn)
		crib_spdy_conn_reset(s->conn, s->sid[CH_RESIZE], CRIB_SPDY_PROTOCOL_ERROR);
	s->want[CH_RESIZE] = false;
}

static struct crib_backend *backend_of(const struct rc_session *s)
{
	return s->c->pod->cls->backend;
}

static struct crib_op *session_op(struct rc_session *s, enum crib_op_kind kind, crib_op_cb done)
{
	struct crib_pod *p = s->c->pod;
	struct crib_op *op = crib_op_new(kind, backend_of(s), done, s);

	crib_op_set_pod(op, p->id, &p->cls->pub, p->priv, p->priv_len);
	crib_op_set_container(op, s->c->id, s->c->priv, s->c->priv_len);
	op->stream = s->handle;
	return op;
}

static bool start_op(struct rc_session *s, struct crib_op *op)
{
	if (crib_daemon_op_start(s->d, op) < 0) {
		crib_op_free(op);
		return false;
	}
	s->op_busy = true;
	return true;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct rc_session *s = h->data;

	s->handles--;
	maybe_free(s);
}

/* Everything is over: nothing runs, nothing is open, the backend forgot the session. */
static void maybe_free(struct rc_session *s)
{
	if (connected(s) || s->op_busy || s->handle || s->handles > 0)
		return;
	crib_container_unref(s->c);
	free(s->argv);
	runtime__v1__exec_request__free_unpacked(s->exec, NULL);
	s->d->stream_sessions--;
	free(s);
}

static void check_finished(struct rc_session *s);

/* Resize and close: their outcome changes nothing; whatever waited for them goes next. */
static void side_op_done(struct crib_op *op)
{
	struct rc_session *s = op->data;

	if (op->r < 0)
		crib_log(CRIB_LOG_DEBUG, "stream", "container %s: %s", s->c->id,
		         crib_error_msg(op->err));
	crib_op_free(op);
	s->op_busy = false;
	check_finished(s);
	run_next_op(s);
	maybe_free(s);
}

/* A handle on one of the session's descriptors is gone, and so is the descriptor. */
static void descriptor_closed(struct rc_session *s)
{
	s->handles--;
	s->fd_handles--;
	run_next_op(s);
	maybe_free(s);
}

static void on_done_poll_closed(uv_handle_t *h)
{
	struct rc_session *s = h->data;

	closep(&s->done_fd);
	s->done_fd = -1;
	descriptor_closed(s);
}

/*
 * The descriptors go first: the backend must see them closed before
 * stream_close, or a shim waiting for their end would wait for ever.
 */
static void close_descriptors(struct rc_session *s)
{
	crib_pump_close(&s->in);
	crib_pump_close(&s->out);
	crib_pump_close(&s->err);
	if (s->done_polled) {
		s->done_polled = false;
		uv_close((uv_handle_t *)&s->done_poll, on_done_poll_closed);
	} else {
		closep(&s->done_fd);
		s->done_fd = -1;
	}
}

/* After the connection is gone: stream_close once nothing else runs. */
static void run_next_op(struct rc_session *s)
{
	struct crib_op *op;

	if (s->op_busy || !s->handle)
		return;
	if (connected(s) && s->resize_pending) {
		s->resize_pending = false;
		op = session_op(s, CRIB_OP_STREAM_RESIZE, side_op_done);
		op->width = s->size.width;
		op->height = s->size.height;
		(void)start_op(s, op);
		return;
	}
	if (connected(s))
		return;
	close_descriptors(s);
	if (s->fd_handles > 0)
		return; /* their close callbacks come back here */
	op = session_op(s, CRIB_OP_STREAM_CLOSE, side_op_done);
	s->handle = NULL;
	(void)start_op(s, op);
}

static void send_status(struct rc_session *s, int exit_code, const char *message)
{
	char *text = NULL;
	size_t len = 0;

	if (!connected(s))
		return;
	crib_rc_status(s->version, exit_code, message, &text, &len);
	ch_send(s, CH_ERROR, text, len, true);
	free(text);
}

static void end_session(struct rc_session *s, int exit_code, const char *message)
{
	if (s->phase == PHASE_ENDING)
		return;
	s->phase = PHASE_ENDING;
	uv_timer_stop(&s->timer);
	if (!connected(s))
		return;
	ch_send(s, CH_STDOUT, NULL, 0, true);
	ch_send(s, CH_STDERR, NULL, 0, true);
	send_status(s, exit_code, message);
	if (s->ws)
		crib_ws_conn_close(s->ws);
	else
		crib_spdy_conn_close(s->conn);
}

static void finish_done(struct crib_op *op)
{
	struct rc_session *s = op->data;

	s->op_busy = false;
	if (s->attach || op->r == 0)
		end_session(s, s->attach ? 0 : op->out.exit_code, NULL);
	else
		end_session(s, 0, crib_error_msg(op->err));
	crib_op_free(op);
	run_next_op(s);
	maybe_free(s);
}

/* The process ended and its output is drained (or the drain took too long). */
static void finish(struct rc_session *s)
{
	s->finish_wanted = true;
	if (s->finished || s->op_busy || s->phase != PHASE_RUNNING)
		return;
	s->finished = true;
	uv_timer_stop(&s->timer);
	if (!start_op(s, session_op(s, CRIB_OP_STREAM_FINISH, finish_done)))
		end_session(s, 0, "cribd is shutting down");
}

static bool outputs_open(const struct rc_session *s)
{
	return (s->out.active && !s->out.ended) || (s->err.active && !s->err.ended);
}

static void on_drain_timeout(uv_timer_t *t)
{
	finish(t->data);
}

static void check_finished(struct rc_session *s)
{
	if (!s->done || s->phase != PHASE_RUNNING)
		return;
	if (!outputs_open(s) || s->finish_wanted) {
		finish(s);
		return;
	}
	if (!uv_is_active((uv_handle_t *)&s->timer))
		uv_timer_start(&s->timer, on_drain_timeout, DRAIN_MS, 0);
}

static void on_done_fd(uv_poll_t *p, int status, int events)
{
	struct rc_session *s = p->data;

	(void)status;
	(void)events;
	uv_poll_stop(p);
	s->done = true;
	check_finished(s);
}

static void on_attach_quiet(uv_timer_t *t)
{
	end_session(t->data, 0, NULL);
}

static void restart_quiet_timer(struct rc_session *s)
{
	uint64_t now = uv_now(s->d->loop);
	uint64_t left = s->drain_deadline > now ? s->drain_deadline - now : 0;

	uv_timer_start(&s->timer, on_attach_quiet, left < ATTACH_QUIET_MS ? left : ATTACH_QUIET_MS,
	               0);
}

/* Output from the process to the client, paced by the connection. */
static void on_output(struct crib_pump *p, const uint8_t *data, size_t len)
{
	struct rc_session *s = p->data;
	enum channel ch = p == &s->out ? CH_STDOUT : CH_STDERR;

	if (len == 0) {
		ch_send(s, ch, NULL, 0, true);
		check_finished(s);
		return;
	}
	if (!connected(s))
		return;
	if (s->attach_draining)
		restart_quiet_timer(s);
	ch_send(s, ch, data, len, false);
	if (!ch_writable(s)) {
		crib_pump_pause(&s->out, true);
		crib_pump_pause(&s->err, true);
	}
}

static void on_input_ready(struct crib_pump *p, const uint8_t *data, size_t len)
{
	struct rc_session *s = p->data;

	(void)data;
	(void)len;
	ch_pause(s, false);
}

static void on_pump_closed(uv_handle_t *h)
{
	struct crib_pump *p = h->data;

	descriptor_closed(p->data);
}

static int setup_pump(struct rc_session *s, struct crib_pump *p, int *fd, bool writer,
                      crib_pump_cb cb)
{
	int r;

	if (*fd < 0)
		return 0;
	r = crib_pump_init(s->d->loop, p, *fd, writer, cb, on_pump_closed, s);
	if (r < 0)
		return r;
	*fd = -1;
	s->handles++;
	s->fd_handles++;
	return 0;
}

static int take_descriptors(struct rc_session *s, struct crib_stream_result *res)
{
	int r = setup_pump(s, &s->in, &res->stdin_fd, true, on_input_ready);

	if (r == 0)
		r = setup_pump(s, &s->out, &res->stdout_fd, false, on_output);
	if (r == 0)
		r = setup_pump(s, &s->err, &res->stderr_fd, false, on_output);
	if (r == 0)
		r = uv_poll_init(s->d->loop, &s->done_poll, res->done_fd);
	if (r < 0)
		return r;
	s->done_fd = res->done_fd;
	res->done_fd = -1;
	s->done_poll.data = s;
	s->done_polled = true;
	s->handles++;
	s->fd_handles++;
	return uv_poll_start(&s->done_poll, UV_READABLE | UV_DISCONNECT, on_done_fd);
}

static void open_done(struct crib_op *op)
{
	struct rc_session *s = op->data;
	int r;

	s->op_busy = false;
	if (op->r < 0) {
		end_session(s, 0, crib_error_msg(op->err));
		crib_op_free(op);
		maybe_free(s);
		return;
	}
	s->handle = op->out.stream.handle;
	r = take_descriptors(s, &op->out.stream);
	crib_op_free(op); /* closes what was not taken */
	if (r < 0) {
		end_session(s, 0, "cribd could not watch the session's descriptors");
		run_next_op(s);
		return;
	}
	if (s->phase == PHASE_OPENING)
		s->phase = PHASE_RUNNING;
	if (!s->in.above_high)
		ch_pause(s, false);
	/* The pod's process may already be gone: the client left while the backend worked. */
	run_next_op(s);
}

static void open_backend(struct rc_session *s)
{
	struct crib_op *op = session_op(s, CRIB_OP_STREAM_OPEN, open_done);

	uv_timer_stop(&s->timer);
	s->phase = PHASE_OPENING;
	op->in.stream = (struct crib_stream_args){
	    .ref = op->ctr,
	    .argv = (const char *const *)s->argv,
	    .argc = s->exec ? s->exec->n_cmd : 0,
	    .tty = s->tty,
	    .stdin_ = s->want[CH_STDIN],
	    .stdout_ = s->want[CH_STDOUT],
	    .stderr_ = s->want[CH_STDERR],
	};
	if (!start_op(s, op))
		end_session(s, 0, "cribd is shutting down");
}

static bool all_streams_there(const struct rc_session *s)
{
	for (int ch = 0; ch < CH_COUNT; ch++)
		if (s->want[ch] && !s->sid[ch])
			return false;
	return true;
}

static int on_opened(void *ud, uint32_t id, const struct crib_spdy_headers *h)
{
	struct rc_session *s = ud;
	const char *type = crib_spdy_headers_get(h, "streamtype");

	for (int ch = 0; type && ch < CH_COUNT; ch++) {
		if (strcmp(type, channel_names[ch]) != 0)
			continue;
		if (!s->want[ch] || s->sid[ch] || s->phase != PHASE_STREAMS)
			return -EINVAL;
		s->sid[ch] = id;
		if (all_streams_there(s))
			open_backend(s);
		return 0;
	}
	return -EINVAL;
}

static void on_resize_data(struct rc_session *s, const uint8_t *data, size_t len)
{
	size_t off = 0;

	if (!s->want[CH_RESIZE])
		return;
	if (len > sizeof(s->resize_buf) - s->resize_len) {
		ch_drop_resize(s);
		return;
	}
	memcpy(s->resize_buf + s->resize_len, data, len);
	s->resize_len += len;
	for (;;) {
		struct crib_rc_size size;
		int n = crib_rc_parse_size(s->resize_buf + off, s->resize_len - off, &size);

		if (n == 0)
			break;
		if (n < 0) {
			ch_drop_resize(s);
			s->resize_len = 0;
			return;
		}
		off += (size_t)n;
		s->size = size;
		s->resize_pending = true;
	}
	memmove(s->resize_buf, s->resize_buf + off, s->resize_len - off);
	s->resize_len -= off;
	if (s->handle)
		run_next_op(s);
}

static void channel_data(struct rc_session *s, enum channel ch, const uint8_t *data, size_t len)
{
	if (ch == CH_RESIZE) {
		on_resize_data(s, data, len);
		return;
	}
	if (ch != CH_STDIN || !s->want[CH_STDIN])
		return;
	/* Input that comes before the process is there waits in the pump until it is. */
	if (!crib_pump_write(&s->in, data, len) || !s->in.started)
		ch_pause(s, true);
}

/*
 * The client's input ended.  Exec: the process reads EOF (a terminal has no
 * EOF of its own, so a tty keeps it open).  Attach: the attach is over, as in
 * kubelet; the container keeps running.
 */
static void channel_ended(struct rc_session *s, enum channel ch)
{
	if (ch != CH_STDIN || !s->want[CH_STDIN])
		return;
	if (s->attach) {
		/* With stdin_once the container sees EOF and ends, and the attach with it. */
		crib_pump_end(&s->in);
		if (s->stdin_once || s->phase != PHASE_RUNNING || s->attach_draining)
			return;
		s->attach_draining = true;
		s->drain_deadline = uv_now(s->d->loop) + DRAIN_MS;
		restart_quiet_timer(s);
		return;
	}
	if (!s->tty)
		crib_pump_end(&s->in);
}

static int channel_of_stream(const struct rc_session *s, uint32_t id)
{
	for (int ch = 0; ch < CH_COUNT; ch++)
		if (s->sid[ch] == id)
			return ch;
	return -1;
}

static void on_data(void *ud, uint32_t id, const uint8_t *data, size_t len)
{
	struct rc_session *s = ud;
	int ch = channel_of_stream(s, id);

	if (ch >= 0)
		channel_data(s, (enum channel)ch, data, len);
}

static void on_ended(void *ud, uint32_t id, bool reset)
{
	struct rc_session *s = ud;
	int ch = channel_of_stream(s, id);

	(void)reset;
	if (ch >= 0)
		channel_ended(s, (enum channel)ch);
}

static int channel_of_ws(uint8_t ws)
{
	for (int ch = 0; ch < CH_COUNT; ch++)
		if (ws_channels[ch] == ws)
			return ch;
	return -1;
}

static void on_ws_data(void *ud, uint8_t channel, const uint8_t *data, size_t len)
{
	int ch = channel_of_ws(channel);

	if (ch >= 0)
		channel_data(ud, (enum channel)ch, data, len);
}

static void on_ws_ended(void *ud, uint8_t channel)
{
	int ch = channel_of_ws(channel);

	if (ch >= 0)
		channel_ended(ud, (enum channel)ch);
}

static void on_writable(void *ud)
{
	struct rc_session *s = ud;

	crib_pump_pause(&s->out, false);
	crib_pump_pause(&s->err, false);
}

static void on_closed(void *ud, const char *why)
{
	struct rc_session *s = ud;

	crib_log(CRIB_LOG_DEBUG, "stream", "%s session for container %s ended: %s",
	         s->attach ? "attach" : "exec", s->c->id, why);
	s->conn = NULL;
	s->ws = NULL;
	s->phase = PHASE_ENDING;
	uv_timer_stop(&s->timer);
	if (!uv_is_closing((uv_handle_t *)&s->timer))
		uv_close((uv_handle_t *)&s->timer, on_handle_closed);
	if (!s->handle)
		close_descriptors(s);
	run_next_op(s);
	maybe_free(s);
}

static const struct crib_spdy_conn_cbs conn_cbs = {
    .opened = on_opened,
    .data = on_data,
    .ended = on_ended,
    .writable = on_writable,
    .closed = on_closed,
};

static const struct crib_ws_conn_cbs ws_cbs = {
    .data = on_ws_data,
    .ended = on_ws_ended,
    .writable = on_writable,
    .closed = on_closed,
};

static void on_streams_timeout(uv_timer_t *t)
{
	struct rc_session *s = t->data;

	end_session(s, 0, "timed out waiting for the client to create its streams");
}

static void on_abort(struct crib_stream_link *l)
{
	struct rc_session *s = l->data;

	if (connected(s))
		end_session(s, 0, "cribd is shutting down");
}

/* Which streams the request asks for; the client opens exactly those. */
static void wanted_streams(struct rc_session *s, bool in, bool out, bool err)
{
	s->want[CH_ERROR] = true;
	s->want[CH_STDIN] = in;
	s->want[CH_STDOUT] = out;
	s->want[CH_STDERR] = err && !s->tty;
	/* SPDY v2 has no resize stream; later versions (and WebSocket) carry one with a terminal.
	 */
	s->want[CH_RESIZE] = s->tty && (s->ws_protocol || strcmp(s->version, CRIB_RC_V2) != 0);
}

static int read_request(struct rc_session *s, const struct crib_stream_request *req,
                        const struct crib_container *c)
{
	if (req->kind == CRIB_STREAM_EXEC) {
		s->exec = runtime__v1__exec_request__unpack(NULL, req->req_len, req->req);
		if (!s->exec)
			return -EINVAL;
		if (s->exec->n_cmd == 0)
			return -EINVAL;
		s->argv = crib_xcalloc(s->exec->n_cmd + 1, sizeof(*s->argv));
		memcpy(s->argv, s->exec->cmd, s->exec->n_cmd * sizeof(*s->argv));
		s->tty = s->exec->tty;
		wanted_streams(s, s->exec->stdin, s->exec->stdout, s->exec->stderr);
		return 0;
	}
	Runtime__V1__AttachRequest *a =
	    runtime__v1__attach_request__unpack(NULL, req->req_len, req->req);

	if (!a)
		return -EINVAL;
	s->attach = true;
	s->tty = a->tty;
	s->stdin_once = c->config && c->config->stdin_once;
	wanted_streams(s, a->stdin, a->stdout, a->stderr);
	runtime__v1__attach_request__free_unpacked(a, NULL);
	return 0;
}

static int connect_client(struct rc_session *s, int fd, const uint8_t *extra, size_t extra_len)
{
	struct crib_stream_link *link = s->link;
	uint64_t idle_ms = crib_stream_server_idle_ms(link->srv);

	if (s->ws_protocol)
		return crib_ws_conn_new(s->d->loop, fd, extra, extra_len, s->ws_protocol,
		                        CRIB_WS_RESIZE, &ws_cbs, s, idle_ms,
		                        crib_stream_link_release, link, &s->ws);
	return crib_spdy_conn_new(s->d->loop, fd, extra, extra_len, &conn_cbs, s, idle_ms,
	                          crib_stream_link_release, link, &s->conn);
}

int crib_stream_rc_start(struct crib_stream_link *link, int fd, const uint8_t *extra,
                         size_t extra_len, const char *version,
                         const struct crib_ws_protocol *ws_protocol,
                         struct crib_stream_request *req)
{
	struct crib_daemon *d = crib_stream_server_daemon(link->srv);
	struct crib_container *c = crib_registry_find_container(&d->reg, req->id);
	struct rc_session *s;
	int r;

	if (!c)
		return -ENOENT;
	s = crib_xcalloc(1, sizeof(*s));
	s->link = link;
	s->d = d;
	s->ws_protocol = ws_protocol;
	/* The error channel's format: a Status document, or (older protocols) a message. */
	s->version = !ws_protocol ? version : ws_protocol->v4_status ? CRIB_RC_V4 : CRIB_RC_V2;
	s->done_fd = -1;
	r = read_request(s, req, c);
	if (r < 0) {
		runtime__v1__exec_request__free_unpacked(s->exec, NULL);
		free(s->argv);
		free(s);
		return r;
	}
	s->c = crib_container_ref(c);
	d->stream_sessions++;
	uv_timer_init(d->loop, &s->timer);
	s->timer.data = s;
	s->handles = 1;
	link->data = s;
	link->abort = on_abort;
	uv_timer_start(&s->timer, on_streams_timeout, STREAMS_TIMEOUT_MS, 0);
	r = connect_client(s, fd, extra, extra_len);
	if (r < 0) {
		/* The caller keeps the link and the request; the timer's close frees the rest. */
		link->data = NULL;
		link->abort = NULL;
		s->conn = NULL;
		s->ws = NULL;
		uv_close((uv_handle_t *)&s->timer, on_handle_closed);
		return r;
	}
	crib_stream_request_clear(req);
	if (s->ws)
		crib_ws_conn_start(s->ws);
	/* WebSocket channels need no opening: the session starts at once. */
	if (s->ws_protocol && s->phase == PHASE_STREAMS)
		open_backend(s);
	return 0;
}
