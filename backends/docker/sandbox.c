/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod sandboxes: a container running the pause image, which holds the pod's
 * network, IPC and UTS namespaces for the pod's containers to join.  Unless a
 * class names its own pause_image, the image is crib-pause itself, imported
 * into the Engine as a one-file image: no registry needed, as with the oci
 * backend's infra containers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "docker.h"
#include "util.h"

#define PAUSE_REPO "crib-pause"
/* The stop a sandbox gets: crib-pause ends on SIGTERM at once. */
#define SANDBOX_STOP_S 10

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
}

static void entry_freep(struct archive_entry **e)
{
	if (*e)
		archive_entry_free(*e);
}

/* A tar of one file, /pause, holding BIN (LEN bytes); *ret malloc'd, the caller's. */
static int pause_tar(const struct crib_host *host, const char *bin, size_t len, char **ret,
                     size_t *ret_len, struct crib_error **reterr)
{
	_cleanup_(archive_freep) struct archive *a = archive_write_new();
	_cleanup_(entry_freep) struct archive_entry *e = archive_entry_new();
	size_t cap = len + 64 * 1024, used = 0;
	_cleanup_free_ char *buf = malloc(cap);

	if (!a || !e || !buf)
		return host->error_set(reterr, ENOMEM, "cannot make the pause image's layer");
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
		return host->error_set(reterr, EIO, "cannot make the pause image's layer: %s",
		                       archive_error_string(a));
	archive_entry_set_pathname(e, "pause");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    archive_write_data(a, bin, len) != (la_ssize_t)len ||
	    archive_write_close(a) != ARCHIVE_OK)
		return host->error_set(reterr, EIO, "cannot make the pause image's layer: %s",
		                       archive_error_string(a));
	*ret = TAKE_PTR(buf);
	*ret_len = used;
	return 0;
}

static int read_file(const struct crib_host *host, const char *path, char **ret, size_t *ret_len,
                     struct crib_error **reterr)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct stat sb;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &sb) < 0)
		return host->error_set(reterr, errno, "cannot read %s", path);
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		return host->error_set(reterr, ENOMEM, "cannot read %s", path);
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n <= 0)
			return host->error_set(reterr, n < 0 ? errno : EIO, "cannot read %s", path);
		got += (size_t)n;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = got;
	return 0;
}

struct import_ctx {
	struct docker_lines lines;
	char *error;
};

static int on_import_line(void *userdata, json_t *o)
{
	struct import_ctx *c = userdata;
	const char *err = json_string_value(json_object_get(o, "error"));

	if (err && !c->error)
		c->error = crib_xstrdup(err);
	return 0;
}

static int on_import_data(void *userdata, const char *data, size_t len)
{
	struct import_ctx *c = userdata;

	return docker_lines_feed(&c->lines, data, len);
}

/* Imports crib-pause as PAUSE_REPO:TAG (POST /images/create?fromSrc=-). */
static int pause_import(struct docker_state *st, struct docker_engine *e, const char *tag,
                        struct crib_error **reterr)
{
	_cleanup_free_ char *bin = NULL, *tar = NULL, *changes = NULL, *path = NULL;
	struct import_ctx c = {.lines = {.fn = on_import_line}};
	struct docker_request rq = {.method = "POST",
	                            .content_type = "application/x-tar",
	                            .timeout_ms = DOCKER_CALL_TIMEOUT_MS,
	                            .on_data = on_import_data,
	                            .userdata = &c};
	struct docker_response resp;
	size_t bin_len = 0, tar_len = 0;
	int r;

	c.lines.userdata = &c;
	r = read_file(st->host, st->pause_binary, &bin, &bin_len, reterr);
	if (r < 0)
		return r;
	r = pause_tar(st->host, bin, bin_len, &tar, &tar_len, reterr);
	if (r < 0)
		return r;
	changes = docker_escape("CMD [\"/pause\"]");
	path = crib_xasprintf("/images/create?fromSrc=-&repo=" PAUSE_REPO "&tag=%s&changes=%s", tag,
	                      changes);
	rq.path = path;
	rq.raw = tar;
	rq.raw_len = tar_len;
	r = docker_engine_request(e, &rq, &resp, reterr);
	if (r == 0)
		r = docker_status_error(st->host, &resp, reterr, "importing the pause image");
	if (r == 0 && c.error)
		r = st->host->error_set(reterr, EIO, "importing the pause image: %s", c.error);
	docker_response_clear(&resp);
	docker_lines_clear(&c.lines);
	free(c.error);
	return r;
}

