/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the reading of runtime class snapshots: the JSON the state store keeps for every class
 * instance a pod was created with, and that a restarted cribd reads back before it knows
 * whether the store is intact.  Besides not crashing or leaking, a snapshot must survive its
 * round trip: what crib_rclass_snapshot() writes reads back as the same instance (same
 * fingerprint, same snapshot), or a restart would lose track of its pods' classes.
 */
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "router.h"
#include "util.h"

static void rclassp(struct crib_rclass **c)
{
	crib_rclass_free(*c);
}

static void check_round_trip(struct crib_rclass *c)
{
	_cleanup_(rclassp) struct crib_rclass *back = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	const char *snap = crib_rclass_snapshot(c);

	FUZZ_CHECK(snap);
	FUZZ_CHECK(crib_rclass_snapshot(c) == snap); /* made once */
	FUZZ_CHECK(crib_rclass_from_snapshot(snap, &back, &err) == 0);
	FUZZ_CHECK(back && !err);
	FUZZ_CHECK(streq(back->pub.name, c->pub.name));
	FUZZ_CHECK(streq(back->backend_name, c->backend_name));
	FUZZ_CHECK(streq(back->fingerprint, c->fingerprint));
	FUZZ_CHECK(back->n_kv == c->n_kv && back->pub.n_kv == c->n_kv);
	FUZZ_CHECK(streq(crib_rclass_snapshot(back), snap));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(rclassp) struct crib_rclass *c = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *text = crib_xmalloc(size + 1);
	int r;

	/* The store hands back a C string: an embedded NUL ends the text early. */
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';

	r = crib_rclass_from_snapshot(text, &c, &err);
	if (r < 0) {
		FUZZ_CHECK(!c);
		FUZZ_CHECK(err && err->errnum == -r);
		return 0;
	}
	FUZZ_CHECK(r == 0 && c && !err);
	FUZZ_CHECK(crib_name_valid(c->pub.name) && crib_name_valid(c->backend_name));
	FUZZ_CHECK(c->fingerprint && c->pub.kv == c->kv && c->pub.n_kv == c->n_kv);
	FUZZ_CHECK(!c->rt && !c->backend && !c->opened && c->refs == 0);
	check_round_trip(c);
	return 0;
}
