/* SPDX-License-Identifier: Apache-2.0 */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "oci.h"
#include "util.h"

#define READ_MAX ((size_t)1 << 20)

char *oci_dir(const struct oci_state *st, const char *kind, const char *id)
{
	return crib_xasprintf("%s/%s/%s", st->host->run_dir, kind, id);
}

char *oci_pod_ns(const struct oci_state *st, const char *pod_id, const char *ns)
{
	return crib_xasprintf("%s/ns/%s.%s", st->host->run_dir, pod_id, ns);
}

int oci_write_file(const char *dir, const char *name, const char *text, size_t len)
{
	_cleanup_free_ char *tmp = crib_xasprintf("%s/.%s.tmp", dir, name);
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	/* Readers (the shim, a restarted cribd) never see half a file. */
	if (rename(tmp, path) < 0)
		return -errno;
	return 0;
}

int oci_read_file(const char *dir, const char *name, char **ret)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len;

	if (fd < 0)
		return -errno;
	return crib_read_fd(fd, READ_MAX, ret, &len);
}

int oci_write_config(const struct crib_host *host, const struct oci_class *cls, const char *dir,
                     json_t *spec, struct crib_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	int r;

	if (!cls->infra) {
		json_t *a = json_object_get(spec, "annotations");

		json_object_del(a, "io.kubernetes.cri.container-type");
		json_object_del(a, "io.kubernetes.cri.sandbox-id");
	}
	text = json_dumps(spec, JSON_COMPACT);
	r = text ? oci_write_file(dir, "config.json", text, strlen(text)) : -ENOMEM;
	if (r < 0)
		return host->error_set(reterr, -r, "cannot write %s/config.json", dir);
	return 0;
}

static int copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			off += w;
		}
	}
	return 0;
}

int oci_copy_file(const char *src, const char *dst, unsigned mode)
{
	_cleanup_free_ char *tmp = crib_xasprintf("%s.tmp", dst);
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = -EBADF;
	int r;

	if (in < 0)
		return -errno;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0)
		return -errno;
	r = copy_fd(in, out);
	/* The file was created with MODE under whatever umask: say it once more. */
	if (r == 0 && fchmod(out, mode) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

int oci_rm_rf(const char *dir)
{
	char *paths[] = {(char *)dir, NULL};
	/* NOCHDIR: ops run on many threads at once and share one working directory. */
	FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
	FTSENT *e;
	int r = 0;

	if (!fts)
		return -errno;
	while ((e = fts_read(fts))) {
		if (e->fts_info == FTS_D)
			continue;
		if (e->fts_info == FTS_NS && e->fts_errno == ENOENT)
			continue;
		if ((e->fts_info == FTS_DP ? rmdir(e->fts_accpath) : unlink(e->fts_accpath)) < 0 &&
		    errno != ENOENT && r == 0)
			r = -errno;
	}
	fts_close(fts);
	return r;
}

int oci_pidfd_checked(pid_t pid, unsigned long long start)
{
	int fd;

	if (pid <= 0)
		return -ESRCH;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	/* Checked after opening: the pidfd then pins the process we verified. */
	if (crib_proc_start_time(pid) != start) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}
