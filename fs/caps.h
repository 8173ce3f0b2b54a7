/*
 * Every bound on something that grows, in one place.  A value read from the
 * network or a manifest is checked against one of these before it is used.
 */
#ifndef ARTIFACTFS_CAPS_H
#define ARTIFACTFS_CAPS_H

/* Manifest input */
#define CAP_MANIFEST_BYTES  (16L * 1024 * 1024)
#define CAP_ARTIFACTS       100000
#define CAP_NAME_BYTES      255
#define CAP_URL_BYTES       8192
#define CAP_PATH_BYTES      4095 /* whole targetPath, as PATH_MAX - 1 */
#define CAP_COMPONENT_BYTES 255  /* one path component, as NAME_MAX */
#define CAP_DIAG_LINES      1000 /* error lines kept for one manifest */
#define CAP_DIAG_VALUE      40   /* bytes of a value quoted in an error */
#define CAP_DIAG_NAMES      20   /* container names listed in one error */

/* Network */
#define CAP_REDIRECTS 5
#define CAP_RETRIES   3 /* attempts after the first one */
#define CAP_ERROR_BODY_BYTES \
	(64L * 1024)          /* error response kept for its cause */
#define CAP_HEADER_VALUE 1024 /* ETag and the like */
#define CAP_IDLE_CONNS   32   /* idle connections kept for reuse */
#define CAP_FUSE_THREADS 64   /* FUSE workers, so opens waiting at once */

/* S3 and AWS credentials */
#define CAP_AWS_FILE_BYTES   (1L * 1024 * 1024) /* ~/.aws/credentials, config */
#define CAP_CREDS_BODY_BYTES (64L * 1024)       /* container or STS response */
#define CAP_WEB_TOKEN_BYTES  (64L * 1024)       /* web identity token file */
#define CAP_AWS_REGION       64    /* bytes of a region name, with its NUL */
#define CAP_SIGV4_HEADERS    8     /* extra headers one signature covers */
#define CAP_S3_KEY_BYTES     1024  /* an S3 key, decoded, as S3 allows */
#define CAP_S3_BUCKET_BYTES  255   /* a bucket name, legacy ones too */
#define DEF_CREDS_TIMEOUT    10L   /* seconds, one credential request */
#define DEF_CREDS_REFRESH    300L  /* refresh this long before expiry */
#define DEF_CREDS_MAX_AGE    3600L /* refetch after this without expiry */

/* Defaults that options may change, within the caps above */
#define DEF_CONNECT_TIMEOUT 10L          /* seconds */
#define DEF_LOW_SPEED_TIME  30L          /* seconds below DEF_LOW_SPEED_LIMIT */
#define DEF_LOW_SPEED_LIMIT 1024L        /* bytes per second */
#define DEF_RANGE_THRESHOLD (64LL << 20) /* unverified and this big: ranges */
#define CAP_RANGE_WINDOW    (32L << 20)  /* read-ahead of one open file */
#define CAP_RANGE_REQUEST   (4L << 20)   /* bytes asked in one ranged GET */
#define DEF_BACKOFF_MS      200L /* first retry delay, doubled, jittered */

/* Logging */
#define CAP_LOG_LINE  1024 /* one formatted log line */
#define CAP_LOG_FIELD 200  /* one user-supplied string inside a line */

/* Pod generator (artifactfs-podspec) */
#define CAP_K8S_LABEL       63   /* a DNS-1123 label: container, volume */
#define CAP_K8S_SUBDOMAIN   253  /* a DNS-1123 subdomain: Secret name */
#define CAP_TASK_CONTAINERS 100  /* container definitions in one task */
#define CAP_TASK_VOLUMES    1000 /* volumes in one task definition */

/* Kernel attribute and entry timeouts, seconds */
#define TTL_STABLE 86400.0 /* tree shape and verified files never change */

#endif
