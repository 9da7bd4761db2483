/* SPDX-License-Identifier: Apache-2.0 */
/* cribctl's cell formats: RFC 3339 times, ages and byte counts, to the character. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fmt.h"
#include "util.h"

static void test_parse_time(void **state)
{
	int64_t t = -1;

	(void)state;
	assert_int_equal(crib_ctl_parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(crib_ctl_parse_time("2024-02-29T12:34:56.123456789Z", &t), 0);
	assert_int_equal(t, 1709210096);
	assert_int_equal(crib_ctl_parse_time("2024-02-29T12:34:56Z", &t), 0);
	assert_int_equal(t, 1709210096);
	assert_int_equal(crib_ctl_parse_time("2024-02-29T13:34:56.5+01:00", &t), 0);
	assert_int_equal(t, 1709210096);
	assert_int_equal(crib_ctl_parse_time("2024-02-29T07:04:56-05:30", &t), 0);
	assert_int_equal(t, 1709210096);
}

static void test_parse_time_refuses(void **state)
{
	static const char *const bad[] = {
	    "",
	    "now",
	    "2024-02-29",
	    "2024-02-29T12:34:56",
	    "2024-02-29 12:34:56Z",
	    "2024-2-29T12:34:56Z",
	    "2024-13-01T00:00:00Z",
	    "2024-02-29T24:00:00Z",
	    "2024-02-29T12:34:56.Z",
	    "2024-02-29T12:34:56ZZ",
	    "2024-02-29T12:34:56+1:00",
	    "2024-02-29T12:34:56+01:00x",
	    " 2024-02-29T12:34:56Z",
	};
	int64_t t = 42;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (crib_ctl_parse_time(bad[i], &t) != -EINVAL)
			fail_msg("'%s' was not refused", bad[i]);
	assert_int_equal(crib_ctl_parse_time(NULL, &t), -EINVAL);
	assert_int_equal(t, 42);
}

static void check_age(int64_t seconds, const char *want)
{
	_cleanup_free_ char *got = crib_ctl_format_age(seconds);

	assert_string_equal(got, want);
}

static void test_format_age(void **state)
{
	(void)state;
	check_age(-5, "0 seconds ago");
	check_age(0, "0 seconds ago");
	check_age(1, "1 second ago");
	check_age(59, "59 seconds ago");
	check_age(60, "1 minute ago");
	check_age(119, "1 minute ago");
	check_age(3599, "59 minutes ago");
	check_age(3600, "1 hour ago");
	check_age(47 * 3600 + 3599, "47 hours ago");
	check_age(48 * 3600, "2 days ago");
	check_age(400 * 86400, "400 days ago");
}

static void check_bytes(double bytes, const char *want)
{
	_cleanup_free_ char *got = crib_ctl_format_bytes(bytes);

	assert_string_equal(got, want);
}

static void test_format_bytes(void **state)
{
	(void)state;
	check_bytes(0, "0B");
	check_bytes(1023, "1023B");
	check_bytes(1024, "1.0KiB");
	check_bytes(1536, "1.5KiB");
	/* Rounding must not print 1024.0 of a unit. */
	check_bytes(1024 * 1024 - 1, "1.0MiB");
	check_bytes(20.0 * 1024 * 1024, "20.0MiB");
	check_bytes(3.0 * 1024 * 1024 * 1024, "3.0GiB");
	check_bytes(2.0 * 1024 * 1024 * 1024 * 1024 * 1024 * 1024, "2.0EiB");
	check_bytes(-1, "-");
	check_bytes(NAN, "-");
	check_bytes(INFINITY, "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test(test_parse_time_refuses),
	    cmocka_unit_test(test_format_age),
	    cmocka_unit_test(test_format_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
