/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>

#include "error.h"
#include "log.h"
#include "rpc.h"

#define LOG_CAT "grpc"

/* Outstanding request slots per method: more lets bursts of one method start without waiting for a
 * re-arm. */
#define SLOTS_PER_METHOD 2
/* Kubelet sends at most 16 MiB; anything bigger is not a CRI request. */
#define MAX_RECEIVE_BYTES (16 * 1024 * 1024)

struct slot {
	struct crib_rpc_tag tag;
	struct crib_rpc_server *srv;
	const struct crib_method *method;
	void *handle; /* NULL: the generic slot, for methods nobody registered */
	grpc_call_details details;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_byte_buffer *payload;
};

struct crib_rpc_out {
	struct crib_list link;
	grpc_byte_buffer *bb;
};

struct crib_rpc_server {
	grpc_server *server;
	grpc_completion_queue *cq;
	pthread_t thread;
	bool thread_started;
	struct crib_mailbox *mailbox;
	const struct crib_method *methods;
	size_t n_methods;
	struct slot *slots;
	size_t n_slots;
	crib_rpc_handler handler;
	void *user;
	crib_rpc_observer observe;
	atomic_uint n_live; /* calls taken and not yet freed */
	struct crib_rpc_tag t_shutdown;
	/* Set on the loop; read by the completion-queue thread to stop freeing calls itself. */
	atomic_bool shutting_down;
	bool server_off;
	void (*off_cb)(void *user);
	void *off_user;
	char *path;
};

grpc_status_code crib_grpc_code_from_errno(int errnum)
{
	switch (errnum) {
	case ENOENT:
	case ESRCH:
		return GRPC_STATUS_NOT_FOUND;
	case EEXIST:
		return GRPC_STATUS_ALREADY_EXISTS;
	case EINVAL:
	case E2BIG:
	case ENAMETOOLONG:
		return GRPC_STATUS_INVALID_ARGUMENT;
	case EBUSY:
	case ENOTEMPTY:
	case EALREADY:
	case ENOEXEC:
		return GRPC_STATUS_FAILED_PRECONDITION;
	case ENOTSUP:
	case ENOSYS:
		return GRPC_STATUS_UNIMPLEMENTED;
	case EAGAIN:
	case ECONNREFUSED:
	case ENOTCONN:
	case EHOSTUNREACH:
	case ECONNRESET:
	case EPIPE:
		return GRPC_STATUS_UNAVAILABLE;
	case ETIMEDOUT:
		return GRPC_STATUS_DEADLINE_EXCEEDED;
	case EPERM:
	case EACCES:
		return GRPC_STATUS_PERMISSION_DENIED;
	case ENOMEM:
	case ENOSPC:
	case EMFILE:
	case ENFILE:
	case EDQUOT:
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	case ECANCELED:
		return GRPC_STATUS_CANCELLED;
	case EKEYREJECTED:
		return GRPC_STATUS_UNAUTHENTICATED;
	case EBADMSG:
		return GRPC_STATUS_DATA_LOSS;
	default:
		return GRPC_STATUS_INTERNAL;
	}
}

const char *crib_grpc_code_name(grpc_status_code code)
{
	static const char *const names[] = {
	    "OK",
	    "CANCELLED",
	    "UNKNOWN",
	    "INVALID_ARGUMENT",
	    "DEADLINE_EXCEEDED",
	    "NOT_FOUND",
	    "ALREADY_EXISTS",
	    "PERMISSION_DENIED",
	    "RESOURCE_EXHAUSTED",
	    "FAILED_PRECONDITION",
	    "ABORTED",
	    "OUT_OF_RANGE",
	    "UNIMPLEMENTED",
	    "INTERNAL",
	    "UNAVAILABLE",
	    "DATA_LOSS",
	    "UNAUTHENTICATED",
	};

	if ((unsigned)code < ARRAY_SIZE(names))
		return names[code];
	return "UNKNOWN";
}

const char *crib_rpc_method_name(const struct crib_rpc *rpc)
{
	const char *slash = strrchr(rpc->method->path, '/');

	return slash ? slash + 1 : rpc->method->path;
}

void *crib_rpc_server_user(struct crib_rpc_server *srv)
{
	return srv->user;
}

unsigned crib_rpc_server_live_calls(struct crib_rpc_server *srv)
{
	return atomic_load(&srv->n_live);
}

