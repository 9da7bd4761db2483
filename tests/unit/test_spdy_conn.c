/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SPDY connection of the streaming server against a scripted client on a
 * socketpair: what it answers (SYN_REPLY, PING, RST_STREAM, GOAWAY,
 * WINDOW_UPDATE), what it hands its session, how it splits what it sends,
 * and how it ends.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "spdy.h"
#include "spdy_conn.h"
#include "util.h"

struct fixture {
	uv_loop_t loop;
	int client; /* the test's end */
	int server; /* the connection's */
	struct crib_spdy_conn *conn;
	struct crib_spdy_zlib *deflate; /* the client's header compression */
	struct crib_spdy_zlib *inflate; /* for the connection's header blocks */
	/* What the session saw. */
	uint32_t opened[8];
	size_t n_opened;
	int refuse; /* opened() answers this */
	char data[256 * 1024];
	size_t data_len;
	uint32_t ended_id;
	bool ended_reset;
	bool closed;
	const char *why;
	bool released;
	/* What the client read back, not yet looked at. */
	uint8_t in[512 * 1024];
	size_t in_len;
	uint8_t payload[64 * 1024];
};

static int on_opened(void *ud, uint32_t id, const struct crib_spdy_headers *h)
{
	struct fixture *f = ud;

	assert_string_equal(crib_spdy_headers_get(h, "streamtype"), "stdout");
	f->opened[f->n_opened++] = id;
	return f->refuse;
}

static void on_data(void *ud, uint32_t id, const uint8_t *data, size_t len)
{
	struct fixture *f = ud;

	(void)id;
	assert_true(f->data_len + len <= sizeof(f->data));
	memcpy(f->data + f->data_len, data, len);
	f->data_len += len;
}

static void on_ended(void *ud, uint32_t id, bool reset)
{
	struct fixture *f = ud;

	f->ended_id = id;
	f->ended_reset = reset;
}

static void on_writable(void *ud)
{
	(void)ud;
}

static void on_closed(void *ud, const char *why)
{
	struct fixture *f = ud;

	f->closed = true;
	f->why = why;
	f->conn = NULL;
}

static void on_release(void *arg)
{
	struct fixture *f = arg;

	f->released = true;
}

static const struct crib_spdy_conn_cbs cbs = {
    .opened = on_opened,
    .data = on_data,
    .ended = on_ended,
    .writable = on_writable,
    .closed = on_closed,
};

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));
	int sv[2];

	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->client = sv[0];
	f->server = sv[1];
	assert_int_equal(crib_spdy_zlib_new(1, &f->deflate), 0);
	assert_int_equal(crib_spdy_zlib_new(0, &f->inflate), 0);
	assert_int_equal(
	    crib_spdy_conn_new(&f->loop, f->server, NULL, 0, &cbs, f, 0, on_release, f, &f->conn),
	    0);
	*state = f;
	return 0;
}

static void run(struct fixture *f)
{
	for (int i = 0; i < 20; i++)
		(void)uv_run(&f->loop, UV_RUN_NOWAIT);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->conn)
		crib_spdy_conn_close(f->conn);
	close(f->client);
	run(f);
	assert_true(f->closed);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	close(f->server);
	crib_spdy_zlib_free(f->deflate);
	crib_spdy_zlib_free(f->inflate);
	free(f);
	return 0;
}

static void send_buf(struct fixture *f, struct crib_spdy_buf *b)
{
	assert_int_equal(write(f->client, b->data, b->len), (ssize_t)b->len);
	crib_spdy_buf_free(b);
	run(f);
}

static void syn_stream(struct fixture *f, uint32_t id, uint8_t flags)
{
	struct crib_spdy_buf b = {0};
	struct crib_spdy_headers h = {0};

	crib_spdy_headers_add(&h, "streamtype", "stdout");
	assert_int_equal(crib_spdy_put_syn_stream(&b, f->deflate, id, 0, flags, &h), 0);
	crib_spdy_headers_clear(&h);
	send_buf(f, &b);
}

