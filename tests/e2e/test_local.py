"""End-to-end tests of the local delivery agent (src/local, src/global/local_*).

The agent runs stand-alone (`local -S unix:SOCK`) with a scratch main.cf;
each test writes a queue file into `active` with postern-qfile and sends a
delivery request, as qmgr does (docs/delivery-protocol.md). As root the
tests create two users (pt6aNNNN, pt6bNNNN, per test process; "pt6alice" and "pt6bob"
in the aliases below stand for them) and check ownership and the uid
of commands; as an ordinary user both recipients are that user and the
uid assertions are skipped.
"""
import fcntl
import glob
import os
import pwd
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import localagent as la  # noqa: E402

GOLD = os.path.join(os.path.dirname(__file__), "..", "golden", "local")
MSG = ("Subject: test one\nFrom: Sender <sender@remote.example>\n\n"
       "hello\nFrom the body\n>From quoted\nlast line\n")
FROM_RE = re.compile(r"^From (\S+)  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$", re.M)
root_only = pytest.mark.skipif(not la.IS_ROOT, reason="needs root (uid switching)")


def gold(name):
    with open(os.path.join(GOLD, name)) as f:
        return f.read()


def norm(text):
    return FROM_RE.sub(r"From \1  DATE", text)


@pytest.fixture
def make():
    made = []

    def factory(conf="", aliases=""):
        def subst(text):
            # OUT: the instance's output directory; pt6alice/pt6bob: the test users.
            return (text.replace("OUT", i.out).replace("pt6alice", users[0])
                    .replace("pt6bob", users[1]))
        users = la.test_users()
        i = la.LocalInstance()
        i.stop()
        with open(os.path.join(i.conf, "main.cf"), "a") as f:
            f.write(subst(conf))
        i.start()
        i.write_aliases(subst(aliases))
        made.append(i)
        return i
    yield factory
    for i in made:
        i.cleanup()


def spool(inst, user):
    with open(os.path.join(inst.spool, user)) as f:
        return f.read()


def sent_lines(lines):
    return [l for l in lines if "status=sent" in l]


# ---------------------------------------------------------------- formats

def test_mbox_bytes_match_postfix(make):
    inst = make()
    g = gold("postfix-mailbox.txt")
    lines = g.split("\n")
    queued = "\n".join(lines[4:-2]) + "\n"
    queued = queued.replace(">From the body", "From the body")
    user = inst.users[0]
    status, log, _ = inst.deliver(queued, [user + "@pf.example"])
    assert status == 0, log
    want = g.replace("h6alice@pf.example", user + "@pf.example")
    assert norm(spool(inst, user)) == norm(want)
    st = os.stat(os.path.join(inst.spool, user))
    assert st.st_mode & 0o777 == 0o600
    assert st.st_uid == pwd.getpwnam(user).pw_uid


def test_maildir_bytes_match_postfix(make):
    if la.IS_ROOT:
        inst = make(conf="home_mailbox = Maildir/\n")
        user = inst.users[0]
        maildir = os.path.join(inst.user_home(user), "Maildir")
        rcpt = user + "@pf.example"
        where = "maildir"
    else:
        # Without root we may not touch our own home: a Maildir alias.
        inst = make(aliases="h6alice: OUT/Maildir/\n")
        user = inst.users[0]
        maildir = os.path.join(inst.out, "Maildir")
        rcpt = "h6alice@pf.example"
        where = "maildir"
    status, log, _ = inst.deliver(gold("queued.txt"), [rcpt])
    assert status == 0, log
    assert "status=sent (delivered to %s)" % where in log[0]
    files = glob.glob(os.path.join(maildir, "new", "*"))
    assert len(files) == 1
    assert os.listdir(os.path.join(maildir, "tmp")) == []
    assert os.path.isdir(os.path.join(maildir, "cur"))
    name = os.path.basename(files[0])
    # time.VdevIinoMusec.host, as Postfix names them
    assert re.match(r"^\d+\.V[0-9a-f]+I[0-9a-f]+M\d+\.\S+$", name), name
    with open(files[0]) as f:
        got = f.read()
    assert got == gold("postfix-maildir.txt").replace("h6alice@pf.example", rcpt)
    st = os.stat(files[0])
    assert st.st_mode & 0o777 == 0o600
    if la.IS_ROOT:
        assert st.st_uid == pwd.getpwnam(user).pw_uid


