/*
 * dracload: the load generator behind `make bench`.
 *
 *   dracload null    [-c N] [-s SECS]       null RPC, a reused libtirpc client
 *   dracload rawnull [-c N] [-s SECS]       null RPC, hand-built UDP calls
 *   dracload raw     [-c N] [-s SECS] -a FIRST -n COUNT [-S FILE]
 *                                           adds, hand-built UDP calls on one
 *                                           connected socket per notifier
 *   dracload send    [-c N] [-s SECS] -a FIRST -n COUNT
 *                                           adds, dracconn once, dracsend each
 *   dracload auth    [-c N] [-s SECS] -a FIRST -n COUNT
 *                                           adds, dracauth() per call
 *   dracload socketmap [-c N] [-s SECS] -u ENDPOINT -a FIRST -n COUNT
 *                                           socketmap lookups (dracd -S), one
 *                                           connection per client, kept open;
 *                                           ENDPOINT is unix:/path or
 *                                           inet:HOST:PORT (a literal IPv4)
 *   dracload mkmap   -a FIRST -n COUNT -x EXPIRES FILE
 *                                           writes COUNT entries into the map
 *                                           FILE (dracd stopped), as dracd's
 *                                           default format writes them
 *   dracload waitup  -a ADDR [-s SECS]      polls rpcbind and dracd every
 *                                           millisecond until an add of ADDR
 *                                           succeeds; prints the wall-clock
 *                                           millisecond it did
 *   dracload window  FILE START END         latencies of the calls in FILE
 *                                           (from -S) that began within
 *                                           [START, END) wall-clock ms, and
 *                                           of the others
 *
 * -c is the number of concurrent notifiers (threads, each with its own
 * socket or client), -s how long to run.  Adds pick addresses at random
 * among COUNT consecutive IPv4 addresses from FIRST, so after the first
 * pass they renew live entries.  -p PID[,PID...] reports the CPU time
 * those processes spent per call (from /proc/PID/schedstat).  -S FILE
 * writes one line per call: when it began (wall-clock ms), its latency.
 *
 * Load modes print one line of key=value pairs, latencies in
 * microseconds: n rate p50 p99 max errors lost [cpuN cpuself].
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <db.h>
#include <rpc/rpc.h>

#include "drac.h"
#include "drac_prot.h"

#define XDRPROC(f)	((xdrproc_t)(void (*)(void))(f))
#define CALL_TIMEOUT_MS	2000
#define MAX_PIDS	4

enum mode { M_NULL, M_RAWNULL, M_RAW, M_SEND, M_AUTH, M_SOCKETMAP };

struct worker {
	pthread_t	 thread;
	uint64_t	 rng;
	uint32_t	*lat;		/* nanoseconds, saturated */
	int64_t		*began;		/* wall-clock ms of each call (-S) */
	size_t		 n, cap;
	unsigned long	 errors, lost;
	int64_t		 end_ns;
	char		 why[160];	/* first error seen */
};

static struct {
	enum mode	 mode;
	int		 threads;
	double		 secs;
	uint32_t	 first, count;	/* host order */
	const char	*samples;
	const char	*endpoint;	/* socketmap: unix:/path, inet:HOST:PORT */
	uint16_t	 port;
	int64_t		 deadline_ns;
	pthread_barrier_t ready, go;
	int		 pids[MAX_PIDS];
	int		 npids;
} cfg = { .threads = 1, .secs = 3, .count = 1 };

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: dracload null|rawnull [-c N] [-s SECS] "
	    "[-p PIDS]\n"
	    "       dracload raw|send|auth [-c N] [-s SECS] [-p PIDS] "
	    "-a FIRST -n COUNT\n"
	    "                [-S FILE]\n"
	    "       dracload socketmap [-c N] [-s SECS] [-p PIDS] -u ENDPOINT "
	    "-a FIRST -n COUNT\n"
	    "       dracload mkmap -a FIRST -n COUNT -x EXPIRES FILE\n"
	    "       dracload waitup -a ADDR [-s SECS]\n"
	    "       dracload window FILE STARTMS ENDMS\n");
	exit(64);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "dracload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static int64_t
clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static int64_t
wall_ms(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000000;
}

