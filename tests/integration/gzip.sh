#!/bin/bash
# Content-Encoding is not undone: a stored .gz served with
# "Content-Encoding: gzip" reads back as the stored bytes, and its
# declared checksum is the one of those bytes.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"

seq 1 20000 >"$T_DIR/data.txt"
gzip -n -c "$T_DIR/data.txt" >"$NGINX_ROOT/gz/data.txt.gz"
SHA=$(t_sha256 "$NGINX_ROOT/gz/data.txt.gz")
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "verified", "artifactUrl": "$NGINX_HTTP/gz/data.txt.gz",
    "targetPath": "verified.txt.gz", "checksum": "sha256:$SHA" },
  { "name": "plain", "artifactUrl": "$NGINX_HTTPS/gz/data.txt.gz",
    "targetPath": "plain.txt.gz" }
]
JSON

t_check "nginx marks it gzip-encoded" bash -c "curl -sI '$NGINX_HTTP/gz/data.txt.gz' | grep -qi '^content-encoding: gzip'"

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache" --ca-file "$NGINX_CA"
t_check "stat shows the stored size" \
	[ "$(stat -c %s "$MNT/verified.txt.gz")" = \
	"$(stat -c %s "$NGINX_ROOT/gz/data.txt.gz")" ]
t_check "verified: the stored bytes, checksum accepted" cmp -s \
	"$MNT/verified.txt.gz" "$NGINX_ROOT/gz/data.txt.gz"
t_check "plain: the stored bytes" cmp -s "$MNT/plain.txt.gz" \
	"$NGINX_ROOT/gz/data.txt.gz"
t_check "zcat of the mounted file gives the original" cmp -s \
	<(zcat "$MNT/verified.txt.gz") "$T_DIR/data.txt"

t_finish
