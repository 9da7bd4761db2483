/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include <sqlite3.h>

#include "error.h"
#include "store.h"
#include "util.h"

#define SCHEMA_VERSION 3

enum stmt_id {
	STMT_PUT_POD,
	STMT_PUT_CONTAINER,
	STMT_DELETE_POD,
	STMT_DELETE_CONTAINER,
	STMT_DELETE_POD_CONTAINERS,
	STMT_SET_META,
	STMT_GET_META,
	STMT_LOAD_PODS,
	STMT_LOAD_CONTAINERS,
	STMT_PUT_IMAGE,
	STMT_DELETE_IMAGE,
	STMT_LOAD_IMAGES,
	STMT_COUNT,
};

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_PUT_POD] = "INSERT OR REPLACE INTO pods (id, class, class_snapshot, phase, state, "
                     "created_at, config, priv, ip, netns, additional_ips) VALUES "
                     "(?,?,?,?,?,?,?,?,?,?,?)",
    [STMT_PUT_CONTAINER] = "INSERT OR REPLACE INTO containers (id, pod_id, phase, state, "
                           "created_at, started_at, finished_at, exit_code, reason, message, "
                           "log_path, config, priv, image_id) VALUES "
                           "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [STMT_DELETE_POD] = "DELETE FROM pods WHERE id = ?",
    [STMT_DELETE_CONTAINER] = "DELETE FROM containers WHERE id = ?",
    [STMT_DELETE_POD_CONTAINERS] = "DELETE FROM containers WHERE pod_id = ?",
    [STMT_SET_META] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?,?)",
    [STMT_GET_META] = "SELECT value FROM meta WHERE key = ?",
    [STMT_LOAD_PODS] = "SELECT id, class, class_snapshot, phase, state, created_at, config, "
                       "priv, ip, netns, additional_ips FROM pods ORDER BY created_at, id",
    [STMT_LOAD_CONTAINERS] = "SELECT id, pod_id, phase, state, created_at, started_at, "
                             "finished_at, exit_code, reason, message, log_path, config, priv, "
                             "image_id FROM containers ORDER BY created_at, id",
    [STMT_PUT_IMAGE] = "INSERT OR REPLACE INTO images (id, record) VALUES (?,?)",
    [STMT_DELETE_IMAGE] = "DELETE FROM images WHERE id = ?",
    [STMT_LOAD_IMAGES] = "SELECT record FROM images ORDER BY id",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS pods ("
    "  id TEXT PRIMARY KEY, class TEXT NOT NULL, class_snapshot TEXT NOT NULL,"
    "  phase INTEGER NOT NULL, state INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    "  config BLOB NOT NULL, priv BLOB, ip TEXT, netns TEXT, additional_ips TEXT);"
    "CREATE TABLE IF NOT EXISTS containers ("
    "  id TEXT PRIMARY KEY, pod_id TEXT NOT NULL, phase INTEGER NOT NULL,"
    "  state INTEGER NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER NOT NULL,"
    "  finished_at INTEGER NOT NULL, exit_code INTEGER NOT NULL, reason TEXT, message TEXT,"
    "  log_path TEXT, config BLOB NOT NULL, priv BLOB, image_id TEXT);"
    "CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, record TEXT NOT NULL);";

/* Each step takes the store from version N to N + 1, in one transaction. */
static const char *const migrations[SCHEMA_VERSION] = {
    /* 0 -> 1: a new store. */
    NULL,
    /* 1 -> 2: images (the image service) and the image each container was made from. */
    "ALTER TABLE containers ADD COLUMN image_id TEXT;"
    "CREATE TABLE images (id TEXT PRIMARY KEY, record TEXT NOT NULL);",
    /* 2 -> 3: the pod's other IPs from its CNI result (pod networking). */
    "ALTER TABLE pods ADD COLUMN additional_ips TEXT;",
};

struct crib_store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[STMT_COUNT];
};

static int db_error(struct crib_store *st, struct crib_error **reterr, const char *what)
{
	int code = sqlite3_extended_errcode(st->db);
	int errnum;

	switch (code & 0xff) {
	case SQLITE_FULL:
		errnum = ENOSPC;
		break;
	case SQLITE_NOMEM:
		errnum = ENOMEM;
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
		errnum = EACCES;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		errnum = EBUSY;
		break;
	default:
		errnum = EIO;
	}
	return crib_error_set(reterr, errnum, "State store '%s': failed to %s: %s", st->path, what,
	                      sqlite3_errmsg(st->db));
}

