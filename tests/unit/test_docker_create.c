/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The docker backend's Engine create bodies (backends/docker/create.c): CRI
 * configs built in memory, every value that matters checked exactly against
 * JSON written out in the test, and every refusal checked for its errno and
 * for the CRI field its message names.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crib/backend.h>

#include "docker.h"
#include "error.h"
#include "backend_check.h"
#include "cri_fixture.h"
#include "fake_host.h"
#include "util.h"

#define POD_ID       "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
#define CONTAINER_ID "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
#define SANDBOX      "d0cker5and60x"
#define JOIN         "'container:" SANDBOX "'"

static const struct crib_host host = FAKE_HOST_INIT("docker");

/* ---- the fixture: a pod and a container of it ---- */

struct fixture {
	char dir[64]; /* for seccomp profiles */
	Runtime__V1__PodSandboxConfig pod;
	Runtime__V1__PodSandboxMetadata pod_md;
	Runtime__V1__LinuxPodSandboxConfig pod_linux;
	Runtime__V1__LinuxSandboxSecurityContext pod_sc;
	Runtime__V1__NamespaceOption pod_ns;
	Runtime__V1__ContainerConfig cfg;
	Runtime__V1__ContainerMetadata md;
	Runtime__V1__LinuxContainerConfig linux;
	Runtime__V1__LinuxContainerSecurityContext sc;
	Runtime__V1__NamespaceOption ns;
	Runtime__V1__LinuxContainerResources res;
	struct docker_sandbox_input sin;
	struct docker_container_input in;
	struct crib_error *err;
	char *name;
};

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/crib-dcreate-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	cri_fixture_pod(&f->pod, &f->pod_md, &f->pod_linux, &f->pod_sc, &f->pod_ns);
	f->pod_md.attempt = 1;
	f->pod_linux.cgroup_parent = "/kubepods/burstable/poduid-1";
	cri_fixture_container(&f->cfg, &f->md, &f->linux, &f->sc, &f->ns, &f->res);
	f->md.attempt = 2;

	f->sin = (struct docker_sandbox_input){
	    .pod = &f->pod,
	    .pod_id = POD_ID,
	    .image = "crib-pause:1",
	    .class_name = "docker",
	    .own_oom_score_adj = -999,
	};
	f->in = (struct docker_container_input){
	    .config = &f->cfg,
	    .pod = &f->pod,
	    .pod_id = POD_ID,
	    .container_id = CONTAINER_ID,
	    .sandbox = SANDBOX,
	    .image = "busybox:latest",
	    .class_name = "docker",
	    .own_oom_score_adj = -999,
	};
	*state = f;
	return 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	(void)nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	crib_error_free(f->err);
	free(f->name);
	free(f);
	return 0;
}

/* The sandbox's body, which must build; its name lands in f->name. */
static json_t *build_sandbox(struct fixture *f)
{
	json_t *body = NULL;
	int r;

	free(f->name);
	f->name = NULL;
	r = docker_sandbox_body(&host, &f->sin, &body, &f->name, &f->err);
	if (r < 0)
		fail_msg("docker_sandbox_body: %d %s", r, crib_error_msg(f->err));
	assert_non_null(body);
	assert_non_null(f->name);
	return body;
}

static json_t *build(struct fixture *f)
{
	json_t *body = NULL;
	int r;

	free(f->name);
	f->name = NULL;
	r = docker_container_body(&host, &f->in, &body, &f->name, &f->err);
	if (r < 0)
		fail_msg("docker_container_body: %d %s", r, crib_error_msg(f->err));
	assert_non_null(body);
	assert_non_null(f->name);
	return body;
}

static void expect_error(struct fixture *f, int r, json_t *body, const char *name, int errnum,
                         const char *needle)
{
	assert_null(body);
	assert_null(name); /* ret_ untouched on failure */
	check_error(r, &f->err, errnum, needle);
}

/* The sandbox's body must fail with ERRNUM and a message containing NEEDLE. */
static void sandbox_fails(struct fixture *f, int errnum, const char *needle)
{
	json_t *body = NULL;
	char *name = NULL;
	int r = docker_sandbox_body(&host, &f->sin, &body, &name, &f->err);

	expect_error(f, r, body, name, errnum, needle);
}

static void build_fails(struct fixture *f, int errnum, const char *needle)
{
	json_t *body = NULL;
	char *name = NULL;
	int r = docker_container_body(&host, &f->in, &body, &name, &f->err);

	expect_error(f, r, body, name, errnum, needle);
}

static json_t *resources(struct fixture *f, const Runtime__V1__LinuxContainerResources *r)
{
	json_t *res = NULL;
	int q = docker_resources_body(&host, r, &res, &f->err);

	if (q < 0)
		fail_msg("docker_resources_body: %d %s", q, crib_error_msg(f->err));
	assert_non_null(res);
	return res;
}

static void resources_fail(struct fixture *f, int errnum, const char *needle)
{
	json_t *res = NULL;
	int r = docker_resources_body(&host, &f->res, &res, &f->err);

	expect_error(f, r, res, NULL, errnum, needle);
}

/* Writes TEXT to NAME in the fixture's directory; the path is the caller's. */
static char *write_file(const struct fixture *f, const char *name, const char *text)
{
	char *path = crib_xasprintf("%s/%s", f->dir, name);
	FILE *fp = fopen(path, "we");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	return path;
}

/* ---- the sandbox ---- */

