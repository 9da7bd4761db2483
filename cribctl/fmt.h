/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How cribctl turns the admin API's values into table cells: RFC 3339 times
 * into ages, byte counts into IEC units.  Pure functions, so that the unit
 * tests pin the exact text.
 */
#ifndef CRIB_CRIBCTL_FMT_H
#define CRIB_CRIBCTL_FMT_H

#include <stdint.h>

/*
 * Parses an RFC 3339 time ("2024-05-01T12:34:56.123456789Z", or with a
 * numeric offset) into whole seconds since the epoch; the fraction is
 * dropped.  Returns 0, or -EINVAL for anything else.
 */
int crib_ctl_parse_time(const char *s, int64_t *ret);

/*
 * "N seconds ago" up to a minute, then minutes, hours (under two days) and
 * days, singular for 1.  A negative age (a clock ahead of ours) counts as 0.
 * Returns a malloc'd string the caller frees.
 */
char *crib_ctl_format_age(int64_t seconds);

/*
 * Bytes in IEC units: "512B", "1.5KiB", "20.0MiB" ... "EiB".  Returns a
 * malloc'd string the caller frees; "-" for a negative or non-finite count.
 */
char *crib_ctl_format_bytes(double bytes);

#endif /* CRIB_CRIBCTL_FMT_H */
