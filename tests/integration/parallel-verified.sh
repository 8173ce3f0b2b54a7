#!/bin/bash
# The first download of a large verified artifact runs as parallel ranged
# GETs pinned to the HEAD's ETag, and still serves no byte before the
# whole file is verified: a mismatch fails the open with EIO and leaves
# nothing cached; an origin that ignores ranges, and an object changed
# between the HEAD and the GETs, are downloaded whole by one plain GET.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"

SIZE=$((80 * 1024 * 1024)) # over the 64 MiB where parallel GETs start
# Each artifact its own content: entries with one sha256 are shared.
head -c $SIZE /dev/urandom >"$NGINX_ROOT/big.bin"
head -c $SIZE /dev/urandom >"$NGINX_ROOT/wrong.bin"
head -c $SIZE /dev/urandom >"$T_DIR/declared.bin"
head -c $SIZE /dev/urandom >"$NGINX_ROOT/noranges/nr.bin"
head -c $SIZE /dev/urandom >"$NGINX_ROOT/moving.bin"
head -c $SIZE /dev/urandom >"$T_DIR/moved.bin"

cat >"$T_DIR/task.json" <<JSON
[
  { "name": "big", "artifactUrl": "$NGINX_HTTP/big.bin",
    "targetPath": "big.bin",
    "checksum": "sha256:$(t_sha256 "$NGINX_ROOT/big.bin")" },
  { "name": "wrong", "artifactUrl": "$NGINX_HTTP/wrong.bin",
    "targetPath": "wrong.bin",
    "checksum": "sha256:$(t_sha256 "$T_DIR/declared.bin")" },
  { "name": "noranges", "artifactUrl": "$NGINX_HTTP/noranges/nr.bin",
    "targetPath": "noranges.bin",
    "checksum": "sha256:$(t_sha256 "$NGINX_ROOT/noranges/nr.bin")" },
  { "name": "moving", "artifactUrl": "$NGINX_HTTP/moving.bin",
    "targetPath": "moving.bin",
    "checksum": "sha256:$(t_sha256 "$T_DIR/moved.bin")" }
]
JSON
SHA=$(t_sha256 "$NGINX_ROOT/big.bin")

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache"

nginx_clear_log
t_check "big: reads back verified" cmp -s "$MNT/big.bin" "$NGINX_ROOT/big.bin"
t_check "big: fetched as several 206 ranges" \
	[ "$(grep -c '^GET /big.bin 206 ' "$NGINX_LOG")" -ge 4 ]
t_check "big: no whole GET" [ "$(grep -c '^GET /big.bin 200 ' "$NGINX_LOG")" = 0 ]
t_check "big: the ranges add up to the file, once" \
	[ "$(awk '$1 == "GET" && $2 == "/big.bin" { s += $4 } END { print s }' \
		"$NGINX_LOG")" = $SIZE ]
t_check "big: cached under its sha256" [ -f "$T_DIR/cache/sha256/$SHA" ]

r=$(t_fsop read "$MNT/wrong.bin")
t_check "wrong: the open fails with EIO, no byte served ($r)" [ "$r" = EIO ]
t_check "wrong: one log line, a checksum mismatch" \
	[ "$(grep -c "artifact 'wrong': GET .*checksum mismatch" "$LOG")" = 1 ]
t_check "wrong: nothing left in the cache's tmp/" \
	[ -z "$(find "$T_DIR/cache/tmp" -type f)" ]

nginx_clear_log
t_check "noranges: reads back verified" cmp -s "$MNT/noranges.bin" \
	"$NGINX_ROOT/noranges/nr.bin"
t_check "noranges: downloaded whole by a plain GET" \
	grep -q "^GET /noranges/nr.bin 200 $SIZE " "$NGINX_LOG"
t_check "noranges: one ranged attempt at most before it ($(nginx_count GET /noranges/nr.bin) GETs)" \
	[ "$(nginx_count GET /noranges/nr.bin)" -le 2 ]

# The HEAD sees one version; the object then changes (a new ETag), so the
# pinned ranges get 412 and the download goes on as one plain GET, which
# then fails its checksum: the mount must not mix versions either way.
stat "$MNT/moving.bin" >/dev/null
cp "$T_DIR/moved.bin" "$NGINX_ROOT/moving.bin"
touch -d '2001-01-01' "$NGINX_ROOT/moving.bin"
nginx_clear_log
t_check "moving: reads back the new version, verified" \
	cmp -s "$MNT/moving.bin" "$T_DIR/moved.bin"
t_check "moving: the pinned ranges were refused (412)" \
	grep -q '^GET /moving.bin 412 ' "$NGINX_LOG"
t_check "moving: then one plain GET" \
	grep -q '^GET /moving.bin 200 ' "$NGINX_LOG"

t_finish
