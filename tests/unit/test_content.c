/* SPDX-License-Identifier: Apache-2.0 */
/* The content store: digests verified before anything is visible, and image lookups. */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "content.h"
#include "digest.h"
#include "error.h"
#include "images.h"
#include "util.h"

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

struct fixture {
	char dir[64];
	struct crib_content *cs;
};

static int setup(void **state)
{
	struct fixture *f = crib_xcalloc(1, sizeof(*f));

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/crib-content-XXXXXX");
	if (!mkdtemp(f->dir) || crib_content_open(f->dir, &f->cs, NULL) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	crib_content_close(f->cs);
	(void)nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static unsigned count_files(const char *dir)
{
	_cleanup_free_ char *cmd = crib_xasprintf("ls -A %s | wc -l", dir);
	FILE *p = popen(cmd, "r");
	unsigned n = 0;

	if (p) {
		if (fscanf(p, "%u", &n) != 1)
			n = 0;
		pclose(p);
	}
	return n;
}

static void test_sha256_known_value(void **state)
{
	char d[CRIB_DIGEST_LEN + 1];

	(void)state;
	crib_sha256_data("abc", 3, d);
	assert_string_equal(d,
	                    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001"
	                    "5ad");
	assert_true(crib_digest_valid(d));
	assert_false(crib_digest_valid("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410"
	                               "ff61f20015ad"));
	assert_false(crib_digest_valid("sha512:ba7816bf"));
}

static void test_put_read_round_trip(void **state)
{
	struct fixture *f = *state;
	char d[CRIB_DIGEST_LEN + 1], *back = NULL;
	size_t len = 0;

	crib_sha256_data("hello", 5, d);
	assert_int_equal(crib_content_put(f->cs, d, "hello", 5, NULL), 0);
	assert_true(crib_content_has(f->cs, d));
	assert_int_equal(crib_content_size(f->cs, d), 5);
	assert_int_equal(crib_content_read(f->cs, d, 100, &back, &len, NULL), 0);
	assert_int_equal(len, 5);
	assert_string_equal(back, "hello");
	free(back);
	/* Already there: nothing to write. */
	assert_int_equal(crib_content_put(f->cs, d, "hello", 5, NULL), 0);
	assert_int_equal(crib_content_read(f->cs, d, 4, &back, &len, NULL), -E2BIG);
}

static void test_digest_mismatch_stores_nothing(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *ingest = crib_xasprintf("%s/ingest", f->dir);
	struct crib_error *err = NULL;
	char d[CRIB_DIGEST_LEN + 1];

	crib_sha256_data("good", 4, d);
	assert_int_equal(crib_content_put(f->cs, d, "evil", 4, &err), -EBADMSG);
	assert_non_null(strstr(crib_error_msg(err), "does not match its digest"));
	crib_error_free(err);
	assert_false(crib_content_has(f->cs, d));
	assert_int_equal(count_files(ingest), 0);
}

static void test_size_mismatch_stores_nothing(void **state)
{
	struct fixture *f = *state;
	struct crib_ingest *in = NULL;
	struct crib_error *err = NULL;
	char d[CRIB_DIGEST_LEN + 1];

	crib_sha256_data("12345", 5, d);
	assert_int_equal(crib_content_ingest(f->cs, d, 4, &in, NULL), 0);
	assert_int_equal(crib_ingest_write(in, "12345", 5, &err), -EBADMSG);
	crib_error_free(err);
	crib_ingest_abort(in);
	err = NULL;
	assert_int_equal(crib_content_ingest(f->cs, d, 6, &in, NULL), 0);
	assert_int_equal(crib_ingest_write(in, "12345", 5, NULL), 0);
	assert_int_equal(crib_ingest_commit(in, &err), -EBADMSG);
	assert_non_null(strstr(crib_error_msg(err), "has 5 bytes"));
	crib_error_free(err);
	assert_false(crib_content_has(f->cs, d));
}

static void test_leftovers_are_cleared_on_open(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *stale = crib_xasprintf("%s/ingest/partial", f->dir);
	FILE *fp = fopen(stale, "w");

	assert_non_null(fp);
	fclose(fp);
	crib_content_close(f->cs);
	assert_int_equal(crib_content_open(f->dir, &f->cs, NULL), 0);
	assert_int_not_equal(access(stale, F_OK), 0);
}

struct racer {
	struct crib_content *cs;
	const char *digest;
	int got;
	unsigned *writers;
	pthread_mutex_t *lock;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct crib_ingest *in = NULL;

	r->got = crib_content_ingest(r->cs, r->digest, 6, &in, NULL);
	if (r->got == 0) {
		pthread_mutex_lock(r->lock);
		(*r->writers)++;
		pthread_mutex_unlock(r->lock);
		usleep(50000); /* long enough for the others to queue behind us */
		(void)crib_ingest_write(in, "shared", 6, NULL);
		(void)crib_ingest_commit(in, NULL);
	}
	return NULL;
}

static void test_concurrent_ingests_write_once(void **state)
{
	struct fixture *f = *state;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	char d[CRIB_DIGEST_LEN + 1];
	struct racer r[4];
	pthread_t t[4];
	unsigned writers = 0;

	crib_sha256_data("shared", 6, d);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){.cs = f->cs, .digest = d, .writers = &writers, .lock = &lock};
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(writers, 1);
	assert_true(crib_content_has(f->cs, d));
}

static struct crib_image *image(const char *id, const char *tag, const char *digest_ref)
{
	struct crib_image *img = crib_xcalloc(1, sizeof(*img));

	img->id = crib_xstrdup(id);
	if (tag)
		crib_strv_add_unique(&img->repo_tags, &img->n_repo_tags, tag);
	if (digest_ref)
		crib_strv_add_unique(&img->repo_digests, &img->n_repo_digests, digest_ref);
	return img;
}

#define ID_A "sha256:aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
#define ID_B "sha256:aaaaaaaaaaaa2222222222222222222222222222222222222222222222222222"
#define MD   "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void test_image_lookup_and_tag_moves(void **state)
{
	struct crib_images imgs = {0};
	struct crib_image *orphan = NULL, *a, *b, *it, *tmp;

	(void)state;
	a = crib_images_add(
	    &imgs, image(ID_A, "docker.io/library/busybox:latest", "docker.io/library/busybox@" MD),
	    &orphan);
	assert_null(orphan);
	b = crib_images_add(&imgs, image(ID_B, "docker.io/library/busybox:1", NULL), &orphan);
	assert_ptr_equal(crib_images_find(&imgs, "busybox"), a);
	assert_ptr_equal(crib_images_find(&imgs, "busybox:1"), b);
	assert_ptr_equal(crib_images_find(&imgs, "docker.io/library/busybox:latest"), a);
	assert_ptr_equal(crib_images_find(&imgs, ID_B), b);
	assert_ptr_equal(crib_images_find(&imgs, &ID_B[7]), b);
	assert_ptr_equal(crib_images_find(&imgs, "aaaaaaaaaaaa2"), b);
	assert_null(crib_images_find(&imgs, "aaaaaaaaaaaa")); /* ambiguous */
	assert_null(crib_images_find(&imgs, "aaaaa"));        /* too short to be an id */
	assert_ptr_equal(crib_images_find(&imgs, "busybox@" MD), a);
	assert_ptr_equal(crib_images_find(&imgs, "busybox:whatever@" MD), a);
	assert_null(crib_images_find(&imgs, "busybox:2"));
	/* busybox:1 moves to A; B keeps no name and is handed back. */
	a = crib_images_add(&imgs, image(ID_A, "docker.io/library/busybox:1", NULL), &orphan);
	assert_ptr_equal(orphan, b);
	assert_ptr_equal(crib_images_find(&imgs, "busybox:1"), a);
	assert_int_equal(a->n_repo_tags, 2);
	/* JSON round trip. */
	{
		_cleanup_free_ char *json = crib_image_to_json(a);
		struct crib_image *back = NULL;

		assert_int_equal(crib_image_from_json(json, &back, NULL), 0);
		assert_string_equal(back->id, ID_A);
		assert_int_equal(back->n_repo_tags, 2);
		assert_int_equal(back->n_repo_digests, 1);
		crib_image_free(back);
	}
	assert_int_equal(crib_image_from_json("{\"id\":\"nope\"}", &it, NULL), -EINVAL);
	HASH_ITER (hh, imgs.by_id, it, tmp)
		crib_images_remove(&imgs, it);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_known_value),
	    cmocka_unit_test_setup_teardown(test_put_read_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_digest_mismatch_stores_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size_mismatch_stores_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_leftovers_are_cleared_on_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_ingests_write_once, setup, teardown),
	    cmocka_unit_test(test_image_lookup_and_tag_moves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
