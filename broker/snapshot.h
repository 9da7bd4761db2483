/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The filesystem side of images, under <state_dir>/images:
 *   layers/sha256/<hex>/   each layer blob unpacked once, shared by images
 *   snapshots/<id>/        a container's root filesystem: upper/ and work/
 *                          for overlayfs and rootfs/ where it is mounted
 * Where overlayfs cannot be mounted (the state dir on overlayfs itself, a
 * kernel without it), rootfs/ is a copy of the layers instead.  Blocking and
 * thread-safe: called from worker threads.
 */
#ifndef CRIB_BROKER_SNAPSHOT_H
#define CRIB_BROKER_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct crib_content;
struct crib_error;

/* <root>/layers/sha256/<hex> for a layer blob digest (malloc'd). */
char *crib_layer_dir(const char *root, const char *digest);

/* Unpacks every layer blob not unpacked yet, each once even when pulls race. */
int crib_layers_unpack(struct crib_content *cs, char *const *digests, size_t n,
                       struct crib_error **reterr);

/*
 * Makes the root filesystem of snapshot ID from LAYER_DIRS (bottom first).
 * *ret_rootfs and *ret_upper (malloc'd, the caller's) are where it is
 * mounted and where its changes land (the same directory for a copy).
 * Preparing an ID that exists fails with -EEXIST.  Nothing remains on failure.
 */
int crib_snapshot_prepare(const char *root, const char *id, const char *const *layer_dirs, size_t n,
                          char **ret_rootfs, char **ret_upper, struct crib_error **reterr);
/* Unmounts and removes snapshot ID; one that does not exist is fine. */
int crib_snapshot_remove(const char *root, const char *id, struct crib_error **reterr);

/* Removes unpacked layers whose blob digest is not in KEEP (sorted, as strcmp). */
int crib_layers_gc(const char *root, char *const *keep, size_t n_keep);

/* Bytes and inodes used under DIR (not crossing mounts). */
int crib_disk_usage(const char *dir, uint64_t *ret_bytes, uint64_t *ret_inodes);

#endif /* CRIB_BROKER_SNAPSHOT_H */
