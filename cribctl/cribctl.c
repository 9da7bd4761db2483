/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribctl: a command-line client of cribd's REST admin API.  This file reads
 * the command line; commands.c does the work.  Exit codes: 0 done, 1 the
 * request failed (cribd's message on stderr), 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client.h"
#include "commands.h"
#include "error.h"
#include "list.h"
#include "util.h"

#define DEFAULT_SOCKET "/run/crib/admin.sock"
#define EXIT_USAGE     2
#define MAX_DELAY_S    86400.0

/* The long-only options get letters that no short option string lists. */
enum {
	OPT_SOCKET = 'S',
	OPT_URL = 'U',
	OPT_TOKEN_FILE = 'K',
	OPT_CACERT = 'C',
	OPT_NAMESPACE = 'N',
	OPT_TAIL = 'T',
};

struct command {
	const char *name;
	const char *synopsis;
	const char *shortopts; /* for getopt_long(), with the leading ':' */
	const char *longonly;  /* the long-only options it takes, by their letters */
	bool takes_id;
	crib_ctl_command_fn run;
};

static const struct command commands[] = {
    {
        .name = "backends",
        .synopsis = "backends",
        .shortopts = ":ho:",
        .longonly = "",
        .run = crib_ctl_cmd_backends,
    },
    {
        .name = "classes",
        .synopsis = "classes",
        .shortopts = ":ho:",
        .longonly = "",
        .run = crib_ctl_cmd_classes,
    },
    {
        .name = "pods",
        .synopsis = "pods [--namespace NS] [-b BACKEND] [-c CLASS] [-s STATE]",
        .shortopts = ":ho:b:c:s:",
        .longonly = (const char[]){OPT_NAMESPACE, '\0'},
        .run = crib_ctl_cmd_pods,
    },
    {
        .name = "ps",
        .synopsis = "ps [-a] [-p POD] [--namespace NS] [-b BACKEND] [-c CLASS] [-s STATE]",
        .shortopts = ":ho:ap:b:c:s:",
        .longonly = (const char[]){OPT_NAMESPACE, '\0'},
        .run = crib_ctl_cmd_ps,
    },
    {
        .name = "inspect",
        .synopsis = "inspect ID",
        .shortopts = ":ho:",
        .longonly = "",
        .takes_id = true,
        .run = crib_ctl_cmd_inspect,
    },
    {
        .name = "logs",
        .synopsis = "logs [-f] [--tail N] [-t] ID",
        .shortopts = ":hft",
        .longonly = (const char[]){OPT_TAIL, '\0'},
        .takes_id = true,
        .run = crib_ctl_cmd_logs,
    },
    {
        .name = "reload",
        .synopsis = "reload",
        .shortopts = ":ho:",
        .longonly = "",
        .run = crib_ctl_cmd_reload,
    },
    {
        .name = "top",
        .synopsis = "top [-n COUNT] [-d SECONDS]",
        .shortopts = ":ho:n:d:",
        .longonly = "",
        .run = crib_ctl_cmd_top,
    },
};

static const struct option command_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"output", required_argument, NULL, 'o'},
    {"all", no_argument, NULL, 'a'},
    {"pod", required_argument, NULL, 'p'},
    {"backend", required_argument, NULL, 'b'},
    {"class", required_argument, NULL, 'c'},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"state", required_argument, NULL, 's'},
    {"follow", no_argument, NULL, 'f'},
    {"tail", required_argument, NULL, OPT_TAIL},
    {"timestamps", no_argument, NULL, 't'},
    {"count", required_argument, NULL, 'n'},
    {"delay", required_argument, NULL, 'd'},
    {NULL, 0, NULL, 0},
};

struct global {
	const char *socket;
	const char *url;
	const char *token_file;
	const char *cacert;
	enum crib_ctl_output output;
};

