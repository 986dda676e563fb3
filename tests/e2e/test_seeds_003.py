"""Seed 003 (lecture notes "Email and Postfix"): the telnet SMTP session, an
ESMTP session with pipelining/SIZE/ORCPT, bounces, the quickstart commands,
mbox/Maildir and .forward, main.cf syntax, lookup tables (postmap, canonical
maps), the aliases file and its destination types, the queue tools, relay
domains for a backup MX, rewriting (canonical, masquerading, relocated,
virtual alias domains) and transport maps.
Expected texts: Debian Postfix 3.7 doing the same (mail_name -> 'postern')."""
import os
import re

import pytest

from seeds_lib import (ME, QID, Session, instance, local_log, mbox, postern, queue_ids,
                       sendmail, write_aliases)
from postern import wait_until

HOST = "mail.example.com"
ROOTLIKE = "nobody" if postern.IS_ROOT else ME   # who reads root's mail


def notes(make_instance, aliases=None, **params):
    p = {"mydomain": "example.com", "myorigin": "$mydomain",
         "mydestination": "$myhostname, localhost.$mydomain, localhost, $mydomain"}
    p.update(params)
    return instance(make_instance, hostname=HOST,
                    aliases=aliases or "postmaster: root\nroot: %s\n" % ROOTLIKE, **p)


def test_telnet_session_queues_message(make_instance):
    inst = notes(make_instance)
    inst.start()
    s = Session(inst.smtp_port)
    assert s.banner == "220 mail.example.com ESMTP postern"
    got = [s.cmd(c) for c in ("HELO mail.oreilly.com", "MAIL FROM:<info@oreilly.com>",
                              "RCPT TO:<kdent@example.com>", "RCPT TO:<root@example.com>")]
    r354, r250 = s.data("Date: Mon, 8 Apr 2003 15:38:21 -0500\n"
                        "From: Customer Service <info@oreilly.com>\nTo: <kdent@example.com>\n"
                        "Reply-To: <service@oreilly.com>\n"
                        "Message-ID: <01a4e2238200842@mail.oreilly.com>\n"
                        "Subject: Have you read RFC 2822?\n\n"
                        "This is the start of the body of the message. It could continue for "
                        "many lines, but it doesn't.\n")
    bye = s.cmd("quit")
    s.close()
    assert got == ["250 mail.example.com", "250 2.1.0 Ok",
                   "550 5.1.1 <kdent@example.com>: Recipient address rejected: User unknown in "
                   "local recipient table",
                   "250 2.1.5 Ok"]
    assert r354 == "354 End data with <CR><LF>.<CR><LF>"
    qid = re.fullmatch(r"250 2\.0\.0 Ok: queued as (%s)" % QID, r250).group(1)
    assert bye == "221 2.0.0 Bye"
    log = local_log(inst, 1)
    assert "%s: to=<%s@example.com>, orig_to=<root@example.com>" % (qid, ROOTLIKE) in log[0]
    box = mbox(inst, ROOTLIKE)
    assert re.search(r"\nReceived: from mail\.oreilly\.com \(localhost \[127\.0\.0\.1\]\)\n"
                     r"\tby mail\.example\.com \(postern\) with SMTP id %s\n"
                     r"\tfor <root@example\.com>; .*\n"
                     r"Date: Mon, 8 Apr 2003 15:38:21 -0500\n" % qid, box), box


