/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "router.h"
#include "view_snap.h"

char *crib_pod_name_key(const Runtime__V1__PodSandboxMetadata *md)
{
	return crib_xasprintf("%s_%s_%s_%u", md->name, md->namespace_, md->uid, md->attempt);
}

char *crib_container_name_key(const char *pod_id, const Runtime__V1__ContainerMetadata *md)
{
	return crib_xasprintf("%s_%s_%u", pod_id, md->name, md->attempt);
}

struct crib_pod *crib_pod_new(const char *id, Runtime__V1__PodSandboxConfig *config, uint8_t *blob,
                              size_t blob_len)
{
	struct crib_pod *p = crib_xcalloc(1, sizeof(*p));

	(void)snprintf(p->id, sizeof(p->id), "%s", id);
	p->refs = 1;
	p->config = config;
	p->config_blob = blob;
	p->config_len = blob_len;
	p->name_key = crib_pod_name_key(config->metadata);
	p->state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
	crib_list_init(&p->containers);
	crib_list_init(&p->waiters);
	return p;
}

struct crib_container *crib_container_new(const char *id, struct crib_pod *pod,
                                          Runtime__V1__ContainerConfig *config, uint8_t *blob,
                                          size_t blob_len)
{
	struct crib_container *c = crib_xcalloc(1, sizeof(*c));

	(void)snprintf(c->id, sizeof(c->id), "%s", id);
	c->refs = 1;
	c->pod = crib_pod_ref(pod);
	c->config = config;
	c->config_blob = blob;
	c->config_len = blob_len;
	c->name_key = crib_container_name_key(pod->id, config->metadata);
	c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED;
	crib_list_init(&c->pod_link);
	return c;
}

struct crib_pod *crib_pod_ref(struct crib_pod *p)
{
	p->refs++;
	return p;
}

void crib_pod_unref(struct crib_pod *p)
{
	if (!p || --p->refs > 0)
		return;
	if (p->cls)
		crib_rclass_unref(p->cls);
	if (p->config)
		protobuf_c_message_free_unpacked(&p->config->base, NULL);
	free(p->config_blob);
	free(p->name_key);
	free(p->ip);
	free(p->additional_ips);
	free(p->netns);
	free(p->priv);
	crib_view_rec_unref(p->view);
	free(p);
}

struct crib_container *crib_container_ref(struct crib_container *c)
{
	c->refs++;
	return c;
}

void crib_container_unref(struct crib_container *c)
{
	if (!c || --c->refs > 0)
		return;
	crib_pod_unref(c->pod);
	if (c->config)
		protobuf_c_message_free_unpacked(&c->config->base, NULL);
	free(c->config_blob);
	free(c->name_key);
	free(c->log_path);
	free(c->image_id);
	free(c->image_ref);
	free(c->reason);
	free(c->message);
	free(c->priv);
	crib_view_rec_unref(c->view);
	free(c);
}

int crib_registry_add_pod(struct crib_registry *reg, struct crib_pod *p)
{
	struct crib_pod *found = NULL;

	HASH_FIND(hh, reg->pods, p->id, strlen(p->id), found);
	if (found)
		return -EEXIST;
	HASH_FIND(hh_name, reg->pods_by_name, p->name_key, strlen(p->name_key), found);
	if (found)
		return -EEXIST;
	HASH_ADD(hh, reg->pods, id, strlen(p->id), p);
	HASH_ADD_KEYPTR(hh_name, reg->pods_by_name, p->name_key, strlen(p->name_key), p);
	p->listed = true;
	crib_registry_touch_pod(reg, p);
	crib_pod_ref(p);
	return 0;
}

int crib_registry_add_container(struct crib_registry *reg, struct crib_container *c)
{
	struct crib_container *found = NULL;

	HASH_FIND(hh, reg->ctrs, c->id, strlen(c->id), found);
	if (found)
		return -EEXIST;
	HASH_FIND(hh_name, reg->ctrs_by_name, c->name_key, strlen(c->name_key), found);
	if (found)
		return -EEXIST;
	HASH_ADD(hh, reg->ctrs, id, strlen(c->id), c);
	HASH_ADD_KEYPTR(hh_name, reg->ctrs_by_name, c->name_key, strlen(c->name_key), c);
	crib_list_add_tail(&c->pod->containers, &c->pod_link);
	c->listed = true;
	crib_registry_touch_container(reg, c);
	crib_registry_touch_pod(reg, c->pod); /* its container count */
	crib_container_ref(c);
	return 0;
}

