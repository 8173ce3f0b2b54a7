#!/bin/bash
# Concurrent cold opens of one artifact share one download: 30 readers
# started at once during a slow transfer all get the right bytes, and the
# origin sees one GET.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

NGINX_SLOW_RATE=2m
start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"
READERS=30

# About three seconds each at the slow rate, so the readers overlap.
head -c 6291456 /dev/urandom >"$NGINX_ROOT/slow/verified.bin"
head -c 6291456 /dev/urandom >"$NGINX_ROOT/slow/plain.bin"
SHA=$(t_sha256 "$NGINX_ROOT/slow/verified.bin")
SHA_PLAIN=$(t_sha256 "$NGINX_ROOT/slow/plain.bin")
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "verified", "artifactUrl": "$NGINX_HTTP/slow/verified.bin",
    "targetPath": "verified.bin", "checksum": "sha256:$SHA" },
  { "name": "plain", "artifactUrl": "$NGINX_HTTP/slow/plain.bin",
    "targetPath": "plain.bin" }
]
JSON

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache"

PIDS=()
for f in verified plain; do
	stat "$MNT/$f.bin" >/dev/null
	for ((i = 0; i < READERS; i++)); do
		sha256sum "$MNT/$f.bin" >"$T_DIR/sum-$f-$i" 2>&1 &
		PIDS+=($!)
	done
done
wait "${PIDS[@]}"

for f in verified plain; do
	want=$SHA
	[ $f = plain ] && want=$SHA_PLAIN
	good=0
	for ((i = 0; i < READERS; i++)); do
		[ "$(cut -d' ' -f1 "$T_DIR/sum-$f-$i")" = "$want" ] &&
			good=$((good + 1))
	done
	t_check "$f: $READERS concurrent readers got the right bytes ($good)" \
		[ "$good" = "$READERS" ]
	t_check "$f: one GET for $READERS readers" \
		[ "$(nginx_count GET "/slow/$f.bin")" = 1 ]
done

t_finish
