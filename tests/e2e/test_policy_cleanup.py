"""Address rewriting and content checks in cleanup, compared with Postfix 3.7.

Each tests/golden/cleanup/NAME.scn scenario (main.cf settings, tables,
messages sent over SMTP from 127.0.0.1 or 127.0.0.9) runs against a postern
instance. What cleanup made of each message -- the end-of-data reply, the
queue it landed in (incoming or hold, none when rejected or discarded), the
envelope (sender, original and final recipients, content filter, redirect),
the headers and body, and cleanup's log lines -- must equal what Debian's
Postfix did (NAME.out, captured with tools/cleanup_capture.py and postcat).
Also: postmap -q of the same tables agrees with real Postfix's postmap.
"""
import glob
import os
import re
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.join(TOP, "tools"))
sys.path.insert(0, HERE)

from postern import Instance, bin_path  # noqa: E402
import cleanup_capture  # noqa: E402
from smtpd_util import read_records  # noqa: E402

GOLDEN = os.path.join(TOP, "tests", "golden", "cleanup")
POLICY_GOLDEN = os.path.join(TOP, "tests", "golden", "policy")
SCENARIOS = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(GOLDEN, "*.scn")))

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
postlog unix-dgram n - n - 1 postlogd
"""

LOG_RE = re.compile(r"postfix/smtpd\[\d+\]: (.*)$")
CLEANUP_LOG = re.compile(r"^(?:[0-9A-F]{6,}: (?:reject|warning|info|hold|discard|redirect|filter|"
                         r"replace|prepend): (?:header|body) |warning: [0-9A-F]{6,}: unreasonable )")


def base_params():
    params = {}
    with open(os.path.join(POLICY_GOLDEN, "main.cf.base")) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                params[k.strip()] = v.strip()
    return params


def find_queue_file(inst, qid):
    for q in ("incoming", "hold"):
        for dirpath, _, files in os.walk(os.path.join(inst.queue_dir, q)):
            if qid in files:
                return q, os.path.join(dirpath, qid)
    return None, None


def reduce_records(queue, recs):
    """postern queue file -> the reduced form of cleanup_capture.reduce_postcat."""
    out = ["queue: " + queue]
    names = {"S": "sender", "O": "original_recipient", "R": "recipient"}
    content, in_content, xtra = [], False, []
    for t, d in recs:
        d = d.decode("latin-1")
        if t == "M":
            in_content = True
        elif t == "X":
            in_content = False
        elif in_content and t in "NL":
            content.append(d)
        elif t in names and not in_content:
            # postcat shows a recipient without 'O' with itself as original
            if t == "R" and not out[-1].startswith("original_recipient"):
                out.append("original_recipient: " + d)
            out.append("%s: %s" % (names[t], d))
        elif t == ">":
            xtra.append("content_filter: " + d)
        elif t == "<":
            xtra.append("redirect_to: " + d)
    in_headers, skipping = True, False
    for line in content:
        if in_headers:
            if line == "":
                in_headers = False
                continue
            if line[:1] in (" ", "\t"):
                if not skipping:
                    out.append("H: " + line)
                continue
            skipping = bool(cleanup_capture.SKIP_HDR.match(line))
            if not skipping:
                out.append("H: " + line)
        else:
            out.append("B: " + line)
    while out and out[-1] == "B: ":
        out.pop()
    return out + xtra


def run(name, want=()):
    sc = cleanup_capture.parse(os.path.join(GOLDEN, name + ".scn"))
    params = base_params()
    params.update({"mail_name": "Postfix"})
    for k, v in sc["conf"]:
        params[k] = v
    inst = Instance(main_cf=params, master_cf=None)
    inst.write_master_cf(MASTER_CF.format(port=inst.smtp_port))
    for fname, body in sc["files"]:
        with open(os.path.join(inst.dir, fname), "w") as f:
            f.write(body)
    out = []
    try:
        inst.start()
        for n, m in enumerate(sc["messages"]):
            mark = inst.log_mark()
            reply, qid = cleanup_capture.send("127.0.0.1", inst.smtp_port, m)
            out.append("message %d" % (n + 1))
            out.append("S: " + reply)
            if qid:
                queue, path = find_queue_file(inst, qid)
                if path:
                    out += reduce_records(queue, read_records(path))
            # Log lines travel through postlogd: wait for as many as Postfix wrote.
            expect = _expected_logs(want, n + 1)
            deadline = time.time() + 10
            while True:
                logs = []
                for line in inst.log_lines(mark):
                    mm = LOG_RE.search(line)
                    if mm and CLEANUP_LOG.match(mm.group(1)):
                        text = re.sub(r"^warning: [0-9A-F]{6,}:", "warning: QID:", mm.group(1))
                        logs.append("L: " + cleanup_capture.norm_log(text))
                if len(logs) >= expect or time.time() > deadline:
                    break
                time.sleep(0.05)
            out += logs
    finally:
        inst.stop()
        inst.cleanup()
    return out


def _expected_logs(want, n):
    """How many L: lines the golden output has for message n."""
    count, cur = 0, 0
    for l in want:
        if l.startswith("message "):
            cur = int(l.split()[1])
        elif cur == n and l.startswith("L: "):
            count += 1
    return count


def golden(name):
    with open(os.path.join(GOLDEN, name + ".out")) as f:
        lines = f.read().splitlines()
    return [re.sub(r"^L: warning: [0-9A-F]{6,}:", "L: warning: QID:", l) for l in lines]


def blocks(lines):
    """Per message, as sorted lists (log lines and records may interleave)."""
    out, block = [], []
    for l in lines + ["message END"]:
        if l.startswith("message ") and block:
            out.append(sorted(block))
            block = []
        block.append(l)
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_cleanup_scenario_matches_postfix(name):
    want = golden(name)
    got = run(name, want)
    assert blocks(got) == blocks(want)
    # and in order: envelope records, then headers and body
    keep = ("message", "sender", "original_recipient", "recipient", "H: ", "B: ")
    assert [l for l in got if l.startswith(keep)] == [l for l in want if l.startswith(keep)]


def _postmap_both(args):
    ours = subprocess.run([bin_path("postmap")] + args, capture_output=True, text=True)
    theirs = subprocess.run(["/usr/sbin/postmap"] + args, capture_output=True, text=True)
    return (ours.returncode, ours.stdout), (theirs.returncode, theirs.stdout)


def _table(scn, name):
    for fname, body in cleanup_capture.parse(os.path.join(GOLDEN, scn + ".scn"))["files"]:
        if fname == name:
            return body
    raise KeyError(name)


@pytest.mark.parametrize("scn,table,kind,keys", [
    ("canonical", "canonical", "texthash",
     ["joe@example.com", "@old.example", "bob", "nobody@example.com"]),
    ("virtual", "virtual", "texthash", ["list@example.com", "@catch.example", "self@example.com"]),
    ("header_checks", "header_checks", "pcre",
     ["Subject: reject me now", "X-Replace: old value", "Subject: hello", "X-Ok: 1"]),
    ("body_checks", "body_checks", "regexp",
     ["bad body line here", "replace body xyz", "nothing here"]),
])
def test_postmap_query_agrees_with_postfix(tmp_path, scn, table, kind, keys):
    path = tmp_path / table
    path.write_text(_table(scn, table))
    for key in keys:
        ours, theirs = _postmap_both(["-q", key, "%s:%s" % (kind, path)])
        assert ours == theirs, key
