#!/bin/bash
# -o cache_size caps the cache: past it, the entries used least recently
# are evicted, never the one just added; an evicted artifact is fetched
# again on its next open and reads right; a bad size is refused.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
CACHE=$T_DIR/cache
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"

MIB=$((1024 * 1024))
{
	echo "["
	for i in 1 2 3 4 5 6; do
		head -c $((3 * MIB)) /dev/urandom >"$NGINX_ROOT/f$i"
		[ $i = 1 ] || echo ","
		printf '{ "name": "f%d", "artifactUrl": "%s/f%d", "targetPath": "f%d" }' \
			$i "$NGINX_HTTP" $i $i
	done
	echo "]"
} >"$T_DIR/task.json"

"$T_BIN" mount -f -o cache_size=lots --cache-dir "$CACHE" \
	"$T_DIR/task.json" "$MNT" 2>"$T_DIR/bad.err"
t_check "a cache_size that is not a size is refused" [ $? != 0 ]
t_check "... with a message naming it" grep -q "cache_size" "$T_DIR/bad.err"

t_check "mount with a 10 MiB quota" t_mount_fg "$T_DIR/task.json" "$MNT" \
	"$LOG" --cache-dir "$CACHE" -o cache_size=10M
used()
{
	du -sk --apparent-size "$CACHE" | cut -f1
}
ok=true
for i in 1 2 3 4 5 6; do
	cmp -s "$MNT/f$i" "$NGINX_ROOT/f$i" || ok=false
	[ "$(used)" -le $((10 * 1024 + 64)) ] || ok=false
done
t_check "six 3 MiB files read right, the cache never over 10 MiB" $ok
t_check "the last three read are kept" \
	[ "$(find "$CACHE/url" -type f | wc -l)" = 3 ]
t_check "evictions are logged" grep -q "cache: evicted" "$LOG"

# f4 is now the least recently used; reading f5 again makes it the most.
nginx_clear_log
cat "$MNT/f5" >/dev/null
t_check "a kept file reads with no request" [ "$(nginx_count GET)" = 0 ]
t_check "an evicted file is fetched again and reads right" \
	cmp -s "$MNT/f1" "$NGINX_ROOT/f1"
t_check "... with one GET" [ "$(nginx_count GET /f1)" = 1 ]
nginx_clear_log
t_check "the most recently used survived that eviction" \
	cmp -s "$MNT/f5" "$NGINX_ROOT/f5"
t_check "... with no request" [ "$(nginx_count GET)" = 0 ]
t_check "the least recently used went" \
	[ "$(grep -c "cache: evicted" "$LOG")" -ge 4 ]

t_finish
