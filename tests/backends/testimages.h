/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image ops of testown (testproc built with TESTPROC_OWN_IMAGES): a
 * backend that keeps its own images, the way docker does, so that cribd's
 * routing of the ImageService to such backends is tested without docker.
 * "Pulling" records the name in <state_dir>/images.json; nothing is fetched.
 */
#ifndef CRIB_TESTS_TESTIMAGES_H
#define CRIB_TESTS_TESTIMAGES_H

#include <stdbool.h>

#include <crib/backend.h>

/* The host table of STATE (testproc's). */
const struct crib_host *tp_host(void *state);

int ti_image_pull(void *state, struct crib_op *op, const struct crib_image_pull_args *args,
                  char **ret_image_ref, struct crib_error **reterr);
int ti_image_status(void *state, struct crib_op *op, const struct crib_class *cls,
                    const char *image, int32_t verbose, struct crib_image_info *ret,
                    struct crib_error **reterr);
int ti_image_list(void *state, struct crib_op *op, const struct crib_class *cls,
                  struct crib_image_list *ret, struct crib_error **reterr);
int ti_image_remove(void *state, struct crib_op *op, const struct crib_class *cls,
                    const char *image, struct crib_error **reterr);
int ti_image_fs_info(void *state, struct crib_op *op, const struct crib_class *cls,
                     struct crib_fs_usage *ret, struct crib_error **reterr);

/* True when the backend holds IMAGE (a name or an id): container_create's check. */
bool ti_has_image(void *state, const char *image);

#endif /* CRIB_TESTS_TESTIMAGES_H */
