/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribctl's Prometheus text parser: what a sample line means (labels and
 * their escapes, special values, timestamps), which lines it refuses, and
 * how `top` gathers cribd's per-container metrics from a whole exposition.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "prom.h"
#include "top.h"
#include "util.h"

/* Parses LINE, which must be a sample, into *s. */
static void parse_ok(const char *line, struct crib_ctl_prom_sample *s)
{
	int r = crib_ctl_prom_parse_line(line, strlen(line), s);

	if (r != 1)
		fail_msg("'%s' did not parse as a sample (%d)", line, r);
}

static void test_labels_and_escapes(void **state)
{
	struct crib_ctl_prom_sample s = {0};

	(void)state;
	parse_ok("crib_container_cpu_usage_seconds_total{backend=\"testproc\",pod=\"a\\\"b\","
	         "container=\"c\\\\d\",id=\"x\\ny\"} 1.5 1700000000000",
	         &s);
	assert_string_equal(s.name, "crib_container_cpu_usage_seconds_total");
	assert_int_equal(s.n_labels, 4);
	assert_string_equal(s.labels[0].name, "backend");
	assert_string_equal(crib_ctl_prom_label(&s, "pod"), "a\"b");
	assert_string_equal(crib_ctl_prom_label(&s, "container"), "c\\d");
	assert_string_equal(crib_ctl_prom_label(&s, "id"), "x\ny");
	assert_null(crib_ctl_prom_label(&s, "namespace"));
	assert_true(s.value == 1.5);
	assert_true(s.timestamp_ms == 1700000000000LL);
	crib_ctl_prom_sample_clear(&s);

	/* Blanks inside the braces, a trailing comma, an empty value, a ':' in the name. */
	parse_ok("  job:up { a = \"1\" , b=\"\", } \t 2  ", &s);
	assert_string_equal(s.name, "job:up");
	assert_int_equal(s.n_labels, 2);
	assert_string_equal(crib_ctl_prom_label(&s, "b"), "");
	assert_true(s.value == 2);
	assert_true(s.timestamp_ms == 0); /* none given */
	crib_ctl_prom_sample_clear(&s);

	/* Timestamps before 1970 are allowed too. */
	parse_ok("x 1 -42", &s);
	assert_true(s.timestamp_ms == -42);
	crib_ctl_prom_sample_clear(&s);
}

static void test_without_labels(void **state)
{
	struct crib_ctl_prom_sample s = {0};

	(void)state;
	parse_ok("crib_up 1", &s);
	assert_int_equal(s.n_labels, 0);
	assert_null(s.labels);
	crib_ctl_prom_sample_clear(&s);
	parse_ok("crib_up{} 0\r", &s);
	assert_int_equal(s.n_labels, 0);
	assert_true(s.value == 0);
	crib_ctl_prom_sample_clear(&s);
}

static void test_special_values(void **state)
{
	struct crib_ctl_prom_sample s = {0};

	(void)state;
	parse_ok("x NaN", &s);
	assert_true(isnan(s.value));
	crib_ctl_prom_sample_clear(&s);
	parse_ok("x +Inf", &s);
	assert_true(isinf(s.value) && s.value > 0);
	crib_ctl_prom_sample_clear(&s);
	parse_ok("x -Inf -12", &s);
	assert_true(isinf(s.value) && s.value < 0);
	crib_ctl_prom_sample_clear(&s);
	parse_ok("x 1.25e3", &s);
	assert_true(s.value == 1250);
	crib_ctl_prom_sample_clear(&s);
}

static void test_comments_and_blanks(void **state)
{
	static const char *const lines[] = {
	    "", "   ", "\t", "\r", "# HELP x The x.", "# TYPE x counter", "#", "  # indented",
	};
	struct crib_ctl_prom_sample s = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		assert_int_equal(crib_ctl_prom_parse_line(lines[i], strlen(lines[i]), &s), 0);
	assert_null(s.name);
}

static void test_garbage(void **state)
{
	static const char *const lines[] = {
	    "garbage",
	    "x",
	    "x ",
	    "1x 2",
	    "x{a=\"1\"}2",
	    "x{a=1} 2",
	    "x{a=\"1\" 2",
	    "x{a=\"1\"",
	    "x{a=\"1} 2",
	    "x{a=\"\\t\"} 1",
	    "x{a=\"1\",a=\"2\"} 1",
	    "x{,} 1",
	    "x{a:b=\"1\"} 1",
	    "x{a=\"1\"}} 1",
	    "x abc",
	    "x 1 2 3",
	    "x 1 12a",
	    "x 1 -",
	    "x 0x",
	    "x 1\x01",
	    "{a=\"1\"} 1",
	};
	struct crib_ctl_prom_sample s = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		if (crib_ctl_prom_parse_line(lines[i], strlen(lines[i]), &s) != -EINVAL)
			fail_msg("'%s' was not refused", lines[i]);
	assert_null(s.name); /* untouched on failure */
}

