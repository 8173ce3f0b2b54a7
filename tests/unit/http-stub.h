/*
 * A one-thread HTTP stand-in on loopback for unit tests: answers every
 * request with the status and body set last, and keeps the last request
 * (head and body) so that a test can check what was sent.
 */
#ifndef ARTIFACTFS_TEST_HTTP_STUB_H
#define ARTIFACTFS_TEST_HTTP_STUB_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct stub {
	int fd;
	int port;
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop;
	int status;
	char body[80 * 1024];
	char request[16384];
	int hits;
};

static void stub_serve_one(struct stub *s, int cfd)
{
	char req[16384], head[256];
	size_t got = 0, want = 0, blen;
	char *end = NULL, *cl;
	ssize_t r;

	while (got < sizeof(req) - 1) {
		r = read(cfd, req + got, sizeof(req) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = '\0';
		if (!end) {
			end = strstr(req, "\r\n\r\n");
			if (end) {
				cl = strcasestr(req, "\r\nContent-Length:");
				want = (size_t)(end + 4 - req);
				if (cl && cl < end)
					want += strtoul(cl + 17, NULL, 10);
			}
		}
		if (end && got >= want)
			break;
	}
	req[got] = '\0';

	pthread_mutex_lock(&s->lock);
	snprintf(s->request, sizeof(s->request), "%s", req);
	s->hits++;
	blen = strlen(s->body);
	snprintf(head, sizeof(head),
	         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
	         "Connection: close\r\n\r\n",
	         s->status, blen);
	if (write(cfd, head, strlen(head)) < 0 ||
	    (!strstr(req, "HEAD ") && write(cfd, s->body, blen) < 0))
		s->hits += 1000;
	pthread_mutex_unlock(&s->lock);
}

static void *stub_main(void *arg)
{
	struct stub *s = arg;

	for (;;) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		bool stop;
		int cfd;

		pthread_mutex_lock(&s->lock);
		stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		if (poll(&p, 1, 50) <= 0)
			continue;
		cfd = accept(s->fd, NULL, NULL);
		if (cfd < 0)
			continue;
		stub_serve_one(s, cfd);
		close(cfd);
	}
	return NULL;
}

static inline int stub_start(struct stub *s)
{
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof(a);

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->fd < 0)
		return -1;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->fd, 8) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	s->port = ntohs(a.sin_port);
	return pthread_create(&s->thread, NULL, stub_main, s) ? -1 : 0;
}

static inline void stub_stop(struct stub *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
}

static inline void stub_answer(struct stub *s, int status, const char *body)
{
	pthread_mutex_lock(&s->lock);
	s->status = status;
	snprintf(s->body, sizeof(s->body), "%s", body);
	s->hits = 0;
	s->request[0] = '\0';
	pthread_mutex_unlock(&s->lock);
}

static inline int stub_hits(struct stub *s)
{
	int h;

	pthread_mutex_lock(&s->lock);
	h = s->hits;
	pthread_mutex_unlock(&s->lock);
	return h;
}

static inline bool stub_saw(struct stub *s, const char *text)
{
	bool saw;

	pthread_mutex_lock(&s->lock);
	saw = strstr(s->request, text) != NULL;
	pthread_mutex_unlock(&s->lock);
	return saw;
}

/* Copies the value of header NAME ("Name: value") of the last request. */
static inline bool stub_header(struct stub *s, const char *name, char *buf,
                               size_t n)
{
	char pat[128];
	const char *p, *e;
	bool found = false;

	snprintf(pat, sizeof(pat), "\r\n%s: ", name);
	pthread_mutex_lock(&s->lock);
	p = strcasestr(s->request, pat);
	if (p) {
		p += strlen(pat);
		e = strstr(p, "\r\n");
		if (e && (size_t)(e - p) < n) {
			memcpy(buf, p, (size_t)(e - p));
			buf[e - p] = '\0';
			found = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

#endif
