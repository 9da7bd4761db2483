/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "admin.h"
#include "backend.h"
#include "config.h"
#include "content.h"
#include "cri.h"
#include "daemon.h"
#include "stream_server.h"
#include "error.h"
#include "host.h"
#include "log.h"
#include "metrics.h"
#include "methods.h"
#include "op.h"
#include "router.h"
#include "rpc.h"
#include "store.h"

#define LOG_CAT "cribd"

/* How often backends with a health op are asked. */
#define HEALTH_INTERVAL_MS 10000
/* SIGTERM: calls in flight get this long to finish before they are cancelled... */
#define STOP_GRACE_MS 10000
/* ...and backend ops this long before cribd leaves without waiting for them. */
#define STOP_DEADLINE_MS 30000
#define STOP_POLL_MS     100

int crib_daemon_op_start(struct crib_daemon *d, struct crib_op *op)
{
	return crib_op_start(d->loop, op);
}

/* Persistence. */

int crib_daemon_save_pod(struct crib_daemon *d, struct crib_pod *p, struct crib_error **reterr)
{
	struct crib_store_pod row = {
	    .id = p->id,
	    .class_name = p->cls->pub.name,
	    .class_snapshot = crib_rclass_snapshot(p->cls),
	    .phase = p->phase,
	    .state = p->state,
	    .created_at = p->created_at,
	    .config = p->config_blob,
	    .config_len = p->config_len,
	    .priv = p->priv,
	    .priv_len = p->priv_len,
	    .ip = p->ip,
	    .netns = p->netns,
	    .additional_ips = p->additional_ips,
	};
	struct crib_error *err = NULL;
	int r;

	crib_registry_touch_pod(&d->reg, p);
	if (!row.class_snapshot)
		r = crib_error_set(&err, EINVAL, "Runtime class '%s' cannot be recorded as JSON",
		                   p->cls->pub.name);
	else
		r = crib_store_put_pod(d->store, &row, &err);

	if (r < 0) {
		if (reterr)
			*reterr = err;
		else {
			log_err("Failed to record pod sandbox '%s': %s", p->id,
			        crib_error_msg(err));
			crib_error_free(err);
		}
	}
	return r;
}

int crib_daemon_save_container(struct crib_daemon *d, struct crib_container *c,
                               struct crib_error **reterr)
{
	struct crib_store_container row = {
	    .id = c->id,
	    .pod_id = c->pod->id,
	    .phase = c->phase,
	    .state = c->state,
	    .created_at = c->created_at,
	    .started_at = c->started_at,
	    .finished_at = c->finished_at,
	    .exit_code = c->exit_code,
	    .reason = c->reason,
	    .message = c->message,
	    .log_path = c->log_path,
	    .config = c->config_blob,
	    .config_len = c->config_len,
	    .priv = c->priv,
	    .priv_len = c->priv_len,
	    .image_id = c->image_id,
	};
	struct crib_error *err = NULL;
	int r;

	crib_registry_touch_container(&d->reg, c);
	r = crib_store_put_container(d->store, &row, &err);

	if (r < 0) {
		if (reterr)
			*reterr = err;
		else {
			log_err("Failed to record container '%s': %s", c->id, crib_error_msg(err));
			crib_error_free(err);
		}
	}
	return r;
}

void crib_daemon_use_image(struct crib_daemon *d, struct crib_container *c, struct crib_image *img)
{
	(void)d;
	if (!img)
		return;
	crib_strreplace(&c->image_id, img->id);
	crib_strreplace(&c->image_ref, img->n_repo_digests
	                                   ? img->repo_digests[0]
	                                   : (img->n_repo_tags ? img->repo_tags[0] : img->id));
	img->users++;
}

void crib_daemon_forget_container(struct crib_daemon *d, struct crib_container *c)
{
	struct crib_error *err = NULL;
	struct crib_image *img;

	if (!c->listed)
		return;
	img = c->image_id ? crib_images_find(&d->images, c->image_id) : NULL;
	if (img && img->users > 0)
		img->users--;
	if (crib_store_delete_container(d->store, c->id, &err) < 0) {
		log_err("Failed to delete container '%s' from the store: %s", c->id,
		        crib_error_msg(err));
		crib_error_free(err);
	}
	if (c->pod->cls->backend->n_containers > 0)
		c->pod->cls->backend->n_containers--;
	crib_registry_remove_container(&d->reg, c);
}

void crib_daemon_forget_pod(struct crib_daemon *d, struct crib_pod *p)
{
	struct crib_error *err = NULL;

	if (!p->listed)
		return;
	if (crib_store_delete_pod(d->store, p->id, &err) < 0) {
		log_err("Failed to delete pod sandbox '%s' from the store: %s", p->id,
		        crib_error_msg(err));
		crib_error_free(err);
	}
	if (p->cls->backend->n_pods > 0)
		p->cls->backend->n_pods--;
	crib_registry_remove_pod(&d->reg, p);
}

