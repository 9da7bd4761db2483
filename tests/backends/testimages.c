/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "testimages.h"

/* Pulls, lists and removals of one backend happen on several worker threads. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void store_path(void *state, char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s/images.json", tp_host(state)->state_dir);
}

/* { id: name } */
static json_t *load(void *state)
{
	char path[PATH_MAX];
	json_t *o;

	store_path(state, path);
	o = json_load_file(path, 0, NULL);
	return json_is_object(o) ? o : (json_decref(o), json_object());
}

static int save(void *state, json_t *o)
{
	char path[PATH_MAX];

	store_path(state, path);
	return json_dump_file(o, path, JSON_COMPACT) < 0 ? -EIO : 0;
}

/* A stable fake digest of the name: four FNV-1a hashes with different seeds. */
static void id_of(const char *name, char out[72])
{
	int n = snprintf(out, 72, "sha256:");

	for (uint64_t seed = 1; seed <= 4; seed++) {
		uint64_t h = 14695981039346656037ull ^ seed;

		for (const char *p = name; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		n += snprintf(out + n, (size_t)(72 - n), "%016" PRIx64, h);
	}
}

/* The id of the image NAME or ID names in O, or NULL. */
static const char *find(json_t *o, const char *image)
{
	const char *id;
	json_t *name;

	json_object_foreach(o, id, name)
	{
		if (strcmp(id, image) == 0 || strcmp(id + 7, image) == 0 ||
		    strcmp(json_string_value(name), image) == 0)
			return id;
	}
	return NULL;
}

/*
 * Locks the store and loads it; *ret_id is the id IMAGE names, or NULL.
 * The caller saves if it changed something, then calls unlock().
 */
static json_t *lock_and_find(void *state, const char *image, const char **ret_id)
{
	json_t *o;

	pthread_mutex_lock(&lock);
	o = load(state);
	*ret_id = find(o, image);
	return o;
}

static void unlock(json_t *o)
{
	pthread_mutex_unlock(&lock);
	json_decref(o);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

static void fill(struct crib_image_info *ret, const char *id, const char *name, bool verbose)
{
	ret->id = xstrdup(id);
	ret->repo_tags = calloc(1, sizeof(char *));
	if (!ret->repo_tags)
		abort();
	ret->repo_tags[0] = xstrdup(name);
	ret->n_repo_tags = 1;
	ret->size = 4096;
	ret->uid = -1;
	ret->username = xstrdup("tester");
	if (verbose)
		ret->info = xstrdup("{\"keptBy\":\"testown\"}");
}

int ti_image_pull(void *state, struct crib_op *op, const struct crib_image_pull_args *args,
                  char **ret_image_ref, struct crib_error **reterr)
{
	const struct crib_host *host = tp_host(state);
	char id[72];
	json_t *o;
	int r;

	(void)op;
	if (strstr(args->image, "denied"))
		return host->error_set(reterr, EACCES, "the registry denied access to '%s'",
		                       args->image);
	/* Credentials arrive as the request carried them. */
	if (strstr(args->image, "private") &&
	    !(args->username && strcmp(args->username, "crib") == 0 && args->password &&
	      strcmp(args->password, "s3cret") == 0))
		return host->error_set(reterr, EKEYREJECTED, "'%s' needs the right credentials",
		                       args->image);
	id_of(args->image, id);
	pthread_mutex_lock(&lock);
	o = load(state);
	json_object_set_new(o, id, json_string(args->image));
	r = save(state, o);
	pthread_mutex_unlock(&lock);
	json_decref(o);
	if (r < 0)
		return host->error_set(reterr, -r, "cannot record image '%s'", args->image);
	*ret_image_ref = xstrdup(id);
	return 0;
}

int ti_image_status(void *state, struct crib_op *op, const struct crib_class *cls,
                    const char *image, int32_t verbose, struct crib_image_info *ret,
                    struct crib_error **reterr)
{
	const char *id;
	json_t *o;
	int r = 0;

	(void)op;
	(void)cls;
	o = lock_and_find(state, image, &id);
	if (id)
		fill(ret, id, json_string_value(json_object_get(o, id)), verbose);
	else
		r = tp_host(state)->error_set(reterr, ENOENT, "no image '%s'", image);
	unlock(o);
	return r;
}

int ti_image_list(void *state, struct crib_op *op, const struct crib_class *cls,
                  struct crib_image_list *ret, struct crib_error **reterr)
{
	const char *id;
	json_t *o, *name;

	(void)op;
	(void)cls;
	(void)reterr;
	pthread_mutex_lock(&lock);
	o = load(state);
	ret->images = calloc(json_object_size(o) + 1, sizeof(*ret->images));
	if (!ret->images)
		abort();
	json_object_foreach(o, id, name)
	{
		fill(&ret->images[ret->n_images++], id, json_string_value(name), false);
	}
	pthread_mutex_unlock(&lock);
	json_decref(o);
	return 0;
}

int ti_image_remove(void *state, struct crib_op *op, const struct crib_class *cls,
                    const char *image, struct crib_error **reterr)
{
	const char *id;
	json_t *o;
	int r = 0;

	(void)op;
	(void)cls;
	o = lock_and_find(state, image, &id);
	if (id) {
		json_object_del(o, id);
		r = save(state, o);
	}
	unlock(o);
	return r < 0 ? tp_host(state)->error_set(reterr, -r, "cannot remove '%s'", image) : 0;
}

int ti_image_fs_info(void *state, struct crib_op *op, const struct crib_class *cls,
                     struct crib_fs_usage *ret, struct crib_error **reterr)
{
	char path[PATH_MAX];
	struct stat sb;

	(void)op;
	(void)cls;
	(void)reterr;
	store_path(state, path);
	ret->mountpoint = xstrdup(tp_host(state)->state_dir);
	if (stat(path, &sb) == 0) {
		ret->used_bytes = (uint64_t)sb.st_size;
		ret->inodes_used = 1;
	}
	return 0;
}

bool ti_has_image(void *state, const char *image)
{
	const char *id;
	json_t *o = lock_and_find(state, image, &id);

	unlock(o);
	return id != NULL;
}
