/*
 * admin.c: protocol version 3, for administrators and new clients: add
 * with a lifetime, revoke, query, list, statistics, flush.  Every call
 * goes through the allow list; what changes something is logged.
 */
#include <arpa/inet.h>

#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include <rpc/rpc.h>

#include "dracd.h"
#include "log.h"

#define XDRPROC(f)	((xdrproc_t)(void (*)(void))(f))
/* generation (4) + hash (8) + family (1) + address (16) */
#define CURSOR_LEN	29

/*
 * Decodes a request no further than the datagram's real length (see
 * service.c: libtirpc would read stale bytes past a truncated one).
 */
struct bounded {
	xdrproc_t	 decode;
	void		*args;
	unsigned	 limit;
};

static bool_t
decode_bounded(XDR *xdrs, struct bounded *b)
{
	if (!b->decode(xdrs, b->args, 0))
		return FALSE;
	return xdrs->x_op != XDR_DECODE || xdr_getpos(xdrs) <= b->limit;
}

static int
get_args(SVCXPRT *xprt, struct bounded *b)
{
	if (svc_getargs(xprt, XDRPROC(decode_bounded), (caddr_t)b))
		return 0;
	svcerr_decode(xprt);
	svc_freeargs(xprt, XDRPROC(decode_bounded), (caddr_t)b);
	return -1;
}

static void
free_args(SVCXPRT *xprt, struct bounded *b)
{
	if (!svc_freeargs(xprt, XDRPROC(decode_bounded), (caddr_t)b))
		log_warnx("could not free a request's arguments");
}

static void
reply(SVCXPRT *xprt, xdrproc_t encode, void *result)
{
	if (!svc_sendreply(xprt, encode, result))
		log_warnx("could not send reply");
}

static int
addr_from_wire(const drac3_addr *w, struct drac_addr *a)
{
	uint32_t v4;

	if (w->drac3_addr_len == 4) {
		memcpy(&v4, w->drac3_addr_val, 4);
		addr_from_v4(ntohl(v4), a);
		return 0;
	}
	if (w->drac3_addr_len == 16) {
		addr_from_v6((const uint8_t *)w->drac3_addr_val, a);
		return 0;
	}
	return -1;
}

static void
addr_to_wire(const struct drac_addr *a, drac3_addr *w)
{
	w->drac3_addr_len = a->family == AF_INET ? 4 : 16;
	w->drac3_addr_val = (char *)a->bytes;
}

/* The map must visibly change before the reply (see writer.h). */
static void
reply_when_published(struct dracd *d, SVCXPRT *xprt, const uint32_t *words, int nwords,
    xdrproc_t encode, void *result)
{
	if (d->writer.stale_second != 0) {
		if (service_hold_reply(xprt, words, nwords) == 0)
			return;
		dracd_publish_now(d);
	}
	reply(xprt, encode, result);
}

static void
entry_reply(struct dracd *d, SVCXPRT *xprt, drac3_entry_res *res)
{
	uint32_t words[3] = { (uint32_t)res->status,
	    (uint32_t)((uint64_t)res->expires >> 32),
	    (uint32_t)res->expires };

	reply_when_published(d, xprt, words, 3, XDRPROC(xdr_drac3_entry_res),
	    res);
}

static void
do_add(struct dracd *d, SVCXPRT *xprt, unsigned limit,
    const struct notifier *notifier)
{
	drac3_add_args args;
	struct bounded b = { XDRPROC(xdr_drac3_add_args), &args, limit };
	drac3_entry_res res = { DRAC3_INVALID, 0 };
	struct drac_addr client;
	int64_t expires;
	int wait = 0;

	memset(&args, 0, sizeof(args));
	if (get_args(xprt, &b) == -1)
		return;
	if (!dracd_permits(d, notifier, "add addresses", NULL))
		res.status = DRAC3_DENIED;
	else if (addr_from_wire(&args.addr, &client) == 0) {
		/* A forged datagram must not grant more than an old add. */
		if (limit != UINT_MAX && args.ttl > d->ttl)
			args.ttl = 0;
		res.status = dracd_add(d, notifier, &client, args.ttl,
		    limit != UINT_MAX && service_can_hold(), &expires, &wait);
		res.expires = expires;
	}
	free_args(xprt, &b);
	if (wait == WAIT_SETTLE) {
		uint32_t words[3] = { (uint32_t)res.status,
		    (uint32_t)((uint64_t)res.expires >> 32),
		    (uint32_t)res.expires };

		service_hold_settling(xprt, words, 3, DRAC3_SERVER_ERROR);
		return;
	}
	entry_reply(d, xprt, &res);
}

