/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "backend.h"
#include "config.h"
#include "error.h"
#include "host.h"
#include "log.h"
#include "op.h"
#include "router.h"

#define LOG_CAT "router"

struct crib_router *crib_router_new(uv_loop_t *loop, const char *plugin_dir, const char *state_dir,
                                    const char *run_dir, struct crib_mailbox *mailbox)
{
	struct crib_router *rt = crib_xcalloc(1, sizeof(*rt));

	rt->loop = loop;
	crib_list_init(&rt->backends);
	crib_list_init(&rt->classes);
	rt->default_class = crib_xstrdup("");
	rt->plugin_dir = crib_xstrdup(plugin_dir);
	rt->state_dir = crib_xstrdup(state_dir);
	rt->run_dir = crib_xstrdup(run_dir);
	rt->mailbox = mailbox;
	return rt;
}

struct crib_rclass *crib_rclass_free(struct crib_rclass *c)
{
	if (!c)
		return NULL;
	free((char *)c->pub.name);
	free((char *)c->pub.file);
	free(c->backend_name);
	for (size_t i = 0; i < c->n_kv; i++) {
		free((char *)c->kv[i].key);
		free((char *)c->kv[i].value);
		free((char *)c->kv[i].file);
	}
	free(c->kv);
	free(c->fingerprint);
	free(c->snapshot);
	free(c->error);
	free(c);
	return NULL;
}

struct crib_router *crib_router_free(struct crib_router *rt)
{
	struct crib_list *n, *t;

	if (!rt)
		return NULL;
	crib_list_foreach_safe (n, t, &rt->classes) {
		struct crib_rclass *c = container_of(n, struct crib_rclass, link);

		if (c->opened && c->backend && c->backend->initialized)
			c->backend->ops->class_close(c->backend->state, &c->pub);
		crib_list_del(n);
		crib_rclass_free(c);
	}
	crib_list_foreach_safe (n, t, &rt->backends) {
		crib_list_del(n);
		crib_backend_free(container_of(n, struct crib_backend, link));
	}
	free(rt->default_class);
	free(rt->plugin_dir);
	free(rt->state_dir);
	free(rt->run_dir);
	free(rt);
	return NULL;
}

/*
 * The identity of an instance: its backend and key/values, not where they
 * were written.  Length-prefixed, so no value can make two versions look
 * alike, and free of any encoding that could refuse a byte.
 */
static char *fingerprint(const char *backend, const struct crib_kv *kv, size_t n_kv)
{
	char *s = crib_xasprintf("%zu:%s", strlen(backend), backend);

	for (size_t i = 0; i < n_kv; i++) {
		char *next = crib_xasprintf("%s|%zu:%s=%zu:%s", s, strlen(kv[i].key), kv[i].key,
		                            strlen(kv[i].value), kv[i].value);

		free(s);
		s = next;
	}
	return s;
}

static struct crib_rclass *rclass_new(const char *name, const char *backend, const char *file,
                                      uint32_t line, const struct crib_kv *kv, size_t n_kv)
{
	struct crib_rclass *c = crib_xcalloc(1, sizeof(*c));

	c->pub.name = crib_xstrdup(name);
	c->pub.file = crib_xstrdup(file);
	c->pub.line = line;
	c->backend_name = crib_xstrdup(backend);
	c->kv = n_kv ? crib_xcalloc(n_kv, sizeof(*c->kv)) : NULL;
	for (size_t i = 0; i < n_kv; i++)
		c->kv[i] = (struct crib_kv){
		    .key = crib_xstrdup(kv[i].key),
		    .value = crib_xstrdup(kv[i].value),
		    .file = crib_xstrdup(kv[i].file),
		    .line = kv[i].line,
		};
	c->n_kv = n_kv;
	c->pub.kv = c->kv;
	c->pub.n_kv = n_kv;
	c->fingerprint = fingerprint(backend, kv, n_kv);
	crib_list_init(&c->link);
	return c;
}

const char *crib_rclass_snapshot(struct crib_rclass *c)
{
	json_t *o, *a;
	bool ok = true;

	if (c->snapshot)
		return c->snapshot;
	a = json_array();
	for (size_t i = 0; i < c->n_kv; i++) {
		json_t *e = json_pack("[s,s,s,i]", c->kv[i].key, c->kv[i].value, c->kv[i].file,
		                      (int)c->kv[i].line);

		/* jansson refuses strings that are not UTF-8; the config parser does first. */
		ok = ok && e && json_array_append_new(a, e) == 0;
	}
	o = json_pack("{s:s, s:s, s:s, s:i, s:o}", "name", c->pub.name, "backend", c->backend_name,
	              "file", c->pub.file, "line", (int)c->pub.line, "kv", a);
	if (o && ok)
		c->snapshot = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return c->snapshot;
}

