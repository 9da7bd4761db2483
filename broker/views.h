/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON views of cribd's objects, shared by the admin API (api/admin-openapi.yaml
 * describes them) and CRI's verbose Status.  Every function returns a new
 * reference the caller owns.  Loop thread only.
 */
#ifndef CRIB_BROKER_VIEWS_H
#define CRIB_BROKER_VIEWS_H

#include <stdint.h>

#include <jansson.h>

struct crib_container;
struct crib_pod;
struct crib_router;

/* Every backend a class names: status, ABI, capabilities, health, classes, counts. */
json_t *crib_view_backends(struct crib_router *rt);
/* Every class instance, active and retired. */
json_t *crib_view_classes(struct crib_router *rt);
json_t *crib_view_pod(const struct crib_pod *p);
json_t *crib_view_container(const struct crib_container *c);

/* "ready"/"notready" and "created"/"running"/"exited"/"unknown" (CRI states). */
const char *crib_view_pod_state(uint32_t state);
const char *crib_view_container_state(uint32_t state);

#endif /* CRIB_BROKER_VIEWS_H */
