#!/usr/bin/python3
"""Probe the numeric bounds that Postfix 3.7's daemons enforce on main.cf parameters.

    sudo unshare -m tools/probe_bounds.py [-j N] > /tmp/bounds.tsv

For every INT and TIME parameter in src/global/mail_params.def this writes a
scratch main.cf with the value 0 and then 2147483647, starts the Postfix daemon
that reads the parameter (/usr/lib/postfix/sbin/NAME -S, standalone mode) and
reads the daemon's fatal message from syslog. Output lines are
"name<TAB>value<TAB>daemon<TAB>message", for example
"smtpd_timeout  0s  smtpd  fatal: invalid smtpd_timeout: 0 (min 1)".
Turn them into tools/params-extra.txt lines by hand or with a short script,
then regenerate mail_params.def (see docs/configuration.md).

Postfix daemons log only to syslog. So the script must run as root inside a private
mount namespace (`unshare -m`): it mounts a tmpfs on /dev with null, zero,
random and urandom, and binds its own /dev/log socket there. The system's
/dev stays untouched. A daemon that accepts a value keeps running until the
per-run timeout, so a full run takes a while: use -j to run several
namespaces' worth of work in parallel threads.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SBIN = "/usr/lib/postfix/sbin"
TIMEOUT = 5.0

PREFIX_DAEMONS = [
    ("postscreen_", ["postscreen"]), ("local_", ["local"]), ("mailbox_", ["local"]),
    ("virtual_", ["virtual"]), ("anvil_", ["anvil"]), ("connection_cache", ["scache"]),
    ("bounce_", ["bounce"]), ("fast_flush", ["flush"]), ("address_verify", ["verify"]),
    ("tls_", ["tlsmgr"]), ("lmtp_", ["lmtp"]), ("smtp_", ["smtp"]), ("smtpd_", ["smtpd"]),
    ("qmgr_", ["qmgr"]), ("default_", ["qmgr"]), ("initial_", ["qmgr"]),
]
OTHER_DAEMONS = ["smtpd", "cleanup", "qmgr", "local", "pickup", "bounce"]


def params():
    out = []
    with open(os.path.join(TOP, "src", "global", "mail_params.def")) as f:
        for line in f:
            m = re.match(r"PARAM\(([^,]+), (INT|TIME),", line)
            if m:
                out.append((m.group(1), m.group(2)))
    return out


def private_dev():
    subprocess.run(["mount", "-t", "tmpfs", "none", "/dev"], check=True)
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("random", 1, 8),
                               ("urandom", 1, 9)):
        os.mknod("/dev/" + name, 0o666 | 0o020000, os.makedev(major, minor))
        os.chmod("/dev/" + name, 0o666)


class Syslog:
    """/dev/log, with messages routed to the probe that started the sender's pid."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("/dev/log")
        self.lock = threading.Lock()
        self.by_pid = {}
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            text = self.sock.recv(8192).decode(errors="replace")
            m = re.match(r"<\d+>.*?\[(\d+)\]: (.*)", text)
            if m:
                with self.lock:
                    self.by_pid.setdefault(int(m.group(1)), []).append(m.group(2))

    def take(self, pid):
        with self.lock:
            return self.by_pid.pop(pid, [])


def run_one(log, confdir, daemon, name, value):
    with open(os.path.join(confdir, "main.cf"), "w") as f:
        f.write("queue_directory = %s/q\n%s = %s\n" % (confdir, name, value))
    p = subprocess.Popen([os.path.join(SBIN, daemon), "-S", "-n", "x", "-t", "unix"],
                         env={"MAIL_CONFIG": confdir, "PATH": "/usr/bin:/bin"},
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        p.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    for msg in log.take(p.pid):
        if msg.startswith("fatal:") and name in msg:
            return msg
    return None


def worker(log, jobs, results):
    confdir = tempfile.mkdtemp(prefix="probe-")
    os.makedirs(os.path.join(confdir, "q"))
    while True:
        try:
            name, ptype = jobs.pop()
        except IndexError:
            return
        daemons = OTHER_DAEMONS
        for prefix, ds in PREFIX_DAEMONS:
            if name.startswith(prefix):
                daemons = ds
                break
        for value in (["0s", "2147483647s"] if ptype == "TIME" else ["0", "2147483647"]):
            for daemon in daemons:
                msg = run_one(log, confdir, daemon, name, value)
                if msg:
                    results.append((name, value, daemon, msg))
                    break


def main():
    if os.geteuid() != 0:
        sys.exit("run as root inside `unshare -m` (see the docstring)")
    nthreads = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "-j" else 4
    private_dev()
    log = Syslog()
    jobs = params()
    if os.environ.get("PROBE_ONLY"):		# e.g. PROBE_ONLY=smtpd_timeout,in_flow_delay
        only = set(os.environ["PROBE_ONLY"].split(","))
        jobs = [j for j in jobs if j[0] in only]
    results = []
    threads = [threading.Thread(target=worker, args=(log, jobs, results))
               for _ in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in sorted(results):
        print("\t".join(r))


if __name__ == "__main__":
    main()