static uint64_t
next_random(uint64_t *s)
{
	/* xorshift64*: plenty for picking addresses. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint32_t
pick_address(struct worker *w)
{
	return cfg.first + (uint32_t)(next_random(&w->rng) % cfg.count);
}

/* --- hand-built ONC RPC over UDP ------------------------------------ */

/* Writes a call header with AUTH_NONE; returns the number of words. */
static int
call_header(uint32_t *m, uint32_t xid, uint32_t prog, uint32_t vers,
    uint32_t proc)
{
	m[0] = htonl(xid);
	m[1] = htonl(0);		/* CALL */
	m[2] = htonl(2);		/* RPC version 2 */
	m[3] = htonl(prog);
	m[4] = htonl(vers);
	m[5] = htonl(proc);
	m[6] = m[7] = m[8] = m[9] = 0;	/* credentials, verifier: none */
	return 10;
}

/*
 * Sends words on the connected socket fd and waits for the reply to xid:
 * 0 with the first result word in *result (if any), 1 when no reply came
 * in time, -1 on an error or a rejected call.
 */
static int
udp_call(int fd, const uint32_t *m, int words, uint32_t xid, int timeout_ms,
    uint32_t *result)
{
	uint32_t reply[16];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int64_t give_up = now_ns() + (int64_t)timeout_ms * 1000000;
	ssize_t got;

	if (send(fd, m, (size_t)words * 4, 0) != (ssize_t)words * 4)
		return -1;
	for (;;) {
		int64_t left = (give_up - now_ns()) / 1000000;

		if (left < 0 || poll(&pfd, 1, (int)left) != 1)
			return 1;
		got = recv(fd, reply, sizeof(reply), 0);
		if (got == -1)
			return -1;
		if (got < 24 || reply[0] != htonl(xid))
			continue;	/* a late reply to an earlier call */
		/* REPLY, MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS */
		if (ntohl(reply[1]) != 1 || reply[2] != 0 || reply[5] != 0)
			return -1;
		if (result != NULL) {
			if (got < 28)
				return -1;
			*result = ntohl(reply[6]);
		}
		return 0;
	}
}

static int
udp_socket(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* dracd's UDP port from rpcbind: >0, 0 unregistered, -1 no answer. */
static int
rpcbind_port(int timeout_ms)
{
	uint32_t m[16], port, xid = (uint32_t)now_ns();
	int fd = udp_socket(111), n, rc;

	if (fd == -1)
		return -1;
	n = call_header(m, xid, 100000, 2, 3);	/* PMAPPROC_GETPORT */
	m[n++] = htonl(DRACPROG);
	m[n++] = htonl(DRACVERS);
	m[n++] = htonl(IPPROTO_UDP);
	m[n++] = 0;
	rc = udp_call(fd, m, n, xid, timeout_ms, &port);
	close(fd);
	return rc == 0 ? (int)(port & 0xffff) : -1;
}

/* --- socketmap lookups ----------------------------------------------- */

static int
socketmap_connect(const char *ep)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (strncmp(ep, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		sun->sun_family = AF_UNIX;
		if (strlen(ep + 5) >= sizeof(sun->sun_path))
			die("socketmap path too long: %s", ep);
		strcpy(sun->sun_path, ep + 5);
		len = sizeof(*sun);
	} else if (strncmp(ep, "inet:", 5) == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		char host[INET_ADDRSTRLEN];
		const char *colon = strrchr(ep + 5, ':');

		if (colon == NULL || (size_t)(colon - ep - 5) >= sizeof(host))
			die("bad socketmap endpoint: %s", ep);
		memcpy(host, ep + 5, (size_t)(colon - ep - 5));
		host[colon - ep - 5] = '\0';
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			die("bad socketmap endpoint: %s", ep);
		len = sizeof(*sin);
	} else {
		die("bad socketmap endpoint: %s", ep);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&ss, len) == -1)
		die("socketmap %s: %s", ep, strerror(errno));
	if (ss.ss_family == AF_INET)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

/* One request and its reply, as an MTA asks: 0, or -1 with why set. */
static int
socketmap_lookup(int fd, uint32_t addr, const char **why)
{
	char req[64], reply[128], text[INET_ADDRSTRLEN];
	uint32_t net = htonl(addr);
	size_t got = 0;
	int n;

	inet_ntop(AF_INET, &net, text, sizeof(text));
	n = snprintf(req, sizeof(req), "%zu:drac %s,", strlen(text) + 5, text);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		*why = "send failed";
		return -1;
	}
	/* Until the netstring is whole: "<len>:" then len bytes and ",". */
	for (;;) {
		char *colon;
		ssize_t r = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);

		if (r <= 0) {
			*why = "connection lost";
			return -1;
		}
		got += (size_t)r;
		reply[got] = '\0';
		if ((colon = strchr(reply, ':')) != NULL &&
		    got >= (size_t)(colon - reply) + 2 +
		    strtoul(reply, NULL, 10))
			break;
		if (got == sizeof(reply) - 1) {
			*why = "reply too long";
			return -1;
		}
	}
	if (strstr(reply, ":OK ") == NULL && strstr(reply, ":NOTFOUND") ==
	    NULL) {
		*why = "neither OK nor NOTFOUND";
		return -1;
	}
	return 0;
}

