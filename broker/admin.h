/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribd's REST admin API (api/admin-openapi.yaml): HTTP/1.1 on the
 * admin_socket unix socket, and on TCP at admin_address with a bearer token
 * and optionally TLS.  libmicrohttpd parses HTTP on a thread of the admin
 * API's own (admin_impl.h); these functions are for cribd's loop thread.
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
 * requests waiting for the loop (a backend op, a reload) are answered and
 * its thread has ended.  NULL-safe.
 */
void crib_admin_stop(struct crib_admin *a);

/*
 * A container event for /v1/events subscribers: TYPE is a CRI
 * ContainerEventType value, or CRIB_ADMIN_EVENT_OOM (which CRI has not).
 */
#define CRIB_ADMIN_EVENT_OOM 4
void crib_admin_publish(struct crib_admin *a, int type, const struct crib_container *c);

#endif /* CRIB_BROKER_ADMIN_H */
