/*
 * S3 as a source of artifacts: where requests go (AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL or AWS itself, path-style or virtual-hosted), how they
 * are signed (SigV4 with the credentials chain, or not at all for public
 * buckets), and how an S3 error answer becomes a log cause.
 */
#ifndef ARTIFACTFS_S3_H
#define ARTIFACTFS_S3_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"
#include "source.h"

struct s3_config;

/* What the command line says about S3. */
struct s3_options {
	bool path_style;     /* --s3-path-style: bucket in the path always */
	bool no_sign;        /* --s3-no-sign: anonymous requests */
	const char *ca_file; /* --ca-file, or NULL; AWS_CA_BUNDLE wins */
};

/* Where one request goes.  Owned: release with s3_url_clear(). */
struct s3_url {
	char *url;  /* what curl is given */
	char *host; /* the Host header: host, or host:port */
	char *uri;  /* the encoded path, as sent and as signed */
};

/*
 * Reads the S3 settings of the environment once for the whole mount: the
 * endpoint, the region and the credentials chain (see creds.h).  Touches
 * no network.  Returns 0 and a new config in *out (free with
 * s3_config_free after every source made from it), or a negative errno
 * with a cause in WHY (size n): an endpoint URL that is not plain http(s),
 * an AWS_CA_BUNDLE that cannot be read, a credentials configuration that
 * creds_new() refuses.  Thread-safe once made.
 */
int s3_config_new(const struct s3_options *opts, struct s3_config **out,
                  char *why, size_t n);

/* Frees CFG; NULL is a no-op. */
void s3_config_free(struct s3_config *cfg);

/*
 * One line on how S3 will be reached, for an info log line at mount:
 * "endpoint http://127.0.0.1:4568 (path-style), region us-east-1,
 * credentials from environment".  Holds no secret.
 */
void s3_config_describe(const struct s3_config *cfg, char *buf, size_t n);

/*
 * The URL, Host and signed path for KEY (decoded) in BUCKET, signed for
 * REGION (which also picks the AWS host when no endpoint is set), with
 * QUERY (a canonical query string from sigv4_query_string, or NULL)
 * after a '?'.  Each segment of the key is percent-encoded, '/' kept.
 * Returns 0 and fills *out, or -ENOMEM.
 */
int s3_url_build(const struct s3_config *cfg, const char *bucket,
                 const char *key, const char *query, const char *region,
                 struct s3_url *out);

/* Frees what U holds and zeroes it; U may be all zeroes. */
void s3_url_clear(struct s3_url *u);

/*
 * Creates the source for the s3:// artifact A, read as docs/manifest.md
 * says: "s3://BUCKET/KEY[?QUERY]", the key percent-decoded (a space is
 * written %20, '%' %25, '?' %3F, '#' %23; other bytes, UTF-8 included,
 * may be written as they are), the query's parameters sent and signed
 * with every request (versionId=...).  The logged form is
 * "s3://BUCKET/KEY" as written, without the query.  CFG is borrowed and
 * must outlive the source.  Returns 0 and the source in *out (free with
 * source_free), or -EINVAL with a cause in WHY (size n) for a URL that is
 * not of that form (a '%' that starts no %XX, %00, a key over 1024
 * bytes), or -ENOMEM.
 */
int source_s3_new(const struct artifact *a, struct s3_config *cfg,
                  struct source **out, char *why, size_t n);

#endif
