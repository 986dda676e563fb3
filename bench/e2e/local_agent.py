#!/usr/bin/python3
"""bench/e2e/local_agent.py - the local agent alone: N queued messages, N
delivery requests from C concurrent clients (as qmgr would send them) to one
stand-alone `local`, to one user's Maildir (or mbox with --mbox).

    POSTERN_BUILD=build bench/e2e/local_agent.py [-n 1000] [-c 2] [--mbox]
"""
import argparse
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "e2e"))
os.environ.setdefault("POSTERN_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
import localagent as la  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("-c", type=int, default=2)
    ap.add_argument("--mbox", action="store_true")
    a = ap.parse_args()
    inst = la.LocalInstance(extra_conf="" if a.mbox else "home_mailbox = Maildir/\n")
    try:
        user = inst.users[0]
        msg = "Subject: bench\n\n" + "x" * 60 + "\n"
        r = subprocess.run([os.path.join(la.BIN, "postern-qfile"), "-c", inst.conf, "-q", "active",
                            "-f", "s@example.org", "-n", str(a.n), user + "@pf.example"],
                           input=msg.encode(), capture_output=True, check=True)
        ids = r.stdout.decode().split()
        reqs = [la.attr_encode(inst.request(q)) for q in ids]
        lock = threading.Lock()
        todo = list(reqs)

        # one agent process per client, as master would run them
        extra = []
        for i in range(1, a.c):
            sock = inst.sock + str(i)
            extra.append(subprocess.Popen([os.path.join(la.BIN, "local"), "-c", inst.conf,
                                           "-S", "unix:" + sock], stderr=subprocess.DEVNULL))
        time.sleep(0.3)
        socks = [inst.sock] + [inst.sock + str(i) for i in range(1, a.c)]
        threads = []
        t0 = time.monotonic()
        for sk in socks:
            def run(sk=sk):
                while True:
                    with lock:
                        if not todo:
                            return
                        req = todo.pop()
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(sk)
                    s.sendall(req)
                    buf = b""
                    while not buf.endswith(b"\n\n"):
                        c = s.recv(100)
                        if not c:
                            break
                        buf += c
                    s.close()
            t = threading.Thread(target=run)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        t1 = time.monotonic()
        for p in extra:
            p.terminate()
        print("local agent: %d deliveries to %s, %d agents: %.2fs, %.0f msg/s"
              % (a.n, "mbox" if a.mbox else "Maildir", a.c, t1 - t0, a.n / (t1 - t0)))
    finally:
        inst.cleanup()


if __name__ == "__main__":
    main()
