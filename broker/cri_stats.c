/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container and pod stats, normalized across backends.  Backends report
 * cumulative usage (struct crib_usage); cribd keeps the previous CPU sample of
 * every object to derive CRI's usage_nano_cores.  A backend without the
 * stats ops makes these RPCs answer UNIMPLEMENTED for its objects, which
 * kubelet handles by falling back to its own (cAdvisor) stats.
 */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "cri.h"
#include "daemon.h"
#include "error.h"
#include "filter.h"
#include "log.h"
#include "methods.h"
#include "op.h"
#include "pb.h"
#include "registry.h"
#include "router.h"
#include "rpc.h"
#include "stats_gather.h"

#define LOG_CAT "stats"

#define STREAM_CHUNK 256

static Runtime__V1__UInt64Value *u64(struct crib_arena *a, uint64_t v)
{
	Runtime__V1__UInt64Value *o = crib_pb_new(a, &runtime__v1__uint64_value__descriptor);

	o->value = v;
	return o;
}

/* usage_nano_cores from this sample and the previous one; NULL on the first. */
static Runtime__V1__UInt64Value *nano_cores(struct crib_arena *a, uint64_t *last_ns,
                                            int64_t *last_at, const struct crib_usage *u)
{
	Runtime__V1__UInt64Value *o = NULL;

	if (*last_at && u->timestamp > *last_at && u->cpu_core_ns >= *last_ns) {
		double cores =
		    (double)(u->cpu_core_ns - *last_ns) * 1e9 / (double)(u->timestamp - *last_at);

		o = u64(a, (uint64_t)cores);
	}
	*last_ns = u->cpu_core_ns;
	*last_at = u->timestamp;
	return o;
}

static Runtime__V1__CpuUsage *cpu(struct crib_arena *a, const struct crib_usage *u,
                                  uint64_t *last_ns, int64_t *last_at)
{
	Runtime__V1__CpuUsage *o;

	if (!(u->present & CRIB_USAGE_CPU))
		return NULL;
	o = crib_pb_new(a, &runtime__v1__cpu_usage__descriptor);
	o->timestamp = u->timestamp;
	o->usage_core_nano_seconds = u64(a, u->cpu_core_ns);
	o->usage_nano_cores = nano_cores(a, last_ns, last_at, u);
	return o;
}

static Runtime__V1__MemoryUsage *memory(struct crib_arena *a, const struct crib_usage *u)
{
	Runtime__V1__MemoryUsage *o;

	if (!(u->present & (CRIB_USAGE_MEMORY_WORKING_SET | CRIB_USAGE_MEMORY_USAGE)))
		return NULL;
	o = crib_pb_new(a, &runtime__v1__memory_usage__descriptor);
	o->timestamp = u->timestamp;
	if (u->present & CRIB_USAGE_MEMORY_WORKING_SET)
		o->working_set_bytes = u64(a, u->memory_working_set_bytes);
	if (u->present & CRIB_USAGE_MEMORY_USAGE)
		o->usage_bytes = u64(a, u->memory_usage_bytes);
	if (u->present & CRIB_USAGE_MEMORY_AVAILABLE)
		o->available_bytes = u64(a, u->memory_available_bytes);
	if (u->present & CRIB_USAGE_MEMORY_RSS)
		o->rss_bytes = u64(a, u->memory_rss_bytes);
	if (u->present & CRIB_USAGE_PAGE_FAULTS) {
		o->page_faults = u64(a, u->page_faults);
		o->major_page_faults = u64(a, u->major_page_faults);
	}
	return o;
}

static void fill_container(struct crib_arena *a, Runtime__V1__ContainerStats *s,
                           struct crib_container *c, const struct crib_usage *u)
{
	s->attributes = crib_pb_container_attributes(a, c);
	if (!u)
		return;
	s->cpu = cpu(a, u, &c->last_cpu_ns, &c->last_cpu_at);
	s->memory = memory(a, u);
	if (u->present & CRIB_USAGE_FS) {
		s->writable_layer = crib_pb_new(a, &runtime__v1__filesystem_usage__descriptor);
		s->writable_layer->timestamp = u->timestamp;
		s->writable_layer->used_bytes = u64(a, u->fs_used_bytes);
		s->writable_layer->inodes_used = u64(a, u->fs_inodes_used);
		if (u->fs_mountpoint) {
			s->writable_layer->fs_id =
			    crib_pb_new(a, &runtime__v1__filesystem_identifier__descriptor);
			s->writable_layer->fs_id->mountpoint = u->fs_mountpoint;
		}
	}
	if (u->present & CRIB_USAGE_SWAP) {
		s->swap = crib_pb_new(a, &runtime__v1__swap_usage__descriptor);
		s->swap->timestamp = u->timestamp;
		s->swap->swap_usage_bytes = u64(a, u->swap_usage_bytes);
		s->swap->swap_available_bytes = u64(a, u->swap_available_bytes);
	}
}

