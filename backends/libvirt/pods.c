/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the backend keeps of each pod while cribd runs: the session with its
 * agent, and its containers' states and log writers, which the agent's
 * output and exit messages update.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvirt.h"

/* The record of POD_ID in st->pods, or NULL; under st->lock. */
static struct lv_pod *find_locked(struct lv_state *st, const char *pod_id)
{
	struct lv_pod *p = st->pods;

	while (p && !streq(p->id, pod_id))
		p = p->next;
	return p;
}

/* The pod's LV_OUTPUT_SEQ file; malloc'd. */
static char *output_seq_path(const struct lv_state *st, const char *pod_id)
{
	_cleanup_free_ char *dir = lv_pod_dir(st, pod_id);

	return crib_xasprintf("%s/" LV_OUTPUT_SEQ, dir);
}

/* The seq a cribd before this one kept for the pod (0: none). */
static uint64_t load_output_seq(const struct lv_state *st, const char *pod_id)
{
	_cleanup_free_ char *path = output_seq_path(st, pod_id), *text = NULL;
	size_t len;

	if (crib_read_file(path, 64, &text, &len) < 0)
		return 0;
	return strtoull(text, NULL, 10);
}

/*
 * Keeps P's output_seq in its file: fixed width, so that each write replaces
 * the last whole.  Under p->lock.
 */
static void save_output_seq(struct lv_pod *p)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%020llu\n", (unsigned long long)p->output_seq);

	if (p->output_seq_fd < 0) {
		_cleanup_free_ char *path = output_seq_path(p->st, p->id);

		p->output_seq_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	}
	if (p->output_seq_fd >= 0 && pwrite(p->output_seq_fd, text, (size_t)n, 0) != n)
		p->st->host->log(p->st->host, CRIB_LOG_WARNING,
		                 "pod %.12s: cannot keep the seq of its output: %s", p->id,
		                 strerror(errno));
}

struct lv_pod *lv_pod_get(struct lv_state *st, const char *pod_id)
{
	struct lv_pod *p;
	pthread_condattr_t attr;

	pthread_mutex_lock(&st->lock);
	p = find_locked(st, pod_id);
	if (!p) {
		p = crib_xcalloc(1, sizeof(*p));
		snprintf(p->id, sizeof(p->id), "%s", pod_id);
		p->st = st;
		p->output_seq = load_output_seq(st, pod_id);
		p->output_seq_fd = -1;
		pthread_mutex_init(&p->lock, NULL);
		pthread_mutex_init(&p->connect_lock, NULL);
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&p->changed, &attr);
		pthread_condattr_destroy(&attr);
		p->next = st->pods;
		st->pods = p;
	}
	p->refs++;
	pthread_mutex_unlock(&st->lock);
	return p;
}

static void ctr_free(const struct crib_host *host, struct lv_ctr *c)
{
	host->log_close(c->log);
	free(c);
}

