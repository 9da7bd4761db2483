/* SPDX-License-Identifier: Apache-2.0 */
/* Content digests ("sha256:<64 hex>"), computed with OpenSSL's EVP interface. */
#ifndef CRIB_BROKER_DIGEST_H
#define CRIB_BROKER_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define CRIB_DIGEST_LEN 71 /* "sha256:" + 64 hex digits */

struct crib_error;
struct crib_sha256;

/* NULL only on OOM. */
struct crib_sha256 *crib_sha256_new(void);
void crib_sha256_update(struct crib_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" and frees the hasher. */
void crib_sha256_final(struct crib_sha256 *h, char out[CRIB_DIGEST_LEN + 1]);
void crib_sha256_free(struct crib_sha256 *h);

void crib_sha256_data(const void *data, size_t len, char out[CRIB_DIGEST_LEN + 1]);
int crib_sha256_file(const char *path, char out[CRIB_DIGEST_LEN + 1], struct crib_error **reterr);

/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool crib_digest_valid(const char *d);

#endif /* CRIB_BROKER_DIGEST_H */
