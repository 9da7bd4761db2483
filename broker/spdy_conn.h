/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One SPDY/3.1 connection of the streaming server, on the loop: frames read
 * from and written to an upgraded HTTP connection's socket, the streams the
 * client opens, PING answers, and the two kinds of back-pressure that keep
 * memory bounded: a session that cannot take more input pauses reading (TCP
 * then slows the client), and a session checks crib_spdy_conn_writable()
 * before it reads more from its process.
 *
 * Flow control windows are not enforced on what cribd sends: Kubernetes'
 * SPDY library (moby/spdystream) neither sends nor reads WINDOW_UPDATE, so
 * a 64 KiB window would stall every stream; TCP's window does that job.
 * cribd does send WINDOW_UPDATE for what it consumed, for peers that wait
 * for one.  Loop thread only.
 */
#ifndef CRIB_BROKER_SPDY_CONN_H
#define CRIB_BROKER_SPDY_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "spdy.h"

/* Streams one connection may have open; more are refused (REFUSED_STREAM). */
#define CRIB_SPDY_CONN_STREAMS_MAX 64

struct crib_spdy_conn;

/* What the connection tells its session.  None is called after closed. */
struct crib_spdy_conn_cbs {
	/* The client opened stream ID.  0 accepts it (SYN_REPLY), -errno refuses it (RST_STREAM).
	 */
	int (*opened)(void *ud, uint32_t id, const struct crib_spdy_headers *h);
	void (*data)(void *ud, uint32_t id, const uint8_t *data, size_t len);
	/* The client finished (FIN) or reset (RESET true) its side of stream ID. */
	void (*ended)(void *ud, uint32_t id, bool reset);
	/* Pending output fell back below the low mark after crib_spdy_conn_writable() said no. */
	void (*writable)(void *ud);
	/*
	 * The connection is gone: the client left, broke the protocol, stayed
	 * idle too long, or crib_spdy_conn_close() finished.  WHY is a static
	 * string.  The connection is freed right after this returns.
	 */
	void (*closed)(void *ud, const char *why);
};

/*
 * Takes over FD (an upgraded HTTP connection's socket, made non-blocking
 * here; not closed here: RELEASE(RELEASE_ARG) runs once nothing uses it any
 * longer, right before closed).  EXTRA holds bytes the HTTP server read past
 * the request.  IDLE_MS > 0 closes the connection after that long without
 * traffic either way.  *ret is freed by the connection itself after closed.
 */
int crib_spdy_conn_new(uv_loop_t *loop, int fd, const uint8_t *extra, size_t extra_len,
                       const struct crib_spdy_conn_cbs *cbs, void *ud, uint64_t idle_ms,
                       void (*release)(void *arg), void *release_arg, struct crib_spdy_conn **ret);

/* Sends LEN bytes on stream ID (split into frames); FIN ends cribd's side of it. */
void crib_spdy_conn_send(struct crib_spdy_conn *c, uint32_t id, const void *data, size_t len,
                         bool fin);
/* Resets stream ID with STATUS (enum crib_spdy_rst). */
void crib_spdy_conn_reset(struct crib_spdy_conn *c, uint32_t id, uint32_t status);
/* False while more than the high mark waits to be written. */
bool crib_spdy_conn_writable(const struct crib_spdy_conn *c);
/* Stops (PAUSED true) or resumes reading from the client. */
void crib_spdy_conn_pause(struct crib_spdy_conn *c, bool paused);
/*
 * Ends the connection: what was sent is flushed first (for a few seconds at
 * most), then closed runs.  Safe to call more than once.
 */
void crib_spdy_conn_close(struct crib_spdy_conn *c);

#endif /* CRIB_BROKER_SPDY_CONN_H */
