/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribctl's tables: column widths (headers, cells, UTF-8), the exact layout,
 * control characters from the server kept out of the terminal, and the JSON
 * objects of the admin API turned into cells.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "list.h"
#include "table.h"
#include "util.h"
#include "view.h"

static void add_row(struct crib_ctl_table *t, const char *a, const char *b, const char *c)
{
	char *cells[] = {crib_xstrdup(a), crib_xstrdup(b), crib_xstrdup(c)};

	crib_ctl_table_add_row(t, cells);
}

/* The table as text, malloc'd. */
static char *render(const struct crib_ctl_table *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	assert_non_null(mem);
	assert_int_equal(crib_ctl_table_print(t, mem), 0);
	assert_int_equal(fclose(mem), 0);
	return text;
}

static void test_widths(void **state)
{
	static const char *const headers[] = {"NAME", "STATE", "X"};
	struct crib_ctl_table t;
	size_t widths[3];

	(void)state;
	crib_ctl_table_init(&t, headers, 3);
	crib_ctl_table_widths(&t, widths);
	assert_int_equal(widths[0], 4);
	assert_int_equal(widths[1], 5);
	assert_int_equal(widths[2], 1);

	add_row(&t, "a-long-name", "ok", "");
	/* Three characters in seven bytes: the width counts characters. */
	add_row(&t, "b", "\xc3\xa9t\xc3\xa9\xe2\x9c\x93", "yz");
	crib_ctl_table_widths(&t, widths);
	assert_int_equal(widths[0], 11);
	assert_int_equal(widths[1], 5);
	assert_int_equal(widths[2], 2);
	assert_int_equal(crib_ctl_text_width("\xc3\xa9t\xc3\xa9\xe2\x9c\x93"), 4);
	assert_int_equal(crib_ctl_text_width(""), 0);
	crib_ctl_table_clear(&t);
	crib_ctl_table_clear(&t); /* twice is fine */
	crib_ctl_table_clear(NULL);
}

static void test_layout(void **state)
{
	static const char *const headers[] = {"POD ID", "NAME", "NOTE"};
	struct crib_ctl_table t;
	_cleanup_free_ char *text = NULL;

	(void)state;
	crib_ctl_table_init(&t, headers, 3);
	add_row(&t, "0123456789abc", "web", "");
	add_row(&t, "ff", "a-much-longer-name", "why it failed");
	text = render(&t);
	/* Three spaces between columns, none after the last, even when it is empty. */
	assert_string_equal(text, "POD ID          NAME                 NOTE\n"
	                          "0123456789abc   web                  \n"
	                          "ff              a-much-longer-name   why it failed\n");
	crib_ctl_table_clear(&t);
}

static void test_headers_only(void **state)
{
	static const char *const headers[] = {"A", "B", "C"};
	struct crib_ctl_table t;
	_cleanup_free_ char *text = NULL;

	(void)state;
	crib_ctl_table_init(&t, headers, 3);
	text = render(&t);
	assert_string_equal(text, "A   B   C\n");
	crib_ctl_table_clear(&t);
}

static void test_control_characters(void **state)
{
	static const char *const headers[] = {"A", "B", "C"};
	struct crib_ctl_table t;
	_cleanup_free_ char *text = NULL;

	(void)state;
	crib_ctl_table_init(&t, headers, 3);
	add_row(&t, "two\nlines", "\033[2Jclear", "tab\there\x7f");
	text = render(&t);
	assert_string_equal(text, "A           B           C\n"
	                          "two?lines   ?[2Jclear   tab?here?\n");
	crib_ctl_table_clear(&t);
}

static char *cell(enum crib_ctl_cell kind, const char *key, const char *item_json)
{
	const struct crib_ctl_column col = {.header = "H", .key = key, .kind = kind};
	json_t *item = json_loads(item_json, 0, NULL);
	char *text;

	assert_non_null(item);
	/* 2024-02-29T12:34:56Z plus 90 seconds. */
	text = crib_ctl_cell_text(&col, item, 1709210096 + 90);
	json_decref(item);
	return text;
}

static void check_cell(enum crib_ctl_cell kind, const char *key, const char *item_json,
                       const char *want)
{
	_cleanup_free_ char *got = cell(kind, key, item_json);

	assert_string_equal(got, want);
}

