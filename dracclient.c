/*
 * dracclient.c: libdrac's handle API, protocol version 3.
 *
 * A handle holds up to two RPC clients, each created on first use and
 * re-created once when a call cannot reach the server (dracd restarted
 * on a new port): UDP for add, query and stats, the calls a busy POP
 * server makes, and TCP for revoke, list and flush, which dracd does not
 * take from a datagram's unproven source address.  A mutex makes the
 * calls on a shared handle take turns.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rpc/rpc.h>

#include "client.h"
#include "drac.h"
#include "drac_prot.h"

struct drac_client {
	pthread_mutex_t	 lock;
	CLIENT		*clnt;		/* the one in use */
	CLIENT		*transports[2];	/* datagram, stream */
	char		*server;
	int		 timeout_ms;
	char		 error[256];
};

struct drac_client *
drac_client_open(const char *server, int timeout_ms)
{
	struct drac_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->server = strdup(server != NULL ? server : "")) == NULL ||
	    pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->server);
		free(c);
		return NULL;
	}
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : DRAC_DEFAULT_TIMEOUT_MS;
	return c;
}

void
drac_client_close(struct drac_client *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < 2; i++)
		if (c->transports[i] != NULL)
			clnt_destroy(c->transports[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->server);
	free(c);
}

static int
fail(struct drac_client *c, int code, const char *detail)
{
	snprintf(c->error, sizeof(c->error), "%s", detail);
	/* libtirpc's messages end in a newline; ours do not. */
	c->error[strcspn(c->error, "\n")] = '\0';
	return code;
}

/*
 * Messages from constant strings and errno: libtirpc's clnt_sperror()
 * writes into one buffer for the whole process, which threads share.
 */
static int
fail_rpc(struct drac_client *c, int code, const char *what,
    enum clnt_stat stat, int error)
{
	char detail[sizeof(c->error)];

	snprintf(detail, sizeof(detail), "%s %s: %s%s%s", what, c->server[0] ?
	    c->server : "127.0.0.1", clnt_sperrno(stat), error ? ": " : "",
	    error ? strerror(error) : "");
	return fail(c, code, detail);
}

static int
connect_client(struct drac_client *c, int stream)
{
	if ((c->clnt = c->transports[stream]) != NULL)
		return 0;
	c->clnt = drac_client_create(c->server, DRACVERS3, stream,
	    c->timeout_ms, NULL);
	if ((c->transports[stream] = c->clnt) != NULL)
		return 0;
	return fail_rpc(c, rpc_createerr.cf_stat == RPC_TIMEDOUT ?
	    DRAC_E_TIMEOUT : DRAC_E_UNREACHABLE, "cannot reach dracd at",
	    rpc_createerr.cf_stat, rpc_createerr.cf_error.re_errno);
}

/* Stream clients live for one public call: see call(). */
static void
hang_up(struct drac_client *c)
{
	if (c->transports[1] != NULL)
		clnt_destroy(c->transports[1]);
	c->transports[1] = NULL;
	c->clnt = NULL;
}

static int
call_status(struct drac_client *c, enum clnt_stat stat)
{
	struct rpc_err e = { 0 };

	if (c->clnt != NULL)
		clnt_geterr(c->clnt, &e);
	switch (stat) {
	case RPC_SUCCESS:
		return 0;
	case RPC_TIMEDOUT:
		return fail_rpc(c, DRAC_E_TIMEOUT, "no answer from", stat, 0);
	case RPC_PROGVERSMISMATCH:
	case RPC_PROCUNAVAIL:
		return fail(c, DRAC_E_PROTOCOL, "the server does not speak "
		    "DRAC protocol version 3 (an older dracd?)");
	case RPC_CANTSEND:
	case RPC_CANTRECV:
		return fail_rpc(c, DRAC_E_UNREACHABLE, "lost", stat,
		    e.re_errno);
	case RPC_AUTHERROR:
		return fail_rpc(c, DRAC_E_DENIED, "refused by", stat, 0);
	default:
		return fail_rpc(c, DRAC_E_PROTOCOL, "bad exchange with", stat,
		    0);
	}
}

/*
 * One call.  DATAGRAM: over UDP, resent within the timeout and retried
 * once on a fresh client when the server is gone (it may be back on
 * another port; a refused datagram was never served).  STREAM_ONCE: over
 * TCP, for calls that must not act twice, on a connection the caller
 * opens for this call alone (hang_up after): no stale connection, and no
 * retry.  STREAM_REPEATABLE: over TCP, retried once on a new connection.
 * On failure the result holds nothing to free.
 */
