"""Maildir delivery by the local agent: a full file system defers the
message and leaves the Maildir as it was (nothing in new/ or tmp/), and
the next delivery after space is back works."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import localagent as la  # noqa: E402

MSG = "Subject: test one\nFrom: Sender <sender@remote.example>\n\nbody\n"


@pytest.mark.skipif(not la.IS_ROOT, reason="needs root (mount)")
def test_maildir_disk_full_defers_and_leaves_maildir_unchanged():
    inst = la.LocalInstance()
    mnt = os.path.join(inst.dir, "small")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=1777", "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        inst.cleanup()
        pytest.skip("cannot mount tmpfs: " + r.stderr.decode())
    md = os.path.join(mnt, "Maildir") + "/"
    try:
        inst.write_aliases("md: %s\n" % md)
        status, log, _ = inst.deliver(MSG, ["md@pf.example"])
        assert status == 0, log
        assert "status=sent (delivered to maildir)" in log[0]
        first = os.listdir(md + "new")
        assert len(first) == 1
        big = MSG + ("y" * 99 + "\n") * 1000            # 100 kB > 64 kB
        status, log, qid = inst.deliver(big, ["md@pf.example"])
        assert status == 1, log
        assert "dsn=4.3.1, status=deferred (cannot deliver to maildir %s: " \
            "create maildir file %stmp/" % (md, md) in log[0], log
        assert log[0].endswith(": No space left on device)"), log
        assert os.listdir(md + "new") == first
        assert os.listdir(md + "tmp") == []
        assert inst.rcpt_records(qid) == [("R", "md@pf.example")]
        status, log, _ = inst.deliver(MSG, ["md@pf.example"])
        assert status == 0, log
        assert len(os.listdir(md + "new")) == 2
    finally:
        inst.stop()
        subprocess.run(["umount", mnt])
        inst.cleanup()
