/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "registry_objects.h"

/* PREFIX padded with '0' to a full id. */
void make_id(char id[CRIB_ID_LEN + 1], const char *prefix)
{
	size_t n = strlen(prefix);

	memset(id, '0', CRIB_ID_LEN);
	memcpy(id, prefix, n);
	id[CRIB_ID_LEN] = '\0';
}

/* A heap-allocated config, as unpacking a request leaves it (the pod frees it). */
Runtime__V1__PodSandboxConfig *pod_config(const char *name, uint32_t attempt)
{
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__PodSandboxConfig *out;
	uint8_t *buf;
	size_t len;

	md.name = (char *)name;
	md.namespace_ = (char *)"default";
	md.uid = (char *)"uid-1";
	md.attempt = attempt;
	cfg.metadata = &md;
	len = runtime__v1__pod_sandbox_config__get_packed_size(&cfg);
	buf = crib_xmalloc(len);
	assert_int_equal(runtime__v1__pod_sandbox_config__pack(&cfg, buf), len);
	out = runtime__v1__pod_sandbox_config__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

Runtime__V1__ContainerConfig *container_config(const char *name, uint32_t attempt)
{
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	Runtime__V1__ContainerConfig *out;
	uint8_t *buf;
	size_t len;

	md.name = (char *)name;
	md.attempt = attempt;
	cfg.metadata = &md;
	len = runtime__v1__container_config__get_packed_size(&cfg);
	buf = crib_xmalloc(len);
	assert_int_equal(runtime__v1__container_config__pack(&cfg, buf), len);
	out = runtime__v1__container_config__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

struct crib_pod *new_pod(const char *id_prefix, const char *name)
{
	char id[CRIB_ID_LEN + 1];

	make_id(id, id_prefix);
	return crib_pod_new(id, pod_config(name, 0), crib_xmemdup("cfg", 3), 3);
}

struct crib_container *new_container(const char *id_prefix, struct crib_pod *p, const char *name)
{
	char id[CRIB_ID_LEN + 1];

	make_id(id, id_prefix);
	return crib_container_new(id, p, container_config(name, 0), NULL, 0);
}

/* Adds P and drops the caller's reference: the registry's is then the only one. */
struct crib_pod *add_pod(struct crib_registry *reg, const char *id_prefix, const char *name)
{
	struct crib_pod *p = new_pod(id_prefix, name);

	assert_int_equal(crib_registry_add_pod(reg, p), 0);
	crib_pod_unref(p);
	return p;
}

struct crib_container *add_container(struct crib_registry *reg, const char *id_prefix,
                                     struct crib_pod *p, const char *name)
{
	struct crib_container *c = new_container(id_prefix, p, name);

	assert_int_equal(crib_registry_add_container(reg, c), 0);
	crib_container_unref(c);
	return c;
}
