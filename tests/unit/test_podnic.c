/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libvirt backend's pod NIC (backends/libvirt/podnic.c) without a VM:
 * what it reads of a pod namespace's eth0, and the tap it makes, moves and
 * joins.  The test process takes a network namespace of its own first (its
 * "host"), and makes each pod's inside it with iproute2, so nothing of the
 * machine's network is touched.  Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_host.h"
#include "podnic.h"
#include "util.h"

#define POD_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define TAP    "crib0123456789a"

static const struct crib_host host = FAKE_HOST_INIT("libvirt");
static int host_ns = -1;

/* SCRIPT run by sh in a new namespace; its fd (the caller's) in *ret_fd, its path in PATH. */
static void make_pod_ns(const char *script, int *ret_fd, char *path, size_t size)
{
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	*ret_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(*ret_fd >= 0);
	if (script[0])
		assert_int_equal(system(script), 0);
	assert_int_equal(setns(host_ns, CLONE_NEWNET), 0);
	snprintf(path, size, "/proc/self/fd/%d", *ret_fd);
}

/* Whether the namespace NS has a device NAME. */
static bool has_link(int ns, const char *name)
{
	bool found;

	assert_int_equal(setns(ns, CLONE_NEWNET), 0);
	found = if_nametoindex(name) > 0;
	assert_int_equal(setns(host_ns, CLONE_NEWNET), 0);
	return found;
}

/* SCRIPT's exit status, run in the namespace NS. */
static int run_in(int ns, const char *script)
{
	int status;

	assert_int_equal(setns(ns, CLONE_NEWNET), 0);
	status = system(script);
	assert_int_equal(setns(host_ns, CLONE_NEWNET), 0);
	return status;
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return 0; /* the tests skip */
	host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return host_ns < 0 ? -1 : 0;
}

static void need_namespaces(void)
{
	if (host_ns < 0)
		skip();
}

/*
 * What lv_nic_read makes of a pod namespace SCRIPT made (its fd in *RET_NS):
 * it must succeed, and set *ret even to NULL.
 */
static struct lv_nic *read_pod_ns(const char *script, int *ret_ns)
{
	struct lv_nic *nic = (struct lv_nic *)&nic;
	struct crib_error *err = NULL;
	char path[64];

	need_namespaces();
	make_pod_ns(script, ret_ns, path, sizeof(path));
	assert_int_equal(lv_nic_read(&host, path, POD_ID, &nic, &err), 0);
	assert_null(err);
	return nic;
}

static bool has_address(const struct lv_nic *nic, const char *a)
{
	return crib_strv_contains(nic->spec.addresses, nic->spec.n_addresses, a);
}

/*
 * eth0's MAC, MTU, global addresses and the routes the guest needs: on-link
 * ones first, never the kernel's own subnet or link-local routes.
 */
static void test_reads_eth0(void **state)
{
	struct lv_nic *nic;
	int ns;

	(void)state;
	nic = read_pod_ns(
	    "ip link add eth0 mtu 1450 address 02:00:00:00:00:07 type veth peer name p0 && "
	    "ip addr add 10.1.2.3/24 dev eth0 && "
	    "ip -6 addr add fd00::3/64 dev eth0 nodad && "
	    "ip link set p0 up && ip link set eth0 up && "
	    "ip route add default via 10.1.2.1 && ip route add 10.9.0.0/16 dev eth0",
	    &ns);
	assert_non_null(nic);
	assert_string_equal(nic->tap, TAP);
	assert_string_equal(nic->spec.mac, "02:00:00:00:00:07");
	assert_int_equal(nic->spec.mtu, 1450);
	assert_int_equal(nic->spec.n_addresses, 2);
	assert_true(has_address(nic, "10.1.2.3/24"));
	assert_true(has_address(nic, "fd00::3/64"));
	assert_int_equal(nic->spec.n_routes, 2);
	assert_string_equal(nic->spec.routes[0]->destination, "10.9.0.0/16");
	assert_string_equal(nic->spec.routes[0]->gateway, "");
	assert_string_equal(nic->spec.routes[1]->destination, "0.0.0.0/0");
	assert_string_equal(nic->spec.routes[1]->gateway, "10.1.2.1");
	lv_nic_free(nic);
	close(ns);
}

/* A loopback-only network: no NIC, and no error. */
static void test_no_eth0_no_nic(void **state)
{
	int ns;

	(void)state;
	assert_null(read_pod_ns("ip link set lo up", &ns));
	close(ns);
}

/*
 * The tap: made in the host's namespace, moved into the pod's and joined to
 * eth0 both ways; gone when the pod did not start (keep unset).
 */
static void test_tap_made_joined_and_removed(void **state)
{
	struct crib_error *err = NULL;
	struct lv_nic *nic;
	int ns;

	(void)state;
	nic = read_pod_ns("ip link add eth0 type veth peer name p0 && ip link set eth0 up", &ns);
	assert_int_equal(lv_nic_make_tap(&host, nic, &err), 0);
	assert_true(if_nametoindex(TAP) > 0);
	assert_int_equal(lv_nic_join(&host, nic, &err), 0);
	assert_null(err);
	assert_false(if_nametoindex(TAP) > 0);
	assert_true(has_link(ns, TAP));
	/* Terminal: otherwise u32 matches and goes on without running the redirect. */
	assert_int_equal(run_in(ns, "tc filter show dev eth0 ingress | tr '\\n' ' ' | grep -q "
	                            "'terminal.*Egress Redirect to device " TAP "'"),
	                 0);
	assert_int_equal(run_in(ns, "tc filter show dev " TAP " ingress | tr '\\n' ' ' | grep -q "
	                            "'terminal.*Egress Redirect to device eth0'"),
	                 0);
	assert_int_equal(run_in(ns, "ip -o link show " TAP " | grep -q 'UP'"), 0);
	lv_nic_free(nic);
	assert_false(has_link(ns, TAP));
	close(ns);
}

/* A device of the tap's name that exists is never joined: the pod fails naming it. */
static void test_existing_device_is_refused(void **state)
{
	struct crib_error *err = NULL;
	struct lv_nic *nic;
	int ns;

	(void)state;
	nic = read_pod_ns("ip link add eth0 type veth peer name p0", &ns);
	assert_int_equal(system("ip link add " TAP " type veth peer name p1"), 0);
	assert_int_equal(lv_nic_make_tap(&host, nic, &err), -EEXIST);
	assert_string_equal(crib_error_msg(err), "a network device " TAP " exists already");
	crib_error_free(err);
	lv_nic_free(nic);
	/* Someone else's device stays. */
	assert_true(if_nametoindex(TAP) > 0);
	assert_int_equal(system("ip link del " TAP), 0);
	close(ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reads_eth0),
	    cmocka_unit_test(test_no_eth0_no_nic),
	    cmocka_unit_test(test_tap_made_joined_and_removed),
	    cmocka_unit_test(test_existing_device_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
