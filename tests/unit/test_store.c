/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite state store in a scratch directory: every column of a pod and a
 * container row survives a put and a load (also across a close and reopen),
 * replaces update in place, loads come in creation order, and a store from a
 * newer cribd is left alone.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "error.h"
#include "store.h"
#include "util.h"

#define MAX_ROWS 8

/* A deep copy of one loaded row (load callbacks only borrow). */
struct pod_row {
	char *id, *class_name, *class_snapshot, *ip, *netns, *additional_ips;
	int phase;
	uint32_t state;
	int64_t created_at;
	uint8_t *config;
	size_t config_len;
	void *priv;
	size_t priv_len;
};

struct ctr_row {
	char *id, *pod_id, *reason, *message, *log_path, *image_id;
	int phase;
	uint32_t state;
	int64_t created_at, started_at, finished_at;
	int32_t exit_code;
	uint8_t *config;
	size_t config_len;
	void *priv;
	size_t priv_len;
};

struct loaded {
	struct pod_row pods[MAX_ROWS];
	size_t n_pods;
	struct ctr_row ctrs[MAX_ROWS];
	size_t n_ctrs;
	char order[512]; /* "p:ID c:ID ..." in callback order */
	int stop_at;     /* callback number (1-based) that returns -42; 0 never */
	int calls;
};

struct fixture {
	char dir[64];
	struct crib_store *st;
	struct loaded *ld;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static struct crib_store *open_ok(const char *dir)
{
	struct crib_store *st = NULL;
	struct crib_error *err = NULL;

	if (crib_store_open(dir, &st, &err) < 0)
		fail_msg("crib_store_open: %s", crib_error_msg(err));
	assert_null(err);
	assert_non_null(st);
	return st;
}

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/crib-test-store-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	f->ld = crib_xcalloc(1, sizeof(*f->ld));
	f->st = open_ok(f->dir);
	*state = f;
	return 0;
}

static void free_loaded(struct loaded *ld)
{
	for (size_t i = 0; i < ld->n_pods; i++) {
		struct pod_row *p = &ld->pods[i];

		free(p->id);
		free(p->class_name);
		free(p->class_snapshot);
		free(p->ip);
		free(p->netns);
		free(p->additional_ips);
		free(p->config);
		free(p->priv);
	}
	for (size_t i = 0; i < ld->n_ctrs; i++) {
		struct ctr_row *c = &ld->ctrs[i];

		free(c->id);
		free(c->pod_id);
		free(c->reason);
		free(c->message);
		free(c->log_path);
		free(c->image_id);
		free(c->config);
		free(c->priv);
	}
	free(ld);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	crib_store_close(f->st);
	free_loaded(f->ld);
	(void)nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void note(struct loaded *ld, char kind, const char *id)
{
	size_t len = strlen(ld->order);

	(void)snprintf(ld->order + len, sizeof(ld->order) - len, "%s%c:%s", len ? " " : "", kind,
	               id);
}

static int on_pod(const struct crib_store_pod *p, void *user)
{
	struct loaded *ld = user;
	struct pod_row *r;

	if (++ld->calls == ld->stop_at)
		return -42;
	assert_true(ld->n_pods < MAX_ROWS);
	r = &ld->pods[ld->n_pods++];
	*r = (struct pod_row){
	    .id = crib_xstrdup(p->id),
	    .class_name = crib_xstrdup(p->class_name),
	    .class_snapshot = crib_xstrdup(p->class_snapshot),
	    .ip = crib_xstrdup(p->ip),
	    .netns = crib_xstrdup(p->netns),
	    .additional_ips = crib_xstrdup(p->additional_ips),
	    .phase = p->phase,
	    .state = p->state,
	    .created_at = p->created_at,
	    .config = crib_xmemdup(p->config, p->config_len),
	    .config_len = p->config_len,
	    .priv = crib_xmemdup(p->priv, p->priv_len),
	    .priv_len = p->priv_len,
	};
	note(ld, 'p', p->id);
	return 0;
}

static int on_container(const struct crib_store_container *c, void *user)
{
	struct loaded *ld = user;
	struct ctr_row *r;

	if (++ld->calls == ld->stop_at)
		return -42;
	assert_true(ld->n_ctrs < MAX_ROWS);
	r = &ld->ctrs[ld->n_ctrs++];
	*r = (struct ctr_row){
	    .id = crib_xstrdup(c->id),
	    .pod_id = crib_xstrdup(c->pod_id),
	    .reason = crib_xstrdup(c->reason),
	    .message = crib_xstrdup(c->message),
	    .log_path = crib_xstrdup(c->log_path),
	    .image_id = crib_xstrdup(c->image_id),
	    .phase = c->phase,
	    .state = c->state,
	    .created_at = c->created_at,
	    .started_at = c->started_at,
	    .finished_at = c->finished_at,
	    .exit_code = c->exit_code,
	    .config = crib_xmemdup(c->config, c->config_len),
	    .config_len = c->config_len,
	    .priv = crib_xmemdup(c->priv, c->priv_len),
	    .priv_len = c->priv_len,
	};
	note(ld, 'c', c->id);
	return 0;
}

static void load(struct fixture *f)
{
	struct crib_error *err = NULL;

	free_loaded(f->ld);
	f->ld = crib_xcalloc(1, sizeof(*f->ld));
	if (crib_store_load(f->st, on_pod, on_container, f->ld, &err) < 0)
		fail_msg("crib_store_load: %s", crib_error_msg(err));
	assert_null(err);
}

static void put_pod(struct crib_store *st, const struct crib_store_pod *p)
{
	struct crib_error *err = NULL;

	if (crib_store_put_pod(st, p, &err) < 0)
		fail_msg("crib_store_put_pod: %s", crib_error_msg(err));
}

static void put_container(struct crib_store *st, const struct crib_store_container *c)
{
	struct crib_error *err = NULL;

	if (crib_store_put_container(st, c, &err) < 0)
		fail_msg("crib_store_put_container: %s", crib_error_msg(err));
}

/* A minimal pod row: ID created at T. */
static struct crib_store_pod pod(const char *id, int64_t t)
{
	return (struct crib_store_pod){
	    .id = id,
	    .class_name = "fast",
	    .class_snapshot = "{}",
	    .phase = 1,
	    .created_at = t,
	};
}

static struct crib_store_container container(const char *id, const char *pod_id, int64_t t)
{
	return (struct crib_store_container){
	    .id = id,
	    .pod_id = pod_id,
	    .phase = 1,
	    .created_at = t,
	};
}

/* sqlite's typeof() of one column of the row with ID, read with a second connection. */
static char *column_type(const char *dir, const char *table, const char *column, const char *id)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/crib.db", dir);
	_cleanup_free_ char *sql =
	    crib_xasprintf("SELECT typeof(%s) FROM %s WHERE id = ?", column, table);
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *type = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		type = crib_xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_non_null(type);
	return type;
}

