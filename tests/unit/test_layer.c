/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layers: archives built here with libarchive's writer (pax, GNU and ustar tar, plain, gzip and
 * zstd) are unpacked and the trees checked with lstat, readlink and getxattr; two unpacked
 * layers are stacked with crib_layer_apply and the copy compared with the expected tree line
 * by line.  Owners, devices, whiteouts and trusted xattrs need root: without it only the tests
 * that do not run and the binary exits 77.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "layer.h"
#include "util.h"

#define T1 1000000000LL
#define T2 2000000000LL

enum filter {
	FILTER_NONE,
	FILTER_GZIP,
	FILTER_ZSTD,
};

/* One archive entry.  Zero fields mean: regular file, the caller's ids, mtime T1. */
struct ent {
	const char *name;
	unsigned mode;    /* S_IFxxx | permissions; no type means a regular file */
	const char *data; /* a file's contents or a symlink's target */
	const char *link; /* hard link target */
	unsigned uid, gid;
	long long mtime;
	unsigned major, minor;
	const char *xname[2], *xvalue[2];
	size_t xlen[2]; /* 0: strlen(xvalue) */
};

/*
 * A POSIX ACL as the kernel stores it in system.posix_acl_access (and docker in tar): version
 * 2, then tag, permissions and id for user::rw-, user:1234:r--, group::r--, mask::r--, other::---.
 */
static const char acl_value[] = "\x02\x00\x00\x00"
                                "\x01\x00\x06\x00\xff\xff\xff\xff"
                                "\x02\x00\x04\x00\xd2\x04\x00\x00"
                                "\x04\x00\x04\x00\xff\xff\xff\xff"
                                "\x10\x00\x04\x00\xff\xff\xff\xff"
                                "\x20\x00\x00\x00\xff\xff\xff\xff";
#define ACL_LEN (sizeof(acl_value) - 1)

struct fixture {
	char dir[64];
	char *blob;
	char *dest;
	char *outside; /* where escaping symlinks point: holds a canary */
	long long outside_mtime;
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_tree(const char *dir)
{
	(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const void *data, size_t len)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
}

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));
	_cleanup_free_ char *canary = NULL;
	struct stat st;

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/crib-layer-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->blob = crib_xasprintf("%s/layer", f->dir);
	f->dest = crib_xasprintf("%s/dest", f->dir);
	f->outside = crib_xasprintf("%s/outside", f->dir);
	canary = crib_xasprintf("%s/canary", f->outside);
	if (mkdir(f->outside, 0755) < 0)
		return -1;
	write_file(canary, "canary", 6);
	if (chmod(f->outside, 0755) < 0 || utimensat(AT_FDCWD, f->outside, NULL, 0) < 0)
		return -1;
	if (stat(f->outside, &st) < 0)
		return -1;
	f->outside_mtime = st.st_mtim.tv_sec;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_tree(f->dir);
	free(f->blob);
	free(f->dest);
	free(f->outside);
	free(f);
	return 0;
}

static void write_layer_fmt(const char *path, enum filter filter, int format,
                            const struct ent *ents, size_t n)
{
	struct archive *a = archive_write_new();

	assert_non_null(a);
	assert_int_equal(archive_write_set_format(a, format), ARCHIVE_OK);
	switch (filter) {
	case FILTER_NONE:
		break;
	case FILTER_GZIP:
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
		break;
	case FILTER_ZSTD:
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
		break;
	}
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const struct ent *x = &ents[i];
		struct archive_entry *e = archive_entry_new();
		unsigned type = x->mode & S_IFMT;

		archive_entry_set_pathname(e, x->name);
		archive_entry_set_mode(e, type ? x->mode : (x->mode ? x->mode : 0644) | S_IFREG);
		archive_entry_set_uid(e, x->uid ? x->uid : geteuid());
		archive_entry_set_gid(e, x->gid ? x->gid : getegid());
		archive_entry_set_mtime(e, x->mtime ? x->mtime : T1, 0);
		archive_entry_set_size(e, 0);
		if (x->link)
			archive_entry_set_hardlink(e, x->link);
		else if (type == S_IFLNK)
			archive_entry_set_symlink(e, x->data);
		else if (type == S_IFCHR || type == S_IFBLK)
			archive_entry_set_rdev(e, makedev(x->major, x->minor));
		else if (!type && x->data)
			archive_entry_set_size(e, (la_int64_t)strlen(x->data));
		for (size_t j = 0; j < 2 && x->xname[j]; j++)
			archive_entry_xattr_add_entry(e, x->xname[j], x->xvalue[j],
			                              x->xlen[j] ? x->xlen[j]
			                                         : strlen(x->xvalue[j]));
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (!type && !x->link && x->data)
			assert_int_equal(archive_write_data(a, x->data, strlen(x->data)),
			                 (la_ssize_t)strlen(x->data));
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

static void write_layer(const char *path, enum filter filter, const struct ent *ents, size_t n)
{
	write_layer_fmt(path, filter, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ents, n);
}

/* crib_layer_unpack of F's blob into F's dest; the error, if any, goes to *err. */
static int unpack(struct fixture *f, struct crib_error **err)
{
	return crib_layer_unpack(f->blob, f->dest, err);
}

static char *at(const char *dir, const char *rel)
{
	return crib_xasprintf("%s/%s", dir, rel);
}

static void assert_node(const char *dir, const char *rel, unsigned mode, unsigned uid, unsigned gid)
{
	_cleanup_free_ char *p = at(dir, rel);
	struct stat st;

	if (lstat(p, &st) < 0)
		fail_msg("'%s' is missing: %s", p, strerror(errno));
	assert_int_equal(st.st_mode, mode);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

static void assert_mtime(const char *dir, const char *rel, long long mtime)
{
	_cleanup_free_ char *p = at(dir, rel);
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, mtime);
}

static void assert_contents(const char *dir, const char *rel, const char *data)
{
	_cleanup_free_ char *p = at(dir, rel);
	_cleanup_close_ int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[256];
	ssize_t n;

	if (fd < 0)
		fail_msg("'%s' cannot be opened: %s", p, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, data);
}

static void assert_symlink(const char *dir, const char *rel, const char *target)
{
	_cleanup_free_ char *p = at(dir, rel);
	char buf[PATH_MAX];
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);

	if (n < 0)
		fail_msg("'%s' is no symlink: %s", p, strerror(errno));
	buf[n] = '\0';
	assert_string_equal(buf, target);
}