static void test_sandbox_pod_network(void **state)
{
	struct fixture *f = *state;
	_cleanup_(json_decrefp) json_t *b = build_sandbox(f);

	CHECK(b, "'crib-pause:1'", "Image");
	CHECK(b, "'pod-host'", "Hostname");
	CHECK(b, "absent", "User");
	CHECK(b, "'none'", "HostConfig", "NetworkMode");
	CHECK(b, "'shareable'", "HostConfig", "IpcMode");
	CHECK(b, "absent", "HostConfig", "PidMode");
	CHECK(b, "absent", "HostConfig", "UTSMode");
	CHECK(b, "'/kubepods/burstable/poduid-1'", "HostConfig", "CgroupParent");
	CHECK(b, "{'Type': 'none'}", "HostConfig", "LogConfig");
	CHECK(b, "absent", "HostConfig", "RestartPolicy");
	CHECK(b, "2", "HostConfig", "CpuShares");
	CHECK(b, "-998", "HostConfig", "OomScoreAdj");
	CHECK(b, "false", "HostConfig", "Privileged");
	CHECK(b, "false", "HostConfig", "ReadonlyRootfs");
	/* No profile is CRI's unconfined, not the Engine's default. */
	CHECK(b, "['no-new-privileges', 'seccomp=unconfined']", "HostConfig", "SecurityOpt");
	CHECK(b, "absent", "HostConfig", "Sysctls");
	CHECK(b, "absent", "HostConfig", "Dns");
	CHECK(b, "absent", "HostConfig", "GroupAdd");
	assert_string_equal(f->name, "k8s_POD_web_default_uid-1_1_5a5a5a5a5a5a");
}

static void test_sandbox_host_namespaces(void **state)
{
	struct fixture *f = *state;
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL;

	f->pod_ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->pod_ns.ipc = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->pod_ns.pid = RUNTIME__V1__NAMESPACE_MODE__NODE;
	a = build_sandbox(f);
	CHECK(a, "'host'", "HostConfig", "NetworkMode");
	CHECK(a, "'host'", "HostConfig", "UTSMode");
	CHECK(a, "'host'", "HostConfig", "IpcMode");
	CHECK(a, "'host'", "HostConfig", "PidMode");
	CHECK(a, "absent", "Hostname"); /* the node's */

	/* pid CONTAINER: the sandbox has its own anyway. */
	f->pod_ns.network = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->pod_ns.ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->pod_ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	b = build_sandbox(f);
	CHECK(b, "absent", "HostConfig", "PidMode");
	CHECK(b, "'none'", "HostConfig", "NetworkMode");

	f->pod_ns.pid = RUNTIME__V1__NAMESPACE_MODE__TARGET;
	sandbox_fails(f, EINVAL, "PodSandboxConfig.linux.security_context.namespace_options.pid 3");
	f->pod_ns.pid = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->pod_ns.network = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	sandbox_fails(f, ENOTSUP, "namespace_options.network 1: only POD and NODE");
	f->pod_ns.network = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->pod_ns.ipc = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	sandbox_fails(f, ENOTSUP, "namespace_options.ipc 1: only POD and NODE");
}

static void test_sandbox_userns_refused(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__UserNamespace userns = RUNTIME__V1__USER_NAMESPACE__INIT;
	_cleanup_(json_decrefp) json_t *b = NULL;

	userns.mode = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->pod_ns.userns_options = &userns;
	sandbox_fails(f, ENOTSUP, "namespace_options.userns_options.mode 0");
	/* NODE is what kubelet sends without user namespaces. */
	userns.mode = RUNTIME__V1__NAMESPACE_MODE__NODE;
	b = build_sandbox(f);
	CHECK(b, "'none'", "HostConfig", "NetworkMode");
}

static void test_sandbox_oom_clamp(void **state)
{
	struct fixture *f = *state;
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL;

	f->sin.own_oom_score_adj = -500;
	a = build_sandbox(f);
	CHECK(a, "-500", "HostConfig", "OomScoreAdj");
	f->sin.own_oom_score_adj = -1000;
	b = build_sandbox(f);
	CHECK(b, "-998", "HostConfig", "OomScoreAdj");
}

static void test_sandbox_sysctls(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry net =
	    RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__SYSCTLS_ENTRY__INIT;
	Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry ipc =
	    RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__SYSCTLS_ENTRY__INIT;
	Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry *entries[] = {&net, &ipc};
	_cleanup_(json_decrefp) json_t *b = NULL;

	net.key = "net.core.somaxconn";
	net.value = "1024";
	ipc.key = "kernel.shm_rmid_forced";
	ipc.value = "1";
	f->pod_linux.sysctls = entries;
	f->pod_linux.n_sysctls = 2;
	b = build_sandbox(f);
	CHECK(b, "{'net.core.somaxconn': '1024', 'kernel.shm_rmid_forced': '1'}", "HostConfig",
	      "Sysctls");

	f->pod_ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	sandbox_fails(f, EINVAL,
	              "PodSandboxConfig.linux.sysctls 'net.core.somaxconn': the pod shares");
	f->pod_ns.network = RUNTIME__V1__NAMESPACE_MODE__POD;
	f->pod_ns.ipc = RUNTIME__V1__NAMESPACE_MODE__NODE;
	sandbox_fails(f, EINVAL,
	              "PodSandboxConfig.linux.sysctls 'kernel.shm_rmid_forced': the pod shares");
	f->pod_ns.ipc = RUNTIME__V1__NAMESPACE_MODE__POD;
	ipc.key = "kernel.panic";
	sandbox_fails(f, EINVAL, "PodSandboxConfig.linux.sysctls 'kernel.panic': not a namespaced");
}

