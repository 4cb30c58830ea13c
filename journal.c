/* journal.c: the map's undo journal, shared with the guardian. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <db.h>

#include "journal.h"

/*
 * Address space only: pages are touched as commits need them, and those
 * beyond JOURNAL_KEEP are given back after a commit that used them.  A
 * commit of WRITER_MAX_OPS changes touches a few thousand pages at most.
 */
#define JOURNAL_SIZE	((size_t)256 << 20)
#define JOURNAL_KEEP	((size_t)1 << 20)

/* Follows the bytes it describes, so the journal reads backwards. */
struct record {
	uint64_t	offset;
	uint64_t	length;
};

/*
 * The pages Berkeley DB read during the commit, as the file held them:
 * most pages a commit writes were read by it first, and the journal then
 * copies them from here instead of reading them again.
 */
#define STASH_SLOTS	4
#define STASH_PAGE	65536		/* Berkeley DB's largest page */

struct stash {
	int64_t		offset;		/* -1: empty */
	size_t		length;
	unsigned char	bytes[STASH_PAGE];
};

struct journal {
	atomic_int	 open;
	atomic_size_t	 used;
	_Atomic int64_t	 dirty_since;	/* monotonic ms; -1: synced */
	int64_t		 old_size;	/* the file's size when the commit began */
	int64_t		 size;		/* its size as our writes left it */
	size_t		 peak;
	unsigned	 next_stash;
	struct stash	 stash[STASH_SLOTS];
	unsigned char	 records[] __attribute__((aligned(8)));
};

/* Berkeley DB's I/O hooks have no argument for it: the one attached. */
static struct {
	struct journal	*journal;
	int		 fd;
} hook = { NULL, -1 };

static size_t
capacity(void)
{
	return JOURNAL_SIZE - sizeof(struct journal);
}

