#!/bin/bash
# The tree is read-only: every kind of write fails with EROFS, fetches
# nothing and changes nothing.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"

printf 'read me\n' >"$NGINX_ROOT/file.txt"
cp "$NGINX_ROOT/file.txt" "$T_DIR/file.orig"
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "file", "artifactUrl": "$NGINX_HTTP/file.txt",
    "targetPath": "dir/file.txt" },
  { "name": "other", "artifactUrl": "$NGINX_HTTP/file.txt",
    "targetPath": "other/file.txt" }
]
JSON

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache"

F=$MNT/dir/file.txt
while read -r op path arg; do
	t_check "$op ${path#$MNT/}: EROFS" \
		[ "$(t_fsop "$op" "$path" $arg)" = EROFS ]
done <<OPS
open-w $F
open-rw $F
open-trunc $F
create $MNT/dir/new.txt
create $MNT/new.txt
mkdir $MNT/newdir
mkdir $MNT/dir/sub
rmdir $MNT/other
unlink $F
chmod $F 777
chmod $MNT/dir 700
chown $F 65534
truncate $F
utime $F
rename $F $MNT/dir/renamed.txt
rename $MNT/dir $MNT/dir2
link $F $MNT/dir/hard
symlink $MNT/dir/sym
setxattr $F
mknod $MNT/dir/node
OPS

t_check "shell redirection fails" bash -c "! { echo x >'$F'; } 2>/dev/null"
t_check "no write fetched anything" [ "$(nginx_count GET)" = 0 ]
t_check "the file is unchanged" cmp -s "$F" "$T_DIR/file.orig"
t_check "the tree is unchanged" [ "$(cd "$MNT" && find . | sort | tr '\n' ' ')" = \
	". ./dir ./dir/file.txt ./other ./other/file.txt " ]
t_check "the origin is unchanged" cmp -s "$NGINX_ROOT/file.txt" \
	"$T_DIR/file.orig"
t_check "mode unchanged" [ "$(stat -c %a "$F")" = 644 ]

t_finish
