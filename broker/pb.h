/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building CRI responses from registry objects.  Responses borrow strings and
 * sub-messages from the objects' unpacked configs and allocate the rest in
 * an arena that the caller releases after packing, so building a list of a
 * thousand containers costs a handful of allocations.
 */
#ifndef CRIB_BROKER_PB_H
#define CRIB_BROKER_PB_H

#include <stddef.h>
#include <stdint.h>

#include "cri-api-v1.pb-c.h"

struct crib_container;
struct crib_pod;

struct crib_arena_chunk;
struct crib_arena {
	struct crib_arena_chunk *head;
};

/* Zeroed memory that lives until crib_arena_release(). */
void *crib_arena_alloc(struct crib_arena *a, size_t size);
char *crib_arena_strdup(struct crib_arena *a, const char *s);
void crib_arena_release(struct crib_arena *a);

/* M in wire format, malloc'd; *ret_len gets its length. */
uint8_t *crib_pb_pack(const ProtobufCMessage *m, size_t *ret_len);

/*
 * Like crib_pb_pack(), for bytes that are kept and handed to backends: checks
 * that they decode again.  protobuf-c 1.4.1 accepts an overlong-encoded field
 * number 0 and packs it back into bytes it then refuses.  -EINVAL when the
 * bytes do not decode (*ret untouched).
 */
int crib_pb_pack_checked(const ProtobufCMessage *m, uint8_t **ret, size_t *ret_len);

/* A zeroed, initialised message of DESC in the arena. */
void *crib_pb_new(struct crib_arena *a, const ProtobufCMessageDescriptor *desc);

Runtime__V1__PodSandbox *crib_pb_pod(struct crib_arena *a, const struct crib_pod *p);
Runtime__V1__PodSandboxStatus *crib_pb_pod_status(struct crib_arena *a, const struct crib_pod *p);
Runtime__V1__Container *crib_pb_container(struct crib_arena *a, const struct crib_container *c);
Runtime__V1__ContainerStatus *crib_pb_container_status(struct crib_arena *a,
                                                       const struct crib_container *c);
/* The statuses of every container of the pod, for PodSandboxStatus and events. */
Runtime__V1__ContainerStatus **
crib_pb_pod_container_statuses(struct crib_arena *a, const struct crib_pod *p, size_t *ret_n);
Runtime__V1__ContainerAttributes *crib_pb_container_attributes(struct crib_arena *a,
                                                               const struct crib_container *c);
Runtime__V1__PodSandboxAttributes *crib_pb_pod_attributes(struct crib_arena *a,
                                                          const struct crib_pod *p);

/*
 * Copies a string map (protobuf-c map entries) into entries of another map
 * field's entry type DESC, borrowing the strings.
 */
void **crib_pb_map(struct crib_arena *a, const ProtobufCMessageDescriptor *desc, void *const *src,
                   size_t n);

#endif /* CRIB_BROKER_PB_H */