static void usage(FILE *f)
{
	fputs("Usage: cribctl [--socket PATH | --url URL --token-file FILE [--cacert FILE]]\n"
	      "               [-o table|json] COMMAND [OPTIONS]\n"
	      "\n"
	      "A client of cribd's admin API: what runs on this node, on every backend.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fputs("\n"
	      "  pods, ps: -b/--backend, -c/--class (runtime class), --namespace and\n"
	      "  -s/--state filter; ps shows running containers unless -a or -s says otherwise.\n"
	      "  inspect: a container's or a pod's detail (JSON), by id or unique prefix.\n"
	      "  logs: -f follows until the container exits, -t/--timestamps prefixes times.\n"
	      "  top: CPU% and memory every SECONDS (default 2, fractions allowed),\n"
	      "  COUNT times (default: until interrupted).\n"
	      "\n"
	      "Options:\n"
	      "  --socket PATH       the admin socket (default $CRIB_ADMIN_SOCKET, "
	      "else " DEFAULT_SOCKET ")\n"
	      "  --url URL           http(s)://HOST:PORT of cribd's TCP admin address instead\n"
	      "  --token-file FILE   the bearer token for --url (its trailing newline dropped)\n"
	      "  --cacert FILE       CA certificates to check an https server with\n"
	      "  -o, --output FMT    table (default) or json; also accepted after COMMAND\n"
	      "  -h, --help          show this help\n"
	      "  -V, --version       show the version\n"
	      "\n"
	      "Environment:\n"
	      "  CRIB_ADMIN_SOCKET   the default admin socket\n"
	      "  CRIBCTL_PAGE_SIZE   items per request for paginated lists, 1-1000 (default 500);\n"
	      "                      a testing aid for the pagination\n"
	      "\n"
	      "Exit status: 0 done, 1 the request failed, 2 bad usage.\n",
	      f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cribctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nRun 'cribctl --help' for usage.\n", stderr);
	return -EINVAL;
}

static int parse_output(const char *s, enum crib_ctl_output *ret)
{
	if (streq(s, "table"))
		*ret = CRIB_CTL_OUTPUT_TABLE;
	else if (streq(s, "json"))
		*ret = CRIB_CTL_OUTPUT_JSON;
	else
		return usage_error("unknown output format '%s' (table or json)", s);
	return 0;
}

/* A decimal integer in [MIN, LONG_MAX], the whole string. */
static int parse_long(const char *s, long min, const char *what, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return usage_error("%s must be an integer of at least %ld, not '%s'", what, min, s);
	*ret = v;
	return 0;
}

static int parse_delay(const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > MAX_DELAY_S)
		return usage_error("-d wants seconds above 0 and up to %.0f, not '%s'", MAX_DELAY_S,
		                   s);
	*ret = v;
	return 0;
}

static int command_option(int c, struct crib_ctl_args *args)
{
	long tail;

	switch (c) {
	case 'o':
		return parse_output(optarg, &args->output);
	case 'a':
		args->all = true;
		return 0;
	case 'p':
		args->pod = optarg;
		return 0;
	case 'b':
		args->backend = optarg;
		return 0;
	case 'c':
		args->runtime_class = optarg;
		return 0;
	case OPT_NAMESPACE:
		args->namespace = optarg;
		return 0;
	case 's':
		args->state = optarg;
		return 0;
	case 'f':
		args->follow = true;
		return 0;
	case 't':
		args->timestamps = true;
		return 0;
	case OPT_TAIL:
		args->tail = optarg;
		return parse_long(optarg, 0, "--tail", &tail);
	case 'n':
		return parse_long(optarg, 1, "-n", &args->count);
	case 'd':
		return parse_delay(optarg, &args->delay);
	default:
		return -EINVAL;
	}
}

/* The option getopt_long() just failed on, for the message. */
static const char *failed_option(char **argv)
{
	return argv[optind - 1] ? argv[optind - 1] : "?";
}

/* Parses ARGV (the command's name first) for CMD into *args. */
static int parse_command(const struct command *cmd, int argc, char **argv,
                         struct crib_ctl_args *args)
{
	int c, idx, r;

	optind = 0; /* glibc: start over on a new argv */
	for (;;) {
		idx = -1;
		c = getopt_long(argc, argv, cmd->shortopts, command_options, &idx);
		if (c == -1)
			break;
		if (c == 'h') {
			printf("Usage: cribctl [GLOBAL OPTIONS] %s\n", cmd->synopsis);
			return 1;
		}
		if (c == '?' || c == ':')
			return usage_error("%s: bad option or missing value in '%s'", cmd->name,
			                   failed_option(argv));
		/* command_options lists every command's options; this one takes these. */
		if (idx >= 0 && !strchr(cmd->shortopts, c) && !strchr(cmd->longonly, c))
			return usage_error("%s: option '--%s' does not apply", cmd->name,
			                   command_options[idx].name);
		r = command_option(c, args);
		if (r < 0)
			return r;
	}
	if (cmd->takes_id && argc - optind == 1) {
		args->id = argv[optind];
		return 0;
	}
	if (cmd->takes_id)
		return usage_error("%s wants one ID", cmd->name);
	if (optind < argc)
		return usage_error("%s: unexpected argument '%s'", cmd->name, argv[optind]);
	return 0;
}

