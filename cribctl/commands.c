/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "error.h"
#include "list.h"
#include "top.h"
#include "util.h"

/* A list route and how its items look as a table. */
struct list_view {
	const char *path;
	bool paginated;
	const struct crib_ctl_column *columns;
	size_t n_columns;
};

#define LIST_VIEW(p, paged, cols)                                                                  \
	{                                                                                          \
		.path = (p), .paginated = (paged), .columns = (cols),                              \
		.n_columns = ARRAY_SIZE(cols)                                                      \
	}

static const struct crib_ctl_column backend_columns[] = {
    {.header = "NAME", .key = "name", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "STATUS", .key = "status", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "ABI", .key = "abi", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "CLASSES", .key = "runtime_classes", .kind = CRIB_CTL_CELL_LIST},
    {.header = "PODS", .key = "pods", .kind = CRIB_CTL_CELL_INT},
    {.header = "CONTAINERS", .key = "containers", .kind = CRIB_CTL_CELL_INT},
    {.header = "CAPABILITIES", .key = "capabilities", .kind = CRIB_CTL_CELL_LIST},
    {.header = "MESSAGE", .key = "message", .kind = CRIB_CTL_CELL_NOTE},
};

static const struct crib_ctl_column class_columns[] = {
    {.header = "NAME", .key = "name", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "BACKEND", .key = "backend", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "DEFAULT", .key = "default", .kind = CRIB_CTL_CELL_BOOL},
    {.header = "STATUS", .key = "status", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "PODS", .key = "pods", .kind = CRIB_CTL_CELL_INT},
    {.header = "SOURCE", .key = "source", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "MESSAGE", .key = "message", .kind = CRIB_CTL_CELL_NOTE},
};

static const struct crib_ctl_column pod_columns[] = {
    {.header = "POD ID", .key = "id", .kind = CRIB_CTL_CELL_SHORT_ID},
    {.header = "CREATED", .key = "created_at", .kind = CRIB_CTL_CELL_AGE},
    {.header = "STATE", .key = "state", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "NAME", .key = "name", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "NAMESPACE", .key = "namespace", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "ATTEMPT", .key = "attempt", .kind = CRIB_CTL_CELL_INT},
    {.header = "CLASS", .key = "runtime_class", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "BACKEND", .key = "backend", .kind = CRIB_CTL_CELL_TEXT},
};

static const struct crib_ctl_column container_columns[] = {
    {.header = "CONTAINER", .key = "id", .kind = CRIB_CTL_CELL_SHORT_ID},
    {.header = "IMAGE", .key = "image", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "CREATED", .key = "created_at", .kind = CRIB_CTL_CELL_AGE},
    {.header = "STATE", .key = "state", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "NAME", .key = "name", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "ATTEMPT", .key = "attempt", .kind = CRIB_CTL_CELL_INT},
    {.header = "POD ID", .key = "pod_id", .kind = CRIB_CTL_CELL_SHORT_ID},
    {.header = "POD", .key = "pod_name", .kind = CRIB_CTL_CELL_TEXT},
    {.header = "BACKEND", .key = "backend", .kind = CRIB_CTL_CELL_TEXT},
};

static const struct list_view backends_view = LIST_VIEW("/v1/backends", false, backend_columns);
static const struct list_view classes_view = LIST_VIEW("/v1/runtime-classes", false, class_columns);
static const struct list_view pods_view = LIST_VIEW("/v1/pods", true, pod_columns);
static const struct list_view containers_view =
    LIST_VIEW("/v1/containers", true, container_columns);

static int output_done(int r, struct crib_error **reterr)
{
	if (r >= 0 && fflush(stdout) != 0)
		r = -errno;
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to write output: %s", strerror(-r));
	return 0;
}

/* ITEMS as VIEW's table, or as {"items": ITEMS}. */
static int show_items(json_t *items, const struct list_view *view, enum crib_ctl_output output,
                      struct crib_error **reterr)
{
	_cleanup_(crib_ctl_json_decrefp) json_t *doc = NULL;

	if (output == CRIB_CTL_OUTPUT_TABLE)
		return output_done(crib_ctl_print_items(items, view->columns, view->n_columns,
		                                        (int64_t)time(NULL), stdout),
		                   reterr);
	doc = json_pack("{s:O}", "items", items);
	return output_done(doc ? crib_ctl_print_json(doc, stdout) : -ENOMEM, reterr);
}

static int run_list(struct crib_ctl_ctx *ctx, const struct list_view *view,
                    const struct crib_ctl_param *params, size_t n, enum crib_ctl_output output,
                    struct crib_error **reterr)
{
	_cleanup_(crib_ctl_json_decrefp) json_t *items = NULL;
	int r;