def test_esmtp_pipelined_session(make_instance):
    inst = notes(make_instance)
    inst.start()
    s = Session(inst.smtp_port)
    assert s.cmd("EHLO mail.cgrl.edu") == "\n".join([
        "250-mail.example.com", "250-PIPELINING", "250-SIZE 10240000", "250-VRFY", "250-ETRN",
        "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN", "250-SMTPUTF8", "250 CHUNKING"])
    s.send("MAIL FROM:<root@dip.cgrl.edu> SIZE=593\r\n"
           "RCPT TO:<root@example.com> ORCPT=rfc822;all@cgrl.edu\r\nDATA\r\n")
    assert [s.reply() for _ in range(3)] == ["250 2.1.0 Ok", "250 2.1.5 Ok",
                                            "354 End data with <CR><LF>.<CR><LF>"]
    s.send("To: all@cgrl.edu\r\nSubject: mail x tutti\r\n\r\nAdunata!\r\n.\r\nQUIT\r\n")
    qid = re.fullmatch(r"250 2\.0\.0 Ok: queued as (%s)" % QID, s.reply()).group(1)
    assert s.reply() == "221 2.0.0 Bye"
    s.close()
    local_log(inst, 1)
    assert re.search(r"X-Original-To: root@example\.com\nDelivered-To: root@example\.com\n"
                     r"Received: from mail\.cgrl\.edu \(localhost \[127\.0\.0\.1\]\)\n"
                     r"\tby mail\.example\.com \(postern\) with ESMTP id %s\n"
                     r"\tfor <root@example\.com>; .*\nTo: all@cgrl\.edu\nSubject: mail x tutti\n"
                     r"Message-Id: <\d{14}\.%s@mail\.example\.com>\nDate: .*\n"
                     r"From: root@dip\.cgrl\.edu\n\nAdunata!\n\n$" % (qid, qid),
                     mbox(inst, ROOTLIKE))


def test_bounce_for_unknown_local_user(make_instance):
    inst = notes(make_instance)
    inst.start()
    r = sendmail(inst, "-f", "%s@example.com" % ME, "nope@example.com",
                 input="Subject: hi\n\nhello\n")
    assert r.returncode == 0, r.stderr
    log = local_log(inst, 2)
    assert re.search(r"to=<nope@example\.com>, relay=local, .*dsn=5\.1\.1, status=bounced "
                     r"\(unknown user: \"nope\"\)$", log[0]), log
    local_log(inst, 2)
    box = mbox(inst, ROOTLIKE if ME == "root" else ME)
    assert "\nFrom: Mail Delivery System <MAILER-DAEMON@" in box
    assert "\nSubject: Undelivered Mail Returned to Sender\n" in box
    assert "This is the mail system at host mail.example.com.\n" in box
    assert "<nope@example.com>: unknown user: \"nope\"\n" in box


def test_bounce_from_uses_myorigin(make_instance):
    inst = notes(make_instance)
    inst.start()
    sendmail(inst, "-f", "%s@example.com" % ME, "nope@example.com", input="Subject: hi\n\nhello\n")
    local_log(inst, 2)
    box = mbox(inst, ROOTLIKE if ME == "root" else ME)
    assert "\nFrom: Mail Delivery System <MAILER-DAEMON@example.com>\n" in box


def test_bounce_log_lines(make_instance):
    inst = notes(make_instance)
    inst.start()
    sendmail(inst, "-f", "%s@example.com" % ME, "nope@example.com", input="Subject: hi\n\nhello\n")
    local_log(inst, 2)
    m = re.search(r"postfix/bounce\[\d+\]: %s: sender non-delivery notification: (%s)$"
                  % (QID, QID), inst.log(), re.M)
    assert m
    assert re.search(r"postfix/cleanup\[\d+\]: %s: message-id=<\d{14}\.%s@mail\.example\.com>$"
                     % (m.group(1), m.group(1)), inst.log(), re.M)


def _notice_logged(inst, kind, since=0):
    """Postfix 3.7's two lines for a notice: 'postfix/bounce[PID]: QID: sender KIND
    notification: NEWID' and 'postfix/cleanup[PID]: NEWID: message-id=<ID as in the
    notice's Message-Id: header>'. Returns (QID, NEWID)."""
    m = inst.wait_log(r"postfix/bounce\[\d+\]: (%s): sender %s notification: (%s)$"
                      % (QID, kind, QID), since=since)
    qid, nid = m.group(1), m.group(2)
    pat = re.compile(r"\nMessage-Id: (<\d{14}\.%s@mail\.example\.com>)\n" % nid)
    user = ROOTLIKE if ME == "root" else ME

    def delivered():
        try:
            return pat.search(mbox(inst, user))
        except FileNotFoundError:
            return None
    # the notice is logged when it is queued; wait for its delivery (retry
    # deferrals of the original may come first in the log)
    wait_until(delivered, timeout=20, what="the %s notice in the mailbox" % kind)
    hdr = delivered()
    assert hdr
    assert re.search(r"postfix/cleanup\[\d+\]: %s: message-id=%s$" % (nid, re.escape(hdr.group(1))),
                     inst.log(), re.M)
    assert not re.search(r"postfix/qmgr\[\d+\]: .*notification", inst.log())
    return qid, nid


