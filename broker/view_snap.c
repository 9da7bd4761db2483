/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "router.h"
#include "view_snap.h"
#include "views.h"

void crib_view_rec_unref(struct crib_view_rec *rec)
{
	if (!rec || atomic_fetch_sub_explicit(&rec->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(rec->json);
	free(rec->backend);
	free(rec->runtime_class);
	free(rec->namespace_);
	free(rec->pod_id);
	free(rec->log_path);
	free(rec);
}

static struct crib_view_rec *rec_ref(struct crib_view_rec *rec)
{
	atomic_fetch_add_explicit(&rec->refs, 1, memory_order_relaxed);
	return rec;
}

/* A new view with one reference, the caller's; VIEW is taken. */
static struct crib_view_rec *rec_new(const char *id, uint32_t state, json_t *view,
                                     const struct crib_pod *p)
{
	struct crib_view_rec *rec = crib_xcalloc(1, sizeof(*rec));

	atomic_init(&rec->refs, 1);
	(void)snprintf(rec->id, sizeof(rec->id), "%s", id);
	rec->state = state;
	rec->json = json_dumps(view, JSON_COMPACT);
	json_decref(view);
	if (!rec->json)
		abort(); /* jansson only fails to allocate */
	rec->json_len = strlen(rec->json);
	rec->backend = crib_xstrdup(p->cls->backend_name);
	rec->runtime_class = crib_xstrdup(p->cls->pub.name);
	rec->namespace_ = crib_xstrdup(p->config->metadata->namespace_);
	return rec;
}

static struct crib_view_rec *pod_rec(struct crib_pod *p)
{
	if (!p->view)
		p->view = rec_new(p->id, p->state, crib_view_pod(p), p);
	return rec_ref(p->view);
}

static struct crib_view_rec *container_rec(struct crib_container *c)
{
	if (!c->view) {
		c->view = rec_new(c->id, c->state, crib_view_container(c), c->pod);
		c->view->pod_id = crib_xstrdup(c->pod->id);
		c->view->log_path = c->log_path ? crib_xstrdup(c->log_path) : NULL;
	}
	return rec_ref(c->view);
}

static int by_id(const void *a, const void *b)
{
	return strcmp((*(struct crib_view_rec *const *)a)->id,
	              (*(struct crib_view_rec *const *)b)->id);
}

struct crib_view_snap *crib_view_snap_take(struct crib_registry *reg)
{
	struct crib_view_snap *s = crib_xcalloc(1, sizeof(*s));
	struct crib_container *c, *ctmp;
	struct crib_pod *p, *ptmp;

	atomic_init(&s->refs, 1);
	s->gen = atomic_load_explicit(&reg->gen, memory_order_relaxed);
	s->pods = crib_xcalloc(crib_registry_count_pods(reg) + 1, sizeof(*s->pods));
	s->ctrs = crib_xcalloc(crib_registry_count_containers(reg) + 1, sizeof(*s->ctrs));
	HASH_ITER (hh, reg->pods, p, ptmp)
		s->pods[s->n_pods++] = pod_rec(p);
	HASH_ITER (hh, reg->ctrs, c, ctmp)
		s->ctrs[s->n_ctrs++] = container_rec(c);
	qsort(s->pods, s->n_pods, sizeof(*s->pods), by_id);
	qsort(s->ctrs, s->n_ctrs, sizeof(*s->ctrs), by_id);
	return s;
}

struct crib_view_snap *crib_view_snap_ref(struct crib_view_snap *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void crib_view_snap_unref(struct crib_view_snap *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < s->n_pods; i++)
		crib_view_rec_unref(s->pods[i]);
	for (size_t i = 0; i < s->n_ctrs; i++)
		crib_view_rec_unref(s->ctrs[i]);
	free(s->pods);
	free(s->ctrs);
	free(s);
}

/* The index of the first view whose id is not below ID. */
static size_t lower_bound(struct crib_view_rec *const *v, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid]->id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t crib_view_snap_after(struct crib_view_rec *const *v, size_t n, const char *id)
{
	size_t i = lower_bound(v, n, id);

	return i < n && streq(v[i]->id, id) ? i + 1 : i;
}

const struct crib_view_rec *crib_view_snap_find(struct crib_view_rec *const *v, size_t n,
                                                const char *id)
{
	size_t len = strlen(id), i = lower_bound(v, n, id);

	/* Ids sharing the prefix sort together, starting at its lower bound. */
	if (len == 0 || i == n || strncmp(v[i]->id, id, len) != 0)
		return NULL;
	if (streq(v[i]->id, id))
		return v[i];
	return i + 1 < n && strncmp(v[i + 1]->id, id, len) == 0 ? NULL : v[i];
}