static void assert_xattr(const char *dir, const char *rel, const char *name, const char *value)
{
	_cleanup_free_ char *p = at(dir, rel);
	char buf[256];
	ssize_t n = lgetxattr(p, name, buf, sizeof(buf) - 1);

	if (n < 0)
		fail_msg("'%s' has no %s: %s", p, name, strerror(errno));
	buf[n] = '\0';
	assert_string_equal(buf, value);
}

static void assert_acl(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = at(dir, rel);
	char buf[256];

	assert_int_equal(lgetxattr(p, "system.posix_acl_access", buf, sizeof(buf)), ACL_LEN);
	assert_memory_equal(buf, acl_value, ACL_LEN);
}

static void assert_no_xattr(const char *dir, const char *rel, const char *name)
{
	_cleanup_free_ char *p = at(dir, rel);
	char buf[8];

	assert_int_equal(lgetxattr(p, name, buf, sizeof(buf)), -1);
	assert_int_equal(errno, ENODATA);
}

static void assert_missing(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		fail_msg("'%s' exists", path);
	assert_int_equal(errno, ENOENT);
}

static void assert_same_inode(const char *dir, const char *a, const char *b, nlink_t nlink)
{
	_cleanup_free_ char *pa = at(dir, a), *pb = at(dir, b);
	struct stat sa, sb;

	assert_int_equal(lstat(pa, &sa), 0);
	assert_int_equal(lstat(pb, &sb), 0);
	assert_int_equal(sa.st_ino, sb.st_ino);
	assert_int_equal(sa.st_nlink, nlink);
}

/* The names in DIR, sorted and joined with spaces: what a failure must leave behind. */
static char *list_dir(const char *dir)
{
	struct dirent **names = NULL;
	char *out = crib_xstrdup("");
	int n = scandir(dir, &names, NULL, alphasort);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (!streq(names[i]->d_name, ".") && !streq(names[i]->d_name, "..")) {
			char *next =
			    crib_xasprintf("%s%s%s", out, *out ? " " : "", names[i]->d_name);

			free(out);
			out = next;
		}
		free(names[i]);
	}
	free(names);
	return out;
}

static bool can_set_security_xattr(const char *dir)
{
	_cleanup_free_ char *p = at(dir, "probe");
	bool ok;

	write_file(p, "", 0);
	ok = setxattr(p, "security.crib", "1", 1, 0) == 0;
	(void)unlink(p);
	return ok;
}

/*
 * One line per entry under ROOT in name order: path, type and mode, owner, mtime, then the
 * contents, symlink target or device numbers, the link count of multiply-linked files and the
 * xattrs.  Two trees are the same when their dumps are.
 */
static int cmp_fts(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

/* Appends to the malloc'd string *S. */
static void append(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char **s, const char *fmt, ...)
{
	char *add, *joined;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&add, fmt, ap) >= 0);
	va_end(ap);
	joined = crib_xasprintf("%s%s", *s, add);
	free(add);
	free(*s);
	*s = joined;
}

static char *dump_tree(const char *root)
{
	char *argv[] = {(char *)root, NULL};
	FTS *fts = fts_open(argv, FTS_PHYSICAL | FTS_NOCHDIR, cmp_fts);
	size_t root_len = strlen(root);
	char *out = crib_xstrdup("");
	FTSENT *ent;

	assert_non_null(fts);
	while ((ent = fts_read(fts))) {
		const struct stat *st = ent->fts_statp;
		char names[512];
		ssize_t n;

		if (ent->fts_info == FTS_DP || ent->fts_level == 0)
			continue;
		append(&out, "%s %c%04o %u:%u %lld", ent->fts_path + root_len + 1,
		       S_ISDIR(st->st_mode)    ? 'd'
		       : S_ISLNK(st->st_mode)  ? 'l'
		       : S_ISCHR(st->st_mode)  ? 'c'
		       : S_ISBLK(st->st_mode)  ? 'b'
		       : S_ISFIFO(st->st_mode) ? 'p'
		                               : '-',
		       st->st_mode & 07777, st->st_uid, st->st_gid, (long long)st->st_mtim.tv_sec);
		if (S_ISREG(st->st_mode)) {
			_cleanup_close_ int fd = open(ent->fts_accpath, O_RDONLY | O_CLOEXEC);
			char buf[64];
			ssize_t len = read(fd, buf, sizeof(buf) - 1);

			assert_true(len >= 0);
			buf[len] = '\0';
			append(&out, " \"%s\"", buf);
		} else if (S_ISLNK(st->st_mode)) {
			char buf[256];
			ssize_t len = readlink(ent->fts_accpath, buf, sizeof(buf) - 1);

			assert_true(len >= 0);
			buf[len] = '\0';
			append(&out, " -> %s", buf);
		} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
			append(&out, " %u,%u", major(st->st_rdev), minor(st->st_rdev));
		}
		if (!S_ISDIR(st->st_mode) && st->st_nlink > 1)
			append(&out, " links=%u", (unsigned)st->st_nlink);
		n = llistxattr(ent->fts_accpath, names, sizeof(names));
		assert_true(n >= 0);
		for (char *p = names; p < names + n; p += strlen(p) + 1) {
			char value[128];
			ssize_t len;

			/* ACLs are binary; the tests check them with assert_acl(). */
			if (strncmp(p, "system.", 7) == 0)
				continue;
			len = lgetxattr(ent->fts_accpath, p, value, sizeof(value) - 1);
			assert_true(len >= 0);
			value[len] = '\0';
			append(&out, " %s=%s", p, value);
		}
		append(&out, "\n");
	}
	assert_int_equal(fts_close(fts), 0);
	return out;
}

