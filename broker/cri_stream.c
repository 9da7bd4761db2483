/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exec, Attach and PortForward: each checks what it can now (the object,
 * its state, what its backend can do, the request's shape) and answers with
 * a single-use URL on cribd's streaming server, where the work happens once
 * the client connects (stream_server.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "cni.h"
#include "backend.h"
#include "cri.h"
#include "daemon.h"
#include "error.h"
#include "pb.h"
#include "registry.h"
#include "router.h"
#include "rpc.h"
#include "stream_server.h"

/* Packs the request for the session and answers with its URL. */
static void answer_url(struct crib_rpc *rpc, enum crib_stream_kind kind, const char *id,
                       ProtobufCMessage *resp, char **url_field)
{
	struct crib_stream_request r = {.kind = kind, .id = crib_xstrdup(id)};
	struct crib_error *err = NULL;
	char *url = NULL;

	r.req = crib_pb_pack(rpc->req, &r.req_len);
	if (crib_stream_server_url(crib_cri_daemon(rpc)->streams, &r, &url, &err) < 0) {
		crib_stream_request_clear(&r);
		crib_cri_fail(rpc, err);
		crib_error_free(err);
		return;
	}
	*url_field = url;
	crib_cri_reply(rpc, resp);
	free(url);
}

/* The checks Exec and Attach share; false once answered. */
static bool container_streamable(struct crib_rpc *rpc, struct crib_container *c, bool in, bool out,
                                 bool err, bool tty, const char *what)
{
	if (!in && !out && !err) {
		crib_cri_failf(rpc, EINVAL, "one of stdin, stdout and stderr must be set");
		return false;
	}
	if (tty && err) {
		crib_cri_failf(rpc, EINVAL,
		               "tty and stderr cannot both be set: a terminal has one output");
		return false;
	}
	if (c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING) {
		crib_cri_failf(rpc, EBUSY, "Container '%s' is not running", c->id);
		return false;
	}
	return crib_cri_backend_can(rpc, c, CRIB_CAP_STREAMS,
	                            CRIB_BACKEND_HAS_OP(c->pod->cls->backend->ops, stream_close),
	                            what);
}

void crib_cri_exec(struct crib_rpc *rpc)
{
	const Runtime__V1__ExecRequest *req = (const void *)rpc->req;
	Runtime__V1__ExecResponse resp = RUNTIME__V1__EXEC_RESPONSE__INIT;
	struct crib_container *c = crib_cri_find_container(rpc, req->container_id);

	if (!c)
		return;
	if (req->n_cmd == 0 || isempty(req->cmd[0])) {
		crib_cri_failf(rpc, EINVAL, "ExecRequest.cmd is required");
		return;
	}
	if (!container_streamable(rpc, c, req->stdin, req->stdout, req->stderr, req->tty, "Exec"))
		return;
	answer_url(rpc, CRIB_STREAM_EXEC, c->id, &resp.base, &resp.url);
}

void crib_cri_attach(struct crib_rpc *rpc)
{
	const Runtime__V1__AttachRequest *req = (const void *)rpc->req;
	Runtime__V1__AttachResponse resp = RUNTIME__V1__ATTACH_RESPONSE__INIT;
	struct crib_container *c = crib_cri_find_container(rpc, req->container_id);

	if (!c)
		return;
	if (req->stdin && c->config && !c->config->stdin) {
		crib_cri_failf(rpc, EINVAL,
		               "AttachRequest.stdin: container '%s' was created without stdin",
		               c->id);
		return;
	}
	if (c->config && req->tty != c->config->tty) {
		crib_cri_failf(rpc, EINVAL, "AttachRequest.tty must match container '%s' (tty %s)",
		               c->id, c->config->tty ? "true" : "false");
		return;
	}
	if (!container_streamable(rpc, c, req->stdin, req->stdout, req->stderr, req->tty, "Attach"))
		return;
	answer_url(rpc, CRIB_STREAM_ATTACH, c->id, &resp.base, &resp.url);
}

void crib_cri_port_forward(struct crib_rpc *rpc)
{
	const Runtime__V1__PortForwardRequest *req = (const void *)rpc->req;
	Runtime__V1__PortForwardResponse resp = RUNTIME__V1__PORT_FORWARD_RESPONSE__INIT;
	struct crib_pod *p = crib_cri_find_pod(rpc, req->pod_sandbox_id);

	if (!p)
		return;
	for (size_t i = 0; i < req->n_port; i++) {
		if (req->port[i] < 1 || req->port[i] > 65535) {
			crib_cri_failf(rpc, EINVAL,
			               "PortForwardRequest.port[%zu] %d is not a TCP port", i,
			               req->port[i]);
			return;
		}
	}
	if (p->state != RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY) {
		crib_cri_failf(rpc, EBUSY, "Pod sandbox '%s' is not ready", p->id);
		return;
	}
	/*
	 * Without a namespace of its own the pod must share the host's, or its
	 * backend must make the connections, or there is no way in.
	 */
	if (!p->netns && !(p->config && crib_cni_host_network(p->config)) &&
	    !crib_backend_can_port_forward(p->cls->backend)) {
		crib_cri_failf(rpc, ENOTSUP,
		               "PortForward: pod sandbox '%s' has no network namespace cribd can "
		               "enter",
		               p->id);
		return;
	}
	answer_url(rpc, CRIB_STREAM_PORT_FORWARD, p->id, &resp.base, &resp.url);
}
