/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The crib backend ABI: the only header a backend module includes.
 *
 * A backend is a shared object in cribd's plugin directory that exports one
 * symbol, crib_backend_entry(), returning a const table of operations.  cribd
 * hands the backend a table of host services at init.  Nothing else crosses
 * the boundary: a backend never links against cribd's symbols, and cribd
 * never reaches into a backend except through the ops table.
 *
 * Versioning.  Both tables start with abi_major, abi_minor and struct_size.
 * A different major is refused at load time.  Within a major the tables only
 * grow at their end (minor bumps): a member marked "since 1.N" exists only
 * when the other side's abi_minor >= N, which for the ops table is also what
 * CRIB_BACKEND_HAS_OP() checks through struct_size.  Argument and result
 * structs follow the same rule: cribd never passes a member a backend's minor
 * does not know, and a backend writes a result member only when
 * host->abi_minor says cribd has it.
 *
 * Threading.  cribd runs one event loop thread that never calls a backend.
 * Every op runs on one of cribd's worker threads and may block:
 *  - init, fini, class_open and class_close never run concurrently with each
 *    other; class_open/class_close may run while ops on other classes run;
 *  - lifecycle ops (pod_run, pod_stop, pod_remove, container_create,
 *    container_start, container_stop, container_remove, container_update,
 *    pod_update, container_reopen_log) of one pod and its containers never
 *    overlap; different pods run in parallel;
 *  - query ops (pod_status, container_status, exec_sync, container_stats,
 *    pod_stats, health) may run concurrently with anything, including a
 *    lifecycle op on the same object;
 *  - reconcile runs once per cribd start, before any other op touches the
 *    objects it lists.
 * A long wait (a stop timeout, a VM shutdown) should not hold a worker: the op
 * returns CRIB_ASYNC and finishes later through host->op_done().  Host
 * services are thread-safe and may be called from any thread, including the
 * backend's own.
 *
 * Errors.  Every function that can fail returns 0 (or a non-negative value)
 * on success and a negative errno on failure, and on failure sets *reterr
 * through host->error_set() (reterr may be NULL when the caller only wants the
 * code).  cribd maps the errno to the gRPC status kubelet sees:
 *   ENOENT, ESRCH            -> NOT_FOUND
 *   EEXIST                   -> ALREADY_EXISTS
 *   EINVAL, E2BIG, ENAMETOOLONG -> INVALID_ARGUMENT
 *   EBUSY, ENOTEMPTY, EALREADY, ENOEXEC -> FAILED_PRECONDITION
 *   ENOTSUP, EOPNOTSUPP, ENOSYS -> UNIMPLEMENTED
 *   EAGAIN, ECONNREFUSED, ENOTCONN, EHOSTUNREACH, ECONNRESET, EPIPE -> UNAVAILABLE
 *   ETIMEDOUT                -> DEADLINE_EXCEEDED
 *   EPERM, EACCES            -> PERMISSION_DENIED
 *   ENOMEM, ENOSPC, EMFILE, ENFILE, EDQUOT -> RESOURCE_EXHAUSTED
 *   ECANCELED                -> CANCELLED
 *   EKEYREJECTED             -> UNAUTHENTICATED (credentials refused)
 *   EBADMSG                  -> DATA_LOSS (content does not match its digest)
 *   anything else            -> INTERNAL
 * The message should name the object and say what failed; cribd prefixes the
 * method and logs it once.  Backends do not log errors they return.
 *
 * Ownership.  Pointers in arguments belong to cribd and stay valid until the
 * op returns or, for CRIB_ASYNC, until host->op_done() is called.  Result
 * structs are zeroed by cribd before the call; every pointer a backend stores
 * in one must come from malloc(3) and belongs to cribd from that moment,
 * whether the op then succeeds or fails (cribd frees them with free(3)).
 */
#ifndef CRIB_API_BACKEND_H
#define CRIB_API_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#define CRIB_BACKEND_ABI_MAJOR    1u
#define CRIB_BACKEND_ABI_MINOR    4u
#define CRIB_BACKEND_ENTRY_SYMBOL "crib_backend_entry"
#define CRIB_EXPORT               __attribute__((visibility("default")))

