/*
 * AWS credentials and region, found the way the AWS tools find them:
 * environment variables, then the shared credentials and config files,
 * then the ECS container credentials endpoint, then web identity through
 * STS AssumeRoleWithWebIdentity.  Never the instance metadata service.
 * Credentials from an endpoint are fetched on first use and refreshed
 * before they expire; nothing here logs, and no secret leaves this module
 * except through creds_get().
 */
#ifndef ARTIFACTFS_CREDS_H
#define ARTIFACTFS_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "caps.h"

struct creds;

/* Where the chain found its credentials. */
enum creds_kind {
	CREDS_NONE,         /* nothing found: requests cannot be signed */
	CREDS_ENV,          /* AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY */
	CREDS_PROFILE,      /* the shared credentials or config file */
	CREDS_CONTAINER,    /* AWS_CONTAINER_CREDENTIALS_*_URI */
	CREDS_WEB_IDENTITY, /* AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN */
};

/* One set of credentials.  Owned: wipe and free with creds_value_clear. */
struct creds_value {
	char *access_key;
	char *secret_key;
	char *token;    /* session token, NULL when none */
	time_t expires; /* 0 when not known to expire */
};

struct creds_options {
	const char *ca_file; /* CA bundle for https credential endpoints,
	                      * or NULL for the system's; borrowed */
};

/*
 * Reads the environment and the shared files and decides where
 * credentials and the region come from.  Touches no network.  Returns 0
 * and a new chain in *out (free with creds_free), or a negative errno with
 * a cause in WHY (size n) for a configuration that must not be guessed
 * around: half a key pair, a named profile that does not exist, a
 * container URI that is neither https nor on loopback or the ECS/EKS
 * address, a region that is not a region name.  Finding nothing is not an
 * error: the chain is then CREDS_NONE and creds_get() says so.
 */
int creds_new(const struct creds_options *opts, struct creds **out, char *why,
              size_t n);

/*
 * Current credentials, fetched or refreshed first when they come from an
 * endpoint and are missing, older than DEF_CREDS_MAX_AGE without an
 * expiry, or within DEF_CREDS_REFRESH of it.  Blocks for at most about
 * DEF_CREDS_TIMEOUT while it fetches; thread-safe (one fetch at a time,
 * under the chain's lock).  When a refresh fails but the credentials held
 * have not expired, they are returned.  Returns 0 and a copy in *out
 * (release it with creds_value_clear), or a negative errno with a cause
 * in WHY (size n) that holds no secret: -ENOKEY when the chain found
 * nothing, -EKEYEXPIRED for credentials already expired, -EIO when an
 * endpoint failed.
 */
int creds_get(struct creds *c, struct creds_value *out, char *why, size_t n);

/*
 * Forgets credentials fetched from an endpoint, so that the next
 * creds_get() fetches anew (after S3 said the token expired).  Returns
 * true when there was something to forget, false for fixed credentials
 * that a new attempt would not change.  Thread-safe.
 */
bool creds_invalidate(struct creds *c);

/* Where C found its credentials, decided by creds_new(). */
enum creds_kind creds_kind(const struct creds *c);

/* "environment", "profile 'NAME'", "container endpoint", "web identity"
 * or "none": fit for a log line.  Valid until creds_free(). */
const char *creds_origin(const struct creds *c);

/* The region: AWS_REGION, AWS_DEFAULT_REGION, the profile's, or
 * "us-east-1".  Valid until creds_free(). */
const char *creds_region(const struct creds *c);

/* Wipes and frees what V holds and zeroes it; V may be all zeroes. */
void creds_value_clear(struct creds_value *v);

/* Wipes and frees C; NULL is a no-op. */
void creds_free(struct creds *c);

#endif
