/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CNI runtime: configuration loading, result and error parsing, and the
 * plugin protocol (ADD, CHECK, DEL, the record between them, timeouts and
 * failures) with shell-script plugins in a temporary directory.  No network
 * namespace is made here (make_netns is false), so no privileges are needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "cni.h"
#include "config.h"
#include "cri-api-v1.pb-c.h"
#include "error.h"
#include "util.h"

#define LIST_OK                                                                                    \
	"{\"cniVersion\":\"1.0.0\",\"name\":\"net-1\",\"plugins\":[{\"type\":\"bridge\","          \
	"\"capabilities\":{\"portMappings\":true}},{\"type\":\"portmap\"}]}"

struct fixture {
	char dir[64];
	char *conf_dir;
	char *bin_dir;
	char *log;
	struct crib_cni_args args;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/crib-test-cni-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->conf_dir = crib_xasprintf("%s/net.d", f->dir);
	f->bin_dir = crib_xasprintf("%s/bin", f->dir);
	f->log = crib_xasprintf("%s/calls.log", f->dir);
	assert_int_equal(mkdir(f->conf_dir, 0755), 0);
	assert_int_equal(mkdir(f->bin_dir, 0755), 0);
	f->args = (struct crib_cni_args){
	    .conf_dir = crib_xstrdup(f->conf_dir),
	    .bin_dirs = crib_xasprintf("/nonexistent:%s", f->bin_dir),
	    .cache_dir = crib_xasprintf("%s/state/cni", f->dir),
	    .id = crib_xstrdup("f00d"),
	    .name = crib_xstrdup("web"),
	    .namespace_ = crib_xstrdup("shop"),
	    .uid = crib_xstrdup("u-1"),
	    .netns = crib_xstrdup("/proc/self/ns/net"),
	    .runtime_config = crib_xstrdup("{\"portMappings\":[{\"hostPort\":1}],\"x\":2}"),
	    .timeout_ms = 10000,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	(void)nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	crib_cni_args_clear(&f->args);
	free(f->conf_dir);
	free(f->bin_dir);
	free(f->log);
	free(f);
	return 0;
}

/* Configuration. */

static void test_list_is_parsed(void **state)
{
	struct crib_cni_conf *conf = NULL;

	(void)state;
	assert_int_equal(
	    crib_cni_conf_parse("/d/10.conflist", LIST_OK, strlen(LIST_OK), &conf, NULL), 0);
	assert_string_equal(conf->file, "/d/10.conflist");
	assert_string_equal(conf->name, "net-1");
	assert_string_equal(conf->version, "1.0.0");
	assert_false(conf->disable_check);
	assert_int_equal(json_array_size(json_object_get(conf->list, "plugins")), 2);
	crib_cni_conf_free(conf);
}

static void test_single_plugin_is_wrapped_into_a_list(void **state)
{
	static const char text[] =
	    "{\"cniVersion\":\"0.3.1\",\"name\":\"lo\",\"type\":\"loopback\","
	    "\"disableCheck\":true}";
	struct crib_cni_conf *conf = NULL;
	json_t *plugins;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		const char *file = i ? "/d/99-lo.json" : "/d/99-lo.conf";

		assert_int_equal(crib_cni_conf_parse(file, text, strlen(text), &conf, NULL), 0);
		assert_string_equal(conf->name, "lo");
		assert_string_equal(conf->version, "0.3.1");
		/* Like libcni, a single plugin's disableCheck is not the list's. */
		assert_false(conf->disable_check);
		plugins = json_object_get(conf->list, "plugins");
		assert_int_equal(json_array_size(plugins), 1);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(plugins, 0), "type")),
		    "loopback");
		conf = crib_cni_conf_free(conf);
	}
}