def test_success_dsn_log_lines(make_instance):
    inst = notes(make_instance)
    inst.start()
    sendmail(inst, "-N", "success", "-f", "%s@example.com" % ME, "root",
             input="Subject: dsn\n\nhello\n")
    local_log(inst, 2)
    _notice_logged(inst, "delivery status")


def test_delay_notice_log_lines(make_instance):
    inst = notes(make_instance, transport_maps="texthash:$config_directory/transport",
                 delay_warning_time="1s", queue_run_delay="1s", minimal_backoff_time="1s",
                 maximal_backoff_time="2s")
    with open(os.path.join(inst.dir, "transport"), "w") as f:
        f.write("stud.cgri.edu retry:4.4.1 primary MX is down\n")
    inst.start()
    sendmail(inst, "-f", "%s@example.com" % ME, "root@stud.cgri.edu", input="Subject: d\n\nq\n")
    m = inst.wait_log(r"postfix/bounce\[\d+\]: %s: sender delay notification: " % QID)
    local_log(inst, 2)
    _notice_logged(inst, "delay")


def test_quickstart_commands(make_instance):
    inst = notes(make_instance)
    r = inst.cmd("postconf", "-e", "myhostname=cgri.edu")
    assert r.returncode == 0
    assert inst.postconf("myhostname") == "myhostname = cgri.edu\n"
    assert inst.cmd("newaliases").returncode == 0
    r = inst.postfix("start")
    assert "postfix/postfix-script: starting the Postfix mail system" in r.stderr
    r = inst.postfix("reload")
    assert "postfix/postfix-script: refreshing the Postfix mail system" in r.stderr
    r = inst.postfix("stop")
    assert "postfix/postfix-script: stopping the Postfix mail system" in r.stderr
    assert inst.cmd("postconf", "-l").stdout == "flock\nfcntl\ndotlock\n"
    assert inst.postconf("default_database_type") == "default_database_type = hash\n"
    maps = inst.cmd("postconf", "-m").stdout.split()
    for t in ("hash", "btree", "cdb", "cidr", "lmdb", "pcre", "regexp", "texthash", "static"):
        assert t in maps


def test_main_cf_syntax_continuation_and_variables(make_instance):
    inst = notes(make_instance)
    with open(os.path.join(inst.dir, "main.cf"), "a") as f:
        f.write("# a comment\nmydestination = $myhostname,\n    localhost.$mydomain,\n"
                "\t$mydomain\n")
    assert inst.postconf("mydestination") == \
        "mydestination = $myhostname, localhost.$mydomain, $mydomain\n"
    assert inst.postconf("-x", "mydestination") == \
        "mydestination = mail.example.com, localhost.example.com, example.com\n"


def test_canonical_lookup_table(make_instance):
    inst = notes(make_instance)
    path = os.path.join(inst.dir, "canonical")
    with open(path, "w") as f:
        f.write("#\nkdent@example.com kyle.dent@example.com\n")
    assert inst.cmd("postmap", path).returncode == 0
    assert os.path.exists(path + ".db")
    r = inst.cmd("postmap", "-q", "kdent@example.com", path)
    assert (r.returncode, r.stdout) == (0, "kyle.dent@example.com\n")
    r = inst.cmd("postmap", "-q", "nobody@example.com", path)
    assert (r.returncode, r.stdout) == (1, "")
    inst.set_params(canonical_maps="hash:" + path)
    write_aliases(inst, "postmaster: root\nkyle.dent: %s\n" % ROOTLIKE)
    inst.start()
    sendmail(inst, "-f", "kdent@example.com", "kdent@example.com",
             input="From: kdent@example.com\nTo: kdent@example.com\nSubject: c\n\nx\n")
    log = local_log(inst, 1)
    assert "to=<%s@example.com>, orig_to=<kdent@example.com>" % ROOTLIKE in log[0]
    assert re.search(r"qmgr\[\d+\]: %s: from=<kyle\.dent@example\.com>" % QID, inst.log())
    box = mbox(inst, ROOTLIKE)
    assert "\nFrom: kyle.dent@example.com\nTo: kyle.dent@example.com\n" in box


