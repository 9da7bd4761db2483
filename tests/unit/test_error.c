/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error convention: crib_error_set() creates or prefixes, keeps the first
 * errno, and works without an error pointer; and the errno -> gRPC status
 * mapping that the backend ABI header documents.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <grpc/status.h>

#include "error.h"
#include "rpc.h"
#include "util.h"

static void test_set_creates_error(void **state)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	(void)state;
	assert_int_equal(crib_error_set(&err, ENOENT, "Pod '%s' not found", "abc"), -ENOENT);
	assert_non_null(err);
	assert_int_equal(err->errnum, ENOENT);
	assert_string_equal(crib_error_msg(err), "Pod 'abc' not found");
}

static void test_set_prefixes_and_keeps_errnum(void **state)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	struct crib_error *first;

	(void)state;
	(void)crib_error_set(&err, ETIMEDOUT, "runc did not answer");
	first = err;
	assert_int_equal(crib_error_set(&err, EIO, "Failed to stop '%s'", "c1"), -ETIMEDOUT);
	assert_ptr_equal(err, first); /* the same error, grown */
	assert_int_equal(err->errnum, ETIMEDOUT);
	assert_string_equal(crib_error_msg(err), "Failed to stop 'c1': runc did not answer");
	assert_int_equal(crib_error_set(&err, EINVAL, "StopContainer"), -ETIMEDOUT);
	assert_string_equal(crib_error_msg(err),
	                    "StopContainer: Failed to stop 'c1': runc did not answer");
}

static void test_null_reterr_returns_code(void **state)
{
	(void)state;
	assert_int_equal(crib_error_set(NULL, EBUSY, "busy %d", 1), -EBUSY);
	assert_int_equal(crib_error_set(NULL, ENOMEM, "x"), -ENOMEM);
}

static void test_errnum_is_normalized(void **state)
{
	_cleanup_(crib_error_freep) struct crib_error *neg = NULL, *zero = NULL;

	(void)state;
	/* A -errno passed by mistake still gives a positive errnum. */
	assert_int_equal(crib_error_set(&neg, -EACCES, "denied"), -EACCES);
	assert_int_equal(neg->errnum, EACCES);
	/* Zero is no error code: it becomes EIO, so that failure stays failure. */
	assert_int_equal(crib_error_set(&zero, 0, "odd"), -EIO);
	assert_int_equal(zero->errnum, EIO);
	assert_int_equal(crib_error_set(NULL, 0, "odd"), -EIO);
}

static void test_msg_fallbacks(void **state)
{
	struct crib_error bare = {.errnum = ENOENT, .msg = NULL};

	(void)state;
	assert_string_equal(crib_error_msg(NULL), "unspecified error");
	assert_string_equal(crib_error_msg(&bare), strerror(ENOENT));
}

static void test_free_is_null_safe(void **state)
{
	struct crib_error *err = NULL;

	(void)state;
	assert_null(crib_error_free(NULL));
	(void)crib_error_set(&err, EIO, "x");
	err = crib_error_free(err);
	assert_null(err);
}

