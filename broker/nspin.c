/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "nspin.h"
#include "util.h"

/* Namespace files mounted over each other by repeated failed runs; more is not plausible. */
#define MAX_STACKED_MOUNTS 16

/*
 * Serializes turning a directory into a mount point: two threads pinning at
 * once must not stack two bind mounts of it.  The lock guards a process-wide
 * resource (the mount table), hence its process-wide scope.
 */
static pthread_mutex_t dir_lock = PTHREAD_MUTEX_INITIALIZER;

int crib_ns_private_dir(const char *dir)
{
	int r = crib_mkdir_p(dir, 0755);

	if (r < 0)
		return r;
	(void)pthread_mutex_lock(&dir_lock);
	if (mount(NULL, dir, NULL, MS_PRIVATE | MS_REC, NULL) < 0) {
		/* EINVAL: not a mount point yet; bind it onto itself to make it one. */
		if (errno != EINVAL)
			r = -errno;
		else if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		         mount(NULL, dir, NULL, MS_PRIVATE | MS_REC, NULL) < 0)
			r = -errno;
	}
	(void)pthread_mutex_unlock(&dir_lock);
	return r;
}

static const char *ns_name(int type)
{
	switch (type) {
	case CLONE_NEWNET:
		return "net";
	case CLONE_NEWIPC:
		return "ipc";
	case CLONE_NEWUTS:
		return "uts";
	default:
		return NULL;
	}
}

struct pin_job {
	const struct crib_ns_pin *pins;
	size_t n;
	int (*setup)(void *ctx);
	void *ctx;
	size_t mounted; /* how many of pins are mounted */
	const char *step;
	int r;
};

static void *pin_thread(void *arg)
{
	struct pin_job *j = arg;
	int flags = 0;

	for (size_t i = 0; i < j->n; i++)
		flags |= j->pins[i].type;
	if (unshare(flags) < 0) {
		j->r = -errno;
		j->step = "create the namespaces";
		return NULL;
	}
	if (j->setup) {
		j->r = j->setup(j->ctx);
		if (j->r < 0) {
			j->step = "set up the namespaces";
			return NULL;
		}
	}
	for (; j->mounted < j->n; j->mounted++) {
		char self[64];

		(void)snprintf(self, sizeof(self), "/proc/thread-self/ns/%s",
		               ns_name(j->pins[j->mounted].type));
		if (mount(self, j->pins[j->mounted].path, NULL, MS_BIND, NULL) < 0) {
			j->r = -errno;
			j->step = "mount a namespace";
			return NULL;
		}
	}
	return NULL;
}

/* An empty file for PATH, after whatever an earlier run left there: a retry starts clean. */
static int make_ns_file(const char *path)
{
	int fd, r = crib_ns_unpin(path);

	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	(void)close(fd);
	return 0;
}

int crib_ns_pin(const struct crib_ns_pin *pins, size_t n, int (*setup)(void *ctx), void *ctx,
                const char **ret_step)
{
	struct pin_job j = {.pins = pins, .n = n, .setup = setup, .ctx = ctx};
	pthread_t thread;
	size_t made;
	int r = 0;

	for (size_t i = 0; i < n; i++)
		if (!ns_name(pins[i].type)) {
			*ret_step = "pin a namespace (unknown type)";
			return -EINVAL;
		}
	for (made = 0; made < n; made++) {
		r = make_ns_file(pins[made].path);
		if (r < 0) {
			*ret_step = "create a namespace file";
			goto fail;
		}
	}
	r = -pthread_create(&thread, NULL, pin_thread, &j);
	if (r < 0) {
		*ret_step = "start a thread to create namespaces";
		goto fail;
	}
	(void)pthread_join(thread, NULL);
	r = j.r;
	*ret_step = j.step;
	if (r >= 0)
		return 0;
fail:
	for (size_t i = 0; i < made; i++)
		(void)crib_ns_unpin(pins[i].path);
	return r;
}

int crib_ns_unpin(const char *path)
{
	/* A namespace mounted twice (a retry racing a crash) needs two unmounts. */
	for (int i = 0; i < MAX_STACKED_MOUNTS; i++) {
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			break;
		return -errno;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

bool crib_ns_pinned(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == NSFS_MAGIC;
}
