"""The queue through the whole system under master: sendmail/SMTP ->
cleanup -> qmgr -> discard/error agents, bounces, mailq through showq for
an ordinary user, and qmgr as a Postfix-style "fifo" service."""
import os
import re
import smtplib
import subprocess

import pytest

from postern import BIN, IS_ROOT, Instance, wait_until  # noqa: E402

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, p)) for p in ("smtpd", "qmgr", "master", "discard", "showq")),
    reason="needs smtpd, qmgr, master, discard, showq")


def make(fifo=False):
    i = Instance(main_cf={"default_transport": "discard",
                          "local_transport": "error:5.1.1 unknown user",
                          "relay_domains": "hold.test", "relay_transport": "retry:4.4.1 no route",
                          "myorigin": "$myhostname", "local_recipient_maps": ""})
    if fifo:
        with open(os.path.join(i.dir, "master.cf")) as f:
            mc = f.read()
        mc = re.sub(r"(?m)^qmgr\s+unix\s+n\s+-\s+n\s+300\s+1\s+qmgr$",
                    "qmgr      fifo  n       -       n       300     1       qmgr", mc)
        assert "qmgr      fifo" in mc
        i.write_master_cf(mc)
    return i


def send(inst, sender, rcpts, body="Subject: t\r\n\r\nbody\r\n"):
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    s.sendmail(sender, rcpts, body)
    s.quit()


@pytest.mark.parametrize("fifo", [False, True])
def test_delivery_and_bounce_under_master(fifo):
    inst = make(fifo)
    try:
        inst.start()
        send(inst, "someone@hold.test", ["a@far.test", "nosuch@mx.postern.test"])
        wait_until(lambda: re.search(r"postfix/discard\[\d+\]: \w+: to=<a@far.test>.*status=sent",
                                     inst.log()), what="discard delivery")
        wait_until(lambda: "sender non-delivery notification" in inst.log(), what="bounce")
        # the bounce to someone@hold.test waits in the deferred queue
        wait_until(lambda: "(no route)" in inst.cmd("postqueue", "-p").stdout, what="deferred bounce")
        out = inst.cmd("postqueue", "-p").stdout
        assert "MAILER-DAEMON" in out and "someone@hold.test" in out
        log = inst.log()
        assert re.search(r"postfix/qmgr\[\d+\]: \w+: from=<someone@hold.test>, size=\d+, nrcpt=2 \(queue active\)", log)
        assert re.search(r"postfix/qmgr\[\d+\]: \w+: removed", log)
    finally:
        inst.stop()
        inst.cleanup()


@pytest.mark.skipif(not IS_ROOT, reason="needs root to run as another user")
def test_mailq_for_ordinary_user():
    inst = make()
    try:
        inst.start()
        send(inst, "u@hold.test", ["x@hold.test"])
        wait_until(lambda: "(no route)" in inst.cmd("postqueue", "-p").stdout, what="deferred")
        # as installed: public/ is postfix:postdrop 0710 and postqueue is set-gid
        # postdrop; run it as nobody with group postdrop (what set-gid gives)
        import grp
        gid = grp.getgrnam("postdrop").gr_gid
        r = subprocess.run([os.path.join(BIN, "postqueue"), "-c", inst.dir, "-p"],
                           capture_output=True, text=True, user="nobody", group=gid,
                           extra_groups=[gid],
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        assert r.returncode == 0, r.stderr
        assert "x@hold.test" in r.stdout and "(no route)" in r.stdout
        # ... who cannot read the queue itself
        ls = subprocess.run(["ls", os.path.join(inst.queue_dir, "deferred")],
                            capture_output=True, user="nobody")
        assert ls.returncode != 0
    finally:
        inst.stop()
        inst.cleanup()


@pytest.mark.skipif(not IS_ROOT, reason="needs root to make a set-gid program")
def test_setgid_postqueue_refuses_foreign_config():
    import grp
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="postern-pq-")
    os.chmod(d, 0o755)
    pq = os.path.join(d, "postqueue")
    shutil.copy(os.path.join(BIN, "postqueue"), pq)
    os.chown(pq, 0, grp.getgrnam("postdrop").gr_gid)
    os.chmod(pq, 0o2755)
    r = subprocess.run([pq, "-c", d, "-p"], capture_output=True, text=True, user="nobody",
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert r.returncode != 0
    shutil.rmtree(d)
    assert "postqueue: fatal: unauthorized configuration directory name: %s" % d in r.stderr