/* Events from backends. */

static void on_health_done(struct crib_op *op)
{
	struct crib_backend *b = op->backend;
	bool healthy = op->r == 0 && op->out.health.healthy;
	const char *why = op->r < 0 ? crib_error_msg(op->err) : op->out.health.message;

	b->health_busy = false;
	if (b->status == CRIB_BACKEND_HEALTHY || b->status == CRIB_BACKEND_UNHEALTHY) {
		if (healthy && b->status != CRIB_BACKEND_HEALTHY)
			log_notice("Backend '%s' is healthy again", b->name);
		else if (!healthy && b->status == CRIB_BACKEND_HEALTHY)
			log_err("Backend '%s' is unhealthy: %s", b->name, why ? why : "no reason");
		b->status = healthy ? CRIB_BACKEND_HEALTHY : CRIB_BACKEND_UNHEALTHY;
		crib_strreplace(&b->error, healthy ? NULL : (why ? why : "unhealthy"));
		if (op->r == 0)
			crib_strreplace(&b->health_info, op->out.health.info);
	}
	crib_op_free(op);
}

static void check_health(struct crib_daemon *d, struct crib_backend *b)
{
	struct crib_op *op;

	if (b->health_busy || !b->initialized || !(b->ops->caps & CRIB_CAP_HEALTH) ||
	    !CRIB_BACKEND_HAS_OP(b->ops, health))
		return;
	op = crib_op_new(CRIB_OP_HEALTH, b, on_health_done, d);
	if (crib_daemon_op_start(d, op) < 0) {
		crib_op_free(op);
		return;
	}
	b->health_busy = true;
}

static void on_health_timer(uv_timer_t *t)
{
	struct crib_daemon *d = container_of(t, struct crib_daemon, health_timer);
	struct crib_list *n;

	crib_list_foreach (n, &d->router->backends)
		check_health(d, container_of(n, struct crib_backend, link));
}

static void on_backend_event(struct crib_daemon *d, struct crib_backend_event *ev)
{
	struct crib_container *c;
	struct crib_pod *p;

	/* Once stopping, backends are being finalized: their news no longer matters. */
	if (d->stopping) {
		crib_backend_event_free(ev);
		return;
	}
	switch (ev->kind) {
	case CRIB_EVENT_CONTAINER_EXITED:
		c = ev->id ? crib_registry_find_container(&d->reg, ev->id) : NULL;
		/* A backend speaks only for its own objects, and only by full id. */
		if (c && streq(c->id, ev->id) && c->pod->cls->backend == ev->backend)
			crib_apply_container_exit(d, c, ev->exit_code, ev->at, ev->reason,
			                          ev->message);
		break;
	case CRIB_EVENT_POD_NOTREADY:
		p = ev->id ? crib_registry_find_pod(&d->reg, ev->id) : NULL;
		if (p && streq(p->id, ev->id) && p->cls->backend == ev->backend &&
		    p->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY) {
			p->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
			(void)crib_daemon_save_pod(d, p, NULL);
			log_info("Pod sandbox '%s' is not ready: %s", p->id,
			         ev->message ? ev->message : "its backend says so");
		}
		break;
	case CRIB_EVENT_HEALTH:
		check_health(d, ev->backend);
		break;
	default:
		log_debug("Ignoring unknown event %u from backend '%s'", ev->kind,
		          ev->backend->name);
	}
	crib_backend_event_free(ev);
}

static void dispatch(struct crib_mailbox *mb, struct crib_msg *msg)
{
	struct crib_daemon *d = mb->user;

	switch (msg->kind) {
	case CRIB_MSG_RPC_NEW:
	case CRIB_MSG_RPC_BATCH:
	case CRIB_MSG_SERVER_OFF:
		crib_rpc_server_msg(d->rpc, msg);
		break;
	case CRIB_MSG_OP_DONE:
		crib_op_async_arrived(container_of(msg, struct crib_op, msg));
		break;
	case CRIB_MSG_EVENT:
		on_backend_event(d, container_of(msg, struct crib_backend_event, msg));
		break;
	default:
		abort(); /* the admin API's kinds go to its own mailboxes */
	}
}

/* Start-up: load the store, reconcile with the backends, clean up half-made objects, serve. */

/*
 * Start-up runs in two phases, each a count of outstanding ops plus one token
 * held while the phase is being set up: reconcile with every backend, then
 * clean up what a crash left half-made (which needs reconcile's answers).
 */
struct startup {
	struct crib_daemon *d;
	unsigned pending;
	bool cleaning;
};

static void cleanup_intents(struct startup *s);

static void on_cri_call(void *user, unsigned method, unsigned code, int64_t ns)
{
	struct crib_daemon *d = user;

	crib_metrics_cri_call(d->metrics, method, code, ns);
}