def test_canonical_recipient_accepted_by_smtpd(make_instance):
    inst = notes(make_instance, canonical_maps="texthash:$config_directory/canonical")
    with open(os.path.join(inst.dir, "canonical"), "w") as f:
        f.write("kdent@example.com kyle.dent@example.com\n")
    write_aliases(inst, "postmaster: root\nkyle.dent: %s\n" % ROOTLIKE)
    inst.start()
    s = Session(inst.smtp_port)
    got = [s.cmd(c) for c in ("HELO mail.oreilly.com", "MAIL FROM:<kdent@example.com>",
                              "RCPT TO:<kdent@example.com>", "QUIT")]
    s.close()
    assert got[2] == "250 2.1.5 Ok"


ALIASES = """# /etc/aliases
mailer-daemon: postmaster
postmaster: root
nobody: root
hostmaster: root
usenet: root
news: root
webmaster: root
www: root
ftp: root
abuse: root
noc: root
security: root
all: user1sld, user1dip@dip.cgri.edu, user1stud@stud.cgri.edu
#simple alias
kyle.dent: kdent, kdent@oreilly.com
"""


def test_aliases_file_sample(make_instance):
    inst = notes(make_instance)
    path = os.path.join(inst.dir, "aliases")
    with open(path, "w") as f:
        f.write(ALIASES)
    r = inst.cmd("postalias", path)
    assert (r.returncode, r.stderr) == (0, "")
    q = inst.cmd("postalias", "-q", "all", path)
    assert q.stdout == "user1sld, user1dip@dip.cgri.edu, user1stud@stud.cgri.edu\n"
    assert inst.cmd("postalias", "-q", "kyle.dent", path).stdout == \
        "kdent, kdent@oreilly.com\n"


def test_alias_destination_types(make_instance):
    inst = notes(make_instance)
    out = os.path.join(inst.dir, "out")
    os.makedirs(out)
    os.chmod(out, 0o1777)
    inc = os.path.join(inst.dir, "info_list")
    with open(inc, "w") as f:
        f.write("# list\ninfo-file\n")
    write_aliases(inst, "postmaster: root\n"
                        "info-file: %s/info_box\n"
                        'info-pipe: "|/bin/sh -c \'cat > %s/autoreply\'"\n'
                        "info: :include:%s\n" % (out, out, inc))
    inst.start()
    sendmail(inst, "info", "info-pipe", input="Subject: s\n\nbody\n")
    inst.wait_log(r"postfix/local\[\d+\]: %s: to=<info-file@example\.com>, "
                  r"orig_to=<info>, relay=local, .*status=sent "
                  r"\(delivered to file: %s/info_box\)$" % (QID, re.escape(out)))
    inst.wait_log(r"postfix/local\[\d+\]: %s: to=<info-pipe@example\.com>, orig_to=<info-pipe>, "
                  r"relay=local, .*status=sent \(delivered to command: /bin/sh -c 'cat > %s/"
                  r"autoreply'\)$" % (QID, re.escape(out)))
    assert open(os.path.join(out, "autoreply")).read().endswith("\n\nbody\n")
    assert open(os.path.join(out, "info_box")).read().endswith("\n\nbody\n\n")
    if postern.IS_ROOT:
        # "Postfix will not deliver mail as root ... runs it as nobody": files and
        # commands of root-owned aliases run with default_privs.
        import pwd
        nobody = pwd.getpwnam("nobody").pw_uid
        assert os.stat(os.path.join(out, "autoreply")).st_uid == nobody
        assert os.stat(os.path.join(out, "info_box")).st_uid == nobody


