/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cribctl top`: per-container CPU and memory from cribd's /metrics.
 *
 * CPU% is the growth of crib_container_cpu_usage_seconds_total between two
 * samples over the wall time between them, so that one core busy all the time
 * is 100% (and two are 200%), as docker stats and top count.  Memory is
 * crib_container_memory_working_set_bytes of the later sample.  A container
 * whose backend reports no stats has no samples, and shows "-" (null).
 */
#ifndef CRIB_CRIBCTL_TOP_H
#define CRIB_CRIBCTL_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>
/*
 * FNV-1a rather than uthash's default (Jenkins), whose unannotated switch
 * fall-through clang's -Wimplicit-fallthrough refuses (as broker/registry.h).
 */
#ifndef HASH_FUNCTION
#define HASH_FUNCTION(keyptr, keylen, hashv) HASH_FNV(keyptr, keylen, hashv)
#endif
#include <uthash.h>

struct crib_error;
struct crib_ctl_client;

/* What one /metrics sample says of one container, found by its full id. */
struct crib_ctl_usage {
	char *id;            /* owned */
	double cpu_seconds;  /* NaN when absent */
	int64_t cpu_at_ms;   /* when cribd took it (ms since the epoch), or 0: not said */
	double memory_bytes; /* NaN when absent */
	char *state;         /* the state whose crib_container_state is 1; NULL when none */
	UT_hash_handle hh;
};

struct crib_ctl_usage_set {
	struct crib_ctl_usage *by_id; /* uthash head, owned */
	size_t bad_lines;             /* lines the parser skipped */
};

/*
 * Adds what the exposition TEXT (LEN bytes) says of containers to *set.
 * Samples without an id label, with a negative or non-finite value, and
 * lines that do not parse are left out.  Returns 0.
 */
int crib_ctl_usage_parse(const char *text, size_t len, struct crib_ctl_usage_set *set);

/* The entry for container ID, or NULL. */
const struct crib_ctl_usage *crib_ctl_usage_find(const struct crib_ctl_usage_set *set,
                                                 const char *id);

/* The newest cpu_at_ms in SET, or 0. */
int64_t crib_ctl_usage_newest(const struct crib_ctl_usage_set *set);

/* Frees the entries; the set is empty afterwards. */
void crib_ctl_usage_clear(struct crib_ctl_usage_set *set);

/*
 * 100 * (AFTER - BEFORE) / WALL_SECONDS, or NaN when that means nothing: a
 * missing or non-finite sample, a counter that went back (a restarted
 * container), or no time between the samples.
 */
double crib_ctl_cpu_percent(double before, double after, double wall_seconds);

/* One line of top.  The strings are borrowed from the container list. */
struct crib_ctl_top_row {
	const char *id;
	const char *name;
	const char *pod;
	const char *backend;
	double cpu_percent;  /* NaN: unknown */
	double memory_bytes; /* NaN: unknown */
};

/*
 * Rows for the running CONTAINERS (the admin API's list), with the usage
 * between BEFORE and AFTER, WALL_SECONDS apart, sorted by CPU% (unknown last),
 * then name and id.  A container that AFTER says is no longer running is left
 * out.  *ret is malloc'd, the caller's; it borrows from CONTAINERS.
 */
void crib_ctl_top_rows(const json_t *containers, const struct crib_ctl_usage_set *before,
                       const struct crib_ctl_usage_set *after, double wall_seconds,
                       struct crib_ctl_top_row **ret, size_t *ret_n);

/* The rows as the JSON array -o json prints; a new reference, or NULL on OOM. */
json_t *crib_ctl_top_json(const struct crib_ctl_top_row *rows, size_t n);

/* The rows as a table.  Returns 0 or -EIO. */
int crib_ctl_top_print_table(const struct crib_ctl_top_row *rows, size_t n, FILE *f);

struct crib_ctl_top_options {
	long count;   /* displays before returning; < 0: forever */
	double delay; /* seconds between samples, > 0 */
	bool json;    /* one JSON array a line instead of tables */
	unsigned page_size;
};

/* Samples, waits, samples and displays OPTS->count times on F. */
int crib_ctl_top_run(struct crib_ctl_client *c, const struct crib_ctl_top_options *opts, FILE *f,
                     struct crib_error **reterr);

#endif /* CRIB_CRIBCTL_TOP_H */