/* Unpacking a tree with every kind of entry, through every supported compression. */
static void test_unpack_tree(void **state)
{
	struct fixture *f = *state;
	bool security = can_set_security_xattr(f->dir);
	const struct ent ents[] = {
	    {.name = "./", .mode = S_IFDIR | 0700, .mtime = 111},
	    {.name = "bin/", .mode = S_IFDIR | 0755, .mtime = 1000},
	    {.name = "bin/tool", .mode = 04755, .data = "#!/bin/sh\n", .mtime = 2000},
	    {.name = "home/", .mode = S_IFDIR | 0755},
	    {.name = "home/u/", .mode = S_IFDIR | 0710, .uid = 1234, .gid = 1234, .mtime = 3000},
	    {.name = "home/u/file",
	     .mode = 0640,
	     .data = "hello",
	     .uid = 1234,
	     .gid = 5678,
	     .mtime = 1234567890},
	    {.name = "home/u/link", .mode = S_IFLNK | 0777, .data = "/etc/passwd", .mtime = 4000},
	    {.name = "home/u/rel", .mode = S_IFLNK | 0777, .data = "../u/file"},
	    {.name = "home/u/hard", .link = "home/u/file"},
	    {.name = "./dev//", .mode = S_IFDIR | 0755},
	    {.name = "dev/null", .mode = S_IFCHR | 0666, .major = 1, .minor = 3},
	    {.name = "dev/loop0", .mode = S_IFBLK | 0660, .gid = 6, .major = 7, .minor = 0},
	    {.name = "dev/fifo", .mode = S_IFIFO | 0600},
	    {.name = "attrs",
	     .data = "x",
	     .xname = {"user.foo", security ? "security.crib" : NULL},
	     .xvalue = {"bar", "sec"}},
	    {.name = "deep/er/file", .data = "implicit parents"},
	    {.name = "acl",
	     .mode = 0640,
	     .data = "acl",
	     .xname = {"system.posix_acl_access"},
	     .xvalue = {acl_value},
	     .xlen = {ACL_LEN}},
	};
	const enum filter filters[] = {FILTER_NONE, FILTER_GZIP, FILTER_ZSTD};

	for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
		_cleanup_(crib_error_freep) struct crib_error *err = NULL;

		write_layer(f->blob, filters[i], ents, ARRAY_SIZE(ents));
		if (unpack(f, &err) < 0)
			fail_msg("filter %zu: %s", i, crib_error_msg(err));
		assert_null(err);

		/* The archive's "./" does not change DEST. */
		assert_node(f->dest, ".", S_IFDIR | 0755, 0, 0);
		assert_node(f->dest, "bin", S_IFDIR | 0755, 0, 0);
		assert_mtime(f->dest, "bin", 1000);
		assert_node(f->dest, "bin/tool", S_IFREG | 04755, 0, 0);
		assert_mtime(f->dest, "bin/tool", 2000);
		assert_node(f->dest, "home/u", S_IFDIR | 0710, 1234, 1234);
		assert_mtime(f->dest, "home/u", 3000);
		assert_node(f->dest, "home/u/file", S_IFREG | 0640, 1234, 5678);
		assert_mtime(f->dest, "home/u/file", 1234567890);
		assert_contents(f->dest, "home/u/file", "hello");
		/* Absolute targets are kept: they mean the container's root, not ours. */
		assert_symlink(f->dest, "home/u/link", "/etc/passwd");
		assert_mtime(f->dest, "home/u/link", 4000);
		assert_symlink(f->dest, "home/u/rel", "../u/file");
		assert_same_inode(f->dest, "home/u/file", "home/u/hard", 2);
		assert_node(f->dest, "dev/null", S_IFCHR | 0666, 0, 0);
		{
			_cleanup_free_ char *p = at(f->dest, "dev/null");
			struct stat st;

			assert_int_equal(lstat(p, &st), 0);
			assert_int_equal(st.st_rdev, makedev(1, 3));
		}
		assert_node(f->dest, "dev/loop0", S_IFBLK | 0660, 0, 6);
		assert_node(f->dest, "dev/fifo", S_IFIFO | 0600, 0, 0);
		assert_xattr(f->dest, "attrs", "user.foo", "bar");
		if (security)
			assert_xattr(f->dest, "attrs", "security.crib", "sec");
		assert_node(f->dest, "deep", S_IFDIR | 0755, 0, 0);
		assert_node(f->dest, "deep/er", S_IFDIR | 0755, 0, 0);
		assert_contents(f->dest, "deep/er/file", "implicit parents");
		assert_node(f->dest, "acl", S_IFREG | 0640, 0, 0);
		assert_acl(f->dest, "acl");

		rm_tree(f->dest);
	}
}

/* GNU tar (long names in ././@LongLink) and plain ustar are layers too. */
static void test_unpack_formats(void **state)
{
	struct fixture *f = *state;
	char long_name[300];
	const struct ent ents[] = {
	    {.name = "d/", .mode = S_IFDIR | 0750},
	    {.name = "d/f", .data = "gnu"},
	    {.name = "d/l", .mode = S_IFLNK | 0777, .data = "f"},
	    {.name = long_name, .data = "long"},
	};
	const int formats[] = {ARCHIVE_FORMAT_TAR_GNUTAR, ARCHIVE_FORMAT_TAR_USTAR};

	/* "d/nnn.../nnn.../nnn": 299 bytes in components of at most 99. */
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[0] = 'd';
	long_name[1] = '/';
	long_name[101] = '/';
	long_name[201] = '/';
	long_name[sizeof(long_name) - 1] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		_cleanup_(crib_error_freep) struct crib_error *err = NULL;
		/* ustar cannot hold a 300-byte name (it splits at most 155 + 100). */
		size_t n = formats[i] == ARCHIVE_FORMAT_TAR_USTAR ? 3 : 4;

		write_layer_fmt(f->blob, FILTER_GZIP, formats[i], ents, n);
		if (unpack(f, &err) < 0)
			fail_msg("format %zu: %s", i, crib_error_msg(err));
		assert_node(f->dest, "d", S_IFDIR | 0750, geteuid(), getegid());
		assert_contents(f->dest, "d/f", "gnu");
		assert_symlink(f->dest, "d/l", "f");
		if (n == 4)
			assert_contents(f->dest, long_name, "long");
		rm_tree(f->dest);
	}
}

