/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"
#include "util.h"

int oci_sock_send(int sock, const char *text, const int *fds, size_t n_fds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * OCI_SOCK_MAX_FDS)];
	} ctl = {0};
	struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (n_fds > OCI_SOCK_MAX_FDS)
		return -EINVAL;
	if (n_fds > 0) {
		struct cmsghdr *c;

		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* A seqpacket message goes whole or not at all. */
	return (size_t)n == iov.iov_len ? 0 : -EIO;
}

/* Takes the descriptors out of MSG's SCM_RIGHTS headers; those beyond MAX_FDS are closed. */
static size_t take_fds(struct msghdr *msg, int *fds, size_t max_fds, bool *ret_excess)
{
	size_t n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t count;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max_fds) {
				fds[n++] = fd;
			} else {
				(void)close(fd);
				*ret_excess = true;
			}
		}
	}
	return n;
}

ssize_t oci_sock_recv(int sock, char *buf, size_t size, int *fds, size_t max_fds, size_t *ret_n_fds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * OCI_SOCK_MAX_FDS)];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = size - 1};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = ctl.buf,
	                     .msg_controllen = sizeof(ctl.buf)};
	bool excess = false;
	size_t n_fds;
	ssize_t n;

	*ret_n_fds = 0;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	n_fds = take_fds(&msg, fds, max_fds, &excess);
	if (excess || (msg.msg_flags & MSG_CTRUNC)) {
		for (size_t i = 0; i < n_fds; i++)
			(void)close(fds[i]);
		return -EBADMSG;
	}
	*ret_n_fds = n_fds;
	return n;
}

ssize_t oci_sock_recv_wait(int sock, int timeout_ms, char *buf, size_t size, int *fds,
                           size_t max_fds, size_t *ret_n_fds)
{
	int64_t deadline = crib_mono_ns() + (int64_t)timeout_ms * 1000000;

	*ret_n_fds = 0;
	for (;;) {
		struct pollfd p = {.fd = sock, .events = POLLIN};
		int64_t left = deadline - crib_mono_ns();
		int n;

		if (left < 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(left / 1000000));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			return oci_sock_recv(sock, buf, size, fds, max_fds, ret_n_fds);
	}
}

static int fd_addr(int dirfd, const char *name, struct sockaddr_un *sa)
{
	int n;

	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	return n < 0 || (size_t)n >= sizeof(sa->sun_path) ? -ENAMETOOLONG : 0;
}

int oci_sock_listen(int dirfd, const char *name, int type, int backlog)
{
	_cleanup_close_ int fd = -EBADF;
	struct sockaddr_un sa;
	mode_t old;
	int r;

	r = fd_addr(dirfd, name, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)unlinkat(dirfd, name, 0);
	/* bind(2) creates the file with the umask applied: only its owner (root) may connect. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, backlog) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int oci_sock_connect(const char *dir, const char *name)
{
	_cleanup_close_ int dirfd = -EBADF, fd = -EBADF;
	struct sockaddr_un sa;
	int r;

	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	r = fd_addr(dirfd, name, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}
