#!/bin/bash
# s3:// artifacts read back through a mount from the local S3 server
# (which checks every SigV4 signature): several objects, verified and
# unverified, a ranged size before the first open; the endpoint from
# AWS_ENDPOINT_URL_S3 and from AWS_ENDPOINT_URL, the region from
# AWS_REGION and AWS_DEFAULT_REGION (seen in the signatures' scope);
# --s3-path-style; --s3-no-sign sends no signature; a bucket in another
# region is reached after one redirecting answer.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-s3.sh"
t_need_fuse
s3_clean_env

start_s3 "$T_DIR/s3" bucket other-bucket ||
	{ t_fail "s3 server starts"; t_end; }
t_dump_on_fail "$S3_LOG"

head -c 300000 /dev/urandom >"$T_DIR/big.bin"
printf 'alpha\n' >"$T_DIR/alpha.txt"
printf 'nested file\n' >"$T_DIR/nested.txt"
printf 'in the far region\n' >"$T_DIR/far.txt"
s3_put bucket alpha.txt "$T_DIR/alpha.txt" &&
	s3_put bucket data/big.bin "$T_DIR/big.bin" &&
	s3_put other-bucket deep/er/nested.txt "$T_DIR/nested.txt" ||
	{ t_fail "objects uploaded"; t_end; }

cat >"$T_DIR/task.json" <<JSON
{ "containerDefinitions": [ { "name": "app", "image": "x", "artifacts": [
  { "name": "alpha", "artifactUrl": "s3://bucket/alpha.txt", "type": "s3",
    "targetPath": "alpha.txt",
    "checksum": "sha256:$(t_sha256 "$T_DIR/alpha.txt")" },
  { "name": "big", "artifactUrl": "s3://bucket/data/big.bin",
    "targetPath": "data/big.bin", "checksumType": "md5",
    "checksum": "$(md5sum "$T_DIR/big.bin" | cut -d' ' -f1)" },
  { "name": "nested", "artifactUrl": "s3://other-bucket/deep/er/nested.txt",
    "targetPath": "nested.txt", "permissions": "0600" }
] } ] }
JSON

# mount_and_read TAG [ARGS...]: mounts with T_MOUNT_ENV, reads all three
# back, unmounts.
mount_and_read()
{
	local tag=$1 mnt=$T_DIR/mnt-$1 log=$T_DIR/daemon-$1.log
	shift
	t_dump_on_fail "$log"
	: >"$S3_LOG"
	t_check "$tag: mount" t_mount_fg "$T_DIR/task.json" "$mnt" "$log" \
		--cache-dir "$T_DIR/cache-$tag" "$@" || return 1
	t_check "$tag: size known before the first open" \
		[ "$(stat -c %s "$mnt/data/big.bin")" = 300000 ]
	t_check "$tag: alpha read back" cmp -s "$mnt/alpha.txt" \
		"$T_DIR/alpha.txt"
	t_check "$tag: big read back" cmp -s "$mnt/data/big.bin" \
		"$T_DIR/big.bin"
	t_check "$tag: nested read back from a second bucket" \
		cmp -s "$mnt/nested.txt" "$T_DIR/nested.txt"
	t_check "$tag: declared mode" \
		[ "$(stat -c %a "$mnt/nested.txt")" = 600 ]
	t_check "$tag: every request answered 2xx (signatures accepted)" \
		bash -c "! awk '\$5 >= 300' '$S3_LOG' | grep -q ."
	t_check "$tag: one GET per object" \
		[ "$(s3_requests '^GET /bucket/data/big.bin ')" = 1 ]
	t_unmount_fg "$mnt" "$T_MOUNT_PID"
	t_check "$tag: daemon exits 0" [ $? = 0 ]
}

T_MOUNT_ENV=(AWS_ENDPOINT_URL_S3="$S3_ENDPOINT" AWS_ACCESS_KEY_ID=S3RVER
	AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=eu-west-3
	AWS_DEFAULT_REGION=ap-south-1)
mount_and_read endpoint-s3
t_check "AWS_REGION is the signing region" \
	[ "$(awk '$3 != "eu-west-3"' "$S3_LOG" | wc -l)" = 0 ]

T_MOUNT_ENV=(AWS_ENDPOINT_URL="$S3_ENDPOINT" AWS_ACCESS_KEY_ID=S3RVER
	AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=ap-south-1)
mount_and_read endpoint-generic --s3-path-style
t_check "AWS_DEFAULT_REGION when AWS_REGION is unset" \
	[ "$(awk '$3 != "ap-south-1"' "$S3_LOG" | wc -l)" = 0 ]
t_check "requests were path-style" \
	[ "$(s3_requests '^GET /other-bucket/deep/er/nested.txt ')" = 1 ]

T_MOUNT_ENV=(AWS_ENDPOINT_URL="$S3_ENDPOINT" AWS_ENDPOINT_URL_S3="$S3_ENDPOINT"
	AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER)
mount_and_read default-region
t_check "us-east-1 when no region is set" \
	[ "$(awk '$3 != "us-east-1"' "$S3_LOG" | wc -l)" = 0 ]

# --s3-no-sign: anonymous requests (the test server lets them read).
T_MOUNT_ENV=(AWS_ENDPOINT_URL_S3="$S3_ENDPOINT")
mount_and_read no-sign --s3-no-sign
t_check "no-sign: no request carried a signature" \
	[ "$(awk '$3 != "-"' "$S3_LOG" | wc -l)" = 0 ]

# A bucket in another region: the server answers 400 naming it, the
# source switches region once and the read succeeds.
S3_SERVER_ARGS=(--bucket-region far-bucket=eu-central-1)
start_s3 "$T_DIR/s3-far" far-bucket || { t_fail "second s3 server"; t_end; }
S3_PUT_REGION=eu-central-1 s3_put far-bucket far.txt "$T_DIR/far.txt" ||
	t_fail "far object uploaded"
cat >"$T_DIR/far.json" <<JSON
[ { "name": "far", "artifactUrl": "s3://far-bucket/far.txt",
    "targetPath": "far.txt" } ]
JSON
T_MOUNT_ENV=(AWS_ENDPOINT_URL_S3="$S3_ENDPOINT" AWS_ACCESS_KEY_ID=S3RVER
	AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-west-2)
MNT=$T_DIR/mnt-far
LOG=$T_DIR/daemon-far.log
t_dump_on_fail "$LOG" "$S3_LOG"
: >"$S3_LOG"
t_check "far: mount" t_mount_fg "$T_DIR/far.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache-far"
t_check "far: read back after the region switch" cmp -s "$MNT/far.txt" \
	"$T_DIR/far.txt"
t_check "far: one GET in the wrong region, answered 400" \
	[ "$(s3_requests '^GET /far-bucket/far.txt us-west-2 .* 400$')" = 1 ]
t_check "far: the GET in the bucket's region succeeded once" \
	[ "$(s3_requests '^GET /far-bucket/far.txt eu-central-1 .* 200$')" = 1 ]
t_unmount_fg "$MNT" "$T_MOUNT_PID"
t_check "far: daemon exits 0" [ $? = 0 ]

t_finish