def test_file_bytes_match_postfix(make):
    inst = make(aliases='h6file: "OUT/file.mail"\n')
    status, log, _ = inst.deliver(gold("queued.txt"), ["h6file@pf.example"])
    assert status == 0, log
    path = os.path.join(inst.out, "file.mail")
    assert "status=sent (delivered to file: %s)" % path in log[0]
    with open(path) as f:
        assert norm(f.read()) == norm(gold("postfix-file-mbox.txt"))
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o600
    if la.IS_ROOT:
        assert st.st_uid == pwd.getpwnam("nobody").pw_uid     # default_privs


def test_command_input_matches_postfix(make):
    inst = make(aliases='h6cmd: "|cat > OUT/cmd.out; id -u > OUT/cmd.uid; env > OUT/cmd.env"\n')
    status, log, _ = inst.deliver(gold("queued.txt"), ["h6cmd@pf.example"])
    assert status == 0, log
    assert "status=sent (delivered to command: cat > " in log[0]
    with open(os.path.join(inst.out, "cmd.out")) as f:
        assert norm(f.read()) == norm(gold("postfix-command-input.txt"))
    env = dict(l.split("=", 1) for l in open(os.path.join(inst.out, "cmd.env")).read().splitlines()
               if "=" in l)
    assert env["USER"] == "h6cmd" and env["LOCAL"] == "h6cmd"
    assert env["RECIPIENT"] == "h6cmd@pf.example"
    assert env["SENDER"] == "sender@remote.example"
    assert env["DOMAIN"] == "pf.example"
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["CLIENT_HELO"] == "_127.0.0.1_"          # filtered like Postfix
    assert "HOME" not in env                            # no user context for aliases
    if la.IS_ROOT:
        uid = open(os.path.join(inst.out, "cmd.uid")).read().strip()
        assert int(uid) == pwd.getpwnam("nobody").pw_uid
        assert os.stat(os.path.join(inst.out, "cmd.out")).st_mode & 0o777 == 0o600


# ---------------------------------------------------------------- aliases

def test_list_nesting_and_duplicates(make):
    inst = make(aliases="list: pt6alice, sub, pt6bob\nsub: pt6alice, pt6bob\n"
                     "ops535m: adm,ftp\nsmtp-lab:    pt6alice,pt6bob\n")
    if not la.IS_ROOT:
        pytest.skip("needs two distinct users")
    status, log, qid = inst.deliver(MSG, ["list@pf.example"])
    assert status == 0, log
    s = sent_lines(log)
    assert len(s) == 2, log
    assert "to=<%s@pf.example>, orig_to=<list@pf.example>" % inst.users[0] in s[0]
    assert "to=<%s@pf.example>, orig_to=<list@pf.example>" % inst.users[1] in s[1]
    for u in inst.users:
        box = spool(inst, u)
        assert box.count("\nReturn-Path:") + box.startswith("Return-Path") == 1
        assert "X-Original-To: list@pf.example\nDelivered-To: list@pf.example\n" in box
    assert inst.rcpt_records(qid) == [("D", "list@pf.example")]


def test_seed000_mailing_list(make):
    inst = make(aliases="smtp-lab:    pt6alice,pt6bob\n")
    status, log, _ = inst.deliver(MSG, ["smtp-lab@pf.example"])
    assert status == 0, log
    assert len(sent_lines(log)) == (2 if la.IS_ROOT else 1)
    assert "Subject: test one" in spool(inst, inst.users[0])


def test_unknown_user_bounces_with_postfix_text(make):
    inst = make(aliases="h6nouser: nosuchuserx\n")
    status, log, qid = inst.deliver(MSG, ["nosuch@pf.example", "h6nouser@pf.example"])
    assert status == 0
    assert 'to=<nosuch@pf.example>, relay=local' in log[0]
    assert 'dsn=5.1.1, status=bounced (unknown user: "nosuch")' in log[0]
    assert ('to=<nosuchuserx@pf.example>, orig_to=<h6nouser@pf.example>, relay=local'
            in log[1])
    assert 'status=bounced (unknown user: "nosuchuserx")' in log[1]
    assert os.path.exists(os.path.join(inst.queue, "bounce", qid))
    assert [t for t, _ in inst.rcpt_records(qid)] == ["D", "D"]


