/* SPDX-License-Identifier: Apache-2.0 */
/* crib-agent's Exec and Attach sessions; see agentstream.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agentframe.h"
#include "agentstream.h"
#include "agentutil.h"

struct stream {
	struct stream *next;
	uint64_t id;
	char *ctr_id; /* attach: the container whose stdio this is; NULL for exec */
	pid_t pid;    /* exec: its process until reaped, then 0 */
	int in;       /* ours: where the client's input goes, or -1 */
	int out[3];   /* exec: the process's stdout [1] (a terminal's master) and stderr [2] */
	int term;     /* the terminal's master for resizes (exec: out[1]; attach: a copy), or -1 */
	bool want[3]; /* attach: the outputs the client asked for */
	bool stdin_once;
	bool port;        /* a PortForward connection: in and out[1] are one socket */
	uint8_t *pending; /* input not yet written */
	size_t pending_len;
	bool in_eof;    /* the client's input ended: close in once pending is written */
	size_t unacked; /* output sent and not yet acknowledged */
	bool exited;    /* exit_code is known */
	int exit_code;  /* 128 + the signal when killed by one */
	bool ended;     /* StreamEnd went out */
};

struct agent_streams {
	struct agent_ctrs *ctrs;
	struct stream *head;
	agent_send_fn send;
	void *ctx;
};

static struct stream *find(const struct agent_streams *s, uint64_t id)
{
	struct stream *st = s->head;

	while (st && st->id != id)
		st = st->next;
	return st;
}

/* Frees ST; an exec'd process still running is killed (the agent reaps it). */
static void stream_free(struct stream *st)
{
	if (st->pid > 0)
		kill(st->pid, SIGKILL);
	agent_close_fd(&st->in);
	agent_close_fd(&st->out[1]);
	agent_close_fd(&st->out[2]);
	if (st->ctr_id)
		agent_close_fd(&st->term);
	free(st->pending);
	free(st->ctr_id);
	free(st);
}

static void answer(struct agent_streams *s, uint64_t id, int errnum, const char *message)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;

	m.id = id;
	m.errnum = errnum;
	m.message = (char *)(message ? message : "");
	s->send(s->ctx, &m, false);
}

static void send_data(struct agent_streams *s, struct stream *st, int fd, const uint8_t *data,
                      size_t len)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__StreamData d = CRIB__AGENT__STREAM_DATA__INIT;

	d.stream = st->id;
	d.fd = (Crib__Agent__Output__Stream)fd;
	d.data.data = (uint8_t *)data;
	d.data.len = len;
	m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_STREAM_DATA;
	m.stream_data = &d;
	st->unacked += len;
	s->send(s->ctx, &m, false);
}

static void send_ack(struct agent_streams *s, struct stream *st, size_t n)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__StreamAck a = CRIB__AGENT__STREAM_ACK__INIT;

	a.stream = st->id;
	a.bytes = (uint32_t)n;
	m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_STREAM_ACK;
	m.stream_ack = &a;
	s->send(s->ctx, &m, false);
}

static void send_end(struct agent_streams *s, struct stream *st)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__StreamEnd e = CRIB__AGENT__STREAM_END__INIT;

	e.stream = st->id;
	e.exited = st->exited;
	e.exit_code = st->exit_code;
	m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_STREAM_END;
	m.stream_end = &e;
	st->ended = true;
	s->send(s->ctx, &m, false);
}

/*
 * An exec session ends once its process was reaped and its output read to
 * the end; a connection once the guest's side closed it.
 */
static void maybe_end(struct agent_streams *s, struct stream *st)
{
	if (!st->ctr_id && !st->ended && (st->exited || st->port) && st->out[1] < 0 &&
	    st->out[2] < 0)
		send_end(s, st);
}

/*
 * Sends what output I of exec session ST has, as far as the window allows.
 * Once the process is gone, nothing more to read is the end: a child it
 * left behind holding the pipe does not keep the session open.
 */
