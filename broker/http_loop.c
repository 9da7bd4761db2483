/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http_loop.h"
#include "log.h"

static void on_timer(uv_timer_t *t)
{
	crib_http_loop_run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	crib_http_loop_run(p->data);
}

void crib_http_loop_run(struct crib_http_loop *h)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	/* A callback of MHD_run (an answer, a resumed connection) may ask for another run. */
	if (h->running) {
		h->again = true;
		return;
	}
	if (h->paused)
		return;
	h->running = true;
	do {
		h->again = false;
		if (!h->stopping)
			(void)MHD_run(h->mhd);
	} while (h->again && !h->stopping);
	h->running = false;
	if (h->ran && !h->stopping)
		h->ran(h);
	if (h->stopping || h->paused)
		return;
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
		uv_timer_start(&h->timer, on_timer, ms, 0);
	else
		uv_timer_stop(&h->timer);
}

int crib_http_loop_start(struct crib_http_loop *h, uv_loop_t *loop, struct MHD_Daemon *mhd)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD);
	int r;

	if (!info) {
		MHD_stop_daemon(mhd);
		return -EIO;
	}
	r = uv_poll_init(loop, &h->poll, info->epoll_fd);
	if (r < 0) {
		MHD_stop_daemon(mhd);
		return r;
	}
	uv_timer_init(loop, &h->timer);
	h->mhd = mhd;
	h->poll.data = h;
	h->timer.data = h;
	h->handles = 2;
	h->stopping = false;
	uv_poll_start(&h->poll, UV_READABLE, on_poll);
	crib_http_loop_run(h);
	return 0;
}

void crib_http_loop_pause(struct crib_http_loop *h)
{
	if (h->paused || h->stopping)
		return;
	h->paused = true;
	uv_poll_stop(&h->poll);
	uv_timer_stop(&h->timer);
}

void crib_http_loop_resume(struct crib_http_loop *h)
{
	if (!h->paused || h->stopping)
		return;
	h->paused = false;
	uv_poll_start(&h->poll, UV_READABLE, on_poll);
	crib_http_loop_run(h);
}

static void on_handle_closed(uv_handle_t *handle)
{
	struct crib_http_loop *h = handle->data;

	if (--h->handles == 0 && h->closed)
		h->closed(h);
}

void crib_http_loop_close(struct crib_http_loop *h, void (*closed)(struct crib_http_loop *h))
{
	h->stopping = true;
	h->closed = closed;
	uv_close((uv_handle_t *)&h->poll, on_handle_closed);
	uv_close((uv_handle_t *)&h->timer, on_handle_closed);
}

void crib_http_loop_free(struct crib_http_loop *h)
{
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	h->mhd = NULL;
}

void crib_http_log(void *category, const char *fmt, va_list ap)
{
	char line[512];

	(void)vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	crib_log(CRIB_LOG_INFO, category, "http: %s", line);
}
