"""make install (tools/install.sh) into a DESTDIR: Postfix's paths."""
import os
import shutil
import subprocess
import tempfile

import postern


def test_install_layout():
    dest = tempfile.mkdtemp(prefix="postern-inst-")
    try:
        r = subprocess.run(["sh", os.path.join(postern.TOP, "tools", "install.sh")],
                           env=dict(os.environ, DESTDIR=dest, PREFIX="/usr",
                                    BUILD=postern.BUILD),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        p = lambda *a: os.path.join(dest, *a)
        for cmd in ("postfix", "postlog"):
            assert os.access(p("usr/sbin", cmd), os.X_OK), cmd
        for daemon in ("master", "postlogd"):
            assert os.access(p("usr/libexec/postern", daemon), os.X_OK), daemon
        assert not os.path.exists(p("usr/sbin/master"))
        assert os.path.isfile(p("etc/postfix/main.cf"))
        assert os.path.isfile(p("etc/postfix/master.cf"))
        assert os.path.isfile(p("etc/aliases"))
        assert os.path.isdir(p("var/spool/postfix")) and os.path.isdir(p("var/lib/postfix"))
        if os.path.exists(os.path.join(postern.BIN, "sendmail")):
            assert os.readlink(p("usr/bin/newaliases")) == "../sbin/sendmail"
        # A second install keeps the administrator's configuration.
        with open(p("etc/postfix/main.cf"), "a") as f:
            f.write("myhostname = kept.example\n")
        subprocess.run(["sh", os.path.join(postern.TOP, "tools", "install.sh")],
                       env=dict(os.environ, DESTDIR=dest, PREFIX="/usr", BUILD=postern.BUILD),
                       capture_output=True, check=True, timeout=120)
        assert "kept.example" in open(p("etc/postfix/main.cf")).read()
    finally:
        shutil.rmtree(dest, ignore_errors=True)
