/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "spdy.h"
#include "util.h"

/*
 * SPDY/3's preset zlib dictionary (draft 3, section 2.6.10.1): these words,
 * each after its length as 4 big-endian bytes, then DICT_TAIL as it is.
 * 1423 bytes; a dictionary off by one byte breaks every header block.
 */
static const char *const dict_words[] = {
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
};

#define DICT_TAIL                                                                                  \
	"1001012012022052063003023033043053063074024054064074084094104114124134144154164175025045" \
	"05"                                                                                       \
	"203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "  \
	"Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 "   \
	"Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, "  \
	"Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/" \
	"xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,"  \
	"sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."

#define DICT_LEN 1423

static uint8_t dict[DICT_LEN];
static pthread_once_t dict_once = PTHREAD_ONCE_INIT;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void dict_build(void)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(dict_words); i++) {
		size_t len = strlen(dict_words[i]);

		put32(dict + n, (uint32_t)len);
		memcpy(dict + n + 4, dict_words[i], len);
		n += 4 + len;
	}
	memcpy(dict + n, DICT_TAIL, sizeof(DICT_TAIL) - 1);
	n += sizeof(DICT_TAIL) - 1;
	/* The table and the constant are this file's; a mismatch is a bug here, not input. */
	if (n != DICT_LEN)
		abort();
}

const uint8_t *crib_spdy_dictionary(size_t *ret_len)
{
	(void)pthread_once(&dict_once, dict_build);
	*ret_len = DICT_LEN;
	return dict;
}

/* ---- frames ---- */

/* The minimum control payload of each known type (SETTINGS: its entry count). */
static size_t control_min(uint16_t type)
{
	switch (type) {
	case CRIB_SPDY_SYN_STREAM:
		return 10;
	case CRIB_SPDY_SYN_REPLY:
	case CRIB_SPDY_HEADERS:
	case CRIB_SPDY_PING:
	case CRIB_SPDY_SETTINGS:
		return 4;
	case CRIB_SPDY_RST_STREAM:
	case CRIB_SPDY_GOAWAY:
	case CRIB_SPDY_WINDOW_UPDATE:
		return 8;
	default:
		return 0;
	}
}

static int parse_control(const uint8_t *p, size_t len, struct crib_spdy_frame *f)
{
	if (len < control_min(f->type))
		return -EPROTO;
	switch (f->type) {
	case CRIB_SPDY_SYN_STREAM:
		f->stream_id = get32(p) & 0x7fffffff;
		f->assoc_id = get32(p + 4) & 0x7fffffff;
		f->priority = p[8] >> 5;
		f->payload = p + 10;
		f->payload_len = len - 10;
		return f->stream_id ? 0 : -EPROTO;
	case CRIB_SPDY_SYN_REPLY:
	case CRIB_SPDY_HEADERS:
		f->stream_id = get32(p) & 0x7fffffff;
		f->payload = p + 4;
		f->payload_len = len - 4;
		return f->stream_id ? 0 : -EPROTO;
	case CRIB_SPDY_RST_STREAM:
		f->stream_id = get32(p) & 0x7fffffff;
		f->value = get32(p + 4);
		return f->stream_id ? 0 : -EPROTO;
	case CRIB_SPDY_SETTINGS:
		f->value = get32(p);
		f->payload = p + 4;
		f->payload_len = len - 4;
		/* Each entry is 8 bytes: flags and id, then the value. */
		return (uint64_t)f->value * 8 == f->payload_len ? 0 : -EPROTO;
	case CRIB_SPDY_PING:
		f->value = get32(p);
		return 0;
	case CRIB_SPDY_GOAWAY:
		f->stream_id = get32(p) & 0x7fffffff; /* the last stream the sender accepted */
		f->value = get32(p + 4);
		return 0;
	case CRIB_SPDY_WINDOW_UPDATE:
		f->stream_id = get32(p) & 0x7fffffff;
		f->value = get32(p + 4) & 0x7fffffff;
		return f->value ? 0 : -EPROTO;
	default:
		/* Unknown control frames are to be ignored, not refused (SPDY/3.1 2.2.1). */
		f->payload = p;
		f->payload_len = len;
		return 0;
	}
}

