/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One invocation of a backend op, run on a libuv worker thread.  The loop
 * fills the arguments (copies, or pointers into objects the caller keeps
 * alive), crib_op_start() queues it, the worker calls the backend, and the
 * done callback runs on the loop with op->r and op->err, exactly once.  An op
 * the backend answers with CRIB_ASYNC completes when host->op_done() arrives;
 * the worker's return and that message can come in either order, and both
 * are handled on the loop, so no locking is needed.
 *
 * The CRIB_OP_NET_* kinds call no backend: they run cribd's own CNI step
 * (cni.h) on the same workers, so that they are counted and waited for like
 * backend ops.  Their op->backend is NULL.
 */
#ifndef CRIB_BROKER_OP_H
#define CRIB_BROKER_OP_H

#include <stdbool.h>

#include <uv.h>

#include <crib/backend.h>

#include "cni.h"
#include "mailbox.h"
#include "util.h"

struct crib_backend;
struct crib_error;

enum crib_op_kind {
	CRIB_OP_INIT,
	CRIB_OP_FINI,
	CRIB_OP_CLASS_OPEN,
	CRIB_OP_CLASS_CLOSE,
	CRIB_OP_HEALTH,
	CRIB_OP_RECONCILE,
	CRIB_OP_POD_RUN,
	CRIB_OP_POD_STOP,
	CRIB_OP_POD_REMOVE,
	CRIB_OP_POD_STATUS,
	CRIB_OP_POD_STATS,
	CRIB_OP_POD_UPDATE,
	CRIB_OP_CONTAINER_CREATE,
	CRIB_OP_CONTAINER_START,
	CRIB_OP_CONTAINER_STOP,
	CRIB_OP_CONTAINER_REMOVE,
	CRIB_OP_CONTAINER_STATUS,
	CRIB_OP_CONTAINER_STATS,
	CRIB_OP_CONTAINER_REOPEN_LOG,
	CRIB_OP_CONTAINER_UPDATE,
	CRIB_OP_EXEC_SYNC,
	CRIB_OP_IMAGE_PULL,
	CRIB_OP_IMAGE_STATUS,
	CRIB_OP_IMAGE_LIST,
	CRIB_OP_IMAGE_REMOVE,
	CRIB_OP_IMAGE_FS_INFO,
	CRIB_OP_STREAM_OPEN,
	CRIB_OP_STREAM_RESIZE,
	CRIB_OP_STREAM_FINISH,
	CRIB_OP_STREAM_CLOSE,
	CRIB_OP_PORT_CONNECT,
	CRIB_OP_NET_SETUP,    /* crib_cni_pod_setup() */
	CRIB_OP_NET_TEARDOWN, /* crib_cni_pod_teardown() */
	CRIB_OP_NET_CHECK,    /* crib_cni_pod_check() */
	CRIB_OP_NET_PROBE,    /* crib_cni_conf_load() of net.conf_dir: is there a network? */
	CRIB_OP_NET_CONNECT,  /* crib_netns_connect(): port-forward's connection in a pod */
};

struct crib_op;
typedef void (*crib_op_cb)(struct crib_op *op);

struct crib_op {
	struct crib_msg msg; /* carries host->op_done() to the loop */
	uv_work_t work;
	enum crib_op_kind kind;
	struct crib_backend *backend;
	crib_op_cb done;
	void *data; /* the caller's */
	int r;
	struct crib_error *err;
	int64_t started_ns; /* monotonic */
	int64_t elapsed_ns;

	bool worker_returned;
	bool background; /* the worker runs it at SCHED_IDLE: nobody waits on it but admins */
	bool async;      /* the backend answered CRIB_ASYNC */
	bool async_done; /* host->op_done() arrived */
	int async_r;
	struct crib_error *async_err;

