/*
 * fuzz_rpc.c: libFuzzer target for dracd's RPC side as it receives
 * requests.  The real service.c starts its real transports with
 * service_start() (libtirpc's svc_tli_create: UDP and TCP, IPv4 and
 * IPv6, and svcunix_create for the local socket in a private directory);
 * only rpcbind is left out, by defining rpcb_set() and rpcb_unset() here
 * (libtirpc reaches them through its PLT, so ours win).  Each input is
 * sent from a loopback socket as UDP datagrams or as the byte stream of
 * one TCP or UNIX-socket connection, and the harness runs the body of
 * dracd's loop: poll() over svc_pollfd, then service_dispatch().
 *
 * Protocol version 3 runs through the real admin.c, with the real table
 * (table.c) and allow list (allow.c).  The rest of dracd is stubbed
 * here: dracd_permits, dracd_add and dracd_remove behave as dracd.c's,
 * with the map writer replaced by a stub that can fail or leave the map
 * stale (replies held).  Each input starts from a fresh table (fixed
 * seed, 8 entries of which 2 expired, 1100 more with flag bit 6) which
 * is freed at its end, and adds beyond TABLE_CAP fail as with -M: memory
 * stays bounded, and LeakSanitizer sees every entry an input made.  dracd_authorize() (versions 1 and 2) is a stub that
 * answers what the flags say.  Held UDP replies are released at the end
 * of each input, as dracd_publish() would.
 *
 * Input: one flags byte, then chunks, each a 2-byte big-endian length and
 * that many bytes (the last chunk takes whatever is left).  Flags:
 *   bits 0-1  transport: 0 udp, 1 udp6, 2 tcp, 3 tcp6 (v6 falls back to
 *             v4 when the host has no IPv6 loopback)
 *   bits 2-3  v1/v2: the addstat dracd_authorize() returns; v3: 0 all
 *             well, 1 the caller is not in the allow list, 2 every map
 *             write fails, 3 the table is full (-M reached)
 *   bit  4    replies are held: v1/v2 *wait = 1; v3 every map write
 *             leaves the map stale (writer.stale_second)
 *   bit  5    the local UNIX socket instead of bits 0-1's transport
 *   bit  6    v3: 1100 more entries in the table (more than a flush
 *             batch, and the table grows its buckets)
 *   bit  7    after the input, the harness sends one v3 LIST over UDP
 *             (refused: AUTH_TOOWEAK), then walks the whole listing over
 *             a connection to the local UNIX socket with the server's
 *             cursors and checks that every live entry comes exactly once
 * UDP: each chunk is one datagram.  TCP and UNIX: each chunk is one
 * write() on a new connection (record marks are part of the data),
 * followed by a round of dispatching; then the client half-closes and
 * the server must drop the connection.
 *
 * Determinism: libtirpc decodes a datagram from its whole receive buffer,
 * so bytes beyond a short datagram are those of earlier ones.  The buffer
 * is filled with a fixed "poison" datagram at startup and again after
 * every input, over at least as many bytes as the input's datagrams
 * dirtied, and as libtirpc encodes each reply over the same buffer, as
 * far as the longest reply went (a version 3 list: up to 7 KB); so every
 * input starts from the same buffer.
 *
 * Oracles, beyond the sanitizers and LeakSanitizer:
 *  - dracd_authorize, dracd_permits, dracd_add and dracd_remove are never
 *    reached for a datagram too short to hold its argument (stale bytes
 *    decoded), and what they get is what the datagram's own bytes say
 *    (client address, TTL, the entry a revoke removes).
 *  - Every call the harness can parse (a datagram, or a TCP/UNIX record
 *    of one fragment) to DRAC versions 1-3 with AUTH_NONE and a whole
 *    header gets a well-formed reply by its xid: GARBAGE_ARGS if its
 *    argument is cut short, PROC_UNAVAIL for unknown procedures, else
 *    SUCCESS with a result of exactly the right size whose values fit
 *    the request and the table (status per mode; expiry within the TTL;
 *    list pages within DRAC3_PAGE_MAX and the requested max, cursors of
 *    0 or 29 bytes, no duplicates, listed entries live in the table;
 *    stats equal to the stub's counters; flush empties the table).
 *    Over UDP each such call gets exactly one reply; never two.  v3
 *    revoke, list and flush over UDP are refused with AUTH_TOOWEAK.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rpc/rpc.h>
#include <rpc/rpcb_clnt.h>

#include "dracd.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_CHUNKS	64
/* Larger than any libtirpc UDP buffer (UDPMSGSIZE, 8800). */
#define POISON_FULL	16384
/* Covers the header and every reply libtirpc encodes over the buffer. */
#define POISON_MIN	512
#define POISON_PROG	0x3ffffff0u	/* not registered: cheap rejection */
#define POISON_FILL	0xa5
#define MAX_ROUNDS	1000
#define MAX_AUTH	400		/* MAX_AUTH_BYTES in libtirpc */
#define MAX_RECORD	8192		/* service.c's RPC_SVC_CONNMAXREC_SET */
#define LAST_FRAG	0x80000000u

/* The stub dracd's table and settings. */
#define TABLE_SEED	0x243f6a8885a308d3ULL	/* cursor generation a19c625b */
#define TABLE_CAP	2048		/* -M: adds beyond it fail */
#define BIG_TABLE	1100		/* > WRITER_MAX_OPS: flush in batches */
#define STUB_TTL	1800
#define STUB_MAX_TTL	86400
#define MAP_FAILURE	5		/* the stub writer's error code */
#define CURSOR_LEN	29		/* admin.c's cursor size */
#define MAX_CALLS	512

enum { T_UDP, T_UDP6, T_TCP, T_TCP6, T_UNIX, T_COUNT };
enum { MODE_WELL, MODE_DENY, MODE_MAPFAIL, MODE_FULL };

struct endpoint {
	int			 present;
	struct sockaddr_storage	 addr;	/* the server's, on loopback */
	socklen_t		 len;
	int			 client;	/* UDP: a connected socket */
};

/*
 * A call as the harness reads it from a datagram or a record (RFC 5531),
 * and what the table looked like just before a datagram was sent.
 */
struct call_info {
	uint32_t		 xid;
	int			 header;	/* through the verifier */
	int			 judged;	/* DRAC v1-3, AUTH_NONE: checked */
	int			 complete;	/* the argument is there, decodes */
	uint32_t		 vers, proc;
	struct drac_addr	 addr;		/* v1/v2 client, v3 address */
	int			 addr_ok;	/* v3: 4 or 16 bytes */
	uint32_t		 ttl, max, cursor_len;
	int			 snap;		/* UDP: the fields below are set */
	int			 fuzzy;		/* an entry expires about now */
	int64_t			 now_ms;
	size_t			 count_before, live_before;
	int			 found_before;
	int64_t			 found_expires;
	int			 replies;
};

static struct endpoint ep[T_COUNT];
static char local_dir[64], local_path[sizeof(local_dir) + 8];
static struct dracd stub_dracd;
static struct allow_list allow_loopback, allow_nobody;
static int baseline_fds;
static int verbose;
static uint8_t poison[POISON_FULL];
static struct pollfd *fds;
static int nfds_alloc;
static struct call_info calls[MAX_CALLS];
static int ncalls;
static int calls_uncertain;	/* replies may come for calls not parsed */
static struct call_info *sending;	/* UDP: the datagram in dispatch */
/* UDP: how much of libtirpc's buffer requests and replies overwrote. */
static size_t dirty[T_COUNT];
static int poisoning;
/* The listing walk (flag bit 7): the reply it waits for, by xid. */
static struct {
	uint32_t	xid;
	int		got;
	size_t		len;
	uint8_t		reply[1 << 14];
} walk;

/* What the stubs expect and answer for this input. */
static struct {
	struct call_info *call;		/* UDP: the datagram in dispatch */
	struct notifier	 notifier;
	enum addstat	 result;
	int		 mode;
	int		 wait;
	int		 held;
} cur;

static void __attribute__((noreturn, format(printf, 1, 2)))
failf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_rpc: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static void __attribute__((noreturn))
oracle_failed(const char *what)
{
	failf("%s", what);
}

