/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exec and Attach sessions (ABI 1.2 streams) through the pod VM's agent
 * (agent.proto's streams).  cribd gets pipes; a thread per session moves
 * their bytes to and from the agent: the client's input as StreamInput
 * within the window the agent acknowledges, the guest's output (which the
 * session's reader thread buffers here) into the pipes, acknowledged as it
 * goes, so that the agent never sends more than CRIB_AGENT_STREAM_WINDOW
 * ahead of the client.  done_fd is a pipe closed once the session's output
 * was all written and the agent said it ended (or the VM went away).
 *
 * PortForward's connections (port_connect) are sessions too, to a port on
 * the VM's loopback, whose input and output are one socket cribd holds the
 * other end of.  cribd never closes them as sessions: the thread ends the
 * session itself once the guest's side closed and its bytes were written,
 * or once cribd closed its end (POLLHUP), and frees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agentframe.h"
#include "libvirt.h"

struct lv_stream_buf {
	uint8_t *data;
	size_t len;
};

struct lv_stream {
	struct lv_stream *next;      /* in pod->streams */
	struct lv_pod *pod;          /* a reference */
	struct crib_lv_agent *agent; /* the session it runs on (the pod keeps it) */
	uint64_t id;
	char ctr_id[CRIB_ID_LEN + 1];
	int in;     /* ours: the read end of cribd's stdin pipe, or -1 */
	int out[3]; /* ours: the write ends of cribd's stdout [1] and stderr [2] pipes, or -1 */
	int done;   /* ours: closed when the session ended */
	int wake;   /* eventfd: the thread has something to do */
	pthread_t thread;
	bool thread_started;
	bool port; /* a PortForward connection: in and out[1] are one socket; frees itself */
	/* Under pod->lock: */
	struct lv_stream_buf buf[3]; /* output not yet written to cribd */
	size_t unacked_out; /* output taken from buf (or dropped) and not yet acknowledged */
	size_t in_credit;   /* input the agent will still take */
	bool ended;         /* StreamEnd came, or the agent went away */
	bool exited;
	int32_t exit_code;
	bool stop; /* stream_close */
};

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void wake(struct lv_stream *s)
{
	uint64_t one = 1;

	(void)!write(s->wake, &one, sizeof(one));
}

/* Session ID of P; under p->lock. */
static struct lv_stream *find(struct lv_pod *p, uint64_t id)
{
	struct lv_stream *s = p->streams;

	while (s && s->id != id)
		s = s->next;
	return s;
}

static void take_data(struct lv_stream *s, const Crib__Agent__StreamData *d)
{
	int fd = d->fd == CRIB__AGENT__OUTPUT__STREAM__STDERR ? 2 : 1;
	struct lv_stream_buf *b = &s->buf[fd];

	/* Output nobody reads is acknowledged all the same. */
	if (s->out[fd] < 0) {
		s->unacked_out += d->data.len;
		return;
	}
	/* An agent that ignores the window does not get to fill cribd's memory. */
	if (s->buf[1].len + s->buf[2].len + d->data.len > 2 * CRIB_AGENT_STREAM_WINDOW) {
		s->pod->st->host->log(s->pod->st->host, CRIB_LOG_WARNING,
		                      "pod %.12s: its agent sent beyond a session's window: "
		                      "ending the session",
		                      s->pod->id);
		s->ended = true;
		return;
	}
	b->data = crib_xrealloc(b->data, b->len + d->data.len, 1);
	memcpy(b->data + b->len, d->data.data, d->data.len);
	b->len += d->data.len;
}

static size_t credit_after(size_t credit, uint32_t acked)
{
	return credit + acked < CRIB_AGENT_STREAM_WINDOW ? credit + acked
	                                                 : CRIB_AGENT_STREAM_WINDOW;
}

void lv_stream_message(struct lv_pod *p, const Crib__Agent__GuestMessage *m)
{
	struct lv_stream *s;

	pthread_mutex_lock(&p->lock);
	switch (m->reply_case) {
	case CRIB__AGENT__GUEST_MESSAGE__REPLY_STREAM_DATA:
		s = find(p, m->stream_data->stream);
		if (s)
			take_data(s, m->stream_data);
		break;
	case CRIB__AGENT__GUEST_MESSAGE__REPLY_STREAM_ACK:
		s = find(p, m->stream_ack->stream);
		/* Never more than the window, whatever the agent says. */
		if (s)
			s->in_credit = credit_after(s->in_credit, m->stream_ack->bytes);
		break;
	case CRIB__AGENT__GUEST_MESSAGE__REPLY_STREAM_END:
		s = find(p, m->stream_end->stream);
		if (s) {
			s->ended = true;
			s->exited = m->stream_end->exited;
			s->exit_code = m->stream_end->exit_code;
		}
		break;
	default:
		s = NULL;
		break;
	}
	if (s)
		wake(s);
	pthread_mutex_unlock(&p->lock);
}

void lv_streams_agent_gone(struct lv_pod *p)
{
	for (struct lv_stream *s = p->streams; s; s = s->next)
		if (!crib_lv_agent_alive(s->agent)) {
			s->ended = true;
			wake(s);
		}
}

static void send_input(struct lv_stream *s, const uint8_t *data, size_t len, bool eof)
{
	Crib__Agent__HostMessage m = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__StreamInput in = CRIB__AGENT__STREAM_INPUT__INIT;

	in.stream = s->id;
	in.data.data = (uint8_t *)data;
	in.data.len = len;
	in.eof = eof;
	m.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_INPUT;
	m.input = &in;
	(void)crib_lv_agent_send(s->agent, &m);
}

static void send_ack(struct lv_stream *s, size_t n)
{
	Crib__Agent__HostMessage m = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__StreamAck ack = CRIB__AGENT__STREAM_ACK__INIT;

	ack.stream = s->id;
	ack.bytes = (uint32_t)n;
	m.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_ACK;
	m.ack = &ack;
	(void)crib_lv_agent_send(s->agent, &m);
}

/* Reads what the client typed, as far as the agent's window allows, and passes it on. */
static void pump_input(struct lv_stream *s)
{
	uint8_t buf[CRIB_AGENT_STREAM_CHUNK];
	size_t room;
	ssize_t n;

	pthread_mutex_lock(&s->pod->lock);
	room = s->in_credit < sizeof(buf) ? s->in_credit : sizeof(buf);
	pthread_mutex_unlock(&s->pod->lock);
	if (!room)
		return;
	n = read(s->in, buf, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		pthread_mutex_lock(&s->pod->lock);
		s->in_credit -= (size_t)n;
		pthread_mutex_unlock(&s->pod->lock);
		send_input(s, buf, (size_t)n, false);
		return;
	}
	/* EOF (or a pipe that broke): the client's input ended. */
	send_input(s, NULL, 0, true);
	close_fd(&s->in);
}

/* Writes what output I holds to cribd's pipe. */
static void pump_output(struct lv_stream *s, int i)
{
	struct lv_stream_buf *b = &s->buf[i];
	ssize_t n;

	pthread_mutex_lock(&s->pod->lock);
	n = b->len && s->out[i] >= 0 ? write(s->out[i], b->data, b->len) : 0;
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* cribd closed its end: the rest goes unread. */
		close_fd(&s->out[i]);
		n = (ssize_t)b->len;
	}
	if (n > 0) {
		memmove(b->data, b->data + n, b->len - (size_t)n);
		b->len -= (size_t)n;
		s->unacked_out += (size_t)n;
	}
	pthread_mutex_unlock(&s->pod->lock);
}

