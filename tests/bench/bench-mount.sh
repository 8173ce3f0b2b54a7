#!/bin/bash
# Measures artifactfs against the tools it is compared with, side by side
# in one run, on a loopback nginx:
#   - mount time for 10 and 10,000 artifacts (median of 5 daemonised
#     mounts: `artifactfs mount` returns once the mount is ready);
#   - cold `cat` of a 256 MiB artifact with a declared sha256, as a ratio
#     of `curl -o /dev/null` of the same URL (median of 3 runs each, a new
#     cache for every cold run);
#   - warm `cat` of the same file through the mount, as a ratio of `cat`
#     of its cache file (median of 5 runs each);
#   - peak RSS of the daemon (VmHWM) after those reads.
# The page cache is dropped for neither side: nginx serves the origin
# file from memory to both curl and artifactfs, and both warm reads find
# their pages cached.  A ratio above 1 means artifactfs was faster.
#
# Usage, as root: tests/bench/bench-mount.sh   (SIZE_MIB=256 by default;
# ARTIFACTFS_BUILD=DIR measures that build without rebuilding it)
# Needs /dev/fuse and about 3 x SIZE_MIB of free disk in tests/.work.

set -eu

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${ARTIFACTFS_BUILD:-$ROOT/build}
BIN=$BUILD/fs/artifactfs
SIZE_MIB=${SIZE_MIB:-256}
WORK=$ROOT/tests/.work/bench

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	echo "bench: needs root and /dev/fuse" >&2
	exit 1
fi
"$ROOT/tools/install-deps" --no-npm >/dev/null
# ARTIFACTFS_BUILD names a build to measure as it is; without it, build/
# is brought up to date first.
if [ -z "${ARTIFACTFS_BUILD:-}" ]; then
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$ROOT" -Dbuildtype=debugoptimized >/dev/null
	fi
	ninja -C "$BUILD" >/dev/null
fi
if [ ! -x "$BIN" ]; then
	echo "bench: no $BIN" >&2
	exit 1
fi

source "$ROOT/tests/lib-nginx.sh"
MOUNTS=()
cleanup()
{
	set +e
	local m
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" && fusermount3 -u "$m"
	done
	stop_nginx
	rm -rf "$WORK/cache" "$WORK/nginx/docroot/big.bin"
}
trap cleanup EXIT

rm -rf "$WORK"
mkdir -p "$WORK"
chmod 755 "$WORK"
start_nginx "$WORK/nginx"

now_ns()
{
	date +%s%N
}

# median: the median of the numbers on stdin.
median()
{
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# manifest N FILE
manifest()
{
	awk -v n="$1" -v base="$NGINX_HTTP/many" 'BEGIN {
		print "[" 
		for (i = 0; i < n; i++)
			printf "%s{\"name\": \"a%d\", \"artifactUrl\": \"%s/%d\", " \
				"\"targetPath\": \"d%d/f%d\"}\n", (i ? "," : ""), \
				i, base, i, int(i / 100), i
		print "]"
	}' >"$2"
}

# mount_ms MANIFEST: median milliseconds of 5 daemonised mounts.
mount_ms()
{
	local mnt=$WORK/mnt-count i t
	mkdir -p "$mnt"
	MOUNTS+=("$mnt")
	: >"$WORK/times"
	for i in 1 2 3 4 5; do
		t=$(now_ns)
		"$BIN" mount --cache-dir "$WORK/cache" "$1" "$mnt"
		echo $((($(now_ns) - t) / 1000000)) >>"$WORK/times"
		fusermount3 -u "$mnt"
		sleep 0.2
	done
	median <"$WORK/times"
}

manifest 10 "$WORK/ten.json"
manifest 10000 "$WORK/many.json"
MS10=$(mount_ms "$WORK/ten.json")
MS10K=$(mount_ms "$WORK/many.json")

# The big artifact.
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$NGINX_ROOT/big.bin"
SHA=$(sha256sum "$NGINX_ROOT/big.bin" | cut -d' ' -f1)
cat >"$WORK/big.json" <<JSON
[ { "name": "big", "artifactUrl": "$NGINX_HTTP/big.bin",
    "targetPath": "big.bin", "checksum": "sha256:$SHA" } ]
