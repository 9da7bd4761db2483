/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib's default seccomp profile is an allowlist: every syscall not listed
 * fails with EPERM.  The list follows Docker's default profile (the syscall
 * names are kernel facts; the grouping is ours): what ordinary programs need,
 * plus the syscalls a capability exists for when the process has that
 * capability, so that adding CAP_SYS_TIME to a container also lets it call
 * settimeofday().
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <crib/backend.h>

#include "crirules.h"
#include "seccomp_profile.h"
#include "util.h"

/* The flags that make clone(2) create namespaces. */
#define CLONE_NAMESPACE_FLAGS                                                                      \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET)

struct seccomp_arg {
	unsigned index;
	uint64_t value;
	uint64_t value_two;
	const char *op;
};

struct seccomp_rule {
	const char *const *names;      /* NULL-terminated */
	uint64_t if_caps;              /* only when the bounding set has all of these */
	uint64_t unless_caps;          /* only when it has none of these */
	const struct seccomp_arg *arg; /* NULL: whatever the arguments */
	int errno_ret;                 /* 0: allow; else fail with this errno */
};

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ARG(i, op_, v, v2)                                                                         \
	(&(const struct seccomp_arg){.index = (i), .op = (op_), .value = (v), .value_two = (v2)})

static const char *const base_syscalls[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir",
    "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
    "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
    "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents",
    "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
    "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
    "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
    "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
    "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
    "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link",
    "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr",
    "lstat", "lstat64", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
    "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv",
    "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
    "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
    "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
    "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
    "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
    "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat",
    "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
    "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget",
    "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
    "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid",
    "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
    "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice",
    "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
    "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice",
    "wait4", "waitid", "waitpid", "write", "writev",
    /* Since Linux 4.8 ptrace cannot be used to bypass seccomp any more. */
    "process_vm_readv", "process_vm_writev", "ptrace", NULL};

