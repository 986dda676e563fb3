#!/usr/bin/python3
"""testd - a minimal postern service for master's tests (not installed).

Speaks the service side of the master interface (docs/ARCHITECTURE.md):
listeners at fd 6.. (POSTERN_LISTEN_FDS), status channel at fd 5 ('B' busy
with a client, 'I' idle again), argv "[-l|-z] [-n SERVICE] -t TYPE [-u] [-c] [-o k=v] [-v]
[args]", as Postfix's master gives it (no -n: the service is "testd"). Each stream client gets the line "testd SERVICE PID" and then
every line it sends echoed back; "exit N" makes the process exit with
status N. One client at a time. Closed status channel (reload) or SIGTERM:
finish the current client, then exit. A fifo or unix-dgram listener: each
message read is appended to $TESTD_LOG (when set) as "SERVICE PID text".
Args: "fail" exits 1 at once (a bad command startup).
"""
import os
import select
import signal
import socket
import sys


def main():
    args = sys.argv[1:]
    service, stype, rest = "testd", "?", []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-n", "-t", "-o"):
            if a == "-n":
                service = args[i + 1]
            elif a == "-t":
                stype = args[i + 1]
            i += 2
        elif a in ("-u", "-v", "-c", "-l", "-z"):    # -c: chroot (no value)
            i += 1
        else:
            rest.append(a)
            i += 1
    if "fail" in rest:
        sys.exit(1)
    n = int(os.environ.get("POSTERN_LISTEN_FDS", "0"))
    listeners = list(range(6, 6 + n))
    status = 5
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    logf = os.environ.get("TESTD_LOG")
    while True:
        r, _, _ = select.select(listeners + [status], [], [])
        if status in r:
            try:
                if os.read(status, 64) == b"":
                    sys.exit(0)
            except OSError:
                sys.exit(0)
        for fd in r:
            if fd == status:
                continue
            if stype in ("fifo", "unix-dgram"):
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    continue
                if logf:
                    with open(logf, "a") as f:
                        f.write("%s %d %s\n" % (service, os.getpid(), data.decode(errors="replace")))
                continue
            ls = socket.socket(fileno=os.dup(fd))
            ls.setblocking(False)
            try:
                conn, _ = ls.accept()
            except BlockingIOError:
                ls.close()
                continue
            ls.close()
            conn.setblocking(True)
            os.write(status, b"B")
            serve(conn, service)
            os.write(status, b"I")


def serve(conn, service):
    f = conn.makefile("rwb", buffering=0)
    f.write(("testd %s %d\n" % (service, os.getpid())).encode())
    for line in f:
        text = line.decode(errors="replace").strip()
        if text.startswith("exit "):
            sys.exit(int(text.split()[1]))
        f.write(("%s\n" % text).encode())
    conn.close()


if __name__ == "__main__":
    main()
