#!/bin/bash
# Range mode: unverified artifacts at or above range_threshold are served
# by ranged GETs into a partial cache entry.  Against nginx: random
# offsets, block edges, the last partial block and EOF compared byte for
# byte with the origin; only 206 answers; a 4 KiB read deep in the file
# moves a few blocks; the cache holds ranges/<hex>.data and .map and no
# url/ entry; a remount serves what was read with no request; a block
# damaged in the cache is fetched again; an object changed at the origin
# gives ESTALE with one log line and no more requests; an origin that
# ignores ranges is downloaded whole; a verified artifact above the
# threshold is still downloaded whole; a sequential cat and 8 concurrent
# readers of a cold file get the right bytes, each byte moved once.
# Against the S3 server: the same reads and the remount.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
source "$T_ROOT/tests/lib-s3.sh"
t_need_fuse
s3_clean_env

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
t_dump_on_fail "$NGINX_LOG"

MIB=1048576
THRESHOLD=1M
CACHE=$T_DIR/cache

# define_value NAME FILE: a #define of FILE (under fs/) written as an
# expression such as (4L << 20), evaluated.
define_value()
{
	awk -v n="$1" '$1 == "#define" && $2 == n {
		sub(/^[ \t]*#define[ \t]+[A-Za-z_0-9]+[ \t]+/, "")
		sub(/\/\*.*/, ""); gsub(/L/, ""); print; f = 1 }
		END { exit !f }' "$T_ROOT/fs/$2" |
		python3 -c 'import sys; print(int(eval(sys.stdin.read())))'
}
REQUEST_CAP=$(define_value CAP_RANGE_REQUEST caps.h) || REQUEST_CAP=0
t_check "CAP_RANGE_REQUEST read from fs/caps.h ($REQUEST_CAP)" \
	[ "$REQUEST_CAP" -gt 0 ]
BLOCK=$(define_value RANGED_BLOCK ranged.h) || BLOCK=0
t_check "RANGED_BLOCK read from fs/ranged.h ($BLOCK)" [ "$BLOCK" -gt 0 ]
[ "$BLOCK" -gt 0 ] || t_finish
export RR_BLOCK=$BLOCK

# Reads through the mount, compared with the origin file.
cat >"$T_DIR/rr.py" <<'PY'
import errno
import os
import random
import sys

BLOCK = int(os.environ["RR_BLOCK"])


def pread_all(fd, n, off):
    out = b""
    while len(out) < n:
        b = os.pread(fd, n - len(out), off + len(out))
        if not b:
            break
        out += b
    return out


def compare(mnt, orig, reads):
    """reads: (offset, length); prints each mismatch, returns their count."""
    bad = 0
    fd = os.open(mnt, os.O_RDONLY)
    with open(orig, "rb") as o:
        for off, n in reads:
            try:
                got = pread_all(fd, n, off)
            except OSError as e:
                print("error %s at %d+%d" % (errno.errorcode[e.errno], off, n))
                bad += 1
                continue
            o.seek(off)
            want = o.read(n)
            if got != want:
                print("mismatch at %d+%d: %d bytes, %d wanted"
                      % (off, n, len(got), len(want)))
                bad += 1
    os.close(fd)
    return bad


def present(map_path, nblocks):
    with open(map_path, "rb") as f:
        f.seek(4096)
        d = f.read(32 * nblocks)
    return [b for b in range(nblocks) if any(d[32 * b:32 * b + 32])]


