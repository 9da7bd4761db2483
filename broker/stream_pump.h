/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One direction of a streaming session's plumbing on the loop: a reader that
 * hands what a descriptor yields to its session (a process's output, a
 * forwarded connection's replies), or a writer that feeds a descriptor from a
 * bounded buffer (a process's input).  Sessions pause readers while their
 * client connection is backed up and stop reading the client while a
 * writer's buffer is over its mark, so memory stays bounded both ways.
 * Loop thread only.
 */
#ifndef CRIB_BROKER_STREAM_PUMP_H
#define CRIB_BROKER_STREAM_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* A writer asks its session to stop sending above this much buffered input. */
#define CRIB_PUMP_HIGH ((size_t)256 * 1024)

struct crib_pump;
/*
 * Reader: LEN bytes read, or LEN 0 at the end (EOF, a terminal's EIO, or an
 * error).  Writer: LEN 0 once the buffer fell below the mark again, or the
 * descriptor failed (the rest of the input is dropped then).
 */
typedef void (*crib_pump_cb)(struct crib_pump *p, const uint8_t *data, size_t len);

struct crib_pump {
	uv_poll_t poll;
	int fd; /* the pump's; closed with the handle */
	bool writer;
	bool started; /* crib_pump_init() succeeded once */
	bool active;  /* started, handle not yet closing */
	bool is_sock; /* a writer ends a socket with shutdown(), anything else by closing it */
	bool paused;  /* reader */
	bool ended;   /* reader: EOF seen; writer: end asked */
	bool failed;  /* writer: the descriptor no longer takes input */
	bool above_high;
	uint8_t *buf; /* writer */
	size_t len;
	crib_pump_cb cb;
	uv_close_cb closed;
	void *data; /* the session's */
};

/*
 * Takes over FD (made non-blocking) for reading or writing.  CLOSED runs
 * once, when the pump's handle is gone (after crib_pump_close(), or after a
 * writer closed its descriptor at its end).  -errno leaves FD to the caller
 * and CLOSED unused.
 */
int crib_pump_init(uv_loop_t *loop, struct crib_pump *p, int fd, bool writer, crib_pump_cb cb,
                   uv_close_cb closed, void *data);
/* Reader: stops or resumes reading. */
void crib_pump_pause(struct crib_pump *p, bool paused);
/*
 * Writer: queues LEN bytes; returns false when the buffer is now over
 * CRIB_PUMP_HIGH.  A zeroed pump not yet set up keeps them (and an end) for
 * the descriptor crib_pump_init() gives it later.
 */
bool crib_pump_write(struct crib_pump *p, const void *data, size_t len);
/* Writer: once the buffer is written, ends the descriptor (shutdown for a socket, close otherwise).
 */
void crib_pump_end(struct crib_pump *p);
/* Stops the pump and closes its descriptor; a no-op on a pump already closing or never set up. */
void crib_pump_close(struct crib_pump *p);

#endif /* CRIB_BROKER_STREAM_PUMP_H */