/* Acknowledges the output written, and the output nobody reads. */
static void flush_acks(struct lv_stream *s)
{
	size_t acked;

	pthread_mutex_lock(&s->pod->lock);
	acked = s->unacked_out;
	s->unacked_out = 0;
	pthread_mutex_unlock(&s->pod->lock);
	if (acked)
		send_ack(s, acked);
}

/*
 * Once the session ended and all its output was written, closes the output
 * pipes, then done: cribd reads its pipes to EOF, then sees done_fd.  Under
 * the lock, as take_data looks at out.
 */
static void close_when_drained(struct lv_stream *s)
{
	if (!s->ended || s->buf[1].len || s->buf[2].len || (s->done < 0 && !s->port))
		return;
	/* A socket: cribd's end must read EOF although in still holds it. */
	if (s->port && s->out[1] >= 0)
		(void)shutdown(s->out[1], SHUT_WR);
	close_fd(&s->out[1]);
	close_fd(&s->out[2]);
	close_fd(&s->done);
}

/* Frees S, whose thread is stopped and which is out of its pod's list. */
static void stream_free(struct lv_stream *s)
{
	close_fd(&s->in);
	close_fd(&s->out[1]);
	close_fd(&s->out[2]);
	close_fd(&s->done);
	close_fd(&s->wake);
	free(s->buf[1].data);
	free(s->buf[2].data);
	lv_pod_put(s->pod);
	free(s);
}

