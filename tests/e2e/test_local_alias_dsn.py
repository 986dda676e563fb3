"""local(8): self-referencing aliases, .forward, owner- lists and DSN, as Postfix 3.7.

Each expectation here was first observed on Debian's Postfix 3.7.11 (a
scratch instance with the same aliases, a user with a ~/.forward, and
messages sent with `MAIL FROM:<..> RET=HDRS ENVID=..` and `RCPT TO:<..>
NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;..`; the queue files of the
resubmitted messages read with postcat, the success DSNs read from the
sender's mailbox):

- `alice: alice, bob` with a ~alice/.forward: alice's copy goes through her
  .forward ("delivery is made to the user instead"), not to her mailbox;
  listing herself in the .forward gives the mailbox;
- a user reached twice in one delivery has the .forward expanded once;
- `\\user` in an alias is expanded like `user` (aliases and .forward);
- an alias without owner- inside a list keeps the list's owner
  (reset_owner_alias = no): its local users are resubmitted from owner-LIST;
- DSN: members get NOTIFY without SUCCESS; ENVID and RET stay; a list
  (owner- alias) drops ORCPT and the original recipient; NOTIFY=SUCCESS on
  the alias gives one success DSN "delivery via local: alias expanded",
  action "expanded" (alias) or "delivered" (list).

The first group runs the agent stand-alone (localagent.py); the DSN test runs
the whole path (smtpd, qmgr, local, bounce) with defer_transports = smtp, so
that the resubmitted messages stay in the deferred queue to be read.
"""
import glob
import os
import pwd
import re
import smtplib
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import localagent as la  # noqa: E402
from postern import BIN, Instance, wait_until  # noqa: E402

MSG = "Subject: alias test\nFrom: Sender <sender@remote.example>\n\nhello\n"


@pytest.fixture
def make():
    made = []

    def factory(conf="", aliases=""):
        users = la.test_users()
        i = la.LocalInstance()
        i.stop()

        def subst(text):
            return (text.replace("OUT", i.out).replace("pt6alice", users[0])
                    .replace("pt6bob", users[1]))
        i.subst = subst
        with open(os.path.join(i.conf, "main.cf"), "a") as f:
            f.write(subst("forward_path = OUT/.forward\n" + conf))
        i.start()
        i.write_aliases(subst(aliases))
        made.append(i)
        return i
    yield factory
    for i in made:
        i.cleanup()


def forward(inst, text):
    """OUT/.forward (forward_path), owned by the first test user."""
    path = os.path.join(inst.out, ".forward")
    with open(path, "w") as f:
        f.write(inst.subst(text))
    if la.IS_ROOT:
        pw = pwd.getpwnam(inst.users[0])
        os.chown(path, pw.pw_uid, pw.pw_gid)


def count_messages(path):
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return len(re.findall(r"(?m)^From \S+  ", f.read()))


def mailbox(inst, user):
    return os.path.join(inst.spool, user)


def test_alias_listing_itself_goes_through_dotforward(make):
    inst = make(aliases='pt6alice: pt6alice, "OUT/list.mail"\n')
    alice = inst.users[0]
    forward(inst, '"OUT/fwd.mail"\n')
    status, log, qid = inst.deliver(MSG, [alice + "@pf.example"])
    assert status == 0, log
    # Postfix 3.7: "... to=<alice@...>, relay=local, ... (delivered to file: .../fwd.mail)"
    assert any(re.search(r"%s: to=<%s@pf\.example>, relay=local, .*status=sent "
                         r"\(delivered to file: %s/fwd\.mail\)$" % (qid, alice, re.escape(inst.out)), l)
               for l in log), log
    assert count_messages(os.path.join(inst.out, "fwd.mail")) == 1
    assert count_messages(os.path.join(inst.out, "list.mail")) == 1
    assert not any("delivered to mailbox" in l for l in log), log
    assert count_messages(mailbox(inst, alice)) == 0

    # Listing herself in the .forward as well: her mailbox, once.
    forward(inst, 'pt6alice\n"OUT/fwd.mail"\n')
    status, log, qid = inst.deliver(MSG, [alice + "@pf.example"])
    assert status == 0, log
    assert len([l for l in log if "delivered to mailbox" in l]) == 1, log
    assert count_messages(mailbox(inst, alice)) == 1
    assert count_messages(os.path.join(inst.out, "fwd.mail")) == 2
    assert count_messages(os.path.join(inst.out, "list.mail")) == 2