static void start_serving(struct crib_daemon *d)
{
	struct crib_error *err = NULL;
	int r;

	if (d->stopping)
		return;
	r = crib_rpc_server_start(d->cfg->cri_socket, crib_methods, CRIB_M_COUNT, crib_cri_dispatch,
	                          d, &d->mailbox, &d->rpc, &err);
	if (r < 0) {
		log_err("Failed to serve CRI: %s", crib_error_msg(err));
		crib_error_free(err);
		d->exit_code = 1;
		(void)raise(SIGTERM);
		return;
	}
	crib_rpc_server_observe(d->rpc, on_cri_call);
	/* No stream URL can exist before CRI is served, so the order is free; a failure is fatal.
	 */
	r = crib_stream_server_start(d, &d->streams, &err);
	if (r < 0) {
		log_err("Failed to start the streaming server: %s", crib_error_msg(err));
		crib_error_free(err);
		d->exit_code = 1;
		(void)raise(SIGTERM);
		return;
	}
	d->serving = true;
	(void)uv_timer_start(&d->health_timer, on_health_timer, HEALTH_INTERVAL_MS,
	                     HEALTH_INTERVAL_MS);
	log_notice("cribd %s serves CRI on '%s' with %u pod sandbox(es) and %u container(s)",
	           CRIB_VERSION, d->cfg->cri_socket, crib_registry_count_pods(&d->reg),
	           crib_registry_count_containers(&d->reg));
}

static void startup_step_done(struct startup *s)
{
	if (--s->pending > 0)
		return;
	if (!s->cleaning) {
		s->cleaning = true;
		s->pending = 1;
		cleanup_intents(s);
		return;
	}
	start_serving(s->d);
	free(s);
}

/* One half-made object to remove, under its pod's lock. */
struct cleanup {
	struct crib_waiter w;
	struct startup *s;
	struct crib_pod *pod;       /* reference */
	struct crib_container *ctr; /* reference, or NULL for the pod itself */
};

static void cleanup_done(struct crib_daemon *d, void *ctx, const struct crib_error *err)
{
	struct cleanup *cl = ctx;
	struct startup *s = cl->s;

	(void)d;
	if (err)
		log_warning("Failed to clean up a half-made object of pod sandbox '%s' (it stays "
		            "hidden and is retried at the next start): %s",
		            cl->pod->id, crib_error_msg(err));
	crib_pod_unlock(cl->pod);
	crib_container_unref(cl->ctr);
	crib_pod_unref(cl->pod);
	free(cl);
	startup_step_done(s);
}

static void cleanup_locked(struct crib_waiter *w)
{
	struct cleanup *cl = container_of(w, struct cleanup, w);

	if (cl->ctr)
		crib_lc_remove_container(cl->s->d, cl->ctr, cleanup_done, cl);
	else
		crib_lc_remove_pod(cl->s->d, cl->pod, cleanup_done, cl);
}

/* Removes an object whose creation or removal a crash interrupted. */
static void cleanup_object(struct startup *s, struct crib_pod *p, struct crib_container *c)
{
	struct cleanup *cl;

	if (p->cls->backend->status != CRIB_BACKEND_HEALTHY) {
		log_warning("Cannot clean up half-made %s '%s' now: backend '%s' is unavailable",
		            c ? "container" : "pod sandbox", c ? c->id : p->id,
		            p->cls->backend->name);
		return;
	}
	cl = crib_xcalloc(1, sizeof(*cl));
	cl->s = s;
	cl->pod = crib_pod_ref(p);
	cl->ctr = c ? crib_container_ref(c) : NULL;
	s->pending++;
	log_info("Cleaning up %s '%s' left half-%s by a previous cribd",
	         c ? "container" : "pod sandbox", c ? c->id : p->id,
	         (c ? c->phase : p->phase) == CRIB_PHASE_CREATING ? "created" : "removed");
	crib_pod_lock(p, &cl->w, cleanup_locked);
}

static void cleanup_intents(struct startup *s)
{
	struct crib_daemon *d = s->d;
	struct crib_container *c, *ct;
	struct crib_pod *p, *pt;

	HASH_ITER (hh, d->reg.ctrs, c, ct) {
		if (c->phase != CRIB_PHASE_LIVE && c->pod->phase == CRIB_PHASE_LIVE)
			cleanup_object(s, c->pod, c);
	}
	HASH_ITER (hh, d->reg.pods, p, pt) {
		if (p->phase != CRIB_PHASE_LIVE)
			cleanup_object(s, p, NULL);
	}
	startup_step_done(s);
}

struct reconcile {
	struct startup *s;
	struct crib_reconcile_item *items;
	size_t n;
};