int crib_rclass_from_snapshot(const char *text, struct crib_rclass **ret,
                              struct crib_error **reterr)
{
	const char *name, *backend, *file;
	json_int_t line;
	json_t *o, *a;
	json_error_t jerr;
	struct crib_kv *kv = NULL;
	size_t n = 0;
	int r = 0;

	o = json_loads(text, 0, &jerr);
	if (!o)
		return crib_error_set(reterr, EINVAL, "Class snapshot is not JSON: %s", jerr.text);
	if (json_unpack_ex(o, &jerr, 0, "{s:s, s:s, s:s, s:I, s:o}", "name", &name, "backend",
	                   &backend, "file", &file, "line", &line, "kv", &a) < 0) {
		r = crib_error_set(reterr, EINVAL, "Class snapshot is malformed: %s", jerr.text);
		goto out;
	}
	if (!crib_name_valid(name) || !crib_name_valid(backend)) {
		r = crib_error_set(reterr, EINVAL,
		                   "Class snapshot is malformed: '%s' is not a valid %s name",
		                   crib_name_valid(name) ? backend : name,
		                   crib_name_valid(name) ? "backend" : "runtime class");
		goto out;
	}
	if (!json_is_array(a)) {
		r = crib_error_set(reterr, EINVAL,
		                   "Class snapshot is malformed: 'kv' is not an array");
		goto out;
	}
	n = json_array_size(a);
	kv = crib_xcalloc(n ? n : 1, sizeof(*kv));
	for (size_t i = 0; i < n; i++) {
		json_int_t kline;

		if (json_unpack(json_array_get(a, i), "[s,s,s,I]", &kv[i].key, &kv[i].value,
		                &kv[i].file, &kline) < 0) {
			r = crib_error_set(reterr, EINVAL, "Class snapshot key %zu is malformed",
			                   i);
			goto out;
		}
		kv[i].line = (uint32_t)kline;
	}
	*ret = rclass_new(name, backend, file, (uint32_t)line, kv, n);
out:
	free(kv);
	json_decref(o);
	return r;
}

struct crib_backend *crib_router_backend(struct crib_router *rt, const char *name)
{
	struct crib_list *n;

	crib_list_foreach (n, &rt->backends) {
		struct crib_backend *b = container_of(n, struct crib_backend, link);

		if (streq(b->name, name))
			return b;
	}
	return NULL;
}

struct crib_rclass *crib_router_find(struct crib_router *rt, const char *name,
                                     const char *fingerprint)
{
	struct crib_list *n;

	crib_list_foreach (n, &rt->classes) {
		struct crib_rclass *c = container_of(n, struct crib_rclass, link);

		if (streq(c->pub.name, name) && streq(c->fingerprint, fingerprint))
			return c;
	}
	return NULL;
}

struct crib_rclass *crib_router_find_active(struct crib_router *rt, const char *name)
{
	struct crib_list *n;

	crib_list_foreach (n, &rt->classes) {
		struct crib_rclass *c = container_of(n, struct crib_rclass, link);

		if (c->active && streq(c->pub.name, name))
			return c;
	}
	return NULL;
}

static bool has_retired(struct crib_router *rt, const char *name)
{
	struct crib_list *n;

	crib_list_foreach (n, &rt->classes) {
		struct crib_rclass *c = container_of(n, struct crib_rclass, link);

		if (!c->active && streq(c->pub.name, name))
			return true;
	}
	return false;
}

int crib_router_resolve(struct crib_router *rt, const char *handler, struct crib_rclass **ret,
                        struct crib_error **reterr)
{
	const char *name = isempty(handler) ? rt->default_class : handler;
	struct crib_rclass *c;
	struct crib_backend *b;

