/*
 * journal.h: an undo journal for the map, in memory shared with the map
 * guardian process.
 *
 * dracd writes the map itself.  Berkeley DB writes the pages of one
 * commit one by one, so a dracd killed in the middle of a commit would
 * leave a map that is half the old state and half the new.  Before each
 * page of a commit reaches the file, the journal keeps the bytes it
 * replaces.  If dracd dies before the commit ends, the guardian, which
 * shares the map's open file description and so still holds the readers'
 * locks, writes the old bytes back: readers only ever see whole commits.
 */
#ifndef DRAC_JOURNAL_H
#define DRAC_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct journal;

/* Maps the shared journal; NULL with errno on failure.  Fork after. */
struct journal *journal_create(void);
void	journal_destroy(struct journal *);
/*
 * Routes Berkeley DB's page writes to fd through the journal (the hook
 * is process-wide: Berkeley DB's write hook takes no context).
 */
int	journal_attach(struct journal *, int fd);
/* Before the attached descriptor is closed. */
void	journal_detach(void);
/*
 * While on, Berkeley DB's page writes (through the hook) are dropped.  A
 * handle whose cache holds changes that must never reach the file is
 * closed so: DB_NOSYNC does not keep its close from writing them, to a
 * file it opens again by name, which may by then be another file.
 */
void	journal_drop_writes(int on);
/* Brackets one commit; writes outside a commit are not journalled. */
void	journal_begin(struct journal *);
void	journal_end(struct journal *);
/* Nonzero while a commit is open: dracd died inside it. */
int	journal_open(const struct journal *);
/*
 * Writes back what the open commit replaced, newest first, and cuts the
 * file to its size before the commit.  Returns the number of writes
 * undone, or -1 with errno.
 */
long	journal_rollback(struct journal *, int fd);
/*
 * The disk-sync handshake: journal_dirty() records that the file has
 * changes not yet synced and returns 1 if it was clean (the guardian must
 * be told); journal_due() gives when the oldest unsynced change was made
 * (monotonic ms) or -1, and journal_clean() takes that mark away before a
 * sync.
 */
int	journal_dirty(struct journal *, int64_t now_ms);
int64_t	journal_due(const struct journal *);
void	journal_clean(struct journal *);

#endif