static void test_pod_round_trips_every_field(void **state)
{
	struct fixture *f = *state;
	static const uint8_t config[] = {0x0a, 0x00, 0x12, 0xff, 0x00};
	static const uint8_t priv[] = {0x00, 0x01, 0x02};
	struct crib_store_pod p = {
	    .id = "aa11",
	    .class_name = "fast",
	    .class_snapshot = "{\"name\":\"fast\"}",
	    .phase = 2,
	    .state = 1,
	    .created_at = INT64_C(1700000000123456789),
	    .config = config,
	    .config_len = sizeof(config),
	    .priv = priv,
	    .priv_len = sizeof(priv),
	    .ip = "10.88.0.5",
	    .netns = "/var/run/netns/cni-1",
	    .additional_ips = "fd00::5,10.89.0.5",
	};
	struct pod_row *r;

	put_pod(f->st, &p);
	load(f);
	assert_int_equal(f->ld->n_pods, 1);
	r = &f->ld->pods[0];
	assert_string_equal(r->id, "aa11");
	assert_string_equal(r->class_name, "fast");
	assert_string_equal(r->class_snapshot, "{\"name\":\"fast\"}");
	assert_int_equal(r->phase, 2);
	assert_int_equal(r->state, 1);
	assert_int_equal(r->created_at, INT64_C(1700000000123456789));
	assert_int_equal(r->config_len, sizeof(config));
	assert_memory_equal(r->config, config, sizeof(config));
	assert_int_equal(r->priv_len, sizeof(priv));
	assert_memory_equal(r->priv, priv, sizeof(priv));
	assert_string_equal(r->ip, "10.88.0.5");
	assert_string_equal(r->netns, "/var/run/netns/cni-1");
	assert_string_equal(r->additional_ips, "fd00::5,10.89.0.5");
}

