/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The oci backend's usage sampling (backends/oci/cgstats.c): cgroup trees for
 * v1, hybrid and v2 built from plain files in a temporary directory, with the
 * numbers checked exactly; disk usage of a tree with a hard link, a symlink
 * and deep nesting; /proc/net/dev parsing from fake files.  Then the real
 * thing on this host: a child that touches 32 MiB in a cgroup of its own, and
 * one that a 16 MiB limit OOM-kills.  Those two need root and a writable
 * cgroupfs and are skipped (with the reason) otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crib/backend.h>

#include "cgstats.h"
#include "util.h"

#define MiB (UINT64_C(1) << 20)

/* What the kernel reports for "no limit" on 64-bit v1. */
#define V1_NO_LIMIT "9223372036854771712\n"

struct fixture {
	char dir[64];
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/crib-cgstats-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

#define LONG_NAME "a-rather-long-directory-name"

/*
 * Removes a chain made by make_chain(): nftw() works with full paths and
 * stops at PATH_MAX, so the chain is shortened from the top, one level a step.
 */
static void rm_chain(const char *dir, const char *name)
{
	_cleanup_free_ char *top = crib_xasprintf("%s/%s", dir, name);
	_cleanup_close_ int fd = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	while (renameat(fd, LONG_NAME "/" LONG_NAME, fd, "up") == 0) {
		(void)unlinkat(fd, LONG_NAME, AT_REMOVEDIR);
		(void)renameat(fd, "up", fd, LONG_NAME);
	}
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_chain(f->dir, "deep");
	rm_chain(f->dir, "deeper");
	(void)nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Writes TEXT to DIR/NAME, creating the directories on the way. */
static void put(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *parent = crib_xstrdup(path);
	_cleanup_close_ int fd = -EBADF;
	size_t len = strlen(text);

	*strrchr(parent, '/') = '\0';
	assert_int_equal(crib_mkdir_p(parent, 0755), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
}

static void rm(const char *dir, const char *name)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);

	assert_int_equal(unlink(path), 0);
}

static void mkdirs(const char *dir, const char *name)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);

	assert_int_equal(crib_mkdir_p(path, 0755), 0);
}

static void layout_at(const char *root, unsigned mode, struct oci_cg_layout *l)
{
	assert_int_equal(oci_cg_detect(root, l), 0);
	assert_int_equal(l->mode, mode);
	assert_string_equal(l->root, root);
}

/* The marker files each layout is detected by. */
static void make_v1(const char *root)
{
	put(root, "memory/cgroup.procs", "");
	put(root, "cpuacct/cgroup.procs", "");
	put(root, "pids/cgroup.procs", "");
}

static void make_hybrid(const char *root)
{
	make_v1(root);
	put(root, "unified/cgroup.controllers", "");
}

static void make_v2(const char *root)
{
	put(root, "cgroup.controllers", "cpu memory pids\n");
}

static void test_detect(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *v1 = crib_xasprintf("%s/v1", f->dir);
	_cleanup_free_ char *hy = crib_xasprintf("%s/hybrid", f->dir);
	_cleanup_free_ char *v2 = crib_xasprintf("%s/v2", f->dir);
	_cleanup_free_ char *none = crib_xasprintf("%s/none", f->dir);
	_cleanup_free_ char *gone = crib_xasprintf("%s/gone", f->dir);
	struct oci_cg_layout l = {.mode = 42};
	char longroot[OCI_CG_ROOT_MAX + 8];

	make_v1(v1);
	make_hybrid(hy);
	make_v2(v2);
	mkdirs(f->dir, "none");
	layout_at(v1, OCI_CG_V1, &l);
	layout_at(hy, OCI_CG_HYBRID, &l);
	layout_at(v2, OCI_CG_V2, &l);

	l.mode = 42;
	assert_int_equal(oci_cg_detect(none, &l), -ENOENT);
	assert_int_equal(oci_cg_detect(gone, &l), -ENOENT);
	memset(longroot, 'x', sizeof(longroot) - 1);
	longroot[0] = '/';
	longroot[sizeof(longroot) - 1] = '\0';
	assert_int_equal(oci_cg_detect(longroot, &l), -ENAMETOOLONG);
	assert_int_equal(l.mode, 42); /* untouched on failure */

	assert_string_equal(oci_cg_mode_name(OCI_CG_V1), "v1");
	assert_string_equal(oci_cg_mode_name(OCI_CG_HYBRID), "hybrid");
	assert_string_equal(oci_cg_mode_name(OCI_CG_V2), "v2");
	assert_string_equal(oci_cg_mode_name(0), "unknown");
}

