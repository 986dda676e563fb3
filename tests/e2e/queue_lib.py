"""Scratch postern instances for the queue tests (qmgr, agents, queue tools).

Daemons run stand-alone (-S unix:...) in a temporary directory; their log
lines (stderr) go to DIR/log. Works as root (daemons drop to mail_owner
"postfix", the queue is chowned to it) and as an ordinary user.
"""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("POSTERN_BUILD", os.path.join(TOP, "build-asan")) + "/bin"
if not os.path.isdir(BIN):
    BIN = os.path.join(TOP, "build", "bin")


def owner():
    if os.geteuid() == 0:
        return "postfix"
    return pwd.getpwuid(os.geteuid()).pw_name


class Instance:
    def __init__(self, extra=None, name="q"):
        self.dir = tempfile.mkdtemp(prefix="postern-q-")
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "spool")
        os.makedirs(self.etc)
        os.makedirs(self.queue)
        for d in ("incoming", "active", "deferred", "hold", "corrupt", "defer",
                  "bounce", "trace", "maildrop", "private", "public", "saved", "flush"):
            os.makedirs(os.path.join(self.queue, d))
        conf = {
            "queue_directory": self.queue,
            "mail_owner": owner(),
            "myhostname": "mx.example.test",
            "mydomain": "example.test",
            "mydestination": "$myhostname, localhost",
            "default_transport": "discard",
            "local_transport": "discard:local",
            "relay_transport": "discard",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "max_idle": "3600s",
            "mail_name": "Postfix",
        }
        if extra:
            conf.update(extra)
        self.conf = conf
        self.write_conf()
        self.procs = {}
        self.logf = open(os.path.join(self.dir, "log"), "ab")
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postfix")
            for root, dirs, files in os.walk(self.dir):
                for n in dirs + files:
                    os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
            os.chown(self.queue, pw.pw_uid, pw.pw_gid)
            os.chmod(self.dir, 0o755)

    def write_conf(self):
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in self.conf.items():
                f.write("%s = %s\n" % (k, v))

    def set(self, **kw):
        self.conf.update(kw)
        self.write_conf()

    def env(self):
        e = dict(os.environ)
        e["MAIL_CONFIG"] = self.etc
        e.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        return e

    def start(self, prog, service=None, path=None, nofile=None):
        service = service or prog
        path = path or os.path.join(self.queue, "private", service)
        if os.path.exists(path):
            os.unlink(path)
        p = subprocess.Popen([os.path.join(BIN, prog), "-c", self.etc, "-n", service,
                              "-t", "unix", "-S", "unix:" + path],
                             stdout=self.logf, stderr=self.logf, env=self.env(),
                             preexec_fn=(lambda: __import__("resource").setrlimit(
                                 __import__("resource").RLIMIT_NOFILE, (nofile, nofile)))
                             if nofile else None)
        self.procs[service] = p
        deadline = time.time() + 10
        import socket
        while True:
            if p.poll() is not None or time.time() > deadline:
                raise RuntimeError("%s did not start: %s" % (prog, self.log()))
            if os.path.exists(path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(path)
                    break
                except OSError:
                    pass
                finally:
                    s.close()
            time.sleep(0.02)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postfix")
            os.chown(path, pw.pw_uid, pw.pw_gid)
        return p

    def start_agents(self, *names):
        for n in names or ("discard", "error"):
            self.start(n)

    def start_qmgr(self):
        return self.start("qmgr", "qmgr", os.path.join(self.queue, "public", "qmgr"))

    def stop(self, service, sig=signal.SIGTERM):
        p = self.procs.pop(service, None)
        if p and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self):
        for s in list(self.procs):
            self.stop(s)
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        self.logf.flush()
        with open(os.path.join(self.dir, "log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def run(self, prog, *args, input=None, check=False, user=None):
        cmd = [os.path.join(BIN, prog), "-c", self.etc] + list(args)
        kw = {}
        if user is not None:
            kw["user"] = user
        r = subprocess.run(cmd, input=input, capture_output=True, env=self.env(), **kw)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed: %s" % (cmd, r.stderr.decode()))
        return r

    def qfile(self, rcpts, sender="sender@example.org", queue="incoming", body=None,
              args=(), count=1):
        if body is None:
            body = ("From: %s\nTo: %s\nSubject: test\n\nbody\n" % (sender, ", ".join(rcpts)))
        cmd = ["postern-qfile", "-q", queue, "-f", sender, "-n", str(count)] + list(args) + list(rcpts)
        r = self.run(*cmd, input=body.encode(), check=True)
        ids = r.stdout.decode().split()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postfix")
            for root, dirs, files in os.walk(self.queue):
                for n in dirs + files:
                    os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
        return ids

    def files(self, queue):
        out = []
        for root, dirs, files in os.walk(os.path.join(self.queue, queue)):
            out.extend(files)
        return sorted(out)

    def trigger(self, what=b"A"):
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(self.queue, "public", "qmgr"))
        s.sendall(what)
        s.close()

    def wait(self, pred, timeout=20, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return
            time.sleep(0.05)
        raise AssertionError("timeout waiting for %s; log:\n%s" % (what, self.log()))
