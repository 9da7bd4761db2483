/* SPDX-License-Identifier: Apache-2.0 */
/* crib-agent's containers; see agentctr.h. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentctr.h"
#include "agentspawn.h"
#include "agentutil.h"

#define OUTPUT_CHUNK 16384
/* Where the containers' cgroups are (crib-agent mounts cgroup2 at boot). */
#define CGROUP_DIR "/sys/fs/cgroup/crib"
/* What an ExecSync answer carries of each stream (agent.proto). */
#define EXEC_OUTPUT_MAX (1u << 20)

typedef Crib__Agent__ContainerState__State ctr_state;

struct ctr {
	struct ctr *next;
	char *id;
	char *rootfs; /* absolute */
	Crib__Agent__Process *process;
	Crib__Agent__Security *security; /* NULL: none asked for */
	bool own_pid_namespace;
	struct agent_mount *mounts; /* sources absolute in the guest, malloc'd */
	size_t n_mounts;
	char *cgroup; /* CGROUP_DIR/<id>, or NULL when it could not be made */
	ctr_state state;
	pid_t pid;
	int exit_code;
	int64_t started_ns;
	int64_t finished_ns;
	int out[3]; /* read ends by stream (1 stdout, 2 stderr); -1 when closed */
	int in;     /* stdin's write end (with a terminal: its master), held for Attach; or -1 */
	bool want_stdin, stdin_once, tty;
};

/* An ExecSync running: its answer goes out once the process ended. */
struct exec_run {
	struct exec_run *next;
	uint64_t req_id;
	pid_t pid;
	int out[3];                  /* read ends by stream; -1 when closed */
	ProtobufCBinaryData data[3]; /* what each stream wrote, up to EXEC_OUTPUT_MAX */
	int64_t deadline_ns;         /* CLOCK_MONOTONIC; 0: none */
	bool timed_out;
};

struct agent_ctrs {
	char *share;
	struct ctr *head;
	struct exec_run *execs;
	agent_send_fn send;
	void *ctx;
	const struct agent_ctr_watch *watch;
	void *watch_ctx;
};

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
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

void agent_ctrs_set_watch(struct agent_ctrs *t, const struct agent_ctr_watch *w, void *ctx)
{
	t->watch = w;
	t->watch_ctx = ctx;
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
	agent_close_fd(&c->out[1]);
	agent_close_fd(&c->out[2]);
}

/* Writes TEXT to DIR/NAME; 0 or the errno. */
static int cg_write(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return agent_write_text(path, text);
}

/* R into cgroup DIR; 0 or the errno, with the file that refused it in ERR. */
static int apply_resources(const char *dir, const Crib__Agent__Resources *r, char *err,
                           size_t err_size)
{
	char text[64];
	int e;

	if (!r)
		return 0;
	if (r->memory_limit > 0)
		snprintf(text, sizeof(text), "%lld", (long long)r->memory_limit);
	else
		snprintf(text, sizeof(text), "max");
	e = cg_write(dir, "memory.max", text);
	if (e) {
		snprintf(err, err_size, "cannot set memory.max to %s: %s", text, strerror(e));
		return e;
	}
	if (r->cpu_quota > 0)
		snprintf(text, sizeof(text), "%lld %llu", (long long)r->cpu_quota,
		         (unsigned long long)(r->cpu_period ? r->cpu_period : 100000));
	else
		snprintf(text, sizeof(text), "max %llu",
		         (unsigned long long)(r->cpu_period ? r->cpu_period : 100000));
	e = cg_write(dir, "cpu.max", text);
	if (!e && r->cpu_shares) {
		/* runc's mapping of cgroup v1 shares [2, 262144] onto weights [1, 10000]. */
		uint64_t shares = r->cpu_shares < 2        ? 2
		                  : r->cpu_shares > 262144 ? 262144
		                                           : r->cpu_shares;

		snprintf(text, sizeof(text), "%llu",
		         (unsigned long long)(1 + ((shares - 2) * 9999) / 262142));
		e = cg_write(dir, "cpu.weight", text);
	}
	if (e)
		snprintf(err, err_size, "cannot set the CPU limits (%s): %s", text, strerror(e));
	return e;
}

/* Kills what is left in cgroup DIR (its processes' children too) and removes it. */
static void remove_cgroup(const char *dir)
{
	if (!dir)
		return;
	(void)cg_write(dir, "cgroup.kill", "1");
	/* The killed leave the cgroup as they die. */
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(10000);
}

