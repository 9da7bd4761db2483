/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration reader: defaults, every [daemon] key, the exact
 * "FILE:LINE: message" of every refusal, and how crib_config_load() walks
 * conf_dir.  Operators fix their files from these messages alone, so the
 * tests compare them whole.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "util.h"

#ifndef CRIB_PLUGIN_DIR
#define CRIB_PLUGIN_DIR "/usr/local/lib/crib/backends"
#endif

/* What the string reader calls the text it parses. */
#define NAME "crib.conf"

/* A scratch directory per test, for crib_config_load(). */
struct tmp {
	char dir[64];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int tmp_setup(void **state)
{
	struct tmp *t = crib_xcalloc(1, sizeof(*t));

	(void)snprintf(t->dir, sizeof(t->dir), "/tmp/crib-test-config-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	(void)nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

/* Writes TEXT to DIR/NAME and returns the full path (caller frees). */
static char *write_file(const char *dir, const char *name, const char *text)
{
	char *path = crib_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* The same, for files whose path the test does not need. */
static void put_file(const char *dir, const char *name, const char *text)
{
	free(write_file(dir, name, text));
}

static char *make_conf_dir(const char *dir)
{
	char *d = crib_xasprintf("%s/conf.d", dir);

	assert_int_equal(mkdir(d, 0755), 0);
	return d;
}

/* A main file whose conf_dir is DIR/conf.d, followed by EXTRA. */
static char *write_main(const char *dir, const char *extra)
{
	_cleanup_free_ char *text =
	    crib_xasprintf("[daemon]\nconf_dir = %s/conf.d\n%s", dir, extra);

	return write_file(dir, "crib.conf", text);
}

static struct crib_config *parse_ok(const char *text)
{
	struct crib_config *cfg = NULL;
	struct crib_error *err = NULL;
	int r;

	r = crib_config_parse_string(NAME, text, &cfg, &err);
	if (r < 0)
		fail_msg("unexpected error: %s", crib_error_msg(err));
	assert_null(err);
	assert_non_null(cfg);
	return cfg;
}

/* The text must be refused with -EINVAL and exactly MSG. */
static void parse_fails(const char *text, const char *msg)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	struct crib_config *cfg = NULL;

	assert_int_equal(crib_config_parse_string(NAME, text, &cfg, &err), -EINVAL);
	assert_null(cfg);
	assert_non_null(err);
	assert_int_equal(err->errnum, EINVAL);
	assert_string_equal(crib_error_msg(err), msg);
}

static void load_fails(const char *path, int r, const char *msg)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	struct crib_config *cfg = NULL;

	assert_int_equal(crib_config_load(path, &cfg, &err), r);
	assert_null(cfg);
	assert_non_null(err);
	assert_int_equal(err->errnum, -r);
	assert_string_equal(crib_error_msg(err), msg);
}

static void test_defaults_without_keys(void **state)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg =
	    parse_ok("; nothing but a comment\n");

	(void)state;
	assert_string_equal(cfg->path, NAME);
	assert_string_equal(cfg->cri_socket, "/run/crib/crib.sock");
	assert_string_equal(cfg->admin_socket, "/run/crib/admin.sock");
	assert_string_equal(cfg->state_dir, "/var/lib/crib");
	assert_string_equal(cfg->run_dir, "/run/crib");
	assert_string_equal(cfg->plugin_dir, CRIB_PLUGIN_DIR);
	assert_string_equal(cfg->conf_dir, "/etc/crib/conf.d");
	assert_string_equal(cfg->cni_conf_dir, "/etc/cni/net.d");
	assert_string_equal(cfg->cni_bin_dirs, "/opt/cni/bin:/usr/lib/cni");
	assert_string_equal(cfg->default_runtime_class, "");
	assert_int_equal(cfg->log_level, CRIB_LOG_INFO);
	assert_int_equal(cfg->log_format, CRIB_LOG_FORMAT_TEXT);
	assert_int_equal(cfg->workers, 8);
	assert_int_equal(cfg->cgroup_driver, CRIB_CGROUP_AUTO);
	assert_int_equal(cfg->n_classes, 0);
	assert_int_equal(cfg->n_backends, 0);
	assert_int_equal(cfg->n_files, 1);
	assert_string_equal(cfg->files[0], NAME);
}

static void test_every_daemon_key_is_parsed(void **state)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg =
	    parse_ok("[daemon]\n"
	             "cri_socket = /a/cri.sock\n"
	             "admin_socket = /a/admin.sock\n"
	             "state_dir = /a/state\n"
	             "run_dir = /a/run\n"
	             "plugin_dir = /a/plugins\n"
	             "conf_dir = /a/conf.d\n"
	             "cni_conf_dir = /a/cni\n"
	             "cni_bin_dirs = /a/bin:/b/bin\n"
	             "default_runtime_class = fast\n"
	             "log_level = debug\n"
	             "log_format = json\n"
	             "workers = 3\n"
	             "cgroup_driver = systemd\n"
	             "[runtime.fast]\n"
	             "backend = testproc\n");