ssize_t crib_spdy_parse(const uint8_t *buf, size_t len, struct crib_spdy_frame *ret)
{
	struct crib_spdy_frame f = {0};
	size_t plen;
	int r;

	if (len < CRIB_SPDY_HEADER_LEN)
		return 0;
	plen = (size_t)buf[5] << 16 | (size_t)buf[6] << 8 | buf[7];
	f.flags = buf[4];
	if (buf[0] & 0x80) {
		if ((((unsigned)buf[0] & 0x7f) << 8 | buf[1]) != CRIB_SPDY_VERSION)
			return -EPROTONOSUPPORT;
		f.type = (uint16_t)(buf[2] << 8 | buf[3]);
		if (f.type == CRIB_SPDY_DATA)
			return -EPROTO; /* type 0 is no control frame */
	} else {
		f.type = CRIB_SPDY_DATA;
		f.stream_id = get32(buf) & 0x7fffffff;
		if (f.stream_id == 0)
			return -EPROTO;
	}
	if (plen > CRIB_SPDY_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (len - CRIB_SPDY_HEADER_LEN < plen)
		return 0;
	if (f.type == CRIB_SPDY_DATA) {
		f.payload = buf + CRIB_SPDY_HEADER_LEN;
		f.payload_len = plen;
	} else if ((r = parse_control(buf + CRIB_SPDY_HEADER_LEN, plen, &f)) < 0) {
		return r;
	}
	*ret = f;
	return (ssize_t)(CRIB_SPDY_HEADER_LEN + plen);
}

/* ---- header blocks ---- */

struct crib_spdy_zlib {
	z_stream z;
	bool deflate;
};

int crib_spdy_zlib_new(int deflate, struct crib_spdy_zlib **ret)
{
	struct crib_spdy_zlib *z = crib_xcalloc(1, sizeof(*z));
	int r;

	(void)pthread_once(&dict_once, dict_build);
	z->deflate = deflate;
	r = deflate ? deflateInit(&z->z, Z_DEFAULT_COMPRESSION) : inflateInit(&z->z);
	if (r == Z_OK && deflate)
		r = deflateSetDictionary(&z->z, dict, DICT_LEN);
	if (r != Z_OK) {
		crib_spdy_zlib_free(z);
		return r == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	*ret = z;
	return 0;
}

void crib_spdy_zlib_free(struct crib_spdy_zlib *z)
{
	if (!z)
		return;
	if (z->deflate)
		(void)deflateEnd(&z->z);
	else
		(void)inflateEnd(&z->z);
	free(z);
}

/* Inflates all of IN into OUT (at most CRIB_SPDY_HEADERS_MAX); *ret_len what came out. */
static int inflate_block(struct crib_spdy_zlib *z, const uint8_t *in, size_t len, uint8_t *out,
                         size_t *ret_len)
{
	z->z.next_in = (uint8_t *)in;
	z->z.avail_in = (uInt)len;
	z->z.next_out = out;
	z->z.avail_out = CRIB_SPDY_HEADERS_MAX;
	while (z->z.avail_in > 0) {
		int r = inflate(&z->z, Z_SYNC_FLUSH);

		if (r == Z_NEED_DICT) {
			if (inflateSetDictionary(&z->z, dict, DICT_LEN) != Z_OK)
				return -EPROTO;
			continue;
		}
		if (r == Z_BUF_ERROR && z->z.avail_out == 0)
			return -EMSGSIZE;
		if (r != Z_OK)
			return r == Z_MEM_ERROR ? -ENOMEM : -EPROTO;
		if (z->z.avail_out == 0 && z->z.avail_in > 0)
			return -EMSGSIZE;
	}
	*ret_len = CRIB_SPDY_HEADERS_MAX - z->z.avail_out;
	return 0;
}

/* A length-prefixed string at *p (advanced past it) inside END; NULL when it does not fit. */
static const uint8_t *take_string(const uint8_t **p, const uint8_t *end, size_t *ret_len)
{
	const uint8_t *s;
	size_t n;

	if (end - *p < 4)
		return NULL;
	n = get32(*p);
	s = *p + 4;
	if ((size_t)(end - s) < n)
		return NULL;
	*p = s + n;
	*ret_len = n;
	return s;
}

static bool valid_name(const uint8_t *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || (s[i] >= 'A' && s[i] <= 'Z'))
			return false;
	return true;
}

static int decode_pairs(const uint8_t *p, const uint8_t *end, struct crib_spdy_headers *ret)
{
	uint32_t count;

	if (end - p < 4)
		return -EPROTO;
	count = get32(p);
	p += 4;
	if (count > CRIB_SPDY_PAIRS_MAX)
		return -EMSGSIZE;
	ret->v = crib_xcalloc(count ? count : 1, sizeof(*ret->v));
	for (uint32_t i = 0; i < count; i++) {
		size_t nlen, vlen;
		const uint8_t *name = take_string(&p, end, &nlen);
		const uint8_t *value = name ? take_string(&p, end, &vlen) : NULL;
		struct crib_spdy_header *h = &ret->v[ret->n];

		if (!value || !valid_name(name, nlen))
			return -EPROTO;
		h->name = crib_xmalloc(nlen + 1);
		memcpy(h->name, name, nlen);
		h->name[nlen] = '\0';
		if (crib_spdy_headers_get(ret, h->name)) {
			free(h->name);
			h->name = NULL;
			return -EPROTO;
		}
		h->value = crib_xmalloc(vlen + 1);
		memcpy(h->value, value, vlen);
		h->value[vlen] = '\0';
		h->value_len = vlen;
		ret->n++;
	}
	return p == end ? 0 : -EPROTO;
}

int crib_spdy_headers_decode(struct crib_spdy_zlib *z, const uint8_t *block, size_t len,
                             struct crib_spdy_headers *ret)
{
	_cleanup_free_ uint8_t *out = crib_xmalloc(CRIB_SPDY_HEADERS_MAX);
	size_t out_len = 0;
	int r;

	crib_spdy_headers_clear(ret);
	if (z->deflate)
		return -EINVAL;
	r = inflate_block(z, block, len, out, &out_len);
	if (r >= 0)
		r = decode_pairs(out, out + out_len, ret);
	if (r < 0)
		crib_spdy_headers_clear(ret);
	return r;
}

void crib_spdy_headers_clear(struct crib_spdy_headers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	*h = (struct crib_spdy_headers){0};
}

void crib_spdy_headers_add(struct crib_spdy_headers *h, const char *name, const char *value)
{
	h->v = crib_xrealloc(h->v, h->n + 1, sizeof(*h->v));
	h->v[h->n] = (struct crib_spdy_header){
	    .name = crib_xstrdup(name),
	    .value = crib_xstrdup(value),
	    .value_len = strlen(value),
	};
	h->n++;
}

const char *crib_spdy_headers_get(const struct crib_spdy_headers *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].name && streq(h->v[i].name, name))
			return h->v[i].value;
	return NULL;
}