static void
do_del(struct dracd *d, SVCXPRT *xprt, unsigned limit,
    const struct notifier *notifier)
{
	drac3_addr args;
	struct bounded b = { XDRPROC(xdr_drac3_addr), &args, limit };
	drac3_status status = DRAC3_INVALID;
	char ntext[ADDR_TEXT_MAX + 32], ctext[ADDR_TEXT_MAX];
	struct drac_addr client;
	struct table_entry *e;
	int code;

	memset(&args, 0, sizeof(args));
	if (get_args(xprt, &b) == -1)
		return;
	if (!dracd_permits(d, notifier, "revoke addresses", NULL))
		status = DRAC3_DENIED;
	else if (addr_from_wire(&args, &client) == 0) {
		notifier_format(notifier, ntext, sizeof(ntext));
		addr_format(&client, ctext, sizeof(ctext));
		if ((e = table_find(&d->table, &client)) == NULL) {
			status = DRAC3_NOT_FOUND;
			log_debug("revoke %s from %s: not found", ctext, ntext);
		} else if ((code = dracd_remove(d, &e, 1)) != 0) {
			status = DRAC3_SERVER_ERROR;
			d->stats.errors++;
			if (log_limit_allow(&d->limit_errors, clock_mono_ms()))
				log_warnx("cannot revoke %s: map: %s", ctext,
				    db_strerror(code));
		} else {
			status = DRAC3_OK;
			d->stats.revokes++;
			log_info("revoked %s at the request of %s", ctext,
			    ntext);
		}
	}
	free_args(xprt, &b);
	reply_when_published(d, xprt, (uint32_t[]){ (uint32_t)status }, 1,
	    XDRPROC(xdr_drac3_status), &status);
}

static void
do_query(struct dracd *d, SVCXPRT *xprt, unsigned limit,
    const struct notifier *notifier)
{
	drac3_addr args;
	struct bounded b = { XDRPROC(xdr_drac3_addr), &args, limit };
	drac3_entry_res res = { DRAC3_INVALID, 0 };
	struct drac_addr client;
	struct table_entry *e;

	memset(&args, 0, sizeof(args));
	if (get_args(xprt, &b) == -1)
		return;
	if (!dracd_permits(d, notifier, "query addresses", NULL))
		res.status = DRAC3_DENIED;
	else if (addr_from_wire(&args, &client) == 0) {
		e = table_find(&d->table, &client);
		/* Past its time but not yet removed: gone, as for the MTA. */
		if (e == NULL || e->expires * 1000 <= clock_wall_ms() ||
		    e->deadline <= clock_mono_ms())
			res.status = DRAC3_NOT_FOUND;
		else {
			res.status = DRAC3_OK;
			res.expires = e->expires;
		}
	}
	free_args(xprt, &b);
	reply(xprt, XDRPROC(xdr_drac3_entry_res), &res);
}

/* A cursor from another run of dracd would walk a different order. */
static uint32_t
cursor_generation(const struct dracd *d)
{
	return (uint32_t)(d->table.seed >> 32) ^ (uint32_t)d->table.seed;
}

static int
cursor_decode(const struct dracd *d, const char *buf, u_int len,
    struct table_cursor *c)
{
	const uint8_t *p = (const uint8_t *)buf;
	uint32_t gen = 0;
	uint64_t hash = 0;

