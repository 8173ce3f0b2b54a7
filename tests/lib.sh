# Shared by every integration script: results, a private work directory,
# and a cleanup that runs however the script ends.
#
# A script sources this file, does its checks with t_ok/t_fail/t_check,
# and ends with t_end.  Each check prints one line, "ok - WHAT" or
# "not ok - WHAT"; tests/run counts those lines.  A script that dies
# before t_end counts as one failure more.

set -u

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_NAME=$(basename "$0" .sh)
T_BUILD=${ARTIFACTFS_BUILD:-$T_ROOT/build}
T_BIN=$T_BUILD/fs/artifactfs
T_PODSPEC=$T_BUILD/tools/artifactfs-podspec
T_FAILED=0
T_CLEANUPS=()

# The script's own directory, fresh each run, traversable by other users
# so that tests running as nobody can reach mounts inside it.
T_DIR=${T_WORK:-$T_ROOT/tests/.work}/$T_NAME
rm -rf "$T_DIR"
mkdir -p "$T_DIR"
chmod 755 "$T_DIR" "$(dirname "$T_DIR")"

t_ok()
{
	echo "ok - $*"
}

t_fail()
{
	echo "not ok - $*"
	T_FAILED=$((T_FAILED + 1))
}

# t_check WHAT CMD...: passes when CMD exits 0.
t_check()
{
	local what=$1
	shift
	if "$@"; then
		t_ok "$what"
	else
		t_fail "$what"
	fi
}

# t_cleanup CMD...: run CMD when the script exits, last registered first.
t_cleanup()
{
	T_CLEANUPS+=("$*")
}

t_run_cleanups()
{
	local i
	for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUPS[$i]}" >/dev/null 2>&1 || true
	done
	T_CLEANUPS=()
}
trap t_run_cleanups EXIT

# t_need_fuse: a mount test cannot run without /dev/fuse; that is a
# failure, never a quiet skip.
t_need_fuse()
{
	if [ ! -c /dev/fuse ] || [ "$(id -u)" != 0 ]; then
		t_fail "mount tests need root and /dev/fuse"
		t_end
	fi
}

# t_mount MANIFEST MOUNTPOINT [ARGS...]: mounts (daemonised) and registers
# the unmount.  Returns the exit status of artifactfs mount.
t_mount()
{
	local manifest=$1 mnt=$2
	shift 2
	mkdir -p "$mnt"
	t_cleanup "fusermount3 -uz '$mnt'"
	"$T_BIN" mount "$@" "$manifest" "$mnt"
}

t_end()
{
	t_run_cleanups
	echo "# $T_NAME: $T_FAILED failed"
	[ "$T_FAILED" = 0 ]
	exit $?
}

