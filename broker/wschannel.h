/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The channel protocols Kubernetes multiplexes over one WebSocket
 * (k8s.io/apimachinery's wsstream): each message belongs to one channel,
 * named by its first byte; the base64 variants send text messages whose
 * first byte is the channel as an ASCII digit and the rest base64.  v5 adds
 * a message that closes a channel (stdin's end of file).  Channels of
 * remote-command: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize.
 */
#ifndef CRIB_BROKER_WSCHANNEL_H
#define CRIB_BROKER_WSCHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum crib_ws_channel {
	CRIB_WS_STDIN = 0,
	CRIB_WS_STDOUT = 1,
	CRIB_WS_STDERR = 2,
	CRIB_WS_ERROR = 3,
	CRIB_WS_RESIZE = 4,
};

/* The largest message accepted from a client (kubectl sends at most 32 KiB of data). */
#define CRIB_WS_MESSAGE_MAX ((size_t)1 << 20)

struct crib_ws_protocol {
	const char *name; /* the subprotocol as Sec-WebSocket-Protocol names it */
	bool base64;      /* text messages, data in base64 */
	bool close;       /* v5: channels are closed by a message of their own */
	bool v4_status;   /* the error channel carries a v4 Status document */
};

/*
 * The best subprotocol served among OFFERED (N names from the client's
 * Sec-WebSocket-Protocol headers), or NULL when none is.
 */
const struct crib_ws_protocol *crib_ws_negotiate(const char *const *offered, size_t n);

/*
 * The message carrying DATA on CHANNEL for P: *ret (malloc'd, the caller's)
 * and its length; *ret_text tells whether it goes as a text message.
 */
void crib_ws_encode(const struct crib_ws_protocol *p, uint8_t channel, const void *data, size_t len,
                    uint8_t **ret, size_t *ret_len, bool *ret_text);

/* v5's message closing CHANNEL (P must have close); as crib_ws_encode. */
void crib_ws_encode_close(uint8_t channel, uint8_t **ret, size_t *ret_len);

struct crib_ws_message {
	uint8_t channel;
	bool closes;   /* v5: the channel is closed, no data */
	uint8_t *data; /* malloc'd, the caller's; NULL when len is 0 */
	size_t len;
};

/*
 * Decodes a message a client sent (TEXT: it came as a text message).
 * -EMSGSIZE over CRIB_WS_MESSAGE_MAX, -EPROTO for an empty message, a text
 * message where binary ones are spoken (or the other way round), a channel
 * past CRIB_WS_RESIZE, bad base64, or a close message of the wrong shape.
 */
int crib_ws_decode(const struct crib_ws_protocol *p, const uint8_t *msg, size_t len, bool text,
                   struct crib_ws_message *ret);
/*
 * As crib_ws_decode(), for channels 0 to MAX_CHANNEL: port-forward uses two
 * per port (data 2i, error 2i+1) instead of remote-command's five.
 */
int crib_ws_decode_channels(const struct crib_ws_protocol *p, const uint8_t *msg, size_t len,
                            bool text, uint8_t max_channel, struct crib_ws_message *ret);

#endif /* CRIB_BROKER_WSCHANNEL_H */
