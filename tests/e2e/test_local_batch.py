"""Batched delivery requests: qmgr -> local (docs/delivery-protocol.md).

When messages for one recipient wait while a delivery to that recipient is
in progress (local_destination_concurrency_limit), qmgr sends them to one
local process in one request, and local delivers them in one pass (one
fsync of the Maildir's new/ for all). Each message keeps its own log lines
and its own result; an agent that dies during a batch costs at most one
more delivery per message, never a loss.

A gate command (alias "|gate.sh") holds deliveries without timing: run N
waits until the test creates DIR/go.N (or DIR/go.all). local -v logs
"batch of N messages ...: ID ID ..." for each batched pass.
"""
import glob
import os
import pwd
import re
import signal
import smtplib
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import localagent as la  # noqa: E402
from postern import BIN, STOCK_MASTER_CF, Instance, wait_until  # noqa: E402

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, p))
            for p in ("smtpd", "qmgr", "local", "master", "postalias")),
    reason="needs smtpd, qmgr, local, master and postalias")

DOM = "mx.postern.test"

GATE = """#!/bin/sh
# Keep a copy of the message as run.N, then wait for go.N or go.all.
d="$1"
n=$(mktemp "$d/tmp.XXXXXX") || exit 75
cat > "$n" || exit 75
i=$(ls "$d" | grep -c '^run\\.')
i=$((i + 1))
mv "$n" "$d/run.$i" || exit 75
while [ ! -e "$d/go.$i" ] && [ ! -e "$d/go.all" ]; do sleep 0.05; done
exit 0
"""


@pytest.fixture
def inst():
    with open(STOCK_MASTER_CF) as f:
        master = f.read()
    # local -v: log each batched pass; at most one local per recipient.
    master = re.sub(r"(?m)^(local\s+unix.*\blocal)\s*$", r"\1 -v", master)
    master = master.replace("\nsmtp      inet", "\n127.0.0.1:{port} inet", 1)
    i = Instance(main_cf={"alias_maps": "hash:$config_directory/aliases",
                          "alias_database": "hash:$config_directory/aliases",
                          "local_destination_concurrency_limit": "1",
                          "myorigin": "$myhostname"},
                 master_cf=master)
    i.work = os.path.join(i.dir, "work")
    os.makedirs(i.work)
    os.chmod(i.work, 0o1777)                 # commands run as default_privs
    i.md = os.path.join(i.dir, "md") + "/"
    os.makedirs(i.dir + "/md", exist_ok=True)
    os.chmod(i.dir + "/md", 0o1777)
    script = os.path.join(i.dir, "gate.sh")
    with open(script, "w") as f:
        f.write(GATE)
    os.chmod(script, 0o755)
    with open(os.path.join(i.dir, "aliases"), "w") as f:
        # "both": the gate command and a Maildir; "gated": the gate only.
        f.write('both: "|%s %s", %s\ngated: "|%s %s"\n'
                % (script, i.work, i.md, script, i.work))
    r = i.cmd("postalias", "-c", i.dir, os.path.join(i.dir, "aliases"))
    assert r.returncode == 0, r.stderr
    yield i
    open(os.path.join(i.work, "go.all"), "w").close()
    i.stop()
    i.cleanup()


def md_count(inst):
    d = inst.md + "new"
    return len(os.listdir(d)) if os.path.isdir(d) else 0


def runs(inst):
    return sorted(glob.glob(os.path.join(inst.work, "run.*")))


def subjects_run(inst):
    out = []
    for p in runs(inst):
        with open(p, errors="replace") as f:
            m = re.search(r"(?m)^Subject: (.*)$", f.read())
            out.append(m.group(1) if m else None)
    return out


def send(inst, rcpt, subjects, extra=None):
    """One message per subject; extra: {subject: more header lines}."""
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    for sub in subjects:
        s.sendmail("sender@example.org", [rcpt], "Subject: %s\r\n%s\r\nbody of %s\r\n"
                   % (sub, (extra or {}).get(sub, ""), sub))
    s.quit()


def batches(inst):
    """[(pid, [queue IDs])] for each batched pass local logged."""
    out = []
    for l in inst.log_lines():
        m = re.search(r"postfix/local\[(\d+)\]: batch of (\d+) messages, \d+ recipients in one pass:(.*)$", l)
        if m:
            out.append((int(m.group(1)), m.group(3).split()))
    return out