static void ctr_free(struct ctr *c)
{
	for (size_t i = 0; i < c->n_mounts; i++) {
		free((char *)c->mounts[i].source);
		free((char *)c->mounts[i].destination);
	}
	free(c->mounts);
	remove_cgroup(c->cgroup);
	free(c->cgroup);
	close_outputs(c);
	agent_close_fd(&c->in);
	protobuf_c_message_free_unpacked(&c->process->base, NULL);
	if (c->security)
		protobuf_c_message_free_unpacked(&c->security->base, NULL);
	free(c->id);
	free(c->rootfs);
	free(c);
}

/* A copy of part M of a request, which is freed after it is served. */
static void *copy_message(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	ProtobufCMessage *copy;

	if (!buf)
		abort();
	protobuf_c_message_pack(m, buf);
	copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	free(buf);
	if (!copy)
		abort();
	return copy;
}

/* A path the host named under the share: relative, and never above it. */
static bool share_path(const char *p)
{
	return p[0] && p[0] != '/' && !strstr(p, "..");
}

/* REQ's mounts, their sources made absolute under the share; false for a bad one. */
static bool copy_mounts(const struct agent_ctrs *t, struct ctr *c,
                        const Crib__Agent__CreateContainer *req)
{
	char path[PATH_MAX];

	c->mounts = calloc(req->n_mounts + 1, sizeof(*c->mounts));
	if (!c->mounts)
		abort();
	for (size_t i = 0; i < req->n_mounts; i++) {
		const Crib__Agent__Mount *m = req->mounts[i];

		if (!share_path(m->source) || m->destination[0] != '/')
			return false;
		snprintf(path, sizeof(path), "%s/%s", t->share, m->source);
		c->mounts[i].source = strdup(path);
		c->mounts[i].destination = strdup(m->destination);
		c->mounts[i].readonly = m->readonly;
		c->n_mounts++;
		if (!c->mounts[i].source || !c->mounts[i].destination)
			abort();
	}
	return true;
}