static void test_disable_check_as_bool_or_string(void **state)
{
	static const char *const texts[] = {
	    "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"disableCheck\":true,\"plugins\":[{\"type\":"
	    "\"a\"}]}",
	    "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"disableCheck\":\"true\",\"plugins\":[{"
	    "\"type\":\"a\"}]}",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		struct crib_cni_conf *conf = NULL;

		assert_int_equal(
		    crib_cni_conf_parse("n.conflist", texts[i], strlen(texts[i]), &conf, NULL), 0);
		assert_true(conf->disable_check);
		crib_cni_conf_free(conf);
	}
}

static void test_bad_configurations_are_refused(void **state)
{
	static const struct {
		const char *file, *text, *msg;
	} cases[] = {
	    {"a.conflist", "{", "not JSON: line 1: "},
	    {"a.conflist", "[]", "not a JSON object"},
	    {"a.conflist", "{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"x\"}]}",
	     "the network has no name of letters, digits, '_', '.' and '-'"},
	    {"a.conflist",
	     "{\"cniVersion\":\"1.0.0\",\"name\":\"-x\",\"plugins\":[{\"type\":\"x\"}]}",
	     "the network has no name"},
	    {"a.conflist", "{\"name\":\"n\",\"plugins\":[{\"type\":\"x\"}]}",
	     "cniVersion is missing"},
	    {"a.conflist",
	     "{\"cniVersion\":\"0.2.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"x\"}]}",
	     "cniVersion '0.2.0' is not one cribd speaks (0.3.0, 0.3.1, 0.4.0, 1.0.0)"},
	    {"a.conflist",
	     "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"x\"}]}",
	     "cniVersion '1.1.0' is not one"},
	    {"a.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[]}",
	     "plugins is not a non-empty list"},
	    {"a.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":{}}",
	     "plugins is not a non-empty list"},
	    {"a.conflist", "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[3]}",
	     "plugin 0 is not an object"},
	    {"a.conflist",
	     "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\"},{}]}",
	     "plugin 1 has no type naming a plugin binary (a file name)"},
	    {"a.conflist",
	     "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"../../bin/sh\"}]}",
	     "plugin 0 has no type naming a plugin binary"},
	    {"a.conflist",
	     "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"..\"}]}",
	     "plugin 0 has no type naming a plugin binary"},
	    {"a.conflist",
	     "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\","
	     "\"capabilities\":[]}]}",
	     "capabilities of plugin 0 are not an object"},
	    {"a.conflist",
	     "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"disableCheck\":1,\"plugins\":[{\"type\":"
	     "\"a\"}]}",
	     "disableCheck is neither true nor false"},
	    {"a.conf", LIST_OK, "no plugin type (a list belongs in a .conflist file)"},
	    {"a.conf", "{\"cniVersion\":\"1.0.0\",\"type\":\"x\"}", "the network has no name"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *prefix =
		    crib_xasprintf("CNI configuration '%s': %s", cases[i].file, cases[i].msg);
		struct crib_cni_conf *conf = NULL;
		struct crib_error *err = NULL;

		assert_int_equal(crib_cni_conf_parse(cases[i].file, cases[i].text,
		                                     strlen(cases[i].text), &conf, &err),
		                 -EINVAL);
		assert_null(conf);
		assert_non_null(err);
		if (strncmp(crib_error_msg(err), prefix, strlen(prefix)) != 0)
			fail_msg("case %zu: '%s' does not start with '%s'", i, crib_error_msg(err),
			         prefix);
		crib_error_free(err);
	}
}