#define DATAGRAM		0
#define STREAM_ONCE		1
#define STREAM_REPEATABLE	2
static int
call(struct drac_client *c, rpcproc_t proc, xdrproc_t encode, void *args,
    xdrproc_t decode, void *result, int mode)
{
	int stream = mode != DATAGRAM;
	struct timeval total = { c->timeout_ms / 1000,
	    (c->timeout_ms % 1000) * 1000 };
	struct timeval retry = total;
	enum clnt_stat stat = RPC_SUCCESS;
	int rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((rc = connect_client(c, stream)) != 0)
			return rc;
		if (!stream && c->timeout_ms > RETRY_MS) {
			retry.tv_sec = RETRY_MS / 1000;
			retry.tv_usec = (RETRY_MS % 1000) * 1000;
		}
		clnt_control(c->clnt, CLSET_RETRY_TIMEOUT, (char *)&retry);
		stat = clnt_call(c->clnt, proc, encode, args, decode, result,
		    total);
		if (stat == RPC_SUCCESS)
			return 0;
		/* A reply cut short may have left buffers half-decoded. */
		xdr_free(decode, result);
		if (mode == STREAM_ONCE ||
		    (stat != RPC_CANTSEND && stat != RPC_CANTRECV))
			break;
		clnt_destroy(c->clnt);
		c->clnt = c->transports[stream] = NULL;
	}
	rc = call_status(c, stat);
	if (stream)
		hang_up(c);
	return rc;
}

static int
server_status(struct drac_client *c, drac3_status status)
{
	switch (status) {
	case DRAC3_OK:
		return 0;
	case DRAC3_NOT_FOUND:
		return fail(c, DRAC_E_NOTFOUND, "no such entry");
	case DRAC3_DENIED:
		return fail(c, DRAC_E_DENIED, "permission denied: this host or "
		    "user is not in the server's allow list");
	case DRAC3_INVALID:
		return fail(c, DRAC_E_INVALID, "the server refused the request "
		    "as invalid");
	case DRAC3_SERVER_ERROR:
		return fail(c, DRAC_E_SERVER, "the server could not do it "
		    "(see its log)");
	default:
		return fail(c, DRAC_E_PROTOCOL, "unknown status from server");
	}
}

/* Text to wire form; bytes must hold 16. */
static int
parse_address(struct drac_client *c, const char *text, uint8_t *bytes,
    drac3_addr *wire)
{
	wire->drac3_addr_val = (char *)bytes;
	if ((wire->drac3_addr_len = (u_int)drac_parse_address(text, bytes)) ==
	    0)
		return fail(c, DRAC_E_ADDRESS, "not an IPv4 or IPv6 address");
	return 0;
}

