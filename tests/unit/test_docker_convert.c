/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The docker backend's readers of Engine documents (backends/docker/convert.c):
 * inspect documents, stats documents and image inspects as a Docker 20.10
 * Engine wrote them (trimmed to the members that matter, values kept), and
 * the X-Registry-Auth header decoded back and compared.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "docker.h"
#include "util.h"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *o = json_loads(text, 0, &err);

	if (!o)
		fail_msg("test document does not parse: %s (line %d)", err.text, err.line);
	return o;
}

/* ---- container state ---- */

/* An inspect document with STATE (a JSON object) as its State. */
static json_t *inspect_doc(const char *state)
{
	char *text = crib_xasprintf(
	    "{\"Id\":\"0720ab79fcc14b121916d3c0d06d631a3dc1127fd5c81aa996039c820dbbafd9\","
	    "\"Created\":\"2026-12-06T22:58:39.396693121Z\",\"Path\":\"sh\","
	    "\"Args\":[\"-c\",\"sleep 300\"],\"State\":%s,"
	    "\"Image\":\"sha256:fade69022e9ded0271a9aa2814ab0708b82420a44f54b669eaae89b9314954f0\","
	    "\"Name\":\"/k8s_app_web_default_0b8f_0_0720ab79fcc1\",\"RestartCount\":0,"
	    "\"Config\":{\"Image\":\"127.0.0.1:5000/busybox:latest\",\"Labels\":"
	    "{\"io.crib.managed\":\"true\"}}}",
	    state);
	json_t *o = parse(text);

	free(text);
	return o;
}

static void status_clear(struct crib_container_status *s)
{
	free(s->reason);
	free(s->message);
	free(s->info);
	*s = (struct crib_container_status){0};
}

static void inspect(const char *state, struct crib_container_status *ret)
{
	json_t *o = inspect_doc(state);

	*ret = (struct crib_container_status){0};
	docker_inspect_status(o, ret);
	json_decref(o);
}

static void test_status_created(void **unused)
{
	struct crib_container_status s;

	(void)unused;
	inspect("{\"Status\":\"created\",\"Running\":false,\"Paused\":false,\"Restarting\":false,"
	        "\"OOMKilled\":false,\"Dead\":false,\"Pid\":0,\"ExitCode\":0,\"Error\":\"\","
	        "\"StartedAt\":\"0001-01-01T00:00:00Z\",\"FinishedAt\":\"0001-01-01T00:00:00Z\"}",
	        &s);
	assert_int_equal(s.state, CRIB_CONTAINER_CREATED);
	assert_int_equal(s.started_at, 0);
	assert_int_equal(s.finished_at, 0);
	assert_int_equal(s.pid, 0);
	assert_null(s.reason);
	assert_null(s.message);
	status_clear(&s);
}

static void test_status_running(void **unused)
{
	struct crib_container_status s;
	json_t *info;

	(void)unused;
	/* FinishedAt of an earlier run stays in the document; a running container has none. */
	inspect("{\"Status\":\"running\",\"Running\":true,\"Paused\":false,\"Restarting\":false,"
	        "\"OOMKilled\":false,\"Dead\":false,\"Pid\":21711,\"ExitCode\":0,\"Error\":\"\","
	        "\"StartedAt\":\"2026-12-06T22:57:38.710827942Z\","
	        "\"FinishedAt\":\"2026-12-06T22:50:00.5Z\"}",
	        &s);
	assert_int_equal(s.state, CRIB_CONTAINER_RUNNING);
	assert_int_equal(s.started_at, INT64_C(1796597858710827942));
	assert_int_equal(s.finished_at, 0);
	assert_int_equal(s.pid, 21711);
	assert_null(s.reason);
	assert_null(s.message);
	assert_non_null(s.info);
	info = parse(s.info);
	assert_string_equal(json_string_value(json_object_get(info, "id")),
	                    "0720ab79fcc14b121916d3c0d06d631a3dc1127fd5c81aa996039c820dbbafd9");
	assert_string_equal(json_string_value(json_object_get(info, "name")),
	                    "k8s_app_web_default_0b8f_0_0720ab79fcc1");
	assert_string_equal(json_string_value(json_object_get(info, "image")),
	                    "127.0.0.1:5000/busybox:latest");
	assert_int_equal(json_integer_value(json_object_get(info, "pid")), 21711);
	assert_string_equal(json_string_value(json_object_get(info, "status")), "running");
	json_decref(info);
	status_clear(&s);
}

