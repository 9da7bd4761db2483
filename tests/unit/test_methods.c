/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The method table against the services protoc-c generated from the CRI
 * proto: one entry per method, the right path and request type, ids that
 * index the table, and streaming exactly where the proto says "stream".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cri-api-v1.pb-c.h"
#include "methods.h"
#include "rpc.h"
#include "util.h"

#ifndef CRIB_SOURCE_DIR
#error "CRIB_SOURCE_DIR must name the source tree (for api/cri-api-v1.proto)"
#endif

static const ProtobufCServiceDescriptor *const services[] = {
    &runtime__v1__runtime_service__descriptor,
    &runtime__v1__image_service__descriptor,
};

static const struct crib_method *find_path(const char *path)
{
	const struct crib_method *found = NULL;

	for (size_t i = 0; i < CRIB_M_COUNT; i++) {
		if (!streq(crib_methods[i].path, path))
			continue;
		if (found)
			fail_msg("path '%s' is in the table twice", path);
		found = &crib_methods[i];
	}
	return found;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_same_count_as_services(void **state)
{
	size_t n = 0;

	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(services); s++)
		n += services[s]->n_methods;
	assert_int_equal(n, CRIB_M_COUNT);
}

static void test_ids_equal_their_index(void **state)
{
	(void)state;
	for (size_t i = 0; i < CRIB_M_COUNT; i++)
		assert_int_equal(crib_methods[i].id, i);
}

static void test_every_service_method_has_its_entry(void **state)
{
	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(services); s++) {
		const ProtobufCServiceDescriptor *sd = services[s];

		assert_string_equal(sd->package, "runtime.v1");
		for (unsigned i = 0; i < sd->n_methods; i++) {
			const ProtobufCMethodDescriptor *md = &sd->methods[i];
			_cleanup_free_ char *path =
			    crib_xasprintf("/runtime.v1.%s/%s", sd->short_name, md->name);
			const struct crib_method *m = find_path(path);

			if (!m)
				fail_msg("no entry for %s", path);
			if (m->request != md->input)
				fail_msg("%s: request is %s, the proto says %s", path,
				         m->request ? m->request->name : "(null)", md->input->name);
		}
	}
}

static void test_every_entry_names_a_service_method(void **state)
{
	(void)state;
	for (size_t i = 0; i < CRIB_M_COUNT; i++) {
		const struct crib_method *m = &crib_methods[i];
		bool found = false;

		assert_non_null(m->path);
		assert_non_null(m->request);
		for (size_t s = 0; s < ARRAY_SIZE(services) && !found; s++) {
			const ProtobufCServiceDescriptor *sd = services[s];

			for (unsigned j = 0; j < sd->n_methods && !found; j++) {
				_cleanup_free_ char *path = crib_xasprintf(
				    "/runtime.v1.%s/%s", sd->short_name, sd->methods[j].name);

				found = streq(path, m->path);
			}
		}
		if (!found)
			fail_msg("entry %zu '%s' is no method of the proto", i, m->path);
	}
}

static void test_streaming_by_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < CRIB_M_COUNT; i++) {
		const struct crib_method *m = &crib_methods[i];
		const char *name = strrchr(m->path, '/') + 1;
		bool want = streq(name, "GetContainerEvents") || starts_with(name, "Stream");

		if (m->server_streaming != want)
			fail_msg("%s: server_streaming is %d", m->path, m->server_streaming);
	}
	assert_true(crib_methods[CRIB_M_GET_CONTAINER_EVENTS].server_streaming);
	assert_false(crib_methods[CRIB_M_STATUS].server_streaming);
}

/*
 * protoc-c's descriptors do not say which methods stream, so read it from the
 * proto: every "rpc Name(...) returns (stream ...)" line.
 */
static void test_streaming_matches_the_proto(void **state)
{
	FILE *f = fopen(CRIB_SOURCE_DIR "/api/cri-api-v1.proto", "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned n_rpcs = 0, n_streams = 0;

	(void)state;
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		char *rpc = strstr(line, "rpc "), *paren;
		_cleanup_free_ char *path = NULL;
		const struct crib_method *m;
		bool streams;

		if (!rpc || strstr(line, "//") || !strchr(rpc, '('))
			continue;
		rpc += 4;
		while (*rpc == ' ')
			rpc++;
		paren = strchr(rpc, '(');
		*paren = '\0';
		n_rpcs++;
		streams = strstr(paren + 1, "returns (stream ") != NULL;
		n_streams += streams;
		/* The service is whichever of the two has this name. */
		path = crib_xasprintf("/runtime.v1.RuntimeService/%s", rpc);
		m = find_path(path);
		if (!m) {
			free(path);
			path = crib_xasprintf("/runtime.v1.ImageService/%s", rpc);
			m = find_path(path);
		}
		if (!m)
			fail_msg("rpc %s of the proto has no entry", rpc);
		if (m->server_streaming != streams)
			fail_msg("%s: server_streaming is %d, the proto says %d", path,
			         m->server_streaming, streams);
	}
	free(line);
	(void)fclose(f);
	assert_int_equal(n_rpcs, CRIB_M_COUNT);
	assert_true(n_streams > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_count_as_services),
	    cmocka_unit_test(test_ids_equal_their_index),
	    cmocka_unit_test(test_every_service_method_has_its_entry),
	    cmocka_unit_test(test_every_entry_names_a_service_method),
	    cmocka_unit_test(test_streaming_by_name),
	    cmocka_unit_test(test_streaming_matches_the_proto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
