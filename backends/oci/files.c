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

#include "cri-api-v1.pb-c.h"
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

static int copy_host_file(const char *dir, const char *name, const char *src)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *d = crib_xstrdup(src);
	char *slash = strrchr(d, '/');
	int r;

	*slash = '\0';
	r = oci_read_file(d, slash + 1, &text);
	if (r < 0)
		return r == -ENOENT ? oci_write_file(dir, name, "", 0) : r;
	return oci_write_file(dir, name, text, strlen(text));
}

/* Appends "WORD item item...\n" for a non-empty list. */
static void put_list(FILE *f, const char *word, char **items, size_t n)
{
	if (n == 0)
		return;
	fputs(word, f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %s", items[i]);
	fputc('\n', f);
}

static int write_resolv_conf(const char *dir, const Runtime__V1__DNSConfig *dns)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!dns)
		return copy_host_file(dir, "resolv.conf", "/etc/resolv.conf");
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < dns->n_servers; i++)
		fprintf(f, "nameserver %s\n", dns->servers[i]);
	put_list(f, "search", dns->searches, dns->n_searches);
	put_list(f, "options", dns->options, dns->n_options);
	if (fclose(f) != 0)
		return -ENOMEM;
	return oci_write_file(dir, "resolv.conf", text, len);
}

int oci_write_pod_files(const char *dir, const Runtime__V1__PodSandboxConfig *cfg, bool host_net)
{
	static const char hosts[] = "127.0.0.1\tlocalhost\n"
	                            "::1\tlocalhost ip6-localhost ip6-loopback\n";
	char host_name[256] = "";
	_cleanup_free_ char *name = NULL;
	int r;

	if (host_net || isempty(cfg->hostname))
		gethostname(host_name, sizeof(host_name) - 1);
	name =
	    crib_xasprintf("%s\n", host_net || isempty(cfg->hostname) ? host_name : cfg->hostname);
	r = oci_write_file(dir, "hostname", name, strlen(name));
	if (r >= 0)
		r = host_net ? copy_host_file(dir, "hosts", "/etc/hosts")
		             : oci_write_file(dir, "hosts", hosts, sizeof(hosts) - 1);
	if (r >= 0)
		r = write_resolv_conf(dir, cfg->dns_config);
	return r;
}

void oci_pod_files(const char *pod_dir, bool shared_shm, struct oci_pod_files *f, char *paths[4])
{
	paths[0] = crib_xasprintf("%s/hostname", pod_dir);
	paths[1] = crib_xasprintf("%s/hosts", pod_dir);
	paths[2] = crib_xasprintf("%s/resolv.conf", pod_dir);
	paths[3] = shared_shm ? crib_xasprintf("%s/shm", pod_dir) : NULL;
	*f = (struct oci_pod_files){
	    .hostname = paths[0], .hosts = paths[1], .resolv_conf = paths[2], .shm = paths[3]};
}
