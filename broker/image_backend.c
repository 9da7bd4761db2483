/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "backend.h"
#include "daemon.h"
#include "error.h"
#include "image_backend.h"
#include "log.h"
#include "router.h"
#include "util.h"

#define LOG_CAT "images"

bool crib_rclass_owns_images(const struct crib_rclass *cls)
{
	return cls && cls->backend && cls->backend->ops &&
	       (cls->backend->ops->caps & CRIB_CAP_OWN_IMAGES);
}

int crib_image_owner(struct crib_daemon *d, const char *handler, struct crib_rclass **ret,
                     struct crib_error **reterr)
{
	struct crib_rclass *cls;
	int r;

	*ret = NULL;
	/* kubelet sends no handler unless RuntimeClassInImageCriApi is on: the default class. */
	if (isempty(handler)) {
		cls = crib_router_find_active(d->router, d->router->default_class);
		if (!crib_rclass_owns_images(cls))
			return 0;
	}
	r = crib_router_resolve(d->router, handler ? handler : "", &cls, reterr);
	if (r < 0)
		return r;
	if (crib_rclass_owns_images(cls))
		*ret = cls;
	return 0;
}

static struct crib_rclass *op_class(struct crib_op *op)
{
	return container_of(op->cls, struct crib_rclass, pub);
}

struct crib_op *crib_image_op_new(enum crib_op_kind kind, struct crib_rclass *cls,
                                  const char *image, crib_op_cb done, void *data)
{
	struct crib_op *op = crib_op_new(kind, cls->backend, done, data);

	/* A reload may retire the class while the op runs; it stays open until then. */
	crib_rclass_ref(cls);
	op->cls = &cls->pub;
	op->image = crib_xstrdup(image);
	return op;
}

int crib_image_op_start(struct crib_daemon *d, struct crib_op *op)
{
	int r = crib_daemon_op_start(d, op);

	if (r < 0) {
		op->r = r;
		(void)crib_error_set(&op->err, -r,
		                     "Failed to queue an image operation on backend '%s': %s",
		                     op->backend->name, uv_strerror(r));
	}
	return r;
}

void crib_image_op_free(struct crib_op *op)
{
	if (!op)
		return;
	crib_rclass_unref(op_class(op));
	crib_op_free(op);
}

/* Every backend's ops for one ImageService call. */
struct image_gather {
	struct crib_op **ops;
	size_t n;
	unsigned pending;
	crib_image_gather_cb done;
	void *data;
};

static void gather_finish(struct image_gather *g)
{
	g->done(g->data, g->ops, g->n);
	for (size_t i = 0; i < g->n; i++)
		crib_image_op_free(g->ops[i]);
	free(g->ops);
	free(g);
}

static void on_gather_op(struct crib_op *op)
{
	struct image_gather *g = op->data;

	if (--g->pending == 0)
		gather_finish(g);
}

/* True when an op for CLS's backend is in G already (classes share a backend's images). */
static bool gather_has_backend(const struct image_gather *g, const struct crib_rclass *cls)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->ops[i]->backend == cls->backend)
			return true;
	return false;
}

void crib_image_gather(struct crib_daemon *d, enum crib_op_kind kind, crib_image_gather_cb done,
                       void *data)
{
	struct image_gather *g = crib_xcalloc(1, sizeof(*g));
	struct crib_list *n;

	g->done = done;
	g->data = data;
	g->pending = 1; /* held while starting, so that a quick op cannot finish early */
	crib_list_foreach (n, &d->router->classes) {
		struct crib_rclass *cls = container_of(n, struct crib_rclass, link);
		struct crib_op *op;

		if (!cls->active || !cls->opened || !crib_rclass_owns_images(cls) ||
		    gather_has_backend(g, cls))
			continue;
		op = crib_image_op_new(kind, cls, NULL, on_gather_op, g);
		g->ops = crib_xrealloc(g->ops, g->n + 1, sizeof(*g->ops));
		g->ops[g->n++] = op;
		/* An op that cannot start keeps its place, with the error as its result. */
		if (crib_image_op_start(d, op) == 0)
			g->pending++;
	}
	if (--g->pending == 0)
		gather_finish(g);
}
