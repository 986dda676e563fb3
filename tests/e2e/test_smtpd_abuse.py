"""smtpd against clients that misbehave on purpose: a client that pipelines
commands and never reads the replies must be disconnected (bounded output,
smtpd_timeout), and sessions that end abruptly must not leak descriptors."""
import os
import socket
import threading

import pytest

from postern import Instance, wait_until

HOST = "mail.example.com"


def make(**params):
    p = {"myhostname": HOST, "mail_name": "Postfix", "mynetworks": "127.0.0.1/32",
         "smtpd_error_sleep_time": "0", "alias_maps": "", "local_recipient_maps": "",
         "mydestination": HOST}
    p.update(params)
    return Instance(main_cf=p, master_cf=("127.0.0.1:{port} inet n - n - - smtpd\n"
                                          "postlog unix-dgram n - n - 1 postlogd\n"),
                    hostname=HOST)


def _blast(sock, data):
    """Send as much of data as the server takes; stop when it stops."""
    try:
        sock.settimeout(5)
        sock.sendall(data)
    except OSError:
        pass


@pytest.fixture
def inst():
    i = make(smtpd_timeout="2s", smtpd_junk_command_limit="1000000",
             smtpd_hard_error_limit="1000000", smtpd_soft_error_limit="1000000")
    i.start()
    yield i
    i.stop()
    i.cleanup()


def test_client_that_never_reads_is_disconnected(inst):
    """EHLO replies pile up while the client reads nothing: once the write
    side times out the session must end (not wait forever for the client)."""
    mark = inst.log_mark()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", inst.smtp_port))
    t = threading.Thread(target=_blast, args=(s, b"EHLO client.example\r\n" * 60000))
    t.start()
    try:
        inst.wait_log(r"timeout after \S+ from", since=mark, timeout=30)
        inst.wait_log(r"disconnect from \S+\[127\.0\.0\.1\]", since=mark, timeout=30)
    finally:
        s.close()
        t.join()


def _smtpd_pids(inst):
    return [p for p in inst.children("smtpd")]


def _fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_aborted_sessions_leak_no_descriptors(inst):
    """RST mid-DATA (SO_LINGER 0), half-closes and plain drops: afterwards
    smtpd holds as many descriptors as after one clean session."""
    import struct
    linger = struct.pack("ii", 1, 0)

    def session(kind):
        s = socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=10)
        f = s.makefile("rb")
        f.readline()
        if kind == "rst-data":
            s.sendall(b"EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@" + HOST.encode()
                      + b">\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        elif kind == "half":
            s.sendall(b"EHLO x\r\nNOOP\r\n")
            s.shutdown(socket.SHUT_WR)
            f.read()
        elif kind == "rst-idle":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        else:
            s.sendall(b"QUIT\r\n")
            f.read()
        f.close()
        s.close()

    session("quit")
    wait_until(lambda: len(_smtpd_pids(inst)) == 1, 15)
    pid = _smtpd_pids(inst)[0]
    mark = inst.log_mark()
    before = _fd_count(pid)
    kinds = ["rst-data", "half", "rst-idle", "quit"] * 10
    for k in kinds:
        session(k)
    wait_until(lambda: inst.log()[mark:].count("disconnect from") >= len(kinds), 30)
    assert _smtpd_pids(inst) == [pid]
    wait_until(lambda: _fd_count(pid) <= before, 15)
    assert _fd_count(pid) <= before


def test_long_line_above_read_ahead_mark_still_times_out():
    """line_length_limit above smtpd's read-ahead buffer: a client that
    sends part of a huge line and then nothing is still timed out (reading,
    and with it smtpd_timeout, must not stop at the buffer mark)."""
    i = make(smtpd_timeout="2s", line_length_limit="1000000")
    i.start()
    try:
        mark = i.log_mark()
        s = socket.create_connection(("127.0.0.1", i.smtp_port), timeout=10)
        f = s.makefile("rb")
        assert f.readline().startswith(b"220 ")
        s.sendall(b"EHLO " + b"a" * 600000)
        i.wait_log(r"timeout after CONNECT from", since=mark, timeout=30)
        i.wait_log(r"disconnect from", since=mark, timeout=30)
        f.close()
        s.close()
    finally:
        i.stop()
        i.cleanup()