static void test_sandbox_dns(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__DNSConfig dns = RUNTIME__V1__DNSCONFIG__INIT;
	char *servers[] = {"10.96.0.10"};
	char *searches[] = {"default.svc.cluster.local", "svc.cluster.local"};
	char *options[] = {"ndots:5"};
	_cleanup_(json_decrefp) json_t *b = NULL;

	dns.servers = servers;
	dns.n_servers = 1;
	dns.searches = searches;
	dns.n_searches = 2;
	dns.options = options;
	dns.n_options = 1;
	f->pod.dns_config = &dns;
	b = build_sandbox(f);
	CHECK(b, "['10.96.0.10']", "HostConfig", "Dns");
	CHECK(b, "['default.svc.cluster.local', 'svc.cluster.local']", "HostConfig", "DnsSearch");
	CHECK(b, "['ndots:5']", "HostConfig", "DnsOptions");
	CHECK(b, "absent", "HostConfig", "ExtraHosts");
}

static void test_sandbox_security(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Int64Value uid = RUNTIME__V1__INT64_VALUE__INIT;
	Runtime__V1__Int64Value gid = RUNTIME__V1__INT64_VALUE__INIT;
	Runtime__V1__SecurityProfile seccomp = RUNTIME__V1__SECURITY_PROFILE__INIT;
	Runtime__V1__SecurityProfile apparmor = RUNTIME__V1__SECURITY_PROFILE__INIT;
	Runtime__V1__SELinuxOption selinux = RUNTIME__V1__SELINUX_OPTION__INIT;
	int64_t groups[] = {5, 60000};
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL;

	uid.value = 1000;
	gid.value = 3000;
	f->pod_sc.run_as_user = &uid;
	f->pod_sc.run_as_group = &gid;
	f->pod_sc.supplemental_groups = groups;
	f->pod_sc.n_supplemental_groups = 2;
	f->pod_sc.readonly_rootfs = true;
	seccomp.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
	apparmor.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined;
	f->pod_sc.seccomp = &seccomp;
	f->pod_sc.apparmor = &apparmor;
	selinux.user = "system_u";
	selinux.type = "container_t";
	f->pod_sc.selinux_options = &selinux;
	a = build_sandbox(f);
	CHECK(a, "'1000:3000'", "User");
	CHECK(a, "['5', '60000']", "HostConfig", "GroupAdd");
	CHECK(a, "true", "HostConfig", "ReadonlyRootfs");
	CHECK(a,
	      "['no-new-privileges', 'apparmor=unconfined', 'label=user:system_u', "
	      "'label=type:container_t']",
	      "HostConfig", "SecurityOpt");

	/* Privileged: nothing confines it. */
	f->pod_sc.privileged = true;
	b = build_sandbox(f);
	CHECK(b, "true", "HostConfig", "Privileged");
	CHECK(b, "['no-new-privileges']", "HostConfig", "SecurityOpt");

	f->pod_sc.supplemental_groups_policy = RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Strict;
	sandbox_fails(f, ENOTSUP,
	              "PodSandboxConfig.linux.security_context.supplemental_groups_policy 1");
	f->pod_sc.supplemental_groups_policy = RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Merge;
	f->pod_sc.run_as_user = NULL;
	sandbox_fails(f, EINVAL,
	              "PodSandboxConfig.linux.security_context.run_as_group: set without");
	f->pod_sc.run_as_user = &uid;
	groups[1] = -1;
	sandbox_fails(f, EINVAL, "security_context.supplemental_groups -1: not a valid id");
}

/* ---- labels and names ---- */

static void test_labels(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__PodSandboxConfig__LabelsEntry pl[3] = {
	    RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT,
	    RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT,
	    RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT,
	};
	Runtime__V1__PodSandboxConfig__LabelsEntry *pod_labels[] = {&pl[0], &pl[1], &pl[2]};
	Runtime__V1__ContainerConfig__LabelsEntry cl[2] = {
	    RUNTIME__V1__CONTAINER_CONFIG__LABELS_ENTRY__INIT,
	    RUNTIME__V1__CONTAINER_CONFIG__LABELS_ENTRY__INIT,
	};
	Runtime__V1__ContainerConfig__LabelsEntry *ctr_labels[] = {&cl[0], &cl[1]};
	_cleanup_(json_decrefp) json_t *s = NULL, *c = NULL;

	pl[0].key = "app";
	pl[0].value = "web";
	pl[1].key = DOCKER_LABEL_KIND; /* crib's own: not the client's to set */
	pl[1].value = "container";
	pl[2].key = DOCKER_LABEL_POD_NAME; /* the metadata's wins */
	pl[2].value = "liar";
	f->pod.labels = pod_labels;
	f->pod.n_labels = 3;
	cl[0].key = "tier";
	cl[0].value = "front";
	cl[1].key = "io.crib.extra";
	cl[1].value = "x";
	f->cfg.labels = ctr_labels;
	f->cfg.n_labels = 2;

	s = build_sandbox(f);
	CHECK(s,
	      "{'app': 'web', 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': "
	      "'default', 'io.kubernetes.pod.uid': 'uid-1', 'io.kubernetes.container.name': "
	      "'POD', 'io.crib.managed': 'true', 'io.crib.id': '" POD_ID
	      "', 'io.crib.pod-id': '" POD_ID
	      "', 'io.crib.kind': 'sandbox', 'io.crib.runtime-class': 'docker'}",
	      "Labels");
	c = build(f);
	CHECK(c,
	      "{'tier': 'front', 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': "
	      "'default', 'io.kubernetes.pod.uid': 'uid-1', 'io.kubernetes.container.name': "
	      "'app', 'io.crib.managed': 'true', 'io.crib.id': '" CONTAINER_ID
	      "', 'io.crib.pod-id': '" POD_ID "', 'io.crib.kind': 'container', "
	      "'io.crib.runtime-class': 'docker'}",
	      "Labels");

	cl[0].value = "\xff\xfe";
	build_fails(f, EINVAL, "ContainerConfig.labels 'tier': not valid UTF-8");
}

