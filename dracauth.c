/*
 * dracauth.c: libdrac, the client side of DRAC.
 *
 * The classic API keeps one connection per protocol version between
 * dracconn and dracdisc.  It lives in thread-local storage, so threads
 * do not trample each other's connection.  Every call is bounded by a
 * short timeout: a POP server must never hang on a dead dracd.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include <rpc/rpc.h>

#include "client.h"
#include "drac.h"
#include "drac_prot.h"


/* What dracconn opened, so that dracsend can reconnect after a restart. */
struct classic_conn {
	CLIENT		*clnt;
	char		*server;
};

static _Thread_local struct classic_conn conn4, conn6;

static void
set_msg(char **errmsg, const char *msg)
{
	if (errmsg != NULL)
		*errmsg = (char *)msg;
}

static struct timeval
ms_to_tv(int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return tv;
}

/* dracd's local socket: the server checks who we are by our uid. */
static CLIENT *
open_local(const char *path, unsigned long vers)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int sock = RPC_ANYSOCK;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		rpc_createerr.cf_stat = RPC_UNKNOWNADDR;
		return NULL;
	}
	strcpy(sun.sun_path, path);
	return clntunix_create(&sun, DRACPROG, vers, &sock, 0, 0);
}

CLIENT *
drac_client_create(const char *server, unsigned long vers, int stream,
    int timeout_ms, char **errmsg)
{
	unsigned char probe[16];
	struct timeval total, retry;
	const char *nettype = stream ? "tcp" : "udp";
	CLIENT *clnt;

	if (server == NULL || *server == '\0')
		server = "127.0.0.1";
	if (timeout_ms <= 0)
		timeout_ms = DRAC_DEFAULT_TIMEOUT_MS;
	if (inet_pton(AF_INET6, server, probe) == 1)
		nettype = stream ? "circuit_v" : "datagram_v";
	total = ms_to_tv(timeout_ms);
	if (strncmp(server, "unix:", 5) == 0)
		clnt = open_local(server + 5, vers);
	else
		clnt = clnt_create_timed(server, DRACPROG, vers, nettype,
		    &total);
	if (clnt == NULL) {
		set_msg(errmsg, clnt_spcreateerror((char *)server));
		return NULL;
	}
	retry = ms_to_tv(timeout_ms < RETRY_MS ? timeout_ms : RETRY_MS);
	clnt_control(clnt, CLSET_TIMEOUT, (char *)&total);
	clnt_control(clnt, CLSET_RETRY_TIMEOUT, (char *)&retry);
	return clnt;
}

static int
report(enum addstat status, char **errmsg)
{
	switch (status) {
	case ADD_SUCCESS:
		set_msg(errmsg, "Server reports add succeeded");
		break;
	case ADD_PERM:
		set_msg(errmsg, "Server reports permission denied");
		break;
	case ADD_SYSERR:
		set_msg(errmsg, "Server reports system error");
		break;
	default:
		set_msg(errmsg, "Server reports unknown error");
		break;
	}
	return (int)status;
}

static int
call_add(CLIENT *clnt, xdrproc_t encode, void *arg, int timeout_ms,
    enum clnt_stat *stat, char **errmsg)
{
	enum addstat status = ADD_UNKOWN;
	struct timeval total = ms_to_tv(timeout_ms > 0 ? timeout_ms :
	    DRAC_DEFAULT_TIMEOUT_MS);

	*stat = clnt_call(clnt, DRACPROC_ADD, encode, arg, XDRPROC(xdr_addstat),
	    (caddr_t)&status, total);
	if (*stat != RPC_SUCCESS) {
		set_msg(errmsg, clnt_sperror(clnt, "call failed"));
		return DRAC_ERR_CALL;
	}
	return report(status, errmsg);
}

static int
send_addr(CLIENT *clnt, unsigned long vers, const void *addr, int timeout_ms,
    enum clnt_stat *stat, char **errmsg)
{
	if (vers == DRACVERS) {
		struct drac_add_parm parm;

		parm.ip_addr = ntohl((uint32_t)*(const unsigned long *)addr);
		return call_add(clnt, XDRPROC(xdr_drac_add_parm), &parm,
		    timeout_ms, stat, errmsg);
	} else {
		struct drac_add_parm6 parm;

		memcpy(parm.ip_addr6, addr, sizeof(parm.ip_addr6));
		return call_add(clnt, XDRPROC(xdr_drac_add_parm6), &parm,
		    timeout_ms, stat, errmsg);
	}
}

