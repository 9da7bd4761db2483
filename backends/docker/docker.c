/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The docker backend: pods on a Docker Engine through its API socket.  One
 * module serves every class naming it; classes name their Engine's socket
 * (several classes may share one).  This file: entry, init, classes, the
 * Engine endpoints, health, reconcile and the priv blobs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classkeys.h"
#include "crirules.h"
#include "docker.h"
#include "sibling.h"
#include "util.h"

#define DOCKER_VERSION "0.1.0"

static int own_oom_score_adj(void)
{
	_cleanup_(fclosep) FILE *f = fopen("/proc/self/oom_score_adj", "re");
	int v = 0;

	if (f && fscanf(f, "%d", &v) != 1)
		v = 0;
	return v;
}

/* The capabilities cribd holds, when it lacks some the kernel has (docker_sandbox_input). */
static void node_caps(struct docker_state *st)
{
	uint64_t own = crib_cri_cap_bounding();
	unsigned last = crib_cri_cap_last_cap();
	bool lacking = false;

	if (!own)
		return;
	for (unsigned i = 0; i <= last && i < crib_cri_cap_count(); i++)
		lacking = lacking || !(own & (UINT64_C(1) << i));
	for (unsigned i = 0; lacking && i <= last && i < crib_cri_cap_count(); i++)
		if (own & (UINT64_C(1) << i)) {
			st->node_cap_nums = crib_xrealloc(st->node_cap_nums, st->n_node_caps + 1,
			                                  sizeof(*st->node_cap_nums));
			st->node_cap_nums[st->n_node_caps] = i;
			crib_strv_add(&st->node_caps, &st->n_node_caps, crib_cri_cap_name(i));
		}
}

size_t docker_node_caps(const struct docker_state *st, const struct docker_engine *e)
{
	size_t n = 0;

	while (n < st->n_node_caps && st->node_cap_nums[n] <= docker_engine_last_cap(e))
		n++;
	return n;
}

static void docker_fini(void *state);

static int docker_init(const struct crib_host *host, void **ret_state, struct crib_error **reterr)
{
	struct docker_state *st = crib_xcalloc(1, sizeof(*st));

	st->host = host;
	pthread_mutex_init(&st->lock, NULL);
	*ret_state = st;
	st->pause_binary = crib_module_sibling("crib-pause");
	if (access(st->pause_binary, R_OK) < 0)
		return host->error_set(reterr, errno,
		                       "the sandbox process %s (imported as crib's pause image) is "
		                       "not readable",
		                       st->pause_binary);
	st->own_oom_score_adj = own_oom_score_adj();
	node_caps(st);
	return 0;
}

static void endpoint_free(struct docker_endpoint *ep)
{
	docker_events_stop(ep);
	docker_engine_free(ep->engine);
	pthread_mutex_destroy(&ep->lock);
	free(ep->socket);
	free(ep);
}

static void docker_fini(void *state)
{
	struct docker_state *st = state;

	if (!st)
		return;
	docker_copiers_stop(st);
	while (st->endpoints) {
		struct docker_endpoint *ep = st->endpoints;

		st->endpoints = ep->next;
		endpoint_free(ep);
	}
	pthread_mutex_destroy(&st->lock);
	crib_strv_free(st->node_caps, st->n_node_caps);
	free(st->node_cap_nums);
	free(st->pause_binary);
	free(st);
}

/* Connects EP's engine if it never answered; under ep->lock. */
static int endpoint_connect(struct docker_endpoint *ep, struct crib_error **reterr)
{
	int r;

	if (ep->engine)
		return 0;
	r = docker_engine_open(ep->st->host, ep->socket, &ep->engine, reterr);
	if (r < 0)
		return r;
	ep->st->host->log(ep->st->host, CRIB_LOG_INFO, "Docker Engine %s (API %s) at %s",
	                  docker_engine_version(ep->engine), docker_engine_api_version(ep->engine),
	                  ep->socket);
	return 0;
}

int docker_endpoint_engine(struct docker_endpoint *ep, struct docker_engine **ret,
                           struct crib_error **reterr)
{
	int r;

	pthread_mutex_lock(&ep->lock);
	r = endpoint_connect(ep, reterr);
	*ret = ep->engine;
	pthread_mutex_unlock(&ep->lock);
	return r;
}

int docker_class_engine(const struct crib_class *cls, struct docker_engine **ret,
                        struct crib_error **reterr)
{
	const struct docker_class *c = cls->data;

