/* SPDX-License-Identifier: Apache-2.0 */
/* State changes a container goes through, whoever reports them, and the lifecycle sequences. */
#include "backend.h"
#include "config.h"
#include "cri.h"
#include "daemon.h"
#include "error.h"
#include "op.h"
#include "registry.h"
#include "router.h"

void crib_apply_container_exit(struct crib_daemon *d, struct crib_container *c, int32_t exit_code,
                               int64_t at, const char *reason, const char *message)
{
	if (c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED)
		return; /* the first report of an exit wins */
	c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED;
	c->exit_code = exit_code;
	c->finished_at = at > 0 ? at : crib_now_ns();
	/*
	 * cribd stamps the start when StartContainer returns; a process that
	 * exits at once may have ended, by its runtime's clock, before that.
	 * kubelet gets the start for both rather than a negative run time.
	 */
	if (c->started_at && c->finished_at < c->started_at)
		c->finished_at = c->started_at;
	if (isempty(reason))
		reason = exit_code == 0 ? "Completed" : "Error";
	crib_strreplace(&c->reason, reason);
	crib_strreplace(&c->message, message);
	(void)crib_daemon_save_container(d, c, NULL);
	if (c->listed)
		crib_events_publish(d, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT,
		                    c);
}

void crib_apply_container_status(struct crib_daemon *d, struct crib_container *c,
                                 const struct crib_container_status *s)
{
	bool changed = false;

	if (s->started_at && !c->started_at) {
		c->started_at = s->started_at;
		changed = true;
	}
	switch (s->state) {
	case CRIB_CONTAINER_EXITED:
		crib_apply_container_exit(d, c, s->exit_code, s->finished_at, s->reason,
		                          s->message);
		return;
	case CRIB_CONTAINER_RUNNING:
		if (c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED ||
		    c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN) {
			c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
			if (!c->started_at)
				c->started_at = crib_now_ns();
			changed = true;
		}
		break;
	case CRIB_CONTAINER_UNKNOWN:
		if (c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN &&
		    c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED) {
			c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN;
			crib_strreplace(&c->reason, s->reason ? s->reason : "Unknown");
			crib_strreplace(&c->message, s->message);
			changed = true;
		}
		break;
	default:
		break;
	}
	if (changed)
		(void)crib_daemon_save_container(d, c, NULL);
}

/* Sequences of backend ops; each step's completion starts the next. */

enum lc_kind {
	LC_STOP_CONTAINER,
	LC_REMOVE_CONTAINER,
	LC_STOP_POD,
	LC_REMOVE_POD,
};

struct lc_job {
	struct crib_daemon *d;
	enum lc_kind kind;
	struct crib_pod *pod;       /* reference */
	struct crib_container *ctr; /* reference, for container jobs */
	int64_t timeout_s;
	/* Pod jobs: a snapshot of the containers to work through (references). */
	struct crib_container **ctrs;
	size_t n_ctrs;
	size_t next;
	void (*after_net)(struct lc_job *j); /* what follows the network's teardown */
	crib_lc_cb cb;
	void *ctx;
};

static struct lc_job *lc_new(struct crib_daemon *d, enum lc_kind kind, struct crib_pod *p,
                             crib_lc_cb cb, void *ctx)
{
	struct lc_job *j = crib_xcalloc(1, sizeof(*j));

	j->d = d;
	j->kind = kind;
	j->pod = crib_pod_ref(p);
	j->cb = cb;
	j->ctx = ctx;
	return j;
}

static void lc_finish(struct lc_job *j, const struct crib_error *err)
{
	j->cb(j->d, j->ctx, err);
	for (size_t i = 0; i < j->n_ctrs; i++)
		crib_container_unref(j->ctrs[i]);
	free(j->ctrs);
	crib_container_unref(j->ctr);
	crib_pod_unref(j->pod);
	free(j);
}

static struct crib_op *lc_op(struct lc_job *j, enum crib_op_kind kind, crib_op_cb done)
{
	struct crib_pod *p = j->pod;
	struct crib_op *op = crib_op_new(kind, p->cls->backend, done, j);

	crib_op_set_pod(op, p->id, &p->cls->pub, p->priv, p->priv_len);
	if (j->ctr)
		crib_op_set_container(op, j->ctr->id, j->ctr->priv, j->ctr->priv_len);
	return op;
}

static void lc_start(struct lc_job *j, struct crib_op *op)
{
	int r = crib_daemon_op_start(j->d, op);

	if (r < 0) {
		struct crib_error *err = NULL;

		(void)crib_error_set(&err, -r, "Failed to queue a backend operation: %s",
		                     uv_strerror(r));
		crib_op_free(op);
		lc_finish(j, err);
		crib_error_free(err);
	}
}

