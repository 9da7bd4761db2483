/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The router's decisions for a new pod, on a router assembled by hand (no
 * module is loaded: classes and backends are linked into its lists with the
 * status a reload would have left), and the class snapshots the state store
 * keeps.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "backend.h"
#include "config.h"
#include "error.h"
#include "router.h"
#include "util.h"

#define SENTINEL ((struct crib_rclass *)(uintptr_t)0x5e5e)

static struct crib_rclass *class_from(const char *json)
{
	struct crib_rclass *c = NULL;
	struct crib_error *err = NULL;

	if (crib_rclass_from_snapshot(json, &c, &err) < 0)
		fail_msg("snapshot refused: %s", crib_error_msg(err));
	assert_non_null(c);
	return c;
}

static void rclassp(struct crib_rclass **c)
{
	crib_rclass_free(*c);
}

static void routerp(struct crib_router **rt)
{
	crib_router_free(*rt);
}

static struct crib_router *router_new(void)
{
	return crib_router_new(uv_default_loop(), "/nonexistent/plugins", "/nonexistent/state",
	                       "/nonexistent/run", NULL);
}

static struct crib_backend *add_backend(struct crib_router *rt, const char *name, int status,
                                        const char *error)
{
	struct crib_backend *b = crib_backend_new(name, rt->plugin_dir, NULL);

	b->status = status;
	b->error = crib_xstrdup(error);
	crib_list_add_tail(&rt->backends, &b->link);
	return b;
}

/* A class as a reload leaves it: linked, on backend B, active and opened as told. */
static struct crib_rclass *add_class(struct crib_router *rt, const char *name,
                                     struct crib_backend *b, bool active, bool opened)
{
	_cleanup_free_ char *json = crib_xasprintf(
	    "{\"name\":\"%s\",\"backend\":\"%s\",\"file\":\"/etc/crib/crib.conf\",\"line\":7,"
	    "\"kv\":[[\"root\",\"/x\",\"/etc/crib/crib.conf\",8]]}",
	    name, b->name);
	struct crib_rclass *c = class_from(json);

	c->rt = rt;
	c->backend = b;
	c->active = active;
	c->opened = opened;
	crib_list_add_tail(&rt->classes, &c->link);
	return c;
}

/* Resolving HANDLER must fail with R and exactly MSG, leaving *ret alone. */
static void resolve_fails(struct crib_router *rt, const char *handler, int r, const char *msg)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	struct crib_rclass *c = SENTINEL;

	assert_int_equal(crib_router_resolve(rt, handler, &c, &err), r);
	assert_ptr_equal(c, SENTINEL);
	assert_non_null(err);
	assert_int_equal(err->errnum, -r);
	assert_string_equal(crib_error_msg(err), msg);
}

static struct crib_rclass *resolve_ok(struct crib_router *rt, const char *handler)
{
	struct crib_error *err = NULL;
	struct crib_rclass *c = NULL;

	if (crib_router_resolve(rt, handler, &c, &err) < 0)
		fail_msg("resolve('%s') failed: %s", handler ? handler : "(null)",
		         crib_error_msg(err));
	assert_null(err);
	return c;
}

static void test_resolve_happy_path_returns_instance(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *b = add_backend(rt, "be", CRIB_BACKEND_HEALTHY, NULL);
	struct crib_rclass *other = add_class(rt, "other", b, true, true);
	struct crib_rclass *c = add_class(rt, "fast", b, true, true);

	(void)state;
	assert_ptr_equal(resolve_ok(rt, "fast"), c);
	assert_ptr_equal(resolve_ok(rt, "other"), other);
}

static void test_resolve_empty_handler_means_default(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *b = add_backend(rt, "be", CRIB_BACKEND_HEALTHY, NULL);
	struct crib_rclass *c;

	(void)state;
	(void)add_class(rt, "a", b, true, true);
	c = add_class(rt, "dflt", b, true, true);
	crib_strreplace(&rt->default_class, "dflt");
	assert_ptr_equal(resolve_ok(rt, ""), c);
	assert_ptr_equal(resolve_ok(rt, NULL), c);
}

