/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pins the backend ABI (api/crib/backend.h, STYLE.md rule 5).  A compiled
 * backend sees only offsets, sizes and constant values, so each of them is
 * written down here: reordering, resizing or removing a member, or renumbering
 * a constant, breaks this file's build.  Appending a member at the end of a
 * table is the one allowed change; it bumps CRIB_BACKEND_ABI_MINOR, and the
 * new member and size are added here in the same commit.
 *
 * The numbers are those of LP64 targets (every 64-bit Linux ABI lays these
 * structs out alike); elsewhere the layout is not pinned and that test skips.
 */
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crib/backend.h>

#define PIN(type, member, offset)                                                                  \
	static_assert(offsetof(struct type, member) == (offset),                                   \
	              "struct " #type " member " #member " moved: the ABI is append-only")
#define PIN_SIZE(type, size)                                                                       \
	static_assert(sizeof(struct type) == (size),                                               \
	              "struct " #type                                                              \
	              " changed size: bump CRIB_BACKEND_ABI_MINOR and pin it here")

static_assert(CRIB_BACKEND_ABI_MAJOR == 1, "a new ABI major needs a new set of pins");
/* The sizes below are those of ABI 1.4; members marked 1.N were appended in minor N. */
static_assert(CRIB_BACKEND_ABI_MINOR == 4, "a new ABI minor needs its members pinned here");
static_assert(CRIB_ASYNC == 1, "CRIB_ASYNC is part of the ABI");
static_assert(CRIB_EXEC_OUTPUT_MAX == 16u * 1024u * 1024u, "CRIB_EXEC_OUTPUT_MAX changed");

/* Constants a compiled backend has baked in. */
static_assert(CRIB_CAP_EXEC_SYNC == 1u << 0, "capability bit renumbered");
static_assert(CRIB_CAP_CONTAINER_STATS == 1u << 1, "capability bit renumbered");
static_assert(CRIB_CAP_POD_STATS == 1u << 2, "capability bit renumbered");
static_assert(CRIB_CAP_REOPEN_LOG == 1u << 3, "capability bit renumbered");
static_assert(CRIB_CAP_UPDATE_RESOURCES == 1u << 4, "capability bit renumbered");
static_assert(CRIB_CAP_POD_UPDATE == 1u << 5, "capability bit renumbered");
static_assert(CRIB_CAP_POD_STATUS == 1u << 6, "capability bit renumbered");
static_assert(CRIB_CAP_HEALTH == 1u << 7, "capability bit renumbered");
static_assert(CRIB_CAP_OWN_NETNS == 1u << 8, "capability bit renumbered");
static_assert(CRIB_CAP_OWN_IMAGES == 1u << 9, "capability bit renumbered");
static_assert(CRIB_CAP_STREAMS == 1u << 10, "capability bit renumbered");
static_assert(CRIB_CAP_PORT_FORWARD == 1u << 11, "capability bit renumbered");
static_assert(CRIB_FEATURE_RECURSIVE_READ_ONLY_MOUNTS == 1u << 0, "feature bit renumbered");
static_assert(CRIB_FEATURE_USER_NAMESPACES == 1u << 1, "feature bit renumbered");
static_assert(CRIB_LOG_ERR == 3 && CRIB_LOG_WARNING == 4 && CRIB_LOG_NOTICE == 5 &&
                  CRIB_LOG_INFO == 6 && CRIB_LOG_DEBUG == 7,
              "log levels are syslog's");
static_assert(CRIB_CONTAINER_CREATED == 0 && CRIB_CONTAINER_RUNNING == 1 &&
                  CRIB_CONTAINER_EXITED == 2 && CRIB_CONTAINER_UNKNOWN == 3,
              "container states are CRI's");
static_assert(CRIB_POD_READY == 0 && CRIB_POD_NOTREADY == 1, "pod states are CRI's");
static_assert(CRIB_USAGE_CPU == 1u << 0 && CRIB_USAGE_MEMORY_WORKING_SET == 1u << 1 &&
                  CRIB_USAGE_MEMORY_USAGE == 1u << 2 && CRIB_USAGE_MEMORY_AVAILABLE == 1u << 3 &&
                  CRIB_USAGE_MEMORY_RSS == 1u << 4 && CRIB_USAGE_PAGE_FAULTS == 1u << 5 &&
                  CRIB_USAGE_FS == 1u << 6 && CRIB_USAGE_SWAP == 1u << 7 &&
                  CRIB_USAGE_PROCESSES == 1u << 8 && CRIB_USAGE_NETWORK == 1u << 9,
              "usage field bit renumbered");
static_assert(CRIB_KIND_POD == 1 && CRIB_KIND_CONTAINER == 2, "object kind renumbered");
static_assert(CRIB_EVENT_CONTAINER_EXITED == 1 && CRIB_EVENT_POD_NOTREADY == 2 &&
                  CRIB_EVENT_HEALTH == 3,
              "event kind renumbered");
static_assert(CRIB_STREAM_STDOUT == 1 && CRIB_STREAM_STDERR == 2, "log stream renumbered");

#if defined(__LP64__)
/* struct crib_backend_ops */
PIN_SIZE(crib_backend_ops, 288);
PIN(crib_backend_ops, abi_major, 0);
PIN(crib_backend_ops, abi_minor, 4);
PIN(crib_backend_ops, struct_size, 8);
PIN(crib_backend_ops, reserved, 12);
PIN(crib_backend_ops, name, 16);
PIN(crib_backend_ops, version, 24);
PIN(crib_backend_ops, caps, 32);
PIN(crib_backend_ops, init, 40);
PIN(crib_backend_ops, fini, 48);
PIN(crib_backend_ops, class_open, 56);
PIN(crib_backend_ops, class_close, 64);
PIN(crib_backend_ops, pod_run, 72);
PIN(crib_backend_ops, pod_stop, 80);
PIN(crib_backend_ops, pod_remove, 88);
PIN(crib_backend_ops, container_create, 96);
PIN(crib_backend_ops, container_start, 104);
PIN(crib_backend_ops, container_stop, 112);
PIN(crib_backend_ops, container_remove, 120);
PIN(crib_backend_ops, container_status, 128);
PIN(crib_backend_ops, reconcile, 136);
PIN(crib_backend_ops, pod_status, 144);
PIN(crib_backend_ops, health, 152);
PIN(crib_backend_ops, exec_sync, 160);
PIN(crib_backend_ops, container_stats, 168);
PIN(crib_backend_ops, pod_stats, 176);
PIN(crib_backend_ops, container_reopen_log, 184);
PIN(crib_backend_ops, container_update, 192);
PIN(crib_backend_ops, pod_update, 200);
/* 1.1 */
PIN(crib_backend_ops, image_pull, 208);
PIN(crib_backend_ops, image_status, 216);
PIN(crib_backend_ops, image_list, 224);
PIN(crib_backend_ops, image_remove, 232);
PIN(crib_backend_ops, image_fs_info, 240);
/* 1.2 */
PIN(crib_backend_ops, stream_open, 248);
PIN(crib_backend_ops, stream_resize, 256);
PIN(crib_backend_ops, stream_finish, 264);
PIN(crib_backend_ops, stream_close, 272);
/* 1.4 */
PIN(crib_backend_ops, port_connect, 280);

/* struct crib_host */
PIN_SIZE(crib_host, 152);
PIN(crib_host, abi_major, 0);
PIN(crib_host, abi_minor, 4);
PIN(crib_host, struct_size, 8);
PIN(crib_host, reserved, 12);
PIN(crib_host, backend_name, 16);
PIN(crib_host, state_dir, 24);
PIN(crib_host, run_dir, 32);
PIN(crib_host, kv, 40);
PIN(crib_host, n_kv, 48);
PIN(crib_host, log, 56);
PIN(crib_host, error_set, 64);
PIN(crib_host, class_error, 72);
PIN(crib_host, class_get, 80);
PIN(crib_host, op_done, 88);
PIN(crib_host, emit, 96);
PIN(crib_host, log_open, 104);
PIN(crib_host, log_write, 112);
PIN(crib_host, log_reopen, 120);
PIN(crib_host, log_close, 128);
/* 1.1 */
PIN(crib_host, rootfs_prepare, 136);
PIN(crib_host, rootfs_release, 144);

/* struct crib_kv */
PIN_SIZE(crib_kv, 32);
PIN(crib_kv, key, 0);
PIN(crib_kv, value, 8);
PIN(crib_kv, file, 16);
PIN(crib_kv, line, 24);

/* struct crib_class */
PIN_SIZE(crib_class, 48);
PIN(crib_class, name, 0);
PIN(crib_class, file, 8);
PIN(crib_class, line, 16);
PIN(crib_class, kv, 24);
PIN(crib_class, n_kv, 32);
PIN(crib_class, data, 40);

/* struct crib_blob */
PIN_SIZE(crib_blob, 16);
PIN(crib_blob, data, 0);
PIN(crib_blob, len, 8);

/* struct crib_pod_ref */
PIN_SIZE(crib_pod_ref, 32);
PIN(crib_pod_ref, id, 0);
PIN(crib_pod_ref, cls, 8);
PIN(crib_pod_ref, priv, 16);
PIN(crib_pod_ref, priv_len, 24);

/* struct crib_container_ref */
PIN_SIZE(crib_container_ref, 56);
PIN(crib_container_ref, id, 0);
PIN(crib_container_ref, pod, 8);
PIN(crib_container_ref, priv, 40);
PIN(crib_container_ref, priv_len, 48);

/* struct crib_pod_spec */
PIN_SIZE(crib_pod_spec, 88);
PIN(crib_pod_spec, ref, 0);
PIN(crib_pod_spec, name, 32);
PIN(crib_pod_spec, namespace_, 40);
PIN(crib_pod_spec, uid, 48);
PIN(crib_pod_spec, attempt, 56);
PIN(crib_pod_spec, cri_config, 64);
PIN(crib_pod_spec, cri_config_len, 72);
PIN(crib_pod_spec, netns_path, 80);

/* struct crib_pod_result */
PIN_SIZE(crib_pod_result, 32);
PIN(crib_pod_result, priv, 0);
PIN(crib_pod_result, ip, 16);
PIN(crib_pod_result, netns_path, 24);

/* struct crib_container_spec */
PIN_SIZE(crib_container_spec, 160);
PIN(crib_container_spec, ref, 0);
PIN(crib_container_spec, name, 56);
PIN(crib_container_spec, attempt, 64);
PIN(crib_container_spec, image, 72);
PIN(crib_container_spec, log_path, 80);
PIN(crib_container_spec, cri_config, 88);
PIN(crib_container_spec, cri_config_len, 96);
PIN(crib_container_spec, cri_pod_config, 104);
PIN(crib_container_spec, cri_pod_config_len, 112);
/* 1.1 */
PIN(crib_container_spec, image_id, 120);
PIN(crib_container_spec, image_ref, 128);
PIN(crib_container_spec, image_config, 136);
PIN(crib_container_spec, image_layers, 144);
PIN(crib_container_spec, n_image_layers, 152);

/* struct crib_rootfs (1.1) */
PIN_SIZE(crib_rootfs, 16);
PIN(crib_rootfs, path, 0);
PIN(crib_rootfs, upper, 8);

/* struct crib_image_pull_args (1.1) */
PIN_SIZE(crib_image_pull_args, 96);
PIN(crib_image_pull_args, cls, 0);
PIN(crib_image_pull_args, image, 8);
PIN(crib_image_pull_args, username, 16);
PIN(crib_image_pull_args, password, 24);
PIN(crib_image_pull_args, auth, 32);
PIN(crib_image_pull_args, server_address, 40);
PIN(crib_image_pull_args, identity_token, 48);
PIN(crib_image_pull_args, registry_token, 56);
PIN(crib_image_pull_args, cri_pod_config, 64);
PIN(crib_image_pull_args, cri_pod_config_len, 72);
PIN(crib_image_pull_args, sources, 80); /* 1.3 */
PIN(crib_image_pull_args, n_sources, 88);

/* struct crib_image_info (1.1) */
PIN_SIZE(crib_image_info, 72);
PIN(crib_image_info, id, 0);
PIN(crib_image_info, repo_tags, 8);
PIN(crib_image_info, n_repo_tags, 16);
PIN(crib_image_info, repo_digests, 24);
PIN(crib_image_info, n_repo_digests, 32);
PIN(crib_image_info, size, 40);
PIN(crib_image_info, uid, 48);
PIN(crib_image_info, username, 56);
PIN(crib_image_info, info, 64);

/* struct crib_image_list (1.1) */
PIN_SIZE(crib_image_list, 16);
PIN(crib_image_list, images, 0);
PIN(crib_image_list, n_images, 8);

/* struct crib_stream_args (1.2) */
PIN_SIZE(crib_stream_args, 88);
PIN(crib_stream_args, argv, 56);
PIN(crib_stream_args, argc, 64);
PIN(crib_stream_args, tty, 72);
PIN(crib_stream_args, stderr_, 84);
/* struct crib_stream_result (1.2) */
PIN_SIZE(crib_stream_result, 24);
PIN(crib_stream_result, stdin_fd, 8);
PIN(crib_stream_result, done_fd, 20);
/* struct crib_fs_usage (1.1) */
PIN_SIZE(crib_fs_usage, 24);
PIN(crib_fs_usage, mountpoint, 0);
PIN(crib_fs_usage, used_bytes, 8);
PIN(crib_fs_usage, inodes_used, 16);

/* struct crib_container_result */
PIN_SIZE(crib_container_result, 16);
PIN(crib_container_result, priv, 0);

/* struct crib_container_status */
PIN_SIZE(crib_container_status, 56);
PIN(crib_container_status, state, 0);
PIN(crib_container_status, exit_code, 4);
PIN(crib_container_status, started_at, 8);
PIN(crib_container_status, finished_at, 16);
PIN(crib_container_status, pid, 24);
PIN(crib_container_status, reason, 32);
PIN(crib_container_status, message, 40);
PIN(crib_container_status, info, 48);

/* struct crib_pod_status */
PIN_SIZE(crib_pod_status, 24);
PIN(crib_pod_status, state, 0);
PIN(crib_pod_status, ip, 8);
PIN(crib_pod_status, info, 16);

/* struct crib_usage */
PIN_SIZE(crib_usage, 160);
PIN(crib_usage, timestamp, 0);
PIN(crib_usage, present, 8);
PIN(crib_usage, cpu_core_ns, 16);
PIN(crib_usage, memory_working_set_bytes, 24);
PIN(crib_usage, memory_usage_bytes, 32);
PIN(crib_usage, memory_available_bytes, 40);
PIN(crib_usage, memory_rss_bytes, 48);
PIN(crib_usage, page_faults, 56);
PIN(crib_usage, major_page_faults, 64);
PIN(crib_usage, fs_used_bytes, 72);
PIN(crib_usage, fs_inodes_used, 80);
PIN(crib_usage, fs_mountpoint, 88);
PIN(crib_usage, swap_usage_bytes, 96);
PIN(crib_usage, swap_available_bytes, 104);
PIN(crib_usage, process_count, 112);
PIN(crib_usage, rx_bytes, 120);
PIN(crib_usage, rx_errors, 128);
PIN(crib_usage, tx_bytes, 136);
PIN(crib_usage, tx_errors, 144);
PIN(crib_usage, interface, 152);

/* struct crib_exec_sync_args */
PIN_SIZE(crib_exec_sync_args, 80);
PIN(crib_exec_sync_args, ref, 0);
PIN(crib_exec_sync_args, argv, 56);
PIN(crib_exec_sync_args, argc, 64);
PIN(crib_exec_sync_args, timeout_s, 72);

/* struct crib_exec_sync_result */
PIN_SIZE(crib_exec_sync_result, 40);
PIN(crib_exec_sync_result, out, 0);
PIN(crib_exec_sync_result, err, 16);
PIN(crib_exec_sync_result, exit_code, 32);

/* struct crib_reconcile_item */
PIN_SIZE(crib_reconcile_item, 136);
PIN(crib_reconcile_item, kind, 0);
PIN(crib_reconcile_item, id, 8);
PIN(crib_reconcile_item, pod_id, 16);
PIN(crib_reconcile_item, cls, 24);
PIN(crib_reconcile_item, priv, 32);
PIN(crib_reconcile_item, priv_len, 40);
PIN(crib_reconcile_item, found, 48);
PIN(crib_reconcile_item, pod, 56);
PIN(crib_reconcile_item, container, 80);

/* struct crib_health */
PIN_SIZE(crib_health, 24);
PIN(crib_health, healthy, 0);
PIN(crib_health, message, 8);
PIN(crib_health, info, 16);

/* struct crib_event */
PIN_SIZE(crib_event, 48);
PIN(crib_event, kind, 0);
PIN(crib_event, id, 8);
PIN(crib_event, exit_code, 16);
PIN(crib_event, at, 24);
PIN(crib_event, reason, 32);
PIN(crib_event, message, 40);
#endif /* __LP64__ */

/* Never called: the table only needs non-NULL members. */
static void stub(void)
{
}

#define STUB(op) ((__typeof__(((struct crib_backend_ops *)NULL)->op))(void (*)(void))stub)

static void test_abi_constants(void **state)
{
	(void)state;
	assert_int_equal(CRIB_BACKEND_ABI_MAJOR, 1);
	assert_string_equal(CRIB_BACKEND_ENTRY_SYMBOL, "crib_backend_entry");
}

static void test_layout_sizes(void **state)
{
	(void)state;
#if defined(__LP64__)
	assert_int_equal(sizeof(struct crib_backend_ops), 288);
	assert_int_equal(sizeof(struct crib_host), 152);
	/* The table's head is what every version of cribd reads first. */
	assert_int_equal(offsetof(struct crib_backend_ops, struct_size), 8);
	assert_int_equal(offsetof(struct crib_host, struct_size), 8);
#else
	skip();
#endif
}

static void test_has_op_follows_struct_size(void **state)
{
	const size_t end = offsetof(struct crib_backend_ops, pod_update) + sizeof(void *);
	struct crib_backend_ops ops = {
	    .struct_size = sizeof(struct crib_backend_ops),
	    .init = STUB(init),
	    .container_update = STUB(container_update),
	    .pod_update = STUB(pod_update),
	};

	(void)state;
	assert_true(CRIB_BACKEND_HAS_OP(&ops, pod_update));
	assert_true(CRIB_BACKEND_HAS_OP(&ops, container_update));
	/* A table from a backend built before pod_update existed. */
	ops.struct_size = (uint32_t)offsetof(struct crib_backend_ops, pod_update);
	assert_false(CRIB_BACKEND_HAS_OP(&ops, pod_update));
	assert_true(CRIB_BACKEND_HAS_OP(&ops, container_update));
	/* A member that does not fit whole is absent. */
	ops.struct_size = (uint32_t)(end - 1);
	assert_false(CRIB_BACKEND_HAS_OP(&ops, pod_update));
	ops.struct_size = (uint32_t)end;
	assert_true(CRIB_BACKEND_HAS_OP(&ops, pod_update));
	ops.struct_size = 0;
	assert_false(CRIB_BACKEND_HAS_OP(&ops, init));
	/* A 1.0 table ends before the 1.1 image ops, whatever lies beyond it. */
	ops.image_pull = STUB(image_pull);
	ops.struct_size = (uint32_t)end;
	assert_false(CRIB_BACKEND_HAS_OP(&ops, image_pull));
	ops.struct_size = sizeof(struct crib_backend_ops);
	assert_true(CRIB_BACKEND_HAS_OP(&ops, image_pull));
}

static void test_has_op_false_for_null_member(void **state)
{
	struct crib_backend_ops ops = {
	    .struct_size = sizeof(struct crib_backend_ops),
	};

	(void)state;
	assert_false(CRIB_BACKEND_HAS_OP(&ops, init));
	assert_false(CRIB_BACKEND_HAS_OP(&ops, health));
	ops.health = STUB(health);
	assert_true(CRIB_BACKEND_HAS_OP(&ops, health));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_abi_constants),
	    cmocka_unit_test(test_layout_sizes),
	    cmocka_unit_test(test_has_op_follows_struct_size),
	    cmocka_unit_test(test_has_op_false_for_null_member),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
