/*
 * Unit tests for dracd's modules.  Including the sources lets the tests
 * reach static helpers, as chrony's unit tests do.
 */
#include "../addr.c"
#include "../allow.c"
#include "../journal.c"
#include "../log.c"
#include "../mapdb.c"
#include "../table.c"
#include "../socketmap_proto.c"

#include <stdio.h>
#include <stdlib.h>

static int passed, failed;

#define CHECK(cond) do {						\
	if (cond)							\
		passed++;						\
	else {								\
		failed++;						\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
	}								\
} while (0)

static struct drac_addr
A(const char *text)
{
	struct drac_addr a;

	if (addr_parse(text, &a) == -1) {
		fprintf(stderr, "bad test address %s\n", text);
		exit(2);
	}
	return a;
}

static void
test_addr(void)
{
	struct drac_addr a, b;
	char buf[ADDR_TEXT_MAX];

	CHECK(addr_parse("192.0.2.1", &a) == 0 && a.family == AF_INET);
	CHECK(strcmp(addr_format(&a, buf, sizeof(buf)), "192.0.2.1") == 0);
	CHECK(addr_parse("::ffff:192.0.2.1", &b) == 0 && addr_equal(&a, &b));
	CHECK(addr_parse("2001:DB8::5", &a) == 0 && a.family == AF_INET6);
	CHECK(strcmp(addr_format(&a, buf, sizeof(buf)), "2001:db8::5") == 0);
	CHECK(strcmp(addr_format_full(&a, buf, sizeof(buf)),
	    "2001:db8:0:0:0:0:0:5") == 0);
	a = A("::1");
	CHECK(strcmp(addr_format_full(&a, buf, sizeof(buf)),
	    "0:0:0:0:0:0:0:1") == 0);
	CHECK(addr_parse("192.0.2", &a) == -1);
	CHECK(addr_parse("192.0.2.256", &a) == -1);
	CHECK(addr_parse("", &a) == -1);
	CHECK(addr_parse("example.org", &a) == -1);
	addr_from_v4(0xc0a80182, &a);		/* the wire example */
	CHECK(strcmp(addr_format(&a, buf, sizeof(buf)), "192.168.1.130") == 0);

	a = A("0.0.0.0");
	CHECK(addr_unusable(&a) != NULL);
	a = A("255.255.255.255");
	CHECK(addr_unusable(&a) != NULL);
	a = A("224.0.0.1");
	CHECK(addr_unusable(&a) != NULL);
	a = A("239.255.255.255");
	CHECK(addr_unusable(&a) != NULL);
	a = A("::");
	CHECK(addr_unusable(&a) != NULL);
	a = A("ff02::1");
	CHECK(addr_unusable(&a) != NULL);
	a = A("192.0.2.255");
	CHECK(addr_unusable(&a) == NULL);
	a = A("127.0.0.5");
	CHECK(addr_unusable(&a) == NULL);
	a = A("2001:db8::5");
	CHECK(addr_unusable(&a) == NULL);
}

static int
permits(const struct allow_list *list, const char *text)
{
	struct notifier n = { 0 };

	n.addr = A(text);
	return allow_permits(list, &n);
}

static int
permits_uid(const struct allow_list *list, uid_t uid)
{
	struct notifier n = { .is_local = 1, .uid = uid };

	return allow_permits(list, &n);
}

static FILE *
text_stream(const char *text)
{
	return fmemopen((char *)text, strlen(text), "r");
}

static int
parses(const char *line)
{
	struct allow_rule r;
	const char *why;

	return allow_parse_line(line, &r, &why);
}