	if (isempty(name))
		return crib_error_set(reterr, ENOENT,
		                      "No runtime handler was given and no default_runtime_class "
		                      "is configured");
	c = crib_router_find_active(rt, name);
	if (!c) {
		if (has_retired(rt, name))
			return crib_error_set(reterr, ENOENT,
			                      "Runtime handler '%s' was removed from the "
			                      "configuration; its existing pods keep running",
			                      name);
		return crib_error_set(reterr, ENOENT, "Runtime handler '%s' is not configured",
		                      name);
	}
	b = c->backend;
	switch (b->status) {
	case CRIB_BACKEND_HEALTHY:
		break;
	case CRIB_BACKEND_UNLOADED:
	case CRIB_BACKEND_LOAD_FAILED:
		return crib_error_set(reterr, ENOEXEC,
		                      "Runtime handler '%s': backend '%s' cannot be loaded: %s",
		                      name, b->name, b->error ? b->error : "not loaded");
	case CRIB_BACKEND_INIT_FAILED:
	case CRIB_BACKEND_UNHEALTHY:
	default:
		return crib_error_set(reterr, EAGAIN,
		                      "Runtime handler '%s': backend '%s' is unavailable: %s", name,
		                      b->name, b->error ? b->error : "unhealthy");
	}
	if (!c->opened)
		return crib_error_set(reterr, ENOEXEC, "Runtime handler '%s' is misconfigured: %s",
		                      name, c->error ? c->error : "not opened");
	*ret = c;
	return 0;
}

void crib_rclass_ref(struct crib_rclass *c)
{
	c->refs++;
}

static void on_class_closed(struct crib_op *op)
{
	struct crib_rclass *c = op->data;

	crib_op_free(op);
	crib_rclass_free(c);
}

/* Unlinks an unused retired instance; class_close runs on a worker. */
static void retire_if_unused(uv_loop_t *loop, struct crib_rclass *c)
{
	struct crib_op *op;

	if (c->active || c->refs > 0 || c->rt->closing)
		return;
	crib_list_del(&c->link);
	if (!c->opened || !c->backend->initialized) {
		crib_rclass_free(c);
		return;
	}
	op = crib_op_new(CRIB_OP_CLASS_CLOSE, c->backend, on_class_closed, c);
	op->cls = &c->pub;
	if (crib_op_start(loop, op) < 0) {
		/* No worker to run it: close inline, we are on our way down anyway. */
		c->backend->ops->class_close(c->backend->state, &c->pub);
		crib_op_free(op);
		crib_rclass_free(c);
	}
}

void crib_rclass_unref(struct crib_rclass *c)
{
	if (c->refs > 0)
		c->refs--;
	/* Instances that never made it into a router (tests, failed plans) have no loop. */
	if (c->rt)
		retire_if_unused(c->rt->loop, c);
}

/*
 * One class_open to do.  The worker writes only here; the loop copies the
 * outcome into the instance, which it may already be showing to callers.
 */
struct open_item {
	struct crib_rclass *c;
	struct crib_backend *b;
	bool fresh; /* c is not yet linked into the router */
	bool opened;
	uint64_t features;
	void *data;
	int errnum;
	char *error;
};

/* The plan a reload carries to its worker and back. */
struct reload {
	uv_work_t work;
	struct crib_router *rt;
	uv_loop_t *loop;
	/* Fresh backends to load and init (replacing failed ones of the same name). */
	struct crib_backend **load;
	size_t n_load;
	/* Instances to open, with the backend to open them on. */
	struct open_item *open;
	size_t n_open;
	/* Instances that are active after the reload (kept and fresh). */
	struct crib_rclass **active;
	size_t n_active;
	char *default_class;
	struct crib_config_section *backend_sections; /* copies of [backend.NAME] */
	size_t n_backend_sections;
	crib_router_cb done;
	void *user;
};

