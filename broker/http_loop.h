/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A libmicrohttpd daemon driven from cribd's libuv loop: MHD runs in
 * external-epoll mode, the loop polls its epoll descriptor and arms a timer
 * for its timeouts.  The streaming server and the admin API each own one.
 * Loop thread only.
 */
#ifndef CRIB_BROKER_HTTP_LOOP_H
#define CRIB_BROKER_HTTP_LOOP_H

#include <stdbool.h>

#include <microhttpd.h>
#include <uv.h>

struct crib_http_loop {
	struct MHD_Daemon *mhd;
	uv_poll_t poll;                           /* MHD's epoll descriptor */
	uv_timer_t timer;                         /* MHD's timeouts */
	unsigned handles;                         /* libuv handles not yet closed */
	void (*closed)(struct crib_http_loop *h); /* crib_http_loop_close() is done */
	bool stopping;
	bool running; /* inside MHD_run */
	bool again;   /* asked to run while running */
	bool paused;  /* crib_http_loop_pause(): MHD is not run */
	/* Optional: after every MHD_run, e.g. to account for the time it took. */
	void (*ran)(struct crib_http_loop *h);
};

/*
 * Takes MHD (started with MHD_USE_EPOLL and without an internal thread) and
 * starts polling it.  On failure MHD is stopped and H is left unused.
 */
int crib_http_loop_start(struct crib_http_loop *h, uv_loop_t *loop, struct MHD_Daemon *mhd);

/* Lets MHD do what is due, e.g. after a connection was resumed or an upgrade closed. */
void crib_http_loop_run(struct crib_http_loop *h);

/*
 * Leaves MHD alone (connections wait in the kernel) until
 * crib_http_loop_resume(), which runs it at once.
 */
void crib_http_loop_pause(struct crib_http_loop *h);
void crib_http_loop_resume(struct crib_http_loop *h);

/*
 * Stops polling; CLOSED runs once the libuv handles are closed.  The MHD
 * daemon stays (connections may still be handed back to it) until
 * crib_http_loop_free().
 */
void crib_http_loop_close(struct crib_http_loop *h, void (*closed)(struct crib_http_loop *h));

/* Stops the MHD daemon (after crib_http_loop_close() finished, or if never started). */
void crib_http_loop_free(struct crib_http_loop *h);

/*
 * libmicrohttpd's own log lines, into cribd's log under CATEGORY (a static
 * string, passed as the logger's closure).
 */
void crib_http_log(void *category, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif /* CRIB_BROKER_HTTP_LOOP_H */