def test_user_reached_twice_has_dotforward_expanded_once(make):
    inst = make(aliases="list2: pt6alice, sub2\nsub2: pt6alice\n")
    alice = inst.users[0]
    forward(inst, '"OUT/fwd.mail"\n')
    status, log, qid = inst.deliver(MSG, ["list2@pf.example"])
    assert status == 0, log
    # Postfix: one line, the file; no mailbox delivery for the second path.
    sent = [l for l in log if "status=sent" in l]
    assert len(sent) == 1, log
    assert "to=<%s@pf.example>, orig_to=<list2@pf.example>" % alice in sent[0]
    assert "delivered to file: %s/fwd.mail" % inst.out in sent[0]
    assert count_messages(mailbox(inst, alice)) == 0


def test_backslash_user_in_alias_is_expanded_like_user(make):
    inst = make(aliases='pt6alice: \\pt6alice, "OUT/list.mail"\nbs1: \\pt6alice\n')
    alice = inst.users[0]
    forward(inst, '"OUT/fwd.mail"\n')
    status, log, qid = inst.deliver(MSG, ["bs1@pf.example"])
    assert status == 0, log
    # bs1 -> alias pt6alice (expanded) -> pt6alice (itself: .forward) and list.mail
    assert count_messages(os.path.join(inst.out, "list.mail")) == 1, log
    assert count_messages(os.path.join(inst.out, "fwd.mail")) == 1, log
    assert count_messages(mailbox(inst, alice)) == 0, log


def test_alias_inside_list_keeps_the_list_owner(make):
    aliases = ('list3: sub3, "OUT/list3.file"\nowner-list3: pt6bob\n'
               'sub3: pt6alice, "OUT/sub3.file"\n')
    inst = make(aliases=aliases)
    alice = inst.users[0]
    status, log, qid = inst.deliver(MSG, ["list3@pf.example"])
    assert status == 0, log
    # Postfix 3.7 (reset_owner_alias = no): the user in the inner alias is
    # resubmitted from owner-list3; one line names the queue recipient.
    fw = [l for l in log if "forwarded as" in l]
    assert len(fw) == 1 and "%s: to=<list3@pf.example>, relay=local" % qid in fw[0], log
    # Postfix's lines for the files: the alias that listed them, no orig_to in a list.
    for alias, name in (("sub3", "sub3.file"), ("list3", "list3.file")):
        assert any(re.search(r"%s: to=<%s@pf\.example>, relay=local, .*status=sent "
                             r"\(delivered to file: %s\)$"
                             % (qid, alias, re.escape(os.path.join(inst.out, name))), l)
                   for l in log), log
    new_id = fw[0].rsplit(" ", 1)[1].rstrip(")")
    recs = list(la.read_records(os.path.join(inst.queue, "incoming", new_id)))
    assert [d.decode() for _, t, d in recs if t == "S"] == ["owner-list3@pf.example"]
    assert [d.decode() for _, t, d in recs if t == "R"] == [alice + "@pf.example"]
    assert count_messages(mailbox(inst, alice)) == 0
    for name in ("list3.file", "sub3.file"):
        with open(os.path.join(inst.out, name)) as f:
            text = f.read()
        assert text.startswith("From owner-list3@pf.example  "), text
        assert "\nReturn-Path: <owner-list3@pf.example>\nDelivered-To: list3@pf.example\n" in text


def test_reset_owner_alias_delivers_inner_alias_members_here(make):
    inst = make(conf="reset_owner_alias = yes\n",
                aliases="list3: sub3\nowner-list3: pt6bob\nsub3: pt6alice\n")
    alice = inst.users[0]
    status, log, qid = inst.deliver(MSG, ["list3@pf.example"])
    assert status == 0, log
    assert not any("forwarded as" in l for l in log), log
    assert any("to=<%s@pf.example>" % alice in l and "delivered to mailbox" in l for l in log), log


# ------------------------------------------------------------------ DSN, whole path

DOM = "mx.postern.test"