static void test_resolve_without_default_fails(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *b = add_backend(rt, "be", CRIB_BACKEND_HEALTHY, NULL);

	(void)state;
	(void)add_class(rt, "a", b, true, true);
	resolve_fails(rt, "", -ENOENT,
	              "No runtime handler was given and no default_runtime_class is configured");
	resolve_fails(rt, NULL, -ENOENT,
	              "No runtime handler was given and no default_runtime_class is configured");
}

static void test_resolve_unknown_handler_names_it(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *b = add_backend(rt, "be", CRIB_BACKEND_HEALTHY, NULL);

	(void)state;
	(void)add_class(rt, "a", b, true, true);
	resolve_fails(rt, "zzz", -ENOENT, "Runtime handler 'zzz' is not configured");
}

static void test_resolve_missing_default_class_fails(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();

	(void)state;
	crib_strreplace(&rt->default_class, "gone");
	resolve_fails(rt, "", -ENOENT, "Runtime handler 'gone' is not configured");
}

static void test_resolve_retired_class_was_removed(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *b = add_backend(rt, "be", CRIB_BACKEND_HEALTHY, NULL);

	(void)state;
	(void)add_class(rt, "old", b, false, true);
	resolve_fails(rt, "old", -ENOENT,
	              "Runtime handler 'old' was removed from the configuration; its existing "
	              "pods keep running");
}

static void test_resolve_prefers_active_over_retired(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *b = add_backend(rt, "be", CRIB_BACKEND_HEALTHY, NULL);
	struct crib_rclass *c;

	(void)state;
	(void)add_class(rt, "x", b, false, true);
	c = add_class(rt, "x", b, true, true);
	assert_ptr_equal(resolve_ok(rt, "x"), c);
	assert_ptr_equal(crib_router_find_active(rt, "x"), c);
}

static void test_resolve_load_failed_backend_is_enoexec(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *bad =
	    add_backend(rt, "bad", CRIB_BACKEND_LOAD_FAILED, "cannot open shared object file");
	struct crib_backend *never = add_backend(rt, "never", CRIB_BACKEND_UNLOADED, NULL);

	(void)state;
	(void)add_class(rt, "a", bad, true, false);
	(void)add_class(rt, "b", never, true, false);
	resolve_fails(rt, "a", -ENOEXEC,
	              "Runtime handler 'a': backend 'bad' cannot be loaded: cannot open shared "
	              "object file");
	resolve_fails(rt, "b", -ENOEXEC,
	              "Runtime handler 'b': backend 'never' cannot be loaded: not loaded");
}

static void test_resolve_init_failed_or_unhealthy_is_eagain(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *init = add_backend(rt, "init", CRIB_BACKEND_INIT_FAILED, "no daemon");
	struct crib_backend *sick = add_backend(rt, "sick", CRIB_BACKEND_UNHEALTHY, NULL);

	(void)state;
	(void)add_class(rt, "a", init, true, true);
	(void)add_class(rt, "b", sick, true, true);
	resolve_fails(rt, "a", -EAGAIN,
	              "Runtime handler 'a': backend 'init' is unavailable: no daemon");
	resolve_fails(rt, "b", -EAGAIN,
	              "Runtime handler 'b': backend 'sick' is unavailable: "
	              "unhealthy");
}

static void test_resolve_unopened_class_is_enoexec(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *b = add_backend(rt, "be", CRIB_BACKEND_HEALTHY, NULL);
	struct crib_rclass *c;

	(void)state;
	c = add_class(rt, "a", b, true, false);
	(void)add_class(rt, "b", b, true, false);
	c->error = crib_xstrdup("/etc/crib/crib.conf:8: root does not exist");
	resolve_fails(rt, "a", -ENOEXEC,
	              "Runtime handler 'a' is misconfigured: /etc/crib/crib.conf:8: root does not "
	              "exist");
	resolve_fails(rt, "b", -ENOEXEC, "Runtime handler 'b' is misconfigured: not opened");
}

static void test_router_lookups(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *b = add_backend(rt, "be", CRIB_BACKEND_HEALTHY, NULL);
	struct crib_rclass *c = add_class(rt, "a", b, true, true);

	(void)state;
	assert_ptr_equal(crib_router_backend(rt, "be"), b);
	assert_null(crib_router_backend(rt, "nope"));
	assert_ptr_equal(crib_router_find(rt, "a", c->fingerprint), c);
	assert_null(crib_router_find(rt, "a", "{}"));
	assert_null(crib_router_find_active(rt, "nope"));
}

