/*
 * fuzz_allow.c: libFuzzer target for the allow-file parser.  The input is
 * a whole dracd.allow: allow_load_stream() reads it (through fmemopen, so
 * getline() sees it as dracd does), and every line also goes through
 * allow_parse_line() alone.  Whatever parses must be a rule that
 * allow_permits() can use: a uid rule that admits that uid on the local
 * socket and no address, or a known family, a contiguous mask, and a
 * network address with no bits outside it, which the list then permits
 * (and which admits no local user).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "allow.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void __attribute__((noreturn))
oracle_failed(const char *what)
{
	fprintf(stderr, "fuzz_allow: %s\n", what);
	abort();
}

static void
check_rule(const struct allow_rule *r)
{
	size_t len;
	int seen_zero = 0;

	if (r->is_uid) {
		if (r->is_uid != 1 || r->net.family != 0)
			oracle_failed("uid rule with an address");
		return;
	}
	if (r->net.family != AF_INET && r->net.family != AF_INET6)
		oracle_failed("rule of no family");
	len = r->net.family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < len * 8; i++) {
		int bit = r->mask[i / 8] >> (7 - i % 8) & 1;

		if (bit && seen_zero)
			oracle_failed("mask is not contiguous");
		if (!bit)
			seen_zero = 1;
	}
	for (size_t i = 0; i < len; i++)
		if ((r->net.bytes[i] & ~r->mask[i]) != 0)
			oracle_failed("network address has host bits set");
	if (r->net.family == AF_INET)
		for (size_t i = 4; i < 16; i++)
			if (r->net.bytes[i] != 0)
				oracle_failed("IPv4 rule with bytes beyond 4");
}

static void
own_notifier(const struct allow_rule *r, struct notifier *n)
{
	memset(n, 0, sizeof(*n));
	n->is_local = r->is_uid;
	n->uid = r->uid;
	if (!r->is_uid)
		n->addr = r->net;
}

static void
check_line(const char *line)
{
	struct allow_rule rule;
	struct allow_list one = { 0 };
	struct notifier own, other;
	const char *why = NULL;

	switch (allow_parse_line(line, &rule, &why)) {
	case 1:
		check_rule(&rule);
		/* A rule admits its own network or user, and nothing else
		 * of the other kind. */
		one.rules = &rule;
		one.count = one.capacity = 1;
		own_notifier(&rule, &own);
		memset(&other, 0, sizeof(other));
		other.is_local = !own.is_local;
		other.uid = rule.uid;
		if (!rule.is_uid)
			other.addr = rule.net;
		else
			addr_parse("127.0.0.1", &other.addr);
		if (!allow_permits(&one, &own))
			oracle_failed("a rule does not admit its own network "
			    "or user");
		if (allow_permits(&one, &other))
			oracle_failed("an address rule admits a local user, or "
			    "a uid rule an address");
		break;
	case 0:
		break;
	case -1:
		if (why == NULL || *why == '\0')
			oracle_failed("a rejected line without a reason");
		break;
	default:
		oracle_failed("allow_parse_line returned something else");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct allow_list list;
	char err[256] = "";
	char *text;
	FILE *fp;
	int rc;

	/* The whole file, as dracd reads it. */
	if ((fp = fmemopen((void *)data, size, "r")) == NULL) {
		if (size == 0)
			return 0;
		oracle_failed("fmemopen");
	}
	rc = allow_load_stream(fp, "fuzz.allow", &list, err, sizeof(err));
	fclose(fp);
	if (rc == 0) {
		for (size_t i = 0; i < list.count; i++) {
			struct notifier n;

			check_rule(&list.rules[i]);
			own_notifier(&list.rules[i], &n);
			if (!allow_permits(&list, &n))
				oracle_failed("the list does not admit a "
				    "network it lists");
		}
		allow_free(&list);
	} else {
		if (err[0] == '\0')
			oracle_failed("load failed without a message");
		if (list.rules != NULL || list.count != 0)
			oracle_failed("a failed load left rules behind");
	}

	/* Each line alone, as a C string (getline stops at '\n' only). */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *line = text, *next; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		check_line(line);
	}
	free(text);
	return 0;
}
