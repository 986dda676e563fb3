"""local(8): :include: files and owner- aliases, as Postfix 3.7 does them.

Expected results were taken from Debian's Postfix 3.7 on loopback with the
same aliases (docs/local.md, ":include:"): an entry of an :include: file that
is itself an alias is expanded in the same delivery; other local entries are
resubmitted as one new message ("forwarded as ID"); a missing, relative,
special or world-writable include file logs a warning and bounces the
recipient with 5.3.5 "mail system configuration error"; one include file is
read once per delivery; an owner- alias makes its members' records carry no
original recipient and resubmits them from owner-NAME.
Uses the stand-alone agent harness of test_local.py (tests/e2e/localagent.py).
"""
import os
import pwd
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import localagent as la  # noqa: E402

MSG = "Subject: inc\nFrom: Sender <sender@remote.example>\n\nbody\n"
root_only = pytest.mark.skipif(not la.IS_ROOT, reason="needs root (uid switching)")


@pytest.fixture
def make():
    made = []

    def factory(conf="", aliases=""):
        i = la.LocalInstance()
        sub = (lambda t: t.replace("OUT", i.out).replace("pt6alice", i.users[0])
               .replace("pt6bob", i.users[1]))
        if conf:
            i.stop()
            with open(os.path.join(i.conf, "main.cf"), "a") as f:
                f.write(sub(conf))
            i.start()
        i.write_aliases(sub(aliases))
        i.sub = sub
        made.append(i)
        return i
    yield factory
    for i in made:
        i.cleanup()


def write(inst, name, text, mode=0o644, owner=None):
    path = os.path.join(inst.out, name)
    with open(path, "w") as f:
        f.write(inst.sub(text))
    os.chmod(path, mode)
    if owner and la.IS_ROOT:
        pw = pwd.getpwnam(owner)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


def forwarded(inst, log, to):
    """The one 'forwarded as ID' line for <to>; the new file's (O, R) records."""
    fw = [l for l in log if "to=<%s>" % to in l and "status=sent (forwarded as " in l]
    assert len(fw) == 1, log
    qid = fw[0].rsplit(" ", 1)[1].rstrip(")")
    recs = list(la.read_records(os.path.join(inst.queue, "incoming", qid)))
    return fw[0], recs


def test_include_member_that_is_an_alias_is_expanded_here(make):
    inst = make(aliases="info-file: OUT/info_box\ninfo: :include:OUT/info_list\n"
                        "both: :include:OUT/both_list\n")
    write(inst, "info_list", "# list\ninfo-file\n")
    write(inst, "both_list", "info-file\npt6alice\n")
    status, log, qid = inst.deliver(MSG, ["info@pf.example"], orig="info")
    assert status == 0, log
    # Postfix: one line, for the original queue file, nothing resubmitted
    assert len(log) == 1, log
    assert ("%s: to=<info-file@pf.example>, orig_to=<info>, relay=local" % qid
            in log[0] and "status=sent (delivered to file: %s/info_box)" % inst.out in log[0])
    assert open(os.path.join(inst.out, "info_box")).read().endswith("\n\nbody\n\n")
    # a user listed in an include file is resubmitted; the alias beside it is not
    status, log, qid = inst.deliver(MSG, ["both@pf.example"], orig="both")
    assert status == 0, log
    assert any("to=<info-file@pf.example>, orig_to=<both>" in l and
               "delivered to file" in l for l in log), log
    line, recs = forwarded(inst, log, "both@pf.example")
    assert "orig_to=<both>" in line
    assert [d.decode() for _, t, d in recs if t == "R"] == [inst.users[0] + "@pf.example"]
    assert [d.decode() for _, t, d in recs if t == "O"] == ["both"]


@pytest.mark.parametrize("kind,warning", [
    ("missing", "warning: unable to lookup :include: file OUT/missing: "
                "No such file or directory"),
    ("relative", "warning: :include:relative uses a relative path"),
    ("dir", "warning: :include: file OUT/dir is not a regular file"),
    ("ww", "warning: :include: file OUT/ww is world writable"),
])
def test_unusable_include_file_bounces(make, kind, warning):
    target = "relative" if kind == "relative" else "OUT/" + kind
    inst = make(aliases="bad: :include:%s\n" % target)
    write(inst, "ww", "pt6alice\n", mode=0o666)
    os.makedirs(os.path.join(inst.out, "dir"))
    status, log, qid = inst.deliver(MSG, ["bad@pf.example"])
    assert status == 0, log
    assert any(l.endswith(inst.sub(warning)) for l in log), log
    assert any("%s: to=<bad@pf.example>, relay=local" % qid in l and
               "dsn=5.3.5, status=bounced (mail system configuration error)" in l
               for l in log), log


