/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <crib/backend.h>

#include "oci.h"
#include "user.h"
#include "util.h"

/* setgroups(2) refuses more; so does every runtime. */
#define GROUPS_MAX 65536

/* A file of the image, NUL-terminated (it may hold NULs too); "" when the image has none. */
struct id_file {
	char *data;
	size_t len;
};

/* One line of /etc/passwd or /etc/group: its first four colon-separated fields. */
struct id_line {
	const char *f[4];
	size_t len[4];
	size_t n;
};

/* An /etc/passwd entry; name points into the file. */
struct pw_entry {
	const char *name;
	size_t name_len;
	uint32_t uid;
	uint32_t gid;
};

static void id_file_clear(struct id_file *f)
{
	free(f->data);
	*f = (struct id_file){0};
}

/* Resolves DIR/NAME with symbolic links confined to ROOTFD, as if ROOTFD were "/". */
static int open_path_in_root(int rootfd, const char *dir, const char *name)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int dirfd = -EBADF;
	char path[PATH_MAX];
	long fd;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS && errno != EPERM)
		return -errno;

	/*
	 * No openat2 (Linux < 5.6, or a seccomp filter around cribd): refuse
	 * every symbolic link on the way instead, which can only be too strict.
	 */
	dirfd = openat(rootfd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOTDIR ? -ELOOP : -errno;
	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

static int read_bounded(int fd, struct id_file *ret)
{
	/* One byte over the limit tells a file that is too long from one that fits. */
	int r = crib_read_fd(fd, OCI_USER_FILE_MAX + 1, &ret->data, &ret->len);

	if (r < 0)
		return r;
	if (ret->len > OCI_USER_FILE_MAX) {
		free(ret->data);
		*ret = (struct id_file){0};
		return -E2BIG;
	}
	return 0;
}

/*
 * Reads etc/NAME of the image.  It is opened as a path first and read only
 * once it proved to be a regular file: opening a device node an image ships
 * could have effects on the host.
 */
static int read_etc_file(int rootfd, const char *name, struct id_file *ret)
{
	_cleanup_close_ int pathfd = -EBADF;
	_cleanup_close_ int fd = -EBADF;
	char proc[64];
	struct stat st;

	pathfd = open_path_in_root(rootfd, "etc", name);
	if (pathfd == -ENOENT || pathfd == -ENOTDIR) {
		/* Absent: an empty file, so that lookups need no special case. */
		ret->data = crib_xstrdup("");
		ret->len = 0;
		return 0;
	}
	if (pathfd < 0)
		return pathfd;
	if (fstat(pathfd, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return read_bounded(fd, ret);
}

static int load_etc_file(const struct crib_host *host, int rootfd, const char *name,
                         struct id_file *ret, struct crib_error **reterr)
{
	int r = read_etc_file(rootfd, name, ret);

	if (r == -E2BIG)
		return host->error_set(reterr, E2BIG, "The image's /etc/%s is larger than %d bytes",
		                       name, OCI_USER_FILE_MAX);
	if (r == -EINVAL)
		return host->error_set(reterr, EINVAL, "The image's /etc/%s is not a regular file",
		                       name);
	if (r < 0)
		return host->error_set(reterr, -r, "Failed to read the image's /etc/%s: %s", name,
		                       strerror(-r));
	return 0;
}

/* Splits the line at P; returns where the next one starts. */
static const char *next_line(const char *p, const char *end, struct id_line *ret)
{
	const char *eol = memchr(p, '\n', (size_t)(end - p));

	if (!eol)
		eol = end;
	ret->n = 0;
	while (ret->n < ARRAY_SIZE(ret->f)) {
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		const char *field_end = colon ? colon : eol;

		ret->f[ret->n] = p;
		ret->len[ret->n] = (size_t)(field_end - p);
		ret->n++;
		if (!colon)
			break;
		p = colon + 1;
	}
	return eol < end ? eol + 1 : end;
}

/* A decimal id below 2^32 - 1 ((uid_t)-1 means "no change" to the kernel). */
static bool parse_id(const char *s, size_t len, uint32_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

static bool field_is(const struct id_line *l, size_t i, const char *s, size_t len)
{
	return l->len[i] == len && memcmp(l->f[i], s, len) == 0;
}

/* The first entry named NAME (when not NULL) or else with uid UID, as getpwnam/getpwuid. */
static bool passwd_find(const struct id_file *f, const char *name, size_t name_len, uint32_t uid,
                        struct pw_entry *ret)
{
	const char *end = f->data + f->len;
	struct id_line l;

	for (const char *p = f->data; p < end;) {
		struct pw_entry e;

		p = next_line(p, end, &l);
		if (l.n < 4 || !parse_id(l.f[2], l.len[2], &e.uid) ||
		    !parse_id(l.f[3], l.len[3], &e.gid))
			continue;
		if (name ? !field_is(&l, 0, name, name_len) : e.uid != uid)
			continue;
		e.name = l.f[0];
		e.name_len = l.len[0];
		*ret = e;
		return true;
	}
	return false;
}

static bool group_find(const struct id_file *f, const char *name, size_t name_len,
                       uint32_t *ret_gid)
{
	const char *end = f->data + f->len;
	struct id_line l;

	for (const char *p = f->data; p < end;) {
		p = next_line(p, end, &l);
		if (l.n >= 3 && field_is(&l, 0, name, name_len) &&
		    parse_id(l.f[2], l.len[2], ret_gid))
			return true;
	}
	return false;
}

static bool list_contains(const char *list, size_t len, const char *name, size_t name_len)
{
	const char *end = list + len;

	while (list < end) {
		const char *comma = memchr(list, ',', (size_t)(end - list));
		const char *item_end = comma ? comma : end;

		if ((size_t)(item_end - list) == name_len && memcmp(list, name, name_len) == 0)
			return true;
		list = item_end + 1;
	}
	return false;
}

/* A growing list of gids, capped at GROUPS_MAX entries. */
struct gid_list {
	uint32_t *v;
	size_t n;
	size_t cap;
};

static int gid_list_add(struct gid_list *l, uint32_t gid)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		uint32_t *v;

		if (l->n >= GROUPS_MAX)
			return -E2BIG;
		v = reallocarray(l->v, cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = gid;
	return 0;
}

/* Adds the gid of every group of F that lists NAME as a member. */
static int add_memberships(struct gid_list *l, const struct id_file *f, const char *name,
                           size_t name_len)
{
	const char *end = f->data + f->len;
	struct id_line l_;
	uint32_t gid;
	int r;

	for (const char *p = f->data; p < end;) {
		p = next_line(p, end, &l_);
		if (l_.n < 4 || !parse_id(l_.f[2], l_.len[2], &gid) ||
		    !list_contains(l_.f[3], l_.len[3], name, name_len))
			continue;
		r = gid_list_add(l, gid);
		if (r < 0)
			return r;
	}
	return 0;
}

struct gid_pos {
	uint32_t gid;
	size_t pos;
};

static int cmp_gid_pos(const void *a, const void *b)
{
	const struct gid_pos *x = a, *y = b;

	if (x->gid != y->gid)
		return x->gid < y->gid ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * Drops repeated gids, keeping each first occurrence in place.  Sorting a
 * copy keeps this O(n log n) for an image whose /etc/group is all repeats.
 */
static int gid_list_dedup(struct gid_list *l)
{
	_cleanup_free_ struct gid_pos *s = NULL;
	_cleanup_free_ bool *keep = NULL;
	size_t n = 0;

	if (l->n < 2)
		return 0;
	s = calloc(l->n, sizeof(*s));
	keep = calloc(l->n, sizeof(*keep));
	if (!s || !keep)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		s[i] = (struct gid_pos){.gid = l->v[i], .pos = i};
	qsort(s, l->n, sizeof(*s), cmp_gid_pos);
	for (size_t i = 0; i < l->n; i++)
		keep[s[i].pos] = i == 0 || s[i].gid != s[i - 1].gid;
	for (size_t i = 0; i < l->n; i++)
		if (keep[i])
			l->v[n++] = l->v[i];
	l->n = n;
	return 0;
}

/* The resolution state: the image's two files and what USER named. */
struct resolver {
	const struct crib_host *host;
	const struct oci_user_request *req;
	struct crib_error **reterr;
	struct id_file passwd;
	struct id_file group;
};

static int not_found(struct resolver *rs, const char *what, const char *file)
{
	return rs->host->error_set(rs->reterr, EINVAL, "%s '%s': no such %s in the image's /etc/%s",
	                           rs->req->field, rs->req->user, what, file);
}

/*
 * The user part of USER: sets uid, gid and the name used for memberships
 * (NULL when the image does not know the uid).
 */
static int resolve_user_part(struct resolver *rs, const char *s, size_t len, struct oci_user *u,
                             struct pw_entry *ret_entry, bool *ret_found)
{
	bool numeric = parse_id(s, len, &u->uid);

	*ret_found = passwd_find(&rs->passwd, numeric ? NULL : s, len, u->uid, ret_entry);
	if (*ret_found) {
		u->uid = ret_entry->uid;
		u->gid = ret_entry->gid;
		return 0;
	}
	/* An unknown uid runs with gid 0, as in Docker and containerd. */
	if (numeric) {
		u->gid = 0;
		return 0;
	}
	return not_found(rs, "user", "passwd");
}

static int resolve_group_part(struct resolver *rs, const char *s, struct oci_user *u)
{
	if (parse_id(s, strlen(s), &u->gid))
		return 0;
	if (*s && group_find(&rs->group, s, strlen(s), &u->gid))
		return 0;
	return not_found(rs, "group", "group");
}

static int collect_gids(struct resolver *rs, const struct oci_user *u, const struct pw_entry *pw,
                        bool found, struct gid_list *l)
{
	int r = gid_list_add(l, u->gid);

	if (r >= 0 && found && !rs->req->strict)
		r = add_memberships(l, &rs->group, pw->name, pw->name_len);
	for (size_t i = 0; r >= 0 && i < rs->req->n_supplemental_groups; i++)
		r = gid_list_add(l, rs->req->supplemental_groups[i]);
	if (r >= 0)
		r = gid_list_dedup(l);
	if (r == -E2BIG)
		return rs->host->error_set(rs->reterr, E2BIG, "%s '%s': more than %d groups",
		                           rs->req->field, rs->req->user, GROUPS_MAX);
	if (r < 0)
		return rs->host->error_set(rs->reterr, -r, "Out of memory");
	return 0;
}

static int resolve(struct resolver *rs, struct oci_user *ret)
{
	const char *spec = isempty(rs->req->user) ? "0" : rs->req->user;
	const char *colon = strchr(spec, ':');
	size_t user_len = colon ? (size_t)(colon - spec) : strlen(spec);
	struct gid_list gids = {0};
	struct oci_user u = {0};
	struct pw_entry pw = {0};
	bool found;
	int r;

	if (user_len == 0)
		return rs->host->error_set(rs->reterr, EINVAL,
		                           "%s '%s': not a user, uid, user:group or uid:gid",
		                           rs->req->field, spec);
	r = resolve_user_part(rs, spec, user_len, &u, &pw, &found);
	if (r >= 0 && colon)
		r = resolve_group_part(rs, colon + 1, &u);
	if (r < 0)
		return r;
	if (rs->req->has_gid)
		u.gid = rs->req->gid;
	r = collect_gids(rs, &u, &pw, found, &gids);
	if (r < 0) {
		free(gids.v);
		return r;
	}
	u.additional_gids = gids.v;
	u.n_additional_gids = gids.n;
	*ret = u;
	return 0;
}

/* Loads the image's two files; ROOTFS NULL stands for a root without them. */
static int load_files(struct resolver *rs, const char *rootfs)
{
	_cleanup_close_ int rootfd = -EBADF;
	int r;

	if (!rootfs) {
		rs->passwd.data = crib_xstrdup("");
		rs->group.data = crib_xstrdup("");
		return 0;
	}
	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return rs->host->error_set(rs->reterr, errno,
		                           "Failed to open the root filesystem '%s': %s", rootfs,
		                           strerror(errno));
	r = load_etc_file(rs->host, rootfd, "passwd", &rs->passwd, rs->reterr);
	if (r >= 0)
		r = load_etc_file(rs->host, rootfd, "group", &rs->group, rs->reterr);
	return r;
}

int oci_user_resolve(const struct crib_host *host, const char *rootfs,
                     const struct oci_user_request *req, struct oci_user *ret,
                     struct crib_error **reterr)
{
	struct resolver rs = {.host = host, .req = req, .reterr = reterr};
	int r = load_files(&rs, rootfs);

	if (r >= 0)
		r = resolve(&rs, ret);
	id_file_clear(&rs.passwd);
	id_file_clear(&rs.group);
	return r;
}

void oci_user_clear(struct oci_user *u)
{
	free(u->additional_gids);
	*u = (struct oci_user){0};
}