	return docker_endpoint_engine(c->ep, ret, reterr);
}

/* The endpoint for SOCKET, made (with its event thread) on first use; under st->lock. */
static int endpoint_get(struct docker_state *st, const char *socket, struct docker_endpoint **ret,
                        struct crib_error **reterr)
{
	struct docker_endpoint *ep;
	int r;

	for (ep = st->endpoints; ep; ep = ep->next)
		if (streq(ep->socket, socket))
			break;
	if (!ep) {
		ep = crib_xcalloc(1, sizeof(*ep));
		ep->socket = crib_xstrdup(socket);
		ep->st = st;
		pthread_mutex_init(&ep->lock, NULL);
		r = docker_events_start(ep, reterr);
		if (r < 0) {
			endpoint_free(ep);
			return r;
		}
		ep->next = st->endpoints;
		st->endpoints = ep;
	}
	ep->refs++;
	*ret = ep;
	return 0;
}

static int docker_class_open(void *state, const struct crib_class *cls, uint64_t *ret_features,
                             void **ret_data, struct crib_error **reterr)
{
	static const char *const known[] = {"socket", "pause_image", NULL};
	struct docker_state *st = state;
	const char *socket = st->host->class_get(cls, "socket");
	const char *pause = st->host->class_get(cls, "pause_image");
	struct docker_class *c;
	struct docker_engine *e;
	int r;

	r = crib_class_check_keys(st->host, cls, "docker", known, reterr);
	if (r < 0)
		return r;
	if (!socket)
		socket = DOCKER_DEFAULT_SOCKET;
	if (socket[0] != '/')
		return st->host->class_error(cls, "socket", reterr, EINVAL,
		                             "socket '%s' is not an absolute path", socket);
	if (pause && isempty(pause))
		return st->host->class_error(cls, "pause_image", reterr, EINVAL,
		                             "pause_image is empty");
	c = crib_xcalloc(1, sizeof(*c));
	c->pause_image = crib_xstrdup(pause);
	pthread_mutex_lock(&st->lock);
	r = endpoint_get(st, socket, &c->ep, reterr);
	pthread_mutex_unlock(&st->lock);
	if (r < 0) {
		free(c->pause_image);
		free(c);
		return r;
	}
	/* An Engine that is down now is no reason to refuse the class: health says so. */
	(void)docker_endpoint_engine(c->ep, &e, NULL);
	*ret_features = 0;
	*ret_data = c;
	return 0;
}

static void docker_class_close(void *state, const struct crib_class *cls)
{
	struct docker_state *st = state;
	struct docker_class *c = cls->data;

	if (!c)
		return;
	/* Endpoints stay until fini: a reload may bring the socket back at once. */
	pthread_mutex_lock(&st->lock);
	c->ep->refs--;
	pthread_mutex_unlock(&st->lock);
	free(c->pause_image);
	free(c);
}

static int docker_reconcile(void *state, struct crib_op *op, struct crib_reconcile_item *items,
                            size_t n_items, struct crib_error **reterr)
{
	(void)op;
	(void)reterr;
	for (size_t i = 0; i < n_items; i++)
		docker_reconcile_item(state, &items[i]);
	return 0;
}

/* One endpoint's health line; false when its Engine does not answer /_ping. */
static bool endpoint_health(struct docker_endpoint *ep, char **line)
{
	struct docker_engine *e;
	int r;

	/* Errors are not kept: the line says what health needs, and the host frees nothing. */
	r = docker_endpoint_engine(ep, &e, NULL);
	if (r == 0)
		r = docker_engine_ping(e);
	if (r == 0)
		*line = crib_xasprintf("Docker Engine %s (API %s) at %s", docker_engine_version(e),
		                       docker_engine_api_version(e), ep->socket);
	else
		*line = crib_xasprintf("Docker Engine at %s does not answer: %s", ep->socket,
		                       strerror(-r));
	return r == 0;
}

static int docker_health(void *state, struct crib_health *ret, struct crib_error **reterr)
{
	struct docker_state *st = state;
	_cleanup_free_ char *text = NULL;
	bool healthy = true;

	(void)reterr;
	pthread_mutex_lock(&st->lock);
	for (struct docker_endpoint *ep = st->endpoints; ep; ep = ep->next) {
		_cleanup_free_ char *line = NULL, *joined = NULL;

		healthy = endpoint_health(ep, &line) && healthy;
		joined = text ? crib_xasprintf("%s; %s", text, line) : TAKE_PTR(line);
		free(text);
		text = TAKE_PTR(joined);
	}
	pthread_mutex_unlock(&st->lock);
	ret->healthy = healthy;
	ret->message =
	    text ? TAKE_PTR(text) : crib_xstrdup("no runtime class uses a Docker Engine");
	return 0;
}

