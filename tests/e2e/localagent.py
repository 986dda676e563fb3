"""Helpers for testing the local delivery agent stand-alone.

A LocalInstance is a scratch configuration directory, queue directory,
mail spool and aliases file, with `local -S unix:SOCKET` running. deliver()
writes a queue file into `active` with postern-qfile, sends a delivery
request (docs/delivery-protocol.md) and returns the reply status and the
log lines the agent wrote for it.
"""
import atexit
import os
import pwd
import grp
import shutil
import socket
import subprocess
import tempfile
import time

BUILD = os.environ.get("POSTERN_BUILD",
                       os.path.join(os.path.dirname(__file__), "..", "..", "build-asan"))
BIN = os.path.join(BUILD, "bin")
IS_ROOT = os.geteuid() == 0
os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1")


def ensure_user(name, home_base):
    """Create a test user when root (idempotent); return its passwd entry."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    home = os.path.join(home_base, name)
    subprocess.run(["useradd", "-M", "-d", home, "-s", "/bin/sh", name], check=True)
    _created.append(name)
    return pwd.getpwnam(name)


def set_home(user, home):
    """Point the user's passwd entry at home (usermod refuses while the user
    runs a process, e.g. a command still exiting: retry for a while)."""
    for _ in range(50):
        r = subprocess.run(["usermod", "-d", home, user], capture_output=True, text=True)
        if r.returncode == 0 or pwd.getpwnam(user).pw_dir == home:
            return
        time.sleep(0.1)
    raise RuntimeError("usermod -d %s %s: %s" % (home, user, r.stderr))


# Test users are per test process (a suite running elsewhere on the same machine
# must not move their home directories under us); removed at exit.
_RUN = "%04x" % (os.getpid() & 0xffff)
ROOT_USERS = ["pt6a" + _RUN, "pt6b" + _RUN]
_created = []


def _remove_users():
    for u in _created:
        subprocess.run(["userdel", u], capture_output=True)


atexit.register(_remove_users)


def test_users():
    """Two recipients we can deliver to: real users as root, else ourselves."""
    if IS_ROOT:
        return list(ROOT_USERS)
    me = pwd.getpwuid(os.getuid()).pw_name
    return [me, me]


def read_records(path):
    """Yield (offset, type, data) for each record of a queue file."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        start = pos
        rtype = chr(data[pos])
        pos += 1
        length = 0
        shift = 0
        while True:
            b = data[pos]
            pos += 1
            length |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        yield start, rtype, data[pos:pos + length]
        pos += length


def attr_encode(pairs):
    out = []
    for name, value in pairs:
        v = []
        for ch in str(value).encode():
            if ch == 0x25 or ch < 0x20 or ch == 0x7F:
                v.append("%%%02X" % ch)
            else:
                v.append(chr(ch))
        out.append("%s=%s\n" % (name, "".join(v)))
    out.append("\n")
    return "".join(out).encode()


