/*
 * dracctl: dracd's administration tool, for shells and scripts.
 * Exit codes follow sysexits(3), plus 1 for "no such entry", so scripts
 * can tell failures apart; the output formats are part of the interface.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drac.h"

#define EXIT_NOTFOUND	1
#define EXIT_USAGE	64	/* EX_USAGE */
#define EXIT_BADADDR	65	/* EX_DATAERR */
#define EXIT_UNREACH	69	/* EX_UNAVAILABLE */
#define EXIT_SERVER	70	/* EX_SOFTWARE */
#define EXIT_DENIED	77	/* EX_NOPERM */

#define FLUSH_TIMEOUT_MS	120000

struct options {
	const char	*server;
	int		 timeout_ms;
	int		 quiet;
	int		 numeric;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: dracctl [-nq] [-s server] [-t timeout_ms] command\n"
	    "commands: add address [--ttl seconds] | del address | "
	    "query address |\n"
	    "          list | stats | flush\n");
	exit(EXIT_USAGE);
}

static int
exit_code(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case DRAC_E_NOTFOUND:
		return EXIT_NOTFOUND;
	case DRAC_E_DENIED:
		return EXIT_DENIED;
	case DRAC_E_INVALID:
	case DRAC_E_ADDRESS:
		return EXIT_BADADDR;
	case DRAC_E_UNREACHABLE:
	case DRAC_E_TIMEOUT:
		return EXIT_UNREACH;
	default:
		return EXIT_SERVER;
	}
}

static int
report(struct drac_client *c, const char *what, int rc)
{
	char detail[256];

	if (rc != 0)
		fprintf(stderr, "dracctl: %s: %s (%s)\n", what,
		    drac_strerror(rc), drac_client_error(c, detail,
		    sizeof(detail)));
	return exit_code(rc);
}

/* "2026-11-29T21:30:00Z", or epoch seconds with -n. */
static const char *
format_time(const struct options *o, int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (o->numeric || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%" PRId64, t);
	return buf;
}

static int
parse_ttl(const char *text, unsigned *ttl)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(text, &end, 10);
	if (*text < '0' || *text > '9' || *end != '\0' || errno ||
	    n > UINT32_MAX)
		return -1;
	*ttl = (unsigned)n;
	return 0;
}

/*
 * add: version 3, or the classic call for a dracd that predates it
 * (DRAC 1.12), as long as no TTL was asked for.
 */
static int
cmd_add(struct drac_client *c, const struct options *o, int argc,
    char **argv)
{
	unsigned ttl = 0;
	int have_ttl = 0, rc;
	int64_t expires = 0;
	char when[64], *msg = NULL;

	if (argc == 4 && strcmp(argv[2], "--ttl") == 0)
		have_ttl = parse_ttl(argv[3], &ttl) == 0 ? 1 : -1;
	else if (argc == 3 && strncmp(argv[2], "--ttl=", 6) == 0)
		have_ttl = parse_ttl(argv[2] + 6, &ttl) == 0 ? 1 : -1;
	else if (argc != 2)
		usage();
	if (have_ttl == -1) {
		fprintf(stderr, "dracctl: bad TTL (seconds, 0 for the "
		    "server's default)\n");
		return EXIT_USAGE;
	}
	rc = drac_add(c, argv[1], ttl, &expires);
	if (rc == DRAC_E_PROTOCOL && !have_ttl) {
		rc = dracauth_str(o->server, argv[1], o->timeout_ms, &msg);
		if (rc == DRAC_OK) {
			if (!o->quiet)
				printf("%s authorized (classic server)\n",
				    argv[1]);
			return 0;
		}
		fprintf(stderr, "dracctl: add %s: %s\n", argv[1],
		    msg ? msg : "failed");
		return rc == DRAC_PERM ? EXIT_DENIED : rc == DRAC_ERR_ADDRESS ?
		    EXIT_BADADDR : rc < 0 ? EXIT_UNREACH : EXIT_SERVER;
	}
	if (rc == 0 && !o->quiet)
		printf("%s %s\n", argv[1], format_time(o, expires, when,
		    sizeof(when)));
	return report(c, "add", rc);
}

static int
cmd_del(struct drac_client *c, const struct options *o, int argc,
    char **argv)
{
	int rc;

	if (argc != 2)
		usage();
	rc = drac_del(c, argv[1]);
	if (rc == 0 && !o->quiet)
		printf("%s revoked\n", argv[1]);
	return report(c, "del", rc);
}