static void read_output(struct agent_streams *s, struct stream *st, int i)
{
	static uint8_t buf[CRIB_AGENT_STREAM_CHUNK];

	while (st->out[i] >= 0 && st->unacked < CRIB_AGENT_STREAM_WINDOW) {
		size_t room = CRIB_AGENT_STREAM_WINDOW - st->unacked;
		ssize_t n = read(st->out[i], buf, room < sizeof(buf) ? room : sizeof(buf));

		if (n > 0) {
			send_data(s, st, i, buf, (size_t)n);
			continue;
		}
		/* A terminal whose last slave closed reads EIO: its end too. */
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno != EAGAIN) || st->exited) {
			if (st->term == st->out[i])
				st->term = -1;
			agent_close_fd(&st->out[i]);
		}
		break;
	}
	maybe_end(s, st);
}

/* Input's end: closed, and with stdin_once the attached container's stdin with it. */
static void end_input(struct agent_streams *s, struct stream *st)
{
	/* The socket stays open for what the guest's side still sends. */
	if (st->port)
		(void)shutdown(st->in, SHUT_WR);
	agent_close_fd(&st->in);
	if (st->ctr_id && st->stdin_once)
		agent_ctrs_close_stdin(s->ctrs, st->ctr_id);
}

/* Writes what input waits, acknowledging what went; a reader that went away drops the rest. */
static void write_input(struct agent_streams *s, struct stream *st)
{
	size_t done = 0;

	while (st->in >= 0 && done < st->pending_len) {
		ssize_t n = write(st->in, st->pending + done, st->pending_len - done);

		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && errno == EAGAIN)
			break;
		else {
			agent_close_fd(&st->in);
			done = st->pending_len;
		}
	}
	if (st->in < 0)
		done = st->pending_len;
	memmove(st->pending, st->pending + done, st->pending_len - done);
	st->pending_len -= done;
	if (done)
		send_ack(s, st, done);
	if (st->in >= 0 && st->in_eof && !st->pending_len)
		end_input(s, st);
}

/* A new exec session: REQ's command in its container, with pipes or a terminal. */
static int open_exec(struct agent_streams *s, struct stream *st, const Crib__Agent__OpenStream *req,
                     char *err, size_t err_size)
{
	struct agent_stdio io = {
	    .in = req->stdin,
	    .out = req->stdout,
	    .err = req->stderr && !req->tty,
	    .tty = req->tty,
	};
	pid_t pid =
	    agent_ctrs_exec(s->ctrs, req->container_id, req->args, req->n_args, &io, err, err_size);

	if (pid < 0)
		return (int)-pid;
	st->pid = pid;
	st->in = io.fds[0];
	st->out[1] = io.fds[1];
	st->out[2] = io.fds[2];
	st->term = req->tty ? io.fds[1] : -1;
	return 0;
}

/* Copies of the descriptor FD (close-on-exec) into *RET; -1 stays -1. */
static int dup_fd(int fd, int *ret)
{
	*ret = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	return fd >= 0 && *ret < 0 ? errno : 0;
}

/* A new attach session to REQ's container's own stdio. */
static int open_attach(struct agent_streams *s, struct stream *st,
                       const Crib__Agent__OpenStream *req, char *err, size_t err_size)
{
	struct agent_attach a;
	int r = agent_ctrs_attach(s->ctrs, req->container_id, &a), e;

	if (r < 0) {
		snprintf(err, err_size, "%s",
		         r == -ENOENT ? "no such container" : "the container is not running");
		return -r;
	}
	if (req->tty != a.tty) {
		snprintf(err, err_size, "%s",
		         a.tty ? "the container has a terminal: attach with tty"
		               : "the container has no terminal: attach without tty");
		return EINVAL;
	}
	if (req->stdin && a.in < 0) {
		snprintf(err, err_size,
		         "the container has no stdin (ContainerConfig.stdin is false)");
		return EINVAL;
	}
	st->ctr_id = strdup(req->container_id);
	if (!st->ctr_id)
		abort();
	st->stdin_once = a.stdin_once;
	st->want[1] = req->stdout;
	st->want[2] = req->stderr;
	e = dup_fd(req->stdin ? a.in : -1, &st->in);
	e = e ? e : dup_fd(a.term, &st->term);
	if (e)
		snprintf(err, err_size, "cannot hold the container's stdio: %s", strerror(e));
	return e;
}