static void apply_reconcile_item(struct crib_daemon *d, struct crib_reconcile_item *it)
{
	struct crib_container *c;
	struct crib_pod *p;

	if (it->kind == CRIB_KIND_POD) {
		p = crib_registry_find_pod(&d->reg, it->id);
		if (!p)
			return;
		if (!it->found || it->pod.state == CRIB_POD_NOTREADY) {
			if (p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY) {
				p->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
				(void)crib_daemon_save_pod(d, p, NULL);
			}
		} else if (!p->netns && !isempty(it->pod.ip) && !streq(p->ip, it->pod.ip)) {
			/* A pod CNI gave an IP keeps it; the backend's IP is for the others. */
			crib_strreplace(&p->ip, it->pod.ip);
			(void)crib_daemon_save_pod(d, p, NULL);
		}
		return;
	}
	c = crib_registry_find_container(&d->reg, it->id);
	if (!c || c->phase != CRIB_PHASE_LIVE)
		return;
	if (!it->found)
		crib_apply_container_exit(d, c, 255, 0, "ContainerLost",
		                          "The backend no longer has this container");
	else
		crib_apply_container_status(d, c, &it->container);
}

static void reconcile_done(struct crib_op *op)
{
	struct reconcile *rc = op->data;
	struct crib_daemon *d = rc->s->d;

	if (op->r < 0) {
		log_err("Backend '%s' failed to reconcile %zu object(s); they keep their recorded "
		        "state: %s",
		        op->backend->name, rc->n, crib_error_msg(op->err));
	} else {
		for (size_t i = 0; i < rc->n; i++)
			apply_reconcile_item(d, &rc->items[i]);
		log_info("Backend '%s' reconciled %zu object(s)", op->backend->name, rc->n);
	}
	for (size_t i = 0; i < rc->n; i++) {
		crib_pod_status_clear(&rc->items[i].pod);
		crib_container_status_clear(&rc->items[i].container);
	}
	free(rc->items);
	startup_step_done(rc->s);
	free(rc);
	crib_op_free(op);
}

static void add_item(struct reconcile *rc, uint32_t kind, const char *id, struct crib_pod *p,
                     const void *priv, size_t priv_len)
{
	rc->items = crib_xrealloc(rc->items, rc->n + 1, sizeof(*rc->items));
	rc->items[rc->n++] = (struct crib_reconcile_item){
	    .kind = kind,
	    .id = id,
	    .pod_id = p->id,
	    .cls = &p->cls->pub,
	    .priv = priv,
	    .priv_len = priv_len,
	};
}

static void reconcile_backend(struct startup *s, struct crib_backend *b)
{
	struct crib_daemon *d = s->d;
	struct reconcile *rc = crib_xcalloc(1, sizeof(*rc));
	struct crib_container *c, *ct;
	struct crib_pod *p, *pt;
	struct crib_op *op;

	rc->s = s;
	HASH_ITER (hh, d->reg.pods, p, pt) {
		if (p->cls->backend == b)
			add_item(rc, CRIB_KIND_POD, p->id, p, p->priv, p->priv_len);
	}
	HASH_ITER (hh, d->reg.ctrs, c, ct) {
		if (c->pod->cls->backend == b)
			add_item(rc, CRIB_KIND_CONTAINER, c->id, c->pod, c->priv, c->priv_len);
	}
	if (rc->n == 0) {
		free(rc);
		return;
	}
	if (b->status != CRIB_BACKEND_HEALTHY) {
		log_warning("Backend '%s' is unavailable: its %zu object(s) keep their recorded "
		            "state (%s)",
		            b->name, rc->n, b->error ? b->error : "not loaded");
		free(rc->items);
		free(rc);
		return;
	}
	op = crib_op_new(CRIB_OP_RECONCILE, b, reconcile_done, rc);
	op->in.reconcile.items = rc->items;
	op->in.reconcile.n = rc->n;
	if (crib_daemon_op_start(d, op) < 0) {
		log_err("Failed to queue the reconcile of backend '%s'", b->name);
		crib_op_free(op);
		free(rc->items);
		free(rc);
		return;
	}
	s->pending++;
}

/* Store loading. */

struct load_ctx {
	struct crib_daemon *d;
	char **snapshots; /* distinct class snapshots, for the router */
	size_t n_snapshots;
};

static int collect_snapshot(const struct crib_store_pod *row, void *user)
{
	struct load_ctx *lc = user;

	for (size_t i = 0; i < lc->n_snapshots; i++)
		if (streq(lc->snapshots[i], row->class_snapshot))
			return 0;
	lc->snapshots = crib_xrealloc(lc->snapshots, lc->n_snapshots + 1, sizeof(char *));
	lc->snapshots[lc->n_snapshots++] = crib_xstrdup(row->class_snapshot);
	return 0;
}

static int skip_container(const struct crib_store_container *row, void *user)
{
	(void)row;
	(void)user;
	return 0;
}

static struct crib_rclass *class_of_row(struct crib_daemon *d, const struct crib_store_pod *row)
{
	struct crib_rclass *tmp = NULL, *c;
	struct crib_error *err = NULL;

