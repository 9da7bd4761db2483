/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "error.h"
#include "netns.h"
#include "metrics.h"
#include "op.h"

/* Loop-thread only, like every start and completion. */
static unsigned in_flight;

unsigned crib_op_in_flight(void)
{
	return in_flight;
}

struct crib_op *crib_op_new(enum crib_op_kind kind, struct crib_backend *b, crib_op_cb done,
                            void *data)
{
	struct crib_op *op = crib_xcalloc(1, sizeof(*op));

	op->msg.kind = CRIB_MSG_OP_DONE;
	op->kind = kind;
	op->backend = b;
	op->done = done;
	op->data = data;
	/* A descriptor result nobody set must not read as stdin. */
	if (kind == CRIB_OP_STREAM_OPEN)
		op->out.stream = (struct crib_stream_result){
		    .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .done_fd = -1};
	if (kind == CRIB_OP_NET_CONNECT || kind == CRIB_OP_PORT_CONNECT)
		op->out.fd = -1;
	return op;
}

void crib_op_set_pod(struct crib_op *op, const char *pod_id, const struct crib_class *cls,
                     const void *priv, size_t priv_len)
{
	(void)snprintf(op->pod_id, sizeof(op->pod_id), "%s", pod_id);
	free(op->pod_priv);
	op->pod_priv = crib_xmemdup(priv, priv_len);
	op->pod = (struct crib_pod_ref){
	    .id = op->pod_id,
	    .cls = cls,
	    .priv = op->pod_priv,
	    .priv_len = op->pod_priv ? priv_len : 0,
	};
	op->ctr.pod = op->pod;
}

void crib_op_set_container(struct crib_op *op, const char *id, const void *priv, size_t priv_len)
{
	(void)snprintf(op->id, sizeof(op->id), "%s", id);
	free(op->priv);
	op->priv = crib_xmemdup(priv, priv_len);
	op->ctr = (struct crib_container_ref){
	    .id = op->id,
	    .pod = op->pod,
	    .priv = op->priv,
	    .priv_len = op->priv ? priv_len : 0,
	};
}

/* Runs on a worker thread: cribd's own network step for a pod. */
static int call_network(struct crib_op *op)
{
	struct crib_cni_conf *conf = NULL;
	int r;

	switch (op->kind) {
	case CRIB_OP_NET_SETUP:
		return crib_cni_pod_setup(&op->net, &op->out.net.ips, &op->out.net.n_ips, &op->err);
	case CRIB_OP_NET_TEARDOWN:
		return crib_cni_pod_teardown(&op->net, &op->err);
	case CRIB_OP_NET_CHECK:
		return crib_cni_pod_check(&op->net, &op->out.net.checked, &op->err);
	case CRIB_OP_NET_CONNECT:
		return crib_netns_connect(op->netns, op->port, &op->out.fd, &op->err);
	case CRIB_OP_NET_PROBE:
		r = crib_cni_conf_load(op->net.conf_dir, &conf, &op->err);
		crib_cni_conf_free(conf);
		return r;
	default:
		return -ENOSYS;
	}
}

static bool is_network(enum crib_op_kind kind)
{
	return kind == CRIB_OP_NET_SETUP || kind == CRIB_OP_NET_TEARDOWN ||
	       kind == CRIB_OP_NET_CHECK || kind == CRIB_OP_NET_PROBE ||
	       kind == CRIB_OP_NET_CONNECT;
}