/* The next frame the connection sent; fails when none is there. */
static struct crib_spdy_frame next_frame(struct fixture *f)
{
	struct crib_spdy_frame fr;
	ssize_t n;

	for (;;) {
		ssize_t got;

		n = crib_spdy_parse(f->in, f->in_len, &fr);
		assert_true(n >= 0);
		if (n > 0)
			break;
		got = recv(f->client, f->in + f->in_len, sizeof(f->in) - f->in_len, MSG_DONTWAIT);
		assert_true(got > 0);
		f->in_len += (size_t)got;
	}
	/* The payload stays valid until the next call, in a copy of its own. */
	if (fr.payload_len > 0)
		memcpy(f->payload, fr.payload, fr.payload_len);
	fr.payload = f->payload;
	memmove(f->in, f->in + n, f->in_len - (size_t)n);
	f->in_len -= (size_t)n;
	return fr;
}

static void test_stream_is_accepted_and_carries_data(void **state)
{
	struct fixture *f = *state;
	struct crib_spdy_buf b = {0};
	struct crib_spdy_frame fr;

	syn_stream(f, 1, 0);
	assert_int_equal(f->n_opened, 1);
	fr = next_frame(f);
	assert_int_equal(fr.type, CRIB_SPDY_SYN_REPLY);
	assert_int_equal(fr.stream_id, 1);
	crib_spdy_put_data(&b, 1, 0, "hello", 5);
	crib_spdy_put_data(&b, 1, CRIB_SPDY_FLAG_FIN, " world", 6);
	send_buf(f, &b);
	assert_int_equal(f->data_len, 11);
	assert_memory_equal(f->data, "hello world", 11);
	assert_int_equal(f->ended_id, 1);
	assert_false(f->ended_reset);
}

static void test_consumed_data_is_acknowledged(void **state)
{
	struct fixture *f = *state;
	static uint8_t chunk[16 * 1024];
	struct crib_spdy_buf b = {0};
	struct crib_spdy_frame fr;
	bool stream_update = false, session_update = false;

	syn_stream(f, 1, 0);
	(void)next_frame(f); /* SYN_REPLY */
	for (int i = 0; i < 2; i++)
		crib_spdy_put_data(&b, 1, 0, chunk, sizeof(chunk));
	send_buf(f, &b);
	for (int i = 0; i < 2; i++) {
		fr = next_frame(f);
		assert_int_equal(fr.type, CRIB_SPDY_WINDOW_UPDATE);
		assert_int_equal(fr.value, 32 * 1024);
		stream_update |= fr.stream_id == 1;
		session_update |= fr.stream_id == 0;
	}
	assert_true(stream_update && session_update);
}

static void test_large_sends_are_split_and_end_with_fin(void **state)
{
	struct fixture *f = *state;
	static uint8_t big[70 * 1024];
	struct crib_spdy_frame fr;
	size_t total = 0;

	syn_stream(f, 3, 0);
	(void)next_frame(f);
	memset(big, 'x', sizeof(big));
	crib_spdy_conn_send(f->conn, 3, big, sizeof(big), true);
	run(f);
	for (int i = 0; i < 3; i++) {
		fr = next_frame(f);
		assert_int_equal(fr.type, CRIB_SPDY_DATA);
		assert_true(fr.payload_len <= 32 * 1024);
		total += fr.payload_len;
		assert_int_equal(fr.flags & CRIB_SPDY_FLAG_FIN, i == 2 ? CRIB_SPDY_FLAG_FIN : 0);
	}
	assert_int_equal(total, sizeof(big));
	/* Nothing more goes out on a finished stream. */
	crib_spdy_conn_send(f->conn, 3, "late", 4, false);
	run(f);
	assert_int_equal(recv(f->client, f->in, sizeof(f->in), MSG_DONTWAIT), -1);
}

