/* SPDX-License-Identifier: Apache-2.0 */
/* The CRI handlers, split by subject, and what they share. */
#ifndef CRIB_BROKER_CRI_H
#define CRIB_BROKER_CRI_H

#include <stdbool.h>

#include <protobuf-c/protobuf-c.h>

#include <crib/backend.h>

#include "op.h"
#include "registry.h"

struct crib_daemon;
struct crib_error;
struct crib_op;
struct crib_rpc;

struct crib_daemon *crib_cri_daemon(struct crib_rpc *rpc);

/* Answers and logs: once per request, at a level that fits the code. */
void crib_cri_reply(struct crib_rpc *rpc, const ProtobufCMessage *resp);
void crib_cri_fail(struct crib_rpc *rpc, const struct crib_error *err);
void crib_cri_failf(struct crib_rpc *rpc, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A request that works on a pod (and maybe one of its containers) under the
 * pod's lock.  crib_req_lock() queues it; CB runs once the lock is held.
 * crib_req_end() answers, releases the lock and frees the request.
 */
struct crib_req;
typedef void (*crib_req_cb)(struct crib_req *r);

struct crib_req {
	struct crib_waiter w;
	struct crib_daemon *d;
	struct crib_rpc *rpc;
	struct crib_pod *pod;       /* reference */
	struct crib_container *ctr; /* reference, or NULL */
	crib_req_cb cb;
};

void crib_req_lock(struct crib_rpc *rpc, struct crib_pod *p, struct crib_container *c,
                   crib_req_cb cb);
void crib_req_end(struct crib_req *r, const struct crib_error *err, const ProtobufCMessage *resp);
void crib_req_endf(struct crib_req *r, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* False, with the request ended NOT_FOUND, when a request ahead of it removed the object. */
bool crib_req_still_there(struct crib_req *r);
/* Queues OP for the request; on failure ends the request with the error. */
void crib_req_start_op(struct crib_req *r, struct crib_op *op);

/*
 * What creating a pod or a container starts with: a new id, and the
 * request's config (named FIELD in messages) as the bytes cribd stores and
 * hands to the backend, checked to decode back (see crib_pb_pack_checked).
 * *ret_blob is malloc'd and the caller's.
 */
int crib_cri_new_object(struct crib_daemon *d, const ProtobufCMessage *config, const char *field,
                        char id[CRIB_ID_LEN + 1], uint8_t **ret_blob, size_t *ret_len,
                        struct crib_error **reterr);

/* Looks the container (pod) of a request up, or answers NOT_FOUND (INVALID_ARGUMENT without an id).
 */
struct crib_container *crib_cri_find_container(struct crib_rpc *rpc, const char *id);
struct crib_pod *crib_cri_find_pod(struct crib_rpc *rpc, const char *id);
/* False, with UNIMPLEMENTED answered, unless the container's backend has the op behind CAP. */
bool crib_cri_backend_can(struct crib_rpc *rpc, struct crib_container *c, uint64_t cap, bool has_op,
                          const char *what);

/* cri_info.c */
void crib_cri_version(struct crib_rpc *rpc);
void crib_cri_status(struct crib_rpc *rpc);
void crib_cri_runtime_config(struct crib_rpc *rpc);
void crib_cri_update_runtime_config(struct crib_rpc *rpc);

/* cri_pod.c */
void crib_cri_run_pod(struct crib_rpc *rpc);
void crib_cri_stop_pod(struct crib_rpc *rpc);
void crib_cri_remove_pod(struct crib_rpc *rpc);
void crib_cri_pod_status(struct crib_rpc *rpc);
void crib_cri_list_pods(struct crib_rpc *rpc);
void crib_cri_stream_pods(struct crib_rpc *rpc);
void crib_cri_update_pod_resources(struct crib_rpc *rpc);

/* cri_container.c */
void crib_cri_create_container(struct crib_rpc *rpc);
void crib_cri_start_container(struct crib_rpc *rpc);
void crib_cri_stop_container(struct crib_rpc *rpc);
void crib_cri_remove_container(struct crib_rpc *rpc);
void crib_cri_container_status(struct crib_rpc *rpc);
void crib_cri_list_containers(struct crib_rpc *rpc);
void crib_cri_stream_containers(struct crib_rpc *rpc);
void crib_cri_update_container_resources(struct crib_rpc *rpc);
void crib_cri_reopen_container_log(struct crib_rpc *rpc);
void crib_cri_exec_sync(struct crib_rpc *rpc);

/* cri_stream.c: the URLs of the streaming server. */
void crib_cri_exec(struct crib_rpc *rpc);
void crib_cri_attach(struct crib_rpc *rpc);
void crib_cri_port_forward(struct crib_rpc *rpc);

/* cri_stats.c */
void crib_cri_container_stats(struct crib_rpc *rpc);
void crib_cri_list_container_stats(struct crib_rpc *rpc);
void crib_cri_pod_stats(struct crib_rpc *rpc);
void crib_cri_list_pod_stats(struct crib_rpc *rpc);

/* cri_image.c: the ImageService. */
void crib_cri_pull_image(struct crib_rpc *rpc);
void crib_cri_image_status(struct crib_rpc *rpc);
void crib_cri_list_images(struct crib_rpc *rpc);
void crib_cri_remove_image(struct crib_rpc *rpc);
void crib_cri_image_fs_info(struct crib_rpc *rpc);
/* Removes a container's rootfs snapshot, if any (on a worker; idempotent). */
void crib_images_release_snapshot(struct crib_daemon *d, const char *container_id);
/* Removes blobs and unpacked layers no image references (on a worker, when no pull runs). */
void crib_images_collect_garbage(struct crib_daemon *d);

/* events.c: the bus behind GetContainerEvents. */
void crib_cri_get_container_events(struct crib_rpc *rpc);
/* TYPE is a Runtime__V1__ContainerEventType. */
void crib_events_publish(struct crib_daemon *d, int type, struct crib_container *c);
void crib_events_close_all(struct crib_daemon *d);

/* lifecycle.c: state changes shared by handlers, events and reconcile. */
/* Applies what a backend reported; publishes STOPPED when the container ended. */
void crib_apply_container_status(struct crib_daemon *d, struct crib_container *c,
                                 const struct crib_container_status *s);
void crib_apply_container_exit(struct crib_daemon *d, struct crib_container *c, int32_t exit_code,
                               int64_t at, const char *reason, const char *message);

/*
 * Lifecycle sequences.  The caller holds the pod's lock (crib_pod_lock);
 * CB runs on the loop exactly once, with err NULL on success (err is only
 * borrowed).  They keep the registry, the store and the event bus in step
 * with what the backend did.
 */
typedef void (*crib_lc_cb)(struct crib_daemon *d, void *ctx, const struct crib_error *err);

/* Stop signal, TIMEOUT_S seconds, kill; then the exit status is read back. */
void crib_lc_stop_container(struct crib_daemon *d, struct crib_container *c, int64_t timeout_s,
                            crib_lc_cb cb, void *ctx);
/* Kills the container if needed and removes it everywhere. */
void crib_lc_remove_container(struct crib_daemon *d, struct crib_container *c, crib_lc_cb cb,
                              void *ctx);
/* Force-stops the pod's running containers, then stops the sandbox. */
void crib_lc_stop_pod(struct crib_daemon *d, struct crib_pod *p, crib_lc_cb cb, void *ctx);
/* Stops the pod if ready, removes its containers, then the sandbox, everywhere. */
void crib_lc_remove_pod(struct crib_daemon *d, struct crib_pod *p, crib_lc_cb cb, void *ctx);

/*
 * Pod networking (cni.h), shared by RunPodSandbox and the pod sequences.
 * cribd makes a pod's namespace at <run_dir>/netns/<pod id> unless the
 * pod asks for the node's network or its backend has CRIB_CAP_OWN_NETNS;
 * either way it runs CNI in the namespace recorded in p->netns.
 */
char *crib_pod_netns_path(const struct crib_daemon *d, const char *pod_id);
/* A CRIB_OP_NET_* op for P, with the daemon's current CNI settings. */
struct crib_op *crib_net_op_new(struct crib_daemon *d, struct crib_pod *p, enum crib_op_kind kind,
                                crib_op_cb done, void *data);
/* Records a setup's IPs (the pod IP first) in P. */
void crib_pod_set_ips(struct crib_pod *p, char *const *ips, size_t n);

/* Messages for objects that are not there. */
#define CRIB_POD_NOT_FOUND       "Pod sandbox '%s' not found"
#define CRIB_CONTAINER_NOT_FOUND "Container '%s' not found"

#endif /* CRIB_BROKER_CRI_H */
