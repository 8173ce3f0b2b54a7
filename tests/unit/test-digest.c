/*
 * Unit tests of fs/digest.c: known digests, streaming in pieces, reset.
 */
#include <string.h>

#include "digest.h"
#include "check.h"

static void test_known(void)
{
	struct digest *d;
	char hex[65];

	CHECK(digest_new(CK_SHA256, &d) == 0);
	digest_update(d, "abc", 3);
	digest_final_hex(d, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
	               "b00361a396177a9cb410ff61f20015ad");
	digest_free(d);

	CHECK(digest_new(CK_MD5, &d) == 0);
	digest_update(d, "abc", 3);
	digest_final_hex(d, hex);
	CHECK_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
	digest_free(d);

	digest_sha256_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	               "27ae41e4649b934ca495991b7852b855");
}

static void test_pieces_and_reset(void)
{
	static const char text[] = "the quick brown fox jumps over the dog";
	char whole[65], pieces[65];
	struct digest *d;
	size_t i;

	digest_sha256_hex(text, strlen(text), whole);
	CHECK(digest_new(CK_SHA256, &d) == 0);
	digest_update(d, "garbage", 7);
	digest_reset(d);
	for (i = 0; i < strlen(text); i++)
		digest_update(d, text + i, 1);
	digest_final_hex(d, pieces);
	CHECK_STR(pieces, whole);
	digest_free(d);
	digest_free(NULL);
}

int main(void)
{
	test_known();
	test_pieces_and_reset();
	return check_done();
}