static void
test_allow(void)
{
	struct allow_list list;
	char err[256];
	FILE *fp;

	CHECK(parses("") == 0);
	CHECK(parses("   # comment only\n") == 0);
	CHECK(parses("255.255.255.0 192.0.2.0\n") == 1);
	CHECK(parses("255.255.255.255\t127.0.0.1  # loopback\n") == 1);
	CHECK(parses("192.0.2.0/24") == 1);
	CHECK(parses("2001:db8::/32") == 1);
	CHECK(parses("::1") == 1);
	CHECK(parses("192.0.2.7") == 1);
	CHECK(parses("192.0.2.0 255.255.255.0") == -1);	/* reversed */
	CHECK(parses("255.0.255.0 192.0.2.0") == -1);	/* not contiguous */
	CHECK(parses("255.255.255.0 2001:db8::") == -1);
	CHECK(parses("192.0.2.0/33") == -1);
	CHECK(parses("192.0.2.0/") == -1);
	CHECK(parses("192.0.2.0/-1") == -1);
	CHECK(parses("2001:db8::/129") == -1);
	CHECK(parses("a b c") == -1);
	CHECK(parses("nonsense") == -1);
	CHECK(parses("255.255.255.0 192.0.2.0 extra") == -1);
	CHECK(parses("uid 0") == 1);
	CHECK(parses("uid 110 # dovecot") == 1);
	CHECK(parses("user root") == 1);
	CHECK(parses("user no-such-user-here") == -1);
	CHECK(parses("uid -1") == -1);
	CHECK(parses("uid") == -1);
	CHECK(parses("uid 1 2") == -1);

	fp = text_stream("# test\n255.255.255.0 192.0.2.0\n"
	    "10.0.0.0/8\n2001:db8::/32\n\nuid 110\n");
	CHECK(allow_load_stream(fp, "t", &list, err, sizeof(err)) == 0);
	fclose(fp);
	CHECK(list.count == 4);
	CHECK(permits_uid(&list, 110));
	CHECK(!permits_uid(&list, 0));
	CHECK(permits(&list, "192.0.2.77"));
	CHECK(!permits(&list, "192.0.3.1"));
	CHECK(permits(&list, "10.200.1.1"));
	CHECK(permits(&list, "::ffff:10.1.2.3"));		/* mapped: checked as IPv4 */
	CHECK(permits(&list, "2001:db8:ffff::1"));
	CHECK(!permits(&list, "2001:db9::1"));
	CHECK(!permits(&list, "::1"));
	allow_free(&list);

	fp = text_stream("10.0.0.0/8\n\n192.0.2.0 255.255.255.0\n");
	CHECK(allow_load_stream(fp, "dracd.allow", &list, err,
	    sizeof(err)) == -1);
	fclose(fp);
	CHECK(strncmp(err, "dracd.allow:3: ", 15) == 0);
	CHECK(list.count == 0 && list.rules == NULL);

	/* An existing empty file admits nobody. */
	fp = text_stream("# nobody\n");
	CHECK(allow_load_stream(fp, "empty", &list, err, sizeof(err)) == 0);
	fclose(fp);
	CHECK(list.count == 0 && !permits(&list, "127.0.0.1"));
	CHECK(!permits_uid(&list, 0));
	allow_free(&list);

	memset(&list, 0, sizeof(list));
	CHECK(allow_add_default(&list) == 0);
	CHECK(permits(&list, "127.0.0.1"));
	CHECK(permits(&list, "::1"));
	CHECK(!permits(&list, "192.0.2.1"));
	CHECK(permits_uid(&list, 0));
	CHECK(!permits_uid(&list, 65534));
	allow_free(&list);
}

static int
heap_ok(const struct table *t)
{
	for (size_t i = 0; i < t->count; i++) {
		if (t->heap[i]->heap_index != i)
			return 0;
		if (i > 0 && t->heap[(i - 1) / 2]->deadline > t->heap[i]->deadline)
			return 0;
	}
	return 1;
}

