/* SPDX-License-Identifier: Apache-2.0 */
/* Image references: normalization and refusal, as Docker and containerd read them. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "imageref.h"
#include "pull.h"
#include "util.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_normalization_table(void **state)
{
	static const struct {
		const char *in, *domain, *path, *tag, *digest, *full;
	} cases[] = {
	    {"busybox", "docker.io", "library/busybox", "latest", NULL,
	     "docker.io/library/busybox:latest"},
	    {"busybox:1.36", "docker.io", "library/busybox", "1.36", NULL,
	     "docker.io/library/busybox:1.36"},
	    {"library/busybox", "docker.io", "library/busybox", "latest", NULL, NULL},
	    {"docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, NULL},
	    {"index.docker.io/user/app:v1", "docker.io", "user/app", "v1", NULL,
	     "docker.io/user/app:v1"},
	    {"user/app", "docker.io", "user/app", "latest", NULL, NULL},
	    {"127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", NULL, NULL},
	    {"localhost/app:x", "localhost", "app", "x", NULL, NULL},
	    {"localhost:5000/a/b/c", "localhost:5000", "a/b/c", "latest", NULL, NULL},
	    {"registry.k8s.io/e2e-test-images/busybox:1.29-2", "registry.k8s.io",
	     "e2e-test-images/busybox", "1.29-2", NULL, NULL},
	    {"gcr.io/k8s-staging-cri-tools/test-image-1", "gcr.io",
	     "k8s-staging-cri-tools/test-image-1", "latest", NULL, NULL},
	    {"[::1]:5000/app", "[::1]:5000", "app", "latest", NULL, NULL},
	    {"app@sha256:" D64, "docker.io", "library/app", NULL, "sha256:" D64,
	     "docker.io/library/app@sha256:" D64},
	    {"app:v1@sha256:" D64, "docker.io", "library/app", "v1", "sha256:" D64,
	     "docker.io/library/app:v1@sha256:" D64},
	    {"a.b/c_d/e__f/g-h---i.j:T_a.g-9", "a.b", "c_d/e__f/g-h---i.j", "T_a.g-9", NULL, NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct crib_imageref r = {0};
		struct crib_error *err = NULL;
		_cleanup_free_ char *full = NULL;

		if (crib_imageref_parse(cases[i].in, &r, &err) < 0)
			fail_msg("'%s' refused: %s", cases[i].in, crib_error_msg(err));
		assert_string_equal(r.domain, cases[i].domain);
		assert_string_equal(r.path, cases[i].path);
		if (cases[i].tag)
			assert_string_equal(r.tag, cases[i].tag);
		else
			assert_null(r.tag);
		if (cases[i].digest)
			assert_string_equal(r.digest, cases[i].digest);
		else
			assert_null(r.digest);
		full = crib_imageref_string(&r);
		if (cases[i].full)
			assert_string_equal(full, cases[i].full);
		crib_imageref_clear(&r);
	}
}

static void test_invalid_references(void **state)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
	    {"", "empty"},
	    {"Busybox", "must be lowercase"},
	    {"busybox:", "not a valid tag"},
	    {"busybox:-x", "not a valid tag"},
	    {"busybox@sha256:abc", "not a sha256 digest"},
	    {"busybox@md5:" D64, "not a sha256 digest"},
	    {"a//b", "not a valid repository path component"},
	    {"a/b_", "not a valid repository path component"},
	    {"a/.b", "not a valid repository path component"},
	    {"a/b..c", "not a valid repository path component"},
	    {"a/b___c", "not a valid repository path component"},
	    {"exa mple/b", "'exa mple' is not a valid repository path component"},
	    {"host:99999999/x", "registry host"},
	    {"-host.io/x", "registry host"},
	    {":tag", "no repository name"},
	    {D64, "image id"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct crib_imageref r = {0};
		struct crib_error *err = NULL;
		char msg[512];

		assert_int_equal(crib_imageref_parse(cases[i].in, &r, &err), -EINVAL);
		(void)snprintf(msg, sizeof(msg), "%s", crib_error_msg(err));
		crib_error_free(err);
		assert_null(r.domain);
		if (!strstr(msg, cases[i].why))
			fail_msg("'%s': message '%s' lacks '%s'", cases[i].in, msg, cases[i].why);
	}
}

static void test_too_long_name(void **state)
{
	char name[300];
	struct crib_imageref r = {0};
	struct crib_error *err = NULL;

	(void)state;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(crib_imageref_parse(name, &r, &err), -EINVAL);
	assert_non_null(strstr(crib_error_msg(err), "longer than 255"));
	crib_error_free(err);
}

static void test_loopback(void **state)
{
	(void)state;
	assert_true(crib_registry_is_loopback("127.0.0.1:5000"));
	assert_true(crib_registry_is_loopback("127.9.9.9"));
	assert_true(crib_registry_is_loopback("localhost:5000"));
	assert_true(crib_registry_is_loopback("[::1]:5000"));
	assert_false(crib_registry_is_loopback("docker.io"));
	assert_false(crib_registry_is_loopback("10.0.0.1:5000"));
	assert_false(crib_registry_is_loopback("localhost.example.com"));
}

static void test_challenge_parsing(void **state)
{
	static const char *const keys[] = {"realm", "service", "scope"};
	char *p[3], *scheme = NULL;

	(void)state;
	assert_int_equal(
	    crib_pull_parse_challenge(
	        "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker."
	        "io\",scope=\"repository:library/busybox:pull\"",
	        &scheme, keys, p, 3),
	    0);
	assert_string_equal(scheme, "bearer");
	assert_string_equal(p[0], "https://auth.docker.io/token");
	assert_string_equal(p[1], "registry.docker.io");
	assert_string_equal(p[2], "repository:library/busybox:pull");
	free(scheme);
	for (int i = 0; i < 3; i++)
		free(p[i]);

	/* Tokens, spaces, escapes, unknown keys, missing keys. */
	assert_int_equal(
	    crib_pull_parse_challenge("basic  Realm=x , other=\"a\\\"b\"", &scheme, keys, p, 3), 0);
	assert_string_equal(scheme, "basic");
	assert_string_equal(p[0], "x");
	assert_null(p[1]);
	assert_null(p[2]);
	free(scheme);
	free(p[0]);

	/* Malformed: unterminated quote, a key without a value, garbage after a value. */
	assert_int_equal(crib_pull_parse_challenge("Bearer realm=\"x", &scheme, keys, p, 3),
	                 -EINVAL);
	assert_int_equal(crib_pull_parse_challenge("Bearer realm", &scheme, keys, p, 3), -EINVAL);
	assert_int_equal(crib_pull_parse_challenge("Bearer realm=\"x\" y", &scheme, keys, p, 3),
	                 -EINVAL);
	assert_int_equal(crib_pull_parse_challenge("", &scheme, keys, p, 3), -EINVAL);
	for (int i = 0; i < 3; i++)
		assert_null(p[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalization_table), cmocka_unit_test(test_invalid_references),
	    cmocka_unit_test(test_too_long_name),       cmocka_unit_test(test_loopback),
	    cmocka_unit_test(test_challenge_parsing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