int
drac_add(struct drac_client *c, const char *address, unsigned ttl,
    int64_t *expires)
{
	uint8_t bytes[16];
	drac3_add_args args = { .ttl = ttl };
	drac3_entry_res res = { 0 };
	int rc;

	/* dracd grants more than its default only over a connection. */
	pthread_mutex_lock(&c->lock);
	if ((rc = parse_address(c, address, bytes, &args.addr)) == 0 &&
	    (rc = call(c, DRAC3_ADD, XDRPROC(xdr_drac3_add_args), &args,
	    XDRPROC(xdr_drac3_entry_res), &res,
	    ttl != 0 ? STREAM_REPEATABLE : DATAGRAM)) == 0 &&
	    (rc = server_status(c, res.status)) == 0 && expires != NULL)
		*expires = res.expires;
	hang_up(c);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int
drac_del(struct drac_client *c, const char *address)
{
	uint8_t bytes[16];
	drac3_addr args;
	drac3_status status = DRAC3_OK;
	int rc;

	pthread_mutex_lock(&c->lock);
	if ((rc = parse_address(c, address, bytes, &args)) == 0 &&
	    (rc = call(c, DRAC3_DEL, XDRPROC(xdr_drac3_addr), &args,
	    XDRPROC(xdr_drac3_status), &status, STREAM_ONCE)) == 0)
		rc = server_status(c, status);
	hang_up(c);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int
drac_query(struct drac_client *c, const char *address, int64_t *expires)
{
	uint8_t bytes[16];
	drac3_addr args;
	drac3_entry_res res = { 0 };
	int rc;

	pthread_mutex_lock(&c->lock);
	if ((rc = parse_address(c, address, bytes, &args)) == 0 &&
	    (rc = call(c, DRAC3_QUERY, XDRPROC(xdr_drac3_addr), &args,
	    XDRPROC(xdr_drac3_entry_res), &res, DATAGRAM)) == 0 &&
	    (rc = server_status(c, res.status)) == 0 && expires != NULL)
		*expires = res.expires;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int
entry_from_wire(const drac3_entry *w, struct drac_entry *e)
{
	int family = w->addr.drac3_addr_len == 4 ? AF_INET : AF_INET6;

	if ((w->addr.drac3_addr_len != 4 && w->addr.drac3_addr_len != 16) ||
	    inet_ntop(family, w->addr.drac3_addr_val, e->address,
	    sizeof(e->address)) == NULL)
		return -1;
	e->expires = w->expires;
	return 0;
}

int
drac_list(struct drac_client *c, int (*fn)(const struct drac_entry *, void *),
    void *arg)
{
	char cursor[DRAC3_CURSOR_MAX];
	u_int cursor_len = 0;
	int rc = 0;

	do {
		drac3_list_args args = { .max = DRAC3_PAGE_MAX };
		drac3_list_res res;
		struct drac_entry *page;
		u_int n = 0;

		args.cursor.cursor_len = cursor_len;
		args.cursor.cursor_val = cursor;
		memset(&res, 0, sizeof(res));
		pthread_mutex_lock(&c->lock);
		if ((rc = call(c, DRAC3_LIST, XDRPROC(xdr_drac3_list_args),
		    &args, XDRPROC(xdr_drac3_list_res), &res,
		    STREAM_REPEATABLE)) != 0) {
			pthread_mutex_unlock(&c->lock);
			return rc;
		}

		rc = server_status(c, res.status);
		if (rc == DRAC_E_INVALID && cursor_len > 0)
			fail(c, rc, "the listing was cut short: dracd "
			    "restarted since it began; list again");
		page = calloc(res.entries.entries_len + 1, sizeof(*page));
		if (rc == 0 && page == NULL)
			rc = fail(c, DRAC_E_NOMEM, "out of memory");
		for (; rc == 0 && n < res.entries.entries_len; n++)
			if (entry_from_wire(&res.entries.entries_val[n],
			    &page[n]) == -1)
				rc = fail(c, DRAC_E_PROTOCOL, "malformed entry "
				    "from server");
		cursor_len = res.next.next_len <= sizeof(cursor) ?
		    res.next.next_len : 0;
		if (cursor_len > 0)
			memcpy(cursor, res.next.next_val, cursor_len);
		xdr_free(XDRPROC(xdr_drac3_list_res), (char *)&res);
		pthread_mutex_unlock(&c->lock);
		/* Unlocked: fn may use the handle itself. */
		for (u_int i = 0; rc == 0 && i < n; i++)
			rc = fn(&page[i], arg);
		free(page);
	} while (rc == 0 && cursor_len > 0);
	pthread_mutex_lock(&c->lock);
	hang_up(c);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int
drac_stats(struct drac_client *c, struct drac_stats *st)
{
	drac3_stats_res res;
	int rc;

	memset(&res, 0, sizeof(res));
	pthread_mutex_lock(&c->lock);
	if ((rc = call(c, DRAC3_STATS, XDRPROC(xdr_void), NULL,
	    XDRPROC(xdr_drac3_stats_res), &res, DATAGRAM)) == 0 &&
	    (rc = server_status(c, res.status)) == 0) {
		st->entries = (uint64_t)res.entries;
		st->adds = (uint64_t)res.adds;
		st->renewals = (uint64_t)res.renewals;
		st->revokes = (uint64_t)res.revokes;
		st->expired = (uint64_t)res.expired;
		st->denied = (uint64_t)res.denied;
		st->refused = (uint64_t)res.refused;
		st->errors = (uint64_t)res.errors;
		st->uptime = (uint64_t)res.uptime;
		st->default_ttl = (uint64_t)res.default_ttl;
		st->max_ttl = (uint64_t)res.max_ttl;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int
drac_flush(struct drac_client *c, uint64_t *removed)
{
	drac3_count_res res = { 0 };
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = call(c, DRAC3_FLUSH, XDRPROC(xdr_void), NULL,
	    XDRPROC(xdr_drac3_count_res), &res, STREAM_ONCE);
	if (rc == 0) {
		if (removed != NULL)
			*removed = (uint64_t)res.count;
		rc = server_status(c, res.status);
	}
	hang_up(c);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

const char *
drac_strerror(int code)
{
	switch (code) {
	case 0:
		return "success";
	case DRAC_E_NOTFOUND:
		return "not found";
	case DRAC_E_DENIED:
		return "permission denied";
	case DRAC_E_INVALID:
		return "invalid request";
	case DRAC_E_SERVER:
		return "server error";
	case DRAC_E_UNREACHABLE:
		return "server unreachable";
	case DRAC_E_TIMEOUT:
		return "timed out";
	case DRAC_E_PROTOCOL:
		return "protocol error";
	case DRAC_E_ADDRESS:
		return "not an IPv4 or IPv6 address";
	case DRAC_E_NOMEM:
		return "out of memory";
	default:
		return "unknown error";
	}
}

char *
drac_client_error(struct drac_client *c, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	pthread_mutex_lock(&c->lock);
	snprintf(buf, size, "%s", c->error[0] ? c->error : "no error");
	pthread_mutex_unlock(&c->lock);
	return buf;
}
