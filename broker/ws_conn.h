/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One WebSocket connection of the streaming server, on the loop: the
 * remote-command protocol's channels (wschannel.h) in WebSocket messages,
 * framed by wslay.  The counterpart of spdy_conn.h for clients that speak
 * Kubernetes' WebSocket protocols (v5/v4.channel.k8s.io and their base64
 * variants), with the same back-pressure: a paused connection reads nothing,
 * and a session checks crib_ws_conn_writable() before it reads more output.
 * Loop thread only.
 */
#ifndef CRIB_BROKER_WS_CONN_H
#define CRIB_BROKER_WS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "wschannel.h"

struct crib_ws_conn;

/* What the connection tells its session.  None is called after closed. */
struct crib_ws_conn_cbs {
	void (*data)(void *ud, uint8_t channel, const uint8_t *data, size_t len);
	/* v5: the client closed CHANNEL (stdin's end of file). */
	void (*ended)(void *ud, uint8_t channel);
	/* Pending output fell back below the low mark after crib_ws_conn_writable() said no. */
	void (*writable)(void *ud);
	/* The connection is gone (WHY: a static string); it is freed right after this returns. */
	void (*closed)(void *ud, const char *why);
};

/*
 * Takes over FD as crib_spdy_conn_new() does (RELEASE hands it back), for
 * the negotiated PROTOCOL (static), whose channels go from 0 to MAX_CHANNEL.
 * EXTRA holds bytes read past the request.
 */
int crib_ws_conn_new(uv_loop_t *loop, int fd, const uint8_t *extra, size_t extra_len,
                     const struct crib_ws_protocol *protocol, uint8_t max_channel,
                     const struct crib_ws_conn_cbs *cbs, void *ud, uint64_t idle_ms,
                     void (*release)(void *arg), void *release_arg, struct crib_ws_conn **ret);
/*
 * Starts reading (EXTRA first) and writing.  Separate from crib_ws_conn_new()
 * so that a session can get ready for data before the first callback: a
 * client's first frames often arrive with its request, in EXTRA.
 */
void crib_ws_conn_start(struct crib_ws_conn *c);

/* Sends LEN bytes on CHANNEL; FIN closes the channel where the protocol can say so (v5). */
void crib_ws_conn_send(struct crib_ws_conn *c, uint8_t channel, const void *data, size_t len,
                       bool fin);
bool crib_ws_conn_writable(const struct crib_ws_conn *c);
void crib_ws_conn_pause(struct crib_ws_conn *c, bool paused);
/* Sends a close frame once what was sent is flushed, then ends; safe to call more than once. */
void crib_ws_conn_close(struct crib_ws_conn *c);

#endif /* CRIB_BROKER_WS_CONN_H */
