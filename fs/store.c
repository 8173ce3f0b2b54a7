/*
 * The store.  One mutex guards every entry's state; downloads and HEADs
 * run without it, on the thread that asked (or a metadata worker), and
 * waiters sleep on the store's condition variables.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "digest.h"
#include "log.h"
#include "ranged.h"
#include "store.h"
#include "banned.h"

#define META_WORKERS         8
#define HASH_CHUNK           (1L << 20)
#define RA_WORKERS           4            /* read-ahead jobs fetched at once */
#define PARALLEL_MIN_BYTES   (64LL << 20) /* verified and this big */
#define PARALLEL_CHUNK_BYTES (16L << 20)
#define PARALLEL_STREAMS     4
#define FLUSH_BEHIND_BYTES   (8L << 20)
#define META_RETRY_SECONDS   10
#define META_WAIT_MS         1500 /* longest a stat waits for a HEAD */
#define PROGRESS_LOG_SECONDS 5
/* Opens within this long after a failed download share its result
 * instead of asking the origin again at once. */
#define FAIL_HOLD_MS 1000

enum meta_state { META_NONE, META_QUEUED, META_PENDING, META_KNOWN };
enum data_state { DATA_NONE, DATA_FETCHING, DATA_READY };

struct entry {
	struct source *src;
	char key[CACHE_KEY_MAX];

	/* All below: store lock. */
	enum meta_state meta;
	struct store_attr attr;
	time_t meta_failed_at; /* 0, or when the last HEAD failed */
	bool meta_slow;        /* a stat gave up waiting for this HEAD */
	enum data_state data;
	unsigned int gen;          /* downloads finished so far */
	int last_rc;               /* result of the last one */
	struct timespec failed_at; /* when the last one ended */
	uint64_t progress;

	/* Range mode (unverified, large): see store_handle_open. */
	char *condition;       /* pins ranges to the HEAD's version */
	struct ranged *ranged; /* the partial entry, once opened */
	bool no_ranges;        /* the origin ignored a Range */
	bool single_stream;    /* changed since its HEAD: one GET */
	bool checked;          /* its cache file was checked by this mount */
	bool stale;            /* the object changed under a mount */
};

struct store {
	const struct manifest *m;
	struct cache *cache;
	struct fetch_engine *engine;
	struct entry *entries;
	time_t started_at;

	pthread_mutex_t lock;
	pthread_cond_t meta_cond;  /* a HEAD ended */
	pthread_cond_t data_cond;  /* a download ended */
	pthread_cond_t queue_cond; /* work for the metadata workers */
	size_t *queue;             /* ring of artifact indexes */
	size_t q_head, q_len;
	bool stopping;
	pthread_t workers[META_WORKERS];
	int nworkers;
	int64_t range_threshold; /* 0: never serve by ranges */

	/* Read-ahead jobs, store lock. */
	struct ra_job *ra_head, **ra_tail;
	pthread_cond_t ra_cond;
	pthread_t ra_workers[RA_WORKERS];
	int nra;
};

/* One ranged GET of blocks FIRST..LAST, with bounded retries. */
struct range_req {
	size_t first, last;
	struct fetch_xfer *x;
	bool running;
	uint64_t want_bytes; /* what the range asks for */
	int rc;              /* -EAGAIN: to be (re)started */
	struct fetch_error err;
};

struct store_handle {
	size_t idx;
	int fd; /* whole file: its cache entry; -1 in range mode */
	struct ranged *ranged; /* range mode: the entry's, not owned */

	pthread_mutex_t lock; /* the kernel may read one file in parallel */
	uint64_t next_off;    /* where a sequential read would go on */
	uint64_t window;      /* read-ahead, bytes */
	size_t ra_next;       /* first block read-ahead has not asked for */
};

/* Blocks of one read-ahead, claimed by the reader, fetched by a worker. */
struct ra_job {
	size_t idx;
	size_t n;
	struct range_req *reqs;
	struct ra_job *next;
};

static const char *artifact_name(const struct store *s, size_t idx)
{
	return s->m->items[idx].name;
}

int store_new(const struct manifest *m, struct cache *c, struct fetch_engine *e,
              const struct source_config *scfg, struct store **out, char *why,
              size_t n)
{
	pthread_condattr_t cattr;
	char cause[256];
	struct store *s;
	size_t i;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->m = m;
	s->cache = c;
	s->engine = e;
	s->started_at = time(NULL);
	s->range_threshold = DEF_RANGE_THRESHOLD;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->meta_cond, &cattr);
	pthread_condattr_destroy(&cattr);
	pthread_cond_init(&s->data_cond, NULL);
	pthread_cond_init(&s->queue_cond, NULL);
	pthread_cond_init(&s->ra_cond, NULL);
	s->ra_tail = &s->ra_head;
	s->entries = calloc(m->count ? m->count : 1, sizeof(*s->entries));
	s->queue = calloc(m->count ? m->count : 1, sizeof(*s->queue));
	if (!s->entries || !s->queue)
		goto nomem;

	for (i = 0; i < m->count; i++) {
		cache_key(&m->items[i], s->entries[i].key);
		rc = source_new(&m->items[i], scfg, &s->entries[i].src, cause,
		                sizeof(cause));
		if (rc < 0) {
			snprintf(why, n, "artifact '%.200s': %s",
			         m->items[i].name, cause);
			store_free(s);
			return rc;
		}
	}
	*out = s;
	return 0;