JSON
cat "$NGINX_ROOT/big.bin" >/dev/null

# seconds CMD...: runs CMD, appends the seconds it took to $WORK/times.
seconds()
{
	local t
	t=$(now_ns)
	"$@" >/dev/null
	awk -v d=$(($(now_ns) - t)) 'BEGIN { printf "%.4f\n", d / 1e9 }' \
		>>"$WORK/times"
}

: >"$WORK/times"
for i in 1 2 3; do
	seconds curl -sf -o /dev/null "$NGINX_HTTP/big.bin"
done
CURL=$(median <"$WORK/times")

# Cold reads, each with a new cache; the last mount stays for the rest.
MNT=$WORK/mnt
mkdir -p "$MNT"
MOUNTS+=("$MNT")
: >"$WORK/times"
for i in 1 2 3; do
	rm -rf "$WORK/cache"
	"$BIN" mount -f --cache-dir "$WORK/cache" "$WORK/big.json" "$MNT" \
		2>"$WORK/daemon.log" &
	PID=$!
	while ! mountpoint -q "$MNT"; do
		kill -0 $PID
		sleep 0.05
	done
	seconds cat "$MNT/big.bin"
	if [ $i != 3 ]; then
		fusermount3 -u "$MNT"
		wait $PID
	fi
done
COLD=$(median <"$WORK/times")
cmp -s "$MNT/big.bin" "$NGINX_ROOT/big.bin" || {
	echo "bench: the mounted file differs from the origin" >&2
	exit 1
}

: >"$WORK/times"
for i in 1 2 3 4 5; do
	seconds cat "$MNT/big.bin"
done
WARM=$(median <"$WORK/times")
: >"$WORK/times"
for i in 1 2 3 4 5; do
	seconds cat "$WORK/cache/sha256/$SHA"
done
DIRECT=$(median <"$WORK/times")
HWM=$(awk '/^VmHWM/ { print $2, $3 }' "/proc/$PID/status")
fusermount3 -u "$MNT"
wait "$PID" || true

ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}
mibs()
{
	awk -v s="$1" -v m="$SIZE_MIB" 'BEGIN { printf "%.0f MiB/s", m / s }'
}

printf '\nartifactfs %s, %s, %d cores, loopback nginx %s\n' \
	"$("$BIN" --version | awk '{ print $NF }')" "$(uname -r)" "$(nproc)" \
	"$(nginx -v 2>&1 | sed 's|.*/||')"
printf 'page cache: dropped for neither side\n\n'
printf '%-44s %14s %14s %8s\n' measure artifactfs baseline ratio
printf '%-44s %14s %14s %8s\n' "mount, 10 artifacts (ms)" "$MS10" "-" "-"
printf '%-44s %14s %14s %8s\n' "mount, 10,000 artifacts (ms)" "$MS10K" \
	"$MS10" "$(ratio "$MS10K" "$MS10")"
printf '%-44s %14s %14s %8s\n' \
	"cold cat ${SIZE_MIB} MiB, sha256 vs curl (s)" "$COLD" "$CURL" \
	"$(ratio "$CURL" "$COLD")"
printf '%-44s %14s %14s %8s\n' "  throughput" "$(mibs "$COLD")" \
	"$(mibs "$CURL")" ""
printf '%-44s %14s %14s %8s\n' \
	"warm cat vs cat of the cache file (s)" "$WARM" "$DIRECT" \
	"$(ratio "$DIRECT" "$WARM")"
printf '%-44s %14s %14s %8s\n' "  throughput" "$(mibs "$WARM")" \
	"$(mibs "$DIRECT")" ""
printf '%-44s %14s %14s %8s\n' "daemon peak RSS (VmHWM)" "$HWM" "-" "-"
echo
echo "ratios: cold = curl time / artifactfs time (aim >= 0.8);"
echo "warm = direct time / artifactfs time (aim >= 0.9);"
echo "mount = 10,000 time / 10 time (aim: about 1)"
