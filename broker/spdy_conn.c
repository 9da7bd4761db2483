/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spdy_conn.h"
#include "upsock.h"
#include "util.h"

/* Data frames cribd sends carry at most this much (what Kubernetes' clients send, too). */
#define FRAME_DATA_MAX ((size_t)32 * 1024)
/* A session stops feeding output above HIGH and resumes below LOW. */
#define OUT_HIGH ((size_t)256 * 1024)
#define OUT_LOW  ((size_t)64 * 1024)
/*
 * Past this much unwritten output the client is not reading at all (only
 * PING answers and resets get past the high mark): it is cut off.
 */
#define OUT_HARD_MAX ((size_t)4 * 1024 * 1024)
/* How much is read from the socket at a time. */
#define READ_CHUNK ((size_t)64 * 1024)
/* WINDOW_UPDATE is sent once this much of a window was consumed. */
#define WINDOW_STEP ((uint32_t)32 * 1024)

struct stream {
	uint32_t id;
	bool in_done;  /* the client sent FIN or RST */
	bool out_done; /* cribd sent FIN or RST */
	uint32_t unacked;
};

struct crib_spdy_conn {
	struct crib_upsock u;
	const struct crib_spdy_conn_cbs *cbs;
	void *ud;

	struct crib_spdy_zlib *inflate;
	struct crib_spdy_zlib *deflate;
	uint8_t *in;
	size_t in_len;
	struct crib_spdy_buf out;
	size_t out_off;
	bool above_high;

	struct stream streams[CRIB_SPDY_CONN_STREAMS_MAX];
	size_t n_streams;
	uint32_t last_client_id;
	uint32_t session_unacked;

	bool parsing; /* frames are being handed out: the input buffer must not move */
};

static size_t pending(const struct crib_spdy_conn *c)
{
	return c->out.len - c->out_off;
}

static struct stream *find_stream(struct crib_spdy_conn *c, uint32_t id)
{
	for (size_t i = 0; i < c->n_streams; i++)
		if (c->streams[i].id == id)
			return &c->streams[i];
	return NULL;
}

/* A stream both sides are done with is forgotten. */
static void maybe_drop_stream(struct crib_spdy_conn *c, struct stream *s)
{
	if (!s->in_done || !s->out_done)
		return;
	*s = c->streams[--c->n_streams];
}

/* Ends the connection for WHY: no more input; output is flushed unless the socket died. */
static void fail(struct crib_spdy_conn *c, const char *why, bool socket_dead)
{
	crib_upsock_fail(&c->u, why, socket_dead);
	crib_upsock_update(&c->u);
}

static void flush(struct crib_spdy_conn *c)
{
	while (pending(c) > 0) {
		ssize_t n = write(c->u.fd, c->out.data + c->out_off, pending(c));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			fail(c, "the client connection failed while writing", true);
			return;
		}
		c->out_off += (size_t)n;
		crib_upsock_touch(&c->u);
	}
	if (pending(c) == 0) {
		c->out.len = 0;
		c->out_off = 0;
	} else if (c->out_off > c->out.len / 2) {
		memmove(c->out.data, c->out.data + c->out_off, pending(c));
		c->out.len -= c->out_off;
		c->out_off = 0;
	}
	if (c->above_high && pending(c) < OUT_LOW && !c->u.closing) {
		c->above_high = false;
		c->cbs->writable(c->ud);
	}
}

/* After output was queued: write what the socket takes now, poll for the rest. */
static void queued(struct crib_spdy_conn *c)
{
	if (c->u.dead || c->u.finished)
		return;
	if (pending(c) > OUT_HARD_MAX) {
		fail(c, "the client stopped reading", true);
		return;
	}
	flush(c);
	crib_upsock_update(&c->u);
}

static void ack(struct crib_spdy_conn *c, struct stream *s, size_t len)
{
	s->unacked += (uint32_t)len;
	c->session_unacked += (uint32_t)len;
	if (s->unacked >= WINDOW_STEP && !s->in_done) {
		crib_spdy_put_window_update(&c->out, s->id, s->unacked);
		s->unacked = 0;
	}
	if (c->session_unacked >= WINDOW_STEP) {
		crib_spdy_put_window_update(&c->out, 0, c->session_unacked);
		c->session_unacked = 0;
	}
}

