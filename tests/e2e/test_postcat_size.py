"""The queue file size record as Postfix 3.7 writes it, shown by postcat.

tests/golden/queue/size/pf-*.txt are `postcat -oq` of the messages in
tests/golden/queue/size/send.py as received by Debian's Postfix 3.7.11
(capture.sh there). Postfix's `message_size:` record has six fields:
the content segment size (X record offset - offset of the first content
record, i.e. the records after M), that content offset, the recipient
count, the queue manager flags, the content length (log size=, mailq; the
same byte count) and the SMTPUTF8 flags (1 requested, 2 a received header
has 8-bit text, 4 the sender has). postern writes the same (queue file
format version 2; docs/queue-format.md).

Dates and queue IDs make a message's size vary with the day, so the test
checks Postfix's rule on the golden data and postern's files against the same
rule, and compares the fields that do not depend on them with the golden.
"""
import os
import re
import subprocess
import sys

import postern

GOLD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "golden", "queue", "size")
sys.path.insert(0, GOLD)
import send  # noqa: E402

SIZE_RE = re.compile(rb"^ *(\d+) message_size:((?: +-?\d+){5,6})$", re.M)
LINE_RE = re.compile(rb"^ *(\d+) (.*)$")


def record_len(n):
    """Bytes of a record holding n bytes of data (type, base-128 length, data)."""
    size, rest = 1 + n, n
    while True:
        size += 1
        rest >>= 7
        if rest == 0:
            return size


def parse(text):
    """postcat -o output -> (size fields, first content offset, X offset,
    record bytes of the content, subject)."""
    fields = [int(f) for f in SIZE_RE.search(text).group(2).split()]
    lines = text.split(b"\n")
    start = next(i for i, ln in enumerate(lines) if b"*** MESSAGE CONTENTS" in ln)
    end = next(i for i, ln in enumerate(lines) if b"*** HEADER EXTRACTED" in ln)
    m_off = int(LINE_RE.match(lines[start]).group(1))
    x_off = int(LINE_RE.match(lines[end]).group(1))
    body = [LINE_RE.match(ln) for ln in lines[start + 1:end]]
    first = int(body[0].group(1))
    total = sum(record_len(len(m.group(2))) for m in body)
    subject = next(m.group(2) for m in body if m.group(2).startswith(b"Subject: "))
    return fields, m_off, first, x_off, total, subject.split()[1].decode()


def check_rule(text):
    fields, m_off, first, x_off, total, name = parse(text)
    assert len(fields) == 6, fields
    assert first == m_off + 2                    # an empty M record
    assert fields[1] == first                    # content offset: after M
    assert fields[0] == x_off - first == total   # the content records
    assert fields[4] == fields[0]                # content length: the same
    return name, fields


def golden():
    out = {}
    for f in sorted(os.listdir(GOLD)):
        if f.startswith("pf-"):
            name, fields = check_rule(open(os.path.join(GOLD, f), "rb").read())
            out[name] = fields
    return out


def test_postfix_golden_follows_the_rule():
    assert sorted(golden()) == sorted(m[0] for m in send.MESSAGES)


def test_size_record_matches_postfix(instance):
    instance.set_params(defer_transports="smtp", relayhost="[127.0.0.1]:9",
                        myhostname="pf.g2.test", mydestination="localhost",
                        mynetworks="127.0.0.0/8")
    instance.start()
    send.send(instance.smtp_port)

    def ids():
        out = instance.cmd("postqueue", "-p").stdout
        return [ln.split()[0].rstrip("*!") for ln in out.splitlines()
                if re.match(r"^[0-9A-F]{6,}", ln)]
    postern.wait_until(lambda: len(ids()) >= len(send.MESSAGES), 20)
    gold = golden()
    seen = {}
    for qid in ids():
        name, fields = check_rule(postcat_bytes(instance, qid))
        seen[name] = fields
        # recipients, qmgr flags, SMTPUTF8 flags: as Postfix
        assert fields[2:4] + fields[5:] == gold[name][2:4] + gold[name][5:], name
    assert sorted(seen) == sorted(gold)
    # mailq/postqueue -j show the content length
    sizes = {m.group(1): int(m.group(2)) for m in
             re.finditer(r'"queue_id": "([0-9A-F]+)".*?"message_size": (\d+)',
                         instance.cmd("postqueue", "-j").stdout)}
    for qid in ids():
        fields = parse(postcat_bytes(instance, qid))[0]
        assert sizes[qid] == fields[4]


def postcat_bytes(instance, qid):
    """postcat -oq as bytes (the content has 8-bit text)."""
    return subprocess.run([postern.bin_path("postcat"), "-oq", qid], stdout=subprocess.PIPE,
                          env=instance.env(), check=True).stdout


def encode_record(rtype, data):
    """One queue file record: type, base-128 length (low bits first), data."""
    out, n = bytearray(rtype.encode()), len(data)
    while True:
        out.append((n & 0x7f) | (0x80 if n >> 7 else 0))
        n >>= 7
        if n == 0:
            return bytes(out) + data


def test_damaged_v1_size_record_shown_as_is(tmp_path):
    """A version 1 size record whose offsets cannot be converted to
    Postfix's fields (past LONG_MAX) is shown as it is, not wrapped around
    (the asan build traps signed overflow)."""
    raw = b"            100 9223372036854775807               1               0               0"
    path = tmp_path / "v1bad"
    path.write_bytes(b"".join(encode_record(t, d) for t, d in [
        ("V", b"postern-queue 1"), ("C", raw), ("T", b"1615302896 0"), ("S", b"a@b"),
        ("R", b"u@x"), ("M", b""), ("N", b"body"), ("X", b""), ("E", b"")]))
    out = subprocess.run([postern.bin_path("postcat"), "-e", str(path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert out.returncode == 0, out.stderr
    assert b"message_size: " + raw + b"\n" in out.stdout
