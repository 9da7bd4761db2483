/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the reading of registry manifests: indexes, manifest lists, OCI and
 * Docker image manifests, as any registry or mirror may send them.  The
 * first byte picks the Content-Type the document arrives with.  Besides not
 * crashing or leaking: a parsed manifest has only valid digests and
 * non-negative sizes, an index's chosen entry is one of its own, and a
 * failure leaves nothing allocated behind.
 */
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "manifest.h"
#include "util.h"

static const char *const header_types[] = {
    NULL,
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "text/plain",
};

static void check_select(const struct crib_manifest *m, const char *arch, const char *variant)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	const struct crib_platform_entry *e =
	    crib_manifest_select(m, "fuzz", "linux", arch, variant, &err);

	FUZZ_CHECK(!e != !err);
	if (e) {
		FUZZ_CHECK(e >= m->entries && e < m->entries + m->n_entries);
		FUZZ_CHECK(streq(e->arch, arch));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	struct crib_manifest m;
	const char *type;
	int r;

	if (size < 1)
		return 0;
	type = header_types[data[0] % ARRAY_SIZE(header_types)];
	r = crib_manifest_parse((const char *)data + 1, size - 1, type, &m, &err);
	if (r < 0) {
		FUZZ_CHECK(err && err->errnum == -r);
		FUZZ_CHECK(!m.media_type && !m.entries && !m.layers);
		return 0;
	}
	FUZZ_CHECK(!err && m.media_type);
	if (m.kind == CRIB_MANIFEST_IMAGE) {
		FUZZ_CHECK(crib_digest_valid(m.config.digest) && m.config.size >= 0);
		for (size_t i = 0; i < m.n_layers; i++)
			FUZZ_CHECK(crib_digest_valid(m.layers[i].digest) && m.layers[i].size >= 0);
	} else {
		FUZZ_CHECK(m.kind == CRIB_MANIFEST_INDEX);
		for (size_t i = 0; i < m.n_entries; i++)
			FUZZ_CHECK(crib_digest_valid(m.entries[i].digest) && m.entries[i].os &&
			           m.entries[i].arch);
		check_select(&m, "amd64", NULL);
		check_select(&m, "arm", "v7");
	}
	crib_manifest_clear(&m);
	return 0;
}