static int
auth_once(const char *server, unsigned long vers, const void *addr,
    int timeout_ms, char **errmsg)
{
	CLIENT *clnt = drac_client_create(server, vers, 0, timeout_ms, errmsg);
	enum clnt_stat stat;
	int rc;

	if (clnt == NULL)
		return DRAC_ERR_CREATE;
	rc = send_addr(clnt, vers, addr, timeout_ms, &stat, errmsg);
	clnt_destroy(clnt);
	return rc;
}

int
dracauth(char *server, unsigned long userip, char **errmsg)
{
	return auth_once(server, DRACVERS, &userip, 0, errmsg);
}

int
dracauth6(char *server, unsigned char *userip6, char **errmsg)
{
	return auth_once(server, DRACVERS6, userip6, 0, errmsg);
}

static void
drop(struct classic_conn *c)
{
	if (c->clnt != NULL)
		clnt_destroy(c->clnt);
	free(c->server);
	c->clnt = NULL;
	c->server = NULL;
}

static int
connect_to(struct classic_conn *c, char *server, unsigned long vers,
    char **errmsg)
{
	drop(c);
	if ((c->clnt = drac_client_create(server, vers, 0, 0, errmsg)) == NULL)
		return -1;
	if ((c->server = strdup(server ? server : "")) == NULL) {
		drop(c);
		set_msg(errmsg, "Out of memory");
		return -1;
	}
	set_msg(errmsg, "Connect succeeded");
	return 0;
}

/*
 * A long-lived connection outlives dracd restarts: when the old port
 * refuses, look the server up again once.  Timeouts are not retried, so
 * the call stays bounded.
 */
static int
send_on(struct classic_conn *c, unsigned long vers, const void *addr,
    char **errmsg)
{
	enum clnt_stat stat;
	CLIENT *fresh;
	int rc;

	if (c->clnt == NULL) {
		set_msg(errmsg, "Not connected");
		return -1;
	}
	rc = send_addr(c->clnt, vers, addr, 0, &stat, errmsg);
	if (rc != DRAC_ERR_CALL || (stat != RPC_CANTRECV &&
	    stat != RPC_CANTSEND))
		return rc;
	if ((fresh = drac_client_create(c->server, vers, 0, 0, NULL)) == NULL)
		return rc;
	clnt_destroy(c->clnt);
	c->clnt = fresh;
	return send_addr(c->clnt, vers, addr, 0, &stat, errmsg);
}

static int
disconnect(struct classic_conn *c, char **errmsg)
{
	if (c->clnt == NULL) {
		set_msg(errmsg, "Not connected");
		return -1;
	}
	drop(c);
	set_msg(errmsg, "Disconnect succeeded");
	return 0;
}

int
dracconn(char *server, char **errmsg)
{
	return connect_to(&conn4, server, DRACVERS, errmsg);
}

int
dracconn6(char *server, char **errmsg)
{
	return connect_to(&conn6, server, DRACVERS6, errmsg);
}

int
dracsend(unsigned long userip, char **errmsg)
{
	return send_on(&conn4, DRACVERS, &userip, errmsg);
}

int
dracsend6(unsigned char *userip6, char **errmsg)
{
	return send_on(&conn6, DRACVERS6, userip6, errmsg);
}

int
dracdisc(char **errmsg)
{
	return disconnect(&conn4, errmsg);
}

int
dracdisc6(char **errmsg)
{
	return disconnect(&conn6, errmsg);
}

int
dracauth_str(const char *server, const char *address, int timeout_ms,
    char **errmsg)
{
	unsigned char bytes[16];
	unsigned long v4;
	uint32_t net;

	switch (drac_parse_address(address, bytes)) {
	case 4:
		memcpy(&net, bytes, 4);
		v4 = net;
		return auth_once(server, DRACVERS, &v4, timeout_ms, errmsg);
	case 16:
		return auth_once(server, DRACVERS6, bytes, timeout_ms, errmsg);
	default:
		set_msg(errmsg, "Not an IPv4 or IPv6 address");
		return DRAC_ERR_ADDRESS;
	}
}

int
drac_parse_address(const char *text, unsigned char bytes[16])
{
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (text == NULL)
		return 0;
	if (inet_pton(AF_INET, text, bytes) == 1)
		return 4;
	if (inet_pton(AF_INET6, text, bytes) != 1)
		return 0;
	if (memcmp(bytes, v4mapped, sizeof(v4mapped)) != 0)
		return 16;
	memmove(bytes, bytes + 12, 4);
	return 4;
}
