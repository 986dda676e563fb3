"""Seed 000 (OPS535 Lab 5): SMTP commands with nc, binding, aliases and a
mailing list, sendmail -bv/-v, the queue (mailq, find in the queue
directory, removing queue files), aliases that append to files.
Expected texts: Debian Postfix 3.7 doing the same (mail_name 'Postfix' ->
'postern')."""
import os
import pwd
import re
import socket

import pytest

from seeds_lib import ME, QID, Session, instance, local_log, postern, queue_ids, sendmail
from postern import wait_until

HOST = "pri-dns.gbecker.ops"
LIST = "postmaster: root\nops535m: adm,ftp\nsmtp-lab:    student,instructor\n"


def test_inv2_smtp_commands_table(make_instance):
    inst = instance(make_instance, hostname=HOST)
    inst.start()
    s = Session(inst.smtp_port)
    got = [s.banner] + [s.cmd(c) for c in (
        "HELO seneca.ops", "ELHO seneca.ops", "NOOP", "RSET", "VERB", "EXPN ops535m",
        "VRFY root", "VRFY nobody", "HELP", "QUIT")]
    s.close()
    assert got == [
        "220 pri-dns.gbecker.ops ESMTP postern",
        "250 pri-dns.gbecker.ops",
        "500 5.5.2 Error: command not recognized",
        "250 2.0.0 Ok",
        "250 2.0.0 Ok",
        "500 5.5.2 Error: command not recognized",
        "500 5.5.2 Error: command not recognized",
        "252 2.0.0 root",
        "252 2.0.0 nobody",
        "500 5.5.2 Error: command not recognized",
        "221 2.0.0 Bye",
    ]
    # Postfix logs the command counts at disconnect.
    inst.wait_log(r"postfix/smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\] helo=1 "
                  r"rset=1 noop=1 vrfy=2 quit=1 unknown=0/4 commands=6/10$")


def test_inv2_binding_follows_inet_interfaces(make_instance):
    # Lab: the default binds to the loopback interface only; after changing
    # inet_interfaces and restarting, the other address answers too.
    port = postern.free_port()
    inst = make_instance(master_cf="%d inet n - n - - smtpd\n" % port,
                         main_cf={"inet_interfaces": "127.0.0.1"}, hostname=HOST)
    inst.start()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", port), timeout=5)
    s = Session(port)
    assert s.banner == "220 pri-dns.gbecker.ops ESMTP postern"
    s.close()
    inst.stop()
    inst.set_params(inet_interfaces="127.0.0.1, 127.0.0.2")
    inst.start()
    for addr in ("127.0.0.1", "127.0.0.2"):
        s = Session(port, host=addr)
        assert s.banner == "220 pri-dns.gbecker.ops ESMTP postern"
        s.close()


def test_inv3_mailing_list_vrfy_expn(make_instance):
    inst = instance(make_instance, hostname=HOST, aliases=LIST)
    assert os.path.exists(os.path.join(inst.dir, "aliases.db"))
    inst.start()
    s = Session(inst.smtp_port)
    got = [s.cmd(c) for c in ("HELO seneca.ops", "EXPN ops535m", "VRFY ops535m",
                              "VRFY smtp-lab", "VRFY nosuchuser", "QUIT")]
    s.close()
    assert got == [
        "250 pri-dns.gbecker.ops",
        "500 5.5.2 Error: command not recognized",
        "252 2.0.0 ops535m",
        "252 2.0.0 smtp-lab",
        "550 5.1.1 <nosuchuser>: Recipient address rejected: User unknown in local "
        "recipient table",
        "221 2.0.0 Bye",
    ]
    inst.wait_log(r"NOQUEUE: reject: VRFY from localhost\[127\.0\.0\.1\]: 550 5\.1\.1 "
                  r"<nosuchuser>: Recipient address rejected: User unknown in local "
                  r"recipient table; to=<nosuchuser> proto=SMTP helo=<seneca\.ops>$")


def test_inv3_sendmail_bv_postmater(make_instance):
    inst = instance(make_instance, hostname=HOST, aliases=LIST)
    inst.start()
    r = sendmail(inst, "-bv", "postmater")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Mail Delivery Status Report will be mailed to <%s>.\n" % ME


