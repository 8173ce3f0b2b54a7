#!/bin/bash
# A cache on a file system too small for an artifact (a tmpfs of 8 MiB
# made by the test): the open of a verified artifact larger than it, and
# of an unverified one downloaded whole, fails with ENOSPC before any
# byte; nothing partial is left (tmp/ empty, no entry); one log line
# names the artifact; the mount keeps serving a small artifact.  An
# artifact served by ranges that outgrows the cache fails its reads with
# ENOSPC and never serves wrong bytes, also a read that waited for a
# block another read was fetching.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

# Slow enough that a fetch of two blocks lasts seconds (nginx lets the
# first second's worth go at once).
NGINX_SLOW_RATE=256k
start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
CACHE=$T_DIR/cachefs
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"
MIB=1048576
FS_MIB=8

mkdir -p "$CACHE"
t_check "a ${FS_MIB} MiB tmpfs for the cache" \
	mount -t tmpfs -o size=${FS_MIB}m,mode=0700 artifactfs-test "$CACHE"
t_cleanup "umount -l '$CACHE'"
t_check "it is mounted" t_is_mounted "$CACHE"

head -c $((12 * MIB)) /dev/urandom >"$NGINX_ROOT/verified.bin"
head -c $((9 * MIB)) /dev/urandom >"$NGINX_ROOT/whole.bin"
head -c $((12 * MIB + 99)) /dev/urandom >"$NGINX_ROOT/ranged.bin"
head -c $((12 * MIB)) /dev/urandom >"$NGINX_ROOT/slow/ranged2.bin"
printf 'small and fine\n' >"$NGINX_ROOT/small.txt"
SHA=$(t_sha256 "$NGINX_ROOT/verified.bin")
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "verified", "artifactUrl": "$NGINX_HTTP/verified.bin",
    "targetPath": "verified.bin", "checksum": "sha256:$SHA" },
  { "name": "whole", "artifactUrl": "$NGINX_HTTP/whole.bin",
    "targetPath": "whole.bin" },
  { "name": "ranged", "artifactUrl": "$NGINX_HTTP/ranged.bin",
    "targetPath": "ranged.bin" },
  { "name": "ranged2", "artifactUrl": "$NGINX_HTTP/slow/ranged2.bin",
    "targetPath": "ranged2.bin" },
  { "name": "small", "artifactUrl": "$NGINX_HTTP/small.txt",
    "targetPath": "small.txt",
    "checksum": "sha256:$(t_sha256 "$NGINX_ROOT/small.txt")" }
]
JSON

# 1 MiB of the file system held back, to be freed later.
head -c $MIB /dev/zero >"$CACHE/held-back"
HELD_KIB=1024

# Below 9 MiB: whole.bin downloads whole; ranged.bin goes by ranges.
t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$CACHE" -o range_threshold=10M

# used_kib: KiB in use on the cache's file system.
used_kib()
{
	df -k --output=used "$CACHE" | tail -n 1 | tr -d ' '
}

# nothing_left NAME: tmp/ is empty and no entry holds more than a few
# KiB (the small artifact, maps), and the file system is nearly empty
# (but for what the test holds back).
nothing_left()
{
	local name=$1
	t_check "$name: tmp/ is empty" [ "$(t_files "$CACHE/tmp")" = 0 ]
	t_check "$name: no entry in sha256/ or url/ other than small.txt" \
		[ "$(find "$CACHE/sha256" "$CACHE/url" -type f -size +1k \
			2>/dev/null | wc -l)" = 0 ]
	t_check "$name: the cache file system is nearly empty ($(used_kib) KiB)" \
		[ "$(used_kib)" -lt $((512 + HELD_KIB)) ]
}