static void test_names_sanitized(void **state)
{
	struct fixture *f = *state;
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL;

	f->pod_md.name = "we b";
	f->pod_md.namespace_ = "ns/x:y";
	f->pod_md.uid = "\xc3\xbc";
	f->md.name = "a+b";
	a = build_sandbox(f);
	assert_string_equal(f->name, "k8s_POD_we-b_ns-x-y_--_1_5a5a5a5a5a5a");
	b = build(f);
	assert_string_equal(f->name, "k8s_a-b_we-b_ns-x-y_--_2_c0ffee00c0ff");
}

/* ---- the container ---- */

static void test_container_namespaces(void **state)
{
	struct fixture *f = *state;
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	a = build(f);
	CHECK(a, JOIN, "HostConfig", "NetworkMode");
	CHECK(a, JOIN, "HostConfig", "IpcMode");
	CHECK(a, JOIN, "HostConfig", "PidMode");
	CHECK(a, "absent", "HostConfig", "UTSMode");
	CHECK(a, "absent", "Hostname"); /* the Engine refuses one with a joined network */

	f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	b = build(f);
	CHECK(b, "absent", "HostConfig", "PidMode");

	/* The node's network is still joined through the sandbox, whose resolv.conf it shares. */
	f->ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->ns.ipc = RUNTIME__V1__NAMESPACE_MODE__NODE;
	f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__NODE;
	c = build(f);
	CHECK(c, JOIN, "HostConfig", "NetworkMode");
	CHECK(c, "'host'", "HostConfig", "UTSMode");
	CHECK(c, "'host'", "HostConfig", "IpcMode");
	CHECK(c, "'host'", "HostConfig", "PidMode");

	/* No namespace options at all: the proto's defaults, all POD. */
	f->sc.namespace_options = NULL;
	d = build(f);
	CHECK(d, JOIN, "HostConfig", "PidMode");
	CHECK(d, JOIN, "HostConfig", "IpcMode");
	f->sc.namespace_options = &f->ns;

	f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__TARGET;
	build_fails(f, ENOTSUP,
	            "ContainerConfig.linux.security_context.namespace_options.pid TARGET");
}

static void test_container_process(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__KeyValue e1 = RUNTIME__V1__KEY_VALUE__INIT, e2 = RUNTIME__V1__KEY_VALUE__INIT;
	Runtime__V1__KeyValue *envs[] = {&e1, &e2};
	char *command[] = {"sh", "-c"}, *args[] = {"echo hi"};
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	a = build(f);
	CHECK(a, "'busybox:latest'", "Image");
	CHECK(a, "absent", "Entrypoint"); /* the image's */
	CHECK(a, "absent", "Cmd");
	CHECK(a, "absent", "Env");
	CHECK(a, "absent", "WorkingDir");
	CHECK(a, "absent", "User");
	CHECK(a, "absent", "StopSignal");
	CHECK(a, "false", "Tty");
	CHECK(a, "false", "OpenStdin");
	CHECK(a, "false", "StdinOnce");
	CHECK(a, "{'Test': ['NONE']}", "Healthcheck");
	CHECK(a, "{'Type': 'json-file', 'Config': {'max-size': '16m', 'max-file': '2'}}",
	      "HostConfig", "LogConfig");
	CHECK(a, "absent", "HostConfig", "RestartPolicy");
	CHECK(a, "'/kubepods/burstable/poduid-1'", "HostConfig", "CgroupParent");
	assert_string_equal(f->name, "k8s_app_web_default_uid-1_2_c0ffee00c0ff");

	/* args alone keep the image's Entrypoint. */
	f->cfg.args = args;
	f->cfg.n_args = 1;
	b = build(f);
	CHECK(b, "absent", "Entrypoint");
	CHECK(b, "['echo hi']", "Cmd");

	f->cfg.command = command;
	f->cfg.n_command = 2;
	e1.key = "A";
	e1.value = (ProtobufCBinaryData){.len = 1, .data = (uint8_t *)"1"};
	e2.key = "B";
	e2.value = (ProtobufCBinaryData){.len = 3, .data = (uint8_t *)"x=y"};
	f->cfg.envs = envs;
	f->cfg.n_envs = 2;
	f->cfg.working_dir = "/work";
	f->cfg.tty = true;
	f->cfg.stdin_once = true;
	c = build(f);
	CHECK(c, "['sh', '-c']", "Entrypoint");
	CHECK(c, "['echo hi']", "Cmd");
	CHECK(c, "['A=1', 'B=x=y']", "Env");
	CHECK(c, "'/work'", "WorkingDir");
	CHECK(c, "true", "Tty");
	CHECK(c, "false", "OpenStdin");
	CHECK(c, "false", "AttachStdin");
	CHECK(c, "true", "StdinOnce");
	f->cfg.tty = false;
	f->cfg.stdin = true;
	f->cfg.stdin_once = false;
	d = build(f);
	CHECK(d, "false", "Tty");
	CHECK(d, "true", "OpenStdin");
	CHECK(d, "true", "AttachStdin");
	CHECK(d, "false", "StdinOnce");

	f->cfg.working_dir = "work";
	build_fails(f, EINVAL, "ContainerConfig.working_dir 'work': not absolute");
	f->cfg.working_dir = "/work";
	e2.key = "B=C";
	build_fails(f, EINVAL, "ContainerConfig.envs[1].key 'B=C'");
	e2.key = "B";
	e2.value = (ProtobufCBinaryData){.len = 3, .data = (uint8_t *)"x\0y"};
	build_fails(f, EINVAL, "ContainerConfig.envs[1].value of 'B': holds a NUL byte");
	e2.value = (ProtobufCBinaryData){.len = 1, .data = (uint8_t *)"\xff"};
	build_fails(f, EINVAL, "ContainerConfig.envs[1] 'B': not valid UTF-8");
	e2.value = (ProtobufCBinaryData){0};
	args[0] = "\xc3";
	build_fails(f, EINVAL, "ContainerConfig.args[0]: not valid UTF-8");
}

