/*
 * Streaming checksums: a thin layer over EVP_MD_CTX so that the rest of
 * the code names a checksum type, never an OpenSSL algorithm.
 */
#include <errno.h>
#include <stdlib.h>
#include <openssl/evp.h>

#include "digest.h"
#include "banned.h"

struct digest {
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
};

static void to_hex(const unsigned char *raw, unsigned int len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	unsigned int i;

	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[raw[i] >> 4];
		hex[2 * i + 1] = digits[raw[i] & 0xf];
	}
	hex[2 * len] = '\0';
}

int digest_new(enum checksum_type type, struct digest **out)
{
	struct digest *d;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->md = type == CK_MD5 ? EVP_md5() : EVP_sha256();
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx || !EVP_DigestInit_ex(d->ctx, d->md, NULL)) {
		digest_free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void digest_update(struct digest *d, const void *buf, size_t len)
{
	EVP_DigestUpdate(d->ctx, buf, len);
}

void digest_reset(struct digest *d)
{
	EVP_DigestInit_ex(d->ctx, d->md, NULL);
}

void digest_final_hex(struct digest *d, char *hex)
{
	unsigned char raw[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_DigestFinal_ex(d->ctx, raw, &len);
	to_hex(raw, len, hex);
}

void digest_free(struct digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

void digest_sha256_hex(const void *buf, size_t len, char *hex)
{
	unsigned char raw[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(buf, len, raw, &n, EVP_sha256(), NULL);
	to_hex(raw, n, hex);
}
