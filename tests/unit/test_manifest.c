/* SPDX-License-Identifier: Apache-2.0 */
/* Registry manifests: indexes, image manifests, and what is refused. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "manifest.h"
#include "util.h"

#define D(c)                                                                                       \
	"sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
	    c c c c c c c c c c c c c c c c c c c c c c c c
#define DA D("a")
#define DB D("b")
#define DC D("c")

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_CONFIG   "application/vnd.oci.image.config.v1+json"
#define OCI_GZIP     "application/vnd.oci.image.layer.v1.tar+gzip"

static int parse(const char *doc, const char *header, struct crib_manifest *m,
                 struct crib_error **err)
{
	return crib_manifest_parse(doc, strlen(doc), header, m, err);
}

static void test_digest_macro_is_valid(void **state)
{
	(void)state;
	assert_int_equal(strlen(DA), CRIB_DIGEST_LEN);
	assert_true(crib_digest_valid(DA));
}

static void test_oci_image_manifest(void **state)
{
	struct crib_manifest m;
	const char *doc =
	    "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MANIFEST "\","
	    "\"config\":{\"mediaType\":\"" OCI_CONFIG "\",\"digest\":\"" DA "\",\"size\":123},"
	    "\"layers\":[{\"mediaType\":\"" OCI_GZIP "\",\"digest\":\"" DB "\",\"size\":10},"
	    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\","
	    "\"digest\":\"" DC "\",\"size\":0}]}";

	(void)state;
	assert_int_equal(parse(doc, NULL, &m, NULL), 0);
	assert_int_equal(m.kind, CRIB_MANIFEST_IMAGE);
	assert_string_equal(m.media_type, OCI_MANIFEST);
	assert_string_equal(m.config.digest, DA);
	assert_int_equal(m.config.size, 123);
	assert_int_equal(m.n_layers, 2);
	assert_string_equal(m.layers[0].digest, DB);
	assert_int_equal(m.layers[0].size, 10);
	assert_string_equal(m.layers[1].digest, DC);
	crib_manifest_clear(&m);
}

/* Docker's schema 2 often carries its type in the header only. */
static void test_docker_manifest_type_from_header(void **state)
{
	struct crib_manifest m;
	const char *doc = "{\"schemaVersion\":2,"
	                  "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+"
	                  "json\",\"digest\":\"" DA "\",\"size\":5},"
	                  "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff."
	                  "tar.gzip\",\"digest\":\"" DB "\",\"size\":7}]}";

	(void)state;
	assert_int_equal(
	    parse(doc, "application/vnd.docker.distribution.manifest.v2+json", &m, NULL), 0);
	assert_int_equal(m.kind, CRIB_MANIFEST_IMAGE);
	assert_int_equal(m.n_layers, 1);
	crib_manifest_clear(&m);
}

static void test_index_and_platform_choice(void **state)
{
	struct crib_manifest m;
	struct crib_error *err = NULL;
	const struct crib_platform_entry *e;
	const char *doc =
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	    "\"manifests\":["
	    "{\"digest\":\"" DA "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
	    "\"arm64\",\"variant\":\"v8\"}},"
	    "{\"digest\":\"" DB "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
	    "\"arm\"}},"
	    "{\"digest\":\"" DC "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
	    "\"arm\",\"variant\":\"v7\"}},"
	    /* An attestation manifest: no platform, not an image. */
	    "{\"digest\":\"" DA "\",\"size\":1,\"annotations\":{}},"
	    "{\"digest\":\"" DC "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
	    "\"amd64\"}}]}";

	(void)state;
	assert_int_equal(parse(doc, NULL, &m, NULL), 0);
	assert_int_equal(m.kind, CRIB_MANIFEST_INDEX);
	assert_int_equal(m.n_entries, 4);

	e = crib_manifest_select(&m, "x", "linux", "amd64", NULL, NULL);
	assert_non_null(e);
	assert_string_equal(e->digest, DC);
	/* The exact variant wins over an entry that names none. */
	e = crib_manifest_select(&m, "x", "linux", "arm", "v7", NULL);
	assert_non_null(e);
	assert_string_equal(e->digest, DC);
	/* No v6 entry: the variant-less one serves. */
	e = crib_manifest_select(&m, "x", "linux", "arm", "v6", NULL);
	assert_non_null(e);
	assert_string_equal(e->digest, DB);
	/* arm64/v9: only a v8 entry, which is not it. */
	e = crib_manifest_select(&m, "img", "linux", "arm64", "v9", &err);
	assert_null(e);
	assert_int_equal(err->errnum, ENOENT);
	assert_non_null(strstr(crib_error_msg(err), "img has no image for linux/arm64/v9"));
	assert_non_null(strstr(crib_error_msg(err), "linux/arm64/v8, linux/arm, linux/arm/v7"));
	crib_error_free(err);
	err = NULL;
	e = crib_manifest_select(&m, "img", "windows", "amd64", NULL, &err);
	assert_null(e);
	crib_error_free(err);
	crib_manifest_clear(&m);
}

