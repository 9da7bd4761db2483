/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading a backend module: the checks on its ops table, and the dl seam
 * (crib_dl_*, replaced here through -Wl,--wrap) to prove that every failure
 * closes the handle and that success hands it over.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "backend.h"
#include "dl.h"
#include "error.h"
#include "util.h"

#define PATH "/usr/lib/crib/backends/stub.so"

static int fake_handle; /* its address is the opaque dl handle */

/* Never called: the tables only need non-NULL members of the right type. */
static void stub(void)
{
}

#define STUB(op) ((__typeof__(((struct crib_backend_ops *)NULL)->op))(void (*)(void))stub)

/* A complete table of the current ABI named "stub" with every optional op and its bit. */
static struct crib_backend_ops full_ops(void)
{
	return (struct crib_backend_ops){
	    .abi_major = CRIB_BACKEND_ABI_MAJOR,
	    .abi_minor = CRIB_BACKEND_ABI_MINOR,
	    .struct_size = sizeof(struct crib_backend_ops),
	    .name = "stub",
	    .version = "0.0",
	    .caps = CRIB_CAP_EXEC_SYNC | CRIB_CAP_CONTAINER_STATS | CRIB_CAP_POD_STATS |
	            CRIB_CAP_REOPEN_LOG | CRIB_CAP_UPDATE_RESOURCES | CRIB_CAP_POD_UPDATE |
	            CRIB_CAP_POD_STATUS | CRIB_CAP_HEALTH | CRIB_CAP_OWN_NETNS |
	            CRIB_CAP_OWN_IMAGES | CRIB_CAP_STREAMS,
	    .init = STUB(init),
	    .fini = STUB(fini),
	    .class_open = STUB(class_open),
	    .class_close = STUB(class_close),
	    .pod_run = STUB(pod_run),
	    .pod_stop = STUB(pod_stop),
	    .pod_remove = STUB(pod_remove),
	    .container_create = STUB(container_create),
	    .container_start = STUB(container_start),
	    .container_stop = STUB(container_stop),
	    .container_remove = STUB(container_remove),
	    .container_status = STUB(container_status),
	    .reconcile = STUB(reconcile),
	    .pod_status = STUB(pod_status),
	    .health = STUB(health),
	    .exec_sync = STUB(exec_sync),
	    .container_stats = STUB(container_stats),
	    .pod_stats = STUB(pod_stats),
	    .container_reopen_log = STUB(container_reopen_log),
	    .container_update = STUB(container_update),
	    .pod_update = STUB(pod_update),
	    .image_pull = STUB(image_pull),
	    .image_status = STUB(image_status),
	    .image_list = STUB(image_list),
	    .image_remove = STUB(image_remove),
	    .image_fs_info = STUB(image_fs_info),
	    .stream_open = STUB(stream_open),
	    .stream_resize = STUB(stream_resize),
	    .stream_finish = STUB(stream_finish),
	    .stream_close = STUB(stream_close),
	};
}

static void clear_member(struct crib_backend_ops *ops, size_t offset)
{
	memset((char *)ops + offset, 0, sizeof(void (*)(void)));
}

#define MEMBER(op)                                                                                 \
	{                                                                                          \
#op, offsetof(struct crib_backend_ops, op)                                         \
	}
static const struct {
	const char *name;
	size_t offset;
} required[] = {
    MEMBER(init),
    MEMBER(fini),
    MEMBER(class_open),
    MEMBER(class_close),
    MEMBER(pod_run),
    MEMBER(pod_stop),
    MEMBER(pod_remove),
    MEMBER(container_create),
    MEMBER(container_start),
    MEMBER(container_stop),
    MEMBER(container_remove),
    MEMBER(container_status),
    MEMBER(reconcile),
};
#undef MEMBER

#define CAP(bit, feature, op)                                                                      \
	{                                                                                          \
		bit, feature, #op, offsetof(struct crib_backend_ops, op)                           \
	}
