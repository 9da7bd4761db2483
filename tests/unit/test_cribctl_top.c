/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cribctl top`'s arithmetic and what it shows: CPU% from two counter
 * samples, the rows for the running containers and their order, and the
 * JSON and table forms.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "top.h"
#include "util.h"

static void test_cpu_percent(void **state)
{
	(void)state;
	assert_true(crib_ctl_cpu_percent(10, 11, 2) == 50);
	/* Two cores busy for the whole second. */
	assert_true(crib_ctl_cpu_percent(3, 5, 1) == 200);
	assert_true(crib_ctl_cpu_percent(7, 7, 0.5) == 0);
	assert_true(fabs(crib_ctl_cpu_percent(0, 0.25, 0.5) - 50) < 1e-9);
	/* Nothing to say: a missing sample, a restarted counter, no time. */
	assert_true(isnan(crib_ctl_cpu_percent(NAN, 1, 1)));
	assert_true(isnan(crib_ctl_cpu_percent(1, NAN, 1)));
	assert_true(isnan(crib_ctl_cpu_percent(5, 4, 1)));
	assert_true(isnan(crib_ctl_cpu_percent(1, 2, 0)));
	assert_true(isnan(crib_ctl_cpu_percent(1, 2, -1)));
	assert_true(isnan(crib_ctl_cpu_percent(1, INFINITY, 1)));
}

static const char before_text[] = "crib_container_cpu_usage_seconds_total{id=\"idle\"} 1\n"
                                  "crib_container_cpu_usage_seconds_total{id=\"busy\"} 10\n"
                                  "crib_container_cpu_usage_seconds_total{id=\"half\"} 4\n"
                                  "crib_container_cpu_usage_seconds_total{id=\"gone\"} 1\n"
                                  "crib_container_memory_working_set_bytes{id=\"idle\"} 100\n";
/* Two seconds later: "nostats" has neither counter, "new" no earlier sample, "gone" exited. */
static const char after_text[] =
    "crib_container_cpu_usage_seconds_total{id=\"idle\"} 1\n"
    "crib_container_cpu_usage_seconds_total{id=\"busy\"} 12\n"
    "crib_container_cpu_usage_seconds_total{id=\"half\"} 5\n"
    "crib_container_cpu_usage_seconds_total{id=\"new\"} 3\n"
    "crib_container_cpu_usage_seconds_total{id=\"gone\"} 2\n"
    "crib_container_state{id=\"gone\",state=\"exited\"} 1\n"
    "crib_container_state{id=\"busy\",state=\"running\"} 1\n"
    "crib_container_memory_working_set_bytes{id=\"idle\"} 200\n"
    "crib_container_memory_working_set_bytes{id=\"busy\"} 1073741824\n";

static const char containers_text[] =
    "[{\"id\": \"idle\", \"name\": \"b-idle\", \"pod_name\": \"p1\", \"backend\": \"testproc\"},"
    " {\"id\": \"busy\", \"name\": \"busy\", \"pod_name\": \"p1\", \"backend\": \"testproc\"},"
    " {\"id\": \"half\", \"name\": \"half\", \"pod_name\": \"p2\", \"backend\": \"oci\"},"
    " {\"id\": \"nostats\", \"name\": \"a-nostats\", \"pod_name\": \"p2\", \"backend\": \"oci\"},"
    " {\"id\": \"new\", \"name\": \"new\", \"pod_name\": \"p3\", \"backend\": \"oci\"},"
    " {\"id\": \"gone\", \"name\": \"gone\", \"pod_name\": \"p3\", \"backend\": \"oci\"},"
    " {\"name\": \"no-id\"}]";

struct fixture {
	struct crib_ctl_usage_set before;
	struct crib_ctl_usage_set after;
	json_t *containers;
	struct crib_ctl_top_row *rows;
	size_t n;
};

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));

	assert_int_equal(crib_ctl_usage_parse(before_text, strlen(before_text), &f->before), 0);
	assert_int_equal(crib_ctl_usage_parse(after_text, strlen(after_text), &f->after), 0);
	f->containers = json_loads(containers_text, 0, NULL);
	assert_non_null(f->containers);
	crib_ctl_top_rows(f->containers, &f->before, &f->after, 2.0, &f->rows, &f->n);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	crib_ctl_usage_clear(&f->before);
	crib_ctl_usage_clear(&f->after);
	json_decref(f->containers);
	free(f->rows);
	free(f);
	return 0;
}

static void test_rows_sorted_by_cpu(void **state)
{
	struct fixture *f = *state;
	static const char *const order[] = {"busy", "half", "idle", "nostats", "new"};

	assert_int_equal(f->n, ARRAY_SIZE(order));
	for (size_t i = 0; i < f->n; i++)
		assert_string_equal(f->rows[i].id, order[i]);
	assert_true(f->rows[0].cpu_percent == 100);
	assert_true(f->rows[0].memory_bytes == 1073741824);
	assert_string_equal(f->rows[0].pod, "p1");
	assert_string_equal(f->rows[0].backend, "testproc");
	assert_true(f->rows[1].cpu_percent == 50);
	assert_true(isnan(f->rows[1].memory_bytes));
	assert_true(f->rows[2].cpu_percent == 0);
	assert_true(f->rows[2].memory_bytes == 200);
	/* Unknown CPU goes last, by name: "a-nostats" before "new". */
	assert_true(isnan(f->rows[3].cpu_percent) && isnan(f->rows[4].cpu_percent));
}

static void test_json(void **state)
{
	struct fixture *f = *state;
	json_t *doc = crib_ctl_top_json(f->rows, f->n);
	json_t *first, *nostats;

	assert_non_null(doc);
	assert_int_equal(json_array_size(doc), f->n);
	first = json_array_get(doc, 0);
	assert_int_equal(json_object_size(first), 6);
	assert_string_equal(json_string_value(json_object_get(first, "id")), "busy");
	assert_string_equal(json_string_value(json_object_get(first, "name")), "busy");
	assert_string_equal(json_string_value(json_object_get(first, "pod")), "p1");
	assert_string_equal(json_string_value(json_object_get(first, "backend")), "testproc");
	assert_true(json_number_value(json_object_get(first, "cpu_percent")) == 100);
	assert_true(json_is_integer(json_object_get(first, "memory_working_set_bytes")));
	assert_int_equal(json_integer_value(json_object_get(first, "memory_working_set_bytes")),
	                 1073741824);
	nostats = json_array_get(doc, 3);
	assert_true(json_is_null(json_object_get(nostats, "cpu_percent")));
	assert_true(json_is_null(json_object_get(nostats, "memory_working_set_bytes")));
	json_decref(doc);
}

static void test_table(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	assert_non_null(mem);
	assert_int_equal(crib_ctl_top_print_table(f->rows, 2, mem), 0);
	assert_int_equal(fclose(mem), 0);
	assert_string_equal(text, "CONTAINER   NAME   POD   BACKEND    CPU%    MEM\n"
	                          "busy        busy   p1    testproc   100.0   1.0GiB\n"
	                          "half        half   p2    oci        50.0    -\n");
	free(text);
}

/*
 * cribd stamps its stats with when it took them: rates are over that time,
 * not over when they were asked for (a scrape may get stats a second old).
 */
static void test_rates_over_sample_timestamps(void **state)
{
	static const char t1[] = "crib_container_cpu_usage_seconds_total{id=\"a\"} 10 1000\n"
	                         "crib_container_cpu_usage_seconds_total{id=\"b\"} 10 1000\n";
	static const char t2[] = "crib_container_cpu_usage_seconds_total{id=\"a\"} 10.5 2000\n"
	                         "crib_container_cpu_usage_seconds_total{id=\"b\"} 10 1000\n";
	static const char list[] =
	    "[{\"id\": \"a\", \"name\": \"a\"}, {\"id\": \"b\", \"name\": \"b\"}]";
	struct crib_ctl_usage_set before = {0}, after = {0};
	struct crib_ctl_top_row *rows = NULL;
	json_t *ctrs = json_loads(list, 0, NULL);
	size_t n = 0;

	(void)state;
	assert_int_equal(crib_ctl_usage_parse(t1, strlen(t1), &before), 0);
	assert_int_equal(crib_ctl_usage_parse(t2, strlen(t2), &after), 0);
	assert_true(crib_ctl_usage_newest(&before) == 1000);
	assert_true(crib_ctl_usage_newest(&after) == 2000);
	/* Asked 5 s apart, taken 1 s apart: 50%, not 10%. */
	crib_ctl_top_rows(ctrs, &before, &after, 5.0, &rows, &n);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].id, "a");
	assert_true(fabs(rows[0].cpu_percent - 50) < 1e-9);
	/* The same sample twice: no time passed, no rate. */
	assert_true(isnan(rows[1].cpu_percent));
	free(rows);
	crib_ctl_usage_clear(&before);
	crib_ctl_usage_clear(&after);
	assert_true(crib_ctl_usage_newest(&after) == 0);
	json_decref(ctrs);
}

static void test_empty(void **state)
{
	struct crib_ctl_usage_set none = {0};
	struct crib_ctl_top_row *rows = NULL;
	json_t *empty = json_array(), *doc;
	size_t n = 7;

	(void)state;
	crib_ctl_top_rows(empty, &none, &none, 1, &rows, &n);
	assert_int_equal(n, 0);
	doc = crib_ctl_top_json(rows, n);
	assert_int_equal(json_array_size(doc), 0);
	json_decref(doc);
	json_decref(empty);
	free(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpu_percent),
	    cmocka_unit_test_setup_teardown(test_rows_sorted_by_cpu, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_table, setup, teardown),
	    cmocka_unit_test(test_rates_over_sample_timestamps),
	    cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
