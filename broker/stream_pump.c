/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stream_pump.h"
#include "util.h"

/* How much a reader takes at a time: one data frame's worth. */
#define READ_CHUNK ((size_t)32 * 1024)
#define LOW_MARK   ((size_t)64 * 1024)

static void update(struct crib_pump *p);

static void on_handle_closed(uv_handle_t *h)
{
	struct crib_pump *p = h->data;

	closep(&p->fd);
	p->fd = -1;
	free(p->buf);
	p->buf = NULL;
	p->len = 0;
	p->closed(h);
}

void crib_pump_close(struct crib_pump *p)
{
	if (!p)
		return;
	if (!p->started) {
		/* Never set up: only input queued for it to drop. */
		free(p->buf);
		p->buf = NULL;
		p->len = 0;
		return;
	}
	if (!p->active)
		return;
	p->active = false;
	uv_close((uv_handle_t *)&p->poll, on_handle_closed);
}

static void read_some(struct crib_pump *p)
{
	uint8_t buf[READ_CHUNK];

	while (p->active && !p->paused && !p->ended) {
		ssize_t n = read(p->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* EOF, or EIO from a terminal whose other side is gone: the end either way.
			 */
			p->ended = true;
			uv_poll_stop(&p->poll);
			p->cb(p, NULL, 0);
			return;
		}
		p->cb(p, buf, (size_t)n);
		if ((size_t)n < sizeof(buf))
			return;
	}
}

/* Writes what the descriptor takes; true when the buffer is empty. */
static bool write_some(struct crib_pump *p)
{
	size_t off = 0;

	while (off < p->len) {
		ssize_t n = write(p->fd, p->buf + off, p->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			/* The process closed its input or died: what is left can go nowhere. */
			p->failed = true;
			off = p->len;
			break;
		}
		off += (size_t)n;
	}
	memmove(p->buf, p->buf + off, p->len - off);
	p->len -= off;
	return p->len == 0;
}

static void end_writer(struct crib_pump *p)
{
	if (p->is_sock) {
		(void)shutdown(p->fd, SHUT_WR);
		uv_poll_stop(&p->poll);
		return;
	}
	/* The process sees EOF only once this end is closed, which must wait for the handle. */
	crib_pump_close(p);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct crib_pump *p = h->data;

	if (!p->writer) {
		/* An error on a read end shows up as EOF (or EIO) on the read itself. */
		(void)status;
		read_some(p);
		return;
	}
	if (status < 0 || (events & UV_DISCONNECT))
		p->failed = true;
	if (!p->failed)
		(void)write_some(p);
	if (p->failed) {
		p->len = 0;
		p->cb(p, NULL, 0);
	} else if (p->above_high && p->len < LOW_MARK) {
		p->above_high = false;
		p->cb(p, NULL, 0);
	}
	update(p);
}

static void update(struct crib_pump *p)
{
	if (!p->active)
		return;
	if (p->writer) {
		if (p->ended && (p->len == 0 || p->failed)) {
			end_writer(p);
			return;
		}
		if (p->len > 0 && !p->failed)
			uv_poll_start(&p->poll, UV_WRITABLE, on_poll);
		else
			uv_poll_stop(&p->poll);
		return;
	}
	if (p->paused || p->ended)
		uv_poll_stop(&p->poll);
	else
		uv_poll_start(&p->poll, UV_READABLE | UV_DISCONNECT, on_poll);
}

int crib_pump_init(uv_loop_t *loop, struct crib_pump *p, int fd, bool writer, crib_pump_cb cb,
                   uv_close_cb closed, void *data)
{
	int flags = fcntl(fd, F_GETFL);
	struct stat st;
	int r;

	if (p->active || p->started)
		return -EALREADY;
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fstat(fd, &st) < 0)
		return -errno;
	/* Input queued before the descriptor existed, and an end asked for already, carry over. */
	*p = (struct crib_pump){
	    .fd = fd,
	    .writer = writer,
	    .is_sock = S_ISSOCK(st.st_mode),
	    .started = true,
	    .ended = writer && p->ended,
	    .above_high = p->above_high,
	    .buf = p->buf,
	    .len = p->len,
	    .cb = cb,
	    .closed = closed,
	    .data = data,
	};
	r = uv_poll_init(loop, &p->poll, fd);
	if (r < 0) {
		p->fd = -1;
		return r;
	}
	p->poll.data = p;
	p->active = true;
	update(p);
	return 0;
}

void crib_pump_pause(struct crib_pump *p, bool paused)
{
	if (p->paused == paused)
		return;
	p->paused = paused;
	update(p);
}

bool crib_pump_write(struct crib_pump *p, const void *data, size_t len)
{
	if ((p->started && !p->active) || p->ended || p->failed || len == 0)
		return !p->above_high;
	p->buf = crib_xrealloc(p->buf, p->len + len, 1);
	memcpy(p->buf + p->len, data, len);
	p->len += len;
	if (p->len > CRIB_PUMP_HIGH)
		p->above_high = true;
	if (!p->active)
		return !p->above_high; /* kept until crib_pump_init() */
	update(p);
	return !p->above_high;
}

void crib_pump_end(struct crib_pump *p)
{
	if ((p->started && !p->active) || p->ended)
		return;
	p->ended = true;
	if (!p->active)
		return;
	update(p);
}