/* ---- stubs for what service.c and admin.c need from dracd ---- */

static void
vsay(const char *fmt, va_list ap)
{
	if (!verbose)
		return;
	fprintf(stderr, "dracd: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
}

#define STUB_LOG(name)				\
void						\
name(const char *fmt, ...)			\
{						\
	va_list ap;				\
	va_start(ap, fmt);			\
	vsay(fmt, ap);				\
	va_end(ap);				\
}

STUB_LOG(log_warn)
STUB_LOG(log_warnx)
STUB_LOG(log_info)
STUB_LOG(log_debug)

/* log.c's, without syslog. */
int
log_limit_allow(struct log_limit *l, long long now_ms)
{
	if (now_ms - l->window_start >= LOG_LIMIT_WINDOW_MS) {
		l->window_start = now_ms;
		l->logged = 0;
		l->suppressed = 0;
	}
	if (l->logged < LOG_LIMIT_LINES) {
		l->logged++;
		return 1;
	}
	l->suppressed++;
	return 0;
}

char *
db_strerror(int code)
{
	static char text[32];

	snprintf(text, sizeof(text), "stub map error %d", code);
	return text;
}

static void
check_notifier(const struct dracd *d, const struct notifier *notifier)
{
	if (d != &stub_dracd)
		oracle_failed("called with a foreign dracd");
	if (notifier->is_local != cur.notifier.is_local ||
	    (notifier->is_local ? notifier->uid != cur.notifier.uid :
	    notifier->addr.family != cur.notifier.addr.family ||
	    !addr_equal(&notifier->addr, &cur.notifier.addr)))
		oracle_failed("notifier is not the harness's client");
}

/* Reached with a request: was all of its argument in the datagram? */
static void
check_decoded(const char *who)
{
	if (cur.call != NULL && !cur.call->complete)
		failf("%s called for a datagram too short to hold its "
		    "argument (v%" PRIu32 " proc %" PRIu32 ", xid %08" PRIx32
		    "): stale bytes decoded", who, cur.call->vers,
		    cur.call->proc, cur.call->xid);
}

/* Never defers: the real batching is dracd.c's, not service.c's. */
int
dracd_settle(struct dracd *d)
{
	(void)d;
	return 0;
}

enum addstat
dracd_authorize(struct dracd *d, const struct notifier *notifier,
    const struct drac_addr *client, int defer, int *wait)
{
	(void)defer;
	check_notifier(d, notifier);
	if (client->family != AF_INET && client->family != AF_INET6)
		oracle_failed("client address of no family");
	check_decoded("dracd_authorize");
	if (cur.call != NULL) {
		if (cur.call->vers != DRACVERS && cur.call->vers != DRACVERS6)
			oracle_failed("dracd_authorize called for a version 3 "
			    "call");
		if (memcmp(client, &cur.call->addr, sizeof(*client)) != 0)
			oracle_failed("decoded client differs from the "
			    "datagram's argument");
	}
	if (verbose) {
		char text[ADDR_TEXT_MAX];

		fprintf(stderr, "authorize %s -> %d%s\n",
		    addr_format(client, text, sizeof(text)), (int)cur.result,
		    cur.wait ? " (held)" : "");
	}
	/* As in dracd.c: a held reply means the map is stale. */
	if (cur.wait)
		stub_dracd.writer.stale_second = clock_wall_ms() / 1000;
	*wait = cur.wait;
	return cur.result;
}

/* dracd.c's, over the harness's allow lists. */
int
dracd_permits(struct dracd *d, const struct notifier *notifier,
    const char *what, const struct drac_addr *client)
{
	char ntext[ADDR_TEXT_MAX + 32];

	(void)client;
	check_notifier(d, notifier);
	check_decoded("dracd_permits");
	if (allow_permits(&d->allow, notifier))
		return 1;
	d->stats.denied++;
	if (log_limit_allow(&d->limit_denied, clock_mono_ms()))
		log_warnx("denied: %s may not %s",
		    notifier_format(notifier, ntext, sizeof(ntext)), what);
	return 0;
}

/* The map writer: a commit fails, or leaves the map stale (held replies). */
static int
stub_commit(void)
{
	if (cur.mode == MODE_MAPFAIL)
		return MAP_FAILURE;
	if (cur.wait)
		stub_dracd.writer.stale_second = clock_wall_ms() / 1000;
	return 0;
}

static int cur_transport;

/* dracd.c's, with the stub writer. */
enum drac3_status
dracd_add(struct dracd *d, const struct notifier *notifier,
    const struct drac_addr *client, int64_t ttl, int defer,
    int64_t *expires_out, int *wait)
{
	int64_t wall_ms = clock_wall_ms(), expires, deadline;
	struct table_entry *e;
	int renewed;

	(void)defer;
	check_notifier(d, notifier);
	check_decoded("dracd_add");
	if (client->family != AF_INET && client->family != AF_INET6)
		oracle_failed("dracd_add: client address of no family");
	if (cur.call != NULL) {
		if (cur.call->vers != DRACVERS3 || cur.call->proc != DRAC3_ADD)
			oracle_failed("dracd_add called for another call");
		if (!cur.call->addr_ok ||
		    memcmp(client, &cur.call->addr, sizeof(*client)) != 0)
			oracle_failed("dracd_add: the address differs from "
			    "the datagram's argument");
		/* Over UDP admin.c grants no more than the default. */
		if (ttl != ((cur_transport == T_UDP ||
		    cur_transport == T_UDP6) && cur.call->ttl > d->ttl ? 0 :
		    (int64_t)cur.call->ttl))
			oracle_failed("dracd_add: the TTL differs from the "
			    "datagram's argument");
	}
	*wait = 0;
	*expires_out = 0;
	if (!dracd_permits(d, notifier, "add addresses", client))
		return DRAC3_DENIED;
	if (addr_unusable(client) != NULL) {
		d->stats.refused++;
		return DRAC3_INVALID;
	}
	if (ttl <= 0)
		ttl = d->ttl;
	if (ttl > d->max_ttl)
		ttl = d->max_ttl;
	expires = wall_ms / 1000 + ttl;
	e = table_find(&d->table, client);
	if (e != NULL && e->expires > expires)
		expires = e->expires;
	deadline = clock_mono_ms() + (expires * 1000 - wall_ms);
	if (e == NULL && table_count(&d->table) >= d->max_entries) {
		d->stats.errors++;
		return DRAC3_SERVER_ERROR;
	}
	if (table_upsert(&d->table, client, deadline, expires, &renewed) ==
	    NULL) {
		d->stats.errors++;
		return DRAC3_SERVER_ERROR;
	}
	if (stub_commit() != 0) {
		d->stats.errors++;
		return DRAC3_SERVER_ERROR;
	}
	*wait = d->writer.stale_second != 0;
	*expires_out = expires;
	if (renewed)
		d->stats.renewals++;
	else
		d->stats.adds++;
	return DRAC3_OK;
}

/* dracd.c's, with the stub writer; checks what it is asked to remove. */
int
dracd_remove(struct dracd *d, struct table_entry **entries, size_t n)
{
	int code;

	check_decoded("dracd_remove");
	if (d != &stub_dracd)
		oracle_failed("dracd_remove called with a foreign dracd");
	if (n == 0 || n > WRITER_MAX_OPS)
		failf("dracd_remove: a batch of %zu entries", n);
	for (size_t i = 0; i < n; i++)
		if (table_find(&d->table, &entries[i]->addr) != entries[i])
			oracle_failed("dracd_remove: an entry not in the "
			    "table");
	if (cur.call != NULL) {
		if (cur.call->vers != DRACVERS3 ||
		    (cur.call->proc != DRAC3_DEL &&
		    cur.call->proc != DRAC3_FLUSH))
			oracle_failed("dracd_remove called for another call");
		if (cur.call->proc == DRAC3_DEL && (n != 1 ||
		    !cur.call->addr_ok ||
		    !addr_equal(&entries[0]->addr, &cur.call->addr)))
			oracle_failed("dracd_remove: revoke removes another "
			    "address than the datagram's");
	}
	if ((code = stub_commit()) != 0)
		return code;
	for (size_t i = 0; i < n; i++)
		table_remove(&d->table, entries[i]);
	return 0;
}

void
dracd_publish_now(struct dracd *d)
{
	if (d != &stub_dracd)
		oracle_failed("dracd_publish_now called with a foreign dracd");
	service_release_replies();
	d->writer.stale_second = 0;
	cur.held = 0;
}

/* The harness writes no map file: there are no locks to let go. */
void
dracd_unlock_map(struct dracd *d)
{
	if (d != &stub_dracd)
		oracle_failed("dracd_unlock_map called with a foreign dracd");
}

/* No rpcbind: registering and unregistering always succeed. */
bool_t
rpcb_set(rpcprog_t prog, rpcvers_t vers, const struct netconfig *nconf,
    const struct netbuf *addr)
{
	(void)prog; (void)vers; (void)nconf; (void)addr;
	return TRUE;
}

bool_t
rpcb_unset(rpcprog_t prog, rpcvers_t vers, const struct netconfig *nconf)
{
	(void)prog; (void)vers; (void)nconf;
	return TRUE;
}

/*
 * libtirpc's svcunix_create() copies the socket address into a buffer it
 * never frees (110 bytes, once per daemon): not ours, and not a leak that
 * grows.  Everything else LeakSanitizer finds fails the run.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:svcunix_create\n";
}

/* ---- the stub dracd's state, fresh for every input ---- */

static void
allow_from(struct allow_list *list, const char **lines)
{
	for (; *lines != NULL; lines++) {
		struct allow_rule rule, *r;
		const char *why;

		if (allow_parse_line(*lines, &rule, &why) != 1)
			failf("allow line %s: %s", *lines, why);
		r = realloc(list->rules, (list->count + 1) * sizeof(*r));
		if (r == NULL)
			oracle_failed("out of memory");
		list->rules = r;
		list->rules[list->count++] = rule;
		list->capacity = list->count;
	}
}

static void
stub_add(const char *text, int64_t now_wall, int64_t now_mono, int64_t ttl)
{
	struct drac_addr a;
	int64_t expires = now_wall / 1000 + ttl;
	int renewed;

	if (addr_parse(text, &a) == -1)
		failf("stub_add: %s", text);
	if (table_upsert(&stub_dracd.table, &a,
	    now_mono + (expires * 1000 - now_wall), expires, &renewed) == NULL)
		oracle_failed("out of memory");
}

static void
stub_begin(int mode, int big)
{
	int64_t wall = clock_wall_ms(), mono = clock_mono_ms();
	struct dracd *d = &stub_dracd;

	if (table_init(&d->table, TABLE_SEED) == -1)
		oracle_failed("out of memory");
	/* What the seeds use; two entries are past their time. */
	stub_add("192.0.2.1", wall, mono, 1200);
	stub_add("2001:db8::1", wall, mono, 1800);
	stub_add("::ffff:192.0.2.2", wall, mono, 600);
	stub_add("10.0.0.1", wall, mono, 3000);
	stub_add("198.51.100.7", wall, mono, 900);
	stub_add("2001:db8::2", wall, mono, 86000);
	stub_add("203.0.113.9", wall, mono, -10);
	stub_add("2001:db8::dead", wall, mono, -100);
	if (big) {
		for (int i = 0; i < BIG_TABLE; i++) {
			char text[32];

			snprintf(text, sizeof(text), "10.1.%d.%d", i >> 8,
			    i & 255);
			stub_add(text, wall, mono, 600 + i % 600);
		}
	}
	d->allow = mode == MODE_DENY ? allow_nobody : allow_loopback;
	d->max_entries = mode == MODE_FULL ? table_count(&d->table) :
	    TABLE_CAP;
	memset(&d->stats, 0, sizeof(d->stats));
	d->writer.stale_second = 0;
}

static void
stub_end(void)
{
	table_free(&stub_dracd.table);
	stub_dracd.writer.stale_second = 0;
}

struct live {
	int64_t	now_ms;
	size_t	n;
	int	fuzzy;
};

static int
count_live_entry(struct table_entry *e, void *arg)
{
	struct live *l = arg;
	int64_t at = e->expires * 1000;

	if (at > l->now_ms)
		l->n++;
	/* do_list reads the clock a little later: do not judge then. */
	if (at > l->now_ms - 2000 && at <= l->now_ms + 2000)
		l->fuzzy = 1;
	return 0;
}

/* ---- the harness ---- */

static int
live_fds(void)
{
	int n = 0;

	for (int i = 0; i < svc_max_pollfd; i++)
		if (svc_pollfd[i].fd >= 0)
			n++;
	return n;
}

static uint32_t
word(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* A bounded XDR reader: bad is set on the first overrun. */
struct rd {
	const uint8_t	*p;
	size_t		 n, off;
	int		 bad;
};

static uint32_t
rd_u32(struct rd *r)
{
	uint32_t v;

	if (r->bad || r->n - r->off < 4) {
		r->bad = 1;
		return 0;
	}
	v = word(r->p + r->off);
	r->off += 4;
	return v;
}

static int64_t
rd_hyper(struct rd *r)
{
	uint64_t hi = rd_u32(r), lo = rd_u32(r);

	return (int64_t)(hi << 32 | lo);
}

static const uint8_t *
rd_opaque(struct rd *r, uint32_t max, uint32_t *len)
{
	const uint8_t *p;
	size_t padded;

	*len = rd_u32(r);
	if (r->bad || *len > max) {
		r->bad = 1;
		return NULL;
	}
	padded = ((size_t)*len + 3) & ~(size_t)3;
	if (r->n - r->off < padded) {
		r->bad = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += padded;
	return p;
}

static int
addr_of_wire(const uint8_t *p, uint32_t len, struct drac_addr *a)
{
	if (len == 4) {
		addr_from_v4(word(p), a);
		return 1;
	}
	if (len == 16) {
		addr_from_v6(p, a);
		return 1;
	}
	memset(a, 0, sizeof(*a));
	return 0;
}

/* Reads a call; what the server should decode from it (RFC 5531). */
static void
parse_call(const uint8_t *d, size_t len, struct call_info *c)
{
	size_t off = 24;
	uint32_t mtype, rpcvers, prog, cred;
	struct rd r;

	memset(c, 0, sizeof(*c));
	if (len >= 4)
		c->xid = word(d);
	if (len < 24 + 8)
		return;
	mtype = word(d + 4);
	rpcvers = word(d + 8);
	prog = word(d + 12);
	c->vers = word(d + 16);
	c->proc = word(d + 20);
	cred = word(d + 24);
	for (int i = 0; i < 2; i++) {		/* credential, verifier */
		uint32_t alen;

		if (len < off + 8)
			return;
		alen = word(d + off + 4);
		if (alen > MAX_AUTH)
			return;
		off += 8 + ((alen + 3) & ~3u);
	}
	if (len < off)
		return;
	c->header = 1;
	c->judged = mtype == 0 && rpcvers == 2 && prog == DRACPROG &&
	    c->vers >= DRACVERS && c->vers <= DRACVERS3 && cred == AUTH_NONE;
	r.p = d + off;
	r.n = len - off;
	r.off = 0;
	r.bad = 0;
	if (c->vers != DRACVERS3) {
		if (c->proc != DRACPROC_ADD) {
			c->complete = 1;
			return;
		}
		if (c->vers == DRACVERS) {
			addr_from_v4(rd_u32(&r), &c->addr);
		} else {
			uint8_t bytes[16];

			/* rpcgen's char[16]: sixteen XDR ints, low byte each. */
			for (int i = 0; i < 16; i++)
				bytes[i] = (uint8_t)rd_u32(&r);
			addr_from_v6(bytes, &c->addr);
		}
		c->complete = !r.bad;
		return;
	}
	switch (c->proc) {
	case DRAC3_ADD:
	case DRAC3_DEL:
	case DRAC3_QUERY: {
		uint32_t alen;
		const uint8_t *a = rd_opaque(&r, 16, &alen);

		if (a != NULL)
			c->addr_ok = addr_of_wire(a, alen, &c->addr);
		if (c->proc == DRAC3_ADD)
			c->ttl = rd_u32(&r);
		break;
	}
	case DRAC3_LIST:
		rd_opaque(&r, DRAC3_CURSOR_MAX, &c->cursor_len);
		c->max = rd_u32(&r);
		break;
	default:
		break;
	}
	c->complete = !r.bad;
}

/* The table as it is now, for judging the reply to c. */
static void
snapshot(struct call_info *c)
{
	struct live l = { clock_wall_ms(), 0, 0 };
	struct table_entry *e;

	c->snap = 1;
	c->now_ms = l.now_ms;
	c->count_before = table_count(&stub_dracd.table);
	table_foreach(&stub_dracd.table, count_live_entry, &l);
	c->live_before = l.n;
	c->fuzzy = l.fuzzy;
	if (c->addr_ok && (e = table_find(&stub_dracd.table, &c->addr)) !=
	    NULL) {
		c->found_before = 1;
		c->found_expires = e->expires;
	}
}

static struct call_info *
add_call(void)
{
	if (ncalls == MAX_CALLS) {
		calls_uncertain = 1;
		return NULL;
	}
	return &calls[ncalls++];
}

/* The one call with this xid, or NULL if none or several. */
static struct call_info *
call_by_xid(uint32_t xid)
{
	struct call_info *found = NULL;

	for (int i = 0; i < ncalls; i++) {
		if (calls[i].xid != xid)
			continue;
		if (found != NULL)
			return NULL;
		found = &calls[i];
	}
	return found;
}

/* ---- judging replies ---- */

/*
 * What came back, as extra coverage counters: libtirpc is not
 * instrumented, so without these the fuzzer could not tell a request that
 * earned PROG_MISMATCH from one that earned AUTH_ERROR.
 */
#define REPLY_KINDS	32
static uint8_t reply_seen[T_COUNT * REPLY_KINDS]
    __attribute__((section("__libfuzzer_extra_counters")));
static uint8_t stream_buf[1 << 16];
static size_t stream_len;
static uint8_t record_buf[1 << 16];
static size_t record_len;

/* accept_stat values as reply kinds */
#define K_SUCCESS	0
#define K_PROC_UNAVAIL	3
#define K_GARBAGE_ARGS	4

static unsigned
reply_kind(const uint8_t *r, size_t n)
{
	uint32_t v, pad;

	if (n < 16 || word(r + 4) != 1)			/* not a REPLY */
		return 31;
	switch (word(r + 8)) {
	case 0:						/* MSG_ACCEPTED */
		v = word(r + 16);
		pad = (v + 3) & ~3u;
		if (v > MAX_AUTH || n < 24 + pad)
			return 30;
		v = word(r + 20 + pad);			/* accept_stat */
		return v < 8 ? v : 29;
	case 1:						/* MSG_DENIED */
		if (word(r + 12) == 0)			/* RPC_MISMATCH */
			return 8;
		if (word(r + 12) != 1 || n < 20)
			return 28;
		v = word(r + 16);			/* auth_stat */
		return v < 16 ? 9 + v : 27;
	default:
		return 26;
	}
}

static void __attribute__((noreturn, format(printf, 2, 3)))
reply_failed(const struct call_info *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_rpc: reply to xid %08" PRIx32 " (v%" PRIu32
	    " proc %" PRIu32 ", mode %d%s%s): ", c->xid, c->vers, c->proc,
	    cur.mode, cur.wait ? ", held" : "", c->snap ? ", udp" : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

#define CHECK(cond, ...) do {						\
	if (!(cond))							\
		reply_failed(c, __VA_ARGS__);				\
} while (0)

/* What admin.c and dracd_add make of a TTL (over UDP: the default at most). */
static int64_t
effective_ttl(uint32_t ttl)
{
	int64_t t = ttl == 0 ? stub_dracd.ttl : (int64_t)ttl;

	if ((cur_transport == T_UDP || cur_transport == T_UDP6) &&
	    t > stub_dracd.ttl)
		t = stub_dracd.ttl;

	return t > stub_dracd.max_ttl ? stub_dracd.max_ttl : t;
}

static void
check_entry_res(const struct call_info *c, uint32_t status, int64_t expires,
    int permitted)
{
	int64_t now_s = clock_wall_ms() / 1000;

	CHECK(status <= DRAC3_SERVER_ERROR, "status %" PRIu32, status);
	CHECK(status == DRAC3_OK || expires == 0,
	    "status %" PRIu32 " with expiry %" PRId64, status, expires);
	if (!permitted) {
		CHECK(status == DRAC3_DENIED, "status %" PRIu32 " to a caller "
		    "not allowed", status);
		return;
	}
	if (!c->addr_ok) {
		CHECK(status == DRAC3_INVALID, "status %" PRIu32 " for an "
		    "address of neither 4 nor 16 bytes", status);
		return;
	}
	if (c->proc == DRAC3_QUERY) {
		CHECK(status == DRAC3_OK || status == DRAC3_NOT_FOUND,
		    "status %" PRIu32, status);
		if (c->snap && !c->fuzzy) {
			int live = c->found_before &&
			    c->found_expires * 1000 > c->now_ms;

			CHECK(status == (live ? DRAC3_OK : DRAC3_NOT_FOUND),
			    "status %" PRIu32 " for an address %s", status,
			    live ? "in the table" : "not in the table");
			CHECK(!live || expires == c->found_expires,
			    "expiry %" PRId64 ", the table says %" PRId64,
			    expires, c->found_expires);
		}
		return;
	}
	/* DRAC3_ADD */
	CHECK(status != DRAC3_NOT_FOUND, "status NOT_FOUND");
	if (addr_unusable(&c->addr) != NULL) {
		CHECK(status == DRAC3_INVALID, "status %" PRIu32 " for an "
		    "address that is never a client", status);
		return;
	}
	if (cur.mode == MODE_MAPFAIL)
		CHECK(status == DRAC3_SERVER_ERROR, "status %" PRIu32
		    " when the map write failed", status);
	else if (c->snap)
		CHECK(status == (c->found_before ||
		    c->count_before < stub_dracd.max_entries ? DRAC3_OK :
		    DRAC3_SERVER_ERROR), "status %" PRIu32 " (table of %zu, "
		    "max %zu, %s)", status, c->count_before,
		    stub_dracd.max_entries, c->found_before ? "renewal" :
		    "new");
	else if (cur.mode == MODE_WELL)
		CHECK(status == DRAC3_OK, "status %" PRIu32, status);
	if (status != DRAC3_OK)
		return;
	if (c->snap) {
		int64_t low = c->now_ms / 1000 + effective_ttl(c->ttl);
		int64_t high = now_s + effective_ttl(c->ttl);

		if (c->found_before && c->found_expires > low)
			low = c->found_expires;
		if (c->found_before && c->found_expires > high)
			high = c->found_expires;
		CHECK(expires >= low && expires <= high, "expiry %" PRId64
		    " outside [%" PRId64 ", %" PRId64 "] (ttl %" PRIu32 ")",
		    expires, low, high, c->ttl);
	} else
		CHECK(expires > 0 && expires <= now_s + stub_dracd.max_ttl,
		    "expiry %" PRId64, expires);
}

static void
check_list(const struct call_info *c, struct rd *r, uint32_t status,
    int permitted, int immediate)
{
	static struct drac_addr seen[DRAC3_PAGE_MAX];
	uint32_t count = rd_u32(r), next_len, eff;

	eff = c->max == 0 || c->max > DRAC3_PAGE_MAX ? DRAC3_PAGE_MAX :
	    c->max;
	CHECK(!r->bad && count <= DRAC3_PAGE_MAX, "a page of %" PRIu32
	    " entries (DRAC3_PAGE_MAX %d)", count, DRAC3_PAGE_MAX);
	CHECK(count <= eff, "a page of %" PRIu32 " entries, %" PRIu32
	    " asked for", count, c->max);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t alen;
		const uint8_t *a = rd_opaque(r, 16, &alen);
		int64_t expires = rd_hyper(r);
		struct table_entry *e;

		CHECK(!r->bad, "entry %" PRIu32 " of %" PRIu32 " malformed",
		    i, count);
		CHECK(addr_of_wire(a, alen, &seen[i]), "entry %" PRIu32
		    " has an address of %" PRIu32 " bytes", i, alen);
		CHECK(expires > 0, "entry %" PRIu32 " expires at %" PRId64,
		    i, expires);
		for (uint32_t j = 0; j < i; j++)
			CHECK(!addr_equal(&seen[i], &seen[j]), "entries %"
			    PRIu32 " and %" PRIu32 " are the same address",
			    j, i);
		if (!immediate)
			continue;
		e = table_find(&stub_dracd.table, &seen[i]);
		CHECK(e != NULL && e->expires == expires, "entry %" PRIu32
		    " is not in the table as listed", i);
		CHECK(c->fuzzy || expires * 1000 > c->now_ms, "entry %"
		    PRIu32 " had expired", i);
	}
	rd_opaque(r, DRAC3_CURSOR_MAX, &next_len);
	CHECK(!r->bad && r->off == r->n, "list_res malformed (%zu of %zu "
	    "bytes read)", r->off, r->n);
	CHECK(next_len == 0 || next_len == CURSOR_LEN, "next cursor of %"
	    PRIu32 " bytes", next_len);
	CHECK(status == DRAC3_OK || status == DRAC3_DENIED ||
	    status == DRAC3_INVALID, "status %" PRIu32, status);
	CHECK(status == DRAC3_OK || (count == 0 && next_len == 0),
	    "status %" PRIu32 " with %" PRIu32 " entries", status, count);
	if (!permitted)
		CHECK(status == DRAC3_DENIED, "status %" PRIu32 " to a caller "
		    "not allowed", status);
	else if (c->cursor_len == 0)
		CHECK(status == DRAC3_OK, "status %" PRIu32 " for the first "
		    "page", status);
	else if (c->cursor_len != CURSOR_LEN)
		CHECK(status == DRAC3_INVALID, "status %" PRIu32 " for a "
		    "cursor of %" PRIu32 " bytes", status, c->cursor_len);
	if (status != DRAC3_OK || c->cursor_len != 0 || !c->snap || c->fuzzy)
		return;
	/* A first page: all of the table, or a full page and a cursor. */
	if (c->count_before < eff)
		CHECK(next_len == 0 && count == c->live_before, "first page "
		    "of %" PRIu32 " entries and a cursor of %" PRIu32 " bytes"
		    " for a table of %zu (%zu live), max %" PRIu32, count,
		    next_len, c->count_before, c->live_before, eff);
	else
		CHECK(next_len == CURSOR_LEN, "a full first page without a "
		    "cursor");
}

static void
check_v3(const struct call_info *c, const uint8_t *b, size_t n,
    int immediate)
{
	struct rd r = { b, n, 0, 0 };
	const struct dracd *d = &stub_dracd;
	uint32_t status = rd_u32(&r);
	int permitted = cur.mode != MODE_DENY;
	int64_t h[11];

	switch (c->proc) {
	case DRAC3_ADD:
	case DRAC3_QUERY:
		h[0] = rd_hyper(&r);
		CHECK(!r.bad && r.off == n, "entry_res of %zu bytes", n);
		check_entry_res(c, status, h[0], permitted);
		break;
	case DRAC3_DEL:
		CHECK(n == 4, "status of %zu bytes", n);
		CHECK(status <= DRAC3_SERVER_ERROR, "status %" PRIu32, status);
		if (!permitted)
			CHECK(status == DRAC3_DENIED, "status %" PRIu32 " to a "
			    "caller not allowed", status);
		else if (!c->addr_ok)
			CHECK(status == DRAC3_INVALID, "status %" PRIu32
			    " for an address of neither 4 nor 16 bytes",
			    status);
		else if (c->snap)
			CHECK(status == (!c->found_before ? DRAC3_NOT_FOUND :
			    cur.mode == MODE_MAPFAIL ? DRAC3_SERVER_ERROR :
			    DRAC3_OK), "status %" PRIu32 " for an address %s",
			    status, c->found_before ? "in the table" :
			    "not in the table");
		if (immediate && status == DRAC3_OK)
			CHECK(table_find(&d->table, &c->addr) == NULL,
			    "revoked, yet still in the table");
		break;
	case DRAC3_LIST:
		check_list(c, &r, status, permitted, immediate);
		break;
	case DRAC3_STATS:
		for (int i = 0; i < 11; i++)
			h[i] = rd_hyper(&r);
		CHECK(!r.bad && r.off == n, "stats_res of %zu bytes", n);
		CHECK(status == (permitted ? DRAC3_OK : DRAC3_DENIED),
		    "status %" PRIu32, status);
		if (status != DRAC3_OK) {
			for (int i = 0; i < 11; i++)
				CHECK(h[i] == 0, "stats field %d is %" PRId64
				    " in a denial", i, h[i]);
			break;
		}
		CHECK(h[8] >= 0 && h[9] == d->ttl && h[10] == d->max_ttl,
		    "uptime %" PRId64 ", ttl %" PRId64 ", max_ttl %" PRId64,
		    h[8], h[9], h[10]);
		if (immediate)
			CHECK(h[0] == (int64_t)table_count(&d->table) &&
			    h[1] == (int64_t)d->stats.adds &&
			    h[2] == (int64_t)d->stats.renewals &&
			    h[3] == (int64_t)d->stats.revokes &&
			    h[4] == (int64_t)d->stats.expired &&
			    h[5] == (int64_t)d->stats.denied &&
			    h[6] == (int64_t)d->stats.refused &&
			    h[7] == (int64_t)d->stats.errors,
			    "counters differ from dracd's");
		break;
	case DRAC3_FLUSH:
		h[0] = rd_hyper(&r);
		CHECK(!r.bad && r.off == n, "count_res of %zu bytes", n);
		CHECK(status == DRAC3_OK || status == DRAC3_DENIED ||
		    status == DRAC3_SERVER_ERROR, "status %" PRIu32, status);
		CHECK(h[0] >= 0 && (status != DRAC3_DENIED || h[0] == 0),
		    "status %" PRIu32 ", count %" PRId64, status, h[0]);
		if (!permitted)
			CHECK(status == DRAC3_DENIED, "status %" PRIu32 " to a "
			    "caller not allowed", status);
		else if (c->snap && cur.mode == MODE_MAPFAIL)
			CHECK(h[0] == 0 && status == (c->count_before > 0 ?
			    DRAC3_SERVER_ERROR : DRAC3_OK), "status %" PRIu32
			    ", count %" PRId64 " when the map fails", status,
			    h[0]);
		else if (c->snap)
			CHECK(status == DRAC3_OK &&
			    h[0] == (int64_t)c->count_before, "status %" PRIu32
			    ", %" PRId64 " flushed of %zu", status, h[0],
			    c->count_before);
		if (immediate && status == DRAC3_OK)
			CHECK(table_count(&d->table) == 0, "flushed, yet %zu "
			    "entries left", table_count(&d->table));
		break;
	}
}

static void
check_reply(struct call_info *c, const uint8_t *r, size_t n, unsigned kind,
    int immediate)
{
	uint32_t pad;
	const uint8_t *body;
	size_t blen;
	int known;

	CHECK(++c->replies == 1, "a second reply");
	if (!c->judged)
		return;
	/* Revoke, list and flush need a connection (admin.c), before all. */
	if ((cur_transport == T_UDP || cur_transport == T_UDP6) &&
	    c->vers == DRACVERS3 && (c->proc == DRAC3_DEL ||
	    c->proc == DRAC3_LIST || c->proc == DRAC3_FLUSH)) {
		CHECK(kind == 9 + AUTH_TOOWEAK, "reply kind %u to a v3 "
		    "procedure %" PRIu32 " over UDP, not AUTH_TOOWEAK", kind,
		    c->proc);
		return;
	}
	if (!c->complete) {
		CHECK(kind == K_GARBAGE_ARGS, "reply kind %u to a call whose "
		    "argument is cut short, not GARBAGE_ARGS", kind);
		return;
	}
	known = c->proc == NULLPROC || (c->vers == DRACVERS3 ?
	    c->proc <= DRAC3_FLUSH : c->proc == DRACPROC_ADD);
	if (!known) {
		CHECK(kind == K_PROC_UNAVAIL, "reply kind %u to an unknown "
		    "procedure, not PROC_UNAVAIL", kind);
		return;
	}
	CHECK(kind == K_SUCCESS, "reply kind %u, not SUCCESS", kind);
	pad = (word(r + 16) + 3) & ~3u;
	body = r + 24 + pad;
	blen = n - 24 - pad;
	if (c->proc == NULLPROC)
		CHECK(blen == 0, "a NULL reply of %zu bytes", blen);
	else if (c->vers != DRACVERS3)
		CHECK(blen == 4 && word(body) == (uint32_t)cur.result,
		    "addstat reply of %zu bytes, not %d", blen,
		    (int)cur.result);
	else
		check_v3(c, body, blen, immediate);
}

static void
note_reply(const uint8_t *r, size_t n)
{
	unsigned kind = reply_kind(r, n);
	uint8_t *counter = &reply_seen[cur_transport * REPLY_KINDS + kind];
	struct call_info *c;

	if (*counter < 255)
		(*counter)++;
	if (verbose) {
		fprintf(stderr, "reply of %zu bytes, kind %u:", n, kind);
		for (size_t i = 0; i < n && i < 64; i++)
			fprintf(stderr, "%s%02x", i % 4 ? "" : " ", r[i]);
		fprintf(stderr, "%s\n", n > 64 ? " ..." : "");
	}
	if (n >= 4 && !calls_uncertain && (c = call_by_xid(word(r))) != NULL)
		check_reply(c, r, n, kind, sending != NULL && c == sending);
}

/* The reply the listing walk waits for, from a datagram or a record. */
static void
note_walk(const uint8_t *r, size_t n)
{
	if (walk.xid == 0 || n < 4 || word(r) != walk.xid)
		return;
	if (n > sizeof(walk.reply))
		failf("walk: a reply of %zu bytes", n);
	memcpy(walk.reply, r, n);
	walk.len = n;
	walk.got++;
}

/*
 * Reads what the server sent: datagrams (t is their transport: libtirpc
 * encodes a reply over its receive buffer, which must be poisoned again
 * that far), or records on a stream (t is -1).
 */
static void
drain(int fd, int t)
{
	static uint8_t buf[1 << 16];
	ssize_t n;

	if (fd < 0)
		return;
	if (t >= 0) {
		while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			if (!poisoning && (size_t)n > dirty[t])
				dirty[t] = (size_t)n;
			note_walk(buf, (size_t)n);
			note_reply(buf, (size_t)n);
		}
		return;
	}
	while (stream_len < sizeof(stream_buf) &&
	    (n = recv(fd, stream_buf + stream_len,
	    sizeof(stream_buf) - stream_len, MSG_DONTWAIT)) > 0) {
		stream_len += (size_t)n;
		while (stream_len >= 4) {
			uint32_t h = word(stream_buf);
			size_t len = h & ~LAST_FRAG;

			if (len > sizeof(stream_buf) - 4 ||
			    len > sizeof(record_buf) - record_len)
				failf("a reply record too long to be dracd's "
				    "(%zu bytes)", record_len + len);
			if (stream_len < 4 + len)
				break;
			memcpy(record_buf + record_len, stream_buf + 4, len);
			record_len += len;
			stream_len -= 4 + len;
			memmove(stream_buf, stream_buf + 4 + len, stream_len);
			if (h & LAST_FRAG) {
				note_walk(record_buf, record_len);
				note_reply(record_buf, record_len);
				record_len = 0;
			}
		}
	}
}
static void
drain_clients(int tcp_client)
{
	for (int t = T_UDP; t <= T_UDP6; t++)
		if (ep[t].present)
			drain(ep[t].client, t);
	drain(tcp_client, -1);
}

/* The daemon's loop body, until nothing is ready; returns the rounds. */
static int
pump(int tcp_client)
{
	int rounds;

	for (rounds = 0; rounds < MAX_ROUNDS; rounds++) {
		int n = svc_max_pollfd, ready;

		if (n > nfds_alloc) {
			struct pollfd *p = realloc(fds, (size_t)n * sizeof(*p));

			if (p == NULL)
				oracle_failed("out of memory");
			fds = p;
			nfds_alloc = n;
		}
		memcpy(fds, svc_pollfd, (size_t)n * sizeof(*fds));
		ready = poll(fds, (nfds_t)n, 0);
		if (ready == -1 && errno == EINTR) {
			rounds--;		/* a timer signal: again */
			continue;
		}
		if (ready <= 0)
			break;
		service_dispatch(fds, ready);
		drain_clients(tcp_client);
	}
	if (rounds == MAX_ROUNDS)
		oracle_failed("the service never went idle");
	drain_clients(tcp_client);
	return rounds;
}

static void
fill_poison(void)
{
	static const uint32_t head[10] = {
		0x504f4953, 0, 2, POISON_PROG, 1, 0, 0, 0, 0, 0
	};

	memset(poison, POISON_FILL, sizeof(poison));
	for (int i = 0; i < 10; i++) {
		uint32_t w = htonl(head[i]);

		memcpy(poison + 4 * i, &w, 4);
	}
}

/* One datagram; the client socket is non-blocking. */
static int
send_all(int fd, const void *p, size_t len)
{
	for (int tries = 0; tries < 1000; tries++) {
		ssize_t n = send(fd, p, len, 0);

		if (n == (ssize_t)len)
			return 0;
		if (n == -1 && errno != EINTR && errno != EAGAIN &&
		    errno != ENOBUFS)
			return -1;
		drain_clients(-1);
	}
	return -1;
}

static void
send_poison(int t, size_t len)
{
	if (len < POISON_MIN)
		len = POISON_MIN;
	if (len > sizeof(poison))
		len = sizeof(poison);
	cur.call = NULL;
	poisoning = 1;
	if (send_all(ep[t].client, poison, len) == -1)
		oracle_failed("cannot send the poison datagram");
	pump(-1);
	poisoning = 0;
	dirty[t] = 0;
}

/* Every UDP buffer this input wrote to starts the next one poisoned. */
static void
repoison(void)
{
	for (int t = T_UDP; t <= T_UDP6; t++)
		if (ep[t].present && dirty[t] > 0)
			send_poison(t, dirty[t]);
}

static void
set_loopback(struct sockaddr_storage *ss, int family, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		sin6->sin6_addr = in6addr_loopback;
	}
}

static socklen_t
sockaddr_size(int family)
{
	return family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
}

/* Finds the transports service_start() made, from svc_pollfd. */
static void
find_transports(void)
{
	for (int i = 0; i < svc_max_pollfd; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int type, t;
		socklen_t tlen = sizeof(type);
		uint16_t port;

		if (svc_pollfd[i].fd < 0 ||
		    getsockname(svc_pollfd[i].fd, (struct sockaddr *)&ss,
		    &len) == -1 ||
		    getsockopt(svc_pollfd[i].fd, SOL_SOCKET, SO_TYPE, &type,
		    &tlen) == -1)
			continue;
		if (ss.ss_family == AF_UNIX) {
			struct sockaddr_un *sun = (struct sockaddr_un *)&ep[T_UNIX].addr;

			sun->sun_family = AF_UNIX;
			snprintf(sun->sun_path, sizeof(sun->sun_path), "%s",
			    local_path);
			ep[T_UNIX].len = sizeof(*sun);
			ep[T_UNIX].present = 1;
			ep[T_UNIX].client = -1;
			continue;
		}
		if (ss.ss_family == AF_INET)
			t = type == SOCK_DGRAM ? T_UDP : T_TCP;
		else if (ss.ss_family == AF_INET6)
			t = type == SOCK_DGRAM ? T_UDP6 : T_TCP6;
		else
			continue;
		port = ss.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port;
		set_loopback(&ep[t].addr, ss.ss_family, port);
		ep[t].len = sockaddr_size(ss.ss_family);
		ep[t].present = 1;
		ep[t].client = -1;
	}
}

static int
loopback_client(int t)
{
	int family = ep[t].addr.ss_family;
	int type = t == T_UDP || t == T_UDP6 ? SOCK_DGRAM : SOCK_STREAM;
	int fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct pollfd p;
	int err = 0, r;
	socklen_t len = sizeof(err);

	/*
	 * No bind(): connect() picks a loopback source port and may reuse
	 * one in TIME_WAIT (tcp_tw_reuse), which a run of thousands of
	 * connections a second needs.  Non-blocking, so that libFuzzer's
	 * timer signals cannot interrupt it half-way.
	 */
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&ep[t].addr, ep[t].len) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EINTR)
		goto fail;
	p.fd = fd;
	p.events = POLLOUT;
	do
		r = poll(&p, 1, 5000);
	while (r == -1 && errno == EINTR);
	if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
	    err == 0)
		return fd;
	errno = err ? err : ETIMEDOUT;
