/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes' WebSocket channel protocols: negotiation, messages both ways, refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"
#include "wschannel.h"

static const struct crib_ws_protocol *proto(const char *name)
{
	const char *offered[] = {name};
	const struct crib_ws_protocol *p = crib_ws_negotiate(offered, 1);

	assert_non_null(p);
	assert_string_equal(p->name, name);
	return p;
}

static void test_negotiation(void **state)
{
	const char *both[] = {"v4.channel.k8s.io", "v5.channel.k8s.io"};
	const char *none[] = {"v1.channel.k8s.io", "portforward.k8s.io"};

	(void)state;
	assert_string_equal(crib_ws_negotiate(both, 2)->name, "v5.channel.k8s.io");
	assert_true(crib_ws_negotiate(both, 2)->close);
	assert_true(proto("v4.base64.channel.k8s.io")->base64);
	assert_false(proto("channel.k8s.io")->v4_status);
	assert_null(crib_ws_negotiate(none, 2));
}

static void test_messages_as_kubernetes_frames_them(void **state)
{
	uint8_t *msg;
	size_t len;
	bool text;

	(void)state;
	crib_ws_encode(proto("v4.channel.k8s.io"), CRIB_WS_STDOUT, "hi", 2, &msg, &len, &text);
	assert_false(text);
	assert_int_equal(len, 3);
	assert_memory_equal(msg, "\x01hi", 3);
	free(msg);
	crib_ws_encode(proto("base64.channel.k8s.io"), CRIB_WS_STDERR, "hello", 5, &msg, &len,
	               &text);
	assert_true(text);
	assert_int_equal(len, 9);
	assert_memory_equal(msg, "2aGVsbG8=", 9);
	free(msg);
	crib_ws_encode_close(CRIB_WS_STDIN, &msg, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(msg, "\xff\x00", 2);
	free(msg);
}

static void test_round_trips(void **state)
{
	static const char *const names[] = {"v5.channel.k8s.io", "v4.base64.channel.k8s.io",
	                                    "channel.k8s.io"};
	static const char data[] = "abcde";

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const struct crib_ws_protocol *p = proto(names[i]);

		/* 0 to 5 bytes: every base64 padding. */
		for (size_t n = 0; n <= 5; n++) {
			struct crib_ws_message m = {0};
			uint8_t *msg;
			size_t len;
			bool text;

			crib_ws_encode(p, CRIB_WS_STDIN, data, n, &msg, &len, &text);
			assert_int_equal(crib_ws_decode(p, msg, len, text, &m), 0);
			assert_int_equal(m.channel, CRIB_WS_STDIN);
			assert_false(m.closes);
			assert_int_equal(m.len, n);
			if (n)
				assert_memory_equal(m.data, data, n);
			free(m.data);
			free(msg);
		}
	}
}

static void test_refusals(void **state)
{
	const struct crib_ws_protocol *v5 = proto("v5.channel.k8s.io");
	const struct crib_ws_protocol *v4 = proto("v4.channel.k8s.io");
	const struct crib_ws_protocol *b64 = proto("v4.base64.channel.k8s.io");
	struct crib_ws_message m = {0};
	uint8_t *big;

	(void)state;
	assert_int_equal(crib_ws_decode(v5, (const uint8_t *)"\xff\x00", 2, false, &m), 0);
	assert_true(m.closes);
	assert_int_equal(m.channel, CRIB_WS_STDIN);
	m = (struct crib_ws_message){0};
	/* Without v5 there is no close message: 255 is no channel. */
	assert_int_equal(crib_ws_decode(v4, (const uint8_t *)"\xff\x00", 2, false, &m), -EPROTO);
	assert_int_equal(crib_ws_decode(v5, (const uint8_t *)"\xff\x00x", 3, false, &m), -EPROTO);
	assert_int_equal(crib_ws_decode(v5, (const uint8_t *)"\xff\x09", 2, false, &m), -EPROTO);
	assert_int_equal(crib_ws_decode(v4, (const uint8_t *)"", 0, false, &m), -EPROTO);
	assert_int_equal(crib_ws_decode(v4, (const uint8_t *)"\x05x", 2, false, &m), -EPROTO);
	/* Port-forward's channels go further: two per port. */
	assert_int_equal(crib_ws_decode_channels(v4, (const uint8_t *)"\x05x", 2, false, 5, &m), 0);
	assert_int_equal(m.channel, 5);
	free(m.data);
	m = (struct crib_ws_message){0};
	assert_int_equal(crib_ws_decode_channels(v4, (const uint8_t *)"\x06x", 2, false, 5, &m),
	                 -EPROTO);
	assert_int_equal(crib_ws_decode(v4, (const uint8_t *)"\x00x", 2, true, &m), -EPROTO);
	assert_int_equal(crib_ws_decode(b64, (const uint8_t *)"0aGVsbG8", 8, true, &m), -EPROTO);
	assert_int_equal(crib_ws_decode(b64, (const uint8_t *)"0aG!sbG8=", 9, true, &m), -EPROTO);
	assert_int_equal(crib_ws_decode(b64, (const uint8_t *)"/aGVsbG8=", 9, true, &m), -EPROTO);
	assert_null(m.data);
	big = crib_xcalloc(CRIB_WS_MESSAGE_MAX + 1, 1);
	assert_int_equal(crib_ws_decode(v4, big, CRIB_WS_MESSAGE_MAX + 1, false, &m), -EMSGSIZE);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_negotiation),
	    cmocka_unit_test(test_messages_as_kubernetes_frames_them),
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
