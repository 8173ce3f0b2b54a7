#!/usr/bin/env python3
# One file system call for the integration tests, reported as a word:
# "OK" (with a byte count for read, the digest for sha256, the content's
# length for mmap) or the errno name (EIO, EROFS, EACCES, ...).  Lets a
# shell test check the exact errno and how many bytes were served before
# a failure.
#
# Usage: fsop.py OP PATH [ARG]

import errno
import hashlib
import mmap
import os
import sys


def read_all(path):
    fd = os.open(path, os.O_RDONLY)
    n = 0
    try:
        while True:
            try:
                b = os.read(fd, 1 << 16)
            except OSError as e:
                return "%s %d" % (errno.errorcode[e.errno], n)
            if not b:
                return "OK %d" % n
            n += len(b)
    finally:
        os.close(fd)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return "OK " + h.hexdigest()


def mmap_sha256(path):
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        with mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ) as m:
            return "OK " + hashlib.sha256(m).hexdigest()


def run(op, path, arg):
    if op == "read":
        return read_all(path)
    if op == "sha256":
        return sha256(path)
    if op == "mmap":
        return mmap_sha256(path)
    if op == "open-rw":
        os.close(os.open(path, os.O_RDWR))
    elif op == "open-w":
        os.close(os.open(path, os.O_WRONLY))
    elif op == "open-trunc":
        os.close(os.open(path, os.O_WRONLY | os.O_TRUNC))
    elif op == "create":
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    elif op == "mkdir":
        os.mkdir(path)
    elif op == "rmdir":
        os.rmdir(path)
    elif op == "unlink":
        os.unlink(path)
    elif op == "chmod":
        os.chmod(path, int(arg or "777", 8))
    elif op == "chown":
        os.chown(path, int(arg or "65534"), -1)
    elif op == "rename":
        os.rename(path, arg)
    elif op == "link":
        os.link(path, arg)
    elif op == "symlink":
        os.symlink("target", path)
    elif op == "truncate":
        os.truncate(path, 0)
    elif op == "utime":
        os.utime(path, (0, 0))
    elif op == "setxattr":
        os.setxattr(path, "user.test", b"x")
    elif op == "mknod":
        os.mknod(path, 0o644)
    else:
        return "unknown op %s" % op
    return "OK"


def main():
    op, path = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else None
    try:
        print(run(op, path, arg))
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))


main()
