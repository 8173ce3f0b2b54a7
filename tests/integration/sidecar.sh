#!/bin/bash
# The sidecar's real command line, taken from the Pod that
# artifactfs-podspec writes and started as the kubelet would start it,
# mounts every container's tree and serves it from nginx; its startup
# probe passes only once every mount serves; each mount reaches the app's
# view of the emptyDir through mount propagation, owned by the app's
# user; SIGTERM unmounts everything and the sidecar exits 0; when a mount
# dies the sidecar exits non-zero, and its restart detaches the dead
# mount and serves again.
#
# Kubernetes is played by hand: an emptyDir is a directory of the test
# made a shared mount (the kubelet's pod volume), bound into the
# sidecar's paths (Bidirectional) and into an app view that is a read-only
# slave of it (HostToContainer).  The script runs in a mount namespace of
# its own, where the Pod's paths (/etc/artifactfs, /var/cache/artifactfs,
# /mnt/artifacts/NAME) are made on overlays of /etc, /var and /mnt: the
# host's directories are not touched.

if [ -z "${ARTIFACTFS_SIDECAR_NS:-}" ]; then
	export ARTIFACTFS_SIDECAR_NS=1
	exec unshare --mount --propagation private bash "$0" "$@"
fi

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

if [ ! -x "$T_PODSPEC" ] || [ ! -x "$T_BIN" ]; then
	t_fail "artifactfs and artifactfs-podspec are built in $T_BUILD"
	t_end
fi
start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }

FUSE_MAGIC=65735546
APP_UID=1000
mkdir -p "$NGINX_ROOT/conf" "$NGINX_ROOT/data"
printf 'listen = 8080\n' >"$NGINX_ROOT/conf/app.conf"
printf 'secret key\n' >"$NGINX_ROOT/conf/app.key"
head -c 1048576 /dev/urandom >"$NGINX_ROOT/data/blob.bin"
SHA_CONF=$(t_sha256 "$NGINX_ROOT/conf/app.conf")
SHA_BLOB=$(t_sha256 "$NGINX_ROOT/data/blob.bin")

cat >"$T_DIR/task.json" <<JSON
{
  "family": "sidecar-test",
  "containerDefinitions": [
    { "name": "Web_App", "image": "nginx:latest", "user": "$APP_UID",
      "artifacts": [
        { "name": "conf", "artifactUrl": "$NGINX_HTTP/conf/app.conf",
          "targetPath": "conf/app.conf", "checksum": "sha256:$SHA_CONF" },
        { "name": "key", "artifactUrl": "$NGINX_HTTP/conf/app.key",
          "targetPath": "conf/app.key", "permissions": "0600" } ] },
    { "name": "worker", "image": "busybox",
      "artifacts": [
        { "name": "blob", "artifactUrl": "$NGINX_HTTP/data/blob.bin",
          "targetPath": "blob.bin", "checksum": "$SHA_BLOB" } ] },
    { "name": "plain", "image": "busybox" }
  ]
}
JSON

"$T_PODSPEC" --format json "$T_DIR/task.json" >"$T_DIR/pod.json" \
	2>"$T_DIR/podspec.err"
t_check "the Pod is generated" [ $? = 0 ]

# What the kubelet would read from the Pod: the sidecar's command and
# probes (NUL-separated), its volume mounts, the ConfigMap's files, and
# which emptyDir each app mounts at /artifacts.
node -e '
const fs = require("fs");
const [file, dir] = process.argv.slice(1);
const items = JSON.parse(fs.readFileSync(file)).items;
const cm = items.find(i => i.kind === "ConfigMap");
const pod = items.find(i => i.kind === "Pod");
const s = pod.spec.initContainers.find(c => c.restartPolicy === "Always");
const nul = a => a.map(x => x + "\0").join("");
fs.writeFileSync(`${dir}/sidecar.cmd`, nul(s.command));
fs.writeFileSync(`${dir}/startup.cmd`, nul(s.startupProbe.exec.command));
fs.writeFileSync(`${dir}/liveness.cmd`, nul(s.livenessProbe.exec.command));
fs.mkdirSync(`${dir}/configmap`);
for (const [k, v] of Object.entries(cm.data))
	fs.writeFileSync(`${dir}/configmap/${k}`, v);
const vols = new Map(pod.spec.volumes.map(v => [v.name, v]));
fs.writeFileSync(`${dir}/mounts.list`, s.volumeMounts.map(m =>
	[vols.get(m.name).configMap ? "configMap" : "emptyDir", m.name,
	 m.mountPath, m.mountPropagation || "-"].join(" ") + "\n").join(""));
fs.writeFileSync(`${dir}/apps.list`, pod.spec.containers.flatMap(c =>
	(c.volumeMounts || []).filter(m => m.mountPath === "/artifacts")
	.map(m => `${c.name} ${m.name} ${m.mountPropagation}\n`)).join(""));