static void test_cells(void **state)
{
	(void)state;
	check_cell(CRIB_CTL_CELL_TEXT, "name", "{\"name\": \"web\"}", "web");
	check_cell(CRIB_CTL_CELL_TEXT, "name", "{\"name\": \"\"}", "-");
	check_cell(CRIB_CTL_CELL_TEXT, "name", "{}", "-");
	check_cell(CRIB_CTL_CELL_TEXT, "name", "{\"name\": 5}", "-");
	check_cell(CRIB_CTL_CELL_NOTE, "message", "{}", "");
	check_cell(CRIB_CTL_CELL_NOTE, "message", "{\"message\": \"dlopen failed\"}",
	           "dlopen failed");
	check_cell(CRIB_CTL_CELL_SHORT_ID, "id",
	           "{\"id\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}",
	           "0123456789abc");
	check_cell(CRIB_CTL_CELL_SHORT_ID, "id", "{\"id\": \"abc\"}", "abc");
	check_cell(CRIB_CTL_CELL_SHORT_ID, "id", "{}", "-");
	check_cell(CRIB_CTL_CELL_INT, "pods", "{\"pods\": 12}", "12");
	check_cell(CRIB_CTL_CELL_INT, "pods", "{\"pods\": \"12\"}", "-");
	check_cell(CRIB_CTL_CELL_BOOL, "default", "{\"default\": true}", "true");
	check_cell(CRIB_CTL_CELL_BOOL, "default", "{\"default\": false}", "false");
	check_cell(CRIB_CTL_CELL_BOOL, "default", "{}", "-");
	check_cell(CRIB_CTL_CELL_AGE, "created_at",
	           "{\"created_at\": \"2024-02-29T12:34:56.999999999Z\"}", "1 minute ago");
	check_cell(CRIB_CTL_CELL_AGE, "created_at", "{\"created_at\": \"yesterday\"}", "-");
	check_cell(CRIB_CTL_CELL_LIST, "caps", "{\"caps\": [\"stats\", \"exec\", 3, \"logs\"]}",
	           "stats,exec,logs");
	check_cell(CRIB_CTL_CELL_LIST, "caps", "{\"caps\": []}", "-");
	check_cell(CRIB_CTL_CELL_LIST, "caps", "{}", "-");
}

static void test_print_items(void **state)
{
	static const struct crib_ctl_column cols[] = {
	    {"NAME", "name", CRIB_CTL_CELL_TEXT},
	    {"PODS", "pods", CRIB_CTL_CELL_INT},
	    {"MESSAGE", "message", CRIB_CTL_CELL_NOTE},
	};
	json_t *items = json_loads("[{\"name\": \"testproc\", \"pods\": 3},"
	                           " {\"name\": \"oci\", \"pods\": 0, \"message\": \"no runc\"}]",
	                           0, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	(void)state;
	assert_non_null(items);
	assert_int_equal(crib_ctl_print_items(items, cols, ARRAY_SIZE(cols), 0, mem), 0);
	assert_int_equal(fclose(mem), 0);
	assert_string_equal(text, "NAME       PODS   MESSAGE\n"
	                          "testproc   3      \n"
	                          "oci        0      no runc\n");
	free(text);
	json_decref(items);
}

static void test_page_size(void **state)
{
	unsigned n = 0;

	(void)state;
	assert_int_equal(crib_ctl_page_size(NULL, &n), 0);
	assert_int_equal(n, CRIB_CTL_PAGE_SIZE_DEFAULT);
	assert_int_equal(crib_ctl_page_size("1", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(crib_ctl_page_size("1000", &n), 0);
	assert_int_equal(n, 1000);
	n = 7;
	assert_int_equal(crib_ctl_page_size("0", &n), -EINVAL);
	assert_int_equal(crib_ctl_page_size("1001", &n), -EINVAL);
	assert_int_equal(crib_ctl_page_size("-1", &n), -EINVAL);
	assert_int_equal(crib_ctl_page_size("", &n), -EINVAL);
	assert_int_equal(crib_ctl_page_size("5x", &n), -EINVAL);
	assert_int_equal(n, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_widths),       cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_headers_only), cmocka_unit_test(test_control_characters),
	    cmocka_unit_test(test_cells),        cmocka_unit_test(test_print_items),
	    cmocka_unit_test(test_page_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