nomem:
	store_free(s);
	snprintf(why, n, "out of memory");
	return -ENOMEM;
}

/* Fills E's attributes from a cache entry, if there is one.  Store lock
 * held. */
static bool attr_from_cache(struct store *s, struct entry *en)
{
	struct stat st;

	int64_t size;
	time_t mtime;

	if (cache_entry_stat(s->cache, en->key, &st) < 0) {
		if (ranged_stat(s->cache, en->key, &size, &mtime) < 0)
			return false;
		/* A partial entry knows the object it is pinned to. */
		en->attr.size = size;
		en->attr.mtime = mtime;
		en->attr.stable = true;
		en->meta = META_KNOWN;
		return true;
	}
	en->attr.size = st.st_size;
	en->attr.mtime = st.st_mtime;
	/* Not final before this mount has checked it against its checksum. */
	en->attr.stable =
	        en->checked || s->m->items[en - s->entries].ck_type == CK_NONE;
	en->meta = META_KNOWN;
	en->data = DATA_READY;
	return true;
}

/* The request header that pins a range to the version META describes:
 * its ETag, else its Last-Modified time; NULL when it has neither. */
static char *pin_condition(const struct fetch_meta *meta)
{
	char buf[CAP_HEADER_VALUE + 32], date[64];
	struct tm tm;

	if (meta->etag[0]) {
		snprintf(buf, sizeof(buf), "If-Match: %s", meta->etag);
	} else if (meta->mtime > 0 && gmtime_r(&meta->mtime, &tm)) {
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		snprintf(buf, sizeof(buf), "If-Unmodified-Since: %s", date);
	} else {
		return NULL;
	}
	return strdup(buf);
}

/* One HEAD for IDX, whose state the caller set to META_PENDING. */
static void fetch_meta(struct store *s, size_t idx)
{
	struct entry *en = &s->entries[idx];
	struct fetch_meta meta;
	struct fetch_error err;
	int rc;

	rc = fetch_head(s->engine, en->src, &meta, &err);
	if (rc < 0)
		log_debug("artifact '%.200s': HEAD %.300s: %s",
		          artifact_name(s, idx), en->src->log_url, err.cause);

	pthread_mutex_lock(&s->lock);
	if (en->meta == META_PENDING) {
		if (rc == 0) {
			en->attr.size = meta.size > 0 ? meta.size : 0;
			if (meta.mtime > 0)
				en->attr.mtime = meta.mtime;
			en->meta_failed_at = 0;
			free(en->condition);
			en->condition = pin_condition(&meta);
		} else {
			en->meta_failed_at = time(NULL);
		}
		en->meta = META_KNOWN;
	}
	en->meta_slow = false;
	pthread_cond_broadcast(&s->meta_cond);
	pthread_mutex_unlock(&s->lock);
}

static bool meta_stale(const struct entry *en)
{
	return en->meta == META_KNOWN && !en->attr.stable &&
	       en->meta_failed_at &&
	       time(NULL) - en->meta_failed_at >= META_RETRY_SECONDS;
}

/* Queues the HEAD of IDX for the metadata workers unless the cache
 * answers or it is already queued.  Store lock held; returns whether a
 * HEAD is queued or running. */
static bool queue_meta(struct store *s, size_t idx)
{
	struct entry *en = &s->entries[idx];
	size_t count = s->m->count;

	if (en->meta == META_QUEUED || en->meta == META_PENDING)
		return true;
	if (en->meta != META_NONE && !meta_stale(en))
		return false;
	if (!en->attr.mtime)
		en->attr.mtime = s->started_at;
	if (attr_from_cache(s, en) || s->stopping || s->q_len >= count)
		return false;
	en->meta = META_QUEUED;
	s->queue[(s->q_head + s->q_len) % count] = idx;
	s->q_len++;
	pthread_cond_signal(&s->queue_cond);
	return true;
}

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void store_attr(struct store *s, size_t idx, struct store_attr *out)
{
	struct entry *en = &s->entries[idx];
	struct timespec deadline;

	pthread_mutex_lock(&s->lock);
	if (s->nworkers == 0 && (en->meta == META_NONE || meta_stale(en))) {
		/* No workers (eager fetch, tests): ask here. */
		if (!en->attr.mtime)
			en->attr.mtime = s->started_at;
		if (!attr_from_cache(s, en)) {
			en->meta = META_PENDING;
			pthread_mutex_unlock(&s->lock);
			fetch_meta(s, idx);
			pthread_mutex_lock(&s->lock);
		}
	}

	/* A stat waits a little for the origin, never for long: past
	 * META_WAIT_MS it gets what is known so far, and so do the stats
	 * after it until the HEAD ends. */
	if (queue_meta(s, idx) && !en->meta_slow) {
		deadline_in(&deadline, META_WAIT_MS);
		while (en->meta == META_QUEUED || en->meta == META_PENDING) {
			if (pthread_cond_timedwait(&s->meta_cond, &s->lock,
			                           &deadline) == ETIMEDOUT) {
				en->meta_slow = true;
				break;
			}
		}
	}
	*out = en->attr;
	pthread_mutex_unlock(&s->lock);
}

void store_prefetch(struct store *s, size_t idx)
{
	pthread_mutex_lock(&s->lock);
	if (s->nworkers > 0)
		queue_meta(s, idx);
	pthread_mutex_unlock(&s->lock);
}

