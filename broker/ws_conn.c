/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wslay/wslay.h>

#include "upsock.h"
#include "util.h"
#include "ws_conn.h"

/* Output a session may queue before it is asked to wait, and when it may go on. */
#define OUT_HIGH ((size_t)256 * 1024)
#define OUT_LOW  ((size_t)64 * 1024)
/* Past this much queued output the client is not reading at all: it is cut off. */
#define OUT_HARD_MAX ((size_t)4 * 1024 * 1024)

struct crib_ws_conn {
	struct crib_upsock u;
	wslay_event_context_ptr ctx;
	const struct crib_ws_protocol *protocol;
	uint8_t max_channel;
	const struct crib_ws_conn_cbs *cbs;
	void *ud;
	uint8_t *extra; /* bytes the HTTP server read past the request, consumed first */
	size_t extra_len;
	size_t extra_off;
	bool in_pump; /* wslay is calling back: it must not be re-entered */
	bool above_high;
};

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
	struct crib_ws_conn *c = user;
	ssize_t n;

	(void)flags;
	if (c->extra_off < c->extra_len) {
		n = (ssize_t)(len < c->extra_len - c->extra_off ? len
		                                                : c->extra_len - c->extra_off);
		memcpy(buf, c->extra + c->extra_off, (size_t)n);
		c->extra_off += (size_t)n;
		return n;
	}
	if (c->u.paused) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	do
		n = read(c->u.fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (n <= 0) {
		c->u.why = n == 0 ? "the client closed the connection"
		                  : "the client connection failed while reading";
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	crib_upsock_touch(&c->u);
	return n;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
	struct crib_ws_conn *c = user;
	ssize_t n;

	(void)flags;
	do
		n = write(c->u.fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (n < 0) {
		c->u.why = "the client connection failed while writing";
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	crib_upsock_touch(&c->u);
	return n;
}

static void fail(struct crib_ws_conn *c, const char *why, bool dead)
{
	crib_upsock_fail(&c->u, why, dead);
	wslay_event_shutdown_read(c->ctx);
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
	struct crib_ws_conn *c = user;
	struct crib_ws_message m = {0};
	bool text = arg->opcode == WSLAY_TEXT_FRAME;

	(void)ctx;
	if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
		fail(c, "the client closed the WebSocket", false);
		return;
	}
	if (c->u.closing || (!text && arg->opcode != WSLAY_BINARY_FRAME))
		return; /* pings are wslay's; nothing else carries data */
	if (crib_ws_decode_channels(c->protocol, arg->msg, arg->msg_length, text, c->max_channel,
	                            &m) < 0) {
		(void)wslay_event_queue_close(c->ctx, WSLAY_CODE_PROTOCOL_ERROR, NULL, 0);
		fail(c, "the client sent a message that is not a channel message", false);
		return;
	}
	if (m.closes)
		c->cbs->ended(c->ud, m.channel);
	else if (m.len > 0)
		c->cbs->data(c->ud, m.channel, m.data, m.len);
	free(m.data);
}

static const struct wslay_event_callbacks wslay_cbs = {
    .recv_callback = on_recv,
    .send_callback = on_send,
    .on_msg_recv_callback = on_msg,
};

static size_t pending(const struct crib_ws_conn *c)
{
	return wslay_event_get_queued_msg_length(c->ctx);
}

/* Moves bytes both ways as far as the socket allows, then polls for the rest. */
static void pump(struct crib_ws_conn *c)
{
	if (c->u.finished || c->in_pump)
		return;
	c->in_pump = true;
	if (!c->u.dead && !c->u.closing && !c->u.paused && wslay_event_want_read(c->ctx) &&
	    wslay_event_recv(c->ctx) < 0)
		fail(c, "the client connection failed", true);
	if (!c->u.dead && wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) < 0)
		fail(c, "the client connection failed", true);
	if (!c->u.dead && pending(c) > OUT_HARD_MAX)
		fail(c, "the client stopped reading", true);
	c->in_pump = false;
	if (c->above_high && pending(c) < OUT_LOW && !c->u.closing) {
		c->above_high = false;
		c->cbs->writable(c->ud);
	}
	crib_upsock_update(&c->u);
}

static struct crib_ws_conn *of(const struct crib_upsock *u)
{
	return container_of(u, struct crib_ws_conn, u);
}

static void on_ready(struct crib_upsock *u, int events)
{
	(void)events;
	pump(of(u));
}

static bool want_write(const struct crib_upsock *u)
{
	return wslay_event_want_write(of(u)->ctx);
}

static void on_idle(struct crib_upsock *u)
{
	struct crib_ws_conn *c = of(u);

	(void)wslay_event_queue_close(c->ctx, WSLAY_CODE_GOING_AWAY, NULL, 0);
	fail(c, "the connection was idle too long", false);
}

static void kick(struct crib_upsock *u)
{
	pump(of(u));
}

static void on_freed(struct crib_upsock *u, const char *why)
{
	struct crib_ws_conn *c = of(u);

	c->cbs->closed(c->ud, why);
	wslay_event_context_free(c->ctx);
	free(c->extra);
	free(c);
}

static const struct crib_upsock_ops upsock_ops = {
    .ready = on_ready,
    .want_write = want_write,
    .idle = on_idle,
    .kick = kick,
    .freed = on_freed,
};

int crib_ws_conn_new(uv_loop_t *loop, int fd, const uint8_t *extra, size_t extra_len,
                     const struct crib_ws_protocol *protocol, uint8_t max_channel,
                     const struct crib_ws_conn_cbs *cbs, void *ud, uint64_t idle_ms,
                     void (*release)(void *arg), void *release_arg, struct crib_ws_conn **ret)
{
	struct crib_ws_conn *c;
	int r;

	c = crib_xcalloc(1, sizeof(*c));
	if (wslay_event_context_server_init(&c->ctx, &wslay_cbs, c) != 0) {
		free(c);
		return -ENOMEM;
	}
	/* Base64 makes a message a third longer than the data it carries. */
	wslay_event_config_set_max_recv_msg_length(c->ctx, CRIB_WS_MESSAGE_MAX / 3 * 4 + 8);
	r = crib_upsock_init(&c->u, loop, fd, &upsock_ops, idle_ms, release, release_arg);
	if (r < 0) {
		wslay_event_context_free(c->ctx);
		free(c);
		return r;
	}
	c->protocol = protocol;
	c->max_channel = max_channel;
	c->cbs = cbs;
	c->ud = ud;
	c->extra = extra_len ? crib_xmemdup(extra, extra_len) : NULL;
	c->extra_len = extra_len;
	*ret = c;
	return 0;
}

void crib_ws_conn_start(struct crib_ws_conn *c)
{
	pump(c);
}

static void queue(struct crib_ws_conn *c, const uint8_t *msg, size_t len, bool text)
{
	struct wslay_event_msg m = {
	    .opcode = text ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME,
	    .msg = msg,
	    .msg_length = len,
	};

	if (wslay_event_queue_msg(c->ctx, &m) != 0)
		fail(c, "cannot queue a WebSocket message", true);
}

void crib_ws_conn_send(struct crib_ws_conn *c, uint8_t channel, const void *data, size_t len,
                       bool fin)
{
	const uint8_t *p = data;
	uint8_t *msg = NULL;
	size_t msg_len = 0;
	bool text = false;

	if (c->u.closing)
		return;
	/* A message per 32 KiB, as kubelet writes them, so one message never holds much. */
	while (len > 0) {
		size_t n = len < 32 * 1024 ? len : 32 * 1024;

		crib_ws_encode(c->protocol, channel, p, n, &msg, &msg_len, &text);
		queue(c, msg, msg_len, text);
		free(msg);
		p += n;
		len -= n;
	}
	if (fin && c->protocol->close) {
		crib_ws_encode_close(channel, &msg, &msg_len);
		queue(c, msg, msg_len, false);
		free(msg);
	}
	if (pending(c) > OUT_HIGH)
		c->above_high = true;
	pump(c);
}

bool crib_ws_conn_writable(const struct crib_ws_conn *c)
{
	return !c->u.closing && pending(c) <= OUT_HIGH;
}

void crib_ws_conn_pause(struct crib_ws_conn *c, bool paused)
{
	if (c->u.paused == paused)
		return;
	c->u.paused = paused;
	pump(c);
}

void crib_ws_conn_close(struct crib_ws_conn *c)
{
	if (c->u.closing)
		return;
	(void)wslay_event_queue_close(c->ctx, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
	fail(c, NULL, false);
	pump(c);
}
