/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The oci backend's socket helpers (backends/oci/sock.c), which the backend
 * and crib-shim speak to each other with: one-line messages with descriptors
 * alongside, too many descriptors refused and closed, EOF, and a listening
 * socket in a directory whose path is longer than sun_path holds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sock.h"
#include "util.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* How many descriptors this process holds. */
static int n_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_message_with_fds(void **state)
{
	int sv[2], p[2], fds[OCI_SOCK_MAX_FDS];
	char buf[OCI_SOCK_MSG_MAX], byte = 0;
	size_t n_fds;

	(void)state;
	pair(sv);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(oci_sock_send(sv[0], "started 42\n", &p[1], 1), 0);
	assert_int_equal(oci_sock_send(sv[0], "exit 3\n", NULL, 0), 0);
	assert_int_equal(oci_sock_recv(sv[1], buf, sizeof(buf), fds, 1, &n_fds), 11);
	assert_string_equal(buf, "started 42\n");
	assert_int_equal(n_fds, 1);
	/* The received copy is close-on-exec and writes into the same pipe. */
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fds[0], "x", 1), 1);
	assert_int_equal(read(p[0], &byte, 1), 1);
	assert_int_equal(byte, 'x');
	/* Message boundaries hold: the second message comes alone. */
	assert_int_equal(oci_sock_recv_wait(sv[1], 1000, buf, sizeof(buf), fds, 1, &n_fds), 7);
	assert_string_equal(buf, "exit 3\n");
	assert_int_equal(n_fds, 0);
	close(fds[0]);
	close(p[0]);
	close(p[1]);
	/* EOF once the peer is gone, and nothing arrives for a timed wait. */
	assert_int_equal(oci_sock_recv_wait(sv[1], 10, buf, sizeof(buf), fds, 1, &n_fds),
	                 -ETIMEDOUT);
	close(sv[0]);
	assert_int_equal(oci_sock_recv(sv[1], buf, sizeof(buf), fds, 1, &n_fds), 0);
	assert_int_equal(oci_sock_send(sv[1], "x", NULL, 0), -EPIPE);
	close(sv[1]);
}

static void test_excess_fds_are_closed(void **state)
{
	int sv[2], p[2], got[1] = {-1};
	char buf[OCI_SOCK_MSG_MAX];
	size_t n_fds = 99;
	int before;

	(void)state;
	pair(sv);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(oci_sock_send(sv[0], "attach 1 1 0 0\n", p, 2), 0);
	assert_int_equal(oci_sock_send(sv[0], "x", p, OCI_SOCK_MAX_FDS + 1), -EINVAL);
	before = n_open();
	assert_int_equal(oci_sock_recv(sv[1], buf, sizeof(buf), got, 1, &n_fds), -EBADMSG);
	assert_int_equal(n_fds, 0);
	/* Both received copies were closed, the one that fitted too. */
	assert_int_equal(n_open(), before);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

static void test_listen_connect_long_dir(void **state)
{
	char base[] = "/tmp/crib-sock-test-XXXXXX", buf[OCI_SOCK_MSG_MAX];
	_cleanup_free_ char *dir = NULL, *path = NULL;
	int dirfd, lfd, cfd, afd, fds[1];
	struct stat st;
	size_t n_fds;

	(void)state;
	assert_non_null(mkdtemp(base));
	/* Longer than sun_path's 108 bytes. */
	dir = crib_xasprintf("%s/%0120d", base, 0);
	assert_int_equal(crib_mkdir_p(dir, 0700), 0);
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd >= 0);
	assert_int_equal(oci_sock_connect(dir, "attach"), -ENOENT);
	lfd = oci_sock_listen(dirfd, "attach", SOCK_SEQPACKET, 4);
	assert_true(lfd >= 0);
	path = crib_xasprintf("%s/attach", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	cfd = oci_sock_connect(dir, "attach");
	assert_true(cfd >= 0);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(afd >= 0);
	assert_int_equal(oci_sock_send(cfd, "attach 0 0 0 0\n", NULL, 0), 0);
	assert_int_equal(oci_sock_recv(afd, buf, sizeof(buf), fds, 1, &n_fds), 15);
	/* A second listen replaces the stale file. */
	close(lfd);
	lfd = oci_sock_listen(dirfd, "attach", SOCK_SEQPACKET, 4);
	assert_true(lfd >= 0);
	close(lfd);
	close(afd);
	close(cfd);
	close(dirfd);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(rmdir(base), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_message_with_fds),
	    cmocka_unit_test(test_excess_fds_are_closed),
	    cmocka_unit_test(test_listen_connect_long_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
