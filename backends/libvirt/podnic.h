/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pod VM's NIC, on the pod's network as Kata's tc-filter model puts it:
 * CNI made eth0 in the pod's network namespace; the VM gets a tap in that
 * namespace, the two joined by tc redirects (each one's ingress goes out of
 * the other), and the guest's NIC takes eth0's MAC, addresses and routes,
 * which the agent sets (agent.proto's Nic).  Nothing of the host's own
 * network is touched.
 *
 * libvirt opens an unmanaged tap by name in its own namespace, so the tap is
 * made persistent in the host's namespace, named after the pod, and moved
 * into the pod's once QEMU holds it.  It dies with the pod's namespace.
 *
 * Everything here blocks on netlink: worker threads only.  A thread enters
 * the pod's namespace only to open a socket there, and always comes back.
 */
#ifndef CRIB_LIBVIRT_PODNIC_H
#define CRIB_LIBVIRT_PODNIC_H

#include <net/if.h>
#include <stdbool.h>

#include "agent.pb-c.h"

struct crib_host;
struct crib_error;
struct nl_sock;

/* The interface CNI makes in the pod's namespace, which the VM takes over. */
#define CRIB_LV_NIC_IFNAME "eth0"

struct lv_nic {
	char tap[IF_NAMESIZE]; /* "crib" and the start of the pod id */
	bool tap_made;         /* made, in the host's namespace until joined */
	bool joined;           /* in the pod's namespace, joined to eth0 */
	bool keep;             /* the pod runs: lv_nic_free leaves the tap */
	int eth0_index;        /* in the pod's namespace */
	int netns_fd;
	struct nl_sock *pod_sk; /* a route socket in the pod's namespace */
	/* What the agent sets, all malloc'd: eth0's MAC, MTU, addresses, routes. */
	Crib__Agent__Nic spec;
};

/*
 * Reads eth0 of the network namespace at NETNS_PATH for the pod POD_ID.
 * *ret (lv_nic_free's) is NULL when the namespace has no eth0, as with a
 * loopback-only CNI network: the VM gets no NIC.
 */
int lv_nic_read(const struct crib_host *host, const char *netns_path, const char *pod_id,
                struct lv_nic **ret, struct crib_error **reterr);

/* Makes NIC's tap, persistent, in the host's namespace, for the domain to open. */
int lv_nic_make_tap(const struct crib_host *host, struct lv_nic *nic, struct crib_error **reterr);

/*
 * Once QEMU holds the tap: moves it into the pod's namespace, sets it up
 * with eth0's MTU and joins it to eth0 both ways.
 */
int lv_nic_join(const struct crib_host *host, struct lv_nic *nic, struct crib_error **reterr);

/* NULL-safe.  Unless NIC->keep, deletes the tap wherever it is (a pod that did not start). */
void lv_nic_free(struct lv_nic *nic);

static inline void lv_nic_freep(struct lv_nic **nic)
{
	lv_nic_free(*nic);
}

#endif
