#!/bin/bash
# Ending the daemon: SIGTERM and SIGINT unmount and exit 0, also during a
# download; fusermount3 -u and umount end it with 0; a daemonised mount
# is ready when `artifactfs mount` returns.  None leaves a stale mount.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

NGINX_SLOW_RATE=200k
start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
t_dump_on_fail "$NGINX_LOG"

printf 'hello\n' >"$NGINX_ROOT/hello.txt"
head -c 8388608 /dev/urandom >"$NGINX_ROOT/slow/big.bin"
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "hello", "artifactUrl": "$NGINX_HTTP/hello.txt",
    "targetPath": "hello.txt" },
  { "name": "big", "artifactUrl": "$NGINX_HTTP/slow/big.bin",
    "targetPath": "big.bin" }
]
JSON

# clean MNT: not in /proc/mounts, and the directory answers (no
# "Transport endpoint is not connected").
clean()
{
	! t_is_mounted "$1" && ls "$1" >/dev/null
}

# daemon_pid MNT: the pid of the daemonised artifactfs serving MNT.
daemon_pid()
{
	pgrep -f -- "mount .*$1\$" | head -n 1
}

for sig in TERM INT; do
	MNT=$T_DIR/mnt-$sig
	LOG=$T_DIR/daemon-$sig.log
	t_dump_on_fail "$LOG"
	t_check "$sig: mount -f" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
		--cache-dir "$T_DIR/cache-$sig"
	t_check "$sig: reads" cmp -s "$MNT/hello.txt" "$NGINX_ROOT/hello.txt"
	t_signal_fg $sig "$T_MOUNT_PID"
	rc=$?
	t_check "SIG$sig: exit 0 (got $rc)" [ $rc = 0 ]
	t_check "SIG$sig: no stale mount" clean "$MNT"
done

MNT=$T_DIR/mnt-u
LOG=$T_DIR/daemon-u.log
t_dump_on_fail "$LOG"
t_check "fusermount3 -u: mount -f" t_mount_fg "$T_DIR/task.json" "$MNT" \
	"$LOG" --cache-dir "$T_DIR/cache-u"
t_check "fusermount3 -u: reads" cmp -s "$MNT/hello.txt" "$NGINX_ROOT/hello.txt"
t_unmount_fg "$MNT" "$T_MOUNT_PID"
rc=$?
t_check "fusermount3 -u: exit 0 (got $rc)" [ $rc = 0 ]
t_check "fusermount3 -u: no stale mount" clean "$MNT"

MNT=$T_DIR/mnt-umount
LOG=$T_DIR/daemon-umount.log
t_dump_on_fail "$LOG"
t_check "umount: mount -f" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache-umount"
umount "$MNT"
if t_wait_gone "$T_MOUNT_PID" 10; then
	wait "$T_MOUNT_PID"
	rc=$?
else
	rc="still running"
fi
t_check "umount: exit 0 (got $rc)" [ "$rc" = 0 ]
t_check "umount: no stale mount" clean "$MNT"

# SIGTERM while a reader waits for a slow download.
MNT=$T_DIR/mnt-busy
LOG=$T_DIR/daemon-busy.log
t_dump_on_fail "$LOG"
t_check "busy: mount -f" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache-busy"
cat "$MNT/big.bin" >/dev/null 2>&1 &
READER=$!
sleep 2
t_signal_fg TERM "$T_MOUNT_PID"
rc=$?
t_check "busy: SIGTERM ends the daemon with 0 within 15s (got $rc)" [ $rc = 0 ]
t_check "busy: the reader is released" t_wait_gone "$READER" 10
kill -9 "$READER" 2>/dev/null
t_check "busy: no stale mount" clean "$MNT"
t_check "busy: nothing partial under a final name" \
	[ "$(find "$T_DIR/cache-busy" -type f ! -path '*/tmp/*' | wc -l)" = 0 ]

# Daemonised: ready when mount returns.
MNT=$T_DIR/mnt-daemon
t_check "daemonised mount exits 0" t_mount "$T_DIR/task.json" "$MNT" \
	--cache-dir "$T_DIR/cache-daemon"
t_check "daemonised: mounted at once" mountpoint -q "$MNT"
t_check "daemonised: reads" cmp -s "$MNT/hello.txt" "$NGINX_ROOT/hello.txt"
PID=$(daemon_pid "$MNT")
t_check "daemonised: the daemon runs" [ -n "$PID" ]
fusermount3 -u "$MNT"
t_check "daemonised: fusermount3 -u ends it" t_wait_gone "${PID:-0}" 10
t_check "daemonised: no stale mount" clean "$MNT"

t_check "daemonised again" t_mount "$T_DIR/task.json" "$MNT" \
	--cache-dir "$T_DIR/cache-daemon"
PID=$(daemon_pid "$MNT")
kill -TERM "${PID:-0}"
t_check "daemonised: SIGTERM ends it" t_wait_gone "${PID:-0}" 10
t_check "daemonised: SIGTERM leaves no stale mount" clean "$MNT"

t_finish
