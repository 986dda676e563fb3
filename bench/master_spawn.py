#!/usr/bin/python3
"""bench/master_spawn.py - master's own costs, plain build (not a test).

    POSTERN_BUILD=build /usr/bin/python3 bench/master_spawn.py

Prints the wall time of `postfix start`, `postfix reload` (the command),
`postfix stop`, the first connection to an inet service (master forks and
execs the service: connect until the greeting) and the median of 200 more
connections served by the now idle process (no master involvement).
The service is tests/unit/test_mail_server in service mode.
"""
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import postern  # noqa: E402

MSD = os.path.join(postern.BUILD, "tests", "test_mail_server")
inst = postern.Instance(master_cf="postlog unix-dgram n - n - 1 postlogd\n"
                                  "127.0.0.1:{port} inet n - n - 100 msd\n")
inst.use_daemon_dir({"msd": MSD})


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def greet():
    s = socket.create_connection(("127.0.0.1", inst.smtp_port))
    f = s.makefile("rb")
    f.readline()
    f.close()
    s.close()


try:
    start = timed(lambda: inst.postfix("start"))
    first = timed(greet)
    rest = [timed(greet) for _ in range(200)]
    reload = timed(lambda: inst.postfix("reload"))
    stop = timed(lambda: inst.postfix("stop"))
    print("postfix start %.1f ms, reload %.1f ms, stop %.1f ms" % (start * 1e3, reload * 1e3, stop * 1e3))
    print("first connection (spawn) %.2f ms; reused process median %.3f ms"
          % (first * 1e3, statistics.median(rest) * 1e3))
finally:
    inst.cleanup()
