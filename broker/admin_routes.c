/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin API's JSON routes: health, backends, classes, pods and
 * containers (lists from the in-memory view; details also ask the backend),
 * and reload.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "admin_impl.h"
#include "backend.h"
#include "config.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "op.h"
#include "registry.h"
#include "router.h"
#include "views.h"

#define LOG_CAT "admin"

/* A page holds at most this many items; a list without `limit` is one page of it. */
#define PAGE_MAX 1000

void crib_admin_healthz(struct crib_admin_req *rq)
{
	crib_admin_reply_json(rq, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

static json_t *check(const char *name, bool ok, bool required, const char *message)
{
	json_t *c = json_pack("{s:s, s:b, s:b}", "name", name, "ok", ok, "required", required);

	if (!ok && message)
		json_object_set_new(c, "message", json_string(message));
	return c;
}

void crib_admin_readyz(struct crib_admin_req *rq)
{
	struct crib_daemon *d = rq->admin->d;
	struct crib_router *rt = d->router;
	struct crib_error *err = NULL;
	struct crib_rclass *def = NULL;
	json_t *checks = json_array();
	bool ready = d->serving && !d->stopping;
	struct crib_list *n;

	json_array_append_new(
	    checks, check("cri", ready, true,
	                  d->stopping ? "cribd is shutting down" : "cribd is still starting"));
	if (!isempty(rt->default_class)) {
		bool ok = crib_router_resolve(rt, rt->default_class, &def, &err) == 0;

		json_array_append_new(
		    checks, check("default_runtime_class", ok, true, crib_error_msg(err)));
		ready = ready && ok;
		crib_error_free(err);
	}
	crib_list_foreach (n, &rt->backends) {
		const struct crib_backend *b = container_of(n, struct crib_backend, link);
		_cleanup_free_ char *name = crib_xasprintf("backend:%s", b->name);

		json_array_append_new(
		    checks, check(name, b->status == CRIB_BACKEND_HEALTHY, false, b->error));
	}
	crib_admin_reply_json(rq, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
	                      json_pack("{s:b, s:o}", "ready", ready, "checks", checks));
}

void crib_admin_backends(struct crib_admin_req *rq)
{
	crib_admin_reply_json(
	    rq, MHD_HTTP_OK, json_pack("{s:o}", "items", crib_view_backends(rq->admin->d->router)));
}

void crib_admin_classes(struct crib_admin_req *rq)
{
	crib_admin_reply_json(rq, MHD_HTTP_OK,
	                      json_pack("{s:o}", "items", crib_view_classes(rq->admin->d->router)));
}

/* Lists: filters, then id order, then the page after `continue`. */

struct list_query {
	const char *backend;
	const char *runtime_class;
	const char *namespace_;
	const char *state;
	const char *after; /* continue: the last id of the previous page */
	unsigned long limit;
};

static bool hex_id(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CRIB_ID_LEN && strspn(s, "0123456789abcdef") == n;
}

static void reply_bad_state(struct crib_admin_req *rq, const char *const *states, size_t n,
                            const char *got)
{
	_cleanup_free_ char *list = crib_xstrdup(states[0]);

	for (size_t i = 1; i < n; i++) {
		char *longer = crib_xasprintf("%s, %s", list, states[i]);

		free(list);
		list = longer;
	}
	crib_admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
	                       "query parameter 'state' must be one of %s, not '%s'", list, got);
}

static int list_query(struct crib_admin_req *rq, const char *const *states, size_t n_states,
                      struct list_query *q)
{
	int r = crib_admin_arg_uint(rq, "limit", 1, PAGE_MAX, PAGE_MAX, &q->limit);

	if (r < 0)
		return r;
	q->backend = crib_admin_arg(rq, "backend");
	q->runtime_class = crib_admin_arg(rq, "runtime_class");
	q->namespace_ = crib_admin_arg(rq, "namespace");
	q->state = crib_admin_arg(rq, "state");
	q->after = crib_admin_arg(rq, "continue");
	if (q->after && !hex_id(q->after)) {
		crib_admin_reply_error(rq, MHD_HTTP_BAD_REQUEST,
		                       "query parameter 'continue' must be the token a previous "
		                       "page ended with, not '%s'",
		                       q->after);
		return -EINVAL;
	}
	if (!q->state)
		return 0;
	for (size_t i = 0; i < n_states; i++)
		if (streq(q->state, states[i]))
			return 0;
	reply_bad_state(rq, states, n_states, q->state);
	return -EINVAL;
}

static bool pod_matches(const struct list_query *q, const struct crib_pod *p)
{
	return p->listed && (!q->backend || streq(q->backend, p->cls->backend_name)) &&
	       (!q->runtime_class || streq(q->runtime_class, p->cls->pub.name)) &&
	       (!q->namespace_ || streq(q->namespace_, p->config->metadata->namespace_)) &&
	       (!q->state || streq(q->state, crib_view_pod_state(p->state))) &&
	       (!q->after || strcmp(p->id, q->after) > 0);
}

static int by_id(const void *a, const void *b)
{
	/* Pods and containers both start with their id. */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Sorts the N matching objects (each starting with its id) and answers the
 * page: at most q->limit, with `continue` when more follow.
 */
static void reply_page(struct crib_admin_req *rq, const struct list_query *q, void **v, size_t n,
                       json_t *(*view)(const void *obj))
{
	json_t *items = json_array();
	json_t *page;
	size_t take = n < q->limit ? n : q->limit;

	qsort(v, n, sizeof(*v), by_id);
	for (size_t i = 0; i < take; i++)
		json_array_append_new(items, view(v[i]));
	page = json_pack("{s:o}", "items", items);
	if (take < n)
		json_object_set_new(page, "continue", json_string((const char *)v[take - 1]));
	crib_admin_reply_json(rq, MHD_HTTP_OK, page);
}

static json_t *pod_view(const void *p)
{
	return crib_view_pod(p);
}

static json_t *container_view(const void *c)
{
	return crib_view_container(c);
}

static const char *const pod_states[] = {"ready", "notready"};
static const char *const container_states[] = {"created", "running", "exited", "unknown"};

void crib_admin_pods(struct crib_admin_req *rq)
{
	struct crib_daemon *d = rq->admin->d;
	struct list_query q;
	_cleanup_free_ void **v = NULL;
	struct crib_pod *p, *tmp;
	size_t n = 0;

	if (list_query(rq, pod_states, ARRAY_SIZE(pod_states), &q) < 0)
		return;
	v = crib_xcalloc(crib_registry_count_pods(&d->reg) + 1, sizeof(*v));
	HASH_ITER (hh, d->reg.pods, p, tmp)
		if (pod_matches(&q, p))
			v[n++] = p;
	reply_page(rq, &q, v, n, pod_view);
}

void crib_admin_containers(struct crib_admin_req *rq)
{
	struct crib_daemon *d = rq->admin->d;
	const char *pod_id = crib_admin_arg(rq, "pod");
	struct crib_pod *pod = NULL;
	struct crib_container *c, *tmp;
	_cleanup_free_ void **v = NULL;
	struct list_query q;
	size_t n = 0;

	if (list_query(rq, container_states, ARRAY_SIZE(container_states), &q) < 0)
		return;
	if (pod_id) {
		pod = crib_registry_find_pod(&d->reg, pod_id);
		if (!pod) {
			crib_admin_reply_error(rq, MHD_HTTP_NOT_FOUND, "pod '%s' not found",
			                       pod_id);
			return;
		}
	}
	v = crib_xcalloc(crib_registry_count_containers(&d->reg) + 1, sizeof(*v));
	HASH_ITER (hh, d->reg.ctrs, c, tmp) {
		struct list_query pq = q;

		pq.state = NULL;
		pq.after = NULL;
		if (c->listed && (!pod || c->pod == pod) && pod_matches(&pq, c->pod) &&
		    (!q.state || streq(q.state, crib_view_container_state(c->state))) &&
		    (!q.after || strcmp(c->id, q.after) > 0))
			v[n++] = c;
	}
	reply_page(rq, &q, v, n, container_view);
}

/* Details: the listed view, the backend's own status info, and for pods their containers. */

struct detail {
	struct crib_admin_req *rq;
	struct crib_pod *pod;       /* reference */
	struct crib_container *ctr; /* reference, for container details */
};

static void add_backend_info(json_t *o, const struct crib_op *op, const char *info)
{
	json_t *j;

	if (!op) {
		json_object_set_new(o, "backend_error",
		                    json_string("the backend is not healthy or reports no status"));
		return;
	}
	if (op->r < 0) {
		json_object_set_new(o, "backend_error", json_string(crib_error_msg(op->err)));
		return;
	}
	j = info ? json_loads(info, 0, NULL) : json_object();
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	json_object_set_new(o, "backend_info", j);
}

static void reply_detail(struct detail *dt, const struct crib_op *op)
{
	json_t *o;

	if (dt->ctr) {
		o = crib_view_container(dt->ctr);
		add_backend_info(o, op, op && op->r == 0 ? op->out.ctr_status.info : NULL);
		if (op && op->r == 0 && op->out.ctr_status.pid > 0)
			json_object_set_new(o, "pid", json_integer(op->out.ctr_status.pid));
	} else {
		const struct crib_list *n;
		json_t *ctrs = json_array();

		o = crib_view_pod(dt->pod);
		crib_list_foreach (n, &dt->pod->containers)
			json_array_append_new(ctrs, crib_view_container(container_of(
			                                n, struct crib_container, pod_link)));
		json_object_set_new(o, "containers", ctrs);
		add_backend_info(o, op, op && op->r == 0 ? op->out.pod_status.info : NULL);
	}
	crib_admin_reply_json(dt->rq, MHD_HTTP_OK, o);
	crib_container_unref(dt->ctr);
	crib_pod_unref(dt->pod);
	free(dt);
}

static void detail_done(struct crib_op *op)
{
	reply_detail(op->data, op);
	crib_op_free(op);
}

static void detail_start(struct crib_admin_req *rq, struct crib_pod *p, struct crib_container *c)
{
	struct crib_backend *b = p->cls->backend;
	struct detail *dt = crib_xcalloc(1, sizeof(*dt));
	bool has_op = c ? CRIB_BACKEND_HAS_OP(b->ops, container_status)
	                : CRIB_BACKEND_HAS_OP(b->ops, pod_status);
	struct crib_op *op;

	dt->rq = rq;
	dt->pod = crib_pod_ref(p);
	dt->ctr = c ? crib_container_ref(c) : NULL;
	if (b->status != CRIB_BACKEND_HEALTHY || !has_op) {
		reply_detail(dt, NULL);
		return;
	}
	op = crib_op_new(c ? CRIB_OP_CONTAINER_STATUS : CRIB_OP_POD_STATUS, b, detail_done, dt);
	crib_op_set_pod(op, p->id, &p->cls->pub, p->priv, p->priv_len);
	if (c)
		crib_op_set_container(op, c->id, c->priv, c->priv_len);
	if (crib_daemon_op_start(rq->admin->d, op) < 0) {
		crib_op_free(op);
		reply_detail(dt, NULL);
		return;
	}
	crib_admin_defer(rq);
}

void crib_admin_pod(struct crib_admin_req *rq)
{
	struct crib_pod *p = crib_registry_find_pod(&rq->admin->d->reg, rq->id);

	if (!p)
		crib_admin_reply_error(rq, MHD_HTTP_NOT_FOUND, "pod '%s' not found", rq->id);
	else
		detail_start(rq, p, NULL);
}

void crib_admin_container(struct crib_admin_req *rq)
{
	struct crib_container *c = crib_registry_find_container(&rq->admin->d->reg, rq->id);

	if (!c)
		crib_admin_reply_error(rq, MHD_HTTP_NOT_FOUND, "container '%s' not found", rq->id);
	else
		detail_start(rq, c->pod, c);
}

/* POST /v1/reload */

static void reloaded(struct crib_daemon *d, void *user, const struct crib_error *err)
{
	struct crib_admin_req *rq = user;

	if (err)
		crib_admin_reply_error(
		    rq, err->errnum == EBUSY ? MHD_HTTP_CONFLICT : MHD_HTTP_BAD_REQUEST, "%s",
		    crib_error_msg(err));
	else
		crib_admin_reply_json(rq, MHD_HTTP_OK,
		                      json_pack("{s:o}", "items", crib_view_classes(d->router)));
}

void crib_admin_reload(struct crib_admin_req *rq)
{
	crib_admin_defer(rq);
	crib_daemon_reload(rq->admin->d, reloaded, rq);
}
