/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's side of the agent protocol (agent.proto): one session per pod
 * VM, a connection to the unix socket behind its virtio-serial port.  A
 * session greets the agent, then a thread of its own reads: answers go to
 * the call that waits for them, the guest's own messages (output, exits) to
 * the session's event callbacks.
 */
#ifndef CRIB_LIBVIRT_AGENTCLIENT_H
#define CRIB_LIBVIRT_AGENTCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <crib/backend.h>

#include "agent.pb-c.h"

/* What the agent said in answer to Hello: the guest's boot, as it saw it. */
struct crib_lv_hello {
	char *agent_version;  /* malloc'd */
	char *kernel_release; /* malloc'd */
	uint64_t started_ns;  /* guest boot time when the agent (PID 1) started */
	uint64_t modules_ns;  /* ... when it had loaded its modules */
	uint64_t answered_ns; /* ... when it answered */
};

void crib_lv_hello_clear(struct crib_lv_hello *h);

/*
 * The guest's own messages, called on the session's reader thread; MSG is
 * valid during the call only.  closed is called once, when the connection
 * ended (the VM went away, or crib_lv_agent_close).
 */
struct crib_lv_agent_events {
	void (*message)(void *ctx, const Crib__Agent__GuestMessage *msg);
	void (*closed)(void *ctx);
};

struct crib_lv_agent;

/*
 * Connects to the agent behind the socket PATH and greets it (with GREETING,
 * the pod's first Hello naming the VM's host name and sysctls, or an empty
 * Hello when NULL), waiting up to TIMEOUT_MS for the
 * answer (the VM may still be booting); on success *ret
 * is the session (crib_lv_agent_close) and *ret_hello (when not NULL) is
 * filled (crib_lv_hello_clear).  -ETIMEDOUT when the agent did not answer in
 * time, -ECONNRESET when the VM went away first (QEMU closed the socket),
 * -EPROTO for an answer that does not parse.
 */
int crib_lv_agent_open(const struct crib_host *host, const char *path,
                       const Crib__Agent__Hello *greeting, int64_t timeout_ms,
                       const struct crib_lv_agent_events *events, void *ctx,
                       struct crib_lv_hello *ret_hello, struct crib_lv_agent **ret,
                       struct crib_error **reterr);

/*
 * Sends REQ (its id is set here) and waits up to TIMEOUT_MS for the answer.
 * On success *ret (crib__agent__guest_message__free_unpacked) is an answer
 * without an error; an error answer is its errnum with the agent's message.
 * -ECONNRESET once the session is closed.
 */
int crib_lv_agent_call(struct crib_lv_agent *a, Crib__Agent__HostMessage *req, int64_t timeout_ms,
                       Crib__Agent__GuestMessage **ret, struct crib_error **reterr);

/*
 * Sends MSG, which expects no answer (its id stays 0): StreamInput and
 * StreamAck.  -ECONNRESET once the session is closed, or write(2)'s -errno.
 */
int crib_lv_agent_send(struct crib_lv_agent *a, const Crib__Agent__HostMessage *msg);

/* Whether the connection still stands. */
bool crib_lv_agent_alive(struct crib_lv_agent *a);

/* Ends the session: closes the connection, waits for its thread, frees A.  NULL-safe. */
void crib_lv_agent_close(struct crib_lv_agent *a);

#endif
