/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content.h"
#include "error.h"
#include "util.h"

/* A digest or key some thread is working on. */
struct busy {
	struct busy *next;
	char *key;
};

struct crib_content {
	char *root;
	char *blobs;
	char *ingest;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct busy *busy;
};

struct crib_ingest {
	struct crib_content *cs;
	char digest[CRIB_DIGEST_LEN + 1];
	int64_t size;
	char *tmp;
	int fd;
	uint64_t offset;
	struct crib_sha256 *hash;
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

int crib_content_open(const char *root, struct crib_content **ret, struct crib_error **reterr)
{
	struct crib_content *cs = crib_xcalloc(1, sizeof(*cs));
	int r;

	cs->root = crib_xstrdup(root);
	cs->blobs = crib_xasprintf("%s/blobs/sha256", root);
	cs->ingest = crib_xasprintf("%s/ingest", root);
	(void)pthread_mutex_init(&cs->lock, NULL);
	(void)pthread_cond_init(&cs->cond, NULL);
	/* Staging files a crash left behind are partial downloads: never visible, now gone. */
	(void)nftw(cs->ingest, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	r = crib_mkdir_p(cs->blobs, 0700);
	if (r == 0)
		r = crib_mkdir_p(cs->ingest, 0700);
	if (r < 0) {
		(void)crib_error_set(reterr, -r, "Failed to create the content store in '%s': %s",
		                     root, strerror(-r));
		crib_content_close(cs);
		return r;
	}
	*ret = cs;
	return 0;
}

void crib_content_close(struct crib_content *cs)
{
	if (!cs)
		return;
	while (cs->busy) {
		struct busy *b = cs->busy;

		cs->busy = b->next;
		free(b->key);
		free(b);
	}
	pthread_mutex_destroy(&cs->lock);
	pthread_cond_destroy(&cs->cond);
	free(cs->root);
	free(cs->blobs);
	free(cs->ingest);
	free(cs);
}

const char *crib_content_root(const struct crib_content *cs)
{
	return cs->root;
}

char *crib_content_path(const struct crib_content *cs, const char *digest)
{
	return crib_xasprintf("%s/%s", cs->blobs, digest + 7);
}

bool crib_content_has(const struct crib_content *cs, const char *digest)
{
	_cleanup_free_ char *p = NULL;

	if (!crib_digest_valid(digest))
		return false;
	p = crib_content_path(cs, digest);
	return access(p, F_OK) == 0;
}

int64_t crib_content_size(const struct crib_content *cs, const char *digest)
{
	_cleanup_free_ char *p = crib_content_path(cs, digest);
	struct stat st;

	if (stat(p, &st) < 0)
		return -errno;
	return st.st_size;
}

/* Lock held. */
static struct busy **find_busy(struct crib_content *cs, const char *key)
{
	struct busy **b = &cs->busy;

	while (*b && !streq((*b)->key, key))
		b = &(*b)->next;
	return b;
}

/* Lock held: waits until nobody works on KEY, then marks it ours. */
static void claim_locked(struct crib_content *cs, const char *key)
{
	struct busy *b;

	while (*find_busy(cs, key))
		pthread_cond_wait(&cs->cond, &cs->lock);
	b = crib_xcalloc(1, sizeof(*b));
	b->key = crib_xstrdup(key);
	b->next = cs->busy;
	cs->busy = b;
}

void crib_content_claim(struct crib_content *cs, const char *key)
{
	pthread_mutex_lock(&cs->lock);
	claim_locked(cs, key);
	pthread_mutex_unlock(&cs->lock);
}

void crib_content_release(struct crib_content *cs, const char *key)
{
	struct busy **b, *gone;

	pthread_mutex_lock(&cs->lock);
	b = find_busy(cs, key);
	gone = *b;
	if (gone) {
		*b = gone->next;
		free(gone->key);
		free(gone);
	}
	pthread_cond_broadcast(&cs->cond);
	pthread_mutex_unlock(&cs->lock);
}

int crib_content_ingest(struct crib_content *cs, const char *digest, int64_t size,
                        struct crib_ingest **ret, struct crib_error **reterr)
{
	struct crib_ingest *in;
	char rnd[CRIB_ID_LEN + 1];
	int r;

	if (!crib_digest_valid(digest))
		return crib_error_set(reterr, EINVAL, "'%s' is not a sha256 digest", digest);
	pthread_mutex_lock(&cs->lock);
	if (crib_content_has(cs, digest)) {
		pthread_mutex_unlock(&cs->lock);
		return 1;
	}
	claim_locked(cs, digest);
	/* Somebody may have written it while we waited. */
	if (crib_content_has(cs, digest)) {
		pthread_mutex_unlock(&cs->lock);
		crib_content_release(cs, digest);
		return 1;
	}
	pthread_mutex_unlock(&cs->lock);

	r = crib_new_id(rnd);
	in = crib_xcalloc(1, sizeof(*in));
	in->cs = cs;
	in->size = size;
	(void)snprintf(in->digest, sizeof(in->digest), "%s", digest);
	in->tmp = crib_xasprintf("%s/%.16s-%.16s", cs->ingest, digest + 7, r == 0 ? rnd : "x");
	in->fd = open(in->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	in->hash = crib_sha256_new();
	if (in->fd < 0 || !in->hash) {
		r = -(in->fd < 0 ? errno : ENOMEM);
		crib_ingest_abort(in);
		return crib_error_set(reterr, -r, "Failed to stage blob %s: %s", digest,
		                      strerror(-r));
	}
	*ret = in;
	return 0;
}

int crib_ingest_write(struct crib_ingest *in, const void *buf, size_t len,
                      struct crib_error **reterr)
{
	const char *p = buf;

	if (in->size >= 0 && in->offset + len > (uint64_t)in->size)
		return crib_error_set(reterr, EBADMSG,
		                      "Blob %s is larger than the %lld bytes its descriptor says",
		                      in->digest, (long long)in->size);
	crib_sha256_update(in->hash, buf, len);
	while (len > 0) {
		ssize_t n = write(in->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return crib_error_set(reterr, errno, "Failed to write blob %s: %s",
			                      in->digest, strerror(errno));
		}
		p += n;
		len -= (size_t)n;
		in->offset += (uint64_t)n;
	}
	return 0;
}

uint64_t crib_ingest_offset(const struct crib_ingest *in)
{
	return in->offset;
}

void crib_ingest_abort(struct crib_ingest *in)
{
	if (!in)
		return;
	if (in->fd >= 0)
		(void)close(in->fd);
	if (in->tmp)
		(void)unlink(in->tmp);
	crib_sha256_free(in->hash);
	crib_content_release(in->cs, in->digest);
	free(in->tmp);
	free(in);
}

int crib_ingest_commit(struct crib_ingest *in, struct crib_error **reterr)
{
	char got[CRIB_DIGEST_LEN + 1];
	_cleanup_free_ char *path = NULL;
	int r = 0;

	crib_sha256_final(in->hash, got);
	in->hash = NULL;
	if (in->size >= 0 && in->offset != (uint64_t)in->size)
		r = crib_error_set(reterr, EBADMSG,
		                   "Blob %s has %llu bytes, but its descriptor says %lld",
		                   in->digest, (unsigned long long)in->offset, (long long)in->size);
	else if (!streq(got, in->digest))
		r = crib_error_set(reterr, EBADMSG,
		                   "Blob %s does not match its digest (its content hashes to %s)",
		                   in->digest, got);
	else if (fsync(in->fd) < 0)
		r = crib_error_set(reterr, errno, "Failed to sync blob %s: %s", in->digest,
		                   strerror(errno));
	if (r == 0) {
		path = crib_content_path(in->cs, in->digest);
		if (rename(in->tmp, path) < 0)
			r = crib_error_set(reterr, errno, "Failed to store blob %s: %s", in->digest,
			                   strerror(errno));
		else
			crib_strreplace(&in->tmp, NULL);
	}
	crib_ingest_abort(in);
	return r;
}

int crib_content_put(struct crib_content *cs, const char *digest, const void *data, size_t len,
                     struct crib_error **reterr)
{
	struct crib_ingest *in = NULL;
	int r = crib_content_ingest(cs, digest, (int64_t)len, &in, reterr);

	if (r != 0)
		return r < 0 ? r : 0;
	r = crib_ingest_write(in, data, len, reterr);
	if (r < 0) {
		crib_ingest_abort(in);
		return r;
	}
	return crib_ingest_commit(in, reterr);
}

int crib_content_read(const struct crib_content *cs, const char *digest, size_t max, char **ret,
                      size_t *ret_len, struct crib_error **reterr)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	char got[CRIB_DIGEST_LEN + 1];
	struct stat st;
	char *buf;
	size_t off = 0;

	if (!crib_digest_valid(digest))
		return crib_error_set(reterr, EINVAL, "'%s' is not a sha256 digest", digest);
	path = crib_content_path(cs, digest);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return crib_error_set(reterr, errno, "Blob %s is not in the store: %s", digest,
		                      strerror(errno));
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > max)
		return crib_error_set(reterr, E2BIG, "Blob %s is larger than %zu bytes", digest,
		                      max);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return crib_error_set(reterr, ENOMEM, "Out of memory reading blob %s", digest);
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			free(buf);
			return crib_error_set(reterr, n < 0 ? errno : EIO, "Failed to read blob %s",
			                      digest);
		}
		off += (size_t)n;
	}
	buf[off] = '\0';
	crib_sha256_data(buf, off, got);
	if (!streq(got, digest)) {
		free(buf);
		return crib_error_set(reterr, EBADMSG, "Blob %s is corrupt on disk (hashes to %s)",
		                      digest, got);
	}
	*ret = buf;
	*ret_len = off;
	return 0;
}

int crib_content_delete(struct crib_content *cs, const char *digest)
{
	_cleanup_free_ char *path = NULL;

	if (!crib_digest_valid(digest))
		return -EINVAL;
	path = crib_content_path(cs, digest);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int crib_content_walk(const struct crib_content *cs, int (*cb)(const char *digest, void *user),
                      void *user)
{
	DIR *dh = opendir(cs->blobs);
	struct dirent *de;
	int r = 0;

	if (!dh)
		return -errno;
	while (r >= 0 && (de = readdir(dh))) {
		char digest[CRIB_DIGEST_LEN + 1];

		if (strlen(de->d_name) != CRIB_DIGEST_LEN - 7)
			continue;
		memcpy(digest, "sha256:", 7);
		memcpy(digest + 7, de->d_name, CRIB_DIGEST_LEN - 7 + 1);
		if (crib_digest_valid(digest))
			r = cb(digest, user);
	}
	closedir(dh);
	return r;
}