def test_alias_loop(make):
    inst = make(aliases="h6loop: h6loop2\nh6loop2: h6loop\n")
    status, log, _ = inst.deliver(MSG, ["h6loop@pf.example"])
    assert status == 0
    assert "warning: alias database loop for h6loop2" in "\n".join(log)
    assert any("to=<h6loop2@pf.example>, orig_to=<h6loop@pf.example>" in l and
               "dsn=5.4.6, status=bounced (alias database loop for h6loop2)" in l
               for l in log)


def test_backslash_user_and_self_reference(make):
    inst = make(aliases="root2: \\pt6alice, pt6alice\n")
    status, log, _ = inst.deliver(MSG, ["root2@pf.example"])
    assert status == 0, log
    assert len(sent_lines(log)) == 1                    # duplicate eliminated
    assert "delivered to mailbox" in log[0]


def test_include(make):
    inst = make(aliases="inc: :include:OUT/members\nincfile: :include:OUT/files\n")
    with open(os.path.join(inst.out, "members"), "w") as f:
        f.write("# lab members\n%s\n\n%s\n" % tuple(inst.users))
    with open(os.path.join(inst.out, "files"), "w") as f:
        f.write('"%s/x.mail"\n"|cat > %s/x.out"\n' % (inst.out, inst.out))
    status, log, _ = inst.deliver(MSG, ["inc@pf.example", "incfile@pf.example"])
    assert status == 0, log
    # Members of an :include: file are resubmitted (Postfix: "forwarded as ID").
    fw = [l for l in log if "to=<inc@pf.example>, relay=local" in l and "forwarded as" in l]
    assert len(fw) == 1, log
    qid = fw[0].rsplit(" ", 1)[1].rstrip(")")
    recs = list(la.read_records(os.path.join(inst.queue, "incoming", qid)))
    assert sorted(d.decode() for _, t, d in recs if t == "R") == \
        sorted(set(u + "@pf.example" for u in inst.users))
    # allow_mail_to_files / allow_mail_to_commands default: alias, forward
    text = "\n".join(log)
    assert "dsn=5.7.1, status=bounced (mail to file is restricted)" in text
    assert "dsn=5.7.1, status=bounced (mail to command is restricted)" in text
    assert not os.path.exists(os.path.join(inst.out, "x.mail"))


def test_include_files_allowed(make):
    inst = make(conf="allow_mail_to_files = alias, forward, include\n", aliases="incfile: :include:OUT/files\n")
    with open(os.path.join(inst.out, "files"), "w") as f:
        f.write('"%s/x.mail"\n' % inst.out)
    status, log, _ = inst.deliver(MSG, ["incfile@pf.example"])
    assert status == 0, log
    assert "delivered to file: %s/x.mail" % inst.out in log[0]


def test_forwarding_and_owner_alias(make):
    inst = make(aliases="list: pt6alice, remote@example.org\nowner-list: pt6bob\n"
                     "plain: pt6alice, far@example.net\n")
    status, log, _ = inst.deliver(MSG, ["plain@pf.example"])
    assert status == 0, log
    # the member is delivered here, the remote address resubmitted; the log names the
    # alias that was expanded, as Postfix: to=<plain@...> ... (forwarded as ID)
    assert any("to=<%s@pf.example>, orig_to=<plain@pf.example>" % inst.users[0] in l and
               "delivered to mailbox" in l for l in log)
    fw = [l for l in log if "forwarded as" in l]
    assert len(fw) == 1 and "to=<plain@pf.example>, relay=local" in fw[0]
    qid = fw[0].rsplit(" ", 1)[1].rstrip(")")
    recs = list(la.read_records(os.path.join(inst.queue, "incoming", qid)))
    assert [d.decode() for _, t, d in recs if t == "S"] == ["sender@remote.example"]
    assert [d.decode() for _, t, d in recs if t == "R"] == ["far@example.net"]
    body = [d.decode() for _, t, d in recs if t == "N"]
    # As Postfix's local(8): "Received: by $myhostname ($mail_name) id QID; date",
    # then Delivered-To:, then the message.
    assert body[0] == "Received: by pf.example (postern)"
    assert body[1].startswith("\tid %s; " % qid), body[1]
    assert body[2] == "Delivered-To: plain@pf.example"
    assert os.stat(os.path.join(inst.queue, "incoming", qid)).st_mode & 0o700 == 0o700
    # owner-list: the whole expansion is resubmitted with the owner as sender
    status, log, _ = inst.deliver(MSG, ["list@pf.example"])
    assert status == 0, log
    fw = [l for l in log if "forwarded as" in l]
    assert len(fw) == 1 and "to=<list@pf.example>, relay=local" in fw[0], log
    qid = fw[0].rsplit(" ", 1)[1].rstrip(")")
    recs = list(la.read_records(os.path.join(inst.queue, "incoming", qid)))
    assert [d.decode() for _, t, d in recs if t == "S"] == ["owner-list@pf.example"]
    assert sorted(d.decode() for _, t, d in recs if t == "R") == \
        sorted([inst.users[0] + "@pf.example", "remote@example.org"])


