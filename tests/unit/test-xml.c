/*
 * The XML text finder on the documents S3 and STS answer with, and on
 * broken, hostile and oversized input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "xml.h"
#include "banned.h"

static const char s3_error[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>SignatureDoesNotMatch</Code>"
        "<Message>The request signature we calculated does not match the "
        "signature you provided. Check your key and signing method.</Message>"
        "<AWSAccessKeyId>S3RVER</AWSAccessKeyId>"
        "<StringToSign>AWS4-HMAC-SHA256\n20240101T000000Z</StringToSign>"
        "<CodeExtra>no</CodeExtra></Error>";

static void check_text(const char *doc, const char *tag, const char *want)
{
	char *t = NULL;

	CHECK(xml_text(doc, strlen(doc), tag, 1024, &t) == 0);
	CHECK_STR(t, want);
	free(t);
}

static int text_rc(const char *doc, const char *tag, size_t cap)
{
	char *t = NULL;
	int rc = xml_text(doc, strlen(doc), tag, cap, &t);

	free(t);
	return rc;
}

static void test_s3_error(void)
{
	check_text(s3_error, "Code", "SignatureDoesNotMatch");
	check_text(s3_error, "Message",
	           "The request signature we calculated does not match the "
	           "signature you provided. Check your key and signing "
	           "method.");
	check_text(s3_error, "CodeExtra", "no");
	CHECK(text_rc(s3_error, "Region", 100) == -ENOENT);
	CHECK(text_rc(s3_error, "Error", 4096) == -EBADMSG);
}

static void test_sts(void)
{
	static const char doc[] =
	        "<AssumeRoleWithWebIdentityResponse "
	        "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
	        "  <AssumeRoleWithWebIdentityResult>\n"
	        "    <Credentials>\n"
	        "      <SessionToken>tok/en+&amp;more==</SessionToken>\n"
	        "      <SecretAccessKey>sec&lt;ret&gt;</SecretAccessKey>\n"
	        "      <Expiration>2030-01-01T00:00:00Z</Expiration>\n"
	        "      <AccessKeyId>ASIA123</AccessKeyId>\n"
	        "    </Credentials>\n"
	        "  </AssumeRoleWithWebIdentityResult>\n"
	        "</AssumeRoleWithWebIdentityResponse>\n";

	check_text(doc, "SessionToken", "tok/en+&more==");
	check_text(doc, "SecretAccessKey", "sec<ret>");
	check_text(doc, "AccessKeyId", "ASIA123");
	check_text(doc, "Expiration", "2030-01-01T00:00:00Z");
}

static void test_entities(void)
{
	check_text("<a>&#65;&#x42;&#xe9;&#x65E5;&quot;&apos;</a>", "a",
	           "AB\xc3\xa9\xe6\x97\xa5\"'");
	check_text("<a x=\"1\">v</a>", "a", "v");
	check_text("<a/>", "a", "");
	check_text("<a></a>", "a", "");
	check_text("<ab>1</ab><a>2</a>", "a", "2");
	CHECK(text_rc("<a>&bogus;</a>", "a", 100) == -EBADMSG);
	CHECK(text_rc("<a>&#0;</a>", "a", 100) == -EBADMSG);
	CHECK(text_rc("<a>&#xD800;</a>", "a", 100) == -EBADMSG);
	CHECK(text_rc("<a>&#x110000;</a>", "a", 100) == -EBADMSG);
	CHECK(text_rc("<a>& x</a>", "a", 100) == -EBADMSG);
	CHECK(text_rc("<a>&#;</a>", "a", 100) == -EBADMSG);
	CHECK(text_rc("<a><![CDATA[x]]></a>", "a", 100) == -EBADMSG);
}

static void test_broken(void)
{
	char *t = NULL;

	CHECK(text_rc("<a>unclosed", "a", 100) == -ENOENT);
	CHECK(text_rc("<a", "a", 100) == -ENOENT);
	CHECK(text_rc("", "a", 100) == -ENOENT);
	CHECK(text_rc("no markup at all", "a", 100) == -ENOENT);
	CHECK(xml_text(NULL, 0, "a", 100, &t) == -ENOENT);
	/* LEN bounds the search: the element lies past it. */
	CHECK(xml_text("<a>1</a>", 5, "a", 100, &t) == -ENOENT);
	CHECK(t == NULL);
}

static void test_caps(void)
{
	CHECK(text_rc("<a>12345</a>", "a", 4) == -E2BIG);
	CHECK(text_rc("<a>1234</a>", "a", 4) == 0);
	/* Decoded length is what counts. */
	CHECK(text_rc("<a>&amp;&amp;&amp;&amp;</a>", "a", 4) == 0);
	CHECK(text_rc("<a>&amp;&amp;&amp;&amp;&amp;</a>", "a", 4) == -E2BIG);
}

int main(void)
{
	test_s3_error();
	test_sts();
	test_entities();
	test_broken();
	test_caps();
	return check_done();
}
