/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images kept by the Engine (CRIB_CAP_OWN_IMAGES): kubelet's ImageService
 * calls for docker classes land here and go to the class's Engine, whose
 * image store is the one its containers start from.
 *
 * A pull is POST /images/create, answered as newline-delimited JSON progress.
 * An error found before anything was written comes as an HTTP status with
 * {"message": ...}; one found later (a layer that fails to download) as an
 * {"error": ...} line in a 200 answer.  Both are read from the same stream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "util.h"

static const struct crib_host *host_of(void *state)
{
	return ((struct docker_state *)state)->host;
}

/* "/images/<NAME escaped><SUFFIX>": names hold '/', ':' and '@'. */
static char *image_path(const char *name, const char *suffix)
{
	_cleanup_free_ char *esc = docker_escape(name);

	return crib_xasprintf("/images/%s%s", esc, suffix);
}

/*
 * docker_engine_json for a request whose 404 the caller takes in its stride:
 * -ENOENT then leaves *reterr untouched.  RET may be NULL when the answer
 * does not matter.  WHAT and NAME name the request in errors.
 */
static int engine_json_found(struct docker_engine *e, const struct crib_host *host,
                             const char *method, const char *path, const char *what,
                             const char *name, json_t **ret, struct crib_error **reterr)
{
	struct docker_request rq = {
	    .method = method, .path = path, .timeout_ms = DOCKER_CALL_TIMEOUT_MS};
	struct docker_response resp;
	int r;

	if (ret)
		*ret = NULL;
	r = docker_engine_request(e, &rq, &resp, reterr);
	if (r < 0)
		return r;
	if (resp.status == 404)
		r = -ENOENT;
	else
		r = docker_status_error(host, &resp, reterr, "%s %s", what, name);
	if (r == 0 && ret) {
		*ret = json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL);
		if (!*ret)
			r = host->error_set(reterr, EBADMSG,
			                    "%s %s: the Engine's answer is not JSON", what, name);
	}
	docker_response_clear(&resp);
	return r;
}

/* ---- pulls ---- */

/* A pull's progress stream, read as it comes. */
struct pull_stream {
	struct docker_lines lines;
	char *error; /* the first error the Engine reported, malloc'd */
	int r;       /* < 0: the stream itself could not be read */
};

static const char *progress_error(json_t *o)
{
	const char *m = json_string_value(json_object_get(o, "error"));

	if (!m)
		m = json_string_value(
		    json_object_get(json_object_get(o, "errorDetail"), "message"));
	/* Not a progress member: the {"message"} body of an HTTP error. */
	if (!m)
		m = json_string_value(json_object_get(o, "message"));
	return m;
}

static int on_progress(void *userdata, json_t *o)
{
	struct pull_stream *s = userdata;
	const char *m = progress_error(o);

	if (m && !s->error)
		s->error = crib_xstrdup(m);
	return 0;
}

static int on_pull_data(void *userdata, const char *data, size_t len)
{
	struct pull_stream *s = userdata;
	int r = docker_lines_feed(&s->lines, data, len);

	if (r < 0) {
		s->r = r;
		return 1;
	}
	return 0;
}

/*
 * How a registry's refusal maps to CRI's codes.  The Engine keeps the
 * registry's words but not always its status (a manifest that is not there
 * may come as a 500 or as a progress line), so the words decide first; the
 * first match wins.
 */
static const struct {
	const char *text;
	int errnum;
} pull_errors[] = {
    {"unauthorized", EKEYREJECTED},
    {"authentication required", EKEYREJECTED},
    {"incorrect username or password", EKEYREJECTED},
    {"no basic auth credentials", EKEYREJECTED},
    {"manifest unknown", ENOENT},
    {"not found", ENOENT},
    {"does not exist", ENOENT},
    {"denied", EACCES},
    {"toomanyrequests", EAGAIN},
};

