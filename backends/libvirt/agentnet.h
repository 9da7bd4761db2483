/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-agent: the guest's side of the pod's NIC (agent.proto's Nic).  The
 * NIC is the virtio one whose MAC the host named; it gets the MTU, the
 * addresses and the routes the pod's CNI interface had on the host.
 */
#ifndef CRIB_LIBVIRT_AGENTNET_H
#define CRIB_LIBVIRT_AGENTNET_H

#include <stddef.h>

#include "agent.pb-c.h"

/*
 * Configures NIC, waiting a while for its device to appear; 0, or the errno
 * with what failed (naming the address or route) in ERR.  What was there
 * already (a second Hello's) is kept.
 */
int agent_net_configure(const Crib__Agent__Nic *nic, char *err, size_t err_size);

#endif
