/*
 * The test origin: an acceptor thread, one thread per connection, and a
 * route table under one lock.  Each request takes a snapshot of its route
 * under the lock, then answers from the snapshot, so that a test may
 * replace a route while older requests are still being answered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpstub.h"
#include "banned.h"

#define REQUEST_HEAD_MAX 16384
#define REQUEST_BODY_MAX 65536
#define TARGET_MAX       8192
#define RESPONSE_HEAD    8192

struct slot {
	bool used;
	struct httpstub_route r; /* strings and body owned */
	unsigned int served;     /* requests answered, for fail_first */
	unsigned int n_get, n_head, n_other;
};

struct conn {
	struct httpstub *s;
	pthread_t thread;
	int fd; /* closed by httpstub_stop, after the thread ended */
	struct conn *next;
};

struct httpstub {
	int listen_fd;
	int port;
	int stop_pipe[2]; /* readable once stopping: wakes every poll */
	pthread_t acceptor;
	bool acceptor_started;

	pthread_mutex_t lock; /* guards everything below */
	struct slot slots[HTTPSTUB_MAX_ROUTES];
	struct conn *conns;
	unsigned int misses, connections, requests;
	unsigned int answered; /* requests before the last httpstub_answer */
	char last_target[TARGET_MAX];
	char last_head[REQUEST_HEAD_MAX];
	char last_body[REQUEST_BODY_MAX + 1];
};