/* Global options, up to the command; returns the index of the command in argv. */
static int parse_global(int argc, char **argv, struct global *g)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, OPT_SOCKET},
	    {"url", required_argument, NULL, OPT_URL},
	    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
	    {"cacert", required_argument, NULL, OPT_CACERT},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c, r;

	for (;;) {
		/* '+': stop at the command, whose options are its own. */
		c = getopt_long(argc, argv, "+:o:hV", opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case OPT_SOCKET:
			g->socket = optarg;
			break;
		case OPT_URL:
			g->url = optarg;
			break;
		case OPT_TOKEN_FILE:
			g->token_file = optarg;
			break;
		case OPT_CACERT:
			g->cacert = optarg;
			break;
		case 'o':
			r = parse_output(optarg, &g->output);
			if (r < 0)
				return r;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cribctl %s\n", CRIBCTL_VERSION);
			return 0;
		default:
			return usage_error("bad option or missing value in '%s'",
			                   failed_option(argv));
		}
	}
	if (optind == argc)
		return usage_error("no command given");
	return optind;
}

static int check_endpoint(const struct global *g)
{
	if (g->url && g->socket)
		return usage_error("--socket and --url are exclusive");
	if (g->url && !g->token_file)
		return usage_error("--url needs --token-file");
	if (!g->url && (g->token_file || g->cacert))
		return usage_error("--token-file and --cacert go with --url");
	return 0;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* --socket, else $CRIB_ADMIN_SOCKET, else the default. */
static const char *socket_path(const struct global *g)
{
	const char *env = getenv("CRIB_ADMIN_SOCKET");

	if (g->socket)
		return g->socket;
	return isempty(env) ? DEFAULT_SOCKET : env;
}

static int run(const struct global *g, const struct command *cmd, const struct crib_ctl_args *args,
               unsigned page_size)
{
	_cleanup_(crib_ctl_client_freep) struct crib_ctl_client *client = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	const struct crib_ctl_client_config cfg = {
	    .socket_path = socket_path(g),
	    .url = g->url,
	    .token_file = g->token_file,
	    .cacert = g->cacert,
	};
	struct crib_ctl_ctx ctx = {.page_size = page_size};
	int r;

	r = crib_ctl_client_new(&cfg, &client, &err);
	if (r >= 0) {
		ctx.client = client;
		r = cmd->run(&ctx, args, &err);
	}
	if (r < 0) {
		fflush(stdout);
		fprintf(stderr, "cribctl: %s\n", crib_error_msg(err));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct global g = {.output = CRIB_CTL_OUTPUT_TABLE};
	struct crib_ctl_args args = {.count = -1, .delay = 2.0};
	const struct command *cmd;
	unsigned page_size;
	int first, r;

	first = parse_global(argc, argv, &g);
	if (first <= 0)
		return first == 0 ? EXIT_SUCCESS : EXIT_USAGE;
	if (check_endpoint(&g) < 0)
		return EXIT_USAGE;
	cmd = find_command(argv[first]);
	if (!cmd) {
		usage_error("unknown command '%s'", argv[first]);
		return EXIT_USAGE;
	}
	args.output = g.output;
	r = parse_command(cmd, argc - first, argv + first, &args);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	if (crib_ctl_page_size(getenv("CRIBCTL_PAGE_SIZE"), &page_size) < 0) {
		usage_error("CRIBCTL_PAGE_SIZE must be 1-%u", CRIB_CTL_PAGE_SIZE_MAX);
		return EXIT_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("cribctl: Failed to initialise libcurl\n", stderr);
		return EXIT_FAILURE;
	}
	r = run(&g, cmd, &args, page_size);
	curl_global_cleanup();
	return r;
}
