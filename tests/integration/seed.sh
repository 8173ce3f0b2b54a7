#!/bin/bash
# The seed's task definition, as its users write it, with its origins
# moved to the test's nginx (HTTP for what the seed keeps in S3, HTTPS for
# its https artifact): the whole tree mounts and every file reads back
# through ordinary tools, with the declared modes enforced.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
MNT=$T_DIR/mnt
LOG=$T_DIR/daemon.log
t_dump_on_fail "$LOG" "$NGINX_LOG"

# s3://BUCKET/KEY becomes $NGINX_HTTP/BUCKET/KEY and
# https://HOST/PATH becomes $NGINX_HTTPS/PATH; the origin files are made.
python3 - "$T_ROOT/tests/cases/seed-task-definition.json" \
	"$T_DIR/task.json" "$NGINX_HTTP" "$NGINX_HTTPS" "$NGINX_ROOT" <<'PY'
import json, os, sys
src, dst, http, https, docroot = sys.argv[1:6]
td = json.load(open(src))
for c in td["containerDefinitions"]:
    for a in c.get("artifacts", []):
        url = a["artifactUrl"]
        if url.startswith("s3://"):
            path = url[len("s3://"):]
            a["artifactUrl"] = http + "/" + path
            if a.get("type") == "s3":
                a["type"] = "http"
        else:
            path = url.split("://", 1)[1].split("/", 1)[1]
            a["artifactUrl"] = https + "/" + path
        f = os.path.join(docroot, path)
        os.makedirs(os.path.dirname(f), exist_ok=True)
        with open(f, "wb") as out:
            out.write(("%s\n" % a["name"]).encode() + os.urandom(4096))
json.dump(td, open(dst, "w"), indent=2)
PY
[ -s "$T_DIR/task.json" ] || { t_fail "seed rewritten"; t_end; }

t_check "mount the seed" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache" --ca-file "$NGINX_CA"
t_check "nothing fetched at mount" [ "$(nginx_count)" = 0 ]

got=$(cd "$MNT" && find . -type f -printf '%P %m\n' | sort | tr '\n' ';')
t_check "the seed's tree and modes ($got)" [ "$got" = \
	"assets/assets.tar.gz 755;certs/app.crt 644;certs/app.key 600;config/app.conf 644;" ]

t_check "cat config/app.conf" cmp -s <(cat "$MNT/config/app.conf") \
	"$NGINX_ROOT/my-bucket/configs/app.conf"
t_check "cp assets over https" cp "$MNT/assets/assets.tar.gz" "$T_DIR/assets"
t_check "... the bytes of the origin" cmp -s "$T_DIR/assets" \
	"$NGINX_ROOT/assets.tar.gz"
t_check "sha256sum certs/app.crt" [ "$(t_sha256 "$MNT/certs/app.crt")" = \
	"$(t_sha256 "$NGINX_ROOT/certs/app.crt")" ]
t_check "root reads the 0600 key" cmp -s "$MNT/certs/app.key" \
	"$NGINX_ROOT/certs/app.key"
t_check "nobody cannot read the key" \
	bash -c "! su -s /bin/sh nobody -c 'cat $MNT/certs/app.key' >/dev/null 2>&1"
t_check "nobody reads the certificate" \
	su -s /bin/sh nobody -c "cat '$MNT/certs/app.crt' >/dev/null"
t_check "one GET per artifact" [ "$(nginx_count GET)" = 4 ]

t_finish
