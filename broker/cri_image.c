/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ImageService: PullImage, ListImages, ImageStatus, RemoveImage,
 * ImageFsInfo.  Pulls, unpacking, garbage collection and disk usage are
 * filesystem and network work, so they run on worker threads; the image
 * records they produce are applied on the loop.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "backend.h"
#include "config.h"
#include "content.h"
#include "cri.h"
#include "daemon.h"
#include "error.h"
#include "image_backend.h"
#include "imageref.h"
#include "images.h"
#include "log.h"
#include "pb.h"
#include "pull.h"
#include "router.h"
#include "rpc.h"
#include "snapshot.h"
#include "store.h"

#define LOG_CAT "images"

#define CONFIG_MAX ((size_t)8 << 20)

/* A copy of a registry section: the config may be reloaded while a pull runs. */
static void copy_registry(struct crib_config_registry *dst, const struct crib_config_registry *src)
{
	*dst = (struct crib_config_registry){.insecure = -1};
	if (!src)
		return;
	dst->host = crib_xstrdup(src->host);
	dst->file = NULL;
	dst->mirrors = crib_xcalloc(src->n_mirrors + 1, sizeof(*dst->mirrors));
	for (size_t i = 0; i < src->n_mirrors; i++)
		dst->mirrors[i] = crib_xstrdup(src->mirrors[i]);
	dst->n_mirrors = src->n_mirrors;
	dst->mirror_only = src->mirror_only;
	dst->insecure = src->insecure;
	dst->ca_file = crib_xstrdup(src->ca_file);
}

static void clear_registry(struct crib_config_registry *r)
{
	free(r->host);
	crib_strv_free(r->mirrors, r->n_mirrors);
	free(r->ca_file);
}

struct pull_job {
	uv_work_t work;
	struct crib_list link; /* in d->pulls_waiting */
	struct crib_daemon *d;
	struct crib_rpc *rpc;
	struct crib_imageref ref;
	char *name; /* as the request said it */
	struct crib_config_registry registry;
	bool has_registry;
	char *username, *password, *auth, *identity_token, *registry_token;
	int64_t started_ns;
	/* Results. */
	int r;
	struct crib_error *err;
	struct crib_pull_result res;
	char *config;
};

static void pull_job_free(struct pull_job *j)
{
	crib_imageref_clear(&j->ref);
	free(j->name);
	clear_registry(&j->registry);
	free(j->username);
	free(j->password);
	free(j->auth);
	free(j->identity_token);
	free(j->registry_token);
	crib_error_free(j->err);
	crib_pull_result_clear(&j->res);
	free(j->config);
	free(j);
}

static void on_pull_work(uv_work_t *w)
{
	struct pull_job *j = container_of(w, struct pull_job, work);
	struct crib_pull_auth auth = {
	    .username = j->username,
	    .password = j->password,
	    .auth = j->auth,
	    .identity_token = j->identity_token,
	    .registry_token = j->registry_token,
	};
	struct crib_pull_opts opts = {.registry = j->has_registry ? &j->registry : NULL,
	                              .os = "linux"};
	size_t len;

	crib_pull_host_platform(&opts.arch, &opts.variant);
	j->r = crib_pull(j->d->content, &j->ref, &auth, &opts, &j->res, &j->err);
	if (j->r == 0)
		j->r = crib_layers_unpack(j->d->content, j->res.layers, j->res.n_layers, &j->err);
	if (j->r == 0)
		j->r = crib_content_read(j->d->content, j->res.config_digest, CONFIG_MAX,
		                         &j->config, &len, &j->err);
}

static int save_image(struct crib_daemon *d, struct crib_image *img, struct crib_error **reterr)
{
	_cleanup_free_ char *json = crib_image_to_json(img);

	return crib_store_put_image(d->store, img->id, json, reterr);
}

static void gc_request(struct crib_daemon *d);
static void gc_kick(struct crib_daemon *d);