static void on_syn_stream(struct crib_spdy_conn *c, const struct crib_spdy_frame *f)
{
	struct crib_spdy_headers h = {0};
	struct crib_spdy_headers reply = {0};
	struct stream *s;
	int r;

	/* The block must be inflated even for a refused stream: the zlib stream goes on. */
	if (crib_spdy_headers_decode(c->inflate, f->payload, f->payload_len, &h) < 0) {
		fail(c, "the client sent a header block that does not decode", false);
		return;
	}
	if (f->stream_id % 2 == 0 || f->stream_id <= c->last_client_id) {
		crib_spdy_put_goaway(&c->out, c->last_client_id, CRIB_SPDY_PROTOCOL_ERROR);
		fail(c, "the client opened a stream with an id out of order", false);
		goto out;
	}
	c->last_client_id = f->stream_id;
	if (c->n_streams == CRIB_SPDY_CONN_STREAMS_MAX) {
		crib_spdy_put_rst_stream(&c->out, f->stream_id, CRIB_SPDY_REFUSED_STREAM);
		goto out;
	}
	r = c->cbs->opened(c->ud, f->stream_id, &h);
	if (r < 0 || c->u.closing) {
		crib_spdy_put_rst_stream(&c->out, f->stream_id, CRIB_SPDY_REFUSED_STREAM);
		goto out;
	}
	s = &c->streams[c->n_streams++];
	*s = (struct stream){.id = f->stream_id,
	                     .out_done = (f->flags & CRIB_SPDY_FLAG_UNIDIRECTIONAL) != 0};
	if (crib_spdy_put_syn_reply(&c->out, c->deflate, f->stream_id, 0, &reply) < 0) {
		fail(c, "compressing a reply failed", false);
		goto out;
	}
	if (f->flags & CRIB_SPDY_FLAG_FIN) {
		s->in_done = true;
		c->cbs->ended(c->ud, f->stream_id, false);
	}
out:
	crib_spdy_headers_clear(&h);
}

static void on_data(struct crib_spdy_conn *c, const struct crib_spdy_frame *f)
{
	struct stream *s = find_stream(c, f->stream_id);

	if (!s || s->in_done) {
		crib_spdy_put_rst_stream(&c->out, f->stream_id, CRIB_SPDY_INVALID_STREAM);
		return;
	}
	if (f->payload_len > 0) {
		ack(c, s, f->payload_len);
		c->cbs->data(c->ud, f->stream_id, f->payload, f->payload_len);
	}
	/* The callback may have reset the stream or closed the connection. */
	s = find_stream(c, f->stream_id);
	if (s && (f->flags & CRIB_SPDY_FLAG_FIN) && !c->u.closing) {
		s->in_done = true;
		c->cbs->ended(c->ud, f->stream_id, false);
		s = find_stream(c, f->stream_id);
		if (s)
			maybe_drop_stream(c, s);
	}
}

static void on_rst(struct crib_spdy_conn *c, const struct crib_spdy_frame *f)
{
	struct stream *s = find_stream(c, f->stream_id);

	if (!s)
		return;
	s->in_done = true;
	s->out_done = true;
	maybe_drop_stream(c, s);
	c->cbs->ended(c->ud, f->stream_id, true);
}

static void on_frame(struct crib_spdy_conn *c, const struct crib_spdy_frame *f)
{
	switch (f->type) {
	case CRIB_SPDY_DATA:
		on_data(c, f);
		break;
	case CRIB_SPDY_SYN_STREAM:
		on_syn_stream(c, f);
		break;
	case CRIB_SPDY_RST_STREAM:
		on_rst(c, f);
		break;
	case CRIB_SPDY_PING:
		/* Only the client's own (odd) pings are answered; cribd sends none. */
		if (f->value % 2 == 1)
			crib_spdy_put_ping(&c->out, f->value);
		break;
	case CRIB_SPDY_GOAWAY:
		fail(c, "the client sent GOAWAY", false);
		break;
	case CRIB_SPDY_HEADERS:
	case CRIB_SPDY_SYN_REPLY:
		/* Header blocks keep the zlib stream in step even when they are not wanted. */
		{
			struct crib_spdy_headers h = {0};

			if (crib_spdy_headers_decode(c->inflate, f->payload, f->payload_len, &h) <
			    0)
				fail(c, "the client sent a header block that does not decode",
				     false);
			crib_spdy_headers_clear(&h);
		}
		break;
	default: /* SETTINGS, WINDOW_UPDATE and unknown control frames */
		break;
	}
}

