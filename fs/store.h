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

#endif
