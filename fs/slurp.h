/*
 * Reading a whole small input (a manifest, a credentials file, a token)
 * into memory, with a cap on its size.
 */
#ifndef ARTIFACTFS_SLURP_H
#define ARTIFACTFS_SLURP_H

#include <stddef.h>

/*
 * Reads FD to its end, refusing more than CAP bytes.  Returns 0 and a
 * NUL-terminated buffer of *len bytes in *out (the caller frees it), or
 * -EFBIG when over CAP, -ENOMEM, or -errno of a failed read.  What was
 * read is wiped before it is freed on failure, as it may hold secrets.
 */
int slurp_fd(int fd, size_t cap, char **out, size_t *len);

#endif
