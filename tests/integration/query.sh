#!/bin/bash
# The query string reaches the origin exactly as written (not sorted,
# not re-encoded), and never reaches the log, at any log level.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"

mkdir -p "$NGINX_ROOT/q"
printf 'signed\n' >"$NGINX_ROOT/q/object.bin"
printf 'other\n' >"$NGINX_ROOT/q/other.bin"
Q1='X-Amz-Signature=abc%2Fdef%3D&versionId=3&empty=&a=b+c&tilde=%7E'
Q2='zeta=1&alpha=2&alpha=1&path=%2Fx%2Fy'
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "signed", "artifactUrl": "$NGINX_HTTP/q/object.bin?$Q1",
    "targetPath": "signed.bin" },
  { "name": "ordered", "artifactUrl": "$NGINX_HTTP/q/other.bin?$Q2",
    "targetPath": "ordered.bin" },
  { "name": "broken", "artifactUrl": "$NGINX_HTTP/q/none.bin?token=hush-1234",
    "targetPath": "broken.bin" }
]
JSON

t_check "mount with -o debug" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache" -o debug

t_check "signed reads" cmp -s "$MNT/signed.bin" "$NGINX_ROOT/q/object.bin"
t_check "ordered reads" cmp -s "$MNT/ordered.bin" "$NGINX_ROOT/q/other.bin"
t_check "broken fails" [ "$(t_fsop read "$MNT/broken.bin")" = EIO ]
t_check "GET sent the query exactly as written" \
	[ "$(nginx_count GET "/q/object.bin?$Q1")" = 1 ]
t_check "GET kept the order of parameters" \
	[ "$(nginx_count GET "/q/other.bin?$Q2")" = 1 ]
t_check "no request changed the query" \
	[ "$(awk '$2 ~ /^\/q\// && $2 !~ /\?/' "$NGINX_LOG" | wc -l)" = 0 ]
t_check "the failure is logged without its query" \
	[ "$(t_count_end "artifact 'broken': GET $NGINX_HTTP/q/none.bin: HTTP 404" "$LOG")" = 1 ]
t_check "debug logging is on (the log is not empty)" [ -s "$LOG" ]
for leak in X-Amz-Signature abc%2F versionId hush-1234 token= zeta '?'; do
	t_check "debug log does not hold '$leak'" \
		bash -c "! grep -qF -- '$leak' '$LOG'"
done

t_finish
