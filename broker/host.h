/* SPDX-License-Identifier: Apache-2.0 */
/* The host-services table (struct crib_host) cribd hands each backend. */
#ifndef CRIB_BROKER_HOST_H
#define CRIB_BROKER_HOST_H

#include <stdint.h>

#include "mailbox.h"

struct crib_backend;
struct crib_error;

/*
 * Fills b->host: directories (created 0700 under STATE_DIR and RUN_DIR),
 * the [backend.NAME] key/values (copied from KV) and the service functions.
 */
int crib_host_setup(struct crib_backend *b, const char *state_dir, const char *run_dir,
                    const struct crib_kv *kv, size_t n_kv, struct crib_error **reterr);

/* An event a backend emitted, on its way to the loop. */
struct crib_backend_event {
	struct crib_msg msg;
	struct crib_backend *backend;
	uint32_t kind;
	char *id;
	int32_t exit_code;
	int64_t at;
	char *reason;
	char *message;
};

struct crib_backend_event *crib_backend_event_free(struct crib_backend_event *ev);

#endif /* CRIB_BROKER_HOST_H */