/* Runs on a worker thread: the closed set of ops, dispatched by kind. */
static int call_backend(struct crib_op *op)
{
	const struct crib_backend_ops *o = op->backend->ops;
	void *st = op->backend->state;
	struct crib_error **e = &op->err;

	switch (op->kind) {
	case CRIB_OP_INIT:
		return o->init(&op->backend->host, &op->out.state, e);
	case CRIB_OP_FINI:
		o->fini(st);
		return 0;
	case CRIB_OP_CLASS_OPEN:
		return o->class_open(st, op->cls, &op->out.class_open.features,
		                     &op->out.class_open.data, e);
	case CRIB_OP_CLASS_CLOSE:
		o->class_close(st, op->cls);
		return 0;
	case CRIB_OP_HEALTH:
		return o->health(st, &op->out.health, e);
	case CRIB_OP_RECONCILE:
		return o->reconcile(st, op, op->in.reconcile.items, op->in.reconcile.n, e);
	case CRIB_OP_POD_RUN:
		return o->pod_run(st, op, &op->in.pod_spec, &op->out.pod, e);
	case CRIB_OP_POD_STOP:
		return o->pod_stop(st, op, &op->pod, e);
	case CRIB_OP_POD_REMOVE:
		return o->pod_remove(st, op, &op->pod, e);
	case CRIB_OP_POD_STATUS:
		return o->pod_status(st, op, &op->pod, &op->out.pod_status, e);
	case CRIB_OP_POD_STATS:
		return o->pod_stats(st, op, &op->pod, &op->out.usage, e);
	case CRIB_OP_POD_UPDATE:
		return o->pod_update(st, op, &op->pod, op->req, op->req_len, e);
	case CRIB_OP_CONTAINER_CREATE:
		return o->container_create(st, op, &op->in.ctr_spec, &op->out.ctr, e);
	case CRIB_OP_CONTAINER_START:
		return o->container_start(st, op, &op->ctr, e);
	case CRIB_OP_CONTAINER_STOP:
		return o->container_stop(st, op, &op->ctr, op->timeout_s, e);
	case CRIB_OP_CONTAINER_REMOVE:
		return o->container_remove(st, op, &op->ctr, e);
	case CRIB_OP_CONTAINER_STATUS:
		return o->container_status(st, op, &op->ctr, &op->out.ctr_status, e);
	case CRIB_OP_CONTAINER_STATS:
		return o->container_stats(st, op, &op->ctr, &op->out.usage, e);
	case CRIB_OP_CONTAINER_REOPEN_LOG:
		return o->container_reopen_log(st, op, &op->ctr, e);
	case CRIB_OP_CONTAINER_UPDATE:
		return o->container_update(st, op, &op->ctr, op->req, op->req_len, e);
	case CRIB_OP_EXEC_SYNC:
		return o->exec_sync(st, op, &op->in.exec, &op->out.exec, e);
	case CRIB_OP_IMAGE_PULL:
		return o->image_pull(st, op, &op->in.image_pull, &op->out.image_ref, e);
	case CRIB_OP_IMAGE_STATUS:
		return o->image_status(st, op, op->cls, op->image, op->verbose, &op->out.image, e);
	case CRIB_OP_IMAGE_LIST:
		return o->image_list(st, op, op->cls, &op->out.images, e);
	case CRIB_OP_IMAGE_REMOVE:
		return o->image_remove(st, op, op->cls, op->image, e);
	case CRIB_OP_IMAGE_FS_INFO:
		return o->image_fs_info(st, op, op->cls, &op->out.fs, e);
	case CRIB_OP_STREAM_OPEN:
		return o->stream_open(st, op, &op->in.stream, &op->out.stream, e);
	case CRIB_OP_STREAM_RESIZE:
		return o->stream_resize(st, op->stream, op->width, op->height, e);
	case CRIB_OP_STREAM_FINISH:
		return o->stream_finish(st, op->stream, &op->out.exit_code, e);
	case CRIB_OP_STREAM_CLOSE:
		o->stream_close(st, op->stream);
		return 0;
	case CRIB_OP_PORT_CONNECT:
		return o->port_connect(st, op, &op->pod, op->port, &op->out.fd, e);
	default:
		return -ENOSYS;
	}
}

static bool may_be_async(enum crib_op_kind kind)
{
	/* Ops without a crib_op handle in their signature cannot finish later. */
	return kind != CRIB_OP_INIT && kind != CRIB_OP_FINI && kind != CRIB_OP_CLASS_OPEN &&
	       kind != CRIB_OP_CLASS_CLOSE && kind != CRIB_OP_HEALTH && !is_network(kind) &&
	       kind != CRIB_OP_STREAM_RESIZE && kind != CRIB_OP_STREAM_FINISH &&
	       kind != CRIB_OP_STREAM_CLOSE;
}

/* Background ops yield the CPU to every other thread of cribd's while they run. */
static void set_policy(bool background)
{
	struct sched_param sp = {0};

	(void)pthread_setschedparam(pthread_self(), background ? SCHED_IDLE : SCHED_OTHER, &sp);
}

