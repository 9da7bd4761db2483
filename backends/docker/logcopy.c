/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's output, copied from the Engine's log (GET
 * /containers/{id}/logs?follow=1&timestamps=1) into kubelet's CRI log file.
 * The Engine keeps the log (driver "json-file"), so a copier that was not running
 * (cribd restarted, dockerd restarted) loses nothing: it resumes after the
 * time stamp of the last message it wrote, which it records in its position
 * file, and skips what it already wrote.
 *
 * Each message the Engine sends is "<RFC3339Nano time> <text>", in a frame of
 * its own (non-tty) or as a line of the raw stream (tty); text without a
 * newline is a partial line, which the CRI writer marks P.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include "util.h"

#define RETRY_MS 1000

struct docker_logcopy {
	const struct crib_host *host;
	struct docker_engine *e;
	char *docker_id;
	bool tty;
	struct crib_log_writer *w;
	int pos_fd;
	int64_t last_ns;   /* the time stamp of the last message written */
	int64_t resume_ns; /* this request's start: messages up to it were written before */
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done; /* under lock: the log was read to its end, the container stopped */
	struct docker_demux demux;
	char *line; /* tty: a line not complete yet */
	size_t line_len, line_cap;
};

/* The position file: "<last ns>\n", then "done\n" once the log was copied to its end. */
static void pos_read(int fd, int64_t *last_ns, bool *done)
{
	char buf[64] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	*last_ns = n > 0 ? strtoll(buf, NULL, 10) : 0;
	*done = n > 0 && strstr(buf, "\ndone\n") != NULL;
}

static void pos_write(struct docker_logcopy *lc, bool done)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%020" PRId64 "\n%s", lc->last_ns, done ? "done\n" : "");

	/* Fixed width: each write covers the last, no truncate needed. */
	if (pwrite(lc->pos_fd, buf, (size_t)n, 0) != n)
		lc->host->log(lc->host, CRIB_LOG_WARNING,
		              "cannot record the log position of %s: %s", lc->docker_id,
		              strerror(errno));
}

/* One message "<time> <text>": written unless an earlier copier already did. */
static int message(struct docker_logcopy *lc, int stream, const char *data, size_t len)
{
	const char *sp = memchr(data, ' ', len);
	char stamp[64];
	int64_t at;
	size_t n;

	if (!sp || (size_t)(sp - data) >= sizeof(stamp))
		return 0;
	n = (size_t)(sp - data);
	memcpy(stamp, data, n);
	stamp[n] = '\0';
	at = docker_parse_time(stamp);
	/* since= is inclusive, and whole seconds on some Engines: skip what was written. */
	if (at && at <= lc->resume_ns)
		return 0;
	if (at > lc->last_ns)
		lc->last_ns = at;
	sp++;
	if (data + len == sp)
		return 0;
	return lc->host->log_write(lc->w, stream == 2 ? CRIB_STREAM_STDERR : CRIB_STREAM_STDOUT, sp,
	                           (size_t)(data + len - sp), NULL);
}

static int on_frame(void *userdata, int stream, const char *data, size_t len)
{
	return message(userdata, stream, data, len);
}

