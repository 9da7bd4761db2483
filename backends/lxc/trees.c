/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crib-lxc.h"
#include "trees.h"
#include "util.h"

/* Mount attributes the spec's options ask for. */
static uint64_t tree_attrs(json_t *options)
{
	static const struct {
		const char *name;
		uint64_t attr;
	} attrs[] = {{"ro", MOUNT_ATTR_RDONLY},
	             {"nosuid", MOUNT_ATTR_NOSUID},
	             {"nodev", MOUNT_ATTR_NODEV},
	             {"noexec", MOUNT_ATTR_NOEXEC}};
	uint64_t set = 0;

	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++)
		if (crib_lxc_strings_contain(options, attrs[i].name))
			set |= attrs[i].attr;
	return set;
}

struct crib_lxc_tree *crib_lxc_open_trees(json_t *spec, const char *bundle,
                                          bool (*want)(json_t *options), int userns, size_t *ret_n)
{
	json_t *mounts = json_object_get(spec, "mounts"), *m;
	struct crib_lxc_tree *trees = crib_xcalloc(json_array_size(mounts) + 1, sizeof(*trees));
	size_t i, n = 0;

	json_array_foreach(mounts, i, m)
	{
		json_t *options = json_object_get(m, "options");
		const char *type = json_string_value(json_object_get(m, "type"));
		const char *src = json_string_value(json_object_get(m, "source"));
		const char *dest = json_string_value(json_object_get(m, "destination"));
		bool rec = crib_lxc_strings_contain(options, "rbind");
		_cleanup_free_ char *path = NULL;
		struct mount_attr attr = {.attr_set = tree_attrs(options) |
		                                      (userns >= 0 ? MOUNT_ATTR_IDMAP : 0),
		                          .userns_fd = userns >= 0 ? (uint64_t)userns : 0};
		struct stat st;

		if ((!(type && streq(type, "bind")) && !rec &&
		     !crib_lxc_strings_contain(options, "bind")) ||
		    (want && !want(options)))
			continue;
		if (!src || !dest || dest[0] != '/')
			crib_lxc_die("mounts[%zu]: a bind mount needs a source and an absolute "
			             "destination",
			             i);
		path = src[0] == '/' ? crib_xstrdup(src) : crib_xasprintf("%s/%s", bundle, src);
		trees[n].fd = open_tree(
		    AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
		if (trees[n].fd < 0 || fstat(trees[n].fd, &st) < 0)
			crib_lxc_die("mounts[%zu]: cannot bind %s: %s", i, path, strerror(errno));
		if (attr.attr_set &&
		    mount_setattr(trees[n].fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr,
		                  sizeof(attr)) < 0)
			crib_lxc_die("mounts[%zu]: cannot set the options of %s: %s", i, dest,
			             strerror(errno));
		trees[n].dest = dest;
		trees[n].dir = S_ISDIR(st.st_mode);
		n++;
	}
	*ret_n = n;
	return trees;
}

void crib_lxc_close_trees(struct crib_lxc_tree *trees, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(trees[i].fd);
}
