/*
 * The fetch engine: one curl multi handle driven by one thread, shared by
 * every transfer of the process, with connection reuse, a connect timeout
 * and a low-speed cutoff.  Callers on other threads submit a request and
 * block until it ends; they never touch curl themselves.
 */
#ifndef ARTIFACTFS_FETCH_H
#define ARTIFACTFS_FETCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "caps.h"
#include "source.h"

struct fetch_engine;
struct fetch_xfer;

struct fetch_config {
	const char *ca_file;  /* extra CA bundle or NULL; borrowed */
	long connect_timeout; /* seconds */
	long low_speed_time;  /* seconds ... */
	long low_speed_limit; /* ... below this many bytes per second */
};

/* What a response said about the object. */
struct fetch_meta {
	int64_t size;                /* -1 when the origin did not say */
	time_t mtime;                /* Last-Modified, 0 when absent */
	char etag[CAP_HEADER_VALUE]; /* "" when absent */
};

/* Why a request failed, fit for the one log line the caller writes. */
struct fetch_error {
	long status;     /* final HTTP status, 0 when none was received */
	bool transient;  /* worth another attempt: 5xx, 429, connect, short */
	char cause[512]; /* "HTTP 404", "connection refused", ... */
};

/* Returns 0 and a stopped engine in *out, or a negative errno. */
int fetch_engine_new(const struct fetch_config *cfg, struct fetch_engine **out);

/* Starts the engine's thread.  Call after any fork.  Returns 0 or -errno. */
int fetch_engine_start(struct fetch_engine *e);

/*
 * Asks the engine to fail every transfer, running or to come, within a
 * second: used on SIGTERM so that opens waiting on the network end and
 * the daemon can exit.  Async-signal-safe.
 */
void fetch_engine_interrupt(struct fetch_engine *e);

/* Stops the thread, failing transfers still queued, and frees E. */
void fetch_engine_free(struct fetch_engine *e);

/*
 * HEAD of SRC, with bounded retries of transient failures.  Blocks.
 * Returns 0 and fills *meta, or -EIO and fills *err.
 */
int fetch_head(struct fetch_engine *e, struct source *src,
               struct fetch_meta *meta, struct fetch_error *err);

/*
 * Starts one GET attempt of SRC whose body is written to FD from offset 0
 * (RANGE NULL), or RANGE's bytes ("a-b") written at offset a.  Returns 0
 * and a transfer in *out, or a negative errno and fills *err.
 */
int fetch_get_start(struct fetch_engine *e, struct source *src,
                    const char *range, int fd, struct fetch_xfer **out,
                    struct fetch_error *err);

/*
 * As fetch_get_start for RANGE ("a-b", required), pinned to one version
 * of the object by CONDITION, a request header line ("If-Match: \"tag\""
 * or "If-Unmodified-Since: ...") or NULL.  fetch_xfer_finish then
 * returns -ESTALE when the object changed (HTTP 412), and -EOPNOTSUPP
 * when the origin answered with the whole object instead of the range
 * (nothing of that body is written).
 */
int fetch_get_range_start(struct fetch_engine *e, struct source *src,
                          const char *range, const char *condition, int fd,
                          struct fetch_xfer **out, struct fetch_error *err);

/*
 * Blocks until more than HAVE bytes of the body are in the file, or the
 * transfer has ended, or a second has passed.  Writes the count of bytes in the
 * file so far to *written and whether the transfer has ended to *done.  Lets a
 * caller hash the body while it arrives.
 */
void fetch_xfer_wait(struct fetch_xfer *x, uint64_t have, uint64_t *written,
                     bool *done);

/*
 * Waits for the end of the transfer and frees X.  Returns 0 and fills
 * *meta when the whole body arrived with a 2xx status; otherwise -EIO
 * (-ENOSPC when the cache is full; for ranges -ESTALE, -EOPNOTSUPP as
 * above) and fills *err, and sets *again when
 * the source changed itself so that one more immediate attempt may
 * succeed.
 */
int fetch_xfer_finish(struct fetch_xfer *x, struct fetch_meta *meta,
                      struct fetch_error *err, bool *again);

/* Sleeps before attempt number ATTEMPT (1-based) of a retry: a jittered,
 * doubling delay. */
void fetch_backoff(int attempt);

#endif
