#!/usr/bin/python3
"""bench/e2e/local_batch.py - the local delivery core alone, one message per
pass against B messages per pass (local_deliver_many: one fsync of new/ per
pass), to one user's Maildir (or mbox with --mbox). No daemon, no qmgr: it
measures what batching saves inside the agent.

    POSTERN_BUILD=build bench/e2e/local_batch.py [-n 2000] [-b 1,8,32] [--rounds 2] [--mbox]

Compiles bench/e2e/local_batch_bench.c against $POSTERN_BUILD's libraries.
"""
import argparse
import os
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
os.environ.setdefault("POSTERN_BUILD", os.path.join(TOP, "build"))
import localagent as la  # noqa: E402

LIBS = ["-llmdb", "-lpcre2-8", "-lcdb", "-levent", "-lssl", "-lcrypto", "-lcares", "-lpthread"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-b", default="1,8,32")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--mbox", action="store_true")
    a = ap.parse_args()
    build = os.environ["POSTERN_BUILD"]
    exe = os.path.join(tempfile.mkdtemp(prefix="lbb."), "local_batch_bench")
    subprocess.run(["cc", "-O2", "-D_GNU_SOURCE", "-I" + os.path.join(TOP, "src/util"),
                    "-I" + os.path.join(TOP, "src/global"), "-o", exe,
                    os.path.join(TOP, "bench/e2e/local_batch_bench.c"),
                    os.path.join(build, "libglobal.a"), os.path.join(build, "libutil.a")] + LIBS,
                   check=True)
    inst = la.LocalInstance(extra_conf="" if a.mbox else "home_mailbox = Maildir/\n")
    try:
        inst.stop()
        user = inst.users[0]
        r = subprocess.run([os.path.join(la.BIN, "postern-qfile"), "-c", inst.conf, "-q", "active",
                            "-f", "s@example.org", "-n", str(a.n), user + "@pf.example"],
                           input=("Subject: bench\n\n" + "x" * 60 + "\n").encode(),
                           capture_output=True, check=True)
        files = [os.path.join(inst.queue, "active", q) for q in r.stdout.decode().split()]
        for _ in range(a.rounds):
            for b in a.b.split(","):
                out = subprocess.run([exe, inst.conf, b] + files, capture_output=True, text=True,
                                     cwd=inst.queue)
                print(("mbox " if a.mbox else "Maildir ") + out.stdout.strip(), out.stderr.strip(),
                      flush=True)
    finally:
        inst.cleanup()
        os.unlink(exe)
        os.rmdir(os.path.dirname(exe))


if __name__ == "__main__":
    main()