/* pax names are UTF-8; the daemon runs in the "C" locale, which must not mangle them. */
static void test_unpack_utf8_names(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = {
	    {.name = "caf\xc3\xa9/", .mode = S_IFDIR | 0755},
	    {.name = "caf\xc3\xa9/na\xc3\xafve", .data = "utf8"},
	    {.name = "caf\xc3\xa9/\xe2\x86\x92", .mode = S_IFLNK | 0777, .data = "na\xc3\xafve"},
	};
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old;

	assert_non_null(utf8);
	/* The writer needs to know the names are UTF-8 to store them as such. */
	old = uselocale(utf8);
	write_layer(f->blob, FILTER_NONE, ents, ARRAY_SIZE(ents));
	(void)uselocale(old);
	freelocale(utf8);

	if (unpack(f, &err) < 0)
		fail_msg("%s", crib_error_msg(err));
	assert_contents(f->dest, "caf\xc3\xa9/na\xc3\xafve", "utf8");
	assert_symlink(f->dest, "caf\xc3\xa9/\xe2\x86\x92", "na\xc3\xafve");
}

/* Later entries replace earlier ones, as tar extracts them. */
static void test_unpack_replaces(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = {
	    {.name = "a/", .mode = S_IFDIR | 0755},
	    {.name = "a", .data = "now a file"},
	    {.name = "f", .data = "file"},
	    {.name = "f", .mode = S_IFLNK | 0777, .data = "/nowhere"},
	    {.name = "s", .mode = S_IFLNK | 0777, .data = "/tmp"},
	    {.name = "s/", .mode = S_IFDIR | 0700},
	    {.name = "s/inside", .data = "in"},
	    /* A directory listed after its contents still gets its own mode and times. */
	    {.name = "late/x", .data = "x"},
	    {.name = "late/", .mode = S_IFDIR | 0700, .mtime = 7000},
	    {.name = "late/y", .data = "y"},
	    {.name = "implicit/x", .mode = 0666, .data = "x"},
	};
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	mode_t mask;
	int r;

	write_layer(f->blob, FILTER_NONE, ents, ARRAY_SIZE(ents));
	/* Modes are the layer's, whatever the daemon's umask. */
	mask = umask(077);
	r = unpack(f, &err);
	(void)umask(mask);
	if (r < 0)
		fail_msg("%s", crib_error_msg(err));
	assert_node(f->dest, ".", S_IFDIR | 0755, geteuid(), getegid());
	assert_node(f->dest, "implicit", S_IFDIR | 0755, geteuid(), getegid());
	assert_node(f->dest, "implicit/x", S_IFREG | 0666, geteuid(), getegid());
	assert_contents(f->dest, "a", "now a file");
	assert_symlink(f->dest, "f", "/nowhere");
	assert_node(f->dest, "s", S_IFDIR | 0700, geteuid(), getegid());
	assert_contents(f->dest, "s/inside", "in");
	assert_missing("/tmp/inside");
	assert_node(f->dest, "late", S_IFDIR | 0700, geteuid(), getegid());
	assert_mtime(f->dest, "late", 7000);
	assert_contents(f->dest, "late/y", "y");
}

/* An empty layer (two zero blocks, gzip'd) is valid and unpacks to an empty DEST. */
static void test_unpack_empty(void **state)
{
	struct fixture *f = *state;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *names = NULL;

	write_layer(f->blob, FILTER_GZIP, NULL, 0);
	assert_int_equal(unpack(f, &err), 0);
	assert_null(err);
	names = list_dir(f->dest);
	assert_string_equal(names, "");
	assert_node(f->dest, ".", S_IFDIR | 0755, geteuid(), getegid());
}

static void test_unpack_dest_exists(void **state)
{
	struct fixture *f = *state;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *keep = at(f->dest, "keep");
	_cleanup_free_ char *names = NULL;
	const struct ent ents[] = {{.name = "x", .data = "x"}};

	write_layer(f->blob, FILTER_NONE, ents, ARRAY_SIZE(ents));
	assert_int_equal(mkdir(f->dest, 0700), 0);
	write_file(keep, "mine", 4);
	assert_int_equal(unpack(f, &err), -EEXIST);
	assert_non_null(err);
	assert_int_equal(err->errnum, EEXIST);
	/* Somebody else's directory: left exactly as it was. */
	names = list_dir(f->dest);
	assert_string_equal(names, "keep");
	assert_contents(f->dest, "keep", "mine");
}

/* A failed unpack leaves nothing: no DEST, nothing beside it, the canary outside intact. */
static void assert_failed_cleanly(struct fixture *f)
{
	_cleanup_free_ char *names = list_dir(f->dir);
	_cleanup_free_ char *outside = list_dir(f->outside);

	assert_missing(f->dest);
	assert_node(f->dir, "outside", S_IFDIR | 0755, getuid(), getgid());
	assert_mtime(f->dir, "outside", f->outside_mtime);
	assert_string_equal(names, "layer outside");
	assert_string_equal(outside, "canary");
	assert_contents(f->outside, "canary", "canary");
}

struct refusal {
	struct ent ents[3];
	size_t n;
	int code;
	const char *message; /* a substring of the error */
};

