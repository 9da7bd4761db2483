/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer blobs become overlayfs lower directories (crib_layer_unpack), and such directories are
 * copied one over another where overlayfs cannot be mounted (crib_layer_apply).
 *
 * libarchive parses the tar stream and writes the filesystem objects (archive_write_disk knows
 * owners, modes, times, xattrs, ACLs, devices, hard links and sparse files), but the safety of
 * the result does not rest on it alone.  Every entry is checked here first, so that a refusal
 * names the entry: its name is normalised, absolute names and ".." are refused, and its parent
 * directories are walked with openat(O_NOFOLLOW) from DEST, so that a path through a symlink
 * the archive made is refused before libarchive sees it.  The parents are also created here,
 * 0755 and root's, instead of by libarchive, whose directories would follow the daemon's umask.
 *
 * archive_write_disk flags, deliberately:
 *  - OWNER, PERM, TIME: a root filesystem needs exact numeric owners, setuid/setgid/sticky bits
 *    and times.  No user or group lookup is installed, so ids are taken as numbers: the names
 *    in a layer belong to the image's /etc/passwd, not to the host's.
 *  - XATTR and ACL: file capabilities (security.capability), SELinux labels and user xattrs
 *    are part of an image; ACL restores SCHILY.acl.* headers (bsdtar, star).  Docker and
 *    buildkit store ACLs as system.posix_acl_* xattrs instead, which write_disk skips quietly,
 *    so those are set here (set_acl_xattrs).  overlayfs' own xattrs are stripped: a layer must
 *    not forge whiteouts, redirects or metacopy files for the overlay it will be part of.
 *  - SECURE_SYMLINKS and SECURE_NODOTDOT: a second line behind the checks above.  The first
 *    makes libarchive re-check every component of each path (and of hard link targets) for
 *    symlinks, DEST's own prefix included, which is why DEST is passed through realpath().
 *  - Not SECURE_NOABSOLUTEPATHS: every path given to libarchive is DEST-prefixed, hence
 *    absolute (libarchive has no directory-fd API, and chdir() would move every thread of the
 *    daemon).  Absolute entry names are refused here before the prefix is added.
 *  - Not UNLINK: with it, libarchive removes a symlink in the middle of a path instead of
 *    refusing to write through it, DEST's prefix included.  Without it, write_disk still
 *    replaces an existing non-directory, which is the tar semantics layers need.
 *  - Not FFLAGS: an immutable or append-only file would make the layer impossible to remove
 *    (garbage collection, cleanup after a failure) and means nothing under a read-only
 *    lowerdir; docker and containerd ignore file flags too.
 *  - SPARSE: runs of zeros become holes, so that copies of sparse files stay sparse.
 *  - Not NO_OVERWRITE: a later tar entry replaces an earlier one of the same name.
 *
 * Applying walks SRC with fts (FTS_PHYSICAL, FTS_NOCHDIR) rather than archive_read_disk's
 * walker, which fchdir()s; archive_read_disk only describes each file (stat, xattrs, ACLs)
 * and write_disk recreates it, hard links through a link resolver.
 *
 * Two properties of archive_write_disk matter in a threaded daemon.  It chdir()s to shorten
 * paths of PATH_MAX bytes or more, so no such path ever reaches it.  And it reads the umask by
 * setting it (umask(umask(0))) on every entry, which nothing can avoid: a file another thread
 * creates in that instant gets umask 0, so the daemon's own files must carry explicit modes.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "error.h"
#include "layer.h"
#include "util.h"

#define WH_PREFIX      ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE      ".wh..wh..opq"
#define OPAQUE_XATTR   "trusted.overlay.opaque"

#define DISK_FLAGS                                                                                 \
	(ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |                     \
	 ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_SYMLINKS |           \
	 ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SPARSE)

#define BLOCK_SIZE (64 * 1024)

/* Names in messages are cut here: a name may be PATH_MAX bytes long. */
#define NAME_FMT "'%.256s'"

static void archive_read_freep(struct archive **a)
{
	if (*a)
		(void)archive_read_free(*a);
}

static void archive_write_freep(struct archive **a)
{
	if (*a)
		(void)archive_write_free(*a);
}

static void archive_entry_freep(struct archive_entry **e)
{
	archive_entry_free(*e);
}

static void linkresolver_freep(struct archive_entry_linkresolver **lr)
{
	if (*lr)
		archive_entry_linkresolver_free(*lr);
}

static void fts_closep(FTS **fts)
{
	if (*fts)
		(void)fts_close(*fts);
}

/*
 * pax headers carry names in UTF-8, which libarchive converts to the locale's charset: in the
 * daemon's "C" locale every non-ASCII name would be mangled.  uselocale() switches only the
 * calling thread.
 */
struct utf8_scope {
	locale_t utf8;
	locale_t old;
};

static void utf8_scope_enter(struct utf8_scope *s)
{
	s->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	s->old = s->utf8 ? uselocale(s->utf8) : (locale_t)0;
}

static void utf8_scope_leave(struct utf8_scope *s)
{
	if (s->utf8) {
		(void)uselocale(s->old);
		freelocale(s->utf8);
	}
}

/* libarchive reports malformed input as EILSEQ, EINVAL or -1; all of it is a corrupt blob. */
static int read_errno(struct archive *a)
{
	int e = archive_errno(a);

	return e <= 0 || e == EILSEQ || e == EINVAL ? EBADMSG : e;
}