/* Takes S out of its pod's list. */
static void unlink_stream(struct lv_stream *s)
{
	struct lv_stream **ss;

	pthread_mutex_lock(&s->pod->lock);
	for (ss = &s->pod->streams; *ss && *ss != s; ss = &(*ss)->next)
		;
	if (*ss)
		*ss = s->next;
	pthread_mutex_unlock(&s->pod->lock);
}

/* Has the agent forget S: it kills a process still running, closes a connection. */
static void agent_close(struct lv_stream *s)
{
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__CloseStream close_stream = CRIB__AGENT__CLOSE_STREAM__INIT;

	close_stream.stream = s->id;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_CLOSE_STREAM;
	req.close_stream = &close_stream;
	if (s->id && s->agent && crib_lv_agent_alive(s->agent))
		(void)lv_agent_request(s->agent, &req, NULL);
}

/* The end of a connection's thread: the session is forgotten and freed, and fini told. */
static void end_port(struct lv_stream *s)
{
	struct lv_state *st = s->pod->st;

	agent_close(s);
	unlink_stream(s);
	stream_free(s);
	pthread_mutex_lock(&st->lock);
	st->port_streams--;
	pthread_cond_broadcast(&st->port_streams_gone);
	pthread_mutex_unlock(&st->lock);
}

static void *stream_thread(void *arg)
{
	struct lv_stream *s = arg;
	bool hup = false; /* cribd closed a connection's socket */

	for (;;) {
		struct pollfd p[4] = {{.fd = s->wake, .events = POLLIN}};
		nfds_t n = 1;
		bool stop;

		pthread_mutex_lock(&s->pod->lock);
		close_when_drained(s);
		/* A connection is over once its end was written. */
		stop = s->stop || hup || (s->port && s->out[1] < 0);
		if (s->in >= 0 && s->in_credit && !s->ended)
			p[n++] = (struct pollfd){.fd = s->in, .events = POLLIN};
		/* A connection's socket is watched for cribd closing it (POLLHUP) too. */
		for (int i = 1; i <= 2; i++)
			if (s->out[i] >= 0 && (s->buf[i].len || s->port))
				p[n++] = (struct pollfd){.fd = s->out[i],
				                         .events = s->buf[i].len ? POLLOUT : 0};
		pthread_mutex_unlock(&s->pod->lock);
		if (stop)
			break;
		if (poll(p, n, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			uint64_t v;

			(void)!read(s->wake, &v, sizeof(v));
		}
		for (nfds_t k = 1; k < n; k++) {
			if (!p[k].revents)
				continue;
			if (p[k].fd == s->in)
				pump_input(s);
			for (int i = 1; i <= 2; i++)
				if (p[k].fd == s->out[i] && (p[k].revents & (POLLOUT | POLLERR)))
					pump_output(s, i);
			if (s->port && p[k].fd == s->out[1] && (p[k].revents & POLLHUP))
				hup = true;
		}
		flush_acks(s);
	}
	if (s->port)
		end_port(s);
	return NULL;
}

/* Pipes for cribd: its ends into *THEIRS, ours (non-blocking) into *OURS. */
static int make_pipe(bool ours_reads, int *theirs, int *ours)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	*ours = fds[ours_reads ? 0 : 1];
	*theirs = fds[ours_reads ? 1 : 0];
	fcntl(*ours, F_SETFL, O_NONBLOCK);
	return 0;
}