@pytest.fixture
def full():
    if not all(os.path.exists(os.path.join(BIN, p)) for p in ("smtpd", "qmgr", "local", "master")):
        pytest.skip("needs smtpd, qmgr, local and master")
    i = Instance(main_cf={"alias_maps": "hash:$config_directory/aliases",
                          "alias_database": "hash:$config_directory/aliases",
                          "myorigin": "$myhostname", "defer_transports": "smtp"})
    out = os.path.join(i.dir, "out")
    os.makedirs(out)
    os.chmod(out, 0o1777)
    i.out = out
    i.set_params(forward_path=out + "/$user.forward")
    i.user = la.test_users()[0]
    if la.IS_ROOT:
        la.ensure_user(i.user, os.path.join(i.dir, "home"))
    with open(os.path.join(i.dir, "aliases"), "w") as f:
        f.write("list: {o}/member.mbox, far@remote.example\nowner-list: {o}/owner.mbox\n"
                "plain: {o}/plain.mbox, far2@remote.example\n"
                "dsnbox: {o}/dsn.mbox\n"
                "list2: {u}\nowner-list2: {o}/owner.mbox\n".format(o=out, u=i.user))
    r = i.cmd("postalias", "-c", i.dir, os.path.join(i.dir, "aliases"))
    assert r.returncode == 0, r.stderr
    i.start()
    yield i
    i.stop()
    i.cleanup()


def dsn_send(inst, rcpt, notify):
    """One message from dsnbox (whose DSNs go to OUT/dsn.mbox) to rcpt; its queue ID."""
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    s.ehlo("client.example")
    code, _ = s.docmd("MAIL FROM:<dsnbox@%s> RET=HDRS ENVID=env-%s" % (DOM, rcpt))
    assert code == 250
    code, _ = s.docmd("RCPT TO:<%s@%s> NOTIFY=%s ORCPT=rfc822;%s@%s" % (rcpt, DOM, notify, rcpt, DOM))
    assert code == 250
    code, _ = s.docmd("DATA")
    assert code == 354
    s.send(b"Subject: dsn test\r\nMessage-Id: <dsn-%s@client.example>\r\n\r\nbody\r\n.\r\n"
           % rcpt.encode())
    code, text = s.getreply()
    assert code == 250, text
    s.quit()
    return text.decode().rsplit(" ", 1)[1]


def deferred_file(inst, rcpt):
    """Records of the deferred queue file holding rcpt (the resubmitted message)."""
    for p in glob.glob(os.path.join(inst.queue_dir, "deferred", "*", "*")):
        recs = [(t, d.decode()) for _, t, d in la.read_records(p)]
        if ("R", rcpt) in recs:
            return recs
    return None


def envelope(recs):
    """(sender, {attr: value}, [(type, value) per recipient record up to R])."""
    sender = [d for t, d in recs if t == "S"][0]
    attrs = dict(d.split("=", 1) for t, d in recs if t == "A")
    rcpt = [(t, d) for t, d in recs if t in "OonR"]
    return sender, attrs, rcpt


