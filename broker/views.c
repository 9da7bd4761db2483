/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "crilog.h"
#include "error.h"
#include "registry.h"
#include "router.h"
#include "views.h"

static const char *backend_status_name(int status)
{
	switch (status) {
	case CRIB_BACKEND_LOAD_FAILED:
		return "load-failed";
	case CRIB_BACKEND_INIT_FAILED:
		return "init-failed";
	case CRIB_BACKEND_UNHEALTHY:
		return "unhealthy";
	case CRIB_BACKEND_HEALTHY:
		return "healthy";
	default:
		return "not-loaded";
	}
}

static json_t *features_json(uint64_t features)
{
	json_t *a = json_array();

	if (features & CRIB_FEATURE_RECURSIVE_READ_ONLY_MOUNTS)
		json_array_append_new(a, json_string("recursive-read-only-mounts"));
	if (features & CRIB_FEATURE_USER_NAMESPACES)
		json_array_append_new(a, json_string("user-namespaces"));
	return a;
}

/* "a,b,c" as ["a", "b", "c"]. */
static json_t *split_json(const char *list)
{
	_cleanup_free_ char *copy = crib_xstrdup(list ? list : "");
	json_t *a = json_array();
	char *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	return a;
}

static json_t *class_names(struct crib_router *rt, const char *backend)
{
	json_t *a = json_array();
	struct crib_list *n;

	crib_list_foreach (n, &rt->classes) {
		struct crib_rclass *c = container_of(n, struct crib_rclass, link);

		if (c->active && streq(c->backend_name, backend))
			json_array_append_new(a, json_string(c->pub.name));
	}
	return a;
}

static json_t *backend_json(struct crib_router *rt, const struct crib_backend *b)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:o, s:i, s:i}", "name", b->name, "path", b->path, "status",
	              backend_status_name(b->status), "runtime_classes", class_names(rt, b->name),
	              "pods", (int)b->n_pods, "containers", (int)b->n_containers);

	if (b->ops) {
		_cleanup_free_ char *caps = crib_backend_caps_string(b->ops->caps);

		json_object_set_new(o, "abi",
		                    json_sprintf("%u.%u", b->ops->abi_major, b->ops->abi_minor));
		json_object_set_new(o, "version",
		                    json_string(b->ops->version ? b->ops->version : ""));
		json_object_set_new(o, "capabilities", split_json(caps));
	}
	if (b->error && b->status != CRIB_BACKEND_HEALTHY)
		json_object_set_new(o, "message", json_string(b->error));
	if (b->health_info) {
		json_t *h = json_loads(b->health_info, 0, NULL);

		if (json_is_object(h))
			json_object_set_new(o, "health", h);
		else
			json_decref(h);
	}
	return o;
}

json_t *crib_view_backends(struct crib_router *rt)
{
	json_t *a = json_array();
	struct crib_list *n;

	crib_list_foreach (n, &rt->backends)
		json_array_append_new(a,
		                      backend_json(rt, container_of(n, struct crib_backend, link)));
	return a;
}

static json_t *options_json(const struct crib_rclass *c)
{
	json_t *o = json_object();

	for (size_t i = 0; i < c->n_kv; i++)
		json_object_set_new(o, c->kv[i].key, json_string(c->kv[i].value));
	return o;
}

static const char *class_status(struct crib_router *rt, struct crib_rclass *c,
                                struct crib_error **reterr)
{
	struct crib_rclass *resolved = NULL;
	int r;

	if (!c->active)
		return "retired";
	r = crib_router_resolve(rt, c->pub.name, &resolved, reterr);
	if (r == -ENOEXEC)
		return "misconfigured";
	return r < 0 || resolved != c ? "unavailable" : "ready";
}

static json_t *class_json(struct crib_router *rt, struct crib_rclass *c)
{
	struct crib_error *err = NULL;
	const char *status = class_status(rt, c, &err);
	json_t *o;

	o = json_pack("{s:s, s:s, s:b, s:s, s:o, s:o, s:i, s:o, s:b}", "name", c->pub.name,
	              "backend", c->backend_name, "default",
	              c->active && streq(rt->default_class, c->pub.name), "status", status,
	              "options", options_json(c), "source",
	              json_sprintf("%s:%u", c->pub.file, c->pub.line), "pods", (int)c->refs,
	              "features", features_json(c->features), "usable", streq(status, "ready"));
	if (err)
		json_object_set_new(o, "message", json_string(crib_error_msg(err)));
	crib_error_free(err);
	return o;
}

