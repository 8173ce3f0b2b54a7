/*
 * The FUSE low-level handlers.  Each turns its request into a call of the
 * tree or the store and replies exactly once; no logic lives here.
 */
#ifndef ARTIFACTFS_FSOPS_H
#define ARTIFACTFS_FSOPS_H

#include <fuse_lowlevel.h>
#include <sys/types.h>
#include <time.h>

#include "store.h"
#include "tree.h"

/* What the handlers need; borrowed for the life of the session. */
struct fsops_ctx {
	const struct tree *tree;
	const struct manifest *manifest;
	struct store *store;
	uid_t uid; /* owner shown for every node */
	gid_t gid;
	time_t mounted_at; /* the times shown for directories */
};

/* The handler table, to pass to fuse_session_new with a struct fsops_ctx
 * as userdata. */
const struct fuse_lowlevel_ops *fsops_table(void);

#endif