static void *meta_worker(void *arg)
{
	struct store *s = arg;
	struct entry *en;
	size_t idx;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stopping && s->q_len == 0)
			pthread_cond_wait(&s->queue_cond, &s->lock);
		if (s->stopping)
			break;
		idx = s->queue[s->q_head];
		s->q_head = (s->q_head + 1) % s->m->count;
		s->q_len--;
		en = &s->entries[idx];
		/* A caller may have taken it over meanwhile. */
		if (en->meta != META_QUEUED)
			continue;
		en->meta = META_PENDING;
		pthread_mutex_unlock(&s->lock);
		fetch_meta(s, idx);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void *ra_worker(void *arg);

int store_start(struct store *s)
{
	int i, rc;

	for (i = 0; i < META_WORKERS; i++) {
		rc = pthread_create(&s->workers[i], NULL, meta_worker, s);
		if (rc)
			return -rc;
		s->nworkers++;
	}
	for (i = 0; i < RA_WORKERS; i++) {
		rc = pthread_create(&s->ra_workers[i], NULL, ra_worker, s);
		if (rc)
			return -rc;
		s->nra++;
	}
	return 0;
}

void store_free(struct store *s)
{
	size_t i;
	int w;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->queue_cond);
	pthread_cond_broadcast(&s->ra_cond);
	pthread_mutex_unlock(&s->lock);
	for (w = 0; w < s->nworkers; w++)
		pthread_join(s->workers[w], NULL);
	for (w = 0; w < s->nra; w++)
		pthread_join(s->ra_workers[w], NULL);

	for (i = 0; s->entries && i < s->m->count; i++) {
		source_free(s->entries[i].src);
		ranged_free(s->entries[i].ranged);
		free(s->entries[i].condition);
	}
	free(s->entries);
	free(s->queue);
	pthread_cond_destroy(&s->meta_cond);
	pthread_cond_destroy(&s->data_cond);
	pthread_cond_destroy(&s->queue_cond);
	pthread_cond_destroy(&s->ra_cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void note_progress(struct store *s, struct entry *en, uint64_t done)
{
	pthread_mutex_lock(&s->lock);
	en->progress = done;
	pthread_mutex_unlock(&s->lock);
}

/* Starts the write-back of what has landed since the last call, so that
 * the fsync before the rename finds little left to do. */
static void flush_behind(int fd, uint64_t *flushed, uint64_t written)
{
	if (written - *flushed < FLUSH_BEHIND_BYTES)
		return;
	sync_file_range(fd, (off_t)*flushed, (off_t)(written - *flushed),
	                SYNC_FILE_RANGE_WRITE);
	*flushed = written;
}

/* Hashes the body of X as it lands in FD, then waits for its end. */
static int receive(struct store *s, size_t idx, struct fetch_xfer *x, int fd,
                   struct digest *dg, struct fetch_meta *meta,
                   struct fetch_error *err, bool *again)
{
	struct entry *en = &s->entries[idx];
	uint64_t hashed = 0, written = 0, flushed = 0;
	time_t last_log = time(NULL);
	bool done = false;
	char *buf = NULL;
	ssize_t got;
	size_t want;

	if (dg) {
		buf = malloc(HASH_CHUNK);
		if (!buf)
			dg = NULL; /* the mismatch check below then fails */
	}
	while (!done) {
		/* Without a digest nothing is hashed: wait for more than what
		 * is already written, or this loop would spin. */
		fetch_xfer_wait(x, dg ? hashed : written, &written, &done);
		while (dg && hashed < written) {
			want = written - hashed;
			if (want > HASH_CHUNK)
				want = HASH_CHUNK;
			got = pread(fd, buf, want, (off_t)hashed);
			if (got <= 0)
				break;
			digest_update(dg, buf, (size_t)got);
			hashed += (uint64_t)got;
		}
		note_progress(s, en, written);
		flush_behind(fd, &flushed, written);
		if (time(NULL) - last_log >= PROGRESS_LOG_SECONDS) {
			last_log = time(NULL);
			log_info("artifact '%.200s': %llu bytes so far",
			         artifact_name(s, idx),
			         (unsigned long long)written);
		}
	}
	free(buf);
	if (dg && hashed != written) {
		fetch_xfer_finish(x, meta, err, again);
		snprintf(err->cause, sizeof(err->cause),
		         "reading back the download failed");
		return -EIO;
	}
	return fetch_xfer_finish(x, meta, err, again);
}

/* The size of IDX when its first download is to run as parallel ranged
 * GETs (large, a version to pin them to, ranges not refused), else 0. */
static int64_t parallel_size(struct store *s, size_t idx)
{
	struct entry *en = &s->entries[idx];
	int64_t size = 0;

	pthread_mutex_lock(&s->lock);
	if (en->meta == META_KNOWN && !en->meta_failed_at && en->condition &&
	    !en->no_ranges && !en->single_stream &&
	    en->attr.size >= PARALLEL_MIN_BYTES)
		size = en->attr.size;
	pthread_mutex_unlock(&s->lock);
	return size;
}

static int start_chunk(struct store *s, size_t idx, int fd, size_t c,
                       int64_t size, struct fetch_xfer **x,
                       struct fetch_error *err)
{
	struct entry *en = &s->entries[idx];
	int64_t from = (int64_t)c * PARALLEL_CHUNK_BYTES;
	int64_t to = from + PARALLEL_CHUNK_BYTES;
	char range[64];

	if (to > size)
		to = size;
	snprintf(range, sizeof(range), "%lld-%lld", (long long)from,
	         (long long)to - 1);
	return fetch_get_range_start(s->engine, en->src, range, en->condition,
	                             fd, x, err);
}

/*
 * The first download of a large verified artifact: PARALLEL_STREAMS
 * ranged GETs in flight at once, each writing its chunk at its offset,
 * while this thread hashes the chunks in order as they land.  An origin
 * that ignores ranges, or an object that changed since its HEAD, makes
 * the next attempt a single GET.
 */
static int receive_parallel(struct store *s, size_t idx, int fd,
                            struct digest *dg, int64_t size,
                            struct fetch_meta *meta, struct fetch_error *err)
{
	struct fetch_xfer *x[PARALLEL_STREAMS] = {NULL};
	struct entry *en = &s->entries[idx];
	size_t nchunks, next = 0, c, slot;
	uint64_t hashed, written, len;
	struct fetch_error ignored;
	struct fetch_meta m;
	bool done, again;
	char *buf;
	ssize_t got;
	int rc = 0;

	buf = malloc(HASH_CHUNK);
	if (!buf)
		return -ENOMEM;
	nchunks = (size_t)((size + PARALLEL_CHUNK_BYTES - 1) /
	                   PARALLEL_CHUNK_BYTES);
	/* The first range alone, until its body flows: an origin that
	 * ignores ranges then costs one aborted request, not four. */
	rc = start_chunk(s, idx, fd, next++, size, &x[0], err);
	done = false;
	if (rc == 0)
		fetch_xfer_wait(x[0], 0, &written, &done);
	for (; !done && next < nchunks && next < PARALLEL_STREAMS && rc == 0;
	     next++)
		rc = start_chunk(s, idx, fd, next, size, &x[next], err);

	for (c = 0; c < nchunks && rc == 0; c++) {
		slot = c % PARALLEL_STREAMS;
		len = (uint64_t)(size - (int64_t)c * PARALLEL_CHUNK_BYTES);
		if (len > PARALLEL_CHUNK_BYTES)
			len = PARALLEL_CHUNK_BYTES;
		hashed = 0;
		done = false;
		while (!done) {
			fetch_xfer_wait(x[slot], hashed, &written, &done);
			while (hashed < written) {
				got = pread(fd, buf,
				            written - hashed > HASH_CHUNK
				                    ? HASH_CHUNK
				                    : written - hashed,
				            (off_t)(c * PARALLEL_CHUNK_BYTES +
				                    hashed));
				if (got <= 0)
					break;
				digest_update(dg, buf, (size_t)got);
				hashed += (uint64_t)got;
			}
			note_progress(s, en,
			              c * PARALLEL_CHUNK_BYTES + written);
		}
		rc = fetch_xfer_finish(x[slot], &m, err, &again);
		x[slot] = NULL;
		if (rc == 0 && hashed != len) {
			snprintf(err->cause, sizeof(err->cause),
			         "short range: %llu of %llu bytes",
			         (unsigned long long)hashed,
			         (unsigned long long)len);
			err->transient = true;
			rc = -EIO;
		}
		if (rc == 0)
			sync_file_range(fd, (off_t)(c * PARALLEL_CHUNK_BYTES),
			                (off_t)len, SYNC_FILE_RANGE_WRITE);
		if (rc == 0 && c == 0)
			*meta = m;
		/* Chunk c + PARALLEL_STREAMS takes the slot c leaves; the
		 * slots between are filled if the first range went alone. */
		while (rc == 0 && next < nchunks &&
		       next <= c + PARALLEL_STREAMS) {
			rc = start_chunk(s, idx, fd, next, size,
			                 &x[next % PARALLEL_STREAMS], err);
			next++;
		}
	}
	free(buf);

	/* Transfers still out after a failure end before the file goes. */
	for (slot = 0; slot < PARALLEL_STREAMS; slot++) {
		if (x[slot])
			fetch_xfer_finish(x[slot], &m, &ignored, &again);
	}
	if (rc == -EOPNOTSUPP || rc == -ESTALE) {
		pthread_mutex_lock(&s->lock);
		if (rc == -EOPNOTSUPP)
			en->no_ranges = true;
		else
			en->single_stream = true;
		pthread_mutex_unlock(&s->lock);
		err->transient = true; /* the next attempt is a single GET */
		rc = -EIO;
	}
	if (rc == 0)
		meta->size = size;
	return rc;
}

static const char *ck_prefix(enum checksum_type t)
{
	return t == CK_MD5 ? "md5" : "sha256";
}

/* Whether the cache entry at REL is one this store serves by ranges
 * right now, and so may not be evicted. */
static bool entry_busy(const char *rel, void *arg)
{
	struct store *s = arg;
	const char *hex;
	bool busy = false;
	size_t i;

	if (strncmp(rel, "ranges/", 7) != 0)
		return false;
	hex = rel + 7;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->m->count && !busy; i++) {
		busy = s->entries[i].ranged &&
		       !strncmp(s->entries[i].key + 4, hex, 64);
	}
	pthread_mutex_unlock(&s->lock);
	return busy;
}

