/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /metrics: cribd's own metrics, then every pod and container with the
 * same labels whichever backend runs it.  On the loop the stats ops of all
 * objects run (on a worker, one at a time at idle priority: kubelet's calls
 * and ops go first) and the objects' states are noted; the text is
 * then made on the admin thread, family by family, a batch of objects per
 * call of libmicrohttpd's content reader, from what does not change: the
 * noted states, the ops' results and the objects' names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_impl.h"
#include "backend.h"
#include "daemon.h"
#include "methods.h"
#include "metrics.h"
#include "op.h"
#include "registry.h"
#include "router.h"
#include "rpc.h"
#include "stats_gather.h"
#include "views.h"

/* Objects rendered per call of the content reader. */
#define BATCH 64
/*
 * Scrapes that arrive while a round of stats ops runs wait for it and share
 * it, and those within ROUND_REUSE_MS of its end get its stats too: however
 * hard clients hammer /metrics, the backends and the loop do at most about
 * one round a second.  Prometheus scrapes every 15 s or more; stats a second
 * old are what cAdvisor's housekeeping gives kubelet too.  cribd's own
 * families are read at every answer.
 */
#define ROUND_REUSE_MS 1000

/* What an item was, for the thread. */
struct fact {
	uint32_t state; /* CRI state */
	int64_t at_ms;  /* when its stats were taken (ms since the epoch) */
};

/* One round of stats, shared by the answers made from it. */
struct crib_metrics_round {
	unsigned refs;         /* the loop's */
	struct crib_gather *g; /* pods, each followed by its containers */
	struct fact *facts;    /* what each item was when the round ended */
	int64_t ended_at;      /* crib_mono_ns() */
	struct crib_admin *admin;
	struct crib_list waiting; /* struct waiter */
};

struct waiter {
	struct crib_list link;
	struct crib_admin_req *rq;
};

struct metrics_render {
	struct crib_admin_release rel; /* the round goes back to the loop */
	struct crib_daemon *d;
	struct crib_metrics_round *round;
	struct crib_gather *g; /* the round's */
	unsigned family;       /* index into families[] */
	size_t next;           /* the next item of g for that family */
	char *buf;             /* rendered, not yet sent */
	size_t len, off;
};

/* A family written for every pod or container item; NULL skips the item. */
struct family {
	const char *name, *type, *help;
	bool containers; /* container items, else pod items */
	void (*write)(FILE *f, const char *labels, const struct crib_gather_item *it,
	              const struct fact *fact);
};

static void write_state(FILE *f, const char *name, const char *labels, const char *const *states,
                        size_t n, const char *current)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s{%s,state=\"%s\"} %d\n", name, labels, states[i],
		        strcmp(states[i], current) == 0);
}

static void pod_state(FILE *f, const char *labels, const struct crib_gather_item *it,
                      const struct fact *fact)
{
	static const char *const states[] = {"ready", "notready"};

	(void)it;
	write_state(f, "crib_pod_state", labels, states, ARRAY_SIZE(states),
	            crib_view_pod_state(fact->state));
}

static void container_state(FILE *f, const char *labels, const struct crib_gather_item *it,
                            const struct fact *fact)
{
	static const char *const states[] = {"created", "running", "exited", "unknown"};

	(void)it;
	write_state(f, "crib_container_state", labels, states, ARRAY_SIZE(states),
	            crib_view_container_state(fact->state));
}

static void container_restarts(FILE *f, const char *labels, const struct crib_gather_item *it,
                               const struct fact *fact)
{
	(void)fact;
	fprintf(f, "crib_container_restarts{%s} %u\n", labels, it->ctr->config->metadata->attempt);
}

static void cpu(FILE *f, const char *labels, const struct crib_gather_item *it,
                const struct fact *fact)
{
	const struct crib_usage *u = crib_gather_usage(it);

	/* Stamped: a scrape may get a round a second old (ROUND_REUSE_MS), and rates need to know.
	 */
	if (u && (u->present & CRIB_USAGE_CPU))
		fprintf(f, "crib_%s_cpu_usage_seconds_total{%s} %.9f %lld\n",
		        it->ctr ? "container" : "pod", labels, (double)u->cpu_core_ns / 1e9,
		        (long long)fact->at_ms);
}

static void memory(FILE *f, const char *labels, const struct crib_gather_item *it,
                   const struct fact *fact)
{
	const struct crib_usage *u = crib_gather_usage(it);

	if (u && (u->present & CRIB_USAGE_MEMORY_WORKING_SET))
		fprintf(f, "crib_%s_memory_working_set_bytes{%s} %llu %lld\n",
		        it->ctr ? "container" : "pod", labels,
		        (unsigned long long)u->memory_working_set_bytes, (long long)fact->at_ms);
}

