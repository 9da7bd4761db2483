/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <crib/backend.h>

#include "shim_attach.h"
#include "sock.h"
#include "util.h"

/* Slot indexes in the pollfd array. */
#define SLOT_LISTEN   0
#define SLOT_STDIN    1
#define SLOT_CONN(i)  (2 + 2 * (i))
#define SLOT_INPUT(i) (3 + 2 * (i))

static void client_init(struct shim_client *c)
{
	*c = (struct shim_client){.conn = -EBADF, .in = -EBADF};
	for (int i = 0; i < 3; i++)
		c->out[i] = -EBADF;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -EBADF;
}

int shim_attach_init(struct shim_attach *a, const char *id, const char *dir, int *stdin_fd,
                     int master)
{
	_cleanup_close_ int dirfd = -EBADF;

	*a = (struct shim_attach){
	    .id = id, .listen_fd = -EBADF, .stdin_fd = stdin_fd, .master = master};
	for (size_t i = 0; i < SHIM_ATTACH_CONNS; i++)
		client_init(&a->clients[i]);
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	a->listen_fd = oci_sock_listen(dirfd, "attach", SOCK_SEQPACKET, SHIM_ATTACH_MAX);
	return a->listen_fd < 0 ? a->listen_fd : 0;
}

/* The end of a session's input: with stdin_once, the end of the container's too. */
static void input_ended(struct shim_attach *a, struct shim_client *c)
{
	if (c->in < 0)
		return;
	close_fd(&c->in);
	if (c->stdin_once)
		a->close_stdin = true;
}

/* Ends a session, telling the client LINE first when there is one. */
static void client_drop(struct shim_attach *a, struct shim_client *c, const char *line)
{
	if (line)
		(void)oci_sock_send(c->conn, line, NULL, 0);
	input_ended(a, c);
	for (int i = 0; i < 3; i++)
		close_fd(&c->out[i]);
	close_fd(&c->conn);
	client_init(c);
}

static void client_refuse(struct shim_attach *a, struct shim_client *c, int errnum, const char *msg)
{
	char line[256];

	/* A refused session never fed the container: its end closes nothing. */
	c->stdin_once = false;
	(void)snprintf(line, sizeof(line), "err %d %s\n", errnum, msg);
	client_drop(a, c, line);
}

/* The index of a free connection slot, or -1. */
static int free_slot(const struct shim_attach *a)
{
	for (int i = 0; i < SHIM_ATTACH_CONNS; i++)
		if (a->clients[i].conn < 0)
			return i;
	return -1;
}

static size_t n_ready(const struct shim_attach *a)
{
	size_t n = 0;

	for (size_t i = 0; i < SHIM_ATTACH_CONNS; i++)
		n += a->clients[i].ready;
	return n;
}

/* Polled only while a slot is free: more connections wait in the listen backlog. */
static void on_accept(struct shim_attach *a)
{
	int i = free_slot(a), fd;

	if (i < 0)
		return;
	fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd >= 0)
		a->clients[i].conn = fd;
}

/* Takes the request's pipes: the input non-blocking, the outputs non-blocking and grown. */
static void client_take_fds(struct shim_client *c, const int want[3], const int *fds)
{
	size_t k = 0;

	if (want[0]) {
		c->in = fds[k++];
		(void)fcntl(c->in, F_SETFL, O_NONBLOCK);
	}
	for (int s = CRIB_STREAM_STDOUT; s <= CRIB_STREAM_STDERR; s++) {
		if (!want[s])
			continue;
		c->out[s] = fds[k++];
		(void)fcntl(c->out[s], F_SETFL, O_NONBLOCK);
		/* Best effort: a smaller pipe only drops a slow reader sooner. */
		(void)fcntl(c->out[s], F_SETPIPE_SZ, SHIM_ATTACH_PIPE_SIZE);
	}
}

static void on_request(struct shim_attach *a, struct shim_client *c)
{
	char buf[OCI_SOCK_MSG_MAX];
	int fds[OCI_SOCK_MAX_FDS], want[3], once;
	size_t n_fds;
	ssize_t n = oci_sock_recv(c->conn, buf, sizeof(buf), fds, ARRAY_SIZE(fds), &n_fds);

	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		client_drop(a, c, NULL);
		return;
	}
	if (sscanf(buf, "attach %d %d %d %d", &want[0], &want[1], &want[2], &once) != 4 ||
	    (size_t)(!!want[0] + !!want[1] + !!want[2]) != n_fds) {
		for (size_t i = 0; i < n_fds; i++)
			(void)close(fds[i]);
		client_refuse(a, c, EINVAL, "malformed attach request");
		return;
	}
	client_take_fds(c, want, fds);
	/* A terminal's input has no end to give (shim_attach.h). */
	c->stdin_once = once != 0 && a->master < 0;
	if (n_ready(a) >= SHIM_ATTACH_MAX) {
		char msg[160];

		(void)snprintf(msg, sizeof(msg), "container '%s' has %d attach sessions already",
		               a->id, SHIM_ATTACH_MAX);
		client_refuse(a, c, EMFILE, msg);
		return;
	}
	if (want[0] && *a->stdin_fd < 0) {
		client_refuse(a, c, EINVAL, "the container's stdin is closed");
		return;
	}
	c->ready = true;
	if (oci_sock_send(c->conn, "ok\n", NULL, 0) < 0)
		client_drop(a, c, NULL);
}