	(void)state;
	assert_string_equal(cfg->cri_socket, "/a/cri.sock");
	assert_string_equal(cfg->admin_socket, "/a/admin.sock");
	assert_string_equal(cfg->state_dir, "/a/state");
	assert_string_equal(cfg->run_dir, "/a/run");
	assert_string_equal(cfg->plugin_dir, "/a/plugins");
	assert_string_equal(cfg->conf_dir, "/a/conf.d");
	assert_string_equal(cfg->cni_conf_dir, "/a/cni");
	assert_string_equal(cfg->cni_bin_dirs, "/a/bin:/b/bin");
	assert_string_equal(cfg->default_runtime_class, "fast");
	assert_int_equal(cfg->log_level, CRIB_LOG_DEBUG);
	assert_int_equal(cfg->log_format, CRIB_LOG_FORMAT_JSON);
	assert_int_equal(cfg->workers, 3);
	assert_int_equal(cfg->cgroup_driver, CRIB_CGROUP_SYSTEMD);
}

static void test_enumerated_values_are_parsed(void **state)
{
	static const struct {
		const char *text;
		int level;
	} levels[] = {
	    {"err", CRIB_LOG_ERR},   {"warning", CRIB_LOG_WARNING}, {"notice", CRIB_LOG_NOTICE},
	    {"info", CRIB_LOG_INFO}, {"debug", CRIB_LOG_DEBUG},
	};
	static const struct {
		const char *text;
		int driver;
	} drivers[] = {
	    {"auto", CRIB_CGROUP_AUTO},
	    {"cgroupfs", CRIB_CGROUP_CGROUPFS},
	    {"systemd", CRIB_CGROUP_SYSTEMD},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		_cleanup_free_ char *text =
		    crib_xasprintf("[daemon]\nlog_level = %s\nlog_format = text\n", levels[i].text);
		_cleanup_(crib_config_freep) struct crib_config *cfg = parse_ok(text);

		assert_int_equal(cfg->log_level, levels[i].level);
		assert_int_equal(cfg->log_format, CRIB_LOG_FORMAT_TEXT);
	}
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
		_cleanup_free_ char *text =
		    crib_xasprintf("[daemon]\ncgroup_driver = %s\n", drivers[i].text);
		_cleanup_(crib_config_freep) struct crib_config *cfg = parse_ok(text);

		assert_int_equal(cfg->cgroup_driver, drivers[i].driver);
	}
}

static void test_workers_bounds_are_accepted(void **state)
{
	_cleanup_(crib_config_freep) struct crib_config *one = parse_ok("[daemon]\nworkers = 1\n");
	_cleanup_(crib_config_freep) struct crib_config *max =
	    parse_ok("[daemon]\nworkers = 128\n");

	(void)state;
	assert_int_equal(one->workers, 1);
	assert_int_equal(max->workers, 128);
}

static void test_unknown_key_is_refused(void **state)
{
	(void)state;
	parse_fails("[daemon]\nworkers = 2\nbogus = 1\n",
	            NAME ":3: unknown key 'bogus' in [daemon]");
}

static void test_duplicate_key_names_first_line(void **state)
{
	(void)state;
	parse_fails("[daemon]\nworkers = 2\n\nworkers = 3\n",
	            NAME ":4: key 'workers' is already set at line 2");
}

