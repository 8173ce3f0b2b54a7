#!/usr/bin/env python3
# A small HTTP origin on loopback that misbehaves on purpose, for what
# nginx cannot do.  It serves the files of --root; the first part of the
# request path picks the behaviour:
#
#   /ok/F            F, as a plain origin would
#   /hang/F          reads the request and never answers (HEAD too)
#   /hangget/F       answers HEAD, never answers GET
#   /short/F         GET: promises F's size, sends half of it, closes
#   /reset/F         GET: promises F's size, sends half of it, resets
#   /chunked/F       GET: chunked body without its last chunk, closes
#   /slow/F          GET: one byte of F a second (below any low-speed limit)
#   /flaky/N/F       GET: 503 to the first N GETs of that path, then F
#
# HEAD answers F's size and mtime except under /hang/.  Every request is
# appended to --log as "METHOD PATH STATUS" (STATUS "-" when none was
# sent).  The server listens on 127.0.0.1 on a free port written to
# --port-file, and exits by itself after --lifetime seconds.

import argparse
import email.utils
import http.server
import os
import socket
import struct
import sys
import threading
import time

ARGS = None
LOG_LOCK = threading.Lock()
FLAKY = {}
STOP = threading.Event()


def log(method, path, status):
    with LOG_LOCK:
        with open(ARGS.log, "a") as f:
            f.write("%s %s %s\n" % (method, path, status))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def split(self):
        parts = self.path.split("?", 1)[0].lstrip("/").split("/")
        mode = parts[0]
        rest = parts[1:]
        count = 0
        if mode == "flaky" and rest:
            count = int(rest[0])
            rest = rest[1:]
        fpath = os.path.join(ARGS.root, *rest)
        root = os.path.realpath(ARGS.root)
        if not os.path.realpath(fpath).startswith(root + os.sep):
            fpath = None
        return mode, count, fpath

    def hang(self):
        log(self.command, self.path, "-")
        STOP.wait()
        self.close_connection = True

    def not_found(self):
        log(self.command, self.path, 404)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def head_of(self, status, fpath, size):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        mtime = os.stat(fpath).st_mtime
        self.send_header("Last-Modified",
                         email.utils.formatdate(mtime, usegmt=True))
        self.end_headers()

    def do_HEAD(self):
        mode, count, fpath = self.split()
        if mode == "hang":
            return self.hang()
        if fpath is None or not os.path.isfile(fpath):
            return self.not_found()
        log("HEAD", self.path, 200)
        self.head_of(200, fpath, os.path.getsize(fpath))

    def do_GET(self):
        mode, count, fpath = self.split()
        if mode in ("hang", "hangget"):
            return self.hang()
        if fpath is None or not os.path.isfile(fpath):
            return self.not_found()
        with open(fpath, "rb") as f:
            data = f.read()
        if mode == "flaky":
            key = self.path
            seen = FLAKY.get(key, 0)
            FLAKY[key] = seen + 1
            if seen < count:
                log("GET", self.path, 503)
                body = b"try again\n"
                self.send_response(503)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        log("GET", self.path, 200)
        if mode in ("ok", "flaky"):
            self.head_of(200, fpath, len(data))
            self.wfile.write(data)
        elif mode in ("short", "reset"):
            self.head_of(200, fpath, len(data))
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            if mode == "reset":
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
            self.close_connection = True
        elif mode == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = data[: len(data) // 2]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))
            self.wfile.flush()
            self.close_connection = True
        elif mode == "slow":
            self.head_of(200, fpath, len(data))
            for i in range(len(data)):
                if STOP.wait(1.0):
                    break
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
            self.close_connection = True
        else:
            self.not_found()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--lifetime", type=float, default=300)
    ARGS = p.parse_args()

    srv = Server(("127.0.0.1", 0), Handler)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, ARGS.port_file)

    def stop():
        STOP.set()
        srv.shutdown()

    timer = threading.Timer(ARGS.lifetime, stop)
    timer.daemon = True
    timer.start()
    srv.serve_forever()
    srv.server_close()
    sys.exit(0)


main()
