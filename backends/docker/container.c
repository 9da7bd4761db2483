/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRI containers as Docker containers in their pod's sandbox namespaces, and
 * their log copiers (one per container with a log path, from start until the
 * container's log was copied to its end or the container is removed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker.h"
#include "util.h"

/* How long a stop waits for the copier to catch up, so that kubelet reads the whole log. */
#define LOG_DRAIN_MS 2000

struct docker_copier {
	struct docker_copier *next;
	char id[CRIB_ID_LEN + 1];
	struct docker_logcopy *lc;
};

static void copier_add(struct docker_state *st, const char *id, struct docker_logcopy *lc)
{
	struct docker_copier *c = crib_xcalloc(1, sizeof(*c));

	snprintf(c->id, sizeof(c->id), "%s", id);
	c->lc = lc;
	pthread_mutex_lock(&st->lock);
	c->next = st->copiers;
	st->copiers = c;
	pthread_mutex_unlock(&st->lock);
}

/* The copier of container ID, left in the list unless TAKE; NULL when it has none. */
static struct docker_logcopy *copier_find(struct docker_state *st, const char *id, bool take)
{
	struct docker_logcopy *lc = NULL;

	pthread_mutex_lock(&st->lock);
	for (struct docker_copier **p = &st->copiers; *p; p = &(*p)->next) {
		struct docker_copier *c = *p;

		if (!streq(c->id, id))
			continue;
		lc = c->lc;
		if (take) {
			*p = c->next;
			free(c);
		}
		break;
	}
	pthread_mutex_unlock(&st->lock);
	return lc;
}

void docker_copiers_stop(struct docker_state *st)
{
	while (st->copiers) {
		struct docker_copier *c = st->copiers;

		st->copiers = c->next;
		docker_logcopy_stop(c->lc);
		free(c);
	}
}

/* Where the container's log copier records its position; malloc'd, the caller's. */
static char *logpos_path(const struct crib_host *host, const char *id)
{
	return crib_xasprintf("%s/containers/%s/logpos", host->state_dir, id);
}

/* <state_dir>/containers/<id>, made if missing; *ret malloc'd, the caller's. */
static int container_dir(const struct crib_host *host, const char *id, char **ret,
                         struct crib_error **reterr)
{
	_cleanup_free_ char *parent = crib_xasprintf("%s/containers", host->state_dir);
	_cleanup_free_ char *dir = crib_xasprintf("%s/%s", parent, id);

	if ((mkdir(parent, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) < 0 && errno != EEXIST))
		return host->error_set(reterr, errno, "cannot make %s", dir);
	*ret = TAKE_PTR(dir);
	return 0;
}

/* Starts copying the container's log unless it has no log path or a copier already runs. */
static int copier_start(struct docker_state *st, struct docker_engine *e, const char *id,
                        const struct docker_priv *p, struct crib_error **reterr)
{
	_cleanup_free_ char *dir = NULL, *pos = logpos_path(st->host, id);
	struct docker_logcopy *lc = NULL;
	int r;

	if (!p->log_path || copier_find(st, id, false))
		return 0;
	r = container_dir(st->host, id, &dir, reterr);
	if (r < 0)
		return r;
	r = docker_logcopy_start(st->host, e, p->docker_id, p->log_path, pos, p->tty, &lc, reterr);
	if (r == 0 && lc)
		copier_add(st, id, lc);
	return r;
}

int docker_container_engine(const struct docker_state *st, const struct crib_container_ref *c,
                            struct docker_priv *p, struct docker_engine **e,
                            struct crib_error **reterr)
{
	int r = docker_priv_parse(st->host, c->priv, c->priv_len, p, reterr);

	if (r < 0)
		return r;
	r = docker_class_engine(c->pod.cls, e, reterr);
	if (r < 0)
		docker_priv_clear(p);
	return r;
}

struct create_ctx {
	Runtime__V1__ContainerConfig *config;
	Runtime__V1__PodSandboxConfig *pod;
	json_t *body;
	char *name;
	char *docker_id;
	struct docker_priv sandbox;
};

static void create_ctx_clear(struct create_ctx *x)
{
	if (x->config)
		runtime__v1__container_config__free_unpacked(x->config, NULL);
	if (x->pod)
		runtime__v1__pod_sandbox_config__free_unpacked(x->pod, NULL);
	json_decref(x->body);
	free(x->name);
	free(x->docker_id);
	docker_priv_clear(&x->sandbox);
}

int docker_container_create(void *state, struct crib_op *op, const struct crib_container_spec *spec,
                            struct crib_container_result *ret, struct crib_error **reterr)
{
	struct docker_state *st = state;
	struct create_ctx x = {0};
	struct docker_container_input in;
	struct docker_priv priv;
	struct docker_engine *e;
	int r;

	(void)op;
	x.config =
	    runtime__v1__container_config__unpack(NULL, spec->cri_config_len, spec->cri_config);
	x.pod = runtime__v1__pod_sandbox_config__unpack(NULL, spec->cri_pod_config_len,
	                                                spec->cri_pod_config);
	if (!x.config || !x.pod) {
		r = st->host->error_set(reterr, EBADMSG,
		                        "the container's CRI configs do not decode");
		goto out;
	}
	r = docker_priv_parse(st->host, spec->ref.pod.priv, spec->ref.pod.priv_len, &x.sandbox,
	                      reterr);
	if (r == 0)
		r = docker_class_engine(spec->ref.pod.cls, &e, reterr);
	if (r < 0)
		goto out;
	in = (struct docker_container_input){.config = x.config,
	                                     .pod = x.pod,
	                                     .pod_id = spec->ref.pod.id,
	                                     .container_id = spec->ref.id,
	                                     .sandbox = x.sandbox.docker_id,
	                                     .image = spec->image,
	                                     .class_name = spec->ref.pod.cls->name,
	                                     .own_oom_score_adj = st->own_oom_score_adj,
	                                     .node_caps = st->node_caps,
	                                     .n_node_caps = docker_node_caps(st, e)};
	r = docker_container_body(st->host, &in, &x.body, &x.name, reterr);
	if (r == 0)
		r = docker_create_start(st->host, e, x.body, x.name, false, &x.docker_id, reterr);
	if (r < 0)
		goto out;
	priv = (struct docker_priv){.docker_id = x.docker_id,
	                            .sandbox = x.sandbox.docker_id,
	                            .log_path = (char *)spec->log_path,
	                            .tty = x.config->tty,
	                            .stdin_ = x.config->stdin,
	                            .stdin_once = x.config->stdin_once};
	docker_priv_encode(&priv, &ret->priv);
out:
	create_ctx_clear(&x);
	return r;
}

int docker_container_start(void *state, struct crib_op *op, const struct crib_container_ref *c,
                           struct crib_error **reterr)
{
	struct docker_state *st = state;
	struct docker_priv p;
	struct docker_engine *e;
	int r;

	(void)op;
	r = docker_container_engine(st, c, &p, &e, reterr);
	if (r < 0)
		return r;
	r = docker_start(st->host, e, p.docker_id, reterr);
	if (r == 0)
		r = copier_start(st, e, c->id, &p, reterr);
	docker_priv_clear(&p);
	return r;
}

int docker_container_stop(void *state, struct crib_op *op, const struct crib_container_ref *c,
                          int64_t timeout_s, struct crib_error **reterr)
{
	struct docker_state *st = state;
	struct docker_logcopy *lc;
	struct docker_priv p;
	struct docker_engine *e;
	int r;

	(void)op;
	r = docker_container_engine(st, c, &p, &e, reterr);
	if (r < 0)
		return r;
	r = docker_stop(st->host, e, p.docker_id, timeout_s, reterr);
	lc = r == 0 ? copier_find(st, c->id, false) : NULL;
	if (lc)
		(void)docker_logcopy_wait(lc, LOG_DRAIN_MS);
	docker_priv_clear(&p);
	return r;
}

static void remove_dir(const struct crib_host *host, const char *id)
{
	_cleanup_free_ char *pos = logpos_path(host, id);

	(void)unlink(pos);
	*strrchr(pos, '/') = '\0';
	(void)rmdir(pos);
}

int docker_container_remove(void *state, struct crib_op *op, const struct crib_container_ref *c,
                            struct crib_error **reterr)
{
	struct docker_state *st = state;
	struct docker_priv p;
	struct docker_engine *e;
	int r;

	(void)op;
	docker_logcopy_stop(copier_find(st, c->id, true));
	/* A container whose create failed before the backend answered has no record. */
	if (!c->priv) {
		remove_dir(st->host, c->id);
		return 0;
	}
	r = docker_container_engine(st, c, &p, &e, reterr);
	if (r < 0)
		return r;
	r = docker_remove_container(st->host, e, p.docker_id, reterr);
	if (r == 0)
		remove_dir(st->host, c->id);
	docker_priv_clear(&p);
	return r;
}

int docker_container_status(void *state, struct crib_op *op, const struct crib_container_ref *c,
                            struct crib_container_status *ret, struct crib_error **reterr)
{
	struct docker_state *st = state;
	struct docker_priv p;
	struct docker_engine *e;
	json_t *inspect = NULL;
	int r;

	(void)op;
	r = docker_container_engine(st, c, &p, &e, reterr);
	if (r < 0)
		return r;
	r = docker_inspect(e, p.docker_id, &inspect, reterr);
	if (r == 0)
		docker_inspect_status(inspect, ret);
	/* kubelet reads the log once a container exited: it must be all there by then. */
	if (r == 0 && ret->state == CRIB_CONTAINER_EXITED && p.log_path) {
		_cleanup_free_ char *pos = logpos_path(st->host, c->id);

		(void)docker_logcopy_drained(pos, LOG_DRAIN_MS);
	}
	json_decref(inspect);
	docker_priv_clear(&p);
	return r;
}

int docker_container_reopen_log(void *state, struct crib_op *op, const struct crib_container_ref *c,
                                struct crib_error **reterr)
{
	struct docker_state *st = state;
	struct docker_logcopy *lc = copier_find(st, c->id, false);

	(void)op;
	/* No copier: nothing writes the file any more, and the next one opens the path anew. */
	return lc ? docker_logcopy_reopen(lc, reterr) : 0;
}

int docker_container_update(void *state, struct crib_op *op, const struct crib_container_ref *c,
                            const uint8_t *req, size_t req_len, struct crib_error **reterr)
{
	struct docker_state *st = state;
	Runtime__V1__UpdateContainerResourcesRequest *u;
	_cleanup_free_ char *path = NULL, *what = NULL;
	struct docker_priv p;
	struct docker_engine *e;
	json_t *body = NULL, *answer = NULL;
	int r;

	(void)op;
	u = runtime__v1__update_container_resources_request__unpack(NULL, req_len, req);
	if (!u)
		return st->host->error_set(reterr, EBADMSG,
		                           "the UpdateContainerResourcesRequest does not decode");
	r = docker_container_engine(st, c, &p, &e, reterr);
	if (r < 0)
		goto out;
	r = docker_resources_body(st->host, u->linux, &body, reterr);
	if (r == 0) {
		path = crib_xasprintf("/containers/%s/update", p.docker_id);
		what = crib_xasprintf("updating the resources of container %s", p.docker_id);
		r = docker_engine_json(e, "POST", path, body, DOCKER_CALL_TIMEOUT_MS, &answer, what,
		                       reterr);
	}
	json_decref(answer);
	json_decref(body);
	docker_priv_clear(&p);
out:
	runtime__v1__update_container_resources_request__free_unpacked(u, NULL);
	return r;
}

/* What the Engine says of one object crib's store knows; resumes its log copier. */
void docker_reconcile_item(struct docker_state *st, struct crib_reconcile_item *item)
{
	struct docker_priv p;
	struct docker_engine *e;
	struct crib_container_status cs = {0};
	json_t *inspect = NULL;

	item->found = 0;
	if (docker_priv_parse(st->host, item->priv, item->priv_len, &p, NULL) < 0)
		return;
	if (docker_class_engine(item->cls, &e, NULL) < 0 ||
	    docker_inspect(e, p.docker_id, &inspect, NULL) < 0) {
		docker_priv_clear(&p);
		return;
	}
	item->found = 1;
	docker_inspect_status(inspect, &cs);
	if (item->kind == CRIB_KIND_POD) {
		item->pod.state =
		    cs.state == CRIB_CONTAINER_RUNNING ? CRIB_POD_READY : CRIB_POD_NOTREADY;
		item->pod.info = TAKE_PTR(cs.info);
		free(cs.reason);
		free(cs.message);
	} else {
		item->container = cs;
		/* Started before: its copier resumes where the last cribd's stopped. */
		if (cs.started_at)
			(void)copier_start(st, e, item->id, &p, NULL);
	}
	json_decref(inspect);
	docker_priv_clear(&p);
}