static void test_relative_path_is_refused(void **state)
{
	(void)state;
	parse_fails("[daemon]\nstate_dir = var/lib/crib\n",
	            NAME ":2: state_dir must be an absolute path, not 'var/lib/crib'");
	parse_fails("[daemon]\n\ncri_socket = crib.sock\n",
	            NAME ":3: cri_socket must be an absolute path, not 'crib.sock'");
	parse_fails("[daemon]\ncni_bin_dirs = /opt/cni/bin:cni\n",
	            NAME ":2: cni_bin_dirs must be absolute paths separated by ':', not "
	                 "'/opt/cni/bin:cni'");
	parse_fails("[daemon]\ncni_bin_dirs = /opt/cni/bin:\n",
	            NAME ":2: cni_bin_dirs must be absolute paths separated by ':', not "
	                 "'/opt/cni/bin:'");
}

static void test_bad_log_level_is_refused(void **state)
{
	(void)state;
	parse_fails("[daemon]\nlog_level = loud\n",
	            NAME ":2: log_level 'loud' is not one of err, warning, notice, info, debug");
}

static void test_bad_log_format_and_cgroup_driver_are_refused(void **state)
{
	(void)state;
	parse_fails("[daemon]\nlog_format = xml\n",
	            NAME ":2: log_format 'xml' is not one of text, json");
	parse_fails("[daemon]\ncgroup_driver = cgroupv3\n",
	            NAME ":2: cgroup_driver 'cgroupv3' is not one of auto, cgroupfs, systemd");
}

static void test_workers_out_of_range_is_refused(void **state)
{
	static const char *const bad[] = {"0", "129", "-1", "12x", "99999999999999999999"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *text = crib_xasprintf("[daemon]\nworkers = %s\n", bad[i]);
		_cleanup_free_ char *msg =
		    crib_xasprintf(NAME ":2: workers '%s' is not a number from 1 to 128", bad[i]);

		parse_fails(text, msg);
	}
}

static void test_stream_settings(void **state)
{
	static const struct {
		const char *value, *address;
		unsigned port;
	} good[] = {
	    {"127.0.0.1", "127.0.0.1", 0},
	    {"10.0.0.1:10010", "10.0.0.1", 10010},
	    {"::1", "::1", 0},
	    {"[fd00::1]:443", "fd00::1", 443},
	    {"0.0.0.0:0", "0.0.0.0", 0},
	};
	static const char *const bad[] = {"localhost", "127.0.0.1:", "1.2.3.4:65536", "[::1",
	                                  "[::1]x",    "1.2.3.4:-1", "::1:80x"};

	(void)state;
	{
		_cleanup_(crib_config_freep) struct crib_config *cfg = parse_ok("[daemon]\n");

		assert_string_equal(cfg->stream_address, "127.0.0.1");
		assert_int_equal(cfg->stream_port, 0);
		assert_int_equal(cfg->stream_token_ttl, 60);
	}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		_cleanup_free_ char *text = crib_xasprintf(
		    "[daemon]\nstream_address = %s\nstream_max = 3\n", good[i].value);
		_cleanup_(crib_config_freep) struct crib_config *cfg = parse_ok(text);

		assert_string_equal(cfg->stream_address, good[i].address);
		assert_int_equal(cfg->stream_port, good[i].port);
		assert_int_equal(cfg->stream_max, 3);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *text =
		    crib_xasprintf("[daemon]\nstream_address = %s\n", bad[i]);
		_cleanup_free_ char *msg = crib_xasprintf(
		    NAME
		    ":2: stream_address '%s' is not a numeric IP address with an optional port "
		    "(127.0.0.1, 127.0.0.1:10010, [::1]:10010)",
		    bad[i]);

		parse_fails(text, msg);
	}
	parse_fails("[daemon]\nstream_token_ttl = 0\n",
	            NAME ":2: stream_token_ttl '0' is not a number from 1 to 3600 seconds");
}

static void test_unknown_section_is_refused(void **state)
{
	(void)state;
	parse_fails("[daemon]\nworkers = 2\n[runtimes.x]\n",
	            NAME ":3: unknown section [runtimes.x]: expected [daemon], [runtime.NAME], "
	                 "[backend.NAME] or [registry.HOST]");
}

