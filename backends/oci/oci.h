/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The oci backend's internals, shared by its files: oci.c (entry, init,
 * classes), sandbox.c (pods), container.c (containers), shim.c's caller
 * (monitor.c: starting shims, watching them, stopping containers) and files.c.
 *
 * Layout under the backend's run_dir (volatile, like the runtime's own state):
 *   pods/<pod id>/        hostname, hosts, resolv.conf, shm/ (the pod's /dev/shm);
 *                         infra bundle (config.json) and shim files, or
 *                         "ready" for a pod whose namespaces are pinned
 *   ns/<pod id>.{ipc,uts} a pod's pinned namespaces (a private mount point)
 *   containers/<id>/      bundle (config.json) and shim files: pid, shim.pid,
 *                         exit, reopened; started (written by container_start)
 *   roots/<class>/        the runtime's --root when the class names none
 * and under state_dir: pause/ (the infra root filesystem: /pause only).
 */
#ifndef CRIB_OCI_OCI_H
#define CRIB_OCI_OCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include <crib/backend.h>

#include "cgstats.h"
#include "runtime.h"
#include "spec.h"

struct oci_watch;

struct oci_state {
	const struct crib_host *host;
	char *shim;       /* the crib-shim binary */
	char *pause_root; /* the infra root filesystem */
	int own_oom_score_adj;
	struct oci_cg_layout cg;
	struct oci_host_features features;
	/* The monitor thread: shims' pidfds in an epoll set, woken through an eventfd. */
	pthread_t monitor;
	bool monitor_running;
	int epfd;
	int wake_fd;
	pthread_mutex_t lock;
	struct oci_watch *watches; /* under lock */
	bool stopping;
};

struct oci_class {
	struct oci_runtime rt;
	/*
	 * pod_sandbox = container: every pod gets an infra container, and specs
	 * carry io.kubernetes.cri.container-type and sandbox-id, with which
	 * runtimes that read them (runsc, kata) put a pod's containers into the
	 * infra's sandbox.  Else (namespaces) a pod's namespaces are pinned to
	 * files and only pods sharing a PID namespace get an infra container.
	 */
	bool infra;
};

/*
 * The flavor the module is built as: oci (flavor.c: any OCI runtime binary a
 * class names) or lxc (backends/lxc/flavor.c: crib-lxc, liblxc's containers).
 * oci_flavor_class checks CLS's keys and fills C's runtime and infra from
 * them; its errors name the key.
 */
extern const char oci_flavor_name[];
int oci_flavor_class(struct oci_state *st, const struct crib_class *cls, struct oci_class *c,
                     struct crib_error **reterr);

/*
 * Where helper NAME (crib-shim, crib-pause, crib-lxc) is: the [backend.NAME]
 * KEY setting, else next to this module, as installed and in the build tree.
 * The caller frees it.
 */
char *oci_helper_path(const struct crib_host *host, const char *key, const char *name);

/* What cribd keeps for us in each object's priv blob. */
struct oci_priv {
	pid_t shim;                    /* the monitor process */
	unsigned long long shim_start; /* its start time, to tell it from a reused pid */
	pid_t pid;                     /* the container's (or infra's) process on the host */
	char *cgroup;                  /* cgroupsPath; for a pod its parent of every container */
	char *upper;                   /* containers: the writable layer */
	int stop_signal;               /* containers: the signal Stop sends first */
	char *netns;                   /* pods without infra: the network namespace cribd made */
	char *log_path;                /* containers: the CRI log the shim writes */
	/* Containers, from ContainerConfig: the shim holds a stdin pipe for Attach. */
	bool stdin;
	bool stdin_once; /* an attach session's end of input closes it */
	bool tty;        /* process.terminal: the shim takes the terminal's master */
};

static inline const struct oci_class *oci_cls(const struct crib_class *cls)
{
	return cls->data;
}

static inline const struct oci_runtime *oci_rt(const struct crib_class *cls)
{
	return &((const struct oci_class *)cls->data)->rt;
}

/* priv.c */
int oci_priv_parse(const struct crib_host *host, const void *blob, size_t len, struct oci_priv *ret,
                   struct crib_error **reterr);
/* Sets *ret to a malloc'd JSON encoding (the caller's, then cribd's). */
void oci_priv_encode(const struct oci_priv *p, struct crib_blob *ret);
void oci_priv_clear(struct oci_priv *p);

/* files.c */
/* Writes TEXT to DIR/NAME through a temporary file and rename(2), mode 0644. */
int oci_write_file(const char *dir, const char *name, const char *text, size_t len);
/* Reads DIR/NAME (at most 1 MiB); *ret malloc'd, NUL-terminated. */
int oci_read_file(const char *dir, const char *name, char **ret);
/*
 * The pod's hostname, hosts and resolv.conf (CFG's DNS config, else the
 * host's), written into DIR for its containers to bind-mount (spec.h's
 * oci_pod_files); with HOST_NET the host's name and hosts.
 */
int oci_write_pod_files(const char *dir, const Runtime__V1__PodSandboxConfig *cfg, bool host_net);
/*
 * Where those files are under POD_DIR, with the pod's shm directory when
 * SHARED_SHM, into F; the paths are malloc'd into PATHS (the caller frees
 * all four, NULL ones included).
 */
void oci_pod_files(const char *pod_dir, bool shared_shm, struct oci_pod_files *f, char *paths[4]);
/*
 * Writes SPEC as DIR/config.json, without the sandbox annotations unless the
 * class runs every pod in an infra container (which they would name).
 */
int oci_write_config(const struct crib_host *host, const struct oci_class *cls, const char *dir,
                     json_t *spec, struct crib_error **reterr);
/* Copies SRC to DST (through a temporary file and rename(2)) with MODE. */
int oci_copy_file(const char *src, const char *dst, unsigned mode);
/* Removes DIR and everything below it, not crossing mounts; idempotent. */
int oci_rm_rf(const char *dir);
/* A pidfd for PID if it is still the process that started at START; else -ESRCH. */
int oci_pidfd_checked(pid_t pid, unsigned long long start);
/* malloc'd "<run_dir>/<kind>/<id>". */
char *oci_dir(const struct oci_state *st, const char *kind, const char *id);
/* malloc'd "<run_dir>/ns/<pod id>.<ns>": where a pod's IPC or UTS namespace is pinned. */
char *oci_pod_ns(const struct oci_state *st, const char *pod_id, const char *ns);

/* monitor.c */
int oci_monitor_start(struct oci_state *st, struct crib_error **reterr);
void oci_monitor_stop(struct oci_state *st);
/* How oci_shim_run starts a container. */
enum oci_shim_flags {
	OCI_SHIM_STDIN = 1u << 0, /* the shim holds the container's stdin, for Attach */
	OCI_SHIM_TTY = 1u << 1,   /* process.terminal: the shim takes the terminal's master */
};

/*
 * Starts crib-shim for the bundle in DIR: the runtime creates and starts
 * container ID as FLAGS (enum oci_shim_flags) say.  Returns the shim's and the
 * container's pids.
 */
int oci_shim_run(struct oci_state *st, const struct oci_runtime *rt, const char *id,
                 const char *dir, const char *log_path, unsigned flags, struct oci_priv *ret,
                 struct crib_error **reterr);
/*
 * "SHIM [MODE] --runtime BIN [--runtime-arg ARG]... --id ID --dir DIR", with
 * room for N_MORE more arguments and the NULL; *ret_n counts the ones so far.
 * The strings are borrowed, the array is the caller's.
 */
const char **oci_shim_argv(const struct oci_state *st, const struct oci_runtime *rt,
                           const char *mode, const char *id, const char *dir, size_t n_more,
                           size_t *ret_n);
/* Watches the shim of ID; an exit becomes an event (a pod's: not ready). */
void oci_watch_add(struct oci_state *st, const char *id, bool pod, const char *dir,
                   const struct oci_priv *p);
void oci_watch_remove(struct oci_state *st, const char *id);
/*
 * Stops ID: SIG, then SIGKILL after timeout_s, and waits for its shim to go.
 * With op it may finish asynchronously (CRIB_ASYNC); without, it blocks.
 */
int oci_stop(struct oci_state *st, struct crib_op *op, const struct oci_runtime *rt, const char *id,
             const char *dir, const struct oci_priv *p, int sig, int64_t timeout_s,
             struct crib_error **reterr);
/*
 * Kills ID (without grace), waits for its shim to go and deletes it from the
 * runtime's state: the common part of removing a container and a pod's infra.
 * Idempotent; a DIR without a shim's traces means the runtime never had ID.
 */
int oci_kill_delete(struct oci_state *st, const struct oci_runtime *rt, const char *id,
                    const char *dir, const struct oci_priv *p, struct crib_error **reterr);
/*
 * The shim of DIR's monitor file: 1 with p->shim, p->shim_start, p->pid and
 * the container's start time (ns, may be NULL), 0 when no shim ran it yet.
 */
int oci_monitor_read(const char *dir, struct oci_priv *p, int64_t *ret_started);
/* The exit DIR's shim recorded: 1 with the code and time, 0 when none yet. */
int oci_exit_read(const char *dir, int32_t *ret_code, int64_t *ret_at);

/* sandbox.c */
int oci_pod_run(void *state, struct crib_op *op, const struct crib_pod_spec *spec,
                struct crib_pod_result *ret, struct crib_error **reterr);
int oci_pod_stop(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                 struct crib_error **reterr);
int oci_pod_remove(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                   struct crib_error **reterr);
int oci_pod_status(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                   struct crib_pod_status *ret, struct crib_error **reterr);
int oci_pod_stats(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                  struct crib_usage *ret, struct crib_error **reterr);
/* Whether the pod P (its record) with the id POD_ID still holds its namespaces. */
bool oci_pod_ready(const struct oci_state *st, const char *pod_id, const struct oci_priv *p);

/* container.c */
int oci_container_create(void *state, struct crib_op *op, const struct crib_container_spec *spec,
                         struct crib_container_result *ret, struct crib_error **reterr);
int oci_container_start(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        struct crib_error **reterr);
int oci_container_stop(void *state, struct crib_op *op, const struct crib_container_ref *c,
                       int64_t timeout_s, struct crib_error **reterr);
int oci_container_remove(void *state, struct crib_op *op, const struct crib_container_ref *c,
                         struct crib_error **reterr);
int oci_container_status(void *state, struct crib_op *op, const struct crib_container_ref *c,
                         struct crib_container_status *ret, struct crib_error **reterr);
int oci_container_stats(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        struct crib_usage *ret, struct crib_error **reterr);
int oci_container_reopen_log(void *state, struct crib_op *op, const struct crib_container_ref *c,
                             struct crib_error **reterr);
int oci_container_update(void *state, struct crib_op *op, const struct crib_container_ref *c,
                         const uint8_t *req, size_t req_len, struct crib_error **reterr);
int oci_exec_sync(void *state, struct crib_op *op, const struct crib_exec_sync_args *args,
                  struct crib_exec_sync_result *ret, struct crib_error **reterr);
/*
 * Our record of the running container C (*ret_p, cleared by oci_priv_clear)
 * and its directory (*ret_dir, malloc'd): -EBUSY unless it runs.
 */
int oci_container_running(struct oci_state *st, const struct crib_container_ref *c,
                          struct oci_priv *ret_p, char **ret_dir, struct crib_error **reterr);
/* stream.c: Exec and Attach sessions (ABI 1.2). */
int oci_stream_open(void *state, struct crib_op *op, const struct crib_stream_args *args,
                    struct crib_stream_result *ret, struct crib_error **reterr);
int oci_stream_resize(void *state, void *handle, uint16_t width, uint16_t height,
                      struct crib_error **reterr);
int oci_stream_finish(void *state, void *handle, int32_t *ret_exit_code,
                      struct crib_error **reterr);
void oci_stream_close(void *state, void *handle);

/* Fills one reconcile item (pods and containers) and re-arms its watch. */
void oci_reconcile_item(struct oci_state *st, struct crib_reconcile_item *it);

#endif /* CRIB_OCI_OCI_H */
