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
 * dracd_authorize() and dracd_publish_now() are stubs that check what
 * dispatch() decoded; held UDP replies are released at the end of each
 * input, as dracd_publish() would.
 *
 * Input: one flags byte, then chunks, each a 2-byte big-endian length and
 * that many bytes (the last chunk takes whatever is left).  Flags:
 *   bits 0-1  transport: 0 udp, 1 udp6, 2 tcp, 3 tcp6 (v6 falls back to
 *             v4 when the host has no IPv6 loopback)
 *   bits 2-3  addstat the stub dracd_authorize() returns
 *   bit  4    the stub asks for the reply to be held (*wait = 1)
 *   bit  5    the local UNIX socket instead of bits 0-1's transport
 * UDP: each chunk is one datagram.  TCP and UNIX: each chunk is one
 * write() on a new connection (record marks are part of the data),
 * followed by a round of dispatching; then the client half-closes and
 * the server must drop the connection.
 *
 * Determinism: libtirpc decodes a datagram from its whole receive buffer,
 * so bytes beyond a short datagram are those of earlier ones.  The buffer
 * is filled with a fixed "poison" datagram at startup and again after
 * every input, over at least as many bytes as the input's datagrams
 * dirtied, so every input starts from the same buffer.  The oracle for
 * what libtirpc does not check: dracd_authorize() must never be reached
 * for a datagram too short to hold its argument, and the client it gets
 * must be the one in the datagram's own bytes (never stale ones).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
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

enum { T_UDP, T_UDP6, T_TCP, T_TCP6, T_UNIX, T_COUNT };

struct endpoint {
	int			 present;
	struct sockaddr_storage	 addr;	/* the server's, on loopback */
	socklen_t		 len;
	int			 client;	/* UDP: a connected socket */
};

static struct endpoint ep[T_COUNT];
static char local_dir[64], local_path[sizeof(local_dir) + 8];
static struct dracd stub_dracd;
static int baseline_fds;
static int verbose;
static uint8_t poison[POISON_FULL];
static struct pollfd *fds;
static int nfds_alloc;

/* What the stub dracd_authorize() expects and answers for this request. */
static struct {
	int		 check;		/* UDP: the datagram is known */
	int		 complete;	/* it holds the whole argument */
	struct drac_addr client;	/* which decodes as this */
	struct notifier	 notifier;
	enum addstat	 result;
	int		 wait;
	int		 held;
} cur;

/* ---- stubs for what service.c needs from the rest of dracd ---- */

int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static void __attribute__((noreturn))
oracle_failed(const char *what)
{
	fprintf(stderr, "fuzz_rpc: %s\n", what);
	abort();
}

enum addstat
dracd_authorize(struct dracd *d, const struct notifier *notifier,
    const struct drac_addr *client, int *wait)
{
	if (d != &stub_dracd)
		oracle_failed("dracd_authorize called with a foreign dracd");
	if (notifier->is_local != cur.notifier.is_local ||
	    (notifier->is_local ? notifier->uid != cur.notifier.uid :
	    notifier->addr.family != cur.notifier.addr.family ||
	    !addr_equal(&notifier->addr, &cur.notifier.addr)))
		oracle_failed("notifier is not the harness's client");
	if (client->family != AF_INET && client->family != AF_INET6)
		oracle_failed("client address of no family");
	if (cur.check) {
		if (!cur.complete)
			oracle_failed("dracd_authorize called for a datagram "
			    "too short to hold its argument (stale bytes "
			    "decoded)");
		if (memcmp(client, &cur.client, sizeof(*client)) != 0)
			oracle_failed("decoded client differs from the "
			    "datagram's argument");
	}
	if (verbose) {
		char text[ADDR_TEXT_MAX];

		fprintf(stderr, "authorize %s -> %d%s\n",
		    addr_format(client, text, sizeof(text)), (int)cur.result,
		    cur.wait ? " (held)" : "");
	}
	*wait = cur.wait;
	return cur.result;
}

