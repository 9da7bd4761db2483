/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "util.h"

/* Reads exactly N digits at *p into *ret and advances *p. */
static int read_digits(const char **p, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

static int expect_char(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

/* The zone suffix: "Z" or "+hh:mm" / "-hh:mm", as seconds east of UTC. */
static int parse_zone(const char *p, int64_t *ret)
{
	int sign, hh, mm;

	if (*p == 'Z' && p[1] == '\0') {
		*ret = 0;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -EINVAL;
	sign = *p == '-' ? -1 : 1;
	p++;
	if (read_digits(&p, 2, &hh) < 0 || expect_char(&p, ':') < 0 || read_digits(&p, 2, &mm) < 0)
		return -EINVAL;
	if (*p != '\0' || hh > 23 || mm > 59)
		return -EINVAL;
	*ret = sign * (int64_t)(hh * 3600 + mm * 60);
	return 0;
}

/* "YYYY-MM-DDThh:mm:ss" digit by digit: strptime() would skip spaces and take short fields. */
static int parse_date_time(const char **p, struct tm *tm)
{
	if (read_digits(p, 4, &tm->tm_year) < 0 || expect_char(p, '-') < 0 ||
	    read_digits(p, 2, &tm->tm_mon) < 0 || expect_char(p, '-') < 0 ||
	    read_digits(p, 2, &tm->tm_mday) < 0 || expect_char(p, 'T') < 0 ||
	    read_digits(p, 2, &tm->tm_hour) < 0 || expect_char(p, ':') < 0 ||
	    read_digits(p, 2, &tm->tm_min) < 0 || expect_char(p, ':') < 0 ||
	    read_digits(p, 2, &tm->tm_sec) < 0)
		return -EINVAL;
	if (tm->tm_mon < 1 || tm->tm_mon > 12 || tm->tm_mday < 1 || tm->tm_mday > 31 ||
	    tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60)
		return -EINVAL;
	tm->tm_year -= 1900;
	tm->tm_mon -= 1;
	return 0;
}

int crib_ctl_parse_time(const char *s, int64_t *ret)
{
	struct tm tm = {0};
	const char *p = s;
	int64_t zone;

	if (!s || parse_date_time(&p, &tm) < 0)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (parse_zone(p, &zone) < 0)
		return -EINVAL;
	*ret = (int64_t)timegm(&tm) - zone;
	return 0;
}

char *crib_ctl_format_age(int64_t seconds)
{
	static const struct {
		int64_t below; /* use this unit for ages under this many seconds */
		int64_t size;
		const char *name;
	} units[] = {
	    {60, 1, "second"},
	    {3600, 60, "minute"},
	    {2 * 86400, 3600, "hour"},
	    {INT64_MAX, 86400, "day"},
	};
	size_t i = 0;
	int64_t n;

	if (seconds < 0)
		seconds = 0;
	while (i + 1 < ARRAY_SIZE(units) && seconds >= units[i].below)
		i++;
	n = seconds / units[i].size;
	return crib_xasprintf("%lld %s%s ago", (long long)n, units[i].name, n == 1 ? "" : "s");
}

char *crib_ctl_format_bytes(double bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	size_t i = 0;

	if (!isfinite(bytes) || bytes < 0)
		return crib_xstrdup("-");
	if (bytes < 1024)
		return crib_xasprintf("%.0fB", bytes);
	bytes /= 1024;
	/* 1023.95KiB would print as "1024.0KiB": move up a unit before rounding does. */
	while (i + 1 < ARRAY_SIZE(units) && bytes >= 1023.95) {
		bytes /= 1024;
		i++;
	}
	return crib_xasprintf("%.1f%s", bytes, units[i]);
}