fail:
	close(fd);
	return -1;
}

static void
cleanup(void)
{
	service_stop();		/* removes the socket */
	rmdir(local_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	verbose = getenv("DRAC_FUZZ_VERBOSE") != NULL;
	signal(SIGPIPE, SIG_IGN);	/* as dracd does */
	snprintf(local_dir, sizeof(local_dir), "/tmp/drac-fuzz.XXXXXX");
	if (mkdtemp(local_dir) == NULL) {
		perror("fuzz_rpc: mkdtemp");
		exit(1);
	}
	snprintf(local_path, sizeof(local_path), "%s/sock", local_dir);
	atexit(cleanup);
	{
		char uid_line[32];
		const char *loopback[] = { "127.0.0.0/8", "::1", uid_line,
		    NULL };
		const char *nobody[] = { "192.0.2.0/24", "2001:db8::/32",
		    "uid 4294967294", NULL };

		/* The UNIX socket's caller is this process's user. */
		snprintf(uid_line, sizeof(uid_line), "uid %lu",
		    (unsigned long)geteuid());
		allow_from(&allow_loopback, loopback);
		allow_from(&allow_nobody, nobody);
	}
	stub_dracd.ttl = STUB_TTL;
	stub_dracd.max_ttl = STUB_MAX_TTL;
	stub_dracd.started = clock_mono_ms();
	stub_dracd.map_path = "/nonexistent/drac.db";
	stub_dracd.allow_path = "/nonexistent/dracd.allow";
	stub_dracd.limit_denied.what = "denied requests";
	stub_dracd.limit_refused.what = "refused addresses";
	stub_dracd.limit_errors.what = "map errors";
	stub_dracd.limit_full.what = "adds to a full table";
	if (service_start(&stub_dracd, local_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_rpc: service_start: %s\n", err);
		exit(1);
	}
	find_transports();
	if (!ep[T_UDP].present || !ep[T_TCP].present || !ep[T_UNIX].present) {
		fprintf(stderr, "fuzz_rpc: no IPv4 UDP, TCP and UNIX "
		    "transports\n");
		exit(1);
	}
	fill_poison();
	for (int t = T_UDP; t <= T_UDP6; t++) {
		if (!ep[t].present)
			continue;
		if ((ep[t].client = loopback_client(t)) == -1) {
			/* e.g. no ::1 on this host */
			ep[t].present = 0;
			continue;
		}
		send_poison(t, sizeof(poison));
	}
	if (!ep[T_UDP].present) {
		fprintf(stderr, "fuzz_rpc: cannot reach the UDP transport\n");
		exit(1);
	}
	baseline_fds = live_fds();
	return 0;
}

static int
pick_transport(int t)
{
	if (ep[t].present)
		return t;
	return t == T_UDP6 ? T_UDP : T_TCP;
}

/* Writes it all, dispatching while the server's buffers are full. */
static void
write_all(int fd, const uint8_t *p, size_t len)
{
	int stalls = 0;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			return;		/* the server hung up: fine */
		if (pump(fd) == 0 && ++stalls > 100)
			oracle_failed("TCP write makes no progress");
	}
}

/* The next chunk: a 2-byte length and its bytes, or what is left. */
static const uint8_t *
next_chunk(const uint8_t **data, size_t *size, size_t *len)
{
	const uint8_t *p;

	*len = *size;
	if (*size >= 2) {
		*len = (size_t)(*data)[0] << 8 | (*data)[1];
		*data += 2;
		*size -= 2;
		if (*len > *size)
			*len = *size;
	}
	p = *data;
	*data += *len;
	*size -= *len;
	return p;
}

/*
 * The calls in a stream, as far as the harness can tell them apart:
 * records of one last fragment each.  Anything else (more fragments, an
 * empty or oversized one) ends the parse and, since replies may then come
 * for calls it did not see, the judging of replies for this input.  A
 * record cut short at the end is never dispatched.
 */
static void
parse_stream(const uint8_t *s, size_t len)
{
	size_t off = 0;

	while (len - off >= 4) {
		uint32_t h = word(s + off);
		size_t flen = h & ~LAST_FRAG;
		struct call_info *c;

		if (!(h & LAST_FRAG) || flen == 0 || flen > MAX_RECORD) {
			calls_uncertain = 1;
			return;
		}
		if (len - off - 4 < flen)
			return;
		if ((c = add_call()) == NULL)
			return;
		parse_call(s + off + 4, flen, c);
		off += 4 + flen;
	}
}

/* Half-closes; the server must notice the end of the stream, let go. */
static void
hang_up(int fd)
{
	int rounds = 0;

	shutdown(fd, SHUT_WR);
	while (live_fds() > baseline_fds && rounds++ < 100)
		pump(fd);
	close(fd);
	if (live_fds() != baseline_fds)
		oracle_failed("the server kept a closed TCP connection");
}

static void
run_tcp(int t, const uint8_t *data, size_t size)
{
	int fd = loopback_client(t);
	uint8_t *stream = malloc(size + 1);
	const uint8_t *d = data;
	size_t left = size, slen = 0, len;

	if (stream == NULL)
		oracle_failed("out of memory");
	for (int c = 0; c < MAX_CHUNKS && left > 0; c++) {
		const uint8_t *p = next_chunk(&d, &left, &len);

		memcpy(stream + slen, p, len);
		slen += len;
	}
	parse_stream(stream, slen);
	if (fd == -1) {
		perror("fuzz_rpc: connect");
		oracle_failed("cannot connect to the stream transport");
	}
	cur.call = NULL;
	pump(fd);				/* accept */
	for (int c = 0; c < MAX_CHUNKS && size > 0; c++) {
		const uint8_t *p = next_chunk(&data, &size, &len);

		write_all(fd, p, len);
		pump(fd);
	}
	hang_up(fd);
	ncalls = 0;
	free(stream);
}

static void
run_udp(int t, const uint8_t *data, size_t size)
{
	size_t len;

	for (int i = 0; i < MAX_CHUNKS && size > 0; i++) {
		const uint8_t *p = next_chunk(&data, &size, &len);
		struct call_info *c = add_call();

		if (c == NULL)
			oracle_failed("more datagrams than MAX_CALLS");
		parse_call(p, len, c);
		if (c->judged && c->complete && c->vers == DRACVERS3)
			snapshot(c);
		cur.call = sending = c;
		if (send_all(ep[t].client, p, len) == 0) {
			if (len > dirty[t])
				dirty[t] = len;
			pump(-1);
		} else
			c->judged = 0;
		cur.call = sending = NULL;
	}
	/* dracd_publish(): the held replies go out. */
	service_release_replies();
	stub_dracd.writer.stale_second = 0;
	drain_clients(-1);
	for (int i = 0; i < ncalls; i++) {
		struct call_info *c = &calls[i];

		if (c->judged && call_by_xid(c->xid) == c)
			CHECK(c->replies == 1, "no reply");
	}
	ncalls = 0;
}

#define WALK_XID	0x57414c00u	/* "WAL", then the page */
#define WALK_UDP_XID	0x57414cffu	/* the one LIST over UDP */
#define WALK_PAGES	64

static int
addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct drac_addr));
}