	/* Arguments.  Copies owned by the op unless noted. */
	char pod_id[CRIB_ID_LEN + 1];
	char id[CRIB_ID_LEN + 1];
	void *pod_priv;
	void *priv;
	struct crib_pod_ref pod;       /* points at pod_id/pod_priv */
	struct crib_container_ref ctr; /* points at id/priv and pod */
	int64_t timeout_s;
	uint8_t *req; /* update requests */
	size_t req_len;
	const struct crib_class *cls; /* class ops; the caller keeps it alive */
	char *image_config;           /* container_create: the image's config document */
	char **image_layers;          /* container_create: unpacked layer directories */
	size_t n_image_layers;
	char *image;     /* image ops: the image named (also image_pull.image) */
	int32_t verbose; /* image_status */
	char *auth[6];   /* image_pull: the AuthConfig strings it points at */
	char **sources;  /* image_pull: where to pull from (crib_pull_sources) */
	size_t n_sources;
	struct crib_cni_args net; /* network ops */
	void *stream;             /* stream ops but open: the backend's session handle */
	uint16_t width, height;   /* stream_resize */
	char *netns;              /* net_connect: the pod's namespace, NULL for the host's */
	uint16_t port;            /* net_connect, port_connect */
	union {
		struct crib_pod_spec pod_spec;       /* strings point into caller-kept objects */
		struct crib_container_spec ctr_spec; /* likewise */
		struct crib_exec_sync_args exec;     /* argv points into the caller's request */
		struct crib_stream_args stream;      /* likewise */
		struct crib_image_pull_args
		    image_pull; /* points at image/auth, pod config at req */
		struct {
			struct crib_reconcile_item *items; /* owned by the caller */
			size_t n;
		} reconcile;
	} in;

	/* Results, zeroed before the call; members are freed by crib_op_free(). */
	union {
		struct crib_pod_result pod;
		struct crib_container_result ctr;
		struct crib_pod_status pod_status;
		struct crib_container_status ctr_status;
		struct crib_usage usage;
		struct crib_exec_sync_result exec;
		/* stream_open: descriptors still >= 0 when the op is freed are closed then */
		struct crib_stream_result stream;
		int32_t exit_code; /* stream_finish */
		int fd;            /* net_connect: closed by crib_op_free() unless taken (-1) */
		struct crib_health health;
		char *image_ref; /* image_pull */
		struct crib_image_info image;
		struct crib_image_list images;
		struct crib_fs_usage fs;
		struct {
			char **ips; /* NET_SETUP: the pod IP first */
			size_t n_ips;
			bool checked; /* NET_CHECK: CHECK applied and ran */
		} net;
		struct {
			uint64_t features;
			void *data;
		} class_open;
		void *state; /* init */
	} out;
};

/* Names of the op kinds, indexed by kind (for metrics); *ret_n of them. */
const char *const *crib_op_kind_names(unsigned *ret_n);

/* Allocates an op; DONE runs on the loop when it finishes.  B is NULL for network ops. */
struct crib_op *crib_op_new(enum crib_op_kind kind, struct crib_backend *b, crib_op_cb done,
                            void *data);

/* Points the op at a pod (copies id and priv; CLS must outlive the op). */
void crib_op_set_pod(struct crib_op *op, const char *pod_id, const struct crib_class *cls,
                     const void *priv, size_t priv_len);
/* Points the op at a container of the pod set before (copies id and priv). */
void crib_op_set_container(struct crib_op *op, const char *id, const void *priv, size_t priv_len);

/* Queues the op.  Returns -errno (done will not run) or 0 (done will run once). */
int crib_op_start(uv_loop_t *loop, struct crib_op *op);

/* Ops started and not yet done (loop thread). */
unsigned crib_op_in_flight(void);

/* Loop side of host->op_done(): the mailbox hands CRIB_MSG_OP_DONE here. */
void crib_op_async_arrived(struct crib_op *op);

/* Thread-safe: what host->op_done() does. */
void crib_op_finish_async(struct crib_op *op, int r, struct crib_error *err);

/* Frees the op, its copies, its error and its result members.  NULL-safe. */
struct crib_op *crib_op_free(struct crib_op *op);

static inline void crib_op_freep(struct crib_op **op)
{
	crib_op_free(*op);
}

/* Releases what a container status holds (also used for reconcile items). */
void crib_container_status_clear(struct crib_container_status *s);
void crib_pod_status_clear(struct crib_pod_status *s);
void crib_image_info_clear(struct crib_image_info *i);
void crib_image_list_clear(struct crib_image_list *l);

#endif /* CRIB_BROKER_OP_H */
