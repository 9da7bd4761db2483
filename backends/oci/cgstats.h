/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource usage of a container's or pod's cgroup, of a writable layer and of
 * a pod's network interface, for ContainerStats and PodSandboxStats.
 *
 * The OCI runtime (runc, crun; cgroupfs driver) puts a container whose
 * linux.cgroupsPath is "/a/b" at <root>/<controller>/a/b on a v1 or hybrid
 * host and at <root>/a/b on a unified (v2) one.  A hybrid host has the v1
 * controllers plus a controller-less cgroup2 at <root>/unified that only
 * systemd uses, so its numbers come from the v1 hierarchies.
 *
 * Nothing here keeps state beyond the layout, and every function may run on
 * any thread and concurrently with itself: they only read files.  All of them
 * return 0 or -errno and write their result only on success.
 */
#ifndef CRIB_OCI_CGSTATS_H
#define CRIB_OCI_CGSTATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct crib_usage;

/* Directory levels oci_cg_fs_usage() enters below the top (and fds it holds at most). */
#define OCI_CG_FS_MAX_DEPTH 256

/* Room for the cgroup root (normally /sys/fs/cgroup) and a trailing NUL. */
#define OCI_CG_ROOT_MAX 256

enum oci_cg_mode {
	OCI_CG_V1 = 1,     /* one hierarchy per controller */
	OCI_CG_HYBRID = 2, /* v1 controllers plus an empty cgroup2 at <root>/unified */
	OCI_CG_V2 = 3,     /* unified */
};

/* The host's cgroup layout, detected once (at backend init) and read-only after. */
struct oci_cg_layout {
	unsigned mode; /* enum oci_cg_mode */
	char root[OCI_CG_ROOT_MAX];
};

/*
 * Detects the layout under ROOT (NULL: /sys/fs/cgroup; tests pass a fake tree).
 * -ENOENT when ROOT holds no cgroup hierarchy at all, -ENAMETOOLONG when ROOT
 * does not fit.
 */
int oci_cg_detect(const char *root, struct oci_cg_layout *ret);

/* "v1", "hybrid" or "v2", for health and version info. */
const char *oci_cg_mode_name(unsigned mode);

/*
 * The directory of CGROUPS_PATH (an absolute cgroupfs path such as "/crib/x",
 * as given to the runtime in linux.cgroupsPath) in CONTROLLER's hierarchy,
 * e.g. "memory"; CONTROLLER is ignored on v2.  -EINVAL for a relative path, a
 * systemd "slice:prefix:name" path or one with "..", -ENAMETOOLONG when it
 * does not fit in SIZE bytes.
 */
int oci_cg_path(const struct oci_cg_layout *layout, const char *controller,
                const char *cgroups_path, char *buf, size_t size);

/*
 * Samples the cgroup at CGROUPS_PATH: CPU (cumulative ns), memory usage,
 * working set (usage - inactive file cache, never negative), RSS, page faults,
 * available memory (limit - working set, only with a limit set), swap and the
 * process count, plus the timestamp.  Each value's bit is set in
 * ret->present only when it could be read; the members it does not own
 * (fs_*, network) are left alone, so that the caller can fill them before or
 * after.  -ENOENT when the cgroup exists in none of the hierarchies read
 * (the container is gone, or never had a cgroup of its own).
 */
int oci_cg_usage(const struct oci_cg_layout *layout, const char *cgroups_path,
                 struct crib_usage *ret);

/*
 * The number of OOM kills in the cgroup and its descendants so far (v1
 * memory.oom_control, v2 memory.events).  The backend compares it before and
 * after a container's life to report reason "OOMKilled"; read it before the
 * runtime deletes the cgroup.  -ENOENT without the cgroup, -ENODATA on a
 * kernel that does not count them (v1 before Linux 4.13).
 */
int oci_cg_oom_kills(const struct oci_cg_layout *layout, const char *cgroups_path, uint64_t *ret);

/*
 * Disk usage of the directory tree DIR (a writable layer): allocated bytes
 * (st_blocks * 512) and inodes, each inode counted once however many hard
 * links it has.  Symbolic links are counted, not followed, and mount points
 * below DIR are neither counted nor entered.  Files that vanish during the
 * walk are skipped.  The walk holds one fd per level: a directory
 * OCI_CG_FS_MAX_DEPTH levels below DIR is counted but its contents are not.
 * -ENOENT when DIR itself does not exist, -EMFILE/-ENFILE/-ENOMEM when out of
 * descriptors or memory.
 */
int oci_cg_fs_usage(const char *dir, uint64_t *ret_bytes, uint64_t *ret_inodes);

/*
 * Network counters of the pod: rx/tx bytes and errors of interface "eth0"
 * (else of the first interface other than "lo") as /proc/PID/net/dev shows
 * them for PID's network namespace.  Sets ret->interface (malloc'd; frees
 * what was there) and CRIB_USAGE_NETWORK, and leaves the rest of RET alone.
 * -ENOENT when PID is gone, -ENODATA when its namespace has only "lo".
 */
int oci_cg_net(pid_t pid, struct crib_usage *ret);

/* The same for the network namespace pinned at NETNS (no process needed). */
int oci_cg_net_ns(const char *netns, struct crib_usage *ret);

/* The same, from a file in /proc/net/dev format (tests). */
int oci_cg_net_file(const char *path, struct crib_usage *ret);

#endif /* CRIB_OCI_CGSTATS_H */