/* Returned by an op that will finish later through host->op_done(). */
#define CRIB_ASYNC 1

/* ExecSync output beyond this many bytes per stream is discarded (CRI asks for 16 MiB). */
#define CRIB_EXEC_OUTPUT_MAX (16u * 1024u * 1024u)

struct crib_error;      /* opaque; made only by host->error_set() */
struct crib_op;         /* opaque; one invocation of an op */
struct crib_log_writer; /* opaque; a CRI-format log file */

/* Optional features.  A bit set here promises the matching op is present. */
enum crib_backend_caps {
	CRIB_CAP_EXEC_SYNC = 1u << 0,        /* exec_sync */
	CRIB_CAP_CONTAINER_STATS = 1u << 1,  /* container_stats */
	CRIB_CAP_POD_STATS = 1u << 2,        /* pod_stats */
	CRIB_CAP_REOPEN_LOG = 1u << 3,       /* container_reopen_log */
	CRIB_CAP_UPDATE_RESOURCES = 1u << 4, /* container_update */
	CRIB_CAP_POD_UPDATE = 1u << 5,       /* pod_update */
	CRIB_CAP_POD_STATUS = 1u << 6,       /* pod_status */
	CRIB_CAP_HEALTH = 1u << 7,           /* health */
	/*
	 * The backend creates the pod's network namespace itself and reports it
	 * in crib_pod_result.netns_path (docker's sandbox container); without it
	 * cribd creates the namespace and passes crib_pod_spec.netns_path.
	 */
	CRIB_CAP_OWN_NETNS = 1u << 8,
	/*
	 * Since 1.1.  The backend keeps images itself (docker's image store):
	 * cribd hands the ImageService calls for its classes to image_pull,
	 * image_status, image_list, image_remove and image_fs_info instead of
	 * serving them from its own store, and its containers get no image_*
	 * fields in crib_container_spec (only image, as kubelet sent it).
	 */
	CRIB_CAP_OWN_IMAGES = 1u << 9,
	/*
	 * Since 1.2.  Exec and Attach sessions: stream_open, stream_resize,
	 * stream_finish and stream_close.  Without it those RPCs answer
	 * UNIMPLEMENTED for the backend's classes.
	 */
	CRIB_CAP_STREAMS = 1u << 10,
	/*
	 * Since 1.4.  PortForward goes through port_connect: cribd's own dial
	 * inside the pod's network namespace cannot reach a guest (a VM's
	 * loopback is its own).
	 */
	CRIB_CAP_PORT_FORWARD = 1u << 11,
};

/* Per-class features, reported by class_open; they feed CRI's RuntimeHandlerFeatures. */
enum crib_class_features {
	CRIB_FEATURE_RECURSIVE_READ_ONLY_MOUNTS = 1u << 0,
	CRIB_FEATURE_USER_NAMESPACES = 1u << 1,
};

/* Log levels, as syslog(3). */
enum crib_log_level {
	CRIB_LOG_ERR = 3,
	CRIB_LOG_WARNING = 4,
	CRIB_LOG_NOTICE = 5,
	CRIB_LOG_INFO = 6,
	CRIB_LOG_DEBUG = 7,
};

/* One key = value line of a config section, in file order. */
struct crib_kv {
	const char *key;
	const char *value;
	const char *file; /* the config file it came from */
	uint32_t line;
};

/*
 * A runtime class ([runtime.NAME] in cribd's config).  Owned by cribd and
 * immutable while any op can see it; a reload that changes a class's keys
 * opens a new crib_class and keeps the old one for the pods created with it.
 */
struct crib_class {
	const char *name;
	const char *file; /* where the section starts */
	uint32_t line;
	const struct crib_kv *kv; /* every key except "backend" */
	size_t n_kv;
	void *data; /* what class_open returned in *ret_data */
};

/* A byte string a backend hands to cribd (malloc'd; cribd owns it once set). */
struct crib_blob {
	void *data;
	size_t len;
};