	memset(c, 0, sizeof(*c));
	if (len == 0)
		return 0;
	if (len != CURSOR_LEN)
		return -1;
	for (int i = 0; i < 4; i++)
		gen = gen << 8 | p[i];
	for (int i = 4; i < 12; i++)
		hash = hash << 8 | p[i];
	if (gen != cursor_generation(d) ||
	    (p[12] != AF_INET && p[12] != AF_INET6))
		return -1;
	c->started = 1;
	c->hash = hash;
	c->addr.family = p[12];
	memcpy(c->addr.bytes, p + 13, 16);
	return 0;
}

static u_int
cursor_encode(const struct dracd *d, const struct table_cursor *c,
    uint8_t *p)
{
	uint32_t gen = cursor_generation(d);

	if (!c->started)
		return 0;
	for (int i = 3; i >= 0; i--, gen >>= 8)
		p[i] = (uint8_t)gen;
	for (int i = 11; i >= 4; i--)
		p[i] = (uint8_t)(c->hash >> (8 * (11 - i)));
	p[12] = c->addr.family;
	memcpy(p + 13, c->addr.bytes, 16);
	return CURSOR_LEN;
}

static void
do_list(struct dracd *d, SVCXPRT *xprt, unsigned limit,
    const struct notifier *notifier)
{
	drac3_list_args args;
	struct bounded b = { XDRPROC(xdr_drac3_list_args), &args, limit };
	drac3_list_res res;
	struct table_entry *page[DRAC3_PAGE_MAX];
	drac3_entry entries[DRAC3_PAGE_MAX];
	struct table_cursor after, next;
	uint8_t next_buf[CURSOR_LEN];
	int64_t now = clock_wall_ms();
	size_t n, max;
	u_int kept = 0;

	memset(&args, 0, sizeof(args));
	memset(&res, 0, sizeof(res));
	if (get_args(xprt, &b) == -1)
		return;
	if (!dracd_permits(d, notifier, "list addresses", NULL))
		res.status = DRAC3_DENIED;
	else if (cursor_decode(d, args.cursor.cursor_val,
	    args.cursor.cursor_len, &after) == -1)
		res.status = DRAC3_INVALID;
	else {
		max = args.max == 0 || args.max > DRAC3_PAGE_MAX ?
		    DRAC3_PAGE_MAX : args.max;
		n = table_page(&d->table, &after, page, max, &next);
		for (size_t i = 0; i < n; i++) {
			if (page[i]->expires * 1000 <= now)
				continue;
			addr_to_wire(&page[i]->addr, &entries[kept].addr);
			entries[kept++].expires = page[i]->expires;
		}
		res.status = DRAC3_OK;
		res.entries.entries_len = kept;
		res.entries.entries_val = entries;
		res.next.next_len = cursor_encode(d, &next, next_buf);
		res.next.next_val = (char *)next_buf;
	}
	free_args(xprt, &b);
	reply(xprt, XDRPROC(xdr_drac3_list_res), &res);
}

static int
no_args(SVCXPRT *xprt, unsigned limit)
{
	struct bounded b = { XDRPROC(xdr_void), NULL, limit };

	return get_args(xprt, &b);
}

static void
do_stats(struct dracd *d, SVCXPRT *xprt, unsigned limit,
    const struct notifier *notifier)
{
	drac3_stats_res res;

	if (no_args(xprt, limit) == -1)
		return;
	memset(&res, 0, sizeof(res));
	if (!dracd_permits(d, notifier, "read statistics", NULL))
		res.status = DRAC3_DENIED;
	else {
		res.status = DRAC3_OK;
		res.entries = (quad_t)table_count(&d->table);
		res.adds = (quad_t)d->stats.adds;
		res.renewals = (quad_t)d->stats.renewals;
		res.revokes = (quad_t)d->stats.revokes;
		res.expired = (quad_t)d->stats.expired;
		res.denied = (quad_t)d->stats.denied;
		res.refused = (quad_t)d->stats.refused;
		res.errors = (quad_t)d->stats.errors;
		res.uptime = (clock_mono_ms() - d->started) / 1000;
		res.default_ttl = d->ttl;
		res.max_ttl = d->max_ttl;
	}
	reply(xprt, XDRPROC(xdr_drac3_stats_res), &res);
}

