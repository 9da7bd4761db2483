/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CRI log writer on files in a scratch directory: the exact line format
 * kubelet parses ("<RFC3339Nano> <stream> <P|F> <text>"), how a write is cut
 * into lines, and reopening after kubelet rotated the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crib/backend.h>

#include "crilog.h"
#include "error.h"
#include "util.h"

#define MAX_LINES 8

struct fixture {
	char dir[64];
	char *path; /* DIR/logs/ctr/0.log: its directories do not exist yet */
	struct crib_log_writer *w;
};

/* One parsed line of a log file. */
struct line {
	char ts[40];
	char stream[8];
	char tag;
	const char *text; /* into the file buffer, not terminated */
	size_t len;
	size_t whole_len; /* without the newline */
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));
	struct crib_error *err = NULL;

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/crib-test-crilog-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	f->path = crib_xasprintf("%s/logs/ctr/0.log", f->dir);
	if (crib_crilog_open(f->path, &f->w, &err) < 0) {
		print_error("crib_crilog_open: %s\n", crib_error_msg(err));
		crib_error_free(err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	crib_crilog_close(f->w);
	(void)nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->path);
	free(f);
	return 0;
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *fp = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, len = 0;

	assert_non_null(fp);
	for (;;) {
		size_t n;

		if (len + 4096 + 1 > cap) {
			cap = (len + 4096 + 1) * 2;
			buf = crib_xrealloc(buf, cap, 1);
		}
		n = fread(buf + len, 1, 4096, fp);
		len += n;
		if (n == 0)
			break;
	}
	(void)fclose(fp);
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

static bool is_timestamp(const char *ts)
{
	regex_t re;
	bool ok;

	assert_int_equal(
	    regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z$",
	            REG_EXTENDED | REG_NOSUB),
	    0);
	ok = regexec(&re, ts, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* Splits BUF into lines; every line must end with '\n' and carry a valid prefix. */
static size_t parse_lines(const char *buf, size_t len, struct line *lines, size_t max)
{
	const char *p = buf, *end = buf + len;
	size_t n = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *sp1, *sp2;
		struct line *l;

		assert_non_null(nl); /* nothing is left without its newline */
		assert_true(n < max);
		l = &lines[n++];
		sp1 = memchr(p, ' ', (size_t)(nl - p));
		assert_non_null(sp1);
		assert_true((size_t)(sp1 - p) < sizeof(l->ts));
		memcpy(l->ts, p, (size_t)(sp1 - p));
		l->ts[sp1 - p] = '\0';
		assert_true(is_timestamp(l->ts));
		sp2 = memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1));
		assert_non_null(sp2);
		assert_true((size_t)(sp2 - sp1 - 1) < sizeof(l->stream));
		memcpy(l->stream, sp1 + 1, (size_t)(sp2 - sp1 - 1));
		l->stream[sp2 - sp1 - 1] = '\0';
		assert_true(nl - sp2 >= 3);
		l->tag = sp2[1];
		assert_int_equal(sp2[2], ' ');
		l->text = sp2 + 3;
		l->len = (size_t)(nl - l->text);
		l->whole_len = (size_t)(nl - p);
		p = nl + 1;
	}
	return n;
}

static void write_ok(struct crib_log_writer *w, uint32_t stream, const void *buf, size_t len)
{
	struct crib_error *err = NULL;

	if (crib_crilog_write(w, stream, buf, len, &err) < 0)
		fail_msg("crib_crilog_write: %s", crib_error_msg(err));
	assert_null(err);
}

static void write_str(struct crib_log_writer *w, uint32_t stream, const char *s)
{
	write_ok(w, stream, s, strlen(s));
}

static void assert_line(const struct line *l, const char *stream, char tag, const char *text)
{
	assert_string_equal(l->stream, stream);
	assert_int_equal(l->tag, tag);
	assert_int_equal(l->len, strlen(text));
	assert_memory_equal(l->text, text, l->len);
}

/* Reads the fixture's file and parses it into LINES; returns how many. */
static size_t read_lines(const char *path, char **ret_buf, struct line *lines)
{
	size_t len;

	*ret_buf = slurp(path, &len);
	return parse_lines(*ret_buf, len, lines, MAX_LINES);
}

