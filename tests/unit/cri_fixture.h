/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRI configs built in memory for the tests that drive a backend's code
 * (spec.c, create.c): a pod and a container of it, each linked to its
 * parts, which the test owns (usually members of its fixture) and then
 * changes as each case needs.
 */
#ifndef CRIB_TESTS_CRI_FIXTURE_H
#define CRIB_TESTS_CRI_FIXTURE_H

#include "cri-api-v1.pb-c.h"

/*
 * The pod "web" in namespace "default" (uid "uid-1"), host name "pod-host",
 * with a Linux config, a security context and namespace options; all else
 * as the INIT macros leave it.
 */
void cri_fixture_pod(Runtime__V1__PodSandboxConfig *pod, Runtime__V1__PodSandboxMetadata *md,
                     Runtime__V1__LinuxPodSandboxConfig *linux,
                     Runtime__V1__LinuxSandboxSecurityContext *sc,
                     Runtime__V1__NamespaceOption *ns);

/*
 * The container "app", with a Linux config, a security context, namespace
 * options and resources; all else as the INIT macros leave it.
 */
void cri_fixture_container(Runtime__V1__ContainerConfig *cfg, Runtime__V1__ContainerMetadata *md,
                           Runtime__V1__LinuxContainerConfig *linux,
                           Runtime__V1__LinuxContainerSecurityContext *sc,
                           Runtime__V1__NamespaceOption *ns,
                           Runtime__V1__LinuxContainerResources *res);

#endif /* CRIB_TESTS_CRI_FIXTURE_H */
