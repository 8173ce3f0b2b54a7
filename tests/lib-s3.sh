# The S3 server of the tests (@20minutes/s3rver, which checks SigV4
# signatures, keys S3RVER/S3RVER) and the AWS credential stand-ins, each
# on a free loopback port, everything they write in one directory.
# Source it after tests/lib.sh.
#
#   start_s3 DIR [BUCKET...]   starts the server with those buckets; sets
#                              and exports S3_PORT, S3_ENDPOINT
#                              (http://127.0.0.1:PORT) and S3_LOG (one
#                              line per request: METHOD PATH REGION
#                              token=yes|no STATUS).  S3_SERVER_ARGS (an
#                              array) adds options of tests/s3-server.js.
#   s3_put BUCKET KEY FILE     uploads FILE as KEY with a signed PUT
#   s3_requests PATTERN        how many logged requests match PATTERN
#   start_stand_in DIR MODE TOKEN [ROLE_ARN]
#                              starts tests/aws-stand-in.js (MODE
#                              container or sts); sets STAND_IN_URL
#                              (http://127.0.0.1:PORT), STAND_IN_LOG and
#                              STAND_IN_EXPIRES (write seconds to it to
#                              change the expiry of what it hands out)
#
# Each start registers its stop with t_cleanup.

T_NODE_MODULES=$T_ROOT/tests/node_modules

# lib_s3_wait_port FILE PID: waits for the port FILE of server PID.
lib_s3_wait_port()
{
	local file=$1 pid=$2 i
	for ((i = 0; i < 100; i++)); do
		if [ -s "$file" ]; then
			cat "$file"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# lib_s3_stop PID: ends a server this library started.
lib_s3_stop()
{
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

start_s3()
{
	local d=$1 pid port i
	shift
	if [ ! -d "$T_NODE_MODULES/@20minutes/s3rver" ]; then
		echo "# tests/node_modules lacks @20minutes/s3rver: run tools/install-deps" >&2
		return 1
	fi
	mkdir -p "$d/data"
	rm -f "$d/port"
	node "$T_ROOT/tests/s3-server.js" --dir "$d/data" --port-file "$d/port" \
		--log "$d/requests.log" ${S3_SERVER_ARGS[@]+"${S3_SERVER_ARGS[@]}"} \
		"$@" >"$d/server.out" 2>&1 &
	pid=$!
	t_cleanup "lib_s3_stop $pid"
	port=$(lib_s3_wait_port "$d/port" "$pid") || {
		cat "$d/server.out" >&2
		return 1
	}
	S3_PORT=$port
	S3_ENDPOINT=http://127.0.0.1:$port
	S3_LOG=$d/requests.log
	export S3_PORT S3_ENDPOINT S3_LOG
	# It answers (any HTTP status) once it is ready.
	for ((i = 0; i < 50; i++)); do
		curl -s -o /dev/null --max-time 2 "$S3_ENDPOINT/" && return 0
		sleep 0.1
	done
	return 1
}

s3_put()
{
	node "$T_ROOT/tests/s3-put.js" "$S3_ENDPOINT" "$1" "$2" "$3"
}

s3_requests()
{
	grep -c -- "$1" "$S3_LOG" 2>/dev/null || true
}

start_stand_in()
{
	local d=$1 mode=$2 token=$3 arn=${4:-} pid port
	mkdir -p "$d"
	rm -f "$d/port"
	STAND_IN_EXPIRES=$d/expires
	echo 3600 >"$STAND_IN_EXPIRES"
	local args=(--mode "$mode" --port-file "$d/port" --token "$token"
		--expires-file "$STAND_IN_EXPIRES" --log "$d/requests.log")
	[ -n "$arn" ] && args+=(--role-arn "$arn")
	node "$T_ROOT/tests/aws-stand-in.js" "${args[@]}" >"$d/server.out" 2>&1 &
	pid=$!
	t_cleanup "lib_s3_stop $pid"
	port=$(lib_s3_wait_port "$d/port" "$pid") || {
		cat "$d/server.out" >&2
		return 1
	}
	STAND_IN_URL=http://127.0.0.1:$port
	STAND_IN_LOG=$d/requests.log
	export STAND_IN_URL STAND_IN_LOG STAND_IN_EXPIRES
}

# s3_clean_env: the script and the daemons it starts see no AWS setting of
# the machine: every AWS_* variable is unset and the shared files point
# into the test's directory, where there are none.
s3_clean_env()
{
	local v
	for v in $(compgen -e); do
		case $v in
		AWS_*) unset "$v" ;;
		esac
	done
	export AWS_SHARED_CREDENTIALS_FILE=$T_DIR/no-aws-credentials
	export AWS_CONFIG_FILE=$T_DIR/no-aws-config
}

# s3_log_line FILE TEXT...: true when one line of FILE holds every TEXT
# (fixed strings).
s3_log_line()
{
	local file=$1
	shift
	python3 - "$file" "$@" <<'PY'
import sys
path, words = sys.argv[1], sys.argv[2:]
try:
    lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
except OSError:
    sys.exit(1)
sys.exit(0 if any(all(w in l for w in words) for l in lines) else 1)
PY
}

# s3_absent FILE TEXT: true when TEXT appears nowhere in FILE.
s3_absent()
{
	! grep -qF -- "$2" "$1"
}