void
dracd_publish_now(struct dracd *d)
{
	(void)d;
	service_release_replies();
	cur.held = 0;
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

/*
 * What came back, as extra coverage counters: libtirpc is not
 * instrumented, so without these the fuzzer could not tell a request that
 * earned PROG_MISMATCH from one that earned AUTH_ERROR.
 */
#define REPLY_KINDS	32
static uint8_t reply_seen[T_COUNT * REPLY_KINDS]
    __attribute__((section("__libfuzzer_extra_counters")));
static int cur_transport;
static uint8_t stream_buf[1 << 16];
static size_t stream_len;

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

static void
note_reply(const uint8_t *r, size_t n)
{
	unsigned kind = reply_kind(r, n);
	uint8_t *c = &reply_seen[cur_transport * REPLY_KINDS + kind];

	if (*c < 255)
		(*c)++;
	if (!verbose)
		return;
	fprintf(stderr, "reply of %zu bytes, kind %u:", n, kind);
	for (size_t i = 0; i < n && i < 40; i++)
		fprintf(stderr, "%s%02x", i % 4 ? "" : " ", r[i]);
	fprintf(stderr, "\n");
}

/* Reads what the server sent: datagrams, or records on a stream. */
static void
drain(int fd, int stream)
{
	uint8_t buf[4096];
	ssize_t n;

	if (fd < 0)
		return;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (!stream) {
			note_reply(buf, (size_t)n);
			continue;
		}
		if ((size_t)n > sizeof(stream_buf) - stream_len)
			stream_len = 0;		/* not ours to judge */
		memcpy(stream_buf + stream_len, buf, (size_t)n);
		stream_len += (size_t)n;
		while (stream_len >= 4) {
			size_t len = word(stream_buf) & 0x7fffffff;

			if (len > sizeof(stream_buf) - 4) {
				stream_len = 0;
				break;
			}
			if (stream_len < 4 + len)
				break;
			note_reply(stream_buf + 4, len);
			stream_len -= 4 + len;
			memmove(stream_buf, stream_buf + 4 + len, stream_len);
		}
	}
}

static void
drain_clients(int tcp_client)
{
	for (int t = T_UDP; t <= T_UDP6; t++)
		if (ep[t].present)
			drain(ep[t].client, 0);
	drain(tcp_client, 1);
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

/*
 * What dispatch() should decode from this datagram, worked out the way
 * the wire format says (RFC 5531): the argument follows the verifier.
 */
static void
expect_datagram(const uint8_t *d, size_t len)
{
	size_t off = 24, need;
	uint32_t vers;

	cur.check = 1;
	cur.complete = 0;
	if (len < 24 + 8)
		return;
	vers = word(d + 16);
	for (int i = 0; i < 2; i++) {		/* credential, verifier */
		uint32_t alen;

		if (len < off + 8)
			return;
		alen = word(d + off + 4);
		if (alen > MAX_AUTH)
			return;
		off += 8 + ((alen + 3) & ~3u);
	}
	need = vers == DRACVERS ? 4 : 64;
	if (len < off + need)
		return;
	cur.complete = 1;
	if (vers == DRACVERS) {
		addr_from_v4(word(d + off), &cur.client);
	} else {
		uint8_t bytes[16];

		/* rpcgen's char[16]: sixteen XDR ints, low byte each. */
		for (int i = 0; i < 16; i++)
			bytes[i] = d[off + 4 * i + 3];
		addr_from_v6(bytes, &cur.client);
	}
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
	cur.check = 0;
	if (send_all(ep[t].client, poison, len) == -1)
		oracle_failed("cannot send the poison datagram");
	pump(-1);
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

static void
run_tcp(int t, const uint8_t *data, size_t size)
{
	int fd = loopback_client(t), rounds = 0;

	if (fd == -1) {
		perror("fuzz_rpc: connect");
		oracle_failed("cannot connect to the stream transport");
	}
	cur.check = 0;
	pump(fd);				/* accept */
	for (int c = 0; c < MAX_CHUNKS && size > 0; c++) {
		size_t len = size;

		if (size >= 2) {
			len = (size_t)data[0] << 8 | data[1];
			data += 2;
			size -= 2;
			if (len > size)
				len = size;
		}
		write_all(fd, data, len);
		data += len;
		size -= len;
		pump(fd);
	}
	shutdown(fd, SHUT_WR);
	/* The server must notice the end of the stream and let go. */
	while (live_fds() > baseline_fds && rounds++ < 100)
		pump(fd);
	close(fd);
	if (live_fds() != baseline_fds)
		oracle_failed("the server kept a closed TCP connection");
}

static void
run_udp(int t, const uint8_t *data, size_t size)
{
	size_t dirty = 0;

	for (int c = 0; c < MAX_CHUNKS && size > 0; c++) {
		size_t len = size;

		if (size >= 2) {
			len = (size_t)data[0] << 8 | data[1];
			data += 2;
			size -= 2;
			if (len > size)
				len = size;
		}
		expect_datagram(data, len);
		if (send_all(ep[t].client, data, len) == 0) {
			if (len > dirty)
				dirty = len;
			pump(-1);
		}
		data += len;
		size -= len;
	}
	cur.check = 0;
	/* dracd_publish(): the held replies go out. */
	service_release_replies();
	drain_clients(-1);
	send_poison(t, dirty);
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
	cur.wait = data[0] >> 4 & 1;
	if (t == T_UNIX) {
		cur.notifier.is_local = 1;
		cur.notifier.uid = geteuid();
	} else {
		addr_parse(ep[t].addr.ss_family == AF_INET ? "127.0.0.1" :
		    "::1", &cur.notifier.addr);
	}
	if (t == T_UDP || t == T_UDP6)
		run_udp(t, data + 1, size - 1);
	else
		run_tcp(t, data + 1, size - 1);
	if (live_fds() != baseline_fds)
		oracle_failed("transport count changed");
	if (verbose)
		fprintf(stderr, "end of input\n");
	return 0;
}