/*
 * crib's pause image, imported once per build of crib-pause: its tag is the
 * binary's size and modification time, so that a new build is imported anew.
 * *ret malloc'd, the caller's.
 */
static int own_pause_image(struct docker_state *st, struct docker_engine *e, char **ret,
                           struct crib_error **reterr)
{
	_cleanup_free_ char *tag = NULL, *image = NULL, *path = NULL;
	struct docker_request rq = {.method = "GET", .timeout_ms = DOCKER_CALL_TIMEOUT_MS};
	struct docker_response resp;
	struct stat sb;
	int r;

	if (stat(st->pause_binary, &sb) < 0)
		return st->host->error_set(reterr, errno, "the sandbox process %s",
		                           st->pause_binary);
	tag = crib_xasprintf("%lld-%lld", (long long)sb.st_size, (long long)sb.st_mtime);
	image = crib_xasprintf(PAUSE_REPO ":%s", tag);
	path = crib_xasprintf("/images/%s/json", image);
	rq.path = path;
	r = docker_engine_request(e, &rq, &resp, reterr);
	if (r < 0)
		return r;
	if (resp.status == 404)
		r = pause_import(st, e, tag, reterr);
	else
		r = docker_status_error(st->host, &resp, reterr, "inspecting image %s", image);
	docker_response_clear(&resp);
	if (r == 0)
		*ret = TAKE_PTR(image);
	return r;
}

static int pause_image(struct docker_state *st, const struct docker_class *c,
                       struct docker_engine *e, char **ret, struct crib_error **reterr)
{
	if (!c->pause_image)
		return own_pause_image(st, e, ret, reterr);
	*ret = crib_xstrdup(c->pause_image);
	return docker_image_ensure(e, st->host, c->pause_image, reterr);
}

static Runtime__V1__PodSandboxConfig *unpack_pod(const struct crib_host *host, const uint8_t *data,
                                                 size_t len, struct crib_error **reterr)
{
	Runtime__V1__PodSandboxConfig *pod =
	    runtime__v1__pod_sandbox_config__unpack(NULL, len, data);

	if (!pod)
		(void)host->error_set(reterr, EBADMSG,
		                      "the pod's PodSandboxConfig does not decode");
	return pod;
}

int docker_remove_container(const struct crib_host *host, struct docker_engine *e,
                            const char *docker_id, struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("/containers/%s?force=1&v=1", docker_id);
	struct docker_request rq = {
	    .method = "DELETE", .path = path, .timeout_ms = DOCKER_CALL_TIMEOUT_MS};
	struct docker_response resp;
	int r = docker_engine_request(e, &rq, &resp, reterr);

	if (r < 0)
		return r;
	/* Gone already, or being removed by someone else: either way it goes. */
	if (resp.status != 404 && resp.status != 409)
		r = docker_status_error(host, &resp, reterr, "removing container %s", docker_id);
	docker_response_clear(&resp);
	return r;
}

int docker_create_start(const struct crib_host *host, struct docker_engine *e, json_t *body,
                        const char *name, bool start, char **ret_id, struct crib_error **reterr)
{
	_cleanup_free_ char *qname = docker_escape(name), *path = NULL;
	const char *id = NULL;
	json_t *created = NULL;
	int r;

	path = crib_xasprintf("/containers/create?name=%s", qname);
	r = docker_engine_json(e, "POST", path, body, DOCKER_CALL_TIMEOUT_MS, &created, name,
	                       reterr);
	if (r < 0)
		return r;
	if (json_unpack(created, "{s:s}", "Id", &id) < 0) {
		json_decref(created);
		return host->error_set(reterr, EBADMSG,
		                       "creating %s: the Engine's answer has no Id", name);
	}
	*ret_id = crib_xstrdup(id);
	json_decref(created);
	if (start)
		r = docker_start(host, e, *ret_id, reterr);
	if (r < 0) {
		(void)docker_remove_container(host, e, *ret_id, NULL);
		free(*ret_id);
		*ret_id = NULL;
	}
	return r;
}

