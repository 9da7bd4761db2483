/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cgroup, writable-layer and network usage for the oci backend's stats ops.
 *
 * Everything is read from files the kernel formats; a file that is missing or
 * does not parse leaves its value out (its bit clear in crib_usage.present)
 * rather than failing the whole sample, because controllers differ between
 * hosts and kernels and a partial answer is what kubelet can use.  Directory
 * fds are opened once per sample and the files read relative to them, so that
 * one sample reads one cgroup even if the path is reused meanwhile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <crib/backend.h>

/* The header-only parts (cleanup attributes, streq); the module links nothing of broker/. */
#include "util.h"
#include "cgstats.h"

#define DEFAULT_ROOT "/sys/fs/cgroup"

/* memory.stat is about 2 KiB on v1 and v2; every other file read whole is far smaller. */
#define STAT_FILE_MAX 8192

/*
 * A v1 limit above this is "unlimited": the kernel reports no limit as
 * PAGE_COUNTER_MAX pages, 0x7ffffffffffff000 on 64-bit, and v2's "max" reads
 * as UINT64_MAX.  The same cut-off as containerd's and cadvisor's.
 */
#define LIMIT_UNLIMITED (UINT64_C(1) << 62)

/* The bits oci_cg_usage() owns in crib_usage.present. */
#define CG_FIELDS                                                                                  \
	(CRIB_USAGE_CPU | CRIB_USAGE_MEMORY_WORKING_SET | CRIB_USAGE_MEMORY_USAGE |                \
	 CRIB_USAGE_MEMORY_AVAILABLE | CRIB_USAGE_MEMORY_RSS | CRIB_USAGE_PAGE_FAULTS |            \
	 CRIB_USAGE_SWAP | CRIB_USAGE_PROCESSES)

/* Where the memory numbers live in each layout. */
struct mem_names {
	const char *usage;
	const char *limit;
	const char *inactive_file; /* keys of memory.stat, hierarchical totals */
	const char *rss;
	const char *pgfault;
	const char *pgmajfault;
};

static const struct mem_names mem_v1 = {
    .usage = "memory.usage_in_bytes",
    .limit = "memory.limit_in_bytes",
    .inactive_file = "total_inactive_file",
    .rss = "total_rss",
    .pgfault = "total_pgfault",
    .pgmajfault = "total_pgmajfault",
};

static const struct mem_names mem_v2 = {
    .usage = "memory.current",
    .limit = "memory.max",
    .inactive_file = "inactive_file",
    .rss = "anon",
    .pgfault = "pgfault",
    .pgmajfault = "pgmajfault",
};

/* -errno, never 0 or positive: a failing call that left errno unset still fails. */
static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Parses the decimal number at *P (leading blanks allowed), advancing *P past
 * it.  strtoull(3) would accept a sign and wrap "-1" to UINT64_MAX.
 */
