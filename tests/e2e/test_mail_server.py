"""The service skeleton (src/global/mail_server) run by master: logging tags,
busy/idle reports, restart, reload drain, wakeups. The service is the
test_mail_server program (tests/unit/test_mail_server.c) in service mode."""
import os
import re
import signal
import socket

import pytest

import postern
from postern import wait_until

MSD = os.path.join(postern.BUILD, "tests", "test_mail_server")
POSTLOG_LINE = "postlog   unix-dgram n  -       n       -       1       postlogd\n"

pytestmark = pytest.mark.skipif(not os.path.exists(MSD), reason="test_mail_server not built")


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.f = self.sock.makefile("rwb", buffering=0)

    def greeting(self):
        words = self.f.readline().decode().split()
        assert words[0] == "msd", words
        return words[1], int(words[2])

    def echo(self, text):
        self.f.write((text + "\n").encode())
        return self.f.readline().decode().strip()

    def close(self):
        self.f.close()
        self.sock.close()


def msd_instance(make_instance, services):
    inst = make_instance(master_cf=POSTLOG_LINE + services)
    inst.use_daemon_dir({"msd": MSD})
    inst.start()
    return inst


def test_service_logs_with_syslog_name_override(make_instance):
    inst = msd_instance(make_instance,
                        "127.0.0.1:{port} inet n - n - - msd\n"
                        "  -o syslog_name=postfix/submission -o smtpd_banner=$service_name\n")
    c = Client(inst.smtp_port)
    _, pid = c.greeting()
    assert c.echo("hello") == "hello"
    c.close()
    inst.wait_log(r" postfix/submission/msd\[%d\]: connect from client \(127\.0\.0\.1:%d\)$"
                  % (pid, inst.smtp_port))
    inst.wait_log(r" postfix/submission/msd\[%d\]: disconnect from client$" % pid)


def test_busy_process_gets_company_and_killed_one_is_replaced(make_instance):
    inst = msd_instance(make_instance, "127.0.0.1:{port} inet n - n - 3 msd\n")
    a = Client(inst.smtp_port)
    _, pa = a.greeting()
    b = Client(inst.smtp_port)          # a's process reported busy: a second one
    _, pb = b.greeting()
    assert pa != pb
    mark = inst.log_mark()
    os.kill(pa, signal.SIGKILL)
    inst.wait_log(r"warning: process \S+/msd pid %d killed by signal 9$" % pa, since=mark)
    a.close()
    c = Client(inst.smtp_port)
    _, pc = c.greeting()
    assert pc not in (pa, pb)
    assert c.echo("x") == "x"
    b.close()
    c.close()


def test_exit_status_is_logged(make_instance):
    inst = msd_instance(make_instance, "127.0.0.1:{port} inet n - n - - msd\n")
    c = Client(inst.smtp_port)
    _, pid = c.greeting()
    c.f.write(b"exit 3\n")
    inst.wait_log(r"postfix/master\[\d+\]: warning: process \S+/msd pid %d exit status 3$" % pid)
    c.close()
    # It had served a client: no throttling, the next client is served.
    c2 = Client(inst.smtp_port)
    c2.greeting()
    c2.close()
    assert "throttling" not in inst.log()


def test_reload_drains_old_process(make_instance):
    inst = msd_instance(make_instance, "127.0.0.1:{port} inet n - n - - msd\n")
    old = Client(inst.smtp_port)
    _, pold = old.greeting()
    idle = Client(inst.smtp_port)       # a second, idle-after-this process
    _, pidle = idle.greeting()
    idle.close()
    inst.reload()
    # The idle old process exits at once; the busy one after its client.
    wait_until(lambda: pidle not in inst.children(), what="idle old process to exit")
    assert old.echo("still served") == "still served"
    assert pold in inst.children()
    old.close()
    wait_until(lambda: pold not in inst.children(), what="busy old process to exit")
    new = Client(inst.smtp_port)
    assert new.greeting()[1] not in (pold, pidle)
    new.close()


def test_unix_service_wakeup(make_instance):
    inst = msd_instance(make_instance, "tick unix n - n 1 1 msd trigger\n")
    inst.wait_log(r" postfix/msd\[\d+\]: wakeup$")
    assert os.path.exists(os.path.join(inst.queue_dir, "public", "tick"))


def test_stop_terminates_services(make_instance):
    inst = msd_instance(make_instance, "127.0.0.1:{port} inet n - n - - msd\n")
    c = Client(inst.smtp_port)
    _, pid = c.greeting()
    inst.stop()
    wait_until(lambda: not os.path.exists("/proc/%d" % pid), what="service to exit")
    c.close()
