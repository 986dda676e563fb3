"""anvil: client connection and rate limits shared by all smtpd processes.

Postfix's own lines and replies for these cases: tests/golden/anvil/.

Replies and log lines are those Debian's Postfix 3.7 gave in a scratch
instance with the same limits and smtpd_client_event_limit_exceptions empty
(so that 127.0.0.1 is not exempt)."""
import re
import socket

import pytest

from postern import Instance, wait_until

HOST = "mail.example.com"


def master_cf(anvil=True, extra=""):
    text = ("127.0.0.1:{port} inet n - n - - smtpd\n"
            "postlog unix-dgram n - n - 1 postlogd\n")
    if anvil:
        text += "anvil unix - - n - 1 anvil\n"
    return text + extra


def make(anvil=True, extra_master="", **params):
    p = {"myhostname": HOST, "mail_name": "Postfix", "mynetworks": "127.0.0.1/32",
         "smtpd_client_event_limit_exceptions": "", "smtpd_error_sleep_time": "0",
         "alias_maps": "", "local_recipient_maps": "", "mydestination": HOST,
         "anvil_status_update_time": "1s"}
    p.update(params)
    return Instance(main_cf=p, master_cf=master_cf(anvil, extra_master), hostname=HOST)


def connect(port, src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(10)
    return s, s.makefile("rb")


def chat(s, f, line):
    s.sendall(line.encode() + b"\r\n")
    out = []
    while True:
        r = f.readline().decode()
        out.append(r.rstrip("\r\n"))
        if len(r) < 4 or r[3] != "-":
            return out


@pytest.fixture
def inst():
    made = []

    def _make(*a, **kw):
        i = make(*a, **kw)
        made.append(i)
        i.start()
        return i
    yield _make
    for i in made:
        i.stop()
        i.cleanup()


def test_count_limit_is_global(inst):
    """Postfix's reply and warning; the count drops as sessions end."""
    i = inst(smtpd_client_connection_count_limit="2")
    a = [connect(i.smtp_port) for _ in range(2)]
    for s, f in a:
        assert f.readline() == b"220 %s ESMTP Postfix\r\n" % HOST.encode()
    s, f = connect(i.smtp_port)
    assert f.readline() == \
        b"421 4.7.0 mail.example.com Error: too many connections from 127.0.0.1\r\n"
    assert f.readline() == b""
    i.wait_log(r"smtpd\[\d+\]: warning: Connection concurrency limit exceeded: 3 from "
               r"localhost\[127\.0\.0\.1\] for service 127\.0\.0\.1:%d" % i.smtp_port)
    i.wait_log(r"smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\] commands=0/0")
    for s, f in a:
        f.close()
        s.close()
    # Once the others are gone, a new session is welcome again.
    wait_until(lambda: i.log().count("disconnect from") == 3, what="3 disconnects")
    s, f = connect(i.smtp_port)
    assert f.readline().startswith(b"220 ")
    s.close()
    # anvil's periodic statistics, as Postfix logs them.
    i.wait_log(r"anvil\[\d+\]: statistics: max connection rate \d+/60s for "
               r"\(127\.0\.0\.1:%d:127\.0\.0\.1\) at \w{3} [ \d]\d \d\d:\d\d:\d\d" % i.smtp_port)
    i.wait_log(r"anvil\[\d+\]: statistics: max connection count 3 for "
               r"\(127\.0\.0\.1:%d:127\.0\.0\.1\) at " % i.smtp_port)
    i.wait_log(r"anvil\[\d+\]: statistics: max cache size 1 at ")


def test_count_limit_across_processes(inst):
    """An smtpd process serves up to 32 sessions, then master starts
    another: 40 sessions take two processes, and the 41st is refused by
    whichever process gets it, because anvil counts for all of them."""
    i = inst(smtpd_client_connection_count_limit="40")
    socks = []
    for _ in range(40):
        s, f = connect(i.smtp_port)
        assert f.readline().startswith(b"220 ")
        socks.append((s, f))
    assert len(i.children("smtpd")) >= 2
    s, f = connect(i.smtp_port)
    assert f.readline() == \
        b"421 4.7.0 mail.example.com Error: too many connections from 127.0.0.1\r\n"
    i.wait_log(r"warning: Connection concurrency limit exceeded: 41 from ")
    for s, f in socks:
        f.close()
        s.close()


def test_rate_limits(inst):
    i = inst(smtpd_client_connection_rate_limit="4", smtpd_client_message_rate_limit="2",
             smtpd_client_recipient_rate_limit="3")
    s, f = connect(i.smtp_port)
    assert f.readline().startswith(b"220 ")
    chat(s, f, "EHLO x")
    assert chat(s, f, "MAIL FROM:<a@b.c>") == ["250 2.1.0 Ok"]
    assert chat(s, f, "RSET") == ["250 2.0.0 Ok"]
    assert chat(s, f, "MAIL FROM:<a@b.c>") == ["250 2.1.0 Ok"]
    for _ in range(3):
        assert chat(s, f, "RCPT TO:<a@%s>" % HOST) == ["250 2.1.5 Ok"]
    assert chat(s, f, "RCPT TO:<a@%s>" % HOST) == \
        ["450 4.7.1 Error: too many recipients from 127.0.0.1"]
    assert chat(s, f, "RSET") == ["250 2.0.0 Ok"]
    assert chat(s, f, "MAIL FROM:<a@b.c>") == \
        ["450 4.7.1 Error: too much mail from 127.0.0.1"]
    assert chat(s, f, "QUIT") == ["221 2.0.0 Bye"]
    s.close()
    i.wait_log(r"warning: Recipient address rate limit exceeded: 4 from "
               r"localhost\[127\.0\.0\.1\] for service 127\.0\.0\.1:%d" % i.smtp_port)
    i.wait_log(r"warning: Message delivery request rate limit exceeded: 3 from "
               r"localhost\[127\.0\.0\.1\] for service 127\.0\.0\.1:%d" % i.smtp_port)
    i.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=2/3 rcpt=3/4 rset=2 "
               r"quit=1 commands=9/11")
    # connections 2..4 are fine, the 5th in the minute is refused
    for n in range(2, 6):
        s, f = connect(i.smtp_port)
        line = f.readline()
        s.close()
        if n <= 4:
            assert line.startswith(b"220 ")
        else:
            assert line == \
                b"421 4.7.0 mail.example.com Error: too many connections from 127.0.0.1\r\n"
    i.wait_log(r"warning: Connection rate limit exceeded: 5 from localhost\[127\.0\.0\.1\] "
               r"for service 127\.0\.0\.1:%d" % i.smtp_port)
    i.wait_log(r"statistics: max message rate 3/60s for \(127\.0\.0\.1:%d:127\.0\.0\.1\)"
               % i.smtp_port)
    i.wait_log(r"statistics: max recipient rate 4/60s for \(127\.0\.0\.1:%d:127\.0\.0\.1\)"
               % i.smtp_port)