static void test_stop_signal(void **state)
{
	struct fixture *f = *state;
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL, *c = NULL;

	f->cfg.stop_signal = RUNTIME__V1__SIGNAL__SIGNAL_SIGQUIT;
	a = build(f);
	CHECK(a, "'SIGQUIT'", "StopSignal");
	f->cfg.stop_signal = RUNTIME__V1__SIGNAL__SIGNAL_SIGRTMINPLUS1;
	b = build(f);
	CHECK(b, "'SIGRTMIN+1'", "StopSignal");
	f->cfg.stop_signal = RUNTIME__V1__SIGNAL__SIGNAL_SIGRTMAXMINUS14;
	c = build(f);
	CHECK(c, "'SIGRTMAX-14'", "StopSignal");
	f->cfg.stop_signal = (Runtime__V1__Signal)999;
	build_fails(f, EINVAL, "ContainerConfig.stop_signal 999: unknown");
}

static void test_mounts(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Mount m[3] = {RUNTIME__V1__MOUNT__INIT, RUNTIME__V1__MOUNT__INIT,
	                           RUNTIME__V1__MOUNT__INIT};
	Runtime__V1__Mount *mounts[] = {&m[0], &m[1], &m[2]};
	Runtime__V1__ImageSpec image = RUNTIME__V1__IMAGE_SPEC__INIT;
	char *opts[] = {"noexec"};
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL;

	a = build(f);
	CHECK(a, "absent", "HostConfig", "Mounts");
	CHECK(a, "absent", "HostConfig", "Binds");

	m[0].host_path = "/var/lib/kubelet/pods/uid-1/volumes/data";
	m[0].container_path = "/data";
	m[1].host_path = "/var/lib/kubelet/pods/uid-1/etc-hosts";
	m[1].container_path = "/etc/hosts";
	m[1].readonly = true;
	m[1].propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER;
	m[2].host_path = "/mnt/a:b,c"; /* what a Binds string could not say */
	m[2].container_path = "/shared";
	m[2].propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL;
	m[2].selinux_relabel = true;
	f->cfg.mounts = mounts;
	f->cfg.n_mounts = 3;
	b = build(f);
	CHECK(b,
	      "[{'Type': 'bind', 'Source': '/var/lib/kubelet/pods/uid-1/volumes/data', 'Target': "
	      "'/data', 'ReadOnly': false, 'BindOptions': {'Propagation': 'rprivate'}},"
	      " {'Type': 'bind', 'Source': '/var/lib/kubelet/pods/uid-1/etc-hosts', 'Target': "
	      "'/etc/hosts', 'ReadOnly': true, 'BindOptions': {'Propagation': 'rslave'}},"
	      " {'Type': 'bind', 'Source': '/mnt/a:b,c', 'Target': '/shared', 'ReadOnly': false,"
	      " 'BindOptions': {'Propagation': 'rshared'}}]",
	      "HostConfig", "Mounts");

	m[1].container_path = "etc/hosts";
	build_fails(f, EINVAL,
	            "ContainerConfig.mounts[1].container_path 'etc/hosts': not absolute");
	m[1].container_path = "/etc/hosts";
	m[2].host_path = "";
	build_fails(f, EINVAL, "ContainerConfig.mounts[2].host_path: empty");
	m[2].host_path = "/mnt";
	m[2].propagation = (Runtime__V1__MountPropagation)7;
	build_fails(f, EINVAL, "ContainerConfig.mounts[2].propagation 7: unknown");
	m[2].propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE;
	m[0].recursive_read_only = true;
	build_fails(f, ENOTSUP, "ContainerConfig.mounts[0].recursive_read_only");
	m[0].recursive_read_only = false;
	m[0].mount_options = opts;
	m[0].n_mount_options = 1;
	build_fails(f, ENOTSUP, "ContainerConfig.mounts[0].mount_options");
	m[0].n_mount_options = 0;
	m[0].image = &image;
	build_fails(f, ENOTSUP, "ContainerConfig.mounts[0].image: image volumes");
}