static void test_status_exited(void **unused)
{
	struct crib_container_status s;

	(void)unused;
	/* Killed (SIGKILL): 137 and no OOM. */
	inspect("{\"Status\":\"exited\",\"Running\":false,\"Paused\":false,\"Restarting\":false,"
	        "\"OOMKilled\":false,\"Dead\":false,\"Pid\":0,\"ExitCode\":137,\"Error\":\"\","
	        "\"StartedAt\":\"2026-12-06T22:57:38.710827942Z\","
	        "\"FinishedAt\":\"2026-12-06T22:58:36.544235017Z\"}",
	        &s);
	assert_int_equal(s.state, CRIB_CONTAINER_EXITED);
	assert_int_equal(s.exit_code, 137);
	assert_int_equal(s.started_at, INT64_C(1796597858710827942));
	assert_int_equal(s.finished_at, INT64_C(1796597916544235017));
	assert_string_equal(s.reason, "Error");
	assert_null(s.message);
	status_clear(&s);

	inspect("{\"Status\":\"exited\",\"Running\":false,\"OOMKilled\":false,\"Dead\":false,"
	        "\"Pid\":0,\"ExitCode\":0,\"Error\":\"\","
	        "\"StartedAt\":\"2026-12-06T22:58:38.976021859Z\","
	        "\"FinishedAt\":\"2026-12-06T22:58:38.981447888Z\"}",
	        &s);
	assert_int_equal(s.state, CRIB_CONTAINER_EXITED);
	assert_int_equal(s.exit_code, 0);
	assert_string_equal(s.reason, "Completed");
	status_clear(&s);

	/* Exited at once: the Engine's FinishedAt came before its StartedAt (seen in CI). */
	inspect("{\"Status\":\"exited\",\"Running\":false,\"OOMKilled\":false,\"Dead\":false,"
	        "\"Pid\":0,\"ExitCode\":3,\"Error\":\"\","
	        "\"StartedAt\":\"2026-12-06T22:58:38.976021859Z\","
	        "\"FinishedAt\":\"2026-12-06T22:58:38.970000000Z\"}",
	        &s);
	assert_int_equal(s.started_at, INT64_C(1796597918976021859));
	assert_int_equal(s.finished_at, s.started_at);
	status_clear(&s);
}

static void test_status_oom_killed(void **unused)
{
	struct crib_container_status s;

	(void)unused;
	inspect("{\"Status\":\"exited\",\"Running\":false,\"Paused\":false,\"Restarting\":false,"
	        "\"OOMKilled\":true,\"Dead\":false,\"Pid\":0,\"ExitCode\":137,\"Error\":\"\","
	        "\"StartedAt\":\"2026-12-06T22:58:38.123859757Z\","
	        "\"FinishedAt\":\"2026-12-06T22:58:38.397319369Z\"}",
	        &s);
	assert_int_equal(s.state, CRIB_CONTAINER_EXITED);
	assert_int_equal(s.exit_code, 137);
	assert_int_equal(s.started_at, INT64_C(1796597918123859757));
	assert_int_equal(s.finished_at, INT64_C(1796597918397319369));
	assert_string_equal(s.reason, "OOMKilled");
	status_clear(&s);
}

