/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ImageService calls for runtime classes whose backend keeps its own images
 * (CRIB_CAP_OWN_IMAGES, docker): which class a call belongs to, and the
 * backend ops that serve it.  Loop thread only.
 */
#ifndef CRIB_BROKER_IMAGE_BACKEND_H
#define CRIB_BROKER_IMAGE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "op.h"

struct crib_daemon;
struct crib_error;
struct crib_rclass;

/* True when the class's backend keeps its own images. */
bool crib_rclass_owns_images(const struct crib_rclass *cls);

/*
 * The class whose backend serves images for HANDLER (an ImageSpec's
 * runtime_handler; NULL or empty: the default class), or NULL in *ret when
 * cribd's own store does.  Errors as crib_router_resolve() for a named
 * handler; an empty one never fails (no default class: cribd's store).
 */
int crib_image_owner(struct crib_daemon *d, const char *handler, struct crib_rclass **ret,
                     struct crib_error **reterr);

/*
 * Makes the image op KIND for CLS's backend (which must own images), naming
 * IMAGE (copied; NULL for list and fs info).  The op holds a reference on the
 * class until crib_image_op_free().
 */
struct crib_op *crib_image_op_new(enum crib_op_kind kind, struct crib_rclass *cls,
                                  const char *image, crib_op_cb done, void *data);
/* Queues OP; on failure (-errno) op->r and op->err say why and DONE will not run. */
int crib_image_op_start(struct crib_daemon *d, struct crib_op *op);
void crib_image_op_free(struct crib_op *op);

/*
 * Runs the op KIND (CRIB_OP_IMAGE_LIST or CRIB_OP_IMAGE_FS_INFO) on every
 * backend that keeps images, once per backend, and calls DONE on the loop
 * with the finished ops (each op->r < 0 with op->err on failure).  DONE runs
 * exactly once, possibly before this returns; the ops are freed after it.
 */
typedef void (*crib_image_gather_cb)(void *data, struct crib_op *const *ops, size_t n);
void crib_image_gather(struct crib_daemon *d, enum crib_op_kind kind, crib_image_gather_cb done,
                       void *data);

#endif /* CRIB_BROKER_IMAGE_BACKEND_H */