/* The pipes of ARGS's streams, cribd's ends into RET. */
static int make_pipes(struct lv_stream *s, const struct crib_stream_args *args,
                      struct crib_stream_result *ret)
{
	int r = 0;

	if (args->stdin_)
		r = make_pipe(true, &ret->stdin_fd, &s->in);
	if (r == 0 && args->stdout_)
		r = make_pipe(false, &ret->stdout_fd, &s->out[1]);
	if (r == 0 && args->stderr_)
		r = make_pipe(false, &ret->stderr_fd, &s->out[2]);
	if (r == 0)
		r = make_pipe(false, &ret->done_fd, &s->done);
	return r;
}

static void close_result(struct crib_stream_result *ret)
{
	close_fd(&ret->stdin_fd);
	close_fd(&ret->stdout_fd);
	close_fd(&ret->stderr_fd);
	close_fd(&ret->done_fd);
}

/* A new session on pod POD_ID, with a reference to its record; no descriptor yet. */
static struct lv_stream *stream_new(struct lv_state *st, const char *pod_id)
{
	struct lv_stream *s = crib_xcalloc(1, sizeof(*s));

	s->pod = lv_pod_get(st, pod_id);
	s->in = s->out[0] = s->out[1] = s->out[2] = s->done = s->wake = -1;
	s->in_credit = CRIB_AGENT_STREAM_WINDOW;
	s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return s;
}

/*
 * Lists S in its pod (before the agent hears of it: output may follow the
 * answer at once), has the agent open it as OPEN says, and starts its
 * thread.  On failure S is out of the list again.
 */
static int stream_start(struct lv_state *st, struct lv_stream *s, Crib__Agent__OpenStream *open,
                        struct crib_error **reterr)
{
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	int r;

	if (s->wake < 0)
		return st->host->error_set(reterr, errno, "cannot make an eventfd: %s",
		                           strerror(errno));
	pthread_mutex_lock(&s->pod->lock);
	s->id = ++s->pod->last_stream;
	s->next = s->pod->streams;
	s->pod->streams = s;
	pthread_mutex_unlock(&s->pod->lock);
	open->stream = s->id;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_OPEN_STREAM;
	req.open_stream = open;
	r = lv_agent_request(s->agent, &req, reterr);
	if (r == 0 && (r = -pthread_create(&s->thread, NULL, stream_thread, s)) < 0)
		r = st->host->error_set(reterr, -r, "cannot start the session's thread: %s",
		                        strerror(-r));
	s->thread_started = r == 0;
	if (r < 0)
		unlink_stream(s);
	return r;
}

int lv_stream_open(void *state, struct crib_op *op, const struct crib_stream_args *args,
                   struct crib_stream_result *ret, struct crib_error **reterr)
{
	struct lv_state *st = state;
	struct lv_stream *s = stream_new(st, args->ref.pod.id);
	Crib__Agent__OpenStream open = CRIB__AGENT__OPEN_STREAM__INIT;
	int r;

	(void)op;
	*ret = (struct crib_stream_result){
	    .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .done_fd = -1};
	snprintf(s->ctr_id, sizeof(s->ctr_id), "%s", args->ref.id);
	open.container_id = (char *)args->ref.id;
	open.args = (char **)args->argv;
	open.n_args = args->argv ? args->argc : 0;
	open.tty = args->tty;
	open.stdin = args->stdin_;
	open.stdout = args->stdout_;
	open.stderr = args->stderr_;
	r = lv_ctr_agent(st, s->pod, &s->agent, reterr);
	if (r == 0 && (r = make_pipes(s, args, ret)) < 0)
		r = st->host->error_set(reterr, -r, "cannot make the session's pipes: %s",
		                        strerror(-r));
	r = r < 0 ? r : stream_start(st, s, &open, reterr);
	if (r == 0) {
		ret->handle = s;
		return 0;
	}
	close_result(ret);
	stream_free(s);
	return r;
}

