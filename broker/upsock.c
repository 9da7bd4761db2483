/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>

#include "upsock.h"

/* How long a closing connection may take to flush what it sent. */
#define CLOSE_FLUSH_MS 5000

static void on_timer(uv_timer_t *t)
{
	struct crib_upsock *u = t->data;
	uint64_t idle = uv_now(u->loop) - u->last_activity;

	if (u->closing) {
		crib_upsock_fail(u, NULL, true); /* the flush deadline passed */
	} else if (idle >= u->idle_ms) {
		u->ops->idle(u);
	} else {
		uv_timer_start(t, on_timer, u->idle_ms - idle, 0);
		return;
	}
	u->ops->kick(u);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct crib_upsock *u = p->data;

	if (status < 0) {
		crib_upsock_fail(u, "the client connection failed", true);
		crib_upsock_update(u);
		return;
	}
	u->ops->ready(u, events);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct crib_upsock *u = h->data;

	if (--u->open_handles > 0)
		return;
	u->release(u->release_arg);
	u->ops->freed(u, u->why ? u->why : "the session ended");
}

int crib_upsock_init(struct crib_upsock *u, uv_loop_t *loop, int fd,
                     const struct crib_upsock_ops *ops, uint64_t idle_ms,
                     void (*release)(void *arg), void *release_arg)
{
	int flags = fcntl(fd, F_GETFL);
	int r;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	r = uv_poll_init(loop, &u->poll, fd);
	if (r < 0)
		return r;
	uv_timer_init(loop, &u->timer);
	u->loop = loop;
	u->fd = fd;
	u->ops = ops;
	u->release = release;
	u->release_arg = release_arg;
	u->idle_ms = idle_ms;
	u->last_activity = uv_now(loop);
	u->poll.data = u;
	u->timer.data = u;
	u->open_handles = 2;
	if (idle_ms > 0)
		uv_timer_start(&u->timer, on_timer, idle_ms, 0);
	return 0;
}

void crib_upsock_fail(struct crib_upsock *u, const char *why, bool dead)
{
	if (!u->why)
		u->why = why;
	if (dead)
		u->dead = true;
	if (!u->closing && !u->finished)
		uv_timer_start(&u->timer, on_timer, CLOSE_FLUSH_MS, 0);
	u->closing = true;
}

void crib_upsock_update(struct crib_upsock *u)
{
	bool want_write;
	int events = 0;

	if (u->finished)
		return;
	want_write = u->ops->want_write(u);
	if (u->closing && (u->dead || !want_write)) {
		u->finished = true;
		uv_close((uv_handle_t *)&u->poll, on_handle_closed);
		uv_close((uv_handle_t *)&u->timer, on_handle_closed);
		return;
	}
	if (!u->closing && !u->paused)
		events |= UV_READABLE;
	if (want_write)
		events |= UV_WRITABLE;
	if (events)
		uv_poll_start(&u->poll, events, on_poll);
	else
		uv_poll_stop(&u->poll);
}

void crib_upsock_touch(struct crib_upsock *u)
{
	u->last_activity = uv_now(u->loop);
}