def test_owner_list_and_alias_dsn_as_postfix(full):
    list_id = dsn_send(full, "list", "SUCCESS,FAILURE")
    plain_id = dsn_send(full, "plain", "SUCCESS,FAILURE")
    only_id = dsn_send(full, "plain", "SUCCESS")
    wait_until(lambda: len(glob.glob(os.path.join(full.queue_dir, "deferred", "*", "*"))) == 3,
               timeout=30, what="three resubmitted messages in the deferred queue")

    # The list: sender owner-list, ENVID and RET kept (Postfix's forward_open),
    # NOTIFY without SUCCESS; ORCPT and original recipient reset, so cleanup
    # derives them from the member (Postfix's record order: n, o, O, R).
    sender, attrs, rcpt = envelope(deferred_file(full, "far@remote.example"))
    assert sender == "owner-list@" + DOM
    assert attrs.get("envelope_id") == "env-list" and attrs.get("ret_flags") == "2", attrs
    assert rcpt == [("n", "4"), ("o", "rfc822;far@remote.example"), ("O", "far@remote.example"),
                    ("R", "far@remote.example")], rcpt

    # Plain aliases: ORCPT and the original recipient kept, NOTIFY without SUCCESS
    # (SUCCESS alone becomes NEVER).
    plains = []
    for p in glob.glob(os.path.join(full.queue_dir, "deferred", "*", "*")):
        recs = [(t, d.decode()) for _, t, d in la.read_records(p)]
        if ("R", "far2@remote.example") in recs:
            plains.append(envelope(recs))
    assert len(plains) == 2, plains
    for sender, attrs, rcpt in plains:
        assert sender == "dsnbox@" + DOM
        assert attrs.get("envelope_id") == "env-plain" and attrs.get("ret_flags") == "2", attrs
        assert attrs.get("log_ident") in (plain_id, only_id), attrs
    assert sorted(r for _, _, r in plains) == sorted([
        [("n", "4"), ("o", "rfc822;plain@" + DOM), ("O", "plain@" + DOM), ("R", "far2@remote.example")],
        [("n", "1"), ("o", "rfc822;plain@" + DOM), ("O", "plain@" + DOM), ("R", "far2@remote.example")],
    ])

    # The resubmitted content starts as Postfix's: Received: by ... id QID; Delivered-To:
    with open(glob.glob(os.path.join(full.queue_dir, "deferred", "*", "*"))[0], "rb") as f:
        raw = f.read()
    assert b"Received: by %s (postern)" % DOM.encode() in raw

    # One success DSN per message, naming the alias: "alias expanded".
    wait_until(lambda: count_messages(os.path.join(full.out, "dsn.mbox")) == 3, timeout=30,
               what="three success DSNs")
    with open(os.path.join(full.out, "dsn.mbox")) as f:
        reports = f.read().split("\nFrom MAILER-DAEMON  ")
    by_id = {}
    for r in reports:
        m = re.search(r"X-Postfix-Queue-ID: (\S+)", r)
        assert m, r
        by_id[m.group(1)] = r
    assert set(by_id) == {list_id, plain_id, only_id}
    for qid, rcpt, action in ((list_id, "list", "delivered"), (plain_id, "plain", "expanded"),
                              (only_id, "plain", "expanded")):
        r = by_id[qid]
        assert "Subject: Successful Mail Delivery Report" in r
        assert r.count("Final-Recipient:") == 1, r      # nothing per member
        assert "\n<%s@%s>: delivery via local: alias expanded\n" % (rcpt, DOM) in r, r
        assert re.search(r"Reporting-MTA: dns; %s\nOriginal-Envelope-Id: env-%s\n"
                         r"X-Postfix-Queue-ID: %s\n" % (DOM, rcpt, qid), r), r
        assert ("Final-Recipient: rfc822; {r}@{d}\nOriginal-Recipient: rfc822;{r}@{d}\n"
                "Action: {a}\nStatus: 2.0.0\n"
                "Diagnostic-Code: X-Postfix; delivery via local: alias expanded\n"
                .format(r=rcpt, d=DOM, a=action)) in r, r
    # The members themselves were delivered (the file of the list from owner-list).
    with open(os.path.join(full.out, "member.mbox")) as f:
        assert f.read().startswith("From owner-list@%s  " % DOM)
    assert count_messages(os.path.join(full.out, "plain.mbox")) == 2


def test_dotforward_dsn_as_postfix(full):
    user = full.user
    path = os.path.join(full.out, user + ".forward")
    with open(path, "w") as f:
        f.write('"%s/fwd.mbox"\nfar3@remote.example\n' % full.out)
    if la.IS_ROOT:
        pw = pwd.getpwnam(user)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    qid = dsn_send(full, user, "SUCCESS,FAILURE")
    wait_until(lambda: deferred_file(full, "far3@remote.example"), timeout=30,
               what="the resubmitted message in the deferred queue")
    sender, attrs, rcpt = envelope(deferred_file(full, "far3@remote.example"))
    assert sender == "dsnbox@" + DOM
    assert attrs.get("envelope_id") == "env-" + user and attrs.get("ret_flags") == "2", attrs
    assert rcpt == [("n", "4"), ("o", "rfc822;%s@%s" % (user, DOM)),
                    ("O", "%s@%s" % (user, DOM)), ("R", "far3@remote.example")], rcpt
    wait_until(lambda: count_messages(os.path.join(full.out, "dsn.mbox")) == 1, timeout=30,
               what="the success DSN")
    with open(os.path.join(full.out, "dsn.mbox")) as f:
        r = f.read()
    assert "X-Postfix-Queue-ID: %s\n" % qid in r
    assert r.count("Final-Recipient:") == 1, r
    assert "\n<%s@%s>: delivery via local: alias expanded\n" % (user, DOM) in r, r
    assert "Action: expanded\nStatus: 2.0.0\n" in r, r
    assert count_messages(os.path.join(full.out, "fwd.mbox")) == 1