/* ---- writing ---- */

void crib_spdy_buf_free(struct crib_spdy_buf *b)
{
	free(b->data);
	*b = (struct crib_spdy_buf){0};
}

/* Room for N more bytes; returns where they go (len is not advanced). */
static uint8_t *buf_reserve(struct crib_spdy_buf *b, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap - b->len < n)
			cap *= 2;
		b->data = crib_xrealloc(b->data, cap, 1);
		b->cap = cap;
	}
	return b->data + b->len;
}

static void buf_put(struct crib_spdy_buf *b, const void *data, size_t n)
{
	if (n == 0)
		return;
	memcpy(buf_reserve(b, n), data, n);
	b->len += n;
}

static void put_frame_header(struct crib_spdy_buf *b, uint32_t first, uint8_t flags, size_t len)
{
	uint8_t *p = buf_reserve(b, CRIB_SPDY_HEADER_LEN);

	put32(p, first);
	put32(p + 4, (uint32_t)flags << 24 | (uint32_t)len);
	b->len += CRIB_SPDY_HEADER_LEN;
}

static uint32_t control_word(uint16_t type)
{
	return 0x80000000u | (uint32_t)CRIB_SPDY_VERSION << 16 | type;
}

void crib_spdy_put_data(struct crib_spdy_buf *b, uint32_t stream_id, uint8_t flags,
                        const void *data, size_t len)
{
	put_frame_header(b, stream_id & 0x7fffffff, flags, len);
	buf_put(b, data, len);
}

/* Serializes H uncompressed into OUT. */
static void encode_pairs(const struct crib_spdy_headers *h, struct crib_spdy_buf *out)
{
	uint8_t n[4];

	put32(n, (uint32_t)h->n);
	buf_put(out, n, 4);
	for (size_t i = 0; i < h->n; i++) {
		size_t nlen = strlen(h->v[i].name);

		put32(n, (uint32_t)nlen);
		buf_put(out, n, 4);
		buf_put(out, h->v[i].name, nlen);
		put32(n, (uint32_t)h->v[i].value_len);
		buf_put(out, n, 4);
		buf_put(out, h->v[i].value, h->v[i].value_len);
	}
}

/* Compresses H with Z onto the end of OUT (one sync-flushed piece of the stream). */
static int deflate_pairs(struct crib_spdy_zlib *z, const struct crib_spdy_headers *h,
                         struct crib_spdy_buf *out)
{
	struct crib_spdy_buf plain = {0};
	int r = Z_OK;

