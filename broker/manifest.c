/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "manifest.h"
#include "util.h"

#define MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_SCHEMA1  "application/vnd.docker.distribution.manifest.v1"

const char crib_manifest_accept[] =
    MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST;

/* libarchive detects the compression; these are the types it is known to get. */
static const char *const layer_types[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
};

static const char *const config_types[] = {
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
};

static bool one_of(const char *s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(s, v[i]))
			return true;
	return false;
}

/*
 * Reads a descriptor ({mediaType, digest, size}) whose media type must be one
 * of TYPES (N of them; an absent media type passes, as Docker omits it).
 * WHAT names it in errors.
 */
static int read_descriptor(json_t *d, const char *const *types, size_t n, const char *what,
                           struct crib_descriptor *ret, struct crib_error **reterr)
{
	const char *type = NULL, *digest = NULL;
	json_int_t size = -1;

	if (json_unpack(d, "{s?:s, s:s, s:I}", "mediaType", &type, "digest", &digest, "size",
	                &size) < 0)
		return crib_error_set(reterr, EPROTO,
		                      "%s is not a descriptor with a digest and a size", what);
	if (!crib_digest_valid(digest))
		return crib_error_set(reterr, EPROTO, "%s has an invalid digest '%s'", what,
		                      digest);
	if (size < 0)
		return crib_error_set(reterr, EPROTO, "%s has a negative size", what);
	if (type && !one_of(type, types, n))
		return crib_error_set(reterr, ENOTSUP, "%s is of unsupported type '%s'", what,
		                      type);
	(void)snprintf(ret->digest, sizeof(ret->digest), "%s", digest);
	ret->size = size;
	return 0;
}

static int parse_image(json_t *doc, struct crib_manifest *m, struct crib_error **reterr)
{
	json_t *layers = json_object_get(doc, "layers");
	size_t i;
	int r;

	m->kind = CRIB_MANIFEST_IMAGE;
	r = read_descriptor(json_object_get(doc, "config"), config_types, ARRAY_SIZE(config_types),
	                    "The manifest's config", &m->config, reterr);
	if (r < 0)
		return r;
	if (!json_is_array(layers))
		return crib_error_set(reterr, EPROTO, "The manifest has no layers array");
	m->layers = crib_xcalloc(json_array_size(layers) + 1, sizeof(*m->layers));
	for (i = 0; i < json_array_size(layers); i++) {
		char what[64];
		json_t *l = json_array_get(layers, i);

		(void)snprintf(what, sizeof(what), "Layer %zu of the manifest", i);
		/* A layer must say what it is: a foreign or encrypted blob is not a tar. */
		if (!json_is_string(json_object_get(l, "mediaType")))
			return crib_error_set(reterr, EPROTO, "%s has no mediaType", what);
		r = read_descriptor(l, layer_types, ARRAY_SIZE(layer_types), what,
		                    &m->layers[m->n_layers], reterr);
		if (r < 0)
			return r;
		m->n_layers++;
	}
	return 0;
}

static int parse_index(json_t *doc, struct crib_manifest *m, struct crib_error **reterr)
{
	json_t *manifests = json_object_get(doc, "manifests"), *e;
	size_t i;

	m->kind = CRIB_MANIFEST_INDEX;
	if (!json_is_array(manifests))
		return crib_error_set(reterr, EPROTO, "The index has no manifests array");
	m->entries = crib_xcalloc(json_array_size(manifests) + 1, sizeof(*m->entries));
	json_array_foreach(manifests, i, e)
	{
		const char *digest = NULL, *os = NULL, *arch = NULL, *variant = NULL;
		struct crib_platform_entry *p = &m->entries[m->n_entries];

		/* Entries without a platform are attestations and the like: not images. */
		if (json_unpack(e, "{s:s, s:{s:s, s:s, s?:s}}", "digest", &digest, "platform", "os",
		                &os, "architecture", &arch, "variant", &variant) < 0)
			continue;
		if (!crib_digest_valid(digest))
			return crib_error_set(reterr, EPROTO,
			                      "Entry %zu of the index has an invalid digest '%s'",
			                      i, digest);
		(void)snprintf(p->digest, sizeof(p->digest), "%s", digest);
		p->os = crib_xstrdup(os);
		p->arch = crib_xstrdup(arch);
		p->variant = crib_xstrdup(variant);
		m->n_entries++;
	}
	return 0;
}

