#!/bin/bash
# Redirects are followed, over HTTP and HTTPS, and bounded: a redirect
# loop ends in EIO and one log line, not in a hang.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"
REDIRECTS=$(t_cap CAP_REDIRECTS)
RETRIES=$(t_cap CAP_RETRIES)

head -c 70000 /dev/urandom >"$NGINX_ROOT/target.bin"
SHA=$(t_sha256 "$NGINX_ROOT/target.bin")
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "moved", "artifactUrl": "$NGINX_HTTP/redirect/target.bin",
    "targetPath": "moved.bin", "checksum": "sha256:$SHA" },
  { "name": "moved-tls", "artifactUrl": "$NGINX_HTTPS/redirect/target.bin",
    "targetPath": "moved-tls.bin" },
  { "name": "loop", "artifactUrl": "$NGINX_HTTP/loop",
    "targetPath": "loop.bin" }
]
JSON

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache" --ca-file "$NGINX_CA"

t_check "stat follows the redirect for the size" \
	[ "$(stat -c %s "$MNT/moved.bin")" = 70000 ]
t_check "redirected file reads" cmp -s "$MNT/moved.bin" \
	"$NGINX_ROOT/target.bin"
t_check "one GET of the old place, answered 302" \
	[ "$(awk '$1 == "GET" && $2 == "/redirect/target.bin" && $3 == 302' \
	"$NGINX_LOG" | wc -l)" -ge 1 ]
t_check "one GET of the new place" [ "$(nginx_count GET /target.bin)" = 1 ]
t_check "redirected file over https reads" cmp -s "$MNT/moved-tls.bin" \
	"$NGINX_ROOT/target.bin"

t_check "redirect loop: EIO" [ "$(t_fsop read "$MNT/loop.bin")" = EIO ]
n=$(nginx_count GET /loop)
t_check "redirect loop: bounded ($n GETs)" \
	[ "$n" -ge 1 -a "$n" -le $(((REDIRECTS + 1) * (RETRIES + 1))) ]
t_check "redirect loop: one log line" \
	[ "$(grep -c "artifact 'loop': GET $NGINX_HTTP/loop: " "$LOG")" = 1 ]
t_check "mount still up" mountpoint -q "$MNT"

t_finish