/* --- the load --------------------------------------------------------- */

static void
note_error(struct worker *w, const char *why)
{
	if (w->errors++ == 0)
		snprintf(w->why, sizeof(w->why), "%s", why);
}

static void
record(struct worker *w, int64_t t0, int64_t began_ms)
{
	int64_t ns = now_ns() - t0;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 65536;
		uint32_t *lat = realloc(w->lat, cap * sizeof(*lat));
		int64_t *began = NULL;

		if (lat == NULL)
			die("out of memory");
		w->lat = lat;
		if (cfg.samples != NULL) {
			if ((began = realloc(w->began, cap * sizeof(*began))) ==
			    NULL)
				die("out of memory");
			w->began = began;
		}
		w->cap = cap;
	}
	w->lat[w->n] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	if (w->began != NULL)
		w->began[w->n] = began_ms;
	w->n++;
}

static void *
run_worker(void *arg)
{
	struct worker *w = arg;
	CLIENT *clnt = NULL;
	struct timeval tv = { .tv_sec = CALL_TIMEOUT_MS / 1000 };
	uint32_t m[16], xid = (uint32_t)next_random(&w->rng);
	int fd = -1;
	char *msg = NULL;

	switch (cfg.mode) {
	case M_NULL:
		clnt = clnt_create("127.0.0.1", DRACPROG, DRACVERS, "udp");
		if (clnt == NULL)
			die("%s", clnt_spcreateerror("null: clnt_create"));
		break;
	case M_RAWNULL:
	case M_RAW:
		if ((fd = udp_socket(cfg.port)) == -1)
			die("socket: %s", strerror(errno));
		break;
	case M_SEND:
		if (dracconn("127.0.0.1", &msg) != 0)
			die("dracconn: %s", msg);
		break;
	case M_AUTH:
		break;
	case M_SOCKETMAP:
		fd = socketmap_connect(cfg.endpoint);
		break;
	}
	pthread_barrier_wait(&cfg.ready);
	pthread_barrier_wait(&cfg.go);
	while (now_ns() < cfg.deadline_ns) {
		int64_t began = cfg.samples != NULL ? wall_ms() : 0;
		int64_t t0 = now_ns();
		uint32_t result = 0;
		enum clnt_stat stat;
		int rc;

		switch (cfg.mode) {
		case M_NULL:
			stat = clnt_call(clnt, NULLPROC, XDRPROC(xdr_void), NULL,
			    XDRPROC(xdr_void), NULL, tv);
			if (stat != RPC_SUCCESS) {
				note_error(w, clnt_sperrno(stat));
				continue;
			}
			break;
		case M_RAWNULL:
		case M_RAW: {
			int n = call_header(m, ++xid, DRACPROG, DRACVERS,
			    cfg.mode == M_RAW ? DRACPROC_ADD : NULLPROC);

			if (cfg.mode == M_RAW)
				m[n++] = htonl(pick_address(w));
			rc = udp_call(fd, m, n, xid, CALL_TIMEOUT_MS,
			    cfg.mode == M_RAW ? &result : NULL);
			if (rc == 1) {
				w->lost++;
				continue;
			}
			if (rc == -1 || result != ADD_SUCCESS) {
				note_error(w, rc == -1 ? "call failed" :
				    "add refused");
				continue;
			}
			break;
		}
		case M_SEND:
			if ((rc = dracsend(htonl(pick_address(w)), &msg)) !=
			    0) {
				note_error(w, msg);
				continue;
			}
			break;
		case M_AUTH:
			if ((rc = dracauth("127.0.0.1", htonl(pick_address(w)),
			    &msg)) != 0) {
				note_error(w, msg);
				continue;
			}
			break;
		case M_SOCKETMAP: {
			const char *why;

			if (socketmap_lookup(fd, pick_address(w), &why) == -1) {
				note_error(w, why);
				/* The stream may be out of step: start over. */
				close(fd);
				fd = socketmap_connect(cfg.endpoint);
				continue;
			}
			break;
		}
		}
		record(w, t0, began);
	}
	w->end_ns = now_ns();
	if (clnt != NULL)
		clnt_destroy(clnt);
	if (fd != -1)
		close(fd);
	if (cfg.mode == M_SEND)
		dracdisc(&msg);
	return NULL;
}

