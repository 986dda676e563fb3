"""Maildir delivery by the local agent: a full file system defers the
message and leaves the Maildir as it was (nothing in new/ or tmp/), and
the next delivery after space is back works."""
import os
import re
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
        # Postfix 3.7's line for this (checked with an alias to a Maildir on a full tmpfs)
        assert log[0].endswith("dsn=4.3.0, status=deferred (maildir delivery failed: "
                               "error writing message: No space left on device)"), log
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


@pytest.mark.skipif(not la.IS_ROOT, reason="needs root (default_privs)")
def test_maildir_permission_denied_bounces_with_postfix_warnings():
    """An alias to a Maildir that default_privs may not create: Postfix 3.7's
    two warnings and its bounce text (checked with real Postfix)."""
    inst = la.LocalInstance()
    try:
        md = os.path.join(inst.dir, "locked", "Maildir") + "/"
        inst.write_aliases("md: %s\n" % md)
        status, log, qid = inst.deliver(MSG, ["md@pf.example"])
        assert status == 0, log                  # bounced: finished
        text = "\n".join(log)
        assert re.search(r"warning: maildir access problem for UID/GID=\d+/\d+: create maildir "
                         r"file %stmp/\d+\.P\d+\.[^ ]+: Permission denied" % re.escape(md), text), log
        assert "warning: perhaps you need to create the maildirs in advance" in text, log
        assert re.search(r"dsn=5\.2\.0, status=bounced \(maildir delivery failed: create maildir "
                         r"file %stmp/\d+\.P\d+\.[^ ]+: Permission denied\)" % re.escape(md), text), log
        assert not os.path.exists(md)
    finally:
        inst.cleanup()