static void push(void ***v, size_t *n, void *p)
{
	*v = crib_xrealloc(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = p;
}

static struct crib_backend *planned_backend(struct reload *rl, const char *name)
{
	struct crib_backend *b;

	for (size_t i = 0; i < rl->n_load; i++)
		if (streq(rl->load[i]->name, name))
			return rl->load[i];
	b = crib_router_backend(rl->rt, name);
	if (b && (b->status == CRIB_BACKEND_HEALTHY || b->status == CRIB_BACKEND_UNHEALTHY))
		return b;
	/* Not loaded yet, or failed before: a fresh object retries it. */
	b = crib_backend_new(name, rl->rt->plugin_dir, rl->rt->mailbox);
	push((void ***)&rl->load, &rl->n_load, b);
	return b;
}

static struct open_item *planned_open(struct reload *rl, const char *name, const char *fp)
{
	for (size_t i = 0; i < rl->n_open; i++)
		if (streq(rl->open[i].c->pub.name, name) && streq(rl->open[i].c->fingerprint, fp))
			return &rl->open[i];
	return NULL;
}

/*
 * Finds or plans the instance for one class spec (consumed).  An instance
 * already open on a live backend is kept as is; one whose open or backend
 * failed before is opened again, so that a reload retries after the operator
 * fixed the cause.
 */
static struct crib_rclass *plan_class(struct reload *rl, struct crib_rclass *spec)
{
	struct crib_rclass *c = crib_router_find(rl->rt, spec->pub.name, spec->fingerprint);
	struct open_item *planned = planned_open(rl, spec->pub.name, spec->fingerprint);
	struct crib_backend *b;
	bool fresh = !c;

	if (planned) {
		crib_rclass_free(spec);
		return planned->c;
	}
	b = planned_backend(rl, spec->backend_name);
	if (fresh) {
		c = spec;
	} else {
		crib_rclass_free(spec);
		if (c->opened && c->backend == b)
			return c;
	}
	rl->open = crib_xrealloc(rl->open, rl->n_open + 1, sizeof(*rl->open));
	rl->open[rl->n_open++] = (struct open_item){.c = c, .b = b, .fresh = fresh};
	return c;
}

static const struct crib_config_section *backend_section(struct reload *rl, const char *name)
{
	for (size_t i = 0; i < rl->n_backend_sections; i++)
		if (streq(rl->backend_sections[i].name, name))
			return &rl->backend_sections[i];
	return NULL;
}

static void load_backend(struct reload *rl, struct crib_backend *b)
{
	const struct crib_config_section *sec = backend_section(rl, b->name);
	struct crib_error *err = NULL;
	int r;

	r = crib_backend_module_open(b->path, b->name, &b->dl, &b->ops, &err);
	if (r < 0) {
		crib_backend_set_failed(b, CRIB_BACKEND_LOAD_FAILED, err);
		goto out;
	}
	r = crib_host_setup(b, rl->rt->state_dir, rl->rt->run_dir, sec ? sec->kv : NULL,
	                    sec ? sec->n_kv : 0, &err);
	if (r < 0) {
		crib_backend_set_failed(b, CRIB_BACKEND_INIT_FAILED, err);
		goto out;
	}
	r = b->ops->init(&b->host, &b->state, &err);
	if (r < 0) {
		if (!err)
			(void)crib_error_set(&err, -r, "init failed: %s", strerror(-r));
		crib_backend_set_failed(b, CRIB_BACKEND_INIT_FAILED, err);
		/* The ABI promises fini() even for a half-initialised state. */
		b->ops->fini(b->state);
		b->state = NULL;
		goto out;
	}
	b->initialized = true;
	b->status = CRIB_BACKEND_HEALTHY;
out:
	crib_error_free(err);
}

static void open_class(struct open_item *it)
{
	struct crib_backend *b = it->b;
	struct crib_error *err = NULL;
	int r;

	if (!b->initialized)
		return; /* resolve() reports the backend's own error */
	r = b->ops->class_open(b->state, &it->c->pub, &it->features, &it->data, &err);
	if (r < 0) {
		it->errnum = err ? err->errnum : -r;
		it->error = crib_xstrdup(err ? crib_error_msg(err) : strerror(-r));
		crib_error_free(err);
		return;
	}
	it->opened = true;
}

static void apply_open(struct crib_router *rt, struct open_item *it)
{
	struct crib_rclass *c = it->c;

	c->rt = rt;
	c->backend = it->b;
	c->opened = it->opened;
	c->features = it->features;
	c->pub.data = it->data;
	c->errnum = it->errnum;
	free(c->error);
	c->error = TAKE_PTR(it->error);
	if (!c->opened && c->backend->initialized)
		log_err("Runtime class '%s' cannot be used: %s", c->pub.name, c->error);
	if (it->fresh)
		crib_list_add_tail(&rt->classes, &c->link);
}

static void on_reload_work(uv_work_t *w)
{
	struct reload *rl = container_of(w, struct reload, work);

	for (size_t i = 0; i < rl->n_load; i++)
		load_backend(rl, rl->load[i]);
	for (size_t i = 0; i < rl->n_open; i++)
		open_class(&rl->open[i]);
}

static void replace_backend(struct crib_router *rt, struct crib_backend *nb)
{
	struct crib_backend *old = crib_router_backend(rt, nb->name);
	struct crib_list *n;

	if (old) {
		crib_list_foreach (n, &rt->classes) {
			struct crib_rclass *c = container_of(n, struct crib_rclass, link);

			if (c->backend == old)
				c->backend = nb;
		}
		nb->n_pods = old->n_pods;
		nb->n_containers = old->n_containers;
		crib_list_del(&old->link);
		crib_backend_free(old);
	}
	crib_list_add_tail(&rt->backends, &nb->link);
	if (nb->status == CRIB_BACKEND_HEALTHY)
		log_info("Loaded backend '%s' from '%s'", nb->name, nb->path);
	else
		log_err("Backend '%s' cannot serve: %s", nb->name, nb->error);
}

static bool in_active(struct reload *rl, struct crib_rclass *c)
{
	for (size_t i = 0; i < rl->n_active; i++)
		if (rl->active[i] == c)
			return true;
	return false;
}

static void free_reload(struct reload *rl)
{
	for (size_t i = 0; i < rl->n_backend_sections; i++) {
		struct crib_config_section *s = &rl->backend_sections[i];

		free(s->name);
		for (size_t j = 0; j < s->n_kv; j++) {
			free((char *)s->kv[j].key);
			free((char *)s->kv[j].value);
			free((char *)s->kv[j].file);
		}
		free(s->kv);
	}
	free(rl->backend_sections);
	free(rl->load);
	free(rl->open);
	free(rl->active);
	free(rl->default_class);
	free(rl);
}

static void on_reload_done(uv_work_t *w, int status)
{
	struct reload *rl = container_of(w, struct reload, work);
	struct crib_router *rt = rl->rt;
	struct crib_list *n, *t;

	(void)status;
	for (size_t i = 0; i < rl->n_load; i++)
		replace_backend(rt, rl->load[i]);
	for (size_t i = 0; i < rl->n_open; i++)
		apply_open(rt, &rl->open[i]);
	crib_list_foreach (n, &rt->classes) {
		struct crib_rclass *c = container_of(n, struct crib_rclass, link);

		c->active = in_active(rl, c);
	}
	crib_strreplace(&rt->default_class, rl->default_class);
	rt->reloading = false;
	/* First the caller, which may take references (pods restored at start-up)... */
	rl->done(rt, rl->user);
	/* ...then instances nobody uses any more go. */
	crib_list_foreach_safe (n, t, &rt->classes)
		retire_if_unused(rl->loop, container_of(n, struct crib_rclass, link));
	free_reload(rl);
}

static void copy_backend_sections(struct reload *rl, const struct crib_config *cfg)
{
	rl->n_backend_sections = cfg->n_backends;
	rl->backend_sections =
	    crib_xcalloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*rl->backend_sections));
	for (size_t i = 0; i < cfg->n_backends; i++) {
		const struct crib_config_section *s = &cfg->backends[i];
		struct crib_config_section *d = &rl->backend_sections[i];

		d->name = crib_xstrdup(s->name);
		d->n_kv = s->n_kv;
		d->kv = crib_xcalloc(s->n_kv ? s->n_kv : 1, sizeof(*d->kv));
		for (size_t j = 0; j < s->n_kv; j++)
			d->kv[j] = (struct crib_kv){
			    .key = crib_xstrdup(s->kv[j].key),
			    .value = crib_xstrdup(s->kv[j].value),
			    .file = crib_xstrdup(s->kv[j].file),
			    .line = s->kv[j].line,
			};
	}
}