int docker_start(const struct crib_host *host, struct docker_engine *e, const char *docker_id,
                 struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("/containers/%s/start", docker_id);
	struct docker_request rq = {
	    .method = "POST", .path = path, .timeout_ms = DOCKER_CALL_TIMEOUT_MS};
	struct docker_response resp;
	int r = docker_engine_request(e, &rq, &resp, reterr);

	if (r < 0)
		return r;
	r = docker_status_error(host, &resp, reterr, "starting container %s", docker_id);
	docker_response_clear(&resp);
	return r;
}

int docker_inspect(struct docker_engine *e, const char *docker_id, json_t **ret,
                   struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("/containers/%s/json", docker_id);
	_cleanup_free_ char *what = crib_xasprintf("inspecting container %s", docker_id);

	return docker_engine_json(e, "GET", path, NULL, DOCKER_CALL_TIMEOUT_MS, ret, what, reterr);
}

/* The sandbox's network namespace, where cribd runs CNI: its process's, while it runs. */
static int sandbox_netns(const struct crib_host *host, struct docker_engine *e, const char *id,
                         char **ret, struct crib_error **reterr)
{
	json_t *inspect = NULL;
	json_int_t pid = 0;
	int r = docker_inspect(e, id, &inspect, reterr);

	if (r < 0)
		return r;
	json_unpack(inspect, "{s?{s?I}}", "State", "Pid", &pid);
	json_decref(inspect);
	if (pid <= 0)
		return host->error_set(reterr, ESRCH, "the sandbox container %s has no process",
		                       id);
	*ret = crib_xasprintf("/proc/%lld/ns/net", (long long)pid);
	return 0;
}

int docker_pod_run(void *state, struct crib_op *op, const struct crib_pod_spec *spec,
                   struct crib_pod_result *ret, struct crib_error **reterr)
{
	struct docker_state *st = state;
	const struct docker_class *c = spec->ref.cls->data;
	Runtime__V1__PodSandboxConfig *pod = NULL;
	_cleanup_free_ char *image = NULL, *name = NULL, *id = NULL;
	struct docker_sandbox_input in;
	struct docker_priv priv = {0};
	struct docker_engine *e;
	json_t *body = NULL;
	int r;

	(void)op;
	r = docker_class_engine(spec->ref.cls, &e, reterr);
	if (r < 0)
		return r;
	pod = unpack_pod(st->host, spec->cri_config, spec->cri_config_len, reterr);
	if (!pod)
		return -EBADMSG;
	r = pause_image(st, c, e, &image, reterr);
	if (r < 0)
		goto out;
	in = (struct docker_sandbox_input){.pod = pod,
	                                   .pod_id = spec->ref.id,
	                                   .image = image,
	                                   .class_name = spec->ref.cls->name,
	                                   .own_oom_score_adj = st->own_oom_score_adj,
	                                   .node_caps = st->node_caps,
	                                   .n_node_caps = docker_node_caps(st, e)};
	r = docker_sandbox_body(st->host, &in, &body, &name, reterr);
	if (r < 0)
		goto out;
	r = docker_create_start(st->host, e, body, name, true, &id, reterr);
	if (r < 0)
		goto out;
	if (!docker_pod_host_network(pod)) {
		r = sandbox_netns(st->host, e, id, &ret->netns_path, reterr);
		if (r < 0) {
			(void)docker_remove_container(st->host, e, id, NULL);
			goto out;
		}
	}
	priv.docker_id = id;
	docker_priv_encode(&priv, &ret->priv);
out:
	json_decref(body);
	runtime__v1__pod_sandbox_config__free_unpacked(pod, NULL);
	return r;
}

/* The Docker id of the pod's sandbox, from its priv blob; *ret malloc'd, the caller's. */
static int pod_docker_id(const struct crib_host *host, const struct crib_pod_ref *pod, char **ret,
                         struct crib_error **reterr)
{
	struct docker_priv p;
	int r = docker_priv_parse(host, pod->priv, pod->priv_len, &p, reterr);

