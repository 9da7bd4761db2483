/* SPDX-License-Identifier: Apache-2.0 */
/* RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox. */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "backend.h"
#include "cni.h"
#include "cri.h"
#include "daemon.h"
#include "error.h"
#include "filter.h"
#include "log.h"
#include "op.h"
#include "pb.h"
#include "registry.h"
#include "router.h"
#include "rpc.h"

#define LOG_CAT "cri"

/* Server streams send lists in chunks of this many items. */
#define STREAM_CHUNK 256

/* Field checks, naming the field as kubelet's API does. */
static int validate_pod_config(const Runtime__V1__PodSandboxConfig *cfg, struct crib_error **reterr)
{
	const Runtime__V1__PodSandboxMetadata *md;

	if (!cfg)
		return crib_error_set(reterr, EINVAL, "RunPodSandboxRequest.config is required");
	md = cfg->metadata;
	if (!md)
		return crib_error_set(reterr, EINVAL, "PodSandboxConfig.metadata is required");
	if (isempty(md->name))
		return crib_error_set(reterr, EINVAL, "PodSandboxConfig.metadata.name is required");
	if (isempty(md->namespace_))
		return crib_error_set(reterr, EINVAL,
		                      "PodSandboxConfig.metadata.namespace is required");
	if (isempty(md->uid))
		return crib_error_set(reterr, EINVAL, "PodSandboxConfig.metadata.uid is required");
	if (!isempty(cfg->log_directory) && cfg->log_directory[0] != '/')
		return crib_error_set(reterr, EINVAL,
		                      "PodSandboxConfig.log_directory '%s' is not absolute",
		                      cfg->log_directory);
	return 0;
}

/*
 * RunPodSandbox.  A pod that does not ask for the node's network gets one
 * through CNI: in a namespace cribd makes before the sandbox, or, when the
 * backend has CRIB_CAP_OWN_NETNS, in the one the backend reports after it.
 * What each step made is recorded before the next starts, so that a crash
 * anywhere leaves a "creating" pod whose cleanup (crib_lc_remove_pod) finds
 * and undoes all of it.
 */

static bool backend_owns_netns(const struct crib_pod *p)
{
	return (p->cls->backend->ops->caps & CRIB_CAP_OWN_NETNS) != 0;
}

static void run_pod_finish(struct crib_req *pr)
{
	Runtime__V1__RunPodSandboxResponse resp = RUNTIME__V1__RUN_POD_SANDBOX_RESPONSE__INIT;
	struct crib_pod *p = pr->pod;
	struct crib_error *err = NULL;

	p->phase = CRIB_PHASE_LIVE;
	p->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
	if (crib_daemon_save_pod(pr->d, p, &err) < 0) {
		/* The sandbox runs but is not recorded: say so rather than hide it. */
		crib_req_end(pr, err, NULL);
		crib_error_free(err);
		return;
	}
	log_info("Pod sandbox '%s' (%s/%s) runs on class '%s'%s%s", p->id,
	         p->config->metadata->namespace_, p->config->metadata->name, p->cls->pub.name,
	         p->ip ? " with IP " : "", p->ip ? p->ip : "");
	resp.pod_sandbox_id = p->id;
	crib_req_end(pr, NULL, &resp.base);
}

/* Undoing a RunPodSandbox that failed: ERR is what the client is told in the end. */
struct run_undo {
	struct crib_req *pr;
	struct crib_error *err;
};

static void undo_end(struct run_undo *u, bool forget)
{
	if (forget)
		crib_daemon_forget_pod(u->pr->d, u->pr->pod);
	crib_req_end(u->pr, u->err, NULL);
	crib_error_free(u->err);
	free(u);
}

static void undo_network_done(struct crib_op *op)
{
	struct run_undo *u = op->data;

	if (op->r < 0)
		log_warning("Failed to undo the network of pod sandbox '%s': %s, ignoring",
		            u->pr->pod->id, crib_error_msg(op->err));
	crib_op_free(op);
	undo_end(u, true);
}

static void undo_sandbox_done(struct crib_daemon *d, void *ctx, const struct crib_error *err)
{
	struct run_undo *u = ctx;

	(void)d;
	/* What could not be removed stays recorded, for the next start's cleanup to retry. */
	if (err)
		log_warning("Failed to remove pod sandbox '%s' after its network failed (retried "
		            "at the next start): %s",
		            u->pr->pod->id, crib_error_msg(err));
	undo_end(u, false);
}