static void snapshot_containers(struct lc_job *j, bool running_only)
{
	struct crib_list *n;
	size_t count = 0;

	crib_list_foreach (n, &j->pod->containers)
		count++;
	j->ctrs = crib_xcalloc(count ? count : 1, sizeof(*j->ctrs));
	crib_list_foreach (n, &j->pod->containers) {
		struct crib_container *c = container_of(n, struct crib_container, pod_link);

		if (running_only && c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING &&
		    c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN)
			continue;
		j->ctrs[j->n_ctrs++] = crib_container_ref(c);
	}
}

/* Stopping one container. */

static void stop_status_done(struct crib_op *op)
{
	struct lc_job *j = op->data;
	struct crib_container *c = j->ctr;

	if (op->r < 0) {
		/* The process is gone (the stop op said so) but its exit status is not known. */
		crib_apply_container_exit(j->d, c, -1, 0, "Unknown", crib_error_msg(op->err));
	} else if (op->out.ctr_status.state == CRIB_CONTAINER_EXITED) {
		crib_apply_container_status(j->d, c, &op->out.ctr_status);
	} else {
		struct crib_error *err = NULL;

		(void)crib_error_set(&err, EIO,
		                     "Backend '%s' reports container '%s' still present after it "
		                     "stopped it",
		                     op->backend->name, c->id);
		crib_op_free(op);
		lc_finish(j, err);
		crib_error_free(err);
		return;
	}
	crib_op_free(op);
	lc_finish(j, NULL);
}

static void stop_done(struct crib_op *op)
{
	struct lc_job *j = op->data;

	if (op->r < 0) {
		lc_finish(j, op->err);
		crib_op_free(op);
		return;
	}
	crib_op_free(op);
	lc_start(j, lc_op(j, CRIB_OP_CONTAINER_STATUS, stop_status_done));
}

void crib_lc_stop_container(struct crib_daemon *d, struct crib_container *c, int64_t timeout_s,
                            crib_lc_cb cb, void *ctx)
{
	struct lc_job *j = lc_new(d, LC_STOP_CONTAINER, c->pod, cb, ctx);
	struct crib_op *op;

	j->ctr = crib_container_ref(c);
	op = lc_op(j, CRIB_OP_CONTAINER_STOP, stop_done);
	op->timeout_s = timeout_s > 0 ? timeout_s : 0;
	lc_start(j, op);
}

/* Removing one container. */

static void remove_done(struct crib_op *op)
{
	struct lc_job *j = op->data;
	struct crib_container *c = j->ctr;

	if (op->r < 0) {
		c->phase = CRIB_PHASE_LIVE;
		(void)crib_daemon_save_container(j->d, c, NULL);
		lc_finish(j, op->err);
		crib_op_free(op);
		return;
	}
	crib_op_free(op);
	crib_daemon_forget_container(j->d, c);
	crib_images_release_snapshot(j->d, c->id);
	crib_events_publish(j->d, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_DELETED_EVENT, c);
	lc_finish(j, NULL);
}

void crib_lc_remove_container(struct crib_daemon *d, struct crib_container *c, crib_lc_cb cb,
                              void *ctx)
{
	struct lc_job *j = lc_new(d, LC_REMOVE_CONTAINER, c->pod, cb, ctx);
	struct crib_error *err = NULL;

	j->ctr = crib_container_ref(c);
	c->phase = CRIB_PHASE_REMOVING;
	if (crib_daemon_save_container(d, c, &err) < 0) {
		c->phase = CRIB_PHASE_LIVE;
		lc_finish(j, err);
		crib_error_free(err);
		return;
	}
	lc_start(j, lc_op(j, CRIB_OP_CONTAINER_REMOVE, remove_done));
}

/* Pod networking. */

char *crib_pod_netns_path(const struct crib_daemon *d, const char *pod_id)
{
	return crib_xasprintf("%s/netns/%s", d->cfg->run_dir, pod_id);
}

struct crib_op *crib_net_op_new(struct crib_daemon *d, struct crib_pod *p, enum crib_op_kind kind,
                                crib_op_cb done, void *data)
{
	_cleanup_free_ char *mine = crib_pod_netns_path(d, p->id);
	struct crib_op *op = crib_op_new(kind, NULL, done, data);

	crib_op_set_pod(op, p->id, &p->cls->pub, NULL, 0);
	/* cribd removes only what it made, whatever the backend's capabilities are by now. */
	crib_cni_args_init(&op->net, d->cfg, p->id, p->config, p->netns, streq(p->netns, mine));
	return op;
}

void crib_pod_set_ips(struct crib_pod *p, char *const *ips, size_t n)
{
	char *others = NULL;

	for (size_t i = 1; i < n; i++) {
		char *joined =
		    crib_xasprintf("%s%s%s", others ? others : "", others ? "," : "", ips[i]);

		free(others);
		others = joined;
	}
	crib_strreplace(&p->ip, n ? ips[0] : NULL);
	free(p->additional_ips);
	p->additional_ips = others;
}

