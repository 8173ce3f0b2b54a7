/*
 * FUSE handlers for the read-only artifact tree.  Directory shape never
 * changes, so entries get long timeouts; a file's attributes get a long
 * timeout once its bytes are verified, and none before, so that the size
 * learnt from a HEAD is corrected as soon as the download is done.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "caps.h"
#include "fsops.h"
#include "log.h"
#include "banned.h"

#define XATTR_PROGRESS "user.artifactfs.progress"

static struct fsops_ctx *ctx_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Fills ST for NODE; returns the attribute timeout to use. */
static double node_attr(struct fsops_ctx *ctx, const struct tree_node *node,
                        struct stat *st)
{
	struct store_attr a;

	memset(st, 0, sizeof(*st));
	st->st_ino = node->ino;
	st->st_uid = ctx->uid;
	st->st_gid = ctx->gid;
	st->st_blksize = 128 * 1024;
	if (node->is_dir) {
		st->st_mode = S_IFDIR | node->mode;
		st->st_nlink = 2;
		st->st_mtim.tv_sec = ctx->mounted_at;
		st->st_ctim = st->st_mtim;
		st->st_atim = st->st_mtim;
		return TTL_STABLE;
	}

	store_attr(ctx->store, node->artifact, &a);
	st->st_mode = S_IFREG | node->mode;
	st->st_nlink = 1;
	st->st_size = a.size;
	st->st_blocks = (a.size + 511) / 512;
	st->st_mtim.tv_sec = a.mtime;
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
	return a.stable ? TTL_STABLE : 0.0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsops_ctx *ctx = ctx_of(req);
	const struct tree_node *node;
	struct fuse_entry_param e;

	node = tree_lookup(ctx->tree, parent, name);
	if (!node) {
		/* A negative entry: the tree never grows. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = TTL_STABLE;
		fuse_reply_entry(req, &e);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = node->ino;
	e.generation = 1;
	e.attr_timeout = node_attr(ctx, node, &e.attr);
	e.entry_timeout = TTL_STABLE;
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	struct fsops_ctx *ctx = ctx_of(req);
	const struct tree_node *node;
	struct stat st;
	double ttl;

	node = tree_get(ctx->tree, ino);
	if (!node) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	ttl = node_attr(ctx, node, &st);
	fuse_reply_attr(req, &st, ttl);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	struct fsops_ctx *ctx = ctx_of(req);
	const struct tree_node *node, *child;
	size_t i;

	node = tree_get(ctx->tree, ino);
	if (!node || !node->is_dir) {
		fuse_reply_err(req, node ? ENOTDIR : ENOENT);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* A listing is usually followed by a stat of every entry: start
	 * their HEADs now, all at once. */
	for (i = 0; i < node->nchildren; i++) {
		child = tree_get(ctx->tree, node->children[i]);
		if (child && !child->is_dir)
			store_prefetch(ctx->store, child->artifact);
	}
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static size_t add_entry(fuse_req_t req, char *buf, size_t room,
                        const char *name, const struct tree_node *node,
                        off_t next)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_ino = node->ino;
	st.st_mode = node->is_dir ? S_IFDIR : S_IFREG;
	return fuse_add_direntry(req, buf, room, name, &st, next);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
	struct fsops_ctx *ctx = ctx_of(req);
	const struct tree_node *node, *child;
	char buf[64 * 1024];
	size_t used = 0, len, i;

	node = tree_get(ctx->tree, ino);
	if (!node) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);

	/* Offsets 0 and 1 are "." and ".."; child i sits at i + 2. */
	for (i = (size_t)off; i < node->nchildren + 2; i++) {
		if (i < 2)
			child = tree_get(ctx->tree, i ? node->parent : ino);
		else
			child = tree_get(ctx->tree, node->children[i - 2]);
		len = add_entry(req, buf + used, size - used,
		                i == 0   ? "."
		                : i == 1 ? ".."
		                         : child->name,
		                child, (off_t)i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsops_ctx *ctx = ctx_of(req);
	const struct tree_node *node;
	struct store_handle *h;
	int rc;

	node = tree_get(ctx->tree, ino);
	if (!node) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (node->is_dir) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}

	rc = store_handle_open(ctx->store, node->artifact, &h);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	/* Verified bytes, or ranges pinned to one version, never change:
	 * the kernel may keep its pages. */
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) != 0)
		store_handle_close(h); /* the opener was interrupted */
}

static struct store_handle *handle_of(struct fuse_file_info *fi)
{
	return (struct store_handle *)(uintptr_t)fi->fh;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	int fd, rc;

	rc = store_handle_read(ctx_of(req)->store, handle_of(fi), (uint64_t)off,
	                       size, &fd);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	store_handle_close(handle_of(fi));
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fsops_ctx *ctx = ctx_of(req);
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_files = tree_count(ctx->tree);
	sv.f_namemax = CAP_COMPONENT_BYTES;
	sv.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV;
	fuse_reply_statfs(req, &sv);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                        size_t size)
{
	struct fsops_ctx *ctx = ctx_of(req);
	const struct tree_node *node;
	char value[64];
	uint64_t done;
	int64_t total;
	int len;

	node = tree_get(ctx->tree, ino);
	if (!node || node->is_dir || strcmp(name, XATTR_PROGRESS) != 0 ||
	    store_progress(ctx->store, node->artifact, &done, &total) < 0) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	len = snprintf(value, sizeof(value), "%llu/%lld",
	               (unsigned long long)done, (long long)total);
	if (size == 0)
		fuse_reply_xattr(req, (size_t)len);
	else if ((size_t)len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, (size_t)len);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	/* Progress is not listed, or copy tools would carry it along. */
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* Attributes come one by one from lookup, after the parallel
	 * HEADs that opendir started; readdirplus would serialise them. */
	conn->want &= ~FUSE_CAP_READDIRPLUS;
	/* A lookup waiting on a slow HEAD must not hold up its siblings. */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	log_debug("fuse: kernel offers 0x%x, we take 0x%x", conn->capable,
	          conn->want);
}

static const struct fuse_lowlevel_ops table = {
        .init = op_init,
        .lookup = op_lookup,
        .getattr = op_getattr,
        .opendir = op_opendir,
        .readdir = op_readdir,
        .open = op_open,
        .read = op_read,
        .release = op_release,
        .statfs = op_statfs,
        .getxattr = op_getxattr,
        .listxattr = op_listxattr,
};

const struct fuse_lowlevel_ops *fsops_table(void)
{
	return &table;
}
