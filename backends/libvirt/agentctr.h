/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-agent's containers: the table of the pod's containers, the requests
 * that act on them (agent.proto), their output and their exits, and the
 * ExecSync processes run in them.
 */
#ifndef CRIB_LIBVIRT_AGENTCTR_H
#define CRIB_LIBVIRT_AGENTCTR_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include <sys/types.h>

#include "agent.pb-c.h"
#include "agentspawn.h"

struct agent_ctrs;

/*
 * How the table sends a message: an answer (EVENT false: dropped when no
 * host listens) or an event of id 0 (kept until a host listens).  M and what
 * it points to are the table's; the callee packs them before returning.
 */
typedef void (*agent_send_fn)(void *ctx, const Crib__Agent__GuestMessage *m, bool event);

/* A new table for containers whose root filesystems are under SHARE. */
struct agent_ctrs *agent_ctrs_new(const char *share, agent_send_fn send, void *ctx);

/*
 * Who else hears of the containers (agentstream.h's Attach and Exec
 * sessions): a copy of each chunk of output (FD 1 or 2, what a terminal
 * writes is 1), each exit, and the children reaped that are none of the
 * table's.
 */
struct agent_ctr_watch {
	void (*output)(void *ctx, const char *ctr_id, int fd, const uint8_t *data, size_t len);
	void (*exited)(void *ctx, const char *ctr_id, int exit_code);
	void (*reaped)(void *ctx, pid_t pid, int status);
};

void agent_ctrs_set_watch(struct agent_ctrs *t, const struct agent_ctr_watch *w, void *ctx);

/*
 * Starts ARGS in running container CTR_ID's namespaces, as its user, with
 * its environment (ExecSync's process, and an Exec session's) and the
 * stdio IO asks for.  The pid, or -errno with the reason in ERR: -ENOENT,
 * -EBUSY when the container does not run.
 */
pid_t agent_ctrs_exec(struct agent_ctrs *t, const char *ctr_id, char **args, size_t n_args,
                      struct agent_stdio *io, char *err, size_t err_size);

/* What an Attach session gets of a running container; the descriptors stay the table's. */
struct agent_attach {
	int in;   /* the write end of its stdin (its terminal's master with tty), or -1 */
	int term; /* its terminal's master, or -1 */
	bool tty;
	bool stdin_once;
};

/* 0, -ENOENT, or -EBUSY when the container does not run. */
int agent_ctrs_attach(struct agent_ctrs *t, const char *ctr_id, struct agent_attach *ret);

/* Closes the container's stdin (stdin_once: the first session's input ended). */
void agent_ctrs_close_stdin(struct agent_ctrs *t, const char *ctr_id);

/*
 * Answers REQ, a container request (create, start, signal, remove, list,
 * exec), through send; an ExecSync's answer goes out when its process ended.
 */
void agent_ctrs_serve(struct agent_ctrs *t, const Crib__Agent__HostMessage *req);

/* The output pipes to poll, at most MAX, into P; returns how many. */
size_t agent_ctrs_pollfds(const struct agent_ctrs *t, struct pollfd *p, size_t max);

/* Forwards what the pipes in P (as agent_ctrs_pollfds filled them) have to read. */
void agent_ctrs_io(struct agent_ctrs *t, const struct pollfd *p, size_t n);

/*
 * Kills the ExecSync processes whose time is up; returns the ms until the
 * next one's, for poll(2), or -1 when none has a deadline.
 */
int agent_ctrs_timeout(struct agent_ctrs *t);

/* Reaps ended children (after SIGCHLD): containers' exits and ExecSync answers. */
void agent_ctrs_reap(struct agent_ctrs *t);

#endif