json_t *crib_view_classes(struct crib_router *rt)
{
	json_t *a = json_array();
	struct crib_list *n;

	crib_list_foreach (n, &rt->classes)
		json_array_append_new(a, class_json(rt, container_of(n, struct crib_rclass, link)));
	return a;
}

const char *crib_view_pod_state(uint32_t state)
{
	return state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY ? "ready" : "notready";
}

const char *crib_view_container_state(uint32_t state)
{
	static const char *const names[] = {
	    [RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED] = "created",
	    [RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING] = "running",
	    [RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED] = "exited",
	    [RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN] = "unknown",
	};

	return state < ARRAY_SIZE(names) ? names[state] : "unknown";
}

static json_t *time_json(int64_t ns)
{
	char buf[40];

	(void)crib_crilog_timestamp(ns, buf);
	return json_string(buf);
}

/* Labels and annotations: protobuf-c map entries share this shape. */
struct map_entry {
	ProtobufCMessage base;
	char *key;
	char *value;
};

static json_t *map_json(void *const *entries, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++) {
		const struct map_entry *e = entries[i];

		json_object_set_new(o, e->key, json_string(e->value));
	}
	return o;
}

static void set_string(json_t *o, const char *key, const char *value)
{
	if (!isempty(value))
		json_object_set_new(o, key, json_string(value));
}

static bool host_network(const Runtime__V1__PodSandboxConfig *cfg)
{
	const Runtime__V1__LinuxPodSandboxConfig *lx = cfg->linux;

	return lx && lx->security_context && lx->security_context->namespace_options &&
	       lx->security_context->namespace_options->network ==
	           RUNTIME__V1__NAMESPACE_MODE__NODE;
}

json_t *crib_view_pod(const struct crib_pod *p)
{
	const Runtime__V1__PodSandboxMetadata *md = p->config->metadata;
	const struct crib_list *n;
	int count = 0;
	json_t *o;

	crib_list_foreach (n, &p->containers)
		count++;
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:s, s:s, s:b, s:o, s:o, s:i}", "id",
	              p->id, "name", md->name, "namespace", md->namespace_, "uid", md->uid,
	              "attempt", (int)md->attempt, "state", crib_view_pod_state(p->state),
	              "created_at", time_json(p->created_at), "runtime_class", p->cls->pub.name,
	              "backend", p->cls->backend_name, "host_network", host_network(p->config),
	              "labels", map_json((void *const *)p->config->labels, p->config->n_labels),
	              "annotations",
	              map_json((void *const *)p->config->annotations, p->config->n_annotations),
	              "container_count", count);
	set_string(o, "ip", p->ip);
	if (!isempty(p->additional_ips))
		json_object_set_new(o, "additional_ips", split_json(p->additional_ips));
	return o;
}

json_t *crib_view_container(const struct crib_container *c)
{
	const Runtime__V1__ContainerMetadata *md = c->config->metadata;
	const Runtime__V1__PodSandboxMetadata *pmd = c->pod->config->metadata;
	const char *image = c->config->image ? c->config->image->image : "";
	json_t *o;

	o = json_pack(
	    "{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o}", "id", c->id,
	    "name", md->name, "attempt", (int)md->attempt, "pod_id", c->pod->id, "pod_name",
	    pmd->name, "namespace", pmd->namespace_, "state", crib_view_container_state(c->state),
	    "image", image, "created_at", time_json(c->created_at), "runtime_class",
	    c->pod->cls->pub.name, "backend", c->pod->cls->backend_name, "labels",
	    map_json((void *const *)c->config->labels, c->config->n_labels), "annotations",
	    map_json((void *const *)c->config->annotations, c->config->n_annotations));
	set_string(o, "image_id", c->image_id);
	set_string(o, "image_ref", c->image_ref);
	if (c->started_at)
		json_object_set_new(o, "started_at", time_json(c->started_at));
	if (c->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED) {
		json_object_set_new(o, "finished_at", time_json(c->finished_at));
		json_object_set_new(o, "exit_code", json_integer(c->exit_code));
	}
	set_string(o, "reason", c->reason);
	set_string(o, "message", c->message);
	set_string(o, "log_path", c->log_path);
	return o;
}
