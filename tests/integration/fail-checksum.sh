#!/bin/bash
# A body that does not match its declared checksum is never served: the
# open fails with EIO with no byte read, nothing reaches the cache (not
# even a temp file), the log names the artifact and a checksum mismatch;
# after the origin is fixed the next open succeeds.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
CACHE=$T_DIR/cache
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"

# What the task definition declares, and what the origin serves instead.
printf 'the right config\n' >"$T_DIR/right.conf"
printf 'a 404 page dressed as a config\n' >"$NGINX_ROOT/app.conf"
head -c 8388608 /dev/urandom >"$T_DIR/right.bin"
head -c 8388608 /dev/urandom >"$NGINX_ROOT/big.bin"
printf 'right md5\n' >"$T_DIR/right.txt"
printf 'wrong md5\n' >"$NGINX_ROOT/small.txt"
printf 'fine\n' >"$NGINX_ROOT/fine.txt"
SHA_CONF=$(t_sha256 "$T_DIR/right.conf")
SHA_BIG=$(t_sha256 "$T_DIR/right.bin")
MD5_SMALL=$(md5sum "$T_DIR/right.txt" | cut -d' ' -f1)
SHA_FINE=$(t_sha256 "$NGINX_ROOT/fine.txt")

cat >"$T_DIR/task.json" <<JSON
[
  { "name": "app-config", "artifactUrl": "$NGINX_HTTP/app.conf",
    "targetPath": "app.conf", "checksum": "sha256:$SHA_CONF" },
  { "name": "big", "artifactUrl": "$NGINX_HTTP/big.bin",
    "targetPath": "big.bin", "checksum": "$SHA_BIG" },
  { "name": "small", "artifactUrl": "$NGINX_HTTP/small.txt",
    "targetPath": "small.txt", "checksum": "$MD5_SMALL",
    "checksumType": "md5" },
  { "name": "fine", "artifactUrl": "$NGINX_HTTP/fine.txt",
    "targetPath": "fine.txt", "checksum": "sha256:$SHA_FINE" }
]
JSON

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$CACHE"
PID=$T_MOUNT_PID

for a in app-config:app.conf big:big.bin small:small.txt; do
	name=${a%%:*}
	file=${a#*:}
	t_check "$name: open fails with EIO, no byte served" \
		[ "$(t_fsop read "$MNT/$file")" = EIO ]
	t_check "$name: logged once, naming the checksum" \
		[ "$(grep -c "artifact '$name': GET $NGINX_HTTP/$file: .*\(checksum\|sha256\|md5\|digest\)" "$LOG")" = 1 ]
done

t_check "the good file reads" cmp -s "$MNT/fine.txt" "$NGINX_ROOT/fine.txt"
t_check "nothing unverified in the cache" [ "$(t_files "$CACHE")" = 1 ]
t_check "no cache entry under the declared sha256" \
	[ ! -e "$CACHE/sha256/$SHA_CONF" -a ! -e "$CACHE/sha256/$SHA_BIG" ]
t_check "mount still up" mountpoint -q "$MNT"

# The origin is fixed (opens in the moment right after a failure may
# share it rather than ask again).
cp "$T_DIR/right.conf" "$NGINX_ROOT/app.conf"
cp "$T_DIR/right.bin" "$NGINX_ROOT/big.bin"
cp "$T_DIR/right.txt" "$NGINX_ROOT/small.txt"
t_check "app-config: after the fix it reads" t_eventually 5 cmp -s "$MNT/app.conf" \
	"$T_DIR/right.conf"
t_check "big: after the fix it reads" t_eventually 5 cmp -s "$MNT/big.bin" "$T_DIR/right.bin"
t_check "small: after the fix it reads" t_eventually 5 cmp -s "$MNT/small.txt" \
	"$T_DIR/right.txt"
t_check "big: cached under its sha256" \
	cmp -s "$CACHE/sha256/$SHA_BIG" "$T_DIR/right.bin"

t_unmount_fg "$MNT" "$PID"
t_check "daemon exits 0" [ $? = 0 ]

t_finish
