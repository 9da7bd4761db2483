/* SPDX-License-Identifier: Apache-2.0 */
#include "cri_fixture.h"

/* The INIT macros of the security contexts set their deprecated fields too, which clang warns
 * about. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void init_pod_sc(Runtime__V1__LinuxSandboxSecurityContext *sc)
{
	*sc = (Runtime__V1__LinuxSandboxSecurityContext)
	    RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
}

static void init_container_sc(Runtime__V1__LinuxContainerSecurityContext *sc)
{
	*sc = (Runtime__V1__LinuxContainerSecurityContext)
	    RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
}
#pragma GCC diagnostic pop

void cri_fixture_pod(Runtime__V1__PodSandboxConfig *pod, Runtime__V1__PodSandboxMetadata *md,
                     Runtime__V1__LinuxPodSandboxConfig *linux,
                     Runtime__V1__LinuxSandboxSecurityContext *sc, Runtime__V1__NamespaceOption *ns)
{
	init_pod_sc(sc);
	*pod = (Runtime__V1__PodSandboxConfig)RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	*md = (Runtime__V1__PodSandboxMetadata)RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	*linux = (Runtime__V1__LinuxPodSandboxConfig)RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	*ns = (Runtime__V1__NamespaceOption)RUNTIME__V1__NAMESPACE_OPTION__INIT;
	md->name = "web";
	md->namespace_ = "default";
	md->uid = "uid-1";
	pod->metadata = md;
	pod->hostname = "pod-host";
	pod->linux = linux;
	linux->security_context = sc;
	sc->namespace_options = ns;
}

void cri_fixture_container(Runtime__V1__ContainerConfig *cfg, Runtime__V1__ContainerMetadata *md,
                           Runtime__V1__LinuxContainerConfig *linux,
                           Runtime__V1__LinuxContainerSecurityContext *sc,
                           Runtime__V1__NamespaceOption *ns,
                           Runtime__V1__LinuxContainerResources *res)
{
	init_container_sc(sc);
	*cfg = (Runtime__V1__ContainerConfig)RUNTIME__V1__CONTAINER_CONFIG__INIT;
	*md = (Runtime__V1__ContainerMetadata)RUNTIME__V1__CONTAINER_METADATA__INIT;
	*linux = (Runtime__V1__LinuxContainerConfig)RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
	*ns = (Runtime__V1__NamespaceOption)RUNTIME__V1__NAMESPACE_OPTION__INIT;
	*res = (Runtime__V1__LinuxContainerResources)RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	md->name = "app";
	cfg->metadata = md;
	cfg->linux = linux;
	linux->security_context = sc;
	linux->resources = res;
	sc->namespace_options = ns;
}