/* --- statistics ------------------------------------------------------- */

static int
by_value(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

struct summary {
	size_t	n;
	double	p50, p99, max;		/* microseconds */
};

/* Sorts v in place; nearest-rank percentiles. */
static struct summary
summarize(uint32_t *v, size_t n)
{
	struct summary s = { .n = n };

	if (n == 0)
		return s;
	qsort(v, n, sizeof(*v), by_value);
	s.p50 = v[(n * 50 + 99) / 100 - 1] / 1000.0;
	s.p99 = v[(n * 99 + 99) / 100 - 1] / 1000.0;
	s.max = v[n - 1] / 1000.0;
	return s;
}

/* CPU nanoseconds a process has run, or -1. */
static int64_t
cpu_ns(int pid)
{
	char path[64];
	long long ns;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	ok = fscanf(f, "%lld", &ns) == 1;
	fclose(f);
	return ok ? ns : -1;
}

/* One line per call: the wall-clock ms it began, its latency in us. */
static void
write_samples(const struct worker *ws)
{
	FILE *f = fopen(cfg.samples, "w");

	if (f == NULL)
		die("%s: %s", cfg.samples, strerror(errno));
	for (int t = 0; t < cfg.threads; t++)
		for (size_t i = 0; i < ws[t].n; i++)
			fprintf(f, "%" PRId64 " %.1f\n", ws[t].began[i],
			    ws[t].lat[i] / 1000.0);
	if (fclose(f) == EOF)
		die("%s: %s", cfg.samples, strerror(errno));
}

static void
run_load(void)
{
	struct worker *ws = calloc((size_t)cfg.threads, sizeof(*ws));
	int64_t cpu0[MAX_PIDS], self0, start, end = 0;
	unsigned long errors = 0, lost = 0;
	size_t total = 0;
	uint32_t *all;
	const char *why = NULL;
	struct summary s;

	if (ws == NULL)
		die("out of memory");
	if (cfg.mode == M_RAW || cfg.mode == M_RAWNULL) {
		int port = rpcbind_port(1000);

		if (port <= 0)
			die("dracd is not registered with rpcbind");
		cfg.port = (uint16_t)port;
	}
	pthread_barrier_init(&cfg.ready, NULL, (unsigned)cfg.threads + 1);
	pthread_barrier_init(&cfg.go, NULL, (unsigned)cfg.threads + 1);
	for (int t = 0; t < cfg.threads; t++) {
		ws[t].rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1) ^
		    (uint64_t)now_ns();
		if (pthread_create(&ws[t].thread, NULL, run_worker, &ws[t]))
			die("pthread_create failed");
	}
	pthread_barrier_wait(&cfg.ready);
	for (int i = 0; i < cfg.npids; i++)
		cpu0[i] = cpu_ns(cfg.pids[i]);
	self0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	start = now_ns();
	cfg.deadline_ns = start + (int64_t)(cfg.secs * 1e9);
	pthread_barrier_wait(&cfg.go);
	for (int t = 0; t < cfg.threads; t++) {
		pthread_join(ws[t].thread, NULL);
		if (ws[t].end_ns > end)
			end = ws[t].end_ns;
		total += ws[t].n;
		errors += ws[t].errors;
		lost += ws[t].lost;
		if (why == NULL && ws[t].errors)
			why = ws[t].why;
	}
	printf("n=%zu rate=%.0f", total, total / ((end - start) / 1e9));
	for (int i = 0; i < cfg.npids; i++) {
		int64_t c = cpu_ns(cfg.pids[i]);

		printf(" cpu%d=%.2f", i + 1, c < 0 || cpu0[i] < 0 || !total ?
		    -1.0 : (c - cpu0[i]) / 1e3 / (double)total);
	}
	if (cfg.npids)
		printf(" cpuself=%.2f", total ? (clock_ns(CLOCK_PROCESS_CPUTIME_ID) - self0) / 1e3 /
		    (double)total : -1.0);
	if (cfg.samples != NULL)
		write_samples(ws);
	if ((all = malloc((total ? total : 1) * sizeof(*all))) == NULL)
		die("out of memory");
	for (int t = 0, k = 0; t < cfg.threads; t++) {
		memcpy(all + k, ws[t].lat, ws[t].n * sizeof(*all));
		k += (int)ws[t].n;
		free(ws[t].lat);
		free(ws[t].began);
	}
	s = summarize(all, total);
	printf(" p50=%.1f p99=%.1f max=%.1f errors=%lu lost=%lu\n", s.p50,
	    s.p99, s.max, errors, lost);
	if (why != NULL)
		fprintf(stderr, "dracload: %lu errors, the first: %s\n", errors,
		    why);
	free(all);
	free(ws);
}

