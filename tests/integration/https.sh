#!/bin/bash
# HTTPS against nginx with a CA made for the test: trusted through
# --ca-file, CURL_CA_BUNDLE or SSL_CERT_FILE; without it the open fails
# with EIO, the log names the certificate problem and nothing is cached.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse
unset CURL_CA_BUNDLE SSL_CERT_FILE

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
t_dump_on_fail "$NGINX_LOG"

head -c 200000 /dev/urandom >"$NGINX_ROOT/secure.bin"
SHA=$(t_sha256 "$NGINX_ROOT/secure.bin")
cat >"$T_DIR/task.json" <<JSON
[
  { "name": "secure", "artifactUrl": "$NGINX_HTTPS/secure.bin",
    "type": "https", "targetPath": "secure.bin", "checksum": "sha256:$SHA" }
]
JSON

# trusted_read TAG [ENV...] -- [MOUNT ARGS...]: mounts with its own cache
# and the daemon's environment plus ENV, reads the file over HTTPS and
# unmounts.
trusted_read()
{
	local tag=$1 mnt=$T_DIR/mnt-$1 log=$T_DIR/daemon-$1.log
	shift
	T_MOUNT_ENV=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		T_MOUNT_ENV+=("$1")
		shift
	done
	shift
	t_dump_on_fail "$log"
	nginx_clear_log
	if ! t_mount_fg "$T_DIR/task.json" "$mnt" "$log" \
		--cache-dir "$T_DIR/cache-$tag" "$@"; then
		t_fail "$tag: mount"
		T_MOUNT_ENV=()
		return
	fi
	T_MOUNT_ENV=()
	t_check "$tag: reads over https" cmp -s "$mnt/secure.bin" \
		"$NGINX_ROOT/secure.bin"
	t_check "$tag: one GET" [ "$(nginx_count GET /secure.bin)" = 1 ]
	t_check "$tag: cached" [ -f "$T_DIR/cache-$tag/sha256/$SHA" ]
	t_stop_mount "$mnt" "$T_MOUNT_PID"
}

# No CA store of the system can know the test's CA, so these pass only
# through the setting under test.
trusted_read ca-file -- --ca-file "$NGINX_CA"
trusted_read curl-ca-bundle "CURL_CA_BUNDLE=$NGINX_CA" --
trusted_read ssl-cert-file "SSL_CERT_FILE=$NGINX_CA" --

# Without the CA.
MNT=$T_DIR/mnt-untrusted
LOG=$T_DIR/daemon-untrusted.log
t_dump_on_fail "$LOG"
nginx_clear_log
t_check "untrusted: mount" t_mount_fg "$T_DIR/task.json" "$MNT" "$LOG" \
	--cache-dir "$T_DIR/cache-untrusted"
t_check "untrusted: the file is listed" \
	bash -c "ls '$MNT' | grep -qx secure.bin"
t_check "untrusted: open fails with EIO, no byte" \
	[ "$(t_fsop read "$MNT/secure.bin")" = EIO ]
t_check "untrusted: nothing reached nginx's handler" \
	[ "$(nginx_count GET /secure.bin)" = 0 ]
t_check "untrusted: one log line names artifact, URL and certificate" \
	[ "$(grep -c "artifact 'secure': GET $NGINX_HTTPS/secure.bin: .*certificate" "$LOG")" = 1 ]
t_check "untrusted: nothing cached" \
	[ "$(t_files "$T_DIR/cache-untrusted")" = 0 ]
t_check "untrusted: mount still up" mountpoint -q "$MNT"

t_finish
