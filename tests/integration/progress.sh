#!/bin/bash
# While a long first download runs, its progress is readable through the
# extended attribute user.artifactfs.progress ("bytes so far/total"),
# which is not listed (copy tools would carry it along), and the log gets
# a line every few seconds; once the file is verified the attribute is
# gone.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

NGINX_SLOW_RATE=2m start_nginx "$T_DIR/nginx" ||
	{ t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"

SIZE=$((14 * 1024 * 1024)) # about 7 s at 2 MB/s
head -c $SIZE /dev/urandom >"$NGINX_ROOT/slow/long.bin"
cat >"$T_DIR/task.json" <<JSON
[ { "name": "long", "artifactUrl": "$NGINX_HTTP/slow/long.bin",
    "targetPath": "long.bin",
    "checksum": "sha256:$(t_sha256 "$NGINX_ROOT/slow/long.bin")" } ]
JSON

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache"
t_check "no progress before the download" \
	[ -z "$(getfattr --only-values -n user.artifactfs.progress \
		"$MNT/long.bin" 2>/dev/null)" ]

cat "$MNT/long.bin" >"$T_DIR/copy" &
READER=$!
sleep 2
first=$(getfattr --only-values -n user.artifactfs.progress "$MNT/long.bin" 2>/dev/null)
sleep 2
second=$(getfattr --only-values -n user.artifactfs.progress "$MNT/long.bin" 2>/dev/null)
echo "# progress: '$first' then '$second'"
done_of_total()
{
	[[ "$1" =~ ^[0-9]+/$SIZE$ ]]
}
t_check "progress reads done/total" done_of_total "$first"
t_check "... and again" done_of_total "$second"
t_check "progress moves on" [ "${second%/*}" -gt "${first%/*}" ]
t_check "progress below the total while running" [ "${second%/*}" -lt $SIZE ]
t_check "the attribute is not listed" \
	[ -z "$(getfattr -d -m - "$MNT/long.bin" 2>/dev/null)" ]

wait $READER
t_check "the reader got the verified file" cmp -s "$T_DIR/copy" \
	"$NGINX_ROOT/slow/long.bin"
t_check "a progress line in the log while it ran" \
	grep -q "artifact 'long': [0-9]* bytes so far" "$LOG"
t_check "no progress once verified" \
	[ -z "$(getfattr --only-values -n user.artifactfs.progress \
		"$MNT/long.bin" 2>/dev/null)" ]

t_finish