def hold_first_then_queue(inst, rcpt, subjects, extra=None):
    """Deliver a warm-up message (qmgr learns that local takes batches),
    then hold one delivery to rcpt at the gate while SUBJECTS queue up
    behind it (concurrency limit 1), and release it."""
    inst.start()
    send(inst, "gated@" + DOM, ["warmup"])
    open(os.path.join(inst.work, "go.1"), "w").close()
    inst.wait_log(r"to=<gated@%s>.*status=sent" % re.escape(DOM))
    send(inst, rcpt, ["first"])
    wait_until(lambda: len(runs(inst)) == 2, what="first delivery at the gate")
    send(inst, rcpt, subjects, extra)
    # Every message is in the active queue, waiting behind the first one.
    wait_until(lambda: len(glob.glob(os.path.join(inst.queue_dir, "active", "*"))) == len(subjects) + 1,
               what="messages waiting in active")


def test_messages_for_one_recipient_go_in_one_request(inst):
    subjects = ["m%02d" % k for k in range(12)]
    hold_first_then_queue(inst, "both@" + DOM, subjects)
    open(os.path.join(inst.work, "go.all"), "w").close()
    wait_until(lambda: md_count(inst) == 13, what="13 messages in the Maildir")
    wait_until(lambda: not glob.glob(os.path.join(inst.queue_dir, "active", "*")), what="queue to empty")
    b = batches(inst)
    # The 12 waiting messages went to one process in one request.
    assert len(b) == 1 and len(b[0][1]) == 12, b
    pid, ids = b[0]
    lines = inst.log_lines()
    for qid in ids:
        # Each message of the batch has its own Postfix log lines, from the
        # one local process that took the request.
        mine = [l for l in lines if ("%s: to=<both@%s>" % (qid, DOM)) in l]
        assert len(mine) == 2, mine           # the command and the Maildir
        assert all("postfix/local[%d]" % pid in l and "status=sent" in l for l in mine), mine
        assert any("delivered to maildir" in l for l in mine), mine
        assert any(re.search(r"%s: removed" % qid, l) for l in lines)
    assert sorted(subjects_run(inst)) == sorted(["warmup", "first"] + subjects)


def test_one_failing_message_does_not_affect_the_others(inst):
    subjects = ["m%02d" % k for k in range(8)]
    # m03 already carries the recipient's Delivered-To: a mail loop for it.
    extra = {"m03": "Delivered-To: both@%s\r\n" % DOM}
    hold_first_then_queue(inst, "both@" + DOM, subjects, extra)
    open(os.path.join(inst.work, "go.all"), "w").close()
    wait_until(lambda: not glob.glob(os.path.join(inst.queue_dir, "active", "*")), what="queue to empty")
    b = batches(inst)
    assert len(b) == 1 and len(b[0][1]) == 8, b
    lines = inst.log_lines()
    bounced = [l for l in lines if "to=<both@%s>" % DOM in l and "status=bounced" in l]
    assert len(bounced) == 1 and "mail forwarding loop" in bounced[0], bounced
    loop_id = bounced[0].split("]: ")[1].split(":")[0]
    assert loop_id in b[0][1]
    for qid in b[0][1]:
        if qid == loop_id:
            continue
        mine = [l for l in lines if "%s: to=<both@%s>" % (qid, DOM) in l]
        assert len(mine) == 2 and all("status=sent" in l for l in mine), mine
    # 1 + 7 in the Maildir; the looping message is not delivered anywhere.
    assert md_count(inst) == 8
    assert "m03" not in subjects_run(inst)
    # Its sender gets the bounce (a new message), the others none.
    wait_until(lambda: any("<sender@example.org>" in l and "status=" in l for l in inst.log_lines()),
               what="bounce delivery attempt")