# t_free_port: prints a TCP port that was free on 127.0.0.1 a moment ago.
t_free_port()
{
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# t_wait_mount MOUNTPOINT [PID]: waits until MOUNTPOINT is a mount;
# fails early when PID (the daemon) ends first.
t_wait_mount()
{
	local mnt=$1 pid=${2:-} i
	for ((i = 0; i < 200; i++)); do
		if mountpoint -q "$mnt"; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# t_is_mounted MOUNTPOINT: true when /proc/mounts lists MOUNTPOINT (does
# not touch the mount, so a dead daemon cannot make it hang).
t_is_mounted()
{
	local mnt
	mnt=$(realpath -m "$1")
	awk -v m="$mnt" '{ gsub(/\\040/, " ", $2); if ($2 == m) f = 1 }
		END { exit !f }' /proc/mounts
}

# t_wait_gone PID [SECONDS]: waits for PID to end; false if it does not.
t_wait_gone()
{
	local pid=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# t_stop_mount MOUNTPOINT [PID]: unmounts, waits for the daemon PID, and
# kills it only if it will not end by itself.
t_stop_mount()
{
	local mnt=$1 pid=${2:-}
	if t_is_mounted "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt"
	fi
	if [ -n "$pid" ] && ! t_wait_gone "$pid" 10; then
		kill -9 "$pid" 2>/dev/null
	fi
	if [ -n "$pid" ]; then
		wait "$pid" 2>/dev/null
	fi
	return 0
}

# t_mount_fg MANIFEST MOUNTPOINT LOG [ARGS...]: runs `artifactfs mount -f`
# in the background with its stderr (the daemon's log) in LOG, waits for
# the mount and registers the unmount.  Sets T_MOUNT_PID.  Returns 0 once
# mounted, 1 if the daemon ended or the mount did not appear.  The
# daemon's environment has the VAR=VALUE words of T_MOUNT_ENV added.
# SIGINT is given back its default action, which bash takes away from
# background commands, so that the daemon sees it as from a terminal.
T_MOUNT_ENV=()
t_mount_fg()
{
	local manifest=$1 mnt=$2 log=$3
	shift 3
	mkdir -p "$mnt"
	env --default-signal=INT ${T_MOUNT_ENV[@]+"${T_MOUNT_ENV[@]}"} \
		"$T_BIN" mount -f "$@" "$manifest" "$mnt" 2>"$log" &
	T_MOUNT_PID=$!
	t_cleanup "t_stop_mount '$mnt' $T_MOUNT_PID"
	t_wait_mount "$mnt" "$T_MOUNT_PID"
}

# t_fsop OP PATH [ARG]: one file system call through tests/fsop.py; prints
# "OK ..." or the errno name (EIO, EROFS, EACCES, ...).
t_fsop()
{
	python3 "$T_ROOT/tests/fsop.py" "$@"
}

# t_sha256 FILE: the hex sha256 of FILE.
t_sha256()
{
	sha256sum "$1" | cut -d' ' -f1
}

# t_cap NAME: the value of a cap from fs/caps.h, so that tests follow the
# code rather than a copy of its numbers.
t_cap()
{
	awk -v n="$1" '$1 == "#define" && $2 == n { print $3 + 0; f = 1 }
		END { exit !f }' "$T_ROOT/fs/caps.h"
}

# t_count PATTERN FILE: number of lines of FILE holding the fixed string
# PATTERN (0 when FILE is missing).
t_count()
{
	local n
	n=$(grep -cF -- "$1" "$2" 2>/dev/null) || true
	echo "${n:-0}"
}

# t_files DIR: number of regular files under DIR (0 when missing).
t_files()
{
	if [ -d "$1" ]; then
		find "$1" -type f | wc -l
	else
		echo 0
	fi
}

# t_start_faults DIR [LIFETIME]: starts tests/faults.py serving DIR/root;
# sets FAULTS_ROOT, FAULTS_LOG, FAULTS_URL (http://127.0.0.1:PORT) and
# FAULTS_PID, and registers its end.
t_start_faults()
{
	local d=$1 i
	mkdir -p "$d/root"
	FAULTS_ROOT=$d/root
	FAULTS_LOG=$d/requests.log
	: >"$FAULTS_LOG"
	rm -f "$d/port"
	python3 "$T_ROOT/tests/faults.py" --root "$FAULTS_ROOT" \
		--log "$FAULTS_LOG" --port-file "$d/port" \
		--lifetime "${2:-600}" 2>"$d/faults.err" &
	FAULTS_PID=$!
	t_cleanup "kill $FAULTS_PID"
	for ((i = 0; i < 100; i++)); do
		if [ -s "$d/port" ]; then
			FAULTS_URL=http://127.0.0.1:$(cat "$d/port")
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# t_faults_count METHOD PATH: requests the fault server logged for PATH.
t_faults_count()
{
	awk -v m="$1" -v p="$2" '$1 == m && $2 == p { n++ }
		END { print n + 0 }' "$FAULTS_LOG"
}

# t_unmount_fg MOUNTPOINT PID: `fusermount3 -u`, then waits for the
# foreground daemon PID and returns its exit status (255 when it did not
# end within 10 seconds and had to be killed).
t_unmount_fg()
{
	local mnt=$1 pid=$2
	fusermount3 -u "$mnt" || return 254
	if ! t_wait_gone "$pid" 10; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 255
	fi
	wait "$pid"
}

# t_signal_fg SIGNAL PID: sends SIGNAL to the foreground daemon PID and
# returns its exit status (255 when it did not end within 15 seconds and
# had to be killed).
t_signal_fg()
{
	kill -"$1" "$2" || return 254
	if ! t_wait_gone "$2" 15; then
		kill -9 "$2" 2>/dev/null
		wait "$2" 2>/dev/null
		return 255
	fi
	wait "$2"
}

T_DUMPS=()

# t_dump_on_fail FILE...: files whose tail t_finish shows when a check
# failed (the daemon's log, an access log), as "# " lines.
t_dump_on_fail()
{
	T_DUMPS+=("$@")
}

# t_finish: t_end, after showing the files of t_dump_on_fail if a check
# failed.
t_finish()
{
	local f
	if [ "$T_FAILED" != 0 ]; then
		for f in "${T_DUMPS[@]}"; do
			echo "# --- last lines of $f"
			tail -n 40 "$f" 2>/dev/null | sed 's/^/# /'
		done
	fi
	t_end
}

# t_dir_has DIR FILE: true when a regular file under DIR has FILE's bytes.
t_dir_has()
{
	local f
	[ -d "$1" ] || return 1
	while IFS= read -r -d '' f; do
		cmp -s "$f" "$2" && return 0
	done < <(find "$1" -type f -size "$(stat -c %s "$2")c" -print0)
	return 1
}

# t_count_end TEXT FILE: number of lines of FILE that end with TEXT (a log
# line may carry a prefix such as a time stamp; nothing may follow).
t_count_end()
{
	awk -v t="$1" '{ n = length(t); s = length($0) - n + 1 }
		s >= 1 && substr($0, s) == t { c++ }
		END { print c + 0 }' "$2" 2>/dev/null || echo 0
}

# t_eventually SECONDS CMD...: runs CMD every half second until it
# succeeds or SECONDS have passed.  For what the product may hold back
# for a moment on purpose (a failure shared with the opens just after it).
t_eventually()
{
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 2; i++)); do
		"$@" && return 0
		sleep 0.5
	done
	"$@"
}