# ---------------------------------------------------------------- .forward, extensions

def write_forward(inst, user, text, name=".forward"):
    path = os.path.join(inst.out, name)
    with open(path, "w") as f:
        f.write(text)
    pw = pwd.getpwnam(user)
    if la.IS_ROOT:
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


def test_dotforward_file_and_self(make):
    inst = make(conf="forward_path = OUT/.forward\n")
    user = inst.users[0]
    fwd = write_forward(inst, user, "# comment\n\\%s, \"%s/fwd.mail\"\n"
                        "\"|id -u > %s/fwd.uid\"\n" % (user, inst.out, inst.out))
    try:
        status, log, _ = inst.deliver(MSG, [user + "@pf.example"])
        assert status == 0, log
        text = "\n".join(log)
        assert "delivered to mailbox" in text
        assert "delivered to file: %s/fwd.mail" % inst.out in text
        assert "delivered to command: id -u" in text
        assert "Subject: test one" in spool(inst, user)
        if la.IS_ROOT:
            pw = pwd.getpwnam(user)
            assert os.stat(os.path.join(inst.out, "fwd.mail")).st_uid == pw.pw_uid
            assert int(open(os.path.join(inst.out, "fwd.uid")).read()) == pw.pw_uid
    finally:
        os.unlink(fwd)


def test_extension_forward_and_mailbox(make):
    inst = make(conf="recipient_delimiter = +\n"
                "forward_path = OUT/.forward${recipient_delimiter}${extension}, OUT/.forward\n")
    user = inst.users[0]
    fwd = write_forward(inst, user, '"%s/ext.mail"\n' % inst.out, ".forward+lists")
    try:
        status, log, _ = inst.deliver(MSG, [user + "+lists@pf.example", user + "+other@pf.example"])
        assert status == 0, log
        assert "to=<%s+lists@pf.example>" % user in log[0]
        assert "delivered to file: %s/ext.mail" % inst.out in log[0]
        assert "delivered to mailbox" in log[1]
        assert "Delivered-To: %s+other@pf.example" % user in spool(inst, user)
    finally:
        os.unlink(fwd)


def test_luser_relay(make):
    inst = make(conf="luser_relay = pt6bob\n")
    status, log, _ = inst.deliver(MSG, ["nobody-here@pf.example"])
    assert status == 0, log
    assert "to=<%s@pf.example>, orig_to=<nobody-here@pf.example>" % inst.users[1] in log[0]


def test_delivered_to_loop(make):
    inst = make()
    user = inst.users[0]
    msg = "Delivered-To: %s@PF.example\n%s" % (user, MSG)
    status, log, qid = inst.deliver(msg, [user + "@pf.example"])
    assert status == 0
    assert ("dsn=5.4.6, status=bounced (mail forwarding loop for %s@pf.example)" % user) in log[0]
    assert not os.path.exists(os.path.join(inst.spool, user))


# ---------------------------------------------------------------- commands

