#!/usr/bin/python3
"""bench/e2e/local_maildir.py - end-to-end local delivery, postern vs Postfix.

smtp-source (20 sessions) sends N messages to one local user whose
home_mailbox is Maildir/; the time is from the first connection to the last
delivered message (N files in Maildir/new and the queue empty). Both systems
fsync each delivered file (and its directory) before the queue file goes.

Usage (as root: Postfix needs it, and so do deliveries as the user):
    bench/e2e/local_maildir.py [-n 2000] [-s 20] [--mbox] [--only postern|postfix] [--port P]
                               [--fs] [--repeat N]
Ports P (Postfix, default 24200) and P+1 (postern) on 127.0.0.1.
"""
import argparse
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("POSTERN_BUILD", os.path.join(TOP, "build"))
USER = "pt6bench"


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def ensure_user(home):
    try:
        pwd.getpwnam(USER)
        subprocess.run(["usermod", "-d", home, USER], capture_output=True)
    except KeyError:
        sh("useradd", "-M", "-d", home, "-s", "/bin/sh", USER)
    pw = pwd.getpwnam(USER)
    os.makedirs(home, exist_ok=True)
    os.chown(home, pw.pw_uid, pw.pw_gid)
    os.chmod(home, 0o700)


def count_new(home, mbox, spool):
    if mbox:
        try:
            with open(os.path.join(spool, USER), "rb") as f:
                return f.read().count(b"\nReturn-Path: ") + 0
        except FileNotFoundError:
            return 0
    try:
        return len(os.listdir(os.path.join(home, "Maildir", "new")))
    except FileNotFoundError:
        return 0


def queue_empty(qdir):
    for q in ("incoming", "active", "deferred"):
        for _root, _dirs, files in os.walk(os.path.join(qdir, q)):
            if files:
                return False
    return True


def queue_count(qdir, queues):
    return sum(len(files) for q in queues
               for _root, _dirs, files in os.walk(os.path.join(qdir, q)))


def master_pid(qdir, name):
    path = os.path.join(qdir, "pid", "master.pid")
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def procs(mpid):
    """CPU ticks of master and its children by program name; exited children
    are counted in master's cutime+cstime ("exited-children")."""
    out = {}
    if mpid is None:
        return out
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
            with open("/proc/%s/cmdline" % p) as f:
                cmd = f.read().split("\0")
        except OSError:
            continue
        f = st.rsplit(")", 1)[1].split()
        if int(p) != mpid and int(f[1]) != mpid:
            continue
        prog = os.path.basename(cmd[0]) if cmd[0] else st.split("(", 1)[1].split(")")[0]
        if int(p) == mpid:
            out["c"] = ("exited-children", int(f[13]) + int(f[14]))
            prog = "master"
        out[p] = (prog, int(f[11]) + int(f[12]))
    return out


def cpu_report(a, b, n):
    tot = {}
    for p, (prog, t) in b.items():
        tot[prog] = tot.get(prog, 0) + t - a.get(p, (prog, 0))[1]
    hz = os.sysconf("SC_CLK_TCK")
    parts = ["%s %.0f" % (k, v * 1e6 / hz / n) for k, v in sorted(tot.items(), key=lambda x: -x[1])
             if v > 0]
    total = sum(tot.values()) * 1e6 / hz / n
    print("         CPU us/msg: total %.0f (%s)" % (total, ", ".join(parts)), flush=True)
    pids = {}
    for p, (prog, _t) in b.items():
        if p.isdigit():
            pids.setdefault(prog, []).append(p)
    print("         pids: %s" % "; ".join("%s %s" % (k, ",".join(v)) for k, v in sorted(pids.items())),
          flush=True)


def perf_start(out):
    if not out:
        return None
    p = subprocess.Popen(["perf", "record", "-a", "-g", "-o", out], stderr=subprocess.DEVNULL)
    time.sleep(1)
    return p


def perf_stop(p):
    if p:
        p.send_signal(2)
        p.wait()


