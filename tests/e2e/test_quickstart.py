"""tools/quickstart: a self-contained instance, every path inside it."""
import os
import subprocess
import tempfile

import postern

TOP = postern.TOP


def test_quickstart_creates_and_starts_instance():
    base = tempfile.mkdtemp(prefix="postern-qs-")
    os.chmod(base, 0o755)
    d = os.path.join(base, "instance")
    port = postern.free_port()
    env = dict(os.environ, POSTERN_SMTP_PORT=str(port), POSTERN_BUILD=postern.BUILD)
    try:
        r = subprocess.run([os.path.join(TOP, "tools", "quickstart"), d], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "postfix/postfix-script: starting the Postfix mail system" in r.stderr
        main_cf = open(os.path.join(d, "main.cf")).read()
        for name in ("queue_directory", "data_directory", "meta_directory",
                     "mail_spool_directory", "maillog_file", "alias_maps"):
            line = [l for l in main_cf.splitlines() if l.startswith(name + " =")][0]
            assert d in line, line
        assert "127.0.0.1:%d inet" % port in open(os.path.join(d, "master.cf")).read()
        st = subprocess.run([postern.bin_path("postfix"), "-c", d, "status"],
                            capture_output=True, text=True)
        assert st.returncode == 0, st.stderr
        pid = int(st.stderr.split("PID: ")[1])
        owner = os.stat("/proc/%d" % pid).st_uid
        assert owner == os.geteuid()           # root's or the user's own master
        # Running it again does not start a second master.
        r2 = subprocess.run([os.path.join(TOP, "tools", "quickstart"), d], env=env,
                            capture_output=True, text=True, timeout=60)
        assert r2.returncode == 0 and "already running" in r2.stdout
    finally:
        subprocess.run([postern.bin_path("postfix"), "-c", d, "stop"], capture_output=True)
        subprocess.run(["rm", "-rf", base])


def test_start_fails_cleanly_when_port_is_taken(make_instance):
    import socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    port = postern.free_port()
    s.bind(("127.0.0.1", port))
    s.listen(1)
    try:
        inst = make_instance(master_cf="127.0.0.1:%d inet n - n - - testd\n" % port)
        inst.use_daemon_dir({"testd": postern.TESTD})
        r = inst.postfix("start", check=False)
        assert r.returncode == 1
        assert ("postfix/master: fatal: bind 127.0.0.1 port %d: Address already in use"
                % port) in r.stderr
        assert "postfix/postfix-script: fatal: mail system startup failed" in r.stderr
        assert inst.master_pid() is None
    finally:
        s.close()
