/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The router: runtime classes and the backends serving them.
 *
 * A class instance (struct crib_rclass) is one version of a [runtime.NAME]
 * section: its backend and key/values.  Pods hold a reference to the instance
 * they were created with, so a reload that changes or removes a class leaves
 * running pods on what they started with, while new pods get the new
 * version or a clear refusal.  The identity of an instance is its name plus a
 * fingerprint of its backend and key/values, which the state store keeps so
 * that a restarted cribd finds the same instance for every pod.
 *
 * Everything here runs on the loop thread except the reload job, which
 * loads modules, calls init() and class_open() on a worker and touches only
 * objects that are not yet visible to the loop.
 */
#ifndef CRIB_BROKER_ROUTER_H
#define CRIB_BROKER_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include <crib/backend.h>

#include "util.h"

struct crib_backend;
struct crib_config;
struct crib_error;
struct crib_mailbox;

struct crib_rclass {
	struct crib_class pub; /* what the backend sees */
	char *backend_name;
	struct crib_backend *backend;
	struct crib_kv *kv; /* owned; pub.kv points here */
	size_t n_kv;
	char *fingerprint;
	uint64_t features; /* enum crib_class_features */
	bool active;       /* named by the current configuration */
	bool opened;       /* class_open succeeded, class_close is owed */
	int errnum;        /* why class_open failed */
	char *error;
	unsigned refs;  /* pods created with this instance */
	char *snapshot; /* crib_rclass_snapshot(), made once */
	struct crib_router *rt;
	struct crib_list link;
};

struct crib_router {
	struct crib_list backends; /* struct crib_backend.link */
	struct crib_list classes;  /* struct crib_rclass.link, active and retired */
	char *default_class;
	char *plugin_dir;
	char *state_dir;
	char *run_dir;
	struct crib_mailbox *mailbox;
	uv_loop_t *loop;
	bool reloading;
	bool closing; /* shutting down: retired instances wait for crib_router_free() */
};

struct crib_router *crib_router_new(uv_loop_t *loop, const char *plugin_dir, const char *state_dir,
                                    const char *run_dir, struct crib_mailbox *mailbox);
/* Calls class_close and fini as owed (blocking: only when no op is in flight).  NULL-safe. */
struct crib_router *crib_router_free(struct crib_router *rt);

/*
 * Picks the class for a new pod.  An empty HANDLER means the default class.
 * Errors: -ENOENT for an unknown, removed or missing default class;
 * -ENOEXEC when the class or its backend module is misconfigured
 * (FAILED_PRECONDITION); -EAGAIN when its backend failed init or is
 * unhealthy (UNAVAILABLE).  Messages name the class and the backend.
 */
int crib_router_resolve(struct crib_router *rt, const char *handler, struct crib_rclass **ret,
                        struct crib_error **reterr);

/* The instance named NAME with FINGERPRINT, active or retired, or NULL. */
struct crib_rclass *crib_router_find(struct crib_router *rt, const char *name,
                                     const char *fingerprint);
/* The active instance named NAME, or NULL. */
struct crib_rclass *crib_router_find_active(struct crib_router *rt, const char *name);
struct crib_backend *crib_router_backend(struct crib_router *rt, const char *name);

/*
 * A JSON snapshot of an instance (name, backend, key/values with file:line)
 * for the store.  Owned by the instance; NULL when a string is not UTF-8
 * (which the config parser refuses before).
 */
const char *crib_rclass_snapshot(struct crib_rclass *c);

/* Pods hold a reference to their instance for as long as the pod object lives. */
void crib_rclass_ref(struct crib_rclass *c);
/* Drops a reference; an unused retired instance is closed (on a worker) and freed. */
void crib_rclass_unref(struct crib_rclass *c);

typedef void (*crib_router_cb)(struct crib_router *rt, void *user);

/*
 * Makes CFG's classes the active set.  Instances whose backend and keys are
 * unchanged are kept; new ones are opened, and modules not yet loaded (or that
 * failed before) are loaded and initialized, on a worker.  SNAPSHOTS are
 * class snapshots that pods in the store still reference (at start-up); the
 * ones the configuration no longer has come back as retired instances.
 * DONE runs on the loop once the new set is in place.  Returns -EBUSY while
 * another reload runs.
 */
int crib_router_reload(struct crib_router *rt, uv_loop_t *loop, const struct crib_config *cfg,
                       char *const *snapshots, size_t n_snapshots, crib_router_cb done, void *user);

/* Parses and checks a snapshot into a fresh (unopened, unlinked) instance; for tests too. */
int crib_rclass_from_snapshot(const char *json, struct crib_rclass **ret,
                              struct crib_error **reterr);
struct crib_rclass *crib_rclass_free(struct crib_rclass *c);

#endif /* CRIB_BROKER_ROUTER_H */
