/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots of the admin views of every listed pod and container, so that
 * the admin API's thread answers lists, filters and pages without touching
 * the loop's objects.  Each object's view (views.h) is rendered once to JSON
 * text and kept with the object until it changes (crib_registry_touch_*), so
 * a snapshot of an unchanged node costs the loop nothing and one after a
 * change costs it the changed objects and a sort.
 *
 * Snapshots and views are immutable and reference counted with atomics:
 * made on the loop, read and released on any thread.
 */
#ifndef CRIB_BROKER_VIEW_SNAP_H
#define CRIB_BROKER_VIEW_SNAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct crib_registry;

/* One pod's or container's view. */
struct crib_view_rec {
	atomic_uint refs;
	char id[CRIB_ID_LEN + 1];
	uint32_t state; /* CRI PodSandboxState or ContainerState */
	char *json;     /* the view (crib_view_pod/container), compact */
	size_t json_len;
	/* What the list filters match, the pod's for a container. */
	char *backend;
	char *runtime_class;
	char *namespace_;
	char *pod_id;   /* containers: their pod */
	char *log_path; /* containers: absolute, or NULL */
};

struct crib_view_snap {
	atomic_uint refs;
	uint64_t gen; /* the registry's generation it shows */
	/* Sorted by id. */
	struct crib_view_rec **pods;
	size_t n_pods;
	struct crib_view_rec **ctrs;
	size_t n_ctrs;
};

/* NULL-safe; the last reference frees. */
void crib_view_rec_unref(struct crib_view_rec *rec);

/* Loop thread: a snapshot of REG as it is now.  The caller owns the reference. */
struct crib_view_snap *crib_view_snap_take(struct crib_registry *reg);

/* Any thread. */
struct crib_view_snap *crib_view_snap_ref(struct crib_view_snap *s);
void crib_view_snap_unref(struct crib_view_snap *s); /* NULL-safe */

/*
 * The view in V (N of them, sorted) with id ID, or else the only one whose id
 * starts with ID (as crictl users type ids); NULL when none or ambiguous.
 */
const struct crib_view_rec *crib_view_snap_find(struct crib_view_rec *const *v, size_t n,
                                                const char *id);

/* The index of the first view in V whose id sorts after ID. */
size_t crib_view_snap_after(struct crib_view_rec *const *v, size_t n, const char *id);

#endif /* CRIB_BROKER_VIEW_SNAP_H */
