/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRI list filters on a registry filled by hand: label selectors, ids that
 * resolve by unique prefix (an ambiguous or unknown one matches nothing),
 * state and pod filters, and objects still being created never listed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cri-api-v1.pb-c.h"
#include "filter.h"
#include "registry.h"
#include "util.h"

#define MAX_LABELS 4

/*
 * Up to MAX_LABELS selector entries and the pointer array a filter borrows.  Every
 * map<string, string> entry type of the proto has this layout, so one serves all filters.
 */
struct labels {
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry e[MAX_LABELS];
	void *p[MAX_LABELS];
	size_t n;
};

static void labels_set(struct labels *l, const char *const *kv, size_t n_pairs)
{
	assert_true(n_pairs <= MAX_LABELS);
	l->n = n_pairs;
	for (size_t i = 0; i < n_pairs; i++) {
		l->e[i] = (Runtime__V1__PodSandboxFilter__LabelSelectorEntry)
		    RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT;
		l->e[i].key = (char *)kv[2 * i];
		l->e[i].value = (char *)kv[2 * i + 1];
		l->p[i] = &l->e[i];
	}
}

static void make_id(char id[CRIB_ID_LEN + 1], const char *prefix)
{
	size_t n = strlen(prefix);

	memset(id, '0', CRIB_ID_LEN);
	memcpy(id, prefix, n);
	id[CRIB_ID_LEN] = '\0';
}

/* A pod config with the labels app=APP and tier=TIER, heap-allocated by unpacking. */
static Runtime__V1__PodSandboxConfig *pod_config(const char *name, const char *app,
                                                 const char *tier)
{
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__PodSandboxConfig__LabelsEntry e[2] = {
	    RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT,
	    RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT,
	};
	Runtime__V1__PodSandboxConfig__LabelsEntry *ep[2] = {&e[0], &e[1]};
	Runtime__V1__PodSandboxConfig *out;
	uint8_t *buf;
	size_t len;

	md.name = (char *)name;
	md.namespace_ = (char *)"default";
	md.uid = (char *)name;
	cfg.metadata = &md;
	e[0].key = (char *)"app";
	e[0].value = (char *)app;
	e[1].key = (char *)"tier";
	e[1].value = (char *)tier;
	cfg.labels = ep;
	cfg.n_labels = 2;
	len = runtime__v1__pod_sandbox_config__get_packed_size(&cfg);
	buf = crib_xmalloc(len);
	(void)runtime__v1__pod_sandbox_config__pack(&cfg, buf);
	out = runtime__v1__pod_sandbox_config__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

static Runtime__V1__ContainerConfig *container_config(const char *name, const char *app)
{
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	Runtime__V1__ContainerConfig__LabelsEntry e =
	    RUNTIME__V1__CONTAINER_CONFIG__LABELS_ENTRY__INIT;
	Runtime__V1__ContainerConfig__LabelsEntry *ep = &e;
	Runtime__V1__ContainerConfig *out;
	uint8_t *buf;
	size_t len;

	md.name = (char *)name;
	cfg.metadata = &md;
	e.key = (char *)"app";
	e.value = (char *)app;
	cfg.labels = &ep;
	cfg.n_labels = 1;
	len = runtime__v1__container_config__get_packed_size(&cfg);
	buf = crib_xmalloc(len);
	(void)runtime__v1__container_config__pack(&cfg, buf);
	out = runtime__v1__container_config__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

/*
 * The fixture: pods a1b... (web, frontend, ready), a1c... (db, backend, not
 * ready) and d... (still being created), and containers on them.
 */
struct fixture {
	struct crib_registry reg;
	struct crib_pod *web, *db, *creating;
	struct crib_container *web_run, *web_side, *db_exit, *db_new;
};

static struct crib_pod *add_pod(struct crib_registry *reg, const char *prefix, const char *name,
                                const char *app, const char *tier, uint32_t state, int phase)
{
	char id[CRIB_ID_LEN + 1];
	struct crib_pod *p;

	make_id(id, prefix);
	p = crib_pod_new(id, pod_config(name, app, tier), NULL, 0);
	p->state = state;
	p->phase = phase;
	assert_int_equal(crib_registry_add_pod(reg, p), 0);
	crib_pod_unref(p);
	return p;
}

static struct crib_container *add_container(struct crib_registry *reg, const char *prefix,
                                            struct crib_pod *p, const char *name, const char *app,
                                            uint32_t state, int phase)
{
	char id[CRIB_ID_LEN + 1];
	struct crib_container *c;

	make_id(id, prefix);
	c = crib_container_new(id, p, container_config(name, app), NULL, 0);
	c->state = state;
	c->phase = phase;
	assert_int_equal(crib_registry_add_container(reg, c), 0);
	crib_container_unref(c);
	return c;
}

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));

	f->web = add_pod(&f->reg, "a1b", "web", "web", "frontend",
	                 RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY, CRIB_PHASE_LIVE);
	f->db = add_pod(&f->reg, "a1c", "db", "db", "backend",
	                RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY, CRIB_PHASE_LIVE);
	f->creating = add_pod(&f->reg, "d", "new", "web", "frontend",
	                      RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY, CRIB_PHASE_CREATING);
	f->web_run =
	    add_container(&f->reg, "c1a", f->web, "nginx", "web",
	                  RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, CRIB_PHASE_LIVE);
	f->web_side =
	    add_container(&f->reg, "c1b", f->web, "sidecar", "proxy",
	                  RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, CRIB_PHASE_REMOVING);
	f->db_exit = add_container(&f->reg, "c2", f->db, "postgres", "db",
	                           RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, CRIB_PHASE_LIVE);
	f->db_new =
	    add_container(&f->reg, "c3", f->db, "migrate", "db",
	                  RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED, CRIB_PHASE_CREATING);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	crib_registry_clear(&f->reg);
	free(f);
	return 0;
}

