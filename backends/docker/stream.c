/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exec and Attach sessions (ABI 1.2 streams) over the Engine's hijacked
 * connections.
 *
 * Exec is an exec instance (POST /containers/{id}/exec) started attached
 * (POST /exec/{id}/start); Attach is POST /containers/{id}/attach?stream=1.
 * Either way the Engine hands the HTTP connection over (docker_engine_hijack)
 * and from then on it carries the client's input one way and the output the
 * other: in stdout/stderr frames (docker_demux) without a terminal, raw with
 * one.
 *
 * cribd wants descriptors, so a session has pipes for its stdio and a thread
 * of its own that carries the bytes between them and the connection.  Output
 * is read from the connection only once the pipes took the last of it, so a
 * client that does not read holds the process back instead of our memory;
 * input likewise.  The end of the client's input half-closes the connection,
 * which closes the exec'd process's stdin, or the container's when it was
 * created with stdin_once.  The Engine closing the connection ends the
 * session: the thread closes the output pipes, then the done pipe, which
 * makes done_fd readable.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "docker.h"
#include "util.h"

/* What one read takes from the connection or the stdin pipe. */
#define IO_CHUNK 65536

/* Output the Engine sent that its pipe did not take yet. */
struct pending {
	char *data;
	size_t off, len, cap;
};

struct docker_stream {
	const struct crib_host *host;
	struct docker_engine *e;
	char *id; /* crib's container id, for messages */
	char *docker_id;
	char *exec_id;   /* exec: the exec instance; NULL for attach */
	bool tty;        /* the stream is raw, and resizes go to the Engine */
	bool half_close; /* the end of the client's input half-closes the connection */
	pthread_t thread;
	bool started;
	int wake; /* eventfd: stream_close ends the thread */
	int sock; /* the hijacked connection, non-blocking; closed by stream_free */
	/*
	 * The thread's once it started; it closes them when the session ended
	 * (-EBADF then).
	 */
	int in;     /* the stdin pipe's read end */
	int out[2]; /* the stdout and stderr pipes' write ends */
	int done;   /* the done pipe's write end */
	struct pending q[2];
	struct docker_demux demux;
	char *in_buf; /* input read, not sent yet: in_buf[in_off..in_len) */
	size_t in_off, in_len;
	bool in_ended;   /* the client's input ended, or the connection takes none */
	bool sock_ended; /* the Engine closed the connection */
	bool shut;       /* the connection's write side is half-closed */
};

static struct docker_stream *stream_free(struct docker_stream *s)
{
	if (!s)
		return NULL;
	closep(&s->wake);
	closep(&s->sock);
	closep(&s->in);
	closep(&s->out[0]);
	closep(&s->out[1]);
	closep(&s->done);
	free(s->q[0].data);
	free(s->q[1].data);
	docker_demux_clear(&s->demux);
	free(s->in_buf);
	free(s->id);
	free(s->docker_id);
	free(s->exec_id);
	free(s);
	return NULL;
}

static void stream_freep(struct docker_stream **s)
{
	*s = stream_free(*s);
}

static void close_fd(int *fd)
{
	closep(fd);
	*fd = -EBADF;
}

static bool pending_empty(const struct docker_stream *s)
{
	return s->q[0].off == s->q[0].len && s->q[1].off == s->q[1].len;
}

/* Queues output for pipe I (0 stdout, 1 stderr); dropped when nobody reads it. */
static int pending_add(struct docker_stream *s, int i, const char *data, size_t len)
{
	struct pending *q = &s->q[i];
	char *grown;

	if (s->out[i] < 0 || len == 0)
		return 0;
	if (q->off == q->len)
		q->off = q->len = 0;
	if (q->len + len > q->cap) {
		/* Sized by the Engine's frames: plain realloc, ENOMEM ends the session. */
		grown = realloc(q->data, q->len + len);
		if (!grown)
			return -ENOMEM;
		q->data = grown;
		q->cap = q->len + len;
	}
	memcpy(q->data + q->len, data, len);
	q->len += len;
	return 0;
}