static void test_registry_sections(void **state)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg =
	    parse_ok("[registry.docker.io]\n"
	             "mirror = http://127.0.0.1:5000/, https://m.example:8443\n"
	             "mirror = http://[::1]:5001\n"
	             "mirror_only = true\n"
	             "[registry.127.0.0.1:5000]\n"
	             "insecure = false\n"
	             "ca_file = /etc/ssl/local.pem\n"
	             "[registry.*]\n"
	             "insecure = true\n");
	const struct crib_config_registry *hub, *local, *other;

	(void)state;
	hub = crib_config_find_registry(cfg, "docker.io");
	local = crib_config_find_registry(cfg, "127.0.0.1:5000");
	other = crib_config_find_registry(cfg, "quay.io");
	assert_non_null(hub);
	assert_int_equal(hub->n_mirrors, 3);
	assert_string_equal(hub->mirrors[0], "http://127.0.0.1:5000");
	assert_string_equal(hub->mirrors[1], "https://m.example:8443");
	assert_string_equal(hub->mirrors[2], "http://[::1]:5001");
	assert_true(hub->mirror_only);
	assert_int_equal(hub->insecure, -1);
	assert_int_equal(hub->line, 1);
	assert_int_equal(local->insecure, 0);
	assert_string_equal(local->ca_file, "/etc/ssl/local.pem");
	assert_false(local->mirror_only);
	/* Hosts without their own section get [registry.*]. */
	assert_non_null(other);
	assert_string_equal(other->host, "*");
	assert_int_equal(other->insecure, 1);
}

static void test_registry_errors_name_the_line(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
	    {"[registry.a b]\n",
	     NAME ":1: registry 'a b' is not a host name with an optional port, "
	          "or '*'"},
	    {"[registry.x.io]\n[registry.x.io]\n",
	     NAME ":2: registry section 'x.io' is already defined at " NAME ":1"},
	    {"[registry.*]\nmirror = ftp://m\n",
	     NAME ":2: mirror 'ftp://m' is not an http:// or https:// URL"},
	    {"[registry.*]\nmirror = http://a,,http://b\n",
	     NAME ":2: mirror list has an empty entry"},
	    {"[registry.*]\nmirror = http://a/?x=1\n",
	     NAME ":2: mirror 'http://a/?x=1' has spaces, a query or a fragment"},
	    {"[registry.*]\n\nmirror_only = yes\n",
	     NAME ":3: mirror_only 'yes' is not one of true, false"},
	    {"[registry.*]\nca_file = certs/ca.pem\n",
	     NAME ":2: ca_file must be an absolute path, not 'certs/ca.pem'"},
	    {"[registry.*]\nproxy = http://p\n",
	     NAME ":2: unknown key 'proxy' in [registry.*]: expected mirror, mirror_only, insecure "
	          "or ca_file"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		parse_fails(cases[i].text, cases[i].msg);
}

static void test_malformed_section_headers_are_refused(void **state)
{
	(void)state;
	parse_fails("[daemon\n", NAME ":1: section header lacks its closing ']'");
	parse_fails("[runtime.a]\nbackend = b\n  [runtime.c]\n",
	            NAME ":3: section header is indented; start it at the beginning of the line");
}

static void test_runtime_without_backend_names_section_line(void **state)
{
	(void)state;
	parse_fails("[daemon]\n\n[runtime.slow]\nroot = /x\n",
	            NAME ":3: [runtime.slow] lacks the required key 'backend'");
}

static void test_runtime_backend_key_is_checked(void **state)
{
	(void)state;
	parse_fails("[runtime.a]\nbackend = b\nbackend = c\n",
	            NAME ":3: key 'backend' is already set at line 2");
	parse_fails("[runtime.a]\nbackend = B.so\n",
	            NAME ":2: backend 'B.so' is not a valid backend name (the module file name "
	                 "without .so)");
}

static void test_invalid_class_name_is_refused(void **state)
{
	_cleanup_free_ char *long_name = crib_xmalloc(65);
	_cleanup_free_ char *text = NULL, *msg = NULL;

	(void)state;
	parse_fails("[runtime.Fast]\nbackend = b\n",
	            NAME ":1: runtime class name 'Fast' is invalid: use 1 to 63 characters of "
	                 "a-z, 0-9, '-' and '_'");
	parse_fails("[backend.]\n", NAME ":1: backend section name '' is invalid: use 1 to 63 "
	                                 "characters of a-z, 0-9, '-' and '_'");
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	text = crib_xasprintf("[runtime.%s]\nbackend = b\n", long_name);
	msg = crib_xasprintf(NAME ":1: runtime class name '%s' is invalid: use 1 to 63 characters "
	                          "of a-z, 0-9, '-' and '_'",
	                     long_name);
	parse_fails(text, msg);
}

static void test_duplicate_class_in_one_file_names_first(void **state)
{
	(void)state;
	parse_fails("[runtime.a]\nbackend = b\n[runtime.a]\nbackend = c\n",
	            NAME ":3: runtime class 'a' is already defined at " NAME ":1");
}

static void test_default_class_must_exist(void **state)
{
	(void)state;
	parse_fails("[daemon]\n\ndefault_runtime_class = nope\n[runtime.yes]\nbackend = b\n",
	            NAME ":3: default_runtime_class 'nope' names no [runtime.nope] section");
	parse_fails("[daemon]\ndefault_runtime_class = No!\n",
	            NAME ":2: default_runtime_class 'No!' is not a valid runtime class name");
}

static void test_empty_default_class_means_none(void **state)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg =
	    parse_ok("[daemon]\ndefault_runtime_class =\n");

	(void)state;
	assert_string_equal(cfg->default_runtime_class, "");
}

