#!/bin/bash
# Large artifacts: artifactfs side by side with what people use instead,
# in one run, on loopback, the same files from the same origins (nginx,
# and the S3 server of the tests started with allowMismatchedSignatures
# so that s3fs can talk to it):
#   1. cold sequential read of one file (SEQ_MIB, 1 GiB): curl -o
#      /dev/null, artifactfs verified (sha256) and unverified (served by
#      ranges), rclone mount (http backend, --vfs-cache-mode full) on
#      nginx; curl --aws-sigv4, artifactfs and s3fs on the S3 server; each
#      the median of RUNS runs, each run on a new mount and a new cache;
#      the ratio is curl's time over the tool's (1 = as fast as curl);
#   2. the init-container approach (download INIT_COUNT artifacts of
#      INIT_MIB with curl, sha256sum -c them, then the app reads 2) as
#      time until the app reads its first byte and until it has read
#      both, against mounting the same INIT_COUNT with artifactfs and
#      reading the 2;
#   3. 4 KiB reads at RANDOM_READS random offsets of a BIG_MIB (4 GiB)
#      unverified file on a new mount: time to the first byte (stat, open
#      and read), the median read, and bytes moved (nginx's access log),
#      artifactfs against rclone;
#   4. READERS (64) readers opening one cold file at once, verified
#      (CONC_MIB) and by ranges (RCONC_MIB): GETs and bytes moved;
#   5. peak RSS (VmHWM) of the daemon while streaming the BIG_MIB file,
#      unverified (ranges) and verified.
# Prints a table, also kept in WORK/results.txt.  The page cache is
# dropped for no one: the origins serve from memory to every tool.
#
# Usage, as root:  tests/bench/bench-large.sh
# Environment: SEQ_MIB=1024 BIG_MIB=4096 INIT_COUNT=20 INIT_MIB=50
#   RUNS=3 RANDOM_READS=20 READERS=64 CONC_MIB=32 RCONC_MIB=128
#   PEERS="rclone s3fs" (those to run, PEERS= for none; missing ones
#   are installed with apt-get), ARTIFACTFS_BUILD (default build/, built if needed),
#   BENCH_WORK (default tests/.work/bench-large; tests/run unmounts
#   what is under tests/.work, so use another place while it runs).
# Disk: about 3 x BIG_MIB + 6 x SEQ_MIB + 2 x INIT_COUNT x INIT_MIB.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${ARTIFACTFS_BUILD:-$ROOT/build}
BIN=$BUILD/fs/artifactfs
SEQ_MIB=${SEQ_MIB:-1024}
BIG_MIB=${BIG_MIB:-4096}
INIT_COUNT=${INIT_COUNT:-20}
INIT_MIB=${INIT_MIB:-50}
RUNS=${RUNS:-3}
RANDOM_READS=${RANDOM_READS:-20}
READERS=${READERS:-64}
CONC_MIB=${CONC_MIB:-32}
RCONC_MIB=${RCONC_MIB:-128}
PEERS=${PEERS-rclone s3fs}
WORK=${BENCH_WORK:-$ROOT/tests/.work/bench-large}
MIB=1048576
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

die()
{
	echo "bench-large: $*" >&2
	exit 1
}

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	die "needs root and /dev/fuse"
fi
for v in SEQ_MIB BIG_MIB INIT_COUNT INIT_MIB RUNS RANDOM_READS READERS \
	CONC_MIB RCONC_MIB; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number"
done
[ "$INIT_COUNT" -ge 2 ] || die "INIT_COUNT must be at least 2"

# Nothing of the machine's AWS settings reaches the tools.
for v in $(compgen -e); do
	case $v in
	AWS_*) unset "$v" ;;
	esac
done
export AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent
export AWS_EC2_METADATA_DISABLED=true

echo "# installing what is missing"
"$ROOT/tools/install-deps" >/dev/null || die "tools/install-deps failed"
want_pkgs=()
for p in $PEERS; do
	case $p in
	rclone) command -v rclone >/dev/null || want_pkgs+=(rclone) ;;
	s3fs) command -v s3fs >/dev/null || want_pkgs+=(s3fs) ;;
	*) die "unknown peer '$p' (rclone, s3fs)" ;;
	esac
