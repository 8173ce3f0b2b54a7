#!/bin/bash
# The main path: mounting touches no network, the tree and its modes are
# there at once, stat shows the true size and mtime before the first
# open, the first open downloads once, later opens and later mounts with
# the same cache read from the cache.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
CACHE=$T_DIR/cache
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"

# Origin files, with mtimes the test knows.
mkdir -p "$NGINX_ROOT/conf" "$NGINX_ROOT/bin" "$NGINX_ROOT/data"
printf 'listen = 8080\nworkers = 4\n' >"$NGINX_ROOT/conf/app.conf"
head -c 300000 /dev/urandom >"$NGINX_ROOT/bin/tool"
head -c 1048576 /dev/urandom >"$NGINX_ROOT/data/blob.bin"
printf 'small\n' >"$NGINX_ROOT/data/small.txt"
touch -d '2024-01-02 03:04:05 UTC' "$NGINX_ROOT/conf/app.conf"
touch -d '2023-06-07 08:09:10 UTC' "$NGINX_ROOT/bin/tool"
touch -d '2022-11-12 13:14:15 UTC' "$NGINX_ROOT/data/blob.bin"
touch -d '2021-02-03 04:05:06 UTC' "$NGINX_ROOT/data/small.txt"
SHA_CONF=$(t_sha256 "$NGINX_ROOT/conf/app.conf")
SHA_TOOL=$(t_sha256 "$NGINX_ROOT/bin/tool")
MD5_SMALL=$(md5sum "$NGINX_ROOT/data/small.txt" | cut -d' ' -f1)

cat >"$T_DIR/task.json" <<JSON
{
  "family": "lazy",
  "containerDefinitions": [
    {
      "name": "app",
      "image": "debian:12",
      "artifacts": [
        { "name": "app-config", "artifactUrl": "$NGINX_HTTP/conf/app.conf",
          "type": "http", "targetPath": "conf/app.conf",
          "checksum": "sha256:$SHA_CONF" },
        { "name": "tool", "artifactUrl": "$NGINX_HTTP/bin/tool",
          "targetPath": "/bin/tool", "permissions": "0755",
          "checksum": "$SHA_TOOL", "checksumType": "sha256" },
        { "name": "blob", "artifactUrl": "$NGINX_HTTP/data/blob.bin",
          "targetPath": "data//./blob.bin", "permissions": "640" },
        { "name": "small", "artifactUrl": "$NGINX_HTTP/data/small.txt",
          "targetPath": "data/small.txt",
          "checksum": "md5:$MD5_SMALL", "checksumType": "md5" }
      ]
    }
  ]
}
JSON

t_check "mount -f comes up" \
	t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" --cache-dir "$CACHE"
PID=$T_MOUNT_PID
mountpoint -q "$MNT" || t_end

t_check "no request at mount time" [ "$(nginx_count)" = 0 ]
t_check "cache dir created 0700" [ "$(stat -c %a "$CACHE")" = 700 ]

tree=$(cd "$MNT" && find . -mindepth 1 -printf '%y %m %p\n' | sort)
want=$(printf '%s\n' "d 755 ./bin" "d 755 ./conf" "d 755 ./data" \
	"f 640 ./data/blob.bin" "f 644 ./conf/app.conf" \
	"f 644 ./data/small.txt" "f 755 ./bin/tool" | sort)
if [ "$tree" = "$want" ]; then
	t_ok "tree and modes as declared"
else
	t_fail "tree and modes as declared: got: $(echo $tree)"
fi

for f in conf/app.conf bin/tool data/blob.bin data/small.txt; do
	t_check "stat size of $f before open" \
		[ "$(stat -c %s "$MNT/$f")" = "$(stat -c %s "$NGINX_ROOT/$f")" ]
	t_check "stat mtime of $f before open" \
		[ "$(stat -c %Y "$MNT/$f")" = "$(stat -c %Y "$NGINX_ROOT/$f")" ]
done
t_check "no GET before the first open" [ "$(nginx_count GET)" = 0 ]

t_check "cat reads app.conf" cmp -s <(cat "$MNT/conf/app.conf") \
	"$NGINX_ROOT/conf/app.conf"
t_check "first open: one GET" \
	[ "$(nginx_count GET /conf/app.conf)" = 1 ]
t_check "second cat reads app.conf" cmp -s "$MNT/conf/app.conf" \
	"$NGINX_ROOT/conf/app.conf"
t_check "second open: no GET" [ "$(nginx_count GET /conf/app.conf)" = 1 ]

t_check "sha256sum of tool" [ "$(t_sha256 "$MNT/bin/tool")" = "$SHA_TOOL" ]
cp "$MNT/bin/tool" "$T_DIR/tool.copy"
t_check "cp of tool" cmp -s "$T_DIR/tool.copy" "$NGINX_ROOT/bin/tool"
t_check "mmap of tool" \
	[ "$(t_fsop mmap "$MNT/bin/tool")" = "OK $SHA_TOOL" ]
t_check "tool: one GET for three readers" \
	[ "$(nginx_count GET /bin/tool)" = 1 ]
t_check "unverified blob reads" cmp -s "$MNT/data/blob.bin" \
	"$NGINX_ROOT/data/blob.bin"
t_check "md5-verified small reads" cmp -s "$MNT/data/small.txt" \
	"$NGINX_ROOT/data/small.txt"
t_check "stat after the download still right" \
	[ "$(stat -c %s:%Y "$MNT/data/blob.bin")" = \
	"$(stat -c %s:%Y "$NGINX_ROOT/data/blob.bin")" ]

t_check "cache entry sha256/<hex> for app.conf" \
	cmp -s "$CACHE/sha256/$SHA_CONF" "$NGINX_ROOT/conf/app.conf"
t_check "cache entry sha256/<hex> for tool" \
	cmp -s "$CACHE/sha256/$SHA_TOOL" "$NGINX_ROOT/bin/tool"
t_check "unverified blob cached under url/" \
	t_dir_has "$CACHE/url" "$NGINX_ROOT/data/blob.bin"
t_check "md5-verified small cached under url/" \
	t_dir_has "$CACHE/url" "$NGINX_ROOT/data/small.txt"
t_check "no temp file left" [ "$(t_files "$CACHE/tmp")" = 0 ]

t_unmount_fg "$MNT" "$PID"
t_check "fusermount3 -u ends the daemon with 0" [ $? = 0 ]
t_check "no stale mount" bash -c "! grep -qF ' $MNT ' /proc/mounts"

gets=$(nginx_count GET)
t_check "remount with the same cache" \
	t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG.2" --cache-dir "$CACHE"
t_dump_on_fail "$LOG.2"
for f in conf/app.conf bin/tool data/blob.bin data/small.txt; do
	t_check "after remount $f reads" cmp -s "$MNT/$f" "$NGINX_ROOT/$f"
done
t_check "after remount: no GET" [ "$(nginx_count GET)" = "$gets" ]

t_finish
