#!/bin/bash
# ECS container credentials against a stand-in endpoint on loopback
# (AWS_CONTAINER_CREDENTIALS_FULL_URI): fetched on first use with the
# authorization token, kept while fresh, refreshed before they expire,
# refused once expired (and used again when the endpoint hands out fresh
# ones), fetched anew when S3 says the session token expired; the token
# file wins over the variable; a wrong token fails the read with a cause.
# Neither the authorization token nor the session token reaches the log.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-s3.sh"
t_need_fuse
s3_clean_env

AUTH=Bearer-c0ntainer-auth-$RANDOM$RANDOM
start_stand_in "$T_DIR/creds" container "$AUTH" ||
	{ t_fail "credentials stand-in starts"; t_end; }
start_s3 "$T_DIR/s3" bucket || { t_fail "s3 server starts"; t_end; }
t_dump_on_fail "$S3_LOG" "$STAND_IN_LOG"
FULL_URI=$STAND_IN_URL/v2/credentials/7a1f-task-role

for i in 1 2 3; do
	printf 'object %d\n' "$i" >"$T_DIR/obj$i"
	s3_put bucket "obj$i" "$T_DIR/obj$i" || t_fail "upload obj$i"
done
cat >"$T_DIR/task.json" <<JSON
[ { "name": "o1", "artifactUrl": "s3://bucket/obj1", "targetPath": "o1" },
  { "name": "o2", "artifactUrl": "s3://bucket/obj2", "targetPath": "o2" },
  { "name": "o3", "artifactUrl": "s3://bucket/obj3", "targetPath": "o3" } ]
JSON

# fetches: credential answers the stand-in gave so far.
fetches()
{
	awk '$3 == 200' "$STAND_IN_LOG" 2>/dev/null | wc -l
}

# mount_case TAG ENV...: mounts against the S3 server in S3_ENDPOINT with
# the container variables and ENV; sets MNT and LOG.
mount_case()
{
	local tag=$1
	shift
	MNT=$T_DIR/mnt-$tag
	LOG=$T_DIR/daemon-$tag.log
	t_dump_on_fail "$LOG"
	T_MOUNT_ENV=(AWS_ENDPOINT_URL_S3="$S3_ENDPOINT"
		AWS_CONTAINER_CREDENTIALS_FULL_URI="$FULL_URI" "$@")
	t_check "$tag: mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
		--cache-dir "$T_DIR/cache-$tag"
}

no_leak()
{
	t_check "$1: the authorization token is not in the log" \
		s3_absent "$LOG" "$AUTH"
	t_check "$1: no session token in the log" \
		s3_absent "$LOG" stand-in-token
	t_check "$1: no credential path in the log" \
		s3_absent "$LOG" 7a1f-task-role
}

# Fresh credentials for an hour: one fetch serves every request.
before=$(fetches)
mount_case fresh AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH"
t_check "fresh: nothing fetched at mount" [ "$(fetches)" = "$before" ]
for i in 1 2 3; do
	t_check "fresh: o$i read back" cmp -s "$MNT/o$i" "$T_DIR/obj$i"
done
t_check "fresh: one credentials fetch for all requests" \
	[ "$(fetches)" = $((before + 1)) ]
t_check "fresh: every S3 request carried the session token" \
	[ "$(s3_requests '^\(GET\|HEAD\) /bucket/.* token=no ')" = 0 ]
no_leak fresh
t_unmount_fg "$MNT" "$T_MOUNT_PID"

# Credentials within the refresh window: fetched again before use.
echo 200 >"$STAND_IN_EXPIRES"
before=$(fetches)
mount_case soon AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH"
for i in 1 2 3; do
	t_check "soon: o$i read back" cmp -s "$MNT/o$i" "$T_DIR/obj$i"
done
t_check "soon: refreshed before expiry (a fetch per request)" \
	[ "$(fetches)" -ge $((before + 3)) ]
t_unmount_fg "$MNT" "$T_MOUNT_PID"

# The endpoint hands out credentials already expired: the read fails and
# says so; once it hands out fresh ones, a later open succeeds.
echo -60 >"$STAND_IN_EXPIRES"
mount_case expired AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH"
: >"$S3_LOG"
t_check "expired: open fails with EIO" [ "$(t_fsop read "$MNT/o1")" = EIO ]
t_check "expired: the log says the credentials expired" \
	s3_log_line "$LOG" "'o1'" "s3://bucket/obj1" \
	"credentials from the container endpoint expired at"
t_check "expired: nothing was sent to S3" [ "$(s3_requests '^GET ')" = 0 ]
echo 3600 >"$STAND_IN_EXPIRES"
t_check "expired: after the endpoint recovers the open succeeds" \
	t_eventually 5 cmp -s "$MNT/o1" "$T_DIR/obj1"
no_leak expired
t_unmount_fg "$MNT" "$T_MOUNT_PID"

# S3 says the session token expired: the credentials are fetched anew and
# the request made once more.  The next token the stand-in gives is the
# one the S3 server calls expired.
next=$(($(fetches) + 1))
S3_SERVER_ARGS=(--expired-token "stand-in-token-$next")
start_s3 "$T_DIR/s3-expiring" bucket || t_fail "second s3 server starts"
S3_SERVER_ARGS=()
for i in 1 2 3; do
	s3_put bucket "obj$i" "$T_DIR/obj$i" || t_fail "upload obj$i again"
done
t_dump_on_fail "$S3_LOG"
before=$(fetches)
mount_case s3-expired AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH"
t_check "s3-expired: o1 read back after a new fetch" cmp -s "$MNT/o1" \
	"$T_DIR/obj1"
t_check "s3-expired: S3 refused the first token once on GET" \
	[ "$(s3_requests '^GET /bucket/obj1 .* 400$')" = 1 ]
t_check "s3-expired: then the GET with the new token succeeded" \
	[ "$(s3_requests '^GET /bucket/obj1 .* 200$')" = 1 ]
t_check "s3-expired: the credentials were fetched again" \
	[ "$(fetches)" -ge $((before + 2)) ]
no_leak s3-expired
t_unmount_fg "$MNT" "$T_MOUNT_PID"

# A wrong authorization token: the endpoint refuses, the read fails.
WRONG=Bearer-wr0ng-$RANDOM$RANDOM
mount_case wrong-token AWS_CONTAINER_AUTHORIZATION_TOKEN="$WRONG"
t_check "wrong-token: open fails with EIO" \
	[ "$(t_fsop read "$MNT/o2")" = EIO ]
t_check "wrong-token: the log names the endpoint's answer" \
	s3_log_line "$LOG" "'o2'" "s3://bucket/obj2" \
	"container credentials endpoint: HTTP 401"
t_check "wrong-token: the wrong token is not in the log" \
	s3_absent "$LOG" "$WRONG"
t_unmount_fg "$MNT" "$T_MOUNT_PID"

# The token file wins over the variable.
printf '%s\n' "$AUTH" >"$T_DIR/auth-token"
mount_case token-file AWS_CONTAINER_AUTHORIZATION_TOKEN="$WRONG" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T_DIR/auth-token"
t_check "token-file: o3 read back" cmp -s "$MNT/o3" "$T_DIR/obj3"
no_leak token-file
t_unmount_fg "$MNT" "$T_MOUNT_PID"
t_check "token-file: daemon exits 0" [ $? = 0 ]

t_finish