done
if [ ${#want_pkgs[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${want_pkgs[@]}" >/dev/null ||
		die "apt-get install ${want_pkgs[*]} failed"
fi
peer()
{
	[[ " $PEERS " == *" $1 "* ]]
}

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$ROOT" -Dbuildtype=debugoptimized >/dev/null ||
		die "meson setup failed"
fi
ninja -C "$BUILD" >/dev/null || die "the build failed"

need_mib=$((3 * BIG_MIB + 6 * SEQ_MIB + 2 * INIT_COUNT * INIT_MIB +
	CONC_MIB + 2 * RCONC_MIB))
mkdir -p "$WORK"
free_mib=$(df -m --output=avail "$WORK" | tail -n 1 | tr -d ' ')
echo "# about $need_mib MiB of disk needed, $free_mib MiB free"
[ "$free_mib" -gt "$need_mib" ] || die "not enough disk in $WORK"

source "$ROOT/tests/lib-nginx.sh"

MOUNTS=()
PIDS=()
cleanup()
{
	local m p
	set +e
	for m in "${MOUNTS[@]}"; do
		if mountpoint -q "$m"; then
			fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m"
		fi
	done
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	[ -n "${NGINX_DIR:-}" ] && stop_nginx
	rm -rf "$WORK/caches" "$WORK/init" "$WORK/s3/data" "$WORK/nginx/docroot"
}
trap cleanup EXIT

rm -rf "$WORK"
mkdir -p "$WORK/caches" "$WORK/logs"
chmod 755 "$WORK"
start_nginx "$WORK/nginx" || die "nginx did not start"
LISTED=$NGINX_ROOT/listed
URL=$NGINX_HTTP/listed

now_ns()
{
	date +%s%N
}

# median: the median of the numbers on stdin ("fail" when none).
median()
{
	grep -v fail | sort -g |
		awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "fail" }'
}

# seconds CMD...: wall seconds CMD took (its output discarded); a failed
# CMD prints "fail".
seconds()
{
	local t rc
	t=$(now_ns)
	"$@" >/dev/null 2>>"$WORK/logs/errors.log"
	rc=$?
	if [ $rc != 0 ]; then
		echo fail
		return 1
	fi
	awk -v d=$(($(now_ns) - t)) 'BEGIN { printf "%.3f\n", d / 1e9 }'
}

ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}

# make_file PATH MIB: pseudo-random bytes, fast (AES-CTR over zeroes).
make_file()
{
	openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:$(basename "$1")" \
		</dev/zero 2>/dev/null | head -c $(($2 * MIB)) >"$1"
}

sha256_of()
{
	openssl dgst -sha256 -r "$1" | cut -d' ' -f1
}

# get_bytes URI: body bytes nginx sent for GETs of URI so far.
get_bytes()
{
	awk -v u="$1" '$1 == "GET" && $2 == u { s += $4 } END { print s + 0 }' \
		"$NGINX_LOG"
}
get_count()
{
	awk -v u="$1" '$1 == "GET" && $2 == u { n++ } END { print n + 0 }' \
		"$NGINX_LOG"
}

# ---- Tools' mounts.  Each sets MNT; each mount gets a new cache.
N_MOUNT=0
new_mnt()
{
	N_MOUNT=$((N_MOUNT + 1))
	MNT=$WORK/mnt$N_MOUNT
	CACHE=$WORK/caches/c$N_MOUNT
	mkdir -p "$MNT" "$CACHE"
	MOUNTS+=("$MNT")
}