struct crib_store *crib_store_close(struct crib_store *st)
{
	if (!st)
		return NULL;
	for (size_t i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
	return NULL;
}

static void crib_store_closep(struct crib_store **st)
{
	crib_store_close(*st);
}

static int check_schema(struct crib_store *st, struct crib_error **reterr)
{
	sqlite3_stmt *s = NULL;
	int version = 0, r;

	r = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (r != SQLITE_OK)
		return db_error(st, reterr, "read its schema version");
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > SCHEMA_VERSION)
		return crib_error_set(reterr, EPROTO,
		                      "State store '%s' has schema %d; this cribd knows %d and "
		                      "will not touch a newer store",
		                      st->path, version, SCHEMA_VERSION);
	if (version == 0) {
		if (sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK)
			return db_error(st, reterr, "create its tables");
		version = SCHEMA_VERSION;
	}
	for (; version < SCHEMA_VERSION; version++) {
		_cleanup_free_ char *sql =
		    crib_xasprintf("BEGIN; %s PRAGMA user_version = %d; COMMIT;",
		                   migrations[version], version + 1);

		if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			r = db_error(st, reterr, "upgrade its schema");
			(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	}
	{
		_cleanup_free_ char *sql =
		    crib_xasprintf("PRAGMA user_version = %d", SCHEMA_VERSION);

		if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return db_error(st, reterr, "record its schema version");
	}
	return 0;
}

int crib_store_open(const char *dir, struct crib_store **ret, struct crib_error **reterr)
{
	_cleanup_(crib_store_closep) struct crib_store *st = crib_xcalloc(1, sizeof(*st));
	int r;

	st->path = crib_xasprintf("%s/crib.db", dir);
	r = sqlite3_open_v2(st->path, &st->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (r != SQLITE_OK) {
		if (!st->db)
			return crib_error_set(reterr, ENOMEM, "Failed to open state store '%s'",
			                      st->path);
		return db_error(st, reterr, "open it");
	}
	(void)sqlite3_busy_timeout(st->db, 2000);
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
	                 NULL) != SQLITE_OK)
		return db_error(st, reterr, "switch to WAL mode");
	r = check_schema(st, reterr);
	if (r < 0)
		return r;
	for (size_t i = 0; i < STMT_COUNT; i++)
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                       &st->stmt[i], NULL) != SQLITE_OK)
			return db_error(st, reterr, "prepare its statements");
	*ret = TAKE_PTR(st);
	return 0;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		(void)sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		(void)sqlite3_bind_null(s, i);
}

static void bind_blob(sqlite3_stmt *s, int i, const void *v, size_t len)
{
	if (v && len)
		(void)sqlite3_bind_blob64(s, i, v, len, SQLITE_STATIC);
	else if (v)
		(void)sqlite3_bind_zeroblob(s, i, 0);
	else
		(void)sqlite3_bind_null(s, i);
}

/* Runs a bound write statement to completion and resets it. */
static int run(struct crib_store *st, sqlite3_stmt *s, struct crib_error **reterr, const char *what)
{
	int r = sqlite3_step(s);

	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	if (r != SQLITE_DONE)
		return db_error(st, reterr, what);
	return 0;
}

int crib_store_put_pod(struct crib_store *st, const struct crib_store_pod *p,
                       struct crib_error **reterr)
{
	sqlite3_stmt *s = st->stmt[STMT_PUT_POD];

	bind_text(s, 1, p->id);
	bind_text(s, 2, p->class_name);
	bind_text(s, 3, p->class_snapshot);
	(void)sqlite3_bind_int(s, 4, p->phase);
	(void)sqlite3_bind_int(s, 5, (int)p->state);
	(void)sqlite3_bind_int64(s, 6, p->created_at);
	bind_blob(s, 7, p->config ? p->config : (const void *)"", p->config_len);
	bind_blob(s, 8, p->priv, p->priv_len);
	bind_text(s, 9, p->ip);
	bind_text(s, 10, p->netns);
	bind_text(s, 11, p->additional_ips);
	return run(st, s, reterr, "write a pod");
}

int crib_store_put_container(struct crib_store *st, const struct crib_store_container *c,
                             struct crib_error **reterr)
{
	sqlite3_stmt *s = st->stmt[STMT_PUT_CONTAINER];

	bind_text(s, 1, c->id);
	bind_text(s, 2, c->pod_id);
	(void)sqlite3_bind_int(s, 3, c->phase);
	(void)sqlite3_bind_int(s, 4, (int)c->state);
	(void)sqlite3_bind_int64(s, 5, c->created_at);
	(void)sqlite3_bind_int64(s, 6, c->started_at);
	(void)sqlite3_bind_int64(s, 7, c->finished_at);
	(void)sqlite3_bind_int(s, 8, c->exit_code);
	bind_text(s, 9, c->reason);
	bind_text(s, 10, c->message);
	bind_text(s, 11, c->log_path);
	bind_blob(s, 12, c->config ? c->config : (const void *)"", c->config_len);
	bind_blob(s, 13, c->priv, c->priv_len);
	bind_text(s, 14, c->image_id);
	return run(st, s, reterr, "write a container");
}

int crib_store_delete_pod(struct crib_store *st, const char *id, struct crib_error **reterr)
{
	int r;

	bind_text(st->stmt[STMT_DELETE_POD_CONTAINERS], 1, id);
	r = run(st, st->stmt[STMT_DELETE_POD_CONTAINERS], reterr, "delete a pod's containers");
	if (r < 0)
		return r;
	bind_text(st->stmt[STMT_DELETE_POD], 1, id);
	return run(st, st->stmt[STMT_DELETE_POD], reterr, "delete a pod");
}