static const struct {
	uint64_t cap;
	const char *feature;
	const char *op;
	size_t offset;
} caps[] = {
    CAP(CRIB_CAP_EXEC_SYNC, "exec-sync", exec_sync),
    CAP(CRIB_CAP_CONTAINER_STATS, "container-stats", container_stats),
    CAP(CRIB_CAP_POD_STATS, "pod-stats", pod_stats),
    CAP(CRIB_CAP_REOPEN_LOG, "reopen-log", container_reopen_log),
    CAP(CRIB_CAP_UPDATE_RESOURCES, "update-resources", container_update),
    CAP(CRIB_CAP_POD_UPDATE, "pod-update", pod_update),
    CAP(CRIB_CAP_POD_STATUS, "pod-status", pod_status),
    CAP(CRIB_CAP_HEALTH, "health", health),
    CAP(CRIB_CAP_OWN_IMAGES, "own-images", image_pull),
    CAP(CRIB_CAP_OWN_IMAGES, "own-images", image_status),
    CAP(CRIB_CAP_OWN_IMAGES, "own-images", image_list),
    CAP(CRIB_CAP_OWN_IMAGES, "own-images", image_remove),
    CAP(CRIB_CAP_OWN_IMAGES, "own-images", image_fs_info),
    CAP(CRIB_CAP_STREAMS, "streams", stream_open),
    CAP(CRIB_CAP_STREAMS, "streams", stream_resize),
    CAP(CRIB_CAP_STREAMS, "streams", stream_finish),
    CAP(CRIB_CAP_STREAMS, "streams", stream_close),
};
#undef CAP

/* Validation of OPS as module PATH named "stub" must fail with -ENOEXEC and exactly MSG. */
static void validate_fails(const struct crib_backend_ops *ops, const char *msg)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	assert_int_equal(crib_backend_validate(ops, PATH, "stub", &err), -ENOEXEC);
	assert_non_null(err);
	assert_int_equal(err->errnum, ENOEXEC);
	assert_string_equal(crib_error_msg(err), msg);
}

/* The dl seam. */

void *__wrap_crib_dl_open(const char *path);
void *__wrap_crib_dl_open(const char *path)
{
	check_expected(path);
	return mock_ptr_type(void *);
}

void *__wrap_crib_dl_sym(void *handle, const char *symbol);
void *__wrap_crib_dl_sym(void *handle, const char *symbol)
{
	assert_ptr_equal(handle, &fake_handle);
	assert_string_equal(symbol, CRIB_BACKEND_ENTRY_SYMBOL);
	return mock_ptr_type(void *);
}

void __wrap_crib_dl_close(void *handle);
void __wrap_crib_dl_close(void *handle)
{
	if (!handle)
		return; /* NULL-safe, as the real one */
	assert_ptr_equal(handle, &fake_handle);
	function_called();
}

const char *__wrap_crib_dl_error(void);
const char *__wrap_crib_dl_error(void)
{
	return mock_ptr_type(const char *);
}

/* The module's entry point, as dlsym would find it. */
static const struct crib_backend_ops *stub_entry(uint32_t host_abi_major)
{
	check_expected(host_abi_major);
	return mock_ptr_type(const struct crib_backend_ops *);
}

static void *entry_address(void)
{
	crib_backend_entry_fn fn = stub_entry;
	void *p;

	/* The inverse of what crib_backend_module_open() does with dlsym's result. */
	memcpy(&p, &fn, sizeof(p));
	return p;
}

/* Expects the open of PATH to reach the entry point, which returns OPS. */
static void expect_entry_returns(const struct crib_backend_ops *ops)
{
	expect_string(__wrap_crib_dl_open, path, PATH);
	will_return(__wrap_crib_dl_open, &fake_handle);
	will_return(__wrap_crib_dl_sym, entry_address());
	expect_value(stub_entry, host_abi_major, CRIB_BACKEND_ABI_MAJOR);
	will_return(stub_entry, ops);
}

/* module_open must fail with R and exactly MSG, leaving the outputs alone. */
static void open_fails(const char *path, int r, const char *msg)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	const struct crib_backend_ops *ops = (const void *)&fake_handle;
	void *dl = &ops;

	assert_int_equal(crib_backend_module_open(path, "stub", &dl, &ops, &err), r);
	assert_ptr_equal(dl, &ops);
	assert_ptr_equal(ops, (const void *)&fake_handle);
	assert_non_null(err);
	assert_int_equal(err->errnum, -r);
	assert_string_equal(crib_error_msg(err), msg);
}

static void test_validate_accepts_complete_table(void **state)
{
	struct crib_backend_ops ops = full_ops();
	struct crib_error *err = NULL;

	(void)state;
	assert_int_equal(crib_backend_validate(&ops, PATH, "stub", &err), 0);
	assert_null(err);
}

static void test_validate_accepts_table_without_optional_ops(void **state)
{
	struct crib_backend_ops ops = full_ops();
	struct crib_error *err = NULL;

	(void)state;
	ops.caps = CRIB_CAP_OWN_NETNS; /* the one bit without an op */
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		clear_member(&ops, caps[i].offset);
	assert_int_equal(crib_backend_validate(&ops, PATH, "stub", &err), 0);
	assert_null(err);
}

