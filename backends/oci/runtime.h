/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running an OCI runtime binary (runc, crun, runsc, kata-runtime) and the
 * processes around it: argv with the class's global arguments, output
 * collected with a bound, a deadline that kills, errors as one line.
 */
#ifndef CRIB_OCI_RUNTIME_H
#define CRIB_OCI_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <crib/backend.h>

/* A runtime class's binary and the global arguments every call starts with. */
struct oci_runtime {
	char *binary;
	char **global; /* --root DIR, then runtime_args */
	size_t n_global;
	/*
	 * Its exec has no --tty: a console socket alone asks for a terminal
	 * (runsc).  runc, crun and kata-runtime take --tty with it.
	 */
	bool exec_console_only;
	/*
	 * Its run leaves a monitor of its own as the init's parent, which exits as
	 * the init did (crib-lxc: liblxc's monitor): crib-shim --monitor-exit.
	 */
	bool monitor_exit;
};

/* What a finished process left. */
struct oci_proc_result {
	char *out; /* malloc'd, NUL-terminated; at most the bound given */
	size_t out_len;
	char *err;
	size_t err_len;
	int status;     /* as waitpid(2) */
	bool timed_out; /* the deadline passed and the process was killed */
};

/* Frees the buffers; the struct is reusable. */
void oci_proc_result_clear(struct oci_proc_result *res);

/*
 * The exit code a shell would print for STATUS: the code, or 128 + the
 * signal that killed the process.
 */
int oci_exit_code(int status);

/*
 * Starts ARGV (argv[0] an absolute path) with STDIO[0..2] as its stdin, stdout
 * and stderr (/dev/null where negative), KEEP_FD (when not negative)
 * inherited as it is, no other fd, no signal blocked or ignored.
 */
int oci_spawn_stdio(const char *const *argv, const int stdio[3], int keep_fd, pid_t *ret_pid);
/* oci_spawn_stdio with stdin from /dev/null. */
int oci_spawn(const char *const *argv, int out, int err, int keep_fd, pid_t *ret_pid);

/*
 * Runs ARGV (argv[0] an absolute path) with stdin from /dev/null, collects
 * stdout and stderr (each cut at max_out bytes) and waits.  With timeout_ms
 * > 0 the process is killed when it passes; on_timeout (may be NULL) runs
 * first, so that a caller can kill what the process started (an exec'd
 * process inside a container).  Returns 0 once the process is gone, whatever
 * its status; -errno when it could not be run.  *res is the caller's.
 */
int oci_proc_run(const char *const *argv, int64_t timeout_ms, size_t max_out,
                 void (*on_timeout)(void *ctx), void *ctx, struct oci_proc_result *res);

/*
 * Runs the runtime: BINARY GLOBAL... ARGS... (args NULL-terminated) and fails
 * unless it exits 0, with the runtime's own error message (runc's logfmt
 * msg="..." value, else its last line of stderr) prefixed by WHAT.  *ret_out
 * (may be NULL) gets its stdout, malloc'd.
 */
int oci_runtime_call(const struct crib_host *host, const struct oci_runtime *rt,
                     const char *const *args, int64_t timeout_ms, char **ret_out,
                     struct crib_error **reterr);

/*
 * A malloc'd NULL-terminated argv: BINARY GLOBAL... ARGS...; the strings are
 * borrowed from rt and args, only the array is the caller's.
 */
const char **oci_runtime_argv(const struct oci_runtime *rt, const char *const *args);

/* Deletes container ID from the runtime's state (killing it); idempotent. */
int oci_runtime_delete(const struct crib_host *host, const struct oci_runtime *rt, const char *id,
                       struct crib_error **reterr);

void oci_runtime_clear(struct oci_runtime *rt);

#endif /* CRIB_OCI_RUNTIME_H */