static void test_pod_optional_fields_stay_null(void **state)
{
	struct fixture *f = *state;
	struct crib_store_pod p = pod("bb22", 1);
	struct pod_row *r;

	put_pod(f->st, &p); /* config NULL, priv NULL, ip NULL, netns NULL */
	load(f);
	r = &f->ld->pods[0];
	assert_null(r->ip);
	assert_null(r->netns);
	assert_null(r->additional_ips);
	assert_int_equal(r->config_len, 0);
	assert_null(r->priv);
	assert_int_equal(r->priv_len, 0);
}

static void test_null_and_empty_priv_are_stored_apart(void **state)
{
	struct fixture *f = *state;
	struct crib_store_pod none = pod("p-null", 1), empty = pod("p-empty", 2);
	struct crib_store_container cnone = container("c-null", "p-null", 3);
	struct crib_store_container cempty = container("c-empty", "p-null", 4);
	_cleanup_free_ char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL, *t5 = NULL;

	empty.priv = "";
	cempty.priv = "";
	put_pod(f->st, &none);
	put_pod(f->st, &empty);
	put_container(f->st, &cnone);
	put_container(f->st, &cempty);

	t1 = column_type(f->dir, "pods", "priv", "p-null");
	t2 = column_type(f->dir, "pods", "priv", "p-empty");
	t3 = column_type(f->dir, "containers", "priv", "c-null");
	t4 = column_type(f->dir, "containers", "priv", "c-empty");
	t5 = column_type(f->dir, "pods", "config", "p-null");
	assert_string_equal(t1, "null");
	assert_string_equal(t2, "blob");
	assert_string_equal(t3, "null");
	assert_string_equal(t4, "blob");
	assert_string_equal(t5, "blob"); /* config is NOT NULL: a NULL config is stored empty */

	/* Both read back as no bytes. */
	load(f);
	assert_int_equal(f->ld->n_pods, 2);
	assert_int_equal(f->ld->pods[0].priv_len, 0);
	assert_int_equal(f->ld->pods[1].priv_len, 0);
	assert_int_equal(f->ld->ctrs[0].priv_len, 0);
	assert_int_equal(f->ld->ctrs[1].priv_len, 0);
}

static void test_container_round_trips_every_field(void **state)
{
	struct fixture *f = *state;
	static const uint8_t config[] = {0x0a, 0x03, 'a', 'b', 'c'};
	static const uint8_t priv[] = {0xde, 0xad, 0x00, 0xbe, 0xef};
	struct crib_store_pod p = pod("pod1", 1);
	struct crib_store_container c = {
	    .id = "ctr1",
	    .pod_id = "pod1",
	    .phase = 1,
	    .state = 2,
	    .created_at = 10,
	    .started_at = INT64_C(1700000000000000001),
	    .finished_at = INT64_MAX,
	    .exit_code = -9,
	    .reason = "OOMKilled",
	    .message = "killed by the kernel",
	    .log_path = "/var/log/pods/x/ctr/0.log",
	    .config = config,
	    .config_len = sizeof(config),
	    .priv = priv,
	    .priv_len = sizeof(priv),
	};
	struct ctr_row *r;

	put_pod(f->st, &p);
	put_container(f->st, &c);
	load(f);
	assert_int_equal(f->ld->n_ctrs, 1);
	r = &f->ld->ctrs[0];
	assert_string_equal(r->id, "ctr1");
	assert_string_equal(r->pod_id, "pod1");
	assert_int_equal(r->phase, 1);
	assert_int_equal(r->state, 2);
	assert_int_equal(r->created_at, 10);
	assert_int_equal(r->started_at, INT64_C(1700000000000000001));
	assert_int_equal(r->finished_at, INT64_MAX);
	assert_int_equal(r->exit_code, -9);
	assert_string_equal(r->reason, "OOMKilled");
	assert_string_equal(r->message, "killed by the kernel");
	assert_string_equal(r->log_path, "/var/log/pods/x/ctr/0.log");
	assert_int_equal(r->config_len, sizeof(config));
	assert_memory_equal(r->config, config, sizeof(config));
	assert_int_equal(r->priv_len, sizeof(priv));
	assert_memory_equal(r->priv, priv, sizeof(priv));
}

static void test_container_optional_fields_stay_null(void **state)
{
	struct fixture *f = *state;
	struct crib_store_container c = container("ctr1", "pod1", 1);
	struct ctr_row *r;

	put_container(f->st, &c);
	load(f);
	r = &f->ld->ctrs[0];
	assert_null(r->reason);
	assert_null(r->message);
	assert_null(r->log_path);
	assert_null(r->priv);
	assert_int_equal(r->config_len, 0);
}

