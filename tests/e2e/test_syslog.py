"""Logging to syslog (maillog_file empty): facility, severity, tag, PID.

syslog(3) writes to /dev/log; the test gives postlog a private /dev (a mount
namespace, so root only) whose /dev/log is the test's own datagram socket.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile

import pytest

import postern

pytestmark = pytest.mark.skipif(not postern.IS_ROOT or not shutil.which("unshare"),
                                reason="needs root and unshare(1) for a private /dev/log")


def syslog_lines(config_dir, *args, facility=None):
    d = tempfile.mkdtemp(prefix="postern-sl-")
    sock_path = os.path.join(d, "log.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(10)
    try:
        cmd = ("mount -t tmpfs none /dev && touch /dev/log && mount --bind %s /dev/log && "
               "exec %s -c %s %s" % (sock_path, postern.bin_path("postlog"), config_dir,
                                     " ".join(args)))
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", cmd],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0 and "unshare" in r.stderr:
            pytest.skip("no mount namespaces here: " + r.stderr.strip())
        assert r.returncode == 0, r.stderr
        return s.recv(4096).decode()
    finally:
        s.close()
        shutil.rmtree(d, ignore_errors=True)


def test_syslog_default(instance):
    instance.set_params(maillog_file="")
    msg = syslog_lines(instance.dir, "-p", "warn", "hello", "syslog")
    # <PRI>: mail (2) * 8 + warning (4) = 20
    assert re.match(r"<20>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d postfix/postlog\[\d+\]: "
                    r"warning: hello syslog$", msg), msg


def test_syslog_facility_and_name(instance):
    instance.set_params(maillog_file="", syslog_facility="local3", syslog_name="pstn")
    msg = syslog_lines(instance.dir, "info", "line")
    # local3 (19) * 8 + info (6) = 158
    assert re.match(r"<158>.* pstn/postlog\[\d+\]: info line$", msg), msg