/*
 * A pod as later ops see it.  priv is the blob the backend returned from
 * pod_run; cribd stores it with the pod and hands it back on every op, also
 * after a restart, so that the backend needs no index of its own.
 */
struct crib_pod_ref {
	const char *id; /* 64 lowercase hex digits */
	const struct crib_class *cls;
	const void *priv;
	size_t priv_len;
};

struct crib_container_ref {
	const char *id; /* 64 lowercase hex digits */
	struct crib_pod_ref pod;
	const void *priv;
	size_t priv_len;
};

/*
 * RunPodSandbox.  cribd has validated the metadata.  Everything else a backend
 * may need is in cri_config, the runtime.v1.PodSandboxConfig in protobuf wire
 * format (api/cri-api-v1.proto): the CRI proto is itself an append-only
 * contract, so this ABI does not grow with every CRI release.
 */
struct crib_pod_spec {
	struct crib_pod_ref ref; /* priv is NULL */
	const char *name;
	const char *namespace_;
	const char *uid;
	uint32_t attempt;
	const uint8_t *cri_config;
	size_t cri_config_len;
	/*
	 * The network namespace cribd made for the pod and ran CNI ADD in; NULL
	 * for host network, and with CRIB_CAP_OWN_NETNS.
	 */
	const char *netns_path;
};

struct crib_pod_result {
	struct crib_blob priv;
	char *ip; /* the pod IP, used only when CNI gave none (host network) */
	/*
	 * With CRIB_CAP_OWN_NETNS: the namespace cribd runs CNI in, a path valid
	 * while the sandbox runs (/proc/<pid>/ns/net).
	 */
	char *netns_path;
};

/* CreateContainer.  cri_config is a runtime.v1.ContainerConfig in wire format. */
struct crib_container_spec {
	struct crib_container_ref ref; /* priv is NULL */
	const char *name;
	uint32_t attempt;
	const char *image;    /* ImageSpec.image as kubelet sent it */
	const char *log_path; /* absolute: pod log_directory + log_path; NULL if none */
	const uint8_t *cri_config;
	size_t cri_config_len;
	const uint8_t *cri_pod_config; /* the pod's runtime.v1.PodSandboxConfig */
	size_t cri_pod_config_len;
	/*
	 * Since 1.1: the image cribd resolved ImageSpec.image to (all NULL for
	 * a backend that manages its own images).  image_config is the OCI
	 * image config document (JSON: entrypoint, cmd, env, user, workdir);
	 * image_layers are its unpacked layer directories, bottom first, which
	 * host->rootfs_prepare() stacks.
	 */
	const char *image_id;  /* "sha256:<hex>" of the config */
	const char *image_ref; /* "repo@sha256:<hex>", or the tag it was found by */
	const char *image_config;
	const char *const *image_layers;
	size_t n_image_layers;
};

/* A container's root filesystem (since 1.1); both strings malloc'd, the backend's. */
struct crib_rootfs {
	char *path;  /* the root filesystem, mounted */
	char *upper; /* where the container's writes land (for writable-layer usage) */
};

struct crib_container_result {
	struct crib_blob priv;
};

/*
 * Since 1.1, for CRIB_CAP_OWN_IMAGES.  PullImage: the image as kubelet named
 * it and the request's AuthConfig (NULL members when absent).
 */
struct crib_image_pull_args {
	const struct crib_class *cls;
	const char *image;
	const char *username;
	const char *password;
	const char *auth; /* base64 of "username:password" */
	const char *server_address;
	const char *identity_token;
	const char *registry_token;
	const uint8_t *cri_pod_config; /* the request's PodSandboxConfig, or NULL */
	size_t cri_pod_config_len;
	/*
	 * Since 1.3: where cribd's [registry.*] config says to pull IMAGE from,
	 * in order, as references: a mirror's host[:port][/path] in place of the
	 * registry ("127.0.0.1:5000/library/busybox:latest" for busybox), then
	 * IMAGE's own normalized reference unless the registry is mirror_only.
	 * A backend that pulls from a mirror keeps the image under IMAGE's name
	 * too.  Never empty.
	 */
	const char *const *sources;
	size_t n_sources;
};

