"""master and the postfix control command on scratch instances.

Runs as the current user: as root the instance uses Postfix's privilege
model (mail_owner postfix), as an ordinary user everything runs as that user.
Services under test are tests/lib/testd.py (a minimal service speaking the
master interface) and postern's own postlogd.
"""
import os
import re
import signal
import socket
import stat
import subprocess

import pytest

import postern
from postern import LOG_LINE_RE, TESTD, wait_until

POSTLOG_LINE = "postlog   unix-dgram n  -       n       -       1       postlogd\n"


def make_testd_instance(make_instance, services, **kw):
    """Instance whose master.cf is POSTLOG_LINE + services (with {port})."""
    inst = make_instance(master_cf=POSTLOG_LINE + services, **kw)
    inst.use_daemon_dir({"testd": TESTD})
    return inst


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.f = self.sock.makefile("rwb", buffering=0)

    def line(self):
        return self.f.readline().decode().strip()

    def greeting(self):
        """(service, pid) from "testd SERVICE PID"."""
        words = self.line().split()
        assert words[0] == "testd", words
        return words[1], int(words[2])

    def echo(self, text):
        self.f.write((text + "\n").encode())
        return self.line()

    def close(self):
        self.f.close()
        self.sock.close()


def test_start_status_stop_texts(instance):
    r = instance.postfix("start")
    assert "postfix/postfix-script: starting the Postfix mail system" in r.stderr
    instance.wait_log(r"postfix/master\[\d+\]: daemon started -- version \S+, "
                      r"configuration " + re.escape(instance.dir) + "$")
    pid = instance.master_pid()
    assert pid

    r = instance.postfix("status")
    assert r.stderr.strip() == \
        "postfix/postfix-script: the Postfix mail system is running: PID: %d" % pid

    r = instance.postfix("start", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == \
        "postfix/postfix-script: fatal: the Postfix mail system is already running"
    assert instance.master_pid() == pid

    r = instance.postfix("stop")
    assert r.stderr.strip() == "postfix/postfix-script: stopping the Postfix mail system"
    assert instance.master_pid() is None
    instance.wait_log(r"postfix/master\[%d\]: terminating on signal 15" % pid)
    # Nothing queued for postlogd is lost at shutdown.
    assert re.search(r"(?m) postfix/postfix-script\[\d+\]: stopping the Postfix mail system$",
                     instance.log())

    r = instance.postfix("status", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == "postfix/postfix-script: the Postfix mail system is not running"
    for cmd in ("stop", "reload", "abort"):
        r = instance.postfix(cmd, check=False)
        assert r.returncode == 1
        assert r.stderr.strip() == \
            "postfix/postfix-script: fatal: the Postfix mail system is not running"


def test_unknown_command(instance):
    r = instance.postfix("bogus", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "postfix/postfix-script: fatal: unknown command: 'bogus'. Usage: postfix start "
        "(or stop, reload, abort, flush, check, status, set-permissions, "
        "upgrade-configuration, logrotate)")


def test_log_line_format(instance):
    instance.start()
    instance.cmd("postlog", "-t", "foo/bar", "-p", "warn", "hello", "world", check=True)
    instance.wait_log(r" foo/bar\[\d+\]: warning: hello world$")
    instance.stop()
    lines = instance.log_lines()
    assert lines
    for line in lines:
        m = LOG_LINE_RE.match(line)
        assert m, line
        assert m.group("host") == "mx"          # first label of myhostname
    tags = {LOG_LINE_RE.match(l).group("tag") for l in lines}
    assert {"postfix/postfix-script", "postfix/master", "foo/bar"} <= tags


def test_postlog_stdin_and_without_master(instance):
    # master is not running: postlog appends to maillog_file itself.
    instance.cmd("postlog", input="one\ntwo\n", check=True)
    instance.cmd("postlog", "-p", "error", "three", check=True)
    lines = instance.log_lines()
    assert [LOG_LINE_RE.match(l).group("tag", "text") for l in lines] == [
        ("postfix/postlog", "one"), ("postfix/postlog", "two"),
        ("postfix/postlog", "error: three")]
    r = instance.cmd("postlog", "-p", "bogus", "x")
    assert r.returncode == 1


def test_syslog_name_parameter(instance):
    instance.set_params(syslog_name="postern-test")
    instance.cmd("postlog", "hi", check=True)
    assert LOG_LINE_RE.match(instance.log_lines()[-1]).group("tag") == "postern-test/postlog"


def test_maillog_file_prefixes(instance):
    instance.set_params(maillog_file_prefixes="/nonexistent")
    r = instance.postfix("start", check=False)
    assert r.returncode == 1
    assert ("postfix: fatal: maillog_file value '%s' does not match any prefix "
            "in maillog_file_prefixes" % instance.maillog_path) in r.stderr


def test_listeners_modes(make_instance):
    inst = make_testd_instance(make_instance,
                          "echo unix - - n - - testd\npub unix n - n - - testd\n"
                          "tick fifo n - n - 1 testd\n")
    inst.start()
    q = inst.queue_dir
    for path, mode in (("private", 0o700), ("public", 0o710)):
        assert stat.S_IMODE(os.stat(os.path.join(q, path)).st_mode) == mode
    st = os.stat(os.path.join(q, "private", "echo"))
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666
    assert stat.S_ISSOCK(os.stat(os.path.join(q, "public", "pub")).st_mode)
    assert stat.S_ISSOCK(os.stat(os.path.join(q, "public", "postlog")).st_mode)
    st = os.stat(os.path.join(q, "public", "tick"))
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o622
    if postern.IS_ROOT:
        import pwd
        assert st.st_uid == pwd.getpwnam("postfix").pw_uid


def test_spawn_on_demand_and_restart_after_kill(make_instance):
    inst = make_testd_instance(make_instance, "127.0.0.1:{port} inet n - n - 2 testd\n")
    inst.start()
    assert inst.children("testd") == []      # nothing until a client comes
    c = Client(inst.smtp_port)
    service, pid = c.greeting()
    assert service == "127.0.0.1:%d" % inst.smtp_port
    assert c.echo("ping") == "ping"
    mark = inst.log_mark()
    os.kill(pid, signal.SIGKILL)
    inst.wait_log(r"postfix/master\[\d+\]: warning: process \S+/testd pid %d "
                  r"killed by signal 9$" % pid, since=mark)
    c.close()
    c2 = Client(inst.smtp_port)
    _, pid2 = c2.greeting()
    assert pid2 != pid
    assert c2.echo("again") == "again"
    c2.close()
    assert "throttling" not in inst.log()[mark:]


def test_process_limit_and_reuse(make_instance):
    inst = make_testd_instance(make_instance, "127.0.0.1:{port} inet n - n - 2 testd\n")
    inst.start()
    a, b = Client(inst.smtp_port), Client(inst.smtp_port)
    _, pa = a.greeting()
    _, pb = b.greeting()
    assert pa != pb
    c = Client(inst.smtp_port)          # over the limit of 2: waits in the queue
    a.close()                           # a process becomes idle and takes c
    _, pc = c.greeting()
    assert pc == pa
    assert len(inst.children("testd")) == 2
    b.close()
    c.close()


def test_service_arguments(make_instance):
    inst = make_testd_instance(
        make_instance,
        "127.0.0.1:{port} inet n - n - - testd\n"
        "  -o syslog_name=postfix/submission -o { smtpd_banner = a b } -v extra\n")
    inst.start()
    c = Client(inst.smtp_port)
    _, pid = c.greeting()
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        argv = f.read().decode().split("\0")[:-1]
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = dict(e.split("=", 1) for e in f.read().decode().split("\0") if "=" in e)
    c.close()
    # Postfix 3.7 (ps): "smtpd -n 127.0.0.1:PORT -t inet -u -o syslog_name=... -o
    # smtpd_banner = a b -v extra"; postern normalizes "{ name = value }" to name=value.
    assert argv[2:] == ["-n", "127.0.0.1:%d" % inst.smtp_port, "-t", "inet", "-u",
                        "-o", "syslog_name=postfix/submission",
                        "-o", "smtpd_banner=a b", "-v", "extra"]
    assert env["POSTERN_LISTEN_FDS"] == "1"
    assert env["MAIL_CONFIG"] == inst.dir
    assert "PATH" not in env            # only import_environment gets through
    assert env["LANG"] == "C"


def test_reload_keeps_connections(make_instance):
    inst = make_testd_instance(make_instance, "127.0.0.1:{port} inet n - n - - testd\n")
    inst.start()
    old = Client(inst.smtp_port)
    _, pold = old.greeting()
    inst.reload()
    assert old.echo("still there") == "still there"
    new = Client(inst.smtp_port)
    _, pnew = new.greeting()
    assert pnew != pold                 # old processes serve only old clients
    old.close()
    wait_until(lambda: pold not in inst.children(), what="old process to exit")
    assert new.echo("hi") == "hi"
    new.close()


def test_reload_reads_new_master_cf(make_instance):
    inst = make_testd_instance(make_instance, "127.0.0.1:{port} inet n - n - - testd\n")
    inst.start()
    port2 = postern.free_port()
    inst.write_master_cf(POSTLOG_LINE + "127.0.0.1:%d inet n - n - - testd\n" % port2)
    inst.reload()
    c = Client(port2)
    assert c.greeting()[0] == "127.0.0.1:%d" % port2
    c.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=5).close()


def test_bad_command_startup_is_throttled(make_instance):
    inst = make_testd_instance(make_instance, "127.0.0.1:{port} inet n - n - - testd fail\n")
    inst.start()
    s = socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=15)
    inst.wait_log(r"postfix/master\[\d+\]: warning: process \S+/testd pid \d+ exit status 1$")
    inst.wait_log(r"postfix/master\[\d+\]: warning: \S+/testd: bad command startup -- throttling$")
    s.close()
    assert inst.master_pid()


