/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/addr.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/route.h>

#include "crib/backend.h"
#include "podnic.h"
#include "util.h"

/* The tap's name: this prefix and as much of the pod id as IFNAMSIZ leaves. */
#define TAP_PREFIX "crib"
/* The ingress qdisc's handle, ffff: (libnl's TC_HANDLE shifts a signed int into overflow). */
#define INGRESS_HANDLE 0xffff0000u

static void nl_sock_freep(struct nl_sock **sk)
{
	nl_socket_free(*sk);
}

static void rtnl_link_putp(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}

static void nl_cache_freep(struct nl_cache **c)
{
	nl_cache_free(*c);
}

static int nl_error(const struct crib_host *host, struct crib_error **reterr, int nlerr,
                    const char *what, const char *name)
{
	return host->error_set(reterr, EIO, "%s %s: %s", what, name, nl_geterror(nlerr));
}

/* A route socket in the caller's thread's namespace; NULL on failure, *ret_err the libnl error. */
static struct nl_sock *route_socket(int *ret_err)
{
	struct nl_sock *sk = nl_socket_alloc();

	*ret_err = sk ? nl_connect(sk, NETLINK_ROUTE) : -NLE_NOMEM;
	if (*ret_err < 0) {
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/* A route socket and the libnl error of its making. */
struct socket_job {
	struct nl_sock *sk;
	int nlerr;
};

static int make_route_socket(void *arg)
{
	struct socket_job *j = arg;

	j->sk = route_socket(&j->nlerr);
	return 0;
}

/*
 * A route socket in the namespace at NETNS: a netlink socket stays in the
 * namespace it was made in, so only its making runs there.
 */
static struct nl_sock *route_socket_in(const char *netns, int *ret_err)
{
	struct socket_job j = {0};
	int r = crib_in_netns(netns, make_route_socket, &j);

	*ret_err = r < 0 ? -nl_syserr2nlerr(-r) : j.nlerr;
	return j.sk;
}

/* "ADDR/PREFIX" of a binary address of FAMILY (all zeros when ADDR is NULL). */
static char *cidr(int family, const void *addr, unsigned prefix)
{
	static const uint8_t zero[16];
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr ? addr : zero, text, sizeof(text)))
		return NULL;
	return crib_xasprintf("%s/%u", text, prefix);
}

static char *addr_text(const struct nl_addr *a)
{
	char text[INET6_ADDRSTRLEN];

	return inet_ntop(nl_addr_get_family(a), nl_addr_get_binary_addr(a), text, sizeof(text))
	           ? crib_xstrdup(text)
	           : NULL;
}

/* eth0's global addresses: link-local ones the guest makes itself. */
static int read_addresses(struct lv_nic *nic)
{
	_cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
	int r = rtnl_addr_alloc_cache(nic->pod_sk, &cache);

	if (r < 0)
		return r;
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(a);
		_cleanup_free_ char *text = NULL;

		if (rtnl_addr_get_ifindex(a) != nic->eth0_index || !local ||
		    rtnl_addr_get_scope(a) == RT_SCOPE_LINK)
			continue;
		text = cidr(rtnl_addr_get_family(a), nl_addr_get_binary_addr(local),
		            (unsigned)rtnl_addr_get_prefixlen(a));
		if (text)
			crib_strv_add(&nic->spec.addresses, &nic->spec.n_addresses, text);
	}
	return 0;
}

/*
 * Whether R is one of eth0's routes that the guest needs from us: unicast,
 * main table, through eth0, and not one the kernel makes by itself (a
 * subnet's, once its address is set) or learnt from router advertisements.
 * WITH_GATEWAY picks the routes through a gateway or those on the link.
 */
static struct rtnl_nexthop *wanted_route(const struct lv_nic *nic, struct rtnl_route *r,
                                         bool with_gateway)
{
	struct rtnl_nexthop *nh;

	if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST ||
	    rtnl_route_get_protocol(r) == RTPROT_KERNEL ||
	    rtnl_route_get_protocol(r) == RTPROT_RA || rtnl_route_get_nnexthops(r) < 1)
		return NULL;
	nh = rtnl_route_nexthop_n(r, 0);
	if (rtnl_route_nh_get_ifindex(nh) != nic->eth0_index ||
	    (rtnl_route_nh_get_gateway(nh) != NULL) != with_gateway)
		return NULL;
	return nh;
}

