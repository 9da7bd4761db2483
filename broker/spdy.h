/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SPDY/3.1 framing: the transport under the Kubernetes remote-command and
 * port-forward protocols that crictl and kubelet speak to a runtime's
 * streaming server.  Frames are parsed from and appended to byte buffers,
 * and name/value header blocks go through the connection's zlib streams
 * with SPDY/3's preset dictionary.  No I/O and no stream state here: the
 * streaming server owns those.  Every size a peer controls is bounded.
 */
#ifndef CRIB_BROKER_SPDY_H
#define CRIB_BROKER_SPDY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CRIB_SPDY_VERSION 3
/* Every frame starts with 8 bytes: the control bit, version/stream, type/flags, length. */
#define CRIB_SPDY_HEADER_LEN 8
/*
 * The largest frame payload accepted (the wire allows 16 MiB): data frames
 * from Kubernetes clients are 32 KiB at most, control frames far smaller.
 */
#define CRIB_SPDY_PAYLOAD_MAX ((size_t)1 << 20)
/* The largest header block once decompressed, and the most name/value pairs in it. */
#define CRIB_SPDY_HEADERS_MAX ((size_t)64 * 1024)
#define CRIB_SPDY_PAIRS_MAX   128

enum crib_spdy_type {
	CRIB_SPDY_DATA = 0, /* not a control frame: a data frame */
	CRIB_SPDY_SYN_STREAM = 1,
	CRIB_SPDY_SYN_REPLY = 2,
	CRIB_SPDY_RST_STREAM = 3,
	CRIB_SPDY_SETTINGS = 4,
	CRIB_SPDY_PING = 6,
	CRIB_SPDY_GOAWAY = 7,
	CRIB_SPDY_HEADERS = 8,
	CRIB_SPDY_WINDOW_UPDATE = 9,
};

#define CRIB_SPDY_FLAG_FIN            0x01
#define CRIB_SPDY_FLAG_UNIDIRECTIONAL 0x02

/* RST_STREAM status codes (SPDY/3.1 section 2.6.3). */
enum crib_spdy_rst {
	CRIB_SPDY_PROTOCOL_ERROR = 1,
	CRIB_SPDY_INVALID_STREAM = 2,
	CRIB_SPDY_REFUSED_STREAM = 3,
	CRIB_SPDY_CANCEL = 5,
	CRIB_SPDY_INTERNAL_ERROR = 6,
	CRIB_SPDY_FLOW_CONTROL_ERROR = 7,
	CRIB_SPDY_STREAM_IN_USE = 8,
	CRIB_SPDY_FRAME_TOO_LARGE = 11,
};

/*
 * One parsed frame.  Fields a type does not carry are 0.  payload points into
 * the parsed buffer: a data frame's bytes, a SYN_STREAM's, SYN_REPLY's or
 * HEADERS' compressed header block, a SETTINGS frame's entries.
 */
struct crib_spdy_frame {
	uint16_t type; /* enum crib_spdy_type; an unknown control type is passed on */
	uint8_t flags;
	uint32_t stream_id; /* 31 bits; a WINDOW_UPDATE's 0 is the session's window */
	uint32_t assoc_id;  /* SYN_STREAM */
	uint8_t priority;   /* SYN_STREAM, 0-7 */
	uint32_t value;     /* RST_STREAM and GOAWAY status, PING id, WINDOW_UPDATE delta */
	const uint8_t *payload;
	size_t payload_len;
};

/*
 * Parses the frame at the start of BUF.  Returns the bytes it takes (> 0), 0
 * when BUF does not hold all of it yet, or -EPROTONOSUPPORT (a control frame
 * of another SPDY version), -EMSGSIZE (payload over CRIB_SPDY_PAYLOAD_MAX),
 * -EPROTO (a frame too short for its type, a zero stream id where one is
 * needed, a WINDOW_UPDATE of 0).  *ret is filled only on success.
 */
ssize_t crib_spdy_parse(const uint8_t *buf, size_t len, struct crib_spdy_frame *ret);

struct crib_spdy_header {
	char *name;  /* lowercase, non-empty */
	char *value; /* several values are separated by NUL bytes, value_len counts them all */
	size_t value_len;
};

struct crib_spdy_headers {
	struct crib_spdy_header *v;
	size_t n;
};

/* Frees what the headers hold and empties them. */
void crib_spdy_headers_clear(struct crib_spdy_headers *h);
/* Appends NAME: VALUE (copied). */
void crib_spdy_headers_add(struct crib_spdy_headers *h, const char *name, const char *value);
/* The (first) value of NAME, or NULL. */
const char *crib_spdy_headers_get(const struct crib_spdy_headers *h, const char *name);

/* SPDY/3's preset zlib dictionary (1423 bytes, static). */
const uint8_t *crib_spdy_dictionary(size_t *ret_len);

/*
 * The zlib state of one direction of a connection: SPDY compresses every
 * header block of a direction as one deflate stream.
 */
struct crib_spdy_zlib;

/* A new inflate (DEFLATE false) or deflate state; *ret is the caller's. */
int crib_spdy_zlib_new(int deflate, struct crib_spdy_zlib **ret);
void crib_spdy_zlib_free(struct crib_spdy_zlib *z);

/*
 * Decompresses and decodes a header block.  *ret (cleared first) is the
 * caller's.  -EPROTO for a block that does not decode (bad zlib data, lengths
 * past its end, an empty or uppercase name, a repeated name, bytes left
 * over), -EMSGSIZE past CRIB_SPDY_HEADERS_MAX or CRIB_SPDY_PAIRS_MAX.  After
 * a failure the inflate state is unusable: the connection must end.
 */
int crib_spdy_headers_decode(struct crib_spdy_zlib *z, const uint8_t *block, size_t len,
                             struct crib_spdy_headers *ret);

/* A growing output buffer; data is malloc'd, the owner's. */
struct crib_spdy_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void crib_spdy_buf_free(struct crib_spdy_buf *b);

/* Appends a data frame; LEN at most CRIB_SPDY_PAYLOAD_MAX. */
void crib_spdy_put_data(struct crib_spdy_buf *b, uint32_t stream_id, uint8_t flags,
                        const void *data, size_t len);
/* Appends a SYN_STREAM (ASSOC_ID 0: none), SYN_REPLY or HEADERS frame, compressing H with Z. */
int crib_spdy_put_syn_stream(struct crib_spdy_buf *b, struct crib_spdy_zlib *z, uint32_t stream_id,
                             uint32_t assoc_id, uint8_t flags, const struct crib_spdy_headers *h);
int crib_spdy_put_syn_reply(struct crib_spdy_buf *b, struct crib_spdy_zlib *z, uint32_t stream_id,
                            uint8_t flags, const struct crib_spdy_headers *h);
int crib_spdy_put_headers(struct crib_spdy_buf *b, struct crib_spdy_zlib *z, uint32_t stream_id,
                          uint8_t flags, const struct crib_spdy_headers *h);
void crib_spdy_put_rst_stream(struct crib_spdy_buf *b, uint32_t stream_id, uint32_t status);
void crib_spdy_put_ping(struct crib_spdy_buf *b, uint32_t id);
void crib_spdy_put_goaway(struct crib_spdy_buf *b, uint32_t last_good_id, uint32_t status);
void crib_spdy_put_window_update(struct crib_spdy_buf *b, uint32_t stream_id, uint32_t delta);

#endif /* CRIB_BROKER_SPDY_H */
