/*
 * The on-disk cache: verified artifacts under their final names, and
 * temporary files that become entries only by an atomic rename once their
 * content has been checked.  Entries are keyed by content
 * ("sha256/<hex>") when a sha256 is declared, so that mounts share them,
 * and by URL ("url/<hex>") otherwise.
 */
#ifndef ARTIFACTFS_CACHE_H
#define ARTIFACTFS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "manifest.h"

/* Room for the longest key, "url/" + 64 hex digits + NUL. */
#define CACHE_KEY_MAX 80

struct cache;

/*
 * Opens (creating, mode 0700) the cache at DIR and its subdirectories,
 * and removes temporary files that no live writer holds.  Returns 0 and
 * the cache in *out, or a negative errno: a DIR owned by another user is
 * refused with -EPERM, an existing one that is not 0700 with -EACCES.
 */
int cache_open(const char *dir, struct cache **out);
void cache_free(struct cache *c);

/* The directory the cache lives in, as given to cache_open. */
const char *cache_dir(const struct cache *c);

/* Writes A's entry key into key (CACHE_KEY_MAX bytes). */
void cache_key(const struct artifact *a, char *key);

/* Opens entry KEY read-only.  Returns 0 and the descriptor in *fd (the
 * caller closes it) and its status in *st, or -ENOENT. */
int cache_entry_open(struct cache *c, const char *key, int *fd,
                     struct stat *st);

/* Status of entry KEY without opening it.  Returns 0 or -ENOENT. */
int cache_entry_stat(struct cache *c, const char *key, struct stat *st);

/*
 * A new temporary file, open for reading and writing and locked against
 * the sweep of other processes.  Returns 0 with the descriptor in *fd
 * and its name in name (size n), or a negative errno.
 */
int cache_tmp_new(struct cache *c, int *fd, char *name, size_t n);

/*
 * Makes temporary file NAME (descriptor FD, which stays open and owned
 * by the caller) the entry KEY: sets its mtime to MTIME when non-zero,
 * flushes it to disk, renames it into place and flushes the directory.
 * Returns 0, or a negative errno with the temporary file removed.
 */
int cache_commit(struct cache *c, int fd, const char *name, const char *key,
                 time_t mtime);

/* Removes temporary file NAME; the caller closes its descriptor. */
void cache_discard(struct cache *c, const char *name);

/*
 * Caps the bytes the cache holds at BYTES (0: no cap) and counts what it
 * holds now.  Call before any thread uses C.
 */
void cache_set_quota(struct cache *c, uint64_t bytes);

/* Says whether the entry at REL ("url/<hex>", "ranges/<hex>.data") is in
 * use and may not be evicted. */
typedef bool (*cache_busy_fn)(const char *rel, void *arg);

/*
 * Counts BYTES more in the cache (a committed entry, a fetched block) and,
 * when that goes over the quota, evicts the entries used least recently
 * that BUSY does not claim, never KEEP (the entry just added, or NULL),
 * until under it.  Thread-safe.
 */
void cache_note_added(struct cache *c, uint64_t bytes, const char *keep,
                      cache_busy_fn busy, void *arg);

/*
 * Evicts entries used least recently, that BUSY does not claim, until
 * WANT bytes are freed or none is left: used when the disk is full.
 * Returns the bytes freed.  Thread-safe.
 */
uint64_t cache_evict(struct cache *c, uint64_t want, cache_busy_fn busy,
                     void *arg);

/* Marks entry KEY as just used, for the eviction order. */
void cache_touch(struct cache *c, const char *key);

/*
 * Opens REL, a path inside the cache ("ranges/<hex>.map"), with open(2)'s
 * FLAGS and MODE, never following a symbolic link.  Returns the
 * descriptor (the caller closes it) or a negative errno.
 */
int cache_file_open(struct cache *c, const char *rel, int flags, mode_t mode);

/* Removes REL, a path inside the cache; a missing file is no error. */
void cache_file_remove(struct cache *c, const char *rel);

#endif