def run_split(name, port, qdir, home, spool, n, sessions, mbox, ctl, cpu=False, perf=None):
    """--split: intake with local deferred, then delivery of the deferred queue alone."""
    t0 = time.monotonic()
    sh("smtp-source", "-s", str(sessions), "-m", str(n), "-f", "sender@example.org",
       "-t", "%s@localhost" % USER, "127.0.0.1:%d" % port)
    while queue_count(qdir, ("deferred",)) < n and time.monotonic() < t0 + 600:
        time.sleep(0.01)
    t1 = time.monotonic()
    sh(*ctl["postconf"], "-e", "defer_transports =")
    sh(*ctl["postfix"], "reload")
    time.sleep(2)
    mpid = master_pid(qdir, name) if cpu else None
    c0 = procs(mpid)
    pp = perf_start(perf)
    t2 = time.monotonic()
    sh(*ctl["postqueue"], "-f")
    while time.monotonic() < t2 + 600:
        if count_new(home, mbox, spool) >= n and queue_empty(qdir):
            break
        time.sleep(0.01)
    t3 = time.monotonic()
    perf_stop(pp)
    c1 = procs(mpid)
    got = count_new(home, mbox, spool)
    print("%-8s %6d msgs  intake (to deferred) %.2fs %.0f msg/s  delivery of the deferred "
          "queue %.2fs %.0f msg/s%s" % (name, n, t1 - t0, n / (t1 - t0), t3 - t2, got / (t3 - t2),
                                        "" if got >= n else "  (ONLY %d DELIVERED)" % got),
          flush=True)
    if cpu:
        cpu_report(c0, c1, n)
    return got / (t3 - t2)


def run_one(name, port, qdir, home, spool, n, sessions, mbox, cpu=False, perf=None):
    mpid = master_pid(qdir, name) if cpu else None
    c0 = procs(mpid)
    pp = perf_start(perf)
    t0 = time.monotonic()
    sh("smtp-source", "-s", str(sessions), "-m", str(n), "-f", "sender@example.org",
       "-t", "%s@localhost" % USER, "127.0.0.1:%d" % port)
    t_sent = time.monotonic()
    deadline = t0 + 600
    while time.monotonic() < deadline:
        if count_new(home, mbox, spool) >= n and queue_empty(qdir):
            break
        time.sleep(0.01)
    t1 = time.monotonic()
    perf_stop(pp)
    got = count_new(home, mbox, spool)
    print("%-8s %6d msgs  smtp %.2fs  first connection -> last delivery %.2fs  %.0f msg/s%s"
          % (name, n, t_sent - t0, t1 - t0, got / (t1 - t0),
             "" if got >= n else "  (ONLY %d DELIVERED)" % got), flush=True)
    if cpu:
        cpu_report(c0, procs(mpid), n)
    return got / (t1 - t0)


def postfix_instance(base, mbox, port):
    d = os.path.join(base, "postfix")
    for sub in ("etc", "queue", "data", "spool"):
        os.makedirs(os.path.join(d, sub))
    os.chmod(os.path.join(d, "spool"), 0o1777)
    shutil.chown(os.path.join(d, "data"), "postfix")
    with open("/etc/postfix/master.cf") as f:
        master = f.read()
    master = master.replace("smtp      inet  n       -       y       -       -       smtpd",
                            "%-9d inet  n       -       y       -       -       smtpd" % port)
    with open(os.path.join(d, "etc", "master.cf"), "w") as f:
        f.write(master)
    with open(os.path.join(d, "etc", "aliases"), "w") as f:
        f.write("postmaster: root\n")
    with open(os.path.join(d, "etc", "main.cf"), "w") as f:
        f.write("compatibility_level = 3.6\nqueue_directory = {d}/queue\n"
                "data_directory = {d}/data\nmail_spool_directory = {d}/spool\n"
                "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
                "myhostname = bench.example\nmydestination = $myhostname, localhost\n"
                "alias_maps = hash:{d}/etc/aliases\nalias_database = hash:{d}/etc/aliases\n"
                "maillog_file = {d}/maillog\nmaillog_file_prefixes = {d}\n"
                "smtpd_client_connection_count_limit = 0\n"
                "{hm}\n".format(d=d, hm="" if mbox else "home_mailbox = Maildir/"))
    sh("postalias", "-c", d + "/etc", d + "/etc/aliases")
    sh("postfix", "-c", d + "/etc", "start")
    time.sleep(1)
    return d, os.path.join(d, "queue"), os.path.join(d, "spool")


def postern_instance(base, mbox, port):
    d = os.path.join(base, "postern")
    env = dict(os.environ, POSTERN_SMTP_PORT=str(port), POSTERN_BUILD=BUILD)
    sh(os.path.join(TOP, "tools", "quickstart"), d, env=env)
    sh(os.path.join(BUILD, "bin", "postfix"), "-c", d, "stop")
    time.sleep(0.5)
    with open(os.path.join(d, "main.cf"), "a") as f:
        f.write("myhostname = bench.example\n" + ("" if mbox else "home_mailbox = Maildir/\n"))
    sh(os.path.join(BUILD, "bin", "postfix"), "-c", d, "start")
    time.sleep(1)
    return d, os.path.join(d, "queue"), os.path.join(d, "mail")