/* Which pods of the fixture F matches, as a string of 'w', 'd', 'n' (web, db, new). */
static void matched_pods(struct fixture *f, const struct crib_filter *flt, char out[4])
{
	size_t n = 0;

	if (crib_filter_match_pod(flt, f->web))
		out[n++] = 'w';
	if (crib_filter_match_pod(flt, f->db))
		out[n++] = 'd';
	if (crib_filter_match_pod(flt, f->creating))
		out[n++] = 'n';
	out[n] = '\0';
}

/* The same for containers: 'r' web_run, 's' web_side, 'x' db_exit, 'm' db_new. */
static void matched_containers(struct fixture *f, const struct crib_filter *flt, char out[5])
{
	size_t n = 0;

	if (crib_filter_match_container(flt, f->web_run))
		out[n++] = 'r';
	if (crib_filter_match_container(flt, f->web_side))
		out[n++] = 's';
	if (crib_filter_match_container(flt, f->db_exit))
		out[n++] = 'x';
	if (crib_filter_match_container(flt, f->db_new))
		out[n++] = 'm';
	out[n] = '\0';
}

static const char *pods_for(struct fixture *f, const Runtime__V1__PodSandboxFilter *pf)
{
	static char out[4];
	struct crib_filter flt;

	crib_filter_pods(&f->reg, pf, &flt);
	matched_pods(f, &flt, out);
	return out;
}

static const char *containers_for(struct fixture *f, const Runtime__V1__ContainerFilter *cf)
{
	static char out[5];
	struct crib_filter flt;

	crib_filter_containers(&f->reg, cf, &flt);
	matched_containers(f, &flt, out);
	return out;
}

static void test_labels_match_is_subset(void **state)
{
	static const char *const have_kv[] = {"app", "web", "tier", "frontend", "env", "prod"};
	static const char *const sub_kv[] = {"tier", "frontend", "app", "web"};
	static const char *const wrong_kv[] = {"app", "web", "tier", "backend"};
	static const char *const missing_kv[] = {"zone", "a"};
	static const char *const case_kv[] = {"App", "web"};
	struct labels have, sub, wrong, missing, keycase;

	(void)state;
	labels_set(&have, have_kv, 3);
	labels_set(&sub, sub_kv, 2);
	labels_set(&wrong, wrong_kv, 2);
	labels_set(&missing, missing_kv, 1);
	labels_set(&keycase, case_kv, 1);
	assert_true(crib_labels_match(sub.p, sub.n, have.p, have.n));
	assert_true(crib_labels_match(have.p, have.n, have.p, have.n));
	assert_false(crib_labels_match(wrong.p, wrong.n, have.p, have.n));
	assert_false(crib_labels_match(missing.p, missing.n, have.p, have.n));
	assert_false(crib_labels_match(keycase.p, keycase.n, have.p, have.n));
	assert_false(crib_labels_match(have.p, have.n, sub.p, sub.n)); /* superset */
	assert_false(crib_labels_match(sub.p, sub.n, NULL, 0));
}