/* Documents refused, with the errno the caller maps and a word of the message. */
static void test_refusals(void **state)
{
	static const struct {
		const char *doc;
		const char *header;
		int errnum;
		const char *says;
	} cases[] = {
	    {"not json", NULL, EPROTO, "not JSON"},
	    {"[1,2]", OCI_MANIFEST, EPROTO, "not a JSON object"},
	    {"{\"schemaVersion\":2}", NULL, ENOTSUP, "no media type"},
	    {"{\"schemaVersion\":1,\"fsLayers\":[]}",
	     "application/vnd.docker.distribution.manifest.v1+prettyjws", ENOTSUP, "schema 1"},
	    {"{\"mediaType\":\"text/html\"}", NULL, ENOTSUP, "'text/html' is not supported"},
	    {"{\"mediaType\":\"" OCI_MANIFEST "\",\"layers\":[]}", NULL, EPROTO, "config"},
	    {"{\"mediaType\":\"" OCI_MANIFEST "\",\"config\":{\"digest\":\"sha256:00\",\"size\":1},"
	     "\"layers\":[]}",
	     NULL, EPROTO, "invalid digest"},
	    {"{\"mediaType\":\"" OCI_MANIFEST "\",\"config\":{\"digest\":\"" DA "\",\"size\":-1},"
	     "\"layers\":[]}",
	     NULL, EPROTO, "negative size"},
	    {"{\"mediaType\":\"" OCI_MANIFEST "\",\"config\":{\"mediaType\":\"text/plain\","
	     "\"digest\":\"" DA "\",\"size\":1},\"layers\":[]}",
	     NULL, ENOTSUP, "'text/plain'"},
	    {"{\"mediaType\":\"" OCI_MANIFEST "\",\"config\":{\"digest\":\"" DA "\",\"size\":1}}",
	     NULL, EPROTO, "no layers"},
	    {"{\"mediaType\":\"" OCI_MANIFEST "\",\"config\":{\"digest\":\"" DA "\",\"size\":1},"
	     "\"layers\":[{\"digest\":\"" DB "\",\"size\":1}]}",
	     NULL, EPROTO, "Layer 0 of the manifest has no mediaType"},
	    {"{\"mediaType\":\"" OCI_MANIFEST "\",\"config\":{\"digest\":\"" DA "\",\"size\":1},"
	     "\"layers\":[{\"mediaType\":\"" OCI_GZIP "\",\"digest\":\"" DB "\",\"size\":1},"
	     "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+encrypted\",\"digest\":"
	     "\"" DC "\",\"size\":1}]}",
	     NULL, ENOTSUP, "Layer 1 of the manifest is of unsupported type"},
	    {"{\"mediaType\":\"application/vnd.oci.image.index.v1+json\"}", NULL, EPROTO,
	     "no manifests"},
	    {"{\"mediaType\":\"application/"
	     "vnd.oci.image.index.v1+json\",\"manifests\":[{\"digest\":"
	     "\"md5:x\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
	     NULL, EPROTO, "Entry 0 of the index has an invalid digest"},
	    /* Two answers to one question: refuse rather than pick one. */
	    {"{\"mediaType\":\"" OCI_MANIFEST "\",\"mediaType\":\"" OCI_MANIFEST "\"}", NULL,
	     EPROTO, "duplicate"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct crib_manifest m;
		struct crib_error *err = NULL;
		int r = parse(cases[i].doc, cases[i].header, &m, &err);

		if (r != -cases[i].errnum || !err || !strstr(crib_error_msg(err), cases[i].says))
			fail_msg("case %zu: %d '%s', wanted %d '%s'", i, r,
			         err ? crib_error_msg(err) : "", -cases[i].errnum, cases[i].says);
		/* Nothing is left half-made. */
		assert_null(m.layers);
		assert_null(m.entries);
		assert_null(m.media_type);
		crib_error_free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_digest_macro_is_valid),
	    cmocka_unit_test(test_oci_image_manifest),
	    cmocka_unit_test(test_docker_manifest_type_from_header),
	    cmocka_unit_test(test_index_and_platform_choice),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
