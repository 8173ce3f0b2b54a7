#!/bin/bash
# A 503 is transient: retried with backoff, and a body that finally comes
# is served; an origin that keeps answering 503 is given up on after
# CAP_RETRIES more attempts, with EIO and one log line.

source "$(dirname "$0")/../lib.sh"
t_need_fuse

t_start_faults "$T_DIR/faults" || { t_fail "fault server starts"; t_end; }
MNT=$T_DIR/mnt
CACHE=$T_DIR/cache
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$FAULTS_LOG"
RETRIES=$(t_cap CAP_RETRIES)

head -c 50000 /dev/urandom >"$FAULTS_ROOT/f"
SHA=$(t_sha256 "$FAULTS_ROOT/f")
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "flaky", "artifactUrl": "$FAULTS_URL/flaky/$RETRIES/f",
    "targetPath": "flaky", "checksum": "sha256:$SHA" },
  { "name": "down", "artifactUrl": "$FAULTS_URL/flaky/1000/f",
    "targetPath": "down" }
]
JSON

t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$CACHE"

t_check "flaky: served after $RETRIES 503s" cmp -s "$MNT/flaky" \
	"$FAULTS_ROOT/f"
t_check "flaky: $((RETRIES + 1)) GETs in all" \
	[ "$(t_faults_count GET "/flaky/$RETRIES/f")" = $((RETRIES + 1)) ]
t_check "flaky: no error logged for it" \
	bash -c "! grep -q \"artifact 'flaky'\" '$LOG'"
t_check "flaky: cached" [ -f "$CACHE/sha256/$SHA" ]

t_check "down: EIO after the retries" [ "$(t_fsop read "$MNT/down")" = EIO ]
t_check "down: 1 + CAP_RETRIES GETs, no more" \
	[ "$(t_faults_count GET /flaky/1000/f)" = $((RETRIES + 1)) ]
t_check "down: one log line with the status" \
	[ "$(t_count_end "artifact 'down': GET $FAULTS_URL/flaky/1000/f: HTTP 503" "$LOG")" = 1 ]

t_finish