static void on_work(uv_work_t *w)
{
	struct crib_op *op = container_of(w, struct crib_op, work);
	int r;

	if (op->background)
		set_policy(true);
	r = is_network(op->kind) ? call_network(op) : call_backend(op);
	if (op->background)
		set_policy(false);

	if (r == CRIB_ASYNC && may_be_async(op->kind)) {
		op->async = true;
		return;
	}
	if (r > 0)
		r = 0;
	if (r < 0 && !op->err && op->backend)
		(void)crib_error_set(&op->err, -r, "Backend '%s' failed without a message: %s",
		                     op->backend->name, strerror(-r));
	else if (r < 0 && !op->err)
		(void)crib_error_set(&op->err, -r, "The pod network step failed: %s", strerror(-r));
	if (r == 0)
		op->err = crib_error_free(op->err);
	op->r = r;
}

static const char *const kind_names[] = {
    [CRIB_OP_INIT] = "init",
    [CRIB_OP_FINI] = "fini",
    [CRIB_OP_CLASS_OPEN] = "class_open",
    [CRIB_OP_CLASS_CLOSE] = "class_close",
    [CRIB_OP_HEALTH] = "health",
    [CRIB_OP_RECONCILE] = "reconcile",
    [CRIB_OP_POD_RUN] = "pod_run",
    [CRIB_OP_POD_STOP] = "pod_stop",
    [CRIB_OP_POD_REMOVE] = "pod_remove",
    [CRIB_OP_POD_STATUS] = "pod_status",
    [CRIB_OP_POD_STATS] = "pod_stats",
    [CRIB_OP_POD_UPDATE] = "pod_update",
    [CRIB_OP_CONTAINER_CREATE] = "container_create",
    [CRIB_OP_CONTAINER_START] = "container_start",
    [CRIB_OP_CONTAINER_STOP] = "container_stop",
    [CRIB_OP_CONTAINER_REMOVE] = "container_remove",
    [CRIB_OP_CONTAINER_STATUS] = "container_status",
    [CRIB_OP_CONTAINER_STATS] = "container_stats",
    [CRIB_OP_CONTAINER_REOPEN_LOG] = "container_reopen_log",
    [CRIB_OP_CONTAINER_UPDATE] = "container_update",
    [CRIB_OP_EXEC_SYNC] = "exec_sync",
    [CRIB_OP_IMAGE_PULL] = "image_pull",
    [CRIB_OP_IMAGE_STATUS] = "image_status",
    [CRIB_OP_IMAGE_LIST] = "image_list",
    [CRIB_OP_IMAGE_REMOVE] = "image_remove",
    [CRIB_OP_IMAGE_FS_INFO] = "image_fs_info",
    [CRIB_OP_STREAM_OPEN] = "stream_open",
    [CRIB_OP_STREAM_RESIZE] = "stream_resize",
    [CRIB_OP_STREAM_FINISH] = "stream_finish",
    [CRIB_OP_STREAM_CLOSE] = "stream_close",
    [CRIB_OP_PORT_CONNECT] = "port_connect",
    [CRIB_OP_NET_SETUP] = "net_setup",
    [CRIB_OP_NET_TEARDOWN] = "net_teardown",
    [CRIB_OP_NET_CHECK] = "net_check",
    [CRIB_OP_NET_PROBE] = "net_probe",
    [CRIB_OP_NET_CONNECT] = "net_connect",
};
_Static_assert(ARRAY_SIZE(kind_names) == CRIB_OP_NET_CONNECT + 1, "every op kind has a name");
_Static_assert(ARRAY_SIZE(kind_names) <= CRIB_METRICS_OP_KINDS, "metrics count every op kind");

const char *const *crib_op_kind_names(unsigned *ret_n)
{
	*ret_n = ARRAY_SIZE(kind_names);
	return kind_names;
}

static void complete(struct crib_op *op)
{
	in_flight--;
	op->elapsed_ns = crib_mono_ns() - op->started_ns;
	if (op->backend)
		crib_metrics_op(&op->backend->op_metrics, op->kind, op->r, op->elapsed_ns);
	op->done(op);
}

static void on_after_work(uv_work_t *w, int status)
{
	struct crib_op *op = container_of(w, struct crib_op, work);

	op->worker_returned = true;
	if (status < 0) { /* uv_cancel; we never cancel, but stay correct */
		op->r = -ECANCELED;
		complete(op);
		return;
	}
	if (op->async && !op->async_done)
		return; /* host->op_done() will finish it */
	if (op->async) {
		op->r = op->async_r;
		op->err = op->async_err;
		op->async_err = NULL;
	}
	complete(op);
}

void crib_op_async_arrived(struct crib_op *op)
{
	op->async_done = true;
	if (!op->worker_returned)
		return; /* on_after_work will finish it */
	op->r = op->async_r;
	op->err = op->async_err;
	op->async_err = NULL;
	complete(op);
}