static void test_status_dead(void **unused)
{
	struct crib_container_status s;

	(void)unused;
	/* A removal that failed half-way: the process is gone, the Engine says why. */
	inspect("{\"Status\":\"dead\",\"Running\":false,\"Paused\":false,\"Restarting\":false,"
	        "\"OOMKilled\":false,\"Dead\":true,\"Pid\":0,\"ExitCode\":2,"
	        "\"Error\":\"driver \\\"overlay2\\\" failed to remove root filesystem\","
	        "\"StartedAt\":\"2026-12-06T22:57:38.710827942Z\","
	        "\"FinishedAt\":\"2026-12-06T22:58:36.544235017Z\"}",
	        &s);
	assert_int_equal(s.state, CRIB_CONTAINER_EXITED);
	assert_int_equal(s.exit_code, 2);
	assert_int_equal(s.finished_at, INT64_C(1796597916544235017));
	assert_string_equal(s.reason, "Error");
	assert_string_equal(s.message, "driver \"overlay2\" failed to remove root filesystem");
	status_clear(&s);
}

static void test_status_cannot_run(void **unused)
{
	struct crib_container_status s;

	(void)unused;
	/* What the Engine keeps after a start the runtime refused. */
	inspect("{\"Status\":\"created\",\"Running\":false,\"Paused\":false,\"Restarting\":false,"
	        "\"OOMKilled\":false,\"Dead\":false,\"Pid\":0,\"ExitCode\":127,"
	        "\"Error\":\"failed to create shim task: OCI runtime create failed: exec: "
	        "\\\"/nonexistent\\\": stat /nonexistent: no such file or directory: unknown\","
	        "\"StartedAt\":\"0001-01-01T00:00:00Z\",\"FinishedAt\":\"0001-01-01T00:00:00Z\"}",
	        &s);
	assert_int_equal(s.state, CRIB_CONTAINER_EXITED);
	assert_int_equal(s.exit_code, 127);
	assert_int_equal(s.finished_at, INT64_C(1796597919396693121));
	assert_string_equal(s.reason, "ContainerCannotRun");
	assert_non_null(strstr(s.message, "/nonexistent"));
	status_clear(&s);
}

static void test_status_other_states(void **unused)
{
	struct crib_container_status s;

	(void)unused;
	inspect("{\"Status\":\"paused\",\"Running\":true,\"Paused\":true,\"Pid\":4242,"
	        "\"ExitCode\":0,\"StartedAt\":\"2026-12-06T22:57:38.710827942Z\","
	        "\"FinishedAt\":\"0001-01-01T00:00:00Z\"}",
	        &s);
	assert_int_equal(s.state, CRIB_CONTAINER_RUNNING);
	assert_int_equal(s.pid, 4242);
	status_clear(&s);
	inspect("{\"Status\":\"removing\",\"Running\":false,\"Pid\":0,\"ExitCode\":1,"
	        "\"FinishedAt\":\"2026-12-06T22:58:36.544235017Z\"}",
	        &s);
	assert_int_equal(s.state, CRIB_CONTAINER_EXITED);
	assert_int_equal(s.exit_code, 1);
	status_clear(&s);
	inspect("{\"Status\":\"hibernating\",\"Running\":false,\"Pid\":0,\"ExitCode\":0}", &s);
	assert_int_equal(s.state, CRIB_CONTAINER_UNKNOWN);
	assert_null(s.reason);
	status_clear(&s);
}

/* ---- usage ---- */