/* What one request is answered with, taken from its route. */
struct answer {
	char head[RESPONSE_HEAD];
	size_t head_len;
	char *body;
	size_t body_len;
	bool send_body;
	bool close_after;
	int delay_ms;
	bool hang;
	bool truncate;
	size_t truncate_at;
	size_t trickle_bytes;
	int trickle_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits up to MS milliseconds (forever when negative) for FD (ignored when
 * negative) to become readable.  Returns 1 when it is, 0 on timeout, -1
 * once the server is stopping.
 */
static int wait_fd(struct httpstub *s, int fd, int ms)
{
	int64_t deadline = now_ms() + ms;
	struct pollfd p[2];
	int left, rc;

	for (;;) {
		left = -1;
		if (ms >= 0) {
			left = (int)(deadline - now_ms());
			if (left < 0)
				left = 0;
		}
		p[0].fd = s->stop_pipe[0];
		p[0].events = POLLIN;
		p[1].fd = fd;
		p[1].events = POLLIN;
		p[0].revents = 0;
		p[1].revents = 0;
		rc = poll(p, 2, left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0 || p[0].revents)
			return -1;
		if (p[1].revents)
			return 1;
		if (ms >= 0 && left == 0)
			return 0;
	}
}

static int send_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static char *dup_or_null(const char *v)
{
	return v ? strdup(v) : NULL;
}

static void route_clear(struct httpstub_route *r)
{
	free((char *)r->target);
	free((void *)r->body);
	free((char *)r->etag);
	free((char *)r->last_modified);
	free((char *)r->content_encoding);
	free((char *)r->location);
	memset(r, 0, sizeof(*r));
}

static int route_copy(struct httpstub_route *dst,
                      const struct httpstub_route *r)
{
	void *body = NULL;

	*dst = *r;
	dst->body = NULL;
	dst->etag = NULL;
	dst->last_modified = NULL;
	dst->content_encoding = NULL;
	dst->location = NULL;
	dst->target = strdup(r->target);
	body = malloc(r->body_len ? r->body_len : 1);
	if (body && r->body_len)
		memcpy(body, r->body, r->body_len);
	dst->body = body;
	dst->etag = dup_or_null(r->etag);
	dst->last_modified = dup_or_null(r->last_modified);
	dst->content_encoding = dup_or_null(r->content_encoding);
	dst->location = dup_or_null(r->location);
	if (!dst->target || !dst->body || (r->etag && !dst->etag) ||
	    (r->last_modified && !dst->last_modified) ||
	    (r->content_encoding && !dst->content_encoding) ||
	    (r->location && !dst->location)) {
		route_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

int httpstub_route(struct httpstub *s, const struct httpstub_route *r)
{
	struct httpstub_route copy;
	struct slot *free_slot = NULL, *sl = NULL;
	int i, rc;

	rc = route_copy(&copy, r);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < HTTPSTUB_MAX_ROUTES; i++) {
		if (s->slots[i].used &&
		    strcmp(s->slots[i].r.target, r->target) == 0) {
			sl = &s->slots[i];
			break;
		}
		if (!s->slots[i].used && !free_slot)
			free_slot = &s->slots[i];
	}
	if (!sl)
		sl = free_slot;
	if (sl) {
		route_clear(&sl->r);
		memset(sl, 0, sizeof(*sl));
		sl->used = true;
		sl->r = copy;
	}
	pthread_mutex_unlock(&s->lock);
	if (!sl) {
		route_clear(&copy);
		return -ENOSPC;
	}
	return 0;
}

static struct slot *find_slot(struct httpstub *s, const char *target)
{
	int i;

	for (i = 0; i < HTTPSTUB_MAX_ROUTES; i++)
		if (s->slots[i].used &&
		    strcmp(s->slots[i].r.target, target) == 0)
			return &s->slots[i];
	return NULL;
}

unsigned int httpstub_count(struct httpstub *s, const char *target,
                            const char *method)
{
	struct slot *sl;
	unsigned int n = 0;

	pthread_mutex_lock(&s->lock);
	sl = find_slot(s, target);
	if (sl && !method)
		n = sl->n_get + sl->n_head + sl->n_other;
	else if (sl && strcmp(method, "GET") == 0)
		n = sl->n_get;
	else if (sl && strcmp(method, "HEAD") == 0)
		n = sl->n_head;
	else if (sl)
		n = sl->n_other;
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned int httpstub_misses(struct httpstub *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->misses;
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned int httpstub_connections(struct httpstub *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->connections;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Value of header NAME in HEAD (a request head, lines ending "\r\n"). */
static void header_value(const char *head, const char *name, char *out,
                         size_t n)
{
	size_t nlen = strlen(name), len;
	const char *line, *end;

	out[0] = '\0';
	line = strstr(head, "\r\n");
	while (line) {
		line += 2;
		end = strstr(line, "\r\n");
		if (!end)
			end = line + strlen(line);
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			line += nlen + 1;
			while (line < end && (*line == ' ' || *line == '\t'))
				line++;
			len = (size_t)(end - line);
			if (len >= n)
				len = n - 1;
			memcpy(out, line, len);
			out[len] = '\0';
			return;
		}
		line = *end ? end : NULL;
	}
}

void httpstub_last(struct httpstub *s, char *target, size_t tn,
                   const char *name, char *value, size_t vn)
{
	pthread_mutex_lock(&s->lock);
	snprintf(target, tn, "%s", s->last_target);
	if (value)
		header_value(s->last_head, name, value, vn);
	pthread_mutex_unlock(&s->lock);
}

bool httpstub_saw(struct httpstub *s, const char *text)
{
	bool saw;

	pthread_mutex_lock(&s->lock);
	saw = strstr(s->last_head, text) || strstr(s->last_body, text);
	pthread_mutex_unlock(&s->lock);
	return saw;
}

unsigned int httpstub_requests(struct httpstub *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->requests;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int httpstub_answer(struct httpstub *s, const char *target, int status,
                    const char *body)
{
	struct httpstub_route r = {
	        .target = target,
	        .status = status,
	        .body = body,
	        .body_len = strlen(body),
	};
	int rc;

	rc = httpstub_route(s, &r);
	pthread_mutex_lock(&s->lock);
	s->answered = s->requests;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

unsigned int httpstub_hits(struct httpstub *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->requests - s->answered;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 416:
		return "Range Not Satisfiable";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

static void add_header(struct answer *a, const char *name, const char *value)
{
	int n;

	if (!value)
		return;
	n = snprintf(a->head + a->head_len, sizeof(a->head) - a->head_len,
	             "%s: %s\r\n", name, value);
	if (n > 0 && (size_t)n < sizeof(a->head) - a->head_len)
		a->head_len += (size_t)n;
}

/* Picks the bytes of a "bytes=a-b" RANGE of a body of LEN bytes.  Returns
 * false when the range cannot be served. */
static bool parse_range(const char *range, size_t len, size_t *from, size_t *to)
{
	unsigned long a, b;
	char *end;

	if (strncmp(range, "bytes=", 6) != 0)
		return false;
	errno = 0;
	a = strtoul(range + 6, &end, 10);
	if (errno || *end != '-')
		return false;
	b = strtoul(end + 1, &end, 10);
	if (errno || *end != '\0' || a > b || a >= len)
		return false;
	if (b >= len)
		b = len - 1;
	*from = a;
	*to = b;
	return true;
}

/* Fills A for a request; store lock held. */
static int plan_answer(struct httpstub *s, const char *method,
                       const char *target, const char *head, struct answer *a)
{
	static const char busy[] = "busy\n", missing[] = "no such route\n";
	struct slot *sl = find_slot(s, target);
	const struct httpstub_route *r;
	const char *src = NULL;
	char range[128], num[80];
	size_t from = 0, to = 0, len = 0;
	int status;

	memset(a, 0, sizeof(*a));
	a->send_body = strcmp(method, "HEAD") != 0;
	if (!sl) {
		s->misses++;
		status = 404;
		src = missing;
		len = sizeof(missing) - 1;
		r = NULL;
	} else {
		r = &sl->r;
		if (strcmp(method, "GET") == 0)
			sl->n_get++;
		else if (strcmp(method, "HEAD") == 0)
			sl->n_head++;
		else
			sl->n_other++;
		sl->served++;
		a->delay_ms = r->delay_ms;
		if (sl->served <= (unsigned int)r->fail_first) {
			status = 503;
			src = busy;
			len = sizeof(busy) - 1;
			r = NULL;
		} else {
			status = r->status ? r->status : 200;
			src = r->body;
			len = r->body_len;
		}
	}

	header_value(head, "Range", range, sizeof(range));
	if (r && status == 200 && range[0]) {
		if (parse_range(range, len, &from, &to)) {
			status = 206;
			src += from;
			len = to - from + 1;
		} else {
			status = 416;
			len = 0;
		}
	}

	a->head_len =
	        (size_t)snprintf(a->head, sizeof(a->head), "HTTP/1.1 %d %s\r\n",
	                         status, reason(status));
	if (!r || !r->no_length) {
		snprintf(num, sizeof(num), "%zu", len);
		add_header(a, "Content-Length", num);
	}
	if (status == 206) {
		snprintf(num, sizeof(num), "bytes %zu-%zu/%zu", from, to,
		         r->body_len);
		add_header(a, "Content-Range", num);
	}
	if (r) {
		add_header(a, "ETag", r->etag);
		add_header(a, "Last-Modified", r->last_modified);
		add_header(a, "Content-Encoding", r->content_encoding);
		add_header(a, "Location", r->location);
		a->hang = r->hang;
		a->truncate = r->truncate;
		a->truncate_at = r->truncate_at;
		a->trickle_bytes = r->trickle_bytes;
		a->trickle_ms = r->trickle_ms;
		a->close_after = r->no_length || r->truncate;
	}
	if (a->close_after)
		add_header(a, "Connection", "close");
	add_header(a, "Server", "httpstub");
	if (a->head_len + 2 < sizeof(a->head)) {
		memcpy(a->head + a->head_len, "\r\n", 2);
		a->head_len += 2;
	}

	a->body_len = len;
	a->body = malloc(len ? len : 1);
	if (!a->body)
		return -ENOMEM;
	if (len)
		memcpy(a->body, src, len);
	return 0;
}

/* Waits until the client closes the connection or the server stops. */
static void wait_for_close(struct httpstub *s, int fd)
{
	char sink[512];
	ssize_t n;

	for (;;) {
		if (wait_fd(s, fd, -1) < 0)
			return;
		n = recv(fd, sink, sizeof(sink), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
	}
}

static int send_body(struct httpstub *s, int fd, const struct answer *a)
{
	size_t len = a->body_len, off = 0, piece;

	if (a->truncate && a->truncate_at < len)
		len = a->truncate_at;
	if (!a->trickle_bytes)
		return send_all(fd, a->body, len);
	while (off < len) {
		piece = len - off;
		if (piece > a->trickle_bytes)
			piece = a->trickle_bytes;
		if (send_all(fd, a->body + off, piece) < 0)
			return -1;
		off += piece;
		if (off < len && wait_fd(s, -1, a->trickle_ms) < 0)
			return -1;
	}
	return 0;
}

/*
 * Answers one request, HEAD and its BODY (LEN bytes).  Returns true when
 * the connection stays open.
 */
static bool answer_request(struct httpstub *s, int fd, const char *head,
                           const char *body, size_t body_len)
{
	char method[16], target[TARGET_MAX];
	const char *sp1, *sp2;
	struct answer *a;
	bool keep = false;
	size_t len;

	sp1 = strchr(head, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || (size_t)(sp1 - head) >= sizeof(method) ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(target))
		return false;
	len = (size_t)(sp1 - head);
	memcpy(method, head, len);
	method[len] = '\0';
	len = (size_t)(sp2 - sp1 - 1);
	memcpy(target, sp1 + 1, len);
	target[len] = '\0';

	a = malloc(sizeof(*a));
	if (!a)
		return false;
	pthread_mutex_lock(&s->lock);
	snprintf(s->last_target, sizeof(s->last_target), "%s", target);
	snprintf(s->last_head, sizeof(s->last_head), "%s", head);
	memcpy(s->last_body, body, body_len);
	s->last_body[body_len] = '\0';
	s->requests++;
	if (plan_answer(s, method, target, head, a) < 0) {
		pthread_mutex_unlock(&s->lock);
		free(a);
		return false;
	}
	pthread_mutex_unlock(&s->lock);

	if (a->delay_ms > 0 && wait_fd(s, -1, a->delay_ms) < 0)
		goto out;
	if (a->hang) {
		wait_for_close(s, fd);
		goto out;
	}
	if (send_all(fd, a->head, a->head_len) < 0)
		goto out;
	if (a->send_body && send_body(s, fd, a) < 0)
		goto out;
	keep = !a->close_after || !a->send_body;

out:
	free(a->body);
	free(a);
	return keep;
}

/*
 * Reads the rest of the body that the head in BUF (HEAD_LEN bytes, *HAVE
 * of BUF filled) announces with Content-Length.  Returns 0 and the body's
 * length in *LEN, or -EMSGSIZE, -EIO.
 */
static int read_body(struct conn *c, char *buf, size_t head_len, size_t *have,
                     size_t *len)
{
	char value[32], *end;
	unsigned long want = 0;
	size_t got = *have;
	ssize_t n;

	header_value(buf, "Content-Length", value, sizeof(value));
	if (value[0]) {
		errno = 0;
		want = strtoul(value, &end, 10);
		if (errno || *end != '\0' || want > REQUEST_BODY_MAX)
			return -EMSGSIZE;
	}
	while (got < head_len + want) {
		if (wait_fd(c->s, c->fd, -1) < 0)
			return -EIO;
		n = recv(c->fd, buf + got, head_len + want - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		got += (size_t)n;
	}
	*have = got;
	*len = want;
	return 0;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	char *buf, *end;
	size_t have = 0, head_len, body_len;
	ssize_t n;

	buf = malloc(REQUEST_HEAD_MAX + REQUEST_BODY_MAX + 1);
	if (!buf)
		goto out;
	for (;;) {
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			head_len = (size_t)(end - buf) + 4;
			end[2] = '\0'; /* the head keeps its last "\r\n" */
			if (read_body(c, buf, head_len, &have, &body_len) < 0 ||
			    !answer_request(c->s, c->fd, buf, buf + head_len,
			                    body_len))
				break;
			head_len += body_len;
			memmove(buf, buf + head_len, have - head_len);
			have -= head_len;
			continue;
		}
		if (have >= REQUEST_HEAD_MAX)
			break;
		if (wait_fd(c->s, c->fd, -1) < 0)
			break;
		n = recv(c->fd, buf + have, REQUEST_HEAD_MAX - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
out:
	free(buf);
	shutdown(c->fd, SHUT_RDWR);
	return NULL;
}

static void *acceptor_main(void *arg)
{
	struct httpstub *s = arg;
	struct conn *c;
	int fd;

	for (;;) {
		if (wait_fd(s, s->listen_fd, -1) < 0)
			break;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->s = s;
		c->fd = fd;
		if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
			close(fd);
			free(c);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		c->next = s->conns;
		s->conns = c;
		s->connections++;
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int httpstub_start(struct httpstub **out)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct httpstub *s;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->stop_pipe[0] = -1;
	s->stop_pipe[1] = -1;
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 || pipe2(s->stop_pipe, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out_free;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->listen_fd, 128) < 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&sa, &salen) < 0) {
		rc = -errno;
		goto out_free;
	}
	s->port = ntohs(sa.sin_port);
	rc = pthread_create(&s->acceptor, NULL, acceptor_main, s);
	if (rc) {
		rc = -rc;
		goto out_free;
	}
	s->acceptor_started = true;
	*out = s;
	return 0;

out_free:
	httpstub_stop(s);
	return rc;
}

void httpstub_stop(struct httpstub *s)
{
	struct conn *c, *next;
	int i;

	if (!s)
		return;
	if (s->acceptor_started) {
		if (write(s->stop_pipe[1], "x", 1) != 1)
			fprintf(stderr, "httpstub: cannot signal the stop\n");
		pthread_join(s->acceptor, NULL);
	}
	/* The acceptor has ended: the list no longer grows. */
	for (c = s->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	for (c = s->conns; c; c = next) {
		next = c->next;
		pthread_join(c->thread, NULL);
		close(c->fd);
		free(c);
	}
	for (i = 0; i < HTTPSTUB_MAX_ROUTES; i++)
		route_clear(&s->slots[i].r);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->stop_pipe[0] >= 0)
		close(s->stop_pipe[0]);
	if (s->stop_pipe[1] >= 0)
		close(s->stop_pipe[1]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int httpstub_port(const struct httpstub *s)
{
	return s->port;
}

void httpstub_url(const struct httpstub *s, const char *target, char *buf,
                  size_t n)
{
	snprintf(buf, n, "http://127.0.0.1:%d%s", s->port, target);
}
