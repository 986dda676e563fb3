"""Seed 002 (LFCS prep, "Configure an SMTP mail service"): postconf -e and
queries, an alias for root rebuilt with postalias, HELO/sender/recipient
restrictions, postfix check, mail(1) to root read back from the mailbox, the
maillog lines, mailq and postfix flush.
Expected texts: Debian Postfix 3.7 doing the same (mail_name -> 'postern')."""
import os
import re

import pytest

from seeds_lib import ME, QID, Session, instance, local_log, postern, sendmail

HOST = "centos.example.com"
# As root the alias points at another account (the blog's nixhat); an
# ordinary user can only receive mail themselves.
TARGET = "nobody" if postern.IS_ROOT else ME


def lfcs(make_instance, **params):
    p = {"mydomain": "example.com",
         "mydestination": "$myhostname, localhost.$mydomain, localhost, $mydomain"}
    p.update(params)
    return instance(make_instance, hostname=HOST, aliases="root: %s\n" % TARGET, **p)


def test_postconf_e_and_queries(make_instance):
    inst = lfcs(make_instance)
    r = inst.cmd("postconf", "-e", "myorigin=$mydomain")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert inst.postconf("myorigin") == "myorigin = $mydomain\n"
    assert "\nmyorigin = $mydomain\n" in open(os.path.join(inst.dir, "main.cf")).read()
    inst.cmd("postconf", "-e", "inet_interfaces = 127.0.0.1, localhost",
             "mynetworks = 192.168.217.0/24 127.0.0.0/8 [::1]/128")
    assert inst.postconf("inet_interfaces") == "inet_interfaces = 127.0.0.1, localhost\n"
    assert inst.postconf("mydestination") == \
        "mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain\n"
    assert inst.postconf("mynetworks") == \
        "mynetworks = 192.168.217.0/24 127.0.0.0/8 [::1]/128\n"
    # Without arguments postconf shows every parameter.
    everything = inst.postconf()
    assert len(everything.splitlines()) > 500
    assert "\nmyorigin = $mydomain\n" in everything
    assert "\nrelayhost =\n" in everything


def test_postalias_rebuilds_alias_db(make_instance):
    inst = lfcs(make_instance)
    path = os.path.join(inst.dir, "aliases")
    with open(path, "a") as f:
        f.write("username: alias\n")
    r = inst.cmd("postalias", path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert inst.cmd("postalias", "-q", "root", "hash:" + path).stdout == TARGET + "\n"
    assert inst.cmd("postalias", "-q", "username", "hash:" + path).stdout == "alias\n"


def restricted(make_instance):
    inst = lfcs(make_instance, mynetworks="127.0.0.1/32", smtpd_helo_required="yes",
                smtpd_helo_restrictions="permit_mynetworks, reject_invalid_helo_hostname",
                smtpd_sender_restrictions="permit_mynetworks, reject_unknown_sender_domain",
                smtpd_recipient_restrictions="permit_mynetworks, reject_unauth_destination")
    r = inst.postfix("check", check=False)
    assert r.returncode == 0
    assert not [l for l in r.stderr.splitlines() if "missing program" not in l], r.stderr
    inst.start()
    return inst


def test_restrictions_outside_mynetworks(make_instance):
    inst = restricted(make_instance)
    s = Session(inst.smtp_port, source="127.0.0.5")
    got = [s.cmd(c) for c in (
        "MAIL FROM:<root@example.com>", "HELO bad_host!", "MAIL FROM:<root@example.com>",
        "RCPT TO:<root@example.com>", "RSET", "HELO good.example.com",
        "MAIL FROM:<root@example.com>", "RCPT TO:<x@remote.test>", "RCPT TO:<root@example.com>",
        "QUIT")]
    s.close()
    assert got == [
        "503 5.5.1 Error: send HELO/EHLO first",
        "250 centos.example.com",
        "250 2.1.0 Ok",
        "501 5.5.2 <bad_host!>: Helo command rejected: Invalid name",
        "250 2.0.0 Ok",
        "250 centos.example.com",
        "250 2.1.0 Ok",
        # Debian's default smtpd_relay_restrictions (defer_unauth_destination)
        # answer before smtpd_recipient_restrictions.
        "454 4.7.1 <x@remote.test>: Relay access denied",
        "250 2.1.5 Ok",
        "221 2.0.0 Bye",
    ]
    inst.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.5\]: 501 5\.5\.2 <bad_host!>: "
                  r"Helo command rejected: Invalid name; from=<root@example\.com> "
                  r"to=<root@example\.com> proto=SMTP helo=<bad_host!>$")
    inst.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.5\]: 454 4\.7\.1 "
                  r"<x@remote\.test>: Relay access denied; from=<root@example\.com> "
                  r"to=<x@remote\.test> proto=SMTP helo=<good\.example\.com>$")


def test_restrictions_inside_mynetworks(make_instance):
    inst = restricted(make_instance)
    s = Session(inst.smtp_port)
    got = [s.cmd(c) for c in ("HELO bad_host!", "MAIL FROM:<a@example.com>",
                              "RCPT TO:<x@remote.test>", "QUIT")]
    s.close()
    assert got == ["250 centos.example.com", "250 2.1.0 Ok", "250 2.1.5 Ok", "221 2.0.0 Bye"]