/* GET /containers/{id}/stats?stream=false&one-shot=true on cgroup v1, 64 MiB limit. */
static const char stats_v1[] =
    "{\"read\":\"2026-12-06T22:57:38.76639074Z\",\"preread\":\"0001-01-01T00:00:00Z\","
    "\"pids_stats\":{\"current\":1},\"num_procs\":0,\"storage_stats\":{},"
    "\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":58205287,"
    "\"percpu_usage\":[47407655,10797632],\"usage_in_kernelmode\":30000000,"
    "\"usage_in_usermode\":20000000},\"system_cpu_usage\":21041770000000,\"online_cpus\":2},"
    "\"memory_stats\":{\"usage\":2850816,\"max_usage\":4255744,\"stats\":{"
    "\"active_anon\":4096,\"active_file\":20480,\"cache\":2002944,"
    "\"hierarchical_memory_limit\":67108864,\"hierarchical_memsw_limit\":134217728,"
    "\"inactive_anon\":53248,\"inactive_file\":1982464,\"pgfault\":1217,\"pgmajfault\":1,"
    "\"rss\":57344,\"total_active_anon\":4096,\"total_cache\":2002944,"
    "\"total_inactive_file\":1982464,\"total_pgfault\":1217,\"total_pgmajfault\":1,"
    "\"total_rss\":57344,\"total_swap\":8192},\"limit\":67108864},"
    "\"name\":\"/crib-probe\",\"id\":\"0720ab79fcc1\"}";

/*
 * The same on cgroup v2 with a network of its own.  The v2 memory.stat keys
 * differ (anon, inactive_file, no totals); "pgfault" is chosen unlike the
 * v1 document's non-total one so that reading the wrong key shows.
 */
static const char stats_v2[] =
    "{\"read\":\"2026-12-06T22:59:00.000000001Z\",\"preread\":\"0001-01-01T00:00:00Z\","
    "\"pids_stats\":{\"current\":3,\"limit\":0},"
    "\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":1000000000,\"usage_in_kernelmode\":0,"
    "\"usage_in_usermode\":0},\"system_cpu_usage\":21041770000000,\"online_cpus\":2},"
    "\"memory_stats\":{\"usage\":10485760,\"stats\":{\"anon\":4194304,\"file\":6291456,"
    "\"active_file\":2097152,\"inactive_file\":4194304,\"pgfault\":500,\"pgmajfault\":7},"
    "\"limit\":33554432},"
    "\"networks\":{\"eth0\":{\"rx_bytes\":1000,\"rx_packets\":10,\"rx_errors\":1,"
    "\"rx_dropped\":0,\"tx_bytes\":2000,\"tx_packets\":20,\"tx_errors\":2,\"tx_dropped\":0},"
    "\"eth1\":{\"rx_bytes\":5,\"rx_errors\":0,\"tx_bytes\":7,\"tx_errors\":0}}}";

static void usage_of(const char *text, struct crib_usage *u)
{
	json_t *o = parse(text);

	docker_stats_usage(o, u);
	json_decref(o);
}

static void test_stats_v1(void **unused)
{
	struct crib_usage u = {0};

	(void)unused;
	usage_of(stats_v1, &u);
	assert_int_equal(u.timestamp, INT64_C(1796597858766390740));
	assert_int_equal(u.present, CRIB_USAGE_CPU | CRIB_USAGE_MEMORY_WORKING_SET |
	                                CRIB_USAGE_MEMORY_USAGE | CRIB_USAGE_MEMORY_AVAILABLE |
	                                CRIB_USAGE_MEMORY_RSS | CRIB_USAGE_PAGE_FAULTS |
	                                CRIB_USAGE_SWAP | CRIB_USAGE_PROCESSES);
	assert_int_equal(u.cpu_core_ns, 58205287);
	assert_int_equal(u.memory_usage_bytes, 2850816);
	assert_int_equal(u.memory_working_set_bytes, 2850816 - 1982464);
	assert_int_equal(u.memory_available_bytes, 67108864 - (2850816 - 1982464));
	assert_int_equal(u.memory_rss_bytes, 57344);
	assert_int_equal(u.page_faults, 1217);
	assert_int_equal(u.major_page_faults, 1);
	assert_int_equal(u.swap_usage_bytes, 8192);
	assert_int_equal(u.process_count, 1);
}