/* Bytes to free for IDX when the disk is full. */
static uint64_t room_for(struct store *s, size_t idx)
{
	int64_t size;

	pthread_mutex_lock(&s->lock);
	size = s->entries[idx].attr.size;
	pthread_mutex_unlock(&s->lock);
	return size > 0 ? (uint64_t)size : (uint64_t)CAP_RANGE_WINDOW;
}

/* One attempt: a temporary file, the GET, the checks, the rename. */
static int download_once(struct store *s, size_t idx, struct digest *dg,
                         struct fetch_error *err, bool *again)
{
	const struct artifact *a = &s->m->items[idx];
	struct entry *en = &s->entries[idx];
	struct fetch_meta meta;
	struct fetch_xfer *x;
	char tmp[64], hex[65];
	int fd, rc;

	*again = false;
	rc = cache_tmp_new(s->cache, &fd, tmp, sizeof(tmp));
	if (rc < 0) {
		snprintf(err->cause, sizeof(err->cause),
		         "cannot create a cache file: %s", strerror(-rc));
		err->transient = false;
		return rc;
	}
	if (dg)
		digest_reset(dg);

	if (dg && parallel_size(s, idx) > 0) {
		rc = receive_parallel(s, idx, fd, dg, parallel_size(s, idx),
		                      &meta, err);
	} else {
		rc = fetch_get_start(s->engine, en->src, NULL, fd, &x, err);
		if (rc == 0)
			rc = receive(s, idx, x, fd, dg, &meta, err, again);
	}
	if (rc < 0)
		goto out_discard;