int crib_manifest_parse(const char *data, size_t len, const char *header_type,
                        struct crib_manifest *ret, struct crib_error **reterr)
{
	const char *type = NULL;
	json_error_t jerr;
	json_t *doc;
	int r;

	*ret = (struct crib_manifest){0};
	doc = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return crib_error_set(reterr, EPROTO, "The manifest is not JSON: %s (line %d)",
		                      jerr.text, jerr.line);
	if (json_unpack(doc, "{s:s}", "mediaType", &type) < 0)
		type = header_type;
	if (!json_is_object(doc))
		r = crib_error_set(reterr, EPROTO, "The manifest is not a JSON object");
	else if (!type)
		r = crib_error_set(reterr, ENOTSUP, "The manifest says no media type");
	else if (strncmp(type, MT_DOCKER_SCHEMA1, strlen(MT_DOCKER_SCHEMA1)) == 0)
		r = crib_error_set(reterr, ENOTSUP,
		                   "The manifest is a Docker schema 1 one; crib pulls OCI and "
		                   "Docker schema 2 images");
	else if (streq(type, MT_OCI_INDEX) || streq(type, MT_DOCKER_LIST))
		r = parse_index(doc, ret, reterr);
	else if (streq(type, MT_OCI_MANIFEST) || streq(type, MT_DOCKER_MANIFEST))
		r = parse_image(doc, ret, reterr);
	else
		r = crib_error_set(reterr, ENOTSUP, "Manifest type '%s' is not supported", type);
	if (r == 0)
		ret->media_type = crib_xstrdup(type);
	json_decref(doc);
	if (r < 0)
		crib_manifest_clear(ret);
	return r;
}

static char *platform_list(const struct crib_manifest *index)
{
	char *s = crib_xstrdup("");

	for (size_t i = 0; i < index->n_entries; i++) {
		const struct crib_platform_entry *e = &index->entries[i];
		char *more = crib_xasprintf("%s%s%s/%s%s%s", s, *s ? ", " : "", e->os, e->arch,
		                            e->variant ? "/" : "", e->variant ? e->variant : "");

		free(s);
		s = more;
	}
	return s;
}

const struct crib_platform_entry *crib_manifest_select(const struct crib_manifest *index,
                                                       const char *name, const char *os,
                                                       const char *arch, const char *variant,
                                                       struct crib_error **reterr)
{
	const struct crib_platform_entry *fallback = NULL;
	_cleanup_free_ char *seen = NULL;

	for (size_t i = 0; i < index->n_entries; i++) {
		const struct crib_platform_entry *e = &index->entries[i];

		if (!streq(e->os, os) || !streq(e->arch, arch))
			continue;
		if (!variant || (e->variant && streq(e->variant, variant)))
			return e;
		if (!e->variant && !fallback)
			fallback = e;
	}
	if (fallback)
		return fallback;
	seen = platform_list(index);
	crib_error_set(reterr, ENOENT, "%s has no image for %s/%s%s%s (the index has: %s)", name,
	               os, arch, variant ? "/" : "", variant ? variant : "",
	               *seen ? seen : "nothing");
	return NULL;
}

void crib_manifest_clear(struct crib_manifest *m)
{
	for (size_t i = 0; i < m->n_entries; i++) {
		free(m->entries[i].os);
		free(m->entries[i].arch);
		free(m->entries[i].variant);
	}
	free(m->entries);
	free(m->layers);
	free(m->media_type);
	*m = (struct crib_manifest){0};
}
