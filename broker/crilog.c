/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include <crib/backend.h>

#include "crilog.h"
#include "error.h"
#include "util.h"

struct crib_log_writer {
	pthread_mutex_t lock;
	char *path;
	int fd;
};

size_t crib_crilog_timestamp(int64_t ns, char out[40])
{
	time_t secs = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	int n;

	(void)gmtime_r(&secs, &tm);
	n = snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
	             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return n > 0 ? (size_t)n : 0;
}

static int open_log(const char *path, struct crib_error **reterr)
{
	_cleanup_free_ char *dir = crib_xstrdup(path);
	char *slash = strrchr(dir, '/');
	int fd, r;

	if (slash && slash != dir) {
		*slash = '\0';
		r = crib_mkdir_p(dir, 0755);
		if (r < 0)
			return crib_error_set(reterr, -r, "Failed to create log directory '%s': %s",
			                      dir, strerror(-r));
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return crib_error_set(reterr, errno, "Failed to open log file '%s': %s", path,
		                      strerror(errno));
	return fd;
}

int crib_crilog_open(const char *path, struct crib_log_writer **ret, struct crib_error **reterr)
{
	struct crib_log_writer *w;
	int fd;

	if (isempty(path) || path[0] != '/')
		return crib_error_set(reterr, EINVAL, "Log path '%s' is not absolute",
		                      path ? path : "");
	fd = open_log(path, reterr);
	if (fd < 0)
		return fd;
	w = crib_xcalloc(1, sizeof(*w));
	(void)pthread_mutex_init(&w->lock, NULL);
	w->path = crib_xstrdup(path);
	w->fd = fd;
	*ret = w;
	return 0;
}

static int write_iov(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int write_line(struct crib_log_writer *w, const char *prefix, size_t prefix_len,
                      const char *tag, const char *text, size_t len)
{
	struct iovec iov[4] = {
	    {.iov_base = (void *)prefix, .iov_len = prefix_len},
	    {.iov_base = (void *)tag, .iov_len = 2},
	    {.iov_base = (void *)text, .iov_len = len},
	    {.iov_base = (void *)"\n", .iov_len = 1},
	};

	return write_iov(w->fd, iov, 4);
}

int crib_crilog_write(struct crib_log_writer *w, uint32_t stream, const void *buf, size_t len,
                      struct crib_error **reterr)
{
	const char *p = buf, *end = p + len;
	char prefix[64];
	size_t plen;
	int r = 0;

	if (stream != CRIB_STREAM_STDOUT && stream != CRIB_STREAM_STDERR)
		return crib_error_set(reterr, EINVAL, "Unknown log stream %u", stream);
	plen = crib_crilog_timestamp(crib_now_ns(), prefix);
	plen += (size_t)snprintf(prefix + plen, sizeof(prefix) - plen, " %s ",
	                         stream == CRIB_STREAM_STDOUT ? "stdout" : "stderr");

	pthread_mutex_lock(&w->lock);
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t piece = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (piece > CRIB_CRILOG_LINE_MAX) {
			r = write_line(w, prefix, plen, "P ", p, CRIB_CRILOG_LINE_MAX);
			p += CRIB_CRILOG_LINE_MAX;
			continue;
		}
		r = write_line(w, prefix, plen, nl ? "F " : "P ", p, piece);
		p += piece + (nl ? 1 : 0);
	}
	pthread_mutex_unlock(&w->lock);
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to write log file '%s': %s", w->path,
		                      strerror(-r));
	return 0;
}

int crib_crilog_reopen(struct crib_log_writer *w, struct crib_error **reterr)
{
	int fd = open_log(w->path, reterr);

	if (fd < 0)
		return fd;
	pthread_mutex_lock(&w->lock);
	(void)close(w->fd);
	w->fd = fd;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void crib_crilog_close(struct crib_log_writer *w)
{
	if (!w)
		return;
	(void)close(w->fd);
	pthread_mutex_destroy(&w->lock);
	free(w->path);
	free(w);
}

/* Decoding. */

typedef void (*emit_fn)(void *ctx, const char *data, size_t n);

static bool stream_named(const char *s, size_t n)
{
	return n == 6 && (memcmp(s, "stdout", 6) == 0 || memcmp(s, "stderr", 6) == 0);
}

/* One line of the file, without its newline. */
static void decode_line(struct crib_crilog_decoder *dec, const char *line, size_t n, emit_fn emit,
                        void *ctx)
{
	const char *sp1 = memchr(line, ' ', n), *sp2 = NULL, *sp3 = NULL;

	if (sp1)
		sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line));
	if (sp2)
		sp3 = memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - line));
	if (!sp3 || !stream_named(sp1 + 1, (size_t)(sp2 - sp1 - 1)) ||
	    (sp2[1] != 'P' && sp2[1] != 'F')) {
		/* Not CRI format (written by something else): pass it on whole. */
		emit(ctx, line, n);
		emit(ctx, "\n", 1);
		dec->at_line_start = true;
		return;
	}
	if (dec->timestamps && dec->at_line_start) {
		emit(ctx, line, (size_t)(sp1 - line));
		emit(ctx, " ", 1);
	}
	emit(ctx, sp3 + 1, n - (size_t)(sp3 + 1 - line));
	dec->at_line_start = sp2[1] != 'P';
	if (dec->at_line_start)
		emit(ctx, "\n", 1);
}

static void carry_add(struct crib_crilog_decoder *dec, const char *data, size_t n)
{
	dec->carry = crib_xrealloc(dec->carry, dec->carry_len + n, 1);
	memcpy(dec->carry + dec->carry_len, data, n);
	dec->carry_len += n;
}

/* The writer never makes longer lines: longer ones are not ours, and memory stays bounded. */
#define DECODE_LINE_MAX (CRIB_CRILOG_LINE_MAX + 128)

void crib_crilog_decode(struct crib_crilog_decoder *dec, const char *data, size_t n, emit_fn emit,
                        void *ctx)
{
	const char *end = data + n, *nl;

	while (data < end && (nl = memchr(data, '\n', (size_t)(end - data)))) {
		if (dec->carry_len) {
			carry_add(dec, data, (size_t)(nl - data));
			decode_line(dec, dec->carry, dec->carry_len, emit, ctx);
			dec->carry_len = 0;
		} else {
			decode_line(dec, data, (size_t)(nl - data), emit, ctx);
		}
		data = nl + 1;
	}
	if (data < end)
		carry_add(dec, data, (size_t)(end - data));
	if (dec->carry_len > DECODE_LINE_MAX) {
		emit(ctx, dec->carry, dec->carry_len);
		dec->carry_len = 0;
		dec->at_line_start = false;
	}
}

void crib_crilog_decoder_clear(struct crib_crilog_decoder *dec)
{
	free(dec->carry);
	dec->carry = NULL;
	dec->carry_len = 0;
}