static const struct family families[] = {
    {"crib_pod_state", "gauge", "1 for the pod's CRI state.", false, pod_state},
    {"crib_pod_cpu_usage_seconds_total", "counter", "CPU time the pod used.", false, cpu},
    {"crib_pod_memory_working_set_bytes", "gauge", "The pod's memory working set.", false, memory},
    {"crib_container_state", "gauge", "1 for the container's CRI state.", true, container_state},
    {"crib_container_restarts", "gauge", "The container's attempt: restarts in its pod.", true,
     container_restarts},
    {"crib_container_cpu_usage_seconds_total", "counter", "CPU time the container used.", true,
     cpu},
    {"crib_container_memory_working_set_bytes", "gauge", "The container's memory working set.",
     true, memory},
};

/* backend, runtime_class, namespace, pod[, container], id: the item's labels. */
static char *item_labels(const struct crib_gather_item *it)
{
	const struct crib_pod *p = it->pod ? it->pod : it->ctr->pod;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	crib_metrics_write_label(f, "backend", p->cls->backend_name);
	fputc(',', f);
	crib_metrics_write_label(f, "runtime_class", p->cls->pub.name);
	fputc(',', f);
	crib_metrics_write_label(f, "namespace", p->config->metadata->namespace_);
	fputc(',', f);
	crib_metrics_write_label(f, "pod", p->config->metadata->name);
	if (it->ctr) {
		fputc(',', f);
		crib_metrics_write_label(f, "container", it->ctr->config->metadata->name);
	}
	fputc(',', f);
	crib_metrics_write_label(f, "id", it->ctr ? it->ctr->id : p->id);
	if (fclose(f) != 0)
		abort();
	return text;
}

static void write_backends(FILE *f, struct crib_daemon *d)
{
	const char *names[32];
	const struct crib_op_metrics *oms[32];
	struct crib_list *n;
	size_t count = 0;
	unsigned n_ops;
	const char *const *op_names = crib_op_kind_names(&n_ops);

	fprintf(f, "# HELP crib_backend_up 1 when the backend is loaded and healthy.\n"
	           "# TYPE crib_backend_up gauge\n");
	crib_list_foreach (n, &d->router->backends) {
		const struct crib_backend *b = container_of(n, struct crib_backend, link);

		fprintf(f, "crib_backend_up{backend=\"%s\"} %d\n", b->name,
		        b->status == CRIB_BACKEND_HEALTHY);
		if (count < ARRAY_SIZE(names)) {
			names[count] = b->name;
			oms[count++] = &b->op_metrics;
		}
	}
	crib_metrics_write_ops(f, names, oms, count, op_names, n_ops);
}

static const char *method_name(unsigned i)
{
	const char *slash = strrchr(crib_methods[i].path, '/');

	return slash ? slash + 1 : crib_methods[i].path;
}

/* The daemon's families, all at once: their size does not grow with the node. */
static void render_head(struct metrics_render *mr)
{
	const char *names[CRIB_M_COUNT];
	size_t len = 0;
	FILE *f = open_memstream(&mr->buf, &len);

	if (!f)
		abort();
	for (unsigned i = 0; i < CRIB_M_COUNT; i++)
		names[i] = method_name(i);
	crib_metrics_write_daemon(f, mr->d->metrics, names,
	                          mr->d->rpc ? crib_rpc_server_live_calls(mr->d->rpc) : 0,
	                          mr->d->started_at);
	write_backends(f, mr->d);
	if (fclose(f) != 0)
		abort();
	mr->len = len;
}

/* The next batch of the current family (and its header when it starts). */
static void render_batch(struct metrics_render *mr)
{
	const struct family *fam = &families[mr->family];
	size_t len = 0, done = 0;
	FILE *f = open_memstream(&mr->buf, &len);

	if (!f)
		abort();
	if (mr->next == 0)
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
		        fam->type);
	for (; mr->next < mr->g->n && done < BATCH; mr->next++) {
		const struct crib_gather_item *it = &mr->g->items[mr->next];
		_cleanup_free_ char *labels = NULL;

		if (fam->containers != (it->ctr != NULL))
			continue;
		labels = item_labels(it);
		fam->write(f, labels, it, &mr->round->facts[mr->next]);
		done++;
	}
	if (mr->next == mr->g->n) {
		mr->family++;
		mr->next = 0;
	}
	if (fclose(f) != 0)
		abort();
	mr->len = len;
}