static int pull_errno(long status, const char *msg)
{
	for (size_t i = 0; i < ARRAY_SIZE(pull_errors); i++)
		if (strcasestr(msg, pull_errors[i].text))
			return pull_errors[i].errnum;
	switch (status) {
	case 401:
		return EKEYREJECTED;
	case 403:
		return EACCES;
	case 404:
		return ENOENT;
	default:
		return EIO;
	}
}

/*
 * REF's repository, malloc'd, and in *ret_tag its tag (pointing into the
 * same allocation) or NULL when it names none.  A digest is cut off: tags
 * and digests are separate arguments for the Engine.
 */
static char *ref_repo(const char *ref, const char **ret_tag)
{
	char *repo = crib_xstrdup(ref), *at = strchr(repo, '@'), *slash, *colon;

	if (at)
		*at = '\0';
	/* A colon before the last '/' is a registry's port. */
	slash = strrchr(repo, '/');
	colon = strrchr(slash ? slash + 1 : repo, ':');
	*ret_tag = NULL;
	if (colon) {
		*colon = '\0';
		*ret_tag = colon + 1;
	}
	return repo;
}

/*
 * POST /images/create's query for REF.  A reference without a tag or digest
 * would pull every tag of the repository: it gets "latest", as docker pull
 * does.  A digest stays in fromImage, which the Engine parses whole.
 */
static char *pull_path(const char *ref)
{
	_cleanup_free_ char *repo = NULL, *esc_repo = NULL, *esc_tag = NULL;
	const char *tag;

	if (strchr(ref, '@')) {
		esc_repo = docker_escape(ref);
		return crib_xasprintf("/images/create?fromImage=%s", esc_repo);
	}
	repo = ref_repo(ref, &tag);
	esc_repo = docker_escape(repo);
	esc_tag = docker_escape(tag ? tag : "latest");
	return crib_xasprintf("/images/create?fromImage=%s&tag=%s", esc_repo, esc_tag);
}

/*
 * Pulls REF.  When the Engine refuses, -errno with *ret_msg (malloc'd) its
 * words and *reterr untouched, so that the caller can try another source;
 * when it cannot be reached, -errno with *reterr set and *ret_msg NULL.
 */
static int pull_one(struct docker_engine *e, const struct crib_host *host, const char *ref,
                    const char *auth_header, char **ret_msg, struct crib_error **reterr)
{
	_cleanup_free_ char *path = pull_path(ref);
	struct pull_stream s = {.lines = {.fn = on_progress, .userdata = &s}};
	struct docker_request rq = {
	    .method = "POST",
	    .path = path,
	    .extra_header = auth_header,
	    .on_data = on_pull_data,
	    .userdata = &s,
	};
	struct docker_response resp;
	long status;
	int r;

	*ret_msg = NULL;
	r = docker_engine_request(e, &rq, &resp, reterr);
	/* The Engine's error body may end without a newline. */
	if (r == 0 && s.r == 0)
		s.r = docker_lines_feed(&s.lines, "\n", 1);
	docker_lines_clear(&s.lines);
	if (r < 0) {
		free(s.error);
		return r;
	}
	status = resp.status;
	docker_response_clear(&resp); /* empty: the body went to on_data */
	if (s.r < 0) {
		free(s.error);
		return host->error_set(reterr, -s.r,
		                       "pulling %s: the Engine's progress is unreadable", ref);
	}
	if (status >= 200 && status < 300 && !s.error)
		return 0;
	*ret_msg = s.error ? s.error : crib_xasprintf("HTTP status %ld", status);
	return -pull_errno(status, *ret_msg);
}

/* The Engine's id of IMAGE (GET /images/{name}/json). */
static int image_id(struct docker_engine *e, const struct crib_host *host, const char *image,
                    char **ret, struct crib_error **reterr)
{
	_cleanup_free_ char *path = image_path(image, "/json");
	json_t *o;
	int r;

	r = docker_engine_json(e, "GET", path, NULL, DOCKER_CALL_TIMEOUT_MS, &o, "inspecting image",
	                       reterr);
	if (r < 0)
		return r;
	*ret = crib_xstrdup(json_string_value(json_object_get(o, "Id")));
	json_decref(o);
	if (!*ret)
		return host->error_set(reterr, EBADMSG,
		                       "the Engine's document of image %s has no Id", image);
	return 0;
}