	if (dg) {
		digest_final_hex(dg, hex);
		if (strcmp(hex, a->ck_hex) != 0) {
			snprintf(err->cause, sizeof(err->cause),
			         "checksum mismatch: expected %s:%s, got %s:%s",
			         ck_prefix(a->ck_type), a->ck_hex,
			         ck_prefix(a->ck_type), hex);
			err->transient = false;
			rc = -EIO;
			goto out_discard;
		}
	}

	rc = cache_commit(s->cache, fd, tmp, en->key, meta.mtime);
	close(fd);
	if (rc < 0) {
		snprintf(err->cause, sizeof(err->cause),
		         "cannot store in the cache: %s", strerror(-rc));
		return rc;
	}
	cache_note_added(s->cache, (uint64_t)meta.size, en->key, entry_busy, s);
	return 0;

out_discard:
	cache_discard(s->cache, tmp);
	close(fd);
	return rc;
}

/* Downloads IDX with bounded retries.  Logs the one failure line. */
static int download(struct store *s, size_t idx)
{
	const struct artifact *a = &s->m->items[idx];
	struct fetch_error err;
	struct digest *dg = NULL;
	bool again = false, redirected = false, evicted = false;
	int attempt, rc;

	memset(&err, 0, sizeof(err));
	if (a->ck_type != CK_NONE) {
		rc = digest_new(a->ck_type, &dg);
		if (rc < 0)
			return rc;
	}
	for (attempt = 0; attempt <= CAP_RETRIES; attempt++) {
		if (attempt > 0 && !again)
			fetch_backoff(attempt);
		rc = download_once(s, idx, dg, &err, &again);
		if (rc == -ENOSPC && !evicted) {
			/* A full disk: make room once, then try again. */
			evicted = true;
			cache_evict(s->cache, room_for(s, idx), entry_busy, s);
			attempt--;
			continue;
		}
		if (rc == 0 || rc == -ENOSPC)
			break;
		if (again && !redirected) {
			redirected = true;
			attempt--;
			continue;
		}
		again = false;
		if (!err.transient)
			break;
		log_debug("artifact '%.200s': GET %.300s: %s, retrying",
		          a->name, s->entries[idx].src->log_url, err.cause);
	}
	digest_free(dg);
	if (rc < 0)
		log_error("artifact '%.200s': GET %.300s: %s", a->name,
		          s->entries[idx].src->log_url, err.cause);
	return rc == -ENOSPC ? rc : (rc < 0 ? -EIO : 0);
}

/* Hashes the cache file FD of IDX against the declared checksum; a file
 * that does not match is removed, so that it is fetched again.  Returns
 * 0 when it matches, -EIO otherwise. */
static int check_cached(struct store *s, size_t idx, int fd)
{
	const struct artifact *a = &s->m->items[idx];
	struct digest *dg;
	char hex[65], *buf;
	off_t off = 0;
	ssize_t got;
	int rc = -EIO;

	buf = malloc(HASH_CHUNK);
	if (!buf || digest_new(a->ck_type, &dg) < 0) {
		free(buf);
		return 0; /* cannot check now: trust the rename, as before */
	}
	for (;;) {
		got = pread(fd, buf, HASH_CHUNK, off);
		if (got <= 0)
			break;
		digest_update(dg, buf, (size_t)got);
		off += got;
	}
	if (got == 0) {
		digest_final_hex(dg, hex);
		if (strcmp(hex, a->ck_hex) == 0)
			rc = 0;
	}
	digest_free(dg);
	free(buf);
	if (rc < 0) {
		cache_file_remove(s->cache, s->entries[idx].key);
		log_warn(
		        "artifact '%.200s': the cached copy does not match its "
		        "checksum, fetching it again",
		        a->name);
	}
	return rc;
}

static bool fail_hold_over(const struct entry *en)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - en->failed_at.tv_sec) * 1000 +
	     (now.tv_nsec - en->failed_at.tv_nsec) / 1000000;
	return ms >= FAIL_HOLD_MS;
}

