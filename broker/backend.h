/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A loaded backend module: its dl handle, its ops table, the state its
 * init() returned, the host table it was given and its health.
 */
#ifndef CRIB_BROKER_BACKEND_H
#define CRIB_BROKER_BACKEND_H

#include <stdbool.h>

#include <crib/backend.h>

#include "metrics.h"
#include "util.h"

struct crib_error;
struct crib_mailbox;

enum crib_backend_status {
	CRIB_BACKEND_UNLOADED = 0,
	/* The module is missing, refuses the ABI or lacks required ops: FAILED_PRECONDITION. */
	CRIB_BACKEND_LOAD_FAILED,
	/* init() failed: UNAVAILABLE until a reload retries it. */
	CRIB_BACKEND_INIT_FAILED,
	/* health() said so: UNAVAILABLE until it recovers. */
	CRIB_BACKEND_UNHEALTHY,
	CRIB_BACKEND_HEALTHY,
};

struct crib_backend {
	char *name;
	char *path;
	void *dl;
	const struct crib_backend_ops *ops;
	void *state;
	int status; /* enum crib_backend_status */
	int errnum; /* why not healthy */
	char *error;
	char *health_info; /* JSON from health(), or NULL */
	bool initialized;  /* init() succeeded and fini() is owed */
	bool health_busy;

	/* What the backend sees. */
	struct crib_host host;
	char *state_dir;
	char *run_dir;
	char *images_root; /* <state_dir>/images, for rootfs snapshots */
	struct crib_kv *kv;
	size_t n_kv;
	struct crib_mailbox *mailbox;

	unsigned n_pods;
	unsigned n_containers;
	struct crib_op_metrics op_metrics;
	struct crib_list link;
};

/*
 * Whether B makes PortForward's connections itself (CRIB_CAP_PORT_FORWARD;
 * validation saw its port_connect).
 */
static inline bool crib_backend_can_port_forward(const struct crib_backend *b)
{
	return b->ops && (b->ops->caps & CRIB_CAP_PORT_FORWARD);
}

/*
 * Checks an ops table: ABI major, table size, name, required ops and that
 * every capability bit has its op.  PATH and NAME are for messages.
 */
int crib_backend_validate(const struct crib_backend_ops *ops, const char *path, const char *name,
                          struct crib_error **reterr);

/*
 * Opens PATH with the dl seam, resolves the entry symbol, validates the
 * table.  On success *ret_dl (close with crib_dl_close) and *ret_ops are
 * set; on failure the handle is closed.
 */
int crib_backend_module_open(const char *path, const char *name, void **ret_dl,
                             const struct crib_backend_ops **ret_ops, struct crib_error **reterr);

/* Allocates an unloaded backend NAME whose module is PLUGIN_DIR/NAME.so. */
struct crib_backend *crib_backend_new(const char *name, const char *plugin_dir,
                                      struct crib_mailbox *mailbox);

/* Records why the backend cannot serve (takes the message of err, keeps err). */
void crib_backend_set_failed(struct crib_backend *b, int status, const struct crib_error *err);

/* Capabilities as feature strings ("exec-sync", "container-stats", ...), comma-joined. */
char *crib_backend_caps_string(uint64_t caps);

/* Calls fini() if initialized and closes the module; NULL-safe; returns NULL. */
struct crib_backend *crib_backend_free(struct crib_backend *b);

#endif /* CRIB_BROKER_BACKEND_H */
