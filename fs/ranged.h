/*
 * Partial cache entries for artifacts served by ranges: a sparse data
 * file of the object's full size, and a map recording, for each block
 * present, the sha256 of its bytes, so that a block read back from the
 * cache is checked before it is served.  An entry is pinned to one
 * version of the object (its ETag, or its Last-Modified time).
 */
#ifndef ARTIFACTFS_RANGED_H
#define ARTIFACTFS_RANGED_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cache.h"

#define RANGED_BLOCK     (1L << 20) /* bytes in one block */
#define RANGED_VALIDATOR 512        /* room for the pinned version */

struct ranged;

enum ranged_claim {
	RANGED_READY, /* present and checked: serve it */
	RANGED_MINE,  /* absent: the caller fetches it, then completes it */
	RANGED_BUSY,  /* another thread fetches it: wait with ranged_wait */
};

/*
 * Opens the partial entry of cache entry KEY for an object of SIZE bytes,
 * modified at MTIME, at version VALIDATOR, creating it if needed; an
 * entry holding another version or size is started afresh.  Returns 0
 * and the entry in *out (free with ranged_free), or a negative errno.
 */
int ranged_open(struct cache *c, const char *key, int64_t size, time_t mtime,
                const char *validator, struct ranged **out);

/*
 * Size and mtime recorded by the partial entry of KEY, with no network
 * and without opening it for use.  Returns 0, or -ENOENT.
 */
int ranged_stat(struct cache *c, const char *key, int64_t *size, time_t *mtime);

/* The version recorded by the partial entry of KEY into buf (size n).
 * Returns 0, or -ENOENT. */
int ranged_validator_of(struct cache *c, const char *key, char *buf, size_t n);

/* Removes the partial entry of KEY (an object that changed). */
void ranged_remove(struct cache *c, const char *key);

void ranged_free(struct ranged *r);

/* The data file, to read checked blocks from.  Owned by R. */
int ranged_fd(const struct ranged *r);
int64_t ranged_size(const struct ranged *r);
const char *ranged_validator(const struct ranged *r);
size_t ranged_block_count(const struct ranged *r);

/*
 * What the caller should do about block B.  A block recorded by an
 * earlier mount is checked against its digest here, the first time, and
 * counts as absent when it does not match.  Thread-safe.
 */
enum ranged_claim ranged_claim(struct ranged *r, size_t b);

/* Waits until block B is no longer being fetched.  Thread-safe. */
void ranged_wait(struct ranged *r, size_t b);

/*
 * Ends the fetch of blocks FIRST..LAST (claimed with RANGED_MINE): with
 * RC 0 their bytes are in the data file, and each is hashed and recorded
 * as present; otherwise they are absent again.  Returns 0, or a negative
 * errno when recording failed (the blocks are then absent).
 */
int ranged_complete(struct ranged *r, size_t first, size_t last, int rc);

/* Gives back block B, claimed with RANGED_MINE and not fetched, leaving
 * the last error as it was.  Thread-safe. */
void ranged_unclaim(struct ranged *r, size_t b);

/* The error of the last fetch that failed (-EIO when none did), for a
 * reader that waited on it.  Thread-safe. */
int ranged_last_error(struct ranged *r);

/* Bytes of blocks present, for the cache's accounting. */
uint64_t ranged_present_bytes(const struct ranged *r);

#endif