int store_open(struct store *s, size_t idx, int *fd)
{
	struct entry *en = &s->entries[idx];
	struct stat st;
	unsigned int gen;
	int rc;

	pthread_mutex_lock(&s->lock);
	gen = en->gen;
	for (;;) {
		if (en->data == DATA_FETCHING) {
			pthread_cond_wait(&s->data_cond, &s->lock);
			continue;
		}
		/* A download that ended while we waited, or failed just
		 * now, answers for us. */
		if (en->last_rc < 0 &&
		    (en->gen != gen || !fail_hold_over(en))) {
			rc = en->last_rc;
			goto out_unlock;
		}
		rc = cache_entry_open(s->cache, en->key, fd, &st);
		if (rc == 0 && en->gen == gen && !en->checked &&
		    s->m->items[idx].ck_type != CK_NONE) {
			/* Found from an earlier mount: checked once before this
			 * mount serves it, as a download would be. */
			pthread_mutex_unlock(&s->lock);
			rc = check_cached(s, idx, *fd);
			pthread_mutex_lock(&s->lock);
			if (rc < 0) {
				close(*fd);
				continue;
			}
		}
		if (rc == 0) {
			en->checked = true;
			cache_touch(s->cache, en->key);
			en->data = DATA_READY;
			en->attr.size = st.st_size;
			en->attr.mtime = st.st_mtime;
			en->attr.stable = true;
			en->meta = META_KNOWN;
			goto out_unlock;
		}
		if (en->gen != gen) {
			/* Verified and then removed from under us. */
			rc = -EIO;
			goto out_unlock;
		}

		en->data = DATA_FETCHING;
		en->progress = 0;
		pthread_mutex_unlock(&s->lock);
		rc = download(s, idx);
		pthread_mutex_lock(&s->lock);
		en->data = DATA_NONE;
		en->last_rc = rc;
		en->gen++;
		clock_gettime(CLOCK_MONOTONIC, &en->failed_at);
		pthread_cond_broadcast(&s->data_cond);
		if (rc < 0)
			goto out_unlock;
		gen = en->gen - 1; /* our own download: now open its result */
	}

out_unlock:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_progress(struct store *s, size_t idx, uint64_t *done, int64_t *total)
{
	struct entry *en = &s->entries[idx];
	int rc = -ENODATA;

	pthread_mutex_lock(&s->lock);
	if (en->data == DATA_FETCHING) {
		*done = en->progress;
		*total = en->meta == META_KNOWN ? en->attr.size : -1;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void store_set_range_threshold(struct store *s, int64_t bytes)
{
	s->range_threshold = bytes;
}

/* Whether IDX is to be served by ranges, opening its partial entry if
 * so.  Store lock held. */
static bool use_ranges(struct store *s, size_t idx)
{
	const struct artifact *a = &s->m->items[idx];
	struct entry *en = &s->entries[idx];
	char pinned[RANGED_VALIDATOR];
	struct stat st;

	if (en->no_ranges)
		return false; /* downloaded whole from now on */
	if (en->ranged)
		return true;
	if (a->ck_type != CK_NONE || s->range_threshold <= 0 ||
	    en->attr.size < s->range_threshold || en->meta != META_KNOWN ||
	    en->meta_failed_at)
		return false;
	if (cache_entry_stat(s->cache, en->key, &st) == 0)
		return false; /* the whole file is here already */

	/* A partial entry from an earlier mount keeps its own pin. */
	if (!en->condition &&
	    ranged_validator_of(s->cache, en->key, pinned, sizeof(pinned)) == 0)
		en->condition = strdup(pinned);
	if (ranged_open(s->cache, en->key, en->attr.size, en->attr.mtime,
	                en->condition ? en->condition : "", &en->ranged) < 0)
		return false;
	return true;
}

int store_handle_open(struct store *s, size_t idx, struct store_handle **out)
{
	struct entry *en = &s->entries[idx];
	struct store_handle *h;
	struct store_attr attr;
	bool ranges;
	int rc;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->idx = idx;
	h->fd = -1;
	h->window = RANGED_BLOCK;
	pthread_mutex_init(&h->lock, NULL);

	store_attr(s, idx, &attr);
	pthread_mutex_lock(&s->lock);
	ranges = !en->stale && use_ranges(s, idx);
	h->ranged = ranges ? en->ranged : NULL;
	rc = en->stale ? -ESTALE : 0;
	pthread_mutex_unlock(&s->lock);

	if (rc == 0 && !ranges)
		rc = store_open(s, idx, &h->fd);
	if (rc < 0) {
		pthread_mutex_destroy(&h->lock);
		free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void store_handle_close(struct store_handle *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int start_range(struct store *s, size_t idx, struct range_req *rq)
{
	struct entry *en = &s->entries[idx];
	struct ranged *r = en->ranged;
	uint64_t from = (uint64_t)rq->first * RANGED_BLOCK;
	uint64_t to = (uint64_t)(rq->last + 1) * RANGED_BLOCK;
	char range[64];

	if (to > (uint64_t)ranged_size(r))
		to = (uint64_t)ranged_size(r);
	rq->want_bytes = to - from;
	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)from,
	         (unsigned long long)to - 1);
	return fetch_get_range_start(
	        s->engine, en->src, range,
	        ranged_validator(r)[0] ? ranged_validator(r) : NULL,
	        ranged_fd(r), &rq->x, &rq->err);
}

static int finish_range(struct range_req *rq)
{
	struct fetch_meta meta;
	bool again;
	int rc;

	rc = fetch_xfer_finish(rq->x, &meta, &rq->err, &again);
	if (rc == 0 && (uint64_t)meta.size != rq->want_bytes) {
		snprintf(rq->err.cause, sizeof(rq->err.cause),
		         "short range: %lld of %llu bytes",
		         (long long)meta.size,
		         (unsigned long long)rq->want_bytes);
		rq->err.transient = true;
		rc = -EIO;
	}
	return rc;
}

/* Fetches the claimed runs in REQS, in parallel, retrying transient
 * failures; records each run in the partial entry.  Returns 0 or the
 * first failure, logged once. */
static int fetch_runs(struct store *s, size_t idx, struct range_req *reqs,
                      size_t n)
{
	const struct artifact *a = &s->m->items[idx];
	struct entry *en = &s->entries[idx];
	int attempt, rc = 0;
	size_t i, left;

	for (i = 0; i < n; i++)
		reqs[i].rc = -EAGAIN;
	for (attempt = 0; attempt <= CAP_RETRIES; attempt++) {
		if (attempt > 0)
			fetch_backoff(attempt);
		for (i = 0; i < n; i++) {
			if (reqs[i].rc != -EAGAIN)
				continue;
			reqs[i].rc = start_range(s, idx, &reqs[i]);
			reqs[i].running = reqs[i].rc == 0;
		}
		left = 0;
		for (i = 0; i < n; i++) {
			if (!reqs[i].running)
				continue;
			reqs[i].running = false;
			reqs[i].rc = finish_range(&reqs[i]);
			if (reqs[i].rc == -EIO && reqs[i].err.transient) {
				reqs[i].rc = -EAGAIN;
				left++;
			}
		}
		if (!left)
			break;
	}

	for (i = 0; i < n; i++) {
		if (reqs[i].rc == -EAGAIN)
			reqs[i].rc = -EIO;
		reqs[i].rc = ranged_complete(en->ranged, reqs[i].first,
		                             reqs[i].last, reqs[i].rc);
		if (reqs[i].rc == 0)
			cache_note_added(
			        s->cache,
			        (uint64_t)(reqs[i].last - reqs[i].first + 1) *
			                RANGED_BLOCK,
			        NULL, entry_busy, s);
		if (reqs[i].rc < 0 && rc == 0) {
			rc = reqs[i].rc;
			/* These two are told once by their callers. */
			if (rc != -EOPNOTSUPP && rc != -ESTALE)
				log_error("artifact '%.200s': GET %.300s "
				          "(bytes from %llu): %s",
				          a->name, en->src->log_url,
				          (unsigned long long)reqs[i].first *
				                  RANGED_BLOCK,
				          reqs[i].err.cause);
		}
	}
	return rc;
}

/* Claims the absent blocks of FIRST..LAST and gathers them into runs of
 * at most CAP_RANGE_REQUEST bytes.  Returns the number of runs. */
static size_t claim_runs(struct ranged *r, size_t first, size_t last,
                         struct range_req *reqs, size_t max)
{
	size_t per = CAP_RANGE_REQUEST / RANGED_BLOCK, n = 0, b;

	for (b = first; b <= last; b++) {
		if (n == max)
			break;
		if (ranged_claim(r, b) != RANGED_MINE)
			continue;
		if (n > 0 && reqs[n - 1].last + 1 == b &&
		    reqs[n - 1].last - reqs[n - 1].first + 1 < per) {
			reqs[n - 1].last = b;
			continue;
		}
		reqs[n].first = reqs[n].last = b;
		n++;
	}
	return n;
}

static bool is_stale(struct store *s, size_t idx)
{
	bool stale;

	pthread_mutex_lock(&s->lock);
	stale = s->entries[idx].stale;
	pthread_mutex_unlock(&s->lock);
	return stale;
}

static void mark_stale(struct store *s, size_t idx)
{
	const struct artifact *a = &s->m->items[idx];
	struct entry *en = &s->entries[idx];
	bool told;

	pthread_mutex_lock(&s->lock);
	told = en->stale;
	en->stale = true;
	pthread_mutex_unlock(&s->lock);
	if (told)
		return;
	/* The next mount starts from the new version. */
	ranged_remove(s->cache, en->key);
	log_error("artifact '%.200s': GET %.300s: the object changed at the "
	          "origin; reads fail with ESTALE until remounted",
	          a->name, en->src->log_url);
}

/* Records that IDX's origin ignores ranges; says so once. */
static void note_no_ranges(struct store *s, size_t idx)
{
	struct entry *en = &s->entries[idx];

	pthread_mutex_lock(&s->lock);
	if (!en->no_ranges)
		log_info("artifact '%.200s': %.300s ignores byte ranges, "
		         "downloading it whole",
		         s->m->items[idx].name, en->src->log_url);
	en->no_ranges = true;
	pthread_mutex_unlock(&s->lock);
}

static bool ranges_refused(struct store *s, size_t idx)
{
	bool refused;

	pthread_mutex_lock(&s->lock);
	refused = s->entries[idx].no_ranges;
	pthread_mutex_unlock(&s->lock);
	return refused;
}

/* The origin ignores ranges: this artifact is downloaded whole from now
 * on, and this handle reads the whole file. */
static int fall_back_whole(struct store *s, struct store_handle *h, int *fd)
{
	int rc;

	note_no_ranges(s, h->idx);
	pthread_mutex_lock(&h->lock);
	if (h->fd >= 0) {
		*fd = h->fd; /* another read of this handle got here first */
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	rc = store_open(s, h->idx, &h->fd);
	if (rc == 0) {
		h->ranged = NULL;
		*fd = h->fd;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* Fetches a read-ahead job's runs and records what came of them. */
static void run_ra_job(struct store *s, struct ra_job *job)
{
	int rc;

	rc = fetch_runs(s, job->idx, job->reqs, job->n);
	if (rc == -ESTALE)
		mark_stale(s, job->idx);
	else if (rc == -EOPNOTSUPP)
		note_no_ranges(s, job->idx);
	free(job->reqs);
	free(job);
}

static void *ra_worker(void *arg)
{
	struct store *s = arg;
	struct ra_job *job;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stopping && !s->ra_head)
			pthread_cond_wait(&s->ra_cond, &s->lock);
		if (s->stopping && !s->ra_head)
			break;
		job = s->ra_head;
		s->ra_head = job->next;
		if (!s->ra_head)
			s->ra_tail = &s->ra_head;
		pthread_mutex_unlock(&s->lock);
		run_ra_job(s, job);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Claims the absent blocks of FIRST..LAST of IDX and hands them to the
 * read-ahead workers, or fetches them here when there are none. */
static void read_ahead(struct store *s, size_t idx, struct ranged *r,
                       size_t first, size_t last)
{
	size_t max = CAP_RANGE_WINDOW / RANGED_BLOCK + 2;
	struct ra_job *job;

	job = calloc(1, sizeof(*job));
	if (job)
		job->reqs = calloc(max, sizeof(*job->reqs));
	if (!job || !job->reqs) {
		free(job);
		return; /* read-ahead is a hint: the reads fetch what they need
		         */
	}
	job->idx = idx;
	job->n = claim_runs(r, first, last, job->reqs, max);
	if (job->n == 0) {
		free(job->reqs);
		free(job);
		return;
	}

	pthread_mutex_lock(&s->lock);
	if (s->nra > 0 && !s->stopping) {
		*s->ra_tail = job;
		s->ra_tail = &job->next;
		pthread_cond_signal(&s->ra_cond);
		job = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (job)
		run_ra_job(s, job);
}

/*
 * Where the next read-ahead goes, for a read of blocks up to LAST ending
 * at END: the window doubles while reads follow on and falls back to one
 * block on a jump; a new stretch of the window is asked for once less
 * than half of it lies ahead.  Returns whether *ra_first..*ra_last is to
 * be read ahead.
 */
static bool plan_read_ahead(struct store_handle *h, uint64_t off, uint64_t end,
                            size_t last, size_t nblocks, size_t *ra_first,
                            size_t *ra_last)
{
	size_t window_blocks, until;
	bool sequential, go = false;

	pthread_mutex_lock(&h->lock);
	sequential = h->next_off && off == h->next_off;
	if (sequential) {
		h->window = h->window * 2 > CAP_RANGE_WINDOW ? CAP_RANGE_WINDOW
		                                             : h->window * 2;
	} else if (off != h->next_off) {
		h->window = RANGED_BLOCK;
		h->ra_next = last + 1;
	}
	h->next_off = end;
	if (h->ra_next <= last)
		h->ra_next = last + 1;

	window_blocks = (size_t)(h->window / RANGED_BLOCK);
	until = last + window_blocks;
	if (until >= nblocks)
		until = nblocks - 1;
	if (h->ra_next <= until &&
	    (h->ra_next - last - 1) * 2 <= window_blocks) {
		*ra_first = h->ra_next;
		*ra_last = until;
		h->ra_next = until + 1;
		go = true;
	}
	pthread_mutex_unlock(&h->lock);
	return go;
}

int store_handle_read(struct store *s, struct store_handle *h, uint64_t off,
                      size_t size, int *fd)
{
	struct range_req reqs[CAP_RANGE_WINDOW / RANGED_BLOCK + 2];
	struct ranged *r = h->ranged;
	size_t first, last, ra_first, ra_last, n, b;
	enum ranged_claim claim;
	uint64_t end, fsize;
	int rc;

	if (!r) {
		*fd = h->fd;
		return 0;
	}
	if (is_stale(s, h->idx))
		return -ESTALE;
	fsize = (uint64_t)ranged_size(r);
	if (off >= fsize || size == 0) {
		*fd = ranged_fd(r);
		return 0;
	}
	end = off + size > fsize ? fsize : off + size;
	first = (size_t)(off / RANGED_BLOCK);
	last = (size_t)((end - 1) / RANGED_BLOCK);

	/* The read's own blocks are claimed first, so that read-ahead
	 * never holds them; read-ahead goes out before they are waited on. */
	n = claim_runs(r, first, last, reqs, sizeof(reqs) / sizeof(reqs[0]));
	if (plan_read_ahead(h, off, end, last, ranged_block_count(r), &ra_first,
	                    &ra_last))
		read_ahead(s, h->idx, r, ra_first, ra_last);
	rc = n ? fetch_runs(s, h->idx, reqs, n) : 0;
	if (rc == -ESTALE) {
		mark_stale(s, h->idx);
		return rc;
	}
	if (rc == -EOPNOTSUPP || ranges_refused(s, h->idx))
		return fall_back_whole(s, h, fd);

	/* Blocks of this read that others were fetching. */
	for (b = first; b <= last; b++) {
		for (;;) {
			ranged_wait(r, b);
			claim = ranged_claim(r, b);
			if (claim != RANGED_BUSY)
				break;
		}
		if (claim == RANGED_READY)
			continue;
		ranged_unclaim(r, b);
		if (is_stale(s, h->idx))
			return -ESTALE;
		if (ranges_refused(s, h->idx))
			return fall_back_whole(s, h, fd);
		return rc < 0 ? rc : ranged_last_error(r);
	}
	*fd = ranged_fd(r);
	return 0;
}