def test_exempt_clients_cost_nothing(inst):
    """mynetworks (the default exception list) is not counted: anvil is not
    even asked, so no limit applies and anvil logs nothing."""
    i = inst(smtpd_client_event_limit_exceptions="$mynetworks",
             smtpd_client_connection_count_limit="1", smtpd_client_message_rate_limit="1")
    a = [connect(i.smtp_port) for _ in range(3)]
    for s, f in a:
        assert f.readline().startswith(b"220 ")
    s, f = a[0]
    chat(s, f, "HELO x")
    for _ in range(3):
        assert chat(s, f, "MAIL FROM:<a@b.c>") == ["250 2.1.0 Ok"]
        chat(s, f, "RSET")
    for s, f in a:
        f.close()
        s.close()
    # the stranger 127.0.0.2 is limited
    b = connect(i.smtp_port, "127.0.0.2")
    assert b[1].readline().startswith(b"220 ")
    c = connect(i.smtp_port, "127.0.0.2")
    assert c[1].readline().startswith(b"421 4.7.0 ")
    assert "anvil[" not in "".join(l for l in i.log().splitlines(True)
                                   if "(127.0.0.1:" in l and "127.0.0.1)" in l)


def test_without_anvil_smtpd_warns_and_serves(inst):
    i = inst(anvil=False, smtpd_client_connection_count_limit="1")
    a = [connect(i.smtp_port) for _ in range(2)]
    for s, f in a:
        assert f.readline().startswith(b"220 ")
    i.wait_log(r"smtpd\[\d+\]: warning: connect to private/anvil: "
               r"(No such file or directory|Connection refused)")
    i.wait_log(r"smtpd\[\d+\]: warning: problem talking to server private/anvil: ")
    for s, f in a:
        f.close()
        s.close()


def test_exception_by_host_name(inst):
    """smtpd_client_event_limit_exceptions may name the client's host name."""
    i = inst(smtpd_client_event_limit_exceptions="other.example, localhost",
             smtpd_client_connection_count_limit="1")
    a = [connect(i.smtp_port) for _ in range(3)]
    for s, f in a:
        assert f.readline().startswith(b"220 ")
    for s, f in a:
        f.close()
        s.close()


