/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribd's gRPC server, on grpc core's C API.
 *
 * One thread drains the completion queue and does nothing else: it re-arms
 * the request slot of a method as soon as a call arrives and posts every
 * event to the loop through the mailbox.  The loop unpacks the request,
 * runs the handler and answers; grpc core's batch calls are thread-safe, so
 * answering from the loop needs no hop back.  Unary calls are answered with
 * one batch (initial metadata, message, status, close); server-streaming
 * calls send one message at a time from a bounded queue and finish with a
 * status once it has drained.
 */
#ifndef CRIB_BROKER_RPC_H
#define CRIB_BROKER_RPC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "mailbox.h"
#include "util.h"

struct crib_error;
struct crib_rpc;
struct crib_rpc_server;

struct crib_method {
	int id;           /* the server user's own enum */
	const char *path; /* "/runtime.v1.RuntimeService/Version" */
	const ProtobufCMessageDescriptor *request;
	bool server_streaming;
};

typedef void (*crib_rpc_handler)(struct crib_rpc *rpc);
typedef void (*crib_rpc_cb)(struct crib_rpc *rpc);

enum crib_rpc_tag_kind {
	CRIB_TAG_SLOT,
	CRIB_TAG_SEND,
	CRIB_TAG_CLOSE,
	CRIB_TAG_FINAL,
	CRIB_TAG_SHUTDOWN,
};

struct crib_rpc_tag {
	struct crib_msg msg;
	enum crib_rpc_tag_kind kind;
	bool ok;
	struct crib_rpc *rpc;
};

struct crib_rpc {
	struct crib_rpc_server *srv;
	const struct crib_method *method;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_byte_buffer *payload;
	grpc_slice raw;        /* the request in wire format */
	ProtobufCMessage *req; /* unpacked, owned */
	char *unknown_path;    /* for calls to methods outside the proto (gpr_malloc'd) */
	int64_t started_ns;    /* monotonic */
	void *ctx;             /* the handler's */
	unsigned pending;      /* batches in flight */
	/*
	 * Released by the loop when it starts a batch, acquired by the
	 * completion-queue thread before it frees an answered call: the hand-off
	 * goes through grpc's own locks too, but stating it here lets
	 * ThreadSanitizer (which cannot see inside grpc) check the rest.
	 */
	atomic_uint handoff;
	bool answered;

	/* Server streaming. */
	bool streaming;
	bool metadata_sent;
	bool client_gone;
	int cancelled;
	struct crib_list outq; /* queued messages (struct crib_rpc_out) */
	size_t outq_len;
	grpc_byte_buffer *send_bb;  /* the message in flight; grpc borrows its shell */
	grpc_byte_buffer *final_bb; /* the unary answer in flight */
	bool finish_pending;
	grpc_status_code final_code;
	char *final_msg;
	crib_rpc_cb on_client_gone; /* the handler's, for long-lived streams */

	struct crib_rpc_tag t_new;
	struct crib_rpc_tag t_send;
	struct crib_rpc_tag t_close;
	struct crib_rpc_tag t_final;
};

/*
 * Starts serving METHODS on the unix socket PATH (mode 0660; a stale socket
 * file is replaced).  HANDLER runs on the loop for every call whose request
 * unpacked.  The server posts to MAILBOX; the mailbox's dispatch must hand
 * CRIB_MSG_RPC_* and CRIB_MSG_SERVER_OFF messages to crib_rpc_server_msg().
 */
/*
 * Called as each call is answered (on the thread answering it) with the
 * server's USER, the method id, the status code and the time since arrival.
 */
typedef void (*crib_rpc_observer)(void *user, unsigned method, unsigned code, int64_t ns);
void crib_rpc_server_observe(struct crib_rpc_server *srv, crib_rpc_observer fn);

int crib_rpc_server_start(const char *path, const struct crib_method *methods, size_t n_methods,
                          crib_rpc_handler handler, void *user, struct crib_mailbox *mailbox,
                          struct crib_rpc_server **ret, struct crib_error **reterr);

void *crib_rpc_server_user(struct crib_rpc_server *srv);
unsigned crib_rpc_server_live_calls(struct crib_rpc_server *srv);

/* Loop side of the server's messages. */
void crib_rpc_server_msg(struct crib_rpc_server *srv, struct crib_msg *msg);

/*
 * Stops taking new calls; calls in flight may still answer.  When CANCEL is
 * set, calls in flight are cancelled too.  DONE runs on the loop once the
 * server is shut down and every call has been freed; the server is then
 * destroyed.
 */
void crib_rpc_server_shutdown(struct crib_rpc_server *srv, bool cancel, void (*done)(void *user),
                              void *user);
void crib_rpc_server_cancel_all(struct crib_rpc_server *srv);

/*
 * Unary answers: exactly one of these per unary call.  The call must not be
 * touched afterwards: the completion-queue thread frees it once sent.
 */
void crib_rpc_reply(struct crib_rpc *rpc, const ProtobufCMessage *resp);
void crib_rpc_fail(struct crib_rpc *rpc, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fails with the status err's errno maps to (see api/crib/backend.h) and its message. */
void crib_rpc_fail_error(struct crib_rpc *rpc, const struct crib_error *err);

/* Server streaming. */
int crib_rpc_stream_send(struct crib_rpc *rpc, const ProtobufCMessage *msg);
void crib_rpc_stream_finish(struct crib_rpc *rpc, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Messages queued and not yet sent. */
size_t crib_rpc_stream_backlog(const struct crib_rpc *rpc);

grpc_status_code crib_grpc_code_from_errno(int errnum);
const char *crib_grpc_code_name(grpc_status_code code);
/* The method's name without the service path, e.g. "Version". */
const char *crib_rpc_method_name(const struct crib_rpc *rpc);

#endif /* CRIB_BROKER_RPC_H */