def test_include_member_alias_expanded_in_process(make_instance):
    inst = notes(make_instance)
    out = os.path.join(inst.dir, "out")
    os.makedirs(out)
    os.chmod(out, 0o1777)
    inc = os.path.join(inst.dir, "info_list")
    with open(inc, "w") as f:
        f.write("# list\ninfo-file\n")
    write_aliases(inst, "postmaster: root\ninfo-file: %s/info_box\ninfo: :include:%s\n"
                  % (out, inc))
    inst.start()
    sendmail(inst, "info", input="Subject: s\n\nbody\n")
    log = local_log(inst, 1)
    assert len(log) == 1 and "forwarded as" not in log[0], log
    qid = re.search(r"pickup\[\d+\]: (%s): uid=" % QID, inst.log()).group(1)
    assert re.search(r"%s: to=<info-file@example\.com>, orig_to=<info>, relay=local, .*"
                     r"\(delivered to file: " % qid, log[0]), log


def test_include_user_member_is_forwarded_like_postfix(make_instance):
    """Postfix 3.7: a user listed in an :include: file gets the message as a new
    queue file; cleanup logs its message-id (the original's) before local's
    'forwarded as' line."""
    inst = notes(make_instance)
    inc = os.path.join(inst.dir, "staff_list")
    with open(inc, "w") as f:
        f.write("%s\n" % ROOTLIKE)
    write_aliases(inst, "postmaster: root\nstaff: :include:%s\n" % inc)
    inst.start()
    sendmail(inst, "staff", input="Subject: s\n\nbody\n")
    log = local_log(inst, 2)
    qid = re.search(r"pickup\[\d+\]: (%s): uid=" % QID, inst.log()).group(1)
    m = re.search(r"%s: to=<staff@example\.com>, orig_to=<staff>, relay=local, .*"
                  r"status=sent \(forwarded as (%s)\)" % (qid, QID), "\n".join(log))
    assert m, log
    nid = m.group(1)
    text = inst.log()
    c = re.search(r"postfix/cleanup\[\d+\]: %s: message-id=<\d{14}\.%s@mail\.example\.com>$"
                  % (nid, qid), text, re.M)
    assert c and c.start() < text.index("(forwarded as %s)" % nid), text
    assert re.search(r"%s: to=<%s@example\.com>, orig_to=<staff>, relay=local, .*"
                     r"\(delivered to mailbox\)" % (nid, ROOTLIKE), "\n".join(log)), log


def deferred(inst, n=1):
    with open(os.path.join(inst.dir, "transport"), "w") as f:
        f.write("stud.cgri.edu retry:4.4.1 primary MX is down\n")
    inst.start()
    for i in range(n):
        sendmail(inst, "root@stud.cgri.edu", input="Subject: %d\n\nqueued\n" % i)
    local_log(inst, n)
    ids = queue_ids(inst)
    assert len(ids) == n
    return ids


def test_queue_tools(make_instance):
    inst = notes(make_instance, transport_maps="texthash:$config_directory/transport")
    a, b = deferred(inst, 2)
    r = inst.cmd("postqueue", "-p")
    assert r.stdout == inst.cmd("mailq").stdout
    assert r.stdout.startswith("-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n")
    assert r.stdout.endswith("-- 0 Kbytes in 2 Requests.\n")
    r = inst.cmd("postsuper", "-h", a)
    assert r.stderr == "postsuper: %s: placed on hold\npostsuper: Placed on hold: 1 message\n" % a
    assert re.search(r"^%s!\s" % a, inst.cmd("mailq").stdout, re.M)
    r = inst.cmd("postcat", "-q", a)
    assert r.returncode == 0
    assert r.stdout.startswith("*** ENVELOPE RECORDS hold/%s ***\n" % a)
    assert "\nsender: %s@example.com\n" % ME in r.stdout
    assert "\nrecipient: root@stud.cgri.edu\n" in r.stdout
    assert "\n*** MESSAGE CONTENTS hold/%s ***\nReceived: by mail.example.com (postern, from " \
           "userid %d)\n" % (a, os.getuid()) in r.stdout
    assert r.stdout.endswith("\nqueued\n*** HEADER EXTRACTED hold/%s ***\n"
                             "*** MESSAGE FILE END hold/%s ***\n" % (a, a))
    r = inst.cmd("postsuper", "-H", a)
    assert r.stderr == "postsuper: %s: released from hold\npostsuper: Released from hold: 1 message\n" % a
    r = inst.cmd("postsuper", "-d", a)
    assert r.stderr == "postsuper: %s: removed\npostsuper: Deleted: 1 message\n" % a
    assert queue_ids(inst) == [b]
    r = inst.cmd("postsuper", "-d", "ALL")    # Postfix names each message only in the log
    assert r.stderr == "postsuper: Deleted: 1 message\n"
    assert inst.cmd("mailq").stdout == "Mail queue is empty\n"


