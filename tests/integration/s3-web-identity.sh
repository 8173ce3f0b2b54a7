#!/bin/bash
# Web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN exchanged at a
# stand-in STS (AWS_ENDPOINT_URL_STS, on loopback) for credentials that
# the S3 server accepts; refreshed before expiry; STS refusals (a wrong
# token, a role it will not give) and expired credentials fail the read
# with a cause.  The identity token never reaches the log.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-s3.sh"
t_need_fuse
s3_clean_env

WEB_TOKEN=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2ln$RANDOM
ROLE=arn:aws:iam::123456789012:role/artifact-reader
start_stand_in "$T_DIR/sts" sts "$WEB_TOKEN" "$ROLE" ||
	{ t_fail "STS stand-in starts"; t_end; }
start_s3 "$T_DIR/s3" bucket || { t_fail "s3 server starts"; t_end; }
t_dump_on_fail "$S3_LOG" "$STAND_IN_LOG"

printf 'web identity object\n' >"$T_DIR/obj"
printf 'second object\n' >"$T_DIR/obj2"
s3_put bucket cfg/obj "$T_DIR/obj" && s3_put bucket cfg/obj2 "$T_DIR/obj2" ||
	t_fail "objects uploaded"
cat >"$T_DIR/task.json" <<JSON
[ { "name": "obj", "artifactUrl": "s3://bucket/cfg/obj", "targetPath": "obj" },
  { "name": "obj2", "artifactUrl": "s3://bucket/cfg/obj2",
    "targetPath": "obj2" } ]
JSON
printf '%s\n' "$WEB_TOKEN" >"$T_DIR/token"
printf 'not-the-token\n' >"$T_DIR/bad-token"

fetches()
{
	awk '$3 == 200' "$STAND_IN_LOG" 2>/dev/null | wc -l
}

# mount_case TAG TOKEN_FILE ROLE: sets MNT and LOG.
mount_case()
{
	local tag=$1
	MNT=$T_DIR/mnt-$tag
	LOG=$T_DIR/daemon-$tag.log
	t_dump_on_fail "$LOG"
	T_MOUNT_ENV=(AWS_ENDPOINT_URL_S3="$S3_ENDPOINT"
		AWS_ENDPOINT_URL_STS="$STAND_IN_URL"
		AWS_WEB_IDENTITY_TOKEN_FILE="$2" AWS_ROLE_ARN="$3"
		AWS_ROLE_SESSION_NAME=artifactfs-test)
	t_check "$tag: mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
		--cache-dir "$T_DIR/cache-$tag"
}

no_leak()
{
	t_check "$1: the identity token is not in the log" \
		s3_absent "$LOG" "$WEB_TOKEN"
	t_check "$1: the session token is not in the log" \
		s3_absent "$LOG" stand-in-token
}

before=$(fetches)
mount_case good "$T_DIR/token" "$ROLE"
t_check "good: nothing fetched at mount" [ "$(fetches)" = "$before" ]
t_check "good: obj read back" cmp -s "$MNT/obj" "$T_DIR/obj"
t_check "good: obj2 read back" cmp -s "$MNT/obj2" "$T_DIR/obj2"
t_check "good: one STS call for all requests" \
	[ "$(fetches)" = $((before + 1)) ]
t_check "good: S3 requests carried the session token" \
	[ "$(s3_requests '^\(GET\|HEAD\) /bucket/.* token=no ')" = 0 ]
no_leak good
t_unmount_fg "$MNT" "$T_MOUNT_PID"

echo 200 >"$STAND_IN_EXPIRES"
before=$(fetches)
mount_case soon "$T_DIR/token" "$ROLE"
t_check "soon: obj read back" cmp -s "$MNT/obj" "$T_DIR/obj"
t_check "soon: obj2 read back" cmp -s "$MNT/obj2" "$T_DIR/obj2"
t_check "soon: refreshed before expiry" [ "$(fetches)" -ge $((before + 2)) ]
t_unmount_fg "$MNT" "$T_MOUNT_PID"

echo -60 >"$STAND_IN_EXPIRES"
mount_case expired "$T_DIR/token" "$ROLE"
t_check "expired: open fails with EIO" [ "$(t_fsop read "$MNT/obj")" = EIO ]
t_check "expired: the log says the credentials expired" \
	s3_log_line "$LOG" "'obj'" "s3://bucket/cfg/obj" \
	"credentials from the web identity expired at"
t_unmount_fg "$MNT" "$T_MOUNT_PID"
echo 3600 >"$STAND_IN_EXPIRES"

mount_case bad-token "$T_DIR/bad-token" "$ROLE"
t_check "bad-token: open fails with EIO" [ "$(t_fsop read "$MNT/obj")" = EIO ]
t_check "bad-token: the log gives STS's code" \
	s3_log_line "$LOG" "'obj'" "s3://bucket/cfg/obj" \
	"STS HTTP 400 InvalidIdentityToken"
t_check "bad-token: the file's content is not in the log" \
	s3_absent "$LOG" not-the-token
t_unmount_fg "$MNT" "$T_MOUNT_PID"

mount_case bad-role "$T_DIR/token" arn:aws:iam::123456789012:role/other
t_check "bad-role: open fails with EIO" [ "$(t_fsop read "$MNT/obj")" = EIO ]
t_check "bad-role: the log gives STS's code" \
	s3_log_line "$LOG" "'obj'" "STS HTTP 403 AccessDenied"
no_leak bad-role
t_unmount_fg "$MNT" "$T_MOUNT_PID"
t_check "bad-role: daemon exits 0" [ $? = 0 ]

t_finish
