/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots of the admin views: every listed object, sorted, with its view
 * as JSON and the fields lists filter on; a view is made once and reused
 * until its object changes; the registry's generation tells a snapshot is
 * stale; a snapshot stays whole whatever happens to the registry after; ids
 * resolve exactly or by unique prefix.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>

#include "registry.h"
#include "registry_objects.h"
#include "router.h"
#include "view_snap.h"

static struct crib_rclass cls = {.pub = {.name = "runc"}, .backend_name = "oci"};

static struct crib_pod *pod(struct crib_registry *reg, const char *id_prefix, const char *name)
{
	struct crib_pod *p = new_pod(id_prefix, name);

	p->cls = &cls; /* no router: unref only counts down */
	assert_int_equal(crib_registry_add_pod(reg, p), 0);
	crib_pod_unref(p);
	return p;
}

static int setup(void **state)
{
	*state = crib_xcalloc(1, sizeof(struct crib_registry));
	return 0;
}

static int teardown(void **state)
{
	struct crib_registry *reg = *state;

	crib_registry_clear(reg);
	free(reg);
	return 0;
}

static const char *json_str(const struct crib_view_rec *rec, const char *key)
{
	static char buf[128];
	json_t *j = json_loads(rec->json, 0, NULL);

	assert_non_null(j);
	assert_true(json_is_string(json_object_get(j, key)));
	(void)snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(j, key)));
	json_decref(j);
	return buf;
}

static void test_snapshot_holds_listed_objects_sorted(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *b = pod(reg, "bb", "b"), *a = pod(reg, "aa", "a");
	struct crib_container *c = add_container(reg, "cc", b, "web");
	struct crib_view_snap *s;

	c->log_path = crib_xstrdup("/var/log/pods/web.log");
	c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	pod(reg, "dd", "gone");
	crib_registry_remove_pod(reg, crib_registry_find_pod(reg, "dd"));

	s = crib_view_snap_take(reg);
	assert_int_equal(s->n_pods, 2);
	assert_string_equal(s->pods[0]->id, a->id);
	assert_string_equal(s->pods[1]->id, b->id);
	assert_string_equal(json_str(s->pods[1], "id"), b->id);
	assert_string_equal(json_str(s->pods[1], "name"), "b");
	assert_string_equal(s->pods[0]->backend, "oci");
	assert_string_equal(s->pods[0]->runtime_class, "runc");
	assert_string_equal(s->pods[0]->namespace_, "default");

	assert_int_equal(s->n_ctrs, 1);
	assert_string_equal(s->ctrs[0]->pod_id, b->id);
	assert_string_equal(s->ctrs[0]->log_path, "/var/log/pods/web.log");
	assert_int_equal(s->ctrs[0]->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	assert_string_equal(json_str(s->ctrs[0], "state"), "running");
	assert_string_equal(json_str(s->ctrs[0], "pod_name"), "b");
	crib_view_snap_unref(s);
}

static void test_views_are_reused_until_touched(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *p = pod(reg, "aa", "a");
	struct crib_container *c = add_container(reg, "cc", p, "web");
	struct crib_view_snap *s1 = crib_view_snap_take(reg), *s2, *s3;
	unsigned long long gen = atomic_load(&reg->gen);

	assert_int_equal(s1->gen, gen);
	s2 = crib_view_snap_take(reg);
	assert_int_equal(atomic_load(&reg->gen), gen); /* taking is not a change */
	assert_ptr_equal(s2->pods[0], s1->pods[0]);
	assert_ptr_equal(s2->ctrs[0], s1->ctrs[0]);

	c->state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED;
	crib_registry_touch_container(reg, c);
	assert_true(atomic_load(&reg->gen) > gen);
	s3 = crib_view_snap_take(reg);
	assert_ptr_equal(s3->pods[0], s1->pods[0]);
	assert_ptr_not_equal(s3->ctrs[0], s1->ctrs[0]);
	assert_string_equal(json_str(s3->ctrs[0], "state"), "exited");
	/* The older snapshot still shows what it showed. */
	assert_string_equal(json_str(s1->ctrs[0], "state"), "created");
	crib_view_snap_unref(s1);
	crib_view_snap_unref(s2);
	crib_view_snap_unref(s3);
}

static void test_listing_changes_move_the_generation(void **state)
{
	struct crib_registry *reg = *state;
	unsigned long long g0 = atomic_load(&reg->gen), g1, g2;
	struct crib_pod *p = pod(reg, "aa", "a");
	struct crib_view_snap *before, *after;
	struct crib_container *c;

	g1 = atomic_load(&reg->gen);
	assert_true(g1 > g0);
	before = crib_view_snap_take(reg);
	c = add_container(reg, "cc", p, "web");
	g2 = atomic_load(&reg->gen);
	assert_true(g2 > g1);
	after = crib_view_snap_take(reg);
	/* The pod's view counts its containers: it was made again. */
	assert_ptr_not_equal(after->pods[0], before->pods[0]);
	crib_registry_remove_container(reg, c);
	assert_true(atomic_load(&reg->gen) > g2);
	crib_view_snap_unref(before);

	/* A snapshot outlives the objects it shows. */
	crib_registry_clear(reg);
	assert_int_equal(after->n_ctrs, 1);
	assert_string_equal(json_str(after->ctrs[0], "name"), "web");
	crib_view_snap_unref(after);
}

static void test_find_by_id_or_unique_prefix(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *ab = pod(reg, "ab", "x"), *abc = pod(reg, "abc", "y");
	struct crib_pod *f = pod(reg, "f", "z");
	struct crib_view_snap *s = crib_view_snap_take(reg);

	assert_string_equal(crib_view_snap_find(s->pods, s->n_pods, ab->id)->id, ab->id);
	assert_string_equal(crib_view_snap_find(s->pods, s->n_pods, abc->id)->id, abc->id);
	assert_string_equal(crib_view_snap_find(s->pods, s->n_pods, "abc")->id, abc->id);
	assert_string_equal(crib_view_snap_find(s->pods, s->n_pods, "f")->id, f->id);
	assert_null(crib_view_snap_find(s->pods, s->n_pods, "ab"));  /* ambiguous */
	assert_null(crib_view_snap_find(s->pods, s->n_pods, "abd")); /* none */
	assert_null(crib_view_snap_find(s->pods, s->n_pods, "0"));
	assert_null(crib_view_snap_find(s->pods, s->n_pods, ""));
	assert_null(crib_view_snap_find(s->ctrs, 0, "ab"));

	/* Pages continue after the last id they showed, present or gone since. */
	assert_int_equal(crib_view_snap_after(s->pods, s->n_pods, ab->id), 1);
	assert_int_equal(crib_view_snap_after(s->pods, s->n_pods, f->id), 3);
	assert_int_equal(crib_view_snap_after(s->pods, s->n_pods, "abd"), 2);
	assert_int_equal(crib_view_snap_after(s->pods, s->n_pods, "0"), 0);
	crib_view_snap_unref(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_snapshot_holds_listed_objects_sorted),
	    T(test_views_are_reused_until_touched),
	    T(test_listing_changes_move_the_generation),
	    T(test_find_by_id_or_unique_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