static int
cmd_query(struct drac_client *c, const struct options *o, int argc,
    char **argv)
{
	int64_t expires;
	char when[64];
	int rc;

	if (argc != 2)
		usage();
	rc = drac_query(c, argv[1], &expires);
	if (rc == 0 && !o->quiet)
		printf("%s %s\n", argv[1], format_time(o, expires, when,
		    sizeof(when)));
	if (rc == DRAC_E_NOTFOUND) {
		if (!o->quiet)
			fprintf(stderr, "dracctl: %s: not authorized\n",
			    argv[1]);
		return EXIT_NOTFOUND;
	}
	return report(c, "query", rc);
}

static int
print_entry(const struct drac_entry *e, void *arg)
{
	char when[64];

	if (printf("%s %s\n", e->address, format_time(arg, e->expires, when,
	    sizeof(when))) < 0)
		return -1;
	return 0;
}

static int
cmd_list(struct drac_client *c, const struct options *o)
{
	int rc = drac_list(c, print_entry, (void *)o);

	/* The cursor, not an address, was refused: dracd restarted. */
	if (rc == DRAC_E_INVALID)
		rc = DRAC_E_SERVER;

	if (fflush(stdout) == EOF || rc == -1) {
		fprintf(stderr, "dracctl: list: cannot write the output\n");
		return EXIT_SERVER;
	}
	return report(c, "list", rc);
}

static int
cmd_stats(struct drac_client *c)
{
	struct drac_stats st;
	int rc = drac_stats(c, &st);

	if (rc == 0)
		printf("entries %" PRIu64 "\nadds %" PRIu64 "\nrenewals %"
		    PRIu64 "\nrevokes %" PRIu64 "\nexpired %" PRIu64
		    "\ndenied %" PRIu64 "\nrefused %" PRIu64 "\nerrors %"
		    PRIu64 "\nuptime %" PRIu64 "\ndefault_ttl %" PRIu64
		    "\nmax_ttl %" PRIu64 "\n", st.entries, st.adds,
		    st.renewals, st.revokes, st.expired, st.denied, st.refused,
		    st.errors, st.uptime, st.default_ttl, st.max_ttl);
	return report(c, "stats", rc);
}

static int
cmd_flush(struct drac_client *c, const struct options *o)
{
	uint64_t removed = 0;
	int rc = drac_flush(c, &removed);

	/* After a map failure part may be gone: say how much. */
	if ((rc == 0 && !o->quiet) || rc == DRAC_E_SERVER)
		printf("flushed %" PRIu64 " entries\n", removed);
	return report(c, "flush", rc);
}

int
main(int argc, char *argv[])
{
	struct options o = { .server = "127.0.0.1" };
	struct drac_client *c;
	char *end;
	long timeout_ms;
	int ch, rc;

	/* "+": options end at the command, whose own arguments follow. */
	while ((ch = getopt(argc, argv, "+nqs:t:")) != -1) {
		switch (ch) {
		case 'n':
			o.numeric = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 's':
			o.server = optarg;
			break;
		case 't':
			timeout_ms = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || timeout_ms <= 0 ||
			    timeout_ms > 3600 * 1000) {
				fprintf(stderr, "dracctl: bad timeout \"%s\" "
				    "(milliseconds)\n", optarg);
				exit(EXIT_USAGE);
			}
			o.timeout_ms = (int)timeout_ms;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	/* A flush of millions of entries takes a while: wait for it. */
	if (o.timeout_ms == 0 && strcmp(argv[0], "flush") == 0)
		o.timeout_ms = FLUSH_TIMEOUT_MS;
	if ((c = drac_client_open(o.server, o.timeout_ms)) == NULL) {
		fprintf(stderr, "dracctl: out of memory\n");
		return EXIT_SERVER;
	}
	if (strcmp(argv[0], "add") == 0)
		rc = cmd_add(c, &o, argc, argv);
	else if (strcmp(argv[0], "del") == 0)
		rc = cmd_del(c, &o, argc, argv);
	else if (strcmp(argv[0], "query") == 0)
		rc = cmd_query(c, &o, argc, argv);
	else if (strcmp(argv[0], "list") == 0 && argc == 1)
		rc = cmd_list(c, &o);
	else if (strcmp(argv[0], "stats") == 0 && argc == 1)
		rc = cmd_stats(c);
	else if (strcmp(argv[0], "flush") == 0 && argc == 1)
		rc = cmd_flush(c, &o);
	else
		usage();
	drac_client_close(c);
	return rc;
}