static void fill_pod(struct crib_arena *a, Runtime__V1__PodSandboxStats *s, struct crib_pod *p,
                     const struct crib_usage *u)
{
	Runtime__V1__LinuxPodSandboxStats *lx;

	s->attributes = crib_pb_pod_attributes(a, p);
	lx = crib_pb_new(a, &runtime__v1__linux_pod_sandbox_stats__descriptor);
	s->linux = lx;
	if (!u)
		return;
	lx->cpu = cpu(a, u, &p->last_cpu_ns, &p->last_cpu_at);
	lx->memory = memory(a, u);
	if (u->present & CRIB_USAGE_PROCESSES) {
		lx->process = crib_pb_new(a, &runtime__v1__process_usage__descriptor);
		lx->process->timestamp = u->timestamp;
		lx->process->process_count = u64(a, u->process_count);
	}
	if (u->present & CRIB_USAGE_NETWORK) {
		Runtime__V1__NetworkInterfaceUsage *i =
		    crib_pb_new(a, &runtime__v1__network_interface_usage__descriptor);

		lx->network = crib_pb_new(a, &runtime__v1__network_usage__descriptor);
		lx->network->timestamp = u->timestamp;
		i->name = u->interface ? u->interface : (char *)"eth0";
		i->rx_bytes = u64(a, u->rx_bytes);
		i->rx_errors = u64(a, u->rx_errors);
		i->tx_bytes = u64(a, u->tx_bytes);
		i->tx_errors = u64(a, u->tx_errors);
		lx->network->default_interface = i;
	}
}

static Runtime__V1__ContainerStats *container_stats(struct crib_arena *a,
                                                    struct crib_gather_item *it)
{
	Runtime__V1__ContainerStats *s = crib_pb_new(a, &runtime__v1__container_stats__descriptor);

	fill_container(a, s, it->ctr, crib_gather_usage(it));
	return s;
}

static void answer_containers(struct crib_gather *g)
{
	struct crib_rpc *rpc = g->data;
	struct crib_arena arena = {0}, *a = &arena;
	Runtime__V1__ContainerStats **v = crib_arena_alloc(a, (g->n ? g->n : 1) * sizeof(*v));

	for (size_t i = 0; i < g->n; i++)
		v[i] = container_stats(a, &g->items[i]);
	if (rpc->method->id == CRIB_M_CONTAINER_STATS) {
		Runtime__V1__ContainerStatsResponse resp =
		    RUNTIME__V1__CONTAINER_STATS_RESPONSE__INIT;

		resp.stats = g->n ? v[0] : NULL;
		crib_cri_reply(rpc, &resp.base);
	} else if (rpc->method->server_streaming) {
		for (size_t i = 0; i < g->n; i += STREAM_CHUNK) {
			Runtime__V1__StreamContainerStatsResponse resp =
			    RUNTIME__V1__STREAM_CONTAINER_STATS_RESPONSE__INIT;

			resp.container_stats = v + i;
			resp.n_container_stats = g->n - i < STREAM_CHUNK ? g->n - i : STREAM_CHUNK;
			(void)crib_rpc_stream_send(rpc, &resp.base);
		}
		crib_rpc_stream_finish(rpc, GRPC_STATUS_OK, "%s", "");
	} else {
		Runtime__V1__ListContainerStatsResponse resp =
		    RUNTIME__V1__LIST_CONTAINER_STATS_RESPONSE__INIT;

		resp.stats = v;
		resp.n_stats = g->n;
		crib_cri_reply(rpc, &resp.base);
	}
	crib_arena_release(a);
	crib_gather_free(g);
}

