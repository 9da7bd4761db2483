/* SPDX-License-Identifier: Apache-2.0 */
/* crib-agent's containers; see agentctr.h. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentctr.h"
#include "agentspawn.h"

#define OUTPUT_CHUNK 16384

typedef Crib__Agent__ContainerState__State ctr_state;

struct ctr {
	struct ctr *next;
	char *id;
	char *rootfs; /* absolute */
	Crib__Agent__Process *process;
	bool own_pid_namespace;
	ctr_state state;
	pid_t pid;
	int exit_code;
	int64_t started_ns;
	int64_t finished_ns;
	int out[3]; /* read ends by stream (1 stdout, 2 stderr); -1 when closed */
};

struct agent_ctrs {
	char *share;
	struct ctr *head;
	agent_send_fn send;
	void *ctx;
};

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct agent_ctrs *agent_ctrs_new(const char *share, agent_send_fn send, void *ctx)
{
	struct agent_ctrs *t = calloc(1, sizeof(*t));

	if (!t || !(t->share = strdup(share)))
		abort();
	t->send = send;
	t->ctx = ctx;
	return t;
}

static struct ctr *find(const struct agent_ctrs *t, const char *id)
{
	struct ctr *c = t->head;

	while (c && strcmp(c->id, id) != 0)
		c = c->next;
	return c;
}

static void state_of(const struct ctr *c, Crib__Agent__ContainerState *s)
{
	crib__agent__container_state__init(s);
	s->container_id = c->id;
	s->state = c->state;
	s->pid = c->state == CRIB__AGENT__CONTAINER_STATE__STATE__RUNNING ? (uint32_t)c->pid : 0;
	s->exit_code = c->exit_code;
	s->started_unix_ns = c->started_ns;
	s->finished_unix_ns = c->finished_ns;
}

/* Answers REQ with ERRNUM and a message, or with C's state when ERRNUM is 0. */
static void answer(struct agent_ctrs *t, uint64_t id, int errnum, const char *message,
                   const struct ctr *c)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__ContainerState s;

	m.id = id;
	m.errnum = errnum;
	m.message = (char *)(message ? message : "");
	if (!errnum && c) {
		state_of(c, &s);
		m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_STATE;
		m.state = &s;
	}
	t->send(t->ctx, &m, false);
}

static void close_outputs(struct ctr *c)
{
	for (int i = 1; i <= 2; i++)
		if (c->out[i] >= 0) {
			close(c->out[i]);
			c->out[i] = -1;
		}
}

static void ctr_free(struct ctr *c)
{
	close_outputs(c);
	crib__agent__process__free_unpacked(c->process, NULL);
	free(c->id);
	free(c->rootfs);
	free(c);
}

/* Keeps a copy of the request's process: the request is freed after it is served. */
static Crib__Agent__Process *copy_process(const Crib__Agent__Process *p)
{
	size_t len = crib__agent__process__get_packed_size(p);
	uint8_t *buf = malloc(len ? len : 1);
	Crib__Agent__Process *copy;

	if (!buf)
		abort();
	crib__agent__process__pack(p, buf);
	copy = crib__agent__process__unpack(NULL, len, buf);
	free(buf);
	if (!copy)
		abort();
	return copy;
}

static void create(struct agent_ctrs *t, uint64_t id, const Crib__Agent__CreateContainer *req)
{
	struct ctr *c;
	char path[PATH_MAX];

	if (!req->container_id[0] || !req->process || !req->process->n_args) {
		answer(t, id, EINVAL, "a container needs an id and a program", NULL);
		return;
	}
	if (find(t, req->container_id)) {
		answer(t, id, EEXIST, "the container exists", NULL);
		return;
	}
	if (!req->rootfs[0] || strstr(req->rootfs, "..") || req->rootfs[0] == '/') {
		answer(t, id, EINVAL, "the root filesystem must be a path under the share", NULL);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", t->share, req->rootfs);
	if (access(path, F_OK) < 0) {
		answer(t, id, errno, "the root filesystem is not in the share", NULL);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->id = strdup(req->container_id)) || !(c->rootfs = strdup(path)))
		abort();
	c->process = copy_process(req->process);
	c->own_pid_namespace = req->own_pid_namespace;
	c->out[0] = c->out[1] = c->out[2] = -1;
	c->state = CRIB__AGENT__CONTAINER_STATE__STATE__CREATED;
	c->next = t->head;
	t->head = c;
	answer(t, id, 0, NULL, c);
}

/* ARGS as execve wants them: a NULL-terminated copy of the pointers. */
static char **argv_of(char **v, size_t n)
{
	char **a = calloc(n + 1, sizeof(*a));

	if (!a)
		abort();
	memcpy(a, v, n * sizeof(*a));
	return a;
}

static void start(struct agent_ctrs *t, uint64_t id, const char *ctr_id)
{
	struct ctr *c = find(t, ctr_id);
	const Crib__Agent__Process *p;
	struct agent_process ap;
	char err[300];
	pid_t pid;

	if (!c) {
		answer(t, id, ENOENT, "no such container", NULL);
		return;
	}
	if (c->state != CRIB__AGENT__CONTAINER_STATE__STATE__CREATED) {
		answer(t, id, EALREADY, "the container was started before", NULL);
		return;
	}
	p = c->process;
	ap = (struct agent_process){
	    .rootfs = c->rootfs,
	    .args = argv_of(p->args, p->n_args),
	    .env = argv_of(p->env, p->n_env),
	    .cwd = p->cwd,
	    .uid = p->uid,
	    .gid = p->gid,
	    .additional_gids = p->additional_gids,
	    .n_additional_gids = p->n_additional_gids,
	    .own_pid_namespace = c->own_pid_namespace,
	};
	pid = agent_spawn(&ap, &c->out[1], &c->out[2], err, sizeof(err));
	free((void *)ap.args);
	free((void *)ap.env);
	if (pid < 0) {
		answer(t, id, (int)-pid, err, NULL);
		return;
	}
	c->pid = pid;
	c->state = CRIB__AGENT__CONTAINER_STATE__STATE__RUNNING;
	c->started_ns = wall_ns();
	answer(t, id, 0, NULL, c);
}

