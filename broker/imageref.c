/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "error.h"
#include "imageref.h"
#include "util.h"

/* The longest repository name (domain/path) Docker accepts. */
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN  128

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | [-]* */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
		return false;
	while (i < n) {
		size_t run = 0;

		if (is_alnum_lower(s[i])) {
			i++;
			continue;
		}
		/* A run of separators between alphanumerics. */
		while (i + run < n && !is_alnum_lower(s[i + run]))
			run++;
		if (s[i] == '-') {
			for (size_t k = 0; k < run; k++)
				if (s[i + k] != '-')
					return false;
		} else if (!((run == 1 && (s[i] == '.' || s[i] == '_')) ||
		             (run == 2 && s[i] == '_' && s[i + 1] == '_'))) {
			return false;
		}
		i += run;
	}
	return true;
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool domain_component_valid(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool port_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool domain_valid(const char *d)
{
	const char *port = NULL, *end;

	if (d[0] == '[') {
		/* [IPv6]: hex digits, colons and dots inside the brackets. */
		end = strchr(d, ']');
		if (!end || end == d + 1)
			return false;
		for (const char *p = d + 1; p < end; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		if (end[1] == '\0')
			return true;
		return end[1] == ':' && port_valid(end + 2);
	}
	port = strchr(d, ':');
	end = port ? port : d + strlen(d);
	for (const char *p = d; p < end;) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);

		if (!domain_component_valid(p, n))
			return false;
		p += n + (dot ? 1 : 0);
		if (dot && p == end)
			return false;
	}
	return !port || port_valid(port + 1);
}

static bool tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > TAG_MAX_LEN || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

/* Whether the first component of a name is a registry host (Docker's rule). */
static bool looks_like_domain(const char *s, size_t n)
{
	return memchr(s, '.', n) || memchr(s, ':', n) || memchr(s, '[', n) ||
	       (n == 9 && strncmp(s, "localhost", 9) == 0);
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

static int split_name(const char *name, struct crib_imageref *r, struct crib_error **reterr)
{
	const char *slash = strchr(name, '/');
	const char *path = name;

	if (slash && looks_like_domain(name, (size_t)(slash - name))) {
		r->domain = crib_xmemdup(name, (size_t)(slash - name) + 1);
		r->domain[slash - name] = '\0';
		path = slash + 1;
		if (!domain_valid(r->domain))
			return crib_error_set(reterr, EINVAL, "'%s' is not a valid registry host",
			                      r->domain);
		if (streq(r->domain, "index.docker.io"))
			crib_strreplace(&r->domain, CRIB_DOCKER_HUB);
	} else {
		r->domain = crib_xstrdup(CRIB_DOCKER_HUB);
	}
	for (const char *p = path; *p; p++)
		if (isupper((unsigned char)*p))
			return crib_error_set(reterr, EINVAL,
			                      "repository name '%s' must be lowercase", path);
	/* Docker Hub's official images live under library/. */
	if (streq(r->domain, CRIB_DOCKER_HUB) && !strchr(path, '/'))
		r->path = crib_xasprintf("library/%s", path);
	else
		r->path = crib_xstrdup(path);
	for (const char *p = r->path;;) {
		const char *next = strchr(p, '/');
		size_t n = next ? (size_t)(next - p) : strlen(p);

		if (!path_component_valid(p, n))
			return crib_error_set(reterr, EINVAL,
			                      "'%.*s' is not a valid repository path component",
			                      (int)n, p);
		if (!next)
			break;
		p = next + 1;
	}
	if (strlen(r->domain) + 1 + strlen(r->path) > NAME_MAX_LEN)
		return crib_error_set(reterr, EINVAL,
		                      "repository name is longer than %d characters", NAME_MAX_LEN);
	return 0;
}

int crib_imageref_parse(const char *s, struct crib_imageref *ret, struct crib_error **reterr)
{
	struct crib_imageref r = {0};
	_cleanup_free_ char *name = NULL;
	const char *at, *colon, *last_slash;
	int e;

	if (isempty(s))
		return crib_error_set(reterr, EINVAL, "the image reference is empty");
	if (is_hex64(s))
		return crib_error_set(reterr, EINVAL,
		                      "'%s' is an image id (64 hex digits), not a reference", s);
	name = crib_xstrdup(s);
	at = strchr(name, '@');
	if (at) {
		r.digest = crib_xstrdup(at + 1);
		name[at - name] = '\0';
		if (!crib_digest_valid(r.digest)) {
			e = crib_error_set(reterr, EINVAL,
			                   "'%s' in '%s' is not a sha256 digest (sha256:<64 hex>)",
			                   r.digest, s);
			goto fail;
		}
	}
	/* A tag is after the last colon, unless that colon belongs to host:port. */
	last_slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	if (colon && (!last_slash || colon > last_slash)) {
		r.tag = crib_xstrdup(colon + 1);
		name[colon - name] = '\0';
		if (!tag_valid(r.tag)) {
			e = crib_error_set(reterr, EINVAL, "'%s' in '%s' is not a valid tag", r.tag,
			                   s);
			goto fail;
		}
	}
	if (!*name) {
		e = crib_error_set(reterr, EINVAL, "'%s' has no repository name", s);
		goto fail;
	}
	e = split_name(name, &r, reterr);
	if (e < 0) {
		(void)crib_error_set(reterr, EINVAL, "Invalid image reference '%s'", s);
		goto fail;
	}
	if (!r.tag && !r.digest)
		r.tag = crib_xstrdup("latest");
	*ret = r;
	return 0;
fail:
	crib_imageref_clear(&r);
	return e;
}

void crib_imageref_clear(struct crib_imageref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	*r = (struct crib_imageref){0};
}

char *crib_imageref_repo(const struct crib_imageref *r)
{
	return crib_xasprintf("%s/%s", r->domain, r->path);
}

char *crib_imageref_string(const struct crib_imageref *r)
{
	return crib_xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
	                      r->tag ? r->tag : "", r->digest ? "@" : "",
	                      r->digest ? r->digest : "");
}

char *crib_imageref_tagged(const struct crib_imageref *r)
{
	return r->tag ? crib_xasprintf("%s/%s:%s", r->domain, r->path, r->tag) : NULL;
}

bool crib_registry_is_loopback(const char *domain)
{
	size_t n = strcspn(domain, ":");

	if (domain[0] == '[')
		return strncmp(domain, "[::1]", 5) == 0;
	return (n == 9 && strncmp(domain, "localhost", 9) == 0) || strncmp(domain, "127.", 4) == 0;
}