int docker_priv_parse(const struct crib_host *host, const void *blob, size_t len,
                      struct docker_priv *ret, struct crib_error **reterr)
{
	json_t *o = blob ? json_loadb(blob, len, 0, NULL) : NULL;
	const char *id = NULL, *sandbox = NULL, *log = NULL;
	int tty = 0, in = 0, once = 0;

	*ret = (struct docker_priv){0};
	if (json_unpack(o, "{s:s s?s s?s s?b s?b s?b}", "id", &id, "sandbox", &sandbox, "log", &log,
	                "tty", &tty, "stdin", &in, "stdin_once", &once) < 0) {
		json_decref(o);
		return host->error_set(reterr, EBADMSG,
		                       "the backend's record of the object is unreadable");
	}
	*ret = (struct docker_priv){
	    .docker_id = crib_xstrdup(id),
	    .sandbox = crib_xstrdup(sandbox),
	    .log_path = crib_xstrdup(log),
	    .tty = tty,
	    .stdin_ = in,
	    .stdin_once = once,
	};
	json_decref(o);
	return 0;
}

void docker_priv_encode(const struct docker_priv *p, struct crib_blob *ret)
{
	json_t *o = json_pack("{s:s}", "id", p->docker_id);

	if (!o)
		abort();
	if (p->sandbox)
		json_object_set_new(o, "sandbox", json_string(p->sandbox));
	if (p->log_path)
		json_object_set_new(o, "log", json_string(p->log_path));
	if (p->tty)
		json_object_set_new(o, "tty", json_true());
	if (p->stdin_)
		json_object_set_new(o, "stdin", json_true());
	if (p->stdin_once)
		json_object_set_new(o, "stdin_once", json_true());
	ret->data = json_dumps(o, JSON_COMPACT);
	if (!ret->data)
		abort();
	ret->len = strlen(ret->data);
	json_decref(o);
}

void docker_priv_clear(struct docker_priv *p)
{
	free(p->docker_id);
	free(p->sandbox);
	free(p->log_path);
	*p = (struct docker_priv){0};
}

static const struct crib_backend_ops docker_ops = {
    .abi_major = CRIB_BACKEND_ABI_MAJOR,
    .abi_minor = CRIB_BACKEND_ABI_MINOR,
    .struct_size = sizeof(struct crib_backend_ops),
    .name = "docker",
    .version = DOCKER_VERSION,
    .caps = CRIB_CAP_EXEC_SYNC | CRIB_CAP_CONTAINER_STATS | CRIB_CAP_POD_STATS |
            CRIB_CAP_REOPEN_LOG | CRIB_CAP_UPDATE_RESOURCES | CRIB_CAP_POD_STATUS |
            CRIB_CAP_HEALTH | CRIB_CAP_OWN_NETNS | CRIB_CAP_OWN_IMAGES | CRIB_CAP_STREAMS,
    .init = docker_init,
    .fini = docker_fini,
    .class_open = docker_class_open,
    .class_close = docker_class_close,
    .pod_run = docker_pod_run,
    .pod_stop = docker_pod_stop,
    .pod_remove = docker_pod_remove,
    .container_create = docker_container_create,
    .container_start = docker_container_start,
    .container_stop = docker_container_stop,
    .container_remove = docker_container_remove,
    .container_status = docker_container_status,
    .reconcile = docker_reconcile,
    .pod_status = docker_pod_status,
    .health = docker_health,
    .exec_sync = docker_exec_sync,
    .container_stats = docker_container_stats,
    .pod_stats = docker_pod_stats,
    .container_reopen_log = docker_container_reopen_log,
    .container_update = docker_container_update,
    .image_pull = docker_image_pull,
    .image_status = docker_image_status,
    .image_list = docker_image_list,
    .image_remove = docker_image_remove,
    .image_fs_info = docker_image_fs_info,
    .stream_open = docker_stream_open,
    .stream_resize = docker_stream_resize,
    .stream_finish = docker_stream_finish,
    .stream_close = docker_stream_close,
};

CRIB_EXPORT const struct crib_backend_ops *crib_backend_entry(uint32_t host_abi_major)
{
	(void)host_abi_major;
	return &docker_ops;
}
