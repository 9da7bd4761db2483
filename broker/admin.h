/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribd's REST admin API (api/admin-openapi.yaml): HTTP/1.1 on the
 * admin_socket unix socket, and on TCP at admin_address with a bearer token
 * and optionally TLS.  libmicrohttpd parses HTTP; it runs on cribd's loop
 * (http_loop.h).  Loop thread only.
 */
#ifndef CRIB_BROKER_ADMIN_H
#define CRIB_BROKER_ADMIN_H

struct crib_admin;
struct crib_container;
struct crib_daemon;
struct crib_error;

/* Starts the listeners the config asks for.  *ret is the caller's (crib_admin_stop). */
int crib_admin_start(struct crib_daemon *d, struct crib_admin **ret, struct crib_error **reterr);

/*
 * Ends streaming answers and stops listening; A frees itself once the
 * requests waiting for a backend op are answered.  NULL-safe.
 */
void crib_admin_stop(struct crib_admin *a);

/*
 * A container event for /v1/events subscribers: TYPE is a CRI
 * ContainerEventType value, or CRIB_ADMIN_EVENT_OOM (which CRI has not).
 */
#define CRIB_ADMIN_EVENT_OOM 4
void crib_admin_publish(struct crib_admin *a, int type, const struct crib_container *c);

#endif /* CRIB_BROKER_ADMIN_H */
