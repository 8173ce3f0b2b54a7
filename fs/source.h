/*
 * A source knows how to ask one origin for one artifact: the URL to use
 * and the headers to send (an S3 source signs each request), and how to
 * read a failed response into a cause fit for a log line.  The fetch
 * engine does the transfer; a source never touches the network itself,
 * except to obtain credentials.
 */
#ifndef ARTIFACTFS_SOURCE_H
#define ARTIFACTFS_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>

#include "manifest.h"

enum fetch_method { FETCH_HEAD, FETCH_GET };

struct source;

struct source_ops {
	/*
	 * Sets CURLOPT_URL on EASY and appends request headers to *hdrs for
	 * one attempt of METHOD.  RANGE is NULL or an HTTP byte range
	 * ("0-1023") for which the source adds what it needs.  Called on the
	 * requesting thread for every attempt (a signature carries the time),
	 * never on the engine thread: it may block to refresh credentials.
	 * Returns 0, or a negative errno with a cause in WHY (size n).
	 */
	int (*prepare)(struct source *src, enum fetch_method method,
	               const char *range, CURL *easy, struct curl_slist **hdrs,
	               char *why, size_t n);

	/*
	 * Reads a failed response (STATUS, and up to CAP_ERROR_BODY_BYTES of
	 * its BODY, which may be NULL) into CAUSE (size n).  Returns true
	 * when the source changed itself so that one more immediate attempt
	 * may succeed (S3: a bucket in another region), false otherwise.
	 */
	bool (*failed)(struct source *src, long status, const char *body,
	               size_t len, char *cause, size_t n);

	void (*free)(struct source *src);
};

/* The common head of every source; the concrete source embeds it first. */
struct source {
	const struct source_ops *ops;
	char *log_url; /* the form that may be logged: no userinfo, query */
};

/* Settings shared by all sources of a mount.  Strings are borrowed. */
struct source_config {
	const char *ca_file;  /* extra CA bundle, or NULL */
	struct s3_config *s3; /* NULL until S3 is set up */
};

/*
 * Creates the source for artifact A.  Returns 0 and the source in *out
 * (free with source_free), or a negative errno with a cause in WHY:
 * -ENOTSUP for a scheme this build cannot fetch.
 */
int source_new(const struct artifact *a, const struct source_config *cfg,
               struct source **out, char *why, size_t n);
void source_free(struct source *src);

/* HTTP and HTTPS: the URL is sent exactly as written. */
int source_http_new(const struct artifact *a, struct source **out, char *why,
                    size_t n);

#endif
