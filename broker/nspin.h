/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Namespaces pinned to files, as `ip netns add` pins network namespaces: a new
 * namespace bind-mounted onto an empty file outlives every process in it and
 * can be joined by path (setns, an OCI spec's namespace path, a CNI plugin).
 * Shared by cribd (pod network namespaces) and the oci backend (a pod's IPC
 * and UTS namespaces), hence plain -errno returns and no error objects.
 * Blocking (mounts, a short-lived thread): worker threads only.
 */
#ifndef CRIB_BROKER_NSPIN_H
#define CRIB_BROKER_NSPIN_H

#include <stdbool.h>
#include <stddef.h>

struct crib_ns_pin {
	int type;         /* CLONE_NEWNET, CLONE_NEWIPC or CLONE_NEWUTS */
	const char *path; /* the file the new namespace is mounted on */
};

/*
 * Creates DIR (and its parents) and makes it a private mount point, so that
 * namespace files pinned in it do not propagate into mount namespaces that
 * receive the host's mounts.  Idempotent, safe from several threads.
 */
int crib_ns_private_dir(const char *dir);

/*
 * Creates the namespaces PINS name in a thread of its own (unshare moves
 * only the calling thread, and this one ends right after, so no thread of
 * the process is left in them), runs SETUP(CTX) in that thread when not NULL
 * (to set a host name, sysctls: whatever must happen inside), then mounts each
 * namespace on its path, an empty file created for it.  A path's directory
 * must exist.  On failure nothing is left mounted or created, and *ret_step
 * (a static string) names what failed.
 */
int crib_ns_pin(const struct crib_ns_pin *pins, size_t n, int (*setup)(void *ctx), void *ctx,
                const char **ret_step);

/*
 * Unmounts and unlinks PATH, also namespaces mounted on it several times.
 * Idempotent: a PATH that is not there is success.
 */
int crib_ns_unpin(const char *path);

/* True when PATH is a mounted namespace file (and not, say, the empty file under it). */
bool crib_ns_pinned(const char *path);

#endif /* CRIB_BROKER_NSPIN_H */
