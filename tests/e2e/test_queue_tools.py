"""Queue tools (postqueue -p/-j, postsuper, postcat) compared with Debian's
Postfix 3.7 on the same queue state.

tests/golden/queue/state-1.json is a Postfix queue captured with
capture.py (messages, recipients, contents); pf-*.txt are Postfix's outputs
for it. The test rebuilds the same state with postern (qmgr and the
error/retry and discard agents produce the deferrals) and compares the
outputs, normalizing only queue IDs and times (and the order of messages,
which is directory order in both)."""
import json
import os
import re
import shutil

import pytest

import queue_lib

GOLD = os.path.join(queue_lib.TOP, "tests", "golden", "queue")
SHORT = "Host unreachable for test"
LONG = ("This is a very long deferral reason text that goes on and on well beyond "
        "the width of a terminal line, really")


def golden(name):
    with open(os.path.join(GOLD, name), encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def state():
    with open(os.path.join(GOLD, "state-1.json")) as f:
        st = json.load(f)
    inst = queue_lib.Instance({
        "relay_domains": "ok.test", "relay_transport": "discard",
        "local_transport": "error:5.1.1 unknown user",
        "default_transport": "retry:4.4.1 " + LONG,
        "minimal_backoff_time": "300s", "maximal_backoff_time": "4000s",
        "queue_run_delay": "300s"})
    inst.start("discard")
    inst.start("error", "retry")
    ids = {}                # Postfix ID -> postern ID

    def post(m):
        sender = "" if m["sender"] == "MAILER-DAEMON" else m["sender"]
        rc = [r["address"] for r in m["recipients"]]
        ids[m["id"]] = inst.qfile(rc, sender=sender, body=m["content"])[0]

    def settle(n):
        inst.start_qmgr()
        inst.wait(lambda: len(inst.files("deferred")) == n, what="%d deferred" % n)
        inst.stop("qmgr")

    first = [m for m in st if m["recipients"][0]["address"].endswith("reason.test")]
    for m in first:
        post(m)
    settle(len(first))
    inst.set(default_transport="retry:4.4.1 " + SHORT)
    for m in st:
        if m not in first:
            post(m)
    settle(len(st))
    # Same placement as in the captured Postfix queue.
    for m in st:
        if m["queue"] == "active":
            os.rename(os.path.join(inst.queue, "deferred", ids[m["id"]][0], ids[m["id"]]),
                      os.path.join(inst.queue, "active", ids[m["id"]]))
        elif m["queue"] == "hold":
            inst.run("postsuper", "-h", ids[m["id"]], check=True)
    inst.ids = ids
    inst.state = st
    yield inst
    inst.close()


HEAD = re.compile(r"^(\S+?)([*!]?) +(\d+) (.{20}) (.*)$")


def blocks(text, ids=None):
    """Split mailq output into header, sorted normalized message blocks, footer."""
    lines = text.split("\n")
    assert lines[0] == "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------"
    body = "\n".join(lines[1:])
    parts = body.split("\n\n")
    footer = parts[-1]
    out = []
    for p in parts[:-1]:
        pl = p.split("\n")
        m = HEAD.match(pl[0])
        assert m, pl[0]
        # fixed layout: "%-11s %7ld %20.20s %s"
        idst = m.group(1) + m.group(2)
        assert pl[0] == "%-11s %7s %s %s" % (idst, m.group(3), m.group(4), m.group(5)), pl[0]
        out.append((m.group(2), m.group(3), m.group(5)) + tuple(pl[1:]))
    return sorted(out), footer


def test_mailq_matches_postfix(state):
    r = state.run("postqueue", "-p")
    assert r.returncode == 0
    mine = r.stdout.decode()
    assert blocks(mine) == blocks(golden("pf-mailq-1.txt"))
    # the queue directory was read directly: Postfix's warning
    assert b"warning: Mail system is down -- accessing queue directly" in r.stderr


def test_mailq_through_showq_service(state):
    state.start("showq", "showq", os.path.join(state.queue, "public", "showq"))
    try:
        r = state.run("postqueue", "-p")
        assert r.stderr == b""
        assert blocks(r.stdout.decode()) == blocks(golden("pf-mailq-1.txt"))
        if os.geteuid() == 0:
            # an ordinary user cannot read the queue (its directories are
            # mail_owner's, mode 0700), but gets the listing through the
            # public showq socket (Postfix: setgid postdrop; here: 0666)
            for d in ("active", "deferred", "hold", "incoming", "defer"):
                os.chmod(os.path.join(state.queue, d), 0o700)
            os.chmod(os.path.join(state.queue, "public"), 0o711)
            os.chmod(os.path.join(state.queue, "public", "showq"), 0o666)
            os.chmod(state.etc, 0o755)
            os.chmod(os.path.join(state.etc, "main.cf"), 0o644)
            # a plain (not set-gid) copy: `postfix set-permissions` in other
            # tests may have made the build's postqueue set-gid postdrop, and
            # a set-gid postqueue rightly refuses an unlisted -c directory
            import subprocess
            pq = os.path.join(state.dir, "postqueue")
            shutil.copyfile(os.path.join(queue_lib.BIN, "postqueue"), pq)
            os.chmod(pq, 0o755)
            r2 = subprocess.run([pq, "-c", state.etc, "-p"], capture_output=True,
                                env=state.env(), user="nobody")
            assert r2.returncode == 0, r2.stderr
            denied = os.access(os.path.join(state.queue, "deferred"), os.R_OK)
            assert denied  # root can
            import subprocess
            ls = subprocess.run(["ls", os.path.join(state.queue, "deferred")], user="nobody",
                                capture_output=True)
            assert ls.returncode != 0
            assert r2.returncode == 0, r2.stderr
            assert r2.stdout == r.stdout
    finally:
        state.stop("showq")


def norm_json(text):
    out = []
    for line in text.splitlines():
        m = json.loads(line)
        m["queue_id"] = "ID"
        m["arrival_time"] = 0
        out.append(json.dumps(m, sort_keys=True))
    return sorted(out)


def test_postqueue_j_matches_postfix(state):
    r = state.run("postqueue", "-j")
    mine = r.stdout.decode()
    assert norm_json(mine) == norm_json(golden("pf-postqueue-j-1.txt"))
    # key order and spacing as Postfix writes them
    first = mine.splitlines()[0]
    assert re.match(r'^\{"queue_name": "\w+", "queue_id": "\w+", "arrival_time": \d+, '
                    r'"message_size": \d+, "forced_expire": false, "sender": ', first)


def test_postcat_matches_postfix(state):
    pid = "0C730A72506"
    mine = state.run("postcat", "-bhq", state.ids[pid]).stdout.decode()
    assert mine == golden("pf-postcat-bh-%s.txt" % pid)
    full = state.run("postcat", "-q", state.ids[pid]).stdout.decode()
    gold = golden("pf-postcat-%s.txt" % pid).replace(pid, state.ids[pid])
    # same section lines and recipient records; envelope details differ by design
    def sections(t):
        return [l for l in t.splitlines() if l.startswith("***") or "recipient: " in l
                and not l.startswith("original")]
    assert [re.sub(r" \S+/\S+ \*\*\*", " PATH ***", l) for l in sections(full)] == \
        [re.sub(r" \S+/\S+ \*\*\*", " PATH ***", l) for l in sections(gold)]
    env = state.run("postcat", "-eq", state.ids[pid]).stdout.decode()
    assert "sender: b@sender.test" in env and "Subject" not in env
    offs = state.run("postcat", "-oq", state.ids[pid]).stdout.decode()
    assert re.search(r"^ {8}\d+ message_size: ", offs, re.M) or re.search(r"^ +\d+ message_size: ", offs, re.M)
    bad = state.run("postcat", "-q", "NOSUCHID")
    assert bad.returncode != 0
    assert b"postcat: fatal: open queue file NOSUCHID: No such file or directory" in bad.stderr


def test_postsuper_sequence_matches_postfix(tmp_path, state):
    # work on a copy of the state so the other tests keep theirs
    saved = os.path.join(str(tmp_path), "spool")
    qdirs = ("incoming", "active", "deferred", "hold", "defer", "bounce", "trace", "corrupt")
    for d in qdirs:
        shutil.copytree(os.path.join(state.queue, d), os.path.join(saved, d), symlinks=True)
    try:
        inv = {v: k for k, v in state.ids.items()}
        by = {m["sender"]: state.ids[m["id"]] for m in state.state}
        c, mdaemon = by["c@sender.test"], by["MAILER-DAEMON"]
        d, b = by["d@sender.test"], by["b@sender.test"]
        lng = [v for k, v in by.items() if k.startswith("very.long")][0]
        out = []
        for args, stdin in [(["-H", c], None), (["-h", mdaemon], None), (["-h", mdaemon], None),
                            (["-r", d], None), (["-d", lng], None), (["-d", "NOSUCHID1"], None),
                            (["-d", "-"], b + "\n"), (["-d", "ALL"], None), (["-d", "ALL"], None)]:
            r = state.run("postsuper", *args, input=stdin.encode() if stdin else None)
            assert r.returncode == 0
            out.append(r.stderr.decode())
        text = "".join(out)
        for mine, theirs in inv.items():
            text = text.replace(mine, theirs)
        assert text == golden("pf-postsuper-seq.err")
        assert state.run("postqueue", "-p").stdout.decode() == golden("pf-mailq-empty.txt")
    finally:
        for d in qdirs:
            shutil.rmtree(os.path.join(state.queue, d))
            shutil.copytree(os.path.join(saved, d), os.path.join(state.queue, d), symlinks=True)


def qshape_rows(text):
    lines = text.splitlines()
    rows = sorted((l.split()[0], l.split()[1]) for l in lines[1:])
    return lines[0], rows, [len(l) for l in lines]


@pytest.mark.parametrize("args,gold", [((), "pf-qshape-1.txt"), (("-s",), "pf-qshape-s.txt")])
def test_qshape_matches_postfix(state, args, gold):
    mine = state.run("qshape", *(args + ("deferred", "hold", "active"))).stdout.decode()
    # same header, same domains and totals, same 80-column layout; the age
    # buckets differ only because the captured queue is older
    assert qshape_rows(mine) == qshape_rows(golden(gold))


def test_mailq_lists_maildrop():
    import subprocess
    q = queue_lib.Instance({"command_directory": queue_lib.BIN, "daemon_directory": queue_lib.BIN})
    try:
        r = subprocess.run([os.path.join(queue_lib.BIN, "sendmail"), "-C", q.etc, "-f",
                            "md@example.org", "x@y.test"], input=b"Subject: md\n\nhello\n",
                           env=q.env(), capture_output=True)
        assert r.returncode == 0, r.stderr
        out = q.run("postqueue", "-p").stdout.decode()
        assert re.search(r"^\w+ +22 \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  md@example.org\n {41}x@y.test\n\n"
                         r"-- 0 Kbytes in 1 Request.\n$", out.split("\n", 1)[1], re.M), out
    finally:
        q.close()
