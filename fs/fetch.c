/*
 * The fetch engine.  One thread owns the curl multi handle; other threads
 * hand it transfers through a queue and wait on the transfer's condition
 * variable.  The engine thread writes bodies straight into the caller's
 * file and never blocks on anything but curl and those writes.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "caps.h"
#include "fetch.h"
#include "log.h"
#include "banned.h"

/* Wake a waiting hasher only once this much more body has arrived. */
#define XFER_WAKE_BYTES (1L << 20)
#define XFER_BUFFER     (512L * 1024)

struct fetch_engine {
	struct fetch_config cfg;
	CURLM *multi;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;     /* guards everything below and all xfers */
	struct fetch_xfer *queue; /* submitted, not yet on the multi handle */
	bool stopping;

	struct fetch_xfer *active; /* on the multi handle; engine thread only */
	volatile sig_atomic_t interrupted; /* set from a signal handler */
};

struct fetch_xfer {
	struct fetch_engine *engine;
	struct source *src;
	CURL *easy;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	struct fetch_xfer *next;        /* queue link, engine lock */
	struct fetch_xfer *next_active; /* engine thread only */

	/* Written by the engine thread; read under the engine lock. */
	int fd;            /* -1 for HEAD */
	off_t base;        /* file offset of the first body byte */
	uint64_t written;  /* body bytes in the file */
	uint64_t want;     /* wake the waiter once written reaches this */
	int write_errno;   /* a failed write of the body */
	bool want_partial; /* a range was asked: only a 206 will do */
	bool not_partial;  /* ... and the origin sent the whole object */
	bool done;
	CURLcode code;
	char etag[CAP_HEADER_VALUE];
	char *body; /* the body of a failed response, capped */
	size_t body_len;
	pthread_cond_t cond;
};

static long response_code(CURL *easy)
{
	long status = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static bool is_success(long status)
{
	return status >= 200 && status < 300;
}

static size_t keep_error_body(struct fetch_xfer *x, const char *data,
                              size_t len)
{
	size_t room = CAP_ERROR_BODY_BYTES - x->body_len;
	char *grown;

	if (len > room)
		len = room;
	if (len == 0)
		return 0;
	grown = realloc(x->body, x->body_len + len + 1);
	if (!grown)
		return 0;
	x->body = grown;
	memcpy(x->body + x->body_len, data, len);
	x->body_len += len;
	x->body[x->body_len] = '\0';
	return len;
}

static int write_all(int fd, const char *data, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, data, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch_xfer *x = arg;
	size_t len = size * nmemb;
	int rc;

	if (x->want_partial && response_code(x->easy) == 200) {
		/* The origin ignores ranges: this body is not the range. */
		x->not_partial = true;
		return 0;
	}
	if (!is_success(response_code(x->easy))) {
		/* Past the cap the rest of an error body is not needed. */
		keep_error_body(x, data, len);
		return len;
	}
	if (x->fd < 0)
		return len;

	rc = write_all(x->fd, data, len, x->base + (off_t)x->written);
	if (rc < 0) {
		x->write_errno = -rc;
		return 0;
	}

	pthread_mutex_lock(&x->engine->lock);
	x->written += len;
	if (x->written >= x->want)
		pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->engine->lock);
	return len;
}

