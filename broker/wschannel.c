/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util.h"
#include "wschannel.h"

/* The first byte of v5's close message; the channel follows. */
#define CLOSE_SIGNAL 255

/* Best first: what kubelet serves, newest protocol preferred. */
static const struct crib_ws_protocol protocols[] = {
    {"v5.channel.k8s.io", false, true, true},        {"v4.channel.k8s.io", false, false, true},
    {"v4.base64.channel.k8s.io", true, false, true}, {"channel.k8s.io", false, false, false},
    {"base64.channel.k8s.io", true, false, false},
};

const struct crib_ws_protocol *crib_ws_negotiate(const char *const *offered, size_t n)
{
	for (size_t p = 0; p < ARRAY_SIZE(protocols); p++)
		for (size_t i = 0; i < n; i++)
			if (streq(offered[i], protocols[p].name))
				return &protocols[p];
	return NULL;
}

void crib_ws_encode(const struct crib_ws_protocol *p, uint8_t channel, const void *data, size_t len,
                    uint8_t **ret, size_t *ret_len, bool *ret_text)
{
	uint8_t *msg;

	*ret_text = p->base64;
	if (!p->base64) {
		msg = crib_xmalloc(1 + len);
		msg[0] = channel;
		if (len)
			memcpy(msg + 1, data, len);
		*ret = msg;
		*ret_len = 1 + len;
		return;
	}
	/* 4 characters per 3 bytes, and the NUL EVP_EncodeBlock writes. */
	msg = crib_xmalloc(2 + (len + 2) / 3 * 4);
	msg[0] = (uint8_t)('0' + channel);
	*ret_len = 1 + (size_t)EVP_EncodeBlock(msg + 1, data, (int)len);
	*ret = msg;
}

void crib_ws_encode_close(uint8_t channel, uint8_t **ret, size_t *ret_len)
{
	uint8_t *msg = crib_xmalloc(2);

	msg[0] = CLOSE_SIGNAL;
	msg[1] = channel;
	*ret = msg;
	*ret_len = 2;
}

static bool base64_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/*
 * Standard base64 as Go's encoder writes it; EVP_DecodeBlock alone would also
 * skip whitespace, which the other end never sends.
 */
static int decode_base64(const uint8_t *in, size_t len, struct crib_ws_message *ret)
{
	size_t pad = 0;
	int n;

	if (len % 4 != 0)
		return -EPROTO;
	if (len == 0)
		return 0;
	while (pad < 2 && in[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (!base64_char(in[i]))
			return -EPROTO;
	ret->data = crib_xmalloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock(ret->data, in, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -EPROTO;
	/* EVP_DecodeBlock counts padding as zero bytes. */
	ret->len = (size_t)n - pad;
	if (ret->len == 0) {
		free(ret->data);
		ret->data = NULL;
	}
	return 0;
}

int crib_ws_decode(const struct crib_ws_protocol *p, const uint8_t *msg, size_t len, bool text,
                   struct crib_ws_message *ret)
{
	return crib_ws_decode_channels(p, msg, len, text, CRIB_WS_RESIZE, ret);
}

int crib_ws_decode_channels(const struct crib_ws_protocol *p, const uint8_t *msg, size_t len,
                            bool text, uint8_t max_channel, struct crib_ws_message *ret)
{
	struct crib_ws_message m = {0};
	int r = 0;

	if (len > CRIB_WS_MESSAGE_MAX)
		return -EMSGSIZE;
	if (len == 0 || text != p->base64)
		return -EPROTO;
	if (p->close && msg[0] == CLOSE_SIGNAL) {
		if (len != 2 || msg[1] > max_channel)
			return -EPROTO;
		*ret = (struct crib_ws_message){.channel = msg[1], .closes = true};
		return 0;
	}
	m.channel = p->base64 ? (uint8_t)(msg[0] - '0') : msg[0];
	if ((p->base64 && msg[0] < '0') || m.channel > max_channel)
		return -EPROTO;
	if (p->base64) {
		r = decode_base64(msg + 1, len - 1, &m);
	} else if (len > 1) {
		m.data = crib_xmemdup(msg + 1, len - 1);
		m.len = len - 1;
	}
	if (r < 0) {
		free(m.data);
		return r;
	}
	*ret = m;
	return 0;
}
