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
#include <stdbool.h>
#include <uv.h>

#include "util.h"

enum crib_msg_kind {
	CRIB_MSG_RPC_NEW,    /* a call arrived */
	CRIB_MSG_RPC_BATCH,  /* a batch on a call completed */
	CRIB_MSG_OP_DONE,    /* a backend finished a CRIB_ASYNC op */
	CRIB_MSG_EVENT,      /* a backend emitted an event */
	CRIB_MSG_SERVER_OFF, /* the gRPC server finished shutting down */
	/* The admin API's two mailboxes (admin.c): the thread's and the loop's. */
	CRIB_MSG_ADMIN_REQUEST, /* a request for the loop to answer */
	CRIB_MSG_ADMIN_ANSWER,  /* the loop's answer to it */
	CRIB_MSG_ADMIN_REFRESH, /* the views are stale: make a snapshot */
	CRIB_MSG_ADMIN_VIEWS,   /* a snapshot is published */
	CRIB_MSG_ADMIN_EVENT,   /* a container event for /v1/events */
	CRIB_MSG_ADMIN_RELEASE, /* the thread is done with something the loop owns */
	CRIB_MSG_ADMIN_STOP,    /* the thread is to close its listeners and end */
	CRIB_MSG_ADMIN_ENDED,   /* it has */
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
	void (*closed)(struct crib_mailbox *mb); /* optional: the handle is closed */
	bool closing;                            /* under lock: posts are dropped */
};

int crib_mailbox_init(struct crib_mailbox *mb, uv_loop_t *loop, crib_mailbox_cb dispatch,
                      void *user);
/*
 * Thread-safe.  Once the mailbox is closing the message is dropped (false):
 * only a poster that may outlive the loop (the admin API's thread, when a stop
 * gave up waiting for it) needs to look.
 */
bool crib_mailbox_post(struct crib_mailbox *mb, struct crib_msg *msg);
/*
 * Loop thread: closes the async handle; pending messages are dispatched
 * first, later ones dropped.
 */
void crib_mailbox_close(struct crib_mailbox *mb);

#endif /* CRIB_BROKER_MAILBOX_H */