def test_missing_program_is_a_warning(make_instance):
    inst = make_testd_instance(make_instance, "foo unix - - n - - nosuchprogram\n"
                                         "127.0.0.1:{port} inet n - n - - testd\n")
    inst.start()
    inst.wait_log(r"postfix/master\[\d+\]: warning: master\.cf: service disabled, missing "
                  r"program in \S+: foo/unix \(nosuchprogram\)$")
    assert not os.path.exists(os.path.join(inst.queue_dir, "private", "foo"))
    c = Client(inst.smtp_port)          # the other services work
    c.greeting()
    c.close()
    r = inst.postfix("check", check=False)
    assert "warning: master.cf: service disabled, missing program in %s: foo/unix " \
        "(nosuchprogram)\n" % os.path.join(inst.dir, "libexec") in r.stderr


def test_wakeup_fifo(make_instance):
    inst = make_testd_instance(make_instance, "tick fifo n - n 1 1 testd\n")
    log = os.path.join(inst.dir, "testd.log")
    inst.set_params(import_environment="MAIL_CONFIG TESTD_LOG=" + log)
    inst.start()
    wait_until(lambda: os.path.exists(log) and
               open(log).read().count("tick ") >= 2, what="two wakeups")
    assert re.match(r"tick \d+ W+$", open(log).read().splitlines()[0])


