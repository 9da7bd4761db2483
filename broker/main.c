/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>

#include <crib/backend.h>

#include "daemon.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: cribd [--config FILE]\n"
	    "\n"
	    "The crib CRI runtime broker: serves kubelet's CRI on a unix socket and routes\n"
	    "each pod by its runtime class to a backend module.\n"
	    "\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  -h, --help         show this help\n"
	    "  -V, --version      show the version and the backend ABI\n"
	    "\n"
	    "Signals: SIGHUP reloads the configuration, SIGTERM stops (containers keep running).\n",
	    "/etc/crib/crib.conf");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cribd %s\nCRI %s\nbackend ABI %u.%u\n", CRIB_VERSION,
			       CRIB_CRI_VERSION, CRIB_BACKEND_ABI_MAJOR, CRIB_BACKEND_ABI_MINOR);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cribd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return crib_daemon_main(config);
}