def test_command_exit_status_mapping(make):
    inst = make(conf="command_time_limit = 1s\n", aliases='tf: "|exit 75"\nnu: "|echo oops; exit 67"\nst: "|exit 2"\n'
                     'slow: "|sleep 30"\nds: "|echo 5.7.9 go away; exit 1"\n')
    status, log, qid = inst.deliver(MSG, ["tf@pf.example", "nu@pf.example", "st@pf.example",
                                          "slow@pf.example", "ds@pf.example"])
    assert status == 1                                  # tf deferred
    assert "dsn=4.3.0, status=deferred (temporary failure)" in log[0]
    assert "dsn=5.1.1, status=bounced (user unknown. Command output: oops )" in log[1]
    assert 'dsn=5.3.0, status=bounced (Command died with status 2: "exit 2")' in log[2]
    assert 'dsn=5.3.0, status=bounced (Command time limit exceeded: "sleep 30")' in log[3]
    assert "dsn=5.7.9, status=bounced" in log[4]
    assert [t for t, _ in inst.rcpt_records(qid)] == ["R", "D", "D", "D", "D"]
    assert glob.glob(os.path.join(inst.queue, "defer", "**", qid), recursive=True)


def test_mailbox_command(make):
    inst = make(conf="mailbox_command = id -u > OUT/mc.uid; cat > OUT/mc.out; "
                "echo $HOME > OUT/mc.home\n")
    user = inst.users[0]
    status, log, _ = inst.deliver(MSG, [user + "@pf.example"])
    assert status == 0, log
    assert "delivered to command: id -u" in log[0]
    home = inst.out
    out = open(os.path.join(home, "mc.out")).read()
    assert open(os.path.join(home, "mc.home")).read().strip() == inst.user_home(user)
    assert out.startswith("From sender@remote.example  ")
    assert "\nDelivered-To: %s@pf.example\n" % user in out
    if la.IS_ROOT:
        assert int(open(os.path.join(home, "mc.uid")).read()) == pwd.getpwnam(user).pw_uid


# ---------------------------------------------------------------- locking, errors

def test_mbox_lock_held_by_reader_defers(make):
    inst = make(conf="deliver_lock_attempts = 2\n")
    user = inst.users[0]
    status, log, _ = inst.deliver(MSG, [user + "@pf.example"])
    assert status == 0
    path = os.path.join(inst.spool, user)
    before = open(path).read()
    fd = os.open(path, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX)                      # a mail reader holds it
    try:
        status, log, qid = inst.deliver(MSG, [user + "@pf.example"])
        assert status == 1
        assert "dsn=4.2.0, status=deferred" in log[0]
        assert "unable to lock for exclusive access" in log[0]
        assert open(path).read() == before
    finally:
        os.close(fd)
    # dot-lock held by another program
    lock = path + ".lock"
    open(lock, "w").close()
    try:
        status, log, _ = inst.deliver(MSG, [user + "@pf.example"])
        assert status == 1 and "4.2.0" in log[0], log
    finally:
        os.unlink(lock)
    status, log, _ = inst.deliver(MSG, [user + "@pf.example"])
    assert status == 0
    assert open(path).read().count("Subject: test one") == 2


def test_mailbox_size_limit_leaves_mailbox_unchanged(make):
    inst = make(conf="mailbox_size_limit = 2000\nmessage_size_limit = 1500\n")
    user = inst.users[0]
    status, log, _ = inst.deliver(MSG, [user + "@pf.example"])
    assert status == 0
    path = os.path.join(inst.spool, user)
    before = open(path).read()
    big = MSG + ("x" * 70 + "\n") * 40
    status, log, _ = inst.deliver(big, [user + "@pf.example"])
    assert "dsn=5.2.2, status=bounced (cannot update mailbox %s for user %s. " \
        "error writing message: File too large)" % (path, user) in log[0]
    assert open(path).read() == before


