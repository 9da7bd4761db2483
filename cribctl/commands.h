/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribctl's commands, each a request or two to cribd's admin API and what it
 * prints.  cribctl.c parses the command line into struct crib_ctl_args and
 * picks one; a command returns 0, or -errno with *reterr set, and cribctl.c
 * prints the message and exits 1.
 */
#ifndef CRIB_CRIBCTL_COMMANDS_H
#define CRIB_CRIBCTL_COMMANDS_H

#include <stdbool.h>

#include "view.h"

struct crib_error;
struct crib_ctl_client;

struct crib_ctl_ctx {
	struct crib_ctl_client *client;
	unsigned page_size; /* of the paginated lists */
};

/* The command line, checked: the strings point into argv. */
struct crib_ctl_args {
	enum crib_ctl_output output;
	bool all;        /* ps: every state, not only running */
	bool follow;     /* logs */
	bool timestamps; /* logs */
	const char *namespace;
	const char *backend;
	const char *runtime_class;
	const char *pod;
	const char *state;
	const char *tail; /* logs: a count of lines, in decimal */
	long count;       /* top: displays; < 0 forever */
	double delay;     /* top: seconds between samples */
	const char *id;   /* inspect, logs */
};

typedef int (*crib_ctl_command_fn)(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                                   struct crib_error **reterr);

int crib_ctl_cmd_backends(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                          struct crib_error **reterr);
int crib_ctl_cmd_classes(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                         struct crib_error **reterr);
int crib_ctl_cmd_pods(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                      struct crib_error **reterr);
int crib_ctl_cmd_ps(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                    struct crib_error **reterr);
int crib_ctl_cmd_inspect(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                         struct crib_error **reterr);
int crib_ctl_cmd_logs(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                      struct crib_error **reterr);
int crib_ctl_cmd_reload(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                        struct crib_error **reterr);
int crib_ctl_cmd_top(struct crib_ctl_ctx *ctx, const struct crib_ctl_args *args,
                     struct crib_error **reterr);

#endif /* CRIB_CRIBCTL_COMMANDS_H */