static int on_frame(void *userdata, int stream, const char *data, size_t len)
{
	if (stream == 1 || stream == 2)
		return pending_add(userdata, stream - 1, data, len);
	return 0;
}

/* Bytes from the connection: raw terminal output, or frames. */
static int deliver(struct docker_stream *s, const char *data, size_t len)
{
	if (s->tty)
		return pending_add(s, 0, data, len);
	return docker_demux_feed(&s->demux, data, len);
}

static void sock_read(struct docker_stream *s, char *buf)
{
	ssize_t n = read(s->sock, buf, IO_CHUNK);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* An error ends the session as the end of the stream does: the exit code says the rest. */
	if (n <= 0 || deliver(s, buf, (size_t)n) < 0)
		s->sock_ended = true;
}

/* The client's input goes nowhere any more: cribd's writes fail from here on. */
static void input_drop(struct docker_stream *s)
{
	s->in_ended = true;
	s->in_off = s->in_len = 0;
	close_fd(&s->in);
}

static void sock_write(struct docker_stream *s)
{
	ssize_t n = send(s->sock, s->in_buf + s->in_off, s->in_len - s->in_off,
	                 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		/* The Engine takes no input any more (the process closed its stdin). */
		input_drop(s);
		s->shut = true;
		return;
	}
	s->in_off += (size_t)n;
}

static void input_read(struct docker_stream *s)
{
	ssize_t n = read(s->in, s->in_buf, IO_CHUNK);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		s->in_ended = true;
		close_fd(&s->in);
		return;
	}
	s->in_off = 0;
	s->in_len = (size_t)n;
}

static void output_write(struct docker_stream *s, int i)
{
	struct pending *q = &s->q[i];
	ssize_t n = write(s->out[i], q->data + q->off, q->len - q->off);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		/* cribd stopped reading (its client went): the rest is dropped. */
		q->off = q->len = 0;
		close_fd(&s->out[i]);
		return;
	}
	q->off += (size_t)n;
}

/*
 * Once the client's input was all sent: the stdin of the exec'd process, or
 * of a container made with stdin_once, closes.
 */
static void maybe_half_close(struct docker_stream *s)
{
	if (!s->half_close || s->shut || !s->in_ended || s->in_off < s->in_len)
		return;
	(void)shutdown(s->sock, SHUT_WR);
	s->shut = true;
}

enum { P_WAKE, P_SOCK, P_IN, P_OUT, P_ERR, P_COUNT };

/* What to wait for: the connection only while the pipes took all output before. */
static void poll_set(const struct docker_stream *s, struct pollfd p[P_COUNT])
{
	short sock_events = 0;

	if (!s->sock_ended && pending_empty(s))
		sock_events |= POLLIN;
	if (s->in_off < s->in_len)
		sock_events |= POLLOUT;
	p[P_WAKE] = (struct pollfd){.fd = s->wake, .events = POLLIN};
	p[P_SOCK] = (struct pollfd){.fd = sock_events ? s->sock : -1, .events = sock_events};
	p[P_IN] = (struct pollfd){.fd = s->in_off == s->in_len ? s->in : -1, .events = POLLIN};
	for (int i = 0; i < 2; i++)
		p[P_OUT + i] = (struct pollfd){.fd = s->q[i].off < s->q[i].len ? s->out[i] : -1,
		                               .events = POLLOUT};
}

static void session_step(struct docker_stream *s, const struct pollfd p[P_COUNT], char *buf)
{
	if ((p[P_SOCK].events & POLLIN) && p[P_SOCK].revents)
		sock_read(s, buf);
	if ((p[P_SOCK].events & POLLOUT) && p[P_SOCK].revents & (POLLOUT | POLLERR | POLLHUP))
		sock_write(s);
	if (p[P_IN].revents)
		input_read(s);
	for (int i = 0; i < 2; i++)
		if (p[P_OUT + i].revents)
			output_write(s, i);
	maybe_half_close(s);
}

