#!/bin/bash
# The seed's task definition (tests/cases/seed-task-definition.json) with
# its s3:// artifacts, mounted and read back from the local S3 server
# through the standard AWS variables only: AWS_ENDPOINT_URL,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.  Its one https
# artifact points at a host outside this machine; the copy mounted here
# has that URL alone moved to a closed loopback port, so that nothing can
# reach out, and the s3 artifacts are checked to be the seed's own.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-s3.sh"
t_need_fuse
s3_clean_env

SEED=$T_ROOT/tests/cases/seed-task-definition.json
start_s3 "$T_DIR/s3" my-bucket certs || { t_fail "s3 server starts"; t_end; }
t_dump_on_fail "$S3_LOG"
CLOSED_PORT=$(t_free_port)

python3 - "$SEED" "$T_DIR/task.json" "http://127.0.0.1:$CLOSED_PORT/assets.tar.gz" <<'PY'
import json, sys
seed, out, local = sys.argv[1:]
doc = json.load(open(seed))
for c in doc["containerDefinitions"]:
    for a in c.get("artifacts", []):
        if not a["artifactUrl"].startswith("s3://"):
            a["artifactUrl"] = local
            a["type"] = "http"
json.dump(doc, open(out, "w"), indent=1)
PY
t_check "the mounted copy keeps the seed's s3 artifacts unchanged" \
	python3 - "$SEED" "$T_DIR/task.json" <<'PY'
import json, sys
def s3(p):
    d = json.load(open(p))
    return [a for c in d["containerDefinitions"] for a in c["artifacts"]
            if a["artifactUrl"].startswith("s3://")]
a, b = s3(sys.argv[1]), s3(sys.argv[2])
sys.exit(0 if a == b and len(a) == 3 else 1)
PY

printf 'listen 8080\nworkers 4\n' >"$T_DIR/app.conf"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$T_DIR/app.key" -out "$T_DIR/app.crt" -days 1 \
	-subj "/CN=app" >/dev/null 2>&1 || t_fail "test certificate made"
s3_put my-bucket configs/app.conf "$T_DIR/app.conf" &&
	s3_put certs app.crt "$T_DIR/app.crt" &&
	s3_put certs app.key "$T_DIR/app.key" || t_fail "objects uploaded"

MNT=$T_DIR/mnt
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG"
T_MOUNT_ENV=(AWS_ENDPOINT_URL="$S3_ENDPOINT" AWS_ACCESS_KEY_ID=S3RVER
	AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1)
t_check "check accepts the seed" bash -c "'$T_BIN' check '$SEED' >/dev/null"
t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache"

t_check "config/app.conf read back" cmp -s "$MNT/config/app.conf" \
	"$T_DIR/app.conf"
t_check "certs/app.crt read back" cmp -s "$MNT/certs/app.crt" \
	"$T_DIR/app.crt"
t_check "certs/app.key read back" cmp -s "$MNT/certs/app.key" \
	"$T_DIR/app.key"
t_check "config/app.conf is 0644" \
	[ "$(stat -c %a "$MNT/config/app.conf")" = 644 ]
t_check "certs/app.key is 0600" [ "$(stat -c %a "$MNT/certs/app.key")" = 600 ]
t_check "the key is not readable by another user" \
	bash -c "! su -s /bin/sh nobody -c 'cat \"$MNT/certs/app.key\"' >/dev/null 2>&1"
t_check "the certificate parses" openssl x509 -in "$MNT/certs/app.crt" \
	-noout
t_check "every S3 request was accepted" \
	bash -c "! awk '\$1 != \"PUT\" && \$5 >= 300' '$S3_LOG' | grep -q ."
t_check "no secret in the log" s3_absent "$LOG" S3RVER

t_unmount_fg "$MNT" "$T_MOUNT_PID"
t_check "daemon exits 0" [ $? = 0 ]

t_finish
