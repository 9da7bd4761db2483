/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's side of the agent protocol (agent.proto): a connection to the
 * unix socket behind a pod VM's virtio-serial port.
 */
#ifndef CRIB_LIBVIRT_AGENTCLIENT_H
#define CRIB_LIBVIRT_AGENTCLIENT_H

#include <stdint.h>

#include <crib/backend.h>

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
 * Connects to the agent behind the socket PATH and greets it, waiting up to
 * TIMEOUT_MS for the answer (the VM boots meanwhile); on success *ret is
 * filled (the caller's, crib_lv_hello_clear).  -ETIMEDOUT when the agent did
 * not answer in time, -ECONNRESET when the VM went away first (QEMU closed
 * the socket), -EPROTO for an answer that does not parse.
 */
int crib_lv_agent_hello(const struct crib_host *host, const char *path, int64_t timeout_ms,
                        struct crib_lv_hello *ret, struct crib_error **reterr);

#endif