wait_mounted()
{
	local i
	for ((i = 0; i < 300; i++)); do
		mountpoint -q "$1" && return 0
		[ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null && return 1
		sleep 0.05
	done
	return 1
}

# afs_mount MANIFEST [ARGS...]: artifactfs in the foreground, in the
# background; sets AFS_PID.
afs_mount()
{
	local manifest=$1
	shift
	new_mnt
	env ${AFS_ENV[@]+"${AFS_ENV[@]}"} "$BIN" mount -f --cache-dir "$CACHE" \
		"$@" "$manifest" "$MNT" 2>>"$WORK/logs/artifactfs.log" &
	AFS_PID=$!
	PIDS+=("$AFS_PID")
	wait_mounted "$MNT" "$AFS_PID"
}
AFS_ENV=()

rclone_mount()
{
	new_mnt
	: >"$WORK/rclone.conf"
	RCLONE_CONFIG=$WORK/rclone.conf rclone mount :http: "$MNT" \
		--http-url "$URL/" --vfs-cache-mode full --cache-dir "$CACHE" \
		--read-only --daemon --log-file "$WORK/logs/rclone.log" &&
		wait_mounted "$MNT"
}

s3fs_mount()
{
	new_mnt
	s3fs bench "$MNT" -o url="$S3_URL" -o use_path_request_style \
		-o passwd_file="$WORK/s3fs.passwd" -o endpoint=us-east-1 -o ro \
		-o logfile="$WORK/logs/s3fs.log" &&
		wait_mounted "$MNT"
}

# unmount: the last mount; waits for an artifactfs daemon to end.
unmount()
{
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
	if [ -n "${AFS_PID:-}" ]; then
		wait "$AFS_PID" 2>/dev/null
		AFS_PID=
	fi
	# rclone and s3fs end by themselves once unmounted.
	sleep 0.2
	rm -rf "$CACHE"
}

RESULTS=()
row()
{
	RESULTS+=("$(printf '%-38s %-30s %12s %12s %6s' "$@")")
	echo "# $(printf '%s | ' "$@")"
}

# cold_runs PATH MOUNT...: T, the median seconds of RUNS cold reads of
# PATH (inside the mount) each on a new mount made by MOUNT (a function
# and its arguments).  Runs in this shell, so that cleanup knows every
# mount.
cold_runs()
{
	local path=$1 i out=$WORK/runs.txt
	shift
	: >"$out"
	for ((i = 0; i < RUNS; i++)); do
		if ! "$@" >/dev/null 2>>"$WORK/logs/errors.log"; then
			echo fail >>"$out"
			continue
		fi
		seconds cat "$MNT/$path" >>"$out"
		unmount
	done
	T=$(median <"$out")
}

# check_read MOUNTFN PATH SHA: one more mount, its read checked.
check_read()
{
	local fn=$1 path=$2 sha=$3 got
	shift 3
	$fn "$@" >/dev/null 2>&1 || return 1
	got=$(sha256_of "$MNT/$path")
	unmount
	[ "$got" = "$sha" ]
}

# ================================================================ files
echo "# making the files"
make_file "$LISTED/seq.bin" "$SEQ_MIB"
make_file "$LISTED/big.bin" "$BIG_MIB"
make_file "$LISTED/conc.bin" "$CONC_MIB"
make_file "$LISTED/rconc.bin" "$RCONC_MIB"
mkdir -p "$LISTED/init"
for ((i = 0; i < INIT_COUNT; i++)); do
	make_file "$LISTED/init/a$i.bin" "$INIT_MIB"
done
SHA_SEQ=$(sha256_of "$LISTED/seq.bin")
SHA_BIG=$(sha256_of "$LISTED/big.bin")
SHA_CONC=$(sha256_of "$LISTED/conc.bin")
cat "$LISTED/seq.bin" "$LISTED/big.bin" "$LISTED/conc.bin" \
	"$LISTED/rconc.bin" "$LISTED"/init/* >/dev/null

cat >"$WORK/seq.json" <<JSON
[ { "name": "verified", "artifactUrl": "$URL/seq.bin",
    "targetPath": "verified.bin", "checksum": "sha256:$SHA_SEQ" },
  { "name": "plain", "artifactUrl": "$URL/seq.bin",
    "targetPath": "plain.bin" } ]
JSON
cat >"$WORK/big.json" <<JSON
[ { "name": "plain", "artifactUrl": "$URL/big.bin",
    "targetPath": "plain.bin" },
  { "name": "verified", "artifactUrl": "$URL/big.bin",
    "targetPath": "verified.bin", "checksum": "sha256:$SHA_BIG" } ]
JSON
cat >"$WORK/conc.json" <<JSON
[ { "name": "verified", "artifactUrl": "$URL/conc.bin",
    "targetPath": "verified.bin", "checksum": "sha256:$SHA_CONC" },
  { "name": "ranged", "artifactUrl": "$URL/rconc.bin",
    "targetPath": "ranged.bin" } ]
JSON
{
	echo "["
	for ((i = 0; i < INIT_COUNT; i++)); do
		[ $i -gt 0 ] && echo ","
		printf '{ "name": "a%d", "artifactUrl": "%s/init/a%d.bin",
		  "targetPath": "a%d.bin", "checksum": "sha256:%s" }\n' \
			$i "$URL" $i $i "$(sha256_of "$LISTED/init/a$i.bin")"
	done
	echo "]"
} >"$WORK/init.json"
(cd "$LISTED/init" && sha256sum a*.bin) >"$WORK/init.sums"

# ============================================ 1. cold sequential, nginx
echo "# 1. cold sequential read of $SEQ_MIB MiB"
SEQ_LABEL="cold read $SEQ_MIB MiB, nginx"
CURL=$(for ((i = 0; i < RUNS; i++)); do
	seconds curl -sf -o /dev/null "$URL/seq.bin"
done | median)
row "$SEQ_LABEL" "curl -o /dev/null" "$CURL s" "-" "1.00"
# What writing the bytes to this machine's disk costs: the ceiling of a
# tool that keeps a durable copy.
DISK=$(for ((i = 0; i < RUNS; i++)); do
	rm -f "$WORK/caches/curl.out"
	seconds sh -c 'curl -sf -o "$1" "$2" && sync "$1"' - \
		"$WORK/caches/curl.out" "$URL/seq.bin"
done | median)
rm -f "$WORK/caches/curl.out"
row "" "curl -o FILE; sync FILE" "$DISK s" "$CURL s" "$(ratio "$CURL" "$DISK")"

cold_runs verified.bin afs_mount "$WORK/seq.json"
ok=ok
check_read afs_mount verified.bin "$SHA_SEQ" "$WORK/seq.json" || ok=WRONG
row "" "artifactfs, sha256 ($ok)" "$T s" "$CURL s" "$(ratio "$CURL" "$T")"

cold_runs plain.bin afs_mount "$WORK/seq.json"
ok=ok
check_read afs_mount plain.bin "$SHA_SEQ" "$WORK/seq.json" || ok=WRONG
row "" "artifactfs, no checksum ($ok)" "$T s" "$CURL s" "$(ratio "$CURL" "$T")"

if peer rclone; then
	cold_runs seq.bin rclone_mount
	ok=ok
	check_read rclone_mount seq.bin "$SHA_SEQ" || ok=WRONG
	row "" "rclone mount, vfs full ($ok)" "$T s" "$CURL s" \
		"$(ratio "$CURL" "$T")"
fi

# ============================================= 1b. the same, S3 server
if peer s3fs; then
	echo "# 1b. the same through the S3 server"
	mkdir -p "$WORK/s3/data"
	cat >"$WORK/s3/server.js" <<'JS'
const fs = require('node:fs')
const S3rver = require('@20minutes/s3rver')
const [dir, portFile] = process.argv.slice(2)
new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true,
  allowMismatchedSignatures: true, configureBuckets: [{ name: 'bench' }] })
  .run()
  .then((a) => fs.writeFileSync(portFile, `${a.port}\n`))
  .catch((e) => { console.error(e.message); process.exit(1) })
JS
	NODE_PATH=$ROOT/tests/node_modules node "$WORK/s3/server.js" \
		"$WORK/s3/data" "$WORK/s3/port" >"$WORK/logs/s3.log" 2>&1 &
	PIDS+=($!)
	for ((i = 0; i < 100; i++)); do
		[ -s "$WORK/s3/port" ] && break
		sleep 0.1
	done
	S3_URL=http://127.0.0.1:$(cat "$WORK/s3/port" 2>/dev/null)
	echo "S3RVER:S3RVER" >"$WORK/s3fs.passwd"
	chmod 600 "$WORK/s3fs.passwd"
	S3CURL=(curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
	if ! "${S3CURL[@]}" -T "$LISTED/seq.bin" "$S3_URL/bench/seq.bin" \
		>/dev/null; then
		row "cold read $SEQ_MIB MiB, S3 server" "upload failed" "-" "-" "-"
	else
		S3_LABEL="cold read $SEQ_MIB MiB, S3 server"
		SCURL=$(for ((i = 0; i < RUNS; i++)); do
			seconds "${S3CURL[@]}" -o /dev/null "$S3_URL/bench/seq.bin"
		done | median)
		row "$S3_LABEL" "curl --aws-sigv4" "$SCURL s" "-" "1.00"
		cat >"$WORK/s3.json" <<JSON
[ { "name": "verified", "artifactUrl": "s3://bench/seq.bin",
    "targetPath": "verified.bin", "checksum": "sha256:$SHA_SEQ" },
  { "name": "plain", "artifactUrl": "s3://bench/seq.bin",
    "targetPath": "plain.bin" } ]
JSON
		AFS_ENV=(AWS_ENDPOINT_URL_S3="$S3_URL" AWS_ACCESS_KEY_ID=S3RVER
			AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1)
		cold_runs verified.bin afs_mount "$WORK/s3.json"
		row "" "artifactfs, sha256" "$T s" "$SCURL s" \
			"$(ratio "$SCURL" "$T")"
		cold_runs plain.bin afs_mount "$WORK/s3.json"
		ok=ok
		check_read afs_mount plain.bin "$SHA_SEQ" "$WORK/s3.json" ||
			ok=WRONG
		row "" "artifactfs, no checksum ($ok)" "$T s" "$SCURL s" \
			"$(ratio "$SCURL" "$T")"
		AFS_ENV=()
		cold_runs seq.bin s3fs_mount
		ok=ok
		check_read s3fs_mount seq.bin "$SHA_SEQ" || ok=WRONG
		row "" "s3fs ($ok)" "$T s" "$SCURL s" "$(ratio "$SCURL" "$T")"
	fi
	rm -rf "$WORK/s3/data"
fi

# ========================================================= 2. init
echo "# 2. init container against artifactfs, $INIT_COUNT x $INIT_MIB MiB"
# init_run PARALLEL: prints "FIRST BOTH DOWNLOAD" seconds: download all,
# check all, then the app reads a0 (first byte) and a0 + a1 (whole).
init_run()
{
	local par=$1 t0 t1 t2 td d=$WORK/init
	rm -rf "$d"
	mkdir -p "$d"
	t0=$(now_ns)
	if [ "$par" = 1 ]; then
		for ((i = 0; i < INIT_COUNT; i++)); do
			curl -sf -o "$d/a$i.bin" "$URL/init/a$i.bin" || return 1
		done
		td=$(now_ns)
		(cd "$d" && sha256sum --quiet -c "$WORK/init.sums") || return 1
	else
		seq 0 $((INIT_COUNT - 1)) | xargs -P "$INIT_COUNT" -I{} \
			curl -sf -o "$d/a{}.bin" "$URL/init/a{}.bin" || return 1
		td=$(now_ns)
		(cd "$d" && split -n "l/$(nproc)" "$WORK/init.sums" part. &&
			printf "%s\n" part.* | xargs -P "$(nproc)" -I{} \
				sha256sum --quiet -c {}) || return 1
	fi
	head -c 1 "$d/a0.bin" >/dev/null
	t1=$(now_ns)
	cat "$d/a0.bin" "$d/a1.bin" >/dev/null
	t2=$(now_ns)
	awk -v a=$((t1 - t0)) -v b=$((t2 - t0)) -v c=$((td - t0)) \
		'BEGIN { printf "%.3f %.3f %.3f\n", a / 1e9, b / 1e9, c / 1e9 }'
}
afs_init_run()
{
	local t0 t1 t2
	t0=$(now_ns)
	afs_mount "$WORK/init.json" || return 1
	head -c 1 "$MNT/a0.bin" >/dev/null || return 1
	t1=$(now_ns)
	cat "$MNT/a0.bin" "$MNT/a1.bin" >/dev/null || return 1
	t2=$(now_ns)
	unmount >&2
	awk -v a=$((t1 - t0)) -v b=$((t2 - t0)) \
		'BEGIN { printf "%.3f %.3f\n", a / 1e9, b / 1e9 }'
}
# runs_of CMD...: FIRST and BOTH, each the median of RUNS runs of CMD,
# which prints "FIRST BOTH".
runs_of()
{
	local out=$WORK/runs.txt i
	: >"$out"
	for ((i = 0; i < RUNS; i++)); do
		"$@" >>"$out" 2>>"$WORK/logs/errors.log" || echo fail >>"$out"
	done
	FIRST=$(cut -d' ' -f1 "$out" | median)
	BOTH=$(cut -d' ' -f2 "$out" | median)
	DL=$(cut -s -d' ' -f3 "$out" | median)
}
INIT_LABEL="init: $INIT_COUNT x $INIT_MIB MiB, read 2"
runs_of init_run 1
SEQ_FIRST=$FIRST SEQ_BOTH=$BOTH SEQ_DL=$DL
runs_of init_run "$INIT_COUNT"
PAR_FIRST=$FIRST PAR_BOTH=$BOTH PAR_DL=$DL
runs_of afs_init_run
AFS_FIRST=$FIRST AFS_BOTH=$BOTH
row "$INIT_LABEL, first byte" "curl x$INIT_COUNT, sha256sum -c" \
	"$SEQ_FIRST s" "-" "-"
row "" "the same, all at once" "$PAR_FIRST s" "-" "-"
row "" "artifactfs mount, read" "$AFS_FIRST s" "$SEQ_FIRST s" \
	"$(ratio "$SEQ_FIRST" "$AFS_FIRST")"
row "$INIT_LABEL, both read" "curl x$INIT_COUNT, sha256sum -c" \
	"$SEQ_BOTH s" "-" "-"
row "" "the same, all at once" "$PAR_BOTH s" "-" "-"
row "" "artifactfs mount, read" "$AFS_BOTH s" "$SEQ_BOTH s" \
	"$(ratio "$SEQ_BOTH" "$AFS_BOTH")"
row "$INIT_LABEL, downloads" "curl x$INIT_COUNT, one by one" \
	"$SEQ_DL s" "-" "-"
row "" "curl x$INIT_COUNT, all at once" "$PAR_DL s" "-" "-"
rm -rf "$WORK/init"

# ================================================= 3. random 4 KiB
echo "# 3. $RANDOM_READS random 4 KiB reads in $BIG_MIB MiB"
cat >"$WORK/random.py" <<'PY'
import os
import random
import statistics
import sys
import time

path, orig, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
size = os.path.getsize(orig)
rnd = random.Random(42)
offs = [rnd.randrange(0, size - 4096) & ~4095 for _ in range(n)]
lat, bad = [], 0
t = time.perf_counter()
os.stat(path)
fd = os.open(path, os.O_RDONLY)
with open(orig, "rb") as o:
    for off in offs:
        got = os.pread(fd, 4096, off)
        now = time.perf_counter()
        lat.append(now - t)
        o.seek(off)
        if got != o.read(4096):
            bad += 1
        t = time.perf_counter()
os.close(fd)
print("%.4f %.4f %.4f %d" % (lat[0], statistics.median(lat[1:] or lat),
                             max(lat), bad))
PY
# random_reads PATH URI MOUNT...: RAND, "TTFB MEDIAN MAX BAD BYTES" for
# one new mount.
random_reads()
{
	local path=$1 uri=$2 before out
	shift 2
	RAND="fail fail fail fail 0"
	"$@" >/dev/null 2>>"$WORK/logs/errors.log" || return
	before=$(get_bytes "$uri")
	out=$(python3 "$WORK/random.py" "$MNT/$path" "$LISTED/big.bin" \
		"$RANDOM_READS") || out="fail fail fail fail"
	# After the unmount: nginx logs a request when it ends, and a tool
	# may keep a stream open until then.
	unmount
	RAND="$out $(($(get_bytes "$uri") - before))"
}
RAND_LABEL="$RANDOM_READS x 4 KiB random, $BIG_MIB MiB"
rand_rows()
{
	local tool=$1 ttfb med bad bytes
	read -r ttfb med _ bad bytes <<<"$2"
	[ "$bad" = 0 ] || tool="$tool (WRONG bytes)"
	row "$RAND_LABEL" "$tool, first byte" "$ttfb s" "-" "-"
	row "" "$tool, median read" "$med s" "-" "-"
	row "" "$tool, MiB moved per read" \
		"$(awk -v b="$bytes" -v n="$RANDOM_READS" \
			'BEGIN { printf "%.2f", b / n / 1048576 }')" "-" "-"
}
random_reads plain.bin /listed/big.bin afs_mount "$WORK/big.json"
rand_rows artifactfs "$RAND"
if peer rclone; then
	random_reads big.bin /listed/big.bin rclone_mount
	rand_rows rclone "$RAND"
fi

# ============================================== 4. concurrent readers
echo "# 4. $READERS readers of one cold file"
# readers PATH URI: "SECONDS GETS BYTES GOOD" for READERS cats at once.
readers()
{
	local path=$1 uri=$2 want=$3 t g0 b0 i pids=() good=0
	g0=$(get_count "$uri")
	b0=$(get_bytes "$uri")
	t=$(now_ns)
	for ((i = 0; i < READERS; i++)); do
		openssl dgst -sha256 -r "$MNT/$path" >"$WORK/reader.$i" 2>&1 &
		pids+=($!)
	done
	for ((i = 0; i < READERS; i++)); do
		wait "${pids[$i]}" &&
			[ "$(cut -d' ' -f1 "$WORK/reader.$i")" = "$want" ] &&
			good=$((good + 1))
	done
	awk -v d=$(($(now_ns) - t)) -v g=$(($(get_count "$uri") - g0)) \
		-v b=$(($(get_bytes "$uri") - b0)) -v ok=$good \
		'BEGIN { printf "%.3f %d %d %d\n", d / 1e9, g, b, ok }'
}
afs_mount "$WORK/conc.json"
read -r T G B GOOD <<<"$(readers verified.bin /listed/conc.bin "$SHA_CONC")"
row "$READERS readers, cold, $CONC_MIB MiB sha256" \
	"artifactfs ($GOOD/$READERS right)" "$T s" "-" "-"
row "" "origin GETs (aim: 1)" "$G" "-" "-"
row "" "bytes moved / size" \
	"$(awk -v b="$B" -v s=$((CONC_MIB * MIB)) 'BEGIN { printf "%.2f", b / s }')" \
	"-" "-"
read -r T G B GOOD <<<"$(readers ranged.bin /listed/rconc.bin \
	"$(sha256_of "$LISTED/rconc.bin")")"
row "$READERS readers, cold, $RCONC_MIB MiB ranges" \
	"artifactfs ($GOOD/$READERS right)" "$T s" "-" "-"
row "" "origin GETs" "$G" "-" "-"
row "" "bytes moved / size" \
	"$(awk -v b="$B" -v s=$((RCONC_MIB * MIB)) 'BEGIN { printf "%.2f", b / s }')" \
	"-" "-"
unmount

# ================================================ 5. streaming, RSS
echo "# 5. streaming $BIG_MIB MiB, peak RSS"
for kind in plain verified; do
	afs_mount "$WORK/big.json" || continue
	T=$(seconds cat "$MNT/$kind.bin")
	HWM=$(awk '/^VmHWM/ { printf "%.1f MiB", $2 / 1024 }' \
		"/proc/$AFS_PID/status")
	ok=ok
	if [ $kind = plain ]; then
		[ "$(sha256_of "$MNT/$kind.bin")" = "$SHA_BIG" ] || ok=WRONG
		label="stream $BIG_MIB MiB, no checksum"
	else
		label="stream $BIG_MIB MiB, sha256"
	fi
	row "$label" "artifactfs, peak RSS ($ok)" "$HWM" "-" "-"
	row "" "artifactfs, time" "$T s" "-" "-"
	unmount
done

# ================================================================ table
{
	printf 'artifactfs %s; %s; %s, %d cores, %s MiB RAM; kernel %s\n' \
		"$("$BIN" --version 2>/dev/null | awk '{ print $NF }')" \
		"$(. /etc/os-release && echo "$PRETTY_NAME")" \
		"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		"$(nproc)" "$(free -m | awk '/^Mem:/ { print $2 }')" "$(uname -r)"
	printf '%s; curl %s; %s; %s; node %s\n' \
		"$(nginx -v 2>&1 | sed 's|.*: ||')" \
		"$(curl --version | awk 'NR == 1 { print $2 }')" \
		"$(peer rclone && rclone version 2>/dev/null | head -n 1)" \
		"$(peer s3fs && s3fs --version 2>/dev/null | head -n 1 |
			awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^V[0-9]/)
				print "s3fs " $i }')" "$(node --version)"
	printf 'runs: median of %d; load average before: %s\n\n' "$RUNS" \
		"$LOAD_BEFORE"
	printf '%-38s %-30s %12s %12s %6s\n' measure tool value baseline ratio
	printf '%s\n' "${RESULTS[@]}"
	echo
	echo "ratio = baseline time / tool time (1.00 = as fast; higher is faster)"
} >"$WORK/results.txt"
echo
cat "$WORK/results.txt"