static void check_refusal(struct fixture *f, const struct refusal *t)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	int r;

	write_layer(f->blob, FILTER_GZIP, t->ents, t->n);
	r = unpack(f, &err);
	if (r != -t->code || !err || !strstr(crib_error_msg(err), t->message))
		fail_msg("'%s': expected %d with \"%s\", got %d \"%s\"", t->ents[t->n - 1].name,
		         -t->code, t->message, r, crib_error_msg(err));
	assert_int_equal(err->errnum, t->code);
	assert_failed_cleanly(f);
}

static void test_unpack_refusals(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *tmp_evil = crib_xasprintf("crib-layer-evil-%d", (int)getpid());
	_cleanup_free_ char *tmp_evil_path = crib_xasprintf("/tmp/%s", tmp_evil);
	_cleanup_free_ char *via_tmp = crib_xasprintf("a/%s", tmp_evil);
	_cleanup_free_ char *too_long = crib_xcalloc(1, PATH_MAX + 16);
	_cleanup_free_ char *long_here = crib_xcalloc(1, PATH_MAX);
	const struct refusal tests[] = {
	    {{{.name = "../x", .data = "x"}}, 1, EINVAL, "Layer entry '../x' leaves the layer"},
	    {{{.name = "a/../../x", .data = "x"}}, 1, EINVAL, "'a/../../x' leaves the layer"},
	    {{{.name = "a/../b", .data = "x"}}, 1, EINVAL, "'a/../b' leaves the layer"},
	    {{{.name = "/etc/x", .data = "x"}}, 1, EINVAL, "'/etc/x' is an absolute path"},
	    {{{.name = "a", .mode = S_IFLNK | 0777, .data = "/tmp"},
	      {.name = via_tmp, .data = "x"}},
	     2,
	     EINVAL,
	     "goes through symlink 'a'"},
	    {{{.name = "a", .mode = S_IFLNK | 0777, .data = f->outside},
	      {.name = "a/canary", .data = "overwritten"}},
	     2,
	     EINVAL,
	     "Layer entry 'a/canary' goes through symlink 'a'"},
	    {{{.name = "a", .mode = S_IFLNK | 0777, .data = ".."}, {.name = "a/evil", .data = "x"}},
	     2,
	     EINVAL,
	     "Layer entry 'a/evil' goes through symlink 'a'"},
	    {{{.name = "d/", .mode = S_IFDIR | 0755},
	      {.name = "d/a", .mode = S_IFLNK | 0777, .data = "../.."},
	      {.name = "d/a/evil/x", .data = "x"}},
	     3,
	     EINVAL,
	     "goes through symlink 'd/a'"},
	    {{{.name = "h", .link = "../../etc/passwd"}},
	     1,
	     EINVAL,
	     "Hard link 'h' points outside the layer"},
	    {{{.name = "h", .link = "/etc/passwd"}}, 1, EINVAL, "Hard link 'h' points outside"},
	    {{{.name = "e", .mode = S_IFLNK | 0777, .data = f->outside},
	      {.name = "h", .link = "e/canary"}},
	     2,
	     EINVAL,
	     "Hard link 'h' goes through symlink 'e'"},
	    {{{.name = "h", .link = "nothere/x"}},
	     1,
	     EINVAL,
	     "'nothere', which is not in the layer"},
	    {{{.name = "h", .link = "nothere"}}, 1, ENOENT, "'h'"},
	    {{{.name = ".wh.."}}, 1, EINVAL, "Whiteout '.wh..' does not name a file"},
	    {{{.name = ".wh..."}}, 1, EINVAL, "Whiteout '.wh...' does not name a file"},
	    {{{.name = "d/.wh."}}, 1, EINVAL, "Whiteout 'd/.wh.' does not name a file"},
	    {{{.name = "x/.wh.y/z", .data = "z"}}, 1, EINVAL, "'x/.wh.y/z' lies under a whiteout"},
	    {{{.name = ".", .data = "root"}}, 1, EINVAL, "replaces the layer root"},
	    /* write_disk would chmod 'outside' at close, through the symlink 'a' has become. */
	    {{{.name = "a/", .mode = S_IFDIR | 0755},
	      {.name = "a/outside/", .mode = S_IFDIR | 0777, .mtime = 12345},
	      {.name = "a", .mode = S_IFLNK | 0777, .data = f->dir}},
	     3,
	     ENOTEMPTY,
	     "'a' cannot replace the directory of that name"},
	    {{{.name = "f", .data = "f"}, {.name = "f/x", .data = "x"}},
	     2,
	     ENOTDIR,
	     "'f/x' goes through 'f', which is not a directory"},
	    {{{.name = too_long, .data = "x"}}, 1, ENAMETOOLONG, "is longer than PATH_MAX"},
	    {{{.name = long_here, .data = "x"}}, 1, ENAMETOOLONG, "is too long to unpack here"},
	};

	/* PATH_MAX + 8 bytes, and PATH_MAX - 8, which only DEST's prefix makes too long. */
	for (size_t i = 0; i + 2 < PATH_MAX + 8; i += 2)
		memcpy(too_long + i, "d/", 2);
	memcpy(long_here, too_long, PATH_MAX - 8);
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++)
		check_refusal(f, &tests[i]);
	assert_missing(tmp_evil_path);
	assert_missing("/tmp/evil");
}

static void test_unpack_truncated_gzip(void **state)
{
	struct fixture *f = *state;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *big = crib_xmalloc(256 * 1024 + 1);
	struct ent ents[] = {{.name = "a", .data = "a"}, {.name = "big", .data = big}};
	uint32_t x = 12345;
	struct stat st;
	int r;

	/* Printable noise, so that gzip cannot shrink it much. */
	for (size_t i = 0; i < 256 * 1024; i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (char)('!' + (x >> 16) % 90);
	}
	big[256 * 1024] = '\0';
	write_layer(f->blob, FILTER_GZIP, ents, ARRAY_SIZE(ents));
	assert_int_equal(stat(f->blob, &st), 0);
	assert_int_equal(truncate(f->blob, st.st_size / 2), 0);
	r = unpack(f, &err);
	assert_true(r < 0);
	assert_non_null(err);
	assert_int_equal(err->errnum, -r);
	assert_failed_cleanly(f);
}