/* An image the backend keeps; every pointer malloc'd and cribd's once set. */
struct crib_image_info {
	char *id; /* Image.id, and what PullImage answers as image_ref */
	char **repo_tags;
	size_t n_repo_tags;
	char **repo_digests;
	size_t n_repo_digests;
	uint64_t size;
	int64_t uid;    /* the image's user as a uid, or -1 */
	char *username; /* the image's user as a name, or NULL */
	char *info;     /* JSON object for verbose ImageStatus, or NULL */
};

struct crib_image_list {
	struct crib_image_info *images; /* malloc'd array */
	size_t n_images;
};

/* Usage of a filesystem that holds images. */
struct crib_fs_usage {
	char *mountpoint; /* malloc'd */
	uint64_t used_bytes;
	uint64_t inodes_used;
};

/* Values of CRI's ContainerState, and of its PodSandboxState. */
enum crib_container_state {
	CRIB_CONTAINER_CREATED = 0,
	CRIB_CONTAINER_RUNNING = 1,
	CRIB_CONTAINER_EXITED = 2,
	CRIB_CONTAINER_UNKNOWN = 3,
};

enum crib_pod_state {
	CRIB_POD_READY = 0,
	CRIB_POD_NOTREADY = 1,
};

struct crib_container_status {
	uint32_t state;      /* enum crib_container_state */
	int32_t exit_code;   /* meaningful when finished_at != 0 */
	int64_t started_at;  /* ns since the epoch, 0 when unknown */
	int64_t finished_at; /* ns since the epoch, 0 when not finished */
	int32_t pid;         /* on the host, 0 when none or not meaningful (VMs) */
	char *reason;        /* CamelCase, "OOMKilled" after a cgroup OOM kill */
	char *message;
	char *info; /* JSON object for verbose status, or NULL */
};

struct crib_pod_status {
	uint32_t state; /* enum crib_pod_state */
	char *ip;
	char *info; /* JSON object for verbose status, or NULL */
};

/*
 * Resource usage.  A field is meaningful only when its bit is set in
 * present.  cribd derives CRI's usage_nano_cores from two samples, so a
 * backend reports only cumulative CPU time.
 */
enum crib_usage_fields {
	CRIB_USAGE_CPU = 1u << 0,
	CRIB_USAGE_MEMORY_WORKING_SET = 1u << 1,
	CRIB_USAGE_MEMORY_USAGE = 1u << 2,
	CRIB_USAGE_MEMORY_AVAILABLE = 1u << 3,
	CRIB_USAGE_MEMORY_RSS = 1u << 4,
	CRIB_USAGE_PAGE_FAULTS = 1u << 5,
	CRIB_USAGE_FS = 1u << 6,
	CRIB_USAGE_SWAP = 1u << 7,
	CRIB_USAGE_PROCESSES = 1u << 8,
	CRIB_USAGE_NETWORK = 1u << 9,
};

struct crib_usage {
	int64_t timestamp; /* ns since the epoch when sampled */
	uint64_t present;  /* enum crib_usage_fields */
	uint64_t cpu_core_ns;
	uint64_t memory_working_set_bytes;
	uint64_t memory_usage_bytes;
	uint64_t memory_available_bytes;
	uint64_t memory_rss_bytes;
	uint64_t page_faults;
	uint64_t major_page_faults;
	uint64_t fs_used_bytes; /* writable layer */
	uint64_t fs_inodes_used;
	char *fs_mountpoint; /* malloc'd, may be NULL */
	uint64_t swap_usage_bytes;
	uint64_t swap_available_bytes;
	uint64_t process_count;
	uint64_t rx_bytes; /* pod stats: the pod's default interface */
	uint64_t rx_errors;
	uint64_t tx_bytes;
	uint64_t tx_errors;
	char *interface; /* malloc'd, may be NULL */
};

struct crib_exec_sync_args {
	struct crib_container_ref ref;
	const char *const *argv; /* argc entries plus a NULL */
	size_t argc;
	int64_t timeout_s; /* 0: no timeout; on expiry the op fails with -ETIMEDOUT */
};