	if (crib_rclass_from_snapshot(row->class_snapshot, &tmp, &err) < 0) {
		log_err("Pod sandbox '%s' has an unreadable runtime class record: %s", row->id,
		        crib_error_msg(err));
		crib_error_free(err);
		return NULL;
	}
	c = crib_router_find(d->router, tmp->pub.name, tmp->fingerprint);
	crib_rclass_free(tmp);
	return c;
}

static int load_pod(const struct crib_store_pod *row, void *user)
{
	struct load_ctx *lc = user;
	struct crib_daemon *d = lc->d;
	Runtime__V1__PodSandboxConfig *cfg;
	struct crib_rclass *cls = class_of_row(d, row);
	struct crib_pod *p;

	cfg = runtime__v1__pod_sandbox_config__unpack(NULL, row->config_len, row->config);
	if (!cls || !cfg || !cfg->metadata) {
		log_err("Pod sandbox '%s' in the store cannot be restored (%s), skipping", row->id,
		        cls ? "its config does not decode" : "its runtime class is unknown");
		if (cfg)
			protobuf_c_message_free_unpacked(&cfg->base, NULL);
		return 0;
	}
	p = crib_pod_new(row->id, cfg, crib_xmemdup(row->config, row->config_len), row->config_len);
	p->cls = cls;
	crib_rclass_ref(cls);
	cls->backend->n_pods++;
	p->phase = row->phase;
	p->state = row->state;
	p->created_at = row->created_at;
	p->priv = crib_xmemdup(row->priv, row->priv_len);
	p->priv_len = p->priv ? row->priv_len : 0;
	p->ip = crib_xstrdup(row->ip);
	p->additional_ips = crib_xstrdup(row->additional_ips);
	p->netns = crib_xstrdup(row->netns);
	if (crib_registry_add_pod(&d->reg, p) < 0)
		log_err("Pod sandbox '%s' appears twice in the store, skipping", row->id);
	crib_pod_unref(p);
	return 0;
}

static int load_container(const struct crib_store_container *row, void *user)
{
	struct load_ctx *lc = user;
	struct crib_daemon *d = lc->d;
	struct crib_pod *p = crib_registry_find_pod(&d->reg, row->pod_id);
	Runtime__V1__ContainerConfig *cfg;
	struct crib_container *c;

	cfg = runtime__v1__container_config__unpack(NULL, row->config_len, row->config);
	if (!p || !streq(p->id, row->pod_id) || !cfg || !cfg->metadata) {
		log_err("Container '%s' in the store cannot be restored (%s), skipping", row->id,
		        p ? "its config does not decode" : "its pod sandbox is unknown");
		if (cfg)
			protobuf_c_message_free_unpacked(&cfg->base, NULL);
		return 0;
	}
	c = crib_container_new(row->id, p, cfg, crib_xmemdup(row->config, row->config_len),
	                       row->config_len);
	c->phase = row->phase;
	c->state = row->state;
	c->created_at = row->created_at;
	c->started_at = row->started_at;
	c->finished_at = row->finished_at;
	c->exit_code = row->exit_code;
	c->reason = crib_xstrdup(row->reason);
	c->message = crib_xstrdup(row->message);
	c->log_path = crib_xstrdup(row->log_path);
	c->priv = crib_xmemdup(row->priv, row->priv_len);
	c->priv_len = c->priv ? row->priv_len : 0;
	if (crib_registry_add_container(&d->reg, c) < 0) {
		log_err("Container '%s' appears twice in the store, skipping", row->id);
	} else {
		p->cls->backend->n_containers++;
		if (row->image_id && !crib_images_find(&d->images, row->image_id))
			log_warning("Container '%s' was made from image %s, which is gone", row->id,
			            row->image_id);
		crib_daemon_use_image(
		    d, c, row->image_id ? crib_images_find(&d->images, row->image_id) : NULL);
		if (!c->image_id)
			c->image_id = crib_xstrdup(row->image_id);
	}
	crib_container_unref(c);
	return 0;
}

static void on_startup_router_ready(struct crib_router *rt, void *user)
{
	struct load_ctx *lc = user;
	struct crib_daemon *d = lc->d;
	struct crib_error *err = NULL;
	struct startup *s;
	struct crib_list *n;

	(void)rt;
	for (size_t i = 0; i < lc->n_snapshots; i++)
		free(lc->snapshots[i]);
	free(lc->snapshots);
	if (crib_store_load(d->store, load_pod, load_container, lc, &err) < 0) {
		log_err("Failed to load the state store: %s", crib_error_msg(err));
		crib_error_free(err);
		free(lc);
		d->exit_code = 1;
		(void)raise(SIGTERM);
		return;
	}
	free(lc);

	/* What a crash left of pulls and removals: blobs and layers nothing references. */
	crib_images_collect_garbage(d);

	s = crib_xcalloc(1, sizeof(*s));
	s->d = d;
	s->pending = 1;
	crib_list_foreach (n, &d->router->backends)
		reconcile_backend(s, container_of(n, struct crib_backend, link));
	startup_step_done(s);
}

