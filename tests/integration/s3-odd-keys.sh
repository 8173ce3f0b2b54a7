#!/bin/bash
# Keys with characters that need encoding: spaces, '+', ',', '~', '%',
# '&', '=', '?', '#', '!', '*', quotes, parentheses, '@', ':', ';', '$',
# doubled slashes and non-ASCII.  The manifest writes each as
# docs/manifest.md says (s3://bucket/KEY with the key percent-decoded: a
# space as %20, '%' as %25, '?' as %3F, '#' as %23, the rest as it is,
# and non-ASCII either raw or as %XX).  Each object is uploaded by an
# independent signer and read back through the mount, which proves the
# URL and the signed path agree with what the server computes.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-s3.sh"
t_need_fuse
s3_clean_env

start_s3 "$T_DIR/s3" bucket || { t_fail "s3 server starts"; t_end; }
t_dump_on_fail "$S3_LOG"

KEYS=(
	"dir one/a b.txt"
	"plus+sign.txt"
	"comma,tilde~.txt"
	"100%.txt"
	"a%20b.txt"
	"amp&eq=q?hash#x.txt"
	"bang!star*'quote'(paren).txt"
	"at@colon:semi;dollar\$.txt"
	"double//slash.txt"
	"caf$(printf '\xc3\xa9')/$(printf '\xe6\x97\xa5\xe6\x9c\xac').txt"
	"emoji $(printf '\xf0\x9f\x93\xa6').bin"
)

python3 - "$T_DIR/task.json" "${KEYS[@]}" <<'PY'
import json, sys, urllib.parse
out, keys = sys.argv[1], sys.argv[2:]
def manifest_form(k):
    return (k.replace("%", "%25").replace(" ", "%20").replace("?", "%3F")
            .replace("#", "%23"))
arts = [{"name": "k%d" % i, "artifactUrl": "s3://bucket/" + manifest_form(k),
         "type": "s3", "targetPath": "k%d" % i} for i, k in enumerate(keys)]
# The non-ASCII keys once more, every byte outside ASCII as %XX.
for i, k in enumerate(keys):
    if any(ord(c) > 127 for c in k):
        arts.append({"name": "k%d-encoded" % i,
                     "artifactUrl": "s3://bucket/" +
                     urllib.parse.quote(k, safe="/+,~&=!*'()@:;$"),
                     "targetPath": "k%d-encoded" % i})
json.dump(arts, open(out, "w"), ensure_ascii=False, indent=1)
PY

i=0
for k in "${KEYS[@]}"; do
	printf 'content of key %d: %s\n' "$i" "$k" >"$T_DIR/obj$i"
	s3_put bucket "$k" "$T_DIR/obj$i" || t_fail "upload of '$k'"
	i=$((i + 1))
done

MNT=$T_DIR/mnt
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG"
T_MOUNT_ENV=(AWS_ENDPOINT_URL_S3="$S3_ENDPOINT" AWS_ACCESS_KEY_ID=S3RVER
	AWS_SECRET_ACCESS_KEY=S3RVER)
t_check "check accepts the odd keys" \
	bash -c "'$T_BIN' check '$T_DIR/task.json' >/dev/null"
t_check "mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache"

i=0
for k in "${KEYS[@]}"; do
	t_check "key '$k' read back" cmp -s "$MNT/k$i" "$T_DIR/obj$i"
	if [ -e "$MNT/k$i-encoded" ]; then
		t_check "key '$k' written as %XX read back" \
			cmp -s "$MNT/k$i-encoded" "$T_DIR/obj$i"
	fi
	i=$((i + 1))
done
t_check "both non-ASCII keys had an encoded twin" \
	[ "$(ls "$MNT" | grep -c -- -encoded)" = 2 ]
t_check "no request was refused" \
	bash -c "! awk '\$1 != \"PUT\" && \$5 >= 300' '$S3_LOG' | grep -q ."

t_unmount_fg "$MNT" "$T_MOUNT_PID"
t_check "daemon exits 0" [ $? = 0 ]

t_finish