/* Pod items come first in g->items, each followed by its containers. */
static size_t build_pods(struct crib_gather *g, struct crib_arena *a,
                         Runtime__V1__PodSandboxStats ***ret)
{
	Runtime__V1__PodSandboxStats **v = crib_arena_alloc(a, (g->n ? g->n : 1) * sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < g->n; i++) {
		struct crib_gather_item *it = &g->items[i];
		Runtime__V1__PodSandboxStats *s;

		if (!it->pod)
			continue;
		s = crib_pb_new(a, &runtime__v1__pod_sandbox_stats__descriptor);
		fill_pod(a, s, it->pod, crib_gather_usage(it));
		s->linux->containers =
		    crib_arena_alloc(a, (g->n - i) * sizeof(*s->linux->containers));
		for (size_t k = i + 1; k < g->n && !g->items[k].pod; k++)
			s->linux->containers[s->linux->n_containers++] =
			    container_stats(a, &g->items[k]);
		v[n++] = s;
	}
	*ret = v;
	return n;
}

static void answer_pods(struct crib_gather *g)
{
	struct crib_rpc *rpc = g->data;
	struct crib_arena arena = {0}, *a = &arena;
	Runtime__V1__PodSandboxStats **v;
	size_t n = build_pods(g, a, &v);

	if (rpc->method->id == CRIB_M_POD_SANDBOX_STATS) {
		Runtime__V1__PodSandboxStatsResponse resp =
		    RUNTIME__V1__POD_SANDBOX_STATS_RESPONSE__INIT;

		resp.stats = n ? v[0] : NULL;
		crib_cri_reply(rpc, &resp.base);
	} else if (rpc->method->server_streaming) {
		for (size_t i = 0; i < n; i += STREAM_CHUNK) {
			Runtime__V1__StreamPodSandboxStatsResponse resp =
			    RUNTIME__V1__STREAM_POD_SANDBOX_STATS_RESPONSE__INIT;

			resp.pod_sandbox_stats = v + i;
			resp.n_pod_sandbox_stats = n - i < STREAM_CHUNK ? n - i : STREAM_CHUNK;
			(void)crib_rpc_stream_send(rpc, &resp.base);
		}
		crib_rpc_stream_finish(rpc, GRPC_STATUS_OK, "%s", "");
	} else {
		Runtime__V1__ListPodSandboxStatsResponse resp =
		    RUNTIME__V1__LIST_POD_SANDBOX_STATS_RESPONSE__INIT;

		resp.stats = v;
		resp.n_stats = n;
		crib_cri_reply(rpc, &resp.base);
	}
	crib_arena_release(a);
	crib_gather_free(g);
}

static void fail_unimplemented(struct crib_rpc *rpc, const char *what)
{
	struct crib_error *err = NULL;

	(void)crib_error_set(&err, ENOTSUP, "%s: %s", crib_rpc_method_name(rpc), what);
	if (rpc->method->server_streaming) {
		crib_rpc_stream_finish(rpc, GRPC_STATUS_UNIMPLEMENTED, "%s", crib_error_msg(err));
		log_debug("%s", crib_error_msg(err));
	} else {
		crib_cri_fail(rpc, err);
	}
	crib_error_free(err);
}

/* True when some loaded backend reports the kind of stats. */
static bool any_backend(struct crib_daemon *d, bool (*has)(const struct crib_backend *b))
{
	struct crib_list *n;

	crib_list_foreach (n, &d->router->backends) {
		if (has(container_of(n, struct crib_backend, link)))
			return true;
	}
	return false;
}