static void test_unused_retired_instance_goes_on_last_unref(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_backend *b = add_backend(rt, "be", CRIB_BACKEND_HEALTHY, NULL);
	struct crib_rclass *keep = add_class(rt, "keep", b, true, false);
	struct crib_rclass *old = add_class(rt, "old", b, false, false);
	_cleanup_free_ char *fp = crib_xstrdup(old->fingerprint);

	(void)state;
	crib_rclass_ref(old);
	crib_rclass_ref(old);
	crib_rclass_unref(old);
	assert_ptr_equal(crib_router_find(rt, "old", fp), old); /* one pod still uses it */
	crib_rclass_unref(old);
	assert_null(crib_router_find(rt, "old", fp));

	crib_rclass_ref(keep);
	crib_rclass_unref(keep);
	assert_ptr_equal(crib_router_find_active(rt, "keep"), keep);
}

static const char full_snapshot[] =
    "{\"name\":\"fast\",\"backend\":\"oci\",\"file\":\"/etc/crib/conf.d/10-fast.conf\","
    "\"line\":3,\"kv\":[[\"runtime\",\"crun\",\"/etc/crib/conf.d/10-fast.conf\",5],"
    "[\"root\",\"/run/crun\",\"/etc/crib/conf.d/10-fast.conf\",6],"
    "[\"runtime\",\"runc\",\"/etc/crib/conf.d/10-fast.conf\",9]]}";

static void test_snapshot_round_trip_keeps_everything(void **state)
{
	_cleanup_(rclassp) struct crib_rclass *c = class_from(full_snapshot);
	_cleanup_(rclassp) struct crib_rclass *back = NULL;
	const char *snap;

	(void)state;
	assert_string_equal(c->pub.name, "fast");
	assert_string_equal(c->backend_name, "oci");
	assert_string_equal(c->pub.file, "/etc/crib/conf.d/10-fast.conf");
	assert_int_equal(c->pub.line, 3);
	assert_int_equal(c->n_kv, 3);
	assert_ptr_equal(c->pub.kv, c->kv);
	assert_int_equal(c->pub.n_kv, 3);
	assert_false(c->opened);
	assert_null(c->backend);

	snap = crib_rclass_snapshot(c);
	assert_ptr_equal(crib_rclass_snapshot(c), snap); /* made once */
	back = class_from(snap);
	assert_string_equal(back->pub.name, c->pub.name);
	assert_string_equal(back->backend_name, c->backend_name);
	assert_string_equal(back->pub.file, c->pub.file);
	assert_int_equal(back->pub.line, c->pub.line);
	assert_int_equal(back->n_kv, c->n_kv);
	for (size_t i = 0; i < c->n_kv; i++) {
		assert_string_equal(back->kv[i].key, c->kv[i].key);
		assert_string_equal(back->kv[i].value, c->kv[i].value);
		assert_string_equal(back->kv[i].file, c->kv[i].file);
		assert_int_equal(back->kv[i].line, c->kv[i].line);
	}
	assert_string_equal(back->kv[2].value, "runc");
	assert_int_equal(back->kv[2].line, 9);
	assert_string_equal(back->fingerprint, c->fingerprint);
	assert_string_equal(crib_rclass_snapshot(back), snap);
}

static void test_snapshot_without_kv_round_trips(void **state)
{
	_cleanup_(rclassp) struct crib_rclass *c =
	    class_from("{\"name\":\"a\",\"backend\":\"b\",\"file\":\"f\",\"line\":1,\"kv\":[]}");
	_cleanup_(rclassp) struct crib_rclass *back = NULL;

	(void)state;
	assert_int_equal(c->n_kv, 0);
	back = class_from(crib_rclass_snapshot(c));
	assert_int_equal(back->n_kv, 0);
	assert_string_equal(back->fingerprint, c->fingerprint);
}