static void write_other_format(const char *path, int format)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	assert_int_equal(archive_write_set_format(a, format), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, "file");
	archive_entry_set_mode(e, S_IFREG | 0644);
	archive_entry_set_size(e, 4);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, "data", 4), 4);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

/* One 512-byte ustar header, its checksum filled in. */
static void ustar_header(uint8_t h[512], const char *name, char type, size_t size)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	(void)snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 8);
	/* The caller's ids, so that the test also runs without root. */
	(void)snprintf((char *)h + 108, 8, "%07o", (unsigned)geteuid() & 07777777);
	(void)snprintf((char *)h + 116, 8, "%07o", (unsigned)getegid() & 07777777);
	(void)snprintf((char *)h + 124, 12, "%011zo", size);
	memcpy(h + 136, "00000000000", 12);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	(void)snprintf((char *)h + 148, 8, "%06o", sum);
}

/*
 * libarchive reads on past a malformed pax header with a warning, and names the entry as best
 * it can; a layer that other tools may read differently is refused instead.
 */
static void test_unpack_malformed_pax(void **state)
{
	struct fixture *f = *state;
	static const char record[] = "11 path=evil\n"; /* its length field says 11, it is 13 */
	uint8_t blob[512 * 6] = {0};
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	int r;

	ustar_header(blob, "PaxHeader", 'x', strlen(record));
	memcpy(blob + 512, record, strlen(record));
	ustar_header(blob + 1024, "file", '0', 0);
	write_file(f->blob, blob, sizeof(blob));
	r = unpack(f, &err);
	if (r != -EBADMSG)
		fail_msg("%d %s", r, crib_error_msg(err));
	assert_non_null(strstr(crib_error_msg(err), "pax"));
	assert_failed_cleanly(f);

	/* The same archive with a well-formed record unpacks: the test is of the record. */
	memcpy(blob + 512, "13 path=good\n", 13);
	err = crib_error_free(err);
	write_file(f->blob, blob, sizeof(blob));
	if (unpack(f, &err) < 0)
		fail_msg("%s", crib_error_msg(err));
	assert_contents(f->dest, "good", "");
}

/* Random bytes, a zip, a cpio and an empty file are not layers. */
static void test_unpack_not_tar(void **state)
{
	struct fixture *f = *state;
	/*
	 * Not ISO 9660: its 32 KiB of zeros read as an empty tar followed by junk, which tar
	 * readers (libarchive's, Go's) ignore after the end-of-archive blocks.
	 */
	const int formats[] = {ARCHIVE_FORMAT_ZIP, ARCHIVE_FORMAT_CPIO_SVR4_NOCRC,
	                       ARCHIVE_FORMAT_7ZIP};
	uint8_t noise[8192];
	uint32_t x = 777;

	for (size_t i = 0; i < sizeof(noise); i++) {
		x = x * 1664525u + 1013904223u;
		noise[i] = (uint8_t)(x >> 24);
	}
	for (size_t i = 0; i < ARRAY_SIZE(formats) + 2; i++) {
		_cleanup_(crib_error_freep) struct crib_error *err = NULL;
		int r;

		if (i < ARRAY_SIZE(formats))
			write_other_format(f->blob, formats[i]);
		else
			write_file(f->blob, noise, i == ARRAY_SIZE(formats) ? sizeof(noise) : 0);
		r = unpack(f, &err);
		if (r != -EBADMSG)
			fail_msg("input %zu: %d %s", i, r, crib_error_msg(err));
		assert_non_null(err);
		assert_non_null(strstr(crib_error_msg(err), f->blob));
		assert_failed_cleanly(f);
	}
}

/* Whiteouts become overlayfs' own: 0/0 character devices and the opaque xattr. */
static void test_unpack_whiteouts(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = {
	    {.name = ".wh.foo", .uid = 1234, .mode = 0600},
	    {.name = "dir/", .mode = S_IFDIR | 0755, .mtime = 5000},
	    {.name = "dir/.wh.bar"},
	    {.name = "dir2/", .mode = S_IFDIR | 0700},
	    {.name = "dir2/.wh..wh..opq"},
	    {.name = "dir2/kept", .data = "same layer"},
	    {.name = "missing/sub/.wh..wh..opq"},
	    {.name = "same", .data = "stays"},
	    {.name = ".wh.same"},
	    {.name = ".wh.later"},
	    {.name = "later", .data = "wins"},
	    {.name = ".wh..wh.plnk/", .mode = S_IFDIR | 0700},
	    {.name = ".wh..wh.plnk/1234.5", .data = "aufs"},
	    {.name = "ovl",
	     .data = "x",
	     .xname = {"trusted.overlay.opaque", "user.keep"},
	     .xvalue = {"y", "1"}},
	};
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *names = NULL, *dump = NULL;

	write_layer(f->blob, FILTER_ZSTD, ents, ARRAY_SIZE(ents));
	if (unpack(f, &err) < 0)
		fail_msg("%s", crib_error_msg(err));
	assert_node(f->dest, "foo", S_IFCHR, 0, 0);
	assert_node(f->dest, "dir/bar", S_IFCHR, 0, 0);
	assert_mtime(f->dest, "dir", 5000);
	assert_xattr(f->dest, "dir2", "trusted.overlay.opaque", "y");
	assert_contents(f->dest, "dir2/kept", "same layer");
	assert_node(f->dest, "missing", S_IFDIR | 0755, 0, 0);
	assert_node(f->dest, "missing/sub", S_IFDIR | 0755, 0, 0);
	assert_xattr(f->dest, "missing/sub", "trusted.overlay.opaque", "y");
	assert_no_xattr(f->dest, "missing", "trusted.overlay.opaque");
	assert_no_xattr(f->dest, ".", "trusted.overlay.opaque");
	assert_contents(f->dest, "same", "stays");
	assert_contents(f->dest, "later", "wins");
	/* A layer cannot forge overlayfs' xattrs on its files. */
	assert_no_xattr(f->dest, "ovl", "trusted.overlay.opaque");
	assert_xattr(f->dest, "ovl", "user.keep", "1");
	/* No whiteout entry or AUFS metadata is extracted as such. */
	names = list_dir(f->dest);
	assert_string_equal(names, "dir dir2 foo later missing ovl same");
	dump = dump_tree(f->dest);
	assert_null(strstr(dump, ".wh."));
}