static void test_devices(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Device d[2] = {RUNTIME__V1__DEVICE__INIT, RUNTIME__V1__DEVICE__INIT};
	Runtime__V1__Device *devices[] = {&d[0], &d[1]};
	Runtime__V1__CDIDevice cdi = RUNTIME__V1__CDIDEVICE__INIT;
	Runtime__V1__CDIDevice *cdis[] = {&cdi};
	_cleanup_(json_decrefp) json_t *a = NULL;

	d[0].host_path = "/dev/fuse";
	d[0].container_path = "/dev/fuse";
	d[1].host_path = "/dev/nvidia0";
	d[1].container_path = "/dev/gpu0";
	d[1].permissions = "rw";
	f->cfg.devices = devices;
	f->cfg.n_devices = 2;
	a = build(f);
	CHECK(a,
	      "[{'PathOnHost': '/dev/fuse', 'PathInContainer': '/dev/fuse', 'CgroupPermissions': "
	      "'rwm'}, {'PathOnHost': '/dev/nvidia0', 'PathInContainer': '/dev/gpu0', "
	      "'CgroupPermissions': 'rw'}]",
	      "HostConfig", "Devices");

	d[1].permissions = "rwx";
	build_fails(f, EINVAL, "ContainerConfig.devices[1].permissions 'rwx': not of r, w, m");
	d[1].permissions = "";
	d[1].container_path = "gpu0";
	build_fails(f, EINVAL, "ContainerConfig.devices[1].container_path 'gpu0': not absolute");
	d[1].container_path = "/dev/gpu0";
	d[0].host_path = "";
	build_fails(f, EINVAL, "ContainerConfig.devices[0].host_path: empty");
	d[0].host_path = "/dev/fuse";
	f->cfg.cdi_devices = cdis;
	f->cfg.n_cdi_devices = 1;
	build_fails(f, ENOTSUP, "ContainerConfig.CDI_devices");
}

static void test_capabilities(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Capability cap = RUNTIME__V1__CAPABILITY__INIT;
	char *add[] = {"NET_ADMIN", "CAP_SYS_TIME", "SYS_PTRACE"};
	char *drop[] = {"cap_sys_ptrace", "MKNOD"};
	char *ambient[] = {"NET_BIND_SERVICE"};
	char *masked[] = {"/proc/kcore"}, *readonly[] = {"/proc/sys"};
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL, *c = NULL;

	a = build(f);
	CHECK(a, "absent", "HostConfig", "CapAdd");
	CHECK(a, "absent", "HostConfig", "CapDrop");
	CHECK(a, "absent", "HostConfig", "MaskedPaths"); /* the Engine's defaults */
	CHECK(a, "absent", "HostConfig", "ReadonlyPaths");
	CHECK(a, "false", "HostConfig", "Privileged");

	/* A capability added and dropped stays dropped, as CRI says. */
	cap.add_capabilities = add;
	cap.n_add_capabilities = 3;
	cap.drop_capabilities = drop;
	cap.n_drop_capabilities = 2;
	f->sc.capabilities = &cap;
	f->sc.masked_paths = masked;
	f->sc.n_masked_paths = 1;
	f->sc.readonly_paths = readonly;
	f->sc.n_readonly_paths = 1;
	b = build(f);
	CHECK(b, "['NET_ADMIN', 'CAP_SYS_TIME']", "HostConfig", "CapAdd");
	CHECK(b, "['cap_sys_ptrace', 'MKNOD']", "HostConfig", "CapDrop");
	CHECK(b, "['/proc/kcore']", "HostConfig", "MaskedPaths");
	CHECK(b, "['/proc/sys']", "HostConfig", "ReadonlyPaths");

	cap.add_ambient_capabilities = ambient;
	cap.n_add_ambient_capabilities = 1;
	build_fails(f, ENOTSUP, "security_context.capabilities.add_ambient_capabilities");
	cap.n_add_ambient_capabilities = 0;

	f->sc.privileged = true;
	build_fails(f, EINVAL, "ContainerConfig.linux.security_context.privileged: the pod is not");
	f->pod_sc.privileged = true;
	c = build(f);
	CHECK(c, "true", "HostConfig", "Privileged");
	CHECK(c, "absent", "HostConfig", "CapAdd");
	CHECK(c, "absent", "HostConfig", "MaskedPaths");
	CHECK(c, "absent", "HostConfig", "SecurityOpt"); /* not even seccomp=unconfined */
}

/* Where cribd lacks capabilities, privileged and "ALL" mean the ones it holds. */
static void test_bounded_privileged(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Capability cap = RUNTIME__V1__CAPABILITY__INIT;
	char *node[] = {"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"};
	char *all[] = {"ALL"}, *drop[] = {"NET_ADMIN"};
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL, *sb = NULL;

	f->in.node_caps = f->sin.node_caps = node;
	f->in.n_node_caps = f->sin.n_node_caps = 3;
	cap.add_capabilities = all;
	cap.n_add_capabilities = 1;
	cap.drop_capabilities = drop;
	cap.n_drop_capabilities = 1;
	f->sc.capabilities = &cap;
	a = build(f);
	CHECK(a, "['CAP_CHOWN', 'CAP_SYS_ADMIN']", "HostConfig", "CapAdd");

	f->sc.privileged = f->pod_sc.privileged = true;
	b = build(f);
	CHECK(b, "absent", "HostConfig", "Privileged");
	CHECK(b, "['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN']", "HostConfig", "CapAdd");
	CHECK(b, "['seccomp=unconfined', 'apparmor=unconfined', 'label=disable']", "HostConfig",
	      "SecurityOpt");
	CHECK(b, "[]", "HostConfig", "MaskedPaths");
	CHECK(b, "[]", "HostConfig", "ReadonlyPaths");
	CHECK(b, "['a *:* rwm']", "HostConfig", "DeviceCgroupRules");
	sb = build_sandbox(f);
	CHECK(sb, "absent", "HostConfig", "Privileged");
	CHECK(sb, "['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN']", "HostConfig", "CapAdd");
}

