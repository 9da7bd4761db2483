/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event bus behind GetContainerEvents (kubelet's evented PLEG).  Each
 * subscriber is a server stream with its own bounded queue: one that falls
 * too far behind is dropped with a warning rather than slowing the loop or
 * growing memory; kubelet then reconnects and relists.
 */
#include "admin.h"
#include "cri.h"
#include "daemon.h"
#include "log.h"
#include "pb.h"
#include "registry.h"
#include "rpc.h"

#define LOG_CAT "events"

/* Events a subscriber may have queued before it is dropped. */
#define EVENT_BACKLOG_MAX 1024

struct subscriber {
	struct crib_list link;
	struct crib_rpc *rpc;
};

static void drop(struct subscriber *s, grpc_status_code code, const char *why)
{
	crib_list_del(&s->link);
	s->rpc->ctx = NULL;
	s->rpc->on_client_gone = NULL;
	crib_rpc_stream_finish(s->rpc, code, "%s", why);
	free(s);
}

static void on_client_gone(struct crib_rpc *rpc)
{
	struct subscriber *s = rpc->ctx;

	if (s)
		drop(s, GRPC_STATUS_CANCELLED, "The client went away");
}

void crib_cri_get_container_events(struct crib_rpc *rpc)
{
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct subscriber *s = crib_xcalloc(1, sizeof(*s));

	s->rpc = rpc;
	rpc->ctx = s;
	rpc->on_client_gone = on_client_gone;
	crib_list_add_tail(&d->subscribers, &s->link);
	log_debug("Event subscriber added");
}

void crib_events_publish(struct crib_daemon *d, int type, struct crib_container *c)
{
	Runtime__V1__ContainerEventResponse ev = RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT;
	struct crib_arena a = {0};
	struct crib_list *n, *t;

	if (d->admin)
		crib_admin_publish(d->admin, type, c);
	/* The kernel's OOM killer ended it: admins want to hear it as such. */
	if (d->admin && type == RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT &&
	    streq(c->reason, "OOMKilled"))
		crib_admin_publish(d->admin, CRIB_ADMIN_EVENT_OOM, c);
	if (crib_list_empty(&d->subscribers))
		return;
	ev.container_id = c->id;
	ev.container_event_type = (Runtime__V1__ContainerEventType)type;
	ev.created_at = crib_now_ns();
	ev.pod_sandbox_status = crib_pb_pod_status(&a, c->pod);
	ev.containers_statuses =
	    crib_pb_pod_container_statuses(&a, c->pod, &ev.n_containers_statuses);
	if (!c->listed) {
		/* A deleted container is no longer in its pod's list; report it anyway. */
		Runtime__V1__ContainerStatus **v =
		    crib_arena_alloc(&a, (ev.n_containers_statuses + 1) * sizeof(*v));

		for (size_t i = 0; i < ev.n_containers_statuses; i++)
			v[i] = ev.containers_statuses[i];
		v[ev.n_containers_statuses++] = crib_pb_container_status(&a, c);
		ev.containers_statuses = v;
	}

	crib_list_foreach_safe (n, t, &d->subscribers) {
		struct subscriber *s = container_of(n, struct subscriber, link);

		if (crib_rpc_stream_backlog(s->rpc) >= EVENT_BACKLOG_MAX) {
			log_warning("Dropping an event subscriber that fell %d events behind",
			            EVENT_BACKLOG_MAX);
			drop(s, GRPC_STATUS_RESOURCE_EXHAUSTED,
			     "Too many undelivered events; reconnect and relist");
			continue;
		}
		(void)crib_rpc_stream_send(s->rpc, &ev.base);
	}
	crib_arena_release(&a);
}

void crib_events_close_all(struct crib_daemon *d)
{
	struct crib_list *n, *t;

	crib_list_foreach_safe (n, t, &d->subscribers)
		drop(container_of(n, struct subscriber, link), GRPC_STATUS_UNAVAILABLE,
		     "cribd is shutting down");
}