/* Connects to PORT on the VM's loopback; the socket (non-blocking) or -errno. */
static int connect_local(uint16_t port)
{
	struct sockaddr_in v4 = {.sin_family = AF_INET,
	                         .sin_port = htons(port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 v6 = {
	    .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	const struct sockaddr *addrs[] = {(const struct sockaddr *)&v4,
	                                  (const struct sockaddr *)&v6};
	const socklen_t lens[] = {sizeof(v4), sizeof(v6)};
	int e = ECONNREFUSED;

	for (int i = 0; i < 2; i++) {
		int fd = socket(addrs[i]->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		/* Blocking: a connection on the loopback is made or refused at once. */
		if (fd >= 0 && connect(fd, addrs[i], lens[i]) == 0) {
			fcntl(fd, F_SETFL, O_NONBLOCK);
			return fd;
		}
		/* ::1 may not even exist: the IPv4 reason is the one to give. */
		if (i == 0)
			e = errno;
		if (fd >= 0)
			close(fd);
	}
	return -e;
}

/* A new PortForward connection to REQ's port. */
static int open_port(struct stream *st, const Crib__Agent__OpenStream *req, char *err,
                     size_t err_size)
{
	int fd;

	if (req->port > 65535) {
		snprintf(err, err_size, "%u is not a TCP port", req->port);
		return EINVAL;
	}
	fd = connect_local((uint16_t)req->port);
	if (fd < 0) {
		snprintf(err, err_size, "cannot connect to port %u in the VM: %s", req->port,
		         strerror(-fd));
		return -fd;
	}
	st->port = true;
	st->in = fd;
	st->out[1] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (st->out[1] < 0) {
		snprintf(err, err_size, "cannot hold the connection: %s", strerror(errno));
		return errno;
	}
	return 0;
}

static void open_stream(struct agent_streams *s, uint64_t id, const Crib__Agent__OpenStream *req)
{
	struct stream *st;
	char err[300] = "";
	int e;

	if (!req->stream || find(s, req->stream)) {
		answer(s, id, EINVAL, "the stream number is 0 or in use");
		return;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		abort();
	st->id = req->stream;
	st->in = st->out[0] = st->out[1] = st->out[2] = st->term = -1;
	if (req->port)
		e = open_port(st, req, err, sizeof(err));
	else if (req->n_args)
		e = open_exec(s, st, req, err, sizeof(err));
	else
		e = open_attach(s, st, req, err, sizeof(err));
	if (e) {
		stream_free(st);
		answer(s, id, e, err);
		return;
	}
	st->next = s->head;
	s->head = st;
	answer(s, id, 0, NULL);
}

static void take_input(struct agent_streams *s, const Crib__Agent__StreamInput *in)
{
	struct stream *st = find(s, in->stream);
	uint8_t *grown;

	if (!st)
		return;
	if (in->data.len) {
		grown = realloc(st->pending, st->pending_len + in->data.len);
		if (!grown)
			abort();
		st->pending = grown;
		memcpy(st->pending + st->pending_len, in->data.data, in->data.len);
		st->pending_len += in->data.len;
	}
	st->in_eof = st->in_eof || in->eof;
	write_input(s, st);
}

static void resize(struct agent_streams *s, uint64_t id, const Crib__Agent__ResizeStream *req)
{
	struct stream *st = find(s, req->stream);
	struct winsize ws = {.ws_col = (unsigned short)req->width,
	                     .ws_row = (unsigned short)req->height};

	if (!st || st->term < 0)
		answer(s, id, EINVAL, st ? "the session has no terminal" : "no such stream");
	else if (ioctl(st->term, TIOCSWINSZ, &ws) < 0)
		answer(s, id, errno, "cannot set the terminal's size");
	else
		answer(s, id, 0, NULL);
}

/* Unlinks and frees session ID, if there is one. */
static void drop(struct agent_streams *s, uint64_t id)
{
	struct stream **pp = &s->head;

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	if (*pp) {
		struct stream *st = *pp;

		*pp = st->next;
		stream_free(st);
	}
}

bool agent_streams_serve(struct agent_streams *s, const Crib__Agent__HostMessage *req)
{
	struct stream *st;

	switch (req->request_case) {
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_OPEN_STREAM:
		open_stream(s, req->id, req->open_stream);
		return true;
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_INPUT:
		take_input(s, req->input);
		return true;
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_ACK:
		st = find(s, req->ack->stream);
		if (st)
			st->unacked -=
			    req->ack->bytes < st->unacked ? req->ack->bytes : st->unacked;
		return true;
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_RESIZE:
		resize(s, req->id, req->resize);
		return true;
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_CLOSE_STREAM:
		drop(s, req->close_stream->stream);
		answer(s, req->id, 0, NULL);
		return true;
	default:
		return false;
	}
}

size_t agent_streams_pollfds(const struct agent_streams *s, struct pollfd *p, size_t max)
{
	size_t n = 0;

	for (const struct stream *st = s->head; st; st = st->next) {
		if (st->in >= 0 && st->pending_len && n < max)
			p[n++] = (struct pollfd){.fd = st->in, .events = POLLOUT};
		for (int i = 1; i <= 2; i++)
			if (st->out[i] >= 0 && st->unacked < CRIB_AGENT_STREAM_WINDOW && n < max)
				p[n++] = (struct pollfd){.fd = st->out[i], .events = POLLIN};
	}
	return n;
}

void agent_streams_io(struct agent_streams *s, const struct pollfd *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (!p[k].revents)
			continue;
		for (struct stream *st = s->head; st; st = st->next) {
			if (st->in == p[k].fd)
				write_input(s, st);
			for (int i = 1; i <= 2; i++)
				if (st->out[i] == p[k].fd)
					read_output(s, st, i);
		}
	}
}

void agent_streams_reset(struct agent_streams *s)
{
	while (s->head) {
		struct stream *st = s->head;

		s->head = st->next;
		stream_free(st);
	}
}

/* agent_ctr_watch: a container's output, copied to its attach sessions that keep up. */
static void ctr_output(void *ctx, const char *ctr_id, int fd, const uint8_t *data, size_t len)
{
	struct agent_streams *s = ctx;

	for (struct stream *st = s->head; st; st = st->next)
		if (st->ctr_id && !st->ended && st->want[fd] && strcmp(st->ctr_id, ctr_id) == 0 &&
		    st->unacked + len <= CRIB_AGENT_STREAM_WINDOW)
			send_data(s, st, fd, data, len);
}

static void ctr_exited(void *ctx, const char *ctr_id, int exit_code)
{
	struct agent_streams *s = ctx;

	for (struct stream *st = s->head; st; st = st->next)
		if (st->ctr_id && !st->ended && strcmp(st->ctr_id, ctr_id) == 0) {
			st->exited = true;
			st->exit_code = exit_code;
			agent_close_fd(&st->in);
			agent_close_fd(&st->term);
			send_end(s, st);
		}
}

static void reaped(void *ctx, pid_t pid, int status)
{
	struct agent_streams *s = ctx;

	for (struct stream *st = s->head; st; st = st->next)
		if (!st->ctr_id && st->pid == pid) {
			st->pid = 0;
			st->exited = true;
			st->exit_code = agent_exit_code(status);
			read_output(s, st, 1);
			read_output(s, st, 2);
		}
}

static const struct agent_ctr_watch watch = {
    .output = ctr_output,
    .exited = ctr_exited,
    .reaped = reaped,
};

struct agent_streams *agent_streams_new(struct agent_ctrs *t, agent_send_fn send, void *ctx)
{
	struct agent_streams *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->ctrs = t;
	s->send = send;
	s->ctx = ctx;
	agent_ctrs_set_watch(t, &watch, s);
	return s;
}