static void test_load_takes_the_lexically_first_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *subdir = crib_xasprintf("%s/05-dir.conflist", f->conf_dir);
	_cleanup_free_ char *want = crib_xasprintf("%s/10-a.conf", f->conf_dir);
	struct crib_cni_conf *conf = NULL;

	assert_int_equal(mkdir(subdir, 0755), 0);
	write_file(f->conf_dir, ".01-hidden.conflist", "junk", 0644);
	write_file(f->conf_dir, "02-notes.txt", "junk", 0644);
	write_file(f->conf_dir, "20-b.conflist", LIST_OK, 0644);
	write_file(f->conf_dir, "10-a.conf",
	           "{\"cniVersion\":\"1.0.0\",\"name\":\"a\",\"type\":\"loopback\"}", 0644);
	assert_int_equal(crib_cni_conf_load(f->conf_dir, &conf, NULL), 0);
	assert_string_equal(conf->file, want);
	assert_string_equal(conf->name, "a");
	crib_cni_conf_free(conf);
}

static void test_load_reports_none_and_broken(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *none =
	    crib_xasprintf("No CNI network configuration in '%s'", f->conf_dir);
	_cleanup_free_ char *broken =
	    crib_xasprintf("CNI configuration '%s/00-x.json': not a JSON object", f->conf_dir);
	_cleanup_free_ char *missing = crib_xasprintf("%s/missing", f->dir);
	struct crib_cni_conf *conf = NULL;
	struct crib_error *err = NULL;

	assert_int_equal(crib_cni_conf_load(f->conf_dir, &conf, &err), -ENOENT);
	assert_string_equal(crib_error_msg(err), none);
	err = crib_error_free(err);
	assert_int_equal(crib_cni_conf_load(missing, &conf, &err), -ENOENT);
	err = crib_error_free(err);
	write_file(f->conf_dir, "10-ok.conflist", LIST_OK, 0644);
	write_file(f->conf_dir, "00-x.json", "[1]", 0644);
	assert_int_equal(crib_cni_conf_load(f->conf_dir, &conf, &err), -EINVAL);
	assert_string_equal(crib_error_msg(err), broken);
	assert_null(conf);
	crib_error_free(err);
}

/* Results. */

static void ips_of(const char *text, const char *want)
{
	_cleanup_free_ char *got = crib_xstrdup("");
	char **ips = NULL;
	size_t n = 0;

	assert_int_equal(crib_cni_result_ips(text, strlen(text), "eth0", &ips, &n, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		char *joined = crib_xasprintf("%s%s%s", got, i ? " " : "", ips[i]);

		free(got);
		got = joined;
	}
	crib_strv_free(ips, n);
	assert_string_equal(got, want);
}

static void test_result_ips_prefer_ipv4_on_eth0(void **state)
{
	(void)state;
	/* 1.0.0: the interface's IPs only, IPv4 first. */
	ips_of("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"cni0\"},{\"name\":\"eth0\","
	       "\"sandbox\":\"/x\"}],\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":0},"
	       "{\"address\":\"fd00::5/64\",\"interface\":1},{\"address\":\"10.0.0.5/24\","
	       "\"interface\":1,\"gateway\":\"10.0.0.1\"},{\"address\":\"10.0.1.5/24\","
	       "\"interface\":1}]}",
	       "10.0.0.5 fd00::5 10.0.1.5");
	/* 0.3.1, with its version field. */
	ips_of("{\"cniVersion\":\"0.3.1\",\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{"
	       "\"version\":\"6\",\"address\":\"fd00::5/64\",\"interface\":0}]}",
	       "fd00::5");
	/* No IP on eth0 (loopback's result, or IPAM alone): all of them. */
	ips_of("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"lo\"}],\"ips\":[{"
	       "\"address\":\"::1/128\",\"interface\":0},{\"address\":\"127.0.0.1/8\","
	       "\"interface\":0}]}",
	       "127.0.0.1 ::1");
	ips_of("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.9/16\"},{\"address\":"
	       "\"10.1.0.9/16\"}]}",
	       "10.1.0.9");
	ips_of("{\"cniVersion\":\"1.0.0\"}", "");
}

