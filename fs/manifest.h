/*
 * The manifest: a task definition (as registered or as described), one
 * container definition, or a bare array of artifacts, turned into a list of
 * validated artifacts.  The rules are in docs/manifest.md.
 */
#ifndef ARTIFACTFS_MANIFEST_H
#define ARTIFACTFS_MANIFEST_H

#include <stddef.h>
#include <sys/types.h>

#include "url.h"

enum checksum_type { CK_NONE, CK_SHA256, CK_MD5 };

struct artifact {
	char *name;  /* unique within the manifest */
	char *url;   /* exactly as written */
	char *path;  /* normalised, relative: "config/app.conf" */
	mode_t mode; /* permission bits, at most 0777 */
	enum url_scheme scheme;
	enum checksum_type ck_type;
	char ck_hex[65]; /* lowercase hex digest, "" when none */
};

struct manifest {
	struct artifact *items; /* count entries, in manifest order */
	size_t count;
	char *container; /* the container's name; NULL for a bare array */
};

/* Faults found while parsing, one line each, ready to print. */
struct diag {
	char **lines;
	size_t count;
};

/* Appends one formatted line to D.  At most CAP_DIAG_LINES are kept, the
 * last saying that the rest are not shown; a line that cannot be
 * allocated is dropped. */
void diag_add(struct diag *d, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Frees every line and leaves D empty and reusable; D may be NULL. */
void diag_clear(struct diag *d);

/*
 * Parses and validates TEXT (LEN bytes of JSON).  CONTAINER picks one
 * container when several declare artifacts; NULL otherwise.
 * Returns 0 and a new manifest in *out (caller frees it with
 * manifest_free), or -EINVAL with every fault appended to *d, each line
 * naming the artifact (its name, or "#N" by position) and the field.
 * Never touches the network.
 */
int manifest_parse(const char *text, size_t len, const char *container,
                   struct manifest **out, struct diag *d);

/* As manifest_parse, reading the file at PATH ("-" for stdin).  A file
 * that cannot be read is one diag line and -errno. */
int manifest_load(const char *path, const char *container,
                  struct manifest **out, struct diag *d);

/* Frees M and everything it owns; M may be NULL. */
void manifest_free(struct manifest *m);

/* "0644"-style text of a mode, in buf of at least 6 bytes. */
const char *manifest_mode_str(mode_t mode, char *buf);

/* Orders two normalised paths component by component (each compared as
 * bytes), so that everything under "a" sorts right after "a" and before
 * "a-b".  Returns <0, 0 or >0 as strcmp does. */
int manifest_path_cmp(const char *a, const char *b);

#endif
