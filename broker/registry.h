/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory view of every pod and container, whichever backend owns it:
 * List* calls are answered from here without asking any backend, and the
 * state store (store.h) makes it survive restarts.  Loop thread only, but
 * for `gen`, which the admin API's thread reads to know its snapshot of the
 * views (view_snap.h) is current.
 *
 * Objects are reference counted: the registry holds one reference while an
 * object is listed, and every request or op working on it holds another, so
 * an object removed while an op still runs stays valid until that op ends.
 */
#ifndef CRIB_BROKER_REGISTRY_H
#define CRIB_BROKER_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * FNV-1a rather than uthash's default (Jenkins), whose unannotated switch
 * fall-through clang's -Wimplicit-fallthrough refuses; ids are random anyway.
 */
#define HASH_FUNCTION(keyptr, keylen, hashv) HASH_FNV(keyptr, keylen, hashv)
#include <uthash.h>

#include "cri-api-v1.pb-c.h"
#include "util.h"

struct crib_rclass;
struct crib_view_rec;
struct crib_waiter;

/*
 * Where an object is in its life.  CREATING and REMOVING are written to the
 * store before the backend is asked, so that a cribd killed in between knows
 * on restart which backend may hold a half-made object and cleans it up.
 */
enum crib_phase {
	CRIB_PHASE_CREATING = 0,
	CRIB_PHASE_LIVE = 1,
	CRIB_PHASE_REMOVING = 2,
};

struct crib_pod {
	char id[CRIB_ID_LEN + 1];
	UT_hash_handle hh;      /* by id */
	UT_hash_handle hh_name; /* by name_key */
	char *name_key;         /* name_namespace_uid_attempt, unique */
	unsigned refs;
	bool listed;

	struct crib_rclass *cls;
	Runtime__V1__PodSandboxConfig *config; /* unpacked, owned */
	uint8_t *config_blob;                  /* the same in wire format */
	size_t config_len;
	int phase;      /* enum crib_phase */
	uint32_t state; /* CRI PodSandboxState */
	int64_t created_at;
	char *ip;             /* the pod IP: CNI's, else what its backend reports */
	char *additional_ips; /* comma-separated, from CNI; NULL when none */
	char *netns;          /* the namespace CNI ran in; NULL without one (or once torn down) */
	void *priv;
	size_t priv_len;

	struct crib_list containers; /* struct crib_container.pod_link */
	struct crib_view_rec *view;  /* its admin view, made on demand; NULL once it changed */
	/* The previous CPU sample, to derive usage_nano_cores. */
	uint64_t last_cpu_ns;
	int64_t last_cpu_at;
	/* Serialization of lifecycle work on this pod and its containers. */
	bool busy;
	struct crib_list waiters; /* struct crib_waiter.link */
};

struct crib_container {
	char id[CRIB_ID_LEN + 1];
	UT_hash_handle hh;
	UT_hash_handle hh_name;
	char *name_key; /* podid_name_attempt */
	unsigned refs;
	bool listed;

	struct crib_pod *pod; /* holds a reference */
	struct crib_list pod_link;
	Runtime__V1__ContainerConfig *config;
	uint8_t *config_blob;
	size_t config_len;
	char *log_path;  /* absolute, or NULL */
	char *image_id;  /* the image it was made from ("sha256:<hex>") */
	char *image_ref; /* "repo@sha256:<hex>" naming it, for CRI's image_ref */
	int phase;
	uint32_t state; /* CRI ContainerState */
	int64_t created_at;
	int64_t started_at;
	int64_t finished_at;
	int32_t exit_code;
	char *reason;
	char *message;
	void *priv;
	size_t priv_len;
	struct crib_view_rec *view; /* as the pod's */
	/* The previous CPU sample, to derive usage_nano_cores. */
	uint64_t last_cpu_ns;
	int64_t last_cpu_at;
};

/* Waiting for a pod's lifecycle slot. */
struct crib_waiter {
	struct crib_list link;
	void (*cb)(struct crib_waiter *w);
};

struct crib_registry {
	struct crib_pod *pods;         /* by id */
	struct crib_pod *pods_by_name; /* by name_key */
	struct crib_container *ctrs;   /* by id */
	struct crib_container *ctrs_by_name;
	/*
	 * Counts changes to what the views show: objects listed or unlisted,
	 * and every change that is saved (crib_daemon_save_*), which is every
	 * change of state.
	 */
	atomic_ullong gen;
};

/* OBJ's view changed: its cached view goes and the generation moves on. */
void crib_registry_touch_pod(struct crib_registry *reg, struct crib_pod *p);
void crib_registry_touch_container(struct crib_registry *reg, struct crib_container *c);

/* Builds the unique key of a pod's metadata; caller frees. */
char *crib_pod_name_key(const Runtime__V1__PodSandboxMetadata *md);
char *crib_container_name_key(const char *pod_id, const Runtime__V1__ContainerMetadata *md);

/*
 * New objects own CONFIG and BLOB (taken) and start with one reference, the
 * caller's.  crib_registry_add_*() makes the registry hold its own.
 */
struct crib_pod *crib_pod_new(const char *id, Runtime__V1__PodSandboxConfig *config, uint8_t *blob,
                              size_t blob_len);
struct crib_container *crib_container_new(const char *id, struct crib_pod *pod,
                                          Runtime__V1__ContainerConfig *config, uint8_t *blob,
                                          size_t blob_len);

struct crib_pod *crib_pod_ref(struct crib_pod *p);
/* Drops a reference; the last one frees the pod and drops its class reference (p->cls). */
void crib_pod_unref(struct crib_pod *p);
struct crib_container *crib_container_ref(struct crib_container *c);
void crib_container_unref(struct crib_container *c);

/* -EEXIST if the id or the name is taken. */
int crib_registry_add_pod(struct crib_registry *reg, struct crib_pod *p);
int crib_registry_add_container(struct crib_registry *reg, struct crib_container *c);
void crib_registry_remove_pod(struct crib_registry *reg, struct crib_pod *p);
void crib_registry_remove_container(struct crib_registry *reg, struct crib_container *c);

/*
 * Looks an id up: the full id, or a prefix that matches exactly one object
 * (as crictl users type them).  NULL when none or ambiguous.
 */
struct crib_pod *crib_registry_find_pod(struct crib_registry *reg, const char *id);
struct crib_container *crib_registry_find_container(struct crib_registry *reg, const char *id);
struct crib_pod *crib_registry_find_pod_by_name(struct crib_registry *reg, const char *key);
struct crib_container *crib_registry_find_container_by_name(struct crib_registry *reg,
                                                            const char *key);

/* Fills ID with a new random id no pod or container uses; -errno when randomness fails. */
int crib_registry_new_id(struct crib_registry *reg, char id[CRIB_ID_LEN + 1]);

unsigned crib_registry_count_pods(const struct crib_registry *reg);
unsigned crib_registry_count_containers(const struct crib_registry *reg);

/* Drops every object (shutdown).  Objects still referenced elsewhere survive until unref. */
void crib_registry_clear(struct crib_registry *reg);

/*
 * Serializes lifecycle work on a pod: CB runs (on the loop) once the slot is
 * free, possibly at once.  The holder calls crib_pod_unlock() when done.
 */
void crib_pod_lock(struct crib_pod *p, struct crib_waiter *w, void (*cb)(struct crib_waiter *w));
void crib_pod_unlock(struct crib_pod *p);

#endif /* CRIB_BROKER_REGISTRY_H */
