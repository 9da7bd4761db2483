/* SPDX-License-Identifier: Apache-2.0 */
/* The host's side of the agent protocol; see agentclient.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agentclient.h"
#include "agentframe.h"
#include "util.h"

/* One call waiting for its answer. */
struct pending {
	struct pending *next;
	uint64_t id;
	Crib__Agent__GuestMessage *answer; /* set by the reader */
};

struct crib_lv_agent {
	const struct crib_host *host;
	int fd;
	struct crib_agent_rbuf in; /* the reader's, after Hello */
	const struct crib_lv_agent_events *events;
	void *ctx;
	pthread_mutex_t write_lock; /* one frame at a time */
	pthread_mutex_t lock;
	pthread_cond_t answered; /* under lock */
	struct pending *pending; /* under lock */
	uint64_t last_id;        /* under lock */
	bool closed;             /* under lock */
	pthread_t reader;
	bool reader_started;
};

void crib_lv_hello_clear(struct crib_lv_hello *h)
{
	free(h->agent_version);
	free(h->kernel_release);
	*h = (struct crib_lv_hello){0};
}

/*
 * Connects to PATH, retrying while nothing listens yet, until DEADLINE
 * (crib_mono_ns).  The socket is libvirt's from the start, so this rarely
 * waits.
 */
static int connect_until(const char *path, int64_t deadline, int *ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			*ret = fd;
			return 0;
		}
		close(fd);
		if ((errno != ENOENT && errno != ECONNREFUSED) || crib_mono_ns() > deadline)
			return -errno;
		usleep(10000);
	}
}

/* Hands the guest's own message M to the events; frees it. */
static void dispatch(struct crib_lv_agent *a, Crib__Agent__GuestMessage *m)
{
	if (a->events && a->events->message)
		a->events->message(a->ctx, m);
	crib__agent__guest_message__free_unpacked(m, NULL);
}

/*
 * Reads frames until the answer to request ID, before the reader runs;
 * *ret is the caller's.  The guest's own messages on the way are dispatched.
 */
static int read_answer(struct crib_lv_agent *a, uint64_t id, int64_t deadline,
                       Crib__Agent__GuestMessage **ret)
{
	int r = 0;

	*ret = NULL;
	while (!*ret) {
		const uint8_t *data;
		size_t len;
		int64_t left = (deadline - crib_mono_ns()) / 1000000;
		struct pollfd p = {.fd = a->fd, .events = POLLIN};

		r = crib_agent_rbuf_next(&a->in, &data, &len);
		if (r > 0) {
			Crib__Agent__GuestMessage *m =
			    crib__agent__guest_message__unpack(NULL, len, data);

			if (!m)
				return -EPROTO;
			if (m->id == id)
				*ret = m;
			else
				dispatch(a, m);
			continue;
		}
		if (r < 0)
			return r;
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno != EINTR)
			return -errno;
		r = r > 0 ? crib_agent_rbuf_fill(&a->in, a->fd) : 1;
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return r;
	}
	return 0;
}

static void take_hello(const Crib__Agent__HelloReply *h, struct crib_lv_hello *ret)
{
	ret->agent_version = crib_xstrdup(h->agent_version);
	ret->kernel_release = crib_xstrdup(h->kernel_release);
	ret->started_ns = h->started_boottime_ns;
	ret->modules_ns = h->modules_ns;
	ret->answered_ns = h->now_boottime_ns;
}

/* Says Hello as the session's first request; fills RET_HELLO when not NULL. */
static int hello(struct crib_lv_agent *a, const Crib__Agent__Hello *greeting, int64_t deadline,
                 struct crib_lv_hello *ret_hello, struct crib_error **reterr)
{
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__Hello empty = CRIB__AGENT__HELLO__INIT;
	Crib__Agent__GuestMessage *answer = NULL;
	int r;

	req.id = ++a->last_id;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_HELLO;
	req.hello = (Crib__Agent__Hello *)(greeting ? greeting : &empty);
	r = crib_agent_frame_write(a->fd, &req.base);
	r = r < 0 ? r : read_answer(a, req.id, deadline, &answer);
	if (r == -ETIMEDOUT)
		return a->host->error_set(reterr, ETIMEDOUT, "the agent did not answer in time");
	if (r == -ECONNRESET || r == -EPIPE)
		return a->host->error_set(reterr, ECONNRESET,
		                          "the VM went away before its agent answered");
	if (r < 0)
		return a->host->error_set(reterr, -r, "talking to the agent: %s", strerror(-r));
	if (answer->errnum || answer->reply_case != CRIB__AGENT__GUEST_MESSAGE__REPLY_HELLO) {
		r = a->host->error_set(
		    reterr, answer->errnum ? answer->errnum : EPROTO, "the agent refused Hello: %s",
		    answer->message && answer->message[0] ? answer->message : "no reason given");
		crib__agent__guest_message__free_unpacked(answer, NULL);
		return r;
	}
	if (ret_hello)
		take_hello(answer->hello, ret_hello);
	crib__agent__guest_message__free_unpacked(answer, NULL);
	return 0;
}

/* Gives M to the call waiting for it; false when none waits (it gave up). */
static bool deliver(struct crib_lv_agent *a, Crib__Agent__GuestMessage *m)
{
	bool taken = false;

	pthread_mutex_lock(&a->lock);
	for (struct pending *p = a->pending; p; p = p->next)
		if (p->id == m->id && !p->answer) {
			p->answer = m;
			taken = true;
		}
	pthread_cond_broadcast(&a->answered);
	pthread_mutex_unlock(&a->lock);
	return taken;
}

