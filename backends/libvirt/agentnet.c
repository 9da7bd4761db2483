/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "agentnet.h"
#include "agentutil.h"

/* How long virtio_net may take to show the NIC once loaded. */
#define NIC_WAIT_MS 3000

/* The NIC up, with its MTU; its index in *RET_INDEX. */
static int link_up(struct nl_sock *sk, const char *name, unsigned mtu, int *ret_index)
{
	struct rtnl_link *link = NULL, *change = rtnl_link_alloc();
	int r = change ? rtnl_link_get_kernel(sk, 0, name, &link) : -NLE_NOMEM;

	if (r == 0) {
		*ret_index = rtnl_link_get_ifindex(link);
		if (mtu)
			rtnl_link_set_mtu(change, mtu);
		rtnl_link_set_flags(change, IFF_UP);
		r = rtnl_link_change(sk, link, change, 0);
	}
	if (link)
		rtnl_link_put(link);
	if (change)
		rtnl_link_put(change);
	return r;
}

static int add_address(struct nl_sock *sk, int ifindex, const char *text)
{
	struct nl_addr *local = NULL;
	struct rtnl_addr *addr = rtnl_addr_alloc();
	int r = addr ? nl_addr_parse(text, AF_UNSPEC, &local) : -NLE_NOMEM;

	if (r == 0) {
		rtnl_addr_set_ifindex(addr, ifindex);
		r = rtnl_addr_set_local(addr, local);
	}
	if (r == 0) {
		rtnl_addr_set_prefixlen(addr, (int)nl_addr_get_prefixlen(local));
		/* The host's interface had the address already: no duplicate detection to wait for.
		 */
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
		r = rtnl_addr_add(sk, addr, 0);
	}
	nl_addr_put(local);
	if (addr)
		rtnl_addr_put(addr);
	return r == -NLE_EXIST ? 0 : r;
}

/* The route's next hop: through its gateway, else on the link. */
static int next_hop(struct rtnl_route *route, int ifindex, const char *gateway)
{
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *gw = NULL;
	int r = nh ? 0 : -NLE_NOMEM;

	if (r == 0 && gateway[0]) {
		r = nl_addr_parse(gateway, rtnl_route_get_family(route), &gw);
		if (r == 0)
			rtnl_route_nh_set_gateway(nh, gw);
		nl_addr_put(gw);
	}
	if (r < 0) {
		rtnl_route_nh_free(nh);
		return r;
	}
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(route, nh);
	return 0;
}

static int add_route(struct nl_sock *sk, int ifindex, const Crib__Agent__Route *spec)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct nl_addr *dst = NULL;
	int r = route ? nl_addr_parse(spec->destination, AF_UNSPEC, &dst) : -NLE_NOMEM;

	if (r == 0) {
		r = rtnl_route_set_dst(route, dst);
		rtnl_route_set_table(route, RT_TABLE_MAIN);
		rtnl_route_set_scope(route, spec->gateway[0] ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
		rtnl_route_set_protocol(route, RTPROT_STATIC);
	}
	r = r < 0 ? r : next_hop(route, ifindex, spec->gateway);
	r = r < 0 ? r : rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_EXCL);
	nl_addr_put(dst);
	if (route)
		rtnl_route_put(route);
	return r == -NLE_EXIST ? 0 : r;
}

/* The addresses, then the routes, which may go through them. */
static int add_all(struct nl_sock *sk, int ifindex, const Crib__Agent__Nic *nic, char *err,
                   size_t err_size)
{
	int r;

	for (size_t i = 0; i < nic->n_addresses; i++) {
		r = add_address(sk, ifindex, nic->addresses[i]);
		if (r < 0) {
			snprintf(err, err_size, "cannot add the address %s: %s", nic->addresses[i],
			         nl_geterror(r));
			return EINVAL;
		}
	}
	for (size_t i = 0; i < nic->n_routes; i++) {
		const Crib__Agent__Route *route = nic->routes[i];

		r = add_route(sk, ifindex, route);
		if (r < 0) {
			snprintf(err, err_size, "cannot add the route to %s via '%s': %s",
			         route->destination, route->gateway, nl_geterror(r));
			return EINVAL;
		}
	}
	return 0;
}

int agent_net_configure(const Crib__Agent__Nic *nic, char *err, size_t err_size)
{
	char name[IF_NAMESIZE];
	struct nl_sock *sk;
	int r, ifindex = 0, e = 0;

	/* The kernel shows MACs in lower case, as the host sends them. */
	if (!agent_sysfs_find("/sys/class/net", "address", nic->mac, NIC_WAIT_MS, name,
	                      sizeof(name))) {
		snprintf(err, err_size, "no network interface has the pod's MAC %s", nic->mac);
		return ENODEV;
	}
	sk = nl_socket_alloc();
	r = sk ? nl_connect(sk, NETLINK_ROUTE) : -NLE_NOMEM;
	r = r < 0 ? r : link_up(sk, name, nic->mtu, &ifindex);
	if (r < 0) {
		snprintf(err, err_size, "cannot bring up %s: %s", name, nl_geterror(r));
		e = EIO;
	}
	if (!e)
		e = add_all(sk, ifindex, nic, err, err_size);
	nl_socket_free(sk);
	return e;
}
