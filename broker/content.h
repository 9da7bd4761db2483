/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The content store: blobs by digest under <state_dir>/images/blobs/sha256/,
 * written through a staging file in <state_dir>/images/ingest/ that is
 * hashed while written and renamed into place only when its digest and size
 * match.  A failed or interrupted download therefore leaves nothing visible,
 * and whatever a crash left in ingest/ is removed on open.  Two threads that
 * want the same blob at once share one download: the second waits for the
 * first and then finds the blob (or tries itself if the first failed).
 * Thread-safe: pulls run on worker threads.
 */
#ifndef CRIB_BROKER_CONTENT_H
#define CRIB_BROKER_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct crib_content;
struct crib_error;
struct crib_ingest;

/* Opens (creating) the store under ROOT.  *ret is the caller's (crib_content_close()). */
int crib_content_open(const char *root, struct crib_content **ret, struct crib_error **reterr);
void crib_content_close(struct crib_content *cs);

const char *crib_content_root(const struct crib_content *cs);
/* The path a blob has (or would have); malloc'd. */
char *crib_content_path(const struct crib_content *cs, const char *digest);
bool crib_content_has(const struct crib_content *cs, const char *digest);
/* The size of a stored blob, or -errno. */
int64_t crib_content_size(const struct crib_content *cs, const char *digest);

/*
 * Starts writing DIGEST (of SIZE bytes, or -1 when unknown).  Returns 1 when
 * the blob is already there (nothing to write, *ret untouched), 0 with *ret
 * set when the caller must write it, -errno on failure.  While one caller
 * writes a digest, others asking for it wait.
 */
int crib_content_ingest(struct crib_content *cs, const char *digest, int64_t size,
                        struct crib_ingest **ret, struct crib_error **reterr);
int crib_ingest_write(struct crib_ingest *in, const void *buf, size_t len,
                      struct crib_error **reterr);
/* Bytes written so far. */
uint64_t crib_ingest_offset(const struct crib_ingest *in);
/*
 * Checks size and digest and makes the blob visible.  A mismatch fails with
 * -EBADMSG and stores nothing.  Either way the ingest is consumed.
 */
int crib_ingest_commit(struct crib_ingest *in, struct crib_error **reterr);
/* Drops a write in progress (NULL-safe). */
void crib_ingest_abort(struct crib_ingest *in);

/* Stores a small blob held in memory, checking it against DIGEST. */
int crib_content_put(struct crib_content *cs, const char *digest, const void *data, size_t len,
                     struct crib_error **reterr);
/*
 * Reads a blob of at most MAX bytes into memory (malloc'd, NUL-terminated
 * for convenience) after checking it against its digest.
 */
int crib_content_read(const struct crib_content *cs, const char *digest, size_t max, char **ret,
                      size_t *ret_len, struct crib_error **reterr);
/* Removes a blob; a missing one is not an error. */
int crib_content_delete(struct crib_content *cs, const char *digest);

/* Calls CB with every stored blob's digest; stops at a negative return. */
int crib_content_walk(const struct crib_content *cs, int (*cb)(const char *digest, void *user),
                      void *user);

/*
 * A named lock for work that must happen once (unpacking a layer):
 * crib_content_claim() returns 0 once KEY is this caller's, after waiting
 * while another thread holds it; crib_content_release() hands it on.
 */
void crib_content_claim(struct crib_content *cs, const char *key);
void crib_content_release(struct crib_content *cs, const char *key);

#endif /* CRIB_BROKER_CONTENT_H */