static void test_pings_from_the_client_are_answered(void **state)
{
	struct fixture *f = *state;
	struct crib_spdy_buf b = {0};
	struct crib_spdy_frame fr;

	crib_spdy_put_ping(&b, 2); /* even: a server's own id, not answered */
	crib_spdy_put_ping(&b, 7);
	send_buf(f, &b);
	fr = next_frame(f);
	assert_int_equal(fr.type, CRIB_SPDY_PING);
	assert_int_equal(fr.value, 7);
	assert_int_equal(recv(f->client, f->in, sizeof(f->in), MSG_DONTWAIT), -1);
}

static void test_refused_stream_is_reset(void **state)
{
	struct fixture *f = *state;
	struct crib_spdy_frame fr;

	f->refuse = -EINVAL;
	syn_stream(f, 1, 0);
	fr = next_frame(f);
	assert_int_equal(fr.type, CRIB_SPDY_RST_STREAM);
	assert_int_equal(fr.stream_id, 1);
	assert_int_equal(fr.value, CRIB_SPDY_REFUSED_STREAM);
	assert_false(f->closed);
}

static void test_client_reset_reaches_the_session(void **state)
{
	struct fixture *f = *state;
	struct crib_spdy_buf b = {0};

	syn_stream(f, 5, 0);
	crib_spdy_put_rst_stream(&b, 5, CRIB_SPDY_CANCEL);
	send_buf(f, &b);
	assert_int_equal(f->ended_id, 5);
	assert_true(f->ended_reset);
}

static void test_stream_ids_out_of_order_end_the_connection(void **state)
{
	struct fixture *f = *state;
	struct crib_spdy_frame fr;

	syn_stream(f, 5, 0);
	(void)next_frame(f);
	syn_stream(f, 3, 0);
	fr = next_frame(f);
	assert_int_equal(fr.type, CRIB_SPDY_GOAWAY);
	assert_int_equal(fr.value, CRIB_SPDY_PROTOCOL_ERROR);
	assert_true(f->closed);
	assert_true(f->released);
	assert_string_equal(f->why, "the client opened a stream with an id out of order");
}

static void test_frame_of_another_version_ends_the_connection(void **state)
{
	struct fixture *f = *state;
	/* A SPDY/2 PING. */
	static const uint8_t v2_ping[] = {0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1};
	struct crib_spdy_frame fr;

	assert_int_equal(write(f->client, v2_ping, sizeof(v2_ping)), (ssize_t)sizeof(v2_ping));
	run(f);
	fr = next_frame(f);
	assert_int_equal(fr.type, CRIB_SPDY_GOAWAY);
	assert_true(f->closed);
}

static void test_client_eof_closes(void **state)
{
	struct fixture *f = *state;

	shutdown(f->client, SHUT_WR);
	run(f);
	assert_true(f->closed);
	assert_true(f->released);
	assert_string_equal(f->why, "the client closed the connection");
}

static void test_paused_connection_reads_nothing(void **state)
{
	struct fixture *f = *state;
	struct crib_spdy_buf b = {0};

	syn_stream(f, 1, 0);
	crib_spdy_conn_pause(f->conn, true);
	crib_spdy_put_data(&b, 1, 0, "held", 4);
	send_buf(f, &b);
	assert_int_equal(f->data_len, 0);
	crib_spdy_conn_pause(f->conn, false);
	run(f);
	assert_int_equal(f->data_len, 4);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_stream_is_accepted_and_carries_data),
	    T(test_consumed_data_is_acknowledged),
	    T(test_large_sends_are_split_and_end_with_fin),
	    T(test_pings_from_the_client_are_answered),
	    T(test_refused_stream_is_reset),
	    T(test_client_reset_reaches_the_session),
	    T(test_stream_ids_out_of_order_end_the_connection),
	    T(test_frame_of_another_version_ends_the_connection),
	    T(test_client_eof_closes),
	    T(test_paused_connection_reads_nothing),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
