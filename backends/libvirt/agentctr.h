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

#include "agent.pb-c.h"

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
