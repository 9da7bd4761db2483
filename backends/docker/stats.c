/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ContainerStats and PodSandboxStats from the Engine's stats documents (one
 * sample each: stream=false, one-shot=true), the writable layer's size from
 * the container's inspect, and a pod's network from its sandbox's namespace.
 *
 * A pod's usage is the sum of its containers' that run, the sandbox's
 * included: the sandbox's processes are the pod's too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "util.h"

/* Kubelet's default interface, the one CNI names in the pod. */
#define POD_INTERFACE "eth0"

static const struct crib_host *host_of(void *state)
{
	return ((struct docker_state *)state)->host;
}

/* Adds DOCKER_ID's sample to RET. */
static int add_usage(struct docker_engine *e, const char *docker_id, struct crib_usage *ret,
                     struct crib_error **reterr)
{
	_cleanup_free_ char *path =
	    crib_xasprintf("/containers/%s/stats?stream=false&one-shot=true", docker_id);
	json_t *o;
	int r;

	r = docker_engine_json(e, "GET", path, NULL, DOCKER_CALL_TIMEOUT_MS, &o,
	                       "reading the container's usage", reterr);
	if (r < 0)
		return r;
	docker_stats_usage(o, ret);
	json_decref(o);
	return 0;
}

/* The writable layer's size; the Engine walks the layer to answer. */
static int add_writable_layer(struct docker_engine *e, const char *docker_id,
                              struct crib_usage *ret, struct crib_error **reterr)
{
	_cleanup_free_ char *path = crib_xasprintf("/containers/%s/json?size=1", docker_id);
	json_t *o, *size;
	int r;

	r = docker_engine_json(e, "GET", path, NULL, DOCKER_CALL_TIMEOUT_MS, &o,
	                       "reading the container's writable layer", reterr);
	if (r < 0)
		return r;
	size = json_object_get(o, "SizeRw");
	if (json_is_integer(size) && json_integer_value(size) >= 0) {
		ret->fs_used_bytes += (uint64_t)json_integer_value(size);
		ret->present |= CRIB_USAGE_FS;
	}
	json_decref(o);
	return 0;
}

/* Nothing ran to sample: the time of the answer stands for the sample's. */
static void stamp(struct crib_usage *ret)
{
	if (ret->timestamp == 0)
		ret->timestamp = crib_now_ns();
}

int docker_container_stats(void *state, struct crib_op *op, const struct crib_container_ref *c,
                           struct crib_usage *ret, struct crib_error **reterr)
{
	_cleanup_(docker_priv_clear) struct docker_priv p = {0};
	struct docker_engine *e;
	int r;

	(void)op;
	r = docker_container_engine(state, c, &p, &e, reterr);
	if (r < 0)
		return r;
	r = add_usage(e, p.docker_id, ret, reterr);
	if (r == 0)
		r = add_writable_layer(e, p.docker_id, ret, reterr);
	if (r == 0)
		stamp(ret);
	return r;
}

/*
 * The counters of interface NAME in /proc/PID/net/dev: "  eth0: rx_bytes
 * packets errs drop fifo frame compressed multicast tx_bytes packets errs
 * ...".  -ENODATA when the namespace has no such interface.
 */
static int read_net_dev(int pid, const char *name, struct crib_usage *ret)
{
	_cleanup_(fclosep) FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	char path[64];
	size_t cap = 0;

	(void)snprintf(path, sizeof(path), "/proc/%d/net/dev", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) >= 0) {
		unsigned long long v[11];
		char *colon = strchr(line, ':'), *p = line;

		if (!colon)
			continue;
		while (*p == ' ')
			p++;
		if ((size_t)(colon - p) != strlen(name) || strncmp(p, name, strlen(name)) != 0)
			continue;
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		           &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
		           &v[10]) != 11)
			return -EINVAL;
		ret->rx_bytes = v[0];
		ret->rx_errors = v[2];
		ret->tx_bytes = v[8];
		ret->tx_errors = v[10];
		crib_strreplace(&ret->interface, name);
		ret->present |= CRIB_USAGE_NETWORK;
		return 0;
	}
	return -ENODATA;
}

/*
 * The pod's network: its sandbox owns the namespace (CNI ran in it), so its
 * process's view of /proc/net/dev is the pod's.  Left out when the sandbox
 * does not run or the namespace has no POD_INTERFACE.
 */
static void pod_network(struct docker_engine *e, const char *sandbox, struct crib_usage *ret)
{
	_cleanup_free_ char *path = crib_xasprintf("/containers/%s/json", sandbox);
	json_int_t pid;
	json_t *o;

	/* What the containers' documents said of networks is not the pod's interface. */
	ret->present &= ~(uint64_t)CRIB_USAGE_NETWORK;
	ret->rx_bytes = ret->rx_errors = ret->tx_bytes = ret->tx_errors = 0;
	if (docker_engine_json(e, "GET", path, NULL, DOCKER_CALL_TIMEOUT_MS, &o,
	                       "inspecting the sandbox", NULL) < 0)
		return;
	pid = json_integer_value(json_object_get(json_object_get(o, "State"), "Pid"));
	json_decref(o);
	if (pid > 0 && pid <= INT32_MAX)
		(void)read_net_dev((int)pid, POD_INTERFACE, ret);
}

/* The Docker ids of the pod's running containers, the sandbox among them. */
static int pod_containers(struct docker_engine *e, const char *pod_id, json_t **ret,
                          struct crib_error **reterr)
{
	_cleanup_free_ char *filter = NULL, *esc = NULL, *path = NULL;
	json_t *f;

	f = json_pack("{s:[s+]}", "label", DOCKER_LABEL_POD "=", pod_id);
	if (!f)
		abort();
	filter = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	if (!filter)
		abort();
	esc = docker_escape(filter);
	path = crib_xasprintf("/containers/json?filters=%s", esc);
	return docker_engine_json(e, "GET", path, NULL, DOCKER_CALL_TIMEOUT_MS, ret,
	                          "listing the pod's containers", reterr);
}

int docker_pod_stats(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                     struct crib_usage *ret, struct crib_error **reterr)
{
	_cleanup_(docker_priv_clear) struct docker_priv p = {0};
	struct docker_engine *e;
	json_t *list, *c;
	size_t i;
	int r;

	(void)op;
	r = docker_priv_parse(host_of(state), pod->priv, pod->priv_len, &p, reterr);
	if (r < 0)
		return r;
	r = docker_class_engine(pod->cls, &e, reterr);
	if (r < 0)
		return r;
	r = pod_containers(e, pod->id, &list, reterr);
	if (r < 0)
		return r;
	/*
	 * A container that stopped or went since the list was made has nothing
	 * to add; its error is not the pod's.
	 */
	json_array_foreach(list, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "Id"));

		if (id)
			(void)add_usage(e, id, ret, NULL);
	}
	json_decref(list);
	pod_network(e, p.docker_id, ret);
	stamp(ret);
	return 0;
}
