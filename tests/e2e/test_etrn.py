"""ETRN with fast_flush_domains, as an administrator sees Postfix's flush(8):
the replies (recorded from Debian's Postfix 3.7 with relay_domains =
example.org), the warning for a refused domain, and the deferred mail for
the domain being retried at once while other deferred mail waits."""
import os
import re
import socket
import time

import pytest

import queue_lib


@pytest.fixture
def q():
    inst = queue_lib.Instance()
    yield inst
    inst.close()


def smtp(path, lines):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    f = s.makefile("rb")

    def reply():
        out = []
        while True:
            l = f.readline().decode()
            out.append(l.rstrip("\r\n"))
            if len(l) < 4 or l[3] != "-":
                return out[-1]
    got = [reply()]
    for l in lines:
        s.sendall(l.encode() + b"\r\n")
        got.append(reply())
    f.close()
    s.close()
    return got


def test_etrn_flushes_listed_domain(q):
    q.set(default_transport="retry:4.4.1 Host unreachable for test", relay_domains="stud.test",
          relay_transport="retry:4.4.1 backup MX holds it", myhostname="mail.example.com",
          minimal_backoff_time="1000s", maximal_backoff_time="2000s", queue_run_delay="300s")
    q.start("error", "retry")
    [a] = q.qfile(["u@stud.test"])
    [b] = q.qfile(["u@other.test"])
    q.start_qmgr()
    q.wait(lambda: sorted(q.files("deferred")) == sorted([a, b]))
    sock = os.path.join(q.dir, "smtpd.sock")
    q.start("smtpd", "smtpd", sock)
    got = smtp(sock, ["ETRN other.test", "EHLO x", "ETRN stud.test", "ETRN @stud.test",
                      "ETRN", "ETRN a b", "MAIL FROM:<a@b.c>", "ETRN stud.test", "QUIT"])
    assert got == [
        "220 mail.example.com ESMTP Postfix",
        "459 <other.test>: service unavailable",
        "250 CHUNKING",
        "250 Queuing started",
        "250 Queuing started",
        "500 Syntax: ETRN domain",
        "500 Syntax: ETRN domain",
        "250 2.1.0 Ok",
        "503 Error: MAIL transaction in progress",
        "221 2.0.0 Bye",
    ]
    q.wait(lambda: q.log().count("to=<u@stud.test>") >= 2, what="stud.test retried")
    time.sleep(0.3)
    assert q.log().count("to=<u@other.test>") == 1


def test_etrn_reject_logged(make_instance):
    """A master-run instance: the warning and the disconnect counters."""
    inst = make_instance(main_cf={"relay_domains": "stud.test", "myhostname": "mail.example.com",
                                  "mail_name": "Postfix"}, hostname="mail.example.com")
    inst.start()
    s = socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=20)
    f = s.makefile("rb")
    assert f.readline() == b"220 mail.example.com ESMTP Postfix\r\n"
    s.sendall(b"ETRN other.test\r\nETRN stud.test\r\nQUIT\r\n")
    assert f.readline() == b"459 <other.test>: service unavailable\r\n"
    assert f.readline() == b"250 Queuing started\r\n"
    assert f.readline() == b"221 2.0.0 Bye\r\n"
    f.close()
    s.close()
    inst.wait_log(r"smtpd\[\d+\]: warning: reject: ETRN other\.test\.\.\. from "
                  r"localhost\[127\.0\.0\.1\]$")
    inst.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] etrn=1/2 quit=1 commands=2/3$")
