/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-shim's attach sessions (the container's own stdio, as conmon's attach
 * socket): a listening SOCK_SEQPACKET socket SHIMDIR/attach, one connection
 * per session.  The protocol (the backend's stream_open is the client):
 *
 *   client -> shim  "attach IN OUT ERR ONCE\n" (each 0 or 1) with, in this
 *                   order, the read end of the session's input pipe (IN),
 *                   the write ends of its stdout (OUT) and stderr (ERR) pipes
 *   shim -> client  "ok\n", or "err ERRNO MESSAGE\n" and the connection ends
 *   client -> shim  later, any number of "resize COLS ROWS\n" (each 0 to
 *                   65535): the terminal's size, set on its master
 *                   (TIOCSWINSZ); ignored in a container without one
 *   shim -> client  later, "exit CODE\n" once the container exited and its
 *                   output was copied (the pipes are then closed), or
 *                   "err ERRNO MESSAGE\n" when the session was dropped
 *
 * Output goes to every session that asked for the stream, as well as to the
 * log, with non-blocking writes: a session whose pipe is full is dropped,
 * never waited for.  Input from the sessions goes into the container's stdin
 * (held by the shim with --stdin); while that pipe is full no session's input
 * is read.  With ONCE, the end of a session's input (or of the session) closes
 * the container's stdin.  A connection that ends, or sends anything but a
 * resize, drops its session.
 *
 * A container with a terminal (--tty) has the terminal's master as its stdin
 * and its only output (OUT; ERR never gets anything).  ONCE is ignored there:
 * a terminal has no end of input to give, and the container holds its end
 * open whatever the shim does (containerd and Docker ignore it with a tty
 * too).  An EOT would be input no one typed.
 *
 * Single-threaded, like the shim: these functions run from its poll loop.
 */
#ifndef CRIB_OCI_SHIM_ATTACH_H
#define CRIB_OCI_SHIM_ATTACH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sessions at once; one more is refused with EMFILE. */
#define SHIM_ATTACH_MAX 16
/*
 * Connections at once: the sessions and one whose request is read before it
 * is refused.  Closing a connection with its request unread would reset it,
 * and the client would get ECONNRESET instead of the reason.
 */
#define SHIM_ATTACH_CONNS (SHIM_ATTACH_MAX + 1)
/* Slots shim_attach_poll fills: the listener, the container's stdin, two per connection. */
#define SHIM_ATTACH_SLOTS (2 + 2 * SHIM_ATTACH_CONNS)
/* Output pipes are grown to this, so that a reader's short pause drops nothing. */
#define SHIM_ATTACH_PIPE_SIZE (1024 * 1024)

struct shim_client {
	int conn;        /* -EBADF: the slot is free */
	int in;          /* read end of the session's input; -EBADF when none or at its end */
	int out[3];      /* by CRIB_STREAM_STDOUT, CRIB_STREAM_STDERR: write ends, or -EBADF */
	bool ready;      /* its request arrived and was accepted */
	bool stdin_once; /* its input's end closes the container's stdin */
};

struct shim_attach {
	const char *id; /* the container, for messages (borrowed) */
	int listen_fd;
	int *stdin_fd; /* the container's stdin write end (the shim's; -EBADF when none) */
	int master;    /* the terminal's master (borrowed), for resizes; -EBADF without one */
	struct shim_client clients[SHIM_ATTACH_CONNS];
	/* Input read from a session, not yet taken by the container's stdin. */
	char pending[16384];
	size_t pending_off, pending_len;
	bool close_stdin; /* close the container's stdin once pending is written */
};

/*
 * Sets A up and listens on DIR/attach.  STDIN_FD points at the shim's
 * container stdin write end (non-blocking), which A may close.  MASTER is the
 * container's terminal (borrowed; it must outlive A), or -EBADF.
 */
int shim_attach_init(struct shim_attach *a, const char *id, const char *dir, int *stdin_fd,
                     int master);
/* Fills SHIM_ATTACH_SLOTS entries of FDS, to be handed to shim_attach_dispatch after poll. */
void shim_attach_poll(const struct shim_attach *a, struct pollfd *fds);
void shim_attach_dispatch(struct shim_attach *a, const struct pollfd *fds);
/* A chunk of the container's STREAM output, for every session that asked for it. */
void shim_attach_output(struct shim_attach *a, uint32_t stream, const char *buf, size_t n);
/* The container is gone: no new sessions (the socket file is removed too). */
void shim_attach_close_listener(struct shim_attach *a, const char *dir);
/*
 * Ends every session with "exit CODE" (KNOWN) or just the end of the
 * connection (the backend then reports no exit code).
 */
void shim_attach_finish(struct shim_attach *a, bool known, int code);

#endif /* CRIB_OCI_SHIM_ATTACH_H */