static void test_overlong_line_is_refused(void **state)
{
	_cleanup_free_ char *fits = crib_xmalloc(256), *too_long = crib_xmalloc(256);
	_cleanup_free_ char *ok_text = NULL, *bad_text = NULL;
	_cleanup_(crib_config_freep) struct crib_config *cfg = NULL;

	(void)state;
	/* "state_dir = /" is 13 characters; pad each line to a total length. */
	memset(fits, 'x', 197 - 13);
	fits[197 - 13] = '\0';
	memset(too_long, 'x', 199 - 13);
	too_long[199 - 13] = '\0';
	ok_text = crib_xasprintf("[daemon]\nstate_dir = /%s\n", fits);
	bad_text = crib_xasprintf("[daemon]\nworkers = 2\nstate_dir = /%s\n", too_long);

	cfg = parse_ok(ok_text);
	assert_int_equal(strlen(cfg->state_dir), 197 - 12);
	parse_fails(bad_text, NAME ":3: line is longer than 197 characters; split list values over "
	                           "several lines");
}

static void test_key_before_any_section_is_refused(void **state)
{
	(void)state;
	parse_fails("# header\nworkers = 2\n", NAME ":2: key 'workers' appears before any section");
}

static void test_syntax_error_names_its_line(void **state)
{
	(void)state;
	parse_fails("[daemon]\nworkers = 2\nthis line has no equals sign\n",
	            NAME ":3: syntax error: expected [section] or key = value");
}

/*
 * inih (built with INI_ALLOW_BOM) strips a UTF-8 byte order mark from the
 * first line; the reader, which tracks section headers itself, must too.
 */
static void test_utf8_bom_is_accepted(void **state)
{
	struct crib_config *cfg = NULL;
	struct crib_error *err = NULL;
	char msg[256];
	unsigned workers = 0;
	int r;

	(void)state;
	/* Results are taken and freed first: a failed assertion must not leak. */
	r = crib_config_parse_string(NAME, "\xEF\xBB\xBF[daemon]\nworkers = 2\n", &cfg, &err);
	(void)snprintf(msg, sizeof(msg), "%s", r < 0 ? crib_error_msg(err) : "");
	workers = cfg ? cfg->workers : 0;
	cfg = crib_config_free(cfg);
	err = crib_error_free(err);
	if (r < 0)
		fail_msg("refused: %s", msg);
	assert_int_equal(workers, 2);
}

