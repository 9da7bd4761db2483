/* SPDX-License-Identifier: Apache-2.0 */
/* The container RPCs: lifecycle, status, lists, resources, log reopening, ExecSync. */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "backend.h"
#include "content.h"
#include "cri.h"
#include "daemon.h"
#include "error.h"
#include "filter.h"
#include "image_backend.h"
#include "log.h"
#include "op.h"
#include "pb.h"
#include "registry.h"
#include "router.h"
#include "rpc.h"
#include "snapshot.h"

#define LOG_CAT "cri"

#define STREAM_CHUNK 256

/* What a failed start leaves, as containerd reports it. */
#define START_ERROR_EXIT_CODE 128

/* Looks the container of a request up, or answers NOT_FOUND / INVALID_ARGUMENT. */
struct crib_container *crib_cri_find_container(struct crib_rpc *rpc, const char *id)
{
	struct crib_container *c;

	if (isempty(id)) {
		crib_cri_failf(rpc, EINVAL, "container_id is required");
		return NULL;
	}
	c = crib_registry_find_container(&crib_cri_daemon(rpc)->reg, id);
	if (!c || c->phase == CRIB_PHASE_CREATING) {
		crib_cri_failf(rpc, ENOENT, CRIB_CONTAINER_NOT_FOUND, id);
		return NULL;
	}
	return c;
}

static struct crib_op *container_op(struct crib_container *c, enum crib_op_kind kind,
                                    crib_op_cb done, void *data)
{
	struct crib_pod *p = c->pod;
	struct crib_op *op = crib_op_new(kind, p->cls->backend, done, data);

	crib_op_set_pod(op, p->id, &p->cls->pub, p->priv, p->priv_len);
	crib_op_set_container(op, c->id, c->priv, c->priv_len);
	return op;
}

/* Returns false (and answers) unless the container's backend has the op behind CAP. */
bool crib_cri_backend_can(struct crib_rpc *rpc, struct crib_container *c, uint64_t cap, bool has_op,
                          const char *what)
{
	const struct crib_rclass *cls = c->pod->cls;
	const struct crib_backend_ops *ops = cls->backend->ops;

	if (ops && (ops->caps & cap) && has_op)
		return true;
	crib_cri_failf(rpc, ENOTSUP, "%s: runtime class '%s' (backend '%s') does not support %s",
	               crib_rpc_method_name(rpc), cls->pub.name, cls->backend_name, what);
	return false;
}

/* CreateContainer. */

static int validate_create(const Runtime__V1__CreateContainerRequest *req,
                           struct crib_error **reterr)
{
	const Runtime__V1__ContainerConfig *cfg = req->config;

	if (isempty(req->pod_sandbox_id))
		return crib_error_set(reterr, EINVAL,
		                      "CreateContainerRequest.pod_sandbox_id is required");
	if (!cfg)
		return crib_error_set(reterr, EINVAL, "CreateContainerRequest.config is required");
	if (!cfg->metadata || isempty(cfg->metadata->name))
		return crib_error_set(reterr, EINVAL, "ContainerConfig.metadata.name is required");
	if (!cfg->image || isempty(cfg->image->image))
		return crib_error_set(reterr, EINVAL, "ContainerConfig.image.image is required");
	if (!isempty(cfg->log_path) && strstr(cfg->log_path, ".."))
		return crib_error_set(reterr, EINVAL, "ContainerConfig.log_path '%s' contains '..'",
		                      cfg->log_path);
	return 0;
}

/* Kubelet's LogPath is relative to the pod's log_directory. */
static int log_path(const struct crib_pod *p, const Runtime__V1__ContainerConfig *cfg, char **ret,
                    struct crib_error **reterr)
{
	const char *dir = p->config->log_directory;

	*ret = NULL;
	if (isempty(cfg->log_path))
		return 0;
	if (cfg->log_path[0] == '/') {
		*ret = crib_xstrdup(cfg->log_path);
		return 0;
	}
	if (isempty(dir))
		return crib_error_set(reterr, EINVAL,
		                      "ContainerConfig.log_path '%s' is relative but the pod "
		                      "sandbox has no log_directory",
		                      cfg->log_path);
	*ret = crib_xasprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", cfg->log_path);
	return 0;
}