/* SIGHUP. */

/* Keys that only a restart can change; a reload keeps the running values. */
static void keep_restart_keys(struct crib_config *n, const struct crib_config *o)
{
	char **keys[] = {&n->cri_socket, &n->admin_socket, &n->state_dir,
	                 &n->run_dir,    &n->plugin_dir,   &n->stream_address};
	const char *old[] = {o->cri_socket, o->admin_socket, o->state_dir,
	                     o->run_dir,    o->plugin_dir,   o->stream_address};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!streq(*keys[i], old[i])) {
			log_warning("Ignoring the new value '%s' of a key that needs a restart; "
			            "keeping '%s'",
			            *keys[i], old[i]);
			crib_strreplace(keys[i], old[i]);
		}
	n->workers = o->workers;
	n->cgroup_driver = o->cgroup_driver;
	/* The listener and the token store were made with these; the stream limits apply at once.
	 */
	n->stream_port = o->stream_port;
	n->stream_token_ttl = o->stream_token_ttl;
}

struct reload_ctx {
	struct crib_daemon *d;
	struct crib_config *cfg;
	crib_reload_cb done;
	void *user;
};

static void on_reloaded(struct crib_router *rt, void *user)
{
	struct reload_ctx *rc = user;
	struct crib_daemon *d = rc->d;
	size_t active = 0;
	struct crib_list *n;

	crib_list_foreach (n, &rt->classes) {
		if (container_of(n, struct crib_rclass, link)->active)
			active++;
	}
	crib_config_free(d->cfg);
	d->cfg = rc->cfg;
	crib_log_setup(d->cfg->log_level, d->cfg->log_format);
	log_notice("Configuration reloaded: %zu runtime class(es), default '%s'", active,
	           d->cfg->default_runtime_class);
	if (rc->done)
		rc->done(d, rc->user, NULL);
	free(rc);
}

static void reload_failed(struct crib_daemon *d, crib_reload_cb done, void *user,
                          struct crib_error *err)
{
	log_err("Failed to reload the configuration, keeping the running one: %s",
	        crib_error_msg(err));
	if (done)
		done(d, user, err);
	crib_error_free(err);
}

void crib_daemon_reload(struct crib_daemon *d, crib_reload_cb done, void *user)
{
	struct crib_config *cfg = NULL;
	struct crib_error *err = NULL;
	struct reload_ctx *rc;
	int r;

	if (d->stopping || !d->serving) {
		(void)crib_error_set(&err, EAGAIN, "cribd is %s",
		                     d->stopping ? "shutting down" : "still starting");
		reload_failed(d, done, user, err);
		return;
	}
	if (crib_config_load(d->config_path, &cfg, &err) < 0) {
		reload_failed(d, done, user, err);
		return;
	}
	keep_restart_keys(cfg, d->cfg);
	rc = crib_xcalloc(1, sizeof(*rc));
	*rc = (struct reload_ctx){.d = d, .cfg = cfg, .done = done, .user = user};
	r = crib_router_reload(d->router, d->loop, cfg, NULL, 0, on_reloaded, rc);
	if (r < 0) {
		crib_config_free(cfg);
		free(rc);
		(void)crib_error_set(&err, -r, "%s",
		                     r == -EBUSY ? "a reload is already running; try again later"
		                                 : uv_strerror(r));
		reload_failed(d, done, user, err);
	}
}

/* Shutdown: stop taking calls, let those in flight finish, wait for backend ops, fini. */

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void free_images(struct crib_daemon *d)
{
	struct crib_image *img, *tmp;

	HASH_ITER (hh, d->images.by_id, img, tmp)
		crib_images_remove(&d->images, img);
	crib_content_close(d->content);
	d->content = NULL;
}

static void walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	close_handle(h);
}

static void on_router_freed(uv_work_t *w, int status)
{
	struct crib_daemon *d = w->data;

	(void)status;
	free(w);
	d->router = NULL;
	d->store = crib_store_close(d->store);
	free_images(d);
	crib_mailbox_close(&d->mailbox);
	close_handle((uv_handle_t *)&d->sig_hup);
	close_handle((uv_handle_t *)&d->sig_term);
	close_handle((uv_handle_t *)&d->sig_int);
	close_handle((uv_handle_t *)&d->health_timer);
	close_handle((uv_handle_t *)&d->stop_timer);
	log_notice("cribd stopped; containers keep running");
}

static void free_router_work(uv_work_t *w)
{
	struct crib_daemon *d = w->data;

	/* fini() and class_close() may block: a worker runs them, as the ABI promises. */
	crib_router_free(d->router);
}

static void finish_stop(struct crib_daemon *d)
{
	uv_work_t *w = crib_xcalloc(1, sizeof(*w));

	(void)uv_timer_stop(&d->stop_timer);
	d->router->closing = true;
	crib_registry_clear(&d->reg);
	w->data = d;
	if (uv_queue_work(d->loop, w, free_router_work, on_router_freed) < 0) {
		free_router_work(w);
		on_router_freed(w, 0);
	}
}

