/*
 * Streaming checksums over OpenSSL's EVP interface.
 */
#ifndef ARTIFACTFS_DIGEST_H
#define ARTIFACTFS_DIGEST_H

#include <stddef.h>

#include "manifest.h"

struct digest;

/* Returns 0 and a new digest of TYPE (not CK_NONE) in *out, or -ENOMEM. */
int digest_new(enum checksum_type type, struct digest **out);
void digest_update(struct digest *d, const void *buf, size_t len);

/* Restarts D as if just created. */
void digest_reset(struct digest *d);

/* Writes the lowercase hex digest and a NUL into hex (at least 65 bytes).
 * D may not be updated afterwards, only reset or freed. */
void digest_final_hex(struct digest *d, char *hex);
void digest_free(struct digest *d);

/* Lowercase hex sha256 of BUF, into hex (at least 65 bytes). */
void digest_sha256_hex(const void *buf, size_t len, char *hex);

#endif