static void create_done(struct crib_op *op)
{
	Runtime__V1__CreateContainerResponse resp = RUNTIME__V1__CREATE_CONTAINER_RESPONSE__INIT;
	struct crib_req *r = op->data;
	struct crib_container *c = r->ctr;
	struct crib_error *err = NULL;

	if (op->r < 0) {
		crib_daemon_forget_container(r->d, c);
		crib_req_end(r, op->err, NULL);
		crib_op_free(op);
		return;
	}
	c->priv = TAKE_PTR(op->out.ctr.priv.data);
	c->priv_len = c->priv ? op->out.ctr.priv.len : 0;
	crib_op_free(op);
	c->phase = CRIB_PHASE_LIVE;
	if (crib_daemon_save_container(r->d, c, &err) < 0) {
		crib_req_end(r, err, NULL);
		crib_error_free(err);
		return;
	}
	crib_events_publish(r->d, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT, c);
	resp.container_id = c->id;
	crib_req_end(r, NULL, &resp.base);
}

static void create_locked(struct crib_req *r)
{
	struct crib_container *c = r->ctr;
	struct crib_pod *p = r->pod;
	struct crib_image *img;
	struct crib_op *op;

	if (!p->listed || p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY) {
		crib_daemon_forget_container(r->d, c);
		crib_req_endf(r, p->listed ? EBUSY : ENOENT,
		              p->listed
		                  ? "Pod sandbox '%s' stopped before the container was created"
		                  : CRIB_POD_NOT_FOUND,
		              p->id);
		return;
	}
	op = container_op(c, CRIB_OP_CONTAINER_CREATE, create_done, r);
	/* The image is pinned (it has a user), so its record is still there. */
	img = c->image_id ? crib_images_find(&r->d->images, c->image_id) : NULL;
	if (img) {
		op->image_config = crib_xstrdup(img->config);
		op->image_layers = crib_xcalloc(img->n_layers + 1, sizeof(*op->image_layers));
		for (size_t i = 0; i < img->n_layers; i++)
			op->image_layers[i] =
			    crib_layer_dir(crib_content_root(r->d->content), img->layers[i]);
		op->n_image_layers = img->n_layers;
	}
	op->in.ctr_spec = (struct crib_container_spec){
	    .ref = op->ctr,
	    .name = c->config->metadata->name,
	    .attempt = c->config->metadata->attempt,
	    .image = c->config->image->image,
	    .log_path = c->log_path,
	    .cri_config = c->config_blob,
	    .cri_config_len = c->config_len,
	    .cri_pod_config = p->config_blob,
	    .cri_pod_config_len = p->config_len,
	    .image_id = c->image_id,
	    .image_ref = c->image_ref,
	    .image_config = op->image_config,
	    .image_layers = (const char *const *)op->image_layers,
	    .n_image_layers = op->n_image_layers,
	};
	crib_req_start_op(r, op);
}

/* Checks that a pod can take a new container; answers and returns false otherwise. */
static bool pod_accepts_containers(struct crib_rpc *rpc, const char *id, struct crib_pod **ret)
{
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_pod *p = crib_registry_find_pod(&d->reg, id);
	struct crib_backend *b;

	if (!p || p->phase == CRIB_PHASE_CREATING) {
		crib_cri_failf(rpc, ENOENT, CRIB_POD_NOT_FOUND, id);
		return false;
	}
	if (p->phase != CRIB_PHASE_LIVE ||
	    p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY) {
		crib_cri_failf(rpc, EBUSY, "Pod sandbox '%s' is not ready", p->id);
		return false;
	}
	b = p->cls->backend;
	if (b->status != CRIB_BACKEND_HEALTHY) {
		crib_cri_failf(rpc, EAGAIN, "Pod sandbox '%s': backend '%s' is unavailable: %s",
		               p->id, b->name, b->error ? b->error : "not loaded");
		return false;
	}
	*ret = p;
	return true;
}