static void
test_table(void)
{
	struct table t;
	struct drac_addr a;
	struct table_entry *e;
	int renewed, good = 1;
	enum { N = 20000 };
	static int64_t model[N];

	CHECK(table_init(&t, 42) == 0);
	a = A("192.0.2.1");
	CHECK(table_upsert(&t, &a, 100, 1000, &renewed) != NULL && !renewed);
	CHECK(table_upsert(&t, &a, 200, 2000, &renewed) != NULL && renewed);
	CHECK(table_count(&t) == 1);
	e = table_find(&t, &a);
	CHECK(e != NULL && e->deadline == 200 && e->expires == 2000);
	a = A("::ffff:192.0.2.1");
	CHECK(table_find(&t, &a) == e);
	a = A("2001:db8::1");
	CHECK(table_find(&t, &a) == NULL);
	table_remove(&t, e);
	CHECK(table_count(&t) == 0 && table_first(&t) == NULL);

	/* Random inserts, renewals and removals against a simple model. */
	srand(7);
	for (int i = 0; i < N; i++)
		model[i] = -1;
	for (int step = 0; step < 200000; step++) {
		int i = rand() % N, op = rand() % 4;

		addr_from_v4(0x0a000000u + (uint32_t)i, &a);
		if (i % 3 == 0) {
			uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8 };

			b[14] = (uint8_t)(i >> 8);
			b[15] = (uint8_t)i;
			addr_from_v6(b, &a);
		}
		if (op < 3) {
			int64_t d = rand() % 100000;

			e = table_upsert(&t, &a, d, d, &renewed);
			good &= e != NULL && renewed == (model[i] != -1);
			model[i] = d;
		} else if ((e = table_find(&t, &a)) != NULL) {
			good &= model[i] != -1;
			table_remove(&t, e);
			model[i] = -1;
		} else
			good &= model[i] == -1;
	}
	CHECK(good);
	CHECK(heap_ok(&t));
	{
		size_t live = 0;

		for (int i = 0; i < N; i++)
			live += model[i] != -1;
		CHECK(table_count(&t) == live);
	}
	/* Expiry drains in deadline order. */
	{
		int64_t last = -1;
		int ordered = 1;

		while ((e = table_first(&t)) != NULL) {
			ordered &= e->deadline >= last;
			last = e->deadline;
			table_remove(&t, e);
		}
		CHECK(ordered);
	}
	table_free(&t);
}

/* table_due finds exactly the due entries, whatever the heap's shape. */
static void
test_table_due(void)
{
	struct table t;
	struct table_entry *out[5000];
	struct drac_addr a;
	int renewed, ok = 1;
	size_t n, want = 0;

	CHECK(table_init(&t, 3) == 0);
	srand(7);
	for (int i = 0; i < 4000; i++) {
		int64_t deadline = rand() % 10000;

		addr_from_v4(0x0a000000u + (uint32_t)i, &a);
		if (table_upsert(&t, &a, deadline, deadline, &renewed) == NULL)
			ok = 0;
		if (deadline <= 2500)
			want++;
	}
	n = table_due(&t, 2500, out, 5000);
	for (size_t i = 0; i < n; i++) {
		if (out[i]->deadline > 2500)
			ok = 0;
		for (size_t j = 0; j < i; j++)
			if (out[j] == out[i])
				ok = 0;
	}
	CHECK(ok && n == want);
	CHECK(table_due(&t, 2500, out, 10) == 10);
	CHECK(table_due(&t, -1, out, 10) == 0);
	table_free(&t);
}

/*
 * Listing in pages: entries present for the whole listing come exactly
 * once, while others are added (growing the table) and removed.
 */
static void
test_table_pages(void)
{
	struct table t;
	struct table_entry *page[7];
	struct table_cursor cur, next;
	struct drac_addr a;
	static unsigned char seen[4000];
	int renewed, pages = 0, churned = 0, ok = 1;
	size_t n;

	CHECK(table_init(&t, 7) == 0);
	for (int i = 0; i < 1500; i++) {
		addr_from_v4(0x0a000000u + (uint32_t)i, &a);
		if (table_upsert(&t, &a, i, i, &renewed) == NULL)
			ok = 0;
	}
	memset(&cur, 0, sizeof(cur));
	do {
		n = table_page(&t, &cur, page, 7, &next);
		for (size_t i = 0; i < n; i++) {
			uint32_t v = (uint32_t)page[i]->addr.bytes[2] << 8 |
			    page[i]->addr.bytes[3];

			if (page[i]->addr.bytes[0] == 10 && seen[v]++)
				ok = 0;		/* listed twice */
		}
		/* Churn: new entries (several doublings), some removals. */
		for (int k = 0; k < 20; k++, churned++) {
			addr_from_v4(0x0b000000u + (uint32_t)churned, &a);
			table_upsert(&t, &a, churned, churned, &renewed);
		}
		addr_from_v4(0x0a000000u + 1000u + (uint32_t)pages, &a);
		if (pages < 500 && table_find(&t, &a) != NULL)
			table_remove(&t, table_find(&t, &a));
		cur = next;
		pages++;
	} while (next.started && pages < 100000);
	CHECK(ok);
	CHECK(t.nbuckets >= 8192);	/* it grew while listing */
	/* 10.0.0.0-999 stayed all along: each listed once. */
	for (int i = 0; i < 1000; i++)
		if (seen[i] != 1)
			ok = 0;
	CHECK(ok);
	memset(&cur, 0, sizeof(cur));
	n = table_page(&t, &cur, page, 7, &next);
	CHECK(n == 7 && next.started);
	table_free(&t);
	CHECK(table_init(&t, 7) == 0);
	CHECK(table_page(&t, NULL, page, 7, &next) == 0 && !next.started);
	table_free(&t);
}

