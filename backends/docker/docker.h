/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The docker backend's internals, shared by its files: docker.c (entry, init,
 * classes, endpoints, health, reconcile), sandbox.c (pods as sandbox
 * containers), container.c (containers), create.c (Engine create bodies from
 * CRI configs), logcopy.c (the Engine's logs into CRI log files), events.c
 * (the Engine's event stream), images.c (images kept by the Engine), exec.c
 * (ExecSync), stream.c (Exec and Attach sessions) and stats.c.
 *
 * Mapping.  A pod is a sandbox container running the pause image, which owns
 * the pod's network, IPC and UTS namespaces (network mode "none": cribd runs
 * CNI in it, CRIB_CAP_OWN_NETNS); a CRI container is a Docker container
 * joining them ("container:<sandbox>" network, IPC and, for a pod-wide PID
 * namespace, PID modes).  Every object crib makes carries the labels below,
 * and only objects with DOCKER_LABEL_MANAGED are ever touched.
 *
 * Layout under the backend's state_dir:
 *   containers/<crib id>/logpos   the last log time stamp copied into the CRI log
 */
#ifndef CRIB_DOCKER_DOCKER_H
#define CRIB_DOCKER_DOCKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include <crib/backend.h>

#include "cri-api-v1.pb-c.h"
#include "engine.h"

#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"

/* Labels on every Docker object crib makes. */
#define DOCKER_LABEL_MANAGED "io.crib.managed" /* "true" */
#define DOCKER_LABEL_ID      "io.crib.id"      /* the crib pod or container id */
#define DOCKER_LABEL_POD     "io.crib.pod-id"  /* the crib pod id, on both kinds */
#define DOCKER_LABEL_KIND    "io.crib.kind"    /* "sandbox" or "container" */
#define DOCKER_LABEL_CLASS   "io.crib.runtime-class"
/* The ones cri-dockerd and dockershim set, which node tooling reads. */
#define DOCKER_LABEL_POD_NAME       "io.kubernetes.pod.name"
#define DOCKER_LABEL_POD_NAMESPACE  "io.kubernetes.pod.namespace"
#define DOCKER_LABEL_POD_UID        "io.kubernetes.pod.uid"
#define DOCKER_LABEL_CONTAINER_NAME "io.kubernetes.container.name"

#define DOCKER_KIND_SANDBOX   "sandbox"
#define DOCKER_KIND_CONTAINER "container"

/* The Engine's usual answers come at once; these bound a hung one. */
#define DOCKER_CALL_TIMEOUT_MS 30000L

struct docker_events;

/*
 * One Engine, by socket path, shared by the classes naming it.  The engine
 * is connected on first use and kept; the event thread watches it.
 */
struct docker_endpoint {
	struct docker_endpoint *next;
	char *socket;
	struct docker_state *st;
	pthread_mutex_t lock;
	struct docker_engine *engine; /* under lock; NULL until the Engine first answered */
	struct docker_events *events;
	unsigned refs; /* classes using it; under st->lock */
};

struct docker_copier;

struct docker_state {
	const struct crib_host *host;
	char *pause_binary; /* crib-pause, imported as the default sandbox image */
	int own_oom_score_adj;
	char **node_caps; /* see docker_sandbox_input; NULL when cribd has every capability */
	unsigned *node_cap_nums; /* their numbers, ascending */
	size_t n_node_caps;
	pthread_mutex_t lock;
	struct docker_endpoint *endpoints; /* under lock */
	struct docker_copier *copiers;     /* under lock: containers' log copiers */
};

struct docker_class {
	struct docker_endpoint *ep;
	char *pause_image; /* the class's pause_image, or NULL: crib's own */
};

/* The Engine of EP, connecting if it never answered yet (see docker_class_engine). */
int docker_endpoint_engine(struct docker_endpoint *ep, struct docker_engine **ret,
                           struct crib_error **reterr);

/*
 * The Engine of CLS's endpoint, connecting if it never answered yet.  The
 * engine stays valid until fini.  -ECONNREFUSED (UNAVAILABLE) with the reason
 * when the Engine is down.
 */
int docker_class_engine(const struct crib_class *cls, struct docker_engine **ret,
                        struct crib_error **reterr);

/* How many of st->node_caps the Engine E knows by name (they come first). */
size_t docker_node_caps(const struct docker_state *st, const struct docker_engine *e);

/* What crib stores with each pod and container (priv blobs, JSON). */
struct docker_priv {
	char *docker_id; /* the Docker container's id */
	char *sandbox;   /* containers: the Docker id of the pod's sandbox */
	char *log_path;  /* containers: the CRI log file, or NULL */
	bool tty;
	bool stdin_;
	bool stdin_once;
};

int docker_priv_parse(const struct crib_host *host, const void *blob, size_t len,
                      struct docker_priv *ret, struct crib_error **reterr);
/* RET's data is malloc'd, cribd's once handed over. */
void docker_priv_encode(const struct docker_priv *p, struct crib_blob *ret);
void docker_priv_clear(struct docker_priv *p);

/*
 * A container's priv and its class's Engine, which most container ops start
 * from; on success P is the caller's to clear (docker_priv_clear).
 */
int docker_container_engine(const struct docker_state *st, const struct crib_container_ref *c,
                            struct docker_priv *p, struct docker_engine **e,
                            struct crib_error **reterr);

/* create.c: Engine create bodies (POST /containers/create) from the CRI configs. */
struct docker_sandbox_input {
	const Runtime__V1__PodSandboxConfig *pod;
	const char *pod_id;     /* crib's */
	const char *image;      /* the pause image, as the Engine knows it */
	const char *class_name; /* the runtime class */
	int own_oom_score_adj;  /* cribd's own: oom_score_adj is clamped to >= this */
	/*
	 * The capabilities cribd itself holds, by name, when its bounding set
	 * lacks some the kernel has (NULL: it has them all).  The Engine gives a
	 * privileged container every capability it knows of, and "ALL" means
	 * the same; where root lacks some, the runtime then fails the container
	 * ("unable to apply caps"), so privileged and "ALL" get these instead.
	 */
	char *const *node_caps;
	size_t n_node_caps;
};

/*
 * The sandbox container's create body; *ret (a new reference) and *ret_name
 * (malloc'd: the container's name, k8s_POD_<pod>_<ns>_<uid>_<attempt>_<id:12>)
 * are the caller's.  Errors name the CRI field.
 */
int docker_sandbox_body(const struct crib_host *host, const struct docker_sandbox_input *in,
                        json_t **ret, char **ret_name, struct crib_error **reterr);

struct docker_container_input {
	const Runtime__V1__ContainerConfig *config;
	const Runtime__V1__PodSandboxConfig *pod;
	const char *pod_id;       /* crib's */
	const char *container_id; /* crib's */
	const char *sandbox;      /* the sandbox's Docker id, whose namespaces it joins */
	const char *image;        /* the image, as the Engine knows it */
	const char *class_name;
	int own_oom_score_adj;
	char *const *node_caps; /* as in docker_sandbox_input */
	size_t n_node_caps;
};

/*
 * An application container's create body; *ret_name is
 * k8s_<container>_<pod>_<ns>_<uid>_<attempt>_<id:12>.  Ownership as above.
 */
int docker_container_body(const struct crib_host *host, const struct docker_container_input *in,
                          json_t **ret, char **ret_name, struct crib_error **reterr);

/*
 * The resources members of a HostConfig (create) or of POST
 * /containers/{id}/update from CRI's LinuxContainerResources (R may be NULL:
 * an empty object); a new reference, the caller's.
 */
int docker_resources_body(const struct crib_host *host,
                          const Runtime__V1__LinuxContainerResources *r, json_t **ret,
                          struct crib_error **reterr);

/* logcopy.c: one container's output copied from the Engine into its CRI log. */
struct docker_logcopy;

/*
 * Starts a thread that follows the Engine's log of DOCKER_ID (timestamps on)
 * and writes each line into the CRI log at PATH, resuming after the last time
 * stamp recorded in POS_FILE (a previous cribd's copier) so that nothing is
 * written twice or lost across restarts.  The thread ends when the container
 * stopped and its log was read to the end.  *ret is the caller's
 * (docker_logcopy_stop); NULL when POS_FILE says an earlier copier already
 * copied the whole log.
 */
int docker_logcopy_start(const struct crib_host *host, struct docker_engine *e,
                         const char *docker_id, const char *path, const char *pos_file, bool tty,
                         struct docker_logcopy **ret, struct crib_error **reterr);
/* Makes the writer close and reopen its path (ReopenContainerLog). */
int docker_logcopy_reopen(struct docker_logcopy *lc, struct crib_error **reterr);
/*
 * Waits up to TIMEOUT_MS for the copier to reach the end of a stopped
 * container's log; true when it did.
 */
bool docker_logcopy_wait(struct docker_logcopy *lc, long timeout_ms);
/*
 * Waits up to TIMEOUT_MS for the copier recording into POS_FILE, wherever it
 * runs, to reach the end of its container's log; true when it did or when
 * there is no such file.  Needs no handle: a query op cannot hold one.
 */
bool docker_logcopy_drained(const char *pos_file, long timeout_ms);
/* Ends the copier (at once, wherever it is), joins its thread and frees it.  NULL-safe. */
void docker_logcopy_stop(struct docker_logcopy *lc);

/* events.c: the Engine's event stream, on a thread per endpoint. */
int docker_events_start(struct docker_endpoint *ep, struct crib_error **reterr);
void docker_events_stop(struct docker_endpoint *ep);

/*
 * sandbox.c: Engine calls on one container that pods and containers share.
 * docker_create_start creates the container NAME from BODY and, with START,
 * starts it (removing it again if that fails); *ret_id (malloc'd) is its
 * Docker id.  Stop and remove are idempotent: a container that is not running
 * or not there is no error.  docker_inspect's *ret is the caller's reference.
 */
int docker_create_start(const struct crib_host *host, struct docker_engine *e, json_t *body,
                        const char *name, bool start, char **ret_id, struct crib_error **reterr);
int docker_start(const struct crib_host *host, struct docker_engine *e, const char *docker_id,
                 struct crib_error **reterr);
int docker_stop(const struct crib_host *host, struct docker_engine *e, const char *docker_id,
                int64_t timeout_s, struct crib_error **reterr);
int docker_remove_container(const struct crib_host *host, struct docker_engine *e,
                            const char *docker_id, struct crib_error **reterr);
int docker_inspect(struct docker_engine *e, const char *docker_id, json_t **ret,
                   struct crib_error **reterr);
/* Whether the pod asks for the node's network namespace. */
bool docker_pod_host_network(const Runtime__V1__PodSandboxConfig *pod);

/* The ops, by file. */
int docker_pod_run(void *state, struct crib_op *op, const struct crib_pod_spec *spec,
                   struct crib_pod_result *ret, struct crib_error **reterr);
int docker_pod_stop(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                    struct crib_error **reterr);
int docker_pod_remove(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                      struct crib_error **reterr);
int docker_pod_status(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                      struct crib_pod_status *ret, struct crib_error **reterr);

int docker_container_create(void *state, struct crib_op *op, const struct crib_container_spec *spec,
                            struct crib_container_result *ret, struct crib_error **reterr);
int docker_container_start(void *state, struct crib_op *op, const struct crib_container_ref *c,
                           struct crib_error **reterr);
int docker_container_stop(void *state, struct crib_op *op, const struct crib_container_ref *c,
                          int64_t timeout_s, struct crib_error **reterr);
int docker_container_remove(void *state, struct crib_op *op, const struct crib_container_ref *c,
                            struct crib_error **reterr);
int docker_container_status(void *state, struct crib_op *op, const struct crib_container_ref *c,
                            struct crib_container_status *ret, struct crib_error **reterr);
int docker_container_reopen_log(void *state, struct crib_op *op, const struct crib_container_ref *c,
                                struct crib_error **reterr);
int docker_container_update(void *state, struct crib_op *op, const struct crib_container_ref *c,
                            const uint8_t *req, size_t req_len, struct crib_error **reterr);
void docker_reconcile_item(struct docker_state *st, struct crib_reconcile_item *item);
/* Ends every log copier (fini). */
void docker_copiers_stop(struct docker_state *st);

/*
 * convert.c: the Engine's documents read into crib's terms, and back.  Pure
 * functions (no Engine calls), unit-tested.
 *
 * A Docker container's state from its inspect document (GET
 * /containers/{id}/json) as CRI's; strings malloc'd, cribd's.
 */
void docker_inspect_status(const json_t *inspect, struct crib_container_status *ret);

/* Which streams an exec instance attaches, and whether it gets a terminal. */
struct docker_exec_io {
	bool stdin_, stdout_, stderr_, tty;
};

/*
 * POST /containers/{id}/exec of ARGV (ARGC entries): *ret (malloc'd, the
 * caller's) is the instance's id.  WHAT names the request in errors.
 */
int docker_exec_create(struct docker_engine *e, const struct crib_host *host, const char *docker_id,
                       const char *const *argv, size_t argc, const struct docker_exec_io *io,
                       const char *what, char **ret, struct crib_error **reterr);

int docker_exec_sync(void *state, struct crib_op *op, const struct crib_exec_sync_args *args,
                     struct crib_exec_sync_result *ret, struct crib_error **reterr);

int docker_container_stats(void *state, struct crib_op *op, const struct crib_container_ref *c,
                           struct crib_usage *ret, struct crib_error **reterr);
int docker_pod_stats(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                     struct crib_usage *ret, struct crib_error **reterr);
/*
 * One stats document (GET /containers/{id}/stats?stream=false) into CRI's
 * usage fields, cgroup v1 and v2 alike; adds to what RET holds (pod sums).
 */
void docker_stats_usage(const json_t *stats, struct crib_usage *ret);

/*
 * An image's inspect document (GET /images/{name}/json) as CRI's Image; with
 * VERBOSE, info is a JSON object of what the Engine says of it.  Strings
 * malloc'd, cribd's.  -EBADMSG when the document has no Id.
 */
int docker_image_info(const json_t *inspect, bool verbose, struct crib_image_info *ret);

/*
 * The X-Registry-Auth header's value for a pull: base64url of the JSON
 * {username, password, auth, serveraddress, identitytoken, registrytoken}
 * with the members ARGS has; NULL when it has none.  malloc'd, the caller's.
 */
char *docker_registry_auth(const struct crib_image_pull_args *args);

int docker_image_pull(void *state, struct crib_op *op, const struct crib_image_pull_args *args,
                      char **ret_image_ref, struct crib_error **reterr);
int docker_image_status(void *state, struct crib_op *op, const struct crib_class *cls,
                        const char *image, int32_t verbose, struct crib_image_info *ret,
                        struct crib_error **reterr);
int docker_image_list(void *state, struct crib_op *op, const struct crib_class *cls,
                      struct crib_image_list *ret, struct crib_error **reterr);
int docker_image_remove(void *state, struct crib_op *op, const struct crib_class *cls,
                        const char *image, struct crib_error **reterr);
int docker_image_fs_info(void *state, struct crib_op *op, const struct crib_class *cls,
                         struct crib_fs_usage *ret, struct crib_error **reterr);
/*
 * Makes sure the Engine has IMAGE, pulling it if not, straight from its
 * registry with no credentials (a class's pause_image).
 */
int docker_image_ensure(struct docker_engine *e, const struct crib_host *host, const char *image,
                        struct crib_error **reterr);

/*
 * exec.c, shared with stream.c.  docker_exec_exit_code: the exit code of the
 * exec instance EXEC_ID once its output ended, asking the Engine again for up
 * to 5 s (it records the exit a moment later).  docker_exec_kill: kills its
 * process if it still runs, through a pidfd and only once /proc says the
 * process is in DOCKER_ID's cgroup; failures are ignored.
 */
int docker_exec_exit_code(struct docker_engine *e, const struct crib_host *host,
                          const char *exec_id, int32_t *ret, struct crib_error **reterr);
void docker_exec_kill(struct docker_engine *e, const char *docker_id, const char *exec_id);

/* stream.c: Exec and Attach sessions (CRIB_CAP_STREAMS) over hijacked connections. */
int docker_stream_open(void *state, struct crib_op *op, const struct crib_stream_args *args,
                       struct crib_stream_result *ret, struct crib_error **reterr);
int docker_stream_resize(void *state, void *handle, uint16_t width, uint16_t height,
                         struct crib_error **reterr);
int docker_stream_finish(void *state, void *handle, int32_t *ret_exit_code,
                         struct crib_error **reterr);
void docker_stream_close(void *state, void *handle);

#endif /* CRIB_DOCKER_DOCKER_H */
