/*
 * `artifactfs fetch`: every artifact downloaded now, through the same
 * store and cache as the mount, and placed into a plain directory.
 */
#ifndef ARTIFACTFS_EAGER_H
#define ARTIFACTFS_EAGER_H

#include <stdbool.h>

#include "manifest.h"
#include "store.h"

/*
 * Places every artifact of M under DIR (which must exist), at its
 * targetPath with its declared mode, each only once verified and each by
 * an atomic rename.  Runs downloads in parallel.  With PROGRESS, shows
 * per-file and total progress on stderr.  Returns 0 when all were
 * placed, or -EIO after one log line per failed artifact.
 */
int eager_run(struct store *s, const struct manifest *m, const char *dir,
              bool progress);

#endif
