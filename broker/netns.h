/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Persistent named network namespaces, as `ip netns add` makes them: a new
 * namespace bind-mounted onto an empty file, so that it outlives every
 * process in it and can be handed to CNI plugins and backends by path.
 * Blocking (mounts, a short-lived thread): worker threads only.
 */
#ifndef CRIB_BROKER_NETNS_H
#define CRIB_BROKER_NETNS_H

#include <stdbool.h>
#include <stdint.h>

struct crib_error;

/*
 * Creates a new network namespace at PATH; the directory holding PATH is
 * created and made a private mount point.  Whatever PATH held before is
 * removed first, so that a retry after a crash starts clean.
 */
int crib_netns_create(const char *path, struct crib_error **reterr);

/* Unmounts and unlinks PATH.  Idempotent: a PATH that is not there is success. */
int crib_netns_remove(const char *path, struct crib_error **reterr);

/* True when PATH is a mounted namespace file (and not, say, the empty file under it). */
bool crib_netns_exists(const char *path);

/*
 * A TCP connection to 127.0.0.1:PORT inside the network namespace at NETNS
 * (the host's when NULL): port-forward's way into a pod.  The socket is made
 * in a short-lived thread that joined the namespace, and stays bound to that
 * namespace after the thread is gone.  *ret_fd (blocking, CLOEXEC) is the
 * caller's.  Gives up after a few seconds (-ETIMEDOUT).
 */
int crib_netns_connect(const char *netns, uint16_t port, int *ret_fd, struct crib_error **reterr);

#endif /* CRIB_BROKER_NETNS_H */
