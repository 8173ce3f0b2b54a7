#!/bin/bash
# A manifest that cannot be mounted makes `artifactfs mount` exit non-zero
# with a message, and leaves no mount and no daemon behind.

source "$(dirname "$0")/../lib.sh"
t_need_fuse

M=$T_DIR/m
mkdir -p "$M"
printf '{"containerDefinitions": [' >"$M/truncated.json"
: >"$M/empty.json"
printf 'not json at all\n' >"$M/garbage.json"
cat >"$M/escape.json" <<'JSON'
[ { "name": "esc", "artifactUrl": "http://127.0.0.1:9/f",
    "targetPath": "../outside" } ]
JSON
cat >"$M/nourl.json" <<'JSON'
[ { "name": "nourl", "targetPath": "x" } ]
JSON
cat >"$M/clash.json" <<'JSON'
[ { "name": "one", "artifactUrl": "http://127.0.0.1:9/a", "targetPath": "x" },
  { "name": "two", "artifactUrl": "http://127.0.0.1:9/b", "targetPath": "x" } ]
JSON
cat >"$M/two-containers.json" <<'JSON'
{ "containerDefinitions": [
  { "name": "web", "image": "x", "artifacts": [
    { "name": "a", "artifactUrl": "http://127.0.0.1:9/a", "targetPath": "a" } ] },
  { "name": "sidecar", "image": "x", "artifacts": [
    { "name": "b", "artifactUrl": "http://127.0.0.1:9/b", "targetPath": "b" } ] }
] }
JSON

# refused TAG MANIFEST [ARGS...]: mount (daemonised, then in the
# foreground) exits non-zero within 10s, says something on stderr, and
# leaves nothing mounted or running; the stderr is kept in $T_DIR/TAG.err.
refused()
{
	local tag=$1 manifest=$2 mnt=$T_DIR/mnt-$1 rc mode
	shift 2
	mkdir -p "$mnt"
	t_cleanup "fusermount3 -uz '$mnt'"
	for mode in daemon fg; do
		local fg=()
		[ $mode = fg ] && fg=(-f)
		timeout 10 "$T_BIN" mount "${fg[@]}" "$@" "$manifest" "$mnt" \
			>"$T_DIR/$tag.out" 2>"$T_DIR/$tag.$mode.err"
		rc=$?
		t_check "$tag ($mode): exits non-zero, not by timeout (rc $rc)" \
			[ "$rc" != 0 -a "$rc" != 124 ]
		t_check "$tag ($mode): says why on stderr" [ -s "$T_DIR/$tag.$mode.err" ]
		t_check "$tag ($mode): no mount" bash -c "! mountpoint -q '$mnt'"
		t_check "$tag ($mode): no daemon left" \
			bash -c "! pgrep -f -- '$mnt\$' >/dev/null"
		sed 's/^/# /' "$T_DIR/$tag.$mode.err" | head -n 5
	done
	cp "$T_DIR/$tag.daemon.err" "$T_DIR/$tag.err"
}

refused missing-file "$M/does-not-exist.json"
refused truncated "$M/truncated.json"
refused empty "$M/empty.json"
refused garbage "$M/garbage.json"
refused escape "$M/escape.json"
t_check "escape: one line naming the artifact and the field" \
	[ "$(wc -l <"$T_DIR/escape.err")" = 1 -a \
	"$(grep -c "esc.*targetPath" "$T_DIR/escape.err")" = 1 ]
refused nourl "$M/nourl.json"
t_check "nourl: names the artifact and the field" \
	grep -q "nourl.*artifactUrl" "$T_DIR/nourl.err"
refused clash "$M/clash.json"
t_check "clash: names the path" grep -q "x" "$T_DIR/clash.err"
refused two-containers "$M/two-containers.json"
t_check "two containers: the message lists both names" \
	bash -c "grep -q web '$T_DIR/two-containers.err' && grep -q sidecar '$T_DIR/two-containers.err'"
refused unknown-container "$M/two-containers.json" --container nosuch
t_check "unknown container: named in the message" \
	grep -q nosuch "$T_DIR/unknown-container.err"
t_check "missing mountpoint: refused" \
	bash -c "! timeout 10 '$T_BIN' mount --container web '$M/two-containers.json' '$T_DIR/no-such-dir' 2>/dev/null"
printf 'x' >"$T_DIR/file-mnt"
t_cleanup "fusermount3 -uz '$T_DIR/file-mnt'"
t_check "mountpoint that is a file: refused" \
	bash -c "! timeout 10 '$T_BIN' mount --container web '$M/two-containers.json' '$T_DIR/file-mnt' 2>/dev/null"
mkdir -p "$T_DIR/mnt-opt"
t_cleanup "fusermount3 -uz '$T_DIR/mnt-opt'"
t_check "bad -o option: refused" \
	bash -c "! timeout 10 '$T_BIN' mount -o connect_timeout=soon --container web '$M/two-containers.json' '$T_DIR/mnt-opt' 2>/dev/null"
t_check "bad -o option: no mount" bash -c "! mountpoint -q '$T_DIR/mnt-opt'"

# The good case is the control: the same command with --container mounts.
t_check "control: --container web mounts" t_mount "$M/two-containers.json" \
	"$T_DIR/mnt-control" --container web --cache-dir "$T_DIR/cache"
t_check "control: web's artifact only" \
	[ "$(ls "$T_DIR/mnt-control" | tr '\n' ' ')" = "a " ]

t_finish