static void test_class_kv_keep_order_file_and_line(void **state)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg = parse_ok("[runtime.a]\n"
	                                                                "k1 = v1\n"
	                                                                "backend = be\n"
	                                                                "k2 = v2\n"
	                                                                "k1 = v3\n");
	const struct crib_config_section *s;

	(void)state;
	assert_int_equal(cfg->n_classes, 1);
	s = crib_config_find_class(cfg, "a");
	assert_ptr_equal(s, &cfg->classes[0]);
	assert_string_equal(s->name, "a");
	assert_string_equal(s->backend, "be");
	assert_string_equal(s->file, NAME);
	assert_int_equal(s->line, 1);
	assert_int_equal(s->backend_line, 3);
	assert_int_equal(s->n_kv, 3);
	assert_string_equal(s->kv[0].key, "k1");
	assert_string_equal(s->kv[0].value, "v1");
	assert_int_equal(s->kv[0].line, 2);
	assert_string_equal(s->kv[1].key, "k2");
	assert_string_equal(s->kv[1].value, "v2");
	assert_int_equal(s->kv[1].line, 4);
	assert_string_equal(s->kv[2].key, "k1");
	assert_string_equal(s->kv[2].value, "v3");
	assert_int_equal(s->kv[2].line, 5);
	for (size_t i = 0; i < s->n_kv; i++)
		assert_string_equal(s->kv[i].file, NAME);
	assert_null(crib_config_find_class(cfg, "b"));
}

static void test_continuation_lines_repeat_the_key(void **state)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg =
	    parse_ok("[runtime.a]\nbackend = be\nmounts = /one\n  /two\n");
	const struct crib_config_section *s = &cfg->classes[0];

	(void)state;
	assert_int_equal(s->n_kv, 2);
	assert_string_equal(s->kv[0].key, "mounts");
	assert_string_equal(s->kv[0].value, "/one");
	assert_int_equal(s->kv[0].line, 3);
	assert_string_equal(s->kv[1].key, "mounts");
	assert_string_equal(s->kv[1].value, "/two");
	assert_int_equal(s->kv[1].line, 4);
}

static void test_backend_sections_are_collected(void **state)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg =
	    parse_ok("[backend.lxc]\nlxcpath = /var/lib/lxc\n\n[backend.oci]\nruntime = crun\n");
	const struct crib_config_section *s;

	(void)state;
	assert_int_equal(cfg->n_classes, 0);
	assert_int_equal(cfg->n_backends, 2);
	s = crib_config_find_backend(cfg, "oci");
	assert_ptr_equal(s, &cfg->backends[1]);
	assert_null(s->backend);
	assert_int_equal(s->line, 4);
	assert_int_equal(s->n_kv, 1);
	assert_string_equal(s->kv[0].key, "runtime");
	assert_string_equal(s->kv[0].value, "crun");
	assert_int_equal(s->kv[0].line, 5);
	assert_string_equal(cfg->backends[0].name, "lxc");
	assert_null(crib_config_find_backend(cfg, "runc"));
}

static void test_load_reads_conf_dir_in_lexical_order(void **state)
{
	struct tmp *t = *state;
	_cleanup_free_ char *main_path = write_main(t->dir, "[runtime.main]\nbackend = m\n");
	_cleanup_free_ char *conf = make_conf_dir(t->dir);
	_cleanup_free_ char *b = write_file(conf, "20-b.conf", "\n[runtime.b]\nbackend = bb\n");
	_cleanup_free_ char *a =
	    write_file(conf, "10-a.conf", "[runtime.a]\nbackend = aa\nk = v\n");
	_cleanup_free_ char *subdir = crib_xasprintf("%s/18-dir.conf", conf);
	_cleanup_(crib_config_freep) struct crib_config *cfg = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	/* None of these is read. */
	put_file(conf, "15-x.conf.bak", "[runtime.bak]\n");
	put_file(conf, "16-x.txt", "garbage\n");
	put_file(conf, ".17-x.conf", "garbage\n");
	assert_int_equal(mkdir(subdir, 0755), 0);
	assert_int_equal(crib_config_load(main_path, &cfg, &err), 0);
	assert_null(err);
	assert_string_equal(cfg->path, main_path);
	assert_int_equal(cfg->n_files, 3);
	assert_string_equal(cfg->files[0], main_path);
	assert_string_equal(cfg->files[1], a);
	assert_string_equal(cfg->files[2], b);
	assert_int_equal(cfg->n_classes, 3);
	assert_string_equal(cfg->classes[0].name, "main");
	assert_string_equal(cfg->classes[1].name, "a");
	assert_string_equal(cfg->classes[2].name, "b");
	assert_string_equal(cfg->classes[1].file, a);
	assert_int_equal(cfg->classes[1].line, 1);
	assert_string_equal(cfg->classes[1].kv[0].file, a);
	assert_int_equal(cfg->classes[1].kv[0].line, 3);
	assert_string_equal(cfg->classes[2].file, b);
	assert_int_equal(cfg->classes[2].line, 2);
}

