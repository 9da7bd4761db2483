/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The in-memory registry: ids and names are unique, ids resolve by unique
 * prefix, containers hang off their pod, references keep removed objects
 * alive, and a pod's lifecycle slot passes to its waiters in order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cri-api-v1.pb-c.h"
#include "registry.h"
#include "registry_objects.h"
#include "util.h"

static int setup(void **state)
{
	*state = crib_xcalloc(1, sizeof(struct crib_registry));
	return 0;
}

static int teardown(void **state)
{
	struct crib_registry *reg = *state;

	crib_registry_clear(reg);
	assert_int_equal(crib_registry_count_pods(reg), 0);
	assert_int_equal(crib_registry_count_containers(reg), 0);
	free(reg);
	return 0;
}

static void test_name_keys(void **state)
{
	Runtime__V1__PodSandboxMetadata pmd = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	Runtime__V1__ContainerMetadata cmd = RUNTIME__V1__CONTAINER_METADATA__INIT;
	_cleanup_free_ char *pk = NULL, *ck = NULL;

	(void)state;
	pmd.name = (char *)"web";
	pmd.namespace_ = (char *)"prod";
	pmd.uid = (char *)"u-1";
	pmd.attempt = 2;
	cmd.name = (char *)"nginx";
	cmd.attempt = 3;
	pk = crib_pod_name_key(&pmd);
	ck = crib_container_name_key("abc", &cmd);
	assert_string_equal(pk, "web_prod_u-1_2");
	assert_string_equal(ck, "abc_nginx_3");
}

