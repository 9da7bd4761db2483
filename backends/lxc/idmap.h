/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --idmap HOST:SIZE: a pod's containers in a user namespace that maps their
 * ids 0..SIZE-1 to the host's HOST..HOST+SIZE-1.  The infra container makes
 * the pod's user namespace and its CRI containers join it, so the pod's IPC,
 * UTS and PID namespaces, which it owns, are theirs to mount mqueue and proc
 * in.  The image's files, the host root's, show as the container's root's
 * through idmapped mounts.
 */
#ifndef CRIB_LXC_IDMAP_H
#define CRIB_LXC_IDMAP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

/*
 * HOST:SIZE as numbers; false if S is not that.  Inline: the lxc module's
 * class check (flavor.c) reads the key as crib-lxc reads its option.
 */
static inline bool crib_lxc_idmap_parse(const char *s, unsigned long *ret_host,
                                        unsigned long *ret_size)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*ret_host = strtoul(s, &end, 10);
	if (errno || *end != ':' || end[1] == '-')
		return false;
	*ret_size = strtoul(end + 1, &end, 10);
	/* Ids are 32 bits, and (uid_t)-1 is no id. */
	return !errno && !*end && *ret_size > 0 && *ret_host < UINT32_MAX &&
	       *ret_size <= UINT32_MAX - *ret_host;
}

/*
 * Puts SPEC in the pod's user namespace and returns true: a new one with the
 * class's mappings for the infra container (INFRA), else the infra's, whose
 * pid is in POD_ID's init.pid.  False, SPEC unchanged: the pod shares the
 * node's network, IPC or PID namespace, or SPEC is privileged, and stays in
 * the node's user namespace.  A container joining the pod's cannot join the pod's network
 * namespace through LXC (LXC joins the user namespace first, and the network
 * namespace is the host root's): the spec's network entry is taken out and
 * its path returned in *RET_NET (malloc'd; NULL: none) for
 * crib_lxc_idmap_join_net.
 */
bool crib_lxc_idmap_spec(json_t *spec, bool infra, const char *pod_id, char **ret_net);

/*
 * For SPEC in a user namespace whose process has supplementary groups:
 * process.args run behind HELPER (crib-setids, bound at /dev/.crib-setids),
 * which sets the ids and groups LXC (5.0) leaves unset in a user namespace,
 * as root of the namespace.  Unchanged without groups beside the primary
 * one, or without CAP_SETUID and CAP_SETGID to change ids with.
 */
void crib_lxc_idmap_groups(json_t *spec, const char *helper);

/*
 * Moves the calling process into the network namespace at PATH, pinned at
 * DIR/netns: LXC's monitor, which then runs in it, listens on an abstract
 * socket, which only a process in that namespace reaches.
 */
void crib_lxc_idmap_join_net(const char *path, const char *dir);
/* Moves the calling process into container ID's pinned network namespace, if it has one. */
void crib_lxc_idmap_enter_net(const char *id);

/*
 * Mounts root filesystem ROOT at MNT showing the container's ids: if ROOT is
 * an overlay (a snapshot), a new overlay whose lower layers are idmapped and
 * whose upper directory is the container's root's replaces it (two overlays
 * on one upper directory clash); else an idmapped clone of ROOT.
 */
void crib_lxc_idmap_root(const char *root, const char *mnt);
/* Detaches what crib_lxc_idmap_* mounted in container directory DIR, if anything. */
void crib_lxc_idmap_release(const char *dir);

#endif
