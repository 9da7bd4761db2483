/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client of the Docker Engine API on its unix socket, with libcurl: one
 * request per call, the API version negotiated once (paths carry it, as
 * /v1.41/containers/...).  Every function is thread-safe; a request blocks
 * its caller.
 */
#ifndef CRIB_DOCKER_ENGINE_H
#define CRIB_DOCKER_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include <crib/backend.h>

/* The oldest Engine API the backend speaks (Docker 20.10 serves 1.41). */
#define DOCKER_API_MIN "1.40"
/* The newest it asks for: a newer Engine answers older versions as they were. */
#define DOCKER_API_MAX "1.41"

struct docker_engine;

/*
 * Connects to the Engine at SOCKET (a unix socket path): GET /_ping, then
 * /version, whose ApiVersion (capped at DOCKER_API_MAX) every later path
 * carries.  *ret is the caller's (docker_engine_free).  Fails with
 * -ECONNREFUSED / -ENOENT when nothing listens, -EPROTONOSUPPORT when the
 * Engine is older than DOCKER_API_MIN.
 */
int docker_engine_open(const struct crib_host *host, const char *socket, struct docker_engine **ret,
                       struct crib_error **reterr);
void docker_engine_free(struct docker_engine *e);

const char *docker_engine_socket(const struct docker_engine *e);
/* The negotiated API version ("1.41") and the Engine's own ("20.10.24"). */
const char *docker_engine_api_version(const struct docker_engine *e);
const char *docker_engine_version(const struct docker_engine *e);
/* The highest capability number the Engine knows by name (UINT_MAX: all of the kernel's). */
unsigned docker_engine_last_cap(const struct docker_engine *e);

/* Called with each piece of a streamed response body; nonzero ends the request early. */
typedef int (*docker_data_fn)(void *userdata, const char *data, size_t len);

struct docker_request {
	const char *method; /* "GET", "POST", "DELETE" */
	const char *path;   /* after the version: "/containers/json?all=1" */
	json_t *json;       /* a JSON body, or NULL */
	const void *raw;    /* or a raw body (json NULL) of raw_len bytes ... */
	size_t raw_len;
	const char *content_type; /* ... of this type ("application/x-tar") */
	const char *extra_header; /* one more header line ("X-Registry-Auth: ..."), or NULL */
	long timeout_ms;          /* the whole request; 0: none (streams) */
	/*
	 * With on_data the body is handed over as it arrives, and not kept:
	 * event and log streams, pull progress, exec output.
	 */
	docker_data_fn on_data;
	void *userdata;
	/* Checked about once a second and on every piece: true ends the request (-ECANCELED). */
	const atomic_bool *cancel;
};

/* What the Engine answered.  body is NUL-terminated (NULL with on_data). */
struct docker_response {
	long status;
	char *body;
	size_t len;
};

void docker_response_clear(struct docker_response *r);

/*
 * Sends RQ.  Returns 0 once the Engine answered, whatever the HTTP status:
 * the caller judges ret->status (docker_status_error() helps).  Transport
 * failures are -errno with a message naming the socket: -ECONNREFUSED when
 * the Engine is down, -ETIMEDOUT, -ECANCELED, -ENOMEM for an answer over
 * 64 MiB.
 */
int docker_engine_request(struct docker_engine *e, const struct docker_request *rq,
                          struct docker_response *ret, struct crib_error **reterr);

/*
 * The request's outcome as an error: 0 for a 2xx, else -errno for the
 * status (404 ENOENT, 409 EBUSY, 400 EINVAL, 401/403 EACCES, 304 EALREADY,
 * 5xx EIO) with a message "WHAT: <the Engine's message>".  WHAT is printf.
 */
int docker_status_error(const struct crib_host *host, const struct docker_response *resp,
                        struct crib_error **reterr, const char *what, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * docker_engine_request + docker_status_error for a JSON answer: *ret (the
 * caller's reference) is the parsed body, or NULL for an empty one.  WHAT
 * names the request in errors.
 */
int docker_engine_json(struct docker_engine *e, const char *method, const char *path, json_t *body,
                       long timeout_ms, json_t **ret, const char *what, struct crib_error **reterr);

/* S escaped for a URL's query or path (curl_easy_escape); malloc'd, the caller's. */
char *docker_escape(const char *s);

/*
 * The Engine's multiplexed stream (non-tty attach, logs and exec output):
 * frames of an 8-byte header (stream 0/1/2, three zero bytes, a big-endian
 * 32-bit length) and their payload.  Feed it the bytes as they come; it
 * calls FN once per complete frame, with the frame's stream (1 stdout,
 * 2 stderr; 0 stdin) and payload.  A nonzero return from FN is handed back.
 */
typedef int (*docker_frame_fn)(void *userdata, int stream, const char *data, size_t len);

struct docker_demux {
	docker_frame_fn fn;
	void *userdata;
	char *buf; /* bytes of a frame not complete yet */
	size_t len, cap;
};

int docker_demux_feed(struct docker_demux *d, const char *data, size_t len);
void docker_demux_clear(struct docker_demux *d);

/*
 * Newline-delimited JSON (the event stream, pull progress): feed it the bytes
 * as they come; it calls FN with each complete line parsed (lines that are not
 * JSON objects are skipped).  A nonzero return from FN is handed back.
 */
typedef int (*docker_json_fn)(void *userdata, json_t *obj);

struct docker_lines {
	docker_json_fn fn;
	void *userdata;
	char *buf; /* the start of a line not complete yet */
	size_t len, cap;
};

int docker_lines_feed(struct docker_lines *l, const char *data, size_t len);
void docker_lines_clear(struct docker_lines *l);

/*
 * Docker's time stamps ("2026-12-06T22:48:24.707422123Z", any offset) as ns
 * since the epoch; 0 for Docker's zero time ("0001-01-01T00:00:00Z") and for
 * text that is not a time stamp.
 */
int64_t docker_parse_time(const char *s);

/* A connection the Engine handed over: the raw stream of an exec or an attach. */
struct docker_hijacked {
	int fd;      /* a connected, blocking socket */
	char *extra; /* the stream's first extra_len bytes, read with the head; or NULL */
	size_t extra_len;
};

/*
 * Sends METHOD PATH (with the JSON BODY, or none) on a connection of its own,
 * asking the Engine to hand it over (Connection: Upgrade, Upgrade: tcp), as
 * POST /exec/{id}/start and /containers/{id}/attach want.  Once the Engine
 * switched (101, or 200 from older Engines) *ret's fd and extra are the
 * caller's.  A refusal is docker_status_error's error naming WHAT; an Engine
 * that is down -ECONNREFUSED; -ETIMEDOUT when no answer came in 30 s.
 */
int docker_engine_hijack(struct docker_engine *e, const char *method, const char *path,
                         json_t *body, const char *what, struct docker_hijacked *ret,
                         struct crib_error **reterr);

/*
 * GET /_ping (within 5 s): 0 when the Engine answers 200, else the transport's
 * -errno (-ECONNREFUSED when it is down) or -EIO for another answer.
 */
int docker_engine_ping(struct docker_engine *e);

/*
 * Sleeps MS milliseconds, or less once *STOP is set: the retry pause of the
 * backend's threads (event stream, log copiers), which stop must not wait out.
 */
void docker_pause_unless(const atomic_bool *stop, long ms);

#endif /* CRIB_DOCKER_ENGINE_H */
