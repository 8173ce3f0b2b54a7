/*
 * Just enough XML for the small documents AWS answers with (an S3 error
 * body, an STS response): the text of the first element of a given name.
 * No DTDs, no namespaces, no CDATA; nothing is allocated beyond the text
 * asked for.
 */
#ifndef ARTIFACTFS_XML_H
#define ARTIFACTFS_XML_H

#include <stddef.h>

/*
 * Finds the first element named TAG in LEN bytes of DOC (need not end in
 * a NUL) and decodes its text: the five named entities and numeric
 * character references.  Returns 0 and a new NUL-terminated string in
 * *out (the caller frees it; "" for an empty element), -ENOENT when there
 * is no such element or it is not closed, -EBADMSG when its content holds
 * markup or a bad reference, -E2BIG when the text is over CAP bytes, or
 * -ENOMEM.
 */
int xml_text(const char *doc, size_t len, const char *tag, size_t cap,
             char **out);

#endif
