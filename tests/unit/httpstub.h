/*
 * A small HTTP/1.1 origin for the unit tests.  It listens on 127.0.0.1 on a
 * port the kernel chooses, serves each connection on its own thread (with
 * keep-alive), answers from a table of routes the test programs, and counts
 * the requests it receives so that a test can assert how many were made.
 */
#ifndef ARTIFACTFS_TEST_HTTPSTUB_H
#define ARTIFACTFS_TEST_HTTPSTUB_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPSTUB_MAX_ROUTES 64

struct httpstub;

/* One route.  Strings and body are copied by httpstub_route(). */
struct httpstub_route {
	const char
	        *target;  /* request target, path and query, matched exactly */
	int status;       /* 0 means 200 */
	const void *body; /* sent for GET; its length is Content-Length */
	size_t body_len;
	const char *etag;             /* header values, NULL to leave out */
	const char *last_modified;    /* ... */
	const char *content_encoding; /* ... */
	const char *location;         /* ... */
	bool no_length;       /* no Content-Length: the body ends at close */
	int delay_ms;         /* wait this long before answering */
	int fail_first;       /* answer the first N requests with a 503 */
	bool truncate;        /* send only truncate_at bytes of the body, */
	size_t truncate_at;   /* then close the connection */
	bool hang;            /* never answer; close when the client does */
	size_t trickle_bytes; /* when non-zero, send the body in pieces of */
	int trickle_ms;       /* this size, with this pause after each */
};

/* Starts the server.  Returns 0 and the server in *out, or -errno. */
int httpstub_start(struct httpstub **out);

/* Stops every thread, closes every connection, and frees S. */
void httpstub_stop(struct httpstub *s);

/* The port the server listens on. */
int httpstub_port(const struct httpstub *s);

/* Writes "http://127.0.0.1:PORT" followed by TARGET into buf (size n). */
void httpstub_url(const struct httpstub *s, const char *target, char *buf,
                  size_t n);

/*
 * Adds route R, or replaces the route with the same target (and resets
 * its counts).  Returns 0, or -ENOSPC when the table is full, -ENOMEM.
 */
int httpstub_route(struct httpstub *s, const struct httpstub_route *r);

/* Requests received for TARGET with METHOD ("GET", "HEAD"; NULL: all). */
unsigned int httpstub_count(struct httpstub *s, const char *target,
                            const char *method);

/* Requests received so far, whether a route matched or not. */
unsigned int httpstub_requests(struct httpstub *s);

/* Routes TARGET to STATUS and BODY (text) and starts counting requests
 * afresh for httpstub_hits.  Returns httpstub_route's result. */
int httpstub_answer(struct httpstub *s, const char *target, int status,
                    const char *body);

/* Requests of any target since the last httpstub_answer. */
unsigned int httpstub_hits(struct httpstub *s);

/* Requests whose target matched no route (they got a 404). */
unsigned int httpstub_misses(struct httpstub *s);

/* Connections accepted so far. */
unsigned int httpstub_connections(struct httpstub *s);

/*
 * The raw request target of the last request received, into target (size
 * tn), and the value of its header NAME (case-insensitive) into value
 * (size vn), "" when absent.  VALUE may be NULL.
 */
void httpstub_last(struct httpstub *s, char *target, size_t tn,
                   const char *name, char *value, size_t vn);

/*
 * Whether TEXT is in the head (request line and header lines, each ending
 * "\r\n") or in the body (as long as its Content-Length said, up to 64 KiB)
 * of the last request received.
 */
bool httpstub_saw(struct httpstub *s, const char *text);

#endif