/*
 * Tags image ID as IMAGE, the name kubelet pulled it by, so that ImageStatus
 * and CreateContainer by that name find what came from a mirror.  A name
 * with only a digest cannot be a tag: the Engine keeps digests per
 * repository, as pulled, and such an image is found by its id only.
 */
static int tag_as(struct docker_engine *e, const struct crib_host *host, const char *id,
                  const char *image, struct crib_error **reterr)
{
	_cleanup_free_ char *repo = NULL, *esc_repo = NULL, *esc_tag = NULL, *id_path = NULL,
	                    *path = NULL;
	const char *tag;
	json_t *o;
	int r;

	repo = ref_repo(image, &tag);
	if (!tag && strchr(image, '@'))
		return 0;
	if (!tag)
		tag = "latest";
	esc_repo = docker_escape(repo);
	esc_tag = docker_escape(tag);
	id_path = image_path(id, "/tag");
	path = crib_xasprintf("%s?repo=%s&tag=%s", id_path, esc_repo, esc_tag);
	r = docker_engine_json(e, "POST", path, NULL, DOCKER_CALL_TIMEOUT_MS, &o, "tagging",
	                       reterr);
	json_decref(o);
	if (r < 0)
		return host->error_set(reterr, -r, "image %s pulled from a mirror, kept as %s:%s",
		                       image, repo, tag);
	return 0;
}

/* The sources to try: cribd's since ABI 1.3, else the image's own name. */
static const char *const *pull_sources(const struct crib_host *host,
                                       const struct crib_image_pull_args *args, size_t *ret_n)
{
	if (host->abi_minor >= 3 && args->n_sources > 0) {
		*ret_n = args->n_sources;
		return args->sources;
	}
	*ret_n = 1;
	return &args->image;
}

static int delete_one(struct docker_engine *e, const struct crib_host *host, const char *name,
                      struct crib_error **reterr);

/* The registry host a reference names, as the distribution grammar reads it; malloc'd. */
static char *ref_domain(const char *ref)
{
	const char *slash = strchr(ref, '/');
	_cleanup_free_ char *first = slash ? strndup(ref, (size_t)(slash - ref)) : NULL;

	if (first && (strchr(first, '.') || strchr(first, ':') || streq(first, "localhost")))
		return TAKE_PTR(first);
	return crib_xstrdup("docker.io");
}

/*
 * Whether SOURCE is a mirror's reference rather than IMAGE's own registry's
 * (cribd's sources end with IMAGE normalized, whose name the Engine shares).
 */
static bool from_mirror(const char *source, const char *image)
{
	_cleanup_free_ char *a = ref_domain(source), *b = ref_domain(image);

	return !streq(a, b);
}

int docker_image_pull(void *state, struct crib_op *op, const struct crib_image_pull_args *args,
                      char **ret_image_ref, struct crib_error **reterr)
{
	const struct crib_host *host = host_of(state);
	_cleanup_free_ char *auth = docker_registry_auth(args), *header = NULL, *tried = NULL;
	struct docker_engine *e;
	const char *const *sources;
	size_t n;
	int r;

	(void)op;
	r = docker_class_engine(args->cls, &e, reterr);
	if (r < 0)
		return r;
	if (auth)
		header = crib_xasprintf("X-Registry-Auth: %s", auth);
	sources = pull_sources(host, args, &n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *msg = NULL, *more = NULL, *id = NULL;

		r = pull_one(e, host, sources[i], header, &msg, reterr);
		if (r == 0) {
			r = image_id(e, host, sources[i], &id, reterr);
			/*
			 * From a mirror: the image goes by kubelet's name, as with
			 * a registry that serves it itself, and not the mirror's
			 * too (ImageStatus lists names kubelet never asked for).
			 */
			if (r == 0 && !streq(sources[i], args->image))
				r = tag_as(e, host, id, args->image, reterr);
			if (r == 0 && from_mirror(sources[i], args->image) &&
			    !strchr(sources[i], '@'))
				r = delete_one(e, host, sources[i], reterr);
			if (r == 0)
				*ret_image_ref = TAKE_PTR(id);
			return r;
		}
		if (!msg)
			return r;
		/* Every source's story; the last one's code (usually the registry itself). */
		more = crib_xasprintf("%s%s%s: %s", tried ? tried : "", tried ? "; " : "",
		                      sources[i], msg);
		free(tried);
		tried = TAKE_PTR(more);
	}
	return host->error_set(reterr, -r, "cannot pull %s: %s", args->image, tried);
}

