/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes SPDY/3.1 framing as the streaming server will read it: the input is
 * what a client sends on one connection, parsed frame after frame, and every
 * header block goes through the connection's one inflate stream.  Besides not
 * crashing or leaking: a parsed frame lies within the input and has the
 * fields its type needs; a decoded block has at most CRIB_SPDY_PAIRS_MAX
 * pairs with distinct, lowercase, non-empty names, and a failed one none; and
 * after the first bad frame or block nothing more is read, as a server ends
 * the connection.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "spdy.h"
#include "util.h"

static void check_headers(const struct crib_spdy_headers *h)
{
	FUZZ_CHECK(h->n <= CRIB_SPDY_PAIRS_MAX);
	for (size_t i = 0; i < h->n; i++) {
		FUZZ_CHECK(h->v[i].name && h->v[i].name[0] != '\0');
		for (const char *c = h->v[i].name; *c; c++)
			FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
		FUZZ_CHECK(h->v[i].value && h->v[i].value[h->v[i].value_len] == '\0');
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(!streq(h->v[i].name, h->v[j].name));
	}
}

static bool carries_headers(uint16_t type)
{
	return type == CRIB_SPDY_SYN_STREAM || type == CRIB_SPDY_SYN_REPLY ||
	       type == CRIB_SPDY_HEADERS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crib_spdy_zlib *inf = NULL;
	struct crib_spdy_headers h = {0};
	size_t off = 0;

	if (crib_spdy_zlib_new(0, &inf) < 0)
		return 0;
	while (off < size) {
		struct crib_spdy_frame f;
		ssize_t n = crib_spdy_parse(data + off, size - off, &f);
		int r;

		if (n <= 0) {
			FUZZ_CHECK(n == 0 || n == -EPROTO || n == -EMSGSIZE ||
			           n == -EPROTONOSUPPORT);
			break;
		}
		FUZZ_CHECK((size_t)n >= CRIB_SPDY_HEADER_LEN && (size_t)n <= size - off);
		FUZZ_CHECK(!f.payload_len || (f.payload >= data + off &&
		                              f.payload + f.payload_len <= data + off + (size_t)n));
		FUZZ_CHECK(f.stream_id <= 0x7fffffff && f.assoc_id <= 0x7fffffff);
		/* A WINDOW_UPDATE of stream 0 is the session's window (SPDY/3.1). */
		if (f.type == CRIB_SPDY_DATA || carries_headers(f.type) ||
		    f.type == CRIB_SPDY_RST_STREAM)
			FUZZ_CHECK(f.stream_id != 0);
		if (f.type == CRIB_SPDY_WINDOW_UPDATE)
			FUZZ_CHECK(f.value != 0);
		off += (size_t)n;
		if (!carries_headers(f.type))
			continue;
		r = crib_spdy_headers_decode(inf, f.payload, f.payload_len, &h);
		if (r < 0) {
			FUZZ_CHECK(h.n == 0 && h.v == NULL);
			FUZZ_CHECK(r == -EPROTO || r == -EMSGSIZE || r == -ENOMEM);
			break;
		}
		check_headers(&h);
	}
	crib_spdy_headers_clear(&h);
	crib_spdy_zlib_free(inf);
	return 0;
}
