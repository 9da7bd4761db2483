/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "backend.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "op.h"
#include "registry.h"
#include "router.h"
#include "stats_gather.h"

#define LOG_CAT "stats"

bool crib_backend_has_container_stats(const struct crib_backend *b)
{
	return b->status == CRIB_BACKEND_HEALTHY && (b->ops->caps & CRIB_CAP_CONTAINER_STATS) &&
	       CRIB_BACKEND_HAS_OP(b->ops, container_stats);
}

bool crib_backend_has_pod_stats(const struct crib_backend *b)
{
	return b->status == CRIB_BACKEND_HEALTHY && (b->ops->caps & CRIB_CAP_POD_STATS) &&
	       CRIB_BACKEND_HAS_OP(b->ops, pod_stats);
}

struct crib_gather *crib_gather_new(void (*done)(struct crib_gather *g), void *data)
{
	struct crib_gather *g = crib_xcalloc(1, sizeof(*g));

	g->done = done;
	g->data = data;
	return g;
}

void crib_gather_free(struct crib_gather *g)
{
	for (size_t i = 0; i < g->n; i++) {
		crib_pod_unref(g->items[i].pod);
		crib_container_unref(g->items[i].ctr);
		crib_op_free(g->items[i].op);
	}
	free(g->items);
	free(g);
}

const struct crib_usage *crib_gather_usage(const struct crib_gather_item *it)
{
	if (!it->op || it->op->r < 0)
		return NULL;
	return &it->op->out.usage;
}

void crib_gather_add(struct crib_gather *g, struct crib_pod *p, struct crib_container *c)
{
	g->items = crib_xrealloc(g->items, g->n + 1, sizeof(*g->items));
	g->items[g->n++] = (struct crib_gather_item){
	    .pod = p ? crib_pod_ref(p) : NULL,
	    .ctr = c ? crib_container_ref(c) : NULL,
	};
}

void crib_gather_add_pod(struct crib_gather *g, struct crib_pod *p)
{
	struct crib_list *n;

	crib_gather_add(g, p, NULL);
	crib_list_foreach (n, &p->containers) {
		struct crib_container *c = container_of(n, struct crib_container, pod_link);

		if (c->phase != CRIB_PHASE_CREATING)
			crib_gather_add(g, NULL, c);
	}
}

/*
 * At most this many of a gathering's ops are queued at once: the worker pool
 * is first come, first served, and a gathering of a thousand containers
 * would otherwise hold every pod's op behind it.
 */
#define GATHER_WINDOW 4

static void start_more(struct crib_daemon *d, struct crib_gather *g);

static void gather_op_done(struct crib_op *op)
{
	struct crib_gather *g = op->data;

	if (op->r < 0)
		log_debug("Stats of '%s' unavailable: %s", op->id[0] ? op->id : op->pod_id,
		          crib_error_msg(op->err));
	g->pending--;
	start_more(g->d, g);
	if (g->pending == 0 && g->next == g->n)
		g->done(g);
}

/* Queues the next items' ops until the window is full or every item has one. */
static void start_more(struct crib_daemon *d, struct crib_gather *g)
{
	while (g->next < g->n && g->pending < (g->background ? 1 : GATHER_WINDOW)) {
		struct crib_gather_item *it = &g->items[g->next++];
		struct crib_pod *p = it->pod ? it->pod : it->ctr->pod;
		struct crib_backend *b = p->cls->backend;
		struct crib_op *op;

		if (it->ctr ? !crib_backend_has_container_stats(b) : !crib_backend_has_pod_stats(b))
			continue;
		op = crib_op_new(it->ctr ? CRIB_OP_CONTAINER_STATS : CRIB_OP_POD_STATS, b,
		                 gather_op_done, g);
		op->background = g->background;
		crib_op_set_pod(op, p->id, &p->cls->pub, p->priv, p->priv_len);
		if (it->ctr)
			crib_op_set_container(op, it->ctr->id, it->ctr->priv, it->ctr->priv_len);
		if (crib_daemon_op_start(d, op) < 0) {
			crib_op_free(op);
			continue;
		}
		it->op = op;
		g->pending++;
	}
}

void crib_gather_start(struct crib_daemon *d, struct crib_gather *g)
{
	g->d = d;
	start_more(d, g);
	if (g->pending == 0)
		g->done(g);
}
