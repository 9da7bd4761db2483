/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the strings that come from outside as image names and registry
 * headers: image references (ImageSpec.image, from any CRI client) and
 * WWW-Authenticate challenges (from any registry).  The first byte picks
 * which.  A parsed reference must normalize to a string that parses back to
 * the same reference; a parsed challenge has a lowercase scheme.
 */
#include <ctype.h>
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "imageref.h"
#include "pull.h"
#include "util.h"

static void fuzz_reference(const char *s)
{
	struct crib_imageref ref, back;
	_cleanup_free_ char *str = NULL, *again = NULL;

	if (crib_imageref_parse(s, &ref, NULL) < 0)
		return;
	FUZZ_CHECK(ref.domain && ref.path && (ref.tag || ref.digest));
	str = crib_imageref_string(&ref);
	FUZZ_CHECK(crib_imageref_parse(str, &back, NULL) == 0);
	again = crib_imageref_string(&back);
	FUZZ_CHECK(streq(str, again));
	FUZZ_CHECK(streq(ref.domain, back.domain) && streq(ref.path, back.path));
	crib_imageref_clear(&back);
	crib_imageref_clear(&ref);
}

static void fuzz_challenge(const char *s)
{
	static const char *const keys[] = {"realm", "service", "scope", "error"};
	char *params[ARRAY_SIZE(keys)] = {0};
	_cleanup_free_ char *scheme = NULL;

	if (crib_pull_parse_challenge(s, &scheme, keys, params, ARRAY_SIZE(keys)) < 0)
		return;
	FUZZ_CHECK(scheme && *scheme);
	for (const char *p = scheme; *p; p++)
		FUZZ_CHECK(!isupper((unsigned char)*p));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		free(params[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = NULL;

	if (size < 1)
		return 0;
	/* C strings: whatever follows a NUL is not part of them. */
	s = crib_xcalloc(1, size);
	memcpy(s, data + 1, size - 1);
	if (data[0] & 1)
		fuzz_challenge(s);
	else
		fuzz_reference(s);
	return 0;
}
