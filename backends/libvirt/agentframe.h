/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frames of the agent protocol (agent.proto): a 4-byte big-endian length,
 * then one packed message.  Shared by the libvirt module (host) and
 * crib-agent (guest), so it depends on protobuf-c and libc only.
 */
#ifndef CRIB_LIBVIRT_AGENTFRAME_H
#define CRIB_LIBVIRT_AGENTFRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Longer frames end the connection: the other side is broken or hostile. */
#define CRIB_AGENT_FRAME_MAX (4u << 20)
/*
 * A stream's bytes in flight one way, sent and not yet acknowledged
 * (agent.proto's streams); one StreamData or StreamInput carries at most
 * CRIB_AGENT_STREAM_CHUNK.
 */
#define CRIB_AGENT_STREAM_WINDOW (256u << 10)
#define CRIB_AGENT_STREAM_CHUNK  (32u << 10)

/* Bytes read from a connection and not yet taken as frames. */
struct crib_agent_rbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t taken; /* the frame handed out last, dropped at the next call */
};

/*
 * Reads what FD has (one read(2)) into B.  Returns the number of bytes read,
 * 0 at EOF, or -errno (-EAGAIN on a non-blocking FD with nothing to read).
 */
int crib_agent_rbuf_fill(struct crib_agent_rbuf *b, int fd);

/* Adds N bytes that came some other way to B.  0 or -ENOMEM. */
int crib_agent_rbuf_append(struct crib_agent_rbuf *b, const void *data, size_t n);

/*
 * Takes the next whole frame from B: 1 with *ret and *ret_len set to its
 * message's bytes (inside B, valid until the next call on B, fill included), 0 when B holds
 * no whole frame yet, -EPROTO when the frame announces more than
 * CRIB_AGENT_FRAME_MAX bytes.
 */
int crib_agent_rbuf_next(struct crib_agent_rbuf *b, const uint8_t **ret, size_t *ret_len);

/* Forgets what B holds (a connection ended mid-frame). */
void crib_agent_rbuf_reset(struct crib_agent_rbuf *b);
/* Frees B's memory. */
void crib_agent_rbuf_free(struct crib_agent_rbuf *b);

/*
 * MSG as one frame in a new buffer of *ret_len bytes; *ret (malloc'd) is the
 * caller's.  0, -E2BIG for a message over CRIB_AGENT_FRAME_MAX, or -ENOMEM.
 */
int crib_agent_frame_pack(const ProtobufCMessage *msg, uint8_t **ret, size_t *ret_len);

/*
 * Writes MSG as one frame to FD (blocking, the whole frame).  0, -E2BIG for a
 * message over CRIB_AGENT_FRAME_MAX, or -errno of write(2).
 */
int crib_agent_frame_write(int fd, const ProtobufCMessage *msg);

#endif