static size_t
put_word(uint8_t *d, size_t off, uint32_t w)
{
	d[off] = (uint8_t)(w >> 24);
	d[off + 1] = (uint8_t)(w >> 16);
	d[off + 2] = (uint8_t)(w >> 8);
	d[off + 3] = (uint8_t)w;
	return off + 4;
}

/*
 * A v3 LIST call with AUTH_NONE, as a record of one last fragment: the
 * record mark in d[0..3], the call from d + 4; returns the record's size.
 */
static size_t
list_record(uint8_t *d, uint32_t xid, const uint8_t *cursor, uint32_t clen,
    uint32_t max)
{
	static const uint32_t head[] = { 0, 2, DRACPROG, DRACVERS3,
	    DRAC3_LIST, 0, 0, 0, 0 };
	size_t len = put_word(d, 4, xid);

	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		len = put_word(d, len, head[i]);
	len = put_word(d, len, clen);
	memset(d + len, 0, (clen + 3) & ~3u);
	memcpy(d + len, cursor, clen);
	len += (clen + 3) & ~3u;
	len = put_word(d, len, max);
	put_word(d, 0, LAST_FRAG | (uint32_t)(len - 4));
	return len;
}

/*
 * Sends one LIST of the walk (a datagram when fd is -1, else a record on
 * the connection fd) and dispatches until its reply is in walk.reply.
 * The reply is judged as any other (check_reply) on the way.
 */