struct crib_exec_sync_result {
	struct crib_blob out; /* at most CRIB_EXEC_OUTPUT_MAX bytes each */
	struct crib_blob err;
	int32_t exit_code;
};

/*
 * Since 1.2.  An interactive session in a running container: a new process
 * (Exec, argv set) or the container's own stdio (Attach, argv NULL).  cribd's
 * streaming server carries the bytes between the client and the descriptors
 * the backend returns; the backend only connects them to the process.
 */
struct crib_stream_args {
	struct crib_container_ref ref;
	const char *const *argv; /* Exec: argc entries plus a NULL; Attach: NULL */
	size_t argc;
	int32_t tty;    /* Exec: give the process a terminal; Attach: the container has one */
	int32_t stdin_; /* the client sends input */
	int32_t stdout_;
	int32_t stderr_; /* never with tty: a terminal has one output */
};

/*
 * The session's descriptors, cribd's once stream_open succeeded (cribd
 * closes them; it makes them non-blocking itself).  Unused ones are -1.
 */
struct crib_stream_result {
	void *handle;  /* the backend's; passed to the other stream ops */
	int stdin_fd;  /* cribd writes the client's input here and closes it at the client's EOF */
	int stdout_fd; /* cribd reads output here until EOF (with tty: the terminal's output) */
	int stderr_fd;
	/*
	 * Becomes readable (data or EOF) when the session ended: the exec'd
	 * process exited, the container exited, or the backend gave up.  cribd
	 * only polls it, never reads it, and then calls stream_finish.
	 */
	int done_fd;
};

enum crib_object_kind {
	CRIB_KIND_POD = 1,
	CRIB_KIND_CONTAINER = 2,
};

/*
 * One object cribd's store knows, handed to reconcile.  The backend fills
 * found and the status member matching kind; an object it no longer has is
 * found = 0 (cribd then marks it exited or not ready, never deletes it).
 */
struct crib_reconcile_item {
	uint32_t kind; /* enum crib_object_kind */
	const char *id;
	const char *pod_id; /* for containers */
	const struct crib_class *cls;
	const void *priv;
	size_t priv_len;
	/* Filled by the backend. */
	int32_t found;
	struct crib_pod_status pod;
	struct crib_container_status container;
};

struct crib_health {
	int32_t healthy;
	char *message; /* why not, or what it runs on */
	char *info;    /* JSON object for Status verbose, or NULL */
};

/* What a backend tells cribd on its own initiative. */
enum crib_event_kind {
	/* A container's process ended: exit_code, at, reason ("OOMKilled", ...). */
	CRIB_EVENT_CONTAINER_EXITED = 1,
	/* A pod's sandbox died (its infra process, its VM): the pod is not ready. */
	CRIB_EVENT_POD_NOTREADY = 2,
	/* The backend's health changed; cribd calls health() to learn more. */
	CRIB_EVENT_HEALTH = 3,
};

struct crib_event {
	uint32_t kind;  /* enum crib_event_kind */
	const char *id; /* container or pod id; NULL for CRIB_EVENT_HEALTH */
	int32_t exit_code;
	int64_t at; /* ns since the epoch; 0 means now */
	const char *reason;
	const char *message;
};

/* CRI log streams. */
enum crib_log_stream {
	CRIB_STREAM_STDOUT = 1,
	CRIB_STREAM_STDERR = 2,
};

/*
 * Services cribd offers a backend.  The table and the strings in it stay
 * valid until fini() returns.
 */
struct crib_host {
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t struct_size;
	uint32_t reserved;
	const char *backend_name; /* the name classes use in "backend = NAME" */
	/* Persistent directory for this backend (exists, 0700): <state_dir>/backends/NAME. */
	const char *state_dir;
	/* Volatile directory for sockets and pid files (exists, 0700): <run_dir>/backends/NAME. */
	const char *run_dir;
	/* The [backend.NAME] section of cribd's config, if any. */
	const struct crib_kv *kv;
	size_t n_kv;