/* A whiteout at the top of the layer makes the layer root itself opaque. */
static void test_unpack_opaque_root(void **state)
{
	struct fixture *f = *state;
	const struct ent ents[] = {{.name = "./.wh..wh..opq"}, {.name = "new", .data = "n"}};
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	write_layer(f->blob, FILTER_NONE, ents, ARRAY_SIZE(ents));
	if (unpack(f, &err) < 0)
		fail_msg("%s", crib_error_msg(err));
	assert_xattr(f->dest, ".", "trusted.overlay.opaque", "y");
	assert_contents(f->dest, "new", "n");
}

/* Without root's privileges, the error names what is missing, and DEST goes. */
static void test_unpack_unprivileged(void **state)
{
	struct fixture *f = *state;
	const struct {
		struct ent ent;
		const char *message;
	} tests[] = {
	    {{.name = "owned", .data = "x", .uid = 1234}, "Can't set user=1234"},
	    /* CAP_MKNOD before Linux 5.8, CAP_CHOWN after: the whiteout must be root's. */
	    {{.name = ".wh.gone"}, "(which needs CAP_"},
	    {{.name = ".wh..wh..opq"}, "trusted.overlay.opaque needs CAP_SYS_ADMIN"},
	};

	assert_int_equal(chmod(f->dir, 0777), 0);
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++) {
		pid_t pid;
		int status;

		write_layer(f->blob, FILTER_NONE, &tests[i].ent, 1);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct crib_error *err = NULL;
			int r;

			if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			    setresuid(65534, 65534, 65534) < 0)
				_exit(2);
			r = unpack(f, &err);
			if (r >= 0 || !err || !strstr(crib_error_msg(err), tests[i].message)) {
				fprintf(stderr, "unprivileged: %d %s\n", r, crib_error_msg(err));
				_exit(3);
			}
			_exit(access(f->dest, F_OK) == 0 ? 4 : 0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

static void unpack_to(const char *blob, const char *dest)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	if (crib_layer_unpack(blob, dest, &err) < 0)
		fail_msg("%s: %s", dest, crib_error_msg(err));
}

static void apply_to(const char *src, const char *dest)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	if (crib_layer_apply(src, dest, &err) < 0)
		fail_msg("%s: %s", src, crib_error_msg(err));
	assert_null(err);
}

