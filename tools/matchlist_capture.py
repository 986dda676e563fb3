#!/usr/bin/python3
"""matchlist_capture.py - ask a real Postfix how its match lists match.

For each case of a scenario file (tests/golden/matchlist/*.scn) the list becomes
`mynetworks` of a scratch Postfix instance; each query "q NAME ADDR" is a session
from 127.0.0.1 that sends XCLIENT NAME=NAME ADDR=ADDR, then MAIL and RCPT with
smtpd_recipient_restrictions = permit_mynetworks, reject. 250 means a match (1),
554 no match (0), 451 a lookup error (-1). Warnings and errors that smtpd logs
while parsing the list ("init:") and for each query ("L:") are recorded too.

The scratch instance (as root): CONFDIR/main.cf.base with queue_directory,
data_directory, maillog_file, inet_interfaces = 127.0.0.1, alias_maps =,
smtpd_authorized_xclient_hosts = 127.0.0.1, smtpd_relay_restrictions = permit,
smtpd_recipient_restrictions = permit_mynetworks, reject,
smtpd_forbid_bare_newline_exclusions = (so the list is parsed once);
CONFDIR/master.cf with smtpd on 127.0.0.1:PORT and a process limit of 1.
    tools/matchlist_capture.py --postfix CONFDIR --port PORT --log MAILLOG X.scn
"""
import argparse, os, re, socket, subprocess, time

def parse(path):
    files, cases, cur = [], [], None
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i]; i += 1
        if not ln.strip() or ln.startswith("#"):
            continue
        if ln.startswith("file "):
            body = []
            while lines[i] != "end":
                body.append(lines[i]); i += 1
            i += 1
            files.append((ln[5:].strip(), "\n".join(body) + "\n"))
        elif ln.startswith("case "):
            cur = {"title": ln[5:], "conf": [], "list": "", "q": []}
            cases.append(cur)
        elif ln.startswith("conf "):
            cur["conf"].append(ln[5:])
        elif ln.startswith("list "):
            cur["list"] = ln[5:]
        elif ln.startswith("q "):
            cur["q"].append(ln[2:].split())
        else:
            raise SystemExit("%s: bad line: %s" % (path, ln))
    return files, cases

def reply(f):
    while True:
        l = f.readline()
        if not l:
            return "<EOF>"
        if len(l) < 4 or l[3] != "-":
            return l.rstrip("\r\n")

def session(port, cmds):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("r", encoding="latin-1")
    last = reply(f)
    for c in cmds:
        s.sendall((c + "\r\n").encode())
        last = reply(f)
    s.close()
    return last

def new_lines(log, pos, d):
    time.sleep(0.7)
    out = []
    with open(log, encoding="latin-1") as f:
        f.seek(pos)
        for l in f:
            m = re.search(r"postfix/smtpd\[\d+\]: ((?:warning|error|fatal): .*)$", l)
            if m and "NIS domain name" not in m.group(1):
                out.append(m.group(1).replace(d, "$DIR"))
        return out, f.tell()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--postfix", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("scn")
    a = ap.parse_args()
    files, cases = parse(a.scn)
    d = os.path.join(a.postfix, "matchlist")
    os.makedirs(d, exist_ok=True)
    for name, body in files:
        open(os.path.join(d, name), "w").write(body)
    base = open(os.path.join(a.postfix, "main.cf.base")).read()
    out = []
    for c in cases:
        conf = base + "".join(x + "\n" for x in c["conf"])
        conf += "mynetworks = %s\n" % c["list"].replace("$DIR", d)
        open(os.path.join(a.postfix, "main.cf"), "w").write(conf)
        for cmd in ("stop", "start"):
            subprocess.run(["postfix", "-c", a.postfix, cmd],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        pos = os.path.getsize(a.log)
        out.append("case " + c["title"])
        session(a.port, ["QUIT"])
        lines, pos = new_lines(a.log, pos, d)
        out += ["init: " + x for x in lines]
        for name, addr in c["q"]:
            r = session(a.port, ["EHLO x", "XCLIENT NAME=%s ADDR=%s" % (name, addr), "EHLO x",
                                 "MAIL FROM:<a@b.test>", "RCPT TO:<c@d.test>"])
            res = {"250": "1", "554": "0", "451": "-1"}.get(r[:3], "?" + r)
            out.append("q %s %s = %s" % (name, addr, res))
            lines, pos = new_lines(a.log, pos, d)
            out += ["L: " + x for x in lines]
    outp = re.sub(r"\.scn$", ".out", a.scn)
    open(outp, "w").write("\n".join(out) + "\n")
    print("wrote", outp)

if __name__ == "__main__":
    main()
