/*
 * Text of one element of a small XML document, found by name.  Enough for
 * <Code> and <Message> in an S3 error and <AccessKeyId> in an STS answer;
 * every size is bounded by the caller's cap.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xml.h"
#include "banned.h"

/* Where the element named TAG starts its content, and where it ends. */
static int find_element(const char *doc, size_t len, const char *tag,
                        const char **start, const char **end)
{
	size_t tlen = strlen(tag);
	const char *p = doc, *stop = doc + len;
	char close[128];

	if (tlen == 0 || tlen + 4 > sizeof(close))
		return -EINVAL;
	close[0] = '<';
	close[1] = '/';
	memcpy(close + 2, tag, tlen);
	close[tlen + 2] = '>';
	close[tlen + 3] = '\0';

	while (p < stop) {
		const char *lt = memchr(p, '<', (size_t)(stop - p));
		const char *gt, *after;

		if (!lt)
			return -ENOENT;
		after = lt + 1 + tlen;
		if (after >= stop)
			return -ENOENT;
		if (memcmp(lt + 1, tag, tlen) != 0 ||
		    !strchr(" \t\r\n/>", *after)) {
			p = lt + 1;
			continue;
		}
		gt = memchr(after, '>', (size_t)(stop - after));
		if (!gt)
			return -ENOENT;
		if (gt[-1] == '/') {
			*start = *end = gt;
			return 0;
		}
		*start = gt + 1;
		*end = memmem(*start, (size_t)(stop - *start), close, tlen + 3);
		if (!*end)
			return -ENOENT;
		return 0;
	}
	return -ENOENT;
}

/* Writes code point CP as UTF-8 at OUT; returns the byte count, 0 when
 * CP is not a character XML allows. */
static size_t put_utf8(uint32_t cp, char *out)
{
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the reference at S (after '&', N bytes up to the ';') into OUT;
 * returns the bytes written or 0 for a bad reference. */
static size_t decode_ref(const char *s, size_t n, char *out)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {
	        {"lt", '<'},   {"gt", '>'},    {"amp", '&'},
	        {"quot", '"'}, {"apos", '\''},
	};
	uint32_t cp = 0;
	size_t i, digits = 0;
	bool hex;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (strlen(named[i].name) == n &&
		    memcmp(s, named[i].name, n) == 0) {
			out[0] = named[i].c;
			return 1;
		}
	}
	if (n < 2 || s[0] != '#')
		return 0;
	hex = s[1] == 'x';
	for (i = hex ? 2 : 1; i < n; i++) {
		char c = s[i];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (hex && c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return 0;
		if (++digits > 8)
			return 0;
		cp = cp * (hex ? 16 : 10) + d;
	}
	if (!digits)
		return 0;
	return put_utf8(cp, out);
}

int xml_text(const char *doc, size_t len, const char *tag, size_t cap,
             char **out)
{
	const char *start, *end, *p;
	char *text, *q;
	int rc;

	if (!doc)
		return -ENOENT;
	rc = find_element(doc, len, tag, &start, &end);
	if (rc)
		return rc;
	if (memchr(start, '<', (size_t)(end - start)))
		return -EBADMSG;
	/* Decoding never makes the text longer than its source. */
	if ((size_t)(end - start) > cap) {
		size_t amps = 0;

		for (p = start; p < end; p++)
			amps += *p == '&';
		if (amps == 0)
			return -E2BIG;
	}
	text = malloc((size_t)(end - start) + 1);
	if (!text)
		return -ENOMEM;
	q = text;
	for (p = start; p < end; p++) {
		const char *semi;
		size_t w;

		if (*p != '&') {
			*q++ = *p;
			continue;
		}
		semi = memchr(p + 1, ';', (size_t)(end - p - 1));
		if (!semi || semi - p > 12) {
			rc = -EBADMSG;
			goto out;
		}
		w = decode_ref(p + 1, (size_t)(semi - p - 1), q);
		if (w == 0) {
			rc = -EBADMSG;
			goto out;
		}
		q += w;
		p = semi;
	}
	*q = '\0';
	if ((size_t)(q - text) > cap) {
		rc = -E2BIG;
		goto out;
	}
	*out = text;
	text = NULL;
	rc = 0;
out:
	free(text);
	return rc;
}
