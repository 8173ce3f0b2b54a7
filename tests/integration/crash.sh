#!/bin/bash
# kill -9 in the middle of a download leaves nothing under the entry's
# final name; the next mount with the same cache sweeps tmp/ and fetches
# again, and the file then reads whole and verified.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

NGINX_SLOW_RATE=1m
start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
CACHE=$T_DIR/cache
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"

head -c 4194304 /dev/urandom >"$NGINX_ROOT/slow/big.bin"
SHA=$(t_sha256 "$NGINX_ROOT/slow/big.bin")
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "big", "artifactUrl": "$NGINX_HTTP/slow/big.bin",
    "targetPath": "big.bin", "checksum": "sha256:$SHA" }
]
JSON

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$CACHE"
PID=$T_MOUNT_PID

cat "$MNT/big.bin" >"$T_DIR/partial.out" 2>/dev/null &
READER=$!
partial=no
for ((i = 0; i < 100; i++)); do
	if [ -n "$(find "$CACHE/tmp" -type f -size +0 2>/dev/null)" ]; then
		partial=yes
		break
	fi
	sleep 0.1
done
t_check "a partial download sits in tmp/" [ $partial = yes ]
kill -9 "$PID"
wait "$PID" 2>/dev/null
fusermount3 -uz "$MNT"
t_wait_gone "$READER" 10
kill -9 "$READER" 2>/dev/null

t_check "the reader got no byte" [ ! -s "$T_DIR/partial.out" ]
t_check "nothing under the final name" [ ! -e "$CACHE/sha256/$SHA" ]
t_check "no file outside tmp/" \
	[ "$(find "$CACHE" -type f ! -path "$CACHE/tmp/*" | wc -l)" = 0 ]

t_check "remount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG.2" \
	--cache-dir "$CACHE"
t_dump_on_fail "$LOG.2"
t_check "tmp/ swept at start" [ "$(t_files "$CACHE/tmp")" = 0 ]
t_check "the file reads whole" cmp -s "$MNT/big.bin" "$NGINX_ROOT/slow/big.bin"
t_check "now under its final name, verified" \
	[ "$(t_sha256 "$CACHE/sha256/$SHA")" = "$SHA" ]

t_finish