static void test_stats_v1_unlimited(void **unused)
{
	struct crib_usage u = {0};

	(void)unused;
	/* No limit: the cgroup says PAGE_COUNTER_MAX, the Engine's "limit" the host's memory. */
	usage_of("{\"read\":\"2026-12-06T22:57:38.76639074Z\",\"memory_stats\":{\"usage\":4096,"
	         "\"stats\":{\"hierarchical_memory_limit\":9223372036854771712,"
	         "\"total_inactive_file\":0,\"total_rss\":4096},\"limit\":8340000768}}",
	         &u);
	assert_true(u.present & CRIB_USAGE_MEMORY_WORKING_SET);
	assert_int_equal(u.memory_working_set_bytes, 4096);
	assert_false(u.present & CRIB_USAGE_MEMORY_AVAILABLE);
	assert_int_equal(u.memory_available_bytes, 0);
	assert_false(u.present & CRIB_USAGE_CPU);
	assert_false(u.present & CRIB_USAGE_NETWORK);
}

static void test_stats_v2(void **unused)
{
	struct crib_usage u = {0};

	(void)unused;
	usage_of(stats_v2, &u);
	assert_int_equal(u.timestamp, INT64_C(1796597940000000001));
	assert_int_equal(u.cpu_core_ns, 1000000000);
	assert_int_equal(u.memory_usage_bytes, 10485760);
	assert_int_equal(u.memory_working_set_bytes, 10485760 - 4194304);
	assert_int_equal(u.memory_available_bytes, 33554432 - (10485760 - 4194304));
	assert_int_equal(u.memory_rss_bytes, 4194304);
	assert_int_equal(u.page_faults, 500);
	assert_int_equal(u.major_page_faults, 7);
	assert_false(u.present & CRIB_USAGE_SWAP);
	assert_int_equal(u.process_count, 3);
	assert_true(u.present & CRIB_USAGE_NETWORK);
	assert_int_equal(u.rx_bytes, 1005);
	assert_int_equal(u.rx_errors, 1);
	assert_int_equal(u.tx_bytes, 2007);
	assert_int_equal(u.tx_errors, 2);
}

static void test_stats_working_set_not_negative(void **unused)
{
	struct crib_usage u = {0};

	(void)unused;
	/* memory.stat and memory.current are read apart: inactive_file can exceed usage. */
	usage_of("{\"read\":\"2026-12-06T22:59:00Z\",\"memory_stats\":{\"usage\":1000,"
	         "\"stats\":{\"anon\":0,\"inactive_file\":5000},\"limit\":4096}}",
	         &u);
	assert_int_equal(u.memory_usage_bytes, 1000);
	assert_int_equal(u.memory_working_set_bytes, 0);
	assert_int_equal(u.memory_available_bytes, 4096);
	/* Over the limit (a v2 high mark): nothing available, not a wrapped number. */
	u = (struct crib_usage){0};
	usage_of("{\"read\":\"2026-12-06T22:59:00Z\",\"memory_stats\":{\"usage\":9000,"
	         "\"stats\":{\"inactive_file\":0},\"limit\":4096}}",
	         &u);
	assert_int_equal(u.memory_working_set_bytes, 9000);
	assert_true(u.present & CRIB_USAGE_MEMORY_AVAILABLE);
	assert_int_equal(u.memory_available_bytes, 0);
}

static void test_stats_sum(void **unused)
{
	struct crib_usage u = {.present = CRIB_USAGE_FS, .fs_used_bytes = 123};

	(void)unused;
	/* A pod: the v2 container after the v1 one; the later read is the sample's time. */
	usage_of(stats_v1, &u);
	usage_of(stats_v2, &u);
	assert_int_equal(u.timestamp, INT64_C(1796597940000000001));
	assert_true(u.present & CRIB_USAGE_FS);
	assert_true(u.present & CRIB_USAGE_SWAP);
	assert_true(u.present & CRIB_USAGE_NETWORK);
	assert_int_equal(u.fs_used_bytes, 123);
	assert_int_equal(u.cpu_core_ns, 58205287 + 1000000000);
	assert_int_equal(u.memory_usage_bytes, 2850816 + 10485760);
	assert_int_equal(u.memory_working_set_bytes, (2850816 - 1982464) + (10485760 - 4194304));
	assert_int_equal(u.memory_rss_bytes, 57344 + 4194304);
	assert_int_equal(u.page_faults, 1217 + 500);
	assert_int_equal(u.major_page_faults, 1 + 7);
	assert_int_equal(u.process_count, 4);
	/* The earlier read does not move the time stamp back. */
	usage_of(stats_v1, &u);
	assert_int_equal(u.timestamp, INT64_C(1796597940000000001));
	assert_int_equal(u.process_count, 5);
}

