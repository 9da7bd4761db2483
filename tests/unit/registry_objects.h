/* SPDX-License-Identifier: Apache-2.0 */
/* Pods and containers for the unit tests of the registry and what reads it. */
#ifndef CRIB_TESTS_REGISTRY_OBJECTS_H
#define CRIB_TESTS_REGISTRY_OBJECTS_H

#include "registry.h"

/* PREFIX padded with '0' to a full id. */
void make_id(char id[CRIB_ID_LEN + 1], const char *prefix);
/* A heap-allocated config, as unpacking a request leaves it (the object frees it). */
Runtime__V1__PodSandboxConfig *pod_config(const char *name, uint32_t attempt);
Runtime__V1__ContainerConfig *container_config(const char *name, uint32_t attempt);
/* New objects with one reference, the caller's. */
struct crib_pod *new_pod(const char *id_prefix, const char *name);
struct crib_container *new_container(const char *id_prefix, struct crib_pod *p, const char *name);
/* Added to REG, whose reference is then the only one. */
struct crib_pod *add_pod(struct crib_registry *reg, const char *id_prefix, const char *name);
struct crib_container *add_container(struct crib_registry *reg, const char *id_prefix,
                                     struct crib_pod *p, const char *name);

#endif