static void test_user(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__Int64Value uid = RUNTIME__V1__INT64_VALUE__INIT;
	Runtime__V1__Int64Value gid = RUNTIME__V1__INT64_VALUE__INIT;
	int64_t groups[] = {29, 50};
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL, *c = NULL;

	uid.value = 1000;
	gid.value = 50;
	f->sc.run_as_user = &uid;
	f->sc.supplemental_groups = groups;
	f->sc.n_supplemental_groups = 2;
	a = build(f);
	CHECK(a, "'1000'", "User");
	CHECK(a, "['29', '50']", "HostConfig", "GroupAdd");

	f->sc.run_as_user = NULL;
	f->sc.run_as_username = "app";
	b = build(f);
	CHECK(b, "'app'", "User");
	f->sc.run_as_group = &gid;
	c = build(f);
	CHECK(c, "'app:50'", "User");

	f->sc.run_as_user = &uid;
	build_fails(f, EINVAL, "security_context: both run_as_user and run_as_username");
	f->sc.run_as_username = "";
	uid.value = -1;
	build_fails(f, EINVAL,
	            "ContainerConfig.linux.security_context.run_as_user -1: not a valid");
	f->sc.run_as_user = NULL;
	build_fails(f, EINVAL, "ContainerConfig.linux.security_context.run_as_group: set without");
	f->sc.run_as_username = "app:0";
	build_fails(f, EINVAL, "security_context.run_as_username 'app:0': holds a ':'");
}

static void test_seccomp(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__SecurityProfile p = RUNTIME__V1__SECURITY_PROFILE__INIT;
	_cleanup_free_ char *good = write_file(
	    f, "good.json", "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": []\n}\n");
	_cleanup_free_ char *bad = write_file(f, "bad.json", "{\"defaultAction\": ");
	_cleanup_free_ char *array = write_file(f, "array.json", "[]");
	_cleanup_free_ char *old = NULL, *missing = crib_xasprintf("%s/missing.json", f->dir);
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	const char *want = "seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}";

	/* No profile is unconfined (CRI); no_new_privs goes first. */
	f->sc.no_new_privs = true;
	a = build(f);
	CHECK(a, "['no-new-privileges', 'seccomp=unconfined']", "HostConfig", "SecurityOpt");

	f->sc.no_new_privs = false;
	p.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
	f->sc.seccomp = &p;
	b = build(f);
	CHECK(b, "absent", "HostConfig", "SecurityOpt"); /* the Engine's default profile */

	p.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
	p.localhost_ref = good;
	c = build(f);
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(c, "HostConfig"), "SecurityOpt")), 1);
	assert_string_equal(
	    json_string_value(json_array_get(
	        json_object_get(json_object_get(c, "HostConfig"), "SecurityOpt"), 0)),
	    want);

	p.localhost_ref = missing;
	build_fails(f, ENOENT, "ContainerConfig.linux.security_context.seccomp.localhost_ref '");
	p.localhost_ref = bad;
	build_fails(f, EINVAL, "seccomp.localhost_ref '");
	p.localhost_ref = array;
	build_fails(f, EINVAL, "': not a JSON object");
	p.localhost_ref = f->dir;
	build_fails(f, EINVAL, "': not a regular file");
	p.localhost_ref = "profiles/good.json";
	build_fails(f, EINVAL, "seccomp.localhost_ref 'profiles/good.json': not an absolute path");
	p.localhost_ref = "";
	build_fails(f, EINVAL, "seccomp.localhost_ref: empty for a Localhost profile");
	p.profile_type = (Runtime__V1__SecurityProfile__ProfileType)9;
	build_fails(f, EINVAL, "security_context.seccomp.profile_type 9: unknown");

	/* The deprecated string, for kubelets that send only that. */
	f->sc.seccomp = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	old = crib_xasprintf("localhost/%s", good);
	f->sc.seccomp_profile_path = old;
	d = build(f);
	assert_string_equal(
	    json_string_value(json_array_get(
	        json_object_get(json_object_get(d, "HostConfig"), "SecurityOpt"), 0)),
	    want);
	f->sc.seccomp_profile_path = "bogus";
	build_fails(f, EINVAL, "security_context.seccomp_profile_path 'bogus': unknown profile");
#pragma GCC diagnostic pop
}

static void test_apparmor_selinux(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__SecurityProfile p = RUNTIME__V1__SECURITY_PROFILE__INIT;
	Runtime__V1__SecurityProfile unconfined = RUNTIME__V1__SECURITY_PROFILE__INIT;
	Runtime__V1__SELinuxOption selinux = RUNTIME__V1__SELINUX_OPTION__INIT;
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL, *c = NULL;

	unconfined.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined;
	f->sc.seccomp = &unconfined;
	p.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
	p.localhost_ref = "k8s-apparmor-example";
	f->sc.apparmor = &p;
	selinux.level = "s0:c1,c2";
	f->sc.selinux_options = &selinux;
	a = build(f);
	CHECK(a, "['seccomp=unconfined', 'apparmor=k8s-apparmor-example', 'label=level:s0:c1,c2']",
	      "HostConfig", "SecurityOpt");

	p.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
	f->sc.selinux_options = NULL;
	b = build(f);
	CHECK(b, "['seccomp=unconfined']", "HostConfig", "SecurityOpt");

	p.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
	p.localhost_ref = "";
	build_fails(f, EINVAL, "security_context.apparmor: a Localhost profile needs a name");

	f->sc.apparmor = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	f->sc.apparmor_profile = "localhost/legacy";
	c = build(f);
	CHECK(c, "['seccomp=unconfined', 'apparmor=legacy']", "HostConfig", "SecurityOpt");
	f->sc.apparmor_profile = "whatever";
	build_fails(f, EINVAL, "security_context.apparmor_profile 'whatever': unknown profile");
#pragma GCC diagnostic pop
}

/* ---- resources ---- */