def test_postqueue_s_flushes_a_domain(make_instance):
    """The backup MX holds mail for stud.cgri.edu (the primary is down: a
    retry transport stands in for smtp); `postqueue -s stud.cgri.edu`, and the
    primary's ETRN, make it be tried again now, not after the backoff."""
    inst = notes(make_instance, mynetworks="127.0.0.1/32", relay_domains="stud.cgri.edu",
                 relay_transport="retry:4.4.1 primary MX is down",
                 minimal_backoff_time="1000s", maximal_backoff_time="2000s",
                 queue_run_delay="1000s")
    inst.start()
    s = Session(inst.smtp_port, source="127.0.0.5")
    for c in ("HELO mail.cgri.edu", "MAIL FROM:<info@oreilly.com>",
              "RCPT TO:<user1stud@stud.cgri.edu>"):
        assert s.cmd(c).startswith("250")
    assert s.data("Subject: held\n\nx\n")[1].startswith("250 2.0.0 Ok: queued as ")
    s.cmd("QUIT")
    s.close()

    def tries():
        return len(re.findall(r"to=<user1stud@stud\.cgri\.edu>.*status=deferred "
                              r"\(primary MX is down\)", inst.log()))
    wait_until(lambda: tries() == 1, what="first delivery attempt")
    r = inst.cmd("postqueue", "-s", "stud.cgri.edu")
    assert r.returncode == 0, r.stderr
    wait_until(lambda: tries() == 2, what="retry after postqueue -s")
    s = Session(inst.smtp_port, source="127.0.0.6")      # the primary, back up
    assert s.cmd("EHLO dns-stud.stud.cgri.edu").startswith("250")
    assert s.cmd("ETRN stud.cgri.edu") == "250 Queuing started"
    assert s.cmd("ETRN other.test") == "459 <other.test>: service unavailable"
    s.cmd("QUIT")
    s.close()
    wait_until(lambda: tries() == 3, what="retry after ETRN")


def test_backup_mx_relay_domains(make_instance):
    inst = notes(make_instance, mynetworks="127.0.0.1/32", relay_domains="stud.cgri.edu",
                 relay_recipient_maps="texthash:$config_directory/relay_recipients")
    with open(os.path.join(inst.dir, "relay_recipients"), "w") as f:
        f.write("user1stud@stud.cgri.edu x\n")
    inst.start()
    s = Session(inst.smtp_port, source="127.0.0.5")
    got = [s.cmd(c) for c in ("HELO mail.cgri.edu", "MAIL FROM:<info@oreilly.com>",
                              "RCPT TO:<user1stud@stud.cgri.edu>",
                              "RCPT TO:<nobody2@stud.cgri.edu>", "RCPT TO:<x@other.test>", "QUIT")]
    s.close()
    assert got == [
        "250 mail.example.com", "250 2.1.0 Ok", "250 2.1.5 Ok",
        "550 5.1.1 <nobody2@stud.cgri.edu>: Recipient address rejected: User unknown in relay "
        "recipient table",
        "454 4.7.1 <x@other.test>: Relay access denied", "221 2.0.0 Bye"]


def test_relocated_maps(make_instance):
    inst = notes(make_instance, relocated_maps="texthash:$config_directory/relocated")
    with open(os.path.join(inst.dir, "relocated"), "w") as f:
        f.write("kdent@example.com kyle.dent@example.com\n")
    inst.start()
    s = Session(inst.smtp_port)
    got = [s.cmd(c) for c in ("HELO mail.cgri.edu", "MAIL FROM:<info@oreilly.com>",
                              "RCPT TO:<kdent@example.com>", "QUIT")]
    s.close()
    assert got[2] == ("550 5.1.6 <kdent@example.com>: Recipient address rejected: User has "
                      "moved to kyle.dent@example.com")


