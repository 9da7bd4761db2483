/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribd itself: the loop, the configuration, the router, the registry and
 * store, the gRPC server and the event bus, tied together.  Everything in
 * struct crib_daemon belongs to the loop thread.
 */
#ifndef CRIB_BROKER_DAEMON_H
#define CRIB_BROKER_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "images.h"
#include "mailbox.h"
#include "registry.h"
#include "util.h"

struct crib_config;
struct crib_content;
struct crib_error;
struct crib_router;
struct crib_rpc;
struct crib_rpc_server;
struct crib_store;

#define CRIB_VERSION      "0.1.0"
#define CRIB_RUNTIME_NAME "crib"
#define CRIB_CRI_VERSION  "v1"

struct crib_daemon {
	uv_loop_t *loop;
	char *config_path; /* NULL: the default */
	struct crib_config *cfg;
	struct crib_mailbox mailbox;
	struct crib_router *router;
	struct crib_registry reg;
	struct crib_store *store;
	struct crib_content *content; /* <state_dir>/images */
	struct crib_images images;
	unsigned pulls_in_flight;       /* queued or running, waiting ones included */
	struct crib_list pulls_waiting; /* pulls that arrived during a collection */
	bool gc_wanted;
	bool gc_running;
	struct crib_rpc_server *rpc;
	struct crib_stream_server *streams; /* Exec, Attach and PortForward URLs point here */
	struct crib_admin *admin;           /* the REST admin API */
	struct crib_metrics *metrics;
	unsigned stream_sessions;     /* alive; they hold objects, so a stop waits for them */
	unsigned admin_threads;       /* the admin API's, until ended: it reads objects too */
	struct crib_list subscribers; /* GetContainerEvents streams */

	uv_signal_t sig_hup;
	uv_signal_t sig_term;
	uv_signal_t sig_int;
	uv_timer_t health_timer;
	uv_timer_t stop_timer;
	int lock_fd;
	char *pod_cidr;
	int cgroup_driver;  /* resolved: CRIB_CGROUP_CGROUPFS or CRIB_CGROUP_SYSTEMD */
	int64_t started_at; /* wall clock */
	int64_t stop_began; /* monotonic */
	bool serving;
	bool stopping;
	int exit_code;
};

/* Runs cribd with the config at PATH (NULL: the default) until SIGTERM.  Returns the exit code. */
int crib_daemon_main(const char *config_path);

/* The CRI entry point: every call whose request unpacked lands here. */
void crib_cri_dispatch(struct crib_rpc *rpc);

/* Forgets a pod or container: registry, store and the class reference. */
void crib_daemon_forget_container(struct crib_daemon *d, struct crib_container *c);
void crib_daemon_forget_pod(struct crib_daemon *d, struct crib_pod *p);

/*
 * Records that C is made from IMG (NULL: none): sets its image id and ref and
 * counts it as a user of the image, which RemoveImage then refuses to remove.
 * crib_daemon_forget_container() drops the use.
 */
void crib_daemon_use_image(struct crib_daemon *d, struct crib_container *c, struct crib_image *img);

/* Writes an object's row; failures are logged (the in-memory view stays authoritative). */
int crib_daemon_save_pod(struct crib_daemon *d, struct crib_pod *p, struct crib_error **reterr);
int crib_daemon_save_container(struct crib_daemon *d, struct crib_container *c,
                               struct crib_error **reterr);

/*
 * Reads the configuration again and applies it (SIGHUP, POST /v1/reload).
 * DONE (may be NULL) runs once, on the loop, possibly before this returns:
 * ERR NULL when the new classes are in place, else why nothing changed
 * (EBUSY: another reload runs).
 */
typedef void (*crib_reload_cb)(struct crib_daemon *d, void *user, const struct crib_error *err);
void crib_daemon_reload(struct crib_daemon *d, crib_reload_cb done, void *user);

/* Starts an op on the daemon's loop; see op.h. */
struct crib_op;
int crib_daemon_op_start(struct crib_daemon *d, struct crib_op *op);

#endif /* CRIB_BROKER_DAEMON_H */
