/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the admin API's files share.  The server (admin.c) runs on a thread
 * of its own with its own libuv loop, so that however hard admins hammer it,
 * CRI calls on cribd's loop do not wait behind HTTP parsing, JSON or sockets.
 * It parses, authenticates and routes requests; each route's handler runs
 * either
 *  - on the thread, from a snapshot of the views (view_snap.h): lists, logs,
 *    events; or
 *  - on cribd's loop, for what reads the loop's objects or asks a backend:
 *    health, backends, classes, details, reload, /metrics.  The request is
 *    posted to the loop and its answer posted back (two mailboxes).
 * The handlers (admin_routes.c, admin_stream.c, admin_metrics.c) answer at
 * once or later (a backend op, a reload, a stream) through crib_admin_reply*,
 * which know which side they are on.
 */
#ifndef CRIB_BROKER_ADMIN_IMPL_H
#define CRIB_BROKER_ADMIN_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>
#include <uv.h>

#include "http_loop.h"
#include "mailbox.h"
#include "util.h"

struct crib_daemon;
struct crib_view_snap;

struct crib_admin {
	/* Set before the thread starts, then read-only. */
	struct crib_daemon *d;
	char *token; /* what TCP clients must send, or NULL */
	pthread_t thread;
	uv_loop_t loop;              /* the thread's */
	struct crib_mailbox inbox;   /* on the thread: answers, views, events, stop */
	struct crib_mailbox outbox;  /* on cribd's loop: requests, refreshes, releases */
	atomic_uint event_streams;   /* open /v1/events answers: events are made for them */
	pthread_mutex_t snap_lock;   /* guards snap */
	struct crib_view_snap *snap; /* the latest snapshot the loop published */

	/* The thread's. */
	struct admin_listener *listeners[2]; /* the unix socket, TCP */
	struct crib_list streams;            /* long answers: logs -f, events */
	struct crib_list view_waiters;       /* requests waiting for a fresh snapshot */
	unsigned at_loop;                    /* requests posted to the loop, not answered */
	uv_timer_t *keepalive;               /* event streams' keep-alive comments */
	uv_timer_t budget_timer;             /* ends a pause for CPU (admin.c) */
	int64_t window_at, window_cpu;       /* the CPU budget's window: when, thread CPU then */
	bool paused;                         /* out of CPU budget: the listeners wait */
	bool refreshing;                     /* a snapshot is asked for */
	bool stopping;
	bool closing; /* the listeners are freed, the inbox closes */
	struct crib_msg refresh_msg, ended_msg;

	/* cribd's loop's. */
	struct crib_metrics_round *metrics_running; /* /metrics' stats round under way */
	struct crib_metrics_round *metrics_last;    /* the round that ended last */
	bool loop_stopping;
	bool ended; /* the thread is done and joined */
	struct crib_msg views_msg, stop_msg;
};

struct crib_admin_req;
typedef void crib_admin_handler(struct crib_admin_req *rq);

/*
 * One request.  A handler either answers at once (crib_admin_reply_*) or
 * calls crib_admin_defer() and answers later.
 */
struct crib_admin_req {
	struct crib_msg msg; /* to the loop and back */
	struct crib_admin *admin;
	struct admin_listener *listener;
	struct MHD_Connection *conn; /* the thread's */
	const char *method;
	crib_admin_handler *handler;
	const char *const *params; /* the query parameters the route takes */
	char **args;               /* their values (or NULL), copied for the loop */
	char id[65];               /* the {id} of the path, when the route has one */
	char *body;                /* POST bodies (bounded) */
	size_t body_len;
	bool body_too_big;
	bool deferred;               /* the connection is suspended until the answer */
	bool at_loop;                /* posted to the loop, which answers */
	struct crib_view_snap *snap; /* for handlers on the thread that read views */
	struct MHD_Response *answer;
	unsigned answer_code;
	struct crib_list link; /* in view_waiters */
	bool gone;             /* the connection ended while the answer was being made */
};

/* Answers: each queues one response.  JSON bodies are taken (decref'd). */
void crib_admin_reply_json(struct crib_admin_req *rq, unsigned code, json_t *body);
/* JSON already made: TEXT (LEN bytes, malloc'd) is taken. */
void crib_admin_reply_json_text(struct crib_admin_req *rq, unsigned code, char *text, size_t len);
void crib_admin_reply_error(struct crib_admin_req *rq, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* RESP (taken) with CODE; for text and streamed answers. */
void crib_admin_reply(struct crib_admin_req *rq, unsigned code, struct MHD_Response *resp);

/* RQ is answered later, by one of the replies above. */
void crib_admin_defer(struct crib_admin_req *rq);

/* A query parameter, or NULL. */
const char *crib_admin_arg(const struct crib_admin_req *rq, const char *name);
/*
 * A flag parameter ("1", "true", "0", "false"; absent: false).  -EINVAL (and
 * a 400 answered) when it is something else.
 */
int crib_admin_arg_bool(struct crib_admin_req *rq, const char *name, bool *ret);
/* A number parameter from MIN to MAX; absent: DEF.  -EINVAL with a 400 answered. */
int crib_admin_arg_uint(struct crib_admin_req *rq, const char *name, unsigned long min,
                        unsigned long max, unsigned long def, unsigned long *ret);

/* Lets L's MHD act on a resumed connection or a finished stream. */
void crib_admin_kick(struct crib_admin *a, struct admin_listener *l);

/* Loop thread: drops a reference to a round of /metrics stats.  NULL-safe. */
struct crib_metrics_round;
void crib_metrics_round_unref(struct crib_metrics_round *round);

/*
 * What an answer on the thread holds of the loop's objects is let go on the
 * loop: crib_admin_release() posts R, and the loop calls R->release(R).
 */
struct crib_admin_release {
	struct crib_msg msg;
	void (*release)(struct crib_admin_release *r);
};
void crib_admin_release(struct crib_admin *a, struct crib_admin_release *r);

/* The thread: ends every streamed answer (shutdown). */
void crib_admin_streams_end(struct crib_admin *a);

/* The thread: a current snapshot of the views (a reference), or NULL after asking for one. */
struct crib_view_snap *crib_admin_views(struct crib_admin *a);

/* The thread: MSG (taken) is crib_admin_publish()'s event for every /v1/events answer. */
void crib_admin_stream_event(struct crib_admin *a, struct crib_msg *msg);

/* Route handlers: on the thread lists, logs and events; the rest on the loop. */
void crib_admin_healthz(struct crib_admin_req *rq);
void crib_admin_readyz(struct crib_admin_req *rq);
void crib_admin_backends(struct crib_admin_req *rq);
void crib_admin_classes(struct crib_admin_req *rq);
void crib_admin_pods(struct crib_admin_req *rq);
void crib_admin_pod(struct crib_admin_req *rq);
void crib_admin_containers(struct crib_admin_req *rq);
void crib_admin_container(struct crib_admin_req *rq);
void crib_admin_reload(struct crib_admin_req *rq);
void crib_admin_metrics(struct crib_admin_req *rq);
void crib_admin_logs(struct crib_admin_req *rq);
void crib_admin_events(struct crib_admin_req *rq);

#endif /* CRIB_BROKER_ADMIN_IMPL_H */