@root_only
def test_disk_full_defers_and_truncates(make):
    inst = make()
    user = inst.users[0]
    mnt = os.path.join(inst.dir, "small")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=1777", "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount tmpfs: " + r.stderr.decode())
    try:
        inst.stop()
        with open(os.path.join(inst.conf, "main.cf"), "a") as f:
            f.write("mail_spool_directory = %s\n" % mnt)
        inst.start()
        status, log, _ = inst.deliver(MSG, [user + "@pf.example"])
        assert status == 0, log
        path = os.path.join(mnt, user)
        before = open(path).read()
        big = MSG + ("y" * 99 + "\n") * 1000            # 100 kB > 64 kB
        status, log, qid = inst.deliver(big, [user + "@pf.example"])
        assert status == 1
        # Postfix 3.7: ENOSPC is 4.3.0 (checked with a mailbox on a full tmpfs)
        assert "dsn=4.3.0, status=deferred (cannot update mailbox %s for user %s. " \
            "error writing message: No space left on device)" % (path, user) in log[0], log
        assert "No space left on device" in log[0]
        assert open(path).read() == before
        assert inst.rcpt_records(qid) == [("R", user + "@pf.example")]
    finally:
        inst.stop()
        subprocess.run(["umount", mnt])
        inst.start()


# ---------------------------------------------------------------- verification

def test_verify_reports_destinations(make):
    inst = make(aliases='lst: pt6alice, far@example.org\nf: "/tmp/x.mail"\nc: "|cat"\n')
    status, log, qid = inst.deliver(MSG, ["lst@pf.example", "f@pf.example", "c@pf.example",
                                          "nosuch@pf.example"], flags=0x200)
    text = "\n".join(log)
    assert "orig_to=<lst@pf.example>, relay=local" in text
    assert "status=deliverable (delivers to mailbox)" in text
    assert "to=<far@example.org>, orig_to=<lst@pf.example>" in text
    assert "status=deliverable (forwards to far@example.org)" in text
    assert "status=deliverable (delivers to file: /tmp/x.mail)" in text
    assert "status=deliverable (delivers to command: cat)" in text
    assert 'status=undeliverable (unknown user: "nosuch")' in text
    assert not os.path.exists("/tmp/x.mail") or True
    assert os.path.exists(os.path.join(inst.queue, "trace", qid))
    assert not os.listdir(inst.spool)


# ---------------------------------------------------------------- seed 000 investigation 5

@root_only
def test_seed000_append_to_files(make):
    inst = make(aliases='rchan:       "/tmp/ops535.mail"\nops535:      "/tmp/rchan.mail"\n')
    for p in ("/tmp/ops535.mail", "/tmp/rchan.mail"):
        if os.path.exists(p):
            os.unlink(p)
    try:
        body = "Postfix is a Mail Transport Agent (MTA),\nsupporting LDAP, SMTP AUTH (SASL), TLS\n"
        status, log, _ = inst.deliver(body, ["ops535@pf.example"], sender="instructor@pf.example")
        assert status == 0, log
        status, log, _ = inst.deliver(body, ["rchan@pf.example"], sender="instructor@pf.example")
        assert status == 0, log
        for p, rcpt in (("/tmp/rchan.mail", "ops535"), ("/tmp/ops535.mail", "rchan")):
            st = os.stat(p)
            assert st.st_mode & 0o777 == 0o600
            assert st.st_uid == pwd.getpwnam("nobody").pw_uid
            text = open(p).read()
            assert FROM_RE.match(text.splitlines()[0])
            assert text.splitlines()[1:4] == ["Return-Path: <instructor@pf.example>",
                                              "X-Original-To: %s@pf.example" % rcpt,
                                              "Delivered-To: %s@pf.example" % rcpt]
            assert text.endswith("TLS\n\n")
    finally:
        for p in ("/tmp/ops535.mail", "/tmp/rchan.mail"):
            if os.path.exists(p):
                os.unlink(p)


# ---------------------------------------------------------------- seed 002: root's mail read with mail(1)