static void
test_keys(void)
{
	struct map_format f;
	char keys[2][ADDR_TEXT_MAX];
	size_t lens[2];
	struct drac_addr a, b;
	const char *why;
	char desc[64];

	map_format_default(&f);
	CHECK(f.type == DB_HASH && !f.nul && !f.cidr);
	a = A("192.0.2.5");
	CHECK(map_format_keys(&f, &a, keys, lens) == 1);
	CHECK(lens[0] == 9 && memcmp(keys[0], "192.0.2.5", 9) == 0);
	a = A("2001:db8::5");
	CHECK(map_format_keys(&f, &a, keys, lens) == 2);
	CHECK(strcmp(keys[0], "2001:db8::5") == 0 && lens[0] == 11);
	CHECK(strcmp(keys[1], "2001:db8:0:0:0:0:0:5") == 0);
	a = A("2001:db8:1:2:3:4:5:6");		/* both forms are the same */
	CHECK(map_format_keys(&f, &a, keys, lens) == 1);

	CHECK(map_format_parse("exim", &f, &why) == 0);
	CHECK(f.nul && f.cidr && f.type == DB_HASH);
	a = A("192.0.2.5");
	CHECK(map_format_keys(&f, &a, keys, lens) == 1);
	CHECK(lens[0] == 13 && memcmp(keys[0], "192.0.2.5/32", 13) == 0);
	a = A("2001:db8::5");
	CHECK(map_format_keys(&f, &a, keys, lens) == 1);
	CHECK(lens[0] == 16 && memcmp(keys[0], "2001:db8::5/128", 16) == 0);
	CHECK(map_parse_key(keys[0], lens[0], &b) == 0 && addr_equal(&a, &b));

	CHECK(map_format_parse("hash,cidr,v6both", &f, &why) == 0);
	a = A("1:2:3:4:5:6:7:8");		/* one form, one key */
	CHECK(map_format_keys(&f, &a, keys, lens) == 1);
	CHECK(map_format_parse("drac", &f, &why) == 0 && f.type == DB_BTREE);
	CHECK(map_format_parse("btree,nul", &f, &why) == 0 &&
	    f.type == DB_BTREE && f.nul);
	CHECK(strcmp(map_format_describe(&f, desc, sizeof(desc)),
	    "btree,nul,nocidr,v6compressed") == 0);
	CHECK(map_format_parse("hash,v6full", &f, &why) == 0 &&
	    f.v6forms == MAP_V6_FULL);
	CHECK(map_format_parse("gdbm", &f, &why) == -1);
	CHECK(map_format_parse("hash,,", &f, &why) == 0);

	CHECK(map_parse_key("10.1.2.3", 8, &b) == 0);
	CHECK(map_parse_key("10.1.2.3\0", 9, &b) == 0);
	CHECK(map_parse_key("10.1.2.3/24", 11, &b) == -1);
	CHECK(map_parse_key("10.1.2.3\0x", 10, &b) == -1);
	CHECK(map_parse_key("", 0, &b) == -1);
	CHECK(map_parse_key("2001:db8:0:0:0:0:0:5", 20, &b) == 0 &&
	    b.family == AF_INET6);
}

struct scan_result {
	int seen, foreign;
};

static int
keep_odd(const struct drac_addr *a, int64_t expires, void *arg)
{
	struct scan_result *r = arg;

	(void)a;
	r->seen++;
	return expires % 2;
}

static void
count_foreign(const char *key, void *arg)
{
	(void)key;
	((struct scan_result *)arg)->foreign++;
}

