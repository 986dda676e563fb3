#!/usr/bin/python3
"""cleanup_capture.py - what cleanup makes of messages: address rewriting and content checks.

Scenario file (tests/golden/cleanup/*.scn):
    # comment
    conf NAME = VALUE             main.cf setting
    file NAME                     a file in the config directory, up to a line "end"
    message SRC FROM TO[,TO...]   send a message over SMTP from source address SRC
    ...                           its content, up to a line "end" ("." lines are escaped)

Output (*.out), per message: "message N", "S: end-of-data reply", then the
queue file as postcat shows it, reduced to what the policy code decides:
"queue: incoming|hold" (none when rejected), "sender: ...", "original_recipient: ...",
"recipient: ...", the headers ("H: ...", without Received:, Message-Id:, Date:,
which carry times and queue IDs) and the body ("B: ..."), then cleanup's
log lines for content checks ("L: ...", queue IDs as QID).

Capture from real Postfix (a scratch instance without qmgr, so messages stay
in the incoming/hold queues):
    tools/cleanup_capture.py --postfix CONFDIR --port 26025 --log MAILLOG scn...
"""
import argparse
import os
import re
import smtplib
import socket
import subprocess
import sys
import time


def parse(path):
    sc = {"conf": [], "files": [], "messages": []}
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        i += 1
        if ln.startswith("#") or not ln.strip():
            continue
        if ln.startswith("conf "):
            k, v = ln[5:].split("=", 1)
            sc["conf"].append((k.strip(), v.strip()))
        elif ln.startswith("file ") or ln.startswith("message "):
            body = []
            while lines[i] != "end":
                body.append(lines[i])
                i += 1
            i += 1
            if ln.startswith("file "):
                sc["files"].append((ln[5:].strip(), "\n".join(body) + "\n"))
            else:
                src, frm, to = ln[8:].split()
                sc["messages"].append({"src": src, "from": frm, "to": to.split(","),
                                       "content": "\r\n".join(body) + "\r\n"})
        else:
            raise SystemExit("%s: bad line: %s" % (path, ln))
    return sc


class Bound(smtplib.SMTP):
    pass


def send(host, port, m):
    """Returns (end-of-data reply, queue id or None)."""
    s = smtplib.SMTP(source_address=(m["src"], 0), timeout=30)
    s.connect(host, port)
    s.helo("client.example.net")
    code, msg = s.mail(m["from"])
    if code != 250:
        s.quit()
        return "%d %s" % (code, msg.decode()), None
    ok = 0
    for r in m["to"]:
        code, msg = s.rcpt(r)
        ok += code == 250
    if not ok:
        s.quit()
        return "no recipients", None
    code, msg = s.data(m["content"].encode("latin-1"))
    msg = msg.decode()
    s.quit()
    qid = re.search(r"queued as ([0-9A-Za-z]+)", msg)
    reply = "%d %s" % (code, re.sub(r"queued as [0-9A-Za-z]+", "queued as QID", msg))
    return reply, qid.group(1) if qid else None


SKIP_HDR = re.compile(r"^(Received|Message-Id|Date):", re.I)


def reduce_postcat(text):
    """postcat output -> the reduced lines described above."""
    out = []
    section = None
    skipping = False
    for line in text.split("\n"):
        m = re.match(r"\*\*\* (ENVELOPE RECORDS|MESSAGE CONTENTS|HEADER EXTRACTED|MESSAGE FILE END) (\w+)/", line)
        if m:
            section = m.group(1)
            if section == "ENVELOPE RECORDS":
                out.append("queue: " + m.group(2))
            in_headers = True
            continue
        if section == "ENVELOPE RECORDS" or section == "HEADER EXTRACTED":
            m = re.match(r"(sender|original_recipient|recipient|content_filter|redirect_to): (.*)", line)
            if m:
                out.append("%s: %s" % (m.group(1), m.group(2)))
        elif section == "MESSAGE CONTENTS":
            if in_headers:
                if line == "":
                    in_headers = False
                    continue
                if line[:1] in (" ", "\t"):
                    if not skipping:
                        out.append("H: " + line)
                    continue
                skipping = bool(SKIP_HDR.match(line))
                if not skipping:
                    out.append("H: " + line)
            else:
                out.append("B: " + line)
    # postcat prints an empty last body line for the final newline
    while out and out[-1] == "B: ":
        out.pop()
    return out


LOG_RE = re.compile(r"postfix/cleanup\[\d+\]: (.*)$")


def norm_log(line):
    return re.sub(r"^[0-9A-F]{6,}:", "QID:", line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--postfix", required=True)
    ap.add_argument("--port", type=int, default=26025)
    ap.add_argument("--log", required=True)
    ap.add_argument("scn", nargs="+")
    a = ap.parse_args()
    for path in a.scn:
        sc = parse(path)
        base = open(os.path.join(a.postfix, "main.cf.base")).read()
        for name, body in sc["files"]:
            open(os.path.join(a.postfix, name), "w").write(body)
        open(os.path.join(a.postfix, "main.cf"), "w").write(
            base + "".join("%s = %s\n" % kv for kv in sc["conf"]))
        subprocess.run(["postfix", "-c", a.postfix, "reload"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        out = []
        for n, m in enumerate(sc["messages"]):
            logpos = os.path.getsize(a.log)
            reply, qid = send("127.0.0.1", a.port, m)
            out.append("message %d" % (n + 1))
            out.append("S: " + reply)
            if qid:
                time.sleep(0.3)
                pc = subprocess.run(["postcat", "-c", a.postfix, "-q", qid],
                                    capture_output=True, text=True)
                out += reduce_postcat(pc.stdout)
                subprocess.run(["postsuper", "-c", a.postfix, "-d", qid],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)
            with open(a.log) as lf:
                lf.seek(logpos)
                for l in lf:
                    mm = LOG_RE.search(l)
                    if mm and not re.match(r"[0-9A-F]+: message-id=", mm.group(1)) and "overriding earlier entry" not in mm.group(1):
                        out.append("L: " + norm_log(mm.group(1)))
        outp = re.sub(r"\.scn$", ".out", path)
        open(outp, "w").write("\n".join(out) + "\n")
        print("wrote", outp)


if __name__ == "__main__":
    main()
