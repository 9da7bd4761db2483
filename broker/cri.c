/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cri.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "methods.h"
#include "op.h"
#include "pb.h"
#include "rpc.h"

#define LOG_CAT "cri"

struct crib_daemon *crib_cri_daemon(struct crib_rpc *rpc)
{
	return crib_rpc_server_user(rpc->srv);
}

static double elapsed_ms(const struct crib_rpc *rpc)
{
	return (double)(crib_mono_ns() - rpc->started_ns) / 1e6;
}

void crib_cri_reply(struct crib_rpc *rpc, const ProtobufCMessage *resp)
{
	log_debug("%s OK (%.3f ms)", crib_rpc_method_name(rpc), elapsed_ms(rpc));
	crib_rpc_reply(rpc, resp);
}

static int fail_level(grpc_status_code code)
{
	switch (code) {
	case GRPC_STATUS_UNIMPLEMENTED:
		return CRIB_LOG_DEBUG;
	case GRPC_STATUS_NOT_FOUND:
	case GRPC_STATUS_ALREADY_EXISTS:
	case GRPC_STATUS_INVALID_ARGUMENT:
	case GRPC_STATUS_FAILED_PRECONDITION:
	case GRPC_STATUS_DEADLINE_EXCEEDED:
		return CRIB_LOG_INFO;
	default:
		return CRIB_LOG_ERR;
	}
}

void crib_cri_fail(struct crib_rpc *rpc, const struct crib_error *err)
{
	grpc_status_code code = crib_grpc_code_from_errno(err ? err->errnum : EIO);

	crib_log(fail_level(code), LOG_CAT, "%s failed (%s): %s", crib_rpc_method_name(rpc),
	         crib_grpc_code_name(code), crib_error_msg(err));
	crib_rpc_fail_error(rpc, err);
}

void crib_cri_failf(struct crib_rpc *rpc, int errnum, const char *fmt, ...)
{
	struct crib_error *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	(void)crib_error_setv(&err, errnum, fmt, ap);
	va_end(ap);
	crib_cri_fail(rpc, err);
	crib_error_free(err);
}

static void req_locked(struct crib_waiter *w)
{
	struct crib_req *r = container_of(w, struct crib_req, w);

	r->cb(r);
}

void crib_req_lock(struct crib_rpc *rpc, struct crib_pod *p, struct crib_container *c,
                   crib_req_cb cb)
{
	struct crib_req *r = crib_xcalloc(1, sizeof(*r));

	r->d = crib_cri_daemon(rpc);
	r->rpc = rpc;
	r->pod = crib_pod_ref(p);
	r->ctr = c ? crib_container_ref(c) : NULL;
	r->cb = cb;
	crib_pod_lock(p, &r->w, req_locked);
}

void crib_req_end(struct crib_req *r, const struct crib_error *err, const ProtobufCMessage *resp)
{
	if (err)
		crib_cri_fail(r->rpc, err);
	else
		crib_cri_reply(r->rpc, resp);
	crib_pod_unlock(r->pod);
	crib_container_unref(r->ctr);
	crib_pod_unref(r->pod);
	free(r);
}

void crib_req_endf(struct crib_req *r, int errnum, const char *fmt, ...)
{
	struct crib_error *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	(void)crib_error_setv(&err, errnum, fmt, ap);
	va_end(ap);
	crib_req_end(r, err, NULL);
	crib_error_free(err);
}

bool crib_req_still_there(struct crib_req *r)
{
	if (r->ctr && !r->ctr->listed) {
		crib_req_endf(r, ENOENT, CRIB_CONTAINER_NOT_FOUND, r->ctr->id);
		return false;
	}
	if (!r->pod->listed) {
		crib_req_endf(r, ENOENT, CRIB_POD_NOT_FOUND, r->pod->id);
		return false;
	}
	return true;
}

void crib_req_start_op(struct crib_req *r, struct crib_op *op)
{
	int e = crib_daemon_op_start(r->d, op);

	if (e < 0) {
		crib_op_free(op);
		crib_req_endf(r, -e, "Failed to queue a backend operation: %s", uv_strerror(e));
	}
}

int crib_cri_new_object(struct crib_daemon *d, const ProtobufCMessage *config, const char *field,
                        char id[CRIB_ID_LEN + 1], uint8_t **ret_blob, size_t *ret_len,
                        struct crib_error **reterr)
{
	int r = crib_registry_new_id(&d->reg, id);

	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to make an id: %s", strerror(-r));
	if (crib_pb_pack_checked(config, ret_blob, ret_len) < 0)
		return crib_error_set(reterr, EINVAL,
		                      "%s does not encode back into a valid %s (a field number 0?)",
		                      field, config->descriptor->short_name);
	return 0;
}