/* What calls to methods outside the CRI proto are answered as. */
static const struct crib_method unknown_method = {
    .id = -1,
    .path = "/unknown",
};

/* Completion-queue thread. */

static void request_slot(struct slot *s)
{
	grpc_call_error e;

	s->call = NULL;
	s->payload = NULL;
	grpc_metadata_array_init(&s->md);
	if (!s->handle) {
		grpc_call_details_init(&s->details);
		e = grpc_server_request_call(s->srv->server, &s->call, &s->details, &s->md,
		                             s->srv->cq, s->srv->cq, &s->tag);
	} else {
		e = grpc_server_request_registered_call(s->srv->server, s->handle, &s->call,
		                                        &s->deadline, &s->md, &s->payload,
		                                        s->srv->cq, s->srv->cq, &s->tag);
	}
	if (e != GRPC_CALL_OK)
		crib_log(CRIB_LOG_ERR, LOG_CAT, "Failed to request calls of '%s': %s",
		         s->method->path, grpc_call_error_to_string(e));
}

static struct crib_rpc *rpc_from_slot(struct slot *s)
{
	struct crib_rpc *rpc = crib_xcalloc(1, sizeof(*rpc));

	rpc->srv = s->srv;
	rpc->method = s->method;
	if (!s->handle) {
		rpc->unknown_path = grpc_slice_to_c_string(s->details.method);
		rpc->deadline = s->details.deadline;
		grpc_call_details_destroy(&s->details);
	}
	rpc->call = s->call;
	rpc->deadline = s->deadline;
	rpc->md = s->md;
	rpc->payload = s->payload;
	rpc->started_ns = crib_mono_ns();
	rpc->raw = grpc_empty_slice();
	crib_list_init(&rpc->outq);
	atomic_fetch_add(&s->srv->n_live, 1);
	rpc->t_new = (struct crib_rpc_tag){.msg.kind = CRIB_MSG_RPC_NEW, .rpc = rpc};
	rpc->t_send = (struct crib_rpc_tag){
	    .msg.kind = CRIB_MSG_RPC_BATCH, .kind = CRIB_TAG_SEND, .rpc = rpc};
	rpc->t_close = (struct crib_rpc_tag){
	    .msg.kind = CRIB_MSG_RPC_BATCH, .kind = CRIB_TAG_CLOSE, .rpc = rpc};
	rpc->t_final = (struct crib_rpc_tag){
	    .msg.kind = CRIB_MSG_RPC_BATCH, .kind = CRIB_TAG_FINAL, .rpc = rpc};
	return rpc;
}

static void rpc_free(struct crib_rpc *rpc);

static void *cq_thread(void *arg)
{
	struct crib_rpc_server *srv = arg;

	for (;;) {
		grpc_event ev =
		    grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		struct crib_rpc_tag *t;

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		t = ev.tag;
		/* A call's tag was handed over with its batch; take it back (see handoff). */
		if (t->rpc)
			(void)atomic_load_explicit(&t->rpc->handoff, memory_order_acquire);
		t->ok = ev.success != 0;
		switch (t->kind) {
		case CRIB_TAG_SLOT: {
			struct slot *s = container_of(t, struct slot, tag);
			struct crib_rpc *rpc;

			if (!t->ok)
				break; /* the server is shutting down */
			rpc = rpc_from_slot(s);
			/* The call first, then the re-arm: the loop starts while we ask for more.
			 */
			crib_mailbox_post(srv->mailbox, &rpc->t_new.msg);
			request_slot(s);
			break;
		}
		case CRIB_TAG_FINAL:
			/*
			 * A unary call is done with once answered: the loop never touches it
			 * again, so it is freed here rather than waking the loop.  While
			 * shutting down the loop counts the last calls itself.
			 */
			if (!t->rpc->streaming && !atomic_load(&srv->shutting_down)) {
				rpc_free(t->rpc);
				atomic_fetch_sub(&srv->n_live, 1);
				break;
			}
			crib_mailbox_post(srv->mailbox, &t->msg);
			break;
		case CRIB_TAG_SHUTDOWN:
		case CRIB_TAG_SEND:
		case CRIB_TAG_CLOSE:
			crib_mailbox_post(srv->mailbox, &t->msg);
			break;
		}
	}
	return NULL;
}

/* Loop thread. */

