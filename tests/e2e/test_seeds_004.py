"""Seed 004 (IT224 "Mail Servers (Postfix)"): the basic main.cf sections as
the notes write them -- including their typos, which a user will paste --
domains, networks, relay control, unknown local recipients, aliases, mailbox
delivery (maildir/, mail_spool_directory), soft_bounce, in_flow_delay.
Expected texts: Debian Postfix 3.7 doing the same (mail_name -> 'postern')."""
import os
import re

import pytest

from seeds_lib import ME, QID, Session, instance, local_log, mbox, postern, sendmail

HOST = "mysv.kigali.local"
BASIC = {"mydomain": "kigali.local", "myorigin": "$mydomain",
         "mydestination": "$myhostname localhost.$mydomain localhost $mydomain",
         "mynetworks_style": "subnet", "mynetworks": "127.0.0.0/28 192.168.10.0/24",
         "relay_domains": "$mydestination", "in_flow_delay": "1s",
         "notify_classes": "resource, software",
         "unknown_local_recipient_reject_code": "550"}
TYPOS = ("mynetwork_style = subnet\nrelay_domain = $mydestinations\nrelay_host = $mydomain\n"
         "Inet_interfaces = all\n")


def it224(make_instance, **extra):
    p = dict(BASIC)
    p.update(extra)
    return instance(make_instance, hostname=HOST, aliases="postmaster: root\n", **p)


def test_typos_warned_by_postconf(make_instance):
    inst = it224(make_instance)
    with open(os.path.join(inst.dir, "main.cf"), "a") as f:
        f.write(TYPOS)
    r = inst.cmd("postconf", "-n")
    assert r.returncode == 0
    path = os.path.join(inst.dir, "main.cf")
    # Postfix's order of the unused-parameter lines is not fixed: compare sets.
    assert sorted(r.stderr.splitlines()) == sorted([
        "postconf: warning: %s: undefined parameter: mydestinations" % path,
        "postconf: warning: %s: unused parameter: mynetwork_style=subnet" % path,
        "postconf: warning: %s: unused parameter: relay_domain=$mydestinations" % path,
        "postconf: warning: %s: unused parameter: relay_host=$mydomain" % path,
        "postconf: warning: %s: unused parameter: Inet_interfaces=all" % path])
    for line in ("in_flow_delay = 1s", "mynetworks_style = subnet",
                 "notify_classes = resource, software", "relay_domains = $mydestination",
                 "unknown_local_recipient_reject_code = 550"):
        assert line in r.stdout.splitlines()
    assert inst.postconf("relayhost") == "relayhost =\n"
    assert inst.postconf("inet_interfaces") == "inet_interfaces = 127.0.0.1\n"


def test_parameter_name_with_space_is_fatal(make_instance):
    inst = it224(make_instance)
    path = os.path.join(inst.dir, "main.cf")
    n = len(open(path).read().splitlines()) + 1
    with open(path, "a") as f:
        f.write("notify classes = resource, software\n")
    r = inst.cmd("postconf", "-n")
    assert r.returncode == 1
    assert r.stderr.endswith("postconf: fatal: %s, line %d: missing '=' after attribute name: "
                             "\"notify classes = resource, software\"\n" % (path, n))


def test_space_separated_mydestination_and_relay_control(make_instance):
    inst = it224(make_instance)
    inst.start()
    s = Session(inst.smtp_port)                      # 127.0.0.1: inside 127.0.0.0/28
    got = [s.cmd(c) for c in ("HELO h1.itclass.local", "MAIL FROM:<user1@itclass.local>",
                              "RCPT TO:<postmaster@kigali.local>",
                              "RCPT TO:<postmaster@localhost.kigali.local>",
                              "RCPT TO:<user2@kigali.site>", "QUIT")]
    s.close()
    assert got == ["250 mysv.kigali.local", "250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok",
                   "250 2.1.5 Ok", "221 2.0.0 Bye"]
    s = Session(inst.smtp_port, source="127.0.0.20")  # outside 127.0.0.0/28
    got = [s.cmd(c) for c in ("HELO h1.kigali.site", "MAIL FROM:<user2@kigali.site>",
                              "RCPT TO:<user2@kigali.site>", "RCPT TO:<nosuch@kigali.local>",
                              "RCPT TO:<postmaster@kigali.local>", "QUIT")]
    s.close()
    assert got == ["250 mysv.kigali.local", "250 2.1.0 Ok",
                   "454 4.7.1 <user2@kigali.site>: Relay access denied",
                   "550 5.1.1 <nosuch@kigali.local>: Recipient address rejected: User unknown "
                   "in local recipient table",
                   "250 2.1.5 Ok", "221 2.0.0 Bye"]