/* Undoes a failed RunPodSandbox: the sandbox if SANDBOX_MADE, the network, the record. */
static void run_pod_undo(struct crib_req *pr, const struct crib_error *err, bool sandbox_made)
{
	struct run_undo *u = crib_xcalloc(1, sizeof(*u));
	struct crib_pod *p = pr->pod;
	struct crib_op *op;

	u->pr = pr;
	(void)crib_error_set(&u->err, err ? err->errnum : EIO, "%s", crib_error_msg(err));
	if (sandbox_made) {
		/* Stopped, then removed, the network with it: as RemovePodSandbox does. */
		p->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
		crib_lc_remove_pod(pr->d, p, undo_sandbox_done, u);
		return;
	}
	if (!p->netns) {
		undo_end(u, true);
		return;
	}
	op = crib_net_op_new(pr->d, p, CRIB_OP_NET_TEARDOWN, undo_network_done, u);
	if (crib_daemon_op_start(pr->d, op) < 0) {
		crib_op_free(op);
		log_warning("Failed to queue the undoing of pod sandbox '%s''s network, ignoring",
		            p->id);
		undo_end(u, true);
	}
}

/* Starts OP for the request, undoing the pod if it cannot be queued. */
static void run_pod_start(struct crib_req *pr, struct crib_op *op, bool sandbox_made)
{
	struct crib_error *err = NULL;
	int r = crib_daemon_op_start(pr->d, op);

	if (r < 0) {
		crib_op_free(op);
		(void)crib_error_set(&err, -r, "Failed to queue the sandbox's creation: %s",
		                     uv_strerror(r));
		run_pod_undo(pr, err, sandbox_made);
		crib_error_free(err);
	}
}

/* The network in the namespace the backend reported: the last step. */
static void own_network_done(struct crib_op *op)
{
	struct crib_req *pr = op->data;

	if (op->r < 0) {
		run_pod_undo(pr, op->err, true);
		crib_op_free(op);
		return;
	}
	/* A result without IPs leaves the one the backend reported, if any. */
	if (op->out.net.n_ips > 0)
		crib_pod_set_ips(pr->pod, op->out.net.ips, op->out.net.n_ips);
	crib_op_free(op);
	run_pod_finish(pr);
}

/* CRIB_CAP_OWN_NETNS: records the backend's namespace, then runs CNI in it. */
static void run_own_network(struct crib_req *pr, char *netns)
{
	struct crib_pod *p = pr->pod;
	struct crib_error *err = NULL;

	if (isempty(netns)) {
		free(netns);
		(void)crib_error_set(&err, EPROTO,
		                     "Backend '%s' (CRIB_CAP_OWN_NETNS) reported no network "
		                     "namespace for pod sandbox '%s'",
		                     p->cls->backend_name, p->id);
	} else {
		p->netns = netns;
		(void)crib_daemon_save_pod(pr->d, p, &err);
	}
	if (err) {
		run_pod_undo(pr, err, true);
		crib_error_free(err);
		return;
	}
	run_pod_start(pr, crib_net_op_new(pr->d, p, CRIB_OP_NET_SETUP, own_network_done, pr), true);
}

static void run_pod_done(struct crib_op *op)
{
	struct crib_req *pr = op->data;
	struct crib_pod *p = pr->pod;

	if (op->r < 0) {
		run_pod_undo(pr, op->err, false);
		crib_op_free(op);
		return;
	}
	p->priv = TAKE_PTR(op->out.pod.priv.data);
	p->priv_len = p->priv ? op->out.pod.priv.len : 0;
	/* The backend's IP is the pod's unless CNI gave it one. */
	if (!p->ip)
		p->ip = TAKE_PTR(op->out.pod.ip);
	if (backend_owns_netns(p) && !crib_cni_host_network(p->config)) {
		char *netns = TAKE_PTR(op->out.pod.netns_path);

		crib_op_free(op);
		run_own_network(pr, netns);
		return;
	}
	crib_op_free(op);
	run_pod_finish(pr);
}

