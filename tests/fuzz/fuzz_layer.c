/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes layer unpacking: the input is a layer blob, unpacked into a fresh directory beside a
 * canary file.  Besides not crashing or leaking, unpacking must keep its contract: nothing
 * outside DEST changes (the canary keeps its inode, ctime and contents; the directory holding
 * both gains no other name and keeps its mode and owner; the one above does not change at
 * all), a failure sets an error with the code returned and leaves no DEST, and a success
 * leaves a DEST that crib_layer_apply can copy (into a second directory, under the same watch).
 *
 * The work directory is made once per process.  Escapes that need no absolute name (symlinks
 * to "..", hard links through them) reach it from any layer, so the seeds include them.
 * Files are capped at 64 MiB: a few kilobytes of zstd can describe gigabytes of zeros.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fuzz.h"
#include "layer.h"
#include "util.h"

#define CANARY     "canary: must not change\n"
#define FILE_LIMIT (64u << 20)

struct work {
	char dir[64]; /* holds blob and parent */
	char *blob;   /* the input */
	char *parent; /* holds canary, dest and copy */
	char *canary;
	char *dest;
	char *copy;
	struct stat canary_st, dir_st, parent_st;
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int rm_tree(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static struct work *work_dir;

static void work_cleanup(void)
{
	if (work_dir)
		(void)rm_tree(work_dir->dir);
}

static void write_all(const char *path, const uint8_t *data, size_t size)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_CHECK(fd >= 0);
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		FUZZ_CHECK(n > 0);
		data += n;
		size -= (size_t)n;
	}
}

static struct work *work_get(void)
{
	struct rlimit rl = {.rlim_cur = FILE_LIMIT, .rlim_max = FILE_LIMIT};
	struct work *w;

	if (work_dir)
		return work_dir;
	w = crib_xcalloc(1, sizeof(*w));
	(void)snprintf(w->dir, sizeof(w->dir), "/tmp/crib-fuzz-layer-XXXXXX");
	FUZZ_CHECK(mkdtemp(w->dir));
	w->blob = crib_xasprintf("%s/blob", w->dir);
	w->parent = crib_xasprintf("%s/parent", w->dir);
	w->canary = crib_xasprintf("%s/canary", w->parent);
	w->dest = crib_xasprintf("%s/dest", w->parent);
	w->copy = crib_xasprintf("%s/copy", w->parent);
	FUZZ_CHECK(mkdir(w->parent, 0755) == 0);
	write_all(w->canary, (const uint8_t *)CANARY, strlen(CANARY));
	write_all(w->blob, (const uint8_t *)"", 0);
	FUZZ_CHECK(lstat(w->canary, &w->canary_st) == 0);
	FUZZ_CHECK(lstat(w->dir, &w->dir_st) == 0);
	FUZZ_CHECK(lstat(w->parent, &w->parent_st) == 0);
	/* Past the limit write() fails with EFBIG instead of killing the process. */
	(void)signal(SIGXFSZ, SIG_IGN);
	FUZZ_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
	work_dir = w;
	FUZZ_CHECK(atexit(work_cleanup) == 0);
	return w;
}

/* The names in DIR other than "." and "..", sorted, space-separated. */
static char *names(const char *dir)
{
	struct dirent **list = NULL;
	char *out = crib_xstrdup("");
	int n = scandir(dir, &list, NULL, alphasort);

	FUZZ_CHECK(n >= 0);
	for (int i = 0; i < n; i++) {
		if (!streq(list[i]->d_name, ".") && !streq(list[i]->d_name, "..")) {
			char *next =
			    crib_xasprintf("%s%s%s", out, *out ? " " : "", list[i]->d_name);

			free(out);
			out = next;
		}
		free(list[i]);
	}
	free(list);
	return out;
}

static void check_outside(const struct work *w, const char *expected)
{
	_cleanup_free_ char *top = names(w->dir);
	_cleanup_free_ char *inside = names(w->parent);
	_cleanup_close_ int fd = -EBADF;
	char buf[sizeof(CANARY) + 1];
	struct stat st;
	ssize_t n;

	FUZZ_CHECK(streq(top, "blob parent"));
	/* Nothing is created in or removed from the top either: its ctime is fixed too. */
	FUZZ_CHECK(lstat(w->dir, &st) == 0);
	FUZZ_CHECK(st.st_ctim.tv_sec == w->dir_st.st_ctim.tv_sec &&
	           st.st_ctim.tv_nsec == w->dir_st.st_ctim.tv_nsec);
	/* The parent gains and loses DEST, but keeps its mode, owner and xattrs. */
	FUZZ_CHECK(lstat(w->parent, &st) == 0);
	FUZZ_CHECK(st.st_mode == w->parent_st.st_mode && st.st_uid == w->parent_st.st_uid &&
	           st.st_gid == w->parent_st.st_gid);
	if (!streq(inside, expected))
		fprintf(stderr, "parent holds '%s', expected '%s'\n",
		        inside ? inside : "(unreadable)", expected);
	FUZZ_CHECK(streq(inside, expected));
	FUZZ_CHECK(lstat(w->canary, &st) == 0);
	FUZZ_CHECK(st.st_ino == w->canary_st.st_ino && st.st_dev == w->canary_st.st_dev);
	FUZZ_CHECK(st.st_nlink == 1 && st.st_mode == w->canary_st.st_mode);
	FUZZ_CHECK(st.st_uid == w->canary_st.st_uid && st.st_gid == w->canary_st.st_gid);
	FUZZ_CHECK(st.st_size == (off_t)strlen(CANARY));
	/* The ctime catches any change of metadata: mode, owner, times, links, xattrs. */
	FUZZ_CHECK(st.st_ctim.tv_sec == w->canary_st.st_ctim.tv_sec &&
	           st.st_ctim.tv_nsec == w->canary_st.st_ctim.tv_nsec);
	fd = open(w->canary, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	FUZZ_CHECK(n == (ssize_t)strlen(CANARY) && memcmp(buf, CANARY, (size_t)n) == 0);
}

static void check_error(int r, const struct crib_error *err)
{
	FUZZ_CHECK(r < 0 && err && err->errnum == -r);
	FUZZ_CHECK(err->msg && err->msg[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	struct work *w = work_get();
	struct stat st;
	int r;

	write_all(w->blob, data, size);
	r = crib_layer_unpack(w->blob, w->dest, &err);
	if (r < 0) {
		check_error(r, err);
		FUZZ_CHECK(lstat(w->dest, &st) < 0 && errno == ENOENT);
		check_outside(w, "canary");
		return 0;
	}
	FUZZ_CHECK(r == 0 && !err);
	FUZZ_CHECK(lstat(w->dest, &st) == 0 && S_ISDIR(st.st_mode));
	check_outside(w, "canary dest");

	/* Whatever unpacking accepted, applying copies: same privileges, same filesystem. */
	FUZZ_CHECK(mkdir(w->copy, 0755) == 0);
	r = crib_layer_apply(w->dest, w->copy, &err);
	if (r < 0) {
		check_error(r, err);
		/* Without root, a file of mode 0 that unpacked cannot be read back. */
		if (geteuid() == 0)
			fprintf(stderr, "apply failed: %s\n", crib_error_msg(err));
		FUZZ_CHECK(geteuid() != 0);
	}
	check_outside(w, "canary copy dest");

	FUZZ_CHECK(rm_tree(w->dest) == 0);
	FUZZ_CHECK(rm_tree(w->copy) == 0);
	return 0;
}