static void net_down_done(struct crib_op *op)
{
	struct lc_job *j = op->data;
	struct crib_pod *p = j->pod;

	if (op->r < 0) {
		lc_finish(j, op->err);
		crib_op_free(op);
		return;
	}
	crib_op_free(op);
	crib_strreplace(&p->netns, NULL);
	crib_pod_set_ips(p, NULL, 0);
	(void)crib_daemon_save_pod(j->d, p, NULL);
	j->after_net(j);
}

/* CNI DEL and the namespace's removal, when the pod has a network; then NEXT. */
static void net_down(struct lc_job *j, void (*next)(struct lc_job *j))
{
	if (!j->pod->netns) {
		next(j);
		return;
	}
	j->after_net = next;
	lc_start(j, crib_net_op_new(j->d, j->pod, CRIB_OP_NET_TEARDOWN, net_down_done, j));
}

/*
 * A namespace cribd did not make is the backend's, which takes it along
 * with the sandbox (docker's sandbox container): its DEL must come first.
 * cribd's own namespace outlives the sandbox, so DEL comes after it, once
 * nothing in the pod uses the network any more (as containerd orders it).
 */
static bool net_down_first(const struct lc_job *j)
{
	_cleanup_free_ char *mine = crib_pod_netns_path(j->d, j->pod->id);

	return j->pod->netns && !streq(j->pod->netns, mine);
}

/* Pods: work through the snapshot one container at a time, then the sandbox. */

static void pod_next(struct lc_job *j);

static void pod_step_done(struct crib_daemon *d, void *ctx, const struct crib_error *err)
{
	struct lc_job *j = ctx;

	(void)d;
	if (err) {
		lc_finish(j, err);
		return;
	}
	pod_next(j);
}

static void lc_succeed(struct lc_job *j)
{
	lc_finish(j, NULL);
}

static void pod_stop_done(struct crib_op *op)
{
	struct lc_job *j = op->data;

	if (op->r < 0) {
		lc_finish(j, op->err);
		crib_op_free(op);
		return;
	}
	crib_op_free(op);
	j->pod->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
	/* A stopped pod has no IP (CRI), whoever gave it one. */
	crib_pod_set_ips(j->pod, NULL, 0);
	(void)crib_daemon_save_pod(j->d, j->pod, NULL);
	net_down(j, lc_succeed);
}

static void pod_forget(struct lc_job *j)
{
	crib_daemon_forget_pod(j->d, j->pod);
	lc_finish(j, NULL);
}

static void pod_remove_done(struct crib_op *op)
{
	struct lc_job *j = op->data;

	if (op->r < 0) {
		lc_finish(j, op->err);
		crib_op_free(op);
		return;
	}
	crib_op_free(op);
	/* Stop may have been skipped (a pod that died, or half-made): the network goes now. */
	net_down(j, pod_forget);
}

static void pod_backend_stop(struct lc_job *j)
{
	lc_start(j, lc_op(j, CRIB_OP_POD_STOP, pod_stop_done));
}

static void pod_backend_remove(struct lc_job *j)
{
	lc_start(j, lc_op(j, CRIB_OP_POD_REMOVE, pod_remove_done));
}

static void pod_after_stop(struct crib_daemon *d, void *ctx, const struct crib_error *err)
{
	struct lc_job *j = ctx;

	(void)d;
	if (err) {
		lc_finish(j, err);
		return;
	}
	snapshot_containers(j, false);
	pod_next(j);
}

static void pod_next(struct lc_job *j)
{
	if (j->next < j->n_ctrs) {
		struct crib_container *c = j->ctrs[j->next++];

		if (j->kind == LC_STOP_POD)
			crib_lc_stop_container(j->d, c, 0, pod_step_done, j);
		else
			crib_lc_remove_container(j->d, c, pod_step_done, j);
		return;
	}
	if (net_down_first(j))
		net_down(j, j->kind == LC_STOP_POD ? pod_backend_stop : pod_backend_remove);
	else if (j->kind == LC_STOP_POD)
		pod_backend_stop(j);
	else
		pod_backend_remove(j);
}

void crib_lc_stop_pod(struct crib_daemon *d, struct crib_pod *p, crib_lc_cb cb, void *ctx)
{
	struct lc_job *j = lc_new(d, LC_STOP_POD, p, cb, ctx);

	snapshot_containers(j, true);
	pod_next(j);
}

void crib_lc_remove_pod(struct crib_daemon *d, struct crib_pod *p, crib_lc_cb cb, void *ctx)
{
	struct lc_job *j = lc_new(d, LC_REMOVE_POD, p, cb, ctx);
	struct crib_error *err = NULL;
	int old_phase = p->phase;

	p->phase = CRIB_PHASE_REMOVING;
	if (crib_daemon_save_pod(d, p, &err) < 0) {
		p->phase = old_phase;
		lc_finish(j, err);
		crib_error_free(err);
		return;
	}
	/* Backends stop a sandbox before removing it; a half-made one was never ready. */
	if (p->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY)
		crib_lc_stop_pod(d, p, pod_after_stop, j);
	else
		pod_after_stop(d, j, NULL);
}