/* A snapshot of class NAME on BACKEND with one key, written at FILE:LINE. */
static struct crib_rclass *one_key_class(const char *name, const char *backend, const char *key,
                                         const char *value, const char *file, int line)
{
	_cleanup_free_ char *json =
	    crib_xasprintf("{\"name\":\"%s\",\"backend\":\"%s\",\"file\":\"%s\",\"line\":%d,"
	                   "\"kv\":[[\"%s\",\"%s\",\"%s\",%d]]}",
	                   name, backend, file, line, key, value, file, line + 1);

	return class_from(json);
}

static void test_fingerprint_ignores_where_keys_were_written(void **state)
{
	_cleanup_(rclassp) struct crib_rclass *a = one_key_class("c", "oci", "k", "v", "/a", 1);
	_cleanup_(rclassp) struct crib_rclass *b = one_key_class("c", "oci", "k", "v", "/b", 40);

	(void)state;
	assert_string_equal(a->fingerprint, b->fingerprint);
	assert_string_not_equal(crib_rclass_snapshot(a), crib_rclass_snapshot(b));
}

static void test_fingerprint_changes_with_backend_key_or_value(void **state)
{
	_cleanup_(rclassp) struct crib_rclass *a = one_key_class("c", "oci", "k", "v", "/a", 1);
	_cleanup_(rclassp) struct crib_rclass *value = one_key_class("c", "oci", "k", "w", "/a", 1);
	_cleanup_(rclassp) struct crib_rclass *key = one_key_class("c", "oci", "j", "v", "/a", 1);
	_cleanup_(rclassp) struct crib_rclass *be = one_key_class("c", "lxc", "k", "v", "/a", 1);

	(void)state;
	assert_string_not_equal(a->fingerprint, value->fingerprint);
	assert_string_not_equal(a->fingerprint, key->fingerprint);
	assert_string_not_equal(a->fingerprint, be->fingerprint);
}

static void test_malformed_snapshots_are_refused(void **state)
{
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[]",
	    "{\"name\":\"a\",\"backend\":\"b\",\"file\":\"f\",\"line\":1}",
	    "{\"name\":\"a\",\"backend\":\"b\",\"file\":\"f\",\"line\":\"1\",\"kv\":[]}",
	    "{\"name\":\"a\",\"backend\":\"b\",\"file\":\"f\",\"line\":1,\"kv\":{}}",
	    "{\"name\":\"A\",\"backend\":\"b\",\"file\":\"f\",\"line\":1,\"kv\":[]}",
	    "{\"name\":\"a\",\"backend\":\"b.so\",\"file\":\"f\",\"line\":1,\"kv\":[]}",
	    "{\"name\":\"\",\"backend\":\"b\",\"file\":\"f\",\"line\":1,\"kv\":[]}",
	    "{\"name\":\"a\",\"backend\":\"b\",\"file\":\"f\",\"line\":1,\"kv\":[[\"k\",\"v\","
	    "\"f\"]]}",
	    "{\"name\":\"a\",\"backend\":\"b\",\"file\":\"f\",\"line\":1,\"kv\":[[\"k\",1,\"f\",2]]"
	    "}",
	    "{\"name\":\"a\",\"backend\":\"b\",\"file\":\"f\",\"line\":1,\"kv\":[\"k=v\"]}",
	    "{\"name\":\"a\",\"backend\":\"b\",\"file\":\"f\",\"line\":1,\"kv\":[]} trailing",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_(crib_error_freep) struct crib_error *err = NULL;
		struct crib_rclass *c = SENTINEL;

		if (crib_rclass_from_snapshot(bad[i], &c, &err) != -EINVAL)
			fail_msg("snapshot %zu was not refused: %s", i, bad[i]);
		assert_ptr_equal(c, SENTINEL);
		assert_non_null(err);
		assert_int_equal(err->errnum, EINVAL);
		assert_non_null(strstr(crib_error_msg(err), "Class snapshot "));
	}
}

static void test_malformed_key_names_its_index(void **state)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	struct crib_rclass *c = SENTINEL;

	(void)state;
	assert_int_equal(
	    crib_rclass_from_snapshot("{\"name\":\"a\",\"backend\":\"b\",\"file\":\"f\","
	                              "\"line\":1,\"kv\":[[\"k\",\"v\",\"f\",2],[]]}",
	                              &c, &err),
	    -EINVAL);
	assert_ptr_equal(c, SENTINEL);
	assert_string_equal(crib_error_msg(err), "Class snapshot key 1 is malformed");
}