static void test_validate_refuses_other_abi_major(void **state)
{
	struct crib_backend_ops ops = full_ops();
	_cleanup_free_ char *msg = NULL;

	(void)state;
	ops.abi_major = 2;
	ops.abi_minor = 0;
	msg = crib_xasprintf("Backend module '" PATH "' is built for ABI 2.0, but cribd expects "
	                     "ABI 1.x (1.%u)",
	                     CRIB_BACKEND_ABI_MINOR);
	validate_fails(&ops, msg);
	ops.abi_major = 0;
	ops.abi_minor = 9;
	free(msg);
	msg = crib_xasprintf("Backend module '" PATH "' is built for ABI 0.9, but cribd expects "
	                     "ABI 1.x (1.%u)",
	                     CRIB_BACKEND_ABI_MINOR);
	validate_fails(&ops, msg);
}

static void test_validate_refuses_table_smaller_than_1_0(void **state)
{
	const size_t min = offsetof(struct crib_backend_ops, pod_update) + sizeof(void *);
	struct crib_backend_ops ops = full_ops();
	_cleanup_free_ char *msg = NULL;

	(void)state;
	ops.struct_size = (uint32_t)(min - 1);
	msg = crib_xasprintf("Backend module '" PATH "' has an ops table of %zu bytes, smaller "
	                     "than ABI 1.0's %zu",
	                     min - 1, min);
	validate_fails(&ops, msg);
	ops.struct_size = 0;
	free(msg);
	msg = crib_xasprintf("Backend module '" PATH "' has an ops table of 0 bytes, smaller "
	                     "than ABI 1.0's %zu",
	                     min);
	validate_fails(&ops, msg);
}

static void test_validate_accepts_larger_table_of_newer_minor(void **state)
{
	struct crib_backend_ops ops = full_ops();

	(void)state;
	ops.abi_minor = CRIB_BACKEND_ABI_MINOR + 1;
	ops.struct_size = sizeof(ops) + 64; /* members we do not know are never read */
	assert_int_equal(crib_backend_validate(&ops, PATH, "stub", NULL), 0);
}

static void test_validate_refuses_name_mismatch(void **state)
{
	struct crib_backend_ops ops = full_ops();

	(void)state;
	ops.name = "other";
	validate_fails(&ops, "Backend module '" PATH "' calls itself 'other', not 'stub'");
	ops.name = NULL;
	validate_fails(&ops, "Backend module '" PATH "' calls itself '(null)', not 'stub'");
}

static void test_validate_refuses_each_missing_required_op(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
		struct crib_backend_ops ops = full_ops();
		_cleanup_free_ char *msg = crib_xasprintf(
		    "Backend module '" PATH "' lacks the required op '%s'", required[i].name);

		clear_member(&ops, required[i].offset);
		validate_fails(&ops, msg);
	}
}

static void test_validate_refuses_cap_without_its_op(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		struct crib_backend_ops ops = full_ops();
		_cleanup_free_ char *msg =
		    crib_xasprintf("Backend module '" PATH "' claims '%s' but lacks op '%s'",
		                   caps[i].feature, caps[i].op);

		clear_member(&ops, caps[i].offset);
		validate_fails(&ops, msg);
		/* Without the bit the missing op is fine. */
		ops.caps &= ~caps[i].cap;
		assert_int_equal(crib_backend_validate(&ops, PATH, "stub", NULL), 0);
	}
}

static void test_open_refuses_relative_path_without_dlopen(void **state)
{
	(void)state;
	/* No expectation on __wrap_crib_dl_open: calling it would fail the test. */
	open_fails("stub.so", -EINVAL, "Backend module path 'stub.so' is not absolute");
	open_fails("./stub.so", -EINVAL, "Backend module path './stub.so' is not absolute");
}

static void test_open_reports_dlerror(void **state)
{
	(void)state;
	expect_string(__wrap_crib_dl_open, path, PATH);
	will_return(__wrap_crib_dl_open, NULL);
	will_return(__wrap_crib_dl_error,
	            PATH ": cannot open shared object file: No such file or directory");
	open_fails(PATH, -ENOEXEC,
	           "Failed to load backend module '" PATH "': " PATH
	           ": cannot open shared object file: No such file or directory");
}

static void test_open_missing_symbol_closes_handle(void **state)
{
	_cleanup_free_ char *msg = crib_xasprintf(
	    "Backend module '" PATH "' does not export 'crib_backend_entry' (expected ABI 1.%u)",
	    CRIB_BACKEND_ABI_MINOR);

	(void)state;
	expect_string(__wrap_crib_dl_open, path, PATH);
	will_return(__wrap_crib_dl_open, &fake_handle);
	will_return(__wrap_crib_dl_sym, NULL);
	expect_function_call(__wrap_crib_dl_close);
	open_fails(PATH, -ENOEXEC, msg);
}