def test_stock_master_cf_is_usable(instance):
    instance.start()
    for name, prog in (("pickup", "pickup"), ("qmgr", "qmgr"), ("tlsmgr", "tlsmgr"),
                       ("anvil", "anvil"), ("scache", "scache")):
        if not os.path.exists(postern.bin_path(prog)):
            instance.wait_log(r"warning: master\.cf: services disabled, missing program in "
                              r"\S+: .*\b%s/unix \(%s\)" % (name, prog))
            break
    assert instance.postfix("status").returncode == 0
    instance.reload()
    assert instance.master_pid()


def test_abort(make_instance):
    inst = make_testd_instance(make_instance, "127.0.0.1:{port} inet n - n - - testd\n")
    inst.start()
    c = Client(inst.smtp_port)
    _, pid = c.greeting()
    r = inst.postfix("abort")
    assert r.stderr.strip() == "postfix/postfix-script: aborting the Postfix mail system"
    wait_until(lambda: inst.master_pid() is None, what="master to exit")
    wait_until(lambda: not os.path.exists("/proc/%d" % pid)
               or open("/proc/%d/stat" % pid).read().split(")")[1].split()[0] == "Z",
               what="service to die")
    c.close()


def test_start_fg_and_dev_stdout(make_instance):
    inst = make_instance(master_cf=POSTLOG_LINE)
    inst.set_params(maillog_file="/dev/stdout", maillog_file_prefixes="/dev/stdout")
    p = subprocess.Popen([postern.bin_path("postfix"), "-c", inst.dir, "start-fg"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=inst.env())
    try:
        seen = []
        for line in p.stdout:
            seen.append(line)
            if "daemon started" in line:
                break
        assert any(re.search(r"postfix/postfix-script\[\d+\]: starting the Postfix mail system$",
                             l.rstrip()) for l in seen), seen
        assert LOG_LINE_RE.match(seen[-1].rstrip())
        wait_until(lambda: inst.master_pid() == p.pid, what="master as the start-fg process")
        inst.cmd("postlog", "via postlogd", check=True)
        for line in p.stdout:
            if "via postlogd" in line:
                assert re.search(r" postfix/postlog\[\d+\]: via postlogd$", line.rstrip())
                break
        assert inst.postfix("stop").returncode == 0
        assert p.wait(timeout=20) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


DEBIAN_MASTER_CF = "/usr/share/postfix/master.cf.dist"


@pytest.mark.skipif(not os.path.exists(DEBIAN_MASTER_CF), reason="Debian's postfix not installed")
def test_debian_stock_master_cf(make_instance):
    """Debian's own master.cf (pipe services, -o overrides, commented submission) loads."""
    text = open(DEBIAN_MASTER_CF).read()
    text = re.sub(r"(?m)^smtp(\s+)inet", "127.0.0.1:{port}\\1inet", text)
    inst = make_instance(master_cf=text)
    inst.start()
    log = inst.log()
    assert "fatal" not in log
    if not os.path.exists(postern.bin_path("pipe")):
        inst.wait_log(r"warning: master\.cf: services disabled, missing program in "
                      r"\S+: .*\bmaildrop/unix \(pipe\)")
    assert inst.postfix("status").returncode == 0
    inst.reload()
    inst.stop()


def test_relative_config_directory(make_instance):
    inst = make_instance(master_cf=POSTLOG_LINE)
    parent, name = os.path.split(inst.dir)
    run = lambda *a: subprocess.run([postern.bin_path("postfix"), "-c", name] + list(a),
                                    cwd=parent, capture_output=True, text=True)
    assert run("start").returncode == 0
    assert run("reload").returncode == 0
    inst.wait_log(r"postfix/master\[\d+\]: reload -- version \S+, configuration %s$"
                  % re.escape(inst.dir))
    assert inst.master_pid()
    assert run("stop").returncode == 0


def test_master_service_disable(make_instance):
    inst = make_testd_instance(make_instance, "{port} inet n - n - - testd\n"
                                              "echo unix - - n - - testd\n")
    inst.set_params(master_service_disable="inet")
    inst.start()
    assert os.path.exists(os.path.join(inst.queue_dir, "private", "echo"))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=5).close()
    inst.set_params(master_service_disable="echo/unix")
    inst.reload()
    assert not os.path.exists(os.path.join(inst.queue_dir, "private", "echo"))
    c = Client(inst.smtp_port)
    c.greeting()
    c.close()