' "$T_DIR/pod.json" "$T_DIR" 2>"$T_DIR/extract.err"
t_check "the sidecar's command is read from the Pod" [ -s "$T_DIR/sidecar.cmd" ]
mapfile -d '' SIDECAR_CMD <"$T_DIR/sidecar.cmd"
mapfile -d '' STARTUP_CMD <"$T_DIR/startup.cmd"
mapfile -d '' LIVENESS_CMD <"$T_DIR/liveness.cmd"

# provide PATH SRC: binds SRC at PATH, making PATH on an overlay of its
# top directory when it does not exist (so the host's stays as it is).
OVERLAID=" "
provide()
{
	local path=$1 src=$2 top
	top=/$(echo "$path" | cut -d/ -f2)
	if [ ! -d "$path" ] && [ "${OVERLAID#* $top }" = "$OVERLAID" ]; then
		mkdir -p "$T_DIR/overlay$top/upper" "$T_DIR/overlay$top/work"
		mount -t overlay overlay -o "lowerdir=$top,upperdir=$T_DIR/overlay$top/upper,workdir=$T_DIR/overlay$top/work" "$top" ||
			return 1
		OVERLAID="$OVERLAID$top "
	fi
	mkdir -p "$path" && mount --bind "$src" "$path"
}

# The volumes: a ConfigMap's files, emptyDirs as shared mounts (the
# kubelet's pod volume directories), bound into the sidecar's paths.
setup_ok=true
while read -r kind name path prop; do
	if [ "$kind" = configMap ]; then
		src=$T_DIR/configmap
	else
		src=$T_DIR/volumes/$name
		mkdir -p "$src"
		chmod 777 "$src"
		mount --bind "$src" "$src" && mount --make-shared "$src" ||
			setup_ok=false
	fi
	provide "$path" "$src" || setup_ok=false
	if [ "$prop" = Bidirectional ]; then
		mount --make-rshared "$path" || setup_ok=false
	fi
done <"$T_DIR/mounts.list"
# The app containers' views: read-only slaves of their emptyDir.
while read -r app vol prop; do
	view=$T_DIR/app/$app
	mkdir -p "$view"
	mount --rbind "$T_DIR/volumes/$vol" "$view" &&
		mount --make-rslave "$view" &&
		mount -o remount,bind,ro "$view" || setup_ok=false
done <"$T_DIR/apps.list"
t_check "the Pod's volumes are laid out" $setup_ok
t_check "two apps mount /artifacts with HostToContainer" \
	[ "$(awk '$3 == "HostToContainer"' "$T_DIR/apps.list" | wc -l)" = 2 ]
chmod 755 "$T_DIR/app"

SIDECAR_PID=
# Stops the sidecar and its mounts, by their pids.
stop_all()
{
	local p
	if [ -n "$SIDECAR_PID" ]; then
		for p in $(pgrep -P "$SIDECAR_PID"); do
			kill -9 "$p" 2>/dev/null
		done
		kill -9 "$SIDECAR_PID" 2>/dev/null
	fi
	our_fuse_mounts | sort -r | while read -r m; do umount -l "$m"; done
}

# The FUSE mounts of this test, in this namespace (others' mounts were
# copied in by unshare and are left alone).
our_fuse_mounts()
{
	awk -v t="$T_DIR/" '$9 ~ /^fuse/ && (index($5, t) == 1 ||
		index($5, "/mnt/artifacts/") == 1) { print $5 }' \
		/proc/self/mountinfo
}
t_cleanup stop_all

start_sidecar()
{
	PATH=$(dirname "$T_BIN"):$PATH "${SIDECAR_CMD[@]}" \
		>>"$T_DIR/sidecar.log" 2>&1 &
	SIDECAR_PID=$!
}

# probe_passes CMD...: the probe's exit status, as the kubelet sees it.
probe_passes()
{
	timeout 5 "$@" >/dev/null 2>&1
}