static void test_open_entry_returning_null_closes_handle(void **state)
{
	_cleanup_free_ char *msg = crib_xasprintf(
	    "Backend module '" PATH "' refused cribd's ABI 1.%u", CRIB_BACKEND_ABI_MINOR);

	(void)state;
	expect_entry_returns(NULL);
	expect_function_call(__wrap_crib_dl_close);
	open_fails(PATH, -ENOEXEC, msg);
}

static void test_open_invalid_table_closes_handle(void **state)
{
	struct crib_backend_ops ops = full_ops();

	(void)state;
	ops.container_start = NULL;
	expect_entry_returns(&ops);
	expect_function_call(__wrap_crib_dl_close);
	open_fails(PATH, -ENOEXEC,
	           "Backend module '" PATH "' lacks the required op "
	           "'container_start'");
}

static void test_open_success_hands_over_handle(void **state)
{
	struct crib_backend_ops ops = full_ops();
	const struct crib_backend_ops *ret_ops = NULL;
	struct crib_error *err = NULL;
	void *dl = NULL;

	(void)state;
	expect_entry_returns(&ops);
	/* No expect_function_call(__wrap_crib_dl_close): closing here would fail the test. */
	assert_int_equal(crib_backend_module_open(PATH, "stub", &dl, &ret_ops, &err), 0);
	assert_null(err);
	assert_ptr_equal(dl, &fake_handle);
	assert_ptr_equal(ret_ops, &ops);
}

static void test_caps_string(void **state)
{
	static const struct {
		uint64_t caps;
		const char *text;
	} cases[] = {
	    {0, ""},
	    {CRIB_CAP_EXEC_SYNC, "exec-sync"},
	    {CRIB_CAP_HEALTH | CRIB_CAP_EXEC_SYNC, "exec-sync,health"},
	    {CRIB_CAP_OWN_NETNS, "own-netns"},
	    {(uint64_t)1 << 40, ""},
	    {UINT64_MAX, "exec-sync,container-stats,pod-stats,reopen-log,update-resources,"
	                 "pod-update,pod-status,health,own-netns,own-images,streams,port-forward"},
	    {CRIB_CAP_OWN_IMAGES, "own-images"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *s = crib_backend_caps_string(cases[i].caps);

		assert_string_equal(s, cases[i].text);
	}
}

static void test_backend_new_and_set_failed(void **state)
{
	struct crib_backend *b = crib_backend_new("oci", "/usr/lib/crib/backends", NULL);
	struct crib_error *err = NULL;

	(void)state;
	assert_string_equal(b->name, "oci");
	assert_string_equal(b->path, "/usr/lib/crib/backends/oci.so");
	assert_int_equal(b->status, CRIB_BACKEND_UNLOADED);
	(void)crib_error_set(&err, ENOEXEC, "bad module");
	crib_backend_set_failed(b, CRIB_BACKEND_LOAD_FAILED, err);
	assert_int_equal(b->status, CRIB_BACKEND_LOAD_FAILED);
	assert_int_equal(b->errnum, ENOEXEC);
	assert_string_equal(b->error, "bad module");
	assert_non_null(err); /* kept */
	err = crib_error_free(err);
	crib_backend_set_failed(b, CRIB_BACKEND_INIT_FAILED, NULL);
	assert_int_equal(b->errnum, EIO);
	assert_string_equal(b->error, "unspecified error");
	assert_null(crib_backend_free(b));
	assert_null(crib_backend_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validate_accepts_complete_table),
	    cmocka_unit_test(test_validate_accepts_table_without_optional_ops),
	    cmocka_unit_test(test_validate_refuses_other_abi_major),
	    cmocka_unit_test(test_validate_refuses_table_smaller_than_1_0),
	    cmocka_unit_test(test_validate_accepts_larger_table_of_newer_minor),
	    cmocka_unit_test(test_validate_refuses_name_mismatch),
	    cmocka_unit_test(test_validate_refuses_each_missing_required_op),
	    cmocka_unit_test(test_validate_refuses_cap_without_its_op),
	    cmocka_unit_test(test_open_refuses_relative_path_without_dlopen),
	    cmocka_unit_test(test_open_reports_dlerror),
	    cmocka_unit_test(test_open_missing_symbol_closes_handle),
	    cmocka_unit_test(test_open_entry_returning_null_closes_handle),
	    cmocka_unit_test(test_open_invalid_table_closes_handle),
	    cmocka_unit_test(test_open_success_hands_over_handle),
	    cmocka_unit_test(test_caps_string),
	    cmocka_unit_test(test_backend_new_and_set_failed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
