"""Durability: SIGKILL smtpd under load; every 250'd message survives intact."""
import os
import random
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

from smtpd_util import make_instance, queue_files, read_records, message_text, bin_path
from postern import free_port, IS_ROOT, wait_until


def _start(inst, port, env=None):
    p = subprocess.Popen([bin_path("smtpd"), "-c", inst.dir, "-S", "127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_until(up, what="smtpd to listen")
    return p


def _client(port, prefix, acked, stop):
    n = 0
    while not stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            f = s.makefile("rb")
            if not f.readline().startswith(b"220"):
                s.close()
                continue
            while not stop.is_set():
                token = "%s-%d" % (prefix, n)
                n += 1
                s.sendall(b"HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<root>\r\nDATA\r\n")
                replies = [f.readline() for _ in range(4)]
                if not replies[-1].startswith(b"354"):
                    break
                s.sendall(b"Subject: %s\r\n\r\n%s\r\n%s\r\n.\r\n" %
                          (token.encode(), b"line " * 200, token.encode()))
                r = f.readline()
                if r.startswith(b"250 2.0.0 Ok: queued as "):
                    acked.append((token, r.split()[-1].decode()))
                elif not r:
                    break
            s.close()
        except OSError:
            time.sleep(0.01)


# Both group-commit paths of src/global/qcommit.c: io_uring (the default
# where the kernel allows it) and the thread fallback.
@pytest.mark.parametrize("commit_path", ["default", "threads"])
def test_sigkill_under_load_loses_nothing(commit_path):
    env = dict(os.environ)
    if commit_path == "threads":
        env["POSTERN_QCOMMIT_THREADS"] = "1"
    inst = make_instance()
    try:
        for q in ("incoming", "active", "deferred", "maildrop", "hold", "corrupt", "public", "private"):
            os.makedirs(os.path.join(inst.queue_dir, q), exist_ok=True)
        if IS_ROOT:
            import pwd
            pw = pwd.getpwnam("postfix")
            for dirpath, dirs, files in os.walk(inst.queue_dir):
                os.chown(dirpath, pw.pw_uid, pw.pw_gid)
        port = free_port()
        acked = []
        stop = threading.Event()
        proc = _start(inst, port, env)
        threads = [threading.Thread(target=_client, args=(port, "c%d" % i, acked, stop))
                   for i in range(8)]
        for t in threads:
            t.start()
        rnd = random.Random(4)
        for _ in range(4):
            time.sleep(rnd.uniform(0.3, 0.8))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc = _start(inst, port, env)
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert len(acked) > 20
        files = {os.path.basename(p): p for p in queue_files(inst)}
        for token, qid in acked:
            assert qid in files, "250'd message %s (%s) lost" % (qid, token)
            recs = read_records(files[qid])
            assert recs[-1] == ("E", b""), qid
            assert stat.S_IMODE(os.stat(files[qid]).st_mode) == 0o700
            text = message_text(recs)
            assert ("Subject: %s\n" % token) in text and text.endswith("%s\n" % token)
        # No half-written file looks complete.
        for qid, path in files.items():
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode & 0o100:
                recs = read_records(path)
                assert recs[-1] == ("E", b""), "complete-looking partial file " + qid
    finally:
        inst.cleanup()