static void test_add_and_find_pods(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *a = add_pod(reg, "aa", "a"), *b = add_pod(reg, "bb", "b");

	assert_int_equal(crib_registry_count_pods(reg), 2);
	assert_ptr_equal(crib_registry_find_pod(reg, a->id), a);
	assert_ptr_equal(crib_registry_find_pod(reg, b->id), b);
	assert_ptr_equal(crib_registry_find_pod_by_name(reg, "a_default_uid-1_0"), a);
	assert_null(crib_registry_find_pod_by_name(reg, "c_default_uid-1_0"));
	assert_true(a->listed);
	assert_int_equal(a->refs, 1);
	assert_int_equal(a->phase, CRIB_PHASE_CREATING);
	assert_int_equal(a->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
}

static void test_duplicate_pod_id_or_name_is_eexist(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *same_id = new_pod("aa", "other");
	struct crib_pod *same_name = new_pod("bb", "a");

	(void)add_pod(reg, "aa", "a");
	assert_int_equal(crib_registry_add_pod(reg, same_id), -EEXIST);
	assert_int_equal(crib_registry_add_pod(reg, same_name), -EEXIST);
	assert_false(same_id->listed);
	assert_int_equal(same_name->refs, 1); /* the registry took no reference */
	assert_int_equal(crib_registry_count_pods(reg), 1);
	crib_pod_unref(same_id);
	crib_pod_unref(same_name);
}

static void test_find_by_prefix(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *p1 = add_pod(reg, "a1b2", "one"), *p2 = add_pod(reg, "a1c3", "two");
	char too_long[CRIB_ID_LEN + 2];

	assert_ptr_equal(crib_registry_find_pod(reg, "a1b"), p1);
	assert_ptr_equal(crib_registry_find_pod(reg, "a1c"), p2);
	assert_null(crib_registry_find_pod(reg, "a1")); /* ambiguous */
	assert_null(crib_registry_find_pod(reg, "ff"));
	assert_null(crib_registry_find_pod(reg, ""));
	assert_null(crib_registry_find_pod(reg, NULL));
	(void)snprintf(too_long, sizeof(too_long), "%s0", p1->id);
	assert_null(crib_registry_find_pod(reg, too_long));
}

static void test_exact_id_is_found_among_similar_ids(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *ab = add_pod(reg, "ab", "one");
	struct crib_pod *abc = add_pod(reg, "abc", "two");

	/* "ab" prefixes both ids; each full id still names exactly its pod. */
	assert_null(crib_registry_find_pod(reg, "ab"));
	assert_ptr_equal(crib_registry_find_pod(reg, ab->id), ab);
	assert_ptr_equal(crib_registry_find_pod(reg, abc->id), abc);
	assert_ptr_equal(crib_registry_find_pod(reg, "abc"), abc);
}

static void test_containers_link_into_their_pod(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *p = add_pod(reg, "aa", "a");
	struct crib_container *c1 = add_container(reg, "c1", p, "one");
	struct crib_container *c2 = add_container(reg, "c2", p, "two");
	_cleanup_free_ char *key = crib_xasprintf("%s_two_0", p->id);

	assert_int_equal(crib_registry_count_containers(reg), 2);
	assert_ptr_equal(crib_registry_find_container(reg, "c1"), c1);
	assert_ptr_equal(crib_registry_find_container(reg, "c"), NULL);
	assert_ptr_equal(crib_registry_find_container_by_name(reg, key), c2);
	assert_ptr_equal(c1->pod, p);
	assert_int_equal(c1->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
	/* In the order they were added. */
	assert_ptr_equal(p->containers.next, &c1->pod_link);
	assert_ptr_equal(p->containers.next->next, &c2->pod_link);
	assert_ptr_equal(p->containers.prev, &c2->pod_link);

	crib_registry_remove_container(reg, c1);
	assert_int_equal(crib_registry_count_containers(reg), 1);
	assert_null(crib_registry_find_container(reg, "c1"));
	assert_ptr_equal(p->containers.next, &c2->pod_link);
	assert_ptr_equal(p->containers.prev, &c2->pod_link);
}

static void test_duplicate_container_id_or_name_is_eexist(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *p = add_pod(reg, "aa", "a");
	struct crib_container *same_id, *same_name;

	(void)add_container(reg, "c1", p, "one");
	same_id = new_container("c1", p, "other");
	same_name = new_container("c2", p, "one");
	assert_int_equal(crib_registry_add_container(reg, same_id), -EEXIST);
	assert_int_equal(crib_registry_add_container(reg, same_name), -EEXIST);
	assert_int_equal(crib_registry_count_containers(reg), 1);
	assert_ptr_equal(p->containers.next->next, &p->containers); /* one linked */
	crib_container_unref(same_id);
	crib_container_unref(same_name);
}

static void test_references_keep_removed_objects_alive(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *p = add_pod(reg, "aa", "a");
	struct crib_container *c = add_container(reg, "cc", p, "one");

	assert_int_equal(p->refs, 2); /* the registry's and the container's */
	assert_int_equal(c->refs, 1);
	(void)crib_pod_ref(p);
	(void)crib_container_ref(c);

	crib_registry_remove_container(reg, c);
	crib_registry_remove_pod(reg, p);
	crib_registry_remove_pod(reg, p); /* a second removal is a no-op */
	assert_int_equal(crib_registry_count_pods(reg), 0);
	assert_null(crib_registry_find_pod(reg, "aa"));
	assert_false(p->listed);
	assert_false(c->listed);
	/* Still readable (ASan would flag a use after free). */
	assert_string_equal(c->config->metadata->name, "one");
	assert_int_equal(c->refs, 1);
	assert_int_equal(p->refs, 2);

	crib_container_unref(c); /* frees c, which drops its pod reference */
	assert_int_equal(p->refs, 1);
	assert_string_equal(p->config->metadata->name, "a");
	crib_pod_unref(p);
}

static void test_clear_spares_referenced_objects(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *p = add_pod(reg, "aa", "a");

	(void)add_container(reg, "cc", p, "one");
	(void)crib_pod_ref(p);
	crib_registry_clear(reg);
	assert_int_equal(crib_registry_count_pods(reg), 0);
	assert_int_equal(crib_registry_count_containers(reg), 0);
	assert_int_equal(p->refs, 1);
	assert_true(crib_list_empty(&p->containers));
	crib_pod_unref(p);
}

static void test_new_id_is_fresh_lowercase_hex(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *p = add_pod(reg, "aa", "a");
	char id[CRIB_ID_LEN + 1], other[CRIB_ID_LEN + 1];

	assert_int_equal(crib_registry_new_id(reg, id), 0);
	assert_int_equal(strlen(id), CRIB_ID_LEN);
	assert_int_equal(strspn(id, "0123456789abcdef"), CRIB_ID_LEN);
	assert_string_not_equal(id, p->id);
	assert_null(crib_registry_find_pod(reg, id));
	assert_int_equal(crib_registry_new_id(reg, other), 0);
	assert_string_not_equal(id, other);
}

/* Pod lock waiters: each records its turn. */
struct turn {
	struct crib_waiter w;
	int id;
	int *log;
	size_t *n_log;
};

static void on_turn(struct crib_waiter *w)
{
	struct turn *t = container_of(w, struct turn, w);

	t->log[(*t->n_log)++] = t->id;
}

static void test_pod_lock_runs_waiters_in_order(void **state)
{
	struct crib_registry *reg = *state;
	struct crib_pod *p = add_pod(reg, "aa", "a");
	int log[8] = {0};
	size_t n = 0;
	struct turn t[4];

	for (int i = 0; i < 4; i++)
		t[i] = (struct turn){.id = i + 1, .log = log, .n_log = &n};

	crib_pod_lock(p, &t[0].w, on_turn);
	assert_int_equal(n, 1); /* the slot was free: at once */
	crib_pod_lock(p, &t[1].w, on_turn);
	crib_pod_lock(p, &t[2].w, on_turn);
	assert_int_equal(n, 1); /* the others wait */
	assert_true(p->busy);

	crib_pod_unlock(p);
	assert_int_equal(n, 2);
	assert_int_equal(log[1], 2);
	crib_pod_unlock(p);
	assert_int_equal(n, 3);
	assert_int_equal(log[2], 3);
	assert_true(p->busy); /* the slot passed to waiter 3 */
	crib_pod_unlock(p);
	assert_false(p->busy);
	assert_int_equal(n, 3);

	crib_pod_lock(p, &t[3].w, on_turn);
	assert_int_equal(n, 4);
	assert_int_equal(log[0], 1);
	assert_int_equal(log[3], 4);
	crib_pod_unlock(p);
	assert_false(p->busy);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_keys),
	    T(test_add_and_find_pods),
	    T(test_duplicate_pod_id_or_name_is_eexist),
	    T(test_find_by_prefix),
	    T(test_exact_id_is_found_among_similar_ids),
	    T(test_containers_link_into_their_pod),
	    T(test_duplicate_container_id_or_name_is_eexist),
	    T(test_references_keep_removed_objects_alive),
	    T(test_clear_spares_referenced_objects),
	    T(test_new_id_is_fresh_lowercase_hex),
	    T(test_pod_lock_runs_waiters_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