/* Splits the samples of a -S file at [start, end) and summarizes both. */
static void
window(const char *path, int64_t start, int64_t end)
{
	FILE *f = fopen(path, "r");
	uint32_t *in = NULL, *out = NULL;
	size_t nin = 0, nout = 0, cap = 0;
	long long began;
	double us;
	struct summary s;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	while (fscanf(f, "%lld %lf", &began, &us) == 2) {
		if (nin == cap || nout == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((in = realloc(in, cap * sizeof(*in))) == NULL ||
			    (out = realloc(out, cap * sizeof(*out))) == NULL)
				die("out of memory");
		}
		if (began >= start && began < end)
			in[nin++] = (uint32_t)(us * 1000);
		else
			out[nout++] = (uint32_t)(us * 1000);
	}
	fclose(f);
	s = summarize(in, nin);
	printf("win_n=%zu win_rate=%.0f win_p50=%.1f win_p99=%.1f "
	    "win_max=%.1f", nin, end > start ? nin * 1000.0 / (double)(end -
	    start) : 0, s.p50, s.p99, s.max);
	s = summarize(out, nout);
	printf(" out_n=%zu out_p50=%.1f out_p99=%.1f out_max=%.1f\n", nout,
	    s.p50, s.p99, s.max);
	free(in);
	free(out);
}

/* --- building a map, waiting for dracd -------------------------------- */

static void
make_map(const char *path, int64_t expires)
{
	char key[INET_ADDRSTRLEN], value[32];
	int64_t t0 = now_ns();
	DBT k, v;
	DB *db;
	int ret;

	if ((ret = db_create(&db, NULL, 0)) != 0)
		die("db_create: %s", db_strerror(ret));
	/* A big cache: the build is then bound by the CPU, not by I/O. */
	if ((ret = db->set_cachesize(db, 0, 256 << 20, 1)) != 0 ||
	    (ret = db->open(db, NULL, path, NULL, DB_HASH, DB_CREATE,
	    0644)) != 0)
		die("%s: %s", path, db_strerror(ret));
	for (uint32_t i = 0; i < cfg.count; i++) {
		uint32_t a = htonl(cfg.first + i);
		int vlen = snprintf(value, sizeof(value), "%" PRId64, expires);

		inet_ntop(AF_INET, &a, key, sizeof(key));
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = key;
		k.size = (u_int32_t)strlen(key);
		v.data = value;
		v.size = (u_int32_t)vlen;
		if ((ret = db->put(db, NULL, &k, &v, 0)) != 0)
			die("%s: put: %s", path, db_strerror(ret));
	}
	if ((ret = db->close(db, 0)) != 0)
		die("%s: close: %s", path, db_strerror(ret));
	printf("entries=%" PRIu32 " secs=%.3f\n", cfg.count,
	    (now_ns() - t0) / 1e9);
}