static void test_put_replaces_existing_rows(void **state)
{
	struct fixture *f = *state;
	struct crib_store_pod p = pod("pod1", 5);
	struct crib_store_container c = container("ctr1", "pod1", 6);

	put_pod(f->st, &p);
	put_container(f->st, &c);
	p.state = 1;
	p.ip = "10.0.0.9";
	c.state = 2;
	c.exit_code = 137;
	put_pod(f->st, &p);
	put_container(f->st, &c);
	load(f);
	assert_int_equal(f->ld->n_pods, 1);
	assert_int_equal(f->ld->pods[0].state, 1);
	assert_string_equal(f->ld->pods[0].ip, "10.0.0.9");
	assert_int_equal(f->ld->n_ctrs, 1);
	assert_int_equal(f->ld->ctrs[0].state, 2);
	assert_int_equal(f->ld->ctrs[0].exit_code, 137);
}

static void test_load_in_creation_order_pods_first(void **state)
{
	struct fixture *f = *state;
	struct crib_store_pod p30 = pod("p30", 30), p10 = pod("p10", 10), p20b = pod("p20b", 20);
	struct crib_store_pod p20a = pod("p20a", 20);
	struct crib_store_container c2 = container("c2", "p10", 2), c1 = container("c1", "p30", 1);

	put_container(f->st, &c2);
	put_pod(f->st, &p30);
	put_pod(f->st, &p20b);
	put_container(f->st, &c1);
	put_pod(f->st, &p10);
	put_pod(f->st, &p20a);
	load(f);
	/* Ties on created_at are broken by id. */
	assert_string_equal(f->ld->order, "p:p10 p:p20a p:p20b p:p30 c:c1 c:c2");
}

static void test_load_stops_when_callback_fails(void **state)
{
	struct fixture *f = *state;
	struct crib_store_pod a = pod("a", 1), b = pod("b", 2);
	struct crib_store_container c = container("c", "a", 3);

	put_pod(f->st, &a);
	put_pod(f->st, &b);
	put_container(f->st, &c);

	f->ld->stop_at = 2;
	assert_int_equal(crib_store_load(f->st, on_pod, on_container, f->ld, NULL), -42);
	assert_string_equal(f->ld->order, "p:a");

	/* A stopped walk leaves the statements reusable. */
	load(f);
	assert_string_equal(f->ld->order, "p:a p:b c:c");
}

static void test_delete_pod_removes_its_containers(void **state)
{
	struct fixture *f = *state;
	struct crib_store_pod a = pod("a", 1), b = pod("b", 2);
	struct crib_store_container a1 = container("a1", "a", 3), a2 = container("a2", "a", 4);
	struct crib_store_container b1 = container("b1", "b", 5);

	put_pod(f->st, &a);
	put_pod(f->st, &b);
	put_container(f->st, &a1);
	put_container(f->st, &b1);
	put_container(f->st, &a2);
	assert_int_equal(crib_store_delete_pod(f->st, "a", NULL), 0);
	load(f);
	assert_string_equal(f->ld->order, "p:b c:b1");
}

static void test_delete_container_and_unknown_ids(void **state)
{
	struct fixture *f = *state;
	struct crib_store_pod a = pod("a", 1);
	struct crib_store_container a1 = container("a1", "a", 2), a2 = container("a2", "a", 3);

	put_pod(f->st, &a);
	put_container(f->st, &a1);
	put_container(f->st, &a2);
	assert_int_equal(crib_store_delete_container(f->st, "a1", NULL), 0);
	assert_int_equal(crib_store_delete_container(f->st, "nope", NULL), 0);
	assert_int_equal(crib_store_delete_pod(f->st, "nope", NULL), 0);
	load(f);
	assert_string_equal(f->ld->order, "p:a c:a2");
}

static void test_meta_set_get_unset(void **state)
{
	struct fixture *f = *state;
	char *v = (char *)"untouched";

	assert_int_equal(crib_store_get_meta(f->st, "pod_cidr", &v, NULL), 0);
	assert_null(v); /* never set */
	assert_int_equal(crib_store_set_meta(f->st, "pod_cidr", "10.88.0.0/16", NULL), 0);
	assert_int_equal(crib_store_set_meta(f->st, "other", "x", NULL), 0);
	assert_int_equal(crib_store_get_meta(f->st, "pod_cidr", &v, NULL), 0);
	assert_string_equal(v, "10.88.0.0/16");
	free(v);
	assert_int_equal(crib_store_set_meta(f->st, "pod_cidr", "10.99.0.0/16", NULL), 0);
	assert_int_equal(crib_store_get_meta(f->st, "pod_cidr", &v, NULL), 0);
	assert_string_equal(v, "10.99.0.0/16");
	free(v);
}

