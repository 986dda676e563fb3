"""Queue-file inode recycling (docs/queue-format.md, "Inode recycling"):
qmgr moves finished files into recycle/, cleanup reuses them, nothing of an
earlier message survives in a later one, debris is cleaned up, and
postern_queue_recycle = no gives the old behaviour."""
import os
import re
import smtplib
import socket
import stat
import subprocess

import pytest

from postern import BIN, IS_ROOT, Instance, bin_path, free_port, wait_until
from smtpd_util import make_instance, queue_files, read_records, message_text

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, p)) for p in ("smtpd", "qmgr", "master", "discard")),
    reason="needs smtpd, qmgr, master, discard")

MARK = "OLDMESSAGE-"


def own(path):
    """Files in the queue belong to mail_owner (postfix when root)."""
    if IS_ROOT:
        import pwd
        pw = pwd.getpwnam("postfix")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def recycle_dir(inst):
    return os.path.join(inst.queue_dir, "recycle")


def fill_recycle(inst, n, size=20000, modes=None):
    """Pooled files as qmgr leaves them: complete-looking, 0700, long
    (modes: {index: another mode})."""
    d = recycle_dir(inst)
    os.makedirs(d, mode=0o700, exist_ok=True)
    own(d)
    inodes = {}
    for i in range(n):
        p = os.path.join(d, "r.%d" % i)
        with open(p, "wb") as f:
            f.write((MARK + "%d " % i).encode() * (size // 16))
        os.chmod(p, (modes or {}).get(i, 0o700))
        own(p)
        inodes[os.stat(p).st_ino] = os.path.getsize(p)
    return inodes


def full_system(**params):
    conf = {"default_transport": "discard", "local_transport": "error:5.1.1 unknown user",
            "relay_domains": "hold.test", "relay_transport": "retry:4.4.1 no route",
            "myorigin": "$myhostname", "local_recipient_maps": ""}
    conf.update(params)
    return Instance(main_cf=conf)


def send(port, rcpts, body):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    r = s.sendmail("someone@example.org", rcpts, body)
    s.quit()
    return r


def standalone_smtpd(inst):
    for q in ("incoming", "active", "deferred", "hold", "corrupt", "public", "private"):
        os.makedirs(os.path.join(inst.queue_dir, q), exist_ok=True)
        own(os.path.join(inst.queue_dir, q))
    port = free_port()
    p = subprocess.Popen([bin_path("smtpd"), "-c", inst.dir, "-S", "127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_until(up, what="smtpd to listen")
    return p, port


def queued_ids(inst, n, port):
    ids = []
    for i in range(n):
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        s.ehlo("x")
        s.mail("a@example.com")
        s.rcpt("root")
        code, msg = s.data(b"Subject: short %d\r\n\r\nnew body %d\r\n" % (i, i))
        assert code == 250, msg
        ids.append(msg.decode().split()[-1])
        s.quit()
    return ids


class _Solo:
    """An instance whose smtpd runs alone (standalone_smtpd), killed after the test."""

    def __init__(self):
        self.inst = make_instance()
        self.procs = []

    def start(self):
        p, port = standalone_smtpd(self.inst)
        self.procs.append(p)
        return port


@pytest.fixture
def solo():
    s = _Solo()
    yield s
    for p in s.procs:
        p.kill()
        p.wait()
    s.inst.cleanup()


def test_finished_file_is_reused_without_old_bytes():
    inst = full_system()
    try:
        inst.start()
        long_body = "Subject: long\r\n\r\n" + ("%s %s\r\n" % (MARK, "x" * 70)) * 700
        send(inst.smtp_port, ["a@far.test"], long_body)
        wait_until(lambda: re.search(r"qmgr\[\d+\]: \w+: removed", inst.log()), what="removal")
        d = recycle_dir(inst)
        pooled = {os.stat(os.path.join(d, n)).st_ino: os.path.getsize(os.path.join(d, n))
                  for n in os.listdir(d)}
        assert len(pooled) == 1 and list(pooled.values())[0] > 50000, pooled
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
        # A short message to a deferring destination stays in the queue.
        send(inst.smtp_port, ["x@hold.test"], "Subject: short\r\n\r\nshort body\r\n")
        wait_until(lambda: "(no route)" in inst.cmd("postqueue", "-p").stdout, what="deferral")
        qid = re.search(r"^(\w+)[*!]?\s", inst.cmd("postqueue", "-p").stdout.splitlines()[1]).group(1)
        path = [os.path.join(r, f) for r, _, fs in os.walk(os.path.join(inst.queue_dir, "deferred"))
                for f in fs][0]
        assert os.path.basename(path) == qid
        st = os.stat(path)
        assert st.st_ino in pooled, "the pooled inode was not reused"
        assert st.st_size < 2000 and st.st_nlink == 1
        assert stat.S_IMODE(st.st_mode) == 0o700
        assert MARK.encode() not in open(path, "rb").read()
        recs = read_records(path)
        assert recs[-1] == ("E", b"")
        text = inst.cmd("postcat", "-q", qid).stdout
        assert "short body" in text and MARK not in text
        assert os.listdir(d) == []
    finally:
        inst.stop()
        inst.cleanup()


def test_pool_is_bounded_by_the_limit():
    inst = full_system(postern_queue_recycle_limit="2")
    try:
        inst.start()
        for i in range(6):
            send(inst.smtp_port, ["a%d@far.test" % i], "Subject: %d\r\n\r\nbody\r\n" % i)
        wait_until(lambda: len(re.findall(r"qmgr\[\d+\]: \w+: removed", inst.log())) == 6,
                   what="six removals")
        names = os.listdir(recycle_dir(inst))
        assert 1 <= len(names) <= 2 and set(names) <= {"r.0", "r.1"}, names
    finally:
        inst.stop()
        inst.cleanup()


def test_smtpd_claims_pooled_files_and_truncates(solo):
    inst = solo.inst
    # One pooled file is not 0700: its queue file still ends up 0700
    # (the others need no fchmod: claiming keeps the mode).
    pooled = fill_recycle(inst, 3, modes={1: 0o600})
    port = solo.start()
    ids = queued_ids(inst, 5, port)
    files = {os.path.basename(f): f for f in queue_files(inst)}
    assert sorted(files) == sorted(ids)
    reused = [f for f in files.values() if os.stat(f).st_ino in pooled]
    assert len(reused) == 3, "all three pooled inodes are taken first"
    for f in files.values():
        data = open(f, "rb").read()
        assert MARK.encode() not in data and len(data) < 2000
        recs = read_records(f)
        assert recs[-1] == ("E", b"")
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o700
    # queue IDs are Postfix's: 5 hex digits of microseconds + the inode in hex
    for qid, f in files.items():
        assert qid.endswith("%X" % os.stat(f).st_ino) and len(qid) == 5 + len("%X" % os.stat(f).st_ino)
    assert os.listdir(recycle_dir(inst)) == []


def test_longer_message_over_shorter_pooled_file(solo):
    inst = solo.inst
    pooled = fill_recycle(inst, 1, size=32)
    port = solo.start()
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("x")
    s.mail("a@example.com")
    s.rcpt("root")
    body = b"".join(b"line %05d of a longer message\r\n" % i for i in range(3000))
    code, msg = s.data(b"Subject: long\r\n\r\n" + body)
    s.quit()
    assert code == 250, msg
    qid = msg.decode().split()[-1]
    path = [f for f in queue_files(inst) if os.path.basename(f) == qid][0]
    assert os.stat(path).st_ino in pooled
    recs = read_records(path)
    assert recs[-1] == ("E", b"")
    text = message_text(recs)
    assert text.endswith("line 02999 of a longer message\n") and MARK not in text
    assert os.path.getsize(path) > 90000


def test_abandoned_transaction_returns_file_to_pool(solo):
    inst = solo.inst
    pooled = fill_recycle(inst, 1)
    port = solo.start()
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("x")
    s.mail("a@example.com")
    assert s.rcpt("root")[0] == 250          # the queue file is open (claimed) now
    names = os.listdir(recycle_dir(inst))
    assert len(names) == 1 and names[0].startswith("c."), names
    # From the claim on, the old bytes are unreadable (zeroed or truncated).
    claimed = open(os.path.join(recycle_dir(inst), names[0]), "rb").read()
    assert MARK.encode() not in claimed and claimed.strip(b"\0") == b""
    s.rset()
    s.quit()
    wait_until(lambda: [n[:2] for n in os.listdir(recycle_dir(inst))] == ["r."],
               what="the file back in the pool")
    name = os.listdir(recycle_dir(inst))[0]
    assert os.stat(os.path.join(recycle_dir(inst), name)).st_ino in pooled
    assert queue_files(inst) == []


def test_file_with_another_name_is_never_reused(solo):
    """After a crash without a journal, fsck may leave a pooled file also
    linked in a queue: cleanup must drop it from the pool, not overwrite it."""
    inst = solo.inst
    d = recycle_dir(inst)
    os.makedirs(d, mode=0o700)
    own(d)
    os.makedirs(os.path.join(inst.queue_dir, "incoming"), exist_ok=True)
    keep = os.path.join(inst.queue_dir, "incoming", "KEEPME")
    with open(keep, "wb") as f:
        f.write(b"precious")
    own(keep)
    os.link(keep, os.path.join(d, "r.0"))
    port = solo.start()
    ids = queued_ids(inst, 1, port)
    assert open(keep, "rb").read() == b"precious"
    assert os.stat(keep).st_nlink == 1
    assert os.listdir(d) == []
    path = [f for f in queue_files(inst) if os.path.basename(f) == ids[0]][0]
    assert os.stat(path).st_ino != os.stat(keep).st_ino


def test_parameter_off_keeps_old_behaviour():
    inst = full_system(postern_queue_recycle="no")
    try:
        pooled = fill_recycle(inst, 2)
        before = sorted(os.listdir(recycle_dir(inst)))
        inst.start()
        assert sorted(os.listdir(recycle_dir(inst))) == []      # start cleans up
        pooled = fill_recycle(inst, 2)
        send(inst.smtp_port, ["a@far.test"], "Subject: a\r\n\r\nbody\r\n")
        send(inst.smtp_port, ["x@hold.test"], "Subject: b\r\n\r\nbody\r\n")
        wait_until(lambda: re.search(r"qmgr\[\d+\]: \w+: removed", inst.log()), what="removal")
        wait_until(lambda: "(no route)" in inst.cmd("postqueue", "-p").stdout, what="deferral")
        assert sorted(os.listdir(recycle_dir(inst))) == before  # untouched: unlinked, not pooled
        path = [os.path.join(r, f) for r, _, fs in os.walk(os.path.join(inst.queue_dir, "deferred"))
                for f in fs][0]
        assert os.stat(path).st_ino not in pooled
    finally:
        inst.stop()
        inst.cleanup()


def test_debris_cleanup_by_start_and_postsuper():
    inst = full_system()
    try:
        inst.postfix("check")
        d = recycle_dir(inst)
        fill_recycle(inst, 2)
        for name, age in (("c.999999.1", 7200), ("c.999999.2", 0)):
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(b"half-written")
            own(p)
            if age:
                os.utime(p, (os.path.getmtime(p) - age,) * 2)
        # postsuper -p: only claims older than an hour; pooled files stay
        r = inst.cmd("postsuper", "-p")
        assert r.returncode == 0, r.stderr
        assert "removed 1 stale claimed file" in r.stderr
        assert sorted(os.listdir(d)) == ["c.999999.2", "r.0", "r.1"]
        # postfix start: nothing runs yet, everything goes
        inst.start()
        assert os.listdir(d) == []
        # postfix reload: like postsuper -p
        for name, age in (("c.999999.3", 7200), ("c.999999.4", 0)):
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(b"half-written")
            own(p)
            if age:
                os.utime(p, (os.path.getmtime(p) - age,) * 2)
        inst.reload()
        assert os.listdir(d) == ["c.999999.4"]
        os.unlink(os.path.join(d, "c.999999.4"))
        # postfix check reports a wrong mode
        os.chmod(d, 0o755)
        r = inst.postfix("check")
        assert "wrong permissions %s: 0755 (expected 0700)" % d in r.stderr
    finally:
        inst.stop()
        inst.cleanup()