static int parse_u64(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

/* Reads all of DIRFD/NAME into BUF as a string; the length, or -EFBIG when it does not fit. */
static int read_at(int dirfd, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = 0;
	ssize_t n;

	buf[0] = '\0'; /* a string even on failure */
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return neg_errno();
	for (;;) {
		/* One byte beyond the buffer tells a full buffer from a file that fills it. */
		char probe;

		if (len < size - 1)
			n = read(fd, buf + len, size - 1 - len);
		else
			n = read(fd, &probe, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return neg_errno();
		if (n == 0)
			break;
		if (len == size - 1)
			return -EFBIG;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (int)len;
}

/* A file holding one number; "max" (v2's "no limit") reads as UINT64_MAX. */
static int read_u64_at(int dirfd, const char *name, uint64_t *ret)
{
	char buf[64];
	const char *p = buf;
	uint64_t v;
	int r;

	r = read_at(dirfd, name, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (strcmp(buf, "max\n") == 0 || strcmp(buf, "max") == 0) {
		*ret = UINT64_MAX;
		return 0;
	}
	r = parse_u64(&p, &v);
	if (r < 0)
		return r;
	if (*p != '\n' && *p != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* The value of the line "KEY VALUE" in TEXT (memory.stat, cpu.stat, memory.events). */
static int keyed_u64(const char *text, const char *key, uint64_t *ret)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (line && *line) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			const char *p = line + klen;

			return parse_u64(&p, ret);
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

/* Absolute, cgroupfs-style and unable to climb out of the root. */
static bool cgroups_path_valid(const char *p)
{
	if (!p || p[0] != '/' || strchr(p, ':'))
		return false;
	/* p[0] is '/', so a ".." found here always has a character before it. */
	for (const char *s = strstr(p, ".."); s; s = strstr(s + 2, ".."))
		if (s[-1] == '/' && (s[2] == '/' || s[2] == '\0'))
			return false;
	return true;
}

int oci_cg_path(const struct oci_cg_layout *layout, const char *controller,
                const char *cgroups_path, char *buf, size_t size)
{
	int n;

	if (!cgroups_path_valid(cgroups_path))
		return -EINVAL;
	if (layout->mode == OCI_CG_V2)
		n = snprintf(buf, size, "%s%s", layout->root, cgroups_path);
	else
		n = snprintf(buf, size, "%s/%s%s", layout->root, controller, cgroups_path);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* An O_PATH fd of the cgroup's directory in CONTROLLER's hierarchy. */
static int open_cgroup(const struct oci_cg_layout *layout, const char *controller,
                       const char *cgroups_path)
{
	char dir[PATH_MAX];
	int fd, r;

	r = oci_cg_path(layout, controller, cgroups_path, dir, sizeof(dir));
	if (r < 0)
		return r;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? neg_errno() : fd;
}

int oci_cg_detect(const char *root, struct oci_cg_layout *ret)
{
	_cleanup_close_ int fd = -EBADF;
	unsigned mode;

	if (!root)
		root = DEFAULT_ROOT;
	if (strlen(root) >= sizeof(ret->root))
		return -ENAMETOOLONG;
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	/*
	 * Marker files rather than statfs(2) magic numbers: the answer is the
	 * same on a real host, and tests can build the tree in a plain directory.
	 * Only a cgroup2 root has cgroup.controllers; every v1 hierarchy root has
	 * cgroup.procs.
	 */
	if (faccessat(fd, "cgroup.controllers", F_OK, 0) == 0)
		mode = OCI_CG_V2;
	else if (faccessat(fd, "memory/cgroup.procs", F_OK, 0) < 0 &&
	         faccessat(fd, "cpuacct/cgroup.procs", F_OK, 0) < 0 &&
	         faccessat(fd, "pids/cgroup.procs", F_OK, 0) < 0)
		return -ENOENT;
	else if (faccessat(fd, "unified/cgroup.controllers", F_OK, 0) == 0)
		mode = OCI_CG_HYBRID;
	else
		mode = OCI_CG_V1;
	ret->mode = mode;
	memcpy(ret->root, root, strlen(root) + 1);
	return 0;
}

const char *oci_cg_mode_name(unsigned mode)
{
	switch (mode) {
	case OCI_CG_V1:
		return "v1";
	case OCI_CG_HYBRID:
		return "hybrid";
	case OCI_CG_V2:
		return "v2";
	default:
		return "unknown";
	}
}

static void sample_memory(int fd, const struct mem_names *names, struct crib_usage *u)
{
	char stat[STAT_FILE_MAX];
	uint64_t usage, limit, inactive = 0, v;
	bool have_stat;

	have_stat = read_at(fd, "memory.stat", stat, sizeof(stat)) >= 0;
	if (have_stat && keyed_u64(stat, names->rss, &v) >= 0) {
		u->memory_rss_bytes = v;
		u->present |= CRIB_USAGE_MEMORY_RSS;
	}
	if (have_stat && keyed_u64(stat, names->pgfault, &v) >= 0) {
		u->page_faults = v;
		if (keyed_u64(stat, names->pgmajfault, &v) >= 0)
			u->major_page_faults = v;
		u->present |= CRIB_USAGE_PAGE_FAULTS;
	}
	if (read_u64_at(fd, names->usage, &usage) < 0)
		return;
	/* Without memory.stat the whole usage counts as working set, as cadvisor does. */
	if (have_stat)
		(void)keyed_u64(stat, names->inactive_file, &inactive);
	u->memory_usage_bytes = usage;
	u->memory_working_set_bytes = usage > inactive ? usage - inactive : 0;
	u->present |= CRIB_USAGE_MEMORY_USAGE | CRIB_USAGE_MEMORY_WORKING_SET;
	if (read_u64_at(fd, names->limit, &limit) >= 0 && limit <= LIMIT_UNLIMITED) {
		u->memory_available_bytes =
		    limit > u->memory_working_set_bytes ? limit - u->memory_working_set_bytes : 0;
		u->present |= CRIB_USAGE_MEMORY_AVAILABLE;
	}
}

/*
 * v1 has no swap counter of its own: memsw is memory plus swap.  Its limit is
 * a combined one too, so swap_available_bytes stays 0 (containerd reports
 * none on v1 either).
 */
static void sample_swap_v1(int fd, struct crib_usage *u)
{
	uint64_t memsw;

	if (!(u->present & CRIB_USAGE_MEMORY_USAGE))
		return;
	if (read_u64_at(fd, "memory.memsw.usage_in_bytes", &memsw) < 0)
		return;
	u->swap_usage_bytes = memsw > u->memory_usage_bytes ? memsw - u->memory_usage_bytes : 0;
	u->present |= CRIB_USAGE_SWAP;
}

static void sample_swap_v2(int fd, struct crib_usage *u)
{
	uint64_t cur, max;

	if (read_u64_at(fd, "memory.swap.current", &cur) < 0)
		return;
	u->swap_usage_bytes = cur;
	if (read_u64_at(fd, "memory.swap.max", &max) >= 0 && max <= LIMIT_UNLIMITED)
		u->swap_available_bytes = max > cur ? max - cur : 0;
	u->present |= CRIB_USAGE_SWAP;
}

/* Lines of cgroup.procs, read in chunks: a pod can hold many processes. */
static int count_procs(int dirfd, uint64_t *ret)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[4096];
	uint64_t lines = 0;
	ssize_t n;

	fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return neg_errno();
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return neg_errno();
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	*ret = lines;
	return 0;
}

/*
 * pids.current counts the tasks of the cgroup and its descendants.  Without
 * the pids controller (v2 often leaves it out of subtree_control) the
 * processes of the cgroup itself are the next best answer.
 */
static void sample_processes(int pids_fd, int procs_fd, struct crib_usage *u)
{
	uint64_t v = 0;

	if (pids_fd >= 0 && read_u64_at(pids_fd, "pids.current", &v) >= 0) {
		u->process_count = v;
		u->present |= CRIB_USAGE_PROCESSES;
	} else if (procs_fd >= 0 && count_procs(procs_fd, &v) >= 0) {
		u->process_count = v;
		u->present |= CRIB_USAGE_PROCESSES;
	}
}

static int usage_v1(const struct oci_cg_layout *layout, const char *path, struct crib_usage *u)
{
	_cleanup_close_ int mem = -EBADF, cpu = -EBADF, pids = -EBADF;
	uint64_t v;

	mem = open_cgroup(layout, "memory", path);
	cpu = open_cgroup(layout, "cpuacct", path);
	pids = open_cgroup(layout, "pids", path);
	if (mem < 0 && cpu < 0 && pids < 0)
		return mem;
	if (cpu >= 0 && read_u64_at(cpu, "cpuacct.usage", &v) >= 0) {
		u->cpu_core_ns = v;
		u->present |= CRIB_USAGE_CPU;
	}
	if (mem >= 0) {
		sample_memory(mem, &mem_v1, u);
		sample_swap_v1(mem, u);
	}
	sample_processes(pids, mem >= 0 ? mem : cpu, u);
	return 0;
}

static int usage_v2(const struct oci_cg_layout *layout, const char *path, struct crib_usage *u)
{
	_cleanup_close_ int fd = -EBADF;
	char stat[STAT_FILE_MAX];
	uint64_t v;

	fd = open_cgroup(layout, NULL, path);
	if (fd < 0)
		return fd;
	if (read_at(fd, "cpu.stat", stat, sizeof(stat)) >= 0 &&
	    keyed_u64(stat, "usage_usec", &v) >= 0 && v <= UINT64_MAX / 1000) {
		u->cpu_core_ns = v * 1000;
		u->present |= CRIB_USAGE_CPU;
	}
	sample_memory(fd, &mem_v2, u);
	sample_swap_v2(fd, u);
	sample_processes(fd, fd, u);
	return 0;
}

int oci_cg_usage(const struct oci_cg_layout *layout, const char *cgroups_path,
                 struct crib_usage *ret)
{
	struct crib_usage u = {0};
	int r;

	if (!cgroups_path_valid(cgroups_path))
		return -EINVAL;
	if (layout->mode == OCI_CG_V2)
		r = usage_v2(layout, cgroups_path, &u);
	else
		r = usage_v1(layout, cgroups_path, &u);
	if (r < 0)
		return r;

	ret->timestamp = wall_ns();
	ret->present = (ret->present & ~(uint64_t)CG_FIELDS) | u.present;
	ret->cpu_core_ns = u.cpu_core_ns;
	ret->memory_working_set_bytes = u.memory_working_set_bytes;
	ret->memory_usage_bytes = u.memory_usage_bytes;
	ret->memory_available_bytes = u.memory_available_bytes;
	ret->memory_rss_bytes = u.memory_rss_bytes;
	ret->page_faults = u.page_faults;
	ret->major_page_faults = u.major_page_faults;
	ret->swap_usage_bytes = u.swap_usage_bytes;
	ret->swap_available_bytes = u.swap_available_bytes;
	ret->process_count = u.process_count;
	return 0;
}

int oci_cg_oom_kills(const struct oci_cg_layout *layout, const char *cgroups_path, uint64_t *ret)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[1024];
	const char *file;
	int r;

	fd = open_cgroup(layout, "memory", cgroups_path);
	if (fd < 0)
		return fd;
	file = layout->mode == OCI_CG_V2 ? "memory.events" : "memory.oom_control";
	r = read_at(fd, file, buf, sizeof(buf));
	if (r == -ENOENT)
		return -ENODATA; /* the cgroup is there, its memory controller is not */
	if (r < 0)
		return r;
	r = keyed_u64(buf, "oom_kill", ret);
	return r == -ENOENT ? -ENODATA : r;
}

/* An inode with more than one link, counted at the end once per inode number. */
struct linked {
	ino_t ino;
	blkcnt_t blocks;
};

static int cmp_linked(const void *a, const void *b)
{
	ino_t x = ((const struct linked *)a)->ino, y = ((const struct linked *)b)->ino;

	return x < y ? -1 : x > y;
}

/*
 * One walk: the directories open from the top down to the current one, and
 * the sums so far.  The walk is iterative and every name is relative to its
 * directory's fd, so neither the C stack nor a path string grows with depth;
 * what does grow, one fd per level, is capped at OCI_CG_FS_MAX_DEPTH.
 */
struct du {
	DIR *open[OCI_CG_FS_MAX_DEPTH];
	size_t depth; /* entries of open[] in use */
	dev_t dev;
	uint64_t blocks;
	uint64_t inodes;
	struct linked *linked; /* sized by the layer's content: plain malloc, -ENOMEM */
	size_t n_linked;
	size_t cap_linked;
};

static void du_done(struct du *du)
{
	while (du->depth > 0)
		(void)closedir(du->open[--du->depth]);
	free(du->linked);
}

static int du_add(struct du *du, const struct stat *st)
{
	if (S_ISDIR(st->st_mode) || st->st_nlink <= 1) {
		du->blocks += (uint64_t)st->st_blocks;
		du->inodes++;
		return 0;
	}
	if (du->n_linked == du->cap_linked) {
		size_t cap = du->cap_linked ? du->cap_linked * 2 : 64;
		struct linked *l = reallocarray(du->linked, cap, sizeof(*l));

		if (!l)
			return -ENOMEM;
		du->linked = l;
		du->cap_linked = cap;
	}
	du->linked[du->n_linked++] = (struct linked){.ino = st->st_ino, .blocks = st->st_blocks};
	return 0;
}

/* Adds each hard-linked inode once; the walk stays on one device, so the number is the key. */
static void du_add_linked(struct du *du)
{
	if (du->n_linked == 0)
		return;
	qsort(du->linked, du->n_linked, sizeof(*du->linked), cmp_linked);
	for (size_t i = 0; i < du->n_linked; i++) {
		if (i > 0 && du->linked[i].ino == du->linked[i - 1].ino)
			continue;
		du->blocks += (uint64_t)du->linked[i].blocks;
		du->inodes++;
	}
}

/*
 * Opens NAME in DIRFD as the next level.  Not following symlinks, and
 * checking the device of what was opened rather than of what was stat'ed,
 * keeps a directory swapped for a link or a mount meanwhile out of the walk.
 * Only running out of descriptors or memory is an error: anything else is a
 * directory the container changed under us, skipped.
 */
static int du_push(struct du *du, int dirfd, const char *name)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	DIR *d;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE || errno == ENOMEM ? neg_errno() : 0;
	if (fstat(fd, &st) < 0 || st.st_dev != du->dev)
		return 0;
	d = fdopendir(fd);
	if (!d)
		return neg_errno();
	TAKE_FD(fd);
	du->open[du->depth++] = d;
	return 0;
}

/* One entry of the directory on top: counts it and, if it is a directory, enters it. */
static int du_entry(struct du *du, const char *name)
{
	int dirfd_top = dirfd(du->open[du->depth - 1]);
	struct stat st;
	int r;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (fstatat(dirfd_top, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* removed meanwhile */
	if (st.st_dev != du->dev)
		return 0; /* a mount point: not part of the layer */
	r = du_add(du, &st);
	if (r < 0 || !S_ISDIR(st.st_mode) || du->depth == OCI_CG_FS_MAX_DEPTH)
		return r;
	return du_push(du, dirfd_top, name);
}

int oci_cg_fs_usage(const char *dir, uint64_t *ret_bytes, uint64_t *ret_inodes)
{
	_cleanup_(du_done) struct du du = {.depth = 0};
	struct stat st;
	int r;

	if (lstat(dir, &st) < 0)
		return neg_errno();
	du.dev = st.st_dev;
	r = du_add(&du, &st);
	if (r >= 0 && S_ISDIR(st.st_mode))
		r = du_push(&du, AT_FDCWD, dir);
	while (r >= 0 && du.depth > 0) {
		struct dirent *de;

		errno = 0;
		de = readdir(du.open[du.depth - 1]);
		if (de) {
			r = du_entry(&du, de->d_name);
			continue;
		}
		/* The end of this directory, or an error reading it (removed meanwhile). */
		(void)closedir(du.open[--du.depth]);
	}
	if (r < 0)
		return r;
	du_add_linked(&du);
	*ret_bytes = du.blocks * 512;
	*ret_inodes = du.inodes;
	return 0;
}

/* Counters of one line of /proc/net/dev. */
struct net_dev {
	char name[32];
	uint64_t rx_bytes;
	uint64_t rx_errors;
	uint64_t tx_bytes;
	uint64_t tx_errors;
};

/*
 * "  eth0: rx_bytes packets errs drop fifo frame compressed multicast
 * tx_bytes packets errs ..."; 1 for an interface line, 0 for a header line.
 */
static int parse_net_line(const char *line, struct net_dev *ret)
{
	const char *colon = strchr(line, ':'), *p;
	uint64_t v[11];
	size_t len;

	if (!colon)
		return 0;
	while (*line == ' ')
		line++;
	len = (size_t)(colon - line);
	if (len == 0 || len >= sizeof(ret->name))
		return -EINVAL;
	p = colon + 1;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (parse_u64(&p, &v[i]) < 0)
			return -EINVAL;
	memcpy(ret->name, line, len);
	ret->name[len] = '\0';
	ret->rx_bytes = v[0];
	ret->rx_errors = v[2];
	ret->tx_bytes = v[8];
	ret->tx_errors = v[10];
	return 1;
}

int oci_cg_net_file(const char *path, struct crib_usage *ret)
{
	_cleanup_(fclosep) FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	struct net_dev cur, best = {.name = ""};
	size_t cap = 0;
	char *name;

	f = fopen(path, "re");
	if (!f)
		return neg_errno();
	for (;;) {
		if (getline(&line, &cap, f) < 0) {
			if (ferror(f))
				return -EIO;
			break;
		}
		/* Kubelet's default interface is eth0; otherwise take the first real one. */
		if (parse_net_line(line, &cur) <= 0 || streq(cur.name, "lo"))
			continue;
		if (streq(cur.name, "eth0")) {
			best = cur;
			break;
		}
		if (best.name[0] == '\0')
			best = cur;
	}
	if (best.name[0] == '\0')
		return -ENODATA;
	name = strdup(best.name);
	if (!name)
		return -ENOMEM;
	free(ret->interface);
	ret->interface = name;
	ret->rx_bytes = best.rx_bytes;
	ret->rx_errors = best.rx_errors;
	ret->tx_bytes = best.tx_bytes;
	ret->tx_errors = best.tx_errors;
	ret->present |= CRIB_USAGE_NETWORK;
	return 0;
}

int oci_cg_net(pid_t pid, struct crib_usage *ret)
{
	char path[64];

	if (pid <= 0)
		return -EINVAL;
	(void)snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	return oci_cg_net_file(path, ret);
}

/* /proc/thread-self/net shows the namespace of the thread that opens it. */
static int read_net_dev(void *usage)
{
	return oci_cg_net_file("/proc/thread-self/net/dev", usage);
}

int oci_cg_net_ns(const char *netns, struct crib_usage *ret)
{
	if (!netns)
		return -EINVAL;
	return crib_in_netns(netns, read_net_dev, ret);
}