int docker_image_ensure(struct docker_engine *e, const struct crib_host *host, const char *image,
                        struct crib_error **reterr)
{
	_cleanup_free_ char *path = image_path(image, "/json"), *msg = NULL;
	int r;

	r = engine_json_found(e, host, "GET", path, "inspecting image", image, NULL, reterr);
	if (r != -ENOENT)
		return r;
	r = pull_one(e, host, image, NULL, &msg, reterr);
	if (r < 0 && msg)
		return host->error_set(reterr, -r, "cannot pull %s: %s", image, msg);
	return r;
}

/* ---- queries ---- */

/*
 * IMAGE as the Engine inspects it, into *ret (docker_image_info's).  -ENOENT,
 * with *reterr untouched, when the Engine has no such image.
 */
static int image_inspect(struct docker_engine *e, const struct crib_host *host, const char *image,
                         bool verbose, struct crib_image_info *ret, struct crib_error **reterr)
{
	_cleanup_free_ char *path = image_path(image, "/json");
	json_t *o;
	int r;

	r = engine_json_found(e, host, "GET", path, "inspecting image", image, &o, reterr);
	if (r < 0)
		return r;
	r = docker_image_info(o, verbose, ret);
	json_decref(o);
	if (r < 0)
		return host->error_set(reterr, -r, "the Engine's document of image %s has no Id",
		                       image);
	return 0;
}

int docker_image_status(void *state, struct crib_op *op, const struct crib_class *cls,
                        const char *image, int32_t verbose, struct crib_image_info *ret,
                        struct crib_error **reterr)
{
	const struct crib_host *host = host_of(state);
	struct docker_engine *e;
	int r;

	(void)op;
	r = docker_class_engine(cls, &e, reterr);
	if (r < 0)
		return r;
	r = image_inspect(e, host, image, verbose != 0, ret, reterr);
	if (r == -ENOENT)
		return host->error_set(reterr, ENOENT, "no image %s", image);
	return r;
}

int docker_image_list(void *state, struct crib_op *op, const struct crib_class *cls,
                      struct crib_image_list *ret, struct crib_error **reterr)
{
	const struct crib_host *host = host_of(state);
	struct docker_engine *e;
	size_t i;
	json_t *a, *img;
	int r;

	(void)op;
	r = docker_class_engine(cls, &e, reterr);
	if (r < 0)
		return r;
	r = docker_engine_json(e, "GET", "/images/json", NULL, DOCKER_CALL_TIMEOUT_MS, &a,
	                       "listing images", reterr);
	if (r < 0)
		return r;
	/* Sized by the Engine's answer: plain calloc, and ENOMEM is an answer. */
	ret->images = calloc(json_array_size(a) + 1, sizeof(*ret->images));
	if (!ret->images) {
		json_decref(a);
		return host->error_set(reterr, ENOMEM, "listing %zu images", json_array_size(a));
	}
	/* The list has no Config: each image's user would cost an inspect, so it is left out. */
	json_array_foreach(a, i, img)
	{
		if (docker_image_info(img, false, &ret->images[ret->n_images]) == 0)
			ret->n_images++;
	}
	json_decref(a);
	return 0;
}