class LocalInstance:
    def __init__(self, extra_conf="", aliases=""):
        self.dir = tempfile.mkdtemp(prefix="pt6local.")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.spool = os.path.join(self.dir, "spool")
        self.home = os.path.join(self.dir, "home")
        self.out = os.path.join(self.dir, "out")
        for d in (self.conf, self.queue, self.spool, self.home, self.out):
            os.makedirs(d)
        os.chmod(self.spool, 0o1777)
        os.chmod(self.out, 0o1777)
        os.chmod(self.home, 0o755)
        for q in ("active", "incoming", "defer", "bounce", "trace", "private", "deferred"):
            os.makedirs(os.path.join(self.queue, q))
            if IS_ROOT:
                # As in a real instance: queue directories belong to mail_owner.
                shutil.chown(os.path.join(self.queue, q), "postfix", "postfix")
        self.users = test_users()
        if IS_ROOT:
            for u in self.users:
                pw = ensure_user(u, self.home)
                home = os.path.join(self.home, u)
                os.makedirs(home, exist_ok=True)
                os.chown(home, pw.pw_uid, pw.pw_gid)
                os.chmod(home, 0o700)
                # Point the passwd entry at this instance's home.
                set_home(u, home)
        self.aliases = os.path.join(self.conf, "aliases")
        self.log = os.path.join(self.dir, "local.log")
        self.sock = os.path.join(self.dir, "local.sock")
        mail_owner = "postfix" if IS_ROOT else pwd.getpwuid(os.getuid()).pw_name
        self.main_cf = (
            "queue_directory = %s\n"
            "mail_spool_directory = %s\n"
            "alias_maps = hash:%s\n"
            "myhostname = pf.example\n"
            "mydomain = example\n"
            "mydestination = pf.example, localhost\n"
            "mail_owner = %s\n"
            "deliver_lock_attempts = 3\n"
            "deliver_lock_delay = 1s\n"
            % (self.queue, self.spool, self.aliases, mail_owner)) + extra_conf
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(self.main_cf)
        self.write_aliases(aliases)
        self.proc = None
        self.start()

    def write_aliases(self, text):
        with open(self.aliases, "w") as f:
            f.write(text)
        subprocess.run([os.path.join(BIN, "postalias"), "-c", self.conf, self.aliases],
                       check=True)

    def start(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "local"), "-c", self.conf, "-S", "unix:" + self.sock],
            stdout=self.logf, stderr=self.logf)
        for _ in range(200):
            if os.path.exists(self.sock):
                return
            time.sleep(0.02)
        raise RuntimeError("local did not start: " + open(self.log).read())

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
        self.logf.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def user_home(self, user):
        return pwd.getpwnam(user).pw_dir

    def queue_file(self, message, rcpts, sender="sender@remote.example", orig=None):
        args = [os.path.join(BIN, "postern-qfile"), "-c", self.conf, "-q", "active",
                "-f", sender]
        if orig:
            args += ["-O", orig]
        args += ["-a", "log_client_address=127.0.0.1", "-a", "log_client_name=localhost",
                 "-a", "log_helo_name=[127.0.0.1]", "-a", "log_protocol_name=ESMTP"]
        r = subprocess.run(args + list(rcpts), input=message.encode(), capture_output=True,
                           check=True)
        qid = r.stdout.decode().split()[0]
        if IS_ROOT:
            shutil.chown(os.path.join(self.queue, "active", qid), "postfix", "postfix")
        return qid

    def request(self, qid, flags=0):
        path = os.path.join(self.queue, "active", qid)
        recs = list(read_records(path))
        data_offset = data_end = None
        sender = ""
        rcpts = []
        orig = ""
        for off, t, d in recs:
            if t == "M":
                data_offset = off
            elif t == "X" and data_offset is not None and data_end is None:
                data_end = off
            elif t == "S":
                sender = d.decode()
            elif t == "O":
                orig = d.decode()
            elif t == "R":
                rcpts.append((off, orig, d.decode()))
                orig = ""
        pairs = [("transport", "local"), ("queue_name", "active"), ("queue_id", qid),
                 ("data_offset", data_offset), ("data_size", data_end - data_offset),
                 ("content_length", 0), ("nexthop", "pf.example"), ("sender", sender),
                 ("flags", flags), ("client_name", "localhost"),
                 ("client_address", "127.0.0.1"), ("helo_name", "[127.0.0.1]"),
                 ("protocol_name", "ESMTP")]
        for off, o, a in rcpts:
            pairs.append(("rcpt_offset", off))
            if o:
                pairs.append(("rcpt_orig", o))
            pairs.append(("rcpt_address", a))
        return pairs

    def send(self, pairs, qid):
        """Send one delivery request (attribute pairs); returns (reply text,
        [log lines about qid, and warnings])."""
        before = os.path.getsize(self.log)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(self.sock)
        s.sendall(attr_encode(pairs))
        reply = b""
        while not reply.endswith(b"\n\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        s.close()
        time.sleep(0.05)
        with open(self.log, "rb") as f:
            f.seek(before)
            lines = [l for l in f.read().decode(errors="replace").splitlines()
                     if qid in l or "warning" in l or "fatal" in l or "panic" in l]
        return reply.decode(), lines

    def deliver(self, message, rcpts, sender="sender@remote.example", orig=None, flags=0):
        """Queue and deliver; returns (status, [log lines], qid)."""
        qid = self.queue_file(message, rcpts, sender, orig)
        reply, lines = self.send(self.request(qid, flags), qid)
        status = None
        for line in reply.splitlines():
            if line.startswith("status="):
                status = int(line[7:])
        return status, lines, qid

    def rcpt_records(self, qid):
        path = os.path.join(self.queue, "active", qid)
        return [(t, d.decode()) for _, t, d in read_records(path) if t in "RD"]