/* Frees P; its sessions' threads are joined here, outside every lock. */
static void pod_free(struct lv_pod *p)
{
	crib_lv_agent_close(p->agent);
	for (size_t i = 0; i < p->n_dead; i++)
		crib_lv_agent_close(p->dead[i]);
	free(p->dead);
	while (p->ctrs) {
		struct lv_ctr *c = p->ctrs;

		p->ctrs = c->next;
		ctr_free(p->st->host, c);
	}
	if (p->output_seq_fd >= 0)
		close(p->output_seq_fd);
	pthread_cond_destroy(&p->changed);
	pthread_mutex_destroy(&p->connect_lock);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void lv_pods_free(struct lv_state *st)
{
	while (st->pods) {
		struct lv_pod *p = st->pods;

		st->pods = p->next;
		pod_free(p);
	}
}

void lv_pod_put(struct lv_pod *p)
{
	struct lv_state *st;
	bool last;

	if (!p)
		return;
	st = p->st;
	pthread_mutex_lock(&st->lock);
	last = --p->refs == 0 && p->forgotten;
	pthread_mutex_unlock(&st->lock);
	if (last)
		pod_free(p);
}

void lv_pod_forget(struct lv_state *st, const char *pod_id)
{
	struct lv_pod **pp, *p = NULL;
	bool last = false;

	pthread_mutex_lock(&st->lock);
	for (pp = &st->pods; *pp && !streq((*pp)->id, pod_id); pp = &(*pp)->next)
		;
	if (*pp) {
		p = *pp;
		*pp = p->next;
		p->forgotten = true;
		last = p->refs == 0;
	}
	pthread_mutex_unlock(&st->lock);
	if (last)
		pod_free(p);
}

struct lv_ctr *lv_pod_ctr(struct lv_pod *p, const char *id)
{
	struct lv_ctr *c = p->ctrs;

	while (c && !streq(c->id, id))
		c = c->next;
	return c;
}

/* The agent's word on a container: its state, and the exit it reports. */
static void take_state(struct lv_pod *p, const Crib__Agent__ContainerState *s)
{
	struct lv_ctr *c = lv_pod_ctr(p, s->container_id);

	if (!c)
		return;
	switch (s->state) {
	case CRIB__AGENT__CONTAINER_STATE__STATE__RUNNING:
		c->state = CRIB_CONTAINER_RUNNING;
		if (!c->started_at)
			c->started_at = s->started_unix_ns;
		break;
	case CRIB__AGENT__CONTAINER_STATE__STATE__EXITED:
		if (c->state != CRIB_CONTAINER_EXITED) {
			c->state = CRIB_CONTAINER_EXITED;
			c->exit_code = s->exit_code;
			/* The guest's clock, when cribd did not see the exit itself. */
			c->finished_at = s->finished_unix_ns ? s->finished_unix_ns : crib_now_ns();
			if (!c->started_at)
				c->started_at = s->started_unix_ns;
		}
		break;
	default:
		c->state = CRIB_CONTAINER_CREATED;
		break;
	}
	pthread_cond_broadcast(&p->changed);
}

static void on_exit_msg(struct lv_pod *p, const Crib__Agent__ContainerState *s)
{
	struct crib_event ev = {.kind = CRIB_EVENT_CONTAINER_EXITED, .id = s->container_id};
	struct lv_ctr *c;

	pthread_mutex_lock(&p->lock);
	c = lv_pod_ctr(p, s->container_id);
	if (c && c->state != CRIB_CONTAINER_EXITED) {
		take_state(p, s);
		c->finished_at = crib_now_ns();
		ev.exit_code = c->exit_code;
		ev.at = c->finished_at;
	}
	pthread_mutex_unlock(&p->lock);
	if (ev.at)
		p->st->host->emit(p->st->host, &ev);
}

/*
 * Output into the container's CRI log; under the lock, which keeps the
 * writer alive.  Output sent again to a new session (Hello's output_seq) that
 * the log has already is skipped.
 */
static void on_output(struct lv_pod *p, const Crib__Agent__Output *o)
{
	struct lv_ctr *c;
	uint32_t stream = o->stream == CRIB__AGENT__OUTPUT__STREAM__STDERR ? CRIB_STREAM_STDERR
	                                                                   : CRIB_STREAM_STDOUT;

	pthread_mutex_lock(&p->lock);
	if (o->seq && o->seq <= p->output_seq) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	c = lv_pod_ctr(p, o->container_id);
	if (c && c->log && o->data.len)
		(void)p->st->host->log_write(c->log, stream, o->data.data, o->data.len, NULL);
	if (o->seq) {
		p->output_seq = o->seq;
		save_output_seq(p);
	}
	pthread_mutex_unlock(&p->lock);
}

static void on_message(void *ctx, const Crib__Agent__GuestMessage *m)
{
	struct lv_pod *p = ctx;

	if (m->reply_case == CRIB__AGENT__GUEST_MESSAGE__REPLY_OUTPUT)
		on_output(p, m->output);
	else if (m->reply_case == CRIB__AGENT__GUEST_MESSAGE__REPLY_EXITED)
		on_exit_msg(p, m->exited);
	else
		lv_stream_message(p, m);
}

/* Whoever waits for a container to change learns the session ended. */
static void on_closed(void *ctx)
{
	struct lv_pod *p = ctx;

	pthread_mutex_lock(&p->lock);
	pthread_cond_broadcast(&p->changed);
	lv_streams_agent_gone(p);
	pthread_mutex_unlock(&p->lock);
}

const struct crib_lv_agent_events lv_pod_events = {
    .message = on_message,
    .closed = on_closed,
};

/* The agent's list of containers, taken into the records. */
static int resync(struct lv_pod *p, struct crib_lv_agent *a, struct crib_error **reterr)
{
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__ListContainers list = CRIB__AGENT__LIST_CONTAINERS__INIT;
	Crib__Agent__GuestMessage *answer = NULL;
	int r;

	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_LIST;
	req.list = &list;
	r = crib_lv_agent_call(a, &req, 10000, &answer, reterr);
	if (r < 0)
		return r;
	pthread_mutex_lock(&p->lock);
	if (answer->reply_case == CRIB__AGENT__GUEST_MESSAGE__REPLY_LIST)
		for (size_t i = 0; i < answer->list->n_containers; i++)
			take_state(p, answer->list->containers[i]);
	pthread_mutex_unlock(&p->lock);
	crib__agent__guest_message__free_unpacked(answer, NULL);
	return 0;
}

void lv_pod_adopt(struct lv_pod *p, struct crib_lv_agent *a)
{
	pthread_mutex_lock(&p->lock);
	if (p->agent) {
		p->dead = crib_xrealloc(p->dead, p->n_dead + 1, sizeof(*p->dead));
		p->dead[p->n_dead++] = p->agent;
	}
	p->agent = a;
	pthread_mutex_unlock(&p->lock);
}

int lv_pod_agent(struct lv_pod *p, const char *dir, int64_t timeout_ms, struct crib_lv_agent **ret,
                 struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/" LV_AGENT_SOCKET, dir);
	Crib__Agent__Hello greeting = CRIB__AGENT__HELLO__INIT;
	struct crib_lv_agent *a = NULL;
	int r = 0;

	/*
	 * connect_lock, not lock: the session's callbacks take the lock, and
	 * the agent sends what it kept for the host right after its Hello.
	 */
	pthread_mutex_lock(&p->connect_lock);
	pthread_mutex_lock(&p->lock);
	a = p->agent && crib_lv_agent_alive(p->agent) ? p->agent : NULL;
	greeting.output_seq = p->output_seq;
	if (!a && p->vm_gone)
		r = p->st->host->error_set(reterr, ECONNRESET, "pod %.12s: its VM is stopped",
		                           p->id);
	pthread_mutex_unlock(&p->lock);
	if (!a && r == 0) {
		r = crib_lv_agent_open(p->st->host, path, &greeting, timeout_ms, &lv_pod_events, p,
		                       NULL, &a, reterr);
		if (r == 0)
			lv_pod_adopt(p, a);
		if (r == 0)
			r = resync(p, a, reterr);
	}
	pthread_mutex_unlock(&p->connect_lock);
	*ret = a;
	return r;
}

void lv_pod_vm_gone(struct lv_state *st, const char *pod_id, bool known_only)
{
	_cleanup_(lv_pod_putp) struct lv_pod *p = NULL;

	if (known_only) {
		pthread_mutex_lock(&st->lock);
		p = find_locked(st, pod_id);
		if (p)
			p->refs++;
		pthread_mutex_unlock(&st->lock);
	} else {
		p = lv_pod_get(st, pod_id);
	}
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->vm_gone = true;
	for (struct lv_ctr *c = p->ctrs; c; c = c->next)
		if (c->state == CRIB_CONTAINER_RUNNING || c->state == CRIB_CONTAINER_UNKNOWN) {
			c->state = CRIB_CONTAINER_EXITED;
			c->exit_code = 137;
			c->finished_at = crib_now_ns();
		}
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
}