def main():
    cmd, mnt, orig = sys.argv[1:4]
    args = sys.argv[4:]
    size = os.path.getsize(orig)
    if cmd == "random":
        # random N SEED MAXLEN: N reads at random offsets.
        n, seed, maxlen = int(args[0]), int(args[1]), int(args[2])
        rnd = random.Random(seed)
        reads = [(rnd.randrange(size), rnd.randint(1, maxlen))
                 for _ in range(n)]
        sys.exit(1 if compare(mnt, orig, reads) else 0)
    if cmd == "reads":
        # reads OFF:LEN...: those reads, each compared.
        reads = [tuple(int(x) for x in a.split(":")) for a in args]
        sys.exit(1 if compare(mnt, orig, reads) else 0)
    if cmd == "edges":
        # Reads across every block edge, and one spanning three blocks.
        reads = []
        for e in range(BLOCK, size, BLOCK):
            reads += [(e - 100, 200), (e - 1, 2), (e, 1), (e - 1, 1)]
        if size > 3 * BLOCK:
            reads.append((BLOCK - 10, 2 * BLOCK + 20))
        sys.exit(1 if compare(mnt, orig, reads) else 0)
    if cmd == "length":
        # length OFF LEN: prints how many bytes one pread returns.
        fd = os.open(mnt, os.O_RDONLY)
        print(len(os.pread(fd, int(args[1]), int(args[0]))))
        os.close(fd)
        return
    if cmd == "errno":
        # errno OFF LEN [FD]: "OK" when the read matches, else the errno
        # name; through descriptor FD, inherited open, when given.
        if len(args) > 2:
            fd = os.dup(int(args[2]))
        else:
            fd = os.open(mnt, os.O_RDONLY)
        try:
            got = pread_all(fd, int(args[1]), int(args[0]))
        except OSError as e:
            print(errno.errorcode[e.errno])
            return
        finally:
            os.close(fd)
        with open(orig, "rb") as o:
            o.seek(int(args[0]))
            print("OK" if got == o.read(int(args[1])) else "WRONG")
        return
    if cmd == "present":
        # present MAP: blocks recorded in the map (mnt unused).
        nblocks = (size + BLOCK - 1) // BLOCK
        print(" ".join(str(b) for b in present(args[0], nblocks)))
        return
    if cmd == "wrap":
        # wrap START CHUNK: the whole file from START, wrapping round.
        start, chunk = int(args[0]), int(args[1])
        reads, off = [], start
        while off < size:
            reads.append((off, min(chunk, size - off)))
            off += chunk
        off = 0
        while off < start:
            reads.append((off, min(chunk, start - off)))
            off += chunk
        sys.exit(1 if compare(mnt, orig, reads) else 0)
    sys.exit("rr.py: unknown command " + cmd)


main()
PY
rr()
{
	python3 "$T_DIR/rr.py" "$@"
}

# get_lines URI: the access log's GET lines for URI.
get_lines()
{
	awk -v u="$1" '$1 == "GET" && $2 == u' "$NGINX_LOG"
}

# bytes_moved URI: body bytes nginx sent for GETs of URI.
bytes_moved()
{
	get_lines "$1" | awk '{ s += $4 } END { print s + 0 }'
}

# only_ranged URI: at least one GET of URI, and each answered 206 to a
# Range.
only_ranged()
{
	[ "$(get_lines "$1" | wc -l)" -gt 0 ] &&
		[ "$(get_lines "$1" | awk '$3 != 206 || $5 !~ /^"bytes=/' |
			wc -l)" = 0 ]
}

# largest_get URI: the most body bytes one GET of URI moved.
largest_get()
{
	get_lines "$1" | awk '$4 > m { m = $4 } END { print m + 0 }'
}

