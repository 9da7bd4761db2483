/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRI list filters.  A filter's ids are resolved first (a unique prefix
 * names its object, as containerd does), then objects are matched against
 * the resolved form; every given field must match (AND).
 */
#ifndef CRIB_BROKER_FILTER_H
#define CRIB_BROKER_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cri-api-v1.pb-c.h"

struct crib_container;
struct crib_pod;
struct crib_registry;

struct crib_filter {
	bool nothing;       /* an id in the filter named no object: match nothing */
	const char *id;     /* full id, or NULL */
	const char *pod_id; /* full pod id, or NULL */
	bool has_state;
	uint32_t state;
	void *const *labels; /* the label selector: protobuf-c map entries */
	size_t n_labels;
};

void crib_filter_pods(struct crib_registry *reg, const Runtime__V1__PodSandboxFilter *f,
                      struct crib_filter *out);
void crib_filter_containers(struct crib_registry *reg, const Runtime__V1__ContainerFilter *f,
                            struct crib_filter *out);
void crib_filter_container_stats(struct crib_registry *reg,
                                 const Runtime__V1__ContainerStatsFilter *f,
                                 struct crib_filter *out);
void crib_filter_pod_stats(struct crib_registry *reg, const Runtime__V1__PodSandboxStatsFilter *f,
                           struct crib_filter *out);

/* True when every key of the selector is in LABELS with the same value. */
bool crib_labels_match(void *const *selector, size_t n_selector, void *const *labels,
                       size_t n_labels);

/* Objects still being created are never listed. */
bool crib_filter_match_pod(const struct crib_filter *f, const struct crib_pod *p);
bool crib_filter_match_container(const struct crib_filter *f, const struct crib_container *c);

#endif /* CRIB_BROKER_FILTER_H */
