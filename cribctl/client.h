/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribctl's side of cribd's admin API (api/admin-openapi.yaml): one libcurl
 * handle, over the admin unix socket or over TCP with a bearer token, that
 * sends GET and POST requests and turns what comes back into JSON, text or a
 * stream into a file descriptor.
 *
 * Errors follow broker/error.h.  A non-2xx answer becomes the server's own
 * message with the status, "<message> (HTTP <code>)", and a negative errno
 * for the status (404: -ENOENT, 400: -EINVAL, 401/403: -EACCES, 409: -EBUSY,
 * 503: -EAGAIN, others -EPROTO or -EIO).  Not reaching cribd at all is
 * -ECONNREFUSED whatever the reason, so that it never passes for a 404.
 *
 * OOM policy: cribctl is a short-lived command, so bookkeeping aborts on OOM
 * (util.h's x-allocators); an answer larger than CRIB_CTL_MAX_BODY fails.
 */
#ifndef CRIB_CRIBCTL_CLIENT_H
#define CRIB_CRIBCTL_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#define CRIB_CTL_MAX_BODY (256u << 20)

struct crib_error;
struct crib_ctl_client;

struct crib_ctl_client_config {
	const char *socket_path; /* the admin socket, used when url is NULL */
	const char *url;         /* http(s)://HOST:PORT: TCP, with token_file's bearer token */
	const char *token_file;  /* required with url; trailing line ends are not the token's */
	const char *cacert;      /* optional CA bundle for an https url */
};

/* One query parameter; a NULL value leaves it out, so that callers can list optional filters. */
struct crib_ctl_param {
	const char *key;
	const char *value;
};

/* Drops a reference at scope exit; json_decref() is NULL-safe. */
static inline void crib_ctl_json_decrefp(json_t **p)
{
	json_decref(*p);
}

/*
 * Makes a client for CFG (which need not outlive it).  The token file is read
 * here.  curl_global_init() must have run.  On success *ret is the caller's,
 * freed with crib_ctl_client_free().
 */
int crib_ctl_client_new(const struct crib_ctl_client_config *cfg, struct crib_ctl_client **ret,
                        struct crib_error **reterr);

/* NULL-safe; returns NULL. */
struct crib_ctl_client *crib_ctl_client_free(struct crib_ctl_client *c);

static inline void crib_ctl_client_freep(struct crib_ctl_client **c)
{
	crib_ctl_client_free(*c);
}

/* S escaped for one path segment or query value.  Malloc'd; the caller frees it. */
char *crib_ctl_escape(const char *s);

/*
 * GET PATH with PARAMS (N of them) and parses the JSON answer into *ret, a
 * new reference the caller drops.
 */
int crib_ctl_client_get_json(struct crib_ctl_client *c, const char *path,
                             const struct crib_ctl_param *params, size_t n, json_t **ret,
                             struct crib_error **reterr);

/* POST PATH with an empty body; otherwise as crib_ctl_client_get_json(). */
int crib_ctl_client_post_json(struct crib_ctl_client *c, const char *path, json_t **ret,
                              struct crib_error **reterr);

/*
 * GET PATH and returns the body in *ret (malloc'd, NUL-terminated, the
 * caller's) and its length, NUL excluded, in *ret_len.
 */
int crib_ctl_client_get_text(struct crib_ctl_client *c, const char *path, char **ret,
                             size_t *ret_len, struct crib_error **reterr);

/*
 * GET PATH with PARAMS and writes a 2xx body to FD as it arrives, until the
 * server ends it.  A failed write to FD ends the transfer with its -errno.
 */
int crib_ctl_client_stream(struct crib_ctl_client *c, const char *path,
                           const struct crib_ctl_param *params, size_t n, int fd,
                           struct crib_error **reterr);

#endif /* CRIB_CRIBCTL_CLIENT_H */
