/*
 * service.c: the ONC RPC side of dracd.  We create and register the
 * transports ourselves and dispatch by hand so that requests can be
 * checked in ways rpcgen's stubs cannot.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rpc/rpc.h>
#include <rpc/rpc_com.h>
#include <rpc/rpcb_clnt.h>
#include <rpc/svc_dg.h>

#include "dracd.h"
#include "log.h"

#define XDRPROC(f)	((xdrproc_t)(void (*)(void))(f))
#define MAX_DATAGRAM_FDS 4
#define DRAIN_DATAGRAMS	 32
#define MAX_RECORD	 8192

/*
 * libtirpc decodes a UDP request from its whole receive buffer, not just
 * the bytes that arrived: a truncated argument would decode stale bytes
 * of an earlier request.  We peek at each datagram's real length first.
 */
struct datagram_fd {
	int		fd;
	unsigned	length;
};

#define MAX_TRANSPORTS	 4
/* rpcbind forgets us when it restarts without -w: look every few seconds. */
#define REGISTRATION_CHECK_MS	3000

struct transport {
	SVCXPRT			*xprt;
	struct netconfig	*nconf;
};

/* Replies held until the map is visibly changed (dracd_publish). */
#define MAX_HELD	4096

#define HELD_WORDS	4

struct held_reply {
	int			fd;
	uint32_t		xid;
	int			settling;	/* waits for dracd_settle */
	uint32_t		failure;	/* its first word if that fails */
	int			nwords;
	uint32_t		words[HELD_WORDS];	/* network order */
	socklen_t		tolen;
	struct sockaddr_storage	to;
};

/* Owned by the event loop; set once by service_start. */
static struct {
	struct dracd		*dracd;
	struct datagram_fd	 dgram[MAX_DATAGRAM_FDS];
	int			 ndgram;
	struct transport	 transports[MAX_TRANSPORTS];
	int			 ntransports;
	int			 registered;
	int64_t			 next_check;
	int			 rpcbind_lost;
	struct held_reply	 held[MAX_HELD];
	size_t			 nheld;
	const char		*local_path;	/* UNIX socket, or NULL */
} service;

struct v1_args {
	unsigned		limit;
	struct drac_add_parm	parm;
};

struct v2_args {
	unsigned		limit;
	struct drac_add_parm6	parm;
};

/*
 * dracd accepts AUTH_NONE and AUTH_SYS only.  libtirpc answers an
 * RPCSEC_GSS call itself, before dispatch, by asking GSS-API for
 * credentials, and without a keytab libkrb5 leaks memory on every such
 * call: an unauthenticated remote sender could grow dracd without bound.
 * This definition takes the place of GSS-API's for libtirpc, so those
 * calls fail at once (AUTH_FAILED), with nothing allocated.
 */
uint32_t gss_acquire_cred(uint32_t *, void *, uint32_t, void *, int, void **,
	    void **, uint32_t *);

uint32_t
gss_acquire_cred(uint32_t *minor, void *name, uint32_t time_req,
    void *mechs, int usage, void **cred, void **actual_mechs,
    uint32_t *time_rec)
{
	(void)name;
	(void)time_req;
	(void)mechs;
	(void)usage;
	if (minor != NULL)
		*minor = 0;
	if (cred != NULL)
		*cred = NULL;
	if (actual_mechs != NULL)
		*actual_mechs = NULL;
	if (time_rec != NULL)
		*time_rec = 0;
	return 13u << 16;	/* GSS_S_FAILURE */
}

static bool_t
within(XDR *xdrs, unsigned limit)
{
	return xdrs->x_op != XDR_DECODE || xdr_getpos(xdrs) <= limit;
}

static bool_t
decode_v1(XDR *xdrs, struct v1_args *a)
{
	return xdr_drac_add_parm(xdrs, &a->parm) && within(xdrs, a->limit);
}

static bool_t
decode_v2(XDR *xdrs, struct v2_args *a)
{
	return xdr_drac_add_parm6(xdrs, &a->parm) && within(xdrs, a->limit);
}

/* For calls without arguments: is the call header itself all there? */
static bool_t
decode_nothing(XDR *xdrs, unsigned *limit)
{
	return within(xdrs, *limit);
}

static unsigned
request_limit(int fd)
{
	for (int i = 0; i < service.ndgram; i++)
		if (service.dgram[i].fd == fd)
			return service.dgram[i].length;
	return UINT_MAX;
}

/*
 * The notifier: its address, or on the UNIX socket the uid the kernel
 * vouches for (SO_PEERCRED), which no remote sender can forge.
 */
