/*
 * dracctl: authorize an address through dracd from a script or a shell.
 * Exit codes follow sysexits(3) so scripts can tell failures apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drac.h"

#define EXIT_USAGE	64	/* EX_USAGE */
#define EXIT_BADADDR	65	/* EX_DATAERR */
#define EXIT_UNREACH	69	/* EX_UNAVAILABLE */
#define EXIT_SERVER	70	/* EX_SOFTWARE */
#define EXIT_DENIED	77	/* EX_NOPERM */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: dracctl [-q] [-s server] [-t timeout_ms] "
	    "add address\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char *argv[])
{
	const char *server = "127.0.0.1";
	char *msg = NULL, *end;
	long timeout_ms = 0;
	int ch, quiet = 0, rc;

	while ((ch = getopt(argc, argv, "qs:t:")) != -1) {
		switch (ch) {
		case 'q':
			quiet = 1;
			break;
		case 's':
			server = optarg;
			break;
		case 't':
			timeout_ms = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || timeout_ms <= 0 ||
			    timeout_ms > 3600 * 1000) {
				fprintf(stderr, "dracctl: bad timeout \"%s\" "
				    "(milliseconds)\n", optarg);
				exit(EXIT_USAGE);
			}
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || strcmp(argv[0], "add") != 0)
		usage();

	rc = dracauth_str(server, argv[1], (int)timeout_ms, &msg);
	if (rc != DRAC_OK || !quiet)
		fprintf(rc == DRAC_OK ? stdout : stderr, "dracctl: %s: %s\n",
		    argv[1], msg ? msg : "?");
	switch (rc) {
	case DRAC_OK:
		return 0;
	case DRAC_PERM:
		return EXIT_DENIED;
	case DRAC_ERR_ADDRESS:
		return EXIT_BADADDR;
	case DRAC_ERR_CREATE:
	case DRAC_ERR_CALL:
		return EXIT_UNREACH;
	default:
		return EXIT_SERVER;
	}
}
