/* SPDX-License-Identifier: Apache-2.0 */
#include "mailbox.h"

static void drain(struct crib_mailbox *mb)
{
	struct crib_list batch;
	struct crib_list *n;

	/* Swap the queue out under the lock so that dispatch runs unlocked. */
	crib_list_init(&batch);
	pthread_mutex_lock(&mb->lock);
	if (!crib_list_empty(&mb->msgs)) {
		batch.next = mb->msgs.next;
		batch.prev = mb->msgs.prev;
		batch.next->prev = &batch;
		batch.prev->next = &batch;
		crib_list_init(&mb->msgs);
	}
	pthread_mutex_unlock(&mb->lock);

	while ((n = crib_list_pop(&batch)))
		mb->dispatch(mb, container_of(n, struct crib_msg, link));
}

static void on_async(uv_async_t *handle)
{
	drain(container_of(handle, struct crib_mailbox, async));
}

int crib_mailbox_init(struct crib_mailbox *mb, uv_loop_t *loop, crib_mailbox_cb dispatch,
                      void *user)
{
	int r;

	crib_list_init(&mb->msgs);
	mb->dispatch = dispatch;
	mb->user = user;
	mb->closed = NULL;
	mb->closing = false;
	r = pthread_mutex_init(&mb->lock, NULL);
	if (r)
		return -r;
	r = uv_async_init(loop, &mb->async, on_async);
	if (r < 0) {
		pthread_mutex_destroy(&mb->lock);
		return r;
	}
	return 0;
}

bool crib_mailbox_post(struct crib_mailbox *mb, struct crib_msg *msg)
{
	bool open;

	pthread_mutex_lock(&mb->lock);
	open = !mb->closing;
	if (open)
		crib_list_add_tail(&mb->msgs, &msg->link);
	pthread_mutex_unlock(&mb->lock);
	/*
	 * Outside the lock, which the loop takes too: a poster of lower priority
	 * must not hold it longer than a list append.  A close between the two
	 * leaves the handle valid until its close callback, a loop turn later.
	 */
	if (open)
		(void)uv_async_send(&mb->async);
	return open;
}

static void on_closed(uv_handle_t *handle)
{
	struct crib_mailbox *mb = container_of((uv_async_t *)handle, struct crib_mailbox, async);

	pthread_mutex_destroy(&mb->lock);
	if (mb->closed)
		mb->closed(mb);
}

void crib_mailbox_close(struct crib_mailbox *mb)
{
	pthread_mutex_lock(&mb->lock);
	mb->closing = true;
	pthread_mutex_unlock(&mb->lock);
	drain(mb);
	uv_close((uv_handle_t *)&mb->async, on_closed);
}
