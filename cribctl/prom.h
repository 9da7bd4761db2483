/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A parser for the Prometheus text exposition format (0.0.4), as much as
 * `cribctl top` needs of cribd's /metrics: samples with their labels and
 * value.  It is strict inside a sample line (a line it accepts means what it
 * says) and tolerant around them: comments, blank lines and lines it cannot
 * read are skipped, so that new metric kinds in cribd do not break an older
 * cribctl.  Lines are read from memory and need no terminating NUL.
 */
#ifndef CRIB_CRIBCTL_PROM_H
#define CRIB_CRIBCTL_PROM_H

#include <stddef.h>
#include <stdint.h>

struct crib_ctl_prom_label {
	char *name;  /* owned */
	char *value; /* owned, unescaped */
};

struct crib_ctl_prom_sample {
	char *name;                         /* owned */
	struct crib_ctl_prom_label *labels; /* owned, in line order */
	size_t n_labels;
	double value;         /* may be NaN or +-Inf, as the format allows */
	int64_t timestamp_ms; /* when the value was taken (ms since the epoch), or 0: none given */
};

/*
 * Parses one line (without its newline).  Returns 1 and fills *ret (which the
 * caller clears) for a sample, 0 for a comment or a blank line, -EINVAL for
 * anything else (*ret untouched).  A trailing '\r' counts as a blank.
 */
int crib_ctl_prom_parse_line(const char *line, size_t len, struct crib_ctl_prom_sample *ret);

/* The value of label NAME, or NULL when the sample has none. */
const char *crib_ctl_prom_label(const struct crib_ctl_prom_sample *s, const char *name);

/* Frees what the sample holds; it may be parsed into again.  NULL-safe. */
void crib_ctl_prom_sample_clear(struct crib_ctl_prom_sample *s);

/* Called for each sample; a negative return stops the walk and is returned. */
typedef int (*crib_ctl_prom_sample_cb)(const struct crib_ctl_prom_sample *s, void *userdata);

/*
 * Runs CB over the samples of a whole exposition TEXT of LEN bytes.  Lines it
 * cannot parse are skipped and counted in *ret_bad (which may be NULL).
 * Returns 0 or CB's negative return.
 */
int crib_ctl_prom_parse(const char *text, size_t len, crib_ctl_prom_sample_cb cb, void *userdata,
                        size_t *ret_bad);

#endif /* CRIB_CRIBCTL_PROM_H */