static void test_bad_results_are_refused(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"ips\":{}}",
	    "{\"ips\":[{}]}",
	    "{\"ips\":[{\"address\":\"10.0.0.5\"}]}",
	    "{\"ips\":[{\"address\":\"10.0.0.5/33\"}]}",
	    "{\"ips\":[{\"address\":\"fd00::5/129\"}]}",
	    "{\"ips\":[{\"address\":\"10.0.0.300/24\"}]}",
	    "{\"ips\":[{\"address\":\"/24\"}]}",
	    "{\"ips\":[{\"address\":\"10.0.0.5/24\",\"interface\":1}],\"interfaces\":[{}]}",
	    "{\"ips\":[{\"address\":\"10.0.0.5/24\",\"interface\":-1}],\"interfaces\":[{}]}",
	    "{\"ips\":[{\"address\":\"10.0.0.5/24\",\"interface\":\"0\"}],\"interfaces\":[{}]}",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct crib_error *err = NULL;
		char **ips = NULL;
		size_t n = 0;

		if (crib_cni_result_ips(bad[i], strlen(bad[i]), "eth0", &ips, &n, &err) != -EBADMSG)
			fail_msg("case %zu was accepted", i);
		assert_null(ips);
		assert_non_null(err);
		crib_error_free(err);
	}
}

static void test_error_results(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"boom\",\"details\":\"no bridge\"}",
	     "boom: no bridge"},
	    {"{\"code\":7,\"msg\":\"boom\"}", "boom"},
	    {"{\"code\":11}", "error code 11"},
	    {"{\"msg\":\"line one\\nline two\\n\"}", "line one line two"},
	    {"{\"cniVersion\":\"1.0.0\",\"ips\":[]}", NULL},
	    {"not json", NULL},
	};
	_cleanup_free_ char *long_msg = NULL;
	_cleanup_free_ char *text = NULL;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *got =
		    crib_cni_error_text(cases[i].text, strlen(cases[i].text));

		if (cases[i].want)
			assert_string_equal(got, cases[i].want);
		else
			assert_null(got);
	}
	long_msg = crib_xmalloc(5000);
	memset(long_msg, 'x', 4999);
	long_msg[4999] = '\0';
	text = crib_xasprintf("{\"code\":1,\"msg\":\"%s\"}", long_msg);
	free(long_msg);
	long_msg = crib_cni_error_text(text, strlen(text));
	assert_int_equal(strlen(long_msg), 1024);
}

static void test_host_network_and_capability_args(void **state)
{
	Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
/* The generated INIT macro fills deprecated fields too (seccomp_profile_path). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	Runtime__V1__LinuxSandboxSecurityContext sc =
	    RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
#pragma GCC diagnostic pop
	Runtime__V1__LinuxPodSandboxConfig lx = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__PortMapping pm[3] = {RUNTIME__V1__PORT_MAPPING__INIT,
	                                  RUNTIME__V1__PORT_MAPPING__INIT,
	                                  RUNTIME__V1__PORT_MAPPING__INIT};
	Runtime__V1__PortMapping *pms[3] = {&pm[0], &pm[1], &pm[2]};
	struct crib_config config = {
	    .cni_conf_dir = (char *)"/c", .cni_bin_dirs = (char *)"/b", .state_dir = (char *)"/s"};
	struct crib_cni_args a;

	(void)state;
	md.name = (char *)"web";
	md.namespace_ = (char *)"shop";
	md.uid = (char *)"u-1";
	cfg.metadata = &md;
	assert_false(crib_cni_host_network(&cfg));
	cfg.linux = &lx;
	lx.security_context = &sc;
	sc.namespace_options = &ns;
	ns.network = RUNTIME__V1__NAMESPACE_MODE__POD;
	assert_false(crib_cni_host_network(&cfg));
	ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	assert_true(crib_cni_host_network(&cfg));

	crib_cni_args_init(&a, &config, "f00d", &cfg, "/n", true);
	assert_null(a.runtime_config); /* no port mappings: nothing to offer */
	assert_string_equal(a.cache_dir, "/s/cni");
	crib_cni_args_clear(&a);
	pm[0] = (Runtime__V1__PortMapping){.base = pm[1].base,
	                                   .protocol = RUNTIME__V1__PROTOCOL__SCTP,
	                                   .container_port = 9,
	                                   .host_port = 90};
	pm[1].container_port = 80; /* host_port 0: none */
	pm[2] = (Runtime__V1__PortMapping){.base = pm[1].base,
	                                   .container_port = 443,
	                                   .host_port = 8443,
	                                   .host_ip = (char *)"10.0.0.1"};
	cfg.port_mappings = pms;
	cfg.n_port_mappings = 3;
	crib_cni_args_init(&a, &config, "f00d", &cfg, "/n", true);
	assert_string_equal(a.runtime_config,
	                    "{\"portMappings\":[{\"hostPort\":90,\"containerPort\":9,\"protocol\":"
	                    "\"sctp\"},{\"hostPort\":8443,\"containerPort\":443,\"protocol\":"
	                    "\"tcp\",\"hostIP\":\"10.0.0.1\"}]}");
	assert_string_equal(a.conf_dir, "/c");
	assert_string_equal(a.bin_dirs, "/b");
	assert_string_equal(a.netns, "/n");
	assert_true(a.make_netns);
	crib_cni_args_clear(&a);
}

