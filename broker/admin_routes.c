/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin API's JSON routes: health, backends, classes, pods and
 * containers (lists on the admin thread, from a snapshot of the views;
 * details on the loop, which also asks the backend), and reload.
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
#include "view_snap.h"
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

/* Whether REC (a pod's view, or a container's with its pod's fields) passes Q but its state. */
static bool owner_matches(const struct list_query *q, const struct crib_view_rec *rec)
{
	return (!q->backend || streq(q->backend, rec->backend)) &&
	       (!q->runtime_class || streq(q->runtime_class, rec->runtime_class)) &&
	       (!q->namespace_ || streq(q->namespace_, rec->namespace_));
}

/*
 * Answers the page of V (N views sorted by id) after `continue` of those
 * MATCH passes: at most q->limit, with `continue` when more follow.  The
 * views are JSON already: the page is their text joined.
 */
static void reply_page(struct crib_admin_req *rq, const struct list_query *q,
                       struct crib_view_rec *const *v, size_t n,
                       bool (*match)(const struct list_query *q, const struct crib_view_rec *rec,
                                     const void *arg),
                       const void *arg)
{
	char *text = NULL;
	size_t len = 0, taken = 0, i = q->after ? crib_view_snap_after(v, n, q->after) : 0;
	const struct crib_view_rec *last = NULL;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	fputs("{\"items\":[", f);
	for (; i < n; i++) {
		if (!match(q, v[i], arg))
			continue;
		if (taken == q->limit)
			break;
		if (taken++)
			fputc(',', f);
		fwrite(v[i]->json, 1, v[i]->json_len, f);
		last = v[i];
	}
	fputc(']', f);
	if (i < n) /* ids are hex: no escaping */
		fprintf(f, ",\"continue\":\"%s\"", last->id);
	fputc('}', f);
	if (fclose(f) != 0)
		abort();
	crib_admin_reply_json_text(rq, MHD_HTTP_OK, text, len);
}

static const char *const pod_states[] = {"ready", "notready"};
static const char *const container_states[] = {"created", "running", "exited", "unknown"};

static bool pod_matches(const struct list_query *q, const struct crib_view_rec *rec,
                        const void *arg)
{
	(void)arg;
	return owner_matches(q, rec) &&
	       (!q->state || streq(q->state, crib_view_pod_state(rec->state)));
}

void crib_admin_pods(struct crib_admin_req *rq)
{
	struct list_query q;

	if (list_query(rq, pod_states, ARRAY_SIZE(pod_states), &q) == 0)
		reply_page(rq, &q, rq->snap->pods, rq->snap->n_pods, pod_matches, NULL);
}

/* ARG: the pod the containers must be in, or NULL. */
static bool container_matches(const struct list_query *q, const struct crib_view_rec *rec,
                              const void *arg)
{
	const struct crib_view_rec *pod = arg;

	return (!pod || streq(pod->id, rec->pod_id)) && owner_matches(q, rec) &&
	       (!q->state || streq(q->state, crib_view_container_state(rec->state)));
}

void crib_admin_containers(struct crib_admin_req *rq)
{
	const struct crib_view_snap *snap = rq->snap;
	const char *pod_id = crib_admin_arg(rq, "pod");
	const struct crib_view_rec *pod = NULL;
	struct list_query q;

	if (list_query(rq, container_states, ARRAY_SIZE(container_states), &q) < 0)
		return;
	if (pod_id) {
		pod = crib_view_snap_find(snap->pods, snap->n_pods, pod_id);
		if (!pod) {
			crib_admin_reply_error(rq, MHD_HTTP_NOT_FOUND, "pod '%s' not found",
			                       pod_id);
			return;
		}
	}
	reply_page(rq, &q, snap->ctrs, snap->n_ctrs, container_matches, pod);
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
