#!/bin/bash
# S3 failures behave like HTTP ones: the open fails with EIO, the log line
# names the artifact, s3://bucket/key, the S3 error code and message, and
# no secret, token or signature ever reaches the log; 4xx are not
# retried; the mount keeps serving the rest.  Cases: a wrong secret
# (SignatureDoesNotMatch), an unknown access key, a missing key
# (NoSuchKey), a missing bucket, an expired session token (ExpiredToken),
# and no credentials at all.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-s3.sh"
t_need_fuse
s3_clean_env

EXPIRED_TOKEN=IQoJb3JpZ2luX2VjEXPIREDSESSIONTOKEN0123456789
S3_SERVER_ARGS=(--expired-token "$EXPIRED_TOKEN")
start_s3 "$T_DIR/s3" bucket || { t_fail "s3 server starts"; t_end; }
t_dump_on_fail "$S3_LOG"

printf 'good\n' >"$T_DIR/good.txt"
printf 'secret config\n' >"$T_DIR/conf.txt"
s3_put bucket good.txt "$T_DIR/good.txt" &&
	s3_put bucket app/conf.txt "$T_DIR/conf.txt" ||
	{ t_fail "objects uploaded"; t_end; }

cat >"$T_DIR/task.json" <<JSON
[
  { "name": "conf", "artifactUrl": "s3://bucket/app/conf.txt",
    "targetPath": "conf.txt" },
  { "name": "missing-key", "artifactUrl": "s3://bucket/no/such.key",
    "targetPath": "missing.txt" },
  { "name": "missing-bucket", "artifactUrl": "s3://no-such-bucket/k",
    "targetPath": "nobucket.txt" },
  { "name": "good", "artifactUrl": "s3://bucket/good.txt",
    "targetPath": "good.txt",
    "checksum": "sha256:$(t_sha256 "$T_DIR/good.txt")" }
]
JSON

# mount_case TAG ENV...: mounts with those variables; sets MNT and LOG.
mount_case()
{
	local tag=$1
	shift
	MNT=$T_DIR/mnt-$tag
	LOG=$T_DIR/daemon-$tag.log
	t_dump_on_fail "$LOG"
	: >"$S3_LOG"
	T_MOUNT_ENV=(AWS_ENDPOINT_URL_S3="$S3_ENDPOINT" "$@")
	t_check "$tag: mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
		--cache-dir "$T_DIR/cache-$tag"
}

# fails TAG NAME FILE KEY WORDS...: the read fails with EIO, and one log
# line names the artifact, s3://KEY and every WORD.
fails()
{
	local tag=$1 name=$2 file=$3 key=$4
	shift 4
	t_check "$tag: $name: open fails with EIO" \
		[ "$(t_fsop read "$MNT/$file")" = EIO ]
	t_check "$tag: $name: log line names artifact, s3://$key, $*" \
		s3_log_line "$LOG" "'$name'" "s3://$key" "$@"
	t_check "$tag: $name: no byte cached" \
		bash -c "! grep -rqF 'secret config' '$T_DIR/cache-$tag'"
}

# no_leak TAG WORD...: none of the words appears in the log.
no_leak()
{
	local tag=$1 w
	shift
	for w in "$@"; do
		t_check "$tag: log does not hold '$w'" s3_absent "$LOG" "$w"
	done
	t_check "$tag: log holds no signature or Authorization" \
		bash -c "! grep -qiE 'Signature=|Authorization|x-amz-security-token|Credential=' '$LOG'"
}

WRONG=Wr0ngSecretKeyValue/ABCDEFGHIJ
mount_case wrong-secret AWS_ACCESS_KEY_ID=S3RVER \
	AWS_SECRET_ACCESS_KEY="$WRONG"
fails wrong-secret conf conf.txt bucket/app/conf.txt \
	"HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match"
t_check "wrong-secret: a 403 is not retried" \
	[ "$(s3_requests '^GET /bucket/app/conf.txt ')" = 1 ]
no_leak wrong-secret "$WRONG" Wr0ngSecret
t_unmount_fg "$MNT" "$T_MOUNT_PID"

mount_case unknown-key AWS_ACCESS_KEY_ID=AKIANOSUCHKEY000 \
	AWS_SECRET_ACCESS_KEY=S3RVER
fails unknown-key conf conf.txt bucket/app/conf.txt \
	"HTTP 403 InvalidAccessKeyId"
no_leak unknown-key S3RVER
t_unmount_fg "$MNT" "$T_MOUNT_PID"

mount_case expired-token AWS_ACCESS_KEY_ID=S3RVER \
	AWS_SECRET_ACCESS_KEY=S3RVER AWS_SESSION_TOKEN="$EXPIRED_TOKEN"
fails expired-token conf conf.txt bucket/app/conf.txt \
	"HTTP 400 ExpiredToken: The provided token has expired"
t_check "expired-token: the token was sent" \
	[ "$(s3_requests '^GET /bucket/app/conf.txt .* token=yes 400$')" = 1 ]
no_leak expired-token "$EXPIRED_TOKEN" EXPIREDSESSION
t_unmount_fg "$MNT" "$T_MOUNT_PID"

mount_case no-credentials
fails no-credentials conf conf.txt bucket/app/conf.txt "no AWS credentials"
t_check "no-credentials: nothing was sent" \
	[ "$(s3_requests '^GET ')" = 0 ]
t_unmount_fg "$MNT" "$T_MOUNT_PID"

mount_case right AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
fails right missing-key missing.txt bucket/no/such.key \
	"HTTP 404 NoSuchKey: The specified key does not exist"
fails right missing-bucket nobucket.txt no-such-bucket/k \
	"HTTP 404 NoSuchBucket"
t_check "right: a 404 is not retried" \
	[ "$(s3_requests '^GET /bucket/no/such.key ')" = 1 ]
t_check "right: the others are still served" cmp -s "$MNT/good.txt" \
	"$T_DIR/good.txt"
t_check "right: conf served" cmp -s "$MNT/conf.txt" "$T_DIR/conf.txt"
t_check "right: daemon alive" kill -0 "$T_MOUNT_PID"
no_leak right S3RVER
t_unmount_fg "$MNT" "$T_MOUNT_PID"
t_check "right: daemon exits 0 after the failures" [ $? = 0 ]

t_finish