/* Builds the record of a finished pull and merges it into the images. */
static struct crib_image *record_pull(struct crib_daemon *d, struct pull_job *j,
                                      struct crib_error **reterr)
{
	struct crib_image *img = crib_xcalloc(1, sizeof(*img)), *orphan = NULL;
	_cleanup_free_ char *tagged = crib_imageref_tagged(&j->ref);
	_cleanup_free_ char *repo = crib_imageref_repo(&j->ref);
	_cleanup_free_ char *byd = crib_xasprintf("%s@%s", repo, j->res.digest);

	img->id = crib_xstrdup(j->res.config_digest);
	/* A pull by digest names no tag, whatever tag came along with the digest. */
	if (tagged && !j->ref.digest)
		crib_strv_add_unique(&img->repo_tags, &img->n_repo_tags, tagged);
	crib_strv_add_unique(&img->repo_digests, &img->n_repo_digests, byd);
	crib_strv_add_unique(&img->manifests, &img->n_manifests, j->res.digest);
	crib_strv_add_unique(&img->manifests, &img->n_manifests, j->res.manifest_digest);
	img->layers = TAKE_PTR(j->res.layers);
	img->n_layers = j->res.n_layers;
	j->res.n_layers = 0;
	img->size = j->res.size;
	img->pulled_at = crib_now_ns();
	img->config = TAKE_PTR(j->config);
	crib_image_parse_config(img);

	img = crib_images_add(&d->images, img, &orphan);
	if (save_image(d, img, reterr) < 0)
		return NULL;
	if (orphan) {
		/* Its only tag moved to this pull: the image has no name left. */
		if (orphan->users == 0) {
			(void)crib_store_delete_image(d->store, orphan->id, NULL);
			crib_images_remove(&d->images, orphan);
			gc_request(d);
		} else {
			(void)save_image(d, orphan, NULL);
		}
	}
	return img;
}

static void on_pull_done(uv_work_t *w, int status);

static void start_pull(struct pull_job *j)
{
	int r = uv_queue_work(j->d->loop, &j->work, on_pull_work, on_pull_done);

	if (r < 0) {
		j->r = crib_error_set(&j->err, -r, "Failed to queue the pull: %s", uv_strerror(r));
		on_pull_done(&j->work, 0);
	}
}

static void on_pull_done(uv_work_t *w, int status)
{
	struct pull_job *j = container_of(w, struct pull_job, work);
	Runtime__V1__PullImageResponse resp = RUNTIME__V1__PULL_IMAGE_RESPONSE__INIT;
	struct crib_daemon *d = j->d;
	struct crib_image *img = NULL;
	struct crib_error *err = NULL;

	(void)status;
	d->pulls_in_flight--;
	if (j->r == 0)
		img = record_pull(d, j, &err);
	if (!img) {
		crib_cri_fail(j->rpc, j->r < 0 ? j->err : err);
	} else {
		log_info("Pulled %s (%s, %zu layers, %llu bytes) from %s in %.0f ms", j->name,
		         img->id, img->n_layers, (unsigned long long)img->size, j->res.endpoint,
		         (double)(crib_mono_ns() - j->started_ns) / 1e6);
		resp.image_ref = img->id;
		crib_cri_reply(j->rpc, &resp.base);
	}
	crib_error_free(err);
	pull_job_free(j);
	gc_kick(d);
}

/* Queues an image op for RPC; on failure answers with why. */
static void start_image_op(struct crib_daemon *d, struct crib_rpc *rpc, struct crib_op *op)
{
	if (crib_image_op_start(d, op) < 0) {
		crib_cri_fail(rpc, op->err);
		crib_image_op_free(op);
	}
}

/*
 * The class that keeps the image RPC's SPEC names, when its backend keeps
 * images; answers RPC and returns false when the handler is refused.
 */
static bool image_owner(struct crib_rpc *rpc, const Runtime__V1__ImageSpec *spec,
                        struct crib_rclass **ret)
{
	struct crib_error *err = NULL;

	if (crib_image_owner(crib_cri_daemon(rpc), spec->runtime_handler, ret, &err) == 0)
		return true;
	crib_cri_fail(rpc, err);
	crib_error_free(err);
	return false;
}

/*
 * The start of every image RPC that names one image: SPEC must name it
 * (REQUEST is the request's type, for the message), and *ret_owner is the
 * class whose backend keeps it, or NULL.  Answers RPC and returns false
 * when the request is refused.
 */