def test_alias_in_dotforward_keeps_the_forward_owner(make):
    """~alice/.forward lists an alias of bob: Postfix keeps alice as the owner,
    so bob is resubmitted (a new queue file), not delivered here."""
    inst = make(aliases="team: pt6bob\n")
    alice, bob = inst.users
    forward(inst, "team\n")
    status, log, qid = inst.deliver(MSG, [alice + "@pf.example"])
    assert status == 0, log
    if alice == bob:
        # Not root: both test users are us; our own .forward lists us: the mailbox.
        assert any("delivered to mailbox" in l for l in log), log
        return
    fw = [l for l in log if "forwarded as" in l]
    assert len(fw) == 1 and "%s: to=<%s@pf.example>, relay=local" % (qid, alice) in fw[0], log
    new_id = fw[0].rsplit(" ", 1)[1].rstrip(")")
    recs = list(la.read_records(os.path.join(inst.queue, "incoming", new_id)))
    assert [d.decode() for _, t, d in recs if t == "R"] == [bob + "@pf.example"]
    assert [d.decode() for _, t, d in recs if t == "O"] == [alice + "@pf.example"]
    assert count_messages(mailbox(inst, bob)) == 0


def test_verify_report_says_delivery_via_local(full):
    """sendmail -bv: the report's lines read as Postfix's, "delivery via local: ..."."""
    me = pwd.getpwuid(os.getuid()).pw_name
    r = full.cmd("sendmail", "-bv", "dsnbox@" + DOM)
    assert r.returncode == 0, r.stderr
    box = os.path.join(full.mail_dir, me)
    wait_until(lambda: os.path.exists(box) and "Delivery report" in open(box).read(),
               timeout=30, what="the verification report in %s" % box)
    text = open(box).read()
    assert ("\n<dsnbox@%s>: delivery via local: delivers to file: %s/dsn.mbox\n"
            % (DOM, full.out)) in text, text
    assert re.search(r"Diagnostic-Code: X-Postfix; delivery via local: delivers to file:\s+%s/dsn\.mbox"
                     % re.escape(full.out), text), text


def test_world_writable_dotforward_is_ignored(make):
    """Postfix 3.7 (dotforward.c): a .forward with world write permission is
    not used ("warning: file PATH is world writable"); the user's mail goes
    to the mailbox. Anyone could otherwise make the user run commands."""
    inst = make()
    alice = inst.users[0]
    forward(inst, '"OUT/fwd.mail"\n')
    path = os.path.join(inst.out, ".forward")
    os.chmod(path, 0o666)
    status, log, qid = inst.deliver(MSG, [alice + "@pf.example"])
    assert status == 0, log
    assert "warning: file %s is world writable" % path in "\n".join(log), log
    assert count_messages(os.path.join(inst.out, "fwd.mail")) == 0
    assert count_messages(mailbox(inst, alice)) == 1


def test_alias_without_recipients_is_deferred(make):
    """Postfix 3.7 (checked on a scratch instance): an alias whose value
    holds no recipient ("emptyal: ,") logs "warning: no recipient in alias
    lookup result for emptyal" and defers "alias database unavailable"; the
    message is not dropped."""
    inst = make(aliases="emptyal: ,\n")
    status, log, qid = inst.deliver(MSG, ["emptyal@pf.example"])
    text = "\n".join(log)
    assert "warning: no recipient in alias lookup result for emptyal" in text, log
    assert re.search(r"to=<emptyal@pf\.example>, relay=local, .*dsn=4\.3\.0, "
                     r"status=deferred \(alias database unavailable\)", text), log


def test_dotforward_without_recipients_means_mailbox(make):
    """A .forward with no address in it (only separators) does not forward
    (Postfix: no address counted); the mail goes to the mailbox."""
    inst = make()
    alice = inst.users[0]
    forward(inst, ",\n , ,\n")
    status, log, qid = inst.deliver(MSG, [alice + "@pf.example"])
    assert status == 0, log
    assert any("delivered to mailbox" in l for l in log), log
    assert count_messages(mailbox(inst, alice)) == 1


# ------------------------------------------- Postfix 3.7 facts checked live (g1)
# Each expectation below was observed on a scratch Debian Postfix 3.7.11
# (alias_maps, users with a .forward, messages over SMTP); the log lines are
# quoted in the tests.