static void signal_ctr(struct agent_ctrs *t, uint64_t id, const Crib__Agent__SignalContainer *req)
{
	struct ctr *c = find(t, req->container_id);

	if (!c) {
		answer(t, id, ENOENT, "no such container", NULL);
		return;
	}
	if (req->signal == 0 || req->signal >= 65) {
		answer(t, id, EINVAL, "no such signal", NULL);
		return;
	}
	/* A container that does not run has nothing to signal: its state says so. */
	if (c->state == CRIB__AGENT__CONTAINER_STATE__STATE__RUNNING &&
	    kill(c->pid, (int)req->signal) < 0 && errno != ESRCH) {
		answer(t, id, errno, "cannot signal the container", NULL);
		return;
	}
	answer(t, id, 0, NULL, c);
}

static void remove_ctr(struct agent_ctrs *t, uint64_t id, const char *ctr_id)
{
	struct ctr **p = &t->head, *c;

	while (*p && strcmp((*p)->id, ctr_id) != 0)
		p = &(*p)->next;
	c = *p;
	if (!c) {
		answer(t, id, 0, NULL, NULL);
		return;
	}
	if (c->state == CRIB__AGENT__CONTAINER_STATE__STATE__RUNNING) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	*p = c->next;
	ctr_free(c);
	answer(t, id, 0, NULL, NULL);
}

static void list(struct agent_ctrs *t, uint64_t id)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__ContainerList l = CRIB__AGENT__CONTAINER_LIST__INIT;
	Crib__Agent__ContainerState *states;
	size_t n = 0;

	for (struct ctr *c = t->head; c; c = c->next)
		n++;
	l.containers = calloc(n ? n : 1, sizeof(*l.containers));
	states = calloc(n ? n : 1, sizeof(*states));
	if (!l.containers || !states)
		abort();
	for (struct ctr *c = t->head; c; c = c->next) {
		state_of(c, &states[l.n_containers]);
		l.containers[l.n_containers] = &states[l.n_containers];
		l.n_containers++;
	}
	m.id = id;
	m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_LIST;
	m.list = &l;
	t->send(t->ctx, &m, false);
	free(l.containers);
	free(states);
}

void agent_ctrs_serve(struct agent_ctrs *t, const Crib__Agent__HostMessage *req)
{
	switch (req->request_case) {
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_CREATE:
		create(t, req->id, req->create);
		return;
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_START:
		start(t, req->id, req->start->container_id);
		return;
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_SIGNAL:
		signal_ctr(t, req->id, req->signal);
		return;
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_REMOVE:
		remove_ctr(t, req->id, req->remove->container_id);
		return;
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_LIST:
		list(t, req->id);
		return;
	default:
		answer(t, req->id, ENOSYS, "request not known to this crib-agent", NULL);
		return;
	}
}

size_t agent_ctrs_pollfds(const struct agent_ctrs *t, struct pollfd *p, size_t max)
{
	size_t n = 0;

	for (const struct ctr *c = t->head; c; c = c->next)
		for (int i = 1; i <= 2 && n < max; i++)
			if (c->out[i] >= 0)
				p[n++] = (struct pollfd){.fd = c->out[i], .events = POLLIN};
	return n;
}

/* Sends what stream I of C has; closes it at EOF. */
static void forward(struct agent_ctrs *t, struct ctr *c, int i)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__Output o = CRIB__AGENT__OUTPUT__INIT;
	static uint8_t buf[OUTPUT_CHUNK];
	ssize_t n;

	while ((n = read(c->out[i], buf, sizeof(buf))) > 0) {
		o.container_id = c->id;
		o.stream = (Crib__Agent__Output__Stream)i;
		o.data.data = buf;
		o.data.len = (size_t)n;
		m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_OUTPUT;
		m.output = &o;
		t->send(t->ctx, &m, true);
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close(c->out[i]);
		c->out[i] = -1;
	}
}

void agent_ctrs_io(struct agent_ctrs *t, const struct pollfd *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (struct ctr *c = t->head; c; c = c->next)
			for (int i = 1; i <= 2; i++)
				if (c->out[i] == p[k].fd)
					forward(t, c, i);
	}
}

static void report_exit(struct agent_ctrs *t, struct ctr *c, int status)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__ContainerState s;

	/* What it wrote before it ended comes first. */
	for (int i = 1; i <= 2; i++)
		if (c->out[i] >= 0)
			forward(t, c, i);
	close_outputs(c);
	c->state = CRIB__AGENT__CONTAINER_STATE__STATE__EXITED;
	c->exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	c->finished_ns = wall_ns();
	state_of(c, &s);
	m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_EXITED;
	m.exited = &s;
	t->send(t->ctx, &m, true);
}

void agent_ctrs_reap(struct agent_ctrs *t)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (struct ctr *c = t->head; c; c = c->next)
			if (c->pid == pid &&
			    c->state == CRIB__AGENT__CONTAINER_STATE__STATE__RUNNING)
				report_exit(t, c, status);
}
