/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image layers: unpacking a layer blob (a tar archive, plain, gzip or zstd)
 * into a directory that overlayfs can stack, and, where overlayfs cannot be
 * mounted, applying such directories one over another as a plain copy.
 * Blocking: call from worker threads.
 */
#ifndef CRIB_BROKER_LAYER_H
#define CRIB_BROKER_LAYER_H

struct crib_error;

/*
 * Unpacks the layer archive BLOB into DEST, which must not exist yet (it is
 * created 0755; callers unpack into a staging name and rename it).
 *
 * OCI whiteouts become overlayfs ones: "dir/.wh.NAME" becomes a 0/0
 * character device "dir/NAME", and "dir/.wh..wh..opq" sets the xattr
 * trusted.overlay.opaque="y" on "dir".  Owners, modes, times, xattrs, hard
 * links, symlinks and device nodes are kept as the archive says.
 *
 * Refused with -EINVAL and a message naming the entry: absolute paths, ".."
 * components, entries whose path goes through a symlink the archive made,
 * hard links whose target is outside DEST, whiteouts naming "." or "..".
 * On any failure DEST is removed.
 */
int crib_layer_unpack(const char *blob, const char *dest, struct crib_error **reterr);

/*
 * Copies the unpacked layer directory SRC onto DEST the way overlayfs would
 * show SRC stacked on DEST: a 0/0 character device deletes its path in
 * DEST, a directory with trusted.overlay.opaque="y" replaces DEST's
 * directory of that name, everything else is copied with owners, modes,
 * times, xattrs (except the overlay ones), symlinks, hard links and device
 * nodes.  DEST must exist.
 */
int crib_layer_apply(const char *src, const char *dest, struct crib_error **reterr);

#endif /* CRIB_BROKER_LAYER_H */
