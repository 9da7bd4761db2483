/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SPDY/3.1 framing: frames and their bounds, and header blocks both ways.
 * The header vectors were compressed by another zlib (Python's) with the
 * dictionary as the SPDY/3 draft prints it byte for byte, so that a slip in
 * crib's own copy of the dictionary fails here rather than against kubelet.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <zlib.h>

#include "spdy.h"
#include "util.h"

/* Two header blocks, one after the other on one zlib stream. */
static const char v1_hex[] = "78bbe3c6a7c202e50e703a2b294a4dcc851625c0149b920f2e8881e5721198b630b03"
                             "000000000ffff";
static const char v2_hex[] = "02d28c186a5953419102000000ffff";
/* The adler32 of the draft's dictionary, which a deflate stream names in its header. */
#define SPDY3_DICT_ID 0xe3c6a7c2u

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++)
		(void)sscanf(hex + 2 * i, "%2hhx", &out[i]);
	return n;
}

static void test_decodes_blocks_of_another_zlib(void **state)
{
	struct crib_spdy_zlib *z = NULL;
	struct crib_spdy_headers h = {0};
	uint8_t buf[128];
	size_t n;

	(void)state;
	assert_int_equal(crib_spdy_zlib_new(0, &z), 0);
	n = unhex(v1_hex, buf);
	assert_int_equal(crib_spdy_headers_decode(z, buf, n, &h), 0);
	assert_int_equal(h.n, 2);
	assert_string_equal(crib_spdy_headers_get(&h, "streamtype"), "stdout");
	assert_string_equal(crib_spdy_headers_get(&h, "port"), "8080");
	assert_null(crib_spdy_headers_get(&h, "missing"));
	/* The second block continues the same stream: it decodes only after the first. */
	n = unhex(v2_hex, buf);
	assert_int_equal(crib_spdy_headers_decode(z, buf, n, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(crib_spdy_headers_get(&h, "streamtype"), "error");
	crib_spdy_headers_clear(&h);
	crib_spdy_zlib_free(z);
}

static void test_syn_reply_round_trip_names_the_dictionary(void **state)
{
	struct crib_spdy_zlib *def = NULL, *inf = NULL;
	struct crib_spdy_headers h = {0}, got = {0};
	struct crib_spdy_buf b = {0};
	struct crib_spdy_frame f;
	const uint8_t *zh;
	ssize_t n;

	(void)state;
	assert_int_equal(crib_spdy_zlib_new(1, &def), 0);
	assert_int_equal(crib_spdy_zlib_new(0, &inf), 0);
	crib_spdy_headers_add(&h, "streamtype", "stdin");
	crib_spdy_headers_add(&h, "x-empty", "");
	assert_int_equal(crib_spdy_put_syn_reply(&b, def, 5, CRIB_SPDY_FLAG_FIN, &h), 0);
	n = crib_spdy_parse(b.data, b.len, &f);
	assert_int_equal(n, (ssize_t)b.len);
	assert_int_equal(f.type, CRIB_SPDY_SYN_REPLY);
	assert_int_equal(f.flags, CRIB_SPDY_FLAG_FIN);
	assert_int_equal(f.stream_id, 5);
	/* zlib header: FDICT set, then the dictionary's id. */
	zh = f.payload;
	assert_true(zh[1] & 0x20);
	assert_int_equal((uint32_t)zh[2] << 24 | (uint32_t)zh[3] << 16 | (uint32_t)zh[4] << 8 |
	                     zh[5],
	                 SPDY3_DICT_ID);
	assert_int_equal(crib_spdy_headers_decode(inf, f.payload, f.payload_len, &got), 0);
	assert_int_equal(got.n, 2);
	assert_string_equal(crib_spdy_headers_get(&got, "streamtype"), "stdin");
	assert_string_equal(crib_spdy_headers_get(&got, "x-empty"), "");
	/* A second frame on the same streams (SYN_STREAM this time) decodes too. */
	b.len = 0;
	assert_int_equal(crib_spdy_put_syn_stream(&b, def, 7, 3, 0, &h), 0);
	assert_int_equal(crib_spdy_parse(b.data, b.len, &f), (ssize_t)b.len);
	assert_int_equal(f.type, CRIB_SPDY_SYN_STREAM);
	assert_int_equal(f.stream_id, 7);
	assert_int_equal(f.assoc_id, 3);
	assert_int_equal(crib_spdy_headers_decode(inf, f.payload, f.payload_len, &got), 0);
	assert_int_equal(got.n, 2);
	crib_spdy_headers_clear(&h);
	crib_spdy_headers_clear(&got);
	crib_spdy_buf_free(&b);
	crib_spdy_zlib_free(def);
	crib_spdy_zlib_free(inf);
}

static void test_simple_frames(void **state)
{
	struct crib_spdy_buf b = {0};
	struct crib_spdy_frame f;
	size_t off = 0;
	ssize_t n;

	(void)state;
	crib_spdy_put_data(&b, 3, CRIB_SPDY_FLAG_FIN, "hello", 5);
	crib_spdy_put_ping(&b, 42);
	crib_spdy_put_rst_stream(&b, 3, CRIB_SPDY_CANCEL);
	crib_spdy_put_window_update(&b, 3, 65536);
	crib_spdy_put_goaway(&b, 9, 0);
	/* Byte by byte: nothing parses before a frame is whole. */
	for (size_t i = 0; i < 13; i++)
		assert_int_equal(crib_spdy_parse(b.data, i, &f), 0);
	n = crib_spdy_parse(b.data, b.len, &f);
	assert_int_equal(n, 13);
	assert_int_equal(f.type, CRIB_SPDY_DATA);
	assert_int_equal(f.stream_id, 3);
	assert_int_equal(f.flags, CRIB_SPDY_FLAG_FIN);
	assert_memory_equal(f.payload, "hello", 5);
	off += (size_t)n;
	n = crib_spdy_parse(b.data + off, b.len - off, &f);
	assert_int_equal(f.type, CRIB_SPDY_PING);
	assert_int_equal(f.value, 42);
	off += (size_t)n;
	n = crib_spdy_parse(b.data + off, b.len - off, &f);
	assert_int_equal(f.type, CRIB_SPDY_RST_STREAM);
	assert_int_equal(f.stream_id, 3);
	assert_int_equal(f.value, CRIB_SPDY_CANCEL);
	off += (size_t)n;
	n = crib_spdy_parse(b.data + off, b.len - off, &f);
	assert_int_equal(f.type, CRIB_SPDY_WINDOW_UPDATE);
	assert_int_equal(f.value, 65536);
	off += (size_t)n;
	n = crib_spdy_parse(b.data + off, b.len - off, &f);
	assert_int_equal(f.type, CRIB_SPDY_GOAWAY);
	assert_int_equal(f.stream_id, 9);
	off += (size_t)n;
	assert_int_equal(off, b.len);
	crib_spdy_buf_free(&b);
}

static ssize_t parse_hex(const char *hex)
{
	uint8_t buf[64];
	struct crib_spdy_frame f;

	return crib_spdy_parse(buf, unhex(hex, buf), &f);
}

static void test_bad_frames_are_refused(void **state)
{
	(void)state;
	/* A control frame of SPDY/2. */
	assert_int_equal(parse_hex("8002000600000004"
	                           "00000001"),
	                 -EPROTONOSUPPORT);
	/* A payload over the bound, refused before it arrives. */
	assert_int_equal(parse_hex("0000000100ffffff"), -EMSGSIZE);
	/* Data for stream 0; a control frame of type 0. */
	assert_int_equal(parse_hex("0000000000000001"
	                           "78"),
	                 -EPROTO);
	assert_int_equal(parse_hex("8003000000000000"), -EPROTO);
	/* Too short for its type: RST_STREAM of 4 bytes, SYN_STREAM of 8. */
	assert_int_equal(parse_hex("8003000300000004"
	                           "00000001"),
	                 -EPROTO);
	assert_int_equal(parse_hex("8003000100000008"
	                           "0000000100000000"),
	                 -EPROTO);
	/* A stream id of 0 where one is needed, a WINDOW_UPDATE of 0. */
	assert_int_equal(parse_hex("8003000300000008"
	                           "0000000000000005"),
	                 -EPROTO);
	assert_int_equal(parse_hex("8003000900000008"
	                           "0000000100000000"),
	                 -EPROTO);
	/* SETTINGS whose count does not match its entries. */
	assert_int_equal(parse_hex("800300040000000c"
	                           "00000002"
	                           "0000000700000001"),
	                 -EPROTO);
	/* An unknown control type is passed on, to be ignored. */
	assert_int_equal(parse_hex("8003000a00000002"
	                           "abcd"),
	                 10);
}

/* Compresses a raw header block as a peer would (zlib with the shared dictionary). */
static size_t compress_raw(const uint8_t *raw, size_t len, uint8_t *out, size_t cap)
{
	size_t dict_len;
	const uint8_t *dict = crib_spdy_dictionary(&dict_len);
	z_stream z = {0};
	size_t n;

	assert_int_equal(deflateInit(&z, Z_DEFAULT_COMPRESSION), Z_OK);
	assert_int_equal(deflateSetDictionary(&z, dict, (uInt)dict_len), Z_OK);
	z.next_in = (uint8_t *)raw;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
	n = cap - z.avail_out;
	(void)deflateEnd(&z);
	return n;
}

static void test_dictionary_is_the_drafts(void **state)
{
	size_t len;
	const uint8_t *dict = crib_spdy_dictionary(&len);

	(void)state;
	assert_int_equal(len, 1423);
	assert_int_equal(adler32(1, dict, (uInt)len), SPDY3_DICT_ID);
	assert_memory_equal(dict, "\0\0\0\7options", 11);
	assert_memory_equal(dict + len - 6, "enq=0.", 6);
}

static int decode_raw(const uint8_t *raw, size_t len)
{
	struct crib_spdy_zlib *inf = NULL;
	struct crib_spdy_headers h = {0};
	uint8_t out[4096];
	size_t n = compress_raw(raw, len, out, sizeof(out));
	int r;

	assert_int_equal(crib_spdy_zlib_new(0, &inf), 0);
	r = crib_spdy_headers_decode(inf, out, n, &h);
	if (r < 0)
		assert_int_equal(h.n, 0);
	crib_spdy_headers_clear(&h);
	crib_spdy_zlib_free(inf);
	return r;
}

static void test_bad_header_blocks_are_refused(void **state)
{
	static const uint8_t ok[] = "\0\0\0\1"
	                            "\0\0\0\1a"
	                            "\0\0\0\1b";
	static const uint8_t upper[] = "\0\0\0\1"
	                               "\0\0\0\1A"
	                               "\0\0\0\1b";
	static const uint8_t empty_name[] = "\0\0\0\1"
	                                    "\0\0\0\0"
	                                    "\0\0\0\1b";
	static const uint8_t twice[] = "\0\0\0\2"
	                               "\0\0\0\1a"
	                               "\0\0\0\1b"
	                               "\0\0\0\1a"
	                               "\0\0\0\1c";
	static const uint8_t past_end[] = "\0\0\0\1"
	                                  "\0\0\0\1a"
	                                  "\0\0\0\7b";
	static const uint8_t left_over[] = "\0\0\0\1"
	                                   "\0\0\0\1a"
	                                   "\0\0\0\1b"
	                                   "x";
	static const uint8_t too_many[] = "\0\0\1\0";
	struct crib_spdy_zlib *inf = NULL;
	struct crib_spdy_headers h = {0};

	(void)state;
	assert_int_equal(decode_raw(ok, sizeof(ok) - 1), 0);
	assert_int_equal(decode_raw(upper, sizeof(upper) - 1), -EPROTO);
	assert_int_equal(decode_raw(empty_name, sizeof(empty_name) - 1), -EPROTO);
	assert_int_equal(decode_raw(twice, sizeof(twice) - 1), -EPROTO);
	assert_int_equal(decode_raw(past_end, sizeof(past_end) - 1), -EPROTO);
	assert_int_equal(decode_raw(left_over, sizeof(left_over) - 1), -EPROTO);
	assert_int_equal(decode_raw(too_many, sizeof(too_many) - 1), -EMSGSIZE);
	/* Bytes that are no zlib stream. */
	assert_int_equal(crib_spdy_zlib_new(0, &inf), 0);
	assert_int_equal(crib_spdy_headers_decode(inf, (const uint8_t *)"garbage!", 8, &h),
	                 -EPROTO);
	assert_int_equal(h.n, 0);
	crib_spdy_zlib_free(inf);
}

static void test_inflated_size_is_bounded(void **state)
{
	struct crib_spdy_zlib *def = NULL, *inf = NULL;
	struct crib_spdy_headers h = {0}, got = {0};
	struct crib_spdy_buf b = {0};
	struct crib_spdy_frame f;
	char *big = crib_xmalloc(CRIB_SPDY_HEADERS_MAX + 1);

	(void)state;
	/* Compresses to almost nothing, inflates past the bound: refused, not allocated. */
	memset(big, 'x', CRIB_SPDY_HEADERS_MAX);
	big[CRIB_SPDY_HEADERS_MAX] = '\0';
	assert_int_equal(crib_spdy_zlib_new(1, &def), 0);
	assert_int_equal(crib_spdy_zlib_new(0, &inf), 0);
	crib_spdy_headers_add(&h, "bomb", big);
	assert_int_equal(crib_spdy_put_headers(&b, def, 1, 0, &h), 0);
	assert_true(b.len < 4096);
	assert_int_equal(crib_spdy_parse(b.data, b.len, &f), (ssize_t)b.len);
	assert_int_equal(crib_spdy_headers_decode(inf, f.payload, f.payload_len, &got), -EMSGSIZE);
	assert_int_equal(got.n, 0);
	free(big);
	crib_spdy_headers_clear(&h);
	crib_spdy_buf_free(&b);
	crib_spdy_zlib_free(def);
	crib_spdy_zlib_free(inf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dictionary_is_the_drafts),
	    cmocka_unit_test(test_decodes_blocks_of_another_zlib),
	    cmocka_unit_test(test_syn_reply_round_trip_names_the_dictionary),
	    cmocka_unit_test(test_simple_frames),
	    cmocka_unit_test(test_bad_frames_are_refused),
	    cmocka_unit_test(test_bad_header_blocks_are_refused),
	    cmocka_unit_test(test_inflated_size_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
