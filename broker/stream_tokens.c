/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stream_tokens.h"

struct token {
	char token[CRIB_ID_LEN + 1];
	int64_t expires_ns;
	struct crib_stream_request req;
};

/*
 * A plain array: outstanding tokens number a few per running exec at most,
 * and each lookup is one per connection.
 */
struct crib_stream_tokens {
	struct token *v;
	size_t n;
	size_t max;
	int64_t ttl_ns;
};

void crib_stream_request_clear(struct crib_stream_request *r)
{
	free(r->id);
	free(r->req);
	*r = (struct crib_stream_request){0};
}

int crib_stream_tokens_new(size_t max, int64_t ttl_ns, struct crib_stream_tokens **ret)
{
	struct crib_stream_tokens *t;

	if (max == 0 || ttl_ns <= 0)
		return -EINVAL;
	t = crib_xcalloc(1, sizeof(*t));
	t->v = crib_xcalloc(max, sizeof(*t->v));
	t->max = max;
	t->ttl_ns = ttl_ns;
	*ret = t;
	return 0;
}

void crib_stream_tokens_free(struct crib_stream_tokens *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		crib_stream_request_clear(&t->v[i].req);
	free(t->v);
	free(t);
}

/* Removes entry I, keeping the others (order does not matter). */
static void drop(struct crib_stream_tokens *t, size_t i)
{
	crib_stream_request_clear(&t->v[i].req);
	t->v[i] = t->v[--t->n];
}

size_t crib_stream_tokens_sweep(struct crib_stream_tokens *t, int64_t now_ns)
{
	for (size_t i = 0; i < t->n;)
		if (t->v[i].expires_ns <= now_ns)
			drop(t, i);
		else
			i++;
	return t->n;
}

int crib_stream_tokens_add(struct crib_stream_tokens *t, int64_t now_ns,
                           struct crib_stream_request *r, char token[CRIB_ID_LEN + 1])
{
	struct token *e;
	int rc;

	if (crib_stream_tokens_sweep(t, now_ns) >= t->max)
		return -EBUSY;
	e = &t->v[t->n];
	rc = crib_new_id(e->token);
	if (rc < 0)
		return rc;
	e->expires_ns = now_ns + t->ttl_ns;
	e->req = *r;
	*r = (struct crib_stream_request){0};
	memcpy(token, e->token, sizeof(e->token));
	t->n++;
	return 0;
}

/* As long for any contents: how long a comparison takes tells nothing of a token. */
static bool token_equal(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < CRIB_ID_LEN && b[i]; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0 && i == CRIB_ID_LEN && b[i] == '\0';
}

int crib_stream_tokens_take(struct crib_stream_tokens *t, int64_t now_ns, const char *token,
                            struct crib_stream_request *ret)
{
	for (size_t i = 0; token && i < t->n; i++) {
		if (!token_equal(t->v[i].token, token))
			continue;
		if (t->v[i].expires_ns <= now_ns) {
			drop(t, i);
			return -ETIMEDOUT;
		}
		*ret = t->v[i].req;
		t->v[i].req = (struct crib_stream_request){0};
		drop(t, i);
		return 0;
	}
	return -ENOENT;
}
