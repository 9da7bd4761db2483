/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The images cribd holds: one record per image id (the digest of its
 * config), with the tags and repo digests that name it, its layers and what
 * its config says.  Loop thread only; the state store keeps them.
 */
#ifndef CRIB_BROKER_IMAGES_H
#define CRIB_BROKER_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h" /* uthash, with the project's hash function */

struct crib_error;

struct crib_image {
	char *id; /* "sha256:<hex>" of the config */
	UT_hash_handle hh;
	char **repo_tags; /* "docker.io/library/busybox:latest" */
	size_t n_repo_tags;
	char **repo_digests; /* "docker.io/library/busybox@sha256:..." */
	size_t n_repo_digests;
	char **manifests; /* every manifest or index digest that led here */
	size_t n_manifests;
	char **layers; /* layer blob digests, bottom first */
	size_t n_layers;
	uint64_t size;
	int64_t pulled_at;
	char *config;   /* the image config document (JSON) */
	char *user;     /* its config.User */
	unsigned users; /* containers made from it */
};

struct crib_images {
	struct crib_image *by_id;
};

/*
 * Finds an image by what CRI and kubelet call it: its id ("sha256:<hex>" or
 * the bare hex, or a unique hex prefix of at least 12 digits), a repo tag or
 * repo digest in any form an image reference may take ("busybox" finds
 * "docker.io/library/busybox:latest").  NULL when nothing or several match.
 */
struct crib_image *crib_images_find(struct crib_images *imgs, const char *name);

/* A name as a repo tag or repo digest would spell it, for images kept elsewhere. */
struct crib_image_query {
	const char *name; /* as given (borrowed) */
	char *tagged;     /* "docker.io/library/busybox:latest", or NULL */
	char *by_digest;  /* "docker.io/library/busybox@sha256:...", or NULL */
};

/* -EINVAL when NAME is not an image reference (it may still be an id). */
int crib_image_query_parse(const char *name, struct crib_image_query *ret);
/* True when the tags or digests include the query's. */
bool crib_image_query_names(const struct crib_image_query *q, char *const *repo_tags,
                            size_t n_repo_tags, char *const *repo_digests, size_t n_repo_digests);
void crib_image_query_clear(struct crib_image_query *q);

/*
 * Records an image (taking IMG), merging it with the record of the same id.
 * A tag names one image only: it moves from any other image, and an image
 * left with neither tags nor digests is returned in *ret_orphan (or NULL)
 * for the caller to remove.  Returns the record that now holds the image.
 */
struct crib_image *crib_images_add(struct crib_images *imgs, struct crib_image *img,
                                   struct crib_image **ret_orphan);
void crib_images_remove(struct crib_images *imgs, struct crib_image *img);
struct crib_image *crib_image_free(struct crib_image *img);
unsigned crib_images_count(const struct crib_images *imgs);

/* The record as JSON for the store (malloc'd), and back. */
char *crib_image_to_json(const struct crib_image *img);
int crib_image_from_json(const char *json, struct crib_image **ret, struct crib_error **reterr);

/* Reads config.User and friends out of the config document into IMG. */
void crib_image_parse_config(struct crib_image *img);

#endif /* CRIB_BROKER_IMAGES_H */
