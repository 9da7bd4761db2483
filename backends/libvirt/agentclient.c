/* SPDX-License-Identifier: Apache-2.0 */
/* The host's side of the agent protocol; see agentclient.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "agentclient.h"
#include "agentframe.h"
#include "util.h"

/* The request id of Hello: the first request on a connection. */
#define HELLO_ID 1

void crib_lv_hello_clear(struct crib_lv_hello *h)
{
	free(h->agent_version);
	free(h->kernel_release);
	*h = (struct crib_lv_hello){0};
}

/*
 * Connects to PATH, retrying while nothing listens yet, until DEADLINE
 * (crib_mono_ns).  The socket is libvirt's from the start, so this rarely
 * waits.
 */
static int connect_until(const char *path, int64_t deadline, int *ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			*ret = fd;
			return 0;
		}
		close(fd);
		if ((errno != ENOENT && errno != ECONNREFUSED) || crib_mono_ns() > deadline)
			return -errno;
		usleep(10000);
	}
}

/* Reads frames until the answer to request ID; *ret is the caller's to free. */
static int read_answer(int fd, uint64_t id, int64_t deadline, Crib__Agent__GuestMessage **ret)
{
	struct crib_agent_rbuf in = {0};
	int r = 0;

	*ret = NULL;
	while (!*ret) {
		const uint8_t *data;
		size_t len;
		int64_t left = (deadline - crib_mono_ns()) / 1000000;
		struct pollfd p = {.fd = fd, .events = POLLIN};

		r = crib_agent_rbuf_next(&in, &data, &len);
		if (r > 0) {
			Crib__Agent__GuestMessage *m =
			    crib__agent__guest_message__unpack(NULL, len, data);

			if (!m) {
				r = -EPROTO;
				break;
			}
			if (m->id == id)
				*ret = m;
			else
				crib__agent__guest_message__free_unpacked(m, NULL);
			continue;
		}
		if (r < 0)
			break;
		if (left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		r = r > 0 ? crib_agent_rbuf_fill(&in, fd) : 1;
		if (r == 0)
			r = -ECONNRESET;
		if (r < 0)
			break;
	}
	crib_agent_rbuf_free(&in);
	return *ret ? 0 : r;
}

static void take_hello(const Crib__Agent__HelloReply *h, struct crib_lv_hello *ret)
{
	ret->agent_version = crib_xstrdup(h->agent_version);
	ret->kernel_release = crib_xstrdup(h->kernel_release);
	ret->started_ns = h->started_boottime_ns;
	ret->modules_ns = h->modules_ns;
	ret->answered_ns = h->now_boottime_ns;
}

int crib_lv_agent_hello(const struct crib_host *host, const char *path, int64_t timeout_ms,
                        struct crib_lv_hello *ret, struct crib_error **reterr)
{
	Crib__Agent__HostMessage req = CRIB__AGENT__HOST_MESSAGE__INIT;
	Crib__Agent__Hello hello = CRIB__AGENT__HELLO__INIT;
	Crib__Agent__GuestMessage *answer = NULL;
	int64_t deadline = crib_mono_ns() + timeout_ms * 1000000;
	_cleanup_(closep) int fd = -1;
	int r;

	req.id = HELLO_ID;
	req.request_case = CRIB__AGENT__HOST_MESSAGE__REQUEST_HELLO;
	req.hello = &hello;
	r = connect_until(path, deadline, &fd);
	if (r < 0)
		return host->error_set(reterr, -r, "cannot connect to the agent's socket %s: %s",
		                       path, strerror(-r));
	r = crib_agent_frame_write(fd, &req.base);
	r = r < 0 ? r : read_answer(fd, HELLO_ID, deadline, &answer);
	if (r == -ETIMEDOUT)
		return host->error_set(reterr, ETIMEDOUT, "the agent did not answer in %lld ms",
		                       (long long)timeout_ms);
	if (r == -ECONNRESET || r == -EPIPE)
		return host->error_set(reterr, ECONNRESET,
		                       "the VM went away before its agent answered");
	if (r < 0)
		return host->error_set(reterr, -r, "talking to the agent: %s", strerror(-r));
	if (answer->errnum || answer->reply_case != CRIB__AGENT__GUEST_MESSAGE__REPLY_HELLO) {
		r = host->error_set(reterr, EPROTO, "the agent refused Hello: %s",
		                    answer->message && answer->message[0] ? answer->message
		                                                          : "no reason given");
		crib__agent__guest_message__free_unpacked(answer, NULL);
		return r;
	}
	take_hello(answer->hello, ret);
	crib__agent__guest_message__free_unpacked(answer, NULL);
	return 0;
}