static void test_line_has_exact_format(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *buf = NULL, *want = NULL;
	char before[40], after[40];
	struct line l[MAX_LINES];

	(void)crib_crilog_timestamp(crib_now_ns(), before);
	write_str(f->w, CRIB_STREAM_STDOUT, "hello world\n");
	(void)crib_crilog_timestamp(crib_now_ns(), after);
	assert_int_equal(read_lines(f->path, &buf, l), 1);
	want = crib_xasprintf("%s stdout F hello world\n", l[0].ts);
	assert_string_equal(buf, want);
	/* The timestamp is the time of the write (fixed width, so it sorts as text). */
	assert_true(strcmp(before, l[0].ts) <= 0);
	assert_true(strcmp(l[0].ts, after) <= 0);
}

static void test_several_lines_in_one_write(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *buf = NULL;
	struct line l[MAX_LINES];

	write_str(f->w, CRIB_STREAM_STDOUT, "one\ntwo\nthree\n");
	assert_int_equal(read_lines(f->path, &buf, l), 3);
	assert_line(&l[0], "stdout", 'F', "one");
	assert_line(&l[1], "stdout", 'F', "two");
	assert_line(&l[2], "stdout", 'F', "three");
	assert_string_equal(l[0].ts, l[2].ts);
}

static void test_trailing_piece_is_partial(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *buf = NULL;
	struct line l[MAX_LINES];

	write_str(f->w, CRIB_STREAM_STDOUT, "done\nhalf a li");
	write_str(f->w, CRIB_STREAM_STDOUT, "ne\n");
	assert_int_equal(read_lines(f->path, &buf, l), 3);
	assert_line(&l[0], "stdout", 'F', "done");
	assert_line(&l[1], "stdout", 'P', "half a li");
	assert_line(&l[2], "stdout", 'F', "ne");
}

static void test_empty_line_is_full_with_no_text(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *buf = NULL;
	struct line l[MAX_LINES];

	write_str(f->w, CRIB_STREAM_STDOUT, "\n\nx\n");
	assert_int_equal(read_lines(f->path, &buf, l), 3);
	assert_line(&l[0], "stdout", 'F', "");
	assert_int_equal(l[0].whole_len, strlen(l[0].ts) + strlen(" stdout F "));
	assert_line(&l[1], "stdout", 'F', "");
	assert_line(&l[2], "stdout", 'F', "x");
}

static void test_empty_write_writes_nothing(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *buf = NULL;
	size_t len;

	write_ok(f->w, CRIB_STREAM_STDOUT, "", 0);
	buf = slurp(f->path, &len);
	assert_int_equal(len, 0);
}

static void test_stderr_stream(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *buf = NULL;
	struct line l[MAX_LINES];

	write_str(f->w, CRIB_STREAM_STDERR, "oops\n");
	write_str(f->w, CRIB_STREAM_STDOUT, "fine\n");
	assert_int_equal(read_lines(f->path, &buf, l), 2);
	assert_line(&l[0], "stderr", 'F', "oops");
	assert_line(&l[1], "stdout", 'F', "fine");
}

static void test_invalid_stream_is_einval(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *buf = NULL;
	size_t len;

	for (uint32_t s = 0; s < 4; s += 3) {
		_cleanup_(crib_error_freep) struct crib_error *err = NULL;
		_cleanup_free_ char *msg = crib_xasprintf("Unknown log stream %u", s);

		assert_int_equal(crib_crilog_write(f->w, s, "x\n", 2, &err), -EINVAL);
		assert_non_null(err);
		assert_string_equal(crib_error_msg(err), msg);
	}
	buf = slurp(f->path, &len);
	assert_int_equal(len, 0);
}

static void test_long_piece_is_split_into_partials(void **state)
{
	struct fixture *f = *state;
	const size_t max = CRIB_CRILOG_LINE_MAX;
	_cleanup_free_ char *data = crib_xmalloc(40001), *buf = NULL;
	struct line l[MAX_LINES];

	assert_int_equal(max, 16384);
	for (size_t i = 0; i < 40000; i++)
		data[i] = (char)('a' + i % 26);
	data[40000] = '\n';
	write_ok(f->w, CRIB_STREAM_STDOUT, data, 40001);
	assert_int_equal(read_lines(f->path, &buf, l), 3);
	assert_int_equal(l[0].tag, 'P');
	assert_int_equal(l[0].len, max);
	assert_memory_equal(l[0].text, data, max);
	assert_int_equal(l[1].tag, 'P');
	assert_int_equal(l[1].len, max);
	assert_memory_equal(l[1].text, data + max, max);
	assert_int_equal(l[2].tag, 'F');
	assert_int_equal(l[2].len, 40000 - 2 * max);
	assert_memory_equal(l[2].text, data + 2 * max, 40000 - 2 * max);
}

