#!/bin/bash
# A manifest of 10,000 artifacts mounts without touching the network and
# about as fast as one of 10; the tree is all there and a file reads.

source "$(dirname "$0")/../lib.sh"
source "$T_ROOT/tests/lib-nginx.sh"
t_need_fuse

start_nginx "$T_DIR/nginx" || { t_fail "nginx starts"; t_end; }
t_dump_on_fail "$NGINX_LOG"

# manifest N FILE: N artifacts in directories of 100.
manifest()
{
	awk -v n="$1" -v base="$NGINX_HTTP/many" 'BEGIN {
		print "{\"family\": \"many\", \"containerDefinitions\": [" \
			"{\"name\": \"app\", \"image\": \"x\", \"artifacts\": ["
		for (i = 0; i < n; i++) {
			d = sprintf("d%03d", int(i / 100))
			f = sprintf("f%05d", i)
			printf "%s{\"name\": \"%s\", \"artifactUrl\": \"%s/%s/%s\", " \
				"\"targetPath\": \"%s/%s\"}\n", (i ? "," : ""), \
				f, base, d, f, d, f
		}
		print "]}]}"
	}' >"$2"
}

manifest 10 "$T_DIR/ten.json"
manifest 10000 "$T_DIR/many.json"
mkdir -p "$NGINX_ROOT/many/d042"
for ((i = 4200; i < 4300; i++)); do
	printf 'file %d\n' $i >"$NGINX_ROOT/many/d042/f0$i"
done

# mount_ms MANIFEST MNT LOG: mounts, prints the milliseconds it took.
mount_ms()
{
	local start end
	start=$(date +%s%N)
	t_mount_fg "$1" "$2" "$3" --cache-dir "$T_DIR/cache" || return 1
	end=$(date +%s%N)
	echo $(((end - start) / 1000000)) >"$T_DIR/ms"
}

t_dump_on_fail "$T_DIR/daemon-10.log" "$T_DIR/daemon-10000.log"
t_check "mount 10" mount_ms "$T_DIR/ten.json" "$T_DIR/mnt10" \
	"$T_DIR/daemon-10.log"
MS10=$(cat "$T_DIR/ms")
t_check "mount 10,000" mount_ms "$T_DIR/many.json" "$T_DIR/mnt" \
	"$T_DIR/daemon-10000.log"
MS10K=$(cat "$T_DIR/ms")
echo "# mount time: 10 artifacts ${MS10} ms, 10,000 artifacts ${MS10K} ms"
t_check "no request at mount time" [ "$(nginx_count)" = 0 ]
t_check "10,000 mount within 3 s of the 10 one" \
	[ "$MS10K" -le $((MS10 + 3000)) ]

MNT=$T_DIR/mnt
t_check "100 directories at the top" [ "$(ls "$MNT" | wc -l)" = 100 ]
t_check "100 files in one" [ "$(ls "$MNT/d042" | wc -l)" = 100 ]
t_check "last one there" bash -c "ls '$MNT/d099' | grep -qx f09999"
t_check "a file reads" cmp -s "$MNT/d042/f04242" \
	"$NGINX_ROOT/many/d042/f04242"
t_check "one GET for it, none for the others" [ "$(nginx_count GET)" = 1 ]
t_check "mount still up" mountpoint -q "$MNT"

t_finish