def _has_ipv6():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("interfaces", ["loopback-only", "all"])
def test_inet_interfaces_wildcards(make_instance, interfaces):
    inst = make_testd_instance(make_instance, "{port} inet n - n - - testd\n")
    inst.set_params(inet_interfaces=interfaces, inet_protocols="all")
    inst.start()
    c = Client(inst.smtp_port)
    c.greeting()
    c.close()
    if _has_ipv6():
        s = socket.create_connection(("::1", inst.smtp_port), timeout=15)
        assert s.makefile("rb").readline().startswith(b"testd ")
        s.close()


def test_reload_with_bad_master_cf_keeps_master(make_instance):
    inst = make_testd_instance(make_instance, "127.0.0.1:{port} inet n - n - - testd\n")
    inst.start()
    pid = inst.master_pid()
    inst.write_master_cf(POSTLOG_LINE + "broken inet n\n")
    r = inst.postfix("reload", check=False)
    assert r.returncode == 1
    assert "fatal: " in r.stderr and "master.cf: line 2" in r.stderr
    assert inst.master_pid() == pid
    c = Client(inst.smtp_port)          # still serving the old configuration
    c.greeting()
    c.close()


def test_logrotate(make_instance):
    inst = make_instance(master_cf=POSTLOG_LINE)
    inst.set_params(maillog_file_rotate_suffix="rotated")
    inst.start()
    r = inst.postfix("logrotate")
    rotated = inst.maillog_path + ".rotated"
    assert os.path.exists(rotated)
    assert "daemon started" in open(rotated).read()
    inst.wait_log(r"postfix/master\[\d+\]: reload -- ")       # master's new file
    inst.cmd("postlog", "after rotation", check=True)          # postlogd's new file
    inst.wait_log(r"postfix/postlog\[\d+\]: after rotation$")
    assert "after rotation" not in open(rotated).read()


