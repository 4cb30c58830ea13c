/*
 * fuzz_addr.c: libFuzzer target for address parsing and formatting, the
 * map's key forms and the -m map format words.  The same input is tried
 * as address text (addr_parse), as a stored map key with its exact bytes
 * (map_parse_key: embedded NULs, a trailing NUL, /32 and /128), as a -m
 * argument (map_format_parse) and as raw sockaddr bytes
 * (addr_from_sockaddr).  Every address that parses must survive the trip
 * through each text form and each map key format and come back equal.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "mapdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void __attribute__((noreturn))
oracle_failed(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_addr: %s%s%s\n", what, text ? ": " : "",
	    text ? text : "");
	abort();
}

static void
check_terminated(const char *buf, size_t size, const char *what)
{
	if (memchr(buf, '\0', size) == NULL)
		oracle_failed("unterminated output", what);
}

/* Every text form and every map key of a, parsed back, is a again. */
static void
check_round_trip(const struct drac_addr *a)
{
	char text[ADDR_TEXT_MAX], small[ADDR_TEXT_MAX];
	struct drac_addr back;

	if (a->family != AF_INET && a->family != AF_INET6)
		oracle_failed("address of no family", NULL);
	if (a->family == AF_INET)
		for (int i = 4; i < 16; i++)
			if (a->bytes[i] != 0)
				oracle_failed("IPv4 address with stray bytes",
				    NULL);
	/* IPv4-mapped IPv6 always comes back as IPv4. */
	if (a->family == AF_INET6 && memcmp(a->bytes,
	    "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
		oracle_failed("IPv4-mapped address kept as IPv6", NULL);

	addr_format(a, text, sizeof(text));
	check_terminated(text, sizeof(text), "addr_format");
	if (addr_parse(text, &back) == -1 || !addr_equal(a, &back))
		oracle_failed("addr_format does not parse back", text);
	addr_format_full(a, text, sizeof(text));
	check_terminated(text, sizeof(text), "addr_format_full");
	if (addr_parse(text, &back) == -1 || !addr_equal(a, &back))
		oracle_failed("addr_format_full does not parse back", text);

	/* Short buffers: always terminated, never overrun (ASan). */
	for (size_t n = 1; n <= sizeof(small); n++) {
		char *buf = malloc(n);

		if (buf == NULL)
			return;
		addr_format(a, buf, n);
		check_terminated(buf, n, "addr_format, short buffer");
		addr_format_full(a, buf, n);
		check_terminated(buf, n, "addr_format_full, short buffer");
		free(buf);
	}

	for (int nul = 0; nul <= 1; nul++)
		for (int cidr = 0; cidr <= 1; cidr++)
			for (int v6 = 1; v6 <= 3; v6++) {
				struct map_format f;
				char keys[2][ADDR_TEXT_MAX];
				size_t lens[2];
				int n;

				map_format_default(&f);
				f.nul = nul;
				f.cidr = cidr;
				f.v6forms = v6;
				n = map_format_keys(&f, a, keys, lens);
				if (n < 1 || n > 2)
					oracle_failed("no map key", NULL);
				for (int k = 0; k < n; k++) {
					if (lens[k] == 0 ||
					    lens[k] > ADDR_TEXT_MAX)
						oracle_failed("bad key length",
						    keys[k]);
					if (map_parse_key(keys[k], lens[k],
					    &back) == -1 ||
					    !addr_equal(a, &back))
						oracle_failed("map key does not "
						    "parse back", keys[k]);
				}
				if (n == 2 && strcmp(keys[0], keys[1]) == 0)
					oracle_failed("the same key twice",
					    keys[0]);
			}
	(void)addr_unusable(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drac_addr a;
	struct map_format f;
	struct sockaddr_storage ss;
	const char *why = NULL;
	char *text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (addr_parse(text, &a) == 0)
		check_round_trip(&a);

	/* Keys as Berkeley DB hands them over: exact bytes, unterminated. */
	{
		uint8_t *key = malloc(size ? size : 1);

		if (key != NULL) {
			memcpy(key, data, size);
			if (map_parse_key(key, size, &a) == 0)
				check_round_trip(&a);
			free(key);
		}
	}

	map_format_default(&f);
	if (map_format_parse(text, &f, &why) == 0) {
		char desc[128];
		struct map_format g;

		if ((f.type != DB_HASH && f.type != DB_BTREE) ||
		    f.v6forms < 1 || f.v6forms > 3)
			oracle_failed("map format out of range", text);
		/* What -n prints reads back as the same format. */
		map_format_describe(&f, desc, sizeof(desc));
		map_format_default(&g);
		if (map_format_parse(desc, &g, &why) == -1 ||
		    memcmp(&f, &g, sizeof(f)) != 0)
			oracle_failed("map_format_describe does not parse "
			    "back", desc);
	} else if (why == NULL) {
		oracle_failed("map format rejected without a reason", text);
	}

	/* A peer address as libtirpc hands it to caller_of(). */
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, data, size < sizeof(ss) ? size : sizeof(ss));
	if (addr_from_sockaddr((struct sockaddr *)&ss, &a) == 0)
		check_round_trip(&a);

	free(text);
	return 0;
}
