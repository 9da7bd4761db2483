/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "digest.h"
#include "error.h"
#include "imageref.h"
#include "images.h"
#include "util.h"

/* Short ids must be long enough not to collide with a tag by accident. */
#define ID_PREFIX_MIN 12

static void strv_remove(char **v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (streq(v[i], s)) {
			free(v[i]);
			v[i] = v[--*n];
			return;
		}
}

struct crib_image *crib_image_free(struct crib_image *img)
{
	if (!img)
		return NULL;
	free(img->id);
	crib_strv_free(img->repo_tags, img->n_repo_tags);
	crib_strv_free(img->repo_digests, img->n_repo_digests);
	crib_strv_free(img->manifests, img->n_manifests);
	crib_strv_free(img->layers, img->n_layers);
	free(img->config);
	free(img->user);
	free(img);
	return NULL;
}

static bool hex_prefix(const char *s, size_t min)
{
	size_t n = strlen(s);

	if (n < min || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

static struct crib_image *find_id(struct crib_images *imgs, const char *name)
{
	struct crib_image *img = NULL, *it, *tmp, *found = NULL;
	const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
	size_t len = strlen(hex);
	unsigned n = 0;

	if (!hex_prefix(hex, hex == name ? ID_PREFIX_MIN : 1))
		return NULL;
	if (len == 64) {
		_cleanup_free_ char *id = crib_xasprintf("sha256:%s", hex);

		HASH_FIND(hh, imgs->by_id, id, strlen(id), img);
		return img;
	}
	HASH_ITER (hh, imgs->by_id, it, tmp) {
		if (strncmp(it->id + 7, hex, len) == 0) {
			found = it;
			n++;
		}
	}
	return n == 1 ? found : NULL;
}

int crib_image_query_parse(const char *name, struct crib_image_query *ret)
{
	struct crib_imageref ref = {0};
	_cleanup_free_ char *repo = NULL;

	*ret = (struct crib_image_query){.name = name};
	if (isempty(name) || crib_imageref_parse(name, &ref, NULL) < 0)
		return -EINVAL;
	repo = crib_imageref_repo(&ref);
	/* A digest names the image whatever tag came with it. */
	if (ref.digest)
		ret->by_digest = crib_xasprintf("%s@%s", repo, ref.digest);
	else
		ret->tagged = crib_imageref_tagged(&ref);
	crib_imageref_clear(&ref);
	return 0;
}

bool crib_image_query_names(const struct crib_image_query *q, char *const *repo_tags,
                            size_t n_repo_tags, char *const *repo_digests, size_t n_repo_digests)
{
	if (q->by_digest)
		return crib_strv_contains(repo_digests, n_repo_digests, q->by_digest);
	return q->tagged && crib_strv_contains(repo_tags, n_repo_tags, q->tagged);
}

void crib_image_query_clear(struct crib_image_query *q)
{
	free(q->tagged);
	free(q->by_digest);
	*q = (struct crib_image_query){0};
}

struct crib_image *crib_images_find(struct crib_images *imgs, const char *name)
{
	_cleanup_(crib_image_query_clear) struct crib_image_query q = {0};
	struct crib_image *img, *it, *tmp;

	if (isempty(name))
		return NULL;
	img = find_id(imgs, name);
	if (img || crib_image_query_parse(name, &q) < 0)
		return img;
	HASH_ITER (hh, imgs->by_id, it, tmp) {
		if (crib_image_query_names(&q, it->repo_tags, it->n_repo_tags, it->repo_digests,
		                           it->n_repo_digests))
			return it;
	}
	return NULL;
}

static void merge(struct crib_image *into, struct crib_image *from)
{
	for (size_t i = 0; i < from->n_repo_tags; i++)
		crib_strv_add_unique(&into->repo_tags, &into->n_repo_tags, from->repo_tags[i]);
	for (size_t i = 0; i < from->n_repo_digests; i++)
		crib_strv_add_unique(&into->repo_digests, &into->n_repo_digests,
		                     from->repo_digests[i]);
	for (size_t i = 0; i < from->n_manifests; i++)
		crib_strv_add_unique(&into->manifests, &into->n_manifests, from->manifests[i]);
	into->pulled_at = from->pulled_at;
}

struct crib_image *crib_images_add(struct crib_images *imgs, struct crib_image *img,
                                   struct crib_image **ret_orphan)
{
	struct crib_image *have = NULL, *it, *tmp;

	*ret_orphan = NULL;
	/* A tag moves to the newest image that carries it. */
	HASH_ITER (hh, imgs->by_id, it, tmp) {
		if (streq(it->id, img->id))
			continue;
		for (size_t i = 0; i < img->n_repo_tags; i++)
			strv_remove(it->repo_tags, &it->n_repo_tags, img->repo_tags[i]);
		if (it->n_repo_tags == 0 && it->n_repo_digests == 0 && !*ret_orphan)
			*ret_orphan = it;
	}
	HASH_FIND(hh, imgs->by_id, img->id, strlen(img->id), have);
	if (have) {
		merge(have, img);
		crib_image_free(img);
		return have;
	}
	HASH_ADD_KEYPTR(hh, imgs->by_id, img->id, strlen(img->id), img);
	return img;
}

void crib_images_remove(struct crib_images *imgs, struct crib_image *img)
{
	HASH_DELETE(hh, imgs->by_id, img);
	crib_image_free(img);
}

unsigned crib_images_count(const struct crib_images *imgs)
{
	return HASH_CNT(hh, imgs->by_id);
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

char *crib_image_to_json(const struct crib_image *img)
{
	json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:s}", "id", img->id,
	                      "repo_tags", strv_json(img->repo_tags, img->n_repo_tags),
	                      "repo_digests", strv_json(img->repo_digests, img->n_repo_digests),
	                      "manifests", strv_json(img->manifests, img->n_manifests), "layers",
	                      strv_json(img->layers, img->n_layers), "size", (json_int_t)img->size,
	                      "pulled_at", (json_int_t)img->pulled_at, "config",
	                      img->config ? img->config : "{}");
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!s)
		abort(); /* bookkeeping-sized and all UTF-8 (digests, references, JSON): util.h */
	return s;
}