static void parse_input(struct crib_spdy_conn *c)
{
	size_t off = 0;

	if (c->parsing)
		return;
	c->parsing = true;
	while (!c->u.closing && !c->u.paused && off < c->in_len) {
		struct crib_spdy_frame f;
		ssize_t n = crib_spdy_parse(c->in + off, c->in_len - off, &f);

		if (n == 0)
			break;
		if (n < 0) {
			crib_spdy_put_goaway(&c->out, c->last_client_id, CRIB_SPDY_PROTOCOL_ERROR);
			fail(c,
			     n == -EMSGSIZE ? "the client sent a frame over the size limit"
			                    : "the client sent a frame that does not parse",
			     false);
			break;
		}
		on_frame(c, &f);
		off += (size_t)n;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	c->parsing = false;
}

static void read_input(struct crib_spdy_conn *c)
{
	const size_t cap = CRIB_SPDY_HEADER_LEN + CRIB_SPDY_PAYLOAD_MAX;

	while (!c->u.closing && !c->u.paused) {
		size_t want = cap - c->in_len < READ_CHUNK ? cap - c->in_len : READ_CHUNK;
		ssize_t n = read(c->u.fd, c->in + c->in_len, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			fail(c,
			     n == 0 ? "the client closed the connection"
			            : "the client connection failed while reading",
			     n < 0);
			break;
		}
		crib_upsock_touch(&c->u);
		c->in_len += (size_t)n;
		parse_input(c);
		if ((size_t)n < want)
			break;
	}
	queued(c);
}

static struct crib_spdy_conn *of(const struct crib_upsock *u)
{
	return container_of(u, struct crib_spdy_conn, u);
}

static void on_ready(struct crib_upsock *u, int events)
{
	struct crib_spdy_conn *c = of(u);

	if (events & UV_WRITABLE) {
		flush(c);
		crib_upsock_update(u);
	}
	if ((events & (UV_READABLE | UV_DISCONNECT)) && !u->closing)
		read_input(c);
}

static bool want_write(const struct crib_upsock *u)
{
	return pending(of(u)) > 0;
}

static void on_idle(struct crib_upsock *u)
{
	crib_upsock_fail(u, "the connection was idle too long", true);
}

static void on_freed(struct crib_upsock *u, const char *why)
{
	struct crib_spdy_conn *c = of(u);

	c->cbs->closed(c->ud, why);
	crib_spdy_zlib_free(c->inflate);
	crib_spdy_zlib_free(c->deflate);
	crib_spdy_buf_free(&c->out);
	free(c->in);
	free(c);
}

static const struct crib_upsock_ops upsock_ops = {
    .ready = on_ready,
    .want_write = want_write,
    .idle = on_idle,
    .kick = crib_upsock_update,
    .freed = on_freed,
};

int crib_spdy_conn_new(uv_loop_t *loop, int fd, const uint8_t *extra, size_t extra_len,
                       const struct crib_spdy_conn_cbs *cbs, void *ud, uint64_t idle_ms,
                       void (*release)(void *arg), void *release_arg, struct crib_spdy_conn **ret)
{
	struct crib_spdy_conn *c;
	int r;

	if (extra_len > CRIB_SPDY_HEADER_LEN + CRIB_SPDY_PAYLOAD_MAX)
		return -EMSGSIZE;
	c = crib_xcalloc(1, sizeof(*c));
	c->cbs = cbs;
	c->ud = ud;
	c->in = crib_xmalloc(CRIB_SPDY_HEADER_LEN + CRIB_SPDY_PAYLOAD_MAX);
	r = crib_spdy_zlib_new(0, &c->inflate);
	if (r == 0)
		r = crib_spdy_zlib_new(1, &c->deflate);
	if (r == 0)
		r = crib_upsock_init(&c->u, loop, fd, &upsock_ops, idle_ms, release, release_arg);
	if (r < 0) {
		crib_spdy_zlib_free(c->inflate);
		crib_spdy_zlib_free(c->deflate);
		free(c->in);
		free(c);
		return r;
	}
	if (extra_len > 0)
		memcpy(c->in, extra, extra_len);
	c->in_len = extra_len;
	*ret = c;
	/* Bytes that came with the request are frames already; the session sees them first. */
	if (extra_len > 0)
		parse_input(c);
	queued(c);
	return 0;
}

void crib_spdy_conn_send(struct crib_spdy_conn *c, uint32_t id, const void *data, size_t len,
                         bool fin)
{
	struct stream *s = find_stream(c, id);
	const uint8_t *p = data;

	if (!s || s->out_done || c->u.closing)
		return;
	do {
		size_t n = len < FRAME_DATA_MAX ? len : FRAME_DATA_MAX;

		len -= n;
		crib_spdy_put_data(&c->out, id, fin && len == 0 ? CRIB_SPDY_FLAG_FIN : 0, p, n);
		p += n;
	} while (len > 0);
	if (fin) {
		s->out_done = true;
		maybe_drop_stream(c, s);
	}
	if (pending(c) > OUT_HIGH)
		c->above_high = true;
	queued(c);
}

void crib_spdy_conn_reset(struct crib_spdy_conn *c, uint32_t id, uint32_t status)
{
	struct stream *s = find_stream(c, id);

	if (!s || c->u.closing)
		return;
	crib_spdy_put_rst_stream(&c->out, id, status);
	s->in_done = true;
	s->out_done = true;
	maybe_drop_stream(c, s);
	queued(c);
}

bool crib_spdy_conn_writable(const struct crib_spdy_conn *c)
{
	return !c->u.closing && pending(c) <= OUT_HIGH;
}

void crib_spdy_conn_pause(struct crib_spdy_conn *c, bool paused)
{
	if (c->u.paused == paused)
		return;
	c->u.paused = paused;
	crib_upsock_update(&c->u);
	/* Frames read before the pause may wait in the buffer; resuming parses them. */
	if (!paused && !c->u.closing && c->in_len > 0) {
		parse_input(c);
		queued(c);
	}
}

void crib_spdy_conn_close(struct crib_spdy_conn *c)
{
	if (!c->u.closing)
		fail(c, NULL, false);
}
