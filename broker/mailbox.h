/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one way into the loop thread.  Other threads (the gRPC completion-queue
 * thread, backend threads finishing ops or emitting events) post messages;
 * the loop wakes through a uv_async_t and hands each message, in order, to
 * the dispatch callback.  Messages are embedded in their owners, so posting
 * never allocates; a message must not be posted again before it was
 * dispatched.
 */
#ifndef CRIB_BROKER_MAILBOX_H
#define CRIB_BROKER_MAILBOX_H

#include <pthread.h>
#include <uv.h>

#include "util.h"

enum crib_msg_kind {
	CRIB_MSG_RPC_NEW,    /* a call arrived */
	CRIB_MSG_RPC_BATCH,  /* a batch on a call completed */
	CRIB_MSG_OP_DONE,    /* a backend finished a CRIB_ASYNC op */
	CRIB_MSG_EVENT,      /* a backend emitted an event */
	CRIB_MSG_SERVER_OFF, /* the gRPC server finished shutting down */
};

struct crib_msg {
	struct crib_list link;
	enum crib_msg_kind kind;
};

struct crib_mailbox;
typedef void (*crib_mailbox_cb)(struct crib_mailbox *mb, struct crib_msg *msg);

struct crib_mailbox {
	uv_async_t async;
	pthread_mutex_t lock;
	struct crib_list msgs;
	crib_mailbox_cb dispatch;
	void *user;
};

int crib_mailbox_init(struct crib_mailbox *mb, uv_loop_t *loop, crib_mailbox_cb dispatch,
                      void *user);
/* Thread-safe. */
void crib_mailbox_post(struct crib_mailbox *mb, struct crib_msg *msg);
/* Loop thread: closes the async handle; pending messages are dispatched first. */
void crib_mailbox_close(struct crib_mailbox *mb);

#endif /* CRIB_BROKER_MAILBOX_H */
