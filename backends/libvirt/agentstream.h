/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-agent's Exec and Attach sessions (agent.proto's streams): a process
 * started in a container with pipes or a terminal, or a container's own
 * stdio, whose bytes travel as StreamData and StreamInput, within
 * CRIB_AGENT_STREAM_WINDOW each way.
 */
#ifndef CRIB_LIBVIRT_AGENTSTREAM_H
#define CRIB_LIBVIRT_AGENTSTREAM_H

#include <poll.h>
#include <stddef.h>

#include "agent.pb-c.h"
#include "agentctr.h"

struct agent_streams;

/* A new session table over the containers of T (it watches them), sending through SEND. */
struct agent_streams *agent_streams_new(struct agent_ctrs *t, agent_send_fn send, void *ctx);

/* Whether REQ is a stream request; then it is served (and answered when it expects it). */
bool agent_streams_serve(struct agent_streams *s, const Crib__Agent__HostMessage *req);

/* The descriptors to poll, at most MAX, into P; returns how many. */
size_t agent_streams_pollfds(const struct agent_streams *s, struct pollfd *p, size_t max);

/* Moves what the descriptors in P (as agent_streams_pollfds filled them) are ready for. */
void agent_streams_io(struct agent_streams *s, const struct pollfd *p, size_t n);

/* Ends every session: a new host connected, the old one's sessions are gone. */
void agent_streams_reset(struct agent_streams *s);

#endif