/* A snapshot that parses but fails a later check still says what is wrong. */
static void test_malformed_snapshot_says_why(void **state)
{
	static const char *const bad[] = {
	    "{\"name\":\"A\",\"backend\":\"b\",\"file\":\"f\",\"line\":1,\"kv\":[]}",
	    "{\"name\":\"a\",\"backend\":\"b\",\"file\":\"f\",\"line\":1,\"kv\":{}}",
	};
	static const char prefix[] = "Class snapshot is malformed: ";

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct crib_error *err = NULL;
		struct crib_rclass *c = NULL;
		char msg[256];
		int r;

		r = crib_rclass_from_snapshot(bad[i], &c, &err);
		(void)snprintf(msg, sizeof(msg), "%s", crib_error_msg(err));
		err = crib_error_free(err);
		assert_int_equal(r, -EINVAL);
		if (strlen(msg) <= strlen(prefix))
			fail_msg("snapshot %zu: message '%s' gives no reason", i, msg);
	}
}

static void on_reloaded(struct crib_router *rt, void *user)
{
	(void)rt;
	*(bool *)user = true;
}

/*
 * Starts a reload to TEXT (read as config file NAME) on LOOP and runs the
 * loop until it is done.  The plugin directory does not exist, so every
 * backend fails to load and no module code runs.  Returns 0, or what failed
 * as a negative number (for use in a child process, without cmocka).
 */
static int reload_on(uv_loop_t *loop, struct crib_router *rt, const char *name, const char *text)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	bool done = false;
	int r;

	r = crib_config_parse_string(name, text, &cfg, &err);
	if (r < 0)
		return r;
	r = crib_router_reload(rt, loop, cfg, NULL, 0, on_reloaded, &done);
	if (r < 0)
		return r;
	if (crib_router_reload(rt, loop, cfg, NULL, 0, on_reloaded, &done) != -EBUSY)
		return -EINVAL; /* one reload at a time */
	(void)uv_run(loop, UV_RUN_DEFAULT);
	return done ? 0 : -ETIMEDOUT;
}

static void reload(struct crib_router *rt, const char *text)
{
	assert_int_equal(reload_on(uv_default_loop(), rt, "/etc/crib/crib.conf", text), 0);
	assert_false(rt->reloading);
}

static void test_reload_with_unloadable_backend_refuses_class(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	static const char prefix[] = "Runtime handler 'a': backend 'nope' cannot be loaded: Failed "
	                             "to load backend module '/nonexistent/plugins/nope.so': ";
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	struct crib_rclass *c, *got = SENTINEL;

	(void)state;
	reload(rt, "[daemon]\ndefault_runtime_class = a\n[runtime.a]\nbackend = nope\nroot = /x\n");
	c = crib_router_find_active(rt, "a");
	assert_non_null(c);
	assert_non_null(c->backend);
	assert_ptr_equal(crib_router_backend(rt, "nope"), c->backend);
	assert_int_equal(c->backend->status, CRIB_BACKEND_LOAD_FAILED);
	assert_false(c->opened);
	assert_string_equal(rt->default_class, "a");
	assert_int_equal(crib_router_resolve(rt, "", &got, &err), -ENOEXEC);
	assert_ptr_equal(got, SENTINEL);
	assert_int_equal(strncmp(crib_error_msg(err), prefix, strlen(prefix)), 0);
}

static void test_reload_dropping_a_class_retires_it(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_rclass *b;

	(void)state;
	reload(rt, "[runtime.a]\nbackend = nope\n[runtime.b]\nbackend = nope\n");
	b = crib_router_find_active(rt, "b");
	assert_non_null(b);
	crib_rclass_ref(b); /* a pod uses it */
	reload(rt, "[runtime.a]\nbackend = nope\n");
	assert_null(crib_router_find_active(rt, "b"));
	assert_false(b->active);
	resolve_fails(rt, "b", -ENOENT,
	              "Runtime handler 'b' was removed from the configuration; its existing "
	              "pods keep running");
	crib_rclass_unref(b); /* the last pod went: the instance goes too */
	assert_ptr_equal(rt->classes.next, rt->classes.prev); /* only "a" is left */
}

