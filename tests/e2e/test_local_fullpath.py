"""Local delivery through the whole path: SMTP -> smtpd -> qmgr -> local.

The seed labs (seed 000 investigations 3 and 5, seed 002's root alias read
with mail(1)) run against a complete scratch instance. Skipped until smtpd
and qmgr are built in this tree.
"""
import glob
import os
import pwd
import smtplib
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import localagent as la  # noqa: E402
from postern import BIN, Instance, wait_until  # noqa: E402

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, p)) for p in ("smtpd", "qmgr", "local", "master")),
    reason="needs smtpd, qmgr, local and master")


@pytest.fixture
def inst():
    i = Instance(main_cf={"alias_maps": "hash:$config_directory/aliases",
                          "alias_database": "hash:$config_directory/aliases",
                          "myorigin": "$myhostname"})
    i.home = os.path.join(i.dir, "home")
    os.makedirs(i.home)
    os.chmod(i.home, 0o755)
    i.users = la.test_users()
    if la.IS_ROOT:
        for u in i.users:
            la.ensure_user(u, i.home)
            h = os.path.join(i.home, u)
            os.makedirs(h, exist_ok=True)
            pw = pwd.getpwnam(u)
            os.chown(h, pw.pw_uid, pw.pw_gid)
            la.set_home(u, h)
    yield i
    i.stop()
    i.cleanup()


def aliases(inst, text):
    text = text.replace("pt6alice", inst.users[0]).replace("pt6bob", inst.users[1])
    path = os.path.join(inst.dir, "aliases")
    with open(path, "w") as f:
        f.write(text)
    r = inst.cmd("postalias", "-c", inst.dir, path)
    assert r.returncode == 0, r.stderr


def send(inst, sender, rcpts, body):
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    s.sendmail(sender, rcpts, body)
    s.quit()


def wait_sent(inst, count, timeout=20):
    wait_until(lambda: len([l for l in inst.log_lines() if "postfix/local[" in l and
                            "status=" in l]) >= count, timeout=timeout, what="deliveries")
    return [l for l in inst.log_lines() if "postfix/local[" in l and "status=" in l]


def test_seed000_mailing_list_and_files(inst):
    out = os.path.join(inst.dir, "tmp")           # stands in for /tmp
    os.makedirs(out)
    os.chmod(out, 0o1777)
    aliases(inst, "smtp-lab:    pt6alice,pt6bob\n"
            'rchan:       "%s/ops535.mail"\nops535:      "%s/rchan.mail"\n' % (out, out))
    inst.start()
    send(inst, "instructor@mx.postern.test", ["smtp-lab@mx.postern.test"],
         "Subject: lab\r\n\r\nhello list\r\n")
    n = 2 if la.IS_ROOT else 1
    log = wait_sent(inst, n)
    assert all("orig_to=<smtp-lab@mx.postern.test>, relay=local" in l for l in log)
    assert all("status=sent (delivered to mailbox)" in l for l in log)
    for u in set(inst.users):
        with open(os.path.join(inst.mail_dir, u)) as f:
            assert "X-Original-To: smtp-lab@mx.postern.test" in f.read()
    body = "Postfix is a Mail Transport Agent (MTA),\r\nsupporting LDAP, SMTP AUTH (SASL), TLS\r\n"
    send(inst, "instructor@mx.postern.test", ["ops535@mx.postern.test"], body)
    send(inst, "instructor@mx.postern.test", ["rchan@mx.postern.test"], body)
    log = wait_sent(inst, n + 2)
    assert any("to=<ops535@mx.postern.test>" in l and
               "delivered to file: %s/rchan.mail" % out in l for l in log)
    for name in ("ops535.mail", "rchan.mail"):
        p = os.path.join(out, name)
        st = os.stat(p)
        assert st.st_mode & 0o777 == 0o600
        if la.IS_ROOT:
            assert st.st_uid == pwd.getpwnam("nobody").pw_uid
        text = open(p).read()
        assert text.startswith("From instructor@mx.postern.test  ")
        assert text.endswith("supporting LDAP, SMTP AUTH (SASL), TLS\n\n")


def test_seed002_root_alias_mbox(inst):
    aliases(inst, "root: pt6alice\n")
    inst.start()
    send(inst, "root@mx.postern.test", ["root@mx.postern.test"],
         "To: root@mx.postern.test\r\nSubject: test\r\nFrom: root@mx.postern.test (root)\r\n"
         "\r\nThis is a test\r\n")
    log = wait_sent(inst, 1)
    user = inst.users[0]
    assert ("to=<%s@mx.postern.test>, orig_to=<root@mx.postern.test>, relay=local" % user) in log[0]
    assert "dsn=2.0.0, status=sent (delivered to mailbox)" in log[0]
    box = open(os.path.join(inst.mail_dir, user)).read().split("\n")
    assert box[0].startswith("From root@mx.postern.test  ")
    assert box[1:4] == ["Return-Path: <root@mx.postern.test>",
                        "X-Original-To: root@mx.postern.test",
                        "Delivered-To: root@mx.postern.test"]
    assert box[-3:] == ["This is a test", "", ""]


@pytest.mark.skipif(not la.IS_ROOT, reason="home_mailbox needs a home we may write")
def test_maildir_user(inst):
    aliases(inst, "postmaster: root\n")
    inst.set_params(home_mailbox="Maildir/")
    inst.start()
    for i in range(5):
        send(inst, "s@example.org", ["%s@mx.postern.test" % inst.users[0]],
             "Subject: m%d\r\n\r\nbody\r\n" % i)
    wait_sent(inst, 5)
    files = glob.glob(os.path.join(inst.home, inst.users[0], "Maildir", "new", "*"))
    assert len(files) == 5
    wait_until(lambda: not glob.glob(os.path.join(inst.queue_dir, "active", "*")),
               what="queue to empty")