static int
caller_of(SVCXPRT *xprt, struct notifier *n)
{
	struct netbuf *nb = svc_getrpccaller(xprt);

	memset(n, 0, sizeof(*n));
	if (nb != NULL && nb->buf != NULL && nb->len >= sizeof(sa_family_t) &&
	    addr_from_sockaddr(nb->buf, &n->addr) == 0)
		return 0;
	if (service.local_path != NULL) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);

		if (getsockname(xprt->xp_fd, (struct sockaddr *)&ss,
		    &sslen) == 0 && ss.ss_family == AF_UNIX &&
		    getsockopt(xprt->xp_fd, SOL_SOCKET, SO_PEERCRED, &cred,
		    &len) == 0) {
			n->is_local = 1;
			n->uid = cred.uid;
			return 0;
		}
	}
	return -1;
}

/*
 * UDP replies can wait without holding up the loop: we send them
 * ourselves later, to the same caller, with the same xid.
 */
int
service_hold_reply(SVCXPRT *xprt, const uint32_t *words, int nwords)
{
	struct held_reply *h;

	if (request_limit(xprt->xp_fd) == UINT_MAX ||
	    service.nheld == MAX_HELD || nwords > HELD_WORDS ||
	    xprt->xp_rtaddr.len > sizeof(h->to))
		return -1;
	h = &service.held[service.nheld++];
	h->fd = xprt->xp_fd;
	h->xid = *__rpcb_get_dg_xidp(xprt);
	h->nwords = nwords;
	h->settling = 0;
	for (int i = 0; i < nwords; i++)
		h->words[i] = htonl(words[i]);
	h->tolen = xprt->xp_rtaddr.len;
	memcpy(&h->to, xprt->xp_rtaddr.buf, h->tolen);
	return 0;
}

int
service_can_hold(void)
{
	return service.nheld < MAX_HELD;
}

/* Held for dracd_settle: service_can_hold() said there is room. */
int
service_hold_settling(SVCXPRT *xprt, const uint32_t *words, int nwords,
    uint32_t failure)
{
	if (service_hold_reply(xprt, words, nwords) == -1)
		return -1;
	service.held[service.nheld - 1].settling = 1;
	service.held[service.nheld - 1].failure = htonl(failure);
	return 0;
}

/* Replies to adds still being written stay held. */
void
service_release_replies(void)
{
	size_t kept = 0;

	for (size_t i = 0; i < service.nheld; i++) {
		struct held_reply *h = &service.held[i];
		/* xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS */
		uint32_t reply[6 + HELD_WORDS] = { htonl(h->xid), htonl(1),
		    0, 0, 0, 0 };

		if (h->settling) {
			service.held[kept++] = *h;
			continue;
		}
		memcpy(reply + 6, h->words, (size_t)h->nwords * 4);
		if (sendto(h->fd, reply, (size_t)(6 + h->nwords) * 4,
		    MSG_DONTWAIT,
		    (struct sockaddr *)&h->to, h->tolen) == -1)
			log_warn("could not send a held reply");
	}
	service.nheld = kept;
}

/*
 * The adds of this round are queued in the writer's batch: write them,
 * fail their replies if that failed, and send the replies unless the
 * map must first visibly change (dracd_publish).
 */
static void
settle(void)
{
	int failed = dracd_settle(service.dracd) != 0;

	for (size_t i = 0; i < service.nheld; i++) {
		struct held_reply *h = &service.held[i];

		if (!h->settling)
			continue;
		h->settling = 0;
		if (failed) {
			h->words[0] = h->failure;
			for (int k = 1; k < h->nwords; k++)
				h->words[k] = 0;
		}
	}
	if (service.dracd->writer.stale_second == 0)
		service_release_replies();
}

