/* table.c: hash of addresses plus a min-heap of deadlines. */
#include <stdlib.h>
#include <string.h>

#include "table.h"

static uint64_t
mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t
hash_of(const struct table *t, const struct drac_addr *a)
{
	uint64_t w0, w1;

	memcpy(&w0, a->bytes, 8);
	memcpy(&w1, a->bytes + 8, 8);
	return mix(mix(w0 ^ t->seed ^ a->family) ^ w1);
}

/*
 * The top bits pick the bucket, so bucket order is hash order whatever
 * the table's size: a listing cursor stays valid across growth.
 */
static size_t
bucket_of(const struct table *t, const struct drac_addr *a)
{
	return (size_t)(hash_of(t, a) >> t->shift);
}

int
table_init(struct table *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->seed = seed;
	t->nbuckets = 1024;
	t->shift = 64 - 10;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	return t->buckets == NULL ? -1 : 0;
}

void
table_free(struct table *t)
{
	for (size_t b = 0; b < t->nbuckets; b++) {
		struct table_entry *e = t->buckets[b], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->buckets);
	free(t->heap);
	memset(t, 0, sizeof(*t));
}

struct table_entry *
table_find(const struct table *t, const struct drac_addr *a)
{
	struct table_entry *e = t->buckets[bucket_of(t, a)];

	while (e != NULL && !addr_equal(&e->addr, a))
		e = e->next;
	return e;
}

static void
heap_set(struct table *t, size_t i, struct table_entry *e)
{
	t->heap[i] = e;
	e->heap_index = (uint32_t)i;
}

static void
heap_up(struct table *t, size_t i)
{
	struct table_entry *e = t->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (t->heap[parent]->deadline <= e->deadline)
			break;
		heap_set(t, i, t->heap[parent]);
		i = parent;
	}
	heap_set(t, i, e);
}

static void
heap_down(struct table *t, size_t i)
{
	struct table_entry *e = t->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= t->count)
			break;
		if (child + 1 < t->count &&
		    t->heap[child + 1]->deadline < t->heap[child]->deadline)
			child++;
		if (e->deadline <= t->heap[child]->deadline)
			break;
		heap_set(t, i, t->heap[child]);
		i = child;
	}
	heap_set(t, i, e);
}

/* Doubling the buckets keeps chains short; failure just keeps them longer. */
static void
grow_buckets(struct table *t)
{
	size_t n = t->nbuckets * 2;
	struct table_entry **b = calloc(n, sizeof(*b));
	struct table_entry **old = t->buckets;
	size_t oldn = t->nbuckets;

	if (b == NULL)
		return;
	t->buckets = b;
	t->nbuckets = n;
	t->shift--;
	for (size_t i = 0; i < oldn; i++) {
		struct table_entry *e = old[i], *next;

		for (; e != NULL; e = next) {
			size_t k = bucket_of(t, &e->addr);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(old);
}

struct table_entry *
table_upsert(struct table *t, const struct drac_addr *a, int64_t deadline,
    int64_t expires, int *renewed)
{
	struct table_entry *e = table_find(t, a);
	size_t k;

	if (e != NULL) {
		int64_t old = e->deadline;

		*renewed = 1;
		e->deadline = deadline;
		e->expires = expires;
		if (deadline < old)
			heap_up(t, e->heap_index);
		else
			heap_down(t, e->heap_index);
		return e;
	}
	*renewed = 0;
	if (t->count == t->heap_capacity) {
		size_t cap = t->heap_capacity ? t->heap_capacity * 2 : 1024;
		struct table_entry **h = realloc(t->heap, cap * sizeof(*h));

		if (h == NULL)
			return NULL;
		t->heap = h;
		t->heap_capacity = cap;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->addr = *a;
	e->deadline = deadline;
	e->expires = expires;
	k = bucket_of(t, a);
	e->next = t->buckets[k];
	t->buckets[k] = e;
	t->heap[t->count] = e;
	e->heap_index = (uint32_t)t->count;
	t->count++;
	heap_up(t, e->heap_index);
	if (t->count > t->nbuckets)
		grow_buckets(t);
	return e;
}

struct table_entry *
table_first(const struct table *t)
{
	return t->count ? t->heap[0] : NULL;
}

void
table_remove(struct table *t, struct table_entry *e)
{
	struct table_entry **pp = &t->buckets[bucket_of(t, &e->addr)];
	size_t i = e->heap_index;

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	t->count--;
	if (i != t->count) {
		struct table_entry *moved = t->heap[t->count];

		heap_set(t, i, moved);
		heap_up(t, i);
		heap_down(t, moved->heap_index);
	}
	free(e);
}

size_t
table_count(const struct table *t)
{
	return t->count;
}

int
table_foreach(const struct table *t, int (*fn)(struct table_entry *, void *),
    void *arg)
{
	for (size_t i = 0; i < t->count; i++) {
		int rc = fn(t->heap[i], arg);

		if (rc != 0)
			return rc;
	}
	return 0;
}

size_t
table_due(const struct table *t, int64_t now, struct table_entry **out,
    size_t max)
{
	/*
	 * A due node's parent is due too: walking down from the root
	 * through due nodes only visits the due ones and their children.
	 */
	size_t stack[64 + 2 * 64], depth = 0, n = 0;

	if (t->count == 0 || max == 0 || t->heap[0]->deadline > now)
		return 0;
	stack[depth++] = 0;
	while (depth > 0 && n < max) {
		size_t i = stack[--depth];

		out[n++] = t->heap[i];
		for (size_t c = 2 * i + 1; c <= 2 * i + 2 && c < t->count; c++)
			if (t->heap[c]->deadline <= now &&
			    depth < sizeof(stack) / sizeof(stack[0]))
				stack[depth++] = c;
	}
	return n;
}

/* Listing order: by hash, then by address for the rare equal hashes. */
static int
position_cmp(uint64_t h1, const struct drac_addr *a1, uint64_t h2,
    const struct drac_addr *a2)
{
	if (h1 != h2)
		return h1 < h2 ? -1 : 1;
	if (a1->family != a2->family)
		return a1->family < a2->family ? -1 : 1;
	return memcmp(a1->bytes, a2->bytes, sizeof(a1->bytes));
}

size_t
table_page(const struct table *t, const struct table_cursor *after,
    struct table_entry **out, size_t max, struct table_cursor *next)
{
	struct table_cursor last = { 0 };
	size_t n = 0, b = 0;

	if (after != NULL && after->started) {
		last = *after;
		b = (size_t)(after->hash >> t->shift);
	}
	for (; b < t->nbuckets && n < max; b++) {
		/* Chains are short: pick their entries in order, one by one. */
		for (;;) {
			struct table_entry *best = NULL, *e;
			uint64_t best_hash = 0;

			for (e = t->buckets[b]; e != NULL; e = e->next) {
				uint64_t h = hash_of(t, &e->addr);

				if (last.started && position_cmp(h, &e->addr,
				    last.hash, &last.addr) <= 0)
					continue;
				if (best == NULL || position_cmp(h, &e->addr,
				    best_hash, &best->addr) < 0) {
					best = e;
					best_hash = h;
				}
			}
			if (best == NULL || n == max)
				break;
			out[n++] = best;
			last.started = 1;
			last.hash = best_hash;
			last.addr = best->addr;
		}
		if (n == max)
			break;
	}
	/* A full page may have been the last one: the next call says so. */
	if (n == max && n > 0)
		*next = last;
	else
		memset(next, 0, sizeof(*next));
	return n;
}