def run_system(name, a, base):
    """One system's run (fresh file system with --fs); returns its rate."""
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o755)
    sbase, mnt = base, None
    if a.fs:
        img = os.path.join(base, name + ".img")
        mnt = os.path.join(base, name + ".fs")
        os.makedirs(mnt)
        sh("truncate", "-s", "4G", img)
        sh("mkfs.ext4", "-q", "-F", "-O", "^has_journal", img)
        sh("mount", "-o", "loop", img, mnt)
        os.chmod(mnt, 0o755)
        sbase = os.path.join(mnt, "b")
        os.makedirs(sbase)
        os.chmod(sbase, 0o755)
    shome = os.path.join(sbase, "home")
    os.makedirs(shome, exist_ok=True)
    os.chmod(shome, 0o755)
    uhome = os.path.join(shome, name)
    ensure_user(uhome)
    if name == "postfix":
        port = a.port
        d, q, spool = postfix_instance(sbase, a.mbox, port)
        stop = ["postfix", "-c", d + "/etc", "stop"]
    else:
        port = a.port + 1
        d, q, spool = postern_instance(sbase, a.mbox, port)
        stop = [os.path.join(BUILD, "bin", "postfix"), "-c", d, "stop"]
    if name == "postfix":
        cdir = d + "/etc"
        ctl = {k: [k, "-c", cdir] for k in ("postconf", "postfix", "postqueue")}
    else:
        cdir = d
        ctl = {k: [os.path.join(BUILD, "bin", k), "-c", cdir]
               for k in ("postconf", "postfix", "postqueue")}
    if a.split:
        sh(*ctl["postconf"], "-e", "defer_transports = local")
        sh(*ctl["postfix"], "reload")
        time.sleep(2)
    try:
        if a.split:
            return run_split(name, port, q, uhome, spool, a.n, a.s, a.mbox, ctl,
                             a.cpu, a.perf)
        else:
            return run_one(name, port, q, uhome, spool, a.n, a.s, a.mbox, a.cpu, a.perf)
    finally:
        subprocess.run(stop, capture_output=True)
        if mnt:
            for _ in range(50):
                if subprocess.run(["umount", mnt], capture_output=True).returncode == 0:
                    break
                time.sleep(0.2)
            else:
                subprocess.run(["umount", "-l", mnt], capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-s", type=int, default=20)
    ap.add_argument("--mbox", action="store_true")
    ap.add_argument("--only")
    ap.add_argument("--port", type=int, default=24200)
    ap.add_argument("--split", action="store_true",
                    help="time intake (local deferred) and delivery separately")
    ap.add_argument("--perf", metavar="FILE",
                    help="perf record -a -g into FILE during the timed phase (the delivery "
                    "phase with --split); use with --only")
    ap.add_argument("--fs", action="store_true",
                    help="each system on its own fresh loop-mounted ext4 without a journal "
                    "(as this VM's root fs), so that neither pays for inodes the other or "
                    "other programs freed recently")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run both systems N times, alternating who goes first; print the "
                    "median ratio")
    ap.add_argument("--cpu", action="store_true",
                    help="CPU per message of master and each child program (delivery phase "
                    "with --split), from /proc")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    base = tempfile.mkdtemp(prefix="h6bench.")
    os.chmod(base, 0o755)
    print("command: %s" % " ".join(sys.argv), flush=True)
    ratios = []
    for r in range(a.repeat):
        rates = {}
        # --repeat: alternate who runs first (the second may pay for the first's freed
        # inodes and dirty pages, see docs/performance.md).
        order = ("postfix", "postern") if r % 2 == 0 else ("postern", "postfix")
        for name in order:
            if a.only and a.only != name:
                continue
            rates[name] = run_system(name, a, os.path.join(base, "r%d" % r))
        if len(rates) == 2:
            ratios.append(rates["postern"] / rates["postfix"])
            print("postern/postfix: %.2fx" % ratios[-1], flush=True)
    if len(ratios) > 1:
        s = sorted(ratios)
        print("median ratio of %d runs: %.2fx (min %.2fx, max %.2fx)"
              % (len(s), s[len(s) // 2], s[0], s[-1]))
    shutil.rmtree(base, ignore_errors=True)

if __name__ == "__main__":
    main()
