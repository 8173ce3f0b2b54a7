# nginx from Debian on free loopback ports, HTTP and HTTPS, everything it
# writes kept in one directory.  Source it, then `start_nginx DIR`.
#
# After start_nginx these are set and exported:
#   NGINX_ROOT        the docroot, for the test to fill
#   NGINX_HTTP_PORT   NGINX_HTTPS_PORT
#   NGINX_HTTP        http://127.0.0.1:PORT    NGINX_HTTPS  https://...
#   NGINX_CA          the CA certificate that signed the server's
#   NGINX_LOG         the access log, one line per request:
#                     METHOD REQUEST_URI STATUS BODY_BYTES "RANGE"
#   NGINX_DIR         DIR
#
# Locations besides the docroot:
#   /redirect/X   302 to /X
#   /loop         302 to itself, for ever
#   /gz/X         the stored file X under docroot/gz/, marked
#                 Content-Encoding: gzip
#   /slow/X       docroot/slow/X at NGINX_SLOW_RATE (default 2m) per second
#   /noranges/X   docroot/noranges/X, whole (200) whatever Range asks
#   /listed/      docroot/listed/ with directory listings (autoindex)
#
# Within a script that sourced tests/lib.sh, stop_nginx is registered
# with t_cleanup; elsewhere the caller stops it.

# nginx_port: a TCP port that was free on 127.0.0.1 a moment ago.
nginx_port()
{
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# nginx_make_certs DIR: a CA (ca.crt) and a server certificate for
# 127.0.0.1 signed by it (server.crt, server.key) in DIR.
nginx_make_certs()
{
	local d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
		-subj "/CN=artifactfs test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		>/dev/null 2>&1 || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/server.key" -out "$d/server.csr" \
		-subj "/CN=127.0.0.1" >/dev/null 2>&1 || return 1
	printf '%s\n' "subjectAltName=IP:127.0.0.1" \
		"basicConstraints=CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" \
		-CAkey "$d/ca.key" -CAcreateserial -out "$d/server.crt" \
		-days 2 -extfile "$d/server.ext" >/dev/null 2>&1
}

# nginx_write_conf DIR HTTP_PORT HTTPS_PORT
nginx_write_conf()
{
	local d=$1 http=$2 https=$3
	cat >"$d/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;

events {
	worker_connections 512;
}

http {
	types {
	}
	default_type application/octet-stream;
	log_format artifactfs '\$request_method \$request_uri \$status \$body_bytes_sent "\$http_range"';
	access_log $d/logs/access.log artifactfs;
	client_body_temp_path $d/tmp/client_body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	sendfile on;
	tcp_nopush on;
	gzip off;
	keepalive_timeout 30;
	keepalive_requests 100000;
	server_tokens off;

	server {
		listen 127.0.0.1:$http;
		listen 127.0.0.1:$https ssl;
		server_name 127.0.0.1;
		ssl_certificate $d/certs/server.crt;
		ssl_certificate_key $d/certs/server.key;
		root $d/docroot;

		location /redirect/ {
			rewrite ^/redirect/(.*)\$ /\$1 redirect;
		}
		location = /loop {
			return 302 /loop;
		}
		location /gz/ {
			add_header Content-Encoding gzip always;
		}
		location /slow/ {
			limit_rate ${NGINX_SLOW_RATE:-2m};
		}
		location /noranges/ {
			max_ranges 0;
		}
		location /listed/ {
			autoindex on;
		}
		# The readiness probe: answered, never logged, so that it
		# cannot race into a test's count of requests.
		location = /.ready {
			access_log off;
			return 204;
		}
	}
}
CONF
}

# start_nginx DIR: starts nginx with everything in DIR; returns non-zero
# with a message when it cannot.
start_nginx()
{
	local d=$1 i
	d=$(mkdir -p "$d" && cd "$d" && pwd) || return 1
	mkdir -p "$d/docroot/gz" "$d/docroot/slow" "$d/logs" "$d/tmp" \
		"$d/certs" "$d/docroot/noranges" "$d/docroot/listed"
	chmod 755 "$d" "$d/docroot" "$d/docroot/gz" "$d/docroot/slow" \
		"$d/docroot/noranges" "$d/docroot/listed"
	if ! nginx_make_certs "$d/certs"; then
		echo "start_nginx: openssl could not make the certificates" >&2
		return 1
	fi

	NGINX_DIR=$d
	NGINX_ROOT=$d/docroot
	NGINX_CA=$d/certs/ca.crt
	NGINX_LOG=$d/logs/access.log
	if declare -F t_cleanup >/dev/null; then
		t_cleanup stop_nginx
	fi
	for i in 1 2 3; do
		NGINX_HTTP_PORT=$(nginx_port)
		NGINX_HTTPS_PORT=$(nginx_port)
		if [ "$NGINX_HTTP_PORT" = "$NGINX_HTTPS_PORT" ]; then
			continue
		fi
		nginx_write_conf "$d" "$NGINX_HTTP_PORT" "$NGINX_HTTPS_PORT"
		if nginx -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf" \
			2>>"$d/logs/start.log"; then
			break
		fi
	done
	if ! nginx_wait_ready; then
		echo "start_nginx: nginx did not start, see $d/logs" >&2
		cat "$d/logs/start.log" "$d/logs/error.log" >&2 2>/dev/null
		return 1
	fi
	NGINX_HTTP=http://127.0.0.1:$NGINX_HTTP_PORT
	NGINX_HTTPS=https://127.0.0.1:$NGINX_HTTPS_PORT
	export NGINX_DIR NGINX_ROOT NGINX_CA NGINX_LOG NGINX_HTTP_PORT \
		NGINX_HTTPS_PORT NGINX_HTTP NGINX_HTTPS
	: >"$NGINX_LOG"
}

nginx_wait_ready()
{
	local i
	for ((i = 0; i < 50; i++)); do
		if [ -s "$NGINX_DIR/nginx.pid" ] &&
			curl -sf -o /dev/null --max-time 2 \
				"http://127.0.0.1:$NGINX_HTTP_PORT/.ready" &&
			curl -sf -o /dev/null --max-time 2 --cacert "$NGINX_CA" \
				"https://127.0.0.1:$NGINX_HTTPS_PORT/.ready"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# stop_nginx: stops the nginx started by start_nginx and waits for it.
stop_nginx()
{
	local pid i
	pid=$(cat "$NGINX_DIR/nginx.pid" 2>/dev/null) || return 0
	kill -QUIT "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# nginx_clear_log: forgets the requests logged so far.
nginx_clear_log()
{
	: >"$NGINX_LOG"
}

# nginx_count [METHOD [URI]]: requests logged so far, all of them or those
# of METHOD (and exactly URI, query included).
nginx_count()
{
	awk -v m="${1:-}" -v u="${2:-}" \
		'(m == "" || $1 == m) && (u == "" || $2 == u) { n++ }
		END { print n + 0 }' "$NGINX_LOG"
}