static void test_empty_selector_matches_anything(void **state)
{
	static const char *const have_kv[] = {"app", "web"};
	struct labels have;

	(void)state;
	labels_set(&have, have_kv, 1);
	assert_true(crib_labels_match(NULL, 0, have.p, have.n));
	assert_true(crib_labels_match(NULL, 0, NULL, 0));
}

static void test_no_filter_lists_all_but_creating(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__PodSandboxFilter empty = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__ContainerFilter cempty = RUNTIME__V1__CONTAINER_FILTER__INIT;

	assert_string_equal(pods_for(f, NULL), "wd");
	assert_string_equal(pods_for(f, &empty), "wd");
	assert_string_equal(containers_for(f, NULL), "rsx");
	assert_string_equal(containers_for(f, &cempty), "rsx");
}

static void test_pod_id_exact_and_unique_prefix(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	struct crib_filter flt;

	pf.id = f->db->id;
	assert_string_equal(pods_for(f, &pf), "d");
	pf.id = (char *)"a1b";
	crib_filter_pods(&f->reg, &pf, &flt);
	assert_false(flt.nothing);
	assert_string_equal(flt.id, f->web->id); /* resolved to the full id */
	assert_string_equal(pods_for(f, &pf), "w");
}

static void test_pod_id_ambiguous_or_unknown_matches_nothing(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	struct crib_filter flt;

	pf.id = (char *)"a1"; /* web and db */
	crib_filter_pods(&f->reg, &pf, &flt);
	assert_true(flt.nothing);
	assert_string_equal(pods_for(f, &pf), "");
	pf.id = (char *)"ffff";
	assert_string_equal(pods_for(f, &pf), "");
}

static void test_pod_state_filter(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxStateValue sv = RUNTIME__V1__POD_SANDBOX_STATE_VALUE__INIT;

	pf.state = &sv;
	sv.state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
	assert_string_equal(pods_for(f, &pf), "w");
	sv.state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
	assert_string_equal(pods_for(f, &pf), "d");
}

static void test_pod_label_filter(void **state)
{
	struct fixture *f = *state;
	static const char *const front_kv[] = {"tier", "frontend"};
	static const char *const both_kv[] = {"app", "db", "tier", "frontend"};
	Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	struct labels sel;

	labels_set(&sel, front_kv, 1);
	pf.label_selector = (Runtime__V1__PodSandboxFilter__LabelSelectorEntry **)sel.p;
	pf.n_label_selector = sel.n;
	assert_string_equal(pods_for(f, &pf), "w");
	labels_set(&sel, both_kv, 2);
	pf.n_label_selector = sel.n;
	assert_string_equal(pods_for(f, &pf), "");
}

static void test_pod_filters_are_anded(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxStateValue sv = RUNTIME__V1__POD_SANDBOX_STATE_VALUE__INIT;

	pf.id = (char *)"a1b";
	pf.state = &sv;
	sv.state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
	assert_string_equal(pods_for(f, &pf), "");
	sv.state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
	assert_string_equal(pods_for(f, &pf), "w");
}

static void test_creating_objects_are_hidden_even_by_id(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__ContainerFilter cf = RUNTIME__V1__CONTAINER_FILTER__INIT;

	pf.id = f->creating->id;
	assert_string_equal(pods_for(f, &pf), "");
	cf.id = f->db_new->id;
	assert_string_equal(containers_for(f, &cf), "");
	cf.id = (char *)"";
	cf.pod_sandbox_id = f->db->id;
	assert_string_equal(containers_for(f, &cf), "x");
}

