/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-setids UID GID GROUPS -- ARGS...: the first program of a container in
 * a user namespace whose process has supplementary groups.  LXC (5.0) applies
 * lxc.init.groups only outside a user namespace, so crib-lxc starts the init
 * as the namespace's root with this in front: it sets GROUPS (gids joined by
 * commas), GID and UID, then runs ARGS, keeping its pid.  Static, bound
 * read-only into the container; never sanitized (no runtime to find there).
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* As a failed exec: the code kubelet reads as "not run" (127), with the reason. */
static void die(const char *what, const char *arg)
{
	fprintf(stderr, "crib-setids: %s %s: %s\n", what, arg, strerror(errno ? errno : EINVAL));
	exit(127);
}

static unsigned long id_of(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v >= 0xffffffffUL)
		die("not an id:", s);
	return v;
}

int main(int argc, char **argv)
{
	size_t n = 0, max = 1;
	gid_t *groups;
	char *list, *save = NULL;

	if (argc < 6 || strcmp(argv[4], "--") != 0) {
		fputs("usage: crib-setids UID GID GROUPS -- ARGS...\n", stderr);
		return 127;
	}
	for (const char *p = argv[3]; *p; p++)
		max += *p == ',';
	groups = calloc(max, sizeof(*groups));
	list = strdup(argv[3]);
	if (!groups || !list)
		die("out of memory", "");
	for (char *g = strtok_r(list, ",", &save); g; g = strtok_r(NULL, ",", &save))
		groups[n++] = (gid_t)id_of(g);
	if (setgroups(n, groups) < 0)
		die("cannot set the groups", argv[3]);
	if (setgid((gid_t)id_of(argv[2])) < 0)
		die("cannot set gid", argv[2]);
	if (setuid((uid_t)id_of(argv[1])) < 0)
		die("cannot set uid", argv[1]);
	execvp(argv[5], argv + 5);
	die("exec", argv[5]);
}