static void
wait_up(void)
{
	int64_t give_up = now_ns() + (int64_t)(cfg.secs * 1e9);
	struct timespec ms = { .tv_nsec = 1000000 };
	uint32_t m[16], xid = (uint32_t)now_ns(), result;

	while (now_ns() < give_up) {
		int port = rpcbind_port(100), fd, n;

		if (port > 0 && (fd = udp_socket((uint16_t)port)) != -1) {
			n = call_header(m, ++xid, DRACPROG, DRACVERS,
			    DRACPROC_ADD);
			m[n++] = htonl(cfg.first);
			if (udp_call(fd, m, n, xid, 100, &result) == 0 &&
			    result == ADD_SUCCESS) {
				close(fd);
				printf("%" PRId64 "\n", wall_ms());
				return;
			}
			close(fd);
		}
		nanosleep(&ms, NULL);
	}
	die("dracd did not serve within %.0f s", cfg.secs);
}

static uint32_t
parse_v4(const char *text)
{
	struct in_addr a;

	if (inet_pton(AF_INET, text, &a) != 1)
		die("not an IPv4 address: %s", text);
	return ntohl(a.s_addr);
}

static long long
parse_number(const char *text, long long min, long long max)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(text, &end, 10);
	if (end == text || *end != '\0' || errno || n < min || n > max)
		die("bad number: %s", text);
	return n;
}

static void
parse_pids(char *list)
{
	char *save = NULL;

	for (char *p = strtok_r(list, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (cfg.npids == MAX_PIDS)
			die("at most %d pids", MAX_PIDS);
		cfg.pids[cfg.npids++] = (int)parse_number(p, 1, INT32_MAX);
	}
}

int
main(int argc, char *argv[])
{
	static const char *modes[] = { "null", "rawnull", "raw", "send",
	    "auth", "socketmap" };
	const char *cmd;
	int64_t expires = -1;
	int ch, have_first = 0;

	if (argc < 2)
		usage();
	cmd = argv[1];
	argv++;
	argc--;
	while ((ch = getopt(argc, argv, "a:c:n:p:s:S:u:x:")) != -1) {
		switch (ch) {
		case 'a':
			cfg.first = parse_v4(optarg);
			have_first = 1;
			break;
		case 'c':
			cfg.threads = (int)parse_number(optarg, 1, 256);
			break;
		case 'n':
			cfg.count = (uint32_t)parse_number(optarg, 1, 1 << 24);
			break;
		case 'p':
			parse_pids(optarg);
			break;
		case 's':
			cfg.secs = strtod(optarg, NULL);
			if (!(cfg.secs > 0 && cfg.secs < 3600))
				die("bad -s: %s", optarg);
			break;
		case 'S':
			cfg.samples = optarg;
			break;
		case 'u':
			cfg.endpoint = optarg;
			break;
		case 'x':
			expires = parse_number(optarg, 1, INT64_MAX);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "mkmap") == 0) {
		if (argc != 1 || !have_first || expires < 0)
			usage();
		make_map(argv[0], expires);
		return 0;
	}
	if (strcmp(cmd, "window") == 0) {
		if (argc != 3)
			usage();
		window(argv[0], parse_number(argv[1], 0, INT64_MAX),
		    parse_number(argv[2], 0, INT64_MAX));
		return 0;
	}
	if (argc != 0)
		usage();
	if (strcmp(cmd, "waitup") == 0) {
		if (!have_first)
			usage();
		wait_up();
		return 0;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(cmd, modes[i]) == 0) {
			cfg.mode = (enum mode)i;
			if ((cfg.mode >= M_RAW && !have_first) ||
			    (cfg.mode == M_SOCKETMAP && cfg.endpoint == NULL))
				usage();
			run_load();
			return 0;
		}
	usage();
}