def test_one_message_of_an_mbox_batch_fails_alone(inst):
    """A user's mailbox (mbox) written by a batched pass: one message would
    take the file over mailbox_size_limit, counting what was already in it
    and what the pass added before it. That message alone bounces (5.2.2,
    Postfix's text); the others are appended once each, in order, under the
    same lock, and the mailbox holds no piece of the failed one."""
    user = la.test_users()[0]
    if la.IS_ROOT:
        la.ensure_user(user, os.path.join(inst.dir, "home"))
    limit = 40000
    inst.set_params(mailbox_size_limit=str(limit), message_size_limit=str(limit))
    with open(os.path.join(inst.dir, "aliases"), "a") as f:
        f.write('mb: "|%s %s", %s\n' % (os.path.join(inst.dir, "gate.sh"), inst.work, user))
    r = inst.cmd("postalias", "-c", inst.dir, os.path.join(inst.dir, "aliases"))
    assert r.returncode == 0, r.stderr
    subjects = ["m%02d" % k for k in range(8)]
    # m03 fits the limit alone, not after "first" and m00-m02.
    big = "x" * 75 + "\r\n"
    extra = {"m03": "X-Big: yes\r\n\r\n" + big * (39200 // len(big))}
    hold_first_then_queue(inst, "mb@" + DOM, subjects, extra)
    open(os.path.join(inst.work, "go.all"), "w").close()
    wait_until(lambda: len(batches(inst)) == 1 and all(
        any("%s: removed" % q in l for l in inst.log_lines()) for q in batches(inst)[0][1]),
        timeout=30, what="the batch delivered and its messages removed")
    b = batches(inst)
    assert len(b) == 1 and len(b[0][1]) == 8, b
    lines = inst.log_lines()
    rcpt_line = "to=<%s@%s>, orig_to=<mb@%s>" % (user, DOM, DOM)
    box = os.path.join(inst.mail_dir, user)
    bounced = [l for l in lines if rcpt_line in l and "status=bounced" in l]
    assert len(bounced) == 1, bounced
    assert ("dsn=5.2.2, status=bounced (cannot update mailbox %s for user %s. "
            "error writing message: File too large)" % (box, user)) in bounced[0], bounced
    big_id = bounced[0].split("]: ")[1].split(":")[0]
    assert big_id in b[0][1]
    for qid in b[0][1]:
        mine = [l for l in lines if "%s: to=" % qid in l and "relay=local" in l]
        # The command and the mailbox for each message; only m03's mailbox failed.
        assert len(mine) == 2, mine
        if qid == big_id:
            assert sum("status=sent (delivered to command:" in l for l in mine) == 1, mine
        else:
            assert all("status=sent" in l for l in mine), mine
            assert any("%s: to=<%s@%s>" % (qid, user, DOM) in l and "(delivered to mailbox)" in l
                       for l in mine), mine
    # The mailbox: "first" and the seven others, once each, in order; nothing of m03.
    with open(box) as f:
        text = f.read()
    got = re.findall(r"(?m)^Subject: (\S+)$", text)
    assert sorted(got) == ["first"] + [x for x in subjects if x != "m03"], got
    # ... in the order of the batch (each message's Received: names its queue ID).
    ids = re.findall(r"(?m)^\tby %s \(postern\) with ESMTP id (\S+)$" % re.escape(DOM), text)
    assert ids[1:] == [q for q in b[0][1] if q != big_id], (ids, b)
    assert "X-Big" not in text and "xxxxxxxx" not in text
    assert len(re.findall(r"(?m)^From \S+  ", text)) == 8
    assert re.search(r"\nbody of m0[0-7]\n\n$", text), text[-200:]    # the last one whole
    assert os.path.getsize(box) <= limit
    if la.IS_ROOT:
        assert os.stat(box).st_uid == pwd.getpwnam(user).pw_uid
    # Only m03's sender gets a non-delivery notification.
    wait_until(lambda: any("%s: sender non-delivery notification:" % big_id in l
                           for l in inst.log_lines()), what="the bounce for m03")
    assert not any("non-delivery notification" in l and big_id not in l for l in inst.log_lines())


def test_agent_killed_mid_batch_defers_all_without_loss(inst):
    subjects = ["m%02d" % k for k in range(6)]
    hold_first_then_queue(inst, "gated@" + DOM, subjects)
    # Release the first delivery; the batch starts, and its second command
    # (run 4: warmup, first, m-a, m-b) waits at the gate.
    open(os.path.join(inst.work, "go.2"), "w").close()
    open(os.path.join(inst.work, "go.3"), "w").close()
    wait_until(lambda: len(runs(inst)) == 4, what="second command of the batch at the gate")
    b = batches(inst)
    assert len(b) == 1 and len(b[0][1]) == 6, b
    pid, ids = b[0]
    os.kill(pid, signal.SIGKILL)
    # qmgr defers every message of the batch (none was marked done yet).
    wait_until(lambda: all(any("%s: to=<gated@%s>" % (q, DOM) in l and "status=deferred" in l
                               and "mail transport unavailable" in l for l in inst.log_lines())
                           for q in ids), what="every message of the batch deferred")
    open(os.path.join(inst.work, "go.all"), "w").close()
    r = inst.cmd("postqueue", "-c", inst.dir, "-f")
    assert r.returncode == 0, r.stderr
    wait_until(lambda: all(any("%s: removed" % q in l for l in inst.log_lines()) for q in ids),
               timeout=60, what="every batched message removed")
    got = subjects_run(inst)
    for s in subjects:
        # Never lost; at most one more delivery than asked for.
        assert 1 <= got.count(s) <= 2, (s, got)
    # Only the messages the agent had started on were run twice.
    assert sum(got.count(s) - 1 for s in subjects) <= 2, got


def test_address_probe_is_never_batched(inst):
    """sendmail -bv waiting among messages for the same recipient goes alone."""
    inst.start()
    send(inst, "gated@" + DOM, ["warmup"])
    open(os.path.join(inst.work, "go.1"), "w").close()
    inst.wait_log(r"to=<gated@%s>.*status=sent" % re.escape(DOM))
    send(inst, "gated@" + DOM, ["first"])
    wait_until(lambda: len(runs(inst)) == 2, what="first delivery at the gate")
    send(inst, "gated@" + DOM, ["m00", "m01"])
    r = inst.cmd("sendmail", "-bv", "gated@" + DOM)
    assert r.returncode == 0, r.stderr
    send(inst, "gated@" + DOM, ["m02", "m03"])
    wait_until(lambda: len(glob.glob(os.path.join(inst.queue_dir, "active", "*"))) >= 6,
               what="messages waiting in active")
    open(os.path.join(inst.work, "go.all"), "w").close()
    probe = inst.wait_log(r"to=<gated@%s>.*status=deliverable" % re.escape(DOM)).string
    wait_until(lambda: len([l for l in inst.log_lines() if "to=<gated@%s>" % DOM in l
                            and "status=sent" in l]) == 6, what="six deliveries")
    pid_id = re.search(r"postfix/local\[\d+\]: ([0-9A-Za-z]+): to=", probe)
    assert pid_id, probe
    b = batches(inst)
    assert b, "no batch at all"
    assert all(pid_id.group(1) not in ids for _pid, ids in b), (pid_id.group(1), b)
    # Nothing was delivered for the probe: six commands ran (warmup, first, m00-m03).
    assert sorted(subjects_run(inst)) == sorted(["warmup", "first", "m00", "m01", "m02", "m03"])


def _request(inst, service, text):
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(os.path.join(inst.queue_dir, "private", service))
    s.sendall(text.encode())
    buf = b""
    while b"\n\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    s.close()
    return dict(l.split("=", 1) for l in buf.decode().split("\n") if "=" in l), buf.decode()


def _segment(qid):
    return ("transport=local\nqueue_name=active\nqueue_id=%s\ndata_offset=100\n"
            "rcpt_offset=50\nrcpt_address=nobody@%s\n" % (qid, DOM))


def test_agent_side_bounds_and_refusals(inst):
    inst.start()
    # Two messages whose queue files do not exist: each gets its own status.
    _kv, raw = _request(inst, "local", _segment("4Zq1aB2cD3") + "next_message=1\n"
                        + _segment("4Zq1aB2cD4") + "\n")
    assert re.findall(r"(?m)^message_status=(\d+)$", raw) == ["1", "1"], raw
    assert "batch_limit=64" in raw.split("\n"), raw
    # 65 messages: more than local announces.
    _kv, raw = _request(inst, "local", _segment("4Zq1aB2cD3")
                        + ("next_message=1\n" + _segment("4Zq1aB2cD3")) * 64 + "\n")
    assert "reason=too many messages in one request" in raw.split("\n"), raw
    assert "status=1" in raw.split("\n"), raw
    # An agent that does not take batches refuses one.
    _kv, raw = _request(inst, "discard", _segment("4Zq1aB2cD3") + "next_message=1\n"
                        + _segment("4Zq1aB2cD4") + "\n")
    assert "reason=batched request not supported" in raw.split("\n"), raw
    assert "batch_limit" not in raw, raw
