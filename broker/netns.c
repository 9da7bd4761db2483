/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "netns.h"
#include "nspin.h"
#include "util.h"

int crib_netns_create(const char *path, struct crib_error **reterr)
{
	_cleanup_free_ char *dir = crib_xstrdup(path);
	const struct crib_ns_pin pin = {CLONE_NEWNET, path};
	const char *step = NULL;
	int r;

	/* Private, as iproute2 makes /run/netns: see crib_ns_private_dir(). */
	r = crib_ns_private_dir(dirname(dir));
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to make '%s' a private mount point: %s",
		                      dir, strerror(-r));
	r = crib_ns_pin(&pin, 1, NULL, NULL, &step);
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to %s at '%s': %s", step, path,
		                      strerror(-r));
	return 0;
}

int crib_netns_remove(const char *path, struct crib_error **reterr)
{
	int r = crib_ns_unpin(path);

	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to remove network namespace '%s': %s",
		                      path, strerror(-r));
	return 0;
}

bool crib_netns_exists(const char *path)
{
	return crib_ns_pinned(path);
}

/* How long a port-forward connection may take to be accepted. */
#define CONNECT_TIMEOUT_MS 5000

struct connect_job {
	uint16_t port;
	int fd;
	const char *step;
};

static int connect_with_timeout(int fd, const struct sockaddr_in *sa)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		goto done;
	if (errno != EINPROGRESS)
		return -errno;
	if (poll(&p, 1, CONNECT_TIMEOUT_MS) == 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	if (err)
		return -err;
done:
	return fcntl(fd, F_SETFL, flags) < 0 ? -errno : 0;
}

/* Connects to loopback PORT in the caller's namespace; 0 or -errno. */
static int connect_loopback(void *arg)
{
	struct connect_job *j = arg;
	struct sockaddr_in sa = {
	    .sin_family = AF_INET,
	    .sin_port = htons(j->port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	j->step = "connecting";
	j->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (j->fd < 0)
		return -errno;
	return connect_with_timeout(j->fd, &sa);
}

int crib_netns_connect(const char *netns, uint16_t port, int *ret_fd, struct crib_error **reterr)
{
	struct connect_job j = {
	    .port = port, .fd = -1, .step = "joining the pod's network namespace"};
	/* crib_in_netns: a thread of its own keeps workers out of pods. */
	int r = netns ? crib_in_netns(netns, connect_loopback, &j) : connect_loopback(&j);

	if (r < 0) {
		closep(&j.fd);
		return crib_error_set(reterr, -r, "%s to port %u%s%s failed: %s", j.step,
		                      (unsigned)port, netns ? " in " : "", netns ? netns : "",
		                      strerror(-r));
	}
	*ret_fd = j.fd;
	return 0;
}