def test_inv4_postconf_and_empty_queue(make_instance):
    inst = instance(make_instance, hostname=HOST)
    assert inst.postconf("queue_directory") == "queue_directory = %s\n" % inst.queue_dir
    assert inst.postconf("mailbox_command") == "mailbox_command =\n"
    inst.start()
    for args in (("mailq",), ("mailq", "-Ac"), ("sendmail", "-bp")):
        r = inst.cmd(*args)
        assert (r.returncode, r.stdout) == (0, "Mail queue is empty\n"), args


def test_inv4_deferred_message_in_queue_directory(make_instance):
    # Lab: a message that cannot be delivered now waits in the deferred
    # queue; mailq shows it with the reason; find(1) locates its queue file
    # and its defer log in hashed subdirectories; removing both empties the
    # queue. (The lab's reason is an smtp connect error; here a transport
    # map sends the domain to retry(8) so no remote delivery is involved.)
    inst = instance(make_instance, hostname=HOST,
                    transport_maps="texthash:$config_directory/transport")
    with open(os.path.join(inst.dir, "transport"), "w") as f:
        f.write("co-nfs.gbecker.ops retry:4.4.1 connect to co-nfs.gbecker.ops[192.168.2.3]:25:"
                " No route to host\n")
    inst.start()
    r = sendmail(inst, "-v", "rchan@co-nfs.gbecker.ops",
                 input="Postfix is a Mail Transport Agent (MTA),\n"
                       "supporting LDAP, SMTP AUTH (SASL), TLS\n")
    assert r.returncode == 0, r.stderr
    local_log(inst, 1)
    ids = queue_ids(inst)
    assert len(ids) == 1
    qid = ids[0]
    mq = inst.cmd("mailq").stdout
    assert re.match(r"-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
                    r"%s +\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  %s@%s\n"
                    r" {13}\(connect to co-nfs\.gbecker\.ops\[192\.168\.2\.3\]:25: No route to host\)\n"
                    r" {41}rchan@co-nfs\.gbecker\.ops\n\n"
                    r"-- 0 Kbytes in 1 Request\.\n$" % (qid, ME, HOST), mq), mq
    assert inst.cmd("sendmail", "-bp").stdout == mq
    found = sorted(os.path.relpath(os.path.join(d, n), inst.queue_dir)
                   for d, _, names in os.walk(inst.queue_dir) for n in names if n == qid)
    assert found == ["defer/%s/%s" % (qid[0], qid), "deferred/%s/%s" % (qid[0], qid)]
    for p in found:
        os.unlink(os.path.join(inst.queue_dir, p))
    assert inst.cmd("mailq").stdout == "Mail queue is empty\n"


def _files_instance(make_instance):
    out = None
    inst = instance(make_instance, hostname=HOST)
    out = os.path.join(inst.dir, "tmp")                # stands in for /tmp
    os.makedirs(out)
    os.chmod(out, 0o1777)
    from seeds_lib import write_aliases
    write_aliases(inst, 'postmaster: root\nrchan:       "%s/ops535.mail"\n'
                        'ops535:      "%s/rchan.mail"\n' % (out, out))
    inst.start()
    return inst, out


MESG = "Postfix is a Mail Transport Agent (MTA),\nsupporting LDAP, SMTP AUTH (SASL), TLS\n"


def test_inv5_aliases_append_to_files(make_instance):
    inst, out = _files_instance(make_instance)
    for rcpt in ("ops535", "rchan"):
        r = sendmail(inst, rcpt, input=MESG)
        assert r.returncode == 0, r.stderr
    log = local_log(inst, 2)
    for rcpt, f in (("ops535", "rchan.mail"), ("rchan", "ops535.mail")):
        assert any(re.search(r"postfix/local\[\d+\]: %s: to=<%s@%s>, orig_to=<%s>, relay=local, "
                             r"delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent "
                             r"\(delivered to file: %s\)$"
                             % (QID, rcpt, HOST, rcpt, re.escape(os.path.join(out, f))), l)
                   for l in log), log
        p = os.path.join(out, f)
        st = os.stat(p)
        assert st.st_mode & 0o777 == 0o600
        if postern.IS_ROOT:   # root-owned aliases: delivered as default_privs
            assert st.st_uid == pwd.getpwnam("nobody").pw_uid
        text = open(p).read()
        assert text.startswith("From %s@%s  " % (ME, HOST))
        assert "\nX-Original-To: %s\nDelivered-To: %s@%s\n" % (rcpt, rcpt, HOST) in text
        assert text.endswith("supporting LDAP, SMTP AUTH (SASL), TLS\n\n")