struct journal *
journal_create(void)
{
	struct journal *j;

	j = mmap(NULL, JOURNAL_SIZE, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (j == MAP_FAILED)
		return NULL;
	atomic_init(&j->open, 0);
	atomic_init(&j->used, 0);
	atomic_init(&j->dirty_since, -1);
	j->old_size = -1;
	j->size = -1;
	j->peak = 0;
	for (size_t i = 0; i < STASH_SLOTS; i++)
		j->stash[i].offset = -1;
	return j;
}

void
journal_destroy(struct journal *j)
{
	if (hook.journal == j) {
		hook.journal = NULL;
		hook.fd = -1;
	}
	if (j != NULL)
		munmap(j, JOURNAL_SIZE);
}

static const struct stash *
stashed(const struct journal *j, off_t offset, size_t length)
{
	for (size_t i = 0; i < STASH_SLOTS; i++)
		if (j->stash[i].offset == (int64_t)offset &&
		    j->stash[i].length >= length)
			return &j->stash[i];
	return NULL;
}

/*
 * Keeps what a page write at offset will replace.  A page written twice
 * in one commit is kept twice; the rollback runs backwards, so the copy
 * made first, the state before the commit, is the one left in the file.
 */
static int
save(struct journal *j, int fd, size_t length, off_t offset)
{
	size_t used = atomic_load_explicit(&j->used, memory_order_relaxed);
	struct record r = { .offset = (uint64_t)offset, .length = 0 };
	const struct stash *copy;
	size_t padded;

	/* Bytes past the old end need no copy: the rollback cuts them. */
	if (offset < j->old_size)
		r.length = (uint64_t)j->old_size - (uint64_t)offset < length ?
		    (uint64_t)j->old_size - (uint64_t)offset : length;
	padded = ((size_t)r.length + 7) & ~(size_t)7;
	if (padded + sizeof(r) > capacity() - used) {
		errno = ENOSPC;
		return -1;
	}
	if (r.length > 0 && (copy = stashed(j, offset, (size_t)r.length)) !=
	    NULL)
		memcpy(j->records + used, copy->bytes, (size_t)r.length);
	else if (r.length > 0) {
		ssize_t got;

		while ((got = pread(fd, j->records + used, (size_t)r.length,
		    offset)) == -1 && errno == EINTR)
			;
		if (got == -1)
			return -1;
		r.length = (uint64_t)got;
		padded = ((size_t)r.length + 7) & ~(size_t)7;
	}
	memcpy(j->records + used + padded, &r, sizeof(r));
	/* The guardian must see the copy before the write can happen. */
	atomic_store_explicit(&j->used, used + padded + sizeof(r),
	    memory_order_release);
	if ((int64_t)(offset + (off_t)length) > j->size)
		j->size = (int64_t)(offset + (off_t)length);
	return 0;
}

static ssize_t
journal_pwrite(int fd, const void *buf, size_t length, off_t offset)
{
	struct journal *j = hook.journal;

	if (j != NULL && fd == hook.fd &&
	    atomic_load_explicit(&j->open, memory_order_relaxed) &&
	    save(j, fd, length, offset) == -1)
		return -1;	/* Berkeley DB fails the commit: undone */
	return pwrite(fd, buf, length, offset);
}

static ssize_t
journal_pread(int fd, void *buf, size_t length, off_t offset)
{
	struct journal *j = hook.journal;
	ssize_t got = pread(fd, buf, length, offset);

	if (got > 0 && j != NULL && fd == hook.fd && length <= STASH_PAGE &&
	    atomic_load_explicit(&j->open, memory_order_relaxed)) {
		struct stash *slot = &j->stash[j->next_stash++ % STASH_SLOTS];

		memcpy(slot->bytes, buf, (size_t)got);
		slot->offset = (int64_t)offset;
		slot->length = (size_t)got;
	}
	return got;
}

int
journal_attach(struct journal *j, int fd)
{
	struct stat st;

	/* From here on, only our writes change the file's size. */
	if (fstat(fd, &st) == -1)
		return -1;
	j->size = st.st_size;
	hook.journal = j;
	hook.fd = fd;
	if (db_env_set_func_pwrite(journal_pwrite) != 0 ||
	    db_env_set_func_pread(journal_pread) != 0)
		return -1;
	return 0;
}

void
journal_begin(struct journal *j)
{
	j->old_size = j->size;
	for (size_t i = 0; i < STASH_SLOTS; i++)
		j->stash[i].offset = -1;
	atomic_store_explicit(&j->used, 0, memory_order_relaxed);
	atomic_store_explicit(&j->open, 1, memory_order_release);
}

void
journal_end(struct journal *j)
{
	size_t used = atomic_load_explicit(&j->used, memory_order_relaxed);

	/* The commit point: from here on, the new state stands. */
	atomic_store_explicit(&j->open, 0, memory_order_release);
	if (used > j->peak)
		j->peak = used;
	if (used > JOURNAL_KEEP)
		madvise(j->records + JOURNAL_KEEP, used - JOURNAL_KEEP,
		    MADV_REMOVE);
	atomic_store_explicit(&j->used, 0, memory_order_relaxed);
}

int
journal_open(const struct journal *j)
{
	return atomic_load_explicit(&j->open, memory_order_acquire);
}

long
journal_rollback(struct journal *j, int fd)
{
	size_t at = atomic_load_explicit(&j->used, memory_order_acquire);
	long undone = 0;
	struct stat st;

	while (at > 0) {
		struct record r;
		size_t padded;

		memcpy(&r, j->records + at - sizeof(r), sizeof(r));
		padded = ((size_t)r.length + 7) & ~(size_t)7;
		at -= sizeof(r) + padded;
		if (r.length > 0 && pwrite(fd, j->records + at,
		    (size_t)r.length, (off_t)r.offset) != (ssize_t)r.length)
			return -1;
		undone++;
	}
	if (j->old_size >= 0 && fstat(fd, &st) == 0 &&
	    st.st_size > j->old_size && ftruncate(fd, j->old_size) == -1)
		return -1;
	j->size = j->old_size;
	atomic_store_explicit(&j->used, 0, memory_order_relaxed);
	return undone;
}

int
journal_dirty(struct journal *j, int64_t now_ms)
{
	int64_t clean = -1;

	return atomic_compare_exchange_strong(&j->dirty_since, &clean, now_ms);
}

int64_t
journal_due(const struct journal *j)
{
	return atomic_load(&j->dirty_since);
}

void
journal_clean(struct journal *j)
{
	atomic_store(&j->dirty_since, -1);
}

size_t
journal_peak(const struct journal *j)
{
	return j->peak;
}