static void
walk_call(int fd, uint32_t xid, const uint8_t *cursor, uint32_t clen,
    uint32_t max)
{
	uint8_t d[4 + 4 * 11 + DRAC3_CURSOR_MAX + 4];
	size_t len = list_record(d, xid, cursor, clen, max);
	struct call_info *c;

	if ((c = add_call()) == NULL)
		oracle_failed("walk: too many calls");
	parse_call(d + 4, len - 4, c);
	if (!c->judged || !c->complete)
		oracle_failed("walk: the harness's own call does not parse");
	snapshot(c);
	walk.xid = xid;
	walk.got = 0;
	cur.call = sending = c;
	if (fd == -1) {
		if (send_all(ep[T_UDP].client, d + 4, len - 4) == -1)
			oracle_failed("walk: cannot send");
		if (len - 4 > dirty[T_UDP])
			dirty[T_UDP] = len - 4;
		pump(-1);
	} else {
		write_all(fd, d, len);
		/* A page may take more than one round to come back whole. */
		for (int tries = 0; walk.got == 0 && tries < 100; tries++)
			pump(fd);
	}
	cur.call = sending = NULL;
	walk.xid = 0;
}

/*
 * Flag bit 7: after the input, the harness lists the table.  First one
 * LIST over UDP, which dracd refuses (AUTH_TOOWEAK, before any allow
 * check: even in MODE_DENY).  Then, over a connection to the local UNIX
 * socket (the caller is this process's uid, which allow_loopback
 * permits), the whole table page by page with the cursors the server
 * hands out: every live entry must come exactly once (nothing changes
 * the table meanwhile), each page with status OK for the server's own
 * cursor, within the asked-for max, and well-formed; each page is also
 * judged as any other reply.
 */
