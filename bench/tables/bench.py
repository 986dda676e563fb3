#!/usr/bin/python3
"""bench/tables: build a 1,000,000-entry table and run 1,000,000 `postmap -q -`
lookups, with postern's postmap and Debian's Postfix postmap (hash:), in the
same run. Prints both rates and the ratio (postern / Postfix; > 1 is faster).

usage: bench/tables/bench.py [-n ENTRIES] [-q QUERIES] [--type TYPE] [--build DIR]
  --build  postern build directory (default build/, the optimized build)
  --type   postern table type (default hash, which postern stores in LMDB);
           Postfix always uses hash: (Berkeley DB), its default.
Queries: every key once in random order, plus misses when QUERIES > ENTRIES.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(cmd, cwd, env, stdin=None):
    t0 = time.monotonic()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as f:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdin=f, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    dt = time.monotonic() - t0
    if p.returncode not in (0, 1):
        sys.exit("%s failed: %s" % (" ".join(cmd), p.stderr.decode()))
    return dt, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000000)
    ap.add_argument("-q", type=int, default=1000000)
    ap.add_argument("--type", default="hash")
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    a = ap.parse_args()
    ours = os.path.join(a.build, "bin", "postmap")
    theirs = "/usr/sbin/postmap"
    for p in (ours, theirs):
        if not os.access(p, os.X_OK):
            sys.exit("missing %s (make; apt-get install postfix)" % p)
    work = tempfile.mkdtemp(prefix="bench-tables-")
    try:
        conf = os.path.join(work, "conf")
        os.mkdir(conf)
        open(os.path.join(conf, "main.cf"), "w").close()
        env = dict(os.environ, MAIL_CONFIG=conf)
        rnd = random.Random(42)
        keys = ["user%07d@example%d.com" % (i, i % 1000) for i in range(a.n)]
        with open(os.path.join(work, "src"), "w") as f:
            for i, k in enumerate(keys):
                f.write("%s\tsmtp:[relay%d.example.net]:25\n" % (k, i % 97))
        queries = keys[:a.q]
        while len(queries) < a.q:
            queries.append("miss%07d@example.org" % len(queries))
        rnd.shuffle(queries)
        with open(os.path.join(work, "queries"), "w") as f:
            f.write("\n".join(queries) + "\n")
        shutil.copy(os.path.join(work, "src"), os.path.join(work, "pf"))
        shutil.copy(os.path.join(work, "src"), os.path.join(work, "pt"))

        pf_build, _ = timed([theirs, "hash:pf"], work, env)
        pt_build, _ = timed([ours, "%s:pt" % a.type], work, env)
        pf_q, pf_out = timed([theirs, "-q", "-", "hash:pf"], work, env,
                             os.path.join(work, "queries"))
        pt_q, pt_out = timed([ours, "-q", "-", "%s:pt" % a.type], work, env,
                             os.path.join(work, "queries"))
        if pf_out != pt_out:
            sys.exit("outputs differ between Postfix and postern!")
        found = pt_out.count(b"\n")

        def rate(n, t):
            return n / t if t > 0 else float("inf")
        print("entries %d, queries %d (%d found); postern type %s:, Postfix hash:"
              % (a.n, a.q, found, a.type))
        print("%-28s %12s %12s %8s" % ("", "Postfix", "postern", "ratio"))
        print("%-28s %12.0f %12.0f %8.2f" % ("build (entries/s)", rate(a.n, pf_build),
                                            rate(a.n, pt_build), pf_build / pt_build))
        print("%-28s %12.0f %12.0f %8.2f" % ("postmap -q - (lookups/s)", rate(a.q, pf_q),
                                            rate(a.q, pt_q), pf_q / pt_q))
        print("%-28s %12.2f %12.2f" % ("build seconds", pf_build, pt_build))
        print("%-28s %12.2f %12.2f" % ("query seconds", pf_q, pt_q))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