static void run_sandbox(struct crib_req *pr)
{
	struct crib_pod *p = pr->pod;
	const Runtime__V1__PodSandboxMetadata *md = p->config->metadata;
	struct crib_op *op = crib_op_new(CRIB_OP_POD_RUN, p->cls->backend, run_pod_done, pr);

	crib_op_set_pod(op, p->id, &p->cls->pub, NULL, 0);
	op->in.pod_spec = (struct crib_pod_spec){
	    .ref = op->pod,
	    .name = md->name,
	    .namespace_ = md->namespace_,
	    .uid = md->uid,
	    .attempt = md->attempt,
	    .cri_config = p->config_blob,
	    .cri_config_len = p->config_len,
	    .netns_path = p->netns, /* the pod, and so p->netns, outlives the op */
	};
	run_pod_start(pr, op, false);
}

/* cribd's namespace and CNI ADD are there: record the IPs, then make the sandbox. */
static void network_done(struct crib_op *op)
{
	struct crib_req *pr = op->data;
	struct crib_pod *p = pr->pod;
	struct crib_error *err = NULL;

	if (op->r < 0) {
		/* The setup undid itself; only the record is left. */
		crib_daemon_forget_pod(pr->d, p);
		crib_req_end(pr, op->err, NULL);
		crib_op_free(op);
		return;
	}
	crib_pod_set_ips(p, op->out.net.ips, op->out.net.n_ips);
	crib_op_free(op);
	if (crib_daemon_save_pod(pr->d, p, &err) < 0) {
		run_pod_undo(pr, err, false);
		crib_error_free(err);
		return;
	}
	run_sandbox(pr);
}

static void run_pod_locked(struct crib_req *pr)
{
	struct crib_pod *p = pr->pod;

	if (p->netns)
		run_pod_start(pr, crib_net_op_new(pr->d, p, CRIB_OP_NET_SETUP, network_done, pr),
		              false);
	else
		run_sandbox(pr);
}