def test_masquerade_domains(make_instance):
    inst = notes(make_instance, masquerade_domains="example.com")
    inst.start()
    s = Session(inst.smtp_port)
    for c in ("HELO gw.example.com", "MAIL FROM:<lbracciale@gw.example.com>",
              "RCPT TO:<root@example.com>"):
        assert s.cmd(c).startswith("250")
    s.data("From: lbracciale@gw.example.com\nSubject: m\n\nx\n")
    s.cmd("QUIT")
    local_log(inst, 1)
    assert "\nFrom: lbracciale@example.com\n" in mbox(inst, ROOTLIKE)
    assert re.search(r"qmgr\[\d+\]: %s: from=<lbracciale@example\.com>" % QID, inst.log())


def test_virtual_alias_domain(make_instance):
    inst = notes(make_instance, virtual_alias_domains="yyy.com, zzz.com",
                 virtual_alias_maps="texthash:$config_directory/virtual_alias")
    with open(os.path.join(inst.dir, "virtual_alias"), "w") as f:
        f.write("info@yyy.com helene@localhost\nwebmaster@zzz.com george@localhost\n")
    write_aliases(inst, "postmaster: root\nhelene: %s\n" % ROOTLIKE)
    inst.start()
    s = Session(inst.smtp_port, source="127.0.0.5")
    got = [s.cmd(c) for c in ("HELO mail.cgri.edu", "MAIL FROM:<info@oreilly.com>",
                              "RCPT TO:<info@yyy.com>", "RCPT TO:<other@yyy.com>")]
    s.data("Subject: v\n\nx\n")
    s.cmd("QUIT")
    assert got[2:] == ["250 2.1.5 Ok",
                       "550 5.1.1 <other@yyy.com>: Recipient address rejected: User unknown in "
                       "virtual alias table"]
    log = local_log(inst, 1)
    # helene@localhost -> alias -> ROOTLIKE, qualified with $myorigin
    assert "to=<%s@example.com>, orig_to=<info@yyy.com>" % ROOTLIKE in log[0]


def test_transport_map_error(make_instance):
    inst = notes(make_instance, transport_maps="hash:$config_directory/transport")
    path = os.path.join(inst.dir, "transport")
    with open(path, "w") as f:
        f.write("kdent@ora.com error:no mail accepted for kdent\n")
    assert inst.cmd("postmap", path).returncode == 0
    assert inst.cmd("postmap", "-q", "kdent@ora.com", "hash:" + path).stdout == \
        "error:no mail accepted for kdent\n"
    inst.start()
    sendmail(inst, "kdent@ora.com", input="Subject: t\n\nx\n")
    log = local_log(inst, 1)
    assert re.search(r"postfix/error\[\d+\]: %s: to=<kdent@ora\.com>, relay=none, .*dsn=5\.0\.0, "
                     r"status=bounced \(no mail accepted for kdent\)$" % QID, log[0]), log


def test_forward_file(make_instance):
    if not postern.IS_ROOT:
        pytest.skip("a .forward needs a second account with a home directory (root only)")
    import localagent as la
    import pwd
    inst = notes(make_instance)
    users = la.test_users()
    home = os.path.join(inst.dir, "home")
    os.makedirs(home)
    os.chmod(home, 0o755)
    for u in users:
        la.ensure_user(u, home)
        h = os.path.join(home, u)
        os.makedirs(h, exist_ok=True)
        pw = pwd.getpwnam(u)
        os.chown(h, pw.pw_uid, pw.pw_gid)
        la.set_home(u, h)
    pippo, pippo2 = users
    fwd = os.path.join(home, pippo, ".forward")
    with open(fwd, "w") as f:
        f.write("%s@example.com\n" % pippo2)
    pw = pwd.getpwnam(pippo)
    os.chown(fwd, pw.pw_uid, pw.pw_gid)
    inst.set_params(home_mailbox="Maildir/")
    inst.start()
    sendmail(inst, "%s@example.com" % pippo, input="Subject: f\n\nforwarded\n")
    log = local_log(inst, 2)
    assert any("to=<%s@example.com>, orig_to=<%s@example.com>" % (pippo2, pippo) in l and
               "delivered to maildir" in l for l in log), log
    new = os.path.join(home, pippo2, "Maildir", "new")
    files = os.listdir(new)
    assert len(files) == 1
    assert open(os.path.join(new, files[0])).read().endswith("\n\nforwarded\n")


