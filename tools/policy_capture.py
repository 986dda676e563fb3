#!/usr/bin/python3
"""policy_capture.py - run SMTP policy scenarios against a server and record replies.

Scenario file (tests/golden/policy/*.scn):
    # comment
    conf NAME = VALUE          main.cf setting for this scenario (applied before sessions)
    dns DNSMASQ-OPTION         a record of the scenario's DNS zone (dnsmasq option, e.g.
                               "host-record=exists.test,192.0.2.10"); see tools/policy_capture_dns.sh
    file NAME                  a file in the config directory; following lines up to
    ...                        a line "end" are its content
    session SRCADDR            start an SMTP session from SRCADDR (bind before connect)
    C: COMMAND                 send a command, read the reply
    . DATA-LINE                (after "C: DATA") message lines; a lone "C: ." ends data
Output (*.out): for each session "session SRCADDR", then "S: reply-line" per reply line,
"C: command" echoed, and a "L: log line" for each reject/warn/hold log line.

Capture from real Postfix (a scratch instance, see docs/policy.md):
    tools/policy_capture.py --postfix CONFDIR --port 26025 scn...
"""
import argparse, os, re, socket, subprocess, sys, time

def parse(path):
    sc = {"conf": [], "files": [], "sessions": [], "dns": []}
    lines = open(path).read().split("\n")
    i = 0
    cur = None
    while i < len(lines):
        ln = lines[i]; i += 1
        if ln.startswith("#") or not ln.strip():
            continue
        if ln.startswith("conf "):
            k, v = ln[5:].split("=", 1)
            sc["conf"].append((k.strip(), v.strip()))
        elif ln.startswith("dns "):
            sc["dns"].append(ln[4:].strip())
        elif ln.startswith("file "):
            name = ln[5:].strip(); body = []
            while lines[i] != "end":
                body.append(lines[i]); i += 1
            i += 1
            sc["files"].append((name, "\n".join(body) + "\n"))
        elif ln.startswith("session "):
            cur = {"src": ln[8:].strip(), "cmds": []}
            sc["sessions"].append(cur)
        elif ln.startswith("C: ") or ln.startswith(". ") or ln == "." or ln.startswith("P: "):
            cur["cmds"].append(ln)
        else:
            raise SystemExit("%s: bad line: %s" % (path, ln))
    return sc

def read_reply(f):
    out = []
    while True:
        l = f.readline()
        if not l:
            out.append("<EOF>"); return out
        l = l.rstrip("\r\n"); out.append(l)
        if len(l) < 4 or l[3] != "-":
            return out

def run_session(host, port, s):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((s["src"], 0))
    sock.settimeout(30)
    sock.connect((host, port))
    f = sock.makefile("r", encoding="latin-1", newline="\n")
    res = ["session " + s["src"]]
    res += ["S: " + x for x in read_reply(f)]
    indata = False
    for c in s["cmds"]:
        if c.startswith(". ") or c == ".":
            sock.sendall((c[2:] + "\r\n").encode("latin-1")); continue
        if c.startswith("P: "):
            # pipelined: all lines in one write, then one reply per line
            lines = c[3:].split(" | ")
            res.append(c)
            sock.sendall("".join(l + "\r\n" for l in lines).encode("latin-1"))
            for _ in lines:
                r = read_reply(f)
                res += ["S: " + x for x in r]
                if r[-1] == "<EOF>":
                    break
            continue
        cmd = c[3:]
        res.append(c)
        try:
            sock.sendall((cmd + "\r\n").encode("latin-1"))
            if cmd.upper().startswith("EHLO"):
                r = read_reply(f)
                res += ["S: " + r[0][:4] + "..."] if r[0].startswith("250") else ["S: " + x for x in r]
            else:
                res += ["S: " + x for x in read_reply(f)]
        except OSError:
            res.append("S: <EOF>")
        if res[-1] == "S: <EOF>":
            break
        continue
        if cmd.upper().startswith("EHLO"):
            r = read_reply(f)
            res += ["S: " + r[0][:4] + "..."] if r[0].startswith("250") else ["S: " + x for x in r]
        else:
            res += ["S: " + x for x in read_reply(f)]
    sock.close()
    return res

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--postfix", help="real Postfix config dir (scratch instance)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=26025)
    ap.add_argument("--log", help="maillog file to harvest reject lines from")
    ap.add_argument("scn", nargs="+")
    a = ap.parse_args()
    for path in a.scn:
        sc = parse(path)
        if a.postfix:
            base = open(os.path.join(a.postfix, "main.cf.base")).read()
            conf = base + "".join("%s = %s\n" % kv for kv in sc["conf"])
            for name, body in sc["files"]:
                open(os.path.join(a.postfix, name), "w").write(body)
            open(os.path.join(a.postfix, "main.cf"), "w").write(conf)
            subprocess.run(["postfix", "-c", a.postfix, "reload"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)
        logpos = os.path.getsize(a.log) if a.log and os.path.exists(a.log) else 0
        out = []
        for s in sc["sessions"]:
            out += run_session(a.host, a.port, s)
        if a.log:
            time.sleep(0.5)
            with open(a.log) as lf:
                lf.seek(logpos)
                for l in lf:
                    m = re.search(r"postfix/smtpd\[\d+\]: (.*(?:reject|reject_warning|warn|hold|discard|redirect|filter|prepend|info): .*)$", l)
                    if m:
                        out.append("L: " + m.group(1))
        outp = re.sub(r"\.scn$", ".out", path)
        open(outp, "w").write("\n".join(out) + "\n")
        print("wrote", outp)

if __name__ == "__main__":
    main()