void crib_cri_run_pod(struct crib_rpc *rpc)
{
	Runtime__V1__RunPodSandboxRequest *req = (void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	Runtime__V1__PodSandboxConfig *cfg;
	struct crib_error *err = NULL;
	struct crib_rclass *cls = NULL;
	_cleanup_free_ char *key = NULL;
	char id[CRIB_ID_LEN + 1];
	struct crib_pod *p, *other;
	uint8_t *blob;
	size_t len;

	if (validate_pod_config(req->config, &err) < 0 ||
	    crib_router_resolve(d->router, req->runtime_handler, &cls, &err) < 0)
		goto fail;
	key = crib_pod_name_key(req->config->metadata);
	other = crib_registry_find_pod_by_name(&d->reg, key);
	if (other) {
		(void)crib_error_set(&err, EEXIST,
		                     "Pod sandbox name '%s' in namespace '%s' (uid '%s', attempt "
		                     "%u) is already used by pod sandbox '%s'",
		                     req->config->metadata->name, req->config->metadata->namespace_,
		                     req->config->metadata->uid, req->config->metadata->attempt,
		                     other->id);
		goto fail;
	}
	if (crib_cri_new_object(d, &req->config->base, "RunPodSandboxRequest.config", id, &blob,
	                        &len, &err) < 0)
		goto fail;
	cfg = TAKE_PTR(req->config);
	p = crib_pod_new(id, cfg, blob, len);
	p->cls = cls;
	crib_rclass_ref(cls);
	cls->backend->n_pods++;
	p->created_at = crib_now_ns();
	p->phase = CRIB_PHASE_CREATING;
	if (!crib_cni_host_network(cfg) && !backend_owns_netns(p))
		p->netns = crib_pod_netns_path(d, p->id);
	(void)crib_registry_add_pod(&d->reg, p);
	/*
	 * Recorded before the backend is asked (with the namespace cribd is about
	 * to make): a crash in between leaves a known half-made pod.
	 */
	if (crib_daemon_save_pod(d, p, &err) < 0) {
		crib_daemon_forget_pod(d, p);
		crib_pod_unref(p);
		goto fail;
	}
	crib_req_lock(rpc, p, NULL, run_pod_locked);
	crib_pod_unref(p);
	return;
fail:
	crib_cri_fail(rpc, err);
	crib_error_free(err);
}

static void stop_pod_done(struct crib_daemon *d, void *ctx, const struct crib_error *err)
{
	Runtime__V1__StopPodSandboxResponse resp = RUNTIME__V1__STOP_POD_SANDBOX_RESPONSE__INIT;

	(void)d;
	crib_req_end(ctx, err, &resp.base);
}

static void stop_pod_locked(struct crib_req *pr)
{
	if (crib_req_still_there(pr))
		crib_lc_stop_pod(pr->d, pr->pod, stop_pod_done, pr);
}

struct crib_pod *crib_cri_find_pod(struct crib_rpc *rpc, const char *id)
{
	struct crib_pod *p = crib_registry_find_pod(&crib_cri_daemon(rpc)->reg, id);

	if (!p || p->phase == CRIB_PHASE_CREATING) {
		if (isempty(id))
			crib_cri_failf(rpc, EINVAL, "pod_sandbox_id is required");
		else
			crib_cri_failf(rpc, ENOENT, CRIB_POD_NOT_FOUND, id);
		return NULL;
	}
	return p;
}

void crib_cri_stop_pod(struct crib_rpc *rpc)
{
	const Runtime__V1__StopPodSandboxRequest *req = (const void *)rpc->req;
	struct crib_pod *p = crib_cri_find_pod(rpc, req->pod_sandbox_id);

	if (p)
		crib_req_lock(rpc, p, NULL, stop_pod_locked);
}

static void remove_pod_done(struct crib_daemon *d, void *ctx, const struct crib_error *err)
{
	Runtime__V1__RemovePodSandboxResponse resp = RUNTIME__V1__REMOVE_POD_SANDBOX_RESPONSE__INIT;
	struct crib_req *pr = ctx;

	(void)d;
	if (!err)
		log_info("Pod sandbox '%s' removed", pr->pod->id);
	crib_req_end(pr, err, &resp.base);
}

static void remove_pod_locked(struct crib_req *pr)
{
	Runtime__V1__RemovePodSandboxResponse resp = RUNTIME__V1__REMOVE_POD_SANDBOX_RESPONSE__INIT;

	/* Removed by the request that held the lock before us: idempotent. */
	if (!pr->pod->listed) {
		crib_req_end(pr, NULL, &resp.base);
		return;
	}
	crib_lc_remove_pod(pr->d, pr->pod, remove_pod_done, pr);
}

void crib_cri_remove_pod(struct crib_rpc *rpc)
{
	const Runtime__V1__RemovePodSandboxRequest *req = (const void *)rpc->req;
	Runtime__V1__RemovePodSandboxResponse resp = RUNTIME__V1__REMOVE_POD_SANDBOX_RESPONSE__INIT;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_pod *p;

	if (isempty(req->pod_sandbox_id)) {
		crib_cri_failf(rpc, EINVAL, "RemovePodSandboxRequest.pod_sandbox_id is required");
		return;
	}
	p = crib_registry_find_pod(&d->reg, req->pod_sandbox_id);
	if (!p) {
		/* CRI: removing a pod that is already gone is not an error. */
		crib_cri_reply(rpc, &resp.base);
		return;
	}
	crib_req_lock(rpc, p, NULL, remove_pod_locked);
}

/* PodSandboxStatus: from memory, refreshed by the backend when it reports pod status. */

static void pod_status_reply(struct crib_rpc *rpc, struct crib_pod *p, const char *backend_info,
                             const char *cni_check)
{
	const Runtime__V1__PodSandboxStatusRequest *req = (const void *)rpc->req;
	Runtime__V1__PodSandboxStatusResponse resp = RUNTIME__V1__POD_SANDBOX_STATUS_RESPONSE__INIT;
	Runtime__V1__PodSandboxStatusResponse__InfoEntry *info[1];
	struct crib_arena a = {0};
	char *text = NULL;

	resp.status = crib_pb_pod_status(&a, p);
	resp.containers_statuses =
	    crib_pb_pod_container_statuses(&a, p, &resp.n_containers_statuses);
	resp.timestamp = crib_now_ns();
	if (req->verbose) {
		json_t *o =
		    json_pack("{s:s, s:s, s:s}", "runtimeClass", p->cls->pub.name, "backend",
		              p->cls->backend_name, "netns", p->netns ? p->netns : "");

		if (backend_info) {
			json_t *b = json_loads(backend_info, 0, NULL);

			if (b)
				json_object_set_new(o, "backendInfo", b);
		}
		if (cni_check)
			json_object_set_new(o, "cniCheck", json_string(cni_check));
		text = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		info[0] = crib_pb_new(
		    &a, &runtime__v1__pod_sandbox_status_response__info_entry__descriptor);
		info[0]->key = (char *)"info";
		info[0]->value = text ? text : (char *)"{}";
		resp.info = info;
		resp.n_info = 1;
	}
	crib_cri_reply(rpc, &resp.base);
	free(text);
	crib_arena_release(&a);
}

/* A verbose status (crictl inspectp) of a pod with a network also runs CNI CHECK. */
struct status_check {
	struct crib_rpc *rpc;
	struct crib_pod *pod; /* reference */
	char *backend_info;
};

static void status_check_done(struct crib_op *op)
{
	struct status_check *q = op->data;
	const char *result = op->r < 0             ? crib_error_msg(op->err)
	                     : op->out.net.checked ? "passed"
	                                           : "not applicable";

	pod_status_reply(q->rpc, q->pod, q->backend_info, result);
	crib_op_free(op);
	crib_pod_unref(q->pod);
	free(q->backend_info);
	free(q);
}

static void pod_status_answer(struct crib_rpc *rpc, struct crib_pod *p, const char *backend_info)
{
	const Runtime__V1__PodSandboxStatusRequest *req = (const void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct status_check *q;
	struct crib_op *op;

	if (!req->verbose || !p->netns ||
	    p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY) {
		pod_status_reply(rpc, p, backend_info, NULL);
		return;
	}
	q = crib_xcalloc(1, sizeof(*q));
	q->rpc = rpc;
	q->pod = crib_pod_ref(p);
	q->backend_info = crib_xstrdup(backend_info);
	op = crib_net_op_new(d, p, CRIB_OP_NET_CHECK, status_check_done, q);
	if (crib_daemon_op_start(d, op) < 0) {
		crib_op_free(op);
		pod_status_reply(rpc, p, backend_info, NULL);
		crib_pod_unref(q->pod);
		free(q->backend_info);
		free(q);
	}
}

static void pod_status_done(struct crib_op *op)
{
	struct crib_rpc *rpc = op->data;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_pod *p = crib_registry_find_pod(&d->reg, op->pod_id);

	if (!p) {
		crib_cri_failf(rpc, ENOENT, CRIB_POD_NOT_FOUND, op->pod_id);
	} else {
		if (op->r == 0) {
			if (op->out.pod_status.state == CRIB_POD_NOTREADY &&
			    p->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY) {
				p->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
				(void)crib_daemon_save_pod(d, p, NULL);
			}
			/* A pod CNI gave an IP keeps it; the backend's IP is for the others. */
			if (!p->netns && !isempty(op->out.pod_status.ip) &&
			    !streq(p->ip, op->out.pod_status.ip))
				crib_strreplace(&p->ip, op->out.pod_status.ip);
		}
		pod_status_answer(rpc, p, op->r == 0 ? op->out.pod_status.info : NULL);
	}
	crib_op_free(op);
}

void crib_cri_pod_status(struct crib_rpc *rpc)
{
	const Runtime__V1__PodSandboxStatusRequest *req = (const void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_pod *p = crib_cri_find_pod(rpc, req->pod_sandbox_id);
	struct crib_backend *b;
	struct crib_op *op;

	if (!p)
		return;
	b = p->cls->backend;
	/* A sandbox that is not ready stays so; only a ready one can have died since. */
	if (p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY ||
	    b->status != CRIB_BACKEND_HEALTHY || !CRIB_BACKEND_HAS_OP(b->ops, pod_status)) {
		pod_status_answer(rpc, p, NULL);
		return;
	}
	op = crib_op_new(CRIB_OP_POD_STATUS, b, pod_status_done, rpc);
	crib_op_set_pod(op, p->id, &p->cls->pub, p->priv, p->priv_len);
	if (crib_daemon_op_start(d, op) < 0) {
		crib_op_free(op);
		pod_status_answer(rpc, p, NULL);
	}
}

/* Lists. */

static size_t matching_pods(struct crib_daemon *d, const struct crib_filter *f,
                            struct crib_arena *a, Runtime__V1__PodSandbox ***ret)
{
	size_t n = 0, cap = crib_registry_count_pods(&d->reg);
	struct crib_pod *p, *tmp;

	*ret = NULL;
	if (cap == 0)
		return 0;
	*ret = crib_arena_alloc(a, cap * sizeof(**ret));
	HASH_ITER (hh, d->reg.pods, p, tmp) {
		if (crib_filter_match_pod(f, p))
			(*ret)[n++] = crib_pb_pod(a, p);
	}
	return n;
}

void crib_cri_list_pods(struct crib_rpc *rpc)
{
	const Runtime__V1__ListPodSandboxRequest *req = (const void *)rpc->req;
	Runtime__V1__ListPodSandboxResponse resp = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_arena a = {0};
	struct crib_filter f;

	crib_filter_pods(&d->reg, req->filter, &f);
	resp.n_items = matching_pods(d, &f, &a, &resp.items);
	crib_cri_reply(rpc, &resp.base);
	crib_arena_release(&a);
}

void crib_cri_stream_pods(struct crib_rpc *rpc)
{
	const Runtime__V1__StreamPodSandboxesRequest *req = (const void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	Runtime__V1__PodSandbox **items;
	struct crib_arena a = {0};
	struct crib_filter f;
	size_t n;

	crib_filter_pods(&d->reg, req->filter, &f);
	n = matching_pods(d, &f, &a, &items);
	for (size_t i = 0; i < n; i += STREAM_CHUNK) {
		Runtime__V1__StreamPodSandboxesResponse resp =
		    RUNTIME__V1__STREAM_POD_SANDBOXES_RESPONSE__INIT;

		resp.pod_sandboxes = items + i;
		resp.n_pod_sandboxes = n - i < STREAM_CHUNK ? n - i : STREAM_CHUNK;
		(void)crib_rpc_stream_send(rpc, &resp.base);
	}
	crib_rpc_stream_finish(rpc, GRPC_STATUS_OK, "%s", "");
	crib_arena_release(&a);
}

/* UpdatePodSandboxResources: best effort per CRI, but a backend that cannot is told plainly. */

static void update_pod_done(struct crib_op *op)
{
	Runtime__V1__UpdatePodSandboxResourcesResponse resp =
	    RUNTIME__V1__UPDATE_POD_SANDBOX_RESOURCES_RESPONSE__INIT;
	struct crib_req *pr = op->data;

	crib_req_end(pr, op->r < 0 ? op->err : NULL, &resp.base);
	crib_op_free(op);
}

static void update_pod_locked(struct crib_req *pr)
{
	struct crib_pod *p = pr->pod;
	struct crib_op *op;

	if (!crib_req_still_there(pr))
		return;
	op = crib_op_new(CRIB_OP_POD_UPDATE, p->cls->backend, update_pod_done, pr);
	crib_op_set_pod(op, p->id, &p->cls->pub, p->priv, p->priv_len);
	op->req = crib_xmemdup(GRPC_SLICE_START_PTR(pr->rpc->raw), GRPC_SLICE_LENGTH(pr->rpc->raw));
	op->req_len = op->req ? GRPC_SLICE_LENGTH(pr->rpc->raw) : 0;
	crib_req_start_op(pr, op);
}

void crib_cri_update_pod_resources(struct crib_rpc *rpc)
{
	const Runtime__V1__UpdatePodSandboxResourcesRequest *req = (const void *)rpc->req;
	struct crib_pod *p = crib_cri_find_pod(rpc, req->pod_sandbox_id);
	struct crib_backend *b;

	if (!p)
		return;
	b = p->cls->backend;
	if (!b->ops || !(b->ops->caps & CRIB_CAP_POD_UPDATE) ||
	    !CRIB_BACKEND_HAS_OP(b->ops, pod_update)) {
		crib_cri_failf(rpc, ENOTSUP,
		               "UpdatePodSandboxResources: runtime class '%s' (backend '%s') does "
		               "not support updating pod resources",
		               p->cls->pub.name, p->cls->backend_name);
		return;
	}
	crib_req_lock(rpc, p, NULL, update_pod_locked);
}