/* Running plugins. */

/*
 * Logs "COMMAND TAG" and its stdin (one line) to $LOG; on ADD prints the
 * previous result with its own address added (TAG's last digit), or a new
 * result.  The log's path travels in the plugin configuration.
 */
static const char recorder[] =
    "#!/bin/sh\n"
    "in=$(cat)\n"
    "log=$(printf '%s' \"$in\" | sed 's/.*\"log\":\"\\([^\"]*\\)\".*/\\1/')\n"
    "tag=$(printf '%s' \"$in\" | sed 's/.*\"tag\":\"\\([^\"]*\\)\".*/\\1/')\n"
    "printf '%s %s %s %s\\n' \"$CNI_COMMAND\" \"$tag\" \"$CNI_NETNS\" \"$CNI_ARGS\" >>\"$log\"\n"
    "printf '%s\\n' \"$in\" >>\"$log\"\n"
    "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
    "n=${tag#p}\n"
    "printf '{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{"
    "\"address\":\"10.0.0.%s/24\",\"interface\":0}]}' \"$n\"\n";

static void write_list(struct fixture *f, const char *version, const char *extra)
{
	_cleanup_free_ char *text =
	    crib_xasprintf("{\"cniVersion\":\"%s\",\"name\":\"rec\",%s\"plugins\":["
	                   "{\"type\":\"rec\",\"tag\":\"p1\",\"log\":\"%s\"},"
	                   "{\"type\":\"rec\",\"tag\":\"p2\",\"log\":\"%s\",\"capabilities\":{"
	                   "\"portMappings\":true}}"
	                   "]}",
	                   version, extra, f->log, f->log);

	write_file(f->conf_dir, "10-rec.conflist", text, 0644);
	write_file(f->bin_dir, "rec", recorder, 0755);
}

static char *read_log(const struct fixture *f)
{
	char buf[65536];
	FILE *in = fopen(f->log, "re");
	size_t n;

	if (!in)
		return crib_xstrdup("");
	n = fread(buf, 1, sizeof(buf) - 1, in);
	buf[n] = '\0';
	(void)fclose(in);
	return crib_xstrdup(buf);
}

/* The log's lines for COMMAND, "TAG,TAG,...", in call order. */
static char *tags_of(const struct fixture *f, const char *command)
{
	_cleanup_free_ char *log = read_log(f);
	char *out = crib_xstrdup(""), *save = NULL;
	size_t len = strlen(command);

	for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *joined;

		if (strncmp(l, command, len) != 0 || l[len] != ' ')
			continue;
		joined = crib_xasprintf("%s%s%.2s", out, *out ? "," : "", l + len + 1);
		free(out);
		out = joined;
	}
	return out;
}