def test_syslog_instance_with_postlog_service(make_instance):
    """maillog_file empty (syslog): the stock postlog service stays idle, and a
    stray datagram to it does not make master respawn postlogd in a loop."""
    inst = make_instance(master_cf=POSTLOG_LINE)
    inst.set_params(maillog_file="")
    inst.start(wait=False)
    wait_until(lambda: inst.master_pid(), what="master")
    assert inst.children() == []
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"stray", os.path.join(inst.queue_dir, "public", "postlog"))
    s.close()
    wait_until(lambda: len(inst.children("postlogd")) == 1, what="postlogd")
    pid = inst.children("postlogd")[0]
    assert inst.children("postlogd") == [pid]       # still the same process
    inst.stop()


def test_log_is_synchronized_with_postlogd(make_instance):
    """Instance.log() contains every line sent to postlogd before the call."""
    inst = make_instance(master_cf=POSTLOG_LINE)
    inst.start()
    sock = os.path.join(inst.queue_dir, "public", "postlog")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for i in range(50):
        s.sendto(("Nov 22 00:00:00 mx test/x[1]: line %d" % i).encode(), sock)
    s.close()
    lines = [l for l in inst.log_lines() if " test/x[1]: " in l]
    assert len(lines) == 50 and lines[-1].endswith("line 49")
    assert "postern-test-sync" not in inst.log()


@pytest.mark.skipif(not postern.IS_ROOT, reason="needs a second user")
def test_other_users_instance_is_refused(make_instance):
    inst = make_instance(master_cf=POSTLOG_LINE)
    inst.postfix("check")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        postern.bin_path("postfix"), "-c", inst.dir, "status"],
                       capture_output=True, text=True, env=inst.env())
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "postfix: error: to submit mail, use the Postfix sendmail command",
        "postfix: fatal: the postfix command is reserved for the superuser"]


def test_reload_keeps_singleton_single(make_instance):
    """maxproc 1 (qmgr, pickup, ...): after reload the new process starts only
    once the old one has finished, never two at a time."""
    import select
    inst = make_testd_instance(make_instance, "127.0.0.1:{port} inet n - n - 1 testd\n")
    inst.start()
    a = Client(inst.smtp_port)
    _, pa = a.greeting()
    inst.reload()
    b = Client(inst.smtp_port)
    assert a.echo("old process still serving") == "old process still serving"
    assert select.select([b.sock], [], [], 0.5)[0] == []    # nobody took b yet
    assert inst.children("testd") == [pa]
    a.close()
    _, pb = b.greeting()
    assert pb != pa
    b.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="the privilege model applies to root only")
@pytest.mark.parametrize("owner, text", [
    ("root", "parameter mail_owner: user root has privileged user ID"),
    ("nosuchuser-pt", "parameter mail_owner: unknown user name value: nosuchuser-pt"),
])
def test_bad_mail_owner_is_fatal(make_instance, owner, text):
    """master, the service skeleton and postsuper share one mail_owner check."""
    inst = make_instance()
    inst.set_params(mail_owner=owner)
    r = inst.postfix("start", check=False)
    assert r.returncode != 0
    assert text in r.stdout + r.stderr + inst.log()
    r = inst.cmd("postsuper", "-c", inst.dir, "-d", "ALL")
    assert r.returncode != 0
    assert "fatal: file %s/main.cf: %s" % (inst.dir, text) in r.stderr