static void test_stats_stopped(void **unused)
{
	struct crib_usage u = {.timestamp = 7, .memory_usage_bytes = 11};

	(void)unused;
	/* What the Engine answers for a container that does not run. */
	usage_of("{\"read\":\"0001-01-01T00:00:00Z\",\"preread\":\"0001-01-01T00:00:00Z\","
	         "\"pids_stats\":{},\"num_procs\":0,\"storage_stats\":{},"
	         "\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":0,\"usage_in_kernelmode\":0,"
	         "\"usage_in_usermode\":0}},\"memory_stats\":{},\"name\":\"/crib-probe\"}",
	         &u);
	assert_int_equal(u.timestamp, 7);
	assert_int_equal(u.memory_usage_bytes, 11);
	/* Its zeros are no sample: a CPU time of 0 would read as a counter reset. */
	assert_int_equal(u.present, 0);
}

/* ---- images ---- */

static json_t *image_doc(const char *user_member)
{
	char *text = crib_xasprintf(
	    "{\"Id\":\"sha256:1e6e2c84fb2c252aeea8ce8d0b84ae36b9f73a0c0579985bf645c7b60adc0a79\","
	    "\"RepoTags\":[\"127.0.0.1:5000/k8s-staging-cri-tools/"
	    "test-image-user-uid-group:latest\"],"
	    "\"RepoDigests\":[\"127.0.0.1:5000/k8s-staging-cri-tools/test-image-user-uid-group@"
	    "sha256:a7a355292e769b643ebdb2dea7bd99917422e826d4cc8b9149a22dbf66d433cb\"],"
	    "\"Parent\":\"\",\"Created\":\"2026-12-06T20:09:27.551906024Z\","
	    "\"ContainerConfig\":{\"User\":\"9999\"},"
	    "\"Config\":{\"Hostname\":\"\",%s\"Env\":[\"PATH=/usr/bin:/bin\"],\"Cmd\":[\"sh\"]},"
	    "\"Architecture\":\"amd64\",\"Os\":\"linux\",\"Size\":1983135,"
	    "\"RootFS\":{\"Type\":\"layers\",\"Layers\":[\"sha256:310997dfc3e078b6523d12d7cf326d41"
	    "a12be60d5a4a0bbe7eaf35faf22f3c49\"]}}",
	    user_member);
	json_t *o = parse(text);

	free(text);
	return o;
}

static void image_clear(struct crib_image_info *i)
{
	free(i->id);
	crib_strv_free(i->repo_tags, i->n_repo_tags);
	crib_strv_free(i->repo_digests, i->n_repo_digests);
	free(i->username);
	free(i->info);
	*i = (struct crib_image_info){0};
}

/* The user IMAGE_DOC's Config names as CRI's uid and username. */
static void check_user(const char *user_member, int64_t uid, const char *username)
{
	struct crib_image_info i = {0};
	json_t *o = image_doc(user_member);

	assert_int_equal(docker_image_info(o, false, &i), 0);
	assert_int_equal(i.uid, uid);
	if (username)
		assert_string_equal(i.username, username);
	else
		assert_null(i.username);
	image_clear(&i);
	json_decref(o);
}