def test_empty_quoted_alias_is_mailer_daemon_and_discarded(make):
    """`nullal: ""`: Postfix resolves the empty address to
    empty_address_recipient@myorigin; without a mailer-daemon alias that
    recipient is discarded with a warning:
        warning: required alias not found: mailer-daemon
        ID: to=<MAILER-DAEMON@pf.example>, orig_to=<nullal@pf.example>,
            relay=local, ..., dsn=2.0.0, status=sent (discarded)
    postmaster@ and MAILER-DAEMON@ without an alias likewise."""
    inst = make(aliases='nullal: ""\n')
    status, log, qid = inst.deliver(MSG, ["nullal@pf.example"])
    assert status == 0, log
    assert log[0].endswith("warning: required alias not found: mailer-daemon"), log
    assert re.search(r"%s: to=<MAILER-DAEMON@pf\.example>, orig_to=<nullal@pf\.example>, "
                     r"relay=local, .*dsn=2\.0\.0, status=sent \(discarded\)$" % qid, log[1]), log
    assert len(log) == 2, log

    status, log, qid = inst.deliver(MSG, ["MAILER-DAEMON@pf.example", "Postmaster@pf.example"])
    assert status == 0, log
    text = "\n".join(log)
    assert "warning: required alias not found: mailer-daemon" in text, log
    assert "warning: required alias not found: postmaster" in text, log
    assert re.search(r"%s: to=<Postmaster@pf\.example>, relay=local, .*dsn=2\.0\.0, "
                     r"status=sent \(discarded\)" % qid, text), log

    # With a mailer-daemon alias, "" is delivered through it.
    inst = make(aliases='nullal: ""\nmailer-daemon: "OUT/md.mail"\n')
    status, log, qid = inst.deliver(MSG, ["nullal@pf.example"])
    assert status == 0, log
    assert not any("warning" in l for l in log), log
    assert count_messages(os.path.join(inst.out, "md.mail")) == 1, log


@pytest.mark.parametrize("kind", ["symlink", "directory", "unreadable"])
def test_unusable_dotforward_warns_and_means_mailbox(make, kind):
    """Postfix 3.7 lstat()s the .forward as the user and, when that finds
    something, uses it or warns and delivers to the mailbox:
        warning: file PATH is not a regular file      (symlink, directory)
        warning: cannot open file PATH: Permission denied   (mode 000)
    followed by `status=sent (delivered to mailbox)`."""
    inst = make()
    alice = inst.users[0]
    path = os.path.join(inst.out, ".forward")
    target = os.path.join(inst.out, "real.forward")
    with open(target, "w") as f:
        f.write(os.path.join(inst.out, "fwd.mail") + "\n")
    if kind == "symlink":
        os.symlink(target, path)
    elif kind == "directory":
        os.mkdir(path)
    else:
        forward(inst, '"OUT/fwd.mail"\n')
        os.chmod(path, 0)
    for f in (target, path):
        if la.IS_ROOT:
            pw = pwd.getpwnam(alice)
            os.lchown(f, pw.pw_uid, pw.pw_gid)
    status, log, qid = inst.deliver(MSG, [alice + "@pf.example"])
    assert status == 0, log
    want = ("warning: cannot open file %s: Permission denied" % path if kind == "unreadable"
            else "warning: file %s is not a regular file" % path)
    assert log[0].endswith(want), log
    assert re.search(r"%s: to=<%s@pf\.example>, relay=local, .*status=sent "
                     r"\(delivered to mailbox\)$" % (qid, alice), log[1]), log
    assert count_messages(mailbox(inst, alice)) == 1
    assert count_messages(os.path.join(inst.out, "fwd.mail")) == 0


def test_dotforward_path_that_cannot_be_looked_up_is_skipped(make):
    """forward_path = OUT/sub/.forward, OUT/.forward with OUT/sub not
    searchable by the user: Postfix's lstat() fails (EACCES), silently, and
    the next path is used."""
    inst = make(conf="forward_path = OUT/sub/.forward, OUT/.forward\n")
    alice = inst.users[0]
    sub = os.path.join(inst.out, "sub")
    os.mkdir(sub)
    with open(os.path.join(sub, ".forward"), "w") as f:
        f.write(os.path.join(inst.out, "sub.mail") + "\n")
    if la.IS_ROOT:
        pw = pwd.getpwnam(alice)
        os.chown(os.path.join(sub, ".forward"), pw.pw_uid, pw.pw_gid)
    os.chmod(sub, 0)
    try:
        forward(inst, '"OUT/fwd.mail"\n')
        status, log, qid = inst.deliver(MSG, [alice + "@pf.example"])
    finally:
        os.chmod(sub, 0o755)
    assert status == 0, log
    assert not any("warning" in l for l in log), log
    assert any("delivered to file: %s/fwd.mail" % inst.out in l for l in log), log
    assert count_messages(os.path.join(inst.out, "sub.mail")) == 0


