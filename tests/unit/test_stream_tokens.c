/* SPDX-License-Identifier: Apache-2.0 */
/* The streaming server's single-use tokens: one use each, expiry, the bound. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stream_tokens.h"
#include "util.h"

#define SEC ((int64_t)1000000000)

static struct crib_stream_request exec_request(const char *id)
{
	return (struct crib_stream_request){
	    .kind = CRIB_STREAM_EXEC,
	    .id = crib_xstrdup(id),
	    .req = crib_xmemdup("\x0a\x01x", 3),
	    .req_len = 3,
	};
}

static void test_a_token_is_used_once(void **state)
{
	struct crib_stream_tokens *t = NULL;
	struct crib_stream_request r = exec_request("c1"), got = {0};
	char token[CRIB_ID_LEN + 1], other[CRIB_ID_LEN + 1];

	(void)state;
	assert_int_equal(crib_stream_tokens_new(4, 60 * SEC, &t), 0);
	assert_int_equal(crib_stream_tokens_add(t, 0, &r, token), 0);
	assert_null(r.id); /* taken over */
	assert_int_equal(strlen(token), CRIB_ID_LEN);
	r = exec_request("c2");
	assert_int_equal(crib_stream_tokens_add(t, 0, &r, other), 0);
	assert_string_not_equal(token, other);
	assert_int_equal(crib_stream_tokens_take(t, SEC, token, &got), 0);
	assert_int_equal(got.kind, CRIB_STREAM_EXEC);
	assert_string_equal(got.id, "c1");
	assert_int_equal(got.req_len, 3);
	assert_memory_equal(got.req, "\x0a\x01x", 3);
	crib_stream_request_clear(&got);
	/* Used: gone.  Unknown, truncated, longer or NULL tokens are unknown. */
	assert_int_equal(crib_stream_tokens_take(t, SEC, token, &got), -ENOENT);
	other[10] = '\0';
	assert_int_equal(crib_stream_tokens_take(t, SEC, other, &got), -ENOENT);
	assert_int_equal(crib_stream_tokens_take(t, SEC, NULL, &got), -ENOENT);
	assert_null(got.id);
	assert_int_equal(crib_stream_tokens_sweep(t, SEC), 1);
	crib_stream_tokens_free(t);
}

static void test_expired_tokens_are_refused_and_dropped(void **state)
{
	struct crib_stream_tokens *t = NULL;
	struct crib_stream_request r = exec_request("c1"), got = {0};
	char token[CRIB_ID_LEN + 1];

	(void)state;
	assert_int_equal(crib_stream_tokens_new(4, 60 * SEC, &t), 0);
	assert_int_equal(crib_stream_tokens_add(t, 10 * SEC, &r, token), 0);
	assert_int_equal(crib_stream_tokens_take(t, 70 * SEC, token, &got), -ETIMEDOUT);
	assert_null(got.id);
	assert_int_equal(crib_stream_tokens_take(t, 70 * SEC, token, &got), -ENOENT);
	r = exec_request("c2");
	assert_int_equal(crib_stream_tokens_add(t, 10 * SEC, &r, token), 0);
	assert_int_equal(crib_stream_tokens_sweep(t, 69 * SEC), 1);
	assert_int_equal(crib_stream_tokens_sweep(t, 70 * SEC), 0);
	crib_stream_tokens_free(t);
}

static void test_outstanding_tokens_are_bounded(void **state)
{
	struct crib_stream_tokens *t = NULL;
	struct crib_stream_request r = {0};
	char token[CRIB_ID_LEN + 1];

	(void)state;
	assert_int_equal(crib_stream_tokens_new(0, SEC, &t), -EINVAL);
	assert_int_equal(crib_stream_tokens_new(2, SEC, &t), 0);
	for (int i = 0; i < 2; i++) {
		r = exec_request("c");
		assert_int_equal(crib_stream_tokens_add(t, 0, &r, token), 0);
	}
	r = exec_request("c3");
	assert_int_equal(crib_stream_tokens_add(t, 0, &r, token), -EBUSY);
	assert_string_equal(r.id, "c3"); /* still the caller's */
	/* Once the others expired there is room again. */
	assert_int_equal(crib_stream_tokens_add(t, 2 * SEC, &r, token), 0);
	assert_int_equal(crib_stream_tokens_sweep(t, 2 * SEC), 1);
	crib_stream_tokens_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_token_is_used_once),
	    cmocka_unit_test(test_expired_tokens_are_refused_and_dropped),
	    cmocka_unit_test(test_outstanding_tokens_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
