/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A gathering of stats ops started together, answered when the last one
 * finishes: CRI's stats calls and the admin API's /metrics both use it.
 * Items are containers, or pods followed by their containers.  Loop thread
 * only.
 */
#ifndef CRIB_BROKER_STATS_GATHER_H
#define CRIB_BROKER_STATS_GATHER_H

#include <stdbool.h>
#include <stddef.h>

struct crib_backend;
struct crib_container;
struct crib_daemon;
struct crib_op;
struct crib_pod;
struct crib_usage;

struct crib_gather_item {
	struct crib_pod *pod;       /* reference, for pod items */
	struct crib_container *ctr; /* reference, for container items */
	struct crib_op *op;         /* NULL when the backend has no stats for it */
};

struct crib_gather {
	struct crib_gather_item *items;
	size_t n;
	size_t next;    /* the first item whose op is not started */
	size_t pending; /* ops running */
	struct crib_daemon *d;
	void (*done)(struct crib_gather *g); /* runs once; it frees G */
	void *data;                          /* the caller's */
	/*
	 * For the admin API, not kubelet: one op at a time, each run at idle
	 * priority (crib_op.background), so that CRI's work goes first.
	 */
	bool background;
};

/* The caller owns the result until crib_gather_start() (then DONE frees it). */
struct crib_gather *crib_gather_new(void (*done)(struct crib_gather *g), void *data);
void crib_gather_free(struct crib_gather *g);

/* Adds a pod or a container (the other NULL); takes references. */
void crib_gather_add(struct crib_gather *g, struct crib_pod *p, struct crib_container *c);
/* Adds a pod and then its containers that exist (not still being created). */
void crib_gather_add_pod(struct crib_gather *g, struct crib_pod *p);

/*
 * Runs every item's op, a few at a time; DONE runs when all are finished,
 * possibly before this returns.
 */
void crib_gather_start(struct crib_daemon *d, struct crib_gather *g);

/* What the item's backend reported, or NULL. */
const struct crib_usage *crib_gather_usage(const struct crib_gather_item *it);

bool crib_backend_has_container_stats(const struct crib_backend *b);
bool crib_backend_has_pod_stats(const struct crib_backend *b);

#endif /* CRIB_BROKER_STATS_GATHER_H */