	if (r < 0)
		return r;
	*ret = TAKE_PTR(p.docker_id);
	docker_priv_clear(&p);
	return 0;
}

/*
 * What every op on an existing pod starts from: the Docker id of its sandbox
 * (*ret_id malloc'd, the caller's) and the Engine of its class.
 */
static int pod_sandbox(const struct crib_host *host, const struct crib_pod_ref *pod, char **ret_id,
                       struct docker_engine **ret_engine, struct crib_error **reterr)
{
	_cleanup_free_ char *id = NULL;
	struct docker_engine *e;
	int r;

	r = pod_docker_id(host, pod, &id, reterr);
	if (r == 0)
		r = docker_class_engine(pod->cls, &e, reterr);
	if (r != 0)
		return r;
	*ret_id = TAKE_PTR(id);
	*ret_engine = e;
	return 0;
}

int docker_stop(const struct crib_host *host, struct docker_engine *e, const char *docker_id,
                int64_t timeout_s, struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("/containers/%s/stop?t=%lld", docker_id,
	                                           (long long)(timeout_s < 0 ? 0 : timeout_s));
	/* The Engine answers once the container is gone: the timeout, a kill, and a margin. */
	struct docker_request rq = {.method = "POST",
	                            .path = path,
	                            .timeout_ms = (timeout_s < 0 ? 0 : timeout_s) * 1000 +
	                                          DOCKER_CALL_TIMEOUT_MS};
	struct docker_response resp;
	int r = docker_engine_request(e, &rq, &resp, reterr);

	if (r < 0)
		return r;
	/* 304: not running; 404: gone.  Stop is idempotent. */
	if (resp.status != 304 && resp.status != 404)
		r = docker_status_error(host, &resp, reterr, "stopping container %s", docker_id);
	docker_response_clear(&resp);
	return r;
}

int docker_pod_stop(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                    struct crib_error **reterr)
{
	struct docker_state *st = state;
	_cleanup_free_ char *id = NULL;
	struct docker_engine *e;
	int r;

	(void)op;
	r = pod_sandbox(st->host, pod, &id, &e, reterr);
	if (r == 0)
		r = docker_stop(st->host, e, id, SANDBOX_STOP_S, reterr);
	return r;
}

int docker_pod_remove(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                      struct crib_error **reterr)
{
	struct docker_state *st = state;
	_cleanup_free_ char *id = NULL;
	struct docker_engine *e;
	int r;

	(void)op;
	/* A pod whose run failed before the backend answered has no record: nothing to remove. */
	if (!pod->priv)
		return 0;
	r = pod_sandbox(st->host, pod, &id, &e, reterr);
	if (r == 0)
		r = docker_remove_container(st->host, e, id, reterr);
	return r;
}

int docker_pod_status(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                      struct crib_pod_status *ret, struct crib_error **reterr)
{
	struct docker_state *st = state;
	_cleanup_free_ char *id = NULL;
	struct crib_container_status cs = {0};
	struct docker_engine *e;
	json_t *inspect = NULL;
	int r;

	(void)op;
	r = pod_sandbox(st->host, pod, &id, &e, reterr);
	if (r == 0)
		r = docker_inspect(e, id, &inspect, reterr);
	if (r < 0)
		return r;
	docker_inspect_status(inspect, &cs);
	ret->state = cs.state == CRIB_CONTAINER_RUNNING ? CRIB_POD_READY : CRIB_POD_NOTREADY;
	ret->info = TAKE_PTR(cs.info);
	free(cs.reason);
	free(cs.message);
	json_decref(inspect);
	return 0;
}

bool docker_pod_host_network(const Runtime__V1__PodSandboxConfig *pod)
{
	const Runtime__V1__NamespaceOption *ns =
	    pod && pod->linux && pod->linux->security_context
	        ? pod->linux->security_context->namespace_options
	        : NULL;

	return ns && ns->network == RUNTIME__V1__NAMESPACE_MODE__NODE;
}