static void test_image_info(void **unused)
{
	struct crib_image_info i = {0};
	json_t *o = image_doc("\"User\":\"1003:1004\",");

	(void)unused;
	assert_int_equal(docker_image_info(o, false, &i), 0);
	assert_string_equal(
	    i.id, "sha256:1e6e2c84fb2c252aeea8ce8d0b84ae36b9f73a0c0579985bf645c7b60adc0a79");
	assert_int_equal(i.n_repo_tags, 1);
	assert_string_equal(
	    i.repo_tags[0],
	    "127.0.0.1:5000/k8s-staging-cri-tools/test-image-user-uid-group:latest");
	assert_int_equal(i.n_repo_digests, 1);
	assert_non_null(strstr(i.repo_digests[0], "@sha256:a7a3552"));
	assert_int_equal(i.size, 1983135);
	assert_int_equal(i.uid, 1003);
	assert_null(i.username);
	assert_null(i.info);
	image_clear(&i);
	json_decref(o);
}

static void test_image_users(void **unused)
{
	(void)unused;
	check_user("\"User\":\"1002\",", 1002, NULL);
	check_user("\"User\":\"0\",", 0, NULL);
	check_user("\"User\":\"www-data\",", -1, "www-data");
	check_user("\"User\":\"www-data:1004\",", -1, "www-data");
	/* Not a number as a whole: a name, never a partly parsed uid. */
	check_user("\"User\":\"1000abc\",", -1, "1000abc");
	check_user("\"User\":\"-5\",", -1, "-5");
	/* None at all is root, as in cribd's own store. */
	check_user("\"User\":\"\",", 0, NULL);
	check_user("", 0, NULL);
}

static void test_image_list_entry(void **unused)
{
	struct crib_image_info i = {0};
	json_t *o;

	(void)unused;
	/* GET /images/json: no Config, so no user known; an untagged image's placeholders. */
	o = parse(
	    "{\"Containers\":-1,\"Created\":1796587773,\"Id\":\"sha256:90c4f9ef5243a043bcb5"
	    "2475572450003590586ae102d520ca0bfbf20045e3bc\",\"Labels\":null,\"ParentId\":\"\","
	    "\"RepoDigests\":[\"<none>@<none>\"],\"RepoTags\":[\"<none>:<none>\"],"
	    "\"SharedSize\":-1,\"Size\":1983135,\"VirtualSize\":1983135}");
	assert_int_equal(docker_image_info(o, false, &i), 0);
	assert_int_equal(i.n_repo_tags, 0);
	assert_int_equal(i.n_repo_digests, 0);
	assert_int_equal(i.uid, -1);
	assert_null(i.username);
	assert_int_equal(i.size, 1983135);
	image_clear(&i);
	json_decref(o);
	o = parse("{\"RepoTags\":[\"busybox:latest\"],\"Size\":1}");
	assert_int_equal(docker_image_info(o, false, &i), -EBADMSG);
	image_clear(&i);
	json_decref(o);
}

static void test_image_verbose(void **unused)
{
	struct crib_image_info i = {0};
	json_t *o = image_doc("\"User\":\"www-data:1004\",");
	json_t *info;

	(void)unused;
	assert_int_equal(docker_image_info(o, true, &i), 0);
	assert_non_null(i.info);
	info = parse(i.info);
	assert_true(json_is_object(info));
	assert_string_equal(json_string_value(json_object_get(info, "Id")), i.id);
	assert_string_equal(json_string_value(json_object_get(info, "Architecture")), "amd64");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(info, "Config"), "User")),
	    "www-data:1004");
	json_decref(info);
	image_clear(&i);
	json_decref(o);
}

/* ---- registry auth ---- */