def test_inv5_headerless_message_body_is_separated(make_instance):
    inst, out = _files_instance(make_instance)
    sendmail(inst, "ops535", input=MESG)
    local_log(inst, 1)
    text = open(os.path.join(out, "rchan.mail")).read()
    assert "\n\nPostfix is a Mail Transport Agent (MTA),\n" in text


def test_inv5_sendmail_v_prints_report_notice(make_instance):
    inst, out = _files_instance(make_instance)
    r = sendmail(inst, "-v", "ops535", input=MESG)
    assert r.stdout == "Mail Delivery Status Report will be mailed to <%s>.\n" % ME


def _cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().rstrip(b"\0").decode().split("\0")


def _names(inst):
    names = set()
    for p in inst.children():
        try:
            names.add(_cmdline(p)[0].rsplit("/", 1)[-1])
        except (OSError, IndexError):
            pass
    return names


def test_inv1_processes_are_running(make_instance):
    inst = instance(make_instance, hostname=HOST)
    inst.start()
    wait_until(lambda: {"pickup", "qmgr"} <= _names(inst), what="pickup and qmgr")
    assert _cmdline(inst.master_pid())[0].endswith("/master")


def test_inv1_ps_shows_postfix_like_command_lines(make_instance):
    inst = instance(make_instance, hostname=HOST)
    inst.start()
    wait_until(lambda: {"pickup", "qmgr"} <= _names(inst), what="pickup and qmgr")
    cmds = sorted(" ".join(_cmdline(p)) for p in inst.children())
    # Postfix 3.7 with the same master.cf (pickup chroot y, qmgr n; maxproc 1: -l; no -n
    # when the service is named after the program; -c is the chroot flag)
    assert "pickup -l -t unix -u -c" in cmds and "qmgr -l -t unix -u" in cmds, cmds
    assert _cmdline(inst.master_pid())[1:] == ["-w"]
    # the configuration directory travels in the environment, as in Postfix
    with open("/proc/%d/environ" % inst.master_pid(), "rb") as f:
        env = dict(e.split("=", 1) for e in f.read().decode().split("\0") if "=" in e)
    assert env["MAIL_CONFIG"] == inst.dir
    s = socket.create_connection(("127.0.0.1", inst.smtp_port))
    try:
        wait_until(lambda: any(c.startswith("smtpd ") for c in
                               (" ".join(_cmdline(p)) for p in inst.children())), what="smtpd")
        cmds = [" ".join(_cmdline(p)) for p in inst.children()]
        assert "smtpd -n 127.0.0.1:%d -t inet -u -c" % inst.smtp_port in cmds, cmds
    finally:
        s.close()


def test_review_q7_sendmail_bi_is_newaliases(make_instance):
    inst = instance(make_instance, hostname=HOST)
    path = os.path.join(inst.dir, "aliases")
    with open(path, "a") as f:
        f.write("helpdesk: ldapuser1\n")
    r = sendmail(inst, "-bi")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert inst.cmd("postalias", "-q", "helpdesk", "hash:" + path).stdout == "ldapuser1\n"


def test_review_q8_queue_directory_permissions(make_instance):
    inst = instance(make_instance, hostname=HOST)
    inst.start()
    import stat
    st = os.stat(inst.queue_dir)
    assert stat.S_IMODE(st.st_mode) == 0o755
    for d in ("incoming", "active", "deferred", "defer", "hold", "bounce", "corrupt"):
        st = os.stat(os.path.join(inst.queue_dir, d))
        assert stat.S_IMODE(st.st_mode) == 0o700, d
        assert st.st_uid == pwd.getpwnam(inst.mail_owner).pw_uid, d
    st = os.stat(os.path.join(inst.queue_dir, "maildrop"))
    assert stat.S_IMODE(st.st_mode) == 0o730