@pytest.mark.parametrize("params,reply", [
    ({"unknown_local_recipient_reject_code": "450"},
     "450 4.1.1 <nosuch@kigali.local>: Recipient address rejected: User unknown in local "
     "recipient table"),
    ({"soft_bounce": "yes"},
     "450 4.1.1 <nosuch@kigali.local>: Recipient address rejected: User unknown in local "
     "recipient table"),
])
def test_unknown_local_recipient_code_and_soft_bounce(make_instance, params, reply):
    inst = it224(make_instance, **params)
    inst.start()
    s = Session(inst.smtp_port)
    got = [s.cmd(c) for c in ("HELO h1.itclass.local", "MAIL FROM:<user1@itclass.local>",
                              "RCPT TO:<nosuch@kigali.local>", "QUIT")]
    s.close()
    assert got[2] == reply


def test_soft_bounce_keeps_undeliverable_mail_queued(make_instance):
    inst = it224(make_instance, soft_bounce="yes")
    inst.start()
    sendmail(inst, "nosuch@kigali.local", input="Subject: s\n\nx\n")
    log = local_log(inst, 1)
    assert re.search(r"to=<nosuch@kigali\.local>, relay=local, .*dsn=4\.1\.1, "
                     r"status=\S+ \(unknown user: \"nosuch\"\)$", log[0]), log
    assert len(re.findall(r"^%s\s" % QID, inst.cmd("mailq").stdout, re.M)) == 1


def test_soft_bounce_log_status(make_instance):
    inst = it224(make_instance, soft_bounce="yes")
    inst.start()
    sendmail(inst, "nosuch@kigali.local", input="Subject: s\n\nx\n")
    log = local_log(inst, 1)
    assert re.search(r"to=<nosuch@kigali\.local>, relay=local, .*dsn=4\.1\.1, "
                     r"status=SOFTBOUNCE \(unknown user: \"nosuch\"\)$", log[0]), log


def test_alias_maps_with_space_after_type(make_instance):
    # The notes write "alias_maps = hash: /etc/aliases": the list splits at
    # the space and "hash:" alone is not a table.
    inst = it224(make_instance)
    inst.set_params(alias_maps="hash: $config_directory/aliases")
    assert inst.postconf("alias_maps") == "alias_maps = hash: $config_directory/aliases\n"


def test_bare_table_type_is_rejected(make_instance):
    inst = it224(make_instance)
    r = inst.cmd("postalias", "-q", "postmaster", "hash:")
    assert r.returncode == 1
    assert r.stderr.endswith("postalias: fatal: open dictionary: expecting \"type:name\" form "
                             "instead of \"hash:\"\n")


def test_mail_spool_directory(make_instance):
    inst = it224(make_instance)
    spool = os.path.join(inst.dir, "var-spool-mail")
    os.makedirs(spool)
    os.chmod(spool, 0o1777)
    inst.set_params(mail_spool_directory=spool)
    inst.start()
    sendmail(inst, "%s@localhost" % ME, input="Subject: spool\n\nto the spool\n")
    local_log(inst, 1)
    assert open(os.path.join(spool, ME)).read().endswith("\n\nto the spool\n\n")


def test_home_mailbox_maildir(make_instance):
    if not postern.IS_ROOT:
        pytest.skip("home_mailbox needs an account whose home we may write (root only)")
    import localagent as la
    import pwd
    inst = it224(make_instance, home_mailbox="maildir/")
    home = os.path.join(inst.dir, "home")
    os.makedirs(home)
    os.chmod(home, 0o755)
    user = la.test_users()[0]
    la.ensure_user(user, home)
    h = os.path.join(home, user)
    os.makedirs(h, exist_ok=True)
    pw = pwd.getpwnam(user)
    os.chown(h, pw.pw_uid, pw.pw_gid)
    la.set_home(user, h)
    inst.start()
    sendmail(inst, "%s@kigali.local" % user, input="Subject: md\n\ninto maildir\n")
    log = local_log(inst, 1)
    assert "status=sent (delivered to maildir)" in log[0]
    new = os.path.join(h, "maildir", "new")
    files = os.listdir(new)
    assert len(files) == 1
    st = os.stat(os.path.join(new, files[0]))
    assert st.st_uid == pw.pw_uid
    text = open(os.path.join(new, files[0])).read()
    assert text.startswith("Return-Path: <%s@kigali.local>\nX-Original-To: %s@kigali.local\n"
                           "Delivered-To: %s@kigali.local\n" % (ME, user, user))
    assert text.endswith("\n\ninto maildir\n")
