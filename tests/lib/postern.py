"""Shared helpers for postern's end-to-end tests (see docs/HACKING.md).

    from postern import Instance, bin_path, free_port

    inst = Instance(main_cf={"mydestination": "example.test"})   # not started
    inst.start()                       # `postfix -c DIR start`, waits for master
    inst.wait_log(r"postfix/master\\[\\d+\\]: daemon started")
    r = inst.cmd("postconf", "-h", "queue_directory")
    inst.stop(); inst.cleanup()

An Instance is a complete, self-contained configuration directory in a fresh
temporary directory (mode 0755, so that mail_owner can reach it when tests run
as root): main.cf, master.cf, queue/, data/, mail/, maillog. Every path is in
main.cf. Run as root, the instance uses Postfix's privilege model (mail_owner
postfix, setgid_group postdrop, Debian's accounts); run as an ordinary user,
mail_owner/setgid_group/default_privs name that user and everything runs as
that user.

Ports: free_port() picks an unused loopback TCP port inside the range given
by $POSTERN_PORT_RANGE ("LOW-HIGH", default 20000-29999) or by its arguments.

The API is stable; add to it, don't change it.
"""
import atexit
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTERN_BUILD") or os.path.join(TOP, "build-asan")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(TOP, BUILD)
BIN = os.path.join(BUILD, "bin")
IS_ROOT = os.geteuid() == 0
DEFAULT_TIMEOUT = 15.0

# master.cf used when a test gives none: the SMTP listener on the
# instance's port plus the services of conf/master.cf (those not built yet
# are skipped by master with a warning).
STOCK_MASTER_CF = os.path.join(TOP, "conf", "master.cf")


def bin_path(name):
    """Absolute path of a postern program in the build under test."""
    return os.path.join(BIN, name)


def _port_range(low=None, high=None):
    if low is not None and high is not None:
        return low, high
    env = os.environ.get("POSTERN_PORT_RANGE", "20000-29999")
    lo, _, hi = env.partition("-")
    return int(lo), int(hi)


_handed_out = set()


def free_port(low=None, high=None, host="127.0.0.1"):
    """An unused TCP port on host in [low, high]; never the same twice per run."""
    lo, hi = _port_range(low, high)
    start = lo + (os.getpid() * 7919 + len(_handed_out) * 31) % (hi - lo + 1)
    for i in range(hi - lo + 1):
        port = lo + (start - lo + i) % (hi - lo + 1)
        if port in _handed_out:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((host, port))
        except OSError:
            continue
        finally:
            s.close()
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port in %d-%d" % (lo, hi))


def free_ports(n, low=None, high=None):
    return [free_port(low, high) for _ in range(n)]


