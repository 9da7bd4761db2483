/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The remote-command protocol's messages: version negotiation, the error
 * stream's Status (read back as client-go's v4 decoder reads it: the exit
 * code from the ExitCode cause), and resize messages as json.Encoder writes
 * them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "remotecommand.h"
#include "util.h"

static void test_negotiation_picks_the_best_served(void **state)
{
	const char *both[] = {"v2.channel.k8s.io", "channel.k8s.io", "v4.channel.k8s.io"};
	const char *old[] = {"channel.k8s.io", "v3.channel.k8s.io"};
	const char *none[] = {"channel.k8s.io", "v5.channel.k8s.io"};

	(void)state;
	assert_string_equal(crib_rc_negotiate(both, 3), CRIB_RC_V4);
	assert_string_equal(crib_rc_negotiate(old, 2), CRIB_RC_V3);
	assert_null(crib_rc_negotiate(none, 2));
	assert_null(crib_rc_negotiate(NULL, 0));
}

static json_t *status_json(int code, const char *message)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	json_t *o;

	crib_rc_status(CRIB_RC_V4, code, message, &text, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	return o;
}

static void test_v4_status_carries_the_exit_code(void **state)
{
	json_t *o, *cause;

	(void)state;
	o = status_json(0, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "Success");
	assert_true(json_is_object(json_object_get(o, "metadata")));
	json_decref(o);

	o = status_json(3, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "Failure");
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "NonZeroExitCode");
	cause = json_array_get(json_object_get(json_object_get(o, "details"), "causes"), 0);
	assert_string_equal(json_string_value(json_object_get(cause, "reason")), "ExitCode");
	assert_string_equal(json_string_value(json_object_get(cause, "message")), "3");
	json_decref(o);

	/* A command that never ran: the reason in the message, no exit code. */
	o = status_json(0, "executable file not found");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "Failure");
	assert_string_equal(json_string_value(json_object_get(o, "message")),
	                    "executable file not found");
	assert_null(json_object_get(o, "reason"));
	json_decref(o);
}

static void test_older_versions_write_failures_only(void **state)
{
	char *text;
	size_t len;

	(void)state;
	crib_rc_status(CRIB_RC_V3, 0, NULL, &text, &len);
	assert_null(text);
	assert_int_equal(len, 0);
	crib_rc_status(CRIB_RC_V2, 7, NULL, &text, &len);
	assert_string_equal(text, "command terminated with non-zero exit code: exit status 7");
	free(text);
}

static void test_resize_messages(void **state)
{
	static const char two[] = "{\"Width\":80,\"Height\":24}\n{\"Width\":132,\"Height\":43}\n";
	struct crib_rc_size s = {0};
	char big[5000];
	int n;

	(void)state;
	n = crib_rc_parse_size(two, strlen(two), &s);
	assert_int_equal(n, 24);
	assert_int_equal(s.width, 80);
	assert_int_equal(s.height, 24);
	assert_int_equal(crib_rc_parse_size(two + n, strlen(two) - (size_t)n, &s), 26);
	assert_int_equal(s.width, 132);
	assert_int_equal(s.height, 43);
	/* Incomplete: wait for more.  A brace in a string does not end the object. */
	assert_int_equal(crib_rc_parse_size(two, 10, &s), 0);
	assert_int_equal(crib_rc_parse_size("{\"x}\":1,\"Width\":1,\"Height\":2}", 29, &s), 29);
	assert_int_equal(s.height, 2);
	/* Not a size: refused, and *ret untouched. */
	s = (struct crib_rc_size){7, 7};
	assert_int_equal(crib_rc_parse_size("[1]", 3, &s), -EINVAL);
	assert_int_equal(crib_rc_parse_size("{\"Width\":-1,\"Height\":2}", 23, &s), -EINVAL);
	assert_int_equal(crib_rc_parse_size("{\"Width\":70000,\"Height\":2}", 26, &s), -EINVAL);
	assert_int_equal(crib_rc_parse_size("{\"Width\":\"80\",\"Height\":2}", 25, &s), -EINVAL);
	assert_int_equal(s.width, 7);
	/* An object that never ends, or whitespace without end, is bounded. */
	big[0] = '{';
	memset(big + 1, ' ', sizeof(big) - 1);
	assert_int_equal(crib_rc_parse_size(big, sizeof(big), &s), -EMSGSIZE);
	memset(big, ' ', sizeof(big));
	assert_int_equal(crib_rc_parse_size(big, sizeof(big), &s), -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_negotiation_picks_the_best_served),
	    cmocka_unit_test(test_v4_status_carries_the_exit_code),
	    cmocka_unit_test(test_older_versions_write_failures_only),
	    cmocka_unit_test(test_resize_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