static void test_resources(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__HugepageLimit huge = RUNTIME__V1__HUGEPAGE_LIMIT__INIT;
	Runtime__V1__HugepageLimit *huges[] = {&huge};
	_cleanup_(json_decrefp) json_t *none = resources(f, NULL), *zero = resources(f, &f->res);
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL, *c = NULL;

	CHECK(none, "{}", NULL);
	CHECK(zero, "{}", NULL);

	f->res.cpu_shares = 512;
	f->res.cpu_period = 100000;
	f->res.cpu_quota = 50000;
	f->res.memory_limit_in_bytes = 268435456;
	f->res.cpuset_cpus = "0-1";
	f->res.cpuset_mems = "0";
	f->res.oom_score_adj = 999; /* HostConfig's, not a resource */
	huge.page_size = "2MB";     /* not in the Engine's API */
	f->res.hugepage_limits = huges;
	f->res.n_hugepage_limits = 1;
	a = resources(f, &f->res);
	CHECK(a,
	      "{'CpuShares': 512, 'CpuPeriod': 100000, 'CpuQuota': 50000, 'Memory': 268435456,"
	      " 'MemorySwap': 268435456, 'CpusetCpus': '0-1', 'CpusetMems': '0'}",
	      NULL);

	f->res.memory_swap_limit_in_bytes = 536870912;
	f->res.cpu_quota = -1;
	b = resources(f, &f->res);
	CHECK(b, "536870912", "MemorySwap");
	CHECK(b, "-1", "CpuQuota");

	f->res.memory_swap_limit_in_bytes = -1; /* unlimited */
	c = resources(f, &f->res);
	CHECK(c, "-1", "MemorySwap");
}

static void test_resources_refused(void **state)
{
	struct fixture *f = *state;
	const Runtime__V1__LinuxContainerResources zero =
	    RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;

	f->res.cpu_shares = -2;
	resources_fail(f, EINVAL, "LinuxContainerResources.cpu_shares -2: not within [0, 262144]");
	f->res.cpu_shares = 262145;
	resources_fail(f, EINVAL, "LinuxContainerResources.cpu_shares 262145");
	f->res = zero;
	f->res.cpu_period = 999;
	resources_fail(f, EINVAL, "LinuxContainerResources.cpu_period 999: not within");
	f->res.cpu_period = -5;
	resources_fail(f, EINVAL, "LinuxContainerResources.cpu_period -5");
	f->res = zero;
	f->res.cpu_quota = 500;
	resources_fail(f, EINVAL, "LinuxContainerResources.cpu_quota 500");
	f->res.cpu_quota = -2;
	resources_fail(f, EINVAL, "LinuxContainerResources.cpu_quota -2");
	f->res = zero;
	f->res.memory_limit_in_bytes = -1;
	resources_fail(f, EINVAL, "LinuxContainerResources.memory_limit_in_bytes -1: negative");
	f->res = zero;
	f->res.memory_swap_limit_in_bytes = -2;
	resources_fail(f, EINVAL, "LinuxContainerResources.memory_swap_limit_in_bytes -2");
	f->res.memory_limit_in_bytes = 1 << 20;
	f->res.memory_swap_limit_in_bytes = 1 << 19;
	resources_fail(f, EINVAL, "memory_swap_limit_in_bytes 524288: below the memory limit");
	f->res.memory_limit_in_bytes = 0;
	resources_fail(f, EINVAL, "memory_swap_limit_in_bytes 524288: set without");
	f->res = zero;
	f->res.oom_score_adj = 1001;
	resources_fail(f, EINVAL, "LinuxContainerResources.oom_score_adj 1001");
	f->res = zero;
	f->res.cpuset_cpus = "\xff";
	resources_fail(f, EINVAL, "LinuxContainerResources.cpuset_cpus: not valid UTF-8");

	/* The container's body refuses them as well. */
	f->res = zero;
	f->res.cpu_shares = -1;
	build_fails(f, EINVAL, "LinuxContainerResources.cpu_shares -1");
}

static void test_container_resources_oom(void **state)
{
	struct fixture *f = *state;
	_cleanup_(json_decrefp) json_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	/* No resources: OOM score 0, above cribd's own. */
	f->linux.resources = NULL;
	a = build(f);
	CHECK(a, "0", "HostConfig", "OomScoreAdj");
	CHECK(a, "absent", "HostConfig", "Memory");

	f->linux.resources = &f->res;
	f->res.memory_limit_in_bytes = 67108864;
	f->res.cpu_shares = 102;
	f->res.oom_score_adj = 1000;
	b = build(f);
	CHECK(b, "1000", "HostConfig", "OomScoreAdj");
	CHECK(b, "67108864", "HostConfig", "Memory");
	CHECK(b, "67108864", "HostConfig", "MemorySwap");
	CHECK(b, "102", "HostConfig", "CpuShares");

	/* Clamped to cribd's own score, which the Engine's start could not go below. */
	f->res.oom_score_adj = -999;
	f->in.own_oom_score_adj = -500;
	c = build(f);
	CHECK(c, "-500", "HostConfig", "OomScoreAdj");
	f->in.own_oom_score_adj = -1000;
	d = build(f);
	CHECK(d, "-999", "HostConfig", "OomScoreAdj");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sandbox_pod_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sandbox_host_namespaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sandbox_userns_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sandbox_oom_clamp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sandbox_sysctls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sandbox_dns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sandbox_security, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_names_sanitized, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_container_namespaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_container_process, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_signal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mounts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounded_privileged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seccomp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apparmor_selinux, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resources_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_container_resources_oom, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