# map_of CACHE SIZE: the partial entry's map recording an object of SIZE
# bytes (each artifact here has its own size).
map_of()
{
	local f
	for f in "$1"/ranges/*.map; do
		[ -f "$f" ] || continue
		if [ "$(head -c 200 "$f" | sed -n 2p)" = "$2" ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

# good_blocks MAP ORIG: present blocks B whose next block is present too
# (or B is the last), so that a read inside B asks for nothing.
good_blocks()
{
	local map=$1 orig=$2 nblocks
	nblocks=$((($(stat -c %s "$orig") + BLOCK - 1) / BLOCK))
	rr present - "$orig" "$map" | tr ' ' '\n' | awk -v last=$((nblocks - 1)) '
		NF { p[$1] = 1 }
		END { for (b in p) if (b == last || ((b + 1) in p)) print b }' |
		sort -n
}

# first_half_reads BLOCKS: one 4 KiB read in the first half of each block.
first_half_reads()
{
	local b
	for b in $1; do
		echo "$((b * BLOCK + (b * 7919) % (BLOCK / 2))):4096"
	done
}

mkfile()
{
	head -c "$2" /dev/urandom >"$1"
}

BIG=$((40 * MIB + 12345))
CHANGE=$((20 * MIB + 1111))
NR=$((12 * MIB + 2222))
VER=$((10 * MIB + 3333))
SEQ=$((33 * MIB + 4444))
CONC=$((24 * MIB + 5555))
SMALL=$((600 * 1024 + 7))
mkfile "$NGINX_ROOT/big.bin" $BIG
mkfile "$NGINX_ROOT/change.bin" $CHANGE
mkfile "$NGINX_ROOT/noranges/nr.bin" $NR
mkfile "$NGINX_ROOT/ver.bin" $VER
mkfile "$NGINX_ROOT/seq.bin" $SEQ
mkfile "$NGINX_ROOT/conc.bin" $CONC
mkfile "$NGINX_ROOT/small.bin" $SMALL
SHA_VER=$(t_sha256 "$NGINX_ROOT/ver.bin")
SHA_SEQ=$(t_sha256 "$NGINX_ROOT/seq.bin")

cat >"$T_DIR/task.json" <<JSON
[
  { "name": "big", "artifactUrl": "$NGINX_HTTP/big.bin",
    "targetPath": "big.bin" },
  { "name": "change", "artifactUrl": "$NGINX_HTTP/change.bin",
    "targetPath": "change.bin" },
  { "name": "noranges", "artifactUrl": "$NGINX_HTTP/noranges/nr.bin",
    "targetPath": "nr.bin" },
  { "name": "verified", "artifactUrl": "$NGINX_HTTP/ver.bin",
    "targetPath": "ver.bin", "checksum": "sha256:$SHA_VER" },
  { "name": "seq", "artifactUrl": "$NGINX_HTTP/seq.bin",
    "targetPath": "seq.bin" },
  { "name": "conc", "artifactUrl": "$NGINX_HTTP/conc.bin",
    "targetPath": "conc.bin" },
  { "name": "small", "artifactUrl": "$NGINX_HTTP/small.bin",
    "targetPath": "small.bin" }
]
JSON

# mount_n N: mount number N on the shared cache; sets MNT, LOG, PID.
mount_n()
{
	MNT=$T_DIR/mnt$1
	LOG=$T_DIR/daemon$1.log
	t_dump_on_fail "$LOG"
	t_check "mount $1" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
		--cache-dir "$CACHE" -o range_threshold=$THRESHOLD
	PID=$T_MOUNT_PID
}

unmount_n()
{
	t_unmount_fg "$MNT" "$PID"
	t_check "unmount $1: daemon exits 0" [ $? = 0 ]
}

# ---- A 4 KiB read deep in a cold file.
mount_n 1
ORIG=$NGINX_ROOT/big.bin
DEEP=$((30 * MIB + 300000))
nginx_clear_log
t_check "big: a 4 KiB read deep in the file is right" \
	rr reads "$MNT/big.bin" "$ORIG" "$DEEP:4096"
t_check "big: only 206 answers to Range requests" only_ranged /big.bin
moved=$(bytes_moved /big.bin)
t_check "big: the 4 KiB read moved a few blocks ($moved bytes, < 8 MiB)" \
	[ "$moved" -gt 0 -a "$moved" -lt $((8 * MIB)) ]
MAP=$(map_of "$CACHE" $BIG)
t_check "big: the cache holds a map in ranges/" [ -n "$MAP" ]
DATA=${MAP%.map}.data
t_check "big: and its data file, of the object's size" \
	[ "$(stat -c %s "$DATA" 2>/dev/null)" = $BIG ]
alloc=$(($(stat -c %b "$DATA" 2>/dev/null || echo 0) * 512))
t_check "big: the data file is sparse ($alloc bytes allocated)" \
	[ "$alloc" -lt $((8 * MIB)) ]
t_check "big: the map records the block read" \
	bash -c "rr() { python3 '$T_DIR/rr.py' \"\$@\"; }
		rr present - '$ORIG' '$MAP' | tr ' ' '\n' | grep -qx $((DEEP / BLOCK))"
t_check "big: no url/ entry" [ "$(t_files "$CACHE/url")" = 0 ]

# ---- Random offsets, block edges, the last partial block, EOF.
nginx_clear_log
t_check "big: 300 random reads match the origin" \
	rr random "$MNT/big.bin" "$ORIG" 300 1 300000
t_check "big: reads across every block edge match" \
	rr edges "$MNT/big.bin" "$ORIG"
TAIL=$((BIG % BLOCK))
t_check "big: the last partial block ($TAIL bytes) matches" \
	rr reads "$MNT/big.bin" "$ORIG" "$((BIG - TAIL)):$TAIL" \
	"$((BIG - 5)):5" "$((BIG - TAIL - 3)):$((TAIL + 3))"
t_check "big: a read running past EOF returns what is left" \
	[ "$(rr length "$MNT/big.bin" "$ORIG" $((BIG - 10)) 100)" = 10 ]
t_check "big: a read at EOF returns 0 bytes" \
	[ "$(rr length "$MNT/big.bin" "$ORIG" $BIG 100)" = 0 ]
t_check "big: a read after EOF returns 0 bytes" \
	[ "$(rr length "$MNT/big.bin" "$ORIG" $((BIG + 5 * MIB)) 100)" = 0 ]
t_check "big: still only 206 answers" only_ranged /big.bin
t_check "big: no GET moved more than CAP_RANGE_REQUEST" \
	[ "$(largest_get /big.bin)" -le "$REQUEST_CAP" ]
t_check "big: still no url/ entry" [ "$(t_files "$CACHE/url")" = 0 ]
unmount_n 1

# ---- Remount: what was read is served from the cache, no request.
GOOD=$(good_blocks "$MAP" "$ORIG")
ngood=$(echo $GOOD | wc -w)
t_check "big: at least 10 blocks present after the reads ($ngood)" \
	[ "$ngood" -ge 10 ]
mount_n 2
nginx_clear_log
# shellcheck disable=SC2046
t_check "big: after a remount, reads in $ngood present blocks match" \
	rr reads "$MNT/big.bin" "$ORIG" $(first_half_reads "$GOOD")
t_check "big: and asked the origin nothing" \
	[ "$(nginx_count "" /big.bin)" = 0 ]
unmount_n 2

# ---- A block damaged in the cache is detected and fetched again.
BAD=$(echo $GOOD | tr ' ' '\n' | awk 'NR == 3')
BAD_OFF=$((BAD * BLOCK + 1000))
python3 - "$DATA" $BAD_OFF <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(16)
    f.seek(int(sys.argv[2]))
    f.write(bytes(x ^ 0xA5 for x in b))
PY
t_check "big: the data file is damaged at block $BAD" \
	bash -c "! cmp -s <(tail -c +$((BAD_OFF + 1)) '$DATA' | head -c 16) \
		<(tail -c +$((BAD_OFF + 1)) '$ORIG' | head -c 16)"
mount_n 3
nginx_clear_log
t_check "big: the damaged block reads back right" \
	rr reads "$MNT/big.bin" "$ORIG" "$BAD_OFF:16"
t_check "big: it was fetched again (a GET from byte $((BAD * BLOCK)))" \
	bash -c "awk -v r='\"bytes=$((BAD * BLOCK))-' \
		'\$1 == \"GET\" && \$2 == \"/big.bin\" && \$3 == 206 &&
		 index(\$5, r) == 1 { f = 1 } END { exit !f }' '$NGINX_LOG'"
t_check "big: the cache's copy is repaired" \
	cmp -s <(tail -c +$((BAD * BLOCK + 1)) "$DATA" | head -c $BLOCK) \
	<(tail -c +$((BAD * BLOCK + 1)) "$ORIG" | head -c $BLOCK)
t_check "big: the whole file reads back right" cmp -s "$MNT/big.bin" "$ORIG"

# ---- The object changes at the origin mid-read.
ORIG_C=$NGINX_ROOT/change.bin
# Held open across the change, so that later reads go to this handle
# (a fixed high number: bash keeps its own saved descriptors from 10 up).
CFD=200
exec 200<"$MNT/change.bin"
t_cleanup "exec 200<&-"
t_check "change: a first read is right" \
	[ "$(rr errno "$MNT/change.bin" "$ORIG_C" 0 4096 $CFD)" = OK ]
t_check "change: a partial entry exists" \
	bash -c "$(declare -f map_of); map_of '$CACHE' $CHANGE >/dev/null"
mtime=$(stat -c %Y "$ORIG_C")
mkfile "$T_DIR/change.new" $CHANGE
cat "$T_DIR/change.new" >"$ORIG_C"
touch -d "@$((mtime + 100))" "$ORIG_C"
nginx_clear_log
t_check "change: a read of an absent block fails with ESTALE" \
	[ "$(rr errno "$MNT/change.bin" "$ORIG_C" $((10 * MIB)) 4096 $CFD)" = ESTALE ]
t_check "change: the origin answered 412 to the pinned request" \
	[ "$(get_lines /change.bin | awk '$3 == 412' | wc -l)" -ge 1 ]
t_check "change: exactly one log line names the artifact" \
	[ "$(t_count "artifact 'change'" "$LOG")" = 1 ]
t_check "change: and it says the object changed" \
	grep -q "artifact 'change'.*changed" "$LOG"
nginx_clear_log
t_check "change: a later read fails with ESTALE" \
	[ "$(rr errno "$MNT/change.bin" "$ORIG_C" $((15 * MIB)) 4096 $CFD)" = ESTALE ]
t_check "change: another later read fails with ESTALE" \
	[ "$(rr errno "$MNT/change.bin" "$ORIG_C" $((5 * MIB + 77)) 100 $CFD)" = ESTALE ]
t_check "change: a new open fails with ESTALE" \
	[ "$(t_fsop read "$MNT/change.bin")" = ESTALE ]
t_check "change: those asked the origin nothing" \
	[ "$(nginx_count "" /change.bin)" = 0 ]
t_check "change: still one log line" \
	[ "$(t_count "artifact 'change'" "$LOG")" = 1 ]
t_check "change: the partial entry is gone from the cache" \
	bash -c "$(declare -f map_of); ! map_of '$CACHE' $CHANGE >/dev/null"
exec 200<&-

# ---- An origin that ignores Range is downloaded whole.
ORIG_NR=$NGINX_ROOT/noranges/nr.bin
nginx_clear_log
t_check "noranges: a read deep in the file is right" \
	rr reads "$MNT/nr.bin" "$ORIG_NR" "$((9 * MIB + 12345)):4096"
t_check "noranges: the whole file was downloaded (a 200 of $NR bytes)" \
	[ "$(get_lines /noranges/nr.bin | awk -v n=$NR '$3 == 200 && $4 == n' |
		wc -l)" = 1 ]
t_check "noranges: one log line says so" \
	[ "$(t_count "artifact 'noranges'" "$LOG")" = 1 ]
t_check "noranges: the whole file reads back right" \
	cmp -s "$MNT/nr.bin" "$ORIG_NR"
t_check "noranges: a whole entry is in the cache" \
	t_dir_has "$CACHE/url" "$ORIG_NR"
t_check "noranges: random reads match" \
	rr random "$MNT/nr.bin" "$ORIG_NR" 50 2 100000

# ---- A verified artifact above the threshold: whole, then verified.
nginx_clear_log
t_check "verified: reads back with its sha256" \
	[ "$(t_sha256 "$MNT/ver.bin")" = "$SHA_VER" ]
t_check "verified: one GET, a 200 of the whole file, no Range" \
	[ "$(get_lines /ver.bin | awk -v n=$VER \
		'$3 == 200 && $4 == n && $5 == "\"-\""' | wc -l)" = 1 -a \
	  "$(get_lines /ver.bin | wc -l)" = 1 ]
t_check "verified: no partial entry" \
	bash -c "$(declare -f map_of); ! map_of '$CACHE' $VER >/dev/null"
t_check "verified: a sha256/ entry" t_dir_has "$CACHE/sha256" "$MNT/ver.bin"

# ---- Below the threshold: a whole download.
nginx_clear_log
t_check "small: reads back" cmp -s "$MNT/small.bin" "$NGINX_ROOT/small.bin"
t_check "small: one 200 of the whole file" \
	[ "$(get_lines /small.bin | awk -v n=$SMALL '$3 == 200 && $4 == n' |
		wc -l)" = 1 ]

# ---- A sequential cat of a cold range-mode file.
nginx_clear_log
t_check "seq: cat matches the sha256" \
	[ "$(cat "$MNT/seq.bin" | sha256sum | cut -d' ' -f1)" = "$SHA_SEQ" ]
t_check "seq: only 206 answers" only_ranged /seq.bin
moved=$(bytes_moved /seq.bin)
t_check "seq: each byte moved once ($moved of $SEQ)" [ "$moved" = $SEQ ]
ngets=$(get_lines /seq.bin | wc -l)
t_check "seq: read-ahead batches blocks ($ngets GETs for $((SEQ / BLOCK + 1)) blocks)" \
	[ "$ngets" -le $(((SEQ / BLOCK + 1) / 2)) ]
t_check "seq: no GET moved more than CAP_RANGE_REQUEST" \
	[ "$(largest_get /seq.bin)" -le "$REQUEST_CAP" ]

# ---- 8 concurrent readers of one cold file.
nginx_clear_log
ORIG_CONC=$NGINX_ROOT/conc.bin
PIDS=()
for ((i = 0; i < 8; i++)); do
	rr wrap "$MNT/conc.bin" "$ORIG_CONC" $((i * CONC / 8)) 262144 \
		>"$T_DIR/conc-$i.out" 2>&1 &
	PIDS+=($!)
done
good=0
for p in "${PIDS[@]}"; do
	wait "$p" && good=$((good + 1))
done
t_check "conc: 8 concurrent readers got the right bytes ($good)" [ $good = 8 ]
t_check "conc: only 206 answers" only_ranged /conc.bin
moved=$(bytes_moved /conc.bin)
t_check "conc: each byte moved once ($moved of $CONC)" [ "$moved" = $CONC ]
unmount_n 3

# ---- The next mount starts afresh on the changed object.
mount_n 4
nginx_clear_log
t_check "change: after a remount the new object reads back whole" \
	cmp -s "$MNT/change.bin" "$T_DIR/change.new"
t_check "change: by ranges" only_ranged /change.bin
unmount_n 4

# ---- The same against the S3 server.
start_s3 "$T_DIR/s3" bucket || { t_fail "s3 server starts"; t_finish; }
t_dump_on_fail "$S3_LOG"
S3BIG=$((20 * MIB + 6666))
mkfile "$T_DIR/s3big.bin" $S3BIG
t_check "s3: object uploaded" s3_put bucket data/s3big.bin "$T_DIR/s3big.bin"
cat >"$T_DIR/s3.json" <<JSON
[ { "name": "s3big", "artifactUrl": "s3://bucket/data/s3big.bin",
    "targetPath": "s3big.bin" } ]
JSON
T_MOUNT_ENV=(AWS_ENDPOINT_URL_S3="$S3_ENDPOINT" AWS_ACCESS_KEY_ID=S3RVER
	AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1)
S3CACHE=$T_DIR/s3cache
ORIG=$T_DIR/s3big.bin

# s3_gets: logged GETs of the object; s3_not_206: those not answered 206.
s3_gets()
{
	awk '$1 == "GET" && $2 == "/bucket/data/s3big.bin"' "$S3_LOG" | wc -l
}
s3_not_206()
{
	awk '$1 == "GET" && $2 == "/bucket/data/s3big.bin" && $5 != 206' \
		"$S3_LOG" | wc -l
}

MNT=$T_DIR/mnt-s3
LOG=$T_DIR/daemon-s3.log
t_dump_on_fail "$LOG"
t_check "s3: mount" t_mount_fg "$T_DIR/s3.json" "$MNT" "$LOG" \
	--cache-dir "$S3CACHE" -o range_threshold=$THRESHOLD
PID=$T_MOUNT_PID
: >"$S3_LOG"
t_check "s3: a 4 KiB read deep in the file is right" \
	rr reads "$MNT/s3big.bin" "$ORIG" "$((15 * MIB + 4321)):4096"
S3MAP=$(map_of "$S3CACHE" $S3BIG)
t_check "s3: a partial entry in ranges/" [ -n "$S3MAP" ]
npresent=$(rr present - "$ORIG" "$S3MAP" | wc -w)
t_check "s3: the 4 KiB read fetched a few blocks ($npresent)" \
	[ "$npresent" -ge 1 -a "$npresent" -le 4 ]
t_check "s3: GETs answered 206 ($(s3_gets) GETs)" \
	[ "$(s3_gets)" -ge 1 -a "$(s3_not_206)" = 0 ]
t_check "s3: 200 random reads match the origin" \
	rr random "$MNT/s3big.bin" "$ORIG" 200 3 300000
t_check "s3: reads across every block edge match" \
	rr edges "$MNT/s3big.bin" "$ORIG"
TAIL=$((S3BIG % BLOCK))
t_check "s3: the last partial block matches" \
	rr reads "$MNT/s3big.bin" "$ORIG" "$((S3BIG - TAIL)):$TAIL" \
	"$((S3BIG - 7)):7"
t_check "s3: a read at EOF returns 0 bytes" \
	[ "$(rr length "$MNT/s3big.bin" "$ORIG" $S3BIG 100)" = 0 ]
t_check "s3: a read running past EOF returns what is left" \
	[ "$(rr length "$MNT/s3big.bin" "$ORIG" $((S3BIG - 10)) 100)" = 10 ]
t_check "s3: still only 206 answers" [ "$(s3_not_206)" = 0 ]
t_check "s3: no url/ entry" [ "$(t_files "$S3CACHE/url")" = 0 ]
t_unmount_fg "$MNT" "$PID"
t_check "s3: daemon exits 0" [ $? = 0 ]

GOOD=$(good_blocks "$S3MAP" "$ORIG")
ngood=$(echo $GOOD | wc -w)
t_check "s3: at least 5 blocks present ($ngood)" [ "$ngood" -ge 5 ]
MNT=$T_DIR/mnt-s3b
LOG=$T_DIR/daemon-s3b.log
t_dump_on_fail "$LOG"
t_check "s3: remount" t_mount_fg "$T_DIR/s3.json" "$MNT" "$LOG" \
	--cache-dir "$S3CACHE" -o range_threshold=$THRESHOLD
PID=$T_MOUNT_PID
: >"$S3_LOG"
# shellcheck disable=SC2046
t_check "s3: after a remount, reads in present blocks match" \
	rr reads "$MNT/s3big.bin" "$ORIG" $(first_half_reads "$GOOD")
t_check "s3: and asked the server nothing" \
	[ "$(s3_requests /bucket/data/s3big.bin)" = 0 ]
t_check "s3: the whole file reads back right" cmp -s "$MNT/s3big.bin" "$ORIG"
t_check "s3: still only 206 answers" [ "$(s3_not_206)" = 0 ]
t_unmount_fg "$MNT" "$PID"
t_check "s3: daemon exits 0 after the remount" [ $? = 0 ]

t_finish