/* The length bounds the line: no read past it, and a NUL inside it is refused. */
static void test_length_bounds(void **state)
{
	static const char value_nul[] = "x{a=\"1\0\"} 2";
	struct crib_ctl_prom_sample s = {0};

	(void)state;
	assert_int_equal(crib_ctl_prom_parse_line("up 12345", 4, &s), 1);
	assert_true(s.value == 1);
	crib_ctl_prom_sample_clear(&s);
	assert_int_equal(crib_ctl_prom_parse_line("up 1 garbage", 4, &s), 1);
	crib_ctl_prom_sample_clear(&s);
	assert_int_equal(crib_ctl_prom_parse_line(value_nul, sizeof(value_nul) - 1, &s), -EINVAL);
	assert_int_equal(crib_ctl_prom_parse_line("x{a=\"1\"} 2", 7, &s), -EINVAL);
}

static int count_samples(const struct crib_ctl_prom_sample *s, void *userdata)
{
	(void)s;
	(*(size_t *)userdata)++;
	return 0;
}

static int stop_at_second(const struct crib_ctl_prom_sample *s, void *userdata)
{
	(void)s;
	return ++(*(size_t *)userdata) == 2 ? -ECANCELED : 0;
}

static void test_parse_whole_text(void **state)
{
	static const char text[] = "# TYPE a gauge\n"
	                           "a 1\n"
	                           "bad line\n"
	                           "\n"
	                           "b{x=\"y\"} 2\r\n"
	                           "c 3"; /* no final newline */
	size_t n = 0, bad = 99;

	(void)state;
	assert_int_equal(crib_ctl_prom_parse(text, strlen(text), count_samples, &n, &bad), 0);
	assert_int_equal(n, 3);
	assert_int_equal(bad, 1);
	n = 0;
	assert_int_equal(crib_ctl_prom_parse(text, strlen(text), stop_at_second, &n, NULL),
	                 -ECANCELED);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(crib_ctl_prom_parse("", 0, count_samples, &n, &bad), 0);
	assert_int_equal(n, 0);
	assert_int_equal(bad, 0);
}

/* What cribd's /metrics looks like, with everything top must step over. */
static const char exposition[] =
    "# HELP crib_up Whether cribd is up.\n"
    "# TYPE crib_up gauge\n"
    "crib_up 1\n"
    "# HELP crib_container_cpu_usage_seconds_total CPU time.\n"
    "# TYPE crib_container_cpu_usage_seconds_total counter\n"
    "crib_container_cpu_usage_seconds_total{backend=\"testproc\",runtime_class=\"proc\","
    "namespace=\"default\",pod=\"p\\\"1\",container=\"web\",id=\"aaaa\"} 12.5\n"
    "crib_container_cpu_usage_seconds_total{backend=\"testproc\",id=\"bbbb\"} NaN\n"
    "crib_container_cpu_usage_seconds_total{backend=\"testproc\"} 99\n"
    "crib_container_memory_working_set_bytes{id=\"aaaa\"} 1048576\n"
    "crib_container_memory_working_set_bytes{id=\"bbbb\"} -1\n"
    "crib_container_state{id=\"aaaa\",state=\"created\"} 0\n"
    "crib_container_state{id=\"aaaa\",state=\"running\"} 1\n"
    "crib_container_state{id=\"cccc\",state=\"exited\"} 1\n"
    "crib_container_state{id=\"cccc\",state=\"running\"} 0\n"
    "crib_container_state{id=\"dddd\"} 1\n"
    "crib_container_cpu_usage_seconds_total{id=\"eeee\" 5\n"
    "something else entirely\n";

static void test_usage_from_exposition(void **state)
{
	struct crib_ctl_usage_set set = {0};
	const struct crib_ctl_usage *u;

	(void)state;
	assert_int_equal(crib_ctl_usage_parse(exposition, strlen(exposition), &set), 0);
	assert_int_equal(set.bad_lines, 2);

	u = crib_ctl_usage_find(&set, "aaaa");
	assert_non_null(u);
	assert_true(u->cpu_seconds == 12.5);
	assert_true(u->memory_bytes == 1048576);
	assert_string_equal(u->state, "running");

	/* NaN and negative samples say nothing. */
	assert_null(crib_ctl_usage_find(&set, "bbbb"));

	u = crib_ctl_usage_find(&set, "cccc");
	assert_non_null(u);
	assert_string_equal(u->state, "exited");
	assert_true(isnan(u->cpu_seconds) && isnan(u->memory_bytes));

	/* No state label, no id label, a broken line: nothing. */
	assert_null(crib_ctl_usage_find(&set, "dddd"));
	assert_null(crib_ctl_usage_find(&set, "eeee"));
	assert_null(crib_ctl_usage_find(&set, NULL));
	assert_int_equal(HASH_COUNT(set.by_id), 2);

	crib_ctl_usage_clear(&set);
	assert_null(set.by_id);
	assert_int_equal(set.bad_lines, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_labels_and_escapes),
	    cmocka_unit_test(test_without_labels),
	    cmocka_unit_test(test_special_values),
	    cmocka_unit_test(test_comments_and_blanks),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_length_bounds),
	    cmocka_unit_test(test_parse_whole_text),
	    cmocka_unit_test(test_usage_from_exposition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