static void test_long_piece_without_newline_stays_partial(void **state)
{
	struct fixture *f = *state;
	const size_t max = CRIB_CRILOG_LINE_MAX;
	_cleanup_free_ char *data = crib_xmalloc(40000), *buf = NULL;
	struct line l[MAX_LINES];

	memset(data, 'z', 40000);
	write_ok(f->w, CRIB_STREAM_STDOUT, data, 40000);
	assert_int_equal(read_lines(f->path, &buf, l), 3);
	assert_int_equal(l[0].tag, 'P');
	assert_int_equal(l[1].tag, 'P');
	assert_int_equal(l[2].tag, 'P');
	assert_int_equal(l[2].len, 40000 - 2 * max);
}

static void test_split_boundary(void **state)
{
	struct fixture *f = *state;
	const size_t max = CRIB_CRILOG_LINE_MAX;
	_cleanup_free_ char *data = crib_xmalloc(max + 2), *buf = NULL;
	struct line l[MAX_LINES];

	memset(data, 'q', max + 1);
	data[max] = '\n'; /* exactly the limit: one full line */
	write_ok(f->w, CRIB_STREAM_STDOUT, data, max + 1);
	data[max] = 'q';
	data[max + 1] = '\n'; /* one more: a partial and a one-byte rest */
	write_ok(f->w, CRIB_STREAM_STDOUT, data, max + 2);
	assert_int_equal(read_lines(f->path, &buf, l), 3);
	assert_int_equal(l[0].tag, 'F');
	assert_int_equal(l[0].len, max);
	assert_int_equal(l[1].tag, 'P');
	assert_int_equal(l[1].len, max);
	assert_line(&l[2], "stdout", 'F', "q");
}

static void test_reopen_after_rename_starts_new_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *rotated = crib_xasprintf("%s.1", f->path);
	_cleanup_free_ char *old = NULL, *cur = NULL;
	struct crib_error *err = NULL;
	struct line l[MAX_LINES];

	write_str(f->w, CRIB_STREAM_STDOUT, "before\n");
	assert_int_equal(rename(f->path, rotated), 0);
	write_str(f->w, CRIB_STREAM_STDOUT, "late\n"); /* still the renamed file */
	assert_int_equal(crib_crilog_reopen(f->w, &err), 0);
	assert_null(err);
	write_str(f->w, CRIB_STREAM_STDERR, "after\n");

	assert_int_equal(read_lines(rotated, &old, l), 2);
	assert_line(&l[0], "stdout", 'F', "before");
	assert_line(&l[1], "stdout", 'F', "late");
	assert_int_equal(read_lines(f->path, &cur, l), 1);
	assert_line(&l[0], "stderr", 'F', "after");
}

static void test_open_creates_parents_and_appends(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = crib_xasprintf("%s/a/b/c/x.log", f->dir);
	_cleanup_free_ char *buf = NULL;
	struct crib_log_writer *w = NULL;
	struct line l[MAX_LINES];
	struct stat st;
	mode_t mask;

	assert_int_equal(crib_crilog_open(path, &w, NULL), 0);
	write_str(w, CRIB_STREAM_STDOUT, "first\n");
	crib_crilog_close(w);
	mask = umask(0);
	(void)umask(mask);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640 & ~mask);

	/* A second writer appends. */
	assert_int_equal(crib_crilog_open(path, &w, NULL), 0);
	write_str(w, CRIB_STREAM_STDOUT, "second\n");
	crib_crilog_close(w);
	assert_int_equal(read_lines(path, &buf, l), 2);
	assert_line(&l[0], "stdout", 'F', "first");
	assert_line(&l[1], "stdout", 'F', "second");
	crib_crilog_close(NULL); /* NULL-safe */
}

static void test_open_refuses_relative_path(void **state)
{
	static const char *const bad[] = {"x.log", "./x.log", ""};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_(crib_error_freep) struct crib_error *err = NULL;
		_cleanup_free_ char *msg = crib_xasprintf("Log path '%s' is not absolute", bad[i]);
		struct crib_log_writer *w = NULL;

		assert_int_equal(crib_crilog_open(bad[i], &w, &err), -EINVAL);
		assert_null(w);
		assert_string_equal(crib_error_msg(err), msg);
	}
}

