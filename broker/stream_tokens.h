/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Single-use tokens of the streaming server.  Exec, Attach and PortForward
 * answer with a URL naming a token; the client (crictl, kubelet's proxy)
 * redeems it once, before it expires, and the connection then carries the
 * request the token stands for.  A token names no more than that request:
 * whoever holds the URL may use it once, which is why it is random, short
 * lived and taken out on first use.  Loop thread only.
 */
#ifndef CRIB_BROKER_STREAM_TOKENS_H
#define CRIB_BROKER_STREAM_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum crib_stream_kind {
	CRIB_STREAM_EXEC,
	CRIB_STREAM_ATTACH,
	CRIB_STREAM_PORT_FORWARD,
};

/* What a token stands for. */
struct crib_stream_request {
	enum crib_stream_kind kind;
	char *id;     /* the container's (exec, attach) or the pod's (port-forward); malloc'd */
	uint8_t *req; /* the CRI request as kubelet sent it (wire format); malloc'd, may be NULL */
	size_t req_len;
};

/* Frees what R holds and empties it. */
void crib_stream_request_clear(struct crib_stream_request *r);

struct crib_stream_tokens;

/*
 * At most MAX tokens outstanding, each valid for TTL_NS after it was made.
 * *ret is the caller's (crib_stream_tokens_free).
 */
int crib_stream_tokens_new(size_t max, int64_t ttl_ns, struct crib_stream_tokens **ret);
void crib_stream_tokens_free(struct crib_stream_tokens *t);

/*
 * Makes a token for *R, which it takes over (and empties), at NOW_NS.  The
 * token (CRIB_ID_LEN random hex digits) is written to TOKEN.  -EBUSY when MAX
 * tokens are outstanding after expired ones were dropped; *R is left alone then.
 */
int crib_stream_tokens_add(struct crib_stream_tokens *t, int64_t now_ns,
                           struct crib_stream_request *r, char token[CRIB_ID_LEN + 1]);

/*
 * Redeems TOKEN at NOW_NS: *ret (the caller's) gets its request and the token
 * is gone.  -ENOENT for a token never made or already used, -ETIMEDOUT for
 * one that expired (gone as well).
 */
int crib_stream_tokens_take(struct crib_stream_tokens *t, int64_t now_ns, const char *token,
                            struct crib_stream_request *ret);

/* Drops the tokens expired at NOW_NS; returns how many are left. */
size_t crib_stream_tokens_sweep(struct crib_stream_tokens *t, int64_t now_ns);

#endif /* CRIB_BROKER_STREAM_TOKENS_H */
