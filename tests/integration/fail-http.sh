#!/bin/bash
# HTTP errors: the open fails with EIO before any byte, nothing is cached,
# the log has one line naming the artifact, the URL without credentials
# or query, and the status; 4xx are not retried; the mount keeps serving
# the others; once the origin is fixed a later open succeeds.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
CACHE=$T_DIR/cache
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"
HOST=127.0.0.1:$NGINX_HTTP_PORT

printf 'good\n' >"$NGINX_ROOT/good.txt"
printf 'arrives later\n' >"$T_DIR/missing.later"
SHA_GOOD=$(t_sha256 "$NGINX_ROOT/good.txt")
SHA_LATER=$(t_sha256 "$T_DIR/missing.later")
mkdir -p "$NGINX_ROOT/private"
printf 'forbidden\n' >"$NGINX_ROOT/private/forbidden.txt"
chmod 000 "$NGINX_ROOT/private/forbidden.txt"

SECRET_URL="http://alice:s3cr3tpass@$HOST/private/gone.txt?X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature=feedfacecafe"
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "good", "artifactUrl": "$NGINX_HTTP/good.txt",
    "targetPath": "good.txt", "checksum": "sha256:$SHA_GOOD" },
  { "name": "missing", "artifactUrl": "$NGINX_HTTP/missing.bin",
    "targetPath": "missing.bin", "checksum": "sha256:$SHA_LATER" },
  { "name": "missing-unverified", "artifactUrl": "$NGINX_HTTP/nothing.bin",
    "targetPath": "nothing.bin" },
  { "name": "forbidden", "artifactUrl": "$NGINX_HTTP/private/forbidden.txt",
    "targetPath": "forbidden.txt" },
  { "name": "secret", "artifactUrl": "$SECRET_URL",
    "targetPath": "secret.txt" }
]
JSON

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$CACHE"
PID=$T_MOUNT_PID

# fails NAME FILE URI STATUS: the read fails as it should.
fails()
{
	local name=$1 file=$2 uri=$3 status=$4 line
	line="artifact '$name': GET http://$HOST$uri: HTTP $status"
	t_check "$name: open fails with EIO, no byte served" \
		[ "$(t_fsop read "$MNT/$file")" = EIO ]
	t_check "$name: exactly one log line: $line" \
		[ "$(t_count_end "$line" "$LOG")" = 1 ]
	t_check "$name: one GET, no retry of a $status" \
		[ "$(nginx_count GET "${5:-$uri}")" = 1 ]
}

fails missing missing.bin /missing.bin 404
fails missing-unverified nothing.bin /nothing.bin 404
fails forbidden forbidden.txt /private/forbidden.txt 403
fails secret secret.txt /private/gone.txt 404 \
	"/private/gone.txt?X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature=feedfacecafe"

for leak in alice s3cr3tpass feedfacecafe AKIDEXAMPLE X-Amz '?'; do
	t_check "log does not hold '$leak'" \
		bash -c "! grep -qF -- '$leak' '$LOG'"
done

t_check "the others are still served" cmp -s "$MNT/good.txt" \
	"$NGINX_ROOT/good.txt"
t_check "daemon alive" kill -0 "$PID"
t_check "mount still up" mountpoint -q "$MNT"
t_check "nothing cached but the good file" \
	[ "$(t_files "$CACHE")" = 1 ]
t_check "the good file is the one cached" [ -f "$CACHE/sha256/$SHA_GOOD" ]

# The origin is fixed: a later open tries again and succeeds (opens in
# the moment right after a failure may share it rather than ask again).
cp "$T_DIR/missing.later" "$NGINX_ROOT/missing.bin"
chmod 644 "$NGINX_ROOT/private/forbidden.txt"
t_check "missing: after the fix the open succeeds" t_eventually 5 cmp -s \
	"$MNT/missing.bin" "$T_DIR/missing.later"
t_check "missing: the retry was a new GET" \
	[ "$(nginx_count GET /missing.bin)" = 2 ]
t_check "missing: now cached" [ -f "$CACHE/sha256/$SHA_LATER" ]
t_check "forbidden: after the fix the open succeeds" t_eventually 5 cmp -s \
	"$MNT/forbidden.txt" "$NGINX_ROOT/private/forbidden.txt"

t_unmount_fg "$MNT" "$PID"
t_check "daemon exits 0 after the failures" [ $? = 0 ]

t_finish
