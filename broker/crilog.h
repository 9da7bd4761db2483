/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CRI log writer backends get through the host table: lines of
 * "<RFC3339Nano> <stdout|stderr> <P|F> <text>" at the path kubelet chose.
 */
#ifndef CRIB_BROKER_CRILOG_H
#define CRIB_BROKER_CRILOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct crib_error;
struct crib_log_writer;

/* Longest text of one log line; longer pieces become several P lines. */
#define CRIB_CRILOG_LINE_MAX ((size_t)16 * 1024)

/* Opens PATH for appending (creating it 0640 and its directories 0755). *ret is owned by the
 * caller. */
int crib_crilog_open(const char *path, struct crib_log_writer **ret, struct crib_error **reterr);
int crib_crilog_write(struct crib_log_writer *w, uint32_t stream, const void *buf, size_t len,
                      struct crib_error **reterr);
int crib_crilog_reopen(struct crib_log_writer *w, struct crib_error **reterr);
/* NULL-safe. */
void crib_crilog_close(struct crib_log_writer *w);

/* Writes the RFC3339Nano UTC form of NS ("2016-10-06T00:17:09.669794202Z") into out; returns its
 * length. */
size_t crib_crilog_timestamp(int64_t ns, char out[40]);

/*
 * The other way: CRI log text back into what the container wrote, pieces of
 * a line (P) joined.  Text that is not in CRI format passes through as is.
 */
struct crib_crilog_decoder {
	bool timestamps;    /* prefix each line with the time of its first piece */
	bool at_line_start; /* start with true */
	char *carry;        /* an incomplete line of the file so far */
	size_t carry_len;
};

/* Feeds N bytes of log text; EMIT receives the decoded output, in order. */
void crib_crilog_decode(struct crib_crilog_decoder *dec, const char *data, size_t n,
                        void (*emit)(void *ctx, const char *data, size_t n), void *ctx);
/* Frees what the decoder holds. */
void crib_crilog_decoder_clear(struct crib_crilog_decoder *dec);

#endif /* CRIB_BROKER_CRILOG_H */
