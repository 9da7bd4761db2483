/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgstats.h"
#include "cgwrite.h"
#include "util.h"

static int fail(char **ret_err, int r, const char *path)
{
	*ret_err = crib_xasprintf("%s: %s", path, strerror(-r));
	return r;
}

static int detect(struct oci_cg_layout *layout, char **ret_err)
{
	int r = oci_cg_detect(NULL, layout);

	return r < 0 ? fail(ret_err, r, "/sys/fs/cgroup") : 0;
}

/*
 * Calls FN for REL's directory in every hierarchy: the unified root's, or
 * each directory under the v1 root (the controllers' links, "cpu" to
 * "cpu,cpuacct", are the same hierarchies again and skipped).
 */
static int each_hierarchy(const char *rel, int (*fn)(const char *dir, void *data), void *data,
                          char **ret_err)
{
	struct oci_cg_layout layout;
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *e;
	int r = detect(&layout, ret_err);

	if (r < 0)
		return r;
	if (layout.mode == OCI_CG_V2) {
		_cleanup_free_ char *dir = crib_xasprintf("%s/%s", layout.root, rel);

		return fn(dir, data);
	}
	d = opendir(layout.root);
	if (!d)
		return fail(ret_err, -errno, layout.root);
	while ((e = readdir(d))) {
		_cleanup_free_ char *dir = NULL;

		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		dir = crib_xasprintf("%s/%s/%s", layout.root, e->d_name, rel);
		r = fn(dir, data);
		if (r < 0)
			return fail(ret_err, r, dir);
	}
	return 0;
}

/* A v1 cpuset takes no task until it has cpus and mems: its parent's. */
static int fill_cpuset(const char *dir, const char *file)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, file), *parent = NULL;
	_cleanup_free_ char *mine = NULL, *theirs = NULL;
	size_t len;
	int r;

	if (crib_read_file(path, 4096, &mine, &len) < 0)
		return 0; /* not a cpuset hierarchy */
	if (strspn(mine, " \n") != len)
		return 0;
	parent = crib_xasprintf("%s/../%s", dir, file);
	r = crib_read_file(parent, 4096, &theirs, &len);
	if (r < 0)
		return r;
	return crib_write_proc(path, theirs);
}

static int make_one(const char *dir, void *data)
{
	int r = crib_mkdir_p(dir, 0755);

	(void)data;
	if (r < 0)
		return r;
	r = fill_cpuset(dir, "cpuset.cpus");
	return r < 0 ? r : fill_cpuset(dir, "cpuset.mems");
}

int crib_lxc_cg_make(const char *rel, char **ret_err)
{
	*ret_err = NULL;
	return each_hierarchy(rel, make_one, NULL, ret_err);
}

static int enter_one(const char *dir, void *data)
{
	_cleanup_free_ char *procs = crib_xasprintf("%s/cgroup.procs", dir);
	int r = make_one(dir, data);

	return r < 0 ? r : crib_write_proc(procs, "0");
}

int crib_lxc_cg_enter(const char *rel, char **ret_err)
{
	*ret_err = NULL;
	return each_hierarchy(rel, enter_one, NULL, ret_err);
}

/* KEY's file under REL: its controller's hierarchy on v1 ("memory.max" -> memory). */
static int set_one(const struct oci_cg_layout *layout, const char *rel, const char *key,
                   const char *value, char **ret_err)
{
	_cleanup_free_ char *controller = crib_xstrdup(key);
	_cleanup_free_ char *cgroups_path = crib_xasprintf("/%s", rel), *path = NULL;
	char dir[PATH_MAX];
	int r;

	controller[strcspn(controller, ".")] = '\0';
	r = oci_cg_path(layout, controller, cgroups_path, dir, sizeof(dir));
	if (r < 0)
		return fail(ret_err, r, cgroups_path);
	path = crib_xasprintf("%s/%s", dir, key);
	r = crib_write_proc(path, value);
	return r < 0 ? fail(ret_err, r, path) : 0;
}

static int set_all(const struct oci_cg_layout *layout, const char *rel,
                   const struct crib_lxc_conf *conf, bool reverse, char **ret_err)
{
	for (size_t k = 0; k < conf->n; k++) {
		size_t i = reverse ? conf->n - 1 - k : k;
		int r = set_one(layout, rel, conf->keys[i], conf->values[i], ret_err);

		if (r < 0)
			return r;
	}
	return 0;
}

int crib_lxc_cg_set(const char *rel, const struct crib_lxc_conf *conf, char **ret_err)
{
	struct oci_cg_layout layout;
	int r = detect(&layout, ret_err);

	if (r < 0)
		return r;
	/* A memory limit and the swap limit above it: raising needs the swap first. */
	r = set_all(&layout, rel, conf, false, ret_err);
	if (r < 0) {
		free(*ret_err);
		*ret_err = NULL;
		r = set_all(&layout, rel, conf, true, ret_err);
	}
	return r;
}

void crib_lxc_cg_kill(const char *rel, int sig)
{
	struct oci_cg_layout layout;
	_cleanup_free_ char *procs = NULL, *text = NULL, *err = NULL;
	_cleanup_free_ char *cgroups_path = crib_xasprintf("/%s", rel);
	char dir[PATH_MAX], *line, *save = NULL;
	size_t len;

	if (detect(&layout, &err) < 0 ||
	    oci_cg_path(&layout, "pids", cgroups_path, dir, sizeof(dir)) < 0)
		return;
	procs = crib_xasprintf("%s/cgroup.procs", dir);
	if (crib_read_file(procs, 1 << 22, &text, &len) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (atoi(line) > 0)
			(void)kill(atoi(line), sig);
}

static int remove_one(const char *dir, void *data)
{
	_cleanup_free_ char *leaf = crib_xasprintf("%s/.lxc", dir);

	(void)data;
	(void)rmdir(leaf);
	(void)rmdir(dir);
	return 0;
}

void crib_lxc_cg_remove(const char *rel)
{
	_cleanup_free_ char *err = NULL;

	(void)each_hierarchy(rel, remove_one, NULL, &err);
}