/*
 * Class settings reach the state store as JSON, which is UTF-8 only, so the
 * config parser refuses a value or a file name that is not, naming where.
 * Before, such a value vanished from the fingerprint and a reload that
 * changed only it kept the old instance.
 */
static void test_reload_refuses_non_utf8_value(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	_cleanup_(crib_config_freep) struct crib_config *cfg = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	(void)state;
	assert_int_equal(crib_config_parse_string("/etc/crib/crib.conf",
	                                          "[runtime.a]\nbackend = nope\nroot = /caf\xe9\n",
	                                          &cfg, &err),
	                 -EINVAL);
	assert_null(cfg);
	assert_string_equal(crib_error_msg(err),
	                    "/etc/crib/crib.conf:3: the value of key 'root' is not valid UTF-8");
	assert_int_equal(reload_on(uv_default_loop(), rt, "/etc/crib/crib.conf",
	                           "[runtime.a]\nbackend = nope\nroot = /caf\xe9\n"),
	                 -EINVAL);
	assert_null(crib_router_find_active(rt, "a"));
}

static void test_reload_refuses_non_utf8_file_name(void **state)
{
	_cleanup_(crib_config_freep) struct crib_config *cfg = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;

	(void)state;
	assert_int_equal(crib_config_parse_string("/etc/crib/conf.d/caf\xe9.conf",
	                                          "[runtime.a]\nbackend = nope\n", &cfg, &err),
	                 -EINVAL);
	assert_non_null(strstr(crib_error_msg(err), "is not valid UTF-8; rename it"));
}

/* Snapshots of what the parser accepts never fail, and survive the store's round trip. */
static void test_snapshot_of_parsed_class_round_trips(void **state)
{
	_cleanup_(routerp) struct crib_router *rt = router_new();
	struct crib_rclass *c, *back;

	(void)state;
	reload(rt, "[runtime.a]\nbackend = nope\nroot = /caf\xc3\xa9\n");
	c = crib_router_find_active(rt, "a");
	assert_non_null(c);
	assert_non_null(crib_rclass_snapshot(c));
	back = class_from(crib_rclass_snapshot(c));
	assert_string_equal(back->fingerprint, c->fingerprint);
	assert_string_equal(back->kv[0].value, "/caf\xc3\xa9");
	crib_rclass_free(back);
}

static int teardown_loop(void **state)
{
	(void)state;
	(void)uv_loop_close(uv_default_loop());
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve_happy_path_returns_instance),
	    cmocka_unit_test(test_resolve_empty_handler_means_default),
	    cmocka_unit_test(test_resolve_without_default_fails),
	    cmocka_unit_test(test_resolve_unknown_handler_names_it),
	    cmocka_unit_test(test_resolve_missing_default_class_fails),
	    cmocka_unit_test(test_resolve_retired_class_was_removed),
	    cmocka_unit_test(test_resolve_prefers_active_over_retired),
	    cmocka_unit_test(test_resolve_load_failed_backend_is_enoexec),
	    cmocka_unit_test(test_resolve_init_failed_or_unhealthy_is_eagain),
	    cmocka_unit_test(test_resolve_unopened_class_is_enoexec),
	    cmocka_unit_test(test_router_lookups),
	    cmocka_unit_test(test_unused_retired_instance_goes_on_last_unref),
	    cmocka_unit_test(test_snapshot_round_trip_keeps_everything),
	    cmocka_unit_test(test_snapshot_without_kv_round_trips),
	    cmocka_unit_test(test_fingerprint_ignores_where_keys_were_written),
	    cmocka_unit_test(test_fingerprint_changes_with_backend_key_or_value),
	    cmocka_unit_test(test_malformed_snapshots_are_refused),
	    cmocka_unit_test(test_malformed_key_names_its_index),
	    cmocka_unit_test(test_malformed_snapshot_says_why),
	    cmocka_unit_test(test_reload_with_unloadable_backend_refuses_class),
	    cmocka_unit_test(test_reload_dropping_a_class_retires_it),
	    cmocka_unit_test(test_reload_refuses_non_utf8_value),
	    cmocka_unit_test(test_reload_refuses_non_utf8_file_name),
	    cmocka_unit_test(test_snapshot_of_parsed_class_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_loop);
}
