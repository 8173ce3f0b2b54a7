#!/bin/bash
# Origins that misbehave below HTTP: connection refused, a server that
# never answers, a body shorter than its Content-Length, a reset, a chunked
# body cut short, a trickle below the low-speed limit.  Each open fails
# with EIO within a bound set by connect_timeout and low_speed_time, with
# no byte served, nothing cached and one log line; the mount keeps
# serving the others meanwhile.

source "$(dirname "$0")/../lib.sh"
t_need_fuse

t_start_faults "$T_DIR/faults" || { t_fail "fault server starts"; t_end; }
MNT=$T_DIR/mnt
CACHE=$T_DIR/cache
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$FAULTS_LOG"
CLOSED=$(t_free_port)
CT=2
LST=3
RETRIES=$(t_cap CAP_RETRIES)
# Every attempt may last connect + low-speed time, plus backoff and slack.
BOUND=$(((CT + LST + 2) * (RETRIES + 1) + 10))

head -c 100000 /dev/urandom >"$FAULTS_ROOT/f"
printf 'ok\n' >"$FAULTS_ROOT/good"
SHA=$(t_sha256 "$FAULTS_ROOT/f")

art()
{
	printf '  { "name": "%s", "artifactUrl": "%s", "targetPath": "%s"%s },\n' \
		"$1" "$2" "$1" "${3:+, \"checksum\": \"sha256:$3\"}"
}
{
	echo "["
	art refused "http://127.0.0.1:$CLOSED/f"
	art timeout "$FAULTS_URL/hangget/f" "$SHA"
	art truncated "$FAULTS_URL/short/f" "$SHA"
	art truncated-unverified "$FAULTS_URL/short/f"
	art reset "$FAULTS_URL/reset/f" "$SHA"
	art chunked-cut "$FAULTS_URL/chunked/f"
	art slow "$FAULTS_URL/slow/f" "$SHA"
	art hang-head "$FAULTS_URL/hang/f" "$SHA"
	printf '  { "name": "good", "artifactUrl": "%s", "targetPath": "good" }\n' \
		"$FAULTS_URL/ok/good"
	echo "]"
} >"$T_DIR/task.json"

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$CACHE" -o "connect_timeout=$CT,low_speed_time=$LST"
PID=$T_MOUNT_PID

# All failing reads at once, each timed.
FAILING="refused timeout truncated truncated-unverified reset chunked-cut slow"
PIDS=()
for name in $FAILING; do
	(
		start=$(date +%s)
		r=$(t_fsop read "$MNT/$name")
		echo "$r $(($(date +%s) - start))" >"$T_DIR/result-$name"
	) &
	PIDS+=($!)
done
(
	start=$(date +%s)
	stat "$MNT/hang-head" >/dev/null 2>&1
	echo "done $(($(date +%s) - start))" >"$T_DIR/result-hang-head"
) &
PIDS+=($!)

# While they hang, the good file is served at once.
sleep 1
start=$(date +%s)
t_check "good file served while others hang" cmp -s "$MNT/good" \
	"$FAULTS_ROOT/good"
t_check "... within 3 seconds" [ $(($(date +%s) - start)) -le 3 ]

wait "${PIDS[@]}"
for name in $FAILING; do
	read -r result secs <"$T_DIR/result-$name"
	t_check "$name: open fails with EIO, no byte served ($result)" \
		[ "$result" = EIO ]
	t_check "$name: gives up within ${BOUND}s (took ${secs}s)" \
		[ "$secs" -le "$BOUND" ]
	t_check "$name: one log line naming it and its URL" \
		[ "$(grep -c "artifact '$name': GET http://127\.0\.0\.1:[0-9]*/[a-z]*/*f: " "$LOG")" = 1 ]
done
read -r result secs <"$T_DIR/result-hang-head"
t_check "stat of a file whose HEAD hangs returns within ${BOUND}s" \
	[ "$secs" -le "$BOUND" ]
t_check "retries of the truncated body are bounded" \
	[ "$(t_faults_count GET /short/f)" -le $((2 * (RETRIES + 1))) ]

t_check "nothing cached but the good file" [ "$(t_files "$CACHE")" = 1 ]
t_check "daemon alive" kill -0 "$PID"
t_check "mount still up" mountpoint -q "$MNT"
t_check "no 'Transport endpoint' on the mount" bash -c "ls '$MNT' >/dev/null"

t_unmount_fg "$MNT" "$PID"
t_check "daemon exits 0" [ $? = 0 ]

t_finish
