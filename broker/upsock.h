/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The socket of a connection the streaming server upgraded, as the framings
 * on it (SPDY in spdy_conn.c, WebSocket in ws_conn.c) share it: polling for
 * what the framing wants, the idle timeout, closing with a deadline to flush
 * what was sent, and handing the socket back once both libuv handles are
 * closed.  A framing embeds it and supplies its ops.  Loop thread only.
 */
#ifndef CRIB_BROKER_UPSOCK_H
#define CRIB_BROKER_UPSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct crib_upsock;

struct crib_upsock_ops {
	/* The socket is ready for EVENTS (UV_READABLE, UV_WRITABLE): move bytes. */
	void (*ready)(struct crib_upsock *u, int events);
	/* Output is waiting to be written. */
	bool (*want_write)(const struct crib_upsock *u);
	/*
	 * The connection passed its idle timeout: say goodbye if the protocol
	 * can, and end it with crib_upsock_fail().
	 */
	void (*idle)(struct crib_upsock *u);
	/* Moves what can move after the deadline or an error, then calls crib_upsock_update(). */
	void (*kick)(struct crib_upsock *u);
	/* Both handles are closed and the socket was handed back: free the framing. */
	void (*freed)(struct crib_upsock *u, const char *why);
};

struct crib_upsock {
	uv_loop_t *loop;
	int fd;
	uv_poll_t poll;
	uv_timer_t timer; /* the idle timeout, then the flush deadline while closing */
	unsigned open_handles;
	const struct crib_upsock_ops *ops;
	void (*release)(void *arg); /* hands the socket back to the HTTP server */
	void *release_arg;
	uint64_t idle_ms; /* 0: none */
	uint64_t last_activity;
	bool paused;   /* the session wants no input for now */
	bool closing;  /* no more input; output is flushed until the deadline */
	bool dead;     /* the socket failed: no more output either */
	bool finished; /* the handles are closing */
	const char *why;
};

/* Makes FD non-blocking and sets U up on LOOP (not polling yet: crib_upsock_update()). */
int crib_upsock_init(struct crib_upsock *u, uv_loop_t *loop, int fd,
                     const struct crib_upsock_ops *ops, uint64_t idle_ms,
                     void (*release)(void *arg), void *release_arg);

/* Ends the connection for WHY (the first reason sticks): no more input; DEAD: no output. */
void crib_upsock_fail(struct crib_upsock *u, const char *why, bool dead);

/* Polls for what is wanted now, or closes the handles once a closing connection is done. */
void crib_upsock_update(struct crib_upsock *u);

/* Records traffic, which defers the idle timeout. */
void crib_upsock_touch(struct crib_upsock *u);

#endif /* CRIB_BROKER_UPSOCK_H */
