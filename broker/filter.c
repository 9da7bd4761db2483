/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "filter.h"
#include "registry.h"

/* protobuf-c's layout of a map<string, string> entry (checked in pb.c). */
struct kv_entry {
	ProtobufCMessage base;
	char *key;
	char *value;
};

bool crib_labels_match(void *const *selector, size_t n_selector, void *const *labels,
                       size_t n_labels)
{
	for (size_t i = 0; i < n_selector; i++) {
		const struct kv_entry *want = selector[i];
		bool found = false;

		for (size_t j = 0; j < n_labels && !found; j++) {
			const struct kv_entry *have = labels[j];

			found = streq(have->key, want->key) && streq(have->value, want->value);
		}
		if (!found)
			return false;
	}
	return true;
}

static const char *resolve_pod(struct crib_registry *reg, const char *id, bool *nothing)
{
	struct crib_pod *p;

	if (isempty(id))
		return NULL;
	p = crib_registry_find_pod(reg, id);
	if (!p)
		*nothing = true;
	return p ? p->id : NULL;
}

static const char *resolve_container(struct crib_registry *reg, const char *id, bool *nothing)
{
	struct crib_container *c;

	if (isempty(id))
		return NULL;
	c = crib_registry_find_container(reg, id);
	if (!c)
		*nothing = true;
	return c ? c->id : NULL;
}

void crib_filter_pods(struct crib_registry *reg, const Runtime__V1__PodSandboxFilter *f,
                      struct crib_filter *out)
{
	*out = (struct crib_filter){0};
	if (!f)
		return;
	out->id = resolve_pod(reg, f->id, &out->nothing);
	if (f->state) {
		out->has_state = true;
		out->state = f->state->state;
	}
	out->labels = (void *const *)f->label_selector;
	out->n_labels = f->n_label_selector;
}

void crib_filter_containers(struct crib_registry *reg, const Runtime__V1__ContainerFilter *f,
                            struct crib_filter *out)
{
	*out = (struct crib_filter){0};
	if (!f)
		return;
	out->id = resolve_container(reg, f->id, &out->nothing);
	out->pod_id = resolve_pod(reg, f->pod_sandbox_id, &out->nothing);
	if (f->state) {
		out->has_state = true;
		out->state = f->state->state;
	}
	out->labels = (void *const *)f->label_selector;
	out->n_labels = f->n_label_selector;
}

void crib_filter_container_stats(struct crib_registry *reg,
                                 const Runtime__V1__ContainerStatsFilter *f,
                                 struct crib_filter *out)
{
	*out = (struct crib_filter){0};
	if (!f)
		return;
	out->id = resolve_container(reg, f->id, &out->nothing);
	out->pod_id = resolve_pod(reg, f->pod_sandbox_id, &out->nothing);
	out->labels = (void *const *)f->label_selector;
	out->n_labels = f->n_label_selector;
}

void crib_filter_pod_stats(struct crib_registry *reg, const Runtime__V1__PodSandboxStatsFilter *f,
                           struct crib_filter *out)
{
	*out = (struct crib_filter){0};
	if (!f)
		return;
	out->id = resolve_pod(reg, f->id, &out->nothing);
	out->labels = (void *const *)f->label_selector;
	out->n_labels = f->n_label_selector;
}

bool crib_filter_match_pod(const struct crib_filter *f, const struct crib_pod *p)
{
	if (f->nothing || p->phase == CRIB_PHASE_CREATING)
		return false;
	if (f->id && !streq(f->id, p->id))
		return false;
	if (f->has_state && f->state != p->state)
		return false;
	return crib_labels_match(f->labels, f->n_labels, (void *const *)p->config->labels,
	                         p->config->n_labels);
}

bool crib_filter_match_container(const struct crib_filter *f, const struct crib_container *c)
{
	if (f->nothing || c->phase == CRIB_PHASE_CREATING)
		return false;
	if (f->id && !streq(f->id, c->id))
		return false;
	if (f->pod_id && !streq(f->pod_id, c->pod->id))
		return false;
	if (f->has_state && f->state != c->state)
		return false;
	return crib_labels_match(f->labels, f->n_labels, (void *const *)c->config->labels,
	                         c->config->n_labels);
}