	/* Logs under the backend's category.  Never fails; never blocks for long. */
	void (*log)(const struct crib_host *host, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
	/*
	 * Makes an error: sets *reterr (when reterr is not NULL) to a new error
	 * carrying errnum (positive) and the message, and returns -errnum.  If
	 * *reterr already holds an error, the new text is prefixed to it
	 * ("new text: old text") and the errnum is kept, so a backend can add
	 * context on the way up.
	 */
	int (*error_set)(struct crib_error **reterr, int errnum, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
	/*
	 * Like error_set, for a bad key in a runtime class: the message starts
	 * with the file and line of that key (of the section when key is NULL or
	 * missing), as in "/etc/crib/conf.d/10-runc.conf:3: ...".
	 */
	int (*class_error)(const struct crib_class *cls, const char *key,
	                   struct crib_error **reterr, int errnum, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
	/* The value of KEY in the class (the last one if repeated), or NULL. */
	const char *(*class_get)(const struct crib_class *cls, const char *key);
	/*
	 * Finishes an op that returned CRIB_ASYNC.  r is 0 or -errno; err (owned
	 * by cribd from here on) carries the message when r < 0.  Must be called
	 * exactly once per CRIB_ASYNC op, from any thread; the op's arguments
	 * and results must not be touched afterwards.
	 */
	void (*op_done)(struct crib_op *op, int r, struct crib_error *err);
	/* Reports an event; copies what it needs before returning. */
	void (*emit)(const struct crib_host *host, const struct crib_event *ev);

	/*
	 * CRI log writer: appends "<RFC3339Nano> <stdout|stderr> <P|F> <text>\n"
	 * lines to PATH (created 0640 with its parent directories).  Each
	 * newline-terminated piece of a write becomes an F line; a trailing piece
	 * without a newline becomes a P line at once, so nothing waits in memory.
	 * Pieces longer than 16 KiB are split into P lines.  log_write and
	 * log_reopen may be called from different threads; writes to one writer
	 * must not overlap each other.  log_close is NULL-safe.
	 */
	int (*log_open)(const char *path, struct crib_log_writer **ret, struct crib_error **reterr);
	int (*log_write)(struct crib_log_writer *w, uint32_t stream, const void *buf, size_t len,
	                 struct crib_error **reterr);
	/* Closes the file and opens PATH again (after kubelet rotated it). */
	int (*log_reopen)(struct crib_log_writer *w, struct crib_error **reterr);
	void (*log_close)(struct crib_log_writer *w);

	/*
	 * Since 1.1.  Prepares the root filesystem of SPEC's container from
	 * its image: the image's layers under a fresh writable layer with
	 * overlayfs (a copy where overlayfs cannot be mounted).  Blocks; call
	 * it from the op that needs it.  -EEXIST when the container has one.
	 */
	int (*rootfs_prepare)(const struct crib_host *host, const struct crib_container_spec *spec,
	                      struct crib_rootfs *ret, struct crib_error **reterr);
	/* Since 1.1.  Unmounts and removes the container's root filesystem; idempotent. */
	int (*rootfs_release)(const struct crib_host *host, const char *container_id,
	                      struct crib_error **reterr);
	/* New members go here, and only here. */
};

/*
 * The ops table.  Required members must be set; an optional member must be
 * set when its capability bit is, and cribd NULL-checks the others.  Every op
 * takes the state init() returned and, where noted, the crib_op handle that
 * host->op_done() needs to finish it asynchronously.  Ops that take an op
 * handle may return CRIB_ASYNC; the others are synchronous.
 */
struct crib_backend_ops {
	uint32_t abi_major;   /* CRIB_BACKEND_ABI_MAJOR at build time */
	uint32_t abi_minor;   /* CRIB_BACKEND_ABI_MINOR at build time */
	uint32_t struct_size; /* sizeof(struct crib_backend_ops) at build time */
	uint32_t reserved;
	const char *name;    /* must equal the module's file name without ".so" */
	const char *version; /* the backend's own version, for Status and /v1/backends */
	uint64_t caps;       /* enum crib_backend_caps */

	/* Required. */

	/*
	 * Sets up the backend: connects to its daemon, checks its binaries.
	 * *ret_state is the state every other op receives.  On failure cribd
	 * still calls fini() with whatever *ret_state holds (NULL if unset), so
	 * fini() must accept a half-initialised state; the backend is then
	 * marked unhealthy and its classes refuse work with UNAVAILABLE.
	 */
	int (*init)(const struct crib_host *host, void **ret_state, struct crib_error **reterr);
	void (*fini)(void *state);
	/*
	 * Validates a runtime class and prepares whatever it needs.  Errors name
	 * the key (host->class_error).  *ret_data becomes cls->data.
	 */
	int (*class_open)(void *state, const struct crib_class *cls, uint64_t *ret_features,
	                  void **ret_data, struct crib_error **reterr);
	/* Called when no pod uses the class any longer and it is gone from the config. */
	void (*class_close)(void *state, const struct crib_class *cls);

	/*
	 * Creates and starts the pod's sandbox; on success the pod is ready.
	 * On failure nothing of it may remain.
	 */
	int (*pod_run)(void *state, struct crib_op *op, const struct crib_pod_spec *spec,
	               struct crib_pod_result *ret, struct crib_error **reterr);
	/*
	 * Stops the sandbox and frees its resources (addresses, VM).  cribd has
	 * stopped the pod's containers first.  Idempotent.
	 */
	int (*pod_stop)(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
	                struct crib_error **reterr);
	/* Removes everything of the pod; cribd has removed its containers first.  Idempotent. */
	int (*pod_remove)(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
	                  struct crib_error **reterr);

	/* Creates a container (not started).  On failure nothing of it may remain. */
	int (*container_create)(void *state, struct crib_op *op,
	                        const struct crib_container_spec *spec,
	                        struct crib_container_result *ret, struct crib_error **reterr);
	int (*container_start)(void *state, struct crib_op *op, const struct crib_container_ref *c,
	                       struct crib_error **reterr);
	/*
	 * Sends the stop signal, waits up to timeout_s seconds, then kills.
	 * Returns once the process is gone.  Idempotent: a container that is not
	 * running is not an error.
	 */
	int (*container_stop)(void *state, struct crib_op *op, const struct crib_container_ref *c,
	                      int64_t timeout_s, struct crib_error **reterr);
	/* Kills the container if it runs and removes it.  Idempotent. */
	int (*container_remove)(void *state, struct crib_op *op, const struct crib_container_ref *c,
	                        struct crib_error **reterr);
	/* The container's runtime state; -ENOENT when the backend does not know it. */
	int (*container_status)(void *state, struct crib_op *op, const struct crib_container_ref *c,
	                        struct crib_container_status *ret, struct crib_error **reterr);
	/* See struct crib_reconcile_item. */
	int (*reconcile)(void *state, struct crib_op *op, struct crib_reconcile_item *items,
	                 size_t n_items, struct crib_error **reterr);

	/* Optional, each behind its capability bit. */

	int (*pod_status)(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
	                  struct crib_pod_status *ret, struct crib_error **reterr);
	/* Quick check of the backend's own dependencies (its daemon, its binaries). */
	int (*health)(void *state, struct crib_health *ret, struct crib_error **reterr);
	int (*exec_sync)(void *state, struct crib_op *op, const struct crib_exec_sync_args *args,
	                 struct crib_exec_sync_result *ret, struct crib_error **reterr);
	int (*container_stats)(void *state, struct crib_op *op, const struct crib_container_ref *c,
	                       struct crib_usage *ret, struct crib_error **reterr);
	int (*pod_stats)(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
	                 struct crib_usage *ret, struct crib_error **reterr);
	/* Makes the container's log writer close and reopen its log path. */
	int (*container_reopen_log)(void *state, struct crib_op *op,
	                            const struct crib_container_ref *c, struct crib_error **reterr);
	/* req is a runtime.v1.UpdateContainerResourcesRequest in wire format. */
	int (*container_update)(void *state, struct crib_op *op, const struct crib_container_ref *c,
	                        const uint8_t *req, size_t req_len, struct crib_error **reterr);
	/* req is a runtime.v1.UpdatePodSandboxResourcesRequest in wire format. */
	int (*pod_update)(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
	                  const uint8_t *req, size_t req_len, struct crib_error **reterr);

	/* Since 1.1, all five behind CRIB_CAP_OWN_IMAGES. */

	/* Pulls the image; *ret_image_ref (malloc'd) is its id, as image_status reports it. */
	int (*image_pull)(void *state, struct crib_op *op, const struct crib_image_pull_args *args,
	                  char **ret_image_ref, struct crib_error **reterr);
	/* IMAGE is a name, an id or a digest; -ENOENT when the backend has no such image. */
	int (*image_status)(void *state, struct crib_op *op, const struct crib_class *cls,
	                    const char *image, int32_t verbose, struct crib_image_info *ret,
	                    struct crib_error **reterr);
	int (*image_list)(void *state, struct crib_op *op, const struct crib_class *cls,
	                  struct crib_image_list *ret, struct crib_error **reterr);
	/* Idempotent: an image that is not there is not an error.  -EBUSY while in use. */
	int (*image_remove)(void *state, struct crib_op *op, const struct crib_class *cls,
	                    const char *image, struct crib_error **reterr);
	int (*image_fs_info)(void *state, struct crib_op *op, const struct crib_class *cls,
	                     struct crib_fs_usage *ret, struct crib_error **reterr);

	/*
	 * Since 1.2, all four behind CRIB_CAP_STREAMS.  They run on cribd's
	 * workers like query ops; stream_resize, stream_finish and stream_close
	 * of one session never overlap each other.
	 */

	/*
	 * Starts an Exec or Attach session; on success *ret holds its
	 * descriptors and handle.  -EBUSY (FAILED_PRECONDITION) when the
	 * container is not running, -EINVAL when the request does not fit the
	 * container (stdin asked of a container without one, tty mismatch).
	 */
	int (*stream_open)(void *state, struct crib_op *op, const struct crib_stream_args *args,
	                   struct crib_stream_result *ret, struct crib_error **reterr);
	/* Sets the session terminal's size (tty sessions only). */
	int (*stream_resize)(void *state, void *handle, uint16_t width, uint16_t height,
	                     struct crib_error **reterr);
	/*
	 * Called once done_fd became readable: *ret_exit_code is the exec'd
	 * process's exit code (128 + signal when killed), or for Attach the
	 * container's when it exited.  -ESRCH when no exit code is known.
	 */
	int (*stream_finish)(void *state, void *handle, int32_t *ret_exit_code,
	                     struct crib_error **reterr);
	/*
	 * Ends the session and frees HANDLE; called exactly once per opened
	 * session, after cribd closed its descriptors.  An exec'd process that
	 * still runs is killed (the client went away); an attached container
	 * keeps running.
	 */
	void (*stream_close)(void *state, void *handle);

	/*
	 * Since 1.4, behind CRIB_CAP_PORT_FORWARD.  A connection to TCP PORT
	 * on the pod's own loopback, for PortForward: *ret_fd (cribd's) is a
	 * stream socket carrying the connection's bytes both ways; cribd's
	 * shutdown(SHUT_WR) is the client's end of input, EOF from it the
	 * pod's.  -ECONNREFUSED when nothing listens on PORT; -EBUSY when the
	 * pod does not run.  Runs on cribd's workers like query ops.
	 */
	int (*port_connect)(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
	                    uint16_t port, int *ret_fd, struct crib_error **reterr);
	/* New members go here, and only here. */
};

/* True when OPS is long enough to hold member OP and OP is set. */
#define CRIB_BACKEND_HAS_OP(ops, op)                                                               \
	((ops)->struct_size >= offsetof(struct crib_backend_ops, op) + sizeof((ops)->op) &&        \
	 (ops)->op != NULL)

/*
 * The module's one exported symbol.  host_abi_major is cribd's
 * CRIB_BACKEND_ABI_MAJOR; a backend returns its table regardless, and cribd
 * refuses a table whose abi_major differs, naming both versions.
 */
typedef const struct crib_backend_ops *(*crib_backend_entry_fn)(uint32_t host_abi_major);
CRIB_EXPORT const struct crib_backend_ops *crib_backend_entry(uint32_t host_abi_major);

#endif /* CRIB_API_BACKEND_H */