static ssize_t read_metrics(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct metrics_render *mr = cls;
	size_t n;

	(void)pos;
	while (mr->off == mr->len) {
		free(mr->buf);
		mr->buf = NULL;
		mr->len = mr->off = 0;
		if (mr->family == ARRAY_SIZE(families))
			return MHD_CONTENT_READER_END_OF_STREAM;
		render_batch(mr);
	}
	n = mr->len - mr->off < max ? mr->len - mr->off : max;
	memcpy(buf, mr->buf + mr->off, n);
	mr->off += n;
	return (ssize_t)n;
}

void crib_metrics_round_unref(struct crib_metrics_round *round)
{
	if (!round || --round->refs > 0)
		return;
	crib_gather_free(round->g);
	free(round->facts);
	free(round);
}

/* Loop thread. */
static void release_render(struct crib_admin_release *rel)
{
	struct metrics_render *mr = container_of(rel, struct metrics_render, rel);

	crib_metrics_round_unref(mr->round);
	free(mr);
}

/* The admin thread (libmicrohttpd is done with the answer). */
static void free_render(void *cls)
{
	struct metrics_render *mr = cls;

	free(mr->buf);
	mr->buf = NULL;
	crib_admin_release(mr->round->admin, &mr->rel);
}

static void reply_from(struct crib_admin_req *rq, struct crib_metrics_round *round)
{
	struct metrics_render *mr = crib_xcalloc(1, sizeof(*mr));
	struct MHD_Response *resp;

	mr->rel.release = release_render;
	mr->d = rq->admin->d;
	mr->round = round;
	mr->g = round->g;
	round->refs++;
	render_head(mr);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_metrics, mr,
	                                         free_render);
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                              "text/plain; version=0.0.4; charset=utf-8");
	crib_admin_reply(rq, MHD_HTTP_OK, resp);
}

static void gathered(struct crib_gather *g)
{
	struct crib_metrics_round *round = g->data;
	struct crib_list *n, *tmp;

	struct crib_admin *a = round->admin;
	int64_t now = crib_now_ns();

	a->metrics_running = NULL;
	round->ended_at = crib_mono_ns();
	round->facts = crib_xcalloc(g->n + 1, sizeof(*round->facts));
	for (size_t i = 0; i < g->n; i++) {
		const struct crib_gather_item *it = &g->items[i];
		const struct crib_usage *u = crib_gather_usage(it);

		round->facts[i].state = it->ctr ? it->ctr->state : it->pod->state;
		round->facts[i].at_ms = (u && u->timestamp > 0 ? u->timestamp : now) / 1000000;
	}
	crib_list_foreach_safe (n, tmp, &round->waiting) {
		struct waiter *w = container_of(n, struct waiter, link);

		crib_list_del(&w->link);
		reply_from(w->rq, round);
		free(w);
	}
	/* The reference it was made with now keeps it for the next scrapes. */
	crib_metrics_round_unref(a->metrics_last);
	a->metrics_last = a->loop_stopping ? NULL : round;
	if (!a->metrics_last)
		crib_metrics_round_unref(round);
}

static void wait_for_round(struct crib_admin_req *rq, struct crib_metrics_round *round)
{
	struct waiter *w = crib_xcalloc(1, sizeof(*w));

	w->rq = rq;
	crib_list_add_tail(&round->waiting, &w->link);
	/* Stats ops answer later: hold the connection until they have. */
	crib_admin_defer(rq);
}

void crib_admin_metrics(struct crib_admin_req *rq)
{
	struct crib_admin *a = rq->admin;
	struct crib_daemon *d = a->d;
	struct crib_metrics_round *round;
	struct crib_pod *p, *tmp;

	if (a->metrics_running) {
		wait_for_round(rq, a->metrics_running);
		return;
	}
	if (a->metrics_last &&
	    crib_mono_ns() - a->metrics_last->ended_at < (int64_t)ROUND_REUSE_MS * 1000000) {
		reply_from(rq, a->metrics_last);
		return;
	}
	round = crib_xcalloc(1, sizeof(*round));
	round->refs = 1; /* held until it is no longer the last round */
	round->admin = a;
	crib_list_init(&round->waiting);
	round->g = crib_gather_new(gathered, round);
	round->g->background = true;
	HASH_ITER (hh, d->reg.pods, p, tmp)
		if (p->listed && p->phase != CRIB_PHASE_CREATING)
			crib_gather_add_pod(round->g, p);
	a->metrics_running = round;
	wait_for_round(rq, round);
	crib_gather_start(d, round->g);
}