/* tty: the raw stream, one message a line. */
static int tty_feed(struct docker_logcopy *lc, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) + 1 : len;

		if (lc->line_len + n > lc->line_cap) {
			size_t cap = (lc->line_len + n) * 2;
			char *grown = realloc(lc->line, cap);

			if (!grown)
				return -ENOMEM;
			lc->line = grown;
			lc->line_cap = cap;
		}
		memcpy(lc->line + lc->line_len, data, n);
		lc->line_len += n;
		data += n;
		len -= n;
		if (nl) {
			int r = message(lc, 1, lc->line, lc->line_len);

			lc->line_len = 0;
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int on_data(void *userdata, const char *data, size_t len)
{
	struct docker_logcopy *lc = userdata;
	int r = lc->tty ? tty_feed(lc, data, len) : docker_demux_feed(&lc->demux, data, len);

	pos_write(lc, false);
	return r;
}

/* One follow request from the last position, until the log ends or breaks. */
static int follow_once(struct docker_logcopy *lc)
{
	_cleanup_free_ char *path = NULL;
	struct docker_request rq = {
	    .method = "GET", .on_data = on_data, .userdata = lc, .cancel = &lc->stop};
	struct docker_response resp;
	int r;

	path = crib_xasprintf("/containers/%s/logs?follow=1&stdout=1&stderr=1&timestamps=1"
	                      "&since=%lld.%09lld",
	                      lc->docker_id, (long long)(lc->last_ns / 1000000000),
	                      (long long)(lc->last_ns % 1000000000));
	rq.path = path;
	lc->resume_ns = lc->last_ns;
	docker_demux_clear(&lc->demux);
	lc->line_len = 0;
	r = docker_engine_request(lc->e, &rq, &resp, NULL);
	if (r < 0)
		return r;
	r = resp.status == 200 ? 0 : resp.status == 404 ? -ENOENT : -EIO;
	docker_response_clear(&resp);
	return r;
}

/* Whether the container still runs (the stream may have broken with dockerd). */
static bool still_running(struct docker_logcopy *lc)
{
	struct crib_container_status s = {0};
	json_t *inspect = NULL;
	bool running;

	if (docker_inspect(lc->e, lc->docker_id, &inspect, NULL) < 0)
		return true; /* unknown: try again */
	docker_inspect_status(inspect, &s);
	running = s.state == CRIB_CONTAINER_RUNNING || s.state == CRIB_CONTAINER_UNKNOWN;
	json_decref(inspect);
	free(s.reason);
	free(s.message);
	free(s.info);
	return running;
}

static void *copy_main(void *arg)
{
	struct docker_logcopy *lc = arg;

	while (!atomic_load(&lc->stop)) {
		int r = follow_once(lc);

		if (atomic_load(&lc->stop))
			break;
		/* A container the Engine forgot has nothing more to say. */
		if (r == -ENOENT || (r == 0 && !still_running(lc))) {
			pos_write(lc, true);
			pthread_mutex_lock(&lc->lock);
			lc->done = true;
			pthread_cond_broadcast(&lc->cond);
			pthread_mutex_unlock(&lc->lock);
			break;
		}
		docker_pause_unless(&lc->stop, RETRY_MS);
	}
	return NULL;
}

static void logcopy_free(struct docker_logcopy *lc)
{
	lc->host->log_close(lc->w);
	if (lc->pos_fd >= 0)
		close(lc->pos_fd);
	docker_demux_clear(&lc->demux);
	pthread_mutex_destroy(&lc->lock);
	pthread_cond_destroy(&lc->cond);
	free(lc->line);
	free(lc->docker_id);
	free(lc);
}

int docker_logcopy_start(const struct crib_host *host, struct docker_engine *e,
                         const char *docker_id, const char *path, const char *pos_file, bool tty,
                         struct docker_logcopy **ret, struct crib_error **reterr)
{
	struct docker_logcopy *lc = crib_xcalloc(1, sizeof(*lc));
	bool done;
	int r;

	*ret = NULL;
	lc->host = host;
	lc->e = e;
	lc->docker_id = crib_xstrdup(docker_id);
	lc->tty = tty;
	lc->demux = (struct docker_demux){.fn = on_frame, .userdata = lc};
	atomic_init(&lc->stop, false);
	pthread_mutex_init(&lc->lock, NULL);
	pthread_cond_init(&lc->cond, NULL);
	lc->pos_fd = open(pos_file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lc->pos_fd < 0) {
		r = host->error_set(reterr, errno, "cannot open the log position file %s",
		                    pos_file);
		goto fail;
	}
	pos_read(lc->pos_fd, &lc->last_ns, &done);
	if (done) {
		logcopy_free(lc);
		return 0;
	}
	r = host->log_open(path, &lc->w, reterr);
	if (r < 0)
		goto fail;
	r = pthread_create(&lc->thread, NULL, copy_main, lc);
	if (r != 0) {
		r = host->error_set(reterr, r, "cannot start the log copier of %s", docker_id);
		goto fail;
	}
	*ret = lc;
	return 0;
fail:
	logcopy_free(lc);
	return r;
}

int docker_logcopy_reopen(struct docker_logcopy *lc, struct crib_error **reterr)
{
	return lc->host->log_reopen(lc->w, reterr);
}

bool docker_logcopy_wait(struct docker_logcopy *lc, long timeout_ms)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lc->lock);
	while (!lc->done && pthread_cond_timedwait(&lc->cond, &lc->lock, &until) == 0)
		;
	done = lc->done;
	pthread_mutex_unlock(&lc->lock);
	return done;
}

bool docker_logcopy_drained(const char *pos_file, long timeout_ms)
{
	for (long waited = 0;; waited += 20) {
		_cleanup_close_ int fd = open(pos_file, O_RDONLY | O_CLOEXEC);
		int64_t last;
		bool done;

		if (fd < 0)
			return true;
		pos_read(fd, &last, &done);
		if (done)
			return true;
		if (waited >= timeout_ms)
			return false;
		nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
	}
}

void docker_logcopy_stop(struct docker_logcopy *lc)
{
	if (!lc)
		return;
	atomic_store(&lc->stop, true);
	pthread_join(lc->thread, NULL);
	logcopy_free(lc);
}