static void *reader(void *arg)
{
	struct crib_lv_agent *a = arg;
	const uint8_t *data;
	size_t len;
	int r;

	for (;;) {
		while ((r = crib_agent_rbuf_next(&a->in, &data, &len)) > 0) {
			Crib__Agent__GuestMessage *m =
			    crib__agent__guest_message__unpack(NULL, len, data);

			if (!m) {
				r = -EPROTO;
				break;
			}
			if (!m->id)
				dispatch(a, m);
			else if (!deliver(a, m))
				crib__agent__guest_message__free_unpacked(m, NULL);
		}
		if (r < 0 || crib_agent_rbuf_fill(&a->in, a->fd) <= 0)
			break;
	}
	if (r < 0)
		a->host->log(a->host, CRIB_LOG_WARNING,
		             "a pod VM's agent sent a frame that does not parse: disconnecting");
	pthread_mutex_lock(&a->lock);
	a->closed = true;
	pthread_cond_broadcast(&a->answered);
	pthread_mutex_unlock(&a->lock);
	if (a->events && a->events->closed)
		a->events->closed(a->ctx);
	return NULL;
}

static struct crib_lv_agent *agent_new(const struct crib_host *host,
                                       const struct crib_lv_agent_events *events, void *ctx)
{
	struct crib_lv_agent *a = crib_xcalloc(1, sizeof(*a));
	pthread_condattr_t attr;

	a->host = host;
	a->fd = -1;
	a->events = events;
	a->ctx = ctx;
	pthread_mutex_init(&a->write_lock, NULL);
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&a->answered, &attr);
	pthread_condattr_destroy(&attr);
	return a;
}

int crib_lv_agent_open(const struct crib_host *host, const char *path,
                       const Crib__Agent__Hello *greeting, int64_t timeout_ms,
                       const struct crib_lv_agent_events *events, void *ctx,
                       struct crib_lv_hello *ret_hello, struct crib_lv_agent **ret,
                       struct crib_error **reterr)
{
	struct crib_lv_agent *a = agent_new(host, events, ctx);
	int64_t deadline = crib_mono_ns() + timeout_ms * 1000000;
	int r = connect_until(path, deadline, &a->fd);

	if (r < 0)
		r = host->error_set(reterr, -r, "cannot connect to the agent's socket %s: %s", path,
		                    strerror(-r));
	else
		r = hello(a, greeting, deadline, ret_hello, reterr);
	if (r == 0) {
		r = -pthread_create(&a->reader, NULL, reader, a);
		a->reader_started = r == 0;
		if (r < 0)
			r = host->error_set(reterr, -r, "cannot start the agent's reader: %s",
			                    strerror(-r));
	}
	if (r < 0) {
		crib_lv_agent_close(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* Waits for P's answer until DEADLINE; under a->lock. */
static void wait_answer(struct crib_lv_agent *a, struct pending *p, int64_t deadline)
{
	struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};

	while (!p->answer && !a->closed && crib_mono_ns() < deadline)
		pthread_cond_timedwait(&a->answered, &a->lock, &ts);
}

static void unlink_pending(struct crib_lv_agent *a, struct pending *p)
{
	struct pending **pp = &a->pending;

	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
}

int crib_lv_agent_call(struct crib_lv_agent *a, Crib__Agent__HostMessage *req, int64_t timeout_ms,
                       Crib__Agent__GuestMessage **ret, struct crib_error **reterr)
{
	struct pending p = {0};
	int64_t deadline = crib_mono_ns() + timeout_ms * 1000000;
	bool closed;
	int r;

	pthread_mutex_lock(&a->lock);
	p.id = req->id = ++a->last_id;
	p.next = a->pending;
	a->pending = &p;
	closed = a->closed;
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_lock(&a->write_lock);
	r = closed ? -ECONNRESET : crib_agent_frame_write(a->fd, &req->base);
	pthread_mutex_unlock(&a->write_lock);
	pthread_mutex_lock(&a->lock);
	if (r == 0)
		wait_answer(a, &p, deadline);
	closed = a->closed;
	unlink_pending(a, &p);
	pthread_mutex_unlock(&a->lock);
	if (!p.answer && (r < 0 || closed))
		return a->host->error_set(reterr, ECONNRESET, "the pod VM's agent went away");
	if (!p.answer)
		return a->host->error_set(reterr, ETIMEDOUT,
		                          "the pod VM's agent did not answer in "
		                          "%lld ms",
		                          (long long)timeout_ms);
	if (p.answer->errnum) {
		r = a->host->error_set(reterr, p.answer->errnum, "%s",
		                       p.answer->message && p.answer->message[0] ? p.answer->message
		                                                                 : "refused");
		crib__agent__guest_message__free_unpacked(p.answer, NULL);
		return r;
	}
	*ret = p.answer;
	return 0;
}

int crib_lv_agent_send(struct crib_lv_agent *a, const Crib__Agent__HostMessage *msg)
{
	int r;

	if (!crib_lv_agent_alive(a))
		return -ECONNRESET;
	pthread_mutex_lock(&a->write_lock);
	r = crib_agent_frame_write(a->fd, &msg->base);
	pthread_mutex_unlock(&a->write_lock);
	return r;
}

bool crib_lv_agent_alive(struct crib_lv_agent *a)
{
	bool alive;

	pthread_mutex_lock(&a->lock);
	alive = !a->closed;
	pthread_mutex_unlock(&a->lock);
	return alive;
}

void crib_lv_agent_close(struct crib_lv_agent *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		shutdown(a->fd, SHUT_RDWR);
	if (a->reader_started)
		pthread_join(a->reader, NULL);
	if (a->fd >= 0)
		close(a->fd);
	crib_agent_rbuf_free(&a->in);
	pthread_cond_destroy(&a->answered);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->write_lock);
	free(a);
}