static void add_route(struct lv_nic *nic, struct rtnl_route *r, struct rtnl_nexthop *nh)
{
	struct nl_addr *dst = rtnl_route_get_dst(r), *gw = rtnl_route_nh_get_gateway(nh);
	Crib__Agent__Route *route;
	char *dest = cidr(rtnl_route_get_family(r),
	                  dst && nl_addr_get_len(dst) ? nl_addr_get_binary_addr(dst) : NULL,
	                  dst ? nl_addr_get_prefixlen(dst) : 0);

	if (!dest)
		return;
	route = crib_xmalloc(sizeof(*route));
	crib__agent__route__init(route);
	route->destination = dest;
	route->gateway = gw ? addr_text(gw) : crib_xstrdup("");
	nic->spec.routes =
	    crib_xrealloc(nic->spec.routes, nic->spec.n_routes + 1, sizeof(*nic->spec.routes));
	nic->spec.routes[nic->spec.n_routes++] = route;
}

/* eth0's routes, those on the link first: a gateway must be reachable when its route is added. */
static int read_routes(struct lv_nic *nic)
{
	_cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
	int r = rtnl_route_alloc_cache(nic->pod_sk, AF_UNSPEC, 0, &cache);

	if (r < 0)
		return r;
	for (int pass = 0; pass < 2; pass++)
		for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
			struct rtnl_route *route = (struct rtnl_route *)o;
			struct rtnl_nexthop *nh = wanted_route(nic, route, pass == 1);

			if (nh)
				add_route(nic, route, nh);
		}
	return 0;
}

/* eth0's MAC and MTU; -NLE_OBJ_NOTFOUND when there is no eth0. */
static int read_link(struct lv_nic *nic)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *eth0 = NULL;
	char mac[32];
	int r = rtnl_link_get_kernel(nic->pod_sk, 0, CRIB_LV_NIC_IFNAME, &eth0);

	if (r == -NLE_NODEV)
		r = -NLE_OBJ_NOTFOUND;
	if (r < 0)
		return r;
	if (!rtnl_link_get_addr(eth0))
		return -NLE_NOADDR;
	nic->eth0_index = rtnl_link_get_ifindex(eth0);
	nic->spec.mac = crib_xstrdup(nl_addr2str(rtnl_link_get_addr(eth0), mac, sizeof(mac)));
	nic->spec.mtu = rtnl_link_get_mtu(eth0);
	return 0;
}

int lv_nic_read(const struct crib_host *host, const char *netns_path, const char *pod_id,
                struct lv_nic **ret, struct crib_error **reterr)
{
	_cleanup_(lv_nic_freep) struct lv_nic *nic = crib_xcalloc(1, sizeof(*nic));
	int r;

	crib__agent__nic__init(&nic->spec);
	nic->spec.mac = NULL; /* not protobuf-c's static "": read_link sets it */
	snprintf(nic->tap, sizeof(nic->tap), TAP_PREFIX "%s", pod_id);
	nic->netns_fd = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (nic->netns_fd < 0)
		return host->error_set(reterr, errno,
		                       "cannot open the pod's network namespace %s: %s", netns_path,
		                       strerror(errno));
	nic->pod_sk = route_socket_in(netns_path, &r);
	if (!nic->pod_sk)
		return nl_error(host, reterr, r, "cannot open a route socket in", netns_path);
	r = read_link(nic);
	if (r == -NLE_OBJ_NOTFOUND) {
		*ret = NULL;
		return 0;
	}
	r = r < 0 ? r : read_addresses(nic);
	r = r < 0 ? r : read_routes(nic);
	if (r < 0)
		return nl_error(host, reterr, r, "cannot read " CRIB_LV_NIC_IFNAME " of",
		                netns_path);
	*ret = TAKE_PTR(nic);
	return 0;
}

int lv_nic_make_tap(const struct crib_host *host, struct lv_nic *nic, struct crib_error **reterr)
{
	_cleanup_close_ int fd = -1;
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};

	/* TUNSETIFF attaches to a tap of that name that exists: never to someone else's. */
	if (if_nametoindex(nic->tap) > 0)
		return host->error_set(reterr, EEXIST, "a network device %s exists already",
		                       nic->tap);
	memcpy(ifr.ifr_name, nic->tap, sizeof(nic->tap));
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0)
		return host->error_set(reterr, errno, "cannot make the tap %s: %s", nic->tap,
		                       strerror(errno));
	nic->tap_made = true;
	if (ioctl(fd, TUNSETPERSIST, 1) < 0)
		return host->error_set(reterr, errno, "cannot keep the tap %s: %s", nic->tap,
		                       strerror(errno));
	return 0;
}

/* Moves the tap from the host's namespace (HOST_SK's) into the pod's. */
static int move_tap(struct nl_sock *host_sk, struct lv_nic *nic)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *tap = NULL, *change = rtnl_link_alloc();
	int r = change ? rtnl_link_get_kernel(host_sk, 0, nic->tap, &tap) : -NLE_NOMEM;

	if (r < 0)
		return r;
	rtnl_link_set_ns_fd(change, nic->netns_fd);
	r = rtnl_link_change(host_sk, tap, change, 0);
	nic->joined = r == 0;
	return r;
}