static void unimplemented(struct crib_rpc *rpc)
{
	const char *path = rpc->method->path;

	crib_log(CRIB_LOG_DEBUG, LOG_CAT, "%s is not implemented", path);
	if (rpc->method->server_streaming)
		crib_rpc_stream_finish(rpc, GRPC_STATUS_UNIMPLEMENTED,
		                       "%s is not implemented by cribd", path + 1);
	else
		crib_rpc_fail(rpc, GRPC_STATUS_UNIMPLEMENTED, "%s is not implemented by cribd",
		              path + 1);
}

void crib_cri_dispatch(struct crib_rpc *rpc)
{
	switch ((enum crib_method_id)rpc->method->id) {
	case CRIB_M_VERSION:
		crib_cri_version(rpc);
		break;
	case CRIB_M_STATUS:
		crib_cri_status(rpc);
		break;
	case CRIB_M_RUNTIME_CONFIG:
		crib_cri_runtime_config(rpc);
		break;
	case CRIB_M_UPDATE_RUNTIME_CONFIG:
		crib_cri_update_runtime_config(rpc);
		break;
	case CRIB_M_RUN_POD_SANDBOX:
		crib_cri_run_pod(rpc);
		break;
	case CRIB_M_STOP_POD_SANDBOX:
		crib_cri_stop_pod(rpc);
		break;
	case CRIB_M_REMOVE_POD_SANDBOX:
		crib_cri_remove_pod(rpc);
		break;
	case CRIB_M_POD_SANDBOX_STATUS:
		crib_cri_pod_status(rpc);
		break;
	case CRIB_M_LIST_POD_SANDBOX:
		crib_cri_list_pods(rpc);
		break;
	case CRIB_M_STREAM_POD_SANDBOXES:
		crib_cri_stream_pods(rpc);
		break;
	case CRIB_M_UPDATE_POD_SANDBOX_RESOURCES:
		crib_cri_update_pod_resources(rpc);
		break;
	case CRIB_M_CREATE_CONTAINER:
		crib_cri_create_container(rpc);
		break;
	case CRIB_M_START_CONTAINER:
		crib_cri_start_container(rpc);
		break;
	case CRIB_M_STOP_CONTAINER:
		crib_cri_stop_container(rpc);
		break;
	case CRIB_M_REMOVE_CONTAINER:
		crib_cri_remove_container(rpc);
		break;
	case CRIB_M_CONTAINER_STATUS:
		crib_cri_container_status(rpc);
		break;
	case CRIB_M_LIST_CONTAINERS:
		crib_cri_list_containers(rpc);
		break;
	case CRIB_M_STREAM_CONTAINERS:
		crib_cri_stream_containers(rpc);
		break;
	case CRIB_M_UPDATE_CONTAINER_RESOURCES:
		crib_cri_update_container_resources(rpc);
		break;
	case CRIB_M_REOPEN_CONTAINER_LOG:
		crib_cri_reopen_container_log(rpc);
		break;
	case CRIB_M_EXEC_SYNC:
		crib_cri_exec_sync(rpc);
		break;
	case CRIB_M_CONTAINER_STATS:
		crib_cri_container_stats(rpc);
		break;
	case CRIB_M_LIST_CONTAINER_STATS:
	case CRIB_M_STREAM_CONTAINER_STATS:
		crib_cri_list_container_stats(rpc);
		break;
	case CRIB_M_POD_SANDBOX_STATS:
		crib_cri_pod_stats(rpc);
		break;
	case CRIB_M_LIST_POD_SANDBOX_STATS:
	case CRIB_M_STREAM_POD_SANDBOX_STATS:
		crib_cri_list_pod_stats(rpc);
		break;
	case CRIB_M_GET_CONTAINER_EVENTS:
		crib_cri_get_container_events(rpc);
		break;
	case CRIB_M_PULL_IMAGE:
		crib_cri_pull_image(rpc);
		break;
	case CRIB_M_IMAGE_STATUS:
		crib_cri_image_status(rpc);
		break;
	case CRIB_M_LIST_IMAGES:
	case CRIB_M_STREAM_IMAGES:
		crib_cri_list_images(rpc);
		break;
	case CRIB_M_REMOVE_IMAGE:
		crib_cri_remove_image(rpc);
		break;
	case CRIB_M_IMAGE_FS_INFO:
		crib_cri_image_fs_info(rpc);
		break;
	case CRIB_M_EXEC:
		crib_cri_exec(rpc);
		break;
	case CRIB_M_ATTACH:
		crib_cri_attach(rpc);
		break;
	case CRIB_M_PORT_FORWARD:
		crib_cri_port_forward(rpc);
		break;
	/* Served by later work: checkpoints, metrics. */
	case CRIB_M_CHECKPOINT_CONTAINER:
	case CRIB_M_CHECKPOINT_POD:
	case CRIB_M_RESTORE_POD:
	case CRIB_M_LIST_METRIC_DESCRIPTORS:
	case CRIB_M_LIST_POD_SANDBOX_METRICS:
	case CRIB_M_STREAM_POD_SANDBOX_METRICS:
	case CRIB_M_COUNT:
		unimplemented(rpc);
		break;
	}
}