def test_seed002_root_alias_to_user_mbox(make):
    inst = make(conf="mydomain = example.com\nmyorigin = $mydomain\n"
                "mydestination = pf.example, localhost.$mydomain, localhost, $mydomain\n",
                aliases="root: pt6alice\n")
    user = inst.users[0]
    msg = ("Received: by centos.example.com (Postfix, from userid 0)\n"
           "\tid 51255218FED7; Sat, 17 Feb 2018 18:08:09 +0200 (EET)\n"
           "Date: Sat, 17 Feb 2018 18:08:09 +0200\nTo: root@example.com\nSubject: test\n"
           "Message-Id: <20180217160809.51255218FED7@centos.example.com>\n"
           "From: root@example.com (root)\n\nThis is a test\n")
    status, log, _ = inst.deliver(msg, ["root@example.com"], sender="root@example.com")
    assert status == 0, log
    assert ("to=<%s@example.com>, orig_to=<root@example.com>, relay=local, " % user) in log[0]
    assert "dsn=2.0.0, status=sent (delivered to mailbox)" in log[0]
    box = spool(inst, user).split("\n")
    assert FROM_RE.match(box[0]) and box[0].startswith("From root@example.com  ")
    assert box[1:4] == ["Return-Path: <root@example.com>", "X-Original-To: root@example.com",
                        "Delivered-To: root@example.com"]
    assert box[-3:] == ["This is a test", "", ""]
    # mail(1) (s-nail) reads it as one message from root with subject "test"
    mailx = "/usr/bin/s-nail" if os.path.exists("/usr/bin/s-nail") else None
    if mailx:
        r = subprocess.run([mailx, "-N", "-H", "-f", os.path.join(inst.spool, user)],
                           capture_output=True, text=True,
                           env=dict(os.environ, MAILRC="/dev/null", HOME=inst.out))
        assert r.returncode == 0, r.stderr
        heads = r.stdout.strip().splitlines()
        assert len(heads) == 1 and "root" in heads[0] and heads[0].rstrip().endswith("test"), heads


# ---------------------------------------------------------------- transports, maps

def start_discard(inst):
    """A discard agent at private/discard, as master would run it."""
    sock = os.path.join(inst.queue, "private", "discard")
    p = subprocess.Popen([os.path.join(la.BIN, "discard"), "-c", inst.conf, "-S", "unix:" + sock],
                         stdout=inst.logf, stderr=inst.logf)
    import time
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.02)
    return p


def test_mailbox_and_fallback_transport(make):
    inst = make(conf="mailbox_transport_maps = texthash:OUT/mbt\n"
                "fallback_transport = discard:gone\n"
                "mailbox_command_maps = texthash:OUT/mbc\n")
    with open(os.path.join(inst.out, "mbt"), "w") as f:
        f.write("%s discard:viamaps\n" % inst.users[0])
    with open(os.path.join(inst.out, "mbc"), "w") as f:
        f.write("%s cat > %s/mbc.out\n" % (inst.users[1], inst.out))
    d = start_discard(inst)
    try:
        rcpts = [inst.users[0] + "@pf.example", "ghost@pf.example"]
        if la.IS_ROOT:
            rcpts.append(inst.users[1] + "@pf.example")
        status, log, qid = inst.deliver(MSG, rcpts)
        text = open(inst.log).read()
        assert status == 0, text
        # The discard agent took (and logged, marked done) the first two.
        lines = text.splitlines()
        assert not [l for l in lines if l.startswith("local:") and
                    ("ghost" in l or "to=<%s@pf.example>" % inst.users[0] in l)]
        if any(l.startswith("discard:") for l in lines):
            assert any("to=<%s@pf.example>, relay=none" % inst.users[0] in l and
                       "status=sent (viamaps)" in l for l in lines)
            assert any("to=<ghost@pf.example>, relay=none" in l and "status=sent (gone)" in l
                       for l in lines)
        if la.IS_ROOT:
            assert "delivered to command: cat > %s/mbc.out" % inst.out in text
            assert open(os.path.join(inst.out, "mbc.out")).read().startswith("From sender@")
        assert all(t == "D" for t, _ in inst.rcpt_records(qid))
    finally:
        d.terminate()
        d.wait(10)


def test_dev_null_alias(make):
    inst = make(aliases="devnull: /dev/null\n")
    status, log, _ = inst.deliver(MSG, ["devnull@pf.example"])
    assert status == 0, log
    assert "status=sent (delivered to file: /dev/null)" in log[0]