static void on_stop_poll(uv_timer_t *t)
{
	struct crib_daemon *d = container_of(t, struct crib_daemon, stop_timer);
	int64_t waited = (crib_mono_ns() - d->stop_began) / 1000000;

	/* Image pulls and collections on the workers use the content store free_images() frees. */
	if (crib_op_in_flight() == 0 && !d->router->reloading && d->stream_sessions == 0 &&
	    d->admin_threads == 0 && d->pulls_in_flight == 0 && !d->gc_running) {
		finish_stop(d);
		return;
	}
	if (waited > STOP_DEADLINE_MS) {
		log_err("Leaving %u backend operation(s) unfinished after %d s; the store records "
		        "them and the next cribd cleans up",
		        crib_op_in_flight(), STOP_DEADLINE_MS / 1000);
		crib_mailbox_close(&d->mailbox);
		uv_stop(d->loop);
		return;
	}
	(void)uv_timer_start(&d->stop_timer, on_stop_poll, STOP_POLL_MS, 0);
}

static void on_server_off(void *user)
{
	struct crib_daemon *d = user;

	d->rpc = NULL;
	d->serving = false;
	d->stop_began = crib_mono_ns();
	on_stop_poll(&d->stop_timer);
}

static void on_stop_grace(uv_timer_t *t)
{
	struct crib_daemon *d = container_of(t, struct crib_daemon, stop_timer);

	if (d->rpc) {
		log_warning("Cancelling %u call(s) still in flight",
		            crib_rpc_server_live_calls(d->rpc));
		crib_rpc_server_cancel_all(d->rpc);
	}
}

static void begin_stop(struct crib_daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("Stopping on %s", why);
	(void)uv_timer_stop(&d->health_timer);
	crib_events_close_all(d);
	crib_stream_server_stop(d->streams);
	d->streams = NULL;
	crib_admin_stop(d->admin);
	d->admin = NULL;
	if (d->rpc) {
		crib_rpc_server_shutdown(d->rpc, false, on_server_off, d);
		(void)uv_timer_start(&d->stop_timer, on_stop_grace, STOP_GRACE_MS, 0);
	} else {
		on_server_off(d);
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct crib_daemon *d = h->data;

	if (signum == SIGHUP)
		crib_daemon_reload(d, NULL, NULL);
	else
		begin_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* Set-up. */

static int take_lock(struct crib_daemon *d, struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/cribd.lock", d->cfg->run_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return crib_error_set(reterr, errno, "Failed to open '%s': %s", path,
		                      strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		(void)close(fd);
		if (e == EWOULDBLOCK)
			return crib_error_set(reterr, EBUSY,
			                      "Another cribd already uses run_dir '%s' (it holds "
			                      "'%s')",
			                      d->cfg->run_dir, path);
		return crib_error_set(reterr, e, "Failed to lock '%s': %s", path, strerror(e));
	}
	d->lock_fd = fd;
	return 0;
}

static int make_dirs(const struct crib_config *cfg, struct crib_error **reterr)
{
	int r = crib_mkdir_p(cfg->state_dir, 0700);

	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to create state_dir '%s': %s",
		                      cfg->state_dir, strerror(-r));
	r = crib_mkdir_p(cfg->run_dir, 0755);
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to create run_dir '%s': %s", cfg->run_dir,
		                      strerror(-r));
	return 0;
}

static int resolve_cgroup_driver(int configured)
{
	struct stat st;

	if (configured != CRIB_CGROUP_AUTO)
		return configured;
	/* systemd owns the cgroup tree when it runs as init; kubelet must then use it too. */
	return stat("/run/systemd/system", &st) == 0 ? CRIB_CGROUP_SYSTEMD : CRIB_CGROUP_CGROUPFS;
}

