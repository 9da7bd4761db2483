/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribd's streaming server: the HTTP endpoint the URLs of Exec, Attach and
 * PortForward point at.  A client redeems a URL's token once, upgrades the
 * connection to SPDY/3.1, and then speaks the Kubernetes remote-command or
 * port-forward protocol with a session (stream_rc.c, stream_pf.c) that
 * carries the bytes between it and the backend.  HTTP itself is
 * libmicrohttpd's, driven from cribd's loop through its epoll descriptor.
 * Loop thread only.
 */
#ifndef CRIB_BROKER_STREAM_SERVER_H
#define CRIB_BROKER_STREAM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream_tokens.h"
#include "util.h"

struct crib_daemon;
struct crib_error;
struct crib_stream_server;

/* Starts listening on the config's stream_address.  *ret is the caller's. */
int crib_stream_server_start(struct crib_daemon *d, struct crib_stream_server **ret,
                             struct crib_error **reterr);
/* Stops listening and cuts every session short; frees S once they are gone.  NULL-safe. */
void crib_stream_server_stop(struct crib_stream_server *s);
/* "http://HOST:PORT" as clients reach the server (no trailing slash). */
const char *crib_stream_server_base(const struct crib_stream_server *s);

/*
 * A URL (malloc'd, the caller's) for *R, which the server takes over and
 * empties.  -EBUSY (RESOURCE_EXHAUSTED's ENOSPC to the client) when too many
 * tokens are outstanding.
 */
int crib_stream_server_url(struct crib_stream_server *s, struct crib_stream_request *r,
                           char **ret_url, struct crib_error **reterr);

/* What sessions share with the server. */

struct crib_ws_protocol;

/* An upgraded connection: its socket and what hands it back to the HTTP server. */
struct crib_stream_link {
	struct crib_stream_server *srv;
	struct crib_list node;    /* in the server's list of sessions */
	char id[CRIB_ID_LEN + 1]; /* the container or pod it works on, for per-object limits */
	void (*abort)(struct crib_stream_link *l); /* the server is stopping */
	void *data;                                /* the session's */
	void *upgrade;                             /* libmicrohttpd's handle */
};

struct crib_daemon *crib_stream_server_daemon(const struct crib_stream_server *s);
uint64_t crib_stream_server_idle_ms(const struct crib_stream_server *s);
/* Gives the link's socket back to the HTTP server (closing it) and forgets the session. */
void crib_stream_link_release(void *link);

/*
 * Sessions: each takes over *REQ and LINK (whose socket is FD, EXTRA the
 * bytes read past the request) and runs until the client or the process is
 * done, then calls crib_stream_link_release().  VERSION is the negotiated
 * protocol (a static string).  -errno: nothing was taken.
 */
/* WS_PROTOCOL: the WebSocket subprotocol negotiated, or NULL for SPDY (with VERSION). */
int crib_stream_rc_start(struct crib_stream_link *link, int fd, const uint8_t *extra,
                         size_t extra_len, const char *version,
                         const struct crib_ws_protocol *ws_protocol,
                         struct crib_stream_request *req);
/* WS_PROTOCOL: WebSocket (the request's ports are forwarded), or NULL for SPDY. */
int crib_stream_pf_start(struct crib_stream_link *link, int fd, const uint8_t *extra,
                         size_t extra_len, const struct crib_ws_protocol *ws_protocol,
                         struct crib_stream_request *req);

#endif /* CRIB_BROKER_STREAM_SERVER_H */
