/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the admin API's files share: the server (admin.c) parses, authenticates
 * and routes requests; the handlers (admin_routes.c, admin_logs.c,
 * admin_events.c, and metrics.c for /metrics) answer them, at once or later
 * (a backend op, a reload, a stream).  Loop thread only.
 */
#ifndef CRIB_BROKER_ADMIN_IMPL_H
#define CRIB_BROKER_ADMIN_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>
#include <uv.h>

#include "http_loop.h"
#include "util.h"

struct crib_daemon;

struct crib_admin {
	struct crib_daemon *d;
	struct admin_listener *listeners[2]; /* the unix socket, TCP */
	char *token;                         /* what TCP clients must send, or NULL */
	struct crib_list requests;           /* waiting for an answer (struct crib_admin_req) */
	struct crib_list streams;            /* long answers: logs -f, events */
	uv_timer_t *keepalive;               /* event streams' keep-alive comments */
	struct crib_metrics_round *metrics_running; /* /metrics' stats round under way */
	bool stopping;
};

/*
 * One request.  A handler either answers at once (crib_admin_reply_*) or
 * calls crib_admin_defer() and answers later, which resumes the connection.
 */
struct crib_admin_req {
	struct crib_admin *admin;
	struct admin_listener *listener;
	struct MHD_Connection *conn;
	const char *method;
	char id[65]; /* the {id} of the path, when the route has one */
	char *body;  /* POST bodies (bounded) */
	size_t body_len;
	bool body_too_big;
	bool deferred; /* the connection is suspended until the answer */
	struct MHD_Response *answer;
	unsigned answer_code;
	struct crib_list link; /* in requests while deferred */
	bool gone;             /* the connection ended while the answer was being made */
};

/* Answers: each queues one response.  JSON bodies are taken (decref'd). */
void crib_admin_reply_json(struct crib_admin_req *rq, unsigned code, json_t *body);
void crib_admin_reply_error(struct crib_admin_req *rq, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* RESP (taken) with CODE; for text and streamed answers. */
void crib_admin_reply(struct crib_admin_req *rq, unsigned code, struct MHD_Response *resp);

/* Suspends RQ's connection until one of the replies above. */
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

/* Drops a reference to a round of /metrics stats.  NULL-safe. */
struct crib_metrics_round;
void crib_metrics_round_unref(struct crib_metrics_round *round);

/* Ends every streamed answer (shutdown). */
void crib_admin_streams_end(struct crib_admin *a);

/* Route handlers. */
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