/*
 * A message on a session's connection after its request: a resize, or the
 * end of the session (the client went away, or spoke nonsense).
 */
static void on_message(struct shim_attach *a, struct shim_client *c)
{
	char buf[OCI_SOCK_MSG_MAX];
	int fds[OCI_SOCK_MAX_FDS];
	unsigned cols, rows;
	size_t n_fds;
	ssize_t n = oci_sock_recv(c->conn, buf, sizeof(buf), fds, ARRAY_SIZE(fds), &n_fds);

	if (n == -EAGAIN)
		return;
	for (size_t i = 0; i < n_fds; i++)
		(void)close(fds[i]);
	if (n <= 0 || n_fds > 0 || sscanf(buf, "resize %u %u", &cols, &rows) != 2 ||
	    cols > UINT16_MAX || rows > UINT16_MAX) {
		client_drop(a, c, NULL);
		return;
	}
	if (a->master >= 0) {
		struct winsize ws = {.ws_row = (unsigned short)rows,
		                     .ws_col = (unsigned short)cols};

		/* Fails only once the terminal is gone, when its size no longer matters. */
		(void)ioctl(a->master, TIOCSWINSZ, &ws);
	}
}

/* Reads a session's input into pending (the caller polled it only while pending is empty). */
static void on_input(struct shim_attach *a, struct shim_client *c)
{
	ssize_t n = read(c->in, a->pending, sizeof(a->pending));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		input_ended(a, c);
		return;
	}
	/* Input after the container's stdin was closed has nowhere to go. */
	if (*a->stdin_fd < 0)
		return;
	a->pending_off = 0;
	a->pending_len = (size_t)n;
}

static void flush_pending(struct shim_attach *a)
{
	while (a->pending_len > 0 && *a->stdin_fd >= 0) {
		ssize_t n = write(*a->stdin_fd, a->pending + a->pending_off, a->pending_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* The container closed its stdin: what it would not read is dropped. */
			a->pending_len = 0;
			break;
		}
		a->pending_off += (size_t)n;
		a->pending_len -= (size_t)n;
	}
	a->pending_len = *a->stdin_fd >= 0 ? a->pending_len : 0;
	if (a->pending_len == 0 && a->close_stdin)
		close_fd(a->stdin_fd);
}

void shim_attach_poll(const struct shim_attach *a, struct pollfd *fds)
{
	bool want_input = a->pending_len == 0;

	fds[SLOT_LISTEN] =
	    (struct pollfd){.fd = free_slot(a) >= 0 ? a->listen_fd : -1, .events = POLLIN};
	fds[SLOT_STDIN] =
	    (struct pollfd){.fd = a->pending_len ? *a->stdin_fd : -1, .events = POLLOUT};
	for (size_t i = 0; i < SHIM_ATTACH_CONNS; i++) {
		const struct shim_client *c = &a->clients[i];

		fds[SLOT_CONN(i)] = (struct pollfd){.fd = c->conn, .events = POLLIN};
		fds[SLOT_INPUT(i)] =
		    (struct pollfd){.fd = c->ready && want_input ? c->in : -1, .events = POLLIN};
	}
}

void shim_attach_dispatch(struct shim_attach *a, const struct pollfd *fds)
{
	if (fds[SLOT_LISTEN].revents)
		on_accept(a);
	for (size_t i = 0; i < SHIM_ATTACH_CONNS; i++) {
		struct shim_client *c = &a->clients[i];

		/* A slot filled by the accept above was not polled: its revents are 0. */
		if (fds[SLOT_CONN(i)].revents) {
			if (c->ready)
				on_message(a, c);
			else
				on_request(a, c);
		}
		if (fds[SLOT_INPUT(i)].revents && c->in >= 0 && a->pending_len == 0)
			on_input(a, c);
	}
	flush_pending(a);
}

void shim_attach_output(struct shim_attach *a, uint32_t stream, const char *buf, size_t n)
{
	char line[256];

	for (size_t i = 0; i < SHIM_ATTACH_CONNS; i++) {
		struct shim_client *c = &a->clients[i];
		ssize_t w;

		if (!c->ready || c->out[stream] < 0)
			continue;
		do
			w = write(c->out[stream], buf, n);
		while (w < 0 && errno == EINTR);
		if (w == (ssize_t)n)
			continue;
		if (w < 0 && errno == EPIPE) {
			client_drop(a, c, NULL); /* the reader is gone: so is the session */
			continue;
		}
		/* Never wait for a reader: the container and the log must not. */
		(void)snprintf(line, sizeof(line),
		               "err %d the attach session of container '%s' did not read its "
		               "output fast enough\n",
		               ENOBUFS, a->id);
		client_drop(a, c, line);
	}
}

void shim_attach_close_listener(struct shim_attach *a, const char *dir)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/attach", dir);

	if (a->listen_fd < 0)
		return;
	close_fd(&a->listen_fd);
	(void)unlink(path);
}

void shim_attach_finish(struct shim_attach *a, bool known, int code)
{
	char line[32];

	(void)snprintf(line, sizeof(line), "exit %d\n", code);
	for (size_t i = 0; i < SHIM_ATTACH_CONNS; i++) {
		struct shim_client *c = &a->clients[i];

		if (c->conn >= 0)
			client_drop(a, c, c->ready && known ? line : NULL);
	}
}