int crib_router_reload(struct crib_router *rt, uv_loop_t *loop, const struct crib_config *cfg,
                       char *const *snapshots, size_t n_snapshots, crib_router_cb done, void *user)
{
	struct reload *rl;
	int r;

	if (rt->reloading)
		return -EBUSY;
	rl = crib_xcalloc(1, sizeof(*rl));
	rl->rt = rt;
	rl->loop = loop;
	rl->done = done;
	rl->user = user;
	rl->default_class = crib_xstrdup(cfg->default_runtime_class);
	copy_backend_sections(rl, cfg);

	for (size_t i = 0; i < cfg->n_classes; i++) {
		const struct crib_config_section *s = &cfg->classes[i];
		struct crib_rclass *c =
		    rclass_new(s->name, s->backend, s->file, s->line, s->kv, s->n_kv);

		push((void ***)&rl->active, &rl->n_active, plan_class(rl, c));
	}
	for (size_t i = 0; i < n_snapshots; i++) {
		struct crib_rclass *c = NULL;
		struct crib_error *err = NULL;

		if (crib_rclass_from_snapshot(snapshots[i], &c, &err) < 0) {
			log_err("Failed to restore a runtime class from the store: %s, ignoring",
			        crib_error_msg(err));
			crib_error_free(err);
			continue;
		}
		(void)plan_class(rl, c);
	}

	rt->reloading = true;
	r = uv_queue_work(loop, &rl->work, on_reload_work, on_reload_done);
	if (r < 0) {
		rt->reloading = false;
		for (size_t i = 0; i < rl->n_open; i++)
			if (rl->open[i].fresh)
				crib_rclass_free(rl->open[i].c);
		for (size_t i = 0; i < rl->n_load; i++)
			crib_backend_free(rl->load[i]);
		free_reload(rl);
		return r;
	}
	return 0;
}