/* The table at the top of api/crib/backend.h. */
static void test_grpc_code_mapping(void **state)
{
	static const struct {
		int errnum;
		grpc_status_code code;
	} map[] = {
	    {ENOENT, GRPC_STATUS_NOT_FOUND},
	    {ESRCH, GRPC_STATUS_NOT_FOUND},
	    {EEXIST, GRPC_STATUS_ALREADY_EXISTS},
	    {EINVAL, GRPC_STATUS_INVALID_ARGUMENT},
	    {E2BIG, GRPC_STATUS_INVALID_ARGUMENT},
	    {ENAMETOOLONG, GRPC_STATUS_INVALID_ARGUMENT},
	    {EBUSY, GRPC_STATUS_FAILED_PRECONDITION},
	    {ENOTEMPTY, GRPC_STATUS_FAILED_PRECONDITION},
	    {EALREADY, GRPC_STATUS_FAILED_PRECONDITION},
	    {ENOEXEC, GRPC_STATUS_FAILED_PRECONDITION},
	    {ENOTSUP, GRPC_STATUS_UNIMPLEMENTED},
	    {EOPNOTSUPP, GRPC_STATUS_UNIMPLEMENTED},
	    {ENOSYS, GRPC_STATUS_UNIMPLEMENTED},
	    {EAGAIN, GRPC_STATUS_UNAVAILABLE},
	    {ECONNREFUSED, GRPC_STATUS_UNAVAILABLE},
	    {ENOTCONN, GRPC_STATUS_UNAVAILABLE},
	    {EHOSTUNREACH, GRPC_STATUS_UNAVAILABLE},
	    {ECONNRESET, GRPC_STATUS_UNAVAILABLE},
	    {EPIPE, GRPC_STATUS_UNAVAILABLE},
	    {ETIMEDOUT, GRPC_STATUS_DEADLINE_EXCEEDED},
	    {EPERM, GRPC_STATUS_PERMISSION_DENIED},
	    {EACCES, GRPC_STATUS_PERMISSION_DENIED},
	    {ENOMEM, GRPC_STATUS_RESOURCE_EXHAUSTED},
	    {ENOSPC, GRPC_STATUS_RESOURCE_EXHAUSTED},
	    {EMFILE, GRPC_STATUS_RESOURCE_EXHAUSTED},
	    {ENFILE, GRPC_STATUS_RESOURCE_EXHAUSTED},
	    {EDQUOT, GRPC_STATUS_RESOURCE_EXHAUSTED},
	    {ECANCELED, GRPC_STATUS_CANCELLED},
	    {EKEYREJECTED, GRPC_STATUS_UNAUTHENTICATED},
	    {EBADMSG, GRPC_STATUS_DATA_LOSS},
	    /* "anything else" */
	    {EIO, GRPC_STATUS_INTERNAL},
	    {EPROTO, GRPC_STATUS_INTERNAL},
	    {EFAULT, GRPC_STATUS_INTERNAL},
	    {ENOTDIR, GRPC_STATUS_INTERNAL},
	    {0, GRPC_STATUS_INTERNAL},
	    {-ENOENT, GRPC_STATUS_INTERNAL}, /* errnum is positive by contract */
	    {99999, GRPC_STATUS_INTERNAL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		grpc_status_code got = crib_grpc_code_from_errno(map[i].errnum);

		if (got != map[i].code)
			fail_msg("errno %d (%s) maps to %s, want %s", map[i].errnum,
			         strerror(map[i].errnum), crib_grpc_code_name(got),
			         crib_grpc_code_name(map[i].code));
	}
}

static void test_grpc_code_names(void **state)
{
	(void)state;
	assert_string_equal(crib_grpc_code_name(GRPC_STATUS_OK), "OK");
	assert_string_equal(crib_grpc_code_name(GRPC_STATUS_NOT_FOUND), "NOT_FOUND");
	assert_string_equal(crib_grpc_code_name(GRPC_STATUS_FAILED_PRECONDITION),
	                    "FAILED_PRECONDITION");
	assert_string_equal(crib_grpc_code_name(GRPC_STATUS_UNIMPLEMENTED), "UNIMPLEMENTED");
	assert_string_equal(crib_grpc_code_name(GRPC_STATUS_UNAUTHENTICATED), "UNAUTHENTICATED");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_creates_error),
	    cmocka_unit_test(test_set_prefixes_and_keeps_errnum),
	    cmocka_unit_test(test_null_reterr_returns_code),
	    cmocka_unit_test(test_errnum_is_normalized),
	    cmocka_unit_test(test_msg_fallbacks),
	    cmocka_unit_test(test_free_is_null_safe),
	    cmocka_unit_test(test_grpc_code_mapping),
	    cmocka_unit_test(test_grpc_code_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