static void test_load_without_conf_dir_is_fine(void **state)
{
	struct tmp *t = *state;
	_cleanup_free_ char *main_path = write_main(t->dir, "[runtime.only]\nbackend = m\n");
	_cleanup_(crib_config_freep) struct crib_config *cfg = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	assert_int_equal(crib_config_load(main_path, &cfg, &err), 0);
	assert_null(err);
	assert_int_equal(cfg->n_files, 1);
	assert_int_equal(cfg->n_classes, 1);
}

static void test_load_conf_dir_not_a_directory_fails(void **state)
{
	struct tmp *t = *state;
	_cleanup_free_ char *main_path = write_main(t->dir, "");
	_cleanup_free_ char *msg =
	    crib_xasprintf("Failed to read conf_dir '%s/conf.d': %s", t->dir, strerror(ENOTDIR));

	put_file(t->dir, "conf.d", "");
	load_fails(main_path, -ENOTDIR, msg);
}

static void test_load_explicit_missing_file_fails(void **state)
{
	struct tmp *t = *state;
	_cleanup_free_ char *path = crib_xasprintf("%s/missing.conf", t->dir);
	_cleanup_free_ char *msg =
	    crib_xasprintf("Failed to open config file '%s': %s", path, strerror(ENOENT));

	load_fails(path, -ENOENT, msg);
}

/*
 * A read error must not pass for the end of the file (a truncated config
 * would be accepted).  The simplest case: an explicit --config naming a
 * directory (fopen succeeds, every read fails with EISDIR) fails like a
 * missing file does.
 */
static void test_load_refuses_directory_as_config(void **state)
{
	struct tmp *t = *state;
	struct crib_config *cfg = NULL;
	struct crib_error *err = NULL;
	bool names_path;
	int r;

	r = crib_config_load(t->dir, &cfg, &err);
	names_path = err && strstr(crib_error_msg(err), t->dir);
	cfg = crib_config_free(cfg);
	err = crib_error_free(err);
	if (r >= 0)
		fail_msg("directory '%s' was loaded as a config file", t->dir);
	assert_true(names_path);
}

static void test_load_refuses_daemon_in_conf_dir(void **state)
{
	struct tmp *t = *state;
	_cleanup_free_ char *main_path = write_main(t->dir, "");
	_cleanup_free_ char *conf = make_conf_dir(t->dir);
	_cleanup_free_ char *f =
	    write_file(conf, "10-x.conf", "; comment\n[daemon]\nworkers = 2\n");
	_cleanup_free_ char *msg =
	    crib_xasprintf("%s:2: [daemon] belongs in the main config file %s", f, main_path);

	load_fails(main_path, -EINVAL, msg);
}

static void test_load_duplicate_class_across_files(void **state)
{
	struct tmp *t = *state;
	_cleanup_free_ char *main_path = write_main(t->dir, "");
	_cleanup_free_ char *conf = make_conf_dir(t->dir);
	_cleanup_free_ char *a = write_file(conf, "10-a.conf", "\n\n[runtime.x]\nbackend = one\n");
	_cleanup_free_ char *b = write_file(conf, "20-b.conf", "[runtime.x]\nbackend = two\n");
	_cleanup_free_ char *msg =
	    crib_xasprintf("%s:1: runtime class 'x' is already defined at %s:3", b, a);

	load_fails(main_path, -EINVAL, msg);
}

static void test_load_errors_in_conf_dir_name_the_file(void **state)
{
	struct tmp *t = *state;
	_cleanup_free_ char *main_path = write_main(t->dir, "");
	_cleanup_free_ char *conf = make_conf_dir(t->dir);
	_cleanup_free_ char *a = write_file(conf, "10-a.conf", "[runtime.a]\nk = v\n");
	_cleanup_free_ char *msg =
	    crib_xasprintf("%s:1: [runtime.a] lacks the required key 'backend'", a);

	load_fails(main_path, -EINVAL, msg);
}

