/*
 * table.h: the in-memory set of authorized addresses.  A hash finds an
 * address; a binary heap ordered by deadline makes expiry cost
 * proportional to what expires, never a scan of the whole table.
 */
#ifndef DRAC_TABLE_H
#define DRAC_TABLE_H

#include <stdint.h>
#include <time.h>

#include "addr.h"

struct table_entry {
	struct table_entry	*next;		/* hash chain */
	int64_t			 deadline;	/* monotonic milliseconds */
	int64_t			 expires;	/* wall clock, epoch seconds */
	uint32_t		 heap_index;
	struct drac_addr	 addr;
};

struct table {
	struct table_entry	**buckets;
	size_t			  nbuckets;	/* power of two */
	unsigned		  shift;	/* 64 - log2(nbuckets) */
	struct table_entry	**heap;
	size_t			  count;
	size_t			  heap_capacity;
	uint64_t		  seed;
};

int	table_init(struct table *, uint64_t seed);
void	table_free(struct table *);
struct table_entry *table_find(const struct table *, const struct drac_addr *);
/*
 * Inserts addr or renews it.  *renewed tells which.  NULL on allocation
 * failure, with the table unchanged.
 */
struct table_entry *table_upsert(struct table *, const struct drac_addr *,
	    int64_t deadline, int64_t expires, int *renewed);
/* The entry that expires first, or NULL if the table is empty. */
struct table_entry *table_first(const struct table *);
/*
 * Up to max entries whose deadline is at or before now, into out, in no
 * particular order; the table is not changed.  Costs about what it finds.
 */
size_t	table_due(const struct table *, int64_t now, struct table_entry **out,
	    size_t max);
/* Unlinks and frees the entry. */
void	table_remove(struct table *, struct table_entry *);
size_t	table_count(const struct table *);
/* Calls fn for every entry, in no particular order; fn must not remove. */
int	table_foreach(const struct table *, int (*fn)(struct table_entry *,
	    void *), void *);

/* Where a listing stopped: the position of the last entry returned. */
struct table_cursor {
	int			started;
	uint64_t		hash;
	struct drac_addr	addr;
};

/*
 * Up to max entries after the cursor (NULL: from the start) into out.
 * *next is where to go on, or not started when the listing is complete.
 * Entries present for the whole listing are returned exactly once, even
 * if others come and go or the table grows in between.
 */
size_t	table_page(const struct table *, const struct table_cursor *after,
	    struct table_entry **out, size_t max, struct table_cursor *next);

#endif
