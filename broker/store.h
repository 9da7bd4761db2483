/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state store: SQLite in WAL mode under the state dir.  Each pod and
 * container is one row written in its own transaction before cribd answers
 * the request that changed it, so that a cribd killed at any point restarts
 * knowing every object, its backend and what was in flight.  synchronous =
 * NORMAL: a process crash loses nothing; a power loss may lose the last
 * transactions, which reconcile then corrects from what the backends report.
 * Loop thread only.
 */
#ifndef CRIB_BROKER_STORE_H
#define CRIB_BROKER_STORE_H

#include <stddef.h>
#include <stdint.h>

struct crib_error;
struct crib_store;

/* A pod row. Pointers borrow from the caller (put) or from the store (load callbacks). */
struct crib_store_pod {
	const char *id;
	const char *class_name;
	const char *class_snapshot; /* JSON, see crib_rclass_snapshot() */
	int phase;
	uint32_t state;
	int64_t created_at;
	const uint8_t *config;
	size_t config_len;
	const void *priv;
	size_t priv_len;
	const char *ip;
	const char *netns;
	const char *additional_ips; /* comma-separated */
};

struct crib_store_container {
	const char *id;
	const char *pod_id;
	int phase;
	uint32_t state;
	int64_t created_at;
	int64_t started_at;
	int64_t finished_at;
	int32_t exit_code;
	const char *reason;
	const char *message;
	const char *log_path;
	const uint8_t *config;
	size_t config_len;
	const void *priv;
	size_t priv_len;
	const char *image_id; /* the image it was made from; NULL for own-image backends */
};

/* Opens (creating) DIR/crib.db.  *ret is owned by the caller. */
int crib_store_open(const char *dir, struct crib_store **ret, struct crib_error **reterr);
/* NULL-safe; returns NULL. */
struct crib_store *crib_store_close(struct crib_store *st);

int crib_store_put_pod(struct crib_store *st, const struct crib_store_pod *p,
                       struct crib_error **reterr);
int crib_store_put_container(struct crib_store *st, const struct crib_store_container *c,
                             struct crib_error **reterr);
int crib_store_delete_pod(struct crib_store *st, const char *id, struct crib_error **reterr);
int crib_store_delete_container(struct crib_store *st, const char *id, struct crib_error **reterr);

/* Key/value settings that must survive restarts (the pod CIDR kubelet sent, ...). */
int crib_store_set_meta(struct crib_store *st, const char *key, const char *value,
                        struct crib_error **reterr);
/* *ret is a malloc'd copy, or NULL when unset. */
int crib_store_get_meta(struct crib_store *st, const char *key, char **ret,
                        struct crib_error **reterr);

typedef int (*crib_store_pod_cb)(const struct crib_store_pod *p, void *user);
typedef int (*crib_store_container_cb)(const struct crib_store_container *c, void *user);

/*
 * Calls POD_CB for every pod, then CONTAINER_CB for every container, in
 * creation order.  A callback returning < 0 stops the walk with that value.
 */
int crib_store_load(struct crib_store *st, crib_store_pod_cb pod_cb,
                    crib_store_container_cb container_cb, void *user, struct crib_error **reterr);

/* Image records (JSON, see images.h), by image id. */
int crib_store_put_image(struct crib_store *st, const char *id, const char *record,
                         struct crib_error **reterr);
int crib_store_delete_image(struct crib_store *st, const char *id, struct crib_error **reterr);
int crib_store_load_images(struct crib_store *st, int (*cb)(const char *record, void *user),
                           void *user, struct crib_error **reterr);

#endif /* CRIB_BROKER_STORE_H */