static void test_load_default_class_may_live_in_conf_dir(void **state)
{
	struct tmp *t = *state;
	_cleanup_free_ char *main_path = write_main(t->dir, "default_runtime_class = a\n");
	_cleanup_free_ char *conf = make_conf_dir(t->dir);
	_cleanup_(crib_config_freep) struct crib_config *cfg = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	put_file(conf, "10-a.conf", "[runtime.a]\nbackend = x\n");
	assert_int_equal(crib_config_load(main_path, &cfg, &err), 0);
	assert_string_equal(cfg->default_runtime_class, "a");
	assert_non_null(crib_config_find_class(cfg, "a"));
}

static void test_load_missing_default_class_names_main_file(void **state)
{
	struct tmp *t = *state;
	_cleanup_free_ char *main_path = write_main(t->dir, "\ndefault_runtime_class = gone\n");
	_cleanup_free_ char *msg = crib_xasprintf(
	    "%s:4: default_runtime_class 'gone' names no [runtime.gone] section", main_path);

	load_fails(main_path, -EINVAL, msg);
}

static void test_load_collects_backend_sections_from_all_files(void **state)
{
	struct tmp *t = *state;
	_cleanup_free_ char *main_path = write_main(t->dir, "[backend.one]\nx = 1\n");
	_cleanup_free_ char *conf = make_conf_dir(t->dir);
	_cleanup_free_ char *f = write_file(conf, "10-two.conf", "[backend.two]\ny = 2\nz = 3\n");
	_cleanup_(crib_config_freep) struct crib_config *cfg = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	const struct crib_config_section *two;

	assert_int_equal(crib_config_load(main_path, &cfg, &err), 0);
	assert_int_equal(cfg->n_backends, 2);
	assert_string_equal(cfg->backends[0].name, "one");
	assert_string_equal(cfg->backends[0].file, main_path);
	two = crib_config_find_backend(cfg, "two");
	assert_non_null(two);
	assert_string_equal(two->file, f);
	assert_int_equal(two->n_kv, 2);
	assert_string_equal(two->kv[1].key, "z");
	assert_string_equal(two->kv[1].file, f);
	assert_int_equal(two->kv[1].line, 3);
}

#define T(f)  cmocka_unit_test(f)
#define TT(f) cmocka_unit_test_setup_teardown(f, tmp_setup, tmp_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_defaults_without_keys),
	    T(test_every_daemon_key_is_parsed),
	    T(test_enumerated_values_are_parsed),
	    T(test_workers_bounds_are_accepted),
	    T(test_unknown_key_is_refused),
	    T(test_duplicate_key_names_first_line),
	    T(test_relative_path_is_refused),
	    T(test_bad_log_level_is_refused),
	    T(test_bad_log_format_and_cgroup_driver_are_refused),
	    T(test_workers_out_of_range_is_refused),
	    T(test_stream_settings),
	    T(test_unknown_section_is_refused),
	    T(test_registry_sections),
	    T(test_registry_errors_name_the_line),
	    T(test_malformed_section_headers_are_refused),
	    T(test_runtime_without_backend_names_section_line),
	    T(test_runtime_backend_key_is_checked),
	    T(test_invalid_class_name_is_refused),
	    T(test_duplicate_class_in_one_file_names_first),
	    T(test_default_class_must_exist),
	    T(test_empty_default_class_means_none),
	    T(test_overlong_line_is_refused),
	    T(test_key_before_any_section_is_refused),
	    T(test_syntax_error_names_its_line),
	    T(test_utf8_bom_is_accepted),
	    T(test_class_kv_keep_order_file_and_line),
	    T(test_continuation_lines_repeat_the_key),
	    T(test_backend_sections_are_collected),
	    TT(test_load_reads_conf_dir_in_lexical_order),
	    TT(test_load_without_conf_dir_is_fine),
	    TT(test_load_conf_dir_not_a_directory_fails),
	    TT(test_load_explicit_missing_file_fails),
	    TT(test_load_refuses_directory_as_config),
	    TT(test_load_refuses_daemon_in_conf_dir),
	    TT(test_load_duplicate_class_across_files),
	    TT(test_load_errors_in_conf_dir_name_the_file),
	    TT(test_load_default_class_may_live_in_conf_dir),
	    TT(test_load_missing_default_class_names_main_file),
	    TT(test_load_collects_backend_sections_from_all_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