void crib_cri_container_stats(struct crib_rpc *rpc)
{
	const Runtime__V1__ContainerStatsRequest *req = (const void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_container *c = crib_registry_find_container(&d->reg, req->container_id);
	struct crib_gather *g;

	if (!c || c->phase == CRIB_PHASE_CREATING) {
		crib_cri_failf(rpc, isempty(req->container_id) ? EINVAL : ENOENT,
		               isempty(req->container_id) ? "container_id is required%s"
		                                          : CRIB_CONTAINER_NOT_FOUND,
		               req->container_id);
		return;
	}
	if (!crib_backend_has_container_stats(c->pod->cls->backend)) {
		struct crib_error *err = NULL;

		(void)crib_error_set(&err, ENOTSUP,
		                     "ContainerStats: runtime class '%s' (backend '%s') does not "
		                     "report container stats",
		                     c->pod->cls->pub.name, c->pod->cls->backend_name);
		crib_cri_fail(rpc, err);
		crib_error_free(err);
		return;
	}
	g = crib_gather_new(answer_containers, rpc);
	crib_gather_add(g, NULL, c);
	crib_gather_start(d, g);
}

void crib_cri_list_container_stats(struct crib_rpc *rpc)
{
	struct crib_daemon *d = crib_cri_daemon(rpc);
	const Runtime__V1__ContainerStatsFilter *filter =
	    rpc->method->server_streaming
	        ? ((const Runtime__V1__StreamContainerStatsRequest *)(const void *)rpc->req)->filter
	        : ((const Runtime__V1__ListContainerStatsRequest *)(const void *)rpc->req)->filter;
	struct crib_container *c, *tmp;
	struct crib_filter f;
	struct crib_gather *g;
	size_t matching = 0;

	crib_filter_container_stats(&d->reg, filter, &f);
	g = crib_gather_new(answer_containers, rpc);
	HASH_ITER (hh, d->reg.ctrs, c, tmp) {
		if (!crib_filter_match_container(&f, c))
			continue;
		matching++;
		if (crib_backend_has_container_stats(c->pod->cls->backend))
			crib_gather_add(g, NULL, c);
	}
	if (g->n == 0 && (matching > 0 || !any_backend(d, crib_backend_has_container_stats))) {
		crib_gather_free(g);
		fail_unimplemented(rpc, "no backend of the matching containers reports container "
		                        "stats");
		return;
	}
	crib_gather_start(d, g);
}

void crib_cri_pod_stats(struct crib_rpc *rpc)
{
	const Runtime__V1__PodSandboxStatsRequest *req = (const void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_pod *p = crib_registry_find_pod(&d->reg, req->pod_sandbox_id);
	struct crib_gather *g;

	if (!p || p->phase == CRIB_PHASE_CREATING) {
		crib_cri_failf(rpc, isempty(req->pod_sandbox_id) ? EINVAL : ENOENT,
		               isempty(req->pod_sandbox_id) ? "pod_sandbox_id is required%s"
		                                            : CRIB_POD_NOT_FOUND,
		               req->pod_sandbox_id);
		return;
	}
	if (!crib_backend_has_pod_stats(p->cls->backend)) {
		struct crib_error *err = NULL;

		(void)crib_error_set(&err, ENOTSUP,
		                     "PodSandboxStats: runtime class '%s' (backend '%s') does not "
		                     "report pod stats",
		                     p->cls->pub.name, p->cls->backend_name);
		crib_cri_fail(rpc, err);
		crib_error_free(err);
		return;
	}
	g = crib_gather_new(answer_pods, rpc);
	crib_gather_add_pod(g, p);
	crib_gather_start(d, g);
}

void crib_cri_list_pod_stats(struct crib_rpc *rpc)
{
	struct crib_daemon *d = crib_cri_daemon(rpc);
	const Runtime__V1__PodSandboxStatsFilter *filter =
	    rpc->method->server_streaming
	        ? ((const Runtime__V1__StreamPodSandboxStatsRequest *)(const void *)rpc->req)
	              ->filter
	        : ((const Runtime__V1__ListPodSandboxStatsRequest *)(const void *)rpc->req)->filter;
	struct crib_pod *p, *tmp;
	struct crib_filter f;
	struct crib_gather *g;
	size_t matching = 0;

	crib_filter_pod_stats(&d->reg, filter, &f);
	g = crib_gather_new(answer_pods, rpc);
	HASH_ITER (hh, d->reg.pods, p, tmp) {
		if (!crib_filter_match_pod(&f, p))
			continue;
		matching++;
		if (crib_backend_has_pod_stats(p->cls->backend))
			crib_gather_add_pod(g, p);
	}
	if (g->n == 0 && (matching > 0 || !any_backend(d, crib_backend_has_pod_stats))) {
		crib_gather_free(g);
		fail_unimplemented(rpc, "no backend of the matching pods reports pod stats");
		return;
	}
	crib_gather_start(d, g);
}