void crib_cri_create_container(struct crib_rpc *rpc)
{
	Runtime__V1__CreateContainerRequest *req = (void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_error *err = NULL;
	_cleanup_free_ char *key = NULL, *logp = NULL;
	char id[CRIB_ID_LEN + 1];
	Runtime__V1__ContainerConfig *cfg;
	struct crib_container *c, *other;
	struct crib_image *img;
	struct crib_pod *p;
	bool own_images;
	uint8_t *blob;
	size_t len;

	if (validate_create(req, &err) < 0)
		goto fail;
	if (!pod_accepts_containers(rpc, req->pod_sandbox_id, &p))
		return;
	if (log_path(p, req->config, &logp, &err) < 0)
		goto fail;
	/*
	 * As containerd does, a container's image must be pulled before it is
	 * created; a backend that keeps its own images checks for itself.
	 */
	own_images = crib_rclass_owns_images(p->cls);
	img = own_images ? NULL : crib_images_find(&d->images, req->config->image->image);
	if (!img && !own_images) {
		(void)crib_error_set(&err, ENOENT, "Image '%s' is not present; pull it first",
		                     req->config->image->image);
		goto fail;
	}
	key = crib_container_name_key(p->id, req->config->metadata);
	other = crib_registry_find_container_by_name(&d->reg, key);
	if (other) {
		(void)crib_error_set(
		    &err, EEXIST,
		    "Container name '%s' (attempt %u) is already used by container "
		    "'%s' in pod sandbox '%s'",
		    req->config->metadata->name, req->config->metadata->attempt, other->id, p->id);
		goto fail;
	}
	if (crib_cri_new_object(d, &req->config->base, "CreateContainerRequest.config", id, &blob,
	                        &len, &err) < 0)
		goto fail;
	cfg = TAKE_PTR(req->config);
	c = crib_container_new(id, p, cfg, blob, len);
	c->log_path = TAKE_PTR(logp);
	crib_daemon_use_image(d, c, img);
	c->created_at = crib_now_ns();
	c->phase = CRIB_PHASE_CREATING;
	(void)crib_registry_add_container(&d->reg, c);
	p->cls->backend->n_containers++;
	if (crib_daemon_save_container(d, c, &err) < 0) {
		crib_daemon_forget_container(d, c);
		crib_container_unref(c);
		goto fail;
	}
	crib_req_lock(rpc, p, c, create_locked);
	crib_container_unref(c);
	return;
fail:
	crib_cri_fail(rpc, err);
	crib_error_free(err);
}

/* StartContainer. */

static void start_done(struct crib_op *op)
{
	Runtime__V1__StartContainerResponse resp = RUNTIME__V1__START_CONTAINER_RESPONSE__INIT;
	struct crib_req *r = op->data;
	struct crib_container *c = r->ctr;

	if (op->r < 0) {
		/* kubelet sees a container that failed to start as exited, with the reason. */
		crib_apply_container_exit(r->d, c, START_ERROR_EXIT_CODE, 0, "StartError",
		                          crib_error_msg(op->err));
		crib_req_end(r, op->err, NULL);
		crib_op_free(op);
		return;
	}
	crib_op_free(op);
	if (c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED) {
		c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
		c->started_at = crib_now_ns();
		(void)crib_daemon_save_container(r->d, c, NULL);
		crib_events_publish(r->d,
		                    RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT, c);
	}
	crib_req_end(r, NULL, &resp.base);
}

static const char *state_name(uint32_t state)
{
	switch (state) {
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED:
		return "created";
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING:
		return "running";
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED:
		return "exited";
	default:
		return "unknown";
	}
}

static void start_locked(struct crib_req *r)
{
	struct crib_container *c = r->ctr;

	if (!crib_req_still_there(r))
		return;
	if (c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED) {
		crib_req_endf(r, EBUSY, "Container '%s' is %s; only a created container can start",
		              c->id, state_name(c->state));
		return;
	}
	crib_req_start_op(r, container_op(c, CRIB_OP_CONTAINER_START, start_done, r));
}

void crib_cri_start_container(struct crib_rpc *rpc)
{
	const Runtime__V1__StartContainerRequest *req = (const void *)rpc->req;
	struct crib_container *c = crib_cri_find_container(rpc, req->container_id);

	if (c)
		crib_req_lock(rpc, c->pod, c, start_locked);
}

/* StopContainer and RemoveContainer: idempotent, as kubelet relies on. */

static void lc_done(struct crib_daemon *d, void *ctx, const struct crib_error *err)
{
	/* Stop and Remove answer empty messages; any empty response packs the same. */
	Runtime__V1__StopContainerResponse resp = RUNTIME__V1__STOP_CONTAINER_RESPONSE__INIT;

	(void)d;
	crib_req_end(ctx, err, &resp.base);
}

static void stop_locked(struct crib_req *r)
{
	const Runtime__V1__StopContainerRequest *req = (const void *)r->rpc->req;
	Runtime__V1__StopContainerResponse resp = RUNTIME__V1__STOP_CONTAINER_RESPONSE__INIT;
	struct crib_container *c = r->ctr;

	if (!crib_req_still_there(r))
		return;
	if (c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING &&
	    c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN) {
		crib_req_end(r, NULL, &resp.base);
		return;
	}
	crib_lc_stop_container(r->d, c, req->timeout, lc_done, r);
}

void crib_cri_stop_container(struct crib_rpc *rpc)
{
	const Runtime__V1__StopContainerRequest *req = (const void *)rpc->req;
	struct crib_container *c = crib_cri_find_container(rpc, req->container_id);

	if (c)
		crib_req_lock(rpc, c->pod, c, stop_locked);
}

static void remove_locked(struct crib_req *r)
{
	Runtime__V1__RemoveContainerResponse resp = RUNTIME__V1__REMOVE_CONTAINER_RESPONSE__INIT;

	if (!r->ctr->listed) {
		crib_req_end(r, NULL, &resp.base);
		return;
	}
	crib_lc_remove_container(r->d, r->ctr, lc_done, r);
}

void crib_cri_remove_container(struct crib_rpc *rpc)
{
	const Runtime__V1__RemoveContainerRequest *req = (const void *)rpc->req;
	Runtime__V1__RemoveContainerResponse resp = RUNTIME__V1__REMOVE_CONTAINER_RESPONSE__INIT;
	struct crib_container *c;

	if (isempty(req->container_id)) {
		crib_cri_failf(rpc, EINVAL, "RemoveContainerRequest.container_id is required");
		return;
	}
	c = crib_registry_find_container(&crib_cri_daemon(rpc)->reg, req->container_id);
	if (!c) {
		crib_cri_reply(rpc, &resp.base);
		return;
	}
	crib_req_lock(rpc, c->pod, c, remove_locked);
}

/* ContainerStatus: a running container's state is checked with its backend. */

struct query {
	struct crib_rpc *rpc;
	struct crib_container *c; /* reference */
	char **argv;              /* ExecSync: the command, NULL-terminated as the ABI wants */
};

static struct query *query_new(struct crib_rpc *rpc, struct crib_container *c)
{
	struct query *q = crib_xcalloc(1, sizeof(*q));

	q->rpc = rpc;
	q->c = crib_container_ref(c);
	return q;
}

static void query_free(struct query *q)
{
	free(q->argv);
	crib_container_unref(q->c);
	free(q);
}

static void status_reply(struct crib_rpc *rpc, struct crib_container *c,
                         const struct crib_container_status *s)
{
	const Runtime__V1__ContainerStatusRequest *req = (const void *)rpc->req;
	Runtime__V1__ContainerStatusResponse resp = RUNTIME__V1__CONTAINER_STATUS_RESPONSE__INIT;
	Runtime__V1__ContainerStatusResponse__InfoEntry *info[1];
	struct crib_arena a = {0};
	char *text = NULL;

	resp.status = crib_pb_container_status(&a, c);
	if (req->verbose) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "sandboxID", c->pod->id,
		                      "runtimeClass", c->pod->cls->pub.name, "backend",
		                      c->pod->cls->backend_name, "pid", (int)(s ? s->pid : 0));

		if (s && s->info) {
			json_t *b = json_loads(s->info, 0, NULL);

			if (b)
				json_object_set_new(o, "backendInfo", b);
		}
		text = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		info[0] = crib_pb_new(
		    &a, &runtime__v1__container_status_response__info_entry__descriptor);
		info[0]->key = (char *)"info";
		info[0]->value = text ? text : (char *)"{}";
		resp.info = info;
		resp.n_info = 1;
	}
	crib_cri_reply(rpc, &resp.base);
	free(text);
	crib_arena_release(&a);
}