/* Decodes base64url TEXT (padded) back to the JSON it carries. */
static json_t *decode_auth(const char *text)
{
	size_t len = strlen(text);
	char *std = crib_xstrdup(text);
	unsigned char *out = crib_xcalloc(1, len + 1);
	int n;
	json_t *o;

	for (size_t i = 0; i < len; i++) {
		if (std[i] == '-')
			std[i] = '+';
		else if (std[i] == '_')
			std[i] = '/';
	}
	n = EVP_DecodeBlock(out, (unsigned char *)std, (int)len);
	assert_true(n > 0);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	while (n > 0 && out[n - 1] == '\0')
		n--;
	o = json_loadb((char *)out, (size_t)n, 0, NULL);
	assert_non_null(o);
	free(std);
	free(out);
	return o;
}

static void test_registry_auth(void **unused)
{
	/* Runs of '>' and '?' encode to '+' and '/' in standard base64, whatever their offset. */
	struct crib_image_pull_args args = {
	    .image = "private.example.com/app:1",
	    .username = "crib",
	    .password = ">>>>>>???????",
	    .server_address = "private.example.com",
	};
	char *text = docker_registry_auth(&args);
	unsigned char std[512];
	char *json;
	json_t *o;

	(void)unused;
	assert_non_null(text);
	assert_int_equal(strlen(text) % 4, 0);
	assert_int_equal(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                              "0123456789-_="),
	                 strlen(text));
	assert_true(strchr(text, '-') && strchr(text, '_'));
	o = decode_auth(text);
	assert_int_equal(json_object_size(o), 3);
	assert_string_equal(json_string_value(json_object_get(o, "username")), "crib");
	assert_string_equal(json_string_value(json_object_get(o, "password")), ">>>>>>???????");
	assert_string_equal(json_string_value(json_object_get(o, "serveraddress")),
	                    "private.example.com");
	/* The same JSON in the standard alphabet does have the characters translated above. */
	json = json_dumps(o, JSON_COMPACT);
	assert_true(EVP_EncodeBlock(std, (unsigned char *)json, (int)strlen(json)) > 0);
	assert_true(strchr((char *)std, '+') && strchr((char *)std, '/'));
	free(json);
	json_decref(o);
	free(text);
}

static void test_registry_auth_tokens(void **unused)
{
	struct crib_image_pull_args args = {
	    .image = "busybox",
	    .auth = "Y3JpYjpzM2NyZXQ=",
	    .identity_token = "id-token",
	    .registry_token = "reg-token",
	};
	char *text = docker_registry_auth(&args);
	json_t *o;

	(void)unused;
	assert_non_null(text);
	o = decode_auth(text);
	assert_int_equal(json_object_size(o), 3);
	assert_string_equal(json_string_value(json_object_get(o, "auth")), "Y3JpYjpzM2NyZXQ=");
	assert_string_equal(json_string_value(json_object_get(o, "identitytoken")), "id-token");
	assert_string_equal(json_string_value(json_object_get(o, "registrytoken")), "reg-token");
	json_decref(o);
	free(text);
	/* No credentials: no header. */
	args = (struct crib_image_pull_args){.image = "busybox"};
	assert_null(docker_registry_auth(&args));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_created),
	    cmocka_unit_test(test_status_running),
	    cmocka_unit_test(test_status_exited),
	    cmocka_unit_test(test_status_oom_killed),
	    cmocka_unit_test(test_status_dead),
	    cmocka_unit_test(test_status_cannot_run),
	    cmocka_unit_test(test_status_other_states),
	    cmocka_unit_test(test_stats_v1),
	    cmocka_unit_test(test_stats_v1_unlimited),
	    cmocka_unit_test(test_stats_v2),
	    cmocka_unit_test(test_stats_working_set_not_negative),
	    cmocka_unit_test(test_stats_sum),
	    cmocka_unit_test(test_stats_stopped),
	    cmocka_unit_test(test_image_info),
	    cmocka_unit_test(test_image_users),
	    cmocka_unit_test(test_image_list_entry),
	    cmocka_unit_test(test_image_verbose),
	    cmocka_unit_test(test_registry_auth),
	    cmocka_unit_test(test_registry_auth_tokens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
