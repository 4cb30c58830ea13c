/*
 * mapdb.h: the Berkeley DB map that sendmail, Postfix and Exim read.
 * key = address text, value = expiry in epoch seconds, both as the
 * chosen format says.
 */
#ifndef DRAC_MAPDB_H
#define DRAC_MAPDB_H

#include <stdint.h>
#include <db.h>

#include "addr.h"

/* Which text forms of an IPv6 address are written as keys. */
#define MAP_V6_COMPRESSED	0x1	/* 2001:db8::5 (Postfix, Exim) */
#define MAP_V6_FULL		0x2	/* 2001:db8:0:0:0:0:0:5 (sendmail) */

struct map_format {
	DBTYPE		type;		/* DB_HASH or DB_BTREE */
	int		nul;		/* keys and values end in NUL */
	int		cidr;		/* keys carry /32 or /128 */
	int		v6forms;	/* MAP_V6_* bits */
};

struct map {
	DB		*db;
	int		 fd;
	char		*path;
	struct map_format format;
	int		 locked;
	uint32_t	 buckets;	/* a hash map's, when opened */
};

/* Parses a comma list such as "hash,nul,cidr"; -1 with *why on error. */
int	map_format_parse(const char *, struct map_format *, const char **);
const char *map_format_describe(const struct map_format *, char *, size_t);
void	map_format_default(struct map_format *);
/* Writes up to two keys for addr; returns how many. */
int	map_format_keys(const struct map_format *, const struct drac_addr *,
	    char keys[2][ADDR_TEXT_MAX], size_t lens[2]);
/* Recovers the address from a stored key, whatever format wrote it. */
int	map_parse_key(const void *, size_t, struct drac_addr *);

int	map_open(struct map *, const char *, const struct map_format *,
	    int truncate, char *err, size_t errsize);
void	map_close(struct map *);
/* Closes without writing the pages Berkeley DB holds changed. */
void	map_discard(struct map *);
/*
 * Checks the map with Berkeley DB's verifier.  A damaged map is salvaged:
 * what can be read is written into a new map that replaces it, and the
 * damaged file is kept beside it.  Returns 0 if the map was intact or
 * absent, 1 if it was salvaged (details in report), -1 on error (in err).
 * A file that is not Berkeley DB at all is an error, never replaced.
 */
int	map_repair(const char *, const struct map_format *, char *report,
	    size_t reportsize, char *err, size_t errsize);
/* map_repair in a child process, which may die without harm. */
int	map_repair_isolated(const char *, const struct map_format *,
	    char *report, size_t reportsize, char *err, size_t errsize);
/*
 * A clean exit leaves PATH.clean, which names the map file as it was
 * then (inode, size, st_mtime to the nanosecond).  map_was_clean()
 * removes it and says whether the map is still that file, unchanged: its
 * verification can then be skipped.  Both fail quietly (-1 / 0).
 */
int	map_mark_clean(const char *);
int	map_was_clean(const char *);
/* What -n does: would map_open succeed?  Changes nothing. */
int	map_check(const char *, const struct map_format *, char *, size_t);
/*
 * A hash map keeps each entry on its page (see mapdb.c).  map_split():
 * the changes since the map was opened made Berkeley DB split a bucket,
 * that is move entries; they must not reach this file.  map_rebuild()
 * writes what the handle holds into a new file with more buckets and
 * renames it over the map (the handle still has the old file: discard it
 * and open the map again); *buckets says how many.  It returns 0, or an
 * error code (errno's or Berkeley DB's) with err filled in.  A hash map
 * another program made has a foreign layout; map_rebuild() gives it ours.
 */
int	map_split(struct map *);
int	map_foreign_layout(struct map *);
uint32_t map_buckets(const struct map *);
int	map_rebuild(struct map *, uint32_t *buckets, char *err,
	    size_t errsize);
/*
 * Writers bracket changes with begin/commit: both locks, sync, new mtime.
 * map_commit() is map_sync(), which writes the changed pages to the file,
 * then map_end(), which unlocks.  These return 0 or an error code for
 * db_strerror().  map_begin() on a map still locked keeps the locks.
 */
int	map_begin(struct map *);
int	map_sync(struct map *);
void	map_end(struct map *);
int	map_commit(struct map *);
int	map_put(struct map *, const struct drac_addr *, int64_t expires);
int	map_del(struct map *, const struct drac_addr *);
/* Sets st_mtime to second, so that readers comparing it reopen. */
int	map_touch(struct map *, int64_t second);
/* The map's st_mtime as readers see it, or -1. */
int64_t	map_mtime(struct map *);
/*
 * Calls keep(addr, expires, arg) for every address in the map; entries for
 * which it returns 0 are deleted.  Kept entries whose key is not in the
 * current format (the map was written with other -m options) are deleted
 * too and counted in *reformatted: the caller writes them anew.  Keys that
 * are not addresses and values that are not numbers are left alone and
 * reported through warn().
 */
int	map_scan(struct map *, int (*keep)(const struct drac_addr *, int64_t,
	    void *), void (*warn)(const char *, void *), void *,
	    size_t *reformatted);

#endif
