/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pulling an image from a registry that speaks the OCI distribution API
 * (Docker Registry v2) into the content store, with libcurl.
 *
 * The endpoints tried, in order: the mirrors of the reference's registry
 * ([registry.HOST], else [registry.*]), then the registry itself unless
 * mirror_only is set.  The registry itself is plain HTTP when the section
 * says insecure = true, or when it is on a loopback address and the section
 * says nothing (as Docker does); HTTPS otherwise, with ca_file if given.
 * Manifests are resolved through indexes / manifest lists to the host's
 * platform; every manifest and blob is checked against its digest and size
 * before it is stored.  Authentication: anonymous, basic from the request's
 * credentials, or a bearer token fetched through the registry's
 * WWW-Authenticate challenge (with those credentials, or an identity
 * token).  Blocking: runs on a worker thread.
 */
#ifndef CRIB_BROKER_PULL_H
#define CRIB_BROKER_PULL_H

#include <stddef.h>
#include <stdint.h>

struct crib_config_registry;
struct crib_content;
struct crib_error;
struct crib_imageref;

/* Credentials as CRI's AuthConfig carries them; any may be NULL or empty. */
struct crib_pull_auth {
	const char *username;
	const char *password;
	const char *auth; /* base64 of "username:password" */
	const char *identity_token;
	const char *registry_token;
};

struct crib_pull_opts {
	const struct crib_config_registry *registry; /* the reference's section, or NULL */
	const char *os;                              /* "linux" */
	const char *arch;                            /* "amd64", "arm64", ... */
	const char *variant;                         /* "v8", or NULL */
	long connect_timeout_s;                      /* default 5 */
	long stall_timeout_s; /* a transfer below 1 byte/s for this long fails; default 30 */
};

struct crib_pull_result {
	char *digest;          /* what the reference resolved to: the index or the manifest */
	char *manifest_digest; /* the platform's manifest */
	char *config_digest;   /* the image config: the image id */
	char **layers;         /* layer blob digests, bottom first */
	size_t n_layers;
	uint64_t size;  /* config and layers as stored */
	char *endpoint; /* the base URL that served it */
};

/* The host's platform in OCI terms (architecture "amd64", variant or NULL). */
void crib_pull_host_platform(const char **ret_arch, const char **ret_variant);

/*
 * Pulls REF into CS.  Errors: -ENOENT (no such image or platform),
 * -EKEYREJECTED (authentication failed), -EACCES (denied), -EBADMSG (content
 * that does not match its digest; nothing stored), -ECONNREFUSED /
 * -ETIMEDOUT / -EHOSTUNREACH (registry unreachable), -ENOTSUP (schema 1 or
 * unknown media types), -EPROTO (a malformed answer); the message names the
 * endpoint and quotes the registry's own error.
 */
int crib_pull(struct crib_content *cs, const struct crib_imageref *ref,
              const struct crib_pull_auth *auth, const struct crib_pull_opts *opts,
              struct crib_pull_result *ret, struct crib_error **reterr);

void crib_pull_result_clear(struct crib_pull_result *r);

/*
 * Where REF is pulled from, as references, for a backend that pulls itself:
 * each mirror of RC (its host[:port][/path], without the scheme) in place of
 * REF's registry, then REF itself unless RC is mirror_only.  A malloc'd
 * vector of *ret_n malloc'd strings, the caller's (crib_strv_free).
 */
char **crib_pull_sources(const struct crib_imageref *ref, const struct crib_config_registry *rc,
                         size_t *ret_n);

/*
 * Parses one WWW-Authenticate challenge ('Bearer realm="..",service=".."').
 * On success *ret_scheme is the scheme in lowercase, and ret_params[i] gets
 * the value of keys[i] (or NULL); all malloc'd.  -EINVAL when malformed.
 * Exposed for tests and fuzzing.
 */
int crib_pull_parse_challenge(const char *header, char **ret_scheme, const char *const *keys,
                              char **ret_params, size_t n_keys);

#endif /* CRIB_BROKER_PULL_H */
