/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A spec's bind mounts as detached mount trees (open_tree(2)), opened on the
 * host where their sources are, to be mounted (move_mount(2)) in a
 * container's mount namespace: an attached process's mounts, and the shared
 * mounts LXC would leave slaves of the host's.
 */
#ifndef CRIB_LXC_TREES_H
#define CRIB_LXC_TREES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct crib_lxc_tree {
	int fd;           /* the detached tree, O_CLOEXEC */
	const char *dest; /* the spec's destination (SPEC's string) */
	bool dir;         /* the source is a directory */
};

/*
 * The bind mounts of SPEC (relative sources under BUNDLE) whose options WANT
 * accepts (NULL: all), cloned with "rbind" recursively and "ro", "nosuid",
 * "nodev", "noexec" set on the clone, and idmapped to user namespace USERNS
 * unless it is -1.  A clone of a shared mount is a peer of it.  Returns the array (the caller's;
 * crib_lxc_close_trees then free) and its length in *RET_N; dies naming the mount that cannot be
 * opened.
 */
struct crib_lxc_tree *crib_lxc_open_trees(json_t *spec, const char *bundle,
                                          bool (*want)(json_t *options), int userns, size_t *ret_n);
void crib_lxc_close_trees(struct crib_lxc_tree *trees, size_t n);

#endif
