/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references, parsed and normalized the way Docker and containerd do
 * (the grammar of github.com/distribution/reference):
 *   busybox                  -> docker.io/library/busybox:latest
 *   127.0.0.1:5000/app:v1    -> 127.0.0.1:5000/app:v1
 *   repo@sha256:<hex>        -> docker.io/library/repo@sha256:<hex>
 * A reference names a repository on a registry host plus a tag, a digest or
 * both (then the digest wins for pulling).
 */
#ifndef CRIB_BROKER_IMAGEREF_H
#define CRIB_BROKER_IMAGEREF_H

#include <stdbool.h>

struct crib_error;

#define CRIB_DOCKER_HUB "docker.io"

struct crib_imageref {
	char *domain; /* "docker.io", "127.0.0.1:5000", "[::1]:5000" */
	char *path;   /* "library/busybox" */
	char *tag;    /* NULL when the reference has only a digest */
	char *digest; /* "sha256:<64 hex>", or NULL */
};

/*
 * Parses S.  On failure returns -EINVAL with a message saying what is wrong;
 * *ret is then untouched.  On success *ret owns its strings (free with
 * crib_imageref_clear()).
 */
int crib_imageref_parse(const char *s, struct crib_imageref *ret, struct crib_error **reterr);
void crib_imageref_clear(struct crib_imageref *r);

/* "domain/path" (malloc'd). */
char *crib_imageref_repo(const struct crib_imageref *r);
/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest" (malloc'd). */
char *crib_imageref_string(const struct crib_imageref *r);
/* "domain/path:tag", or NULL without a tag (malloc'd). */
char *crib_imageref_tagged(const struct crib_imageref *r);

/* True when the host is a loopback address or localhost (plain HTTP by default). */
bool crib_registry_is_loopback(const char *domain);

#endif /* CRIB_BROKER_IMAGEREF_H */
