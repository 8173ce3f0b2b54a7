#!/bin/bash
# artifactfs fetch: every artifact placed in a plain directory with the
# same sources, checks and cache as the mount: from nginx and from the S3
# server, with their declared modes; a checksum mismatch or a 404 makes
# it exit non-zero with a line per failed artifact and leaves nothing
# unverified (and no temporary file) in the directory; a second run is
# served from the cache with no request.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
source "$T_ROOT/tests/lib-s3.sh"
s3_clean_env

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
start_s3 "$T_DIR/s3" bucket || { t_fail "s3 server starts"; t_end; }
t_dump_on_fail "$NGINX_LOG" "$S3_LOG"

printf 'web config\n' >"$NGINX_ROOT/app.conf"
head -c 2000000 /dev/urandom >"$NGINX_ROOT/tool"
printf 'secret key\n' >"$T_DIR/app.key"
s3_put bucket certs/app.key "$T_DIR/app.key" || t_fail "object uploaded"
printf 'what was declared\n' >"$T_DIR/declared.txt"
printf 'what is served\n' >"$NGINX_ROOT/changed.txt"

good()
{
	cat <<JSON
  { "name": "conf", "artifactUrl": "$NGINX_HTTP/app.conf",
    "targetPath": "config/app.conf", "permissions": "0640",
    "checksum": "sha256:$(t_sha256 "$NGINX_ROOT/app.conf")" },
  { "name": "tool", "artifactUrl": "$NGINX_HTTPS/tool",
    "targetPath": "bin/tool", "permissions": "0755" },
  { "name": "key", "artifactUrl": "s3://bucket/certs/app.key",
    "targetPath": "certs/app.key", "permissions": "0600" }
JSON
}
{ echo "["; good; echo "]"; } >"$T_DIR/good.json"
{
	echo "["
	good
	cat <<JSON
  , { "name": "changed", "artifactUrl": "$NGINX_HTTP/changed.txt",
    "targetPath": "changed.txt",
    "checksum": "sha256:$(t_sha256 "$T_DIR/declared.txt")" },
  { "name": "gone", "artifactUrl": "$NGINX_HTTP/gone.txt",
    "targetPath": "gone.txt" }
]
JSON
} >"$T_DIR/bad.json"

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
export AWS_ENDPOINT_URL_S3=$S3_ENDPOINT AWS_REGION=us-east-1
OUT=$T_DIR/out
mkdir -p "$OUT"
nginx_clear_log
"$T_BIN" fetch --cache-dir "$T_DIR/cache" --ca-file "$NGINX_CA" \
	"$T_DIR/good.json" "$OUT" 2>"$T_DIR/good.err"
t_check "fetch exits 0" [ $? = 0 ]
t_check "config placed" cmp -s "$OUT/config/app.conf" "$NGINX_ROOT/app.conf"
t_check "tool placed over https" cmp -s "$OUT/bin/tool" "$NGINX_ROOT/tool"
t_check "key placed from s3" cmp -s "$OUT/certs/app.key" "$T_DIR/app.key"
t_check "mode 0640" [ "$(stat -c %a "$OUT/config/app.conf")" = 640 ]
t_check "mode 0755" [ "$(stat -c %a "$OUT/bin/tool")" = 755 ]
t_check "mode 0600" [ "$(stat -c %a "$OUT/certs/app.key")" = 600 ]
t_check "quiet when not on a terminal" [ ! -s "$T_DIR/good.err" ]
t_check "no temporary file left" \
	[ -z "$(find "$OUT" -name '.artifactfs-*')" ]

# On a terminal it shows progress: a line per file, with the total.
mkdir -p "$T_DIR/out-tty"
script -qec "'$T_BIN' fetch --cache-dir '$T_DIR/cache' --ca-file '$NGINX_CA' \
	'$T_DIR/good.json' '$T_DIR/out-tty'" /dev/null >"$T_DIR/tty.out" 2>&1
t_check "progress on a terminal: a line per file" \
	[ "$(grep -c '^\[[1-3]/3\]' "$T_DIR/tty.out")" = 3 ]
t_check "progress on a terminal: the total" \
	grep -q '3 placed, 0 failed' "$T_DIR/tty.out"

# Again, into a fresh directory: all from the cache.
nginx_clear_log
: >"$S3_LOG"
mkdir -p "$T_DIR/out2"
"$T_BIN" fetch --cache-dir "$T_DIR/cache" --ca-file "$NGINX_CA" \
	"$T_DIR/good.json" "$T_DIR/out2" 2>/dev/null
t_check "second fetch exits 0" [ $? = 0 ]
t_check "second fetch: no request to nginx" [ "$(nginx_count GET)" = 0 ]
t_check "second fetch: no request to s3" [ "$(s3_requests GET)" = 0 ]
t_check "second fetch: same bytes" cmp -s "$T_DIR/out2/bin/tool" \
	"$NGINX_ROOT/tool"

# A checksum mismatch and a 404: non-zero, one line each, nothing
# unverified placed, the good ones still placed.
BAD=$T_DIR/bad-out
mkdir -p "$BAD"
"$T_BIN" fetch --cache-dir "$T_DIR/cache-bad" --ca-file "$NGINX_CA" \
	"$T_DIR/bad.json" "$BAD" 2>"$T_DIR/bad.err"
t_check "failures: non-zero exit" [ $? != 0 ]
t_check "failures: one line for the mismatch" \
	[ "$(grep -c "artifact 'changed': GET .*checksum mismatch" "$T_DIR/bad.err")" = 1 ]
t_check "failures: one line for the 404" \
	[ "$(grep -c "artifact 'gone': GET .*HTTP 404" "$T_DIR/bad.err")" = 1 ]
t_check "failures: the mismatched file is not placed" [ ! -e "$BAD/changed.txt" ]
t_check "failures: the missing file is not placed" [ ! -e "$BAD/gone.txt" ]
t_check "failures: no temporary file left" \
	[ -z "$(find "$BAD" -name '.artifactfs-*')" ]
t_check "failures: the good ones are placed" \
	cmp -s "$BAD/config/app.conf" "$NGINX_ROOT/app.conf"
t_check "failures: nothing of the mismatch in the cache" \
	[ -z "$(find "$T_DIR/cache-bad/tmp" -type f)" ]

# A manifest fault: exit 2-style refusal, nothing placed.
echo '[{"name": "x", "artifactUrl": "ftp://h/x", "targetPath": "x"}]' \
	>"$T_DIR/invalid.json"
mkdir -p "$T_DIR/none"
"$T_BIN" fetch "$T_DIR/invalid.json" "$T_DIR/none" 2>"$T_DIR/invalid.err"
t_check "invalid manifest refused" [ $? != 0 ]
t_check "invalid manifest: the message names the artifact and field" \
	grep -q "artifact 'x': artifactUrl" "$T_DIR/invalid.err"
t_check "invalid manifest: nothing placed" [ -z "$(ls -A "$T_DIR/none")" ]

t_end
