/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry manifests: OCI image indexes and Docker manifest lists (choosing
 * the host's platform), OCI image manifests and Docker v2 schema 2 ones
 * (config and layer descriptors).  Pure parsing, no I/O; the documents come
 * from registries, so every field is checked.
 */
#ifndef CRIB_BROKER_MANIFEST_H
#define CRIB_BROKER_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct crib_error;

enum crib_manifest_kind {
	CRIB_MANIFEST_INDEX = 1, /* OCI index or Docker manifest list */
	CRIB_MANIFEST_IMAGE = 2, /* OCI image manifest or Docker schema 2 */
};

struct crib_descriptor {
	char digest[CRIB_DIGEST_LEN + 1];
	int64_t size;
};

/* One entry of an index. */
struct crib_platform_entry {
	char digest[CRIB_DIGEST_LEN + 1];
	char *os;
	char *arch;
	char *variant; /* NULL when the entry names none */
};

struct crib_manifest {
	enum crib_manifest_kind kind;
	char *media_type;
	/* CRIB_MANIFEST_INDEX */
	struct crib_platform_entry *entries;
	size_t n_entries;
	/* CRIB_MANIFEST_IMAGE */
	struct crib_descriptor config;
	struct crib_descriptor *layers; /* bottom first */
	size_t n_layers;
};

/*
 * Parses the manifest document DATA (LEN bytes).  Its own mediaType wins over
 * HEADER_TYPE (the response's Content-Type, may be NULL), as registries do.
 * Fills *RET, which the caller clears with crib_manifest_clear().  Errors:
 * -EPROTO for a malformed document (not JSON, missing or invalid config,
 * layers or digests), -ENOTSUP for Docker schema 1, unknown manifest types,
 * or layers of a type crib cannot unpack; the message names the field.
 */
int crib_manifest_parse(const char *data, size_t len, const char *header_type,
                        struct crib_manifest *ret, struct crib_error **reterr);

/*
 * Chooses the entry of INDEX for OS/ARCH/VARIANT (VARIANT may be NULL: any).
 * An entry with the wanted variant wins over one that names no variant.
 * Returns a pointer into INDEX, or NULL with -ENOENT in *reterr listing the
 * platforms the index has; NAME names the image in that message.
 */
const struct crib_platform_entry *crib_manifest_select(const struct crib_manifest *index,
                                                       const char *name, const char *os,
                                                       const char *arch, const char *variant,
                                                       struct crib_error **reterr);

/* The media types crib asks registries for, as an Accept header value. */
extern const char crib_manifest_accept[];

void crib_manifest_clear(struct crib_manifest *m);

#endif /* CRIB_BROKER_MANIFEST_H */