def test_mailbox_size_limit_below_message_size_limit_is_fatal(make):
    inst = make()
    inst.stop()
    with open(os.path.join(inst.conf, "main.cf"), "a") as f:
        f.write("mailbox_size_limit = 2000\n")
    r = subprocess.run([os.path.join(la.BIN, "local"), "-c", inst.conf, "-S",
                        "unix:" + inst.sock], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert ("fatal: configuration error: mailbox_size_limit is smaller than "
            "message_size_limit") in r.stderr


@root_only
def test_home_mailbox_mbox_file(make):
    inst = make(conf="home_mailbox = Mailbox\n")
    user = inst.users[0]
    status, log, _ = inst.deliver(MSG, [user + "@pf.example"])
    assert status == 0, log
    assert "status=sent (delivered to mailbox)" in log[0]
    path = os.path.join(inst.user_home(user), "Mailbox")
    text = open(path).read()
    assert text.startswith("From sender@remote.example  ") and text.endswith("last line\n\n")
    st = os.stat(path)
    assert st.st_uid == pwd.getpwnam(user).pw_uid and st.st_mode & 0o777 == 0o600


def test_spool_maildir(make):
    inst = make()
    inst.stop()
    with open(os.path.join(inst.conf, "main.cf"), "a") as f:
        f.write("mail_spool_directory = %s/\n" % inst.spool)
    inst.start()
    user = inst.users[0]
    status, log, _ = inst.deliver(MSG, [user + "@pf.example"])
    assert status == 0, log
    assert "status=sent (delivered to maildir)" in log[0]
    files = glob.glob(os.path.join(inst.spool, user, "new", "*"))
    assert len(files) == 1
    assert open(files[0]).read().startswith("Return-Path: <sender@remote.example>\n")


@root_only
def test_alias_table_owner_rights(make):
    """Files and commands of an alias table owned by a user run as that user."""
    inst = make(aliases='own: "|id -u > OUT/own.uid"\n')
    owner = pwd.getpwnam(inst.users[1])
    for p in glob.glob(inst.aliases + "*"):
        os.chown(p, owner.pw_uid, owner.pw_gid)
    status, log, _ = inst.deliver(MSG, ["own@pf.example"])
    assert status == 0, log
    assert int(open(os.path.join(inst.out, "own.uid")).read()) == owner.pw_uid


@root_only
def test_include_file_owner_rights(make):
    inst = make(conf="allow_mail_to_commands = alias, forward, include\n",
                aliases="inc: :include:OUT/cmds\n")
    path = os.path.join(inst.out, "cmds")
    with open(path, "w") as f:
        f.write('"|id -u > %s/inc.uid"\n' % inst.out)
    owner = pwd.getpwnam(inst.users[1])
    os.chown(path, owner.pw_uid, owner.pw_gid)
    status, log, _ = inst.deliver(MSG, ["inc@pf.example"])
    assert status == 0, log
    assert int(open(os.path.join(inst.out, "inc.uid")).read()) == owner.pw_uid


def test_command_execution_directory(make):
    inst = make(conf="command_execution_directory = OUT/$user\n",
                aliases='cx: "|pwd > OUT/cx.pwd"\nnodir: "|true"\n')
    os.makedirs(os.path.join(inst.out, "cx"))
    os.chmod(os.path.join(inst.out, "cx"), 0o755)
    status, log, qid = inst.deliver(MSG, ["cx@pf.example", "nodir@pf.example"])
    assert "delivered to command: pwd" in log[0]
    assert open(os.path.join(inst.out, "cx.pwd")).read().strip() == os.path.join(inst.out, "cx")
    # a directory that does not exist defers
    assert status == 1 and "status=deferred" in log[1]


def test_unknown_user_with_extension_and_case(make):
    inst = make(conf="recipient_delimiter = +\n")
    status, log, _ = inst.deliver(MSG, ["NoSuch+Ext@pf.example"])
    assert status == 0
    assert "to=<NoSuch+Ext@pf.example>, relay=local" in log[0]
    assert 'dsn=5.1.1, status=bounced (unknown user: "nosuch")' in log[0]   # as Postfix


def test_dotforward_to_other_user_is_resubmitted(make):
    inst = make(conf="forward_path = OUT/.forward\n")
    user = inst.users[0]
    fwd = write_forward(inst, user, "other@example.org\n")
    try:
        status, log, _ = inst.deliver(MSG, [user + "@pf.example"])
        assert status == 0, log
        assert ("to=<%s@pf.example>, relay=local" % user) in log[0]
        assert "status=sent (forwarded as " in log[0]
        assert not os.path.exists(os.path.join(inst.spool, user))
    finally:
        os.unlink(fwd)