/* Two layers stacked into a copy give what overlayfs would show. */
static void test_apply_stack(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *l1 = at(f->dir, "l1"), *l2 = at(f->dir, "l2");
	_cleanup_free_ char *copy = at(f->dir, "copy"), *dump = NULL, *outside = NULL;
	const struct ent lower[] = {
	    {.name = "etc/", .mode = S_IFDIR | 0755},
	    {.name = "etc/a", .data = "one"},
	    {.name = "etc/b", .data = "bee"},
	    {.name = "etc/h1", .mode = 0600, .data = "hard", .uid = 1234},
	    {.name = "etc/h2", .link = "etc/h1"},
	    {.name = "d/", .mode = S_IFDIR | 0755, .xname = {"user.lower"}, .xvalue = {"1"}},
	    {.name = "d/x", .data = "x1"},
	    {.name = "d/keep", .data = "k"},
	    {.name = "o/", .mode = S_IFDIR | 0755},
	    {.name = "o/old", .data = "old"},
	    {.name = "gone/", .mode = S_IFDIR | 0755},
	    {.name = "gone/deep/", .mode = S_IFDIR | 0755},
	    {.name = "gone/deep/f", .data = "f"},
	    {.name = "s", .mode = S_IFLNK | 0777, .data = f->outside},
	    {.name = "lib", .mode = S_IFLNK | 0777, .data = "usr/lib"},
	    {.name = "usr/", .mode = S_IFDIR | 0755},
	    {.name = "usr/lib/", .mode = S_IFDIR | 0755},
	    {.name = "usr/lib/z", .data = "z"},
	    {.name = "dev/", .mode = S_IFDIR | 0755},
	    {.name = "dev/null", .mode = S_IFCHR | 0666, .major = 1, .minor = 3},
	    {.name = "x.attr", .data = "x", .xname = {"user.k"}, .xvalue = {"v1"}},
	    {.name = "acl",
	     .mode = 0640,
	     .data = "acl",
	     .xname = {"system.posix_acl_access"},
	     .xvalue = {acl_value},
	     .xlen = {ACL_LEN}},
	};
	const struct ent upper[] = {
	    {.name = "etc/", .mode = S_IFDIR | 0750, .gid = 1234, .mtime = T2},
	    {.name = "etc/a", .mode = 0600, .data = "two", .uid = 42, .mtime = T2},
	    {.name = "etc/.wh.b"},
	    {.name = "d/",
	     .mode = S_IFDIR | 0755,
	     .mtime = T2,
	     .xname = {"user.upper"},
	     .xvalue = {"2"}},
	    {.name = "d/x", .data = "x2", .mtime = T2},
	    {.name = "o/", .mode = S_IFDIR | 0700, .mtime = T2},
	    {.name = "o/.wh..wh..opq"},
	    {.name = "o/new", .data = "new", .mtime = T2},
	    {.name = ".wh.gone"},
	    {.name = "s/", .mode = S_IFDIR | 0755, .mtime = T2},
	    {.name = "s/evil", .data = "evil", .mtime = T2},
	    {.name = "lib/", .mode = S_IFDIR | 0755, .mtime = T2},
	    {.name = "lib/own", .data = "own", .mtime = T2},
	    {.name = "y.attr", .data = "y", .mtime = T2, .xname = {"user.n"}, .xvalue = {"1"}},
	};
	/* The ACL is a system.posix_acl_access xattr, which dump_tree leaves out of the line. */
	const char *expected = "acl -0640 0:0 1000000000 \"acl\"\n"
	                       "d d0755 0:0 2000000000 user.upper=2\n"
	                       "d/keep -0644 0:0 1000000000 \"k\"\n"
	                       "d/x -0644 0:0 2000000000 \"x2\"\n"
	                       "dev d0755 0:0 1000000000\n"
	                       "dev/null c0666 0:0 1000000000 1,3\n"
	                       "etc d0750 0:1234 2000000000\n"
	                       "etc/a -0600 42:0 2000000000 \"two\"\n"
	                       "etc/h1 -0600 1234:0 1000000000 \"hard\" links=2\n"
	                       "etc/h2 -0600 1234:0 1000000000 \"hard\" links=2\n"
	                       "lib d0755 0:0 2000000000\n"
	                       "lib/own -0644 0:0 2000000000 \"own\"\n"
	                       "o d0700 0:0 2000000000\n"
	                       "o/new -0644 0:0 2000000000 \"new\"\n"
	                       "s d0755 0:0 2000000000\n"
	                       "s/evil -0644 0:0 2000000000 \"evil\"\n"
	                       "usr d0755 0:0 1000000000\n"
	                       "usr/lib d0755 0:0 1000000000\n"
	                       "usr/lib/z -0644 0:0 1000000000 \"z\"\n"
	                       "x.attr -0644 0:0 1000000000 \"x\" user.k=v1\n"
	                       "y.attr -0644 0:0 2000000000 \"y\" user.n=1\n";

	write_layer(f->blob, FILTER_GZIP, lower, ARRAY_SIZE(lower));
	unpack_to(f->blob, l1);
	write_layer(f->blob, FILTER_ZSTD, upper, ARRAY_SIZE(upper));
	unpack_to(f->blob, l2);
	assert_int_equal(mkdir(copy, 0755), 0);

	apply_to(l1, copy);
	/* SRC's symlinks are copied as symlinks, never followed. */
	assert_symlink(copy, "s", f->outside);
	assert_symlink(copy, "lib", "usr/lib");
	assert_same_inode(copy, "etc/h1", "etc/h2", 2);

	apply_to(l2, copy);
	assert_acl(copy, "acl");
	dump = dump_tree(copy);
	assert_string_equal(dump, expected);
	/* DEST's symlinks are replaced, never written through. */
	outside = list_dir(f->outside);
	assert_string_equal(outside, "canary");
	/* The layers themselves are unchanged by being applied. */
	assert_node(l2, "etc/b", S_IFCHR, 0, 0);
	assert_xattr(l2, "o", "trusted.overlay.opaque", "y");
	assert_same_inode(l1, "etc/h1", "etc/h2", 2);
}

/* An opaque layer root replaces everything below it. */
static void test_apply_opaque_root(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *l1 = at(f->dir, "l1"), *l2 = at(f->dir, "l2");
	_cleanup_free_ char *copy = at(f->dir, "copy"), *names = NULL;
	const struct ent lower[] = {{.name = "a", .data = "a"},
	                            {.name = "b/", .mode = S_IFDIR | 0755}};
	const struct ent upper[] = {{.name = ".wh..wh..opq"}, {.name = "c", .data = "c"}};

	write_layer(f->blob, FILTER_NONE, lower, ARRAY_SIZE(lower));
	unpack_to(f->blob, l1);
	write_layer(f->blob, FILTER_NONE, upper, ARRAY_SIZE(upper));
	unpack_to(f->blob, l2);
	assert_int_equal(mkdir(copy, 0755), 0);
	apply_to(l1, copy);
	apply_to(l2, copy);
	names = list_dir(copy);
	assert_string_equal(names, "c");
	assert_no_xattr(copy, ".", "trusted.overlay.opaque");
}

static void test_apply_errors(void **state)
{
	struct fixture *f = *state;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *missing = at(f->dir, "missing");
	_cleanup_free_ char *canary = at(f->outside, "canary");

	assert_int_equal(crib_layer_apply(f->outside, missing, &err), -ENOENT);
	assert_non_null(strstr(crib_error_msg(err), "missing"));
	err = crib_error_free(err);
	assert_int_equal(crib_layer_apply(missing, f->outside, &err), -ENOENT);
	err = crib_error_free(err);
	assert_int_equal(crib_layer_apply(canary, f->outside, &err), -ENOTDIR);
	err = crib_error_free(err);
	assert_int_equal(crib_layer_apply(f->outside, canary, NULL), -ENOTDIR);
}

int main(void)
{
	const struct CMUnitTest any_user[] = {
	    cmocka_unit_test_setup_teardown(test_unpack_formats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_utf8_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_replaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_dest_exists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_truncated_gzip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_not_tar, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_malformed_pax, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_errors, setup, teardown),
	};
	const struct CMUnitTest root_only[] = {
	    cmocka_unit_test_setup_teardown(test_unpack_tree, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_whiteouts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_opaque_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_unprivileged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_stack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_opaque_root, setup, teardown),
	};
	int failed = cmocka_run_group_tests_name("layer", any_user, NULL, NULL);

	if (geteuid() != 0) {
		fprintf(stderr, "Not root: skipping the tests of owners, devices and whiteouts\n");
		return failed ? 1 : 77;
	}
	return failed + cmocka_run_group_tests_name("layer (root)", root_only, NULL, NULL);
}
