/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: syslog levels, a category per subsystem or backend, one line per
 * message written with a single write(2) to stderr, as text or JSON.  Safe
 * from any thread.  Messages read "Failed to <verb> '<obj>': <why>".
 */
#ifndef CRIB_BROKER_LOG_H
#define CRIB_BROKER_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include <crib/backend.h> /* enum crib_log_level */

enum crib_log_format {
	CRIB_LOG_FORMAT_TEXT = 0,
	CRIB_LOG_FORMAT_JSON = 1,
};

void crib_log_setup(int max_level, int format);
bool crib_log_enabled(int level);

void crib_log(int level, const char *category, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void crib_logv(int level, const char *category, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Parses "err", "warning", "notice", "info", "debug"; -EINVAL otherwise. */
int crib_log_level_from_string(const char *s);
const char *crib_log_level_to_string(int level);

/* Each .c file defines LOG_CAT before using these. */
#define log_err(...)     crib_log(CRIB_LOG_ERR, LOG_CAT, __VA_ARGS__)
#define log_warning(...) crib_log(CRIB_LOG_WARNING, LOG_CAT, __VA_ARGS__)
#define log_notice(...)  crib_log(CRIB_LOG_NOTICE, LOG_CAT, __VA_ARGS__)
#define log_info(...)    crib_log(CRIB_LOG_INFO, LOG_CAT, __VA_ARGS__)
#define log_debug(...)   crib_log(CRIB_LOG_DEBUG, LOG_CAT, __VA_ARGS__)

#endif /* CRIB_BROKER_LOG_H */