static void
test_map(void)
{
	char dir[] = "/tmp/drac-unit.XXXXXX", path[128], err[256];
	struct map m;
	struct map_format f;
	struct drac_addr a;
	struct stat st1, st2;
	struct timespec now;
	struct scan_result r = { 0, 0 };
	size_t reformatted;
	DBT k, v;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/map.db", dir);
	map_format_default(&f);
	CHECK(map_open(&m, path, &f, 0, err, sizeof(err)) == 0);
	a = A("192.0.2.1");
	CHECK(map_begin(&m) == 0 && map_put(&m, &a, 1001) == 0 &&
	    map_commit(&m) == 0);
	CHECK(fstat(m.fd, &st1) == 0);
	a = A("2001:db8::2");
	CHECK(map_begin(&m) == 0 && map_put(&m, &a, 1002) == 0 &&
	    map_commit(&m) == 0);
	CHECK(fstat(m.fd, &st2) == 0);
	/*
	 * st_mtime follows the clock, never ahead of it.  The precise
	 * clock: time() may read a coarser one that lags the kernel's.
	 */
	CHECK(clock_gettime(CLOCK_REALTIME, &now) == 0);
	CHECK(st2.st_mtime >= st1.st_mtime && st2.st_mtime <= now.tv_sec);
	CHECK(map_touch(&m, st2.st_mtime + 1) == 0);
	CHECK(map_mtime(&m) == st2.st_mtime + 1);

	/* Foreign entries are reported and left alone. */
	fill_dbt(&k, (char *)"static.example", 14);
	fill_dbt(&v, (char *)"RELAY", 5);
	CHECK(m.db->put(m.db, NULL, &k, &v, 0) == 0);
	CHECK(map_begin(&m) == 0);
	CHECK(map_scan(&m, keep_odd, count_foreign, &r, &reformatted) == 0);
	CHECK(reformatted == 0);
	CHECK(map_commit(&m) == 0);
	CHECK(r.seen == 3 && r.foreign == 1);	/* IPv6 has two keys */
	fill_dbt(&k, (char *)"192.0.2.1", 9);
	memset(&v, 0, sizeof(v));
	CHECK(m.db->get(m.db, NULL, &k, &v, 0) == 0 && v.size == 4 &&
	    memcmp(v.data, "1001", 4) == 0);
	fill_dbt(&k, (char *)"2001:db8::2", 11);
	CHECK(m.db->get(m.db, NULL, &k, &v, 0) == DB_NOTFOUND);
	fill_dbt(&k, (char *)"static.example", 14);
	CHECK(m.db->get(m.db, NULL, &k, &v, 0) == 0);
	map_close(&m);

	/* Reopening as the wrong type is a clear error, not data loss. */
	f.type = DB_BTREE;
	CHECK(map_open(&m, path, &f, 0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a Berkeley DB btree") != NULL);
	/* -i recreates it, empty, in the new type. */
	CHECK(map_open(&m, path, &f, 1, err, sizeof(err)) == 0);
	r.seen = 0;
	CHECK(map_begin(&m) == 0 && map_scan(&m, keep_odd, count_foreign,
	    &r, &reformatted) == 0 && map_commit(&m) == 0 && r.seen == 0);
	CHECK(stat(path, &st1) == 0 && (st1.st_mode & 0777) == 0644);
	map_close(&m);
	unlink(path);
	rmdir(dir);
}

/* socketmap: netstring framing, request splitting, keys, replies. */
static enum socketmap_frame_status
frame(const char *text, struct socketmap_frame *f)
{
	return socketmap_frame(text, strlen(text), SOCKETMAP_MAX_REQUEST, f);
}

static int
key_is(const char *key, const char *want)
{
	struct drac_addr a, b;

	if (!socketmap_key_address(key, strlen(key), &a))
		return want == NULL;
	return want != NULL && addr_parse(want, &b) == 0 && addr_equal(&a, &b);
}

static void
test_socketmap(void)
{
	struct socketmap_frame f;
	struct socketmap_request r;
	char buf[SOCKETMAP_MAX_FRAME + 16], big[SOCKETMAP_MAX_FRAME + 16];
	const char *whole = "14:drac 192.0.2.1,";

	CHECK(frame(whole, &f) == SOCKETMAP_FRAME_COMPLETE);
	CHECK(f.payload == 3 && f.length == 14 && f.consumed == 18);
	/* Every proper prefix asks for more. */
	for (size_t i = 0; i < strlen(whole); i++)
		CHECK(socketmap_frame(whole, i, SOCKETMAP_MAX_REQUEST, &f) ==
		    SOCKETMAP_FRAME_INCOMPLETE);
	/* Two requests back to back: the first is taken alone. */
	CHECK(frame("1:a,1:b,", &f) == SOCKETMAP_FRAME_COMPLETE &&
	    f.consumed == 4);
	CHECK(frame("0:,", &f) == SOCKETMAP_FRAME_COMPLETE && f.length == 0);
	CHECK(frame("x:", &f) == SOCKETMAP_FRAME_MALFORMED);
	CHECK(frame(":a,", &f) == SOCKETMAP_FRAME_MALFORMED);
	CHECK(frame("1:ab", &f) == SOCKETMAP_FRAME_MALFORMED);
	CHECK(frame("01:a,", &f) == SOCKETMAP_FRAME_MALFORMED);
	CHECK(frame("1 :a,", &f) == SOCKETMAP_FRAME_MALFORMED);
	CHECK(frame("-1:a,", &f) == SOCKETMAP_FRAME_MALFORMED);
	CHECK(frame("1024:", &f) == SOCKETMAP_FRAME_INCOMPLETE);
	CHECK(frame("1025:", &f) == SOCKETMAP_FRAME_TOO_LONG);
	CHECK(frame("99999999999999999999999:", &f) ==
	    SOCKETMAP_FRAME_TOO_LONG);
	/* The largest request fits the buffer a connection has. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "1024:", 5);
	big[5 + 1024] = ',';
	CHECK(socketmap_frame(big, 5 + 1024 + 1, SOCKETMAP_MAX_REQUEST, &f) ==
	    SOCKETMAP_FRAME_COMPLETE && f.consumed == SOCKETMAP_MAX_FRAME);

	CHECK(socketmap_split("drac 192.0.2.1", 14, &r) == 0 &&
	    r.namelen == 4 && memcmp(r.name, "drac", 4) == 0 &&
	    r.keylen == 9 && memcmp(r.key, "192.0.2.1", 9) == 0);
	CHECK(socketmap_split("drac ", 5, &r) == 0 && r.keylen == 0);
	CHECK(socketmap_split("drac", 4, &r) == -1);
	CHECK(socketmap_split(" 192.0.2.1", 10, &r) == -1);
	CHECK(socketmap_split("", 0, &r) == -1);

	/* What sendmail and Postfix send, and what they must not match. */
	CHECK(key_is("192.0.2.1", "192.0.2.1"));
	CHECK(key_is("2001:db8::5", "2001:db8::5"));
	CHECK(key_is("2001:DB8::5", "2001:db8::5"));
	CHECK(key_is("2001:db8:0:0:0:0:0:5", "2001:db8::5"));
	CHECK(key_is("ipv6:2001:db8:0:0:0:0:0:5", "2001:db8::5"));
	CHECK(key_is("IPv6:2001:DB8:0:0:0:0:0:5", "2001:db8::5"));
	CHECK(key_is("IPV6:::1", "::1"));
	CHECK(key_is("::ffff:192.0.2.1", "192.0.2.1"));
	CHECK(key_is("ipv6:::ffff:192.0.2.1", "192.0.2.1"));
	CHECK(key_is("ipv6:192.0.2.1", NULL));
	CHECK(key_is("unknown", NULL));
	CHECK(key_is("client5.test.invalid", NULL));
	CHECK(key_is("192.0.2", NULL));
	CHECK(key_is("192.0.2.1/32", NULL));
	CHECK(key_is("192.0.2.1 ", NULL));
	CHECK(key_is("fe80::1%lo", NULL));
	CHECK(key_is("", NULL));
	CHECK(key_is("ipv6:", NULL));
	CHECK(!socketmap_key_address("192.0.2.1\0", 10, &(struct drac_addr){0}));

	CHECK(socketmap_reply(buf, sizeof(buf), "OK", "1767225600") == 17 &&
	    memcmp(buf, "13:OK 1767225600,", 17) == 0);
	CHECK(socketmap_reply(buf, sizeof(buf), "NOTFOUND", "") == 12 &&
	    memcmp(buf, "9:NOTFOUND ,", 12) == 0);
	CHECK(socketmap_reply(buf, 12, "NOTFOUND", "") == 0);
	/* The longest reply dracd sends fits the room it reserves. */
	CHECK(socketmap_reply(buf, SOCKETMAP_MAX_REPLY, "PERM",
	    "request longer than 1024 bytes") > 0);
	CHECK(socketmap_reply(buf, SOCKETMAP_MAX_REPLY, "PERM",
	    "request is not <mapname> <key>") > 0);
	CHECK(socketmap_reply(buf, SOCKETMAP_MAX_REPLY, "OK",
	    "-9223372036854775808") > 0);
}

/* A file of n pages, page i filled with byte 'a' + i. */
static int
page_file(const char *path, int n)
{
	unsigned char page[4096];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	for (int i = 0; fd != -1 && i < n; i++) {
		memset(page, 'a' + i, sizeof(page));
		if (pwrite(fd, page, sizeof(page), (off_t)i * 4096) != 4096)
			return -1;
	}
	return fd;
}

static int
page_is(int fd, int i, int byte)
{
	unsigned char page[4096];

	if (pread(fd, page, sizeof(page), (off_t)i * 4096) != 4096)
		return 0;
	for (size_t k = 0; k < sizeof(page); k++)
		if (page[k] != byte)
			return 0;
	return 1;
}

static void
test_journal(void)
{
	char path[] = "/tmp/drac-unit-journal.XXXXXX";
	unsigned char page[4096], back[4096];
	struct journal *j = journal_create();
	struct stat st;
	int fd;

	CHECK(j != NULL);
	close(mkstemp(path));
	fd = page_file(path, 3);
	CHECK(fd != -1);
	CHECK(journal_attach(j, fd) == 0);
	CHECK(!journal_open(j));

	/* Writes outside a commit are not journalled. */
	memset(page, 'x', sizeof(page));
	CHECK(journal_pwrite(fd, page, sizeof(page), 0) == 4096);
	CHECK(atomic_load(&j->used) == 0);
	memset(page, 'a', sizeof(page));
	CHECK(journal_pwrite(fd, page, sizeof(page), 0) == 4096);

	/* A commit that rewrites page 1 twice and grows the file... */
	journal_begin(j);
	CHECK(journal_open(j));
	memset(page, 'y', sizeof(page));
	CHECK(journal_pwrite(fd, page, sizeof(page), 4096) == 4096);
	memset(page, 'z', sizeof(page));
	CHECK(journal_pwrite(fd, page, sizeof(page), 4096) == 4096);
	CHECK(journal_pwrite(fd, page, sizeof(page), 4 * 4096) == 4096);
	/* ...reads back what it wrote, through the mapping or not... */
	CHECK(journal_pread(fd, back, sizeof(back), 4096) == 4096);
	CHECK(memcmp(back, page, sizeof(page)) == 0);
	CHECK(journal_pread(fd, back, sizeof(back), 4 * 4096) == 4096);
	CHECK(memcmp(back, page, sizeof(page)) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 5 * 4096);
	/* ...and is undone: three writes, the file as it was. */
	CHECK(journal_rollback(j, fd) == 3);
	journal_end(j);
	CHECK(page_is(fd, 0, 'a') && page_is(fd, 1, 'b') && page_is(fd, 2, 'c'));
	CHECK(fstat(fd, &st) == 0 && st.st_size == 3 * 4096);

	/* A commit that ends stands, and leaves nothing to undo. */
	journal_begin(j);
	CHECK(journal_pwrite(fd, page, sizeof(page), 2 * 4096) == 4096);
	journal_end(j);
	CHECK(!journal_open(j));
	CHECK(journal_rollback(j, fd) == 0);
	CHECK(page_is(fd, 2, 'z'));

	/* The sync handshake: only the first change tells the guardian. */
	CHECK(journal_due(j) == -1);
	CHECK(journal_dirty(j, 5) == 1);
	CHECK(journal_dirty(j, 7) == 0);
	CHECK(journal_due(j) == 5);
	journal_clean(j);
	CHECK(journal_due(j) == -1);

	/* A file cut short under the mapping: the read is still answered. */
	CHECK(ftruncate(fd, 4096) == 0);
	CHECK(journal_pread(fd, back, sizeof(back), 2 * 4096) == 0);
	CHECK(hook.map == NULL);

	journal_detach();
	journal_destroy(j);
	close(fd);
	unlink(path);
}

int
main(void)
{
	test_addr();
	test_allow();
	test_table();
	test_table_due();
	test_table_pages();
	test_keys();
	test_map();
	test_socketmap();
	test_journal();
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
