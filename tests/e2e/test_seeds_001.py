"""Seed 001 (CentOS Postfix assignment): main.cf edits (myhostname,
mydomain, myorigin, inet_interfaces, mydestination, mynetworks_style,
mynetworks), postfix check / reload / status, postconf -n, relaying for the
local network, an alias for root, sending with netcat and reading maillog,
the root mail spool created by hand.
Expected texts: Debian Postfix 3.7 doing the same (mail_name -> 'postern')."""
import os
import re

import pytest

from seeds_lib import ME, QID, Session, instance, local_log, mbox, postern, write_aliases

HOST = "jdoe.centos7"
USER = "nobody" if postern.IS_ROOT else ME   # "the user you created"

# The assignment's edits, with loopback standing in for the classroom network.
EDITS = {"myhostname": HOST, "mydomain": "centos7", "myorigin": "$mydomain",
         "mydestination": "$myhostname, localhost.$mydomain, localhost",
         "mynetworks_style": "subnet", "mynetworks": "127.0.0.1/32"}


def assignment(make_instance):
    inst = instance(make_instance, hostname=HOST, aliases="root: %s\n" % USER, **EDITS)
    return inst


def test_postfix_check_reload_status_and_postconf_n(make_instance):
    inst = assignment(make_instance)
    r = inst.postfix("check", check=False)
    assert r.returncode == 0
    # Only services not built yet are reported (Postfix: no output at all).
    assert [l for l in r.stderr.splitlines() if "missing program" not in l] == [], r.stderr
    inst.start()
    r = inst.postfix("status", check=False)
    assert r.returncode == 0
    assert re.fullmatch(r"postfix/postfix-script: the Postfix mail system is running: PID: %d\n"
                        % inst.master_pid(), r.stderr), r.stderr
    r = inst.postfix("reload")
    assert "postfix/postfix-script: refreshing the Postfix mail system\n" in r.stderr
    lines = inst.postconf("-n").splitlines()
    assert lines == sorted(lines)
    for name, value in EDITS.items():
        assert "%s = %s" % (name, value) in lines
    assert "mynetworks_style = subnet" in lines


def test_relay_for_trusted_network_only(make_instance):
    inst = assignment(make_instance)
    inst.start()
    s = Session(inst.smtp_port)                      # inside mynetworks
    got = [s.cmd(c) for c in ("HELO client.centos7", "MAIL FROM:<jdoe@centos7>",
                              "RCPT TO:<dennis.kibbe@mesacc.edu>", "QUIT")]
    s.close()
    assert got == ["250 jdoe.centos7", "250 2.1.0 Ok", "250 2.1.5 Ok", "221 2.0.0 Bye"]
    s = Session(inst.smtp_port, source="127.0.0.9")  # outside
    got = [s.cmd(c) for c in ("HELO client.elsewhere", "MAIL FROM:<x@elsewhere.test>",
                              "RCPT TO:<dennis.kibbe@mesacc.edu>", "RCPT TO:<root@jdoe.centos7>",
                              "QUIT")]
    s.close()
    assert got == ["250 jdoe.centos7", "250 2.1.0 Ok",
                   "454 4.7.1 <dennis.kibbe@mesacc.edu>: Relay access denied",
                   "250 2.1.5 Ok", "221 2.0.0 Bye"]


def test_remote_delivery_needs_smtp_client(make_instance):
    pytest.skip("delivering to dennis.kibbe@mesacc.edu needs the smtp(8) client (not built yet)")


def test_netcat_mail_to_root_alias_and_maillog(make_instance):
    inst = assignment(make_instance)
    inst.start()
    s = Session(inst.smtp_port)
    for c in ("HELO jdoe.centos7", "MAIL FROM:<jdoe@centos7>", "RCPT TO:<root@localhost>"):
        assert s.cmd(c).startswith("250")
    _, queued = s.data("Subject: netcat\n\nSending Email with Netcat\n")
    assert s.cmd("QUIT") == "221 2.0.0 Bye"
    s.close()
    qid = re.fullmatch(r"250 2\.0\.0 Ok: queued as (%s)" % QID, queued).group(1)
    # With the assignment's settings the alias target is qualified with
    # myorigin ($mydomain = centos7), which is not in mydestination: local
    # forwards the message (Postfix logs exactly this too). The forwarded
    # copy's own delivery line may come before or after this one.
    m = inst.wait_log(r" postfix/local\[\d+\]: %s: to=<root@localhost>, relay=local, "
                      r"delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent "
                      r"\(forwarded as (%s)\)$" % (qid, QID))
    assert m
    assert re.search(r" postfix/smtpd\[\d+\]: %s: client=localhost\[127\.0\.0\.1\]$" % qid,
                     inst.log(), re.M)
    inst.wait_log(r" postfix/qmgr\[\d+\]: %s: from=<jdoe@centos7>, size=\d+, nrcpt=1 "
                  r"\(queue active\)$" % m.group(1))


def test_netcat_mail_to_local_user_lands_in_mailbox(make_instance):
    inst = assignment(make_instance)
    write_aliases(inst, "root: %s@localhost\n" % USER)
    inst.start()
    s = Session(inst.smtp_port)
    for c in ("HELO jdoe.centos7", "MAIL FROM:<jdoe@centos7>", "RCPT TO:<root@jdoe.centos7>"):
        assert s.cmd(c).startswith("250")
    s.data("Subject: netcat\n\nSending Email with Netcat\n")
    s.cmd("QUIT")
    log = local_log(inst, 1)
    assert re.search(r" to=<%s@localhost>, orig_to=<root@jdoe\.centos7>, relay=local, .* "
                     r"status=sent \(delivered to mailbox\)$" % USER, log[0]), log
    assert "\n\nSending Email with Netcat\n\n" in mbox(inst, USER)


def test_hand_made_root_spool_keeps_its_mode(make_instance):
    if not postern.IS_ROOT:
        pytest.skip("root's mail spool: root only")
    inst = instance(make_instance, hostname=HOST, aliases="postmaster: root\n", **EDITS)
    spool = os.path.join(inst.mail_dir, "root")
    open(spool, "w").close()                         # touch /var/spool/mail/root
    os.chmod(spool, 0o660)                           # chmod 0660 /var/spool/mail/root
    inst.start()
    inst.cmd("sendmail", "root@localhost", input="Subject: r\n\nfor root\n")
    local_log(inst, 1)
    assert os.stat(spool).st_mode & 0o777 == 0o660
    assert open(spool).read().endswith("\n\nfor root\n\n")
