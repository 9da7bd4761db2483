/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content.h"
#include "digest.h"
#include "error.h"
#include "layer.h"
#include "log.h"
#include "snapshot.h"
#include "util.h"

#define LOG_CAT "snapshot"

/* The mount(2) data of an overlay must fit in a page. */
#define OVERLAY_OPTS_MAX 4000

char *crib_layer_dir(const char *root, const char *digest)
{
	return crib_xasprintf("%s/layers/sha256/%s", root, digest + 7);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *dir)
{
	if (nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int unpack_one(struct crib_content *cs, const char *digest, struct crib_error **reterr)
{
	const char *root = crib_content_root(cs);
	_cleanup_free_ char *dir = crib_layer_dir(root, digest);
	_cleanup_free_ char *blob = crib_content_path(cs, digest);
	_cleanup_free_ char *key = crib_xasprintf("layer:%s", digest);
	_cleanup_free_ char *staging = NULL;
	char rnd[CRIB_ID_LEN + 1];
	int r;

	crib_content_claim(cs, key);
	if (access(dir, F_OK) == 0) {
		crib_content_release(cs, key);
		return 0;
	}
	r = crib_new_id(rnd);
	staging =
	    crib_xasprintf("%s/layers/.staging-%.16s-%.16s", root, digest + 7, r == 0 ? rnd : "x");
	r = crib_layer_unpack(blob, staging, reterr);
	/* The rename makes a complete layer appear at once: a crash leaves only staging. */
	if (r == 0 && rename(staging, dir) < 0) {
		r = crib_error_set(reterr, errno, "Failed to move layer %s into place: %s", digest,
		                   strerror(errno));
		(void)rm_rf(staging);
	}
	crib_content_release(cs, key);
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to unpack layer %s", digest);
	return 0;
}

int crib_layers_unpack(struct crib_content *cs, char *const *digests, size_t n,
                       struct crib_error **reterr)
{
	_cleanup_free_ char *dir = crib_xasprintf("%s/layers/sha256", crib_content_root(cs));
	int r = crib_mkdir_p(dir, 0700);

	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to create '%s': %s", dir, strerror(-r));
	for (size_t i = 0; i < n; i++) {
		r = unpack_one(cs, digests[i], reterr);
		if (r < 0)
			return r;
	}
	return 0;
}

static char *overlay_options(const char *const *layers, size_t n, const char *upper,
                             const char *work)
{
	size_t len = 64 + strlen(upper) + strlen(work);
	char *opts, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(layers[i]) + 1;
	if (len > OVERLAY_OPTS_MAX)
		return NULL;
	opts = crib_xcalloc(1, len);
	p = opts + sprintf(opts, "lowerdir=");
	/* overlayfs lists lower directories top first. */
	for (size_t i = n; i-- > 0;)
		p += sprintf(p, "%s%s", layers[i], i ? ":" : "");
	(void)sprintf(p, ",upperdir=%s,workdir=%s", upper, work);
	return opts;
}

/* The fallback: apply the layers one over another into a plain directory. */
static int copy_layers(const char *const *layers, size_t n, const char *dest,
                       struct crib_error **reterr)
{
	for (size_t i = 0; i < n; i++) {
		int r = crib_layer_apply(layers[i], dest, reterr);

		if (r < 0)
			return r;
	}
	return 0;
}

int crib_snapshot_prepare(const char *root, const char *id, const char *const *layer_dirs, size_t n,
                          char **ret_rootfs, char **ret_upper, struct crib_error **reterr)
{
	_cleanup_free_ char *parent = crib_xasprintf("%s/snapshots", root);
	_cleanup_free_ char *dir = crib_xasprintf("%s/%s", parent, id);
	_cleanup_free_ char *upper = crib_xasprintf("%s/upper", dir);
	_cleanup_free_ char *work = crib_xasprintf("%s/work", dir);
	_cleanup_free_ char *rootfs = crib_xasprintf("%s/rootfs", dir);
	_cleanup_free_ char *opts = NULL;
	int r;

	r = crib_mkdir_p(parent, 0700);
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to create '%s': %s", parent,
		                      strerror(-r));
	if (mkdir(dir, 0700) < 0)
		return crib_error_set(reterr, errno, "Failed to create snapshot '%s': %s", dir,
		                      strerror(errno));
	if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(rootfs, 0755) < 0) {
		r = crib_error_set(reterr, errno, "Failed to create snapshot '%s': %s", dir,
		                   strerror(errno));
		goto fail;
	}
	opts = n ? overlay_options(layer_dirs, n, upper, work) : NULL;
	if (opts && mount("overlay", rootfs, "overlay", 0, opts) == 0) {
		*ret_rootfs = TAKE_PTR(rootfs);
		*ret_upper = TAKE_PTR(upper);
		return 0;
	}
	if (opts)
		log_notice("Snapshot %s: overlayfs cannot be mounted here (%s); copying the layers",
		           id, strerror(errno));
	else if (n)
		log_notice("Snapshot %s: %zu layers do not fit one overlayfs mount; copying them",
		           id, n);
	r = copy_layers(layer_dirs, n, rootfs, reterr);
	if (r < 0)
		goto fail;
	*ret_upper = crib_xstrdup(rootfs);
	*ret_rootfs = TAKE_PTR(rootfs);
	return 0;
fail:
	(void)rm_rf(dir);
	return r;
}

int crib_snapshot_remove(const char *root, const char *id, struct crib_error **reterr)
{
	_cleanup_free_ char *dir = crib_xasprintf("%s/snapshots/%s", root, id);
	_cleanup_free_ char *rootfs = crib_xasprintf("%s/rootfs", dir);
	int r;

	/* Detached: a process still in the container must not keep the directory alive. */
	if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return crib_error_set(reterr, errno, "Failed to unmount '%s': %s", rootfs,
		                      strerror(errno));
	r = rm_rf(dir);
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to remove snapshot '%s': %s", dir,
		                      strerror(-r));
	return 0;
}

int crib_layers_gc(const char *root, char *const *keep, size_t n_keep)
{
	_cleanup_free_ char *dir = crib_xasprintf("%s/layers/sha256", root);
	DIR *dh = opendir(dir);
	struct dirent *de;
	int removed = 0;

	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dh))) {
		char digest[CRIB_DIGEST_LEN + 1];
		_cleanup_free_ char *path = NULL;

		if (strlen(de->d_name) != CRIB_DIGEST_LEN - 7)
			continue;
		memcpy(digest, "sha256:", 7);
		memcpy(digest + 7, de->d_name, CRIB_DIGEST_LEN - 7 + 1);
		if (!crib_digest_valid(digest) || crib_strv_sorted_contains(keep, n_keep, digest))
			continue;
		path = crib_xasprintf("%s/%s", dir, de->d_name);
		if (rm_rf(path) == 0)
			removed++;
	}
	closedir(dh);
	return removed;
}

/* nftw has no user pointer: per-thread counters keep concurrent walks apart. */
static _Thread_local uint64_t du_bytes, du_inodes;

static int du_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)p;
	(void)flag;
	(void)ftw;
	du_bytes += (uint64_t)sb->st_blocks * 512;
	du_inodes++;
	return 0;
}

int crib_disk_usage(const char *dir, uint64_t *ret_bytes, uint64_t *ret_inodes)
{
	du_bytes = du_inodes = 0;
	if (nftw(dir, du_entry, 32, FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return -errno;
	*ret_bytes = du_bytes;
	*ret_inodes = du_inodes;
	return 0;
}
