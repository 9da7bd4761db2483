/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the CRI log decoder behind the admin API's logs route: log files
 * hold whatever containers wrote (and may be edited by anyone with access).
 * The first byte picks where the input is cut in two and whether
 * timestamps are kept; decoding in two feeds must give what one feed gives,
 * and never more than twice the input.
 */
#include <string.h>

#include "crilog.h"
#include "fuzz.h"
#include "util.h"

struct out {
	char *buf;
	size_t len;
};

static void collect(void *ctx, const char *data, size_t n)
{
	struct out *o = ctx;

	o->buf = crib_xrealloc(o->buf, o->len + n + 1, 1);
	memcpy(o->buf + o->len, data, n);
	o->len += n;
}

static void decode(const char *text, size_t n, size_t cut, bool timestamps, struct out *o)
{
	struct crib_crilog_decoder dec = {.timestamps = timestamps, .at_line_start = true};

	crib_crilog_decode(&dec, text, cut, collect, o);
	crib_crilog_decode(&dec, text + cut, n - cut, collect, o);
	crib_crilog_decoder_clear(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out whole = {0}, split = {0};
	const char *text = (const char *)data + 1;
	size_t n, cut;

	if (size < 1)
		return 0;
	n = size - 1;
	cut = n ? (data[0] >> 1) % (n + 1) : 0;
	decode(text, n, n, data[0] & 1, &whole);
	decode(text, n, cut, data[0] & 1, &split);
	FUZZ_CHECK(whole.len == split.len);
	FUZZ_CHECK(whole.len == 0 || memcmp(whole.buf, split.buf, whole.len) == 0);
	FUZZ_CHECK(whole.len <= 2 * n + 1);
	free(whole.buf);
	free(split.buf);
	return 0;
}