def test_shared_dotforward_is_expanded_once_per_delivery(make):
    """Postfix keys .forward expansion by the file's path. With
    forward_path = OUT/shared.forward (root's file, so any user may use
    it) holding "alice", `both: alice, sub` and `sub: bob`, Postfix logs
    one line:
        to=<alice@..>, orig_to=<both@..>, ... (delivered to mailbox)
    bob reaches the same, already expanded file and gets nothing more (a
    key by user would expand it again for bob and resubmit alice)."""
    if not la.IS_ROOT:
        pytest.skip("needs two users")
    inst = make(conf="forward_path = OUT/shared.forward\n",
                aliases="both: pt6alice, sub\nsub: pt6bob\n")
    alice, bob = inst.users
    with open(os.path.join(inst.out, "shared.forward"), "w") as f:
        f.write(alice + "\n")
    status, log, qid = inst.deliver(MSG, ["both@pf.example"])
    assert status == 0, log
    assert len(log) == 1, log
    assert re.search(r"%s: to=<%s@pf\.example>, orig_to=<both@pf\.example>, relay=local, "
                     r".*status=sent \(delivered to mailbox\)$" % (qid, alice), log[0]), log
    assert count_messages(mailbox(inst, alice)) == 1
    assert count_messages(mailbox(inst, bob)) == 0


def test_forwarded_twice_keeps_first_log_ident_and_sasl_attributes(make):
    """Postfix's forward_open passes the delivery request's sasl_method,
    sasl_username, sasl_sender and log_ident to the new queue file (empty
    ones left out). A message forwarded twice (smtpd -> alias -> .forward
    -> remote) has `log_ident=FIRSTID` in its third queue file (postcat);
    mail from sendmail has none."""
    inst = make(aliases="fw1: far@remote.example\n")
    status, log, qid = inst.deliver(MSG, ["fw1@pf.example"])
    # The stand-alone request has no log_ident: none in the new file.
    new_id = [l for l in log if "forwarded as" in l][0].rsplit(" ", 1)[1].rstrip(")")
    attrs = dict(d.decode().split("=", 1) for _, t, d in
                 la.read_records(os.path.join(inst.queue, "incoming", new_id)) if t == "A")
    assert "log_ident" not in attrs and "sasl_method" not in attrs, attrs

    # With the attributes in the request, they are passed on as they are.
    qid = inst.queue_file(MSG, ["fw1@pf.example"])
    pairs = inst.request(qid)
    extra = [("sasl_method", "PLAIN"), ("sasl_username", "alice"),
             ("sasl_sender", "owner@client.example"), ("log_ident", "FIRSTID")]
    at = [n for n, _ in pairs].index("rcpt_offset")
    pairs[at:at] = extra
    reply, log = inst.send(pairs, qid)
    assert "status=0" in reply, (reply, log)
    new_id = [l for l in log if "forwarded as" in l][0].rsplit(" ", 1)[1].rstrip(")")
    recs = [(t, d.decode()) for _, t, d in
            la.read_records(os.path.join(inst.queue, "incoming", new_id))]
    names = [d.split("=", 1)[0] for t, d in recs if t == "A"]
    attrs = dict(d.split("=", 1) for t, d in recs if t == "A")
    assert attrs["sasl_method"] == "PLAIN" and attrs["sasl_username"] == "alice", attrs
    assert attrs["sasl_sender"] == "owner@client.example", attrs
    assert attrs["log_ident"] == "FIRSTID", attrs
    # Postfix's order: log_client_*, sasl_method, sasl_username, sasl_sender, log_ident, rewrite_context
    assert names.index("sasl_method") < names.index("sasl_username") < names.index("sasl_sender") \
        < names.index("log_ident") < names.index("rewrite_context"), names

