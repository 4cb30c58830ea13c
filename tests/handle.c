/*
 * The handle API from several threads sharing one handle.
 *
 *   handle SERVER THREADS PER_THREAD   each thread adds PER_THREAD
 *       addresses 10.200.T.N with a TTL, queries them, revokes every
 *       other one and checks the revoked are gone; then one listing must
 *       hold exactly the kept ones.  Prints "ok ..." or the failures.
 *   handle SERVER probe ADDRESS        drac_query: "rc=N name: detail"
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drac.h"

#define TTL	600

struct worker {
	struct drac_client	*c;
	int			 id, count, failures;
	pthread_t		 thread;
};

static void
address(int t, int n, char *buf, size_t size)
{
	snprintf(buf, size, "10.200.%d.%d", t, n + 1);
}

static void
complain(struct worker *w, const char *what, const char *addr, int rc)
{
	char detail[256];

	w->failures++;
	fprintf(stderr, "thread %d: %s %s: rc=%d %s (%s)\n", w->id, what, addr,
	    rc, drac_strerror(rc), drac_client_error(w->c, detail,
	    sizeof(detail)));
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	char a[32];
	int64_t expires, now = (int64_t)time(NULL);
	int rc;

	for (int n = 0; n < w->count; n++) {
		address(w->id, n, a, sizeof(a));
		if ((rc = drac_add(w->c, a, TTL, &expires)) != 0)
			complain(w, "add", a, rc);
		else if (expires < now + TTL || expires > now + TTL + 5)
			complain(w, "add: wrong expiry for", a, 0);
	}
	for (int n = 0; n < w->count; n++) {
		address(w->id, n, a, sizeof(a));
		if ((rc = drac_query(w->c, a, &expires)) != 0)
			complain(w, "query", a, rc);
		if (n % 2 == 1 && (rc = drac_del(w->c, a)) != 0)
			complain(w, "del", a, rc);
	}
	for (int n = 1; n < w->count; n += 2) {
		address(w->id, n, a, sizeof(a));
		if ((rc = drac_query(w->c, a, &expires)) != DRAC_E_NOTFOUND)
			complain(w, "query after del (want not found)", a, rc);
		if ((rc = drac_del(w->c, a)) != DRAC_E_NOTFOUND)
			complain(w, "second del (want not found)", a, rc);
	}
	return NULL;
}

struct listing {
	int	 threads, per_thread;
	char	*seen;
	int	 count, bad;
};

static int
collect(const struct drac_entry *e, void *arg)
{
	struct listing *l = arg;
	int t, n;

	if (sscanf(e->address, "10.200.%d.%d", &t, &n) != 2)
		return 0;	/* someone else's entry */
	n--;
	if (t < 0 || t >= l->threads || n < 0 || n >= l->per_thread ||
	    l->seen[t * l->per_thread + n]++ || n % 2 == 1) {
		fprintf(stderr, "listed unexpectedly: %s\n", e->address);
		l->bad++;
	}
	l->count++;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct drac_client *c;
	struct worker *w;
	struct listing l = { 0 };
	char detail[256];
	int threads, per, failures = 0, rc;

	if (argc == 4 && strcmp(argv[2], "probe") == 0) {
		int64_t expires = 0;

		if ((c = drac_client_open(argv[1], 1000)) == NULL)
			return 2;
		rc = drac_query(c, argv[3], &expires);
		printf("rc=%d %s: %s\n", rc, drac_strerror(rc),
		    drac_client_error(c, detail, sizeof(detail)));
		drac_client_close(c);
		return 0;
	}
	if (argc != 4 || (threads = atoi(argv[2])) < 1 || threads > 200 ||
	    (per = atoi(argv[3])) < 1 || per > 250) {
		fprintf(stderr, "usage: handle SERVER THREADS PER_THREAD\n");
		return 2;
	}
	if ((c = drac_client_open(argv[1], 0)) == NULL ||
	    (w = calloc((size_t)threads, sizeof(*w))) == NULL ||
	    (l.seen = calloc((size_t)(threads * per), 1)) == NULL)
		return 2;
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){ .c = c, .id = i, .count = per };
		if (pthread_create(&w[i].thread, NULL, work, &w[i]) != 0)
			return 2;
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		failures += w[i].failures;
	}
	l.threads = threads;
	l.per_thread = per;
	if ((rc = drac_list(c, collect, &l)) != 0) {
		fprintf(stderr, "list: %s (%s)\n", drac_strerror(rc),
		    drac_client_error(c, detail, sizeof(detail)));
		failures++;
	}
	if (l.bad || l.count != threads * ((per + 1) / 2)) {
		fprintf(stderr, "listed %d of ours, want %d (%d wrong)\n",
		    l.count, threads * ((per + 1) / 2), l.bad);
		failures++;
	}
	drac_client_close(c);
	free(w);
	free(l.seen);
	if (failures) {
		printf("FAILED: %d failures\n", failures);
		return 1;
	}
	printf("ok: %d threads x %d adds, queries, %d revokes; %d listed\n",
	    threads, per, threads * (per / 2), l.count);
	return 0;
}