MAILX = ("Date: Sat, 17 Feb 2018 18:08:09 +0200\nTo: root@example.com\nSubject: test\n"
         "User-Agent: Heirloom mailx 12.5 7/5/10\nMIME-Version: 1.0\n"
         "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n"
         "\nThis is a test\n")


def mail_to_root(make_instance):
    inst = lfcs(make_instance, myorigin="$mydomain")
    inst.start()
    # echo "This is a test" | mail -s "test" root@example.com  (mailx runs sendmail -i)
    r = sendmail(inst, "-i", "--", "root@example.com", input=MAILX)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    log = local_log(inst, 1)
    return inst, log


def test_mail_to_root_lands_in_aliased_mailbox(make_instance):
    inst, log = mail_to_root(make_instance)
    m = re.search(r"postfix/local\[\d+\]: (%s): to=<%s@example\.com>, orig_to=<root@example\.com>, "
                  r"relay=local, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, "
                  r"status=sent \(delivered to mailbox\)$" % (QID, TARGET), log[0])
    assert m, log
    qid = m.group(1)
    box = open(os.path.join(inst.mail_dir, TARGET)).read()
    uid = os.getuid()
    pat = (r"From {me}@example\.com  \w{{3}} \w{{3}} [ \d]\d \d\d:\d\d:\d\d \d{{4}}\n"
           r"Return-Path: <{me}@example\.com>\n"
           r"X-Original-To: root@example\.com\n"
           r"Delivered-To: root@example\.com\n"
           r"Received: by centos\.example\.com \(postern, from userid {uid}\)\n"
           r"\tid {qid}; \w{{3}}, [ \d]?\d \w{{3}} \d{{4}} \d\d:\d\d:\d\d [+-]\d{{4}} \(\w+\)\n"
           r"Date: Sat, 17 Feb 2018 18:08:09 \+0200\n"
           r"To: root@example\.com\n"
           r"Subject: test\n"
           r"User-Agent: Heirloom mailx 12\.5 7/5/10\n"
           r"MIME-Version: 1\.0\n"
           r"Content-Type: text/plain; charset=us-ascii\n"
           r"Content-Transfer-Encoding: 7bit\n"
           r"Message-Id: <\d{{14}}\.{qid}@centos\.example\.com>\n"
           r"From: .* <{me}@example\.com>\n"
           r"\n"
           r"This is a test\n"
           r"\n$").format(me=re.escape(ME), uid=uid, qid=qid)
    assert re.match(pat, box), box


def test_maillog_lines_for_the_message(make_instance):
    inst, log = mail_to_root(make_instance)
    text = inst.log()
    qid = re.search(r"(%s): to=" % QID, log[0]).group(1)
    assert re.search(r"postfix/pickup\[\d+\]: %s: uid=%d from=<%s>$" % (qid, os.getuid(), ME),
                     text, re.M)
    assert re.search(r"postfix/qmgr\[\d+\]: %s: from=<%s@example\.com>, size=\d+, nrcpt=1 "
                     r"\(queue active\)$" % (qid, ME), text, re.M)
    inst.wait_log(r"postfix/qmgr\[\d+\]: %s: removed$" % qid)


def test_maillog_message_id_line_is_from_cleanup(make_instance):
    inst, log = mail_to_root(make_instance)
    qid = re.search(r"(%s): to=" % QID, log[0]).group(1)
    assert re.search(r"postfix/cleanup\[\d+\]: %s: message-id=<\d{14}\.%s@centos\.example\.com>$"
                     % (qid, qid), inst.log(), re.M)


def test_mailq_and_postfix_flush(make_instance):
    inst, _ = mail_to_root(make_instance)
    assert inst.cmd("mailq").stdout == "Mail queue is empty\n"
    r = inst.postfix("flush", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def _listen(make_instance, interfaces):
    port = postern.free_port()
    inst = make_instance(master_cf="%d inet n - n - - smtpd\n"
                                   "postlog unix-dgram n - n - 1 postlogd\n" % port,
                         main_cf={"inet_interfaces": interfaces}, hostname=HOST)
    return inst, port


def test_inet_interfaces_address_and_localhost(make_instance):
    # The blog: "inet_interfaces = 192.168.217.131, localhost" (127.0.0.2 here).
    inst, port = _listen(make_instance, "127.0.0.2, localhost")
    inst.start()
    for addr in ("127.0.0.1", "127.0.0.2"):
        s = Session(port, host=addr)
        assert s.banner == "220 centos.example.com ESMTP postern"
        s.close()


def test_inet_interfaces_duplicate_address(make_instance):
    inst, port = _listen(make_instance, "127.0.0.1, localhost")
    r = inst.postfix("start", check=False)
    assert r.returncode == 0, r.stderr
    s = Session(port)
    assert s.banner == "220 centos.example.com ESMTP postern"
    s.close()