	r = crib_ctl_list_all(ctx->client, view->path, params, n,
	                      view->paginated ? ctx->page_size : 0, &items, reterr);
	if (r < 0)
		return r;
	return show_items(items, view, output, reterr);
}

int crib_ctl_cmd_backends(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                          struct crib_error **reterr)
{
	return run_list(ctx, &backends_view, NULL, 0, args->output, reterr);
}

int crib_ctl_cmd_classes(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                         struct crib_error **reterr)
{
	return run_list(ctx, &classes_view, NULL, 0, args->output, reterr);
}

int crib_ctl_cmd_pods(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                      struct crib_error **reterr)
{
	const struct crib_ctl_param params[] = {
	    {.key = "namespace", .value = args->namespace},
	    {.key = "backend", .value = args->backend},
	    {.key = "runtime_class", .value = args->runtime_class},
	    {.key = "state", .value = args->state},
	};

	return run_list(ctx, &pods_view, params, ARRAY_SIZE(params), args->output, reterr);
}

int crib_ctl_cmd_ps(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                    struct crib_error **reterr)
{
	/* As crictl ps: running containers unless -a (or a --state) says otherwise. */
	const char *state = args->state ? args->state : args->all ? NULL : "running";
	const struct crib_ctl_param params[] = {
	    {.key = "namespace", .value = args->namespace},
	    {.key = "backend", .value = args->backend},
	    {.key = "runtime_class", .value = args->runtime_class},
	    {.key = "state", .value = state},
	    {.key = "pod", .value = args->pod},
	};

	return run_list(ctx, &containers_view, params, ARRAY_SIZE(params), args->output, reterr);
}

/* GET COLLECTION/ID, the id escaped: it comes from the command line. */
static int get_detail(struct crib_ctl_ctx *ctx, const char *collection, const char *id,
                      json_t **ret, struct crib_error **reterr)
{
	_cleanup_free_ char *escaped = crib_ctl_escape(id);
	_cleanup_free_ char *path = crib_xasprintf("%s/%s", collection, escaped);

	return crib_ctl_client_get_json(ctx->client, path, NULL, 0, ret, reterr);
}

int crib_ctl_cmd_inspect(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                         struct crib_error **reterr)
{
	_cleanup_(crib_error_freep) struct crib_error *not_container = NULL, *not_pod = NULL;
	_cleanup_(crib_ctl_json_decrefp) json_t *doc = NULL;
	int r;

	/* A 404 is the answer for an id of the other kind; any other failure is final. */
	r = get_detail(ctx, "/v1/containers", args->id, &doc, &not_container);
	if (r == -ENOENT)
		r = get_detail(ctx, "/v1/pods", args->id, &doc, &not_pod);
	if (r == -ENOENT)
		return crib_error_set(reterr, ENOENT, "%s; %s", crib_error_msg(not_container),
		                      crib_error_msg(not_pod));
	if (r < 0)
		return crib_error_set(reterr, -r, "%s",
		                      crib_error_msg(not_pod ? not_pod : not_container));
	/* The detail is a document to read whole: JSON in both output modes. */
	return output_done(crib_ctl_print_json(doc, stdout), reterr);
}

int crib_ctl_cmd_logs(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                      struct crib_error **reterr)
{
	_cleanup_free_ char *escaped = crib_ctl_escape(args->id);
	_cleanup_free_ char *path = crib_xasprintf("/v1/containers/%s/logs", escaped);
	const struct crib_ctl_param params[] = {
	    {.key = "tail", .value = args->tail},
	    {.key = "follow", .value = args->follow ? "1" : NULL},
	    {.key = "timestamps", .value = args->timestamps ? "1" : NULL},
	};

	/* Straight to the descriptor, unbuffered, so that followed lines show as they come. */
	return crib_ctl_client_stream(ctx->client, path, params, ARRAY_SIZE(params), STDOUT_FILENO,
	                              reterr);
}

int crib_ctl_cmd_reload(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                        struct crib_error **reterr)
{
	_cleanup_(crib_ctl_json_decrefp) json_t *doc = NULL;
	json_t *items;
	int r;

	r = crib_ctl_client_post_json(ctx->client, "/v1/reload", &doc, reterr);
	if (r < 0)
		return r;
	items = json_object_get(doc, "items");
	if (!json_is_array(items))
		return crib_error_set(reterr, EPROTO,
		                      "The answer to /v1/reload has no items array");
	return show_items(items, &classes_view, args->output, reterr);
}

int crib_ctl_cmd_top(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                     struct crib_error **reterr)
{
	const struct crib_ctl_top_options opts = {
	    .count = args->count,
	    .delay = args->delay,
	    .json = args->output == CRIB_CTL_OUTPUT_JSON,
	    .page_size = ctx->page_size,
	};

	return crib_ctl_top_run(ctx->client, &opts, stdout, reterr);
}
