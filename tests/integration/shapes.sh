#!/bin/bash
# Every shape of input mounts the same tree: a task definition as
# registered, DescribeTaskDefinition's {"taskDefinition": ...}, one
# container definition, a bare array; --container picks one container.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
t_dump_on_fail "$NGINX_LOG"

printf 'web config\n' >"$NGINX_ROOT/web.conf"
printf 'sidecar config\n' >"$NGINX_ROOT/side.conf"
WEB="[{\"name\": \"web-conf\", \"artifactUrl\": \"$NGINX_HTTP/web.conf\", \"targetPath\": \"etc/web.conf\", \"permissions\": \"0640\"}]"
SIDE="[{\"name\": \"side-conf\", \"artifactUrl\": \"$NGINX_HTTP/side.conf\", \"targetPath\": \"side.conf\"}]"
CWEB="{\"name\": \"web\", \"image\": \"nginx\", \"artifacts\": $WEB}"
CSIDE="{\"name\": \"Log_Shipper\", \"image\": \"fluentbit\", \"artifacts\": $SIDE}"
CPLAIN="{\"name\": \"plain\", \"image\": \"busybox\"}"

echo "{\"family\": \"f\", \"containerDefinitions\": [$CWEB, $CPLAIN]}" >"$T_DIR/register.json"
echo "{\"taskDefinition\": {\"family\": \"f\", \"revision\": 3, \"containerDefinitions\": [$CPLAIN, $CWEB]}}" >"$T_DIR/describe.json"
echo "$CWEB" >"$T_DIR/container.json"
echo "$WEB" >"$T_DIR/array.json"
echo "{\"family\": \"f\", \"containerDefinitions\": [$CWEB, $CSIDE]}" >"$T_DIR/two.json"

# shows TAG MANIFEST WANT [ARGS...]: mounts MANIFEST with ARGS and checks
# that the tree is WANT ("path mode" lines joined by ";") and reads back.
shows()
{
	local tag=$1 manifest=$2 want=$3 mnt=$T_DIR/mnt-$1 got
	shift 3
	if ! t_mount_fg "$manifest" "$mnt" "$T_DIR/daemon-$tag.log" \
		--cache-dir "$T_DIR/cache" "$@"; then
		t_fail "$tag: mount"
		t_dump_on_fail "$T_DIR/daemon-$tag.log"
		return
	fi
	got=$(cd "$mnt" && find . -type f -printf '%P %m;' | sort)
	t_check "$tag: tree '$want' (got '$got')" [ "$got" = "$want" ]
	case $want in
	etc/web.conf*)
		t_check "$tag: reads" cmp -s "$mnt/etc/web.conf" \
			"$NGINX_ROOT/web.conf" ;;
	side.conf*)
		t_check "$tag: reads" cmp -s "$mnt/side.conf" \
			"$NGINX_ROOT/side.conf" ;;
	esac
	t_stop_mount "$mnt" "$T_MOUNT_PID"
}

shows register "$T_DIR/register.json" "etc/web.conf 640;"
shows describe "$T_DIR/describe.json" "etc/web.conf 640;"
shows container "$T_DIR/container.json" "etc/web.conf 640;"
shows array "$T_DIR/array.json" "etc/web.conf 640;"
shows pick-web "$T_DIR/two.json" "etc/web.conf 640;" --container web
shows pick-sidecar "$T_DIR/two.json" "side.conf 644;" --container Log_Shipper
shows named-single "$T_DIR/register.json" "etc/web.conf 640;" --container web

t_finish
