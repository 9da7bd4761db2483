/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ExecSync through the Engine: an exec instance made in the container
 * (POST /containers/{id}/exec), started attached without a terminal (POST
 * /exec/{id}/start, its output multiplexed into stdout and stderr frames),
 * and its exit code read once the stream ended (GET /exec/{id}/json).
 *
 * The Engine cannot stop an exec'd process.  On a timeout the process the
 * Engine names is killed from here, through a pidfd and only once its
 * cgroup shows it belongs to the container, so that a probe that hangs does
 * not pile up processes (dockershim left them running).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include "util.h"

/* How long the exit code may lag behind the end of the output (the Engine sets it later). */
#define EXIT_WAIT_MS 5000L
/* The start of an answer kept to explain a refusal: the rest of the stream is frames. */
#define HEAD_MAX 1024

/* One stream's output, kept up to CRIB_EXEC_OUTPUT_MAX bytes. */
struct capped {
	char *data;
	size_t len, cap;
};

struct exec_io {
	struct docker_demux demux;
	struct capped out, err;
	char head[HEAD_MAX + 1];
	size_t head_len;
	int r; /* < 0: the output could not be kept */
};

/* Appends what fits; the rest is discarded, as CRI asks. */
static int capped_add(struct capped *b, const char *data, size_t len)
{
	size_t room = CRIB_EXEC_OUTPUT_MAX - b->len;

	if (len > room)
		len = room;
	if (len == 0)
		return 0;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *grown;

		while (cap < b->len + len)
			cap *= 2;
		if (cap > CRIB_EXEC_OUTPUT_MAX)
			cap = CRIB_EXEC_OUTPUT_MAX;
		/* Sized by what the command writes: plain realloc, ENOMEM is an answer. */
		grown = realloc(b->data, cap);
		if (!grown)
			return -ENOMEM;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static int on_frame(void *userdata, int stream, const char *data, size_t len)
{
	struct exec_io *io = userdata;

	if (stream == 1)
		return capped_add(&io->out, data, len);
	if (stream == 2)
		return capped_add(&io->err, data, len);
	return 0;
}

static int on_exec_data(void *userdata, const char *data, size_t len)
{
	struct exec_io *io = userdata;
	size_t head = len < HEAD_MAX - io->head_len ? len : HEAD_MAX - io->head_len;
	int r;

	memcpy(io->head + io->head_len, data, head);
	io->head_len += head;
	io->head[io->head_len] = '\0';
	r = docker_demux_feed(&io->demux, data, len);
	if (r < 0) {
		io->r = r;
		return 1;
	}
	return 0;
}

static void exec_io_clear(struct exec_io *io)
{
	docker_demux_clear(&io->demux);
	free(io->out.data);
	free(io->err.data);
}

static void blob_take(struct crib_blob *b, struct capped *c)
{
	b->data = c->len ? TAKE_PTR(c->data) : NULL;
	b->len = c->len;
}

/* POST /containers/{id}/exec: the exec instance's id in *ret. */
int docker_exec_create(struct docker_engine *e, const struct crib_host *host, const char *docker_id,
                       const char *const *argv, size_t argc, const struct docker_exec_io *io,
                       const char *what, char **ret, struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("/containers/%s/exec", docker_id);
	json_t *cmd = json_array(), *body, *o = NULL;
	int r;

	if (!cmd)
		abort();
	for (size_t i = 0; i < argc; i++)
		json_array_append_new(cmd, json_string(argv[i]));
	body = json_pack("{s:b s:b s:b s:b s:o}", "AttachStdin", io->stdin_, "AttachStdout",
	                 io->stdout_, "AttachStderr", io->stderr_, "Tty", io->tty, "Cmd", cmd);
	if (!body)
		abort();
	/* 409 (EBUSY, FAILED_PRECONDITION): the container does not run. */
	r = docker_engine_json(e, "POST", path, body, DOCKER_CALL_TIMEOUT_MS, &o, what, reterr);
	json_decref(body);
	if (r < 0)
		return r;
	*ret = crib_xstrdup(json_string_value(json_object_get(o, "Id")));
	json_decref(o);
	if (!*ret)
		return host->error_set(reterr, EBADMSG, "%s: the Engine made no exec instance",
		                       what);
	return 0;
}

/* POST /exec/{id}/start, attached: the output into IO until the process ends. */
static int exec_start(struct docker_engine *e, const struct crib_host *host, const char *exec_id,
                      int64_t timeout_s, struct exec_io *io, struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("/exec/%s/start", exec_id);
	json_t *body = json_pack("{s:b s:b}", "Detach", 0, "Tty", 0);
	struct docker_request rq = {
	    .method = "POST",
	    .path = path,
	    .json = body,
	    .on_data = on_exec_data,
	    .userdata = io,
	};
	struct docker_response resp, refusal;
	int r;

	if (!body)
		abort();
	if (timeout_s > 0)
		rq.timeout_ms = timeout_s < LONG_MAX / 1000 ? (long)timeout_s * 1000 : LONG_MAX;
	r = docker_engine_request(e, &rq, &resp, reterr);
	json_decref(body);
	if (r < 0)
		return r;
	/* A refusal's {"message"} came through on_data, not into resp: the head has it. */
	refusal =
	    (struct docker_response){.status = resp.status, .body = io->head, .len = io->head_len};
	r = docker_status_error(host, &refusal, reterr, "running the command");
	docker_response_clear(&resp);
	if (r == 0 && io->r < 0)
		r = host->error_set(reterr, -io->r, "keeping the command's output");
	return r;
}

/* GET /exec/{id}/json. */
static int exec_inspect(struct docker_engine *e, const char *exec_id, json_t **ret,
                        struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("/exec/%s/json", exec_id);

	return docker_engine_json(e, "GET", path, NULL, DOCKER_CALL_TIMEOUT_MS, ret,
	                          "inspecting the command", reterr);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * The exit code, once the Engine has it.  The output ends when the
 * process's streams close; the Engine records the exit a moment later, from
 * containerd's event, and has no call that waits for it: asked again after
 * growing pauses, as dockershim did.
 */
int docker_exec_exit_code(struct docker_engine *e, const struct crib_host *host,
                          const char *exec_id, int32_t *ret, struct crib_error **reterr)
{
	long waited = 0, pause = 10;
	json_t *o;
	int r;

	for (;;) {
		json_t *code;

		r = exec_inspect(e, exec_id, &o, reterr);
		if (r < 0)
			return r;
		code = json_object_get(o, "ExitCode");
		if (!json_is_true(json_object_get(o, "Running")) && json_is_integer(code)) {
			*ret = (int32_t)json_integer_value(code);
			json_decref(o);
			return 0;
		}
		json_decref(o);
		if (waited >= EXIT_WAIT_MS)
			return host->error_set(
			    reterr, EIO,
			    "the command's output ended but the Engine reports no "
			    "exit code after %ld ms",
			    waited);
		sleep_ms(pause);
		waited += pause;
		pause = pause < 500 ? pause * 2 : pause;
	}
}

/* True when /proc/PID/cgroup names the container DOCKER_ID (cgroupfs and systemd paths alike). */
static bool pid_in_container(int pid, const char *docker_id)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	size_t len;

	(void)snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	return crib_read_file(path, 64 * 1024, &text, &len) == 0 && strstr(text, docker_id);
}

/*
 * Kills the timed-out command.  The pidfd is opened before the pid is
 * checked, so that the signal reaches the process checked or none: a pid
 * reused meanwhile belongs to a process the pidfd does not name.
 */
void docker_exec_kill(struct docker_engine *e, const char *docker_id, const char *exec_id)
{
	_cleanup_close_ int fd = -EBADF;
	json_t *o;
	json_int_t pid;

	if (exec_inspect(e, exec_id, &o, NULL) < 0)
		return;
	pid = json_is_true(json_object_get(o, "Running"))
	          ? json_integer_value(json_object_get(o, "Pid"))
	          : 0;
	json_decref(o);
	if (pid <= 0 || pid > INT_MAX)
		return;
	fd = (int)syscall(SYS_pidfd_open, (int)pid, 0);
	if (fd < 0 || !pid_in_container((int)pid, docker_id))
		return;
	(void)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
}

int docker_exec_sync(void *state, struct crib_op *op, const struct crib_exec_sync_args *args,
                     struct crib_exec_sync_result *ret, struct crib_error **reterr)
{
	const struct crib_host *host = ((struct docker_state *)state)->host;
	_cleanup_(docker_priv_clear) struct docker_priv p = {0};
	_cleanup_(exec_io_clear) struct exec_io io = {0};
	_cleanup_free_ char *exec_id = NULL;
	struct docker_engine *e;
	int r;

	(void)op;
	r = docker_container_engine(state, &args->ref, &p, &e, reterr);
	if (r < 0)
		return r;
	r = docker_exec_create(e, host, p.docker_id, args->argv, args->argc,
	                       &(struct docker_exec_io){.stdout_ = true, .stderr_ = true},
	                       "starting a command in the container", &exec_id, reterr);
	if (r < 0)
		return r;
	io.demux = (struct docker_demux){.fn = on_frame, .userdata = &io};
	r = exec_start(e, host, exec_id, args->timeout_s, &io, reterr);
	if (r == -ETIMEDOUT) {
		docker_exec_kill(e, p.docker_id, exec_id);
		return host->error_set(reterr, ETIMEDOUT, "command timed out after %llds",
		                       (long long)args->timeout_s);
	}
	if (r < 0)
		return r;
	r = docker_exec_exit_code(e, host, exec_id, &ret->exit_code, reterr);
	if (r < 0)
		return r;
	blob_take(&ret->out, &io.out);
	blob_take(&ret->err, &io.err);
	return 0;
}