int crib_store_delete_container(struct crib_store *st, const char *id, struct crib_error **reterr)
{
	bind_text(st->stmt[STMT_DELETE_CONTAINER], 1, id);
	return run(st, st->stmt[STMT_DELETE_CONTAINER], reterr, "delete a container");
}

int crib_store_set_meta(struct crib_store *st, const char *key, const char *value,
                        struct crib_error **reterr)
{
	bind_text(st->stmt[STMT_SET_META], 1, key);
	bind_text(st->stmt[STMT_SET_META], 2, value);
	return run(st, st->stmt[STMT_SET_META], reterr, "write a setting");
}

int crib_store_get_meta(struct crib_store *st, const char *key, char **ret,
                        struct crib_error **reterr)
{
	sqlite3_stmt *s = st->stmt[STMT_GET_META];
	int r;

	bind_text(s, 1, key);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*ret = crib_xstrdup((const char *)sqlite3_column_text(s, 0));
	else if (r == SQLITE_DONE)
		*ret = NULL;
	(void)sqlite3_reset(s);
	(void)sqlite3_clear_bindings(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return db_error(st, reterr, "read a setting");
	return 0;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static int load_pods(struct crib_store *st, crib_store_pod_cb cb, void *user,
                     struct crib_error **reterr)
{
	sqlite3_stmt *s = st->stmt[STMT_LOAD_PODS];
	int r = 0, step;

	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct crib_store_pod p = {
		    .id = col_text(s, 0),
		    .class_name = col_text(s, 1),
		    .class_snapshot = col_text(s, 2),
		    .phase = sqlite3_column_int(s, 3),
		    .state = (uint32_t)sqlite3_column_int(s, 4),
		    .created_at = sqlite3_column_int64(s, 5),
		    .config = sqlite3_column_blob(s, 6),
		    .config_len = (size_t)sqlite3_column_bytes(s, 6),
		    .priv = sqlite3_column_blob(s, 7),
		    .priv_len = (size_t)sqlite3_column_bytes(s, 7),
		    .ip = col_text(s, 8),
		    .netns = col_text(s, 9),
		    .additional_ips = col_text(s, 10),
		};

		r = cb(&p, user);
		if (r < 0)
			break;
	}
	(void)sqlite3_reset(s);
	if (r == 0 && step != SQLITE_DONE)
		return db_error(st, reterr, "read pods");
	return r;
}

static int load_containers(struct crib_store *st, crib_store_container_cb cb, void *user,
                           struct crib_error **reterr)
{
	sqlite3_stmt *s = st->stmt[STMT_LOAD_CONTAINERS];
	int r = 0, step;

	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct crib_store_container c = {
		    .id = col_text(s, 0),
		    .pod_id = col_text(s, 1),
		    .phase = sqlite3_column_int(s, 2),
		    .state = (uint32_t)sqlite3_column_int(s, 3),
		    .created_at = sqlite3_column_int64(s, 4),
		    .started_at = sqlite3_column_int64(s, 5),
		    .finished_at = sqlite3_column_int64(s, 6),
		    .exit_code = sqlite3_column_int(s, 7),
		    .reason = col_text(s, 8),
		    .message = col_text(s, 9),
		    .log_path = col_text(s, 10),
		    .config = sqlite3_column_blob(s, 11),
		    .config_len = (size_t)sqlite3_column_bytes(s, 11),
		    .priv = sqlite3_column_blob(s, 12),
		    .priv_len = (size_t)sqlite3_column_bytes(s, 12),
		    .image_id = col_text(s, 13),
		};

		r = cb(&c, user);
		if (r < 0)
			break;
	}
	(void)sqlite3_reset(s);
	if (r == 0 && step != SQLITE_DONE)
		return db_error(st, reterr, "read containers");
	return r;
}

int crib_store_load(struct crib_store *st, crib_store_pod_cb pod_cb,
                    crib_store_container_cb container_cb, void *user, struct crib_error **reterr)
{
	int r = load_pods(st, pod_cb, user, reterr);

	if (r < 0)
		return r;
	return load_containers(st, container_cb, user, reterr);
}

int crib_store_put_image(struct crib_store *st, const char *id, const char *record,
                         struct crib_error **reterr)
{
	bind_text(st->stmt[STMT_PUT_IMAGE], 1, id);
	bind_text(st->stmt[STMT_PUT_IMAGE], 2, record);
	return run(st, st->stmt[STMT_PUT_IMAGE], reterr, "write an image");
}

int crib_store_delete_image(struct crib_store *st, const char *id, struct crib_error **reterr)
{
	bind_text(st->stmt[STMT_DELETE_IMAGE], 1, id);
	return run(st, st->stmt[STMT_DELETE_IMAGE], reterr, "delete an image");
}

int crib_store_load_images(struct crib_store *st, int (*cb)(const char *record, void *user),
                           void *user, struct crib_error **reterr)
{
	sqlite3_stmt *s = st->stmt[STMT_LOAD_IMAGES];
	int r = 0, step;

	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		r = cb(col_text(s, 0), user);
		if (r < 0)
			break;
	}
	(void)sqlite3_reset(s);
	if (r == 0 && step != SQLITE_DONE)
		return db_error(st, reterr, "read images");
	return r;
}
