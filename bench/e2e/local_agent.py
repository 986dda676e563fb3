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


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("-c", type=int, default=2)
    ap.add_argument("--mbox", action="store_true")
    ap.add_argument("--trace", choices=("strace", "perf"),
                    help="strace -c -f / perf record -g the agents (output in the cwd)")
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
        pids = [inst.proc.pid] + [p.pid for p in extra]
        tracers = []
        if a.trace == "strace":
            for pid in pids:
                tracers.append(subprocess.Popen(["strace", "-c", "-f", "-o",
                                                 "local-agent.strace.%d" % pid, "-p", str(pid)]))
        elif a.trace == "perf":
            tracers.append(subprocess.Popen(["perf", "record", "-g", "-o", "local-agent.perf",
                                             "-p", ",".join(map(str, pids))],
                                            stderr=subprocess.DEVNULL))
        if tracers:
            time.sleep(1)
        cpu0 = sum(cpu_ticks(p) for p in pids)
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
        cpu1 = sum(cpu_ticks(p) for p in pids)
        for t in tracers:
            t.send_signal(2)
            t.wait()
        for p in extra:
            p.terminate()
        print("local agent: %d deliveries to %s, %d agents: %.2fs, %.0f msg/s, agent CPU %.0f us/msg"
              % (a.n, "mbox" if a.mbox else "Maildir", a.c, t1 - t0, a.n / (t1 - t0),
                 (cpu1 - cpu0) * 1e6 / os.sysconf("SC_CLK_TCK") / a.n))
    finally:
        inst.cleanup()


if __name__ == "__main__":
    main()