static bool image_request(struct crib_rpc *rpc, const Runtime__V1__ImageSpec *spec,
                          const char *request, struct crib_rclass **ret_owner)
{
	if (!spec || isempty(spec->image)) {
		crib_cri_failf(rpc, EINVAL, "%s.image.image is required", request);
		return false;
	}
	return image_owner(rpc, spec, ret_owner);
}

static void on_backend_pull(struct crib_op *op)
{
	Runtime__V1__PullImageResponse resp = RUNTIME__V1__PULL_IMAGE_RESPONSE__INIT;
	struct crib_rpc *rpc = op->data;

	if (op->r < 0) {
		crib_cri_fail(rpc, op->err);
	} else if (isempty(op->out.image_ref)) {
		crib_cri_failf(rpc, EPROTO, "Backend '%s' pulled '%s' but named no image id",
		               op->backend->name, op->image);
	} else {
		log_info("Backend '%s' pulled %s (%s)", op->backend->name, op->image,
		         op->out.image_ref);
		resp.image_ref = op->out.image_ref;
		crib_cri_reply(rpc, &resp.base);
	}
	crib_image_op_free(op);
}

static char *dup_nonempty(const char *s)
{
	return isempty(s) ? NULL : crib_xstrdup(s);
}

/*
 * The backend pulls, but cribd's [registry.*] mirrors still apply: it gets
 * them as references.  A name that does not parse is the backend's to refuse.
 */
static void pull_sources(struct crib_daemon *d, struct crib_op *op)
{
	struct crib_imageref ref;

	if (crib_imageref_parse(op->image, &ref, NULL) < 0) {
		op->sources = crib_xcalloc(1, sizeof(*op->sources));
		op->sources[0] = crib_xstrdup(op->image);
		op->n_sources = 1;
		return;
	}
	op->sources =
	    crib_pull_sources(&ref, crib_config_find_registry(d->cfg, ref.domain), &op->n_sources);
	crib_imageref_clear(&ref);
}

static void backend_pull(struct crib_rpc *rpc, struct crib_rclass *cls,
                         const Runtime__V1__PullImageRequest *req)
{
	struct crib_op *op =
	    crib_image_op_new(CRIB_OP_IMAGE_PULL, cls, req->image->image, on_backend_pull, rpc);
	const Runtime__V1__AuthConfig *a = req->auth;

	if (a) {
		op->auth[0] = dup_nonempty(a->username);
		op->auth[1] = dup_nonempty(a->password);
		op->auth[2] = dup_nonempty(a->auth);
		op->auth[3] = dup_nonempty(a->server_address);
		op->auth[4] = dup_nonempty(a->identity_token);
		op->auth[5] = dup_nonempty(a->registry_token);
	}
	if (req->sandbox_config)
		op->req = crib_pb_pack(&req->sandbox_config->base, &op->req_len);
	pull_sources(crib_cri_daemon(rpc), op);
	op->in.image_pull = (struct crib_image_pull_args){
	    .cls = op->cls,
	    .image = op->image,
	    .username = op->auth[0],
	    .password = op->auth[1],
	    .auth = op->auth[2],
	    .server_address = op->auth[3],
	    .identity_token = op->auth[4],
	    .registry_token = op->auth[5],
	    .cri_pod_config = op->req,
	    .cri_pod_config_len = op->req_len,
	    .sources = (const char *const *)op->sources,
	    .n_sources = op->n_sources,
	};
	start_image_op(crib_cri_daemon(rpc), rpc, op);
}