static void rpc_free(struct crib_rpc *rpc)
{
	struct crib_list *n;

	while ((n = crib_list_pop(&rpc->outq))) {
		struct crib_rpc_out *m = container_of(n, struct crib_rpc_out, link);

		grpc_byte_buffer_destroy(m->bb);
		free(m);
	}
	if (rpc->send_bb)
		grpc_byte_buffer_destroy(rpc->send_bb);
	if (rpc->final_bb)
		grpc_byte_buffer_destroy(rpc->final_bb);
	if (rpc->req)
		protobuf_c_message_free_unpacked(rpc->req, NULL);
	grpc_slice_unref(rpc->raw);
	if (rpc->payload)
		grpc_byte_buffer_destroy(rpc->payload);
	grpc_metadata_array_destroy(&rpc->md);
	if (rpc->call)
		grpc_call_unref(rpc->call);
	gpr_free(rpc->unknown_path);
	free(rpc->final_msg);
	free(rpc);
}

static void maybe_finish_shutdown(struct crib_rpc_server *srv);

static void rpc_maybe_free(struct crib_rpc *rpc)
{
	struct crib_rpc_server *srv = rpc->srv;

	if (!rpc->answered || rpc->pending > 0)
		return;
	rpc_free(rpc);
	atomic_fetch_sub(&srv->n_live, 1);
	if (srv->shutting_down)
		maybe_finish_shutdown(srv);
}

static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(len);
	grpc_byte_buffer *bb;

	(void)protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

static void start_batch(struct crib_rpc *rpc, grpc_op *ops, size_t n, struct crib_rpc_tag *tag)
{
	grpc_call *call = rpc->call;
	grpc_call_error e;

	/*
	 * Everything about the call is settled before the hand-off: its completion
	 * may be handled (and an answered call freed) before grpc_call_start_batch
	 * returns.
	 */
	rpc->pending++;
	atomic_fetch_add_explicit(&rpc->handoff, 1, memory_order_release);
	e = grpc_call_start_batch(call, ops, n, tag, NULL);
	if (e != GRPC_CALL_OK) {
		/* Only a programming error gets here; answer the tag ourselves to stay consistent.
		 */
		log_err("Failed to start a batch on '%s': %s", rpc->method->path,
		        grpc_call_error_to_string(e));
		tag->ok = false;
		crib_mailbox_post(rpc->srv->mailbox, &tag->msg);
	}
}

static size_t add_metadata_op(struct crib_rpc *rpc, grpc_op *op)
{
	if (rpc->metadata_sent)
		return 0;
	memset(op, 0, sizeof(*op));
	op->op = GRPC_OP_SEND_INITIAL_METADATA;
	rpc->metadata_sent = true;
	return 1;
}

static void send_final(struct crib_rpc *rpc, grpc_byte_buffer *msg, grpc_status_code code,
                       const char *details)
{
	grpc_slice det = grpc_slice_from_copied_string(details ? details : "");
	grpc_op ops[4];
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	n += add_metadata_op(rpc, &ops[n]);
	if (msg) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = msg;
		rpc->final_bb = msg;
		n++;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = code;
	ops[n].data.send_status_from_server.status_details = &det;
	n++;
	if (!rpc->streaming) {
		ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
		ops[n].data.recv_close_on_server.cancelled = &rpc->cancelled;
		n++;
	}
	rpc->answered = true;
	if (rpc->srv->observe && rpc->method)
		rpc->srv->observe(rpc->srv->user, rpc->method->id, code,
		                  crib_mono_ns() - rpc->started_ns);
	start_batch(rpc, ops, n, &rpc->t_final);
	/* grpc copied the details into the call. */
	grpc_slice_unref(det);
}

void crib_rpc_reply(struct crib_rpc *rpc, const ProtobufCMessage *resp)
{
	send_final(rpc, pack(resp), GRPC_STATUS_OK, NULL);
}