static void create(struct agent_ctrs *t, uint64_t id, const Crib__Agent__CreateContainer *req)
{
	struct ctr *c;
	char path[PATH_MAX], err[300];
	int e;

	if (!req->container_id[0] || !req->process || !req->process->n_args) {
		answer(t, id, EINVAL, "a container needs an id and a program", NULL);
		return;
	}
	if (find(t, req->container_id)) {
		answer(t, id, EEXIST, "the container exists", NULL);
		return;
	}
	if (!share_path(req->rootfs)) {
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
	c->out[0] = c->out[1] = c->out[2] = c->in = -1;
	c->want_stdin = req->stdin;
	c->stdin_once = req->stdin_once;
	c->tty = req->tty;
	c->process = copy_message(&req->process->base);
	c->security = req->security ? copy_message(&req->security->base) : NULL;
	c->own_pid_namespace = req->own_pid_namespace;
	if (!copy_mounts(t, c, req)) {
		ctr_free(c);
		answer(t, id, EINVAL, "a mount source must be a path under the share", NULL);
		return;
	}
	/* Without cgroups the container still runs, unless it has limits to keep. */
	snprintf(path, sizeof(path), CGROUP_DIR "/%s", c->id);
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		c->cgroup = strdup(path);
	e = c->cgroup ? apply_resources(c->cgroup, req->resources, err, sizeof(err)) : 0;
	if (!c->cgroup && req->resources &&
	    (req->resources->memory_limit > 0 || req->resources->cpu_quota > 0)) {
		e = ENOTSUP;
		snprintf(err, sizeof(err), "no cgroup in the VM for the container's limits");
	}
	if (e) {
		ctr_free(c);
		answer(t, id, e, err, NULL);
		return;
	}
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

/* A process of container C: its own, or ARGS in its namespaces (ExecSync). */
static pid_t spawn(const struct ctr *c, char **args, size_t n_args, pid_t join,
                   struct agent_stdio *io, char *err, size_t err_size)
{
	const Crib__Agent__Process *p = c->process;
	struct agent_process ap = {
	    .rootfs = c->rootfs,
	    .args = argv_of(args, n_args),
	    .env = argv_of(p->env, p->n_env),
	    .cwd = p->cwd,
	    .uid = p->uid,
	    .gid = p->gid,
	    .additional_gids = p->additional_gids,
	    .n_additional_gids = p->n_additional_gids,
	    .own_pid_namespace = c->own_pid_namespace,
	    .mounts = c->mounts,
	    .n_mounts = c->n_mounts,
	    .cgroup = c->cgroup,
	    .security = c->security,
	    .join = join,
	};
	pid_t pid = agent_spawn(&ap, io, err, err_size);

	free((void *)ap.args);
	free((void *)ap.env);
	return pid;
}

static void start(struct agent_ctrs *t, uint64_t id, const char *ctr_id)
{
	struct ctr *c = find(t, ctr_id);
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
	struct agent_stdio io = {.in = c->want_stdin, .out = true, .err = true, .tty = c->tty};

	pid = spawn(c, c->process->args, c->process->n_args, 0, &io, err, sizeof(err));
	if (pid < 0) {
		answer(t, id, (int)-pid, err, NULL);
		return;
	}
	c->in = io.fds[0];
	c->out[1] = io.fds[1];
	c->out[2] = io.fds[2];
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

/* The value of KEY in the flat-keyed cgroup file DIR/NAME ("key value" lines); 0 if none. */
static uint64_t cg_key(const char *dir, const char *name, const char *key)
{
	char path[PATH_MAX], line[256];
	size_t klen = strlen(key);
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			v = strtoull(line + klen + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* The single number in DIR/NAME; 0 if none. */
static uint64_t cg_value(const char *dir, const char *name)
{
	char path[PATH_MAX], line[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	return strtoull(line, NULL, 10);
}

/* Container CTR_ID, when it has a cgroup; else NULL, with request ID answered. */
static struct ctr *find_with_cgroup(struct agent_ctrs *t, uint64_t id, const char *ctr_id)
{
	struct ctr *c = find(t, ctr_id);

	if (!c)
		answer(t, id, ENOENT, "no such container", NULL);
	else if (!c->cgroup)
		answer(t, id, ENOTSUP, "the container has no cgroup in the VM", NULL);
	return c && c->cgroup ? c : NULL;
}

static void update(struct agent_ctrs *t, uint64_t id, const Crib__Agent__UpdateContainer *req)
{
	struct ctr *c = find_with_cgroup(t, id, req->container_id);
	char err[300];
	int e;

	if (!c)
		return;
	e = apply_resources(c->cgroup, req->resources, err, sizeof(err));
	answer(t, id, e, e ? err : NULL, c);
}

static void stats(struct agent_ctrs *t, uint64_t id, const char *ctr_id)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__Usage u = CRIB__AGENT__USAGE__INIT;
	struct ctr *c = find_with_cgroup(t, id, ctr_id);
	uint64_t inactive;

	if (!c)
		return;
	u.cpu_usage_ns = cg_key(c->cgroup, "cpu.stat", "usage_usec") * 1000;
	u.memory_usage_bytes = cg_value(c->cgroup, "memory.current");
	inactive = cg_key(c->cgroup, "memory.stat", "inactive_file");
	u.memory_working_set_bytes =
	    u.memory_usage_bytes > inactive ? u.memory_usage_bytes - inactive : 0;
	u.memory_rss_bytes = cg_key(c->cgroup, "memory.stat", "anon");
	u.page_faults = cg_key(c->cgroup, "memory.stat", "pgfault");
	u.major_page_faults = cg_key(c->cgroup, "memory.stat", "pgmajfault");
	u.process_count = cg_value(c->cgroup, "pids.current");
	m.id = id;
	m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_USAGE;
	m.usage = &u;
	t->send(t->ctx, &m, false);
}

pid_t agent_ctrs_exec(struct agent_ctrs *t, const char *ctr_id, char **args, size_t n_args,
                      struct agent_stdio *io, char *err, size_t err_size)
{
	struct ctr *c = find(t, ctr_id);

	if (!c) {
		snprintf(err, err_size, "no such container");
		return -ENOENT;
	}
	if (c->state != CRIB__AGENT__CONTAINER_STATE__STATE__RUNNING) {
		snprintf(err, err_size, "the container is not running");
		return -EBUSY;
	}
	if (!n_args) {
		snprintf(err, err_size, "no command to run");
		return -EINVAL;
	}
	return spawn(c, args, n_args, c->pid, io, err, err_size);
}

int agent_ctrs_attach(struct agent_ctrs *t, const char *ctr_id, struct agent_attach *ret)
{
	struct ctr *c = find(t, ctr_id);

	if (!c)
		return -ENOENT;
	if (c->state != CRIB__AGENT__CONTAINER_STATE__STATE__RUNNING)
		return -EBUSY;
	ret->in = c->in;
	ret->term = c->tty ? c->out[1] : -1;
	ret->tty = c->tty;
	ret->stdin_once = c->stdin_once;
	return 0;
}

void agent_ctrs_close_stdin(struct agent_ctrs *t, const char *ctr_id)
{
	struct ctr *c = find(t, ctr_id);

	/* A terminal's master is its output too: only a pipe is closed. */
	if (c && !c->tty)
		agent_close_fd(&c->in);
}

static void exec_start(struct agent_ctrs *t, uint64_t id, const Crib__Agent__ExecSync *req)
{
	struct exec_run *e;
	char err[300];
	struct agent_stdio io = {.out = true, .err = true};
	pid_t pid =
	    agent_ctrs_exec(t, req->container_id, req->args, req->n_args, &io, err, sizeof(err));

	if (pid < 0) {
		answer(t, id, (int)-pid, err, NULL);
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->req_id = id;
	e->pid = pid;
	e->out[0] = -1;
	e->out[1] = io.fds[1];
	e->out[2] = io.fds[2];
	if (req->timeout_ms)
		e->deadline_ns = clock_ns(CLOCK_MONOTONIC) + (int64_t)req->timeout_ms * 1000000;
	e->next = t->execs;
	t->execs = e;
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
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_EXEC:
		exec_start(t, req->id, req->exec);
		return;
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_STATS:
		stats(t, req->id, req->stats->container_id);
		return;
	case CRIB__AGENT__HOST_MESSAGE__REQUEST_UPDATE:
		update(t, req->id, req->update);
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
	for (const struct exec_run *e = t->execs; e; e = e->next)
		for (int i = 1; i <= 2 && n < max; i++)
			if (e->out[i] >= 0)
				p[n++] = (struct pollfd){.fd = e->out[i], .events = POLLIN};
	return n;
}

/* Keeps what stream I of E has, up to EXEC_OUTPUT_MAX; closes it at EOF. */
static void collect(struct exec_run *e, int i)
{
	static uint8_t buf[OUTPUT_CHUNK];
	ProtobufCBinaryData *d = &e->data[i];
	ssize_t n;

	while ((n = read(e->out[i], buf, sizeof(buf))) > 0) {
		size_t take = (size_t)n;

		if (d->len + take > EXEC_OUTPUT_MAX)
			take = EXEC_OUTPUT_MAX - d->len;
		if (!take)
			continue;
		d->data = realloc(d->data, d->len + take);
		if (!d->data)
			abort();
		memcpy(d->data + d->len, buf, take);
		d->len += take;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close(e->out[i]);
		e->out[i] = -1;
	}
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
		if (t->watch)
			t->watch->output(t->watch_ctx, c->id, i, buf, (size_t)n);
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
		for (struct exec_run *e = t->execs; e; e = e->next)
			for (int i = 1; i <= 2; i++)
				if (e->out[i] == p[k].fd)
					collect(e, i);
	}
}

int agent_ctrs_timeout(struct agent_ctrs *t)
{
	int64_t now = clock_ns(CLOCK_MONOTONIC), next = -1;

	for (struct exec_run *e = t->execs; e; e = e->next) {
		if (!e->deadline_ns || e->timed_out)
			continue;
		if (e->deadline_ns <= now) {
			kill(e->pid, SIGKILL);
			e->timed_out = true;
		} else if (next < 0 || e->deadline_ns - now < next) {
			next = e->deadline_ns - now;
		}
	}
	return next < 0 ? -1 : (int)(next / 1000000) + 1;
}

/* E's process ended: the answer, with what it wrote. */
static void exec_done(struct agent_ctrs *t, struct exec_run *e, int status)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__ExecResult res = CRIB__AGENT__EXEC_RESULT__INIT;

	for (int i = 1; i <= 2; i++)
		if (e->out[i] >= 0) {
			collect(e, i);
			if (e->out[i] >= 0)
				close(e->out[i]);
		}
	res.exit_code = agent_exit_code(status);
	res.stdout = e->data[1];
	res.stderr = e->data[2];
	res.timed_out = e->timed_out;
	m.id = e->req_id;
	m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_EXEC;
	m.exec = &res;
	t->send(t->ctx, &m, false);
	free(e->data[1].data);
	free(e->data[2].data);
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
	c->exit_code = agent_exit_code(status);
	c->finished_ns = wall_ns();
	state_of(c, &s);
	m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_EXITED;
	m.exited = &s;
	t->send(t->ctx, &m, true);
	agent_close_fd(&c->in);
	if (t->watch)
		t->watch->exited(t->watch_ctx, c->id, c->exit_code);
}

void agent_ctrs_reap(struct agent_ctrs *t)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct exec_run **ee = &t->execs;
		bool known = false;

		for (struct ctr *c = t->head; c; c = c->next)
			if (c->pid == pid &&
			    c->state == CRIB__AGENT__CONTAINER_STATE__STATE__RUNNING) {
				report_exit(t, c, status);
				known = true;
			}
		while (*ee && (*ee)->pid != pid)
			ee = &(*ee)->next;
		if (*ee) {
			struct exec_run *e = *ee;

			*ee = e->next;
			exec_done(t, e, status);
			free(e);
			known = true;
		}
		if (!known && t->watch)
			t->watch->reaped(t->watch_ctx, pid, status);
	}
}