def test_forwarded_twice_whole_path_log_ident(full):
    """smtpd -> qmgr -> local -> qmgr -> local: the member of an owner-
    list is resubmitted (second queue file), whose .forward sends it to a
    remote address (third queue file). The third file carries the first
    message's ID as log_ident, as in Postfix (forward_open passes the
    request's log_ident; qmgr takes it from the queue file)."""
    user = full.user
    path = os.path.join(full.out, user + ".forward")
    with open(path, "w") as f:
        f.write("far4@remote.example\n")
    if la.IS_ROOT:
        pw = pwd.getpwnam(user)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    s = smtplib.SMTP("127.0.0.1", full.smtp_port, timeout=30)
    s.ehlo("client.example")
    s.docmd("MAIL FROM:<sender@remote.example>")
    code, _ = s.docmd("RCPT TO:<list2@%s>" % DOM)
    assert code == 250
    code, _ = s.docmd("DATA")
    s.send(b"Subject: twice\r\n\r\nbody\r\n.\r\n")
    code, text = s.getreply()
    assert code == 250, text
    s.quit()
    first = text.decode().rsplit(" ", 1)[1]
    wait_until(lambda: deferred_file(full, "far4@remote.example"), timeout=30,
               what="the message forwarded twice in the deferred queue")
    sender, attrs, rcpt = envelope(deferred_file(full, "far4@remote.example"))
    assert attrs.get("log_ident") == first, (first, attrs)
    # It went through two resubmissions: first -> list member -> .forward.
    log = open(full.maillog_path).read()
    m = re.search(r"%s: to=<list2@%s>, relay=local, .*\(forwarded as (\w+)\)" % (first, DOM), log)
    assert m, log
    assert re.search(r"%s: to=<%s@%s>, .*relay=local, .*\(forwarded as \w+\)"
                     % (m.group(1), user, DOM), log), log


def test_forwarded_file_size_and_empty_address_in_dotforward(make):
    """A .forward holding `""` (Postfix 3.7, live): the user's copy is
    resubmitted ("forwarded as ID") to MAILER-DAEMON@myorigin, which is then
    discarded. The new file's size (what qmgr logs as size=) counts each
    line with CRLF, as Postfix's cleanup: Postfix logged size=428 for a
    307-byte message after adding 118 bytes in 3 lines of Received: and
    Delivered-To:."""
    inst = make()
    alice = inst.users[0]
    forward(inst, '""\n')
    status, log, qid = inst.deliver(MSG, [alice + "@pf.example"])
    assert status == 0, log
    fw = [l for l in log if "forwarded as" in l]
    assert len(fw) == 1 and "to=<%s@pf.example>, relay=local" % alice in fw[0], log
    new_id = fw[0].rsplit(" ", 1)[1].rstrip(")")
    recs = list(la.read_records(os.path.join(inst.queue, "incoming", new_id)))
    assert [d.decode() for _, t, d in recs if t == "R"] == ["MAILER-DAEMON@pf.example"]
    size = int([d.decode() for _, t, d in recs if t == "C"][0].split()[4])
    lines = [d for _, t, d in recs if t == "N"]
    assert size == sum(len(d) + 2 for d in lines), (size, lines)


def test_forward_path_elements_expand_as_postfix(make):
    """Postfix 3.7, live: each forward_path element is expanded on its own
    and skipped when it names an undefined attribute. With forward_path =
    $home/.fwd-${extension}, $home/.forward and a file .fwd-: user@ (no
    extension) gets .forward; user+@ (an empty extension) gets .fwd-.
    $recipient_delimiter is the delimiter found in the address: with
    recipient_delimiter = +- the address user-foo uses .forward-foo."""
    inst = make(conf="recipient_delimiter = +-\n"
                "forward_path = OUT/.fwd-${extension}, OUT/.forward${recipient_delimiter}${extension},"
                " OUT/.forward\n")
    alice = inst.users[0]
    for name, target in ((".fwd-", "ext.mail"), (".forward-foo", "dash.mail"),
                         (".forward", "plain.mail")):
        path = os.path.join(inst.out, name)
        with open(path, "w") as f:
            f.write(os.path.join(inst.out, target) + "\n")
        if la.IS_ROOT:
            pw = pwd.getpwnam(alice)
            os.chown(path, pw.pw_uid, pw.pw_gid)
    os.unlink(os.path.join(inst.out, ".fwd-"))
    status, log, qid = inst.deliver(MSG, [alice + "-foo@pf.example"])
    assert status == 0, log
    assert any("delivered to file: %s/dash.mail" % inst.out in l for l in log), log
    # The file named by the bare delimiter, no extension: not looked at.
    with open(os.path.join(inst.out, ".fwd-"), "w") as f:
        f.write(os.path.join(inst.out, "ext.mail") + "\n")
    if la.IS_ROOT:
        os.chown(os.path.join(inst.out, ".fwd-"), pw.pw_uid, pw.pw_gid)
    status, log, qid = inst.deliver(MSG, [alice + "@pf.example"])
    assert status == 0, log
    assert any("delivered to file: %s/plain.mail" % inst.out in l for l in log), log
    status, log, qid = inst.deliver(MSG, [alice + "+@pf.example"])
    assert status == 0, log
    assert any("delivered to file: %s/ext.mail" % inst.out in l for l in log), log