static void fail_v(struct crib_rpc *rpc, grpc_status_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void fail_v(struct crib_rpc *rpc, grpc_status_code code, const char *fmt, va_list ap)
{
	char msg[2048];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	send_final(rpc, NULL, code, msg);
}

void crib_rpc_fail(struct crib_rpc *rpc, grpc_status_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(rpc, code, fmt, ap);
	va_end(ap);
}

void crib_rpc_fail_error(struct crib_rpc *rpc, const struct crib_error *err)
{
	crib_rpc_fail(rpc, crib_grpc_code_from_errno(err ? err->errnum : EIO), "%s",
	              crib_error_msg(err));
}

static void drop_queue(struct crib_rpc *rpc)
{
	struct crib_list *n;

	while ((n = crib_list_pop(&rpc->outq))) {
		struct crib_rpc_out *m = container_of(n, struct crib_rpc_out, link);

		grpc_byte_buffer_destroy(m->bb);
		free(m);
	}
	rpc->outq_len = 0;
}

/* Starts the next send, or the final status once the queue is empty and finish was asked. */
static void stream_pump(struct crib_rpc *rpc)
{
	struct crib_rpc_out *m;
	struct crib_list *n;
	grpc_op ops[2];
	size_t k = 0;

	if (rpc->send_bb || rpc->answered)
		return;
	if (rpc->client_gone)
		drop_queue(rpc);
	n = crib_list_pop(&rpc->outq);
	if (!n) {
		if (rpc->finish_pending)
			send_final(rpc, NULL, rpc->final_code, rpc->final_msg);
		return;
	}
	m = container_of(n, struct crib_rpc_out, link);
	rpc->outq_len--;
	rpc->send_bb = m->bb;
	free(m);

	memset(ops, 0, sizeof(ops));
	k += add_metadata_op(rpc, &ops[k]);
	ops[k].op = GRPC_OP_SEND_MESSAGE;
	ops[k].data.send_message.send_message = rpc->send_bb;
	k++;
	start_batch(rpc, ops, k, &rpc->t_send);
}

int crib_rpc_stream_send(struct crib_rpc *rpc, const ProtobufCMessage *msg)
{
	struct crib_rpc_out *m;

	if (rpc->client_gone || rpc->finish_pending || rpc->answered)
		return -EPIPE;
	m = crib_xcalloc(1, sizeof(*m));
	m->bb = pack(msg);
	crib_list_add_tail(&rpc->outq, &m->link);
	rpc->outq_len++;
	stream_pump(rpc);
	return 0;
}

void crib_rpc_stream_finish(struct crib_rpc *rpc, grpc_status_code code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (rpc->finish_pending || rpc->answered)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rpc->final_code = code;
	rpc->final_msg = crib_xstrdup(msg);
	rpc->finish_pending = true;
	stream_pump(rpc);
}

size_t crib_rpc_stream_backlog(const struct crib_rpc *rpc)
{
	return rpc->outq_len;
}

/* Server streams learn about a client that left from a RECV_CLOSE batch kept open. */
static void stream_begin(struct crib_rpc *rpc)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	rpc->streaming = true;
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &rpc->cancelled;
	start_batch(rpc, &op, 1, &rpc->t_close);
}

static bool read_request(struct crib_rpc *rpc)
{
	grpc_byte_buffer_reader reader;

	if (!rpc->payload) {
		crib_rpc_fail(rpc, GRPC_STATUS_INVALID_ARGUMENT,
		              "%s: the request message is missing", crib_rpc_method_name(rpc));
		return false;
	}
	if (!grpc_byte_buffer_reader_init(&reader, rpc->payload)) {
		crib_rpc_fail(rpc, GRPC_STATUS_INVALID_ARGUMENT,
		              "%s: the request message cannot be decompressed",
		              crib_rpc_method_name(rpc));
		return false;
	}
	grpc_slice_unref(rpc->raw);
	rpc->raw = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	grpc_byte_buffer_destroy(rpc->payload);
	rpc->payload = NULL;

	rpc->req =
	    protobuf_c_message_unpack(rpc->method->request, NULL, GRPC_SLICE_LENGTH(rpc->raw),
	                              GRPC_SLICE_START_PTR(rpc->raw));
	if (!rpc->req) {
		crib_rpc_fail(rpc, GRPC_STATUS_INVALID_ARGUMENT,
		              "%s: the request is not a valid %s message",
		              crib_rpc_method_name(rpc), rpc->method->request->name);
		return false;
	}
	return true;
}

