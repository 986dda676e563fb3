"""sendmail, postdrop, pickup: local submission into the incoming queue."""
import os
import re
import subprocess

import pytest

from smtpd_util import make_instance, queue_files, read_records, message_text, envelope, wait_until
from postern import bin_path


@pytest.fixture
def inst():
    i = make_instance()
    yield i
    i.stop()
    i.cleanup()


def _sendmail(inst, args, body, check=True):
    r = subprocess.run([bin_path("sendmail"), "-C", inst.dir] + args, input=body,
                       capture_output=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def _wait_incoming(inst, n):
    wait_until(lambda: len(queue_files(inst)) >= n, what="pickup to queue the message")
    return queue_files(inst)


def test_sendmail_t_headers_and_envelope(inst):
    inst.start()
    uid = os.getuid()
    _sendmail(inst, ["-t", "-F", "Test User", "-f", "alice"],
              b"Subject: local test\nTo: root, bob\nCc: carol@example.org\nBcc: dave\n"
              b"Return-Path: <x@y>\n\nlocal body\n.\nnot read\n")
    (path,) = _wait_incoming(inst, 1)
    qid = os.path.basename(path)
    recs = read_records(path)
    assert recs[-1] == ("E", b"")
    assert envelope(recs, "S") == ["alice@mail.example.com"]
    assert envelope(recs, "F") == ["Test User"]
    assert envelope(recs, "R") == ["root@mail.example.com", "bob@mail.example.com",
                                   "carol@example.org", "dave@mail.example.com"]
    text = message_text(recs)
    date = r"\w{3}, [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)"
    assert re.match(r"Received: by mail\.example\.com \(Postfix, from userid %d\)\n"
                    r"\tid %s; %s\n" % (uid, qid, date), text), text
    assert "\nTo: root@mail.example.com, bob@mail.example.com\n" in text
    assert "\nCc: carol@example.org\n" in text
    assert "Bcc" not in text and "Return-Path" not in text
    assert re.search(r"\nMessage-Id: <\d{14}\.%s@mail\.example\.com>\n" % qid, text)
    assert "\nFrom: Test User <alice@mail.example.com>\n" in text
    assert text.endswith("\n\nlocal body\n")            # "." ended the input
    inst.wait_log(r"pickup\[\d+\]: %s: uid=%d from=<alice>" % (qid, uid))


def test_sendmail_dedup_and_dot_i(inst):
    inst.start()
    _sendmail(inst, ["-i", "root", "root", "bob@example.org"],
              b"Subject: plain\r\n\r\nbody2\r\n.\r\nstill body\r\n")
    (path,) = _wait_incoming(inst, 1)
    recs = read_records(path)
    assert envelope(recs, "R") == ["root@mail.example.com", "bob@example.org"]
    assert message_text(recs).endswith("\nbody2\n.\nstill body\n")


def test_submission_while_stopped(inst):
    """Mail waits in maildrop while the system is down, is picked up at start."""
    inst.start()
    inst.stop()
    _sendmail(inst, ["root"], b"Subject: while stopped\n\nx\n")
    drop = os.listdir(os.path.join(inst.queue_dir, "maildrop"))
    assert len(drop) == 1
    assert queue_files(inst) == []
    inst.start()
    (path,) = _wait_incoming(inst, 1)
    assert "Subject: while stopped" in message_text(read_records(path))
    wait_until(lambda: os.listdir(os.path.join(inst.queue_dir, "maildrop")) == [],
               what="maildrop to empty")


def test_no_recipients(inst):
    r = _sendmail(inst, [], b"x\n", check=False)
    assert r.returncode == 64
    assert b"sendmail: fatal: Recipient addresses must be specified on the command line " \
        b"or via the -t option" in r.stderr


def test_sendmail_bs(inst):
    inst.start()
    r = _sendmail(inst, ["-bs"], b"EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<root>\r\n"
                  b"DATA\r\nSubject: bs\r\n\r\nhello\r\n.\r\nQUIT\r\n")
    out = r.stdout.decode()
    assert out.startswith("220 mail.example.com ESMTP Postfix\r\n")
    assert re.search(r"250 2\.0\.0 Ok: queued as \w+\r\n221 2\.0\.0 Bye\r\n$", out), out
    (path,) = _wait_incoming(inst, 1)
    recs = read_records(path)
    assert envelope(recs, "S") == ["a@example.com"]
    assert "Subject: bs" in message_text(recs)


def test_newaliases(inst):
    r = subprocess.run([bin_path("newaliases"), "-C", inst.dir], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert any(f.startswith("aliases.") for f in os.listdir(inst.dir)), os.listdir(inst.dir)


def test_end_to_end_with_qmgr_and_mailq():
    """smtpd and pickup files are read by qmgr (the queue-file contract) and delivered."""
    import smtplib
    from postern import bin_path as bp
    if not all(os.path.exists(bp(p)) for p in ("qmgr", "discard", "postqueue")):
        pytest.skip("qmgr/discard/postqueue not built")
    i = make_instance(extra_main={"default_transport": "discard", "local_transport": "discard"},
                      extra_master="qmgr unix n - n 300 1 qmgr\ndiscard unix - - n - - discard\n")
    try:
        i.start()
        s = smtplib.SMTP("127.0.0.1", i.smtp_port)
        s.ehlo("client.example")
        s.sendmail("a@example.com", ["root@localhost", "b@example.org"], b"Subject: q\r\n\r\nhi\r\n")
        s.quit()
        _sendmail(i, ["-f", "z", "root"], b"Subject: sm\n\nx\n")
        i.wait_log(r"qmgr\[\d+\]: \w+: from=<a@example\.com>, size=\d+, nrcpt=2 \(queue active\)")
        i.wait_log(r"qmgr\[\d+\]: \w+: from=<z@mail\.example\.com>, size=\d+, nrcpt=1 \(queue active\)")
        wait_until(lambda: len(re.findall(r"qmgr\[\d+\]: \w+: removed", i.log())) == 2,
                   what="both messages delivered")
        r = subprocess.run([bin_path("sendmail"), "-C", i.dir, "-bp"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and "Mail queue is empty" in r.stdout
    finally:
        i.stop()
        i.cleanup()