def wait_until(pred, timeout=DEFAULT_TIMEOUT, interval=0.05, what="condition"):
    """Poll pred() until it returns a true value (returned); bounded."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def _user_names():
    if IS_ROOT:
        return "postfix", "postdrop", "nobody"
    pw = pwd.getpwuid(os.getuid())
    return pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name, pw.pw_name


class Instance:
    """A self-contained postern instance in a temporary directory."""

    def __init__(self, main_cf=None, master_cf=None, smtp_port=None, path=None,
                 port_range=None, hostname="mx.postern.test"):
        if path is None:
            path = tempfile.mkdtemp(prefix="postern-")
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o755)
        self.dir = self.config_dir = path
        self.queue_dir = os.path.join(path, "queue")
        self.data_dir = os.path.join(path, "data")
        self.mail_dir = os.path.join(path, "mail")
        self.maillog_path = os.path.join(path, "maillog")
        lo, hi = port_range if port_range else (None, None)
        self.smtp_port = smtp_port or free_port(lo, hi)
        self.mail_owner, self.setgid_group, self.default_privs = _user_names()
        self.started = False
        params = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "meta_directory": self.dir,
            "daemon_directory": BIN,
            "command_directory": BIN,
            "mail_spool_directory": self.mail_dir,
            # newaliases / sendmail -bi on an instance must never rebuild the
            # system's /etc/aliases.db (the default alias_database).
            "alias_database": "hash:$config_directory/aliases",
            "maillog_file": self.maillog_path,
            "maillog_file_prefixes": self.dir,
            "myhostname": hostname,
            "mydestination": "$myhostname, localhost.$mydomain, localhost",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "mail_owner": self.mail_owner,
            "setgid_group": self.setgid_group,
            "default_privs": self.default_privs,
        }
        if main_cf:
            params.update(main_cf)
        self.write_main_cf(params)
        if master_cf is None:
            with open(STOCK_MASTER_CF) as f:
                master_cf = f.read().replace(
                    "\nsmtp      inet", "\n127.0.0.1:%d inet" % self.smtp_port, 1)
        self.write_master_cf(master_cf)
        os.makedirs(self.mail_dir, exist_ok=True)
        os.chmod(self.mail_dir, 0o1777)
        os.makedirs(self.queue_dir, exist_ok=True)
        os.chmod(self.queue_dir, 0o755)

    def use_daemon_dir(self, extra=None):
        """Make DIR/libexec the daemon_directory: links to every built
        program plus extra {name: path} (e.g. a test service); returns it."""
        d = os.path.join(self.dir, "libexec")
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(BIN):
            if not os.path.exists(os.path.join(d, name)):
                os.symlink(os.path.join(BIN, name), os.path.join(d, name))
        for name, target in (extra or {}).items():
            if os.path.lexists(os.path.join(d, name)):
                os.unlink(os.path.join(d, name))
            os.symlink(target, os.path.join(d, name))
        self.set_params(daemon_directory=d)
        return d

    # --- configuration -------------------------------------------------
    def write_main_cf(self, params):
        """Replace main.cf with params (dict, in order)."""
        self.params = dict(params)
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            for k, v in params.items():
                f.write("%s = %s\n" % (k, v))

    def set_params(self, **params):
        """Change main.cf parameters (keeps the others)."""
        p = dict(self.params)
        p.update(params)
        self.write_main_cf(p)

    def write_master_cf(self, text):
        """Replace master.cf; "{port}" in text is the instance's SMTP port."""
        text = text.replace("{port}", str(self.smtp_port))
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(text)

    # --- running commands ----------------------------------------------
    def env(self, extra=None):
        e = dict(os.environ)
        e["MAIL_CONFIG"] = self.dir
        if extra:
            e.update(extra)
        return e

    def cmd(self, prog, *args, input=None, check=False, env=None, timeout=60):
        """Run a postern program with MAIL_CONFIG=DIR; CompletedProcess (text)."""
        path = prog if os.path.isabs(prog) else bin_path(prog)
        return subprocess.run([path] + [str(a) for a in args], input=input,
                              capture_output=True, text=True, check=check,
                              env=self.env(env), timeout=timeout)

    def postconf(self, *args):
        """`postconf -c DIR ARGS` stdout; raises on failure."""
        return self.cmd("postconf", "-c", self.dir, *args, check=True).stdout

    def postfix(self, *args, check=True):
        """`postfix -c DIR ARGS`; raises on non-zero exit when check."""
        r = self.cmd("postfix", "-c", self.dir, *args)
        if check and r.returncode != 0:
            raise AssertionError("postfix %s failed (%d):\n%s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    # --- start/stop -------------------------------------------------------
    def start(self, wait=True):
        """`postfix start`; waits until master runs (pid file locked)."""
        mark = self.log_mark()
        r = self.postfix("start")
        self.started = True
        _LIVE.add(self)
        if wait:
            self.wait_log(r"postfix/master\[\d+\]: daemon started", since=mark)
        return r

    def stop(self):
        if self.master_pid() is None:
            self.started = False
            return None
        r = self.postfix("stop", check=False)
        wait_until(lambda: self.master_pid() is None, what="master to exit")
        self.started = False
        return r

    def reload(self, wait=True):
        mark = self.log_mark()
        r = self.postfix("reload")
        if wait:
            self.wait_log(r"postfix/master\[\d+\]: reload", since=mark)
        return r

    def master_pid(self):
        """PID of the running master, or None."""
        path = os.path.join(self.queue_dir, "pid", "master.pid")
        try:
            with open(path) as f:
                pid = int(f.read().strip() or 0)
            ino = os.stat(path).st_ino
            # Running means: master holds its lock on the file (looked up in
            # /proc/locks, so that looking never disturbs a starting master).
            with open("/proc/locks") as f:
                if not any(l.split()[1] == "FLOCK" and l.split()[4] == str(pid)
                           and l.split()[5].endswith(":%d" % ino) for l in f):
                    return None
        except (OSError, ValueError, IndexError):
            return None
        if pid <= 0:
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        # A zombie or a recycled PID is not our master.
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return None
        except OSError:
            return None
        return pid

    def children(self, command=None):
        """PIDs of master's child processes (optionally only COMMAND's)."""
        mpid = self.master_pid()
        if mpid is None:
            return []
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    args = f.read().split(b"\0")[:2]
                    names = [os.path.basename(a.decode(errors="replace")) for a in args]
            except OSError:
                continue
            fields = st.rsplit(")", 1)[1].split()
            if int(fields[1]) != mpid or fields[0] == "Z":
                continue
            # A script's name is its interpreter's first argument.
            if command and command not in names:
                continue
            out.append(int(d))
        return out

    def cleanup(self):
        """Stop (abort if needed), kill leftovers, remove the directory."""
        _LIVE.discard(self)
        try:
            if self.master_pid() is not None:
                self.postfix("stop", check=False)
                try:
                    wait_until(lambda: self.master_pid() is None, timeout=10)
                except TimeoutError:
                    pid = self.master_pid()
                    if pid:
                        for c in self.children():
                            _kill(c)
                        _kill(pid)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # --- the maillog ------------------------------------------------------
    def _raw_log(self):
        try:
            with open(self.maillog_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def sync_log(self, timeout=10.0):
        """Wait until every line sent to postlogd so far is in the maillog.

        Services log through the postlog socket (docs/ARCHITECTURE.md,
        "Logging"), so a line can still be in flight when a test reads the
        file. This sends a marker line through the same socket and waits for
        it (log() and friends hide marker lines). No-op without a running
        postlog service."""
        sock_path = os.path.join(self.queue_dir, "public", "postlog")
        if self.params.get("maillog_file") != self.maillog_path \
                or not os.path.exists(sock_path) or self.master_pid() is None:
            return
        global _sync_count
        _sync_count += 1
        token = "%d.%d.%d" % (os.getpid(), _sync_count, int(time.time() * 1e6))
        line = "%s sync %s[%d]: %s" % (time.strftime("%b %d %H:%M:%S"), SYNC_TAG,
                                       os.getpid(), token)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.sendto(line.encode(), sock_path)
        except OSError:
            return
        finally:
            s.close()
        try:
            wait_until(lambda: token in self._raw_log(), timeout=timeout,
                       what="log sync marker")
        except TimeoutError:
            pass

    def log(self):
        """Whole maillog_file text ('' when it does not exist yet), after
        sync_log(): everything logged before the call is in it."""
        self.sync_log()
        return _strip_sync(self._raw_log())

    def log_lines(self, since=0):
        return self.log()[since:].splitlines()

    def log_mark(self):
        """Current end of the maillog (after sync_log); pass as since= to look
        only at later lines. Offsets are into log()'s text."""
        return len(self.log())

    def wait_log(self, pattern, since=0, timeout=DEFAULT_TIMEOUT):
        """Wait for a maillog line matching regex pattern; returns the match."""
        rx = re.compile(pattern)

        def find():
            for line in _strip_sync(self._raw_log())[since:].splitlines():
                m = rx.search(line)
                if m:
                    return m
            return None
        try:
            return wait_until(find, timeout=timeout, what="log line /%s/" % pattern)
        except TimeoutError:
            raise AssertionError("no log line matching /%s/ within %ss; log:\n%s"
                                 % (pattern, timeout, _strip_sync(self._raw_log())[since:][-4000:]))


# Started instances not cleaned up yet: stopped when the test process exits,
# so that a forgotten cleanup() leaves no master running.
_LIVE = set()


@atexit.register
def _stop_leftovers():
    for inst in list(_LIVE):
        try:
            inst.cleanup()
        except Exception:
            pass


SYNC_TAG = "postern-test-sync"
_sync_count = 0


def _strip_sync(text):
    if SYNC_TAG not in text:
        return text
    return "".join(l for l in text.splitlines(True) if " %s[" % SYNC_TAG not in l)


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


# Postfix's log line: "Mon DD HH:MM:SS host tag[pid]: text"
LOG_LINE_RE = re.compile(
    r"^(?P<time>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d) (?P<host>\S+) "
    r"(?P<tag>[^\s\[]+)\[(?P<pid>\d+)\]: (?P<text>.*)$")
TESTD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testd.py")