static void on_new_call(struct crib_rpc_server *srv, struct crib_rpc *rpc)
{
	if (rpc->method->server_streaming)
		stream_begin(rpc);
	if (rpc->method == &unknown_method) {
		crib_rpc_fail(rpc, GRPC_STATUS_UNIMPLEMENTED,
		              "%s is not a method of CRI v1 (runtime.v1) as cribd knows it",
		              rpc->unknown_path ? rpc->unknown_path : "(unknown)");
		return;
	}
	if (srv->shutting_down) {
		if (rpc->streaming)
			crib_rpc_stream_finish(rpc, GRPC_STATUS_UNAVAILABLE,
			                       "cribd is shutting down");
		else
			crib_rpc_fail(rpc, GRPC_STATUS_UNAVAILABLE, "cribd is shutting down");
		return;
	}
	/* Once answered, a call may already be freed by the completion-queue thread. */
	if (!read_request(rpc))
		return;
	srv->handler(rpc);
}

static void on_batch(struct crib_rpc_tag *t)
{
	struct crib_rpc *rpc = t->rpc;

	rpc->pending--;
	switch (t->kind) {
	case CRIB_TAG_SEND:
		grpc_byte_buffer_destroy(rpc->send_bb);
		rpc->send_bb = NULL;
		if (!t->ok)
			rpc->client_gone = true;
		stream_pump(rpc);
		break;
	case CRIB_TAG_CLOSE:
		if (rpc->cancelled || !rpc->answered) {
			rpc->client_gone = true;
			if (!rpc->answered && rpc->on_client_gone)
				rpc->on_client_gone(rpc);
			stream_pump(rpc);
		}
		break;
	case CRIB_TAG_FINAL:
		if (rpc->final_bb) {
			grpc_byte_buffer_destroy(rpc->final_bb);
			rpc->final_bb = NULL;
		}
		break;
	default:
		break;
	}
	rpc_maybe_free(rpc);
}

void crib_rpc_server_msg(struct crib_rpc_server *srv, struct crib_msg *msg)
{
	struct crib_rpc_tag *t = container_of(msg, struct crib_rpc_tag, msg);

	switch (msg->kind) {
	case CRIB_MSG_RPC_NEW:
		on_new_call(srv, t->rpc);
		break;
	case CRIB_MSG_RPC_BATCH:
		on_batch(t);
		break;
	case CRIB_MSG_SERVER_OFF:
		srv->server_off = true;
		maybe_finish_shutdown(srv);
		break;
	default:
		break;
	}
}

/* Start-up and shutdown. */