static void status_done(struct crib_op *op)
{
	struct query *q = op->data;
	struct crib_daemon *d = crib_cri_daemon(q->rpc);

	if (!q->c->listed) {
		crib_cri_failf(q->rpc, ENOENT, CRIB_CONTAINER_NOT_FOUND, q->c->id);
	} else {
		if (op->r == 0)
			crib_apply_container_status(d, q->c, &op->out.ctr_status);
		else
			log_debug("Container '%s': the backend's status failed, answering from "
			          "memory: %s",
			          q->c->id, crib_error_msg(op->err));
		status_reply(q->rpc, q->c, op->r == 0 ? &op->out.ctr_status : NULL);
	}
	query_free(q);
	crib_op_free(op);
}

void crib_cri_container_status(struct crib_rpc *rpc)
{
	const Runtime__V1__ContainerStatusRequest *req = (const void *)rpc->req;
	struct crib_container *c = crib_cri_find_container(rpc, req->container_id);
	struct query *q;
	struct crib_op *op;

	if (!c)
		return;
	/* An exited container stays exited: memory is the truth for it, and it costs nothing. */
	if ((c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED && !req->verbose) ||
	    c->pod->cls->backend->status != CRIB_BACKEND_HEALTHY) {
		status_reply(rpc, c, NULL);
		return;
	}
	q = query_new(rpc, c);
	op = container_op(c, CRIB_OP_CONTAINER_STATUS, status_done, q);
	if (crib_daemon_op_start(crib_cri_daemon(rpc), op) < 0) {
		crib_op_free(op);
		query_free(q);
		status_reply(rpc, c, NULL);
	}
}

