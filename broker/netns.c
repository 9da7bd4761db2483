/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "error.h"
#include "netns.h"
#include "util.h"

/* Namespace files mounted over each other by repeated failed runs; more is not plausible. */
#define MAX_STACKED_MOUNTS 16

/*
 * Serializes turning the directory into a mount point: two workers creating
 * namespaces at once must not stack two bind mounts of it.  The lock guards
 * a process-wide resource (the mount table), hence its process-wide scope.
 */
static pthread_mutex_t dir_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Makes DIR a private mount point, as iproute2 makes /run/netns a mount
 * point of its own.  Private, so that the namespace files mounted in it do
 * not propagate into every mount namespace that receives cribd's mounts
 * (containers given the host's /run with HostToContainer propagation), where
 * they would show up and could be mounted again by anyone.
 */
static int make_private_dir(const char *dir, struct crib_error **reterr)
{
	int r = crib_mkdir_p(dir, 0755);

	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to create '%s': %s", dir, strerror(-r));
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
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to make '%s' a private mount point: %s",
		                      dir, strerror(-r));
	return 0;
}

struct unshare_job {
	const char *path;
	const char *failed; /* the step that failed */
	int r;
};

/*
 * Runs in a thread of its own: unshare(CLONE_NEWNET) moves only the calling
 * thread, and this one ends right after pinning its namespace at PATH, so
 * no thread of cribd is left in a pod's namespace.
 */
static void *unshare_thread(void *arg)
{
	struct unshare_job *j = arg;

	if (unshare(CLONE_NEWNET) < 0) {
		j->r = -errno;
		j->failed = "create a network namespace";
		return NULL;
	}
	if (mount("/proc/thread-self/ns/net", j->path, NULL, MS_BIND, NULL) < 0) {
		j->r = -errno;
		j->failed = "mount the network namespace";
	}
	return NULL;
}

int crib_netns_create(const char *path, struct crib_error **reterr)
{
	_cleanup_free_ char *dir = crib_xstrdup(path);
	struct unshare_job j = {.path = path};
	pthread_t thread;
	int fd, r;

	r = make_private_dir(dirname(dir), reterr);
	if (r < 0)
		return r;
	r = crib_netns_remove(path, reterr);
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return crib_error_set(reterr, errno, "Failed to create '%s': %s", path,
		                      strerror(errno));
	(void)close(fd);
	r = -pthread_create(&thread, NULL, unshare_thread, &j);
	if (r == 0)
		(void)pthread_join(thread, NULL);
	else
		j = (struct unshare_job){.r = r, .failed = "start a thread to create a namespace"};
	if (j.r < 0) {
		(void)unlink(path);
		return crib_error_set(reterr, -j.r, "Failed to %s at '%s': %s", j.failed, path,
		                      strerror(-j.r));
	}
	return 0;
}

int crib_netns_remove(const char *path, struct crib_error **reterr)
{
	/* A namespace mounted twice (a retry racing a crash) needs two unmounts. */
	for (int i = 0; i < MAX_STACKED_MOUNTS; i++) {
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			break;
		return crib_error_set(reterr, errno, "Failed to unmount network namespace '%s': %s",
		                      path, strerror(errno));
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return crib_error_set(reterr, errno, "Failed to remove '%s': %s", path,
		                      strerror(errno));
	return 0;
}

bool crib_netns_exists(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == NSFS_MAGIC;
}