void crib_op_finish_async(struct crib_op *op, int r, struct crib_error *err)
{
	if (r > 0)
		r = 0;
	if (r < 0 && !err)
		(void)crib_error_set(&err, -r, "Backend '%s' failed without a message: %s",
		                     op->backend->name, strerror(-r));
	if (r == 0)
		err = crib_error_free(err);
	op->async_r = r;
	op->async_err = err;
	crib_mailbox_post(op->backend->mailbox, &op->msg);
}

int crib_op_start(uv_loop_t *loop, struct crib_op *op)
{
	int r;

	op->started_ns = crib_mono_ns();
	r = uv_queue_work(loop, &op->work, on_work, on_after_work);
	if (r == 0)
		in_flight++;
	return r;
}

void crib_container_status_clear(struct crib_container_status *s)
{
	free(s->reason);
	free(s->message);
	free(s->info);
	memset(s, 0, sizeof(*s));
}

void crib_pod_status_clear(struct crib_pod_status *s)
{
	free(s->ip);
	free(s->info);
	memset(s, 0, sizeof(*s));
}

void crib_image_info_clear(struct crib_image_info *i)
{
	free(i->id);
	crib_strv_free(i->repo_tags, i->n_repo_tags);
	crib_strv_free(i->repo_digests, i->n_repo_digests);
	free(i->username);
	free(i->info);
	memset(i, 0, sizeof(*i));
}

void crib_image_list_clear(struct crib_image_list *l)
{
	for (size_t i = 0; l->images && i < l->n_images; i++)
		crib_image_info_clear(&l->images[i]);
	free(l->images);
	memset(l, 0, sizeof(*l));
}

static void free_results(struct crib_op *op)
{
	switch (op->kind) {
	case CRIB_OP_POD_RUN:
		free(op->out.pod.priv.data);
		free(op->out.pod.ip);
		free(op->out.pod.netns_path);
		break;
	case CRIB_OP_CONTAINER_CREATE:
		free(op->out.ctr.priv.data);
		break;
	case CRIB_OP_POD_STATUS:
		crib_pod_status_clear(&op->out.pod_status);
		break;
	case CRIB_OP_CONTAINER_STATUS:
		crib_container_status_clear(&op->out.ctr_status);
		break;
	case CRIB_OP_POD_STATS:
	case CRIB_OP_CONTAINER_STATS:
		free(op->out.usage.fs_mountpoint);
		free(op->out.usage.interface);
		break;
	case CRIB_OP_STREAM_OPEN:
		closep(&op->out.stream.stdin_fd);
		closep(&op->out.stream.stdout_fd);
		closep(&op->out.stream.stderr_fd);
		closep(&op->out.stream.done_fd);
		break;
	case CRIB_OP_NET_CONNECT:
	case CRIB_OP_PORT_CONNECT:
		closep(&op->out.fd);
		break;
	case CRIB_OP_EXEC_SYNC:
		free(op->out.exec.out.data);
		free(op->out.exec.err.data);
		break;
	case CRIB_OP_HEALTH:
		free(op->out.health.message);
		free(op->out.health.info);
		break;
	case CRIB_OP_IMAGE_PULL:
		free(op->out.image_ref);
		break;
	case CRIB_OP_IMAGE_STATUS:
		crib_image_info_clear(&op->out.image);
		break;
	case CRIB_OP_IMAGE_LIST:
		crib_image_list_clear(&op->out.images);
		break;
	case CRIB_OP_IMAGE_FS_INFO:
		free(op->out.fs.mountpoint);
		break;
	case CRIB_OP_NET_SETUP:
		crib_strv_free(op->out.net.ips, op->out.net.n_ips);
		break;
	default:
		break;
	}
}

struct crib_op *crib_op_free(struct crib_op *op)
{
	if (!op)
		return NULL;
	free_results(op);
	crib_error_free(op->err);
	crib_error_free(op->async_err);
	free(op->pod_priv);
	free(op->priv);
	free(op->req);
	free(op->image_config);
	crib_strv_free(op->image_layers, op->n_image_layers);
	free(op->image);
	for (size_t i = 0; i < ARRAY_SIZE(op->auth); i++)
		free(op->auth[i]);
	crib_strv_free(op->sources, op->n_sources);
	crib_cni_args_clear(&op->net);
	free(op->netns);
	free(op);
	return NULL;
}