static void copy_header_value(char *dst, size_t n, const char *v, size_t len)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 &&
	       (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (len >= n)
		len = 0; /* an oversized value is treated as absent */
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch_xfer *x = arg;
	size_t len = size * nmemb;
	static const char etag[] = "etag:";

	/* Each response of a redirect chain starts with its status line. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		x->etag[0] = '\0';
	else if (len > sizeof(etag) - 1 &&
	         strncasecmp(data, etag, sizeof(etag) - 1) == 0)
		copy_header_value(x->etag, sizeof(x->etag),
		                  data + sizeof(etag) - 1,
		                  len - (sizeof(etag) - 1));
	return len;
}

static bool is_transient_code(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static bool is_transient_status(long status)
{
	return status >= 500 || status == 429 || status == 408;
}

static void set_common_options(struct fetch_engine *e, struct fetch_xfer *x,
                               enum fetch_method method)
{
	CURL *c = x->easy;

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)CAP_REDIRECTS);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, e->cfg.connect_timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, e->cfg.low_speed_time);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, e->cfg.low_speed_limit);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, XFER_BUFFER);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT,
	                 "artifactfs/" ARTIFACTFS_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	if (e->cfg.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->cfg.ca_file);
	if (method == FETCH_HEAD)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
}

static void xfer_free(struct fetch_xfer *x)
{
	if (!x)
		return;
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	pthread_cond_destroy(&x->cond);
	free(x->body);
	free(x);
}

static int xfer_new(struct fetch_engine *e, struct source *src,
                    enum fetch_method method, const char *range, int fd,
                    struct fetch_xfer **out, struct fetch_error *err)
{
	struct fetch_xfer *x;
	int rc;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->engine = e;
	x->src = src;
	x->fd = fd;
	x->want = XFER_WAKE_BYTES;
	pthread_cond_init(&x->cond, NULL);
	x->easy = curl_easy_init();
	if (!x->easy) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (range)
		x->base = (off_t)strtoull(range, NULL, 10);

	set_common_options(e, x, method);
	rc = src->ops->prepare(src, method, range, x->easy, &x->hdrs,
	                       err->cause, sizeof(err->cause));
	if (rc < 0)
		goto out_free;
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	*out = x;
	return 0;

out_free:
	xfer_free(x);
	return rc;
}

static void submit(struct fetch_engine *e, struct fetch_xfer *x)
{
	pthread_mutex_lock(&e->lock);
	if (e->stopping) {
		x->done = true;
		x->code = CURLE_ABORTED_BY_CALLBACK;
	} else {
		x->next = e->queue;
		e->queue = x;
	}
	pthread_mutex_unlock(&e->lock);
	curl_multi_wakeup(e->multi);
}

static void unlink_active(struct fetch_engine *e, struct fetch_xfer *x)
{
	struct fetch_xfer **p;

	for (p = &e->active; *p; p = &(*p)->next_active) {
		if (*p == x) {
			*p = x->next_active;
			return;
		}
	}
}

static void finish_done(struct fetch_engine *e)
{
	struct fetch_xfer *x;
	CURLcode code;
	CURLMsg *msg;
	int left;

	for (;;) {
		msg = curl_multi_info_read(e->multi, &left);
		if (!msg)
			break;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		                  (char **)&x);
		/* MSG is not valid once its handle is removed. */
		code = msg->data.result;
		curl_multi_remove_handle(e->multi, msg->easy_handle);
		unlink_active(e, x);
		pthread_mutex_lock(&e->lock);
		x->code = code;
		x->done = true;
		pthread_cond_broadcast(&x->cond);
		pthread_mutex_unlock(&e->lock);
	}
}

static void add_queued(struct fetch_engine *e)
{
	struct fetch_xfer *x, *next;

	pthread_mutex_lock(&e->lock);
	x = e->queue;
	e->queue = NULL;
	pthread_mutex_unlock(&e->lock);

	for (; x; x = next) {
		next = x->next;
		if (curl_multi_add_handle(e->multi, x->easy) == CURLM_OK) {
			x->next_active = e->active;
			e->active = x;
			continue;
		}
		pthread_mutex_lock(&e->lock);
		x->code = CURLE_OUT_OF_MEMORY;
		x->done = true;
		pthread_cond_broadcast(&x->cond);
		pthread_mutex_unlock(&e->lock);
	}
}

/* Fails every transfer still running or queued; used when stopping. */
static void abort_all(struct fetch_engine *e)
{
	struct fetch_xfer *x;

	add_queued(e);
	while (e->active) {
		x = e->active;
		e->active = x->next_active;
		curl_multi_remove_handle(e->multi, x->easy);
		pthread_mutex_lock(&e->lock);
		x->code = CURLE_ABORTED_BY_CALLBACK;
		x->done = true;
		pthread_cond_broadcast(&x->cond);
		pthread_mutex_unlock(&e->lock);
	}
}