static void
do_flush(struct dracd *d, SVCXPRT *xprt, unsigned limit,
    const struct notifier *notifier)
{
	char ntext[ADDR_TEXT_MAX + 32];
	struct table_entry *batch[WRITER_MAX_OPS];
	struct table_cursor after, next;
	drac3_count_res res = { DRAC3_OK, 0 };
	uint32_t words[3];
	size_t n;
	int code = 0;

	if (no_args(xprt, limit) == -1)
		return;
	if (!dracd_permits(d, notifier, "flush the table", NULL)) {
		res.status = DRAC3_DENIED;
		reply(xprt, XDRPROC(xdr_drac3_count_res), &res);
		return;
	}
	notifier_format(notifier, ntext, sizeof(ntext));
	memset(&after, 0, sizeof(after));
	/* Removed entries lie behind the cursor: walking on stays correct. */
	do {
		n = table_page(&d->table, &after, batch, WRITER_MAX_OPS, &next);
		if (n > 0 && (code = dracd_remove(d, batch, n)) != 0)
			break;
		res.count += (quad_t)n;
		after = next;
	} while (next.started);
	d->stats.revokes += (uint64_t)res.count;
	if (code != 0) {
		res.status = DRAC3_SERVER_ERROR;
		d->stats.errors++;
		log_warnx("flush at the request of %s: removed %" PRId64
		    " entries, then the map failed: %s; %zu left", ntext,
		    (int64_t)res.count, db_strerror(code),
		    table_count(&d->table));
	} else
		log_info("flushed all %" PRId64 " entries at the request of %s",
		    (int64_t)res.count, ntext);
	words[0] = (uint32_t)res.status;
	words[1] = (uint32_t)((uint64_t)res.count >> 32);
	words[2] = (uint32_t)res.count;
	reply_when_published(d, xprt, words, 3, XDRPROC(xdr_drac3_count_res),
	    &res);
}

/*
 * A datagram's source address is only claimed, never proven: a forged
 * one must not revoke entries, wipe the table, or turn a small request
 * into a page of entries sent to someone else.  Those calls need a
 * connection (TCP, whose handshake proves the address, or the local
 * socket); over UDP they fail with AUTH_TOOWEAK.
 */
static const char *
connection_only(rpcproc_t proc)
{
	switch (proc) {
	case DRAC3_DEL:
		return "revoke";
	case DRAC3_LIST:
		return "list";
	case DRAC3_FLUSH:
		return "flush";
	default:
		return NULL;
	}
}

void
admin_dispatch(struct dracd *d, struct svc_req *rq, SVCXPRT *xprt,
    unsigned limit, const struct notifier *notifier)
{
	const char *what = connection_only(rq->rq_proc);
	char ntext[ADDR_TEXT_MAX + 32];

	if (what != NULL && limit != UINT_MAX) {
		d->stats.denied++;
		if (log_limit_allow(&d->limit_denied, clock_mono_ms()))
			log_warnx("denied: %s over UDP from %s: only over TCP "
			    "or the local socket", what, notifier_format(notifier,
			    ntext, sizeof(ntext)));
		svcerr_weakauth(xprt);
		return;
	}
	switch (rq->rq_proc) {
	case DRAC3_ADD:
		do_add(d, xprt, limit, notifier);
		break;
	case DRAC3_DEL:
		do_del(d, xprt, limit, notifier);
		break;
	case DRAC3_QUERY:
		do_query(d, xprt, limit, notifier);
		break;
	case DRAC3_LIST:
		do_list(d, xprt, limit, notifier);
		break;
	case DRAC3_STATS:
		do_stats(d, xprt, limit, notifier);
		break;
	case DRAC3_FLUSH:
		do_flush(d, xprt, limit, notifier);
		break;
	default:
		if (no_args(xprt, limit) == 0)
			svcerr_noproc(xprt);
		break;
	}
}