	if (!z->deflate)
		return -EINVAL;
	encode_pairs(h, &plain);
	z->z.next_in = plain.data;
	z->z.avail_in = (uInt)plain.len;
	do {
		size_t room = deflateBound(&z->z, plain.len) + 16;

		z->z.next_out = buf_reserve(out, room);
		z->z.avail_out = (uInt)room;
		r = deflate(&z->z, Z_SYNC_FLUSH);
		out->len += room - z->z.avail_out;
	} while (r == Z_OK && z->z.avail_out == 0);
	crib_spdy_buf_free(&plain);
	return r == Z_OK ? 0 : -EIO;
}

/* A control frame whose body is PREFIX (PREFIX_LEN bytes) and then H compressed. */
static int put_header_frame(struct crib_spdy_buf *b, struct crib_spdy_zlib *z, uint16_t type,
                            uint8_t flags, const uint8_t *prefix, size_t prefix_len,
                            const struct crib_spdy_headers *h)
{
	size_t start = b->len, body;
	int r;

	put_frame_header(b, control_word(type), flags, 0);
	buf_put(b, prefix, prefix_len);
	r = deflate_pairs(z, h, b);
	body = b->len - start - CRIB_SPDY_HEADER_LEN;
	if (r < 0 || body > CRIB_SPDY_PAYLOAD_MAX) {
		b->len = start;
		return r < 0 ? r : -EMSGSIZE;
	}
	put32(b->data + start + 4, (uint32_t)flags << 24 | (uint32_t)body);
	return 0;
}

int crib_spdy_put_syn_stream(struct crib_spdy_buf *b, struct crib_spdy_zlib *z, uint32_t stream_id,
                             uint32_t assoc_id, uint8_t flags, const struct crib_spdy_headers *h)
{
	uint8_t prefix[10] = {0};

	put32(prefix, stream_id & 0x7fffffff);
	put32(prefix + 4, assoc_id & 0x7fffffff);
	return put_header_frame(b, z, CRIB_SPDY_SYN_STREAM, flags, prefix, sizeof(prefix), h);
}

int crib_spdy_put_syn_reply(struct crib_spdy_buf *b, struct crib_spdy_zlib *z, uint32_t stream_id,
                            uint8_t flags, const struct crib_spdy_headers *h)
{
	uint8_t prefix[4];

	put32(prefix, stream_id & 0x7fffffff);
	return put_header_frame(b, z, CRIB_SPDY_SYN_REPLY, flags, prefix, sizeof(prefix), h);
}

int crib_spdy_put_headers(struct crib_spdy_buf *b, struct crib_spdy_zlib *z, uint32_t stream_id,
                          uint8_t flags, const struct crib_spdy_headers *h)
{
	uint8_t prefix[4];

	put32(prefix, stream_id & 0x7fffffff);
	return put_header_frame(b, z, CRIB_SPDY_HEADERS, flags, prefix, sizeof(prefix), h);
}

/* A control frame of two 32-bit words (RST_STREAM, GOAWAY, WINDOW_UPDATE). */
static void put_two_words(struct crib_spdy_buf *b, uint16_t type, uint32_t a, uint32_t v)
{
	uint8_t body[8];

	put32(body, a);
	put32(body + 4, v);
	put_frame_header(b, control_word(type), 0, sizeof(body));
	buf_put(b, body, sizeof(body));
}

void crib_spdy_put_rst_stream(struct crib_spdy_buf *b, uint32_t stream_id, uint32_t status)
{
	put_two_words(b, CRIB_SPDY_RST_STREAM, stream_id & 0x7fffffff, status);
}

void crib_spdy_put_goaway(struct crib_spdy_buf *b, uint32_t last_good_id, uint32_t status)
{
	put_two_words(b, CRIB_SPDY_GOAWAY, last_good_id & 0x7fffffff, status);
}

void crib_spdy_put_window_update(struct crib_spdy_buf *b, uint32_t stream_id, uint32_t delta)
{
	put_two_words(b, CRIB_SPDY_WINDOW_UPDATE, stream_id & 0x7fffffff, delta & 0x7fffffff);
}

void crib_spdy_put_ping(struct crib_spdy_buf *b, uint32_t id)
{
	uint8_t body[4];

	put32(body, id);
	put_frame_header(b, control_word(CRIB_SPDY_PING), 0, sizeof(body));
	buf_put(b, body, sizeof(body));
}