for name in verified whole; do
	nginx_clear_log
	got=$(t_fsop read "$MNT/$name.bin")
	echo "# $name: the open gave: $got"
	t_check "$name: the open fails with ENOSPC, no byte served ($got)" \
		[ "$got" = ENOSPC ]
	t_check "$name: the download was tried ($(nginx_count GET /$name.bin) GETs)" \
		[ "$(nginx_count GET /$name.bin)" -ge 1 ]
	t_check "$name: one log line names the artifact and the cause" \
		[ "$(grep -c "artifact '$name'.*No space left on device" \
			"$LOG")" = 1 ]
	nothing_left "$name"
	t_check "$name: the mount serves a small artifact afterwards" \
		cmp -s "$MNT/small.txt" "$NGINX_ROOT/small.txt"
	got=$(t_fsop read "$MNT/$name.bin")
	t_check "$name: a later open fails the same way ($got)" \
		[ "$got" = ENOSPC ]
	nothing_left "$name, again"
done

# By ranges, block by block, until the cache is full: every 1 MiB read
# either matches the origin or fails; at least one fails.
python3 - "$MNT/ranged.bin" "$NGINX_ROOT/ranged.bin" \
	>"$T_DIR/ranged.out" 2>&1 <<'PY'
import errno
import os
import sys

fd = os.open(sys.argv[1], os.O_RDONLY)
good = wrong = failed = 0
first = "-"
with open(sys.argv[2], "rb") as o:
    size = os.fstat(o.fileno()).st_size
    for off in range(0, size, 1 << 20):
        o.seek(off)
        want = o.read(1 << 20)
        try:
            got = os.pread(fd, 1 << 20, off)
        except OSError as e:
            failed += 1
            if first == "-":
                first = errno.errorcode[e.errno]
            continue
        if got == want:
            good += 1
        else:
            wrong += 1
print("good %d wrong %d failed %d first %s" % (good, wrong, failed, first))
PY
read -r _ good _ wrong _ failed _ first <"$T_DIR/ranged.out"
echo "# ranged: $(cat "$T_DIR/ranged.out")"
t_check "ranged: no read served wrong bytes (${wrong:-?})" [ "${wrong:-1}" = 0 ]
t_check "ranged: reads failed once the cache was full (${failed:-?})" \
	[ "${failed:-0}" -gt 0 ]
t_check "ranged: the reads before that were served (${good:-?})" \
	[ "${good:-0}" -gt 0 ]
t_check "the mount still serves the small artifact" \
	cmp -s "$MNT/small.txt" "$NGINX_ROOT/small.txt"

# Two reads of one block from the slow origin, the second while the
# first fetches it (once the cache's file system starts to fill); 1 MiB
# free, so the fetch fails half way.  Both reads fail with ENOSPC.
# (Different pages of the block, so that the kernel sends both to the
# daemon.)
stat "$MNT/ranged2.bin" >/dev/null
rm -f "$CACHE/held-back"
HELD_KIB=0
python3 - "$MNT/ranged2.bin" $((5 * MIB)) "$CACHE" \
	>"$T_DIR/ranged2.out" 2>&1 <<'PY'
import errno
import os
import sys
import threading
import time

path, base, fs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = {}


def free():
    st = os.statvfs(fs)
    return st.f_bavail * st.f_frsize


def read(name, off):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.pread(fd, 4096, off)
        out[name] = "OK"
    except OSError as e:
        out[name] = errno.errorcode[e.errno]
    finally:
        os.close(fd)


a = threading.Thread(target=read, args=("first", base))
b = threading.Thread(target=read, args=("second", base + 512 * 1024))
before = free()
a.start()
for _ in range(200):
    if free() < before - 128 * 1024:
        break
    time.sleep(0.05)
b.start()
a.join()
b.join()
print(out.get("first", "-"), out.get("second", "-"))
PY
read -r first second <"$T_DIR/ranged2.out"
echo "# ranged2: $(cat "$T_DIR/ranged2.out")"
t_check "ranged2: the first read fails with ENOSPC (${first:-?})" \
	[ "${first:-}" = ENOSPC ]
t_check "ranged2: the read that came while the block was being fetched fails with ENOSPC (${second:-?})" \
	[ "${second:-}" = ENOSPC ]

t_unmount_fg "$MNT" "$T_MOUNT_PID"
t_check "daemon exits 0" [ $? = 0 ]
t_finish