static const struct seccomp_rule rules[] = {
    {.names = base_syscalls},
    /* Everything but AF_VSOCK (40), whose addresses are the host's. */
    {.names = NAMES("socket"), .arg = ARG(0, "SCMP_CMP_NE", 40, 0)},
    /* personality(2) only for the harmless personas: PER_LINUX, PER_LINUX32, UNAME26, query. */
    {.names = NAMES("personality"), .arg = ARG(0, "SCMP_CMP_EQ", 0x0, 0)},
    {.names = NAMES("personality"), .arg = ARG(0, "SCMP_CMP_EQ", 0x8, 0)},
    {.names = NAMES("personality"), .arg = ARG(0, "SCMP_CMP_EQ", 0x20000, 0)},
    {.names = NAMES("personality"), .arg = ARG(0, "SCMP_CMP_EQ", 0x20008, 0)},
    {.names = NAMES("personality"), .arg = ARG(0, "SCMP_CMP_EQ", 0xffffffff, 0)},
#if defined(__x86_64__)
    {.names = NAMES("arch_prctl", "modify_ldt")},
#elif defined(__aarch64__)
    {.names = NAMES("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                    "cacheflush", "set_tls")},
#endif
    {.names = NAMES("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
                    "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
                    "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
                    "setns", "syslog", "umount", "umount2", "unshare"),
     .if_caps = OCI_CAP(CAP_SYS_ADMIN)},
    /* Without CAP_SYS_ADMIN: clone(2) for threads and processes, but not for namespaces. */
    {.names = NAMES("clone"),
     .unless_caps = OCI_CAP(CAP_SYS_ADMIN),
     .arg = ARG(0, "SCMP_CMP_MASKED_EQ", CLONE_NAMESPACE_FLAGS, 0)},
    /*
     * clone3(2) passes its flags in memory, where seccomp cannot look: ENOSYS
     * makes the C libraries fall back to clone(2), which the rule above checks.
     */
    {.names = NAMES("clone3"), .unless_caps = OCI_CAP(CAP_SYS_ADMIN), .errno_ret = ENOSYS},
    {.names = NAMES("open_by_handle_at"), .if_caps = OCI_CAP(CAP_DAC_READ_SEARCH)},
    {.names = NAMES("reboot"), .if_caps = OCI_CAP(CAP_SYS_BOOT)},
    {.names = NAMES("chroot"), .if_caps = OCI_CAP(CAP_SYS_CHROOT)},
    {.names = NAMES("delete_module", "init_module", "finit_module"),
     .if_caps = OCI_CAP(CAP_SYS_MODULE)},
    {.names = NAMES("acct"), .if_caps = OCI_CAP(CAP_SYS_PACCT)},
    {.names = NAMES("kcmp", "pidfd_getfd", "process_madvise"), .if_caps = OCI_CAP(CAP_SYS_PTRACE)},
    {.names = NAMES("iopl", "ioperm"), .if_caps = OCI_CAP(CAP_SYS_RAWIO)},
    {.names = NAMES("settimeofday", "stime", "clock_settime", "clock_settime64"),
     .if_caps = OCI_CAP(CAP_SYS_TIME)},
    {.names = NAMES("vhangup"), .if_caps = OCI_CAP(CAP_SYS_TTY_CONFIG)},
    {.names = NAMES("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
     .if_caps = OCI_CAP(CAP_SYS_NICE)},
    {.names = NAMES("syslog"), .if_caps = OCI_CAP(CAP_SYSLOG)},
    {.names = NAMES("bpf"), .if_caps = OCI_CAP(CAP_BPF)},
    {.names = NAMES("perf_event_open"), .if_caps = OCI_CAP(CAP_PERFMON)},
};

/* The architectures a process of this host may call the kernel with. */
#if defined(__x86_64__)
#define ARCHITECTURES NAMES("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
#elif defined(__aarch64__)
#define ARCHITECTURES NAMES("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM")
#else
/* Elsewhere the runtime's native architecture only. */
#define ARCHITECTURES NULL
#endif

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();

	for (; a && *v; v++)
		if (json_array_append_new(a, json_string(*v)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *rule_json(const struct seccomp_rule *rule)
{
	_cleanup_(json_decrefp) json_t *o = NULL;
	const struct seccomp_arg *a = rule->arg;

	o = json_pack("{s:o, s:s}", "names", strv_json(rule->names), "action",
	              rule->errno_ret ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW");
	if (!o)
		return NULL;
	if (rule->errno_ret &&
	    json_object_set_new(o, "errnoRet", json_integer(rule->errno_ret)) < 0)
		return NULL;
	if (a && json_object_set_new(o, "args",
	                             json_pack("[{s:i, s:I, s:I, s:s}]", "index", (int)a->index,
	                                       "value", (json_int_t)a->value, "valueTwo",
	                                       (json_int_t)a->value_two, "op", a->op)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static bool rule_applies(const struct seccomp_rule *rule, uint64_t caps)
{
	return (caps & rule->if_caps) == rule->if_caps && (caps & rule->unless_caps) == 0;
}

int oci_seccomp_default(uint64_t caps, json_t **ret)
{
	_cleanup_(json_decrefp) json_t *p = NULL;
	const char *const *arches = ARCHITECTURES;
	json_t *syscalls = json_array();

	p = json_pack("{s:s, s:i, s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet",
	              EPERM, "syscalls", syscalls);
	if (!p)
		return -ENOMEM;
	if (arches && json_object_set_new(p, "architectures", strv_json(arches)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (rule_applies(&rules[i], caps) &&
		    json_array_append_new(syscalls, rule_json(&rules[i])) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(p);
	return 0;
}

/* Feeds jansson at most OCI_SECCOMP_FILE_MAX bytes of a file. */
struct bounded_reader {
	int fd;
	size_t total;
	int error; /* errno of a failed read, or E2BIG */
};

static size_t bounded_read(void *buf, size_t len, void *data)
{
	struct bounded_reader *br = data;
	ssize_t n;

	if (len > OCI_SECCOMP_FILE_MAX + 1 - br->total)
		len = OCI_SECCOMP_FILE_MAX + 1 - br->total;
	do
		n = read(br->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		br->error = errno;
		return (size_t)-1;
	}
	br->total += (size_t)n;
	if (br->total > OCI_SECCOMP_FILE_MAX) {
		br->error = E2BIG;
		return (size_t)-1;
	}
	return (size_t)n;
}

static int parse_profile(const struct crib_host *host, const char *field, const char *path, int fd,
                         json_t **ret, struct crib_error **reterr)
{
	struct bounded_reader br = {.fd = fd};
	json_error_t jerr;
	json_t *p;

	p = json_load_callback(bounded_read, &br, 0, &jerr);
	if (br.error == E2BIG)
		return host->error_set(reterr, E2BIG, "%s '%s': larger than %d bytes", field, path,
		                       OCI_SECCOMP_FILE_MAX);
	if (br.error)
		return host->error_set(reterr, br.error, "%s '%s': %s", field, path,
		                       strerror(br.error));
	if (!p)
		return host->error_set(reterr, EINVAL, "%s '%s': invalid JSON at %d:%d: %s", field,
		                       path, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(p) || !json_is_string(json_object_get(p, "defaultAction"))) {
		json_decref(p);
		return host->error_set(reterr, EINVAL,
		                       "%s '%s': not a seccomp profile (an object with a "
		                       "defaultAction)",
		                       field, path);
	}
	*ret = p;
	return 0;
}

int oci_seccomp_load(const struct crib_host *host, const char *field, const char *path,
                     json_t **ret, struct crib_error **reterr)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	if (path[0] != '/')
		return host->error_set(reterr, EINVAL, "%s '%s': not an absolute path", field,
		                       path);
	/* O_NONBLOCK: a FIFO in its place must not hang the worker. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0)
		return host->error_set(reterr, errno, "%s '%s': %s", field, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return host->error_set(reterr, EINVAL, "%s '%s': not a regular file", field, path);
	return parse_profile(host, field, path, fd, ret, reterr);
}

int oci_seccomp_select(const struct crib_host *host, const char *field,
                       const Runtime__V1__SecurityProfile *profile, const char *deprecated_path,
                       uint64_t caps, json_t **ret, struct crib_error **reterr)
{
	_cleanup_free_ char *name = NULL;
	struct crib_cri_seccomp p;
	int r;

	r = crib_cri_seccomp_profile(host, field, profile, deprecated_path, &p, reterr);
	if (r < 0)
		return r;
	switch (p.kind) {
	case CRIB_CRI_PROFILE_UNCONFINED:
		*ret = NULL;
		return 0;
	case CRIB_CRI_PROFILE_LOCALHOST:
		name = crib_xasprintf("%s.%s", field, p.key);
		return oci_seccomp_load(host, name, p.path, ret, reterr);
	case CRIB_CRI_PROFILE_DEFAULT:
		break;
	}
	r = oci_seccomp_default(caps, ret);
	if (r < 0)
		return host->error_set(reterr, -r, "Out of memory");
	return 0;
}