/* Lists. */

static size_t matching_containers(struct crib_daemon *d, const struct crib_filter *f,
                                  struct crib_arena *a, Runtime__V1__Container ***ret)
{
	size_t n = 0, cap = crib_registry_count_containers(&d->reg);
	struct crib_container *c, *tmp;

	*ret = NULL;
	if (cap == 0)
		return 0;
	*ret = crib_arena_alloc(a, cap * sizeof(**ret));
	HASH_ITER (hh, d->reg.ctrs, c, tmp) {
		if (crib_filter_match_container(f, c))
			(*ret)[n++] = crib_pb_container(a, c);
	}
	return n;
}

void crib_cri_list_containers(struct crib_rpc *rpc)
{
	const Runtime__V1__ListContainersRequest *req = (const void *)rpc->req;
	Runtime__V1__ListContainersResponse resp = RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_arena a = {0};
	struct crib_filter f;

	crib_filter_containers(&d->reg, req->filter, &f);
	resp.n_containers = matching_containers(d, &f, &a, &resp.containers);
	crib_cri_reply(rpc, &resp.base);
	crib_arena_release(&a);
}

void crib_cri_stream_containers(struct crib_rpc *rpc)
{
	const Runtime__V1__StreamContainersRequest *req = (const void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	Runtime__V1__Container **items;
	struct crib_arena a = {0};
	struct crib_filter f;
	size_t n;

	crib_filter_containers(&d->reg, req->filter, &f);
	n = matching_containers(d, &f, &a, &items);
	for (size_t i = 0; i < n; i += STREAM_CHUNK) {
		Runtime__V1__StreamContainersResponse resp =
		    RUNTIME__V1__STREAM_CONTAINERS_RESPONSE__INIT;

		resp.containers = items + i;
		resp.n_containers = n - i < STREAM_CHUNK ? n - i : STREAM_CHUNK;
		(void)crib_rpc_stream_send(rpc, &resp.base);
	}
	crib_rpc_stream_finish(rpc, GRPC_STATUS_OK, "%s", "");
	crib_arena_release(&a);
}

/* UpdateContainerResources. */

/* Keeps what ContainerStatus reports in step with the update (a deep copy via the wire). */
static void record_resources(struct crib_daemon *d, struct crib_container *c,
                             const Runtime__V1__LinuxContainerResources *res)
{
	Runtime__V1__ContainerConfig *cfg = c->config;
	Runtime__V1__LinuxContainerResources *copy;
	uint8_t *buf;
	size_t len;

	buf = crib_pb_pack(&res->base, &len);
	copy = runtime__v1__linux_container_resources__unpack(NULL, len, buf);
	free(buf);
	if (!copy)
		return;
	if (!cfg->linux) {
		cfg->linux = crib_xmalloc(sizeof(*cfg->linux));
		runtime__v1__linux_container_config__init(cfg->linux);
	}
	if (cfg->linux->resources)
		protobuf_c_message_free_unpacked(&cfg->linux->resources->base, NULL);
	cfg->linux->resources = copy;
	free(c->config_blob);
	c->config_blob = crib_pb_pack(&cfg->base, &c->config_len);
	(void)crib_daemon_save_container(d, c, NULL);
}

static void update_done(struct crib_op *op)
{
	Runtime__V1__UpdateContainerResourcesResponse resp =
	    RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_RESPONSE__INIT;
	const Runtime__V1__UpdateContainerResourcesRequest *req;
	struct crib_req *r = op->data;

	if (op->r < 0) {
		crib_req_end(r, op->err, NULL);
		crib_op_free(op);
		return;
	}
	crib_op_free(op);
	req = (const void *)r->rpc->req;
	if (req->linux)
		record_resources(r->d, r->ctr, req->linux);
	crib_req_end(r, NULL, &resp.base);
}

static void update_locked(struct crib_req *r)
{
	struct crib_container *c = r->ctr;
	struct crib_op *op;

	if (!crib_req_still_there(r))
		return;
	if (c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED &&
	    c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING) {
		crib_req_endf(r, EBUSY, "Container '%s' is %s; its resources cannot change", c->id,
		              state_name(c->state));
		return;
	}
	op = container_op(c, CRIB_OP_CONTAINER_UPDATE, update_done, r);
	op->req_len = GRPC_SLICE_LENGTH(r->rpc->raw);
	op->req = crib_xmemdup(GRPC_SLICE_START_PTR(r->rpc->raw), op->req_len);
	crib_req_start_op(r, op);
}

void crib_cri_update_container_resources(struct crib_rpc *rpc)
{
	const Runtime__V1__UpdateContainerResourcesRequest *req = (const void *)rpc->req;
	struct crib_container *c = crib_cri_find_container(rpc, req->container_id);

	if (!c ||
	    !crib_cri_backend_can(rpc, c, CRIB_CAP_UPDATE_RESOURCES,
	                          CRIB_BACKEND_HAS_OP(c->pod->cls->backend->ops, container_update),
	                          "updating container resources"))
		return;
	crib_req_lock(rpc, c->pod, c, update_locked);
}

/* ReopenContainerLog: after kubelet rotated the file, the writer opens the same path again. */

static void reopen_done(struct crib_op *op)
{
	Runtime__V1__ReopenContainerLogResponse resp =
	    RUNTIME__V1__REOPEN_CONTAINER_LOG_RESPONSE__INIT;
	struct crib_req *r = op->data;

	crib_req_end(r, op->r < 0 ? op->err : NULL, &resp.base);
	crib_op_free(op);
}

static void reopen_locked(struct crib_req *r)
{
	if (!crib_req_still_there(r))
		return;
	/* CRI: a runtime that errors here must not create a new log file, so check first. */
	if (r->ctr->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING) {
		crib_req_endf(r, EBUSY,
		              "Container '%s' is %s; only a running container's log can "
		              "be reopened",
		              r->ctr->id, state_name(r->ctr->state));
		return;
	}
	crib_req_start_op(r, container_op(r->ctr, CRIB_OP_CONTAINER_REOPEN_LOG, reopen_done, r));
}

void crib_cri_reopen_container_log(struct crib_rpc *rpc)
{
	const Runtime__V1__ReopenContainerLogRequest *req = (const void *)rpc->req;
	struct crib_container *c = crib_cri_find_container(rpc, req->container_id);

	if (!c || !crib_cri_backend_can(
	              rpc, c, CRIB_CAP_REOPEN_LOG,
	              CRIB_BACKEND_HAS_OP(c->pod->cls->backend->ops, container_reopen_log),
	              "reopening container logs"))
		return;
	crib_req_lock(rpc, c->pod, c, reopen_locked);
}

/* ExecSync: not serialized with lifecycle work, so that probes never wait behind a stop. */

static void exec_done(struct crib_op *op)
{
	Runtime__V1__ExecSyncResponse resp = RUNTIME__V1__EXEC_SYNC_RESPONSE__INIT;
	struct query *q = op->data;
	const Runtime__V1__ExecSyncRequest *req = (const void *)q->rpc->req;

	if (op->r == -ETIMEDOUT) {
		crib_cri_failf(q->rpc, ETIMEDOUT,
		               "Command in container '%s' timed out after %lld s", q->c->id,
		               (long long)req->timeout);
	} else if (op->r < 0) {
		crib_cri_fail(q->rpc, op->err);
	} else {
		const struct crib_exec_sync_result *x = &op->out.exec;

		resp.stdout.data = x->out.data;
		resp.stdout.len =
		    x->out.len < CRIB_EXEC_OUTPUT_MAX ? x->out.len : CRIB_EXEC_OUTPUT_MAX;
		resp.stderr.data = x->err.data;
		resp.stderr.len =
		    x->err.len < CRIB_EXEC_OUTPUT_MAX ? x->err.len : CRIB_EXEC_OUTPUT_MAX;
		resp.exit_code = x->exit_code;
		crib_cri_reply(q->rpc, &resp.base);
	}
	query_free(q);
	crib_op_free(op);
}

void crib_cri_exec_sync(struct crib_rpc *rpc)
{
	const Runtime__V1__ExecSyncRequest *req = (const void *)rpc->req;
	struct crib_container *c = crib_cri_find_container(rpc, req->container_id);
	struct query *q;
	struct crib_op *op;
	int r;

	if (!c)
		return;
	if (req->n_cmd == 0 || isempty(req->cmd[0])) {
		crib_cri_failf(rpc, EINVAL, "ExecSyncRequest.cmd is required");
		return;
	}
	if (c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING) {
		crib_cri_failf(rpc, EBUSY,
		               "Container '%s' is %s; commands run only in a running "
		               "container",
		               c->id, state_name(c->state));
		return;
	}
	if (!crib_cri_backend_can(rpc, c, CRIB_CAP_EXEC_SYNC,
	                          CRIB_BACKEND_HAS_OP(c->pod->cls->backend->ops, exec_sync),
	                          "ExecSync"))
		return;
	q = query_new(rpc, c);
	q->argv = crib_xcalloc(req->n_cmd + 1, sizeof(*q->argv));
	memcpy(q->argv, req->cmd, req->n_cmd * sizeof(*q->argv));
	op = container_op(c, CRIB_OP_EXEC_SYNC, exec_done, q);
	op->in.exec = (struct crib_exec_sync_args){
	    .ref = op->ctr,
	    .argv = (const char *const *)q->argv,
	    .argc = req->n_cmd,
	    .timeout_s = req->timeout > 0 ? req->timeout : 0,
	};
	r = crib_daemon_op_start(crib_cri_daemon(rpc), op);
	if (r < 0) {
		crib_op_free(op);
		query_free(q);
		crib_cri_failf(rpc, -r, "Failed to queue the command: %s", uv_strerror(r));
	}
}
