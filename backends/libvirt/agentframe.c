/* SPDX-License-Identifier: Apache-2.0 */
/* Frames of the agent protocol; see agentframe.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentframe.h"

#define HEADER 4u

/* Drops the frame handed out by the last crib_agent_rbuf_next(). */
static void drop_taken(struct crib_agent_rbuf *b)
{
	if (!b->taken)
		return;
	memmove(b->data, b->data + b->taken, b->len - b->taken);
	b->len -= b->taken;
	b->taken = 0;
}

/* Room for N more bytes after what B holds; drops the frame taken last first. */
static int reserve(struct crib_agent_rbuf *b, size_t n)
{
	drop_taken(b);
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 16384;
		uint8_t *p;

		while (cap - b->len < n)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return -ENOMEM;
		b->data = p;
		b->cap = cap;
	}
	return 0;
}

int crib_agent_rbuf_fill(struct crib_agent_rbuf *b, int fd)
{
	ssize_t n;
	int r = reserve(b, 4096);

	if (r < 0)
		return r;
	do
		n = read(fd, b->data + b->len, b->cap - b->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	b->len += (size_t)n;
	return (int)n;
}

int crib_agent_rbuf_append(struct crib_agent_rbuf *b, const void *data, size_t n)
{
	int r = n ? reserve(b, n) : 0;

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	return 0;
}

int crib_agent_rbuf_next(struct crib_agent_rbuf *b, const uint8_t **ret, size_t *ret_len)
{
	uint32_t len;

	drop_taken(b);
	if (b->len < HEADER)
		return 0;
	len = (uint32_t)b->data[0] << 24 | (uint32_t)b->data[1] << 16 | (uint32_t)b->data[2] << 8 |
	      b->data[3];
	if (len > CRIB_AGENT_FRAME_MAX)
		return -EPROTO;
	if (b->len - HEADER < len)
		return 0;
	*ret = b->data + HEADER;
	*ret_len = len;
	b->taken = HEADER + len;
	return 1;
}

void crib_agent_rbuf_reset(struct crib_agent_rbuf *b)
{
	b->len = 0;
	b->taken = 0;
}

void crib_agent_rbuf_free(struct crib_agent_rbuf *b)
{
	free(b->data);
	*b = (struct crib_agent_rbuf){0};
}

int crib_agent_frame_pack(const ProtobufCMessage *msg, uint8_t **ret, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf;

	if (len > CRIB_AGENT_FRAME_MAX)
		return -E2BIG;
	buf = malloc(HEADER + len);
	if (!buf)
		return -ENOMEM;
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	protobuf_c_message_pack(msg, buf + HEADER);
	*ret = buf;
	*ret_len = HEADER + len;
	return 0;
}

int crib_agent_frame_write(int fd, const ProtobufCMessage *msg)
{
	size_t len, done = 0;
	uint8_t *buf;
	int r = crib_agent_frame_pack(msg, &buf, &len);

	if (r < 0)
		return r;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		done += (size_t)n;
	}
	free(buf);
	return r;
}
