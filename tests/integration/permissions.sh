#!/bin/bash
# Declared modes are enforced by the kernel for other users too: as root
# the mount lets other users in with default_permissions, so nobody
# cannot read a 0600 file (and it is not even fetched) but reads a 0644
# one; uid= and gid= give the files an owner and group.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

for f in secret.key public.crt group.conf tool; do
	printf '%s content\n' "$f" >"$NGINX_ROOT/$f"
done
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "key", "artifactUrl": "$NGINX_HTTP/secret.key",
    "targetPath": "certs/secret.key", "permissions": "0600" },
  { "name": "crt", "artifactUrl": "$NGINX_HTTP/public.crt",
    "targetPath": "certs/public.crt", "permissions": "0644" },
  { "name": "grp", "artifactUrl": "$NGINX_HTTP/group.conf",
    "targetPath": "group.conf", "permissions": "0640" },
  { "name": "tool", "artifactUrl": "$NGINX_HTTP/tool",
    "targetPath": "bin/tool", "permissions": "0755" }
]
JSON

# as USER CMD: runs the shell command CMD as USER.
as()
{
	su -s /bin/sh "$1" -c "$2" </dev/null
}

# denied USER FILE: USER's cat of FILE fails with "Permission denied".
denied()
{
	local out
	if out=$(as "$1" "cat '$2'" 2>&1); then
		return 1
	fi
	[[ $out == *"Permission denied"* ]]
}

MNT=$T_DIR/mnt
t_check "mount as root" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache"
PID=$T_MOUNT_PID

t_check "owned by the mounting user" \
	[ "$(stat -c %u:%g "$MNT/certs/secret.key")" = "$(id -u):$(id -g)" ]
t_check "nobody lists the directories" as nobody "ls '$MNT/certs' >/dev/null"
t_check "nobody cannot read the 0600 file" denied nobody "$MNT/certs/secret.key"
t_check "nobody's refused open fetched nothing" \
	[ "$(nginx_count GET /secret.key)" = 0 ]
t_check "nobody cannot read the 0640 file" denied nobody "$MNT/group.conf"
t_check "nobody reads the 0644 file" cmp -s \
	<(as nobody "cat '$MNT/certs/public.crt'") "$NGINX_ROOT/public.crt"
t_check "nobody reads the 0755 file" cmp -s \
	<(as nobody "cat '$MNT/bin/tool'") "$NGINX_ROOT/tool"
t_check "nobody cannot write the 0755 file" \
	bash -c "! su -s /bin/sh nobody -c 'echo x >> $MNT/bin/tool' 2>/dev/null"
t_check "root reads the 0600 file" cmp -s "$MNT/certs/secret.key" \
	"$NGINX_ROOT/secret.key"
t_stop_mount "$MNT" "$PID"

# uid= and gid=: nobody owns the files.
MNT=$T_DIR/mnt-owner
t_check "mount -o uid=,gid=" t_mount_fg "$T_DIR/task.json" "$MNT" \
	"$T_DIR/daemon-owner.log" --cache-dir "$T_DIR/cache" \
	-o "uid=$NOBODY_UID,gid=$NOBODY_GID"
t_dump_on_fail "$T_DIR/daemon-owner.log"
t_check "uid=/gid=: files owned as asked" \
	[ "$(stat -c %u:%g "$MNT/certs/secret.key")" = "$NOBODY_UID:$NOBODY_GID" ]
t_check "uid=/gid=: nobody reads its 0600 file" cmp -s \
	<(as nobody "cat '$MNT/certs/secret.key'") "$NGINX_ROOT/secret.key"
t_check "uid=/gid=: another user cannot" denied daemon "$MNT/certs/secret.key"
t_check "uid=/gid=: another user reads the 0644 file" cmp -s \
	<(as daemon "cat '$MNT/certs/public.crt'") "$NGINX_ROOT/public.crt"
t_stop_mount "$MNT" "$T_MOUNT_PID"

# gid= alone: group read through the group bits.
MNT=$T_DIR/mnt-group
t_check "mount -o gid=" t_mount_fg "$T_DIR/task.json" "$MNT" \
	"$T_DIR/daemon-group.log" --cache-dir "$T_DIR/cache" \
	-o "gid=$NOBODY_GID"
t_dump_on_fail "$T_DIR/daemon-group.log"
t_check "gid=: group as asked" \
	[ "$(stat -c %g "$MNT/group.conf")" = "$NOBODY_GID" ]
t_check "gid=: nobody reads the 0640 file through its group" cmp -s \
	<(as nobody "cat '$MNT/group.conf'") "$NGINX_ROOT/group.conf"
t_check "gid=: nobody still cannot read the 0600 file" \
	denied nobody "$MNT/certs/secret.key"

t_finish
