/*
 * AWS Signature Version 4 (AWS4-HMAC-SHA256) for S3 requests: the
 * canonical request, the string to sign, the signing key and the headers
 * that carry the signature.  Pure computation on OpenSSL: no network, no
 * logging, no global state, safe from any thread.
 */
#ifndef ARTIFACTFS_SIGV4_H
#define ARTIFACTFS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "caps.h"

/* The payload hash of a request without a body, which GET and HEAD send. */
#define SIGV4_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* Header lines a result may hold: the extra headers plus host,
 * x-amz-content-sha256, x-amz-date, x-amz-security-token, authorization. */
#define SIGV4_MAX_LINES (CAP_SIGV4_HEADERS + 5)

/* A name and a value: a query parameter or a header.  Borrowed. */
struct sigv4_pair {
	const char *name;
	const char *value; /* a query parameter without '=' has "" */
};

/* The keys to sign with.  Borrowed; never copied by the signer. */
struct sigv4_creds {
	const char *access_key;
	const char *secret_key;
	const char *token; /* session token, or NULL */
};

struct sigv4_request {
	const char *method; /* "GET", "HEAD" */
	const char *host;   /* the Host header: host, or host:port */
	const char *uri;    /* the path as sent, already encoded with
	                     * sigv4_uri_encode(); S3 does not encode twice */
	const struct sigv4_pair *query; /* raw, unencoded; NULL when none */
	size_t nquery;
	const struct sigv4_pair
	        *headers; /* signed and sent; at most
	                   * CAP_SIGV4_HEADERS; NULL when none */
	size_t nheaders;
	const char *payload_hash; /* NULL for SIGV4_EMPTY_SHA256 */
	const char *region;       /* "us-east-1" */
	const char *service;      /* "s3" */
	time_t when;              /* the signing time, UTC */
};

/* A signed request.  Owned; release with sigv4_result_clear(). */
struct sigv4_result {
	/* Header lines to send, "Name: value", in this order: the extra
	 * headers, Host, x-amz-content-sha256, x-amz-date,
	 * x-amz-security-token (with a token), Authorization.  The last one
	 * is a credential: never log it. */
	char *lines[SIGV4_MAX_LINES];
	size_t count;
	char *canonical_request; /* holds the session token: never log */
	char *string_to_sign;    /* no secret in it */
	char amz_date[17];       /* "20130524T000000Z" */
	char signature[65];      /* lowercase hex; never log it */
};

/*
 * Percent-encodes LEN bytes of S as SigV4 and S3 want: every byte but
 * A-Z a-z 0-9 '-' '_' '.' '~' becomes %XX (uppercase hex), and '/' too
 * unless KEEP_SLASH (object keys keep their '/').  Returns 0 and a new
 * string in *out (the caller frees it), or -ENOMEM.
 */
int sigv4_uri_encode(const char *s, size_t len, bool keep_slash, char **out);

/*
 * The canonical query string of N raw parameters: each name and value
 * encoded, sorted by name then value, "name=value" joined with '&' ("" for
 * no parameters).  It is also the query to put in the URL.  Returns 0 and
 * a new string in *out (the caller frees it), or -ENOMEM.
 */
int sigv4_query_string(const struct sigv4_pair *q, size_t n, char **out);

/*
 * Signs REQ with C.  Returns 0 and fills *out (release it with
 * sigv4_result_clear), or -EINVAL for a request that cannot be signed (a
 * missing field, a header value with CR or LF, too many headers), or
 * -ENOMEM.  The secret and the keys derived from it are wiped before
 * returning.
 */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *c,
               struct sigv4_result *out);

/* Wipes and frees what R holds; R may be all zeroes.  Leaves R zeroed. */
void sigv4_result_clear(struct sigv4_result *r);

#endif