/* In the pod's namespace: the tap up, with eth0's MTU; its index in *RET_INDEX. */
static int tap_up(struct lv_nic *nic, int *ret_index)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *tap = NULL, *change = rtnl_link_alloc();
	int r = change ? rtnl_link_get_kernel(nic->pod_sk, 0, nic->tap, &tap) : -NLE_NOMEM;

	if (r < 0)
		return r;
	*ret_index = rtnl_link_get_ifindex(tap);
	if (nic->spec.mtu)
		rtnl_link_set_mtu(change, nic->spec.mtu);
	rtnl_link_set_flags(change, IFF_UP);
	return rtnl_link_change(nic->pod_sk, tap, change, 0);
}

/* The ingress qdisc of the device IFINDEX, which its redirect hangs off. */
static int add_ingress(struct nl_sock *sk, int ifindex)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int r;

	if (!q)
		return -NLE_NOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
	r = rtnl_tc_set_kind(TC_CAST(q), "ingress");
	r = r < 0 ? r : rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_qdisc_put(q);
	/* Another's ingress qdisc (a bandwidth plugin's) holds our filter as well. */
	return r == -NLE_EXIST ? 0 : r;
}

/*
 * Everything that comes in on FROM goes out of TO: a u32 filter matching
 * every packet with a mirred redirect.  u32 rather than matchall, which
 * some kernels lack (this machine's among them).
 */
static int add_redirect(struct nl_sock *sk, int from, int to)
{
	struct rtnl_cls *cls = rtnl_cls_alloc();
	struct rtnl_act *act = rtnl_act_alloc();
	int r = cls && act ? add_ingress(sk, from) : -NLE_NOMEM;

	if (r == 0) {
		rtnl_tc_set_ifindex(TC_CAST(cls), from);
		rtnl_tc_set_parent(TC_CAST(cls), INGRESS_HANDLE);
		rtnl_cls_set_protocol(cls, ETH_P_ALL);
		r = rtnl_tc_set_kind(TC_CAST(cls), "u32");
	}
	r = r < 0 ? r : rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0);
	/* Without it the key matches and u32 looks on, never running the action. */
	r = r < 0 ? r : rtnl_u32_set_cls_terminal(cls);
	r = r < 0 ? r : rtnl_tc_set_kind(TC_CAST(act), "mirred");
	if (r == 0) {
		rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
		rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
		rtnl_mirred_set_ifindex(act, (uint32_t)to);
		r = rtnl_u32_add_action(cls, act);
	}
	r = r < 0 ? r : rtnl_cls_add(sk, cls, NLM_F_CREATE | NLM_F_EXCL);
	if (act)
		rtnl_act_put(act);
	if (cls)
		rtnl_cls_put(cls);
	return r;
}

int lv_nic_join(const struct crib_host *host, struct lv_nic *nic, struct crib_error **reterr)
{
	_cleanup_(nl_sock_freep) struct nl_sock *host_sk = NULL;
	int r, tap_index = 0;

	host_sk = route_socket(&r);
	r = r < 0 ? r : move_tap(host_sk, nic);
	if (r < 0)
		return nl_error(host, reterr, r, "cannot move into the pod's namespace the tap",
		                nic->tap);
	r = tap_up(nic, &tap_index);
	r = r < 0 ? r : add_redirect(nic->pod_sk, nic->eth0_index, tap_index);
	r = r < 0 ? r : add_redirect(nic->pod_sk, tap_index, nic->eth0_index);
	if (r < 0)
		return nl_error(host, reterr, r, "cannot join " CRIB_LV_NIC_IFNAME " to the tap",
		                nic->tap);
	return 0;
}

/* Deletes the tap from the namespace SK is in. */
static void delete_tap(struct nl_sock *sk, const char *name)
{
	_cleanup_(rtnl_link_putp) struct rtnl_link *tap = NULL;

	if (sk && rtnl_link_get_kernel(sk, 0, name, &tap) == 0)
		(void)rtnl_link_delete(sk, tap);
}

static void free_route(Crib__Agent__Route *r)
{
	free(r->destination);
	free(r->gateway);
	free(r);
}

void lv_nic_free(struct lv_nic *nic)
{
	if (!nic)
		return;
	if (nic->tap_made && !nic->keep) {
		_cleanup_(nl_sock_freep) struct nl_sock *host_sk = NULL;
		int r;

		if (!nic->joined)
			host_sk = route_socket(&r);
		delete_tap(nic->joined ? nic->pod_sk : host_sk, nic->tap);
	}
	nl_socket_free(nic->pod_sk);
	if (nic->netns_fd >= 0)
		close(nic->netns_fd);
	free(nic->spec.mac);
	crib_strv_free(nic->spec.addresses, nic->spec.n_addresses);
	for (size_t i = 0; i < nic->spec.n_routes; i++)
		free_route(nic->spec.routes[i]);
	free(nic->spec.routes);
	free(nic);
}