/* The session's thread: until the Engine closed the connection and the pipes took its output. */
static void *session_main(void *arg)
{
	struct docker_stream *s = arg;
	char *buf = crib_xmalloc(IO_CHUNK);

	while (!s->sock_ended || !pending_empty(s)) {
		struct pollfd p[P_COUNT];

		poll_set(s, p);
		if (poll(p, P_COUNT, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[P_WAKE].revents)
			break;
		session_step(s, p, buf);
	}
	free(buf);
	/* EOF on the outputs first: cribd drains them once done_fd says the session ended. */
	close_fd(&s->out[0]);
	close_fd(&s->out[1]);
	close_fd(&s->in);
	close_fd(&s->done);
	return NULL;
}

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/*
 * A pipe: *ret_cribd is cribd's end (the write end for stdin, else the read
 * end), *ret_ours ours, non-blocking.
 */
static int make_pipe(bool cribd_writes, int *ret_cribd, int *ret_ours)
{
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	*ret_cribd = cribd_writes ? p[1] : p[0];
	*ret_ours = cribd_writes ? p[0] : p[1];
	r = set_nonblock(*ret_ours);
	if (r < 0) {
		(void)close(p[0]);
		(void)close(p[1]);
		*ret_cribd = *ret_ours = -EBADF;
	}
	return r;
}

/* The pipes the request asks for and done's; THEIRS (stdin, stdout, stderr, done) are cribd's. */
static int make_pipes(struct docker_stream *s, const struct crib_stream_args *a, int theirs[4])
{
	int r = 0;

	if (a->stdin_)
		r = make_pipe(true, &theirs[0], &s->in);
	if (r == 0 && a->stdout_)
		r = make_pipe(false, &theirs[1], &s->out[0]);
	if (r == 0 && a->stderr_)
		r = make_pipe(false, &theirs[2], &s->out[1]);
	if (r == 0)
		r = make_pipe(false, &theirs[3], &s->done);
	if (r == 0) {
		s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (s->wake < 0)
			r = -errno;
	}
	return r;
}

static struct docker_stream *stream_new(const struct crib_host *host, struct docker_engine *e,
                                        const char *id, const char *docker_id)
{
	struct docker_stream *s = crib_xcalloc(1, sizeof(*s));

	*s = (struct docker_stream){
	    .host = host,
	    .e = e,
	    .id = crib_xstrdup(id),
	    .docker_id = crib_xstrdup(docker_id),
	    .wake = -EBADF,
	    .sock = -EBADF,
	    .in = -EBADF,
	    .out = {-EBADF, -EBADF},
	    .done = -EBADF,
	    .in_buf = crib_xmalloc(IO_CHUNK),
	};
	s->demux = (struct docker_demux){.fn = on_frame, .userdata = s};
	return s;
}

/* POST /containers/{id}/exec: the instance's id in s->exec_id. */
static int exec_create(struct docker_stream *s, const struct crib_stream_args *a,
                       struct crib_error **reterr)
{
	_cleanup_free_ char *what = crib_xasprintf("exec in container '%s'", s->id);
	const struct docker_exec_io io = {
	    .stdin_ = a->stdin_, .stdout_ = a->stdout_, .stderr_ = a->stderr_, .tty = a->tty};

	return docker_exec_create(s->e, s->host, s->docker_id, a->argv, a->argc, &io, what,
	                          &s->exec_id, reterr);
}

static int exec_connect(struct docker_stream *s, const struct crib_stream_args *a,
                        struct docker_hijacked *ret, struct crib_error **reterr)
{
	_cleanup_free_ char *path = NULL, *what = NULL;
	json_t *body;
	int r;

	r = exec_create(s, a, reterr);
	if (r < 0)
		return r;
	s->tty = a->tty;
	/*
	 * A terminal's input has no end but ^D, and at a half-close the Engine
	 * would end the output and leave the process running.
	 */
	s->half_close = a->stdin_ && !a->tty;
	path = crib_xasprintf("/exec/%s/start", s->exec_id);
	what = crib_xasprintf("exec in container '%s'", s->id);
	body = json_pack("{s:b s:b}", "Detach", 0, "Tty", a->tty);
	if (!body)
		abort();
	r = docker_engine_hijack(s->e, "POST", path, body, what, ret, reterr);
	json_decref(body);
	return r;
}

/* Whether the container runs and the request fits it as created; -EBUSY, -EINVAL when not. */
static int attach_check(struct docker_stream *s, const struct crib_stream_args *a,
                        const struct docker_priv *p, struct crib_error **reterr)
{
	json_t *o;
	bool running;
	int r;

	r = docker_inspect(s->e, s->docker_id, &o, reterr);
	if (r < 0)
		return r;
	running = json_is_true(json_object_get(json_object_get(o, "State"), "Running"));
	json_decref(o);
	/* The Engine would attach to a stopped container and wait for its next start. */
	if (!running)
		return s->host->error_set(reterr, EBUSY, "container '%s' is not running", s->id);
	if ((a->tty != 0) != p->tty)
		return s->host->error_set(reterr, EINVAL,
		                          "attach to container '%s' must ask for tty %s", s->id,
		                          p->tty ? "true" : "false");
	if (a->stdin_ && !p->stdin_)
		return s->host->error_set(reterr, EINVAL,
		                          "container '%s' was created without stdin", s->id);
	return 0;
}

static int attach_connect(struct docker_stream *s, const struct crib_stream_args *a,
                          const struct docker_priv *p, struct docker_hijacked *ret,
                          struct crib_error **reterr)
{
	_cleanup_free_ char *path = NULL, *what = NULL;
	int r;

	r = attach_check(s, a, p, reterr);
	if (r < 0)
		return r;
	/* The container's terminal decides the framing, as its log's. */
	s->tty = p->tty;
	/*
	 * With stdin_once the container's stdin closes with the client's (the
	 * Engine's CloseStdin).  Without, the Engine would end the attach at
	 * once, losing the answer to the last input: cribd ends the session
	 * itself once the container was quiet for a moment.
	 */
	s->half_close = a->stdin_ && p->stdin_once;
	path = crib_xasprintf("/containers/%s/attach?stream=1&stdin=%d&stdout=%d&stderr=%d",
	                      s->docker_id, !!a->stdin_, !!a->stdout_, !!a->stderr_);
	what = crib_xasprintf("attach to container '%s'", s->id);
	return docker_engine_hijack(s->e, "POST", path, NULL, what, ret, reterr);
}

/* Takes the connection over and starts the thread. */
static int session_start(struct docker_stream *s, struct docker_hijacked *h,
                         struct crib_error **reterr)
{
	_cleanup_free_ char *extra = TAKE_PTR(h->extra);
	int r;

	s->sock = TAKE_FD(h->fd);
	r = set_nonblock(s->sock);
	/* The stream's first bytes came with the answer's head: they go out first. */
	if (r == 0)
		r = deliver(s, extra, h->extra_len);
	if (r < 0)
		return s->host->error_set(reterr, -r, "cannot start the session in container '%s'",
		                          s->id);
	r = pthread_create(&s->thread, NULL, session_main, s);
	if (r != 0)
		return s->host->error_set(reterr, r, "cannot start the session's thread for '%s'",
		                          s->id);
	s->started = true;
	return 0;
}

static void close_four(int fds[4])
{
	for (int i = 0; i < 4; i++)
		closep(&fds[i]);
}

int docker_stream_open(void *state, struct crib_op *op, const struct crib_stream_args *args,
                       struct crib_stream_result *ret, struct crib_error **reterr)
{
	const struct crib_host *host = ((struct docker_state *)state)->host;
	_cleanup_(docker_priv_clear) struct docker_priv p = {0};
	_cleanup_(stream_freep) struct docker_stream *s = NULL;
	int theirs[4] = {-EBADF, -EBADF, -EBADF, -EBADF};
	struct docker_hijacked h = {.fd = -EBADF};
	struct docker_engine *e;
	bool connected;
	int r;

	(void)op;
	r = docker_container_engine(state, &args->ref, &p, &e, reterr);
	if (r < 0)
		return r;
	s = stream_new(host, e, args->ref.id, p.docker_id);
	/* The pipes first: once the Engine started the command, little may fail. */
	r = make_pipes(s, args, theirs);
	if (r < 0)
		r = host->error_set(reterr, -r, "cannot make pipes for a session in '%s'",
		                    args->ref.id);
	if (r == 0 && args->argv)
		r = exec_connect(s, args, &h, reterr);
	else if (r == 0)
		r = attach_connect(s, args, &p, &h, reterr);
	connected = r == 0;
	if (r == 0)
		r = session_start(s, &h, reterr);
	/* A command the Engine started would run on with no one to talk to. */
	if (r < 0 && connected && s->exec_id)
		docker_exec_kill(e, s->docker_id, s->exec_id);
	closep(&h.fd);
	free(h.extra);
	if (r < 0) {
		close_four(theirs);
		return r;
	}
	*ret = (struct crib_stream_result){
	    .handle = TAKE_PTR(s),
	    .stdin_fd = theirs[0] >= 0 ? theirs[0] : -1,
	    .stdout_fd = theirs[1] >= 0 ? theirs[1] : -1,
	    .stderr_fd = theirs[2] >= 0 ? theirs[2] : -1,
	    .done_fd = theirs[3],
	};
	return 0;
}

int docker_stream_resize(void *state, void *handle, uint16_t width, uint16_t height,
                         struct crib_error **reterr)
{
	struct docker_stream *s = handle;
	_cleanup_free_ char *path = NULL, *what = NULL;
	json_t *o = NULL;
	int r;

	(void)state;
	if (!s->tty)
		return s->host->error_set(reterr, EINVAL,
		                          "the session in container '%s' has no terminal", s->id);
	if (s->exec_id)
		path = crib_xasprintf("/exec/%s/resize?h=%u&w=%u", s->exec_id, (unsigned)height,
		                      (unsigned)width);
	else
		path = crib_xasprintf("/containers/%s/resize?h=%u&w=%u", s->docker_id,
		                      (unsigned)height, (unsigned)width);
	what = crib_xasprintf("resizing the terminal of a session in '%s'", s->id);
	r = docker_engine_json(s->e, "POST", path, NULL, DOCKER_CALL_TIMEOUT_MS, &o, what, reterr);
	json_decref(o);
	return r;
}

/* An attached container's exit code, once it exited. */
static int attach_exit_code(struct docker_stream *s, int32_t *ret, struct crib_error **reterr)
{
	json_t *o, *state, *code;
	int r;

	r = docker_inspect(s->e, s->docker_id, &o, reterr);
	if (r < 0)
		return r;
	state = json_object_get(o, "State");
	code = json_object_get(state, "ExitCode");
	r = json_is_true(json_object_get(state, "Running")) || !json_is_integer(code) ? -ESRCH : 0;
	if (r == 0)
		*ret = (int32_t)json_integer_value(code);
	json_decref(o);
	if (r < 0)
		return s->host->error_set(reterr, ESRCH, "container '%s' did not exit", s->id);
	return 0;
}

int docker_stream_finish(void *state, void *handle, int32_t *ret_exit_code,
                         struct crib_error **reterr)
{
	struct docker_stream *s = handle;
	int r;

	(void)state;
	if (!s->exec_id)
		return attach_exit_code(s, ret_exit_code, reterr);
	/* Its own errors have the wrong errno: no exit code known is ESRCH. */
	r = docker_exec_exit_code(s->e, s->host, s->exec_id, ret_exit_code, NULL);
	if (r < 0)
		return s->host->error_set(
		    reterr, ESRCH, "the Engine knows no exit code of the command in '%s': %s",
		    s->id, strerror(-r));
	return 0;
}

void docker_stream_close(void *state, void *handle)
{
	struct docker_stream *s = handle;
	uint64_t one = 1;

	(void)state;
	if (s->started) {
		if (write(s->wake, &one, sizeof(one)) < 0)
			abort(); /* an eventfd far from its limit cannot refuse */
		pthread_join(s->thread, NULL);
	}
	/*
	 * The Engine cannot stop an exec'd process: the client went, so it goes
	 * too.  Before the connection closes, since the Engine forgets an exec
	 * instance (and its pid) whose stream broke.
	 */
	if (s->exec_id)
		docker_exec_kill(s->e, s->docker_id, s->exec_id);
	stream_free(s);
}