def _postdrop_usable():
    return os.path.exists(os.path.join(BIN, "postdrop"))


@pytest.mark.skipif(not os.path.exists(os.path.join(BIN, "sendmail")) or
                    not os.path.exists(os.path.join(BIN, "pickup")) or not _postdrop_usable(),
                    reason="needs sendmail, pickup and a usable postdrop")
def test_seed000_inv5_sendmail_to_file_aliases(inst):
    """/usr/sbin/sendmail -v ops535 < test.mesg, as the lab does."""
    out = os.path.join(inst.dir, "tmp")
    os.makedirs(out)
    os.chmod(out, 0o1777)
    aliases(inst, 'rchan:       "%s/ops535.mail"\nops535:      "%s/rchan.mail"\n' % (out, out))
    inst.start()
    mesg = "Postfix is a Mail Transport Agent (MTA),\nsupporting LDAP, SMTP AUTH (SASL), TLS\n"
    for rcpt in ("ops535", "rchan"):
        r = inst.cmd("sendmail", "-v", rcpt, input=mesg)
        assert r.returncode == 0, r.stderr
    # sendmail -v also has a delivery report mailed back to the sender, and
    # its local delivery logs status= too: wait for the two deliveries
    # themselves (each of their lines, not a count of status lines).
    want = [("to=<ops535@mx.postern.test>, orig_to=<ops535>, relay=local",
             "status=sent (delivered to file: %s/rchan.mail)" % out),
            ("to=<rchan@mx.postern.test>, orig_to=<rchan>, relay=local",
             "status=sent (delivered to file: %s/ops535.mail)" % out)]

    def delivered():
        log = [l for l in inst.log_lines() if "postfix/local[" in l and "status=" in l]
        return all(any(a in l and b in l for l in log) for a, b in want)
    wait_until(delivered, timeout=20, what="both file deliveries")
    for name, rcpt in (("rchan.mail", "ops535"), ("ops535.mail", "rchan")):
        text = open(os.path.join(out, name)).read().split("\n")
        assert text[1:4] == ["Return-Path: <%s@mx.postern.test>" % pwd.getpwuid(os.getuid()).pw_name,
                             "X-Original-To: %s" % rcpt, "Delivered-To: %s@mx.postern.test" % rcpt]
        assert text[-4:] == ["Postfix is a Mail Transport Agent (MTA),",
                             "supporting LDAP, SMTP AUTH (SASL), TLS", "", ""]
        if la.IS_ROOT:
            st = os.stat(os.path.join(out, name))
            assert (st.st_uid, st.st_mode & 0o777) == (pwd.getpwnam("nobody").pw_uid, 0o600)


@pytest.mark.skipif(not os.path.exists("/usr/bin/s-nail") or
                    not os.path.exists(os.path.join(BIN, "sendmail")) or not _postdrop_usable(),
                    reason="needs s-nail, sendmail and a usable postdrop")
def test_seed002_mail_s_to_root_alias(inst):
    """echo "This is a test" | mail -s "test" root@..., then read with mail."""
    aliases(inst, "root: pt6alice\n")
    inst.start()
    home = os.path.join(inst.dir, "mailrc")
    os.makedirs(home)
    env = {"MAILRC": "/dev/null", "HOME": home}
    r = subprocess.run(["s-nail", "-s", "test", "-S", "mta=%s" % os.path.join(BIN, "sendmail"),
                        "root@mx.postern.test"], input="This is a test\n", text=True,
                       capture_output=True, env=inst.env(env))
    assert r.returncode == 0, r.stderr
    log = wait_sent(inst, 1)
    user = inst.users[0]
    assert ("to=<%s@mx.postern.test>, orig_to=<root@mx.postern.test>, relay=local" % user) in log[0]
    box = os.path.join(inst.mail_dir, user)
    text = open(box).read()
    assert "\nX-Original-To: root@mx.postern.test\nDelivered-To: root@mx.postern.test\n" in text
    assert "\nSubject: test\n" in text and text.endswith("\n\nThis is a test\n\n")
    r = subprocess.run(["s-nail", "-N", "-H", "-f", box], capture_output=True, text=True,
                       env=inst.env(env))
    heads = r.stdout.strip().splitlines()
    assert len(heads) == 1 and heads[0].rstrip().endswith("test"), heads


def test_seed000_inv3_expn_vrfy(inst):
    """The lab's SMTP table: EXPN is not offered, VRFY answers from the local
    recipient table (passwd + aliases), in agreement with where local
    delivers (the alias expands; an unknown name bounces as unknown user)."""
    aliases(inst, "ops535m: pt6alice,pt6bob\nsmtp-lab:    pt6alice,pt6bob\n")
    inst.start()
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    s.helo("seneca.ops")
    assert s.docmd("EXPN ops535m") == (500, b"5.5.2 Error: command not recognized")
    assert s.docmd("VRFY ops535m") == (252, b"2.0.0 ops535m")
    assert s.docmd("VRFY smtp-lab") == (252, b"2.0.0 smtp-lab")
    code, text = s.docmd("VRFY nosuchuser")
    assert code == 550 and b"User unknown in local recipient table" in text
    s.quit()