static int write_errno(struct archive *a)
{
	int e = archive_errno(a);

	return e > 0 ? e : EIO;
}

static const char *archive_msg(struct archive *a)
{
	const char *s = archive_error_string(a);

	return s ? s : "unknown libarchive error";
}

/*
 * Removes PATH, a directory tree or any other file, without following symlinks or crossing
 * mounts.  fts is iterative and, with FTS_NOCHDIR, leaves the working directory alone.
 */
static int rm_rf(const char *path)
{
	char *argv[] = {(char *)path, NULL};
	_cleanup_(fts_closep) FTS *fts = NULL;
	FTSENT *ent;
	int r = 0;

	fts = fts_open(argv, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
	if (!fts)
		return -errno;
	for (;;) {
		errno = 0;
		ent = fts_read(fts);
		if (!ent) {
			if (errno != 0 && r == 0)
				r = -errno;
			break;
		}
		switch (ent->fts_info) {
		case FTS_D:
			/* A caller without CAP_DAC_OVERRIDE could not empty it otherwise. */
			if ((ent->fts_statp->st_mode & 0700) != 0700)
				(void)chmod(ent->fts_accpath, 0700);
			break;
		case FTS_DP:
			if (rmdir(ent->fts_accpath) < 0 && errno != ENOENT && r == 0)
				r = -errno;
			break;
		case FTS_NS:
		case FTS_DNR:
		case FTS_ERR:
			if (ent->fts_errno != ENOENT && r == 0)
				r = -ent->fts_errno;
			break;
		default:
			if (unlink(ent->fts_accpath) < 0 && errno != ENOENT && r == 0)
				r = -errno;
			break;
		}
	}
	return r;
}

static bool overlay_xattr(const char *name)
{
	/* user.overlay.* is what overlayfs reads when mounted with "userxattr". */
	return strncmp(name, "trusted.overlay.", 16) == 0 ||
	       strncmp(name, "user.overlay.", 13) == 0;
}

static bool acl_xattr(const char *name)
{
	return streq(name, "system.posix_acl_access") || streq(name, "system.posix_acl_default");
}

struct xattr_copy {
	char *name;
	void *value;
	size_t size;
};

/* Drops overlayfs' xattrs from E.  Returns -ENOMEM: their number and size are the layer's. */
static int strip_overlay_xattrs(struct archive_entry *e)
{
	_cleanup_free_ struct xattr_copy *keep = NULL;
	size_t n_keep = 0, n_all;
	bool strip = false;
	int r = 0;

	n_all = (size_t)archive_entry_xattr_reset(e);
	for (size_t i = 0; i < n_all; i++) {
		const char *name;
		const void *value;
		size_t size;

		(void)archive_entry_xattr_next(e, &name, &value, &size);
		if (name && overlay_xattr(name))
			strip = true;
	}
	if (!strip)
		return 0;

	keep = calloc(n_all, sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	(void)archive_entry_xattr_reset(e);
	for (size_t i = 0; i < n_all && r == 0; i++) {
		struct xattr_copy *x = &keep[n_keep];
		const char *name;
		const void *value;
		size_t size;

		(void)archive_entry_xattr_next(e, &name, &value, &size);
		if (!name || overlay_xattr(name))
			continue;
		x->name = strdup(name);
		x->value = malloc(size ? size : 1);
		x->size = size;
		n_keep++;
		if (!x->name || !x->value)
			r = -ENOMEM;
		else if (size)
			memcpy(x->value, value, size);
	}
	if (r == 0) {
		archive_entry_xattr_clear(e);
		for (size_t i = 0; i < n_keep; i++)
			archive_entry_xattr_add_entry(e, keep[i].name, keep[i].value, keep[i].size);
	}
	for (size_t i = 0; i < n_keep; i++) {
		free(keep[i].name);
		free(keep[i].value);
	}
	return r;
}

/*
 * Normalises NAME, the name of layer entry ENTRY or (LINK_TARGET) the target of hard link
 * ENTRY, into *ret (malloc'd): no "." or empty components, no trailing slash; "" is the layer
 * root.  Refuses absolute names and ".." components: they could only leave the layer or make
 * its paths ambiguous.
 */
static int normalize(const char *entry, const char *name, bool link_target, char **ret,
                     struct crib_error **reterr)
{
	_cleanup_free_ char *out = NULL;
	size_t len, o = 0;
	const char *p;

	len = strlen(name);
	if (len >= PATH_MAX)
		return crib_error_set(reterr, ENAMETOOLONG,
		                      link_target
		                          ? "Hard link " NAME_FMT " has a target longer than "
		                            "PATH_MAX"
		                          : "Layer entry " NAME_FMT "... is longer than PATH_MAX",
		                      entry);
	if (name[0] == '/')
		return link_target
		           ? crib_error_set(reterr, EINVAL,
		                            "Hard link " NAME_FMT " points outside the layer "
		                            "(" NAME_FMT " is an absolute path)",
		                            entry, name)
		           : crib_error_set(reterr, EINVAL,
		                            "Layer entry " NAME_FMT " is an absolute path", entry);

	out = malloc(len + 1);
	if (!out)
		return -ENOMEM;
	for (p = name; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return link_target
			           ? crib_error_set(reterr, EINVAL,
			                            "Hard link " NAME_FMT
			                            " points outside the layer "
			                            "(" NAME_FMT ")",
			                            entry, name)
			           : crib_error_set(reterr, EINVAL,
			                            "Layer entry " NAME_FMT " leaves the layer",
			                            entry);
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		p += strspn(p, "/");
	}
	out[o] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

/*
 * write_disk defers the times of a directory it creates until archive_write_close(), after
 * its contents, but sets them at once on a directory that exists already, whose later
 * contents then change its mtime.  Those are set again at the end, in archive order.
 */
struct dir_time {
	char *path; /* relative to the layer root */
	struct timespec ts[2];
};

struct unpack {
	struct archive *disk; /* archive_write_disk */
	struct dir_time *times;
	size_t n_times, cap_times;
	char *root;  /* realpath of DEST */
	int root_fd; /* O_PATH */
	/*
	 * The parent directory of the last entry, relative to root, and an O_PATH fd of it:
	 * tar lists a directory's entries together, so most entries skip the walk.  Valid until
	 * an entry is written at that path or at one of its ancestors (forget_dir).
	 */
	char *dir;
	int dir_fd;
};

static void unpack_done(struct unpack *u)
{
	if (u->disk)
		(void)archive_write_free(u->disk);
	for (size_t i = 0; i < u->n_times; i++)
		free(u->times[i].path);
	free(u->times);
	free(u->root);
	free(u->dir);
	closep(&u->root_fd);
	closep(&u->dir_fd);
}

/* An entry is about to be written at REL: a cached directory at or under it may be replaced. */
static void forget_dir(struct unpack *u, const char *rel)
{
	size_t n = strlen(rel);

	if (!u->dir)
		return;
	if (n == 0 || (strncmp(u->dir, rel, n) == 0 && (u->dir[n] == '\0' || u->dir[n] == '/'))) {
		free(u->dir);
		u->dir = NULL;
		closep(&u->dir_fd);
		u->dir_fd = -EBADF;
	}
}

/*
 * Opens directory REL of the layer as an O_PATH fd, one component at a time and never through
 * a symlink: a symlink or other non-directory on the way refuses ENTRY (WHAT says whether it
 * is the entry or the target of hard link ENTRY).  Missing directories are created 0755 when
 * CREATE is set, and refuse ENTRY otherwise.
 */
static int open_dir(struct unpack *u, const char *entry, const char *what, const char *rel,
                    bool create, int *ret_fd, struct crib_error **reterr)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -EBADF;
	char *p;

	if (u->dir && streq(u->dir, rel)) {
		fd = fcntl(u->dir_fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return crib_error_set(reterr, errno, "Failed to duplicate a descriptor: %s",
			                      strerror(errno));
		*ret_fd = TAKE_FD(fd);
		return 0;
	}

	fd = fcntl(u->root_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return crib_error_set(reterr, errno, "Failed to duplicate a descriptor: %s",
		                      strerror(errno));
	buf = crib_xstrdup(rel);
	for (p = buf; *p;) {
		char *slash = strchr(p, '/');
		int nfd;

		if (slash)
			*slash = '\0';
		nfd = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			/* chmod: mkdir's mode is cut by the daemon's umask. */
			if (mkdirat(fd, p, 0755) < 0 || fchmodat(fd, p, 0755, 0) < 0)
				return crib_error_set(reterr, errno,
				                      "Failed to create directory " NAME_FMT
				                      " for layer entry " NAME_FMT ": %s",
				                      buf, entry, strerror(errno));
			nfd = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			int e = errno;
			struct stat st;

			/* O_PATH|O_NOFOLLOW opens a symlink, then O_DIRECTORY fails. */
			if (e == ENOTDIR && fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				return crib_error_set(reterr, EINVAL,
				                      "%s " NAME_FMT
				                      " goes through symlink " NAME_FMT,
				                      what, entry, buf);
			if (e == ENOTDIR)
				return crib_error_set(reterr, ENOTDIR,
				                      "%s " NAME_FMT " goes through " NAME_FMT
				                      ", which is not a directory",
				                      what, entry, buf);
			if (e == ENOENT)
				return crib_error_set(reterr, EINVAL,
				                      "%s " NAME_FMT " goes through " NAME_FMT
				                      ", which is not in the layer",
				                      what, entry, buf);
			return crib_error_set(reterr, e,
			                      "Failed to open " NAME_FMT " in the layer: %s", buf,
			                      strerror(e));
		}
		closep(&fd);
		fd = nfd;
		if (!slash)
			break;
		*slash = '/';
		p = slash + 1;
	}

	if (create) {
		_cleanup_close_ int cached = fcntl(fd, F_DUPFD_CLOEXEC, 3);

		if (cached >= 0) {
			forget_dir(u, "");
			u->dir = crib_xstrdup(rel);
			u->dir_fd = TAKE_FD(cached);
		}
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Splits REL into a malloc'd parent ("" at the top) and a pointer to its last component. */
static char *split_parent(const char *rel, const char **ret_base)
{
	const char *slash = strrchr(rel, '/');

	if (!slash) {
		*ret_base = rel;
		return crib_xstrdup("");
	}
	*ret_base = slash + 1;
	return crib_xasprintf("%.*s", (int)(slash - rel), rel);
}

static struct timespec entry_time(bool set, time_t sec, long nsec)
{
	return set ? (struct timespec){.tv_sec = sec, .tv_nsec = nsec}
	           : (struct timespec){.tv_nsec = UTIME_OMIT};
}

/* Directory entry E is about to be written over the existing directory REL. */
static int defer_dir_time(struct unpack *u, struct archive_entry *e, const char *rel)
{
	struct dir_time *t;

	if (!archive_entry_mtime_is_set(e) && !archive_entry_atime_is_set(e))
		return 0;
	/* At most one per directory entry of the layer: -ENOMEM, not abort. */
	if (u->n_times == u->cap_times) {
		size_t cap = u->cap_times ? 2 * u->cap_times : 16;
		struct dir_time *n = reallocarray(u->times, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		u->times = n;
		u->cap_times = cap;
	}
	t = &u->times[u->n_times];
	t->path = strdup(rel);
	if (!t->path)
		return -ENOMEM;
	t->ts[0] = entry_time(archive_entry_atime_is_set(e), archive_entry_atime(e),
	                      archive_entry_atime_nsec(e));
	t->ts[1] = entry_time(archive_entry_mtime_is_set(e), archive_entry_mtime(e),
	                      archive_entry_mtime_nsec(e));
	u->n_times++;
	return 0;
}

/* "dir/.wh.NAME": a 0/0 character device hides NAME of the lower layers from overlayfs. */
static int make_whiteout(struct unpack *u, const char *entry, const char *parent, const char *name,
                         struct crib_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	if (name[0] == '\0' || streq(name, ".") || streq(name, ".."))
		return crib_error_set(reterr, EINVAL,
		                      "Whiteout " NAME_FMT " does not name a file (" NAME_FMT ")",
		                      entry, name);
	r = open_dir(u, entry, "Layer entry", parent, true, &fd, reterr);
	if (r < 0)
		return r;
	/*
	 * A whiteout hides only lower layers (OCI image-spec, layer.md): when this layer has NAME
	 * too, in either order, NAME stays (write_disk replaces the device with a later NAME).
	 */
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	/* Since Linux 5.8 anybody may create a 0/0 device; before, it needed CAP_MKNOD. */
	if (mknodat(fd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		return crib_error_set(
		    reterr, errno,
		    "Failed to create whiteout " NAME_FMT " as a 0/0 character device%s: %s", entry,
		    errno == EPERM ? " (which needs CAP_MKNOD)" : "", strerror(errno));
	/* Root's, whatever the directory's setgid bit says, as overlayfs makes them. */
	if (fchownat(fd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
		return crib_error_set(
		    reterr, errno, "Failed to make whiteout " NAME_FMT " owned by root%s: %s",
		    entry, errno == EPERM ? " (which needs CAP_CHOWN)" : "", strerror(errno));
	return 0;
}

/* "dir/.wh..wh..opq": DIR hides the lower layers' directory of that name. */
static int make_opaque(struct unpack *u, const char *entry, const char *dir,
                       struct crib_error **reterr)
{
	_cleanup_close_ int path_fd = -EBADF, fd = -EBADF;
	int r;

	r = open_dir(u, entry, "Layer entry", dir, true, &path_fd, reterr);
	if (r < 0)
		return r;
	/* fsetxattr() needs a real descriptor; O_PATH one cannot carry xattrs. */
	fd = openat(path_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return crib_error_set(reterr, errno, "Failed to open directory of " NAME_FMT ": %s",
		                      entry, strerror(errno));
	if (fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0)
		return crib_error_set(
		    reterr, errno, "Failed to make the directory of " NAME_FMT " opaque%s: %s",
		    entry,
		    errno == EPERM     ? " (setting " OPAQUE_XATTR " needs CAP_SYS_ADMIN)"
		    : errno == ENOTSUP ? " (the filesystem has no trusted xattrs)"
		                       : "",
		    strerror(errno));
	return 0;
}

/* write_disk skips system.posix_acl_* xattrs; docker and buildkit store ACLs that way. */
static int set_acl_xattrs(struct archive_entry *e, const char *path, const char *entry,
                          struct crib_error **reterr)
{
	int n = archive_entry_xattr_reset(e);

	if (archive_entry_filetype(e) == AE_IFLNK || archive_entry_hardlink(e))
		return 0;
	while (n-- > 0) {
		const char *name;
		const void *value;
		size_t size;

		(void)archive_entry_xattr_next(e, &name, &value, &size);
		if (name && acl_xattr(name) && lsetxattr(path, name, value, size, 0) < 0)
			return crib_error_set(reterr, errno,
			                      "Failed to set %s on layer entry " NAME_FMT ": %s",
			                      name, entry, strerror(errno));
	}
	return 0;
}

static int copy_data(struct archive *in, struct archive *out, const char *entry,
                     struct crib_error **reterr)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t offset;
		int r;

		r = archive_read_data_block(in, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return crib_error_set(reterr, read_errno(in),
			                      "Failed to read layer entry " NAME_FMT ": %s", entry,
			                      archive_msg(in));
		/* By offset, so that the holes of sparse entries stay holes. */
		if (archive_write_data_block(out, buf, size, offset) != ARCHIVE_OK)
			return crib_error_set(reterr, write_errno(out),
			                      "Failed to write layer entry " NAME_FMT ": %s", entry,
			                      archive_msg(out));
	}
}

static int unpack_entry(struct unpack *u, struct archive *in, struct archive_entry *e,
                        struct crib_error **reterr)
{
	_cleanup_free_ char *entry = NULL, *rel = NULL, *parent = NULL, *target = NULL,
	                    *path = NULL;
	_cleanup_close_ int parent_fd = -EBADF;
	const char *hardlink = archive_entry_hardlink(e);
	const char *base;
	struct stat st;
	int r;

	/* A copy: the entry's own string changes when the DEST-prefixed name is set below. */
	entry = crib_xstrdup(archive_entry_pathname(e));
	if (!entry)
		return crib_error_set(reterr, EBADMSG, "Layer entry without a usable name");
	r = normalize(entry, entry, false, &rel, reterr);
	if (r < 0)
		return r;
	if (rel[0] == '\0') {
		/*
		 * The layer's "./": its owner and mode would be those of the container's "/" only
		 * through a copy; overlayfs shows the upper directory's.  DEST stays as created.
		 */
		if (archive_entry_filetype(e) == AE_IFDIR && !hardlink)
			return 0;
		return crib_error_set(reterr, EINVAL,
		                      "Layer entry " NAME_FMT " replaces the layer root", entry);
	}
	/* AUFS bookkeeping at the top (.wh..wh.plnk, .wh..wh.orph) has no meaning here. */
	if (strncmp(rel, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0 && !streq(rel, WH_OPAQUE))
		return 0;
	parent = split_parent(rel, &base);
	for (const char *p = parent; *p;) {
		size_t n = strcspn(p, "/");

		if (strncmp(p, WH_PREFIX, strlen(WH_PREFIX)) == 0)
			return crib_error_set(reterr, EINVAL,
			                      "Layer entry " NAME_FMT " lies under a whiteout",
			                      entry);
		p += n + (p[n] == '/');
	}
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
		if (streq(base, WH_OPAQUE))
			return make_opaque(u, entry, parent, reterr);
		return make_whiteout(u, entry, parent, base + strlen(WH_PREFIX), reterr);
	}

	path = crib_xasprintf("%s/%s", u->root, rel);
	if (strlen(path) >= PATH_MAX)
		return crib_error_set(reterr, ENAMETOOLONG,
		                      "Layer entry " NAME_FMT "... is too long to unpack here",
		                      entry);
	if (hardlink) {
		_cleanup_free_ char *tparent = NULL, *tpath = NULL;
		_cleanup_close_ int tfd = -EBADF;
		const char *tbase;

		r = normalize(entry, hardlink, true, &target, reterr);
		if (r < 0)
			return r;
		if (target[0] == '\0')
			return crib_error_set(reterr, EINVAL,
			                      "Hard link " NAME_FMT " points to the layer root",
			                      entry);
		tparent = split_parent(target, &tbase);
		r = open_dir(u, entry, "Hard link", tparent, false, &tfd, reterr);
		if (r < 0)
			return r;
		tpath = crib_xasprintf("%s/%s", u->root, target);
		if (strlen(tpath) >= PATH_MAX)
			return crib_error_set(
			    reterr, ENAMETOOLONG,
			    "Hard link " NAME_FMT " has a target too long to unpack here", entry);
		archive_entry_copy_hardlink(e, tpath);
	}

	r = open_dir(u, entry, "Layer entry", parent, true, &parent_fd, reterr);
	if (r < 0)
		return r;
	if (fstatat(parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		/*
		 * Only an empty directory may be replaced by a non-directory, as write_disk
		 * itself rules.  Removing a full one (as containerd does) would let the layer
		 * put a symlink where write_disk still has the directory's mode and times to
		 * set at archive_write_close(), by a path whose O_NOFOLLOW guards only the
		 * last component: "a/", "a/etc/" 0777, then "a -> /" would chmod the host's
		 * /etc.
		 */
		if (archive_entry_filetype(e) != AE_IFDIR) {
			if (unlinkat(parent_fd, base, AT_REMOVEDIR) < 0)
				return crib_error_set(
				    reterr, errno,
				    "Layer entry " NAME_FMT
				    " cannot replace the directory of that name: %s",
				    entry, strerror(errno));
		} else if (defer_dir_time(u, e, rel) < 0) {
			return crib_error_set(reterr, ENOMEM, "Out of memory");
		}
	}
	forget_dir(u, rel);

	r = strip_overlay_xattrs(e);
	if (r < 0)
		return crib_error_set(reterr, -r, "Out of memory");
	archive_entry_copy_pathname(e, path);
	if (archive_write_header(u->disk, e) != ARCHIVE_OK)
		return crib_error_set(reterr, write_errno(u->disk),
		                      "Failed to unpack layer entry " NAME_FMT ": %s", entry,
		                      archive_msg(u->disk));
	/* Only regular files take data: write_disk refuses it for anything else. */
	if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size_is_set(e) &&
	    archive_entry_size(e) > 0) {
		r = copy_data(in, u->disk, entry, reterr);
		if (r < 0)
			return r;
	}
	if (archive_write_finish_entry(u->disk) != ARCHIVE_OK)
		return crib_error_set(reterr, write_errno(u->disk),
		                      "Failed to unpack layer entry " NAME_FMT ": %s", entry,
		                      archive_msg(u->disk));
	return set_acl_xattrs(e, path, entry, reterr);
}

static int set_dir_times(struct unpack *u, struct crib_error **reterr)
{
	for (size_t i = 0; i < u->n_times; i++) {
		const char *rel = u->times[i].path, *base;
		_cleanup_free_ char *parent = split_parent(rel, &base);
		_cleanup_close_ int fd = -EBADF;
		struct stat st;

		/*
		 * By descriptors, never through a symlink; a directory replaced by a later
		 * entry of another type keeps that entry's times.
		 */
		if (open_dir(u, rel, "Layer entry", parent, false, &fd, NULL) < 0 ||
		    fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (utimensat(fd, base, u->times[i].ts, AT_SYMLINK_NOFOLLOW) < 0)
			return crib_error_set(reterr, errno,
			                      "Failed to set the times of layer directory " NAME_FMT
			                      ": %s",
			                      rel, strerror(errno));
	}
	return 0;
}

static int open_reader(const char *blob, int fd, struct archive **ret, struct crib_error **reterr)
{
	_cleanup_(archive_read_freep) struct archive *a = archive_read_new();

	if (!a)
		return crib_error_set(reterr, ENOMEM, "Out of memory");
	/*
	 * OCI layers are tar, gzip or zstd; docker also accepts bzip2 and xz.  Not
	 * archive_read_support_filter_all(): it adds filters that run external programs
	 * (lrzip, grzip, lzop) and that nobody uses for layers (uu, rpm, lz4, compress).  Each
	 * must be built in: ARCHIVE_WARN means libarchive would run a program instead.
	 */
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_support_filter_bzip2(a) != ARCHIVE_OK ||
	    archive_read_support_filter_xz(a) != ARCHIVE_OK)
		return crib_error_set(reterr, ENOTSUP,
		                      "libarchive lacks a built-in decompressor: %s",
		                      archive_msg(a));
	/* ustar, pax, GNU and v7 tar; nothing else is a layer. */
	if (archive_read_support_format_tar(a) != ARCHIVE_OK)
		return crib_error_set(reterr, ENOTSUP, "libarchive cannot read tar: %s",
		                      archive_msg(a));
	if (archive_read_open_fd(a, fd, BLOCK_SIZE) != ARCHIVE_OK)
		return crib_error_set(reterr, read_errno(a),
		                      "Failed to read layer " NAME_FMT ": %s", blob,
		                      archive_msg(a));
	*ret = TAKE_PTR(a);
	return 0;
}

static int unpack_into(const char *blob, const char *dest, struct crib_error **reterr)
{
	struct unpack u = {.root_fd = -EBADF, .dir_fd = -EBADF};
	_cleanup_(archive_read_freep) struct archive *in = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	u.root = realpath(dest, NULL);
	if (!u.root)
		return crib_error_set(reterr, errno, "Failed to resolve " NAME_FMT ": %s", dest,
		                      strerror(errno));
	u.root_fd = open(u.root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* "created 0755", whatever the daemon's umask. */
	if (u.root_fd < 0 || chmod(u.root, 0755) < 0) {
		r = crib_error_set(reterr, errno, "Failed to open " NAME_FMT ": %s", dest,
		                   strerror(errno));
		goto finish;
	}

	fd = open(blob, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = crib_error_set(reterr, errno, "Failed to open layer " NAME_FMT ": %s", blob,
		                   strerror(errno));
		goto finish;
	}
	r = open_reader(blob, fd, &in, reterr);
	if (r < 0)
		goto finish;

	u.disk = archive_write_disk_new();
	if (!u.disk || archive_write_disk_set_options(u.disk, DISK_FLAGS) != ARCHIVE_OK) {
		r = crib_error_set(reterr, ENOMEM, "Failed to set up libarchive");
		goto finish;
	}

	for (;;) {
		struct archive_entry *e;

		r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		/*
		 * Warnings too: a malformed pax header or a name that does not convert is a
		 * layer that would unpack differently elsewhere.
		 */
		if (r != ARCHIVE_OK) {
			r = crib_error_set(reterr, read_errno(in),
			                   "Failed to read layer " NAME_FMT ": %s", blob,
			                   archive_msg(in));
			goto finish;
		}
		r = unpack_entry(&u, in, e, reterr);
		if (r < 0)
			goto finish;
	}
	/* Directory modes and times are set here, after their contents. */
	if (archive_write_close(u.disk) != ARCHIVE_OK) {
		r = crib_error_set(reterr, write_errno(u.disk), "Failed to finish layer: %s",
		                   archive_msg(u.disk));
		goto finish;
	}
	r = set_dir_times(&u, reterr);
finish:
	unpack_done(&u);
	return r;
}

int crib_layer_unpack(const char *blob, const char *dest, struct crib_error **reterr)
{
	struct utf8_scope scope;
	int r;

	if (mkdir(dest, 0755) < 0)
		return crib_error_set(reterr, errno, "Failed to create " NAME_FMT ": %s", dest,
		                      strerror(errno));
	utf8_scope_enter(&scope);
	r = unpack_into(blob, dest, reterr);
	utf8_scope_leave(&scope);
	if (r < 0)
		(void)rm_rf(dest);
	return r;
}

struct apply {
	struct archive *disk;   /* archive_write_disk */
	struct archive *reader; /* archive_read_disk, for entries from files */
	struct archive_entry_linkresolver *links;
	const char *src; /* realpath of SRC */
	size_t src_len;
	const char *dest; /* realpath of DEST */
	char *buf;        /* BLOCK_SIZE */
};

static int remove_xattrs(const char *path)
{
	_cleanup_free_ char *list = NULL;
	ssize_t len = llistxattr(path, NULL, 0);

	if (len <= 0)
		return len < 0 && errno != ENOTSUP ? -errno : 0;
	list = malloc((size_t)len);
	if (!list)
		return -ENOMEM;
	len = llistxattr(path, list, (size_t)len);
	if (len < 0)
		return -errno;
	for (char *p = list; p < list + len; p += strlen(p) + 1)
		if (lremovexattr(path, p) < 0 && errno != ENODATA)
			return -errno;
	return 0;
}

static bool is_opaque(const char *path)
{
	char v;

	return lgetxattr(path, OPAQUE_XATTR, &v, 1) == 1 && v == 'y';
}

static int empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	for (;;) {
		_cleanup_free_ char *child = NULL;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0)
				r = -errno;
			break;
		}
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		child = crib_xasprintf("%s/%s", path, de->d_name);
		r = rm_rf(child);
		if (r < 0)
			break;
	}
	(void)closedir(d);
	return r;
}

static int copy_file_data(struct apply *ap, int fd, const char *src, struct crib_error **reterr)
{
	for (;;) {
		ssize_t n = read(fd, ap->buf, BLOCK_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return crib_error_set(reterr, errno, "Failed to read " NAME_FMT ": %s", src,
			                      strerror(errno));
		if (n == 0)
			return 0;
		if (archive_write_data(ap->disk, ap->buf, (size_t)n) != n)
			return crib_error_set(reterr, write_errno(ap->disk),
			                      "Failed to copy " NAME_FMT ": %s", src,
			                      archive_msg(ap->disk));
	}
}

/*
 * Makes DEST/REL what SRC's entry ENT is, the way overlayfs would show ENT over DEST.  Parents
 * come before children (fts' preorder), so DEST's parents of REL are real directories by now:
 * a symlink there was replaced by SRC's directory of that name.
 */
static int apply_entry(struct apply *ap, FTSENT *ent, struct crib_error **reterr)
{
	const struct stat *st = ent->fts_statp;
	const char *rel = ent->fts_path + ap->src_len + 1;
	_cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
	struct archive_entry *spare = NULL;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *path = NULL;
	struct stat old;
	bool exists;
	int r;

	path = crib_xasprintf("%s/%s", ap->dest, rel);
	if (strlen(path) >= PATH_MAX)
		return crib_error_set(reterr, ENAMETOOLONG, NAME_FMT "... is too long to copy",
		                      ent->fts_path);
	exists = lstat(path, &old) == 0;
	if (!exists && errno != ENOENT)
		return crib_error_set(reterr, errno, "Failed to look at " NAME_FMT ": %s", path,
		                      strerror(errno));

	/* A whiteout deletes; it is not copied. */
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0)) {
		r = exists ? rm_rf(path) : 0;
		if (r < 0)
			return crib_error_set(reterr, -r, "Failed to remove " NAME_FMT ": %s", path,
			                      strerror(-r));
		return 0;
	}
	/* Sockets belong to a running system, not to an image; tar cannot hold them either. */
	if (S_ISSOCK(st->st_mode))
		return 0;

	if (exists) {
		if (S_ISDIR(st->st_mode) && S_ISDIR(old.st_mode) && !is_opaque(ent->fts_accpath))
			/* Merged: SRC's directory shows with its own xattrs only. */
			r = remove_xattrs(path);
		else
			r = rm_rf(path);
		if (r < 0)
			return crib_error_set(reterr, -r, "Failed to replace " NAME_FMT ": %s",
			                      path, strerror(-r));
	}

	if (S_ISREG(st->st_mode)) {
		struct stat fst;

		fd = open(ent->fts_accpath, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &fst) < 0)
			return crib_error_set(reterr, errno, "Failed to open " NAME_FMT ": %s",
			                      ent->fts_path, strerror(errno));
		if (fst.st_dev != st->st_dev || fst.st_ino != st->st_ino)
			return crib_error_set(reterr, EBUSY, NAME_FMT " changed while being copied",
			                      ent->fts_path);
	}
	e = archive_entry_new();
	if (!e)
		return crib_error_set(reterr, ENOMEM, "Out of memory");
	archive_entry_copy_sourcepath(e, ent->fts_accpath);
	archive_entry_copy_pathname(e, path);
	if (archive_read_disk_entry_from_file(ap->reader, e, fd, st) != ARCHIVE_OK)
		return crib_error_set(reterr, write_errno(ap->reader),
		                      "Failed to read " NAME_FMT ": %s", ent->fts_path,
		                      archive_msg(ap->reader));
	r = strip_overlay_xattrs(e);
	if (r < 0)
		return crib_error_set(reterr, -r, "Out of memory");
	/* The second and later names of an inode become hard links to the first one's copy. */
	archive_entry_linkify(ap->links, &e, &spare);
	if (archive_write_header(ap->disk, e) != ARCHIVE_OK)
		return crib_error_set(reterr, write_errno(ap->disk),
		                      "Failed to copy " NAME_FMT " to " NAME_FMT ": %s",
		                      ent->fts_path, path, archive_msg(ap->disk));
	if (fd >= 0 && !archive_entry_hardlink(e)) {
		r = copy_file_data(ap, fd, ent->fts_path, reterr);
		if (r < 0)
			return r;
	}
	if (archive_write_finish_entry(ap->disk) != ARCHIVE_OK)
		return crib_error_set(reterr, write_errno(ap->disk),
		                      "Failed to copy " NAME_FMT " to " NAME_FMT ": %s",
		                      ent->fts_path, path, archive_msg(ap->disk));
	return 0;
}

/*
 * After a directory's contents: write_disk sets the times of a directory that existed in
 * DEST (a merged one) at once, before the contents change its mtime.
 */
static int set_times_after(struct apply *ap, FTSENT *ent, struct crib_error **reterr)
{
	const struct stat *st = ent->fts_statp;
	const struct timespec ts[2] = {st->st_atim, st->st_mtim};
	_cleanup_free_ char *path =
	    crib_xasprintf("%s/%s", ap->dest, ent->fts_path + ap->src_len + 1);

	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return crib_error_set(reterr, errno, "Failed to set the times of " NAME_FMT ": %s",
		                      path, strerror(errno));
	return 0;
}

static int cmp_names(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

static int apply_tree(struct apply *ap, struct crib_error **reterr)
{
	char *argv[] = {(char *)ap->src, NULL};
	_cleanup_(fts_closep) FTS *fts = NULL;
	int r;

	/* Sorted, so that the first name of a hard-linked inode is the same on every run. */
	fts = fts_open(argv, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, cmp_names);
	if (!fts)
		return crib_error_set(reterr, errno, "Failed to walk " NAME_FMT ": %s", ap->src,
		                      strerror(errno));
	for (;;) {
		FTSENT *ent;

		errno = 0;
		ent = fts_read(fts);
		if (!ent) {
			if (errno != 0)
				return crib_error_set(reterr, errno,
				                      "Failed to walk " NAME_FMT ": %s", ap->src,
				                      strerror(errno));
			return 0;
		}
		switch (ent->fts_info) {
		case FTS_D:
			if (ent->fts_level == 0) {
				/* The root stays DEST's, as unpacking leaves it; opaque, it hides
				 * all. */
				r = is_opaque(ent->fts_accpath) ? empty_dir(ap->dest) : 0;
				if (r < 0)
					return crib_error_set(reterr, -r,
					                      "Failed to empty " NAME_FMT ": %s",
					                      ap->dest, strerror(-r));
				break;
			}
			r = apply_entry(ap, ent, reterr);
			if (r < 0)
				return r;
			break;
		case FTS_DP:
			r = ent->fts_level > 0 ? set_times_after(ap, ent, reterr) : 0;
			if (r < 0)
				return r;
			break;
		case FTS_F:
		case FTS_SL:
		case FTS_SLNONE:
		case FTS_DEFAULT:
			r = apply_entry(ap, ent, reterr);
			if (r < 0)
				return r;
			break;
		case FTS_DC:
			return crib_error_set(reterr, ELOOP, "Directory cycle at " NAME_FMT,
			                      ent->fts_path);
		default:
			return crib_error_set(reterr, ent->fts_errno ? ent->fts_errno : EIO,
			                      "Failed to read " NAME_FMT ": %s", ent->fts_path,
			                      strerror(ent->fts_errno ? ent->fts_errno : EIO));
		}
	}
}

int crib_layer_apply(const char *src, const char *dest, struct crib_error **reterr)
{
	_cleanup_(archive_write_freep) struct archive *disk = NULL;
	_cleanup_(archive_read_freep) struct archive *reader = NULL;
	_cleanup_(linkresolver_freep) struct archive_entry_linkresolver *links = NULL;
	_cleanup_free_ char *s = NULL, *d = NULL, *buf = NULL;
	struct apply ap;
	struct stat st;
	int r;

	s = realpath(src, NULL);
	if (!s || stat(s, &st) < 0 || !S_ISDIR(st.st_mode))
		return crib_error_set(reterr, s ? ENOTDIR : errno,
		                      "Layer directory " NAME_FMT " is not usable: %s", src,
		                      strerror(s ? ENOTDIR : errno));
	d = realpath(dest, NULL);
	if (!d || stat(d, &st) < 0 || !S_ISDIR(st.st_mode))
		return crib_error_set(reterr, d ? ENOTDIR : errno,
		                      "Destination " NAME_FMT " is not usable: %s", dest,
		                      strerror(d ? ENOTDIR : errno));

	reader = archive_read_disk_new();
	disk = archive_write_disk_new();
	links = archive_entry_linkresolver_new();
	if (!reader || !disk || !links)
		return crib_error_set(reterr, ENOMEM, "Out of memory");
	/*
	 * Physical: SRC's symlinks are copied, not followed.  No uname/gname lookup: ids stay
	 * numbers.  No file flags (see the top); no FIEMAP, as ARCHIVE_EXTRACT_SPARSE finds the
	 * holes again.
	 */
	if (archive_read_disk_set_symlink_physical(reader) != ARCHIVE_OK ||
	    archive_read_disk_set_behavior(reader, ARCHIVE_READDISK_NO_FFLAGS |
	                                               ARCHIVE_READDISK_NO_SPARSE) != ARCHIVE_OK ||
	    archive_write_disk_set_options(disk, DISK_FLAGS) != ARCHIVE_OK)
		return crib_error_set(reterr, EINVAL, "Failed to set up libarchive");
	archive_entry_linkresolver_set_strategy(links, ARCHIVE_FORMAT_TAR);
	buf = crib_xmalloc(BLOCK_SIZE);

	ap = (struct apply){
	    .disk = disk,
	    .reader = reader,
	    .links = links,
	    .src = s,
	    .src_len = strlen(s),
	    .dest = d,
	    .buf = buf,
	};
	r = apply_tree(&ap, reterr);
	if (r < 0)
		return crib_error_set(
		    reterr, -r, "Failed to apply layer " NAME_FMT " onto " NAME_FMT, src, dest);
	if (archive_write_close(disk) != ARCHIVE_OK)
		return crib_error_set(reterr, write_errno(disk),
		                      "Failed to apply layer " NAME_FMT " onto " NAME_FMT ": %s",
		                      src, dest, archive_msg(disk));
	return 0;
}