def test_include_file_read_once_and_restrictions(make):
    inst = make(aliases="info-file: OUT/info_box\n"
                        "lf: info-file, :include:OUT/la_list, :include:OUT/la_list\n")
    write(inst, "la_list", 'info-file\npt6alice\nOUT/direct\n"|cat > OUT/cmd_out"\n')
    status, log, qid = inst.deliver(MSG, ["lf@pf.example"])
    assert status == 0, log
    text = "\n".join(log)
    # Postfix: info-file once, one "restricted" line each, one forwarded message
    assert text.count("delivered to file: %s/info_box" % inst.out) == 1, log
    assert text.count("%s: to=<lf@pf.example>, relay=local" % qid) == 3, log
    assert text.count("dsn=5.7.1, status=bounced (mail to file is restricted)") == 1
    assert text.count("dsn=5.7.1, status=bounced (mail to command is restricted)") == 1
    forwarded(inst, log, "lf@pf.example")
    assert not os.path.exists(os.path.join(inst.out, "direct"))


def test_owner_alias_members(make):
    inst = make(aliases="info-file: OUT/info_box\nlg: :include:OUT/lg_list\n"
                        "owner-lg: pt6bob\n")
    write(inst, "lg_list", "info-file\npt6alice\n")
    status, log, qid = inst.deliver(MSG, ["lg@pf.example"], orig="lg")
    assert status == 0, log
    # the alias in the list is delivered here, without orig_to (Postfix resets it)
    assert any("%s: to=<info-file@pf.example>, relay=local" % qid in l and
               "delivered to file" in l for l in log), log
    line, recs = forwarded(inst, log, "lg@pf.example")
    assert "orig_to=<lg>" in line
    assert [d.decode() for _, t, d in recs if t == "S"] == ["owner-lg@pf.example"]
    assert [d.decode() for _, t, d in recs if t == "R"] == [inst.users[0] + "@pf.example"]
    # reset, so cleanup derives them from the member, as Postfix's does
    assert [d.decode() for _, t, d in recs if t == "O"] == [inst.users[0] + "@pf.example"]
    assert [d.decode() for _, t, d in recs if t == "o"] == ["rfc822;" + inst.users[0] + "@pf.example"]
    # Postfix: the file gets owner-lg as sender and no X-Original-To:
    box = open(os.path.join(inst.out, "info_box")).read()
    assert box.startswith("From owner-lg@pf.example  "), box
    assert "\nReturn-Path: <owner-lg@pf.example>\nDelivered-To: lg@pf.example\n" in box, box


def test_dotforward_entry_that_is_an_alias_is_expanded_here(make):
    inst = make(conf="forward_path = OUT/.forward\n",
                aliases="info-file: OUT/info_box\n")
    user = inst.users[0]
    write(inst, ".forward", "info-file\n", owner=user)
    status, log, qid = inst.deliver(MSG, [user + "@pf.example"])
    assert status == 0, log
    assert len(log) == 1 and "forwarded as" not in log[0], log
    assert "to=<info-file@pf.example>, orig_to=<%s@pf.example>" % user in log[0]
    assert "delivered to file: %s/info_box" % inst.out in log[0]


@root_only
def test_include_in_user_owned_alias_keeps_alias_owner_rights(make):
    """Postfix: only root-owned aliases take the rights of the include file's
    owner; a user's alias file cannot borrow the rights of whoever owns the
    included file."""
    inst = make(conf="allow_mail_to_commands = alias, forward, include\n",
                aliases="inc: :include:OUT/cmds\n")
    alice, bob = (pwd.getpwnam(u) for u in inst.users)
    os.chown(inst.aliases + ".db", alice.pw_uid, alice.pw_gid)
    write(inst, "cmds", '"|id -u > OUT/inc.uid"\n', owner=bob.pw_name)
    status, log, _ = inst.deliver(MSG, ["inc@pf.example"])
    assert status == 0, log
    assert int(open(os.path.join(inst.out, "inc.uid")).read()) == alice.pw_uid