static void test_path(void **state)
{
	struct oci_cg_layout v1 = {.mode = OCI_CG_HYBRID, .root = "/sys/fs/cgroup"};
	struct oci_cg_layout v2 = {.mode = OCI_CG_V2, .root = "/sys/fs/cgroup"};
	char buf[64], tiny[20];

	(void)state;
	assert_int_equal(oci_cg_path(&v1, "memory", "/crib/a", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/sys/fs/cgroup/memory/crib/a");
	assert_int_equal(oci_cg_path(&v2, "memory", "/crib/a", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/sys/fs/cgroup/crib/a");
	/* Names that merely contain dots are fine. */
	assert_int_equal(oci_cg_path(&v2, NULL, "/a/..b/c../...", buf, sizeof(buf)), 0);

	assert_int_equal(oci_cg_path(&v2, NULL, "crib/a", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(oci_cg_path(&v2, NULL, "/crib/../../etc", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(oci_cg_path(&v2, NULL, "/..", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(oci_cg_path(&v2, NULL, "/a/...//..", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(oci_cg_path(&v2, NULL, "system.slice:crib:x", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(oci_cg_path(&v2, NULL, NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(oci_cg_path(&v1, "memory", "/crib/a", tiny, sizeof(tiny)), -ENAMETOOLONG);
}

/* The memory files of a v1 cgroup: 100 MiB used, 30 MiB of it inactive page cache. */
static void make_v1_cgroup(const char *root, const char *path, const char *limit)
{
	_cleanup_free_ char *mem = crib_xasprintf("%s/memory%s", root, path);
	_cleanup_free_ char *cpu = crib_xasprintf("%s/cpuacct%s", root, path);
	_cleanup_free_ char *pids = crib_xasprintf("%s/pids%s", root, path);

	put(mem, "memory.usage_in_bytes", "104857600\n");
	put(mem, "memory.limit_in_bytes", limit);
	put(mem, "memory.memsw.usage_in_bytes", "115343360\n");
	/* The local counters differ from the totals: only the totals cover child cgroups. */
	put(mem, "memory.stat",
	    "cache 1\nrss 2\nrss_huge 0\npgfault 3\npgmajfault 4\ninactive_file 5\n"
	    "hierarchical_memory_limit 268435456\n"
	    "total_cache 41943040\ntotal_rss 52428800\ntotal_rss_huge 0\n"
	    "total_pgfault 1234\ntotal_pgmajfault 5\ntotal_inactive_anon 0\n"
	    "total_active_anon 52428800\ntotal_inactive_file 31457280\n"
	    "total_active_file 10485760\n");
	put(cpu, "cpuacct.usage", "123456789\n");
	put(pids, "pids.current", "7\n");
}

static void assert_v1_numbers(const struct crib_usage *u, bool limited)
{
	uint64_t want = CRIB_USAGE_CPU | CRIB_USAGE_MEMORY_WORKING_SET | CRIB_USAGE_MEMORY_USAGE |
	                CRIB_USAGE_MEMORY_RSS | CRIB_USAGE_PAGE_FAULTS | CRIB_USAGE_SWAP |
	                CRIB_USAGE_PROCESSES;

	if (limited)
		want |= CRIB_USAGE_MEMORY_AVAILABLE;
	assert_int_equal(u->present & ~(uint64_t)CRIB_USAGE_FS, want);
	assert_int_equal(u->cpu_core_ns, 123456789);
	assert_int_equal(u->memory_usage_bytes, 100 * MiB);
	assert_int_equal(u->memory_working_set_bytes, 70 * MiB);
	assert_int_equal(u->memory_available_bytes, limited ? 186 * MiB : 0);
	assert_int_equal(u->memory_rss_bytes, 50 * MiB);
	assert_int_equal(u->page_faults, 1234);
	assert_int_equal(u->major_page_faults, 5);
	assert_int_equal(u->swap_usage_bytes, 10 * MiB);
	assert_int_equal(u->swap_available_bytes, 0);
	assert_int_equal(u->process_count, 7);
}

static void test_usage_v1(void **state)
{
	struct fixture *f = *state;
	struct oci_cg_layout l;
	struct crib_usage u = {0};
	struct timespec ts;
	int64_t before;

	make_v1(f->dir);
	make_v1_cgroup(f->dir, "/crib/pod/ctr", "268435456\n");
	layout_at(f->dir, OCI_CG_V1, &l);

	/* What the caller filled already stays. */
	u.present = CRIB_USAGE_FS | CRIB_USAGE_PROCESSES;
	u.fs_used_bytes = 4096;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	before = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	assert_int_equal(oci_cg_usage(&l, "/crib/pod/ctr", &u), 0);
	assert_v1_numbers(&u, true);
	assert_true(u.present & CRIB_USAGE_FS);
	assert_int_equal(u.fs_used_bytes, 4096);
	assert_true(u.timestamp >= before && u.timestamp < before + 10 * INT64_C(1000000000));
}

static void test_usage_hybrid_unlimited(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *mem = NULL;
	struct oci_cg_layout l;
	struct crib_usage u = {0};

	make_hybrid(f->dir);
	make_v1_cgroup(f->dir, "/crib/c", V1_NO_LIMIT);
	layout_at(f->dir, OCI_CG_HYBRID, &l);
	assert_int_equal(oci_cg_usage(&l, "/crib/c", &u), 0);
	assert_v1_numbers(&u, false);

	/* Just under the cut-off is a limit, however large. */
	mem = crib_xasprintf("%s/memory/crib/c", f->dir);
	put(mem, "memory.limit_in_bytes", "4611686018427387904\n");
	assert_int_equal(oci_cg_usage(&l, "/crib/c", &u), 0);
	assert_true(u.present & CRIB_USAGE_MEMORY_AVAILABLE);
	assert_int_equal(u.memory_available_bytes, (UINT64_C(1) << 62) - 70 * MiB);

	/* A limit below the working set (just lowered) leaves nothing available. */
	put(mem, "memory.limit_in_bytes", "1048576\n");
	assert_int_equal(oci_cg_usage(&l, "/crib/c", &u), 0);
	assert_true(u.present & CRIB_USAGE_MEMORY_AVAILABLE);
	assert_int_equal(u.memory_available_bytes, 0);
}

static void test_usage_v1_edges(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *mem = crib_xasprintf("%s/memory/c", f->dir);
	_cleanup_free_ char *cpu = crib_xasprintf("%s/cpuacct/c", f->dir);
	struct oci_cg_layout l;
	struct crib_usage u = {0};

	make_v1(f->dir);
	layout_at(f->dir, OCI_CG_V1, &l);

	/* Only the cpuacct hierarchy has the cgroup, and no pids.current anywhere. */
	put(cpu, "cpuacct.usage", "42\n");
	put(cpu, "cgroup.procs", "10\n11\n");
	assert_int_equal(oci_cg_usage(&l, "/c", &u), 0);
	assert_int_equal(u.present, CRIB_USAGE_CPU | CRIB_USAGE_PROCESSES);
	assert_int_equal(u.cpu_core_ns, 42);
	assert_int_equal(u.process_count, 2);

	/* More inactive cache than usage (the counters are not read atomically). */
	put(mem, "memory.usage_in_bytes", "1000\n");
	put(mem, "memory.stat", "total_inactive_file 5000\n");
	put(cpu, "cpuacct.usage", "-1\n"); /* junk: left out, not wrapped */
	memset(&u, 0, sizeof(u));
	assert_int_equal(oci_cg_usage(&l, "/c", &u), 0);
	assert_int_equal(u.present, CRIB_USAGE_MEMORY_USAGE | CRIB_USAGE_MEMORY_WORKING_SET);
	assert_int_equal(u.memory_usage_bytes, 1000);
	assert_int_equal(u.memory_working_set_bytes, 0);

	/* No memory.stat at all: all of the usage is working set.  Trailing junk is junk. */
	rm(mem, "memory.stat");
	put(cpu, "cpuacct.usage", "12abc\n");
	memset(&u, 0, sizeof(u));
	assert_int_equal(oci_cg_usage(&l, "/c", &u), 0);
	assert_int_equal(u.present, CRIB_USAGE_MEMORY_USAGE | CRIB_USAGE_MEMORY_WORKING_SET);
	assert_int_equal(u.memory_working_set_bytes, 1000);
}

static void make_v2_cgroup(const char *dir, const char *max)
{
	put(dir, "cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
	put(dir, "memory.current", "52428800\n");
	put(dir, "memory.max", max);
	/* anon_thp and file_* come first: keys must match whole, not as prefixes. */
	put(dir, "memory.stat",
	    "anon_thp 999\nanon 20971520\nfile 25165824\nfile_mapped 1\n"
	    "inactive_anon 0\nactive_anon 20971520\ninactive_file 20971520\n"
	    "active_file 4194304\npgfault 900\npgmajfault 9\n");
	put(dir, "memory.swap.current", "4096\n");
	put(dir, "memory.swap.max", "max\n");
	put(dir, "cgroup.procs", "1\n2\n3\n");
}

static void test_usage_v2(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *dir = crib_xasprintf("%s/crib/p", f->dir);
	struct oci_cg_layout l;
	struct crib_usage u = {0};

	make_v2(f->dir);
	make_v2_cgroup(dir, "max\n");
	layout_at(f->dir, OCI_CG_V2, &l);
	assert_int_equal(oci_cg_usage(&l, "/crib/p", &u), 0);
	assert_int_equal(u.present, CRIB_USAGE_CPU | CRIB_USAGE_MEMORY_WORKING_SET |
	                                CRIB_USAGE_MEMORY_USAGE | CRIB_USAGE_MEMORY_RSS |
	                                CRIB_USAGE_PAGE_FAULTS | CRIB_USAGE_SWAP |
	                                CRIB_USAGE_PROCESSES);
	assert_int_equal(u.cpu_core_ns, 2500000);
	assert_int_equal(u.memory_usage_bytes, 50 * MiB);
	assert_int_equal(u.memory_working_set_bytes, 30 * MiB);
	assert_int_equal(u.memory_rss_bytes, 20 * MiB);
	assert_int_equal(u.page_faults, 900);
	assert_int_equal(u.major_page_faults, 9);
	assert_int_equal(u.swap_usage_bytes, 4096);
	assert_int_equal(u.swap_available_bytes, 0);
	assert_int_equal(u.process_count, 3); /* no pids.current: cgroup.procs counted */

	/* With limits, and the pids controller. */
	put(dir, "memory.max", "134217728\n");
	put(dir, "memory.swap.max", "1048576\n");
	put(dir, "pids.current", "5\n");
	assert_int_equal(oci_cg_usage(&l, "/crib/p", &u), 0);
	assert_true(u.present & CRIB_USAGE_MEMORY_AVAILABLE);
	assert_int_equal(u.memory_available_bytes, 98 * MiB);
	assert_int_equal(u.swap_available_bytes, 1048576 - 4096);
	assert_int_equal(u.process_count, 5);

	/* A second sample into the same struct drops what is gone now. */
	rm(dir, "memory.max");
	rm(dir, "memory.stat");
	assert_int_equal(oci_cg_usage(&l, "/crib/p", &u), 0);
	assert_false(u.present & CRIB_USAGE_MEMORY_AVAILABLE);
	assert_false(u.present & CRIB_USAGE_MEMORY_RSS);
	assert_false(u.present & CRIB_USAGE_PAGE_FAULTS);
	assert_int_equal(u.memory_working_set_bytes, 50 * MiB);
}

/* Missing cgroups and bad paths fail without touching the result. */
static void test_usage_missing(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *v1 = crib_xasprintf("%s/v1", f->dir);
	_cleanup_free_ char *v2 = crib_xasprintf("%s/v2", f->dir);
	_cleanup_free_ char *empty = crib_xasprintf("%s/v2/crib/empty", f->dir);
	struct oci_cg_layout l1, l2;
	struct crib_usage u = {.present = CRIB_USAGE_FS, .cpu_core_ns = 7};
	uint64_t kills = 99;

	make_v1(v1);
	make_v2(v2);
	layout_at(v1, OCI_CG_V1, &l1);
	layout_at(v2, OCI_CG_V2, &l2);
	assert_int_equal(oci_cg_usage(&l1, "/crib/gone", &u), -ENOENT);
	assert_int_equal(oci_cg_usage(&l2, "/crib/gone", &u), -ENOENT);
	assert_int_equal(oci_cg_usage(&l2, "crib/rel", &u), -EINVAL);
	assert_int_equal(oci_cg_usage(&l2, "/crib/../..", &u), -EINVAL);
	assert_int_equal(u.present, CRIB_USAGE_FS);
	assert_int_equal(u.cpu_core_ns, 7);
	assert_int_equal(u.timestamp, 0);
	assert_int_equal(oci_cg_oom_kills(&l1, "/crib/gone", &kills), -ENOENT);
	assert_int_equal(oci_cg_oom_kills(&l2, "/crib/gone", &kills), -ENOENT);
	assert_int_equal(kills, 99);

	/* A cgroup with no controller files at all is there, with nothing to say. */
	mkdirs(empty, "");
	assert_int_equal(oci_cg_usage(&l2, "/crib/empty", &u), 0);
	assert_int_equal(u.present, CRIB_USAGE_FS);
	assert_true(u.timestamp > 0);
	assert_int_equal(oci_cg_oom_kills(&l2, "/crib/empty", &kills), -ENODATA);
}

static void test_oom_kills(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *v1 = crib_xasprintf("%s/v1", f->dir);
	_cleanup_free_ char *v2 = crib_xasprintf("%s/v2", f->dir);
	_cleanup_free_ char *mem1 = crib_xasprintf("%s/memory/c", v1);
	_cleanup_free_ char *cg2 = crib_xasprintf("%s/c", v2);
	struct oci_cg_layout l1, l2;
	uint64_t kills = 99;

	make_v1(v1);
	make_v2(v2);
	layout_at(v1, OCI_CG_V1, &l1);
	layout_at(v2, OCI_CG_V2, &l2);

	put(mem1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
	assert_int_equal(oci_cg_oom_kills(&l1, "/c", &kills), 0);
	assert_int_equal(kills, 3);
	/* Linux before 4.13 had no oom_kill line. */
	put(mem1, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
	kills = 99;
	assert_int_equal(oci_cg_oom_kills(&l1, "/c", &kills), -ENODATA);
	assert_int_equal(kills, 99);

	put(cg2, "memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n");
	assert_int_equal(oci_cg_oom_kills(&l2, "/c", &kills), 0);
	assert_int_equal(kills, 1);
}

/* Allocated bytes of one path as fs usage counts them. */
static uint64_t blocks_of(const char *dir, const char *name)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

static void test_fs_usage(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *layer = crib_xasprintf("%s/layer", f->dir);
	_cleanup_free_ char *gone = crib_xasprintf("%s/gone", f->dir);
	_cleanup_free_ char *big = crib_xasprintf("%s/outside/big", f->dir);
	_cleanup_free_ char *data = crib_xmalloc(1 * MiB + 1);
	_cleanup_free_ char *file = NULL, *hard = NULL, *sym = NULL;
	uint64_t bytes = 1, inodes = 1, want;

	/* A 1 MiB file outside, reachable only through the symlink. */
	memset(data, 'x', 1 * MiB);
	data[1 * MiB] = '\0';
	put(f->dir, "outside/big", data);
	data[100000] = '\0';
	put(layer, "sub/file", data);
	mkdirs(layer, "empty");
	file = crib_xasprintf("%s/sub/file", layer);
	hard = crib_xasprintf("%s/hard", layer);
	sym = crib_xasprintf("%s/sym", layer);
	assert_int_equal(link(file, hard), 0);
	assert_int_equal(symlink(big, sym), 0);

	want = blocks_of(layer, ".") + blocks_of(layer, "sub") + blocks_of(layer, "empty") +
	       blocks_of(layer, "sub/file") + blocks_of(layer, "sym");
	assert_true(blocks_of(layer, "sub/file") >= 100000);
	assert_int_equal(oci_cg_fs_usage(layer, &bytes, &inodes), 0);
	assert_int_equal(bytes, want);
	assert_int_equal(inodes, 5); /* ., sub, empty, the file (twice linked), sym */
	assert_true(bytes < 1 * MiB);

	/* Both links inside the tree still count once; a lone file is a tree of one. */
	assert_int_equal(oci_cg_fs_usage(file, &bytes, &inodes), 0);
	assert_int_equal(inodes, 1);
	assert_int_equal(bytes, blocks_of(layer, "sub/file"));

	bytes = inodes = 7;
	assert_int_equal(oci_cg_fs_usage(gone, &bytes, &inodes), -ENOENT);
	assert_int_equal(bytes, 7);
	assert_int_equal(inodes, 7);
}

/* A file system mounted inside the layer (a volume) is not the layer's. */
static void test_fs_usage_mount(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *layer = crib_xasprintf("%s/layer", f->dir);
	_cleanup_free_ char *mnt = crib_xasprintf("%s/layer/mnt", f->dir);
	_cleanup_free_ char *data = crib_xmalloc(65537);
	uint64_t bytes, inodes, want;
	int r;

	mkdirs(layer, "mnt");
	want = blocks_of(layer, ".") + blocks_of(layer, "mnt");
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") < 0) {
		print_message("skipped: cannot mount tmpfs: %s\n", strerror(errno));
		skip();
	}
	memset(data, 'x', 65536);
	data[65536] = '\0';
	put(mnt, "file", data);
	r = oci_cg_fs_usage(layer, &bytes, &inodes);
	(void)umount2(mnt, MNT_DETACH);
	assert_int_equal(r, 0);
	assert_int_equal(inodes, 1); /* the mount point shows the tmpfs root: neither counts */
	assert_int_equal(bytes, want - blocks_of(layer, "mnt"));
}

/* Makes a chain of DEPTH directories with long names below DIR/NAME, deeper than PATH_MAX. */
static void make_chain(const char *dir, const char *name, int depth)
{
	_cleanup_free_ char *top = crib_xasprintf("%s/%s", dir, name);
	_cleanup_close_ int fd = -EBADF;

	assert_int_equal(mkdir(top, 0755), 0);
	fd = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (int i = 0; i < depth; i++) {
		int next;

		assert_int_equal(mkdirat(fd, LONG_NAME, 0755), 0);
		next = openat(fd, LONG_NAME, O_PATH | O_DIRECTORY | O_CLOEXEC);
		assert_true(next >= 0);
		(void)close(fd);
		fd = next;
	}
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	assert_non_null(d);
	for (;;) {
		de = readdir(d);
		if (!de)
			break;
		n += de->d_name[0] != '.';
	}
	(void)closedir(d);
	return n;
}

/*
 * Deep trees: past PATH_MAX the walk goes on (names are relative); past
 * OCI_CG_FS_MAX_DEPTH it counts the last directory and holds no more fds.
 */
static void test_fs_usage_deep(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *deep = crib_xasprintf("%s/deep", f->dir);
	_cleanup_free_ char *deeper = crib_xasprintf("%s/deeper", f->dir);
	uint64_t bytes, inodes;
	int fds = count_fds();

	make_chain(f->dir, "deep", 200);
	assert_int_equal(oci_cg_fs_usage(deep, &bytes, &inodes), 0);
	assert_int_equal(inodes, 201);
	assert_true(bytes > 0);

	make_chain(f->dir, "deeper", OCI_CG_FS_MAX_DEPTH + 20);
	assert_int_equal(oci_cg_fs_usage(deeper, &bytes, &inodes), 0);
	assert_int_equal(inodes, OCI_CG_FS_MAX_DEPTH + 1);
	assert_int_equal(count_fds(), fds);
}

static const char net_header[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n";

static void test_net(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *text = NULL, *path = crib_xasprintf("%s/net-dev", f->dir);
	struct crib_usage u = {.present = CRIB_USAGE_CPU};

	/* eth0 wins over an earlier interface; the old name in u is freed. */
	text = crib_xasprintf("%s"
	                      "    lo:  500 5 0 0 0 0 0 0  500 5 0 0 0 0 0 0\n"
	                      " veth9: 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n"
	                      "  eth0:18446744073709551615 20 3 0 0 0 0 0 987654 10 4 0 0 0 0 0\n",
	                      net_header);
	put(f->dir, "net-dev", text);
	u.interface = crib_xstrdup("old");
	assert_int_equal(oci_cg_net_file(path, &u), 0);
	assert_string_equal(u.interface, "eth0");
	assert_int_equal(u.present, CRIB_USAGE_CPU | CRIB_USAGE_NETWORK);
	assert_int_equal(u.rx_bytes, UINT64_MAX);
	assert_int_equal(u.rx_errors, 3);
	assert_int_equal(u.tx_bytes, 987654);
	assert_int_equal(u.tx_errors, 4);
	free(u.interface);

	/* No eth0: the first interface that is not loopback. */
	free(text);
	text = crib_xasprintf("%s    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
	                      "  net1: 100 1 2 0 0 0 0 0 200 2 5 0 0 0 0 0\n"
	                      "  net2: 7 1 2 0 0 0 0 0 7 2 5 0 0 0 0 0\n",
	                      net_header);
	put(f->dir, "net-dev", text);
	memset(&u, 0, sizeof(u));
	assert_int_equal(oci_cg_net_file(path, &u), 0);
	assert_string_equal(u.interface, "net1");
	assert_int_equal(u.rx_bytes, 100);
	assert_int_equal(u.rx_errors, 2);
	assert_int_equal(u.tx_bytes, 200);
	assert_int_equal(u.tx_errors, 5);
	free(u.interface);

	/* Only loopback, or a truncated line: nothing to report. */
	free(text);
	text = crib_xasprintf("%s    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
	                      "  eth0: 1 2 3\n",
	                      net_header);
	put(f->dir, "net-dev", text);
	memset(&u, 0, sizeof(u));
	assert_int_equal(oci_cg_net_file(path, &u), -ENODATA);
	assert_null(u.interface);
	assert_int_equal(u.present, 0);

	rm(f->dir, "net-dev");
	assert_int_equal(oci_cg_net_file(path, &u), -ENOENT);
	assert_int_equal(oci_cg_net(0, &u), -EINVAL);
}

/* This process's own namespace through /proc/PID/net/dev: it parses, whatever is there. */
static void test_net_proc(void **state)
{
	struct crib_usage u = {0};
	int r;

	(void)state;
	r = oci_cg_net(getpid(), &u);
	assert_true(r == 0 || r == -ENODATA);
	if (r == 0)
		assert_non_null(u.interface);
	free(u.interface);
}

/* A cgroup of this test's own in every hierarchy oci_cg_usage() reads, and its child. */
struct real {
	struct oci_cg_layout layout;
	char path[64]; /* the cgroups_path: "/crib-cgtest-PID-TAG", at the top as runc puts them */
	char dirs[3][PATH_MAX];
	size_t n_dirs;
	pid_t child;
	int go;    /* write a byte: the child starts touching memory */
	int ready; /* the child wrote a byte when done, or EOF when it died */
};

static int real_setup(void **state)
{
	struct real *r = crib_xcalloc(1, sizeof(*r));

	r->go = r->ready = -EBADF;
	*state = r;
	return 0;
}

static int real_teardown(void **state)
{
	struct real *r = *state;

	if (r->child > 0) {
		(void)kill(r->child, SIGKILL);
		(void)waitpid(r->child, NULL, 0);
	}
	closep(&r->go);
	closep(&r->ready);
	/* An emptied cgroup can stay busy for a moment while the kernel finishes the exit. */
	for (size_t i = r->n_dirs; i-- > 0;)
		for (int tries = 0; rmdir(r->dirs[i]) < 0 && errno == EBUSY && tries < 100; tries++)
			(void)usleep(10000);
	free(r);
	return 0;
}

/* Creates the cgroups; NULL, or why the host cannot run this test. */
static const char *real_prepare(struct real *r, const char *tag)
{
	static const char *const v1[] = {"memory", "cpuacct", "pids"};
	size_t n;

	if (geteuid() != 0)
		return "needs root to create cgroups";
	if (oci_cg_detect(NULL, &r->layout) < 0)
		return "no cgroup hierarchy at /sys/fs/cgroup";
	(void)snprintf(r->path, sizeof(r->path), "/crib-cgtest-%d-%s", (int)getpid(), tag);
	n = r->layout.mode == OCI_CG_V2 ? 1 : ARRAY_SIZE(v1);
	for (size_t i = 0; i < n; i++) {
		char *dir = r->dirs[r->n_dirs];

		assert_int_equal(oci_cg_path(&r->layout, v1[i], r->path, dir, PATH_MAX), 0);
		if (mkdir(dir, 0755) < 0) {
			print_message("mkdir %s: %s\n", dir, strerror(errno));
			return "cannot create cgroups here";
		}
		r->n_dirs++;
	}
	print_message("cgroup layout %s, test cgroup %s\n", oci_cg_mode_name(r->layout.mode),
	              r->path);
	return NULL;
}

static void put_path(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
}

/* Writes TEXT to the cgroup's memory controller file V1_NAME or V2_NAME. */
static void put_memory(const struct real *r, const char *v1_name, const char *v2_name,
                       const char *text)
{
	char dir[PATH_MAX];
	_cleanup_free_ char *path = NULL;

	assert_int_equal(oci_cg_path(&r->layout, "memory", r->path, dir, sizeof(dir)), 0);
	path = crib_xasprintf("%s/%s", dir, r->layout.mode == OCI_CG_V2 ? v2_name : v1_name);
	put_path(path, text);
}

/* The child: waits for GO, touches SIZE bytes of fresh anonymous memory, says so, sleeps. */
static void toucher(int go, int ready, size_t size)
{
	char c;
	char *p;

	if (read(go, &c, 1) != 1)
		_exit(1);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < size; i += 4096)
		p[i] = (char)i | 1;
	if (write(ready, "x", 1) != 1)
		_exit(3);
	for (;;)
		(void)pause();
}

/*
 * Forks the toucher, moves it into every hierarchy's cgroup and lets it run
 * only then, so that all of its memory and CPU is charged there.  Returns
 * whether it reported back (false: it died, e.g. OOM-killed).
 */
static bool run_toucher(struct real *r, size_t size)
{
	int go[2], ready[2];
	struct pollfd pfd;
	char pid[32], c;

	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	r->child = fork();
	assert_true(r->child >= 0);
	if (r->child == 0) {
		(void)close(go[1]);
		(void)close(ready[0]);
		toucher(go[0], ready[1], size);
	}
	(void)close(go[0]);
	(void)close(ready[1]);
	r->go = go[1];
	r->ready = ready[0];
	(void)snprintf(pid, sizeof(pid), "%d", (int)r->child);
	for (size_t i = 0; i < r->n_dirs; i++) {
		_cleanup_free_ char *procs = crib_xasprintf("%s/cgroup.procs", r->dirs[i]);

		put_path(procs, pid);
	}
	assert_int_equal(write(r->go, "x", 1), 1);
	pfd = (struct pollfd){.fd = r->ready, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 30000), 1);
	return read(r->ready, &c, 1) == 1;
}

static void test_real_usage(void **state)
{
	struct real *r = *state;
	struct crib_usage u = {0};
	const char *reason;
	uint64_t kills = 99;

	reason = real_prepare(r, "usage");
	if (reason) {
		print_message("skipped: %s\n", reason);
		skip();
	}
	assert_true(run_toucher(r, 32 * MiB));
	assert_int_equal(oci_cg_usage(&r->layout, r->path, &u), 0);
	print_message(
	    "cpu %" PRIu64 " ns, usage %" PRIu64 ", working set %" PRIu64 ", rss %" PRIu64
	    ", faults %" PRIu64 "/%" PRIu64 ", processes %" PRIu64 ", present %#" PRIx64 "\n",
	    u.cpu_core_ns, u.memory_usage_bytes, u.memory_working_set_bytes, u.memory_rss_bytes,
	    u.page_faults, u.major_page_faults, u.process_count, u.present);
	assert_true(u.present & CRIB_USAGE_MEMORY_WORKING_SET);
	assert_true(u.memory_working_set_bytes >= 32 * MiB);
	assert_true(u.memory_usage_bytes >= u.memory_working_set_bytes);
	assert_true(u.present & CRIB_USAGE_MEMORY_RSS);
	assert_true(u.memory_rss_bytes >= 32 * MiB);
	assert_true(u.present & CRIB_USAGE_PROCESSES);
	assert_int_equal(u.process_count, 1);
	assert_true(u.present & CRIB_USAGE_CPU);
	assert_true(u.cpu_core_ns > 0);
	assert_true(u.present & CRIB_USAGE_PAGE_FAULTS);
	assert_true(u.page_faults > 0);
	assert_false(u.present & CRIB_USAGE_MEMORY_AVAILABLE); /* no limit of its own */
	assert_int_equal(oci_cg_oom_kills(&r->layout, r->path, &kills), 0);
	assert_int_equal(kills, 0);

	/* With a limit, what is left of it. */
	put_memory(r, "memory.limit_in_bytes", "memory.max", "268435456");
	assert_int_equal(oci_cg_usage(&r->layout, r->path, &u), 0);
	assert_true(u.present & CRIB_USAGE_MEMORY_AVAILABLE);
	assert_int_equal(u.memory_available_bytes, 256 * MiB - u.memory_working_set_bytes);
}

static void test_real_oom(void **state)
{
	struct real *r = *state;
	uint64_t kills = 99;
	const char *reason;
	int status;

	reason = real_prepare(r, "oom");
	if (reason) {
		print_message("skipped: %s\n", reason);
		skip();
	}
	put_memory(r, "memory.limit_in_bytes", "memory.max", "16777216");
	assert_int_equal(oci_cg_oom_kills(&r->layout, r->path, &kills), 0);
	assert_int_equal(kills, 0);
	assert_false(run_toucher(r, 64 * MiB));
	assert_int_equal(waitpid(r->child, &status, 0), r->child);
	r->child = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(oci_cg_oom_kills(&r->layout, r->path, &kills), 0);
	assert_int_equal(kills, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_detect, setup, teardown),
	    cmocka_unit_test(test_path),
	    cmocka_unit_test_setup_teardown(test_usage_v1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage_hybrid_unlimited, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage_v1_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage_v2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oom_kills, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fs_usage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fs_usage_mount, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fs_usage_deep, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_net, setup, teardown),
	    cmocka_unit_test(test_net_proc),
	    cmocka_unit_test_setup_teardown(test_real_usage, real_setup, real_teardown),
	    cmocka_unit_test_setup_teardown(test_real_oom, real_setup, real_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