static void
dispatch(struct svc_req *rq, SVCXPRT *xprt)
{
	struct notifier notifier;
	struct drac_addr client;
	enum addstat result;
	unsigned limit = request_limit(xprt->xp_fd);
	bool_t decoded;
	int wait;

	/*
	 * A reply on a stream can block: libtirpc retries a full socket for
	 * up to two seconds.  Readers must not wait for a stalled client.
	 */
	if (limit == UINT_MAX)
		dracd_unlock_map(service.dracd);
	if (rq->rq_vers == DRACVERS3 && rq->rq_proc != NULLPROC) {
		if (caller_of(xprt, &notifier) == -1) {
			log_warnx("request over a transport without a caller "
			    "address");
			svcerr_systemerr(xprt);
			return;
		}
		admin_dispatch(service.dracd, rq, xprt, limit, &notifier);
		return;
	}
	if (rq->rq_proc != DRACPROC_ADD) {
		/* A truncated datagram's header was read from stale bytes. */
		if (!svc_getargs(xprt, XDRPROC(decode_nothing),
		    (caddr_t)&limit)) {
			svcerr_decode(xprt);
			return;
		}
		if (rq->rq_proc == NULLPROC)
			svc_sendreply(xprt, XDRPROC(xdr_void), NULL);
		else
			svcerr_noproc(xprt);
		return;
	}
	if (rq->rq_vers == DRACVERS) {
		struct v1_args a = { .limit = limit };

		decoded = svc_getargs(xprt, XDRPROC(decode_v1), (caddr_t)&a);
		if (decoded)
			addr_from_v4(a.parm.ip_addr, &client);
	} else {
		struct v2_args a = { .limit = limit };
		uint8_t bytes[16];

		decoded = svc_getargs(xprt, XDRPROC(decode_v2), (caddr_t)&a);
		if (decoded) {
			for (int i = 0; i < 16; i++)
				bytes[i] = (uint8_t)a.parm.ip_addr6[i];
			addr_from_v6(bytes, &client);
		}
	}
	if (!decoded) {
		svcerr_decode(xprt);
		return;
	}
	if (caller_of(xprt, &notifier) == -1) {
		log_warnx("request over a transport without a caller address");
		svcerr_systemerr(xprt);
		return;
	}
	/* From a datagram: written with the others of this round. */
	result = dracd_authorize(service.dracd, &notifier, &client,
	    limit != UINT_MAX && service_can_hold(), &wait);
	if (wait == WAIT_SETTLE) {
		service_hold_settling(xprt, (uint32_t[]){ result }, 1,
		    ADD_SYSERR);
		return;
	}
	if (wait && service_hold_reply(xprt, (uint32_t[]){ result }, 1) == 0)
		return;
	if (wait)
		dracd_publish_now(service.dracd);
	if (!svc_sendreply(xprt, XDRPROC(xdr_addstat), (caddr_t)&result))
		log_warnx("could not send reply");
}

static int
start_transport(const char *netid, char *err, size_t errsize)
{
	struct netconfig *nconf = getnetconfigent(netid);
	SVCXPRT *xprt;
	int rc = -1;

	if (nconf == NULL) {
		snprintf(err, errsize, "no netconfig entry for %s", netid);
		return -1;
	}
	xprt = svc_tli_create(RPC_ANYFD, nconf, NULL, 0, 0);
	if (xprt == NULL) {
		snprintf(err, errsize, "cannot create %s transport", netid);
		goto out;
	}
	if (!svc_reg(xprt, DRACPROG, DRACVERS, dispatch, nconf) ||
	    !svc_reg(xprt, DRACPROG, DRACVERS6, dispatch, nconf) ||
	    !svc_reg(xprt, DRACPROG, DRACVERS3, dispatch, nconf)) {
		snprintf(err, errsize, "cannot register program %d over %s "
		    "with rpcbind (is rpcbind running?)", DRACPROG, netid);
		svc_destroy(xprt);
		goto out;
	}
	service.registered = 1;
	if (nconf->nc_semantics == NC_TPI_CLTS &&
	    service.ndgram < MAX_DATAGRAM_FDS)
		service.dgram[service.ndgram++].fd = xprt->xp_fd;
	if (service.ntransports < MAX_TRANSPORTS) {
		service.transports[service.ntransports].xprt = xprt;
		service.transports[service.ntransports++].nconf = nconf;
		return 0;
	}
	rc = 0;
out:
	freenetconfigent(nconf);
	return rc;
}

/*
 * Small UDP calls to rpcbind and to ourselves, bounded by a timeout.
 * libtirpc's clnt_create blocks on a hung rpcbind and leaks when the
 * program is not registered; these do neither.
 */
#define PMAP_PROG	100000
#define PMAP_VERS	2
#define PMAP_GETPORT	3
#define PROBE_TIMEOUT_MS 500