def test_notify_classes_accepted(make_instance):
    inst = notes(make_instance, notify_classes="resource, software")
    assert inst.postconf("notify_classes") == "notify_classes = resource, software\n"
    r = inst.postfix("check", check=False)
    assert r.returncode == 0


TRANSPORT = """example.com smtp:[192.168.23.56]:20025
oreilly.com relay:[gateway.oreilly.com]
oreillynet.com smtp
ora.com maildrop
kdent@ora.com error:no mail accepted for kdent
"""


def test_transport_sample_table(make_instance):
    inst = notes(make_instance)
    path = os.path.join(inst.dir, "transport")
    with open(path, "w") as f:
        f.write(TRANSPORT)
    r = inst.cmd("postmap", path)
    assert (r.returncode, r.stderr) == (0, "")
    for key, value in (("example.com", "smtp:[192.168.23.56]:20025"),
                       ("oreilly.com", "relay:[gateway.oreilly.com]"),
                       ("oreillynet.com", "smtp"), ("ora.com", "maildrop"),
                       ("kdent@ora.com", "error:no mail accepted for kdent")):
        r = inst.cmd("postmap", "-q", key, "hash:" + path)
        assert (r.returncode, r.stdout) == (0, value + "\n"), key
    assert inst.cmd("postmap", "-q", "x@ora.com", "hash:" + path).returncode == 1


def test_sender_and_recipient_canonical_maps(make_instance):
    inst = notes(make_instance,
                 sender_canonical_maps="texthash:$config_directory/sender_canonical",
                 recipient_canonical_maps="texthash:$config_directory/recipient_canonical")
    with open(os.path.join(inst.dir, "sender_canonical"), "w") as f:
        f.write("lbracciale@example.com lorenzo.bracciale@example.com\n")
    with open(os.path.join(inst.dir, "recipient_canonical"), "w") as f:
        f.write("mbonola@example.com marco.bonola@example.com\n")
    write_aliases(inst, "postmaster: root\nmarco.bonola: %s\n" % ROOTLIKE)
    inst.start()
    sendmail(inst, "-f", "lbracciale@example.com", "mbonola@example.com",
             input="From: lbracciale@example.com\nTo: mbonola@example.com\nSubject: c\n\nx\n")
    log = local_log(inst, 1)
    assert "to=<%s@example.com>, orig_to=<mbonola@example.com>" % ROOTLIKE in log[0]
    assert re.search(r"qmgr\[\d+\]: %s: from=<lorenzo\.bracciale@example\.com>" % QID, inst.log())
    box = mbox(inst, ROOTLIKE)
    assert "\nFrom: lorenzo.bracciale@example.com\nTo: marco.bonola@example.com\n" in box


def test_virtual_mailboxes_and_lmtp(make_instance):
    pytest.skip("virtual(8) mailboxes, lmtp(8) hand-off to dovecot, pipe(8) autoreply and "
                "POP3 are not built yet")


def test_master_cf_autoreply_service(make_instance):
    inst = notes(make_instance)
    with open(os.path.join(inst.dir, "master.cf"), "a") as f:
        f.write("autoreply      unix      -      n      n      -      -      pipe  \n"
                "      flags= user=nobody argv=/opt/etc/postfix/autoreply.sh ${sender} ${mailbox}\n")
    assert inst.cmd("postconf", "-M", "autoreply/unix").stdout == (
        "autoreply  unix  -       n       n       -       -       pipe flags= user=nobody "
        "argv=/opt/etc/postfix/autoreply.sh ${sender} ${mailbox}\n")
    assert inst.postconf("autoreply_destination_recipient_limit", "autoreply_time_limit") == (
        "autoreply_destination_recipient_limit = $default_destination_recipient_limit\n"
        "autoreply_time_limit = $command_time_limit\n")
