/*
 * A caller written the way the classic POP/IMAP patches are: its own
 * prototypes, no header, inet_addr() for the address.
 *
 *   classic auth SERVER IPV4          dracauth
 *   classic auth6 SERVER IPV6         dracauth6
 *   classic session SERVER IPV4...    dracconn, dracsend each, dracdisc
 *                                     ("wait:FILE" waits until FILE exists)
 *   classic session6 SERVER IPV6...   the same over version 2
 *   classic text SERVER ADDRESS       dracauth_str
 *   classic unconnected               dracsend/dracdisc without dracconn
 * Prints "rc=N msg=TEXT" per call; exits with the last rc + 10.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int dracauth(char *, unsigned long, char **);
int dracconn(char *, char **);
int dracsend(unsigned long, char **);
int dracdisc(char **);
int dracauth6(char *, unsigned char *, char **);
int dracconn6(char *, char **);
int dracsend6(unsigned char *, char **);
int dracdisc6(char **);
int dracauth_str(const char *, const char *, int, char **);

static int
show(int rc, char *msg)
{
	printf("rc=%d msg=%s\n", rc, msg ? msg : "(null)");
	return rc;
}

/* The comma sequences the call before err is read. */
#define CALL(expr)	(last = (expr), show(last, err))

int
main(int argc, char *argv[])
{
	char *err;		/* deliberately uninitialised, as callers do */
	unsigned char a6[16];
	int rc = 0, last;

	if (argc == 2 && strcmp(argv[1], "unconnected") == 0) {
		CALL(dracsend(inet_addr("192.0.2.1"), &err));
		CALL(dracsend6(a6, &err));
		CALL(dracdisc6(&err));
		rc = CALL(dracdisc(&err));
	} else if (argc == 4 && strcmp(argv[1], "auth") == 0) {
		rc = CALL(dracauth(argv[2], inet_addr(argv[3]), &err));
	} else if (argc == 4 && strcmp(argv[1], "auth6") == 0) {
		if (inet_pton(AF_INET6, argv[3], a6) != 1)
			return 2;
		rc = CALL(dracauth6(argv[2], a6, &err));
	} else if (argc == 4 && strcmp(argv[1], "text") == 0) {
		rc = CALL(dracauth_str(argv[2], argv[3], 0, &err));
	} else if (argc >= 4 && strcmp(argv[1], "session") == 0) {
		if (CALL(dracconn(argv[2], &err)) != 0)
			return 9;
		for (int i = 3; i < argc; i++) {
			if (strncmp(argv[i], "wait:", 5) == 0) {
				while (access(argv[i] + 5, F_OK) == -1)
					usleep(20000);
				continue;
			}
			rc = CALL(dracsend(inet_addr(argv[i]), &err));
		}
		CALL(dracdisc(&err));
	} else if (argc >= 4 && strcmp(argv[1], "session6") == 0) {
		if (CALL(dracconn6(argv[2], &err)) != 0)
			return 9;
		for (int i = 3; i < argc; i++) {
			if (inet_pton(AF_INET6, argv[i], a6) != 1)
				return 2;
			rc = CALL(dracsend6(a6, &err));
		}
		CALL(dracdisc6(&err));
	} else {
		fprintf(stderr, "usage: see classic.c\n");
		return 2;
	}
	return rc + 10;
}