/* Sends a call with AUTH_NONE; returns the reply's result words or -1. */
static int
udp_call(uint16_t port, uint32_t prog, uint32_t vers, uint32_t proc,
    const uint32_t *args, int nargs, uint32_t *result, int nresult)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint32_t call[16], reply[32];
	uint32_t xid = (uint32_t)clock_mono_ms() ^ (uint32_t)getpid() << 16;
	struct pollfd pfd;
	int fd, n = 0, rc = -1;
	ssize_t got;

	call[n++] = htonl(xid);
	call[n++] = htonl(0);		/* CALL */
	call[n++] = htonl(2);		/* RPC version */
	call[n++] = htonl(prog);
	call[n++] = htonl(vers);
	call[n++] = htonl(proc);
	call[n++] = 0; call[n++] = 0;	/* credentials: AUTH_NONE */
	call[n++] = 0; call[n++] = 0;	/* verifier: AUTH_NONE */
	for (int i = 0; i < nargs && n < 16; i++)
		call[n++] = htonl(args[i]);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    send(fd, call, (size_t)n * 4, 0) != (ssize_t)n * 4)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, PROBE_TIMEOUT_MS) == 1) {
		got = recv(fd, reply, sizeof(reply), 0);
		/* xid, REPLY, MSG_ACCEPTED, verifier (AUTH_NONE), SUCCESS */
		if (got < 24 || ntohl(reply[0]) != xid)
			continue;
		if (ntohl(reply[1]) != 1 || ntohl(reply[2]) != 0 ||
		    ntohl(reply[4]) != 0 || ntohl(reply[5]) != 0 ||
		    got < (ssize_t)(24 + 4 * nresult))
			break;
		for (int i = 0; i < nresult; i++)
			result[i] = ntohl(reply[6 + i]);
		rc = 0;
		break;
	}
out:
	close(fd);
	return rc;
}

/* Our UDP port as rpcbind knows it: >0, 0 if unregistered, -1 no answer. */
static int
registered_port(void)
{
	uint32_t args[4] = { DRACPROG, DRACVERS, IPPROTO_UDP, 0 }, port;

	if (udp_call(111, PMAP_PROG, PMAP_VERS, PMAP_GETPORT, args, 4,
	    &port, 1) == -1)
		return -1;
	return (int)(port & 0xffff);
}

/*
 * Taking over a live daemon's registration would silently cut it off from
 * its clients, so ask: a registered program that answers a null call is
 * someone else's.
 */
static int
another_dracd_serving(void)
{
	int port = registered_port();

	return port > 0 && udp_call((uint16_t)port, DRACPROG, DRACVERS,
	    NULLPROC, NULL, 0, NULL, 0) == 0;
}

/*
 * The local socket: for POP/IMAP servers on this host, identified by
 * uid rather than by a source address.  Not registered with rpcbind.
 */
static int
start_local(const char *path, char *err, size_t errsize)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	SVCXPRT *xprt;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errsize, "%s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errsize, "%s exists and is not a socket",
			    path);
			return -1;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd != -1 && connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(fd);
			snprintf(err, errsize, "%s: another dracd is serving "
			    "on it", path);
			return -1;
		}
		if (fd != -1)
			close(fd);
		unlink(path);
	}
	if ((xprt = svcunix_create(RPC_ANYSOCK, 0, 0, (char *)path)) == NULL) {
		snprintf(err, errsize, "%s: cannot create the local socket",
		    path);
		return -1;
	}
	/* Anyone may connect; only the uids in the allow file may add. */
	if (chmod(path, 0666) == -1 ||
	    !svc_reg(xprt, DRACPROG, DRACVERS, dispatch, NULL) ||
	    !svc_reg(xprt, DRACPROG, DRACVERS6, dispatch, NULL) ||
	    !svc_reg(xprt, DRACPROG, DRACVERS3, dispatch, NULL)) {
		snprintf(err, errsize, "%s: cannot serve on the local socket",
		    path);
		unlink(path);
		return -1;
	}
	service.local_path = path;
	return 0;
}

int
service_start(struct dracd *d, const char *local_path, char *err,
    size_t errsize)
{
	static const char *netids[] = { "udp", "tcp", "udp6", "tcp6" };
	int maxrec = MAX_RECORD;
	int nstarted = 0;
	char why[256];

	service.dracd = d;
	/* Non-blocking TCP records: a slow client cannot stall the loop. */
	if (!rpc_control(RPC_SVC_CONNMAXREC_SET, &maxrec)) {
		snprintf(err, errsize, "cannot make TCP transports "
		    "non-blocking");
		return -1;
	}
	if (another_dracd_serving()) {
		snprintf(err, errsize, "another dracd is registered with "
		    "rpcbind and answering; stop it first");
		return -1;
	}
	/* A stale registration from an earlier run would misdirect clients. */
	svc_unreg(DRACPROG, DRACVERS);
	svc_unreg(DRACPROG, DRACVERS6);
	svc_unreg(DRACPROG, DRACVERS3);
	for (size_t i = 0; i < sizeof(netids) / sizeof(netids[0]); i++) {
		if (start_transport(netids[i], why, sizeof(why)) == 0) {
			nstarted++;
			continue;
		}
		/* IPv4 is required; IPv6 may be absent on this host. */
		if (i < 2) {
			snprintf(err, errsize, "%s", why);
			service_stop();
			return -1;
		}
		log_warnx("%s; serving without it", why);
	}
	if (local_path != NULL && start_local(local_path, err, errsize) == -1) {
		service_stop();
		return -1;
	}
	return nstarted > 0 ? 0 : -1;
}