static int strv_from_json(json_t *a, char ***ret, size_t *ret_n, bool digests)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return -EINVAL;
	json_array_foreach(a, i, v)
	{
		const char *s = json_string_value(v);

		if (!s || (digests && !crib_digest_valid(s)))
			return -EINVAL;
		crib_strv_add_unique(ret, ret_n, s);
	}
	return 0;
}

int crib_image_from_json(const char *text, struct crib_image **ret, struct crib_error **reterr)
{
	json_t *o = json_loads(text, 0, NULL);
	json_t *tags, *digests, *manifests, *layers;
	struct crib_image *img = crib_xcalloc(1, sizeof(*img));
	const char *id, *config;
	json_int_t size, at;

	if (!o ||
	    json_unpack(o, "{s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:s}", "id", &id, "repo_tags",
	                &tags, "repo_digests", &digests, "manifests", &manifests, "layers", &layers,
	                "size", &size, "pulled_at", &at, "config", &config) < 0 ||
	    !crib_digest_valid(id) ||
	    strv_from_json(tags, &img->repo_tags, &img->n_repo_tags, false) ||
	    strv_from_json(digests, &img->repo_digests, &img->n_repo_digests, false) ||
	    strv_from_json(manifests, &img->manifests, &img->n_manifests, true) ||
	    strv_from_json(layers, &img->layers, &img->n_layers, true)) {
		json_decref(o);
		crib_image_free(img);
		return crib_error_set(reterr, EINVAL, "An image record in the store is malformed");
	}
	img->id = crib_xstrdup(id);
	img->size = (uint64_t)size;
	img->pulled_at = at;
	img->config = crib_xstrdup(config);
	json_decref(o);
	crib_image_parse_config(img);
	*ret = img;
	return 0;
}

void crib_image_parse_config(struct crib_image *img)
{
	json_t *o = img->config ? json_loads(img->config, 0, NULL) : NULL;
	const char *user = NULL;

	if (o)
		(void)json_unpack(o, "{s:{s:s}}", "config", "User", &user);
	crib_strreplace(&img->user, user);
	json_decref(o);
}