def test_protocol_and_bad_input(inst):
    """anvil's own protocol: counts per stream, dropped when the stream
    closes; malformed or oversized requests close the stream."""
    import os
    i = inst()
    path = os.path.join(i.queue_dir, "private", "anvil")

    def stream():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(path)
        return s, s.makefile("rb")

    def ask(s, f, request, ident="smtp:192.0.2.1"):
        s.sendall(b"request=%s\nident=%s\n\n" % (request.encode(), ident.encode()))
        out = {}
        while True:
            line = f.readline()
            assert line, "anvil closed the stream"
            if line == b"\n":
                return out
            k, v = line.decode().rstrip("\n").split("=", 1)
            out[k] = v

    s1, f1 = stream()
    assert ask(s1, f1, "connect") == {"status": "0", "count": "1", "rate": "1"}
    assert ask(s1, f1, "connect") == {"status": "0", "count": "2", "rate": "2"}
    assert ask(s1, f1, "message") == {"status": "0", "rate": "1"}
    assert ask(s1, f1, "disconnect") == {"status": "0"}
    s2, f2 = stream()
    assert ask(s2, f2, "lookup")["count"] == "1"
    # another stream cannot disconnect what s1 holds
    assert ask(s2, f2, "disconnect") == {"status": "0"}
    assert ask(s2, f2, "lookup")["count"] == "1"
    f1.close()
    s1.close()                      # s1's remaining connection is dropped
    wait_until(lambda: ask(s2, f2, "lookup")["count"] == "0", what="count dropped")
    assert ask(s2, f2, "bogus") == {"status": "-1"}
    i.wait_log(r'anvil\[\d+\]: warning: unrecognized request: "bogus", ignored')

    def closed(f):
        try:
            return f.readline() == b""
        except ConnectionResetError:
            return True
    s2.sendall(b"no equals sign here\n")
    assert closed(f2)
    s3, f3 = stream()
    s3.sendall(b"x" * 5000)
    assert closed(f3)
    s4, f4 = stream()               # anvil still serves
    assert ask(s4, f4, "connect", "smtp:192.0.2.9")["count"] == "1"
    for s, f in ((s2, f2), (s3, f3), (s4, f4)):
        f.close()
        s.close()


def test_reload_restarts_anvil(inst):
    """At `postfix reload` anvil exits at once (as Postfix's): smtpd
    processes reconnect to the new one, and counting goes on."""
    i = inst(smtpd_client_connection_count_limit="1")
    s1, f1 = connect(i.smtp_port)
    assert f1.readline().startswith(b"220 ")
    old = i.children("anvil")
    assert len(old) == 1
    mark = i.log_mark()
    i.reload()
    i.wait_log(r"anvil\[%d\]: statistics: max connection count 1 " % old[0], since=mark)
    f1.close()
    s1.close()
    s2, f2 = connect(i.smtp_port)
    assert f2.readline().startswith(b"220 ")
    s3, f3 = connect(i.smtp_port)
    assert f3.readline().startswith(b"421 4.7.0 ")
    assert i.children("anvil") != old
    for s, f in ((s2, f2), (s3, f3)):
        f.close()
        s.close()


def test_hung_anvil_does_not_hold_sessions(inst):
    """anvil stopped (SIGSTOP): after 10 s without an answer smtpd gives up
    with Postfix's warning and greets the client without limits."""
    import os
    import signal
    i = inst(smtpd_client_connection_count_limit="1")
    s1, f1 = connect(i.smtp_port)
    assert f1.readline().startswith(b"220 ")
    [pid] = i.children("anvil")
    os.kill(pid, signal.SIGSTOP)
    try:
        s2, f2 = connect(i.smtp_port)
        s2.settimeout(30)
        assert f2.readline().startswith(b"220 ")    # not the 421: anvil did not answer
        i.wait_log(r"smtpd\[\d+\]: warning: problem talking to server private/anvil: "
                   r"Connection timed out")
    finally:
        os.kill(pid, signal.SIGCONT)
    for s, f in ((s1, f1), (s2, f2)):
        f.close()
        s.close()


def test_client_that_does_not_read_replies(inst):
    """A local client that pipelines requests and never reads the replies:
    anvil stops reading from it (its output stays bounded) instead of
    buffering every reply, and answers everything once the client reads."""
    import os
    import select
    i = inst()
    path = os.path.join(i.queue_dir, "private", "anvil")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    req = b"request=lookup\nident=smtp:192.0.2.1\n\n"
    chunk = req * 1000
    sent, total = 0, 16 * 1024 * 1024
    s.setblocking(False)
    while sent < total:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            # anvil no longer takes input: wait a little for it to move
            if not select.select([], [s], [], 3)[1]:
                break
    assert sent < total, "anvil buffered replies to %d bytes of requests" % sent
    s.setblocking(True)
    s.settimeout(30)
    f = s.makefile("rb")
    want = sent // len(req)
    got = 0
    while got < want:
        line = f.readline()
        assert line, "anvil closed the stream"
        if line == b"\n":
            got += 1
    f.close()
    s.close()
