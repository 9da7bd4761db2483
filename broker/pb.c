/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "pb.h"
#include "registry.h"
#include "router.h"
#include "util.h"

#define CHUNK_SIZE 16384

struct crib_arena_chunk {
	struct crib_arena_chunk *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

void *crib_arena_alloc(struct crib_arena *a, size_t size)
{
	struct crib_arena_chunk *c = a->head;
	void *p;

	size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!c || c->size - c->used < size) {
		size_t cap = size > CHUNK_SIZE ? size : CHUNK_SIZE;

		c = crib_xmalloc(sizeof(*c) + cap);
		c->next = a->head;
		c->used = 0;
		c->size = cap;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *crib_arena_strdup(struct crib_arena *a, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	char *p = crib_arena_alloc(a, len + 1);

	if (len)
		memcpy(p, s, len);
	return p;
}

void crib_arena_release(struct crib_arena *a)
{
	while (a->head) {
		struct crib_arena_chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

uint8_t *crib_pb_pack(const ProtobufCMessage *m, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = crib_xmalloc(len ? len : 1);

	*ret_len = protobuf_c_message_pack(m, buf);
	return buf;
}

int crib_pb_pack_checked(const ProtobufCMessage *m, uint8_t **ret, size_t *ret_len)
{
	size_t len;
	uint8_t *buf = crib_pb_pack(m, &len);
	ProtobufCMessage *back = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);

	if (!back) {
		free(buf);
		return -EINVAL;
	}
	protobuf_c_message_free_unpacked(back, NULL);
	*ret = buf;
	*ret_len = len;
	return 0;
}

void *crib_pb_new(struct crib_arena *a, const ProtobufCMessageDescriptor *desc)
{
	void *m = crib_arena_alloc(a, desc->sizeof_message);

	protobuf_c_message_init(desc, m);
	return m;
}

/* The layout protobuf-c gives every map<string, string> entry. */
struct pb_kv {
	ProtobufCMessage base;
	char *key;
	char *value;
};

static_assert(offsetof(struct pb_kv, key) ==
                  offsetof(Runtime__V1__PodSandboxConfig__LabelsEntry, key),
              "protobuf-c map entry layout changed");
static_assert(offsetof(struct pb_kv, value) ==
                  offsetof(Runtime__V1__PodSandboxConfig__LabelsEntry, value),
              "protobuf-c map entry layout changed");

void **crib_pb_map(struct crib_arena *a, const ProtobufCMessageDescriptor *desc, void *const *src,
                   size_t n)
{
	void **v;

	if (!n)
		return NULL;
	assert(desc->sizeof_message == sizeof(struct pb_kv));
	v = crib_arena_alloc(a, n * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		struct pb_kv *e = crib_pb_new(a, desc);
		const struct pb_kv *s = src[i];

		e->key = s->key;
		e->value = s->value;
		v[i] = e;
	}
	return v;
}

#define MAP(a, desc, cfg, field, out)                                                              \
	do {                                                                                       \
		(out)->field =                                                                     \
		    (void *)crib_pb_map(a, &desc, (void *const *)(cfg)->field, (cfg)->n_##field);  \
		(out)->n_##field = (cfg)->n_##field;                                               \
	} while (0)

Runtime__V1__PodSandbox *crib_pb_pod(struct crib_arena *a, const struct crib_pod *p)
{
	Runtime__V1__PodSandbox *o = crib_pb_new(a, &runtime__v1__pod_sandbox__descriptor);

	o->id = (char *)p->id;
	o->metadata = p->config->metadata;
	o->state = (Runtime__V1__PodSandboxState)p->state;
	o->created_at = p->created_at;
	MAP(a, runtime__v1__pod_sandbox__labels_entry__descriptor, p->config, labels, o);
	MAP(a, runtime__v1__pod_sandbox__annotations_entry__descriptor, p->config, annotations, o);
	o->runtime_handler = (char *)p->cls->pub.name;
	return o;
}

/* The pod IP and the others, which the record keeps comma-separated. */
static Runtime__V1__PodSandboxNetworkStatus *pod_network(struct crib_arena *a,
                                                         const struct crib_pod *p)
{
	Runtime__V1__PodSandboxNetworkStatus *o =
	    crib_pb_new(a, &runtime__v1__pod_sandbox_network_status__descriptor);
	char *ips = crib_arena_strdup(a, p->additional_ips ? p->additional_ips : "");
	size_t n = *ips ? 1 : 0;
	char *save = NULL;

	o->ip = p->ip;
	for (const char *c = ips; *c; c++)
		n += *c == ',';
	o->additional_ips = crib_arena_alloc(a, (n ? n : 1) * sizeof(*o->additional_ips));
	for (char *ip = strtok_r(ips, ",", &save); ip; ip = strtok_r(NULL, ",", &save)) {
		Runtime__V1__PodIP *e = crib_pb_new(a, &runtime__v1__pod_ip__descriptor);

		e->ip = ip;
		o->additional_ips[o->n_additional_ips++] = e;
	}
	return o;
}

Runtime__V1__PodSandboxStatus *crib_pb_pod_status(struct crib_arena *a, const struct crib_pod *p)
{
	Runtime__V1__PodSandboxStatus *o =
	    crib_pb_new(a, &runtime__v1__pod_sandbox_status__descriptor);
	const Runtime__V1__LinuxPodSandboxConfig *lx = p->config->linux;

	o->id = (char *)p->id;
	o->metadata = p->config->metadata;
	o->state = (Runtime__V1__PodSandboxState)p->state;
	o->created_at = p->created_at;
	if (!isempty(p->ip))
		o->network = pod_network(a, p);
	if (lx && lx->security_context && lx->security_context->namespace_options) {
		o->linux = crib_pb_new(a, &runtime__v1__linux_pod_sandbox_status__descriptor);
		o->linux->namespaces = crib_pb_new(a, &runtime__v1__namespace__descriptor);
		o->linux->namespaces->options = lx->security_context->namespace_options;
	}
	MAP(a, runtime__v1__pod_sandbox_status__labels_entry__descriptor, p->config, labels, o);
	MAP(a, runtime__v1__pod_sandbox_status__annotations_entry__descriptor, p->config,
	    annotations, o);
	o->runtime_handler = (char *)p->cls->pub.name;
	return o;
}

static char *image_name(const struct crib_container *c)
{
	return c->config->image ? c->config->image->image : (char *)"";
}

Runtime__V1__Container *crib_pb_container(struct crib_arena *a, const struct crib_container *c)
{
	Runtime__V1__Container *o = crib_pb_new(a, &runtime__v1__container__descriptor);

	o->id = (char *)c->id;
	o->pod_sandbox_id = (char *)c->pod->id;
	o->metadata = c->config->metadata;
	o->image = c->config->image;
	o->image_ref = c->image_ref ? c->image_ref : image_name(c);
	o->image_id = c->image_id ? c->image_id : image_name(c);
	o->state = (Runtime__V1__ContainerState)c->state;
	o->created_at = c->created_at;
	MAP(a, runtime__v1__container__labels_entry__descriptor, c->config, labels, o);
	MAP(a, runtime__v1__container__annotations_entry__descriptor, c->config, annotations, o);
	return o;
}

Runtime__V1__ContainerStatus *crib_pb_container_status(struct crib_arena *a,
                                                       const struct crib_container *c)
{
	Runtime__V1__ContainerStatus *o =
	    crib_pb_new(a, &runtime__v1__container_status__descriptor);
	const Runtime__V1__ContainerConfig *cfg = c->config;

	o->id = (char *)c->id;
	o->metadata = cfg->metadata;
	o->state = (Runtime__V1__ContainerState)c->state;
	o->created_at = c->created_at;
	o->started_at = c->started_at;
	o->finished_at = c->finished_at;
	o->exit_code = c->exit_code;
	o->image = cfg->image;
	o->image_ref = c->image_ref ? c->image_ref : image_name(c);
	o->image_id = c->image_id ? c->image_id : image_name(c);
	o->reason = c->reason ? c->reason : (char *)"";
	o->message = c->message ? c->message : (char *)"";
	MAP(a, runtime__v1__container_status__labels_entry__descriptor, cfg, labels, o);
	MAP(a, runtime__v1__container_status__annotations_entry__descriptor, cfg, annotations, o);
	o->mounts = cfg->mounts;
	o->n_mounts = cfg->n_mounts;
	o->log_path = c->log_path ? c->log_path : (char *)"";
	if (cfg->linux && cfg->linux->resources) {
		o->resources = crib_pb_new(a, &runtime__v1__container_resources__descriptor);
		o->resources->linux = cfg->linux->resources;
	}
	o->stop_signal = cfg->stop_signal;
	return o;
}

Runtime__V1__ContainerStatus **
crib_pb_pod_container_statuses(struct crib_arena *a, const struct crib_pod *p, size_t *ret_n)
{
	Runtime__V1__ContainerStatus **v;
	struct crib_list *n;
	size_t count = 0, i = 0;

	crib_list_foreach (n, &p->containers)
		count++;
	*ret_n = count;
	if (!count)
		return NULL;
	v = crib_arena_alloc(a, count * sizeof(*v));
	crib_list_foreach (n, &p->containers) {
		v[i++] =
		    crib_pb_container_status(a, container_of(n, struct crib_container, pod_link));
	}
	return v;
}

Runtime__V1__ContainerAttributes *crib_pb_container_attributes(struct crib_arena *a,
                                                               const struct crib_container *c)
{
	Runtime__V1__ContainerAttributes *o =
	    crib_pb_new(a, &runtime__v1__container_attributes__descriptor);

	o->id = (char *)c->id;
	o->metadata = c->config->metadata;
	MAP(a, runtime__v1__container_attributes__labels_entry__descriptor, c->config, labels, o);
	MAP(a, runtime__v1__container_attributes__annotations_entry__descriptor, c->config,
	    annotations, o);
	return o;
}

Runtime__V1__PodSandboxAttributes *crib_pb_pod_attributes(struct crib_arena *a,
                                                          const struct crib_pod *p)
{
	Runtime__V1__PodSandboxAttributes *o =
	    crib_pb_new(a, &runtime__v1__pod_sandbox_attributes__descriptor);

	o->id = (char *)p->id;
	o->metadata = p->config->metadata;
	MAP(a, runtime__v1__pod_sandbox_attributes__labels_entry__descriptor, p->config, labels, o);
	MAP(a, runtime__v1__pod_sandbox_attributes__annotations_entry__descriptor, p->config,
	    annotations, o);
	return o;
}