int lv_stream_resize(void *state, void *handle, uint16_t width, uint16_t height,
                     struct crib_error **reterr)
{
	struct lv_stream *s = handle;
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__ResizeStream resize = CRIB__AGENT__RESIZE_STREAM__INIT;

	(void)state;
	resize.stream = s->id;
	resize.width = width;
	resize.height = height;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_RESIZE;
	req.resize = &resize;
	return lv_agent_request(s->agent, &req, reterr);
}

int lv_stream_finish(void *state, void *handle, int32_t *ret_exit_code, struct crib_error **reterr)
{
	struct lv_state *st = state;
	struct lv_stream *s = handle;
	bool exited;

	pthread_mutex_lock(&s->pod->lock);
	exited = s->exited;
	*ret_exit_code = s->exit_code;
	pthread_mutex_unlock(&s->pod->lock);
	if (!exited)
		return st->host->error_set(reterr, ESRCH,
		                           "container %.12s: the session ended without an exit "
		                           "code (the pod's VM went away)",
		                           s->ctr_id);
	return 0;
}

void lv_stream_close(void *state, void *handle)
{
	struct lv_stream *s = handle;

	(void)state;
	agent_close(s);
	pthread_mutex_lock(&s->pod->lock);
	s->stop = true;
	wake(s);
	pthread_mutex_unlock(&s->pod->lock);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	unlink_stream(s);
	stream_free(s);
}

int lv_port_connect(void *state, struct crib_op *op, const struct crib_pod_ref *pod, uint16_t port,
                    int *ret_fd, struct crib_error **reterr)
{
	struct lv_state *st = state;
	struct lv_stream *s = stream_new(st, pod->id);
	Crib__Agent__OpenStream open = CRIB__AGENT__OPEN_STREAM__INIT;
	int sv[2] = {-1, -1}, r;

	(void)op;
	*ret_fd = -1;
	s->port = true;
	open.port = port;
	r = lv_ctr_agent(st, s->pod, &s->agent, reterr);
	if (r == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		r = st->host->error_set(reterr, errno, "cannot make a socket pair: %s",
		                        strerror(errno));
	if (r == 0) {
		s->in = sv[1];
		fcntl(s->in, F_SETFL, O_NONBLOCK);
		s->out[1] = fcntl(s->in, F_DUPFD_CLOEXEC, 0);
		if (s->out[1] < 0)
			r = st->host->error_set(reterr, errno, "cannot dup a socket: %s",
			                        strerror(errno));
	}
	/* Counted first: fini waits for the thread once it runs. */
	pthread_mutex_lock(&st->lock);
	st->port_streams++;
	pthread_mutex_unlock(&st->lock);
	r = r < 0 ? r : stream_start(st, s, &open, reterr);
	if (r == 0) {
		pthread_detach(s->thread);
		*ret_fd = sv[0];
		return 0;
	}
	if (sv[0] >= 0)
		close(sv[0]);
	s->thread_started = false;
	end_port(s);
	return r;
}

void lv_streams_stop(struct lv_state *st)
{
	pthread_mutex_lock(&st->lock);
	for (struct lv_pod *p = st->pods; p; p = p->next) {
		pthread_mutex_lock(&p->lock);
		for (struct lv_stream *s = p->streams; s; s = s->next) {
			s->stop = true;
			wake(s);
		}
		pthread_mutex_unlock(&p->lock);
	}
	while (st->port_streams)
		pthread_cond_wait(&st->port_streams_gone, &st->lock);
	pthread_mutex_unlock(&st->lock);
}