# wait_probe: up to 20 s for the startup probe to pass.
wait_probe()
{
	local i
	for ((i = 0; i < 200; i++)); do
		if probe_passes "${STARTUP_CMD[@]}"; then
			return 0
		fi
		kill -0 "$SIDECAR_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

fuse_mounts()
{
	our_fuse_mounts | wc -l
}

# is_fuse DIR: DIR is a FUSE mount whose daemon answers.
is_fuse()
{
	[ "$(stat -f -c %t "$1" 2>/dev/null)" = $FUSE_MAGIC ]
}

# --- start ---

t_check "the startup probe fails before the sidecar runs" \
	bash -c "! $(printf '%q ' timeout 5 "${STARTUP_CMD[@]}") 2>/dev/null"
t_check "the sidecar runs 'artifactfs' from this build" \
	[ "$(PATH=$(dirname "$T_BIN"):$PATH command -v artifactfs)" = "$T_BIN" ]
nginx_clear_log
start_sidecar
t_check "the startup probe passes once the mounts serve" wait_probe
t_check "the liveness probe passes" probe_passes "${LIVENESS_CMD[@]}"
t_check "a FUSE mount for the first container" is_fuse /mnt/artifacts/web-app
t_check "a FUSE mount for the second container" is_fuse /mnt/artifacts/worker
t_check "two FUSE mounts in the sidecar's paths, four with the views" \
	[ "$(fuse_mounts)" -ge 4 ]
t_check "nothing downloaded at mount time" [ "$(nginx_count GET)" = 0 ]

WEB=$T_DIR/app/web-app
WORK=$T_DIR/app/worker
t_check "the mount reaches the app's view (propagation)" is_fuse "$WEB"
t_check "the app reads its verified file" \
	cmp -s "$WEB/conf/app.conf" "$NGINX_ROOT/conf/app.conf"
t_check "the other app reads its own tree" \
	cmp -s "$WORK/blob.bin" "$NGINX_ROOT/data/blob.bin"
t_check "an app sees only its own artifacts" [ ! -e "$WEB/blob.bin" ]
t_check "files are the app user's (-o uid from the task's user)" \
	[ "$(stat -c %u:%a "$WEB/conf/app.key")" = "$APP_UID:600" ]
t_check "the app user reads its 0600 file" \
	setpriv --reuid "$APP_UID" --regid "$APP_UID" --clear-groups \
	cmp -s "$WEB/conf/app.key" "$NGINX_ROOT/conf/app.key"
t_check "another user cannot" bash -c "! setpriv --reuid 65534 \
	--regid 65534 --clear-groups cat '$WEB/conf/app.key' 2>/dev/null"
t_check "the app's view is read-only" \
	bash -c "! touch '$WEB/new' 2>/dev/null"

# --- SIGTERM: every mount unmounted, exit 0 ---

kill -TERM "$SIDECAR_PID"
t_check "SIGTERM: the sidecar ends" t_wait_gone "$SIDECAR_PID" 20
wait "$SIDECAR_PID"
t_check "SIGTERM: exit status 0" [ $? = 0 ]
t_check "SIGTERM: no FUSE mount left" [ "$(fuse_mounts)" = 0 ]
t_check "SIGTERM: the app's view is the plain emptyDir again" \
	bash -c "[ \"\$(stat -f -c %t '$WEB')\" != $FUSE_MAGIC ]"
t_check "SIGTERM: the startup probe fails again" \
	bash -c "! $(printf '%q ' timeout 5 "${STARTUP_CMD[@]}") 2>/dev/null"

# --- a mount dies: the sidecar exits non-zero; its restart recovers ---

start_sidecar
t_check "restart: the probe passes" wait_probe
victim=
for p in $(pgrep -P "$SIDECAR_PID"); do
	if grep -q web-app "/proc/$p/cmdline" 2>/dev/null; then
		victim=$p
	fi
done
t_check "restart: the mount of one container is found" [ -n "$victim" ]
[ -n "$victim" ] && kill -9 "$victim"
t_check "a dead mount: the sidecar ends" t_wait_gone "$SIDECAR_PID" 20
wait "$SIDECAR_PID"
rc=$?
t_check "a dead mount: the sidecar exits non-zero ($rc)" [ $rc != 0 ]
t_check "a dead mount: the liveness probe fails" \
	bash -c "! $(printf '%q ' timeout 5 "${LIVENESS_CMD[@]}") 2>/dev/null"
t_check "a dead mount: it is still there, answering nothing" \
	bash -c "! stat -f /mnt/artifacts/web-app >/dev/null 2>&1"
start_sidecar
t_check "restart: the dead mount is detached and the probe passes" wait_probe
t_check "restart: the app's view serves again" \
	cmp -s "$WEB/conf/app.conf" "$NGINX_ROOT/conf/app.conf"
t_check "restart: the other app's view serves again" \
	cmp -s "$WORK/blob.bin" "$NGINX_ROOT/data/blob.bin"
t_check "restart: the cache volume saved the downloads" \
	[ "$(nginx_count GET /conf/app.conf)" = 1 ]
kill -TERM "$SIDECAR_PID"
t_wait_gone "$SIDECAR_PID" 20
wait "$SIDECAR_PID"
t_check "restart: SIGTERM exits 0" [ $? = 0 ]
t_check "restart: no FUSE mount left" [ "$(fuse_mounts)" = 0 ]

if [ "$T_FAILED" != 0 ]; then
	sed 's/^/# sidecar: /' "$T_DIR/sidecar.log"
fi
t_end