static void *engine_main(void *arg)
{
	struct fetch_engine *e = arg;
	int running = 0;
	bool stopping;

	for (;;) {
		pthread_mutex_lock(&e->lock);
		if (e->interrupted)
			e->stopping = true;
		stopping = e->stopping;
		pthread_mutex_unlock(&e->lock);
		if (stopping)
			break;

		add_queued(e);
		curl_multi_perform(e->multi, &running);
		finish_done(e);
		curl_multi_poll(e->multi, NULL, 0, 1000, NULL);
	}
	abort_all(e);
	return NULL;
}

int fetch_engine_new(const struct fetch_config *cfg, struct fetch_engine **out)
{
	struct fetch_engine *e;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = *cfg;
	pthread_mutex_init(&e->lock, NULL);
	e->multi = curl_multi_init();
	if (!e->multi) {
		fetch_engine_free(e);
		return -ENOMEM;
	}
	/* No per-host limit: an origin that hangs must not hold back the
	 * others on the same host.  Transfers at once are bounded by the
	 * threads that wait for them (FUSE workers, metadata workers). */
	curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)CAP_IDLE_CONNS);
	*out = e;
	return 0;
}

void fetch_engine_interrupt(struct fetch_engine *e)
{
	e->interrupted = 1;
}

int fetch_engine_start(struct fetch_engine *e)
{
	int rc;

	rc = pthread_create(&e->thread, NULL, engine_main, e);
	if (rc)
		return -rc;
	e->started = true;
	return 0;
}

