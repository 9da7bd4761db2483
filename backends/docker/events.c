/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Engine's event stream, one thread per endpoint: a crib container that
 * dies becomes CRIB_EVENT_CONTAINER_EXITED (a sandbox: CRIB_EVENT_POD_NOTREADY),
 * and the Engine going away or coming back becomes CRIB_EVENT_HEALTH.  The
 * stream reconnects from the last event it saw, so that a dockerd restart
 * loses nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker.h"
#include "util.h"

#define RECONNECT_MS 1000

struct docker_events {
	struct docker_endpoint *ep;
	pthread_t thread;
	atomic_bool stop;
	int64_t since_ns; /* the last event's time; the next connection starts there */
	int up;           /* -1 unknown, 0 down, 1 streaming */
};

static void set_up(struct docker_events *ev, int up)
{
	const struct crib_host *host = ev->ep->st->host;
	struct crib_event health = {.kind = CRIB_EVENT_HEALTH};

	if (ev->up == up)
		return;
	/* The first answer is what init already found; only changes are news. */
	if (ev->up != -1 || !up) {
		host->log(host, up ? CRIB_LOG_NOTICE : CRIB_LOG_WARNING,
		          up ? "Docker Engine at %s is back" : "Docker Engine at %s went away",
		          ev->ep->socket);
		host->emit(host, &health);
	}
	ev->up = up;
}

/* A crib container died: what the Engine says of its end, as an event. */
static void container_died(struct docker_events *ev, const char *docker_id, const char *crib_id,
                           bool sandbox, int32_t exit_code)
{
	const struct crib_host *host = ev->ep->st->host;
	struct crib_container_status status = {0};
	struct crib_event e = {.id = crib_id, .exit_code = exit_code};
	_cleanup_free_ char *path = crib_xasprintf("/containers/%s/json", docker_id);
	struct docker_engine *engine;
	json_t *inspect = NULL;

	if (sandbox) {
		e.kind = CRIB_EVENT_POD_NOTREADY;
		host->emit(host, &e);
		return;
	}
	e.kind = CRIB_EVENT_CONTAINER_EXITED;
	/* The die event has the exit code only; inspect knows the time and an OOM kill. */
	if (docker_endpoint_engine(ev->ep, &engine, NULL) == 0 &&
	    docker_engine_json(engine, "GET", path, NULL, DOCKER_CALL_TIMEOUT_MS, &inspect,
	                       "inspect", NULL) == 0) {
		docker_inspect_status(inspect, &status);
		if (status.finished_at) {
			e.exit_code = status.exit_code;
			e.at = status.finished_at;
		}
		e.reason = status.reason;
	}
	host->emit(host, &e);
	json_decref(inspect);
	free(status.reason);
	free(status.message);
	free(status.info);
}

static int on_event(void *userdata, json_t *o)
{
	struct docker_events *ev = userdata;
	const char *type = NULL, *action = NULL, *id = NULL, *crib_id = NULL, *kind = NULL;
	const char *code = NULL;
	json_int_t at = 0;

	json_unpack(o, "{s?s s?s s?I s?{s?s s?{s?s s?s s?s}}}", "Type", &type, "Action", &action,
	            "timeNano", &at, "Actor", "ID", &id, "Attributes", DOCKER_LABEL_ID, &crib_id,
	            DOCKER_LABEL_KIND, &kind, "exitCode", &code);
	/* since is inclusive: the next connection starts just after this event. */
	if (at >= ev->since_ns)
		ev->since_ns = at + 1;
	if (!streq(type, "container") || !streq(action, "die") || !id || !crib_id)
		return 0;
	container_died(ev, id, crib_id, streq(kind, DOCKER_KIND_SANDBOX), code ? atoi(code) : -1);
	return 0;
}

static int on_data(void *userdata, const char *data, size_t len)
{
	return docker_lines_feed(userdata, data, len);
}

/* One connection of the stream, until it breaks or the thread stops. */
static void stream_once(struct docker_events *ev, struct docker_engine *e)
{
	_cleanup_free_ char *filters = NULL, *query = NULL, *path = NULL;
	struct docker_lines lines = {.fn = on_event, .userdata = ev};
	struct docker_request rq = {
	    .method = "GET", .on_data = on_data, .userdata = &lines, .cancel = &ev->stop};
	struct docker_response resp;
	json_t *f;

	f = json_pack("{s:[s] s:[s] s:[s]}", "type", "container", "event", "die", "label",
	              DOCKER_LABEL_MANAGED "=true");
	filters = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	query = docker_escape(filters);
	path = crib_xasprintf("/events?since=%lld.%09lld&filters=%s",
	                      (long long)(ev->since_ns / 1000000000),
	                      (long long)(ev->since_ns % 1000000000), query);
	rq.path = path;
	if (docker_engine_request(e, &rq, &resp, NULL) == 0) {
		if (resp.status != 200)
			ev->ep->st->host->log(
			    ev->ep->st->host, CRIB_LOG_WARNING,
			    "Docker Engine at %s refused its event stream (HTTP %ld)",
			    ev->ep->socket, resp.status);
		docker_response_clear(&resp);
	}
	docker_lines_clear(&lines);
}

static void *events_main(void *arg)
{
	struct docker_events *ev = arg;
	struct docker_engine *e;

	while (!atomic_load(&ev->stop)) {
		if (docker_endpoint_engine(ev->ep, &e, NULL) < 0 || docker_engine_ping(e) < 0) {
			set_up(ev, 0);
			docker_pause_unless(&ev->stop, RECONNECT_MS);
			continue;
		}
		set_up(ev, 1);
		stream_once(ev, e);
		if (!atomic_load(&ev->stop))
			docker_pause_unless(&ev->stop, 100);
	}
	return NULL;
}

int docker_events_start(struct docker_endpoint *ep, struct crib_error **reterr)
{
	struct docker_events *ev = crib_xcalloc(1, sizeof(*ev));
	int r;

	ev->ep = ep;
	ev->up = -1;
	ev->since_ns = crib_now_ns();
	atomic_init(&ev->stop, false);
	r = pthread_create(&ev->thread, NULL, events_main, ev);
	if (r != 0) {
		free(ev);
		return ep->st->host->error_set(reterr, r, "cannot start the event thread for %s",
		                               ep->socket);
	}
	ep->events = ev;
	return 0;
}

void docker_events_stop(struct docker_endpoint *ep)
{
	struct docker_events *ev = ep->events;

	if (!ev)
		return;
	atomic_store(&ev->stop, true);
	pthread_join(ev->thread, NULL);
	free(ev);
	ep->events = NULL;
}
