#!/bin/bash
# Every handed case of tests/cases/manifests.json, mounted for real: an
# accepted manifest shows exactly its declared tree and modes; a refused
# one makes mount exit non-zero naming the artifact and the fields, with
# nothing mounted.  The cases' URLs point at hosts that do not exist; they
# are pointed at the test's own nginx so that nothing leaves loopback.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
t_dump_on_fail "$NGINX_LOG"
mkdir -p "$T_DIR/cases"

# One directory per case: manifest.json, expect, tree (path mode lines)
# or mentions (one word a line), and the origin files the URLs name.
python3 - "$T_ROOT/tests/cases/manifests.json" "$T_DIR/cases" \
	"$NGINX_HTTP" "$NGINX_ROOT" <<'PY'
import json, os, re, sys
from urllib.parse import urlsplit

cases, out, base, docroot = sys.argv[1:5]

def localise(v):
    if isinstance(v, dict):
        return {k: localise(x) for k, x in v.items()}
    if isinstance(v, list):
        return [localise(x) for x in v]
    if isinstance(v, str) and re.match(r"https?://", v):
        u = urlsplit(v)
        path = u.path or "/"
        dst = os.path.join(docroot, path.lstrip("/"))
        if path != "/" and not os.path.exists(dst):
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "w") as f:
                f.write("origin %s\n" % path)
        return base + path + ("?" + u.query if u.query else "")
    return v

for i, c in enumerate(json.load(open(cases))):
    d = os.path.join(out, "%02d" % i)
    os.makedirs(d)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(localise(c["manifest"]), f)
    with open(os.path.join(d, "name"), "w") as f:
        f.write(c["case"] + "\n")
    with open(os.path.join(d, "expect"), "w") as f:
        f.write(c["expect"] + "\n")
    with open(os.path.join(d, "tree"), "w") as f:
        for path, mode in sorted(c.get("tree", [])):
            f.write("%s %s\n" % (path, mode))
    with open(os.path.join(d, "mentions"), "w") as f:
        for m in c.get("mentions", []):
            f.write(m + "\n")
PY
t_check "cases prepared" [ -n "$(ls "$T_DIR/cases")" ]

for d in "$T_DIR"/cases/*; do
	name=$(cat "$d/name")
	mnt=$d/mnt
	mkdir -p "$mnt"
	if [ "$(cat "$d/expect")" = accept ]; then
		if ! t_mount_fg "$d/manifest.json" "$mnt" "$d/daemon.log" \
			--cache-dir "$T_DIR/cache"; then
			t_fail "accept '$name': mount"
			sed 's/^/# /' "$d/daemon.log"
			continue
		fi
		got=$(cd "$mnt" && find . -type f -printf '%P %m\n' |
			awk '{ printf "%s %04d\n", $1, $2 }' | sort)
		want=$(sort "$d/tree")
		if [ "$got" = "$want" ]; then
			t_ok "accept '$name': tree and modes"
		else
			t_fail "accept '$name': tree and modes: got '$got'"
		fi
		t_stop_mount "$mnt" "$T_MOUNT_PID"
	else
		timeout 10 "$T_BIN" mount --cache-dir "$T_DIR/cache" \
			"$d/manifest.json" "$mnt" 2>"$d/err" >/dev/null
		rc=$?
		if t_is_mounted "$mnt"; then
			fusermount3 -uz "$mnt"
			t_fail "refuse '$name': it mounted"
			continue
		fi
		t_check "refuse '$name': exit non-zero (rc $rc)" \
			[ "$rc" != 0 -a "$rc" != 124 ]
		missing=
		while read -r word; do
			grep -qF -- "$word" "$d/err" || missing="$missing $word"
		done <"$d/mentions"
		t_check "refuse '$name': message names:$(tr '\n' ' ' <"$d/mentions")" \
			[ -z "$missing" ]
	fi
done

t_finish
