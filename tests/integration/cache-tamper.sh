#!/bin/bash
# A cached file is checked against its declared checksum before a new
# mount serves it: a copy changed on disk between two mounts is never
# served; it is fetched again, with a warning, and read right.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
CACHE=$T_DIR/cache
t_dump_on_fail "$NGINX_LOG"

printf 'hello world\n' >"$NGINX_ROOT/hello.txt"
printf 'checked by md5\n' >"$NGINX_ROOT/small.txt"
SHA=$(t_sha256 "$NGINX_ROOT/hello.txt")
cat >"$T_DIR/task.json" <<JSON
[ { "name": "hello", "artifactUrl": "$NGINX_HTTP/hello.txt",
    "targetPath": "hello.txt", "checksum": "sha256:$SHA" },
  { "name": "small", "artifactUrl": "$NGINX_HTTP/small.txt",
    "targetPath": "small.txt", "checksumType": "md5",
    "checksum": "$(md5sum "$NGINX_ROOT/small.txt" | cut -d' ' -f1)" } ]
JSON

t_check "first mount" t_mount_fg "$T_DIR/task.json" "$T_DIR/m1" \
	"$T_DIR/d1.log" --cache-dir "$CACHE"
t_check "first read" cmp -s "$T_DIR/m1/hello.txt" "$NGINX_ROOT/hello.txt"
t_check "first read (md5)" cmp -s "$T_DIR/m1/small.txt" "$NGINX_ROOT/small.txt"
t_stop_mount "$T_DIR/m1" "$T_MOUNT_PID"

# Someone changes the cached copies while nothing is mounted.
printf 'EVIL' >"$CACHE/sha256/$SHA"
for f in "$CACHE"/url/*; do printf 'tampered!!!!' >"$f"; done

nginx_clear_log
t_check "second mount" t_mount_fg "$T_DIR/task.json" "$T_DIR/m2" \
	"$T_DIR/d2.log" --cache-dir "$CACHE"
t_check "the changed copy is not served (sha256)" \
	cmp -s "$T_DIR/m2/hello.txt" "$NGINX_ROOT/hello.txt"
t_check "the changed copy is not served (md5)" \
	cmp -s "$T_DIR/m2/small.txt" "$NGINX_ROOT/small.txt"
t_check "both fetched again" [ "$(nginx_count GET)" = 2 ]
t_check "a warning names each" \
	[ "$(grep -c "the cached copy does not match its checksum" "$T_DIR/d2.log")" = 2 ]
t_check "the cache holds the right bytes again" \
	cmp -s "$CACHE/sha256/$SHA" "$NGINX_ROOT/hello.txt"

nginx_clear_log
t_check "a later open in the same mount: no request" \
	cmp -s "$T_DIR/m2/hello.txt" "$NGINX_ROOT/hello.txt"
t_check "... none at all" [ "$(nginx_count)" = 0 ]

t_finish
