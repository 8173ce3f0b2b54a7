/*
 * URL helpers shared by the manifest checks and the sources: splitting an
 * artifact URL into its parts, and the form of a URL that may be logged.
 */
#ifndef ARTIFACTFS_URL_H
#define ARTIFACTFS_URL_H

#include <stddef.h>

enum url_scheme { URL_HTTP, URL_HTTPS, URL_S3 };

/* Parts of an artifact URL.  All strings are owned by the struct. */
struct url_parts {
	enum url_scheme scheme;
	char *host;  /* http(s): host[:port] without userinfo; s3: bucket */
	char *path;  /* http(s): path from the first '/', may be "";
	              * s3: the key, without the leading '/' (not decoded) */
	char *query; /* text after '?', without it; NULL when none */
};

/* Splits URL.  Returns 0, or -EINVAL with *why set to a static message
 * ("no bucket", "no key", "scheme not supported", ...).  *out is written
 * only on success; free it with url_parts_clear(). */
int url_parse(const char *url, struct url_parts *out, const char **why);
/* Frees the strings of P and sets them to NULL; P may be NULL. */
void url_parts_clear(struct url_parts *p);

/* Writes into buf (size n) the URL without userinfo, query or fragment,
 * truncated to fit: the only form of a URL that may reach a log.
 * Returns buf. */
char *url_redact(const char *url, char *buf, size_t n);

#endif