static bool cache_exists(const struct fixture *f)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/f00d.json", f->args.cache_dir);

	return access(path, F_OK) == 0;
}

static void test_add_chains_and_del_reverses(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *log = NULL, *adds = NULL, *dels = NULL;
	char **ips = NULL;
	size_t n = 0;
	bool checked = false;

	write_list(f, "1.0.0", "");
	assert_int_equal(crib_cni_pod_setup(&f->args, &ips, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ips[0], "10.0.0.2"); /* the last plugin's result */
	crib_strv_free(ips, n);
	assert_true(cache_exists(f));
	log = read_log(f);
	assert_non_null(strstr(log,
	                       "ADD p1 /proc/self/ns/net IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;"
	                       "K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=f00d;"
	                       "K8S_POD_UID=u-1\n"));
	/* p2 got p1's result, and the capability args it declares (only those). */
	assert_non_null(strstr(log, "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":[{"
	                            "\"name\":\"eth0\"}],\"ips\":[{\"address\":\"10.0.0.1/24\""));
	assert_non_null(strstr(log, "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":1}]}"));
	assert_null(strstr(log, "\"x\":2"));

	assert_int_equal(crib_cni_pod_check(&f->args, &checked, NULL), 0);
	assert_true(checked);
	assert_int_equal(crib_cni_pod_teardown(&f->args, NULL), 0);
	assert_false(cache_exists(f));
	adds = tags_of(f, "ADD");
	dels = tags_of(f, "DEL");
	assert_string_equal(adds, "p1,p2");
	assert_string_equal(dels, "p2,p1");
	free(log);
	log = tags_of(f, "CHECK");
	assert_string_equal(log, "p1,p2");
	/* Idempotent: nothing recorded, nothing to DEL. */
	assert_int_equal(crib_cni_pod_teardown(&f->args, NULL), 0);
	free(dels);
	dels = tags_of(f, "DEL");
	assert_string_equal(dels, "p2,p1");
}

static void test_del_uses_the_recorded_configuration(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = crib_xasprintf("%s/10-rec.conflist", f->conf_dir);
	_cleanup_free_ char *dels = NULL;
	char **ips = NULL;
	size_t n = 0;

	write_list(f, "1.0.0", "");
	assert_int_equal(crib_cni_pod_setup(&f->args, &ips, &n, NULL), 0);
	crib_strv_free(ips, n);
	/* The configuration goes away (or changes): DEL still runs the network the ADD used. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(crib_cni_pod_teardown(&f->args, NULL), 0);
	dels = tags_of(f, "DEL");
	assert_string_equal(dels, "p2,p1");
}

static void test_old_versions_get_no_check_and_no_prev_result_on_del(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *log = NULL;
	char **ips = NULL;
	size_t n = 0;
	bool checked = true;

	write_list(f, "0.3.1", "");
	assert_int_equal(crib_cni_pod_setup(&f->args, &ips, &n, NULL), 0);
	crib_strv_free(ips, n);
	assert_int_equal(crib_cni_pod_check(&f->args, &checked, NULL), 0);
	assert_false(checked);
	assert_int_equal(unlink(f->log), 0);
	assert_int_equal(crib_cni_pod_teardown(&f->args, NULL), 0);
	log = read_log(f);
	assert_non_null(strstr(log, "DEL p2"));
	assert_null(strstr(log, "prevResult"));
}

static void test_disable_check_skips_check(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *checks = NULL;
	char **ips = NULL;
	size_t n = 0;
	bool checked = true;

	write_list(f, "1.0.0", "\"disableCheck\":true,");
	assert_int_equal(crib_cni_pod_setup(&f->args, &ips, &n, NULL), 0);
	crib_strv_free(ips, n);
	assert_int_equal(crib_cni_pod_check(&f->args, &checked, NULL), 0);
	assert_false(checked);
	checks = tags_of(f, "CHECK");
	assert_string_equal(checks, "");
}

/* Sets up a list of "rec" then PLUGIN (script BODY); setup must fail with ERRNUM and MSG. */
static void setup_fails(struct fixture *f, const char *plugin, const char *body, int errnum,
                        const char *msg)
{
	_cleanup_free_ char *text =
	    crib_xasprintf("{\"cniVersion\":\"1.0.0\",\"name\":\"bad\",\"plugins\":["
	                   "{\"type\":\"rec\",\"tag\":\"p1\",\"log\":\"%s\"},{\"type\":\"%s\"}]}",
	                   f->log, plugin);
	_cleanup_free_ char *dels = NULL;
	struct crib_error *err = NULL;
	char **ips = NULL;
	size_t n = 0;

	write_file(f->conf_dir, "10-bad.conflist", text, 0644);
	write_file(f->bin_dir, "rec", recorder, 0755);
	if (body)
		write_file(f->bin_dir, plugin, body, 0755);
	assert_int_equal(crib_cni_pod_setup(&f->args, &ips, &n, &err), -errnum);
	assert_null(ips);
	assert_non_null(err);
	if (!strstr(crib_error_msg(err), msg))
		fail_msg("'%s' lacks '%s'", crib_error_msg(err), msg);
	crib_error_free(err);
	/* Nothing is left: DEL ran for the whole list, the record is gone. */
	assert_false(cache_exists(f));
	dels = tags_of(f, "DEL");
	assert_string_equal(dels, "p1");
}

static void test_plugin_error_result_is_the_message(void **state)
{
	setup_fails(*state, "fail",
	            "#!/bin/sh\n"
	            "[ \"$CNI_COMMAND\" = DEL ] && exit 0\n"
	            "echo '{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"boom\",\"details\":"
	            "\"no bridge\"}'\n"
	            "echo 'ignored' >&2\n"
	            "exit 1\n",
	            EIO, "CNI plugin 'fail' failed to ADD network 'bad': boom: no bridge");
}

static void test_plugin_stderr_or_status_without_error_result(void **state)
{
	struct fixture *f = *state;

	setup_fails(
	    f, "grumble",
	    "#!/bin/sh\n[ \"$CNI_COMMAND\" = DEL ] && exit 0\necho 'it broke' >&2\nexit 3\n", EIO,
	    "CNI plugin 'grumble' failed to ADD network 'bad': it broke");
	assert_int_equal(unlink(f->log), 0);
	setup_fails(f, "quiet", "#!/bin/sh\n[ \"$CNI_COMMAND\" = DEL ] && exit 0\nexit 3\n", EIO,
	            "CNI plugin 'quiet' failed to ADD network 'bad': exited with status 3");
	assert_int_equal(unlink(f->log), 0);
	setup_fails(f, "killed", "#!/bin/sh\n[ \"$CNI_COMMAND\" = DEL ] && exit 0\nkill -9 $$\n",
	            EIO, "failed to ADD network 'bad': killed by signal 9");
	assert_int_equal(unlink(f->log), 0);
	setup_fails(f, "mute", "#!/bin/sh\ncat >/dev/null\n", EIO,
	            "CNI plugin 'mute' returned no valid result");
}

static void test_missing_plugin_and_configuration(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *none =
	    crib_xasprintf("No CNI network configuration in '%s'", f->conf_dir);
	struct crib_error *err = NULL;
	char **ips = NULL;
	size_t n = 0;

	assert_int_equal(crib_cni_pod_setup(&f->args, &ips, &n, &err), -ENOEXEC);
	assert_string_equal(crib_error_msg(err), none);
	err = crib_error_free(err);
	setup_fails(f, "absent", NULL, ENOEXEC, "CNI plugin 'absent' not found in '/nonexistent:");
}

/* Gone, or a zombie waiting for whoever reaps orphans here. */
static bool process_gone(long pid)
{
	_cleanup_free_ char *path = crib_xasprintf("/proc/%ld/stat", pid);
	char buf[512];
	const char *paren;
	FILE *in = fopen(path, "re");
	size_t n;

	if (!in)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, in);
	(void)fclose(in);
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return !paren || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X';
}

static void test_hanging_plugin_is_killed(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *pidfile = crib_xasprintf("%s/hang.pid", f->dir);
	_cleanup_free_ char *body =
	    crib_xasprintf("#!/bin/sh\n[ \"$CNI_COMMAND\" = DEL ] && exit 0\n"
	                   "sleep 30 &\necho $! >%s\nwait\n",
	                   pidfile);
	struct timespec t0, t1;
	char buf[32] = "";
	long pid;
	FILE *in;

	f->args.timeout_ms = 300;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	setup_fails(f, "hang", body, ETIMEDOUT,
	            "CNI plugin 'hang' did not ADD network 'bad' within 300 ms and was killed");
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	/* The whole process group went, the plugin's own child included. */
	in = fopen(pidfile, "re");
	assert_non_null(in);
	assert_true(fread(buf, 1, sizeof(buf) - 1, in) > 0);
	(void)fclose(in);
	pid = strtol(buf, NULL, 10);
	assert_true(pid > 0);
	for (int i = 0; i < 200 && !process_gone(pid); i++)
		(void)usleep(10000);
	assert_true(process_gone(pid));
}

static void test_output_is_bounded(void **state)
{
	setup_fails(*state, "chatty",
	            "#!/bin/sh\n[ \"$CNI_COMMAND\" = DEL ] && exit 0\n"
	            "head -c 2000000 /dev/zero | tr '\\0' x\n",
	            EIO, "CNI plugin 'chatty' wrote more than 1048576 bytes; killed");
}

static void test_cni_args_values_are_checked(void **state)
{
	struct fixture *f = *state;
	struct crib_error *err = NULL;
	char **ips = NULL;
	size_t n = 0;

	write_list(f, "1.0.0", "");
	crib_strreplace(&f->args.name, "a;K8S_POD_NAME=b");
	assert_int_equal(crib_cni_pod_setup(&f->args, &ips, &n, &err), -EINVAL);
	assert_string_equal(crib_error_msg(err), "Pod sandbox name 'a;K8S_POD_NAME=b' cannot be "
	                                         "passed to CNI plugins: it contains ';' or '='");
	crib_error_free(err);
	assert_false(cache_exists(f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_is_parsed),
	    cmocka_unit_test(test_single_plugin_is_wrapped_into_a_list),
	    cmocka_unit_test(test_disable_check_as_bool_or_string),
	    cmocka_unit_test(test_bad_configurations_are_refused),
	    cmocka_unit_test_setup_teardown(test_load_takes_the_lexically_first_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_load_reports_none_and_broken, setup, teardown),
	    cmocka_unit_test(test_result_ips_prefer_ipv4_on_eth0),
	    cmocka_unit_test(test_bad_results_are_refused),
	    cmocka_unit_test(test_error_results),
	    cmocka_unit_test(test_host_network_and_capability_args),
	    cmocka_unit_test_setup_teardown(test_add_chains_and_del_reverses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_del_uses_the_recorded_configuration, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_old_versions_get_no_check_and_no_prev_result_on_del, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disable_check_skips_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plugin_error_result_is_the_message, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_plugin_stderr_or_status_without_error_result,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_plugin_and_configuration, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hanging_plugin_is_killed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_is_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cni_args_values_are_checked, setup, teardown),
	};

	/*
	 * As in cribd (daemon.c): a plugin that exits without reading its stdin
	 * makes the config write fail with EPIPE, which must not kill the process.
	 */
	(void)signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
