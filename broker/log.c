/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "util.h"

static atomic_int log_max_level = CRIB_LOG_INFO;
static atomic_int log_format = CRIB_LOG_FORMAT_TEXT;

static const char *const level_names[] = {
    [CRIB_LOG_ERR] = "err",   [CRIB_LOG_WARNING] = "warning", [CRIB_LOG_NOTICE] = "notice",
    [CRIB_LOG_INFO] = "info", [CRIB_LOG_DEBUG] = "debug",
};

void crib_log_setup(int max_level, int format)
{
	atomic_store(&log_max_level, max_level);
	atomic_store(&log_format, format);
}

bool crib_log_enabled(int level)
{
	return level <= atomic_load(&log_max_level);
}

int crib_log_level_from_string(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (level_names[i] && streq(level_names[i], s))
			return (int)i;
	return -EINVAL;
}

const char *crib_log_level_to_string(int level)
{
	if (level < 0 || (size_t)level >= ARRAY_SIZE(level_names) || !level_names[level])
		return "info";
	return level_names[level];
}

static void format_time(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)gmtime_r(&ts.tv_sec, &tm);
	(void)snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
	               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	               ts.tv_nsec / 1000);
}

static void write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void emit_json(const char *when, int level, const char *category, const char *text)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "level",
	                      crib_log_level_to_string(level), "category", category, "msg", text);
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (line) {
		write_all(line, strlen(line));
		write_all("\n", 1);
	}
	free(line);
	json_decref(o);
}

void crib_logv(int level, const char *category, const char *fmt, va_list ap)
{
	char when[80], text[4096], line[4400];
	int n;

	if (!crib_log_enabled(level))
		return;
	format_time(when, sizeof(when));
	(void)vsnprintf(text, sizeof(text), fmt, ap);

	if (atomic_load(&log_format) == CRIB_LOG_FORMAT_JSON) {
		emit_json(when, level, category, text);
		return;
	}
	n = snprintf(line, sizeof(line), "%s %s [%s] %s\n", when, crib_log_level_to_string(level),
	             category, text);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		/* Truncated: keep the line a line. */
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	write_all(line, (size_t)n);
}

void crib_log(int level, const char *category, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	crib_logv(level, category, fmt, ap);
	va_end(ap);
}