static int prepare_socket(const char *path, struct crib_error **reterr)
{
	_cleanup_free_ char *dir = crib_xstrdup(path);
	char *slash = strrchr(dir, '/');
	struct stat st;
	int r;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return crib_error_set(reterr, ENAMETOOLONG, "Socket path '%s' is too long", path);
	if (slash && slash != dir) {
		*slash = '\0';
		r = crib_mkdir_p(dir, 0755);
		if (r < 0)
			return crib_error_set(reterr, -r, "Failed to create '%s': %s", dir,
			                      strerror(-r));
	}
	/* cribd holds the run_dir lock, so a socket left here is a dead daemon's. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return crib_error_set(
			    reterr, EEXIST,
			    "'%s' exists and is not a socket; refusing to replace "
			    "it",
			    path);
		if (unlink(path) < 0)
			return crib_error_set(reterr, errno,
			                      "Failed to remove stale socket '%s': %s", path,
			                      strerror(errno));
	}
	return 0;
}

static void server_free(struct crib_rpc_server *srv)
{
	if (srv->server)
		grpc_server_destroy(srv->server);
	if (srv->cq) {
		grpc_completion_queue_shutdown(srv->cq);
		if (srv->thread_started)
			(void)pthread_join(srv->thread, NULL);
		grpc_completion_queue_destroy(srv->cq);
	}
	for (size_t i = 0; i < srv->n_slots; i++) {
		grpc_metadata_array_destroy(&srv->slots[i].md);
		if (!srv->slots[i].handle && srv->slots[i].srv)
			grpc_call_details_destroy(&srv->slots[i].details);
		if (srv->slots[i].payload)
			grpc_byte_buffer_destroy(srv->slots[i].payload);
		if (srv->slots[i].call)
			grpc_call_unref(srv->slots[i].call);
	}
	free(srv->slots);
	free(srv->path);
	free(srv);
	grpc_shutdown();
}

void crib_rpc_server_observe(struct crib_rpc_server *srv, crib_rpc_observer fn)
{
	srv->observe = fn;
}

int crib_rpc_server_start(const char *path, const struct crib_method *methods, size_t n_methods,
                          crib_rpc_handler handler, void *user, struct crib_mailbox *mailbox,
                          struct crib_rpc_server **ret, struct crib_error **reterr)
{
	struct crib_rpc_server *srv;
	grpc_server_credentials *creds;
	grpc_arg args[1];
	grpc_channel_args chargs = {.num_args = 1, .args = args};
	_cleanup_free_ char *addr = NULL;
	int r;

	r = prepare_socket(path, reterr);
	if (r < 0)
		return r;

	grpc_init();
	srv = crib_xcalloc(1, sizeof(*srv));
	srv->mailbox = mailbox;
	srv->methods = methods;
	srv->n_methods = n_methods;
	srv->handler = handler;
	srv->user = user;
	srv->path = crib_xstrdup(path);
	srv->t_shutdown =
	    (struct crib_rpc_tag){.msg.kind = CRIB_MSG_SERVER_OFF, .kind = CRIB_TAG_SHUTDOWN};

	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = MAX_RECEIVE_BYTES;
	srv->server = grpc_server_create(&chargs, NULL);
	srv->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(srv->server, srv->cq, NULL);

	srv->n_slots = n_methods * SLOTS_PER_METHOD + 1;
	srv->slots = crib_xcalloc(srv->n_slots, sizeof(*srv->slots));
	srv->slots[srv->n_slots - 1] = (struct slot){
	    .tag.kind = CRIB_TAG_SLOT,
	    .srv = srv,
	    .method = &unknown_method,
	};
	for (size_t i = 0; i < n_methods; i++) {
		void *h = grpc_server_register_method(srv->server, methods[i].path, NULL,
		                                      GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);

		if (!h) {
			server_free(srv);
			return crib_error_set(reterr, EINVAL, "Failed to register method '%s'",
			                      methods[i].path);
		}
		for (size_t k = 0; k < SLOTS_PER_METHOD; k++) {
			struct slot *s = &srv->slots[i * SLOTS_PER_METHOD + k];

			s->tag.kind = CRIB_TAG_SLOT;
			s->srv = srv;
			s->method = &methods[i];
			s->handle = h;
			grpc_metadata_array_init(&s->md);
		}
	}

	addr = crib_xasprintf("unix:%s", path);
	creds = grpc_insecure_server_credentials_create();
	r = grpc_server_add_http2_port(srv->server, addr, creds);
	grpc_server_credentials_release(creds);
	if (r == 0) {
		server_free(srv);
		return crib_error_set(reterr, EADDRINUSE, "Failed to listen on '%s'", path);
	}
	grpc_server_start(srv->server);
	if (chmod(path, 0660) < 0) {
		r = -errno;
		server_free(srv);
		return crib_error_set(reterr, -r, "Failed to set the mode of '%s': %s", path,
		                      strerror(-r));
	}

	for (size_t i = 0; i < srv->n_slots; i++) {
		grpc_metadata_array_destroy(&srv->slots[i].md);
		request_slot(&srv->slots[i]);
	}
	r = pthread_create(&srv->thread, NULL, cq_thread, srv);
	if (r != 0) {
		server_free(srv);
		return crib_error_set(reterr, r, "Failed to start the completion-queue thread: %s",
		                      strerror(r));
	}
	srv->thread_started = true;
	*ret = srv;
	return 0;
}

static void maybe_finish_shutdown(struct crib_rpc_server *srv)
{
	void (*cb)(void *user) = srv->off_cb;
	void *user = srv->off_user;
	const char *path;

	if (!srv->server_off || atomic_load(&srv->n_live) > 0 || !cb)
		return;
	srv->off_cb = NULL;
	path = srv->path;
	(void)unlink(path);
	server_free(srv);
	cb(user);
}

void crib_rpc_server_cancel_all(struct crib_rpc_server *srv)
{
	grpc_server_cancel_all_calls(srv->server);
}

void crib_rpc_server_shutdown(struct crib_rpc_server *srv, bool cancel, void (*done)(void *user),
                              void *user)
{
	if (srv->shutting_down)
		return;
	srv->shutting_down = true;
	srv->off_cb = done;
	srv->off_user = user;
	grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->t_shutdown);
	if (cancel)
		grpc_server_cancel_all_calls(srv->server);
}