static void test_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct crib_store_pod p = pod("pod1", 7);
	struct crib_store_container c = container("ctr1", "pod1", 8);
	char *v = NULL;

	p.ip = "10.1.2.3";
	put_pod(f->st, &p);
	put_container(f->st, &c);
	assert_int_equal(crib_store_set_meta(f->st, "k", "v", NULL), 0);
	f->st = crib_store_close(f->st);
	assert_null(f->st);

	f->st = open_ok(f->dir);
	load(f);
	assert_string_equal(f->ld->order, "p:pod1 c:ctr1");
	assert_string_equal(f->ld->pods[0].ip, "10.1.2.3");
	assert_int_equal(crib_store_get_meta(f->st, "k", &v, NULL), 0);
	assert_string_equal(v, "v");
	free(v);
}

static void set_user_version(const char *dir, int version)
{
	_cleanup_free_ char *path = crib_xasprintf("%s/crib.db", dir);
	_cleanup_free_ char *sql = crib_xasprintf("PRAGMA user_version = %d", version);
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int collect_image(const char *record, void *user)
{
	(void)snprintf(user, 64, "%s", record);
	return 0;
}

/* A store of schema 1 (before images) opens with its rows and gains what 2 and 3 added. */
static void test_schema_1_store_is_migrated(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = crib_xasprintf("%s/crib.db", f->dir);
	struct crib_store_pod p = pod("pod1", 7);
	struct crib_store_container c = container("ctr1", "pod1", 8);
	char record[64] = "";
	sqlite3 *db = NULL;

	put_pod(f->st, &p);
	put_container(f->st, &c);
	f->st = crib_store_close(f->st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "ALTER TABLE containers DROP COLUMN image_id; DROP TABLE "
	                              "images; ALTER TABLE pods DROP COLUMN additional_ips; "
	                              "PRAGMA user_version = 1;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	f->st = open_ok(f->dir);
	load(f);
	assert_string_equal(f->ld->order, "p:pod1 c:ctr1");
	assert_null(f->ld->ctrs[0].image_id);
	assert_null(f->ld->pods[0].additional_ips);
	p.additional_ips = "fd00::1";
	put_pod(f->st, &p);
	c.image_id = "sha256:abc";
	put_container(f->st, &c);
	assert_int_equal(crib_store_put_image(f->st, "sha256:abc", "{\"id\":1}", NULL), 0);
	assert_int_equal(crib_store_load_images(f->st, collect_image, record, NULL), 0);
	assert_string_equal(record, "{\"id\":1}");
	load(f);
	assert_string_equal(f->ld->ctrs[0].image_id, "sha256:abc");
	assert_string_equal(f->ld->pods[0].additional_ips, "fd00::1");
}

static void test_newer_schema_is_refused(void **state)
{
	struct fixture *f = *state;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *msg =
	    crib_xasprintf("State store '%s/crib.db' has schema 4; this cribd knows 3 and will not "
	                   "touch a newer store",
	                   f->dir);
	struct crib_store *st = NULL;

	f->st = crib_store_close(f->st);
	set_user_version(f->dir, 4);
	assert_int_equal(crib_store_open(f->dir, &st, &err), -EPROTO);
	assert_null(st);
	assert_non_null(err);
	assert_int_equal(err->errnum, EPROTO);
	assert_string_equal(crib_error_msg(err), msg);
}

static void test_open_fails_in_missing_directory(void **state)
{
	struct fixture *f = *state;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *dir = crib_xasprintf("%s/missing", f->dir);
	_cleanup_free_ char *prefix = crib_xasprintf("State store '%s/crib.db': ", dir);
	struct crib_store *st = NULL;

	assert_true(crib_store_open(dir, &st, &err) < 0);
	assert_null(st);
	assert_non_null(err);
	assert_int_equal(strncmp(crib_error_msg(err), prefix, strlen(prefix)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pod_round_trips_every_field, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_optional_fields_stay_null, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_null_and_empty_priv_are_stored_apart, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_container_round_trips_every_field, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_container_optional_fields_stay_null, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_put_replaces_existing_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_in_creation_order_pods_first, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_load_stops_when_callback_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_pod_removes_its_containers, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_delete_container_and_unknown_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_meta_set_get_unset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_1_store_is_migrated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_fails_in_missing_directory, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
