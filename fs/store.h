/*
 * The store: what the mount knows of each artifact (its size and mtime,
 * whether its bytes are verified in the cache) and the one place where
 * a download is started, shared by every reader that asks for it.
 * FUSE-free: the handlers in fuse_ops.c call it.
 */
#ifndef ARTIFACTFS_STORE_H
#define ARTIFACTFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cache.h"
#include "fetch.h"
#include "manifest.h"
#include "source.h"

struct store;

struct store_attr {
	int64_t size;
	time_t mtime;
	bool stable; /* from the verified bytes: will not change */
};

/*
 * Creates the store for manifest M (borrowed, must outlive the store),
 * with a source for every artifact.  Returns 0 and the store in *out, or
 * a negative errno after writing one line naming the artifact and the
 * cause into why (size n): -ENOTSUP for a scheme this build cannot fetch.
 * Touches no network.
 */
int store_new(const struct manifest *m, struct cache *c, struct fetch_engine *e,
              const struct source_config *scfg, struct store **out, char *why,
              size_t n);

/* Starts the metadata workers.  Call after any fork.  Returns 0 or
 * -errno. */
int store_start(struct store *s);

/* Stops the workers and frees S and the sources. */
void store_free(struct store *s);

/*
 * Size and mtime of artifact IDX: from the cache when it holds the
 * artifact, else from one HEAD on the first call (shared with concurrent
 * callers), else size 0 and the mount's time.  Blocks; never fails.
 */
void store_attr(struct store *s, size_t idx, struct store_attr *out);

/* Queues the HEAD of artifact IDX for the metadata workers, so that the
 * entries of a listing are fetched in parallel.  Does not block. */
void store_prefetch(struct store *s, size_t idx);

/*
 * Makes artifact IDX present and verified in the cache, downloading it
 * if needed (one download for all concurrent callers), and opens it.
 * Returns 0 and a read-only descriptor in *fd (the caller closes it), or
 * -EIO (origin or verification failure, logged here once), -ENOSPC.
 */
int store_open(struct store *s, size_t idx, int *fd);

/*
 * Progress of the current download of IDX: bytes so far and the total
 * (-1 when unknown).  Returns 0, or -ENODATA when none is running.
 */
int store_progress(struct store *s, size_t idx, uint64_t *done, int64_t *total);

/* Artifacts without a checksum of at least BYTES (0: none) are served by
 * ranges, a block at a time, from a partial cache entry.  Call before
 * the first open. */
void store_set_range_threshold(struct store *s, int64_t bytes);

/* One open file of the mount: the whole verified file, or a partial
 * entry served by ranges. */
struct store_handle;

/*
 * Opens artifact IDX for reading: a whole download as store_open does,
 * or, for a large artifact without a checksum whose origin serves
 * ranges, nothing yet.  Returns 0 and the handle in *out (free with
 * store_handle_close), or a negative errno as store_open.
 */
int store_handle_open(struct store *s, size_t idx, struct store_handle **out);

/*
 * Makes bytes OFF..OFF+SIZE of H readable, fetching the blocks they touch
 * and a read-ahead window that doubles while reads follow on, and gives
 * the descriptor to read them from (owned by H) in *fd.  Returns 0, or
 * -EIO (logged once), -ESTALE when the object changed at the origin since
 * its first block was fetched.  Thread-safe.
 */
int store_handle_read(struct store *s, struct store_handle *h, uint64_t off,
                      size_t size, int *fd);

void store_handle_close(struct store_handle *h);

#endif