static void test_container_id_resolution(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__ContainerFilter cf = RUNTIME__V1__CONTAINER_FILTER__INIT;

	cf.id = f->db_exit->id;
	assert_string_equal(containers_for(f, &cf), "x");
	cf.id = (char *)"c1b";
	assert_string_equal(containers_for(f, &cf), "s");
	cf.id = (char *)"c1"; /* ambiguous */
	assert_string_equal(containers_for(f, &cf), "");
	cf.id = (char *)"9999";
	assert_string_equal(containers_for(f, &cf), "");
}

static void test_container_pod_sandbox_id_filter(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__ContainerFilter cf = RUNTIME__V1__CONTAINER_FILTER__INIT;
	struct crib_filter flt;

	cf.pod_sandbox_id = (char *)"a1b";
	crib_filter_containers(&f->reg, &cf, &flt);
	assert_string_equal(flt.pod_id, f->web->id);
	assert_string_equal(containers_for(f, &cf), "rs");
	cf.pod_sandbox_id = (char *)"a1"; /* ambiguous */
	assert_string_equal(containers_for(f, &cf), "");
	/* A container id of another pod: AND gives nothing. */
	cf.pod_sandbox_id = f->web->id;
	cf.id = f->db_exit->id;
	assert_string_equal(containers_for(f, &cf), "");
}

static void test_container_state_and_label_filters(void **state)
{
	struct fixture *f = *state;
	static const char *const web_kv[] = {"app", "web"};
	Runtime__V1__ContainerFilter cf = RUNTIME__V1__CONTAINER_FILTER__INIT;
	Runtime__V1__ContainerStateValue sv = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
	struct labels sel;

	cf.state = &sv;
	sv.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	assert_string_equal(containers_for(f, &cf), "rs");
	sv.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED;
	assert_string_equal(containers_for(f, &cf), "x");
	cf.state = NULL;
	labels_set(&sel, web_kv, 1);
	cf.label_selector = (Runtime__V1__ContainerFilter__LabelSelectorEntry **)sel.p;
	cf.n_label_selector = sel.n;
	assert_string_equal(containers_for(f, &cf), "r");
}

static void test_stats_filters_resolve_ids(void **state)
{
	struct fixture *f = *state;
	Runtime__V1__ContainerStatsFilter csf = RUNTIME__V1__CONTAINER_STATS_FILTER__INIT;
	Runtime__V1__PodSandboxStatsFilter psf = RUNTIME__V1__POD_SANDBOX_STATS_FILTER__INIT;
	struct crib_filter flt;
	char out[5];

	csf.pod_sandbox_id = (char *)"a1c";
	crib_filter_container_stats(&f->reg, &csf, &flt);
	assert_false(flt.has_state);
	matched_containers(f, &flt, out);
	assert_string_equal(out, "x");
	csf.id = (char *)"c1";
	crib_filter_container_stats(&f->reg, &csf, &flt);
	assert_true(flt.nothing);

	psf.id = (char *)"a1b";
	crib_filter_pod_stats(&f->reg, &psf, &flt);
	matched_pods(f, &flt, out);
	assert_string_equal(out, "w");
	psf.id = (char *)"zz";
	crib_filter_pod_stats(&f->reg, &psf, &flt);
	matched_pods(f, &flt, out);
	assert_string_equal(out, "");
	crib_filter_pod_stats(&f->reg, NULL, &flt);
	matched_pods(f, &flt, out);
	assert_string_equal(out, "wd");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_labels_match_is_subset),
	    cmocka_unit_test(test_empty_selector_matches_anything),
	    T(test_no_filter_lists_all_but_creating),
	    T(test_pod_id_exact_and_unique_prefix),
	    T(test_pod_id_ambiguous_or_unknown_matches_nothing),
	    T(test_pod_state_filter),
	    T(test_pod_label_filter),
	    T(test_pod_filters_are_anded),
	    T(test_creating_objects_are_hidden_even_by_id),
	    T(test_container_id_resolution),
	    T(test_container_pod_sandbox_id_filter),
	    T(test_container_state_and_label_filters),
	    T(test_stats_filters_resolve_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