void
service_stop(void)
{
	if (service.local_path != NULL) {
		unlink(service.local_path);
		service.local_path = NULL;
	}
	if (service.registered) {
		svc_unreg(DRACPROG, DRACVERS);
		svc_unreg(DRACPROG, DRACVERS6);
		svc_unreg(DRACPROG, DRACVERS3);
		service.registered = 0;
	}
}

/* 1 registered, 0 not, -1 rpcbind does not answer. */
static int
still_registered(void)
{
	int port = registered_port();

	return port > 0 ? 1 : port;
}

static void
reregister(void)
{
	int failed = 0;

	for (int i = 0; i < service.ntransports; i++) {
		struct transport *t = &service.transports[i];

		if (!rpcb_set(DRACPROG, DRACVERS, t->nconf, &t->xprt->xp_ltaddr) ||
		    !rpcb_set(DRACPROG, DRACVERS6, t->nconf,
		    &t->xprt->xp_ltaddr) ||
		    !rpcb_set(DRACPROG, DRACVERS3, t->nconf,
		    &t->xprt->xp_ltaddr))
			failed++;
	}
	if (failed)
		log_warnx("rpcbind lost our registration; re-registering "
		    "failed for %d of %d transports", failed,
		    service.ntransports);
	else
		log_warnx("rpcbind lost our registration (restarted?); "
		    "registered again");
}

int64_t
service_maintain(int64_t now_ms)
{
	if (now_ms < service.next_check)
		return service.next_check - now_ms;
	/* The probe waits for rpcbind, up to PROBE_TIMEOUT_MS. */
	dracd_unlock_map(service.dracd);
	switch (still_registered()) {
	case 1:
		if (service.rpcbind_lost)
			log_info("rpcbind answers again");
		service.rpcbind_lost = 0;
		break;
	case 0:
		service.rpcbind_lost = 0;
		reregister();
		break;
	default:
		if (!service.rpcbind_lost)
			log_warnx("rpcbind does not answer; clients cannot "
			    "find dracd until it is back");
		service.rpcbind_lost = 1;
		break;
	}
	service.next_check = now_ms + REGISTRATION_CHECK_MS;
	return REGISTRATION_CHECK_MS;
}

/* The length of the datagram waiting on fd, or 0 if none is. */
static unsigned
peek_datagram(int fd)
{
	char byte;
	ssize_t n = recv(fd, &byte, sizeof(byte),
	    MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

	return n > 0 ? (unsigned)n : 0;
}

void
service_dispatch(struct pollfd *fds, int nready)
{
	int ready[MAX_DATAGRAM_FDS] = { 0 };

	for (int i = 0; i < service.ndgram; i++) {
		service.dgram[i].length = 0;
		for (int j = 0; j < svc_max_pollfd; j++) {
			if (fds[j].fd != service.dgram[i].fd ||
			    !(fds[j].revents & POLLIN))
				continue;
			service.dgram[i].length = peek_datagram(fds[j].fd);
			ready[i] = 1;
		}
	}
	svc_getreq_poll(fds, nready);
	/*
	 * Answer what came first before looking for more: with one
	 * notifier, nothing more is waiting, and the add's reply should
	 * not wait for the look.
	 */
	settle();
	/*
	 * libtirpc takes one datagram per poll; take the others that
	 * wait now too, so that none waits behind a slice of expiry for
	 * each one ahead of it.  They share one commit.  Bounded: the
	 * loop must come round.
	 */
	for (int i = 0; i < service.ndgram; i++) {
		for (int k = 0; ready[i] && k < DRAIN_DATAGRAMS; k++) {
			if ((service.dgram[i].length =
			    peek_datagram(service.dgram[i].fd)) == 0)
				break;
			svc_getreq_common(service.dgram[i].fd);
		}
	}
	settle();
}