static int start_signals(struct crib_daemon *d)
{
	uv_signal_t *sigs[] = {&d->sig_hup, &d->sig_term, &d->sig_int};
	int nums[] = {SIGHUP, SIGTERM, SIGINT};

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		int r = uv_signal_init(d->loop, sigs[i]);

		if (r < 0)
			return r;
		sigs[i]->data = d;
		r = uv_signal_start(sigs[i], on_signal, nums[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_image(const char *record, void *user)
{
	struct crib_daemon *d = user;
	struct crib_image *img = NULL, *orphan = NULL;
	struct crib_error *err = NULL;

	if (crib_image_from_json(record, &img, &err) < 0) {
		log_err("%s, skipping", crib_error_msg(err));
		crib_error_free(err);
		return 0;
	}
	(void)crib_images_add(&d->images, img, &orphan);
	return 0;
}

static int open_images(struct crib_daemon *d, struct crib_error **reterr)
{
	_cleanup_free_ char *root = crib_xasprintf("%s/images", d->cfg->state_dir);
	int r = crib_content_open(root, &d->content, reterr);

	if (r < 0)
		return r;
	return crib_store_load_images(d->store, load_image, d, reterr);
}

static int setup(struct crib_daemon *d, struct crib_error **reterr)
{
	struct load_ctx *lc;
	int r;

	r = make_dirs(d->cfg, reterr);
	if (r < 0)
		return r;
	r = take_lock(d, reterr);
	if (r < 0)
		return r;
	r = crib_store_open(d->cfg->state_dir, &d->store, reterr);
	if (r < 0)
		return r;
	r = crib_store_get_meta(d->store, "pod_cidr", &d->pod_cidr, reterr);
	if (r < 0)
		return r;
	r = open_images(d, reterr);
	if (r < 0)
		return r;
	d->cgroup_driver = resolve_cgroup_driver(d->cfg->cgroup_driver);

	r = crib_mailbox_init(&d->mailbox, d->loop, dispatch, d);
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to set up the loop: %s", uv_strerror(r));
	(void)uv_timer_init(d->loop, &d->health_timer);
	(void)uv_timer_init(d->loop, &d->stop_timer);
	r = start_signals(d);
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to handle signals: %s", uv_strerror(r));
	d->router = crib_router_new(d->loop, d->cfg->plugin_dir, d->cfg->state_dir, d->cfg->run_dir,
	                            &d->mailbox);
	d->metrics = crib_metrics_new(CRIB_M_COUNT);
	/* Before the slow start-up steps, so that admins can watch /readyz turn ready. */
	r = crib_admin_start(d, &d->admin, reterr);
	if (r < 0)
		return r;

	/* The classes pods in the store were made with come back too, retired if need be. */
	lc = crib_xcalloc(1, sizeof(*lc));
	lc->d = d;
	r = crib_store_load(d->store, collect_snapshot, skip_container, lc, reterr);
	if (r >= 0) {
		r = crib_router_reload(d->router, d->loop, d->cfg, lc->snapshots, lc->n_snapshots,
		                       on_startup_router_ready, lc);
		if (r < 0)
			(void)crib_error_set(reterr, -r, "Failed to load the runtime classes: %s",
			                     uv_strerror(r));
	}
	if (r < 0) {
		for (size_t i = 0; i < lc->n_snapshots; i++)
			free(lc->snapshots[i]);
		free(lc->snapshots);
		free(lc);
		return r;
	}
	return 0;
}

static void set_threadpool_size(unsigned workers)
{
	char buf[16];

	/* libuv reads this once, when the first work request is queued. */
	if (getenv("UV_THREADPOOL_SIZE"))
		return;
	(void)snprintf(buf, sizeof(buf), "%u", workers);
	(void)setenv("UV_THREADPOOL_SIZE", buf, 1);
}

int crib_daemon_main(const char *config_path)
{
	struct crib_daemon d = {.lock_fd = -1};
	struct crib_error *err = NULL;
	uv_loop_t loop;
	int r;

	r = crib_config_load(config_path, &d.cfg, &err);
	if (r < 0) {
		crib_log(CRIB_LOG_ERR, LOG_CAT, "%s", crib_error_msg(err));
		crib_error_free(err);
		return 1;
	}
	crib_log_setup(d.cfg->log_level, d.cfg->log_format);
	set_threadpool_size(d.cfg->workers);
	/* Before any thread exists, as libcurl asks. */
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
	(void)signal(SIGPIPE, SIG_IGN);

	r = uv_loop_init(&loop);
	if (r < 0) {
		crib_log(CRIB_LOG_ERR, LOG_CAT, "Failed to start the loop: %s", uv_strerror(r));
		crib_config_free(d.cfg);
		return 1;
	}
	d.loop = &loop;
	d.config_path = crib_xstrdup(config_path);
	d.started_at = crib_now_ns();
	crib_list_init(&d.subscribers);
	crib_list_init(&d.pulls_waiting);

	r = setup(&d, &err);
	if (r < 0) {
		/* Nothing was loaded or served yet: no backend op can be in flight. */
		crib_log(CRIB_LOG_ERR, LOG_CAT, "%s", crib_error_msg(err));
		crib_error_free(err);
		d.exit_code = 1;
		crib_admin_stop(d.admin);
		d.admin = NULL;
		d.router = crib_router_free(d.router);
		d.store = crib_store_close(d.store);
		free_images(&d);
	} else {
		(void)uv_run(&loop, UV_RUN_DEFAULT);
	}

	/* Handles left open by a stop that gave up waiting are closed here. */
	uv_walk(&loop, walk_close, NULL);
	(void)uv_run(&loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&loop);
	if (d.lock_fd >= 0)
		(void)close(d.lock_fd);
	crib_config_free(d.cfg);
	free(d.config_path);
	free(d.pod_cidr);
	crib_metrics_free(d.metrics);
	curl_global_cleanup();
	return d.exit_code;
}