/* DELETE /images/{NAME}; one that is gone already is no error. */
static int delete_one(struct docker_engine *e, const struct crib_host *host, const char *name,
                      struct crib_error **reterr)
{
	_cleanup_free_ char *path = image_path(name, "");
	int r;

	r = engine_json_found(e, host, "DELETE", path, "removing image", name, NULL, reterr);
	return r == -ENOENT ? 0 : r;
}

static void image_info_clear(struct crib_image_info *i)
{
	free(i->id);
	crib_strv_free(i->repo_tags, i->n_repo_tags);
	crib_strv_free(i->repo_digests, i->n_repo_digests);
	free(i->username);
	free(i->info);
	*i = (struct crib_image_info){0};
}

/* True when a container (running or not) was made from image ID; ancestor covers its children. */
static int image_in_use(struct docker_engine *e, const char *id, struct crib_error **reterr)
{
	_cleanup_free_ char *filter = crib_xasprintf("{\"ancestor\":[\"%s\"]}", id), *esc = NULL,
	                    *path = NULL;
	json_t *a;
	int r;

	esc = docker_escape(filter);
	path = crib_xasprintf("/containers/json?all=1&limit=1&filters=%s", esc);
	r = docker_engine_json(e, "GET", path, NULL, DOCKER_CALL_TIMEOUT_MS, &a,
	                       "listing the containers of an image", reterr);
	if (r < 0)
		return r;
	r = json_array_size(a) > 0;
	json_decref(a);
	return r;
}

/*
 * CRI removes the image, not one name of it: every tag and digest reference
 * goes, then the id.  The Engine refuses to remove an id that several
 * references name, and an image a container uses; the latter is checked
 * first so that a refusal leaves every name in place.
 */
int docker_image_remove(void *state, struct crib_op *op, const struct crib_class *cls,
                        const char *image, struct crib_error **reterr)
{
	const struct crib_host *host = host_of(state);
	_cleanup_(image_info_clear) struct crib_image_info info = {0};
	struct docker_engine *e;
	int r;

	(void)op;
	r = docker_class_engine(cls, &e, reterr);
	if (r < 0)
		return r;
	r = image_inspect(e, host, image, false, &info, reterr);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = image_in_use(e, info.id, reterr);
	if (r > 0)
		r = host->error_set(reterr, EBUSY, "image %s is in use by a container", image);
	for (size_t i = 0; r == 0 && i < info.n_repo_tags; i++)
		r = delete_one(e, host, info.repo_tags[i], reterr);
	for (size_t i = 0; r == 0 && i < info.n_repo_digests; i++)
		r = delete_one(e, host, info.repo_digests[i], reterr);
	if (r == 0)
		r = delete_one(e, host, info.id, reterr);
	return r;
}

int docker_image_fs_info(void *state, struct crib_op *op, const struct crib_class *cls,
                         struct crib_fs_usage *ret, struct crib_error **reterr)
{
	struct docker_engine *e;
	json_t *info, *df;
	const char *root;
	int r;

	(void)state;
	(void)op;
	r = docker_class_engine(cls, &e, reterr);
	if (r < 0)
		return r;
	r = docker_engine_json(e, "GET", "/info", NULL, DOCKER_CALL_TIMEOUT_MS, &info,
	                       "reading the Engine's info", reterr);
	if (r < 0)
		return r;
	root = json_string_value(json_object_get(info, "DockerRootDir"));
	ret->mountpoint = crib_xstrdup(root ? root : "/var/lib/docker");
	json_decref(info);
	/* /system/df sizes every layer once, however many images share it. */
	r = docker_engine_json(e, "GET", "/system/df", NULL, DOCKER_CALL_TIMEOUT_MS, &df,
	                       "reading the Engine's disk usage", reterr);
	if (r < 0)
		return r;
	ret->used_bytes = (uint64_t)json_integer_value(json_object_get(df, "LayersSize"));
	json_decref(df);
	return 0;
}