static void test_open_fails_when_parent_is_a_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *file = crib_xasprintf("%s/plain", f->dir);
	_cleanup_free_ char *path = crib_xasprintf("%s/sub/x.log", file);
	_cleanup_free_ char *msg =
	    crib_xasprintf("Failed to create log directory '%s/sub': %s", file, strerror(ENOTDIR));
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	struct crib_log_writer *w = NULL;
	int fd;

	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	(void)close(fd);
	assert_int_equal(crib_crilog_open(path, &w, &err), -ENOTDIR);
	assert_null(w);
	assert_string_equal(crib_error_msg(err), msg);
}

static void test_timestamp_of_known_values(void **state)
{
	static const struct {
		int64_t ns;
		const char *text;
	} cases[] = {
	    {INT64_C(1475713029669794202), "2016-10-06T00:17:09.669794202Z"},
	    {0, "1970-01-01T00:00:00.000000000Z"},
	    {1, "1970-01-01T00:00:00.000000001Z"},
	    {INT64_C(951782400000000000), "2000-02-29T00:00:00.000000000Z"},
	    {INT64_C(4102444799999999999), "2099-12-31T23:59:59.999999999Z"},
	};
	char out[40];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(crib_crilog_timestamp(cases[i].ns, out), strlen(cases[i].text));
		assert_string_equal(out, cases[i].text);
		assert_true(is_timestamp(out));
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* Decoding: what the writer wrote comes back as the container wrote it. */

struct sink {
	char buf[256];
	size_t len;
};

static void sink_emit(void *ctx, const char *data, size_t n)
{
	struct sink *k = ctx;

	assert_true(k->len + n < sizeof(k->buf));
	memcpy(k->buf + k->len, data, n);
	k->len += n;
	k->buf[k->len] = '\0';
}

static const char decode_input[] = "2026-11-23T10:00:00.000000001Z stdout F hello\n"
                                   "2026-11-23T10:00:00.000000002Z stderr P par\n"
                                   "2026-11-23T10:00:00.000000003Z stderr F tial\n"
                                   "not a cri line\n"
                                   "2026-11-23T10:00:00.000000004Z stdout F \n";

static void test_decode_joins_pieces(void **state)
{
	struct crib_crilog_decoder dec = {.at_line_start = true};
	struct sink k = {0};

	(void)state;
	crib_crilog_decode(&dec, decode_input, strlen(decode_input), sink_emit, &k);
	assert_string_equal(k.buf, "hello\npartial\nnot a cri line\n\n");
	crib_crilog_decoder_clear(&dec);
}

static void test_decode_byte_by_byte_is_the_same(void **state)
{
	struct crib_crilog_decoder dec = {.timestamps = true, .at_line_start = true};
	struct sink k = {0};

	(void)state;
	for (size_t i = 0; i < strlen(decode_input); i++)
		crib_crilog_decode(&dec, decode_input + i, 1, sink_emit, &k);
	assert_string_equal(k.buf, "2026-11-23T10:00:00.000000001Z hello\n"
	                           "2026-11-23T10:00:00.000000002Z partial\n"
	                           "not a cri line\n"
	                           "2026-11-23T10:00:00.000000004Z \n");
	crib_crilog_decoder_clear(&dec);
}

static void test_decode_holds_an_unfinished_line(void **state)
{
	static const char text[] = "2026-11-23T10:00:00.000000001Z stdout F no newline yet";
	struct crib_crilog_decoder dec = {.at_line_start = true};
	struct sink k = {0};

	(void)state;
	crib_crilog_decode(&dec, text, strlen(text), sink_emit, &k);
	assert_int_equal(k.len, 0);
	crib_crilog_decode(&dec, "\n", 1, sink_emit, &k);
	assert_string_equal(k.buf, "no newline yet\n");
	crib_crilog_decoder_clear(&dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_line_has_exact_format),
	    T(test_several_lines_in_one_write),
	    T(test_trailing_piece_is_partial),
	    T(test_empty_line_is_full_with_no_text),
	    T(test_empty_write_writes_nothing),
	    T(test_stderr_stream),
	    T(test_invalid_stream_is_einval),
	    T(test_long_piece_is_split_into_partials),
	    T(test_long_piece_without_newline_stays_partial),
	    T(test_split_boundary),
	    T(test_reopen_after_rename_starts_new_file),
	    T(test_open_creates_parents_and_appends),
	    cmocka_unit_test(test_open_refuses_relative_path),
	    T(test_open_fails_when_parent_is_a_file),
	    cmocka_unit_test(test_timestamp_of_known_values),
	    cmocka_unit_test(test_decode_joins_pieces),
	    cmocka_unit_test(test_decode_byte_by_byte_is_the_same),
	    cmocka_unit_test(test_decode_holds_an_unfinished_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