void crib_cri_pull_image(struct crib_rpc *rpc)
{
	const Runtime__V1__PullImageRequest *req = (const void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_rclass *owner;
	struct pull_job *j;
	struct crib_error *err = NULL;

	if (!image_request(rpc, req->image, "PullImageRequest", &owner))
		return;
	if (owner) {
		backend_pull(rpc, owner, req);
		return;
	}
	j = crib_xcalloc(1, sizeof(*j));
	if (crib_imageref_parse(req->image->image, &j->ref, &err) < 0) {
		crib_cri_fail(rpc, err);
		crib_error_free(err);
		free(j);
		return;
	}
	j->d = d;
	j->rpc = rpc;
	j->name = crib_xstrdup(req->image->image);
	j->started_ns = crib_mono_ns();
	j->has_registry = crib_config_find_registry(d->cfg, j->ref.domain) != NULL;
	copy_registry(&j->registry, crib_config_find_registry(d->cfg, j->ref.domain));
	if (req->auth) {
		j->username = crib_xstrdup(req->auth->username);
		j->password = crib_xstrdup(req->auth->password);
		j->auth = crib_xstrdup(req->auth->auth);
		j->identity_token = crib_xstrdup(req->auth->identity_token);
		j->registry_token = crib_xstrdup(req->auth->registry_token);
	}
	d->pulls_in_flight++;
	/* A collection decided what to delete before this pull could say what it uses. */
	if (d->gc_running)
		crib_list_add_tail(&d->pulls_waiting, &j->link);
	else
		start_pull(j);
}

/* CRI's view of an image; the strings are borrowed. */
static Runtime__V1__Image *pb_image_of(struct crib_arena *a, const char *id, char **repo_tags,
                                       size_t n_repo_tags, char **repo_digests,
                                       size_t n_repo_digests, uint64_t size, int64_t uid,
                                       char *username)
{
	Runtime__V1__Image *o = crib_pb_new(a, &runtime__v1__image__descriptor);

	o->id = (char *)id;
	o->repo_tags = repo_tags;
	o->n_repo_tags = n_repo_tags;
	o->repo_digests = repo_digests;
	o->n_repo_digests = n_repo_digests;
	o->size = size;
	o->spec = crib_pb_new(a, &runtime__v1__image_spec__descriptor);
	o->spec->image = (char *)id;
	if (uid >= 0) {
		o->uid = crib_pb_new(a, &runtime__v1__int64_value__descriptor);
		o->uid->value = uid;
	}
	o->username = username ? username : (char *)"";
	return o;
}

static Runtime__V1__Image *pb_image(struct crib_arena *a, const struct crib_image *img)
{
	const char *user = img->user ? img->user : "";
	size_t ulen = strcspn(user, ":");
	char *end = NULL, *name = NULL;
	long long uid;

	/* User "1000" or "1000:1000" is a uid; "nobody" a name; empty means root (uid 0). */
	errno = 0;
	uid = ulen ? strtoll(user, &end, 10) : 0;
	if (ulen != 0 && (end != user + ulen || errno != 0 || uid < 0)) {
		name = crib_arena_alloc(a, ulen + 1); /* zeroed: the copy ends there */
		memcpy(name, user, ulen);
		uid = -1;
	}
	return pb_image_of(a, img->id, img->repo_tags, img->n_repo_tags, img->repo_digests,
	                   img->n_repo_digests, img->size, uid, name);
}

static Runtime__V1__Image *pb_backend_image(struct crib_arena *a, const struct crib_image_info *i)
{
	return pb_image_of(a, i->id, i->repo_tags, i->n_repo_tags, i->repo_digests,
	                   i->n_repo_digests, i->size, i->uid, i->username);
}

/* Answers ImageStatus with IMG (or nothing) and INFO, a JSON object (or NULL). */
static void reply_status(struct crib_rpc *rpc, struct crib_arena *a, Runtime__V1__Image *img,
                         const char *info)
{
	Runtime__V1__ImageStatusResponse resp = RUNTIME__V1__IMAGE_STATUS_RESPONSE__INIT;
	Runtime__V1__ImageStatusResponse__InfoEntry *entries[1];

	resp.image = img;
	if (img && info) {
		entries[0] =
		    crib_pb_new(a, &runtime__v1__image_status_response__info_entry__descriptor);
		entries[0]->key = (char *)"info";
		entries[0]->value = (char *)info;
		resp.info = entries;
		resp.n_info = 1;
	}
	crib_cri_reply(rpc, &resp.base);
}

static void on_backend_status(struct crib_op *op)
{
	struct crib_arena a = {0};

	/* CRI: an image that is not there is an empty answer, not an error. */
	if (op->r < 0 && op->r != -ENOENT)
		crib_cri_fail(op->data, op->err);
	else if (op->r < 0 || isempty(op->out.image.id))
		reply_status(op->data, &a, NULL, NULL);
	else
		reply_status(op->data, &a, pb_backend_image(&a, &op->out.image),
		             op->verbose ? op->out.image.info : NULL);
	crib_arena_release(&a);
	crib_image_op_free(op);
}

static char *status_info(const struct crib_image *img)
{
	json_t *cfg = json_loads(img->config ? img->config : "{}", 0, NULL);
	json_t *o = json_pack("{s:o, s:I, s:i}", "imageConfig", cfg ? cfg : json_object(),
	                      "pulledAt", (json_int_t)img->pulled_at, "users", (int)img->users);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

void crib_cri_image_status(struct crib_rpc *rpc)
{
	const Runtime__V1__ImageStatusRequest *req = (const void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	_cleanup_free_ char *info = NULL;
	struct crib_arena a = {0};
	struct crib_rclass *owner;
	struct crib_image *img;
	struct crib_op *op;

	if (!image_request(rpc, req->image, "ImageStatusRequest", &owner))
		return;
	if (owner) {
		op = crib_image_op_new(CRIB_OP_IMAGE_STATUS, owner, req->image->image,
		                       on_backend_status, rpc);
		op->verbose = req->verbose;
		start_image_op(d, rpc, op);
		return;
	}
	img = crib_images_find(&d->images, req->image->image);
	if (img && req->verbose)
		info = status_info(img);
	reply_status(rpc, &a, img ? pb_image(&a, img) : NULL, info ? info : img ? "{}" : NULL);
	crib_arena_release(&a);
}

/* True when the backend's image is the one the filter names. */
static bool backend_image_matches(const struct crib_image_info *i, const struct crib_image_query *q)
{
	const char *id = i->id ? i->id : "";

	/* Backends spell names their own way (docker: "busybox:latest"): the filter as given too.
	 */
	return streq(id, q->name) || (strncmp(id, "sha256:", 7) == 0 && streq(id + 7, q->name)) ||
	       crib_strv_contains(i->repo_tags, i->n_repo_tags, q->name) ||
	       crib_strv_contains(i->repo_digests, i->n_repo_digests, q->name) ||
	       crib_image_query_names(q, i->repo_tags, i->n_repo_tags, i->repo_digests,
	                              i->n_repo_digests);
}

static void answer_list(struct crib_rpc *rpc, Runtime__V1__Image **v, size_t n)
{
	if (rpc->method->server_streaming) {
		for (size_t i = 0; i < n; i += 256) {
			Runtime__V1__StreamImagesResponse resp =
			    RUNTIME__V1__STREAM_IMAGES_RESPONSE__INIT;

			resp.images = v + i;
			resp.n_images = n - i < 256 ? n - i : 256;
			(void)crib_rpc_stream_send(rpc, &resp.base);
		}
		crib_rpc_stream_finish(rpc, GRPC_STATUS_OK, "%s", "");
	} else {
		Runtime__V1__ListImagesResponse resp = RUNTIME__V1__LIST_IMAGES_RESPONSE__INIT;

		resp.images = v;
		resp.n_images = n;
		crib_cri_reply(rpc, &resp.base);
	}
}

/* The first failed op's error, or NULL. */
static const struct crib_error *first_failure(struct crib_op *const *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ops[i]->r < 0)
			return ops[i]->err;
	return NULL;
}

static void fail_gathered(struct crib_rpc *rpc, const struct crib_error *err)
{
	if (rpc->method->server_streaming) {
		log_warning("%s failed: %s", crib_rpc_method_name(rpc), crib_error_msg(err));
		crib_rpc_stream_finish(rpc, crib_grpc_code_from_errno(err->errnum), "%s",
		                       crib_error_msg(err));
	} else {
		crib_cri_fail(rpc, err);
	}
}

/* Lists cribd's images and those of the backends that keep their own (OPS). */
static void on_image_lists(void *data, struct crib_op *const *ops, size_t n_ops)
{
	struct crib_rpc *rpc = data;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	const Runtime__V1__ImageFilter *f =
	    rpc->method->server_streaming
	        ? ((const Runtime__V1__StreamImagesRequest *)(const void *)rpc->req)->filter
	        : ((const Runtime__V1__ListImagesRequest *)(const void *)rpc->req)->filter;
	const char *want = f && f->image && !isempty(f->image->image) ? f->image->image : NULL;
	struct crib_image *only = want ? crib_images_find(&d->images, want) : NULL;
	_cleanup_(crib_image_query_clear) struct crib_image_query q = {.name = want};
	const struct crib_error *err = first_failure(ops, n_ops);
	size_t cap = crib_images_count(&d->images) + 1, n = 0;
	struct crib_arena a = {0};
	Runtime__V1__Image **v;
	struct crib_image *img, *tmp;

	if (err) {
		fail_gathered(rpc, err);
		return;
	}
	if (want)
		(void)crib_image_query_parse(want, &q);
	for (size_t i = 0; i < n_ops; i++)
		cap += ops[i]->out.images.n_images;
	v = crib_arena_alloc(&a, cap * sizeof(*v));
	HASH_ITER (hh, d->images.by_id, img, tmp) {
		if (!want || img == only)
			v[n++] = pb_image(&a, img);
	}
	for (size_t i = 0; i < n_ops; i++)
		for (size_t k = 0; k < ops[i]->out.images.n_images; k++) {
			const struct crib_image_info *bi = &ops[i]->out.images.images[k];

			if (!isempty(bi->id) && (!want || backend_image_matches(bi, &q)))
				v[n++] = pb_backend_image(&a, bi);
		}
	answer_list(rpc, v, n);
	crib_arena_release(&a);
}

void crib_cri_list_images(struct crib_rpc *rpc)
{
	crib_image_gather(crib_cri_daemon(rpc), CRIB_OP_IMAGE_LIST, on_image_lists, rpc);
}

static void on_backend_remove(struct crib_op *op)
{
	Runtime__V1__RemoveImageResponse resp = RUNTIME__V1__REMOVE_IMAGE_RESPONSE__INIT;

	if (op->r < 0)
		crib_cri_fail(op->data, op->err);
	else
		crib_cri_reply(op->data, &resp.base);
	crib_image_op_free(op);
}

void crib_cri_remove_image(struct crib_rpc *rpc)
{
	const Runtime__V1__RemoveImageRequest *req = (const void *)rpc->req;
	Runtime__V1__RemoveImageResponse resp = RUNTIME__V1__REMOVE_IMAGE_RESPONSE__INIT;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_error *err = NULL;
	struct crib_rclass *owner;
	struct crib_image *img;

	if (!image_request(rpc, req->image, "RemoveImageRequest", &owner))
		return;
	if (owner) {
		start_image_op(d, rpc,
		               crib_image_op_new(CRIB_OP_IMAGE_REMOVE, owner, req->image->image,
		                                 on_backend_remove, rpc));
		return;
	}
	img = crib_images_find(&d->images, req->image->image);
	if (!img) {
		crib_cri_reply(rpc, &resp.base); /* CRI: removing what is gone is not an error */
		return;
	}
	if (img->users > 0) {
		crib_cri_failf(rpc, EBUSY,
		               "Image %s (%s) is used by %u container(s); remove them first",
		               req->image->image, img->id, img->users);
		return;
	}
	if (crib_store_delete_image(d->store, img->id, &err) < 0) {
		crib_cri_fail(rpc, err);
		crib_error_free(err);
		return;
	}
	log_info("Removed image %s", img->id);
	crib_images_remove(&d->images, img);
	crib_cri_reply(rpc, &resp.base);
	gc_request(d);
}

/* ImageFsInfo: usage of the image store (blobs and layers) and of container snapshots. */

struct fsinfo_job {
	uv_work_t work;
	struct crib_rpc *rpc;
	char *root;
	uint64_t blob_bytes, blob_inodes, layer_bytes, layer_inodes, snap_bytes, snap_inodes;
	int64_t at;
};

static void on_fsinfo_work(uv_work_t *w)
{
	struct fsinfo_job *j = container_of(w, struct fsinfo_job, work);
	_cleanup_free_ char *blobs = crib_xasprintf("%s/blobs", j->root);
	_cleanup_free_ char *layers = crib_xasprintf("%s/layers", j->root);
	_cleanup_free_ char *snaps = crib_xasprintf("%s/snapshots", j->root);

	j->at = crib_now_ns();
	(void)crib_disk_usage(blobs, &j->blob_bytes, &j->blob_inodes);
	(void)crib_disk_usage(layers, &j->layer_bytes, &j->layer_inodes);
	(void)crib_disk_usage(snaps, &j->snap_bytes, &j->snap_inodes);
}

static Runtime__V1__FilesystemUsage *fs_usage(struct crib_arena *a, int64_t at, const char *dir,
                                              uint64_t bytes, uint64_t inodes)
{
	Runtime__V1__FilesystemUsage *u =
	    crib_pb_new(a, &runtime__v1__filesystem_usage__descriptor);

	u->timestamp = at;
	u->fs_id = crib_pb_new(a, &runtime__v1__filesystem_identifier__descriptor);
	u->fs_id->mountpoint = crib_arena_strdup(a, dir);
	u->used_bytes = crib_pb_new(a, &runtime__v1__uint64_value__descriptor);
	u->used_bytes->value = bytes;
	u->inodes_used = crib_pb_new(a, &runtime__v1__uint64_value__descriptor);
	u->inodes_used->value = inodes;
	return u;
}

/* cribd's filesystems, then those of the backends that keep their own images (OPS). */
static void on_fs_infos(void *data, struct crib_op *const *ops, size_t n_ops)
{
	struct fsinfo_job *j = data;
	Runtime__V1__ImageFsInfoResponse resp = RUNTIME__V1__IMAGE_FS_INFO_RESPONSE__INIT;
	const struct crib_error *err = first_failure(ops, n_ops);
	Runtime__V1__FilesystemUsage *containers[1];
	struct crib_arena a = {0};

	if (err) {
		crib_cri_fail(j->rpc, err);
		goto out;
	}
	resp.image_filesystems =
	    crib_arena_alloc(&a, (n_ops + 1) * sizeof(*resp.image_filesystems));
	resp.image_filesystems[resp.n_image_filesystems++] = fs_usage(
	    &a, j->at, j->root, j->blob_bytes + j->layer_bytes, j->blob_inodes + j->layer_inodes);
	for (size_t i = 0; i < n_ops; i++)
		resp.image_filesystems[resp.n_image_filesystems++] =
		    fs_usage(&a, j->at, ops[i]->out.fs.mountpoint ? ops[i]->out.fs.mountpoint : "",
		             ops[i]->out.fs.used_bytes, ops[i]->out.fs.inodes_used);
	containers[0] = fs_usage(&a, j->at, j->root, j->snap_bytes, j->snap_inodes);
	resp.container_filesystems = containers;
	resp.n_container_filesystems = 1;
	crib_cri_reply(j->rpc, &resp.base);
out:
	crib_arena_release(&a);
	free(j->root);
	free(j);
}

static void on_fsinfo_done(uv_work_t *w, int status)
{
	struct fsinfo_job *j = container_of(w, struct fsinfo_job, work);

	(void)status;
	crib_image_gather(crib_cri_daemon(j->rpc), CRIB_OP_IMAGE_FS_INFO, on_fs_infos, j);
}

void crib_cri_image_fs_info(struct crib_rpc *rpc)
{
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct fsinfo_job *j = crib_xcalloc(1, sizeof(*j));
	int r;

	j->rpc = rpc;
	j->root = crib_xstrdup(crib_content_root(d->content));
	r = uv_queue_work(d->loop, &j->work, on_fsinfo_work, on_fsinfo_done);
	if (r < 0) {
		crib_cri_failf(rpc, -r, "Failed to queue the usage walk: %s", uv_strerror(r));
		free(j->root);
		free(j);
	}
}

/* Garbage collection: blobs and unpacked layers no image references. */

struct gc_job {
	uv_work_t work;
	struct crib_content *cs;
	char **keep; /* sorted */
	size_t n_keep;
	unsigned blobs;
	int layers;
};

static int gc_blob(const char *digest, void *user)
{
	struct gc_job *j = user;

	if (!crib_strv_sorted_contains(j->keep, j->n_keep, digest) &&
	    crib_content_delete(j->cs, digest) == 0)
		j->blobs++;
	return 0;
}

static void on_gc_work(uv_work_t *w)
{
	struct gc_job *j = container_of(w, struct gc_job, work);

	(void)crib_content_walk(j->cs, gc_blob, j);
	j->layers = crib_layers_gc(crib_content_root(j->cs), j->keep, j->n_keep);
}

static void on_gc_done(uv_work_t *w, int status)
{
	struct gc_job *j = container_of(w, struct gc_job, work);
	struct crib_daemon *d = w->data;

	(void)status;
	if (j->blobs || j->layers > 0)
		log_info("Garbage collection removed %u blob(s) and %d unpacked layer(s)", j->blobs,
		         j->layers > 0 ? j->layers : 0);
	crib_strv_free(j->keep, j->n_keep);
	free(j);
	d->gc_running = false;
	while (!crib_list_empty(&d->pulls_waiting))
		start_pull(container_of(crib_list_pop(&d->pulls_waiting), struct pull_job, link));
	/* Something asked for another round while this one ran. */
	gc_kick(d);
}

static void gc_request(struct crib_daemon *d)
{
	d->gc_wanted = true;
	gc_kick(d);
}

/* Starts a wanted collection when nothing is in the way. */
static void gc_kick(struct crib_daemon *d)
{
	struct crib_image *img, *tmp;
	struct gc_job *j;
	char **keep = NULL;
	size_t n = 0;

	/* A pull writes blobs before its record exists: never collect while one runs. */
	if (!d->gc_wanted || d->pulls_in_flight > 0 || d->gc_running || d->stopping)
		return;
	/* Duplicates are harmless: the list is only searched. */
	HASH_ITER (hh, d->images.by_id, img, tmp) {
		crib_strv_add(&keep, &n, img->id);
		for (size_t i = 0; i < img->n_manifests; i++)
			crib_strv_add(&keep, &n, img->manifests[i]);
		for (size_t i = 0; i < img->n_layers; i++)
			crib_strv_add(&keep, &n, img->layers[i]);
	}
	crib_strv_sort(keep, n);
	j = crib_xcalloc(1, sizeof(*j));
	j->cs = d->content;
	j->keep = keep;
	j->n_keep = n;
	j->work.data = d;
	if (uv_queue_work(d->loop, &j->work, on_gc_work, on_gc_done) < 0) {
		crib_strv_free(keep, n);
		free(j);
		return;
	}
	d->gc_wanted = false;
	d->gc_running = true;
}

void crib_images_collect_garbage(struct crib_daemon *d)
{
	gc_request(d);
}

/* A removed container's snapshot goes too, whatever its backend did with it. */

struct release_job {
	uv_work_t work;
	char *root;
	char id[CRIB_ID_LEN + 1];
};

static void on_release_work(uv_work_t *w)
{
	struct release_job *j = container_of(w, struct release_job, work);
	struct crib_error *err = NULL;

	if (crib_snapshot_remove(j->root, j->id, &err) < 0)
		log_warning("Failed to remove the snapshot of container '%s': %s", j->id,
		            crib_error_msg(err));
	crib_error_free(err);
}

static void on_release_done(uv_work_t *w, int status)
{
	struct release_job *j = container_of(w, struct release_job, work);

	(void)status;
	free(j->root);
	free(j);
}

void crib_images_release_snapshot(struct crib_daemon *d, const char *container_id)
{
	struct release_job *j = crib_xcalloc(1, sizeof(*j));

	j->root = crib_xstrdup(crib_content_root(d->content));
	(void)snprintf(j->id, sizeof(j->id), "%s", container_id);
	if (uv_queue_work(d->loop, &j->work, on_release_work, on_release_done) < 0) {
		free(j->root);
		free(j);
	}
}