void crib_registry_remove_pod(struct crib_registry *reg, struct crib_pod *p)
{
	if (!p->listed)
		return;
	HASH_DELETE(hh, reg->pods, p);
	HASH_DELETE(hh_name, reg->pods_by_name, p);
	p->listed = false;
	crib_registry_touch_pod(reg, p);
	crib_pod_unref(p);
}

void crib_registry_remove_container(struct crib_registry *reg, struct crib_container *c)
{
	if (!c->listed)
		return;
	HASH_DELETE(hh, reg->ctrs, c);
	HASH_DELETE(hh_name, reg->ctrs_by_name, c);
	crib_list_del(&c->pod_link);
	c->listed = false;
	crib_registry_touch_container(reg, c);
	crib_registry_touch_pod(reg, c->pod);
	crib_container_unref(c);
}

void crib_registry_touch_pod(struct crib_registry *reg, struct crib_pod *p)
{
	crib_view_rec_unref(p->view);
	p->view = NULL;
	atomic_fetch_add_explicit(&reg->gen, 1, memory_order_relaxed);
}

void crib_registry_touch_container(struct crib_registry *reg, struct crib_container *c)
{
	crib_view_rec_unref(c->view);
	c->view = NULL;
	atomic_fetch_add_explicit(&reg->gen, 1, memory_order_relaxed);
}

/* Exact match first; otherwise a prefix that names exactly one object. */
#define FIND_BY_ID(head, type, id)                                                                 \
	({                                                                                         \
		type *_found = NULL, *_it, *_tmp;                                                  \
		size_t _len = (id) ? strlen(id) : 0;                                               \
		if (_len > 0 && _len <= CRIB_ID_LEN) {                                             \
			HASH_FIND(hh, head, id, _len, _found);                                     \
			if (!_found && _len < CRIB_ID_LEN) {                                       \
				unsigned _n = 0;                                                   \
				HASH_ITER (hh, head, _it, _tmp) {                                  \
					if (strncmp(_it->id, id, _len) == 0) {                     \
						_found = _it;                                      \
						_n++;                                              \
					}                                                          \
				}                                                                  \
				if (_n != 1)                                                       \
					_found = NULL;                                             \
			}                                                                          \
		}                                                                                  \
		_found;                                                                            \
	})

struct crib_pod *crib_registry_find_pod(struct crib_registry *reg, const char *id)
{
	return FIND_BY_ID(reg->pods, struct crib_pod, id);
}

struct crib_container *crib_registry_find_container(struct crib_registry *reg, const char *id)
{
	return FIND_BY_ID(reg->ctrs, struct crib_container, id);
}

struct crib_pod *crib_registry_find_pod_by_name(struct crib_registry *reg, const char *key)
{
	struct crib_pod *found = NULL;

	HASH_FIND(hh_name, reg->pods_by_name, key, strlen(key), found);
	return found;
}

struct crib_container *crib_registry_find_container_by_name(struct crib_registry *reg,
                                                            const char *key)
{
	struct crib_container *found = NULL;

	HASH_FIND(hh_name, reg->ctrs_by_name, key, strlen(key), found);
	return found;
}

int crib_registry_new_id(struct crib_registry *reg, char id[CRIB_ID_LEN + 1])
{
	int r;

	do {
		r = crib_new_id(id);
		if (r < 0)
			return r;
	} while (crib_registry_find_pod(reg, id) || crib_registry_find_container(reg, id));
	return 0;
}

unsigned crib_registry_count_pods(const struct crib_registry *reg)
{
	return HASH_CNT(hh, reg->pods);
}

unsigned crib_registry_count_containers(const struct crib_registry *reg)
{
	return HASH_CNT(hh, reg->ctrs);
}

void crib_registry_clear(struct crib_registry *reg)
{
	struct crib_container *c, *ct;
	struct crib_pod *p, *pt;

	HASH_ITER (hh, reg->ctrs, c, ct)
		crib_registry_remove_container(reg, c);
	HASH_ITER (hh, reg->pods, p, pt)
		crib_registry_remove_pod(reg, p);
}

void crib_pod_lock(struct crib_pod *p, struct crib_waiter *w, void (*cb)(struct crib_waiter *w))
{
	w->cb = cb;
	if (!p->busy) {
		p->busy = true;
		cb(w);
		return;
	}
	crib_list_add_tail(&p->waiters, &w->link);
}

void crib_pod_unlock(struct crib_pod *p)
{
	struct crib_list *n = crib_list_pop(&p->waiters);
	struct crib_waiter *w;

	if (!n) {
		p->busy = false;
		return;
	}
	/* The slot passes straight to the next waiter. */
	w = container_of(n, struct crib_waiter, link);
	w->cb(w);
}