static void
walk_listing(void)
{
	static struct drac_addr seen[TABLE_CAP + 64];
	uint8_t cursor[DRAC3_CURSOR_MAX];
	uint32_t clen = 0, max;
	size_t nseen = 0;
	struct live l = { clock_wall_ms(), 0, 0 };
	int fd;

	memset(&cur.notifier, 0, sizeof(cur.notifier));
	addr_parse("127.0.0.1", &cur.notifier.addr);
	cur_transport = T_UDP;
	walk_call(-1, WALK_UDP_XID, cursor, 0, 3);
	if (walk.got != 1 || reply_kind(walk.reply, walk.len) !=
	    9 + AUTH_TOOWEAK)
		failf("walk: LIST over UDP: %d replies, the last of kind %u "
		    "(want AUTH_TOOWEAK)", walk.got,
		    reply_kind(walk.reply, walk.len));
	if (cur.mode == MODE_DENY)
		return;

	memset(&cur.notifier, 0, sizeof(cur.notifier));
	cur.notifier.is_local = 1;
	cur.notifier.uid = geteuid();
	cur_transport = T_UNIX;
	stream_len = 0;
	record_len = 0;
	if ((fd = loopback_client(T_UNIX)) == -1) {
		perror("fuzz_rpc: connect");
		oracle_failed("walk: cannot connect to the local socket");
	}
	pump(fd);				/* accept */
	table_foreach(&stub_dracd.table, count_live_entry, &l);
	max = l.n > 64 ? DRAC3_PAGE_MAX : 3;
	for (int page = 0;; page++) {
		struct rd r;
		uint32_t status, count, next_len, pad;
		const uint8_t *next;

		if (page == WALK_PAGES)
			failf("walk: the listing goes on after %d pages", page);
		walk_call(fd, WALK_XID + (uint32_t)page, cursor, clen, max);
		if (walk.got != 1 || reply_kind(walk.reply, walk.len) !=
		    K_SUCCESS)
			failf("walk: page %d: %d replies, the last of kind %u",
			    page, walk.got, reply_kind(walk.reply, walk.len));
		pad = (word(walk.reply + 16) + 3) & ~3u;
		r.p = walk.reply + 24 + pad;
		r.n = walk.len - 24 - pad;
		r.off = 0;
		r.bad = 0;
		if ((status = rd_u32(&r)) != DRAC3_OK)
			failf("walk: page %d: status %" PRIu32 " for the "
			    "server's own cursor", page, status);
		count = rd_u32(&r);
		if (count > max)
			failf("walk: page %d: %" PRIu32 " entries, at most %"
			    PRIu32 " asked for", page, count, max);
		for (uint32_t i = 0; i < count; i++) {
			uint32_t alen;
			const uint8_t *a = rd_opaque(&r, 16, &alen);

			rd_hyper(&r);
			if (r.bad)
				break;
			if (nseen == sizeof(seen) / sizeof(seen[0]))
				failf("walk: more entries than the table "
				    "holds (%zu)", table_count(&stub_dracd.table));
			if (!addr_of_wire(a, alen, &seen[nseen++]))
				failf("walk: page %d: an address of %" PRIu32
				    " bytes", page, alen);
		}
		next = rd_opaque(&r, DRAC3_CURSOR_MAX, &next_len);
		if (r.bad || r.off != r.n)
			failf("walk: page %d malformed", page);
		if (next_len == 0)
			break;
		memcpy(cursor, next, next_len);
		clen = next_len;
	}
	hang_up(fd);
	qsort(seen, nseen, sizeof(seen[0]), addr_cmp);
	for (size_t i = 1; i < nseen; i++) {
		char text[ADDR_TEXT_MAX];

		if (addr_cmp(&seen[i - 1], &seen[i]) == 0)
			failf("walk: %s listed twice", addr_format(&seen[i],
			    text, sizeof(text)));
	}
	if (!l.fuzzy && nseen != l.n)
		failf("walk: %zu entries listed of %zu live (table of %zu, "
		    "pages of %" PRIu32 ")", nseen, l.n,
		    table_count(&stub_dracd.table), max);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int t;

	if (size < 1)
		return 0;
	t = data[0] & 0x20 ? T_UNIX : pick_transport(data[0] & 3);
	memset(&cur, 0, sizeof(cur));
	cur_transport = t;
	stream_len = 0;
	cur.result = (enum addstat)(data[0] >> 2 & 3);
	cur.mode = data[0] >> 2 & 3;
	cur.wait = data[0] >> 4 & 1;
	ncalls = 0;
	calls_uncertain = 0;
	record_len = 0;
	if (t == T_UNIX) {
		cur.notifier.is_local = 1;
		cur.notifier.uid = geteuid();
	} else {
		addr_parse(ep[t].addr.ss_family == AF_INET ? "127.0.0.1" :
		    "::1", &cur.notifier.addr);
	}
	stub_begin(cur.mode, data[0] >> 6 & 1);
	if (t == T_UDP || t == T_UDP6)
		run_udp(t, data + 1, size - 1);
	else
		run_tcp(t, data + 1, size - 1);
	if (data[0] & 0x80) {
		ncalls = 0;
		calls_uncertain = 0;
		walk_listing();
		ncalls = 0;
	}
	repoison();
	stub_end();
	if (live_fds() != baseline_fds)
		oracle_failed("transport count changed");
	if (verbose)
		fprintf(stderr, "end of input\n");
	return 0;
}