void fetch_engine_free(struct fetch_engine *e)
{
	if (!e)
		return;
	if (e->started) {
		pthread_mutex_lock(&e->lock);
		e->stopping = true;
		pthread_mutex_unlock(&e->lock);
		curl_multi_wakeup(e->multi);
		pthread_join(e->thread, NULL);
	}
	if (e->multi)
		curl_multi_cleanup(e->multi);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

static void wait_done(struct fetch_xfer *x)
{
	struct fetch_engine *e = x->engine;

	pthread_mutex_lock(&e->lock);
	while (!x->done)
		pthread_cond_wait(&x->cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
}

/* Reads the outcome of an ended transfer.  Returns 0 on a whole 2xx
 * response; otherwise -EIO, a cause in *err, and, when the source asked
 * for it, *again set. */
static int xfer_outcome(struct fetch_xfer *x, struct fetch_meta *meta,
                        struct fetch_error *err, bool *again)
{
	long status = response_code(x->easy);
	curl_off_t len = -1, filetime = -1;

	memset(err, 0, sizeof(*err));
	err->status = status;
	if (x->not_partial) {
		snprintf(err->cause, sizeof(err->cause),
		         "the origin does not serve byte ranges");
		return -EOPNOTSUPP;
	}
	if (x->want_partial && status == 412) {
		snprintf(err->cause, sizeof(err->cause),
		         "the object changed at the origin (HTTP 412)");
		return -ESTALE;
	}
	if (x->code == CURLE_WRITE_ERROR && x->write_errno) {
		snprintf(err->cause, sizeof(err->cause),
		         "writing the cache: %s", strerror(x->write_errno));
		return x->write_errno == ENOSPC ? -ENOSPC : -EIO;
	}
	if (x->code != CURLE_OK) {
		snprintf(err->cause, sizeof(err->cause), "%s",
		         x->errbuf[0] ? x->errbuf
		                      : curl_easy_strerror(x->code));
		err->transient = is_transient_code(x->code);
		return -EIO;
	}
	if (!is_success(status)) {
		*again = x->src->ops->failed(x->src, status, x->body,
		                             x->body_len, err->cause,
		                             sizeof(err->cause));
		err->transient = is_transient_status(status);
		return -EIO;
	}

	curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
	curl_easy_getinfo(x->easy, CURLINFO_FILETIME_T, &filetime);
	meta->size = x->fd >= 0 ? (int64_t)x->written : (int64_t)len;
	meta->mtime = filetime > 0 ? (time_t)filetime : 0;
	memcpy(meta->etag, x->etag, sizeof(meta->etag));
	return 0;
}

int fetch_head(struct fetch_engine *e, struct source *src,
               struct fetch_meta *meta, struct fetch_error *err)
{
	struct fetch_meta got;
	struct fetch_xfer *x;
	bool again = false, redirected = false;
	int attempt, rc = -EIO;

	for (attempt = 0; attempt <= CAP_RETRIES; attempt++) {
		if (attempt > 0 && !again)
			fetch_backoff(attempt);
		again = false;
		rc = xfer_new(e, src, FETCH_HEAD, NULL, -1, &x, err);
		if (rc < 0)
			return rc;
		submit(e, x);
		wait_done(x);
		rc = xfer_outcome(x, &got, err, &again);
		xfer_free(x);
		if (rc == 0) {
			*meta = got;
			return 0;
		}
		/* A source may redirect itself once, without a delay. */
		if (again && !redirected) {
			redirected = true;
			attempt--;
			continue;
		}
		again = false;
		if (!err->transient)
			break;
	}
	return rc;
}

int fetch_get_start(struct fetch_engine *e, struct source *src,
                    const char *range, int fd, struct fetch_xfer **out,
                    struct fetch_error *err)
{
	struct fetch_xfer *x;
	int rc;

	memset(err, 0, sizeof(*err));
	rc = xfer_new(e, src, FETCH_GET, range, fd, &x, err);
	if (rc < 0)
		return rc;
	submit(e, x);
	*out = x;
	return 0;
}

int fetch_get_range_start(struct fetch_engine *e, struct source *src,
                          const char *range, const char *condition, int fd,
                          struct fetch_xfer **out, struct fetch_error *err)
{
	struct curl_slist *more;
	struct fetch_xfer *x;
	int rc;

	memset(err, 0, sizeof(*err));
	rc = xfer_new(e, src, FETCH_GET, range, fd, &x, err);
	if (rc < 0)
		return rc;
	x->want_partial = true;
	if (condition) {
		more = curl_slist_append(x->hdrs, condition);
		if (!more) {
			xfer_free(x);
			return -ENOMEM;
		}
		x->hdrs = more;
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	}
	submit(e, x);
	*out = x;
	return 0;
}

void fetch_xfer_wait(struct fetch_xfer *x, uint64_t have, uint64_t *written,
                     bool *done)
{
	struct fetch_engine *e = x->engine;
	struct timespec until;

	/* At most a second, so that a slow transfer still reports progress. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&e->lock);
	x->want = have + XFER_WAKE_BYTES;
	while (!x->done && x->written < x->want) {
		if (pthread_cond_timedwait(&x->cond, &e->lock, &until) ==
		    ETIMEDOUT)
			break;
	}
	*written = x->written;
	*done = x->done;
	pthread_mutex_unlock(&e->lock);
}

int fetch_xfer_finish(struct fetch_xfer *x, struct fetch_meta *meta,
                      struct fetch_error *err, bool *again)
{
	struct fetch_meta got;
	int rc;

	wait_done(x);
	*again = false;
	rc = xfer_outcome(x, &got, err, again);
	xfer_free(x);
	if (rc == 0)
		*meta = got;
	return rc;
}

void fetch_backoff(int attempt)
{
	unsigned int jitter = 0;
	long ms = DEF_BACKOFF_MS;
	struct timespec ts;

	while (--attempt > 0 && ms < 5000)
		ms *= 2;
	RAND_bytes((unsigned char *)&jitter, sizeof(jitter));
	ms = ms / 2 + (long)(jitter % (unsigned int)(ms / 2 + 1));
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}
