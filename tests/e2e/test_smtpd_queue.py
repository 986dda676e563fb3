"""smtpd + cleanup: what lands in the queue, what is logged, limits, smuggling."""
import shutil
import os
import re
import smtplib
import socket
import stat
import subprocess
import time

import pytest

from smtpd_util import (make_instance, queue_files, read_records, message_text,
                        envelope, wait_until)
import dialogue


@pytest.fixture(scope="module")
def inst():
    i = make_instance(extra_main={"smtpd_client_connection_count_limit": "2"},
                      extra_master="127.0.0.1:{timeout_port} inet n - n - - smtpd -o smtpd_timeout=2s\n")
    yield i
    i.stop()
    i.cleanup()


@pytest.fixture(scope="module")
def started(inst):
    from postern import free_port
    inst.timeout_port = free_port()
    with open(os.path.join(inst.dir, "master.cf")) as f:
        text = f.read()
    with open(os.path.join(inst.dir, "master.cf"), "w") as f:
        f.write(text.replace("{timeout_port}", str(inst.timeout_port)))
    inst.start()
    return inst


def _new_files(inst, before):
    return [f for f in queue_files(inst) if f not in before]


def _send(inst, sender, rcpts, body, helo="client.example", src="127.0.0.1"):
    s = smtplib.SMTP(source_address=(src, 0))
    s.connect("127.0.0.1", inst.smtp_port)
    s.ehlo(helo)
    s.sendmail(sender, rcpts, body)
    s.quit()


def test_queue_file_and_received_header(started):
    inst = started
    before = queue_files(inst)
    _send(inst, "a@example.com", ["root", "root", "root@localhost"],
          b"Subject: hi\r\nTo: root\r\nBcc: secret@example.com\r\nReturn-Path: <x@y>\r\n\r\nbody\r\n.dot\r\n")
    new = _new_files(inst, before)
    assert len(new) == 1
    path = new[0]
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o700          # complete
    recs = read_records(path)
    assert recs[0] == ("V", b"postern-queue 2")
    assert recs[-1] == ("E", b"")
    qid = os.path.basename(path)
    assert envelope(recs, "S") == ["a@example.com"]
    # duplicate recipient removed; address completion with $myorigin
    assert envelope(recs, "R") == ["root@mail.example.com", "root@localhost"]
    assert envelope(recs, "O") == ["root", "root@localhost"]
    text = message_text(recs)
    date = r"\w{3}, [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)"
    assert re.match(r"Received: from client\.example \((localhost|unknown) \[127\.0\.0\.1\]\)\n"
                    r"\tby mail\.example\.com \(Postfix\) with ESMTP id %s;\n\t%s\n" % (qid, date),
                    text), text
    # local client (inet_interfaces): header rewriting and missing headers
    assert "\nTo: root@mail.example.com\n" in text
    assert "Bcc:" not in text and "Return-Path:" not in text
    assert re.search(r"\nMessage-Id: <\d{14}\.%s@mail\.example\.com>\n" % qid, text)
    assert re.search(r"\nDate: %s\n" % date, text)
    assert "\nFrom: a@example.com\n" in text
    assert text.endswith("\nbody\n.dot\n")
    c = envelope(recs, "C")[0].split()
    assert int(c[2]) == 2
    assert int(c[4]) == len(text.encode()) + text.count("\n")   # CRLF size, as Postfix
    # log lines in Postfix's format
    log = inst.wait_log(r"disconnect from \S+\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=3 data=1 quit=1 commands=7")
    assert re.search(r"smtpd\[\d+\]: %s: client=\S+\[127\.0\.0\.1\]" % qid, inst.log())
    assert re.search(r"postfix/cleanup\[\d+\]: %s: message-id=<\d{14}\.%s@mail\.example\.com>" % (qid, qid), inst.log())
    assert re.search(r"smtpd\[\d+\]: connect from \S+\[127\.0\.0\.1\]", inst.log())


def test_single_recipient_received_for(started):
    inst = started
    before = queue_files(inst)
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port)
    s.helo("helo.example")
    s.sendmail("", ["postmaster"], b"Message-ID: <abc@example>\r\n\r\nx\r\n")
    s.quit()
    (path,) = _new_files(inst, before)
    qid = os.path.basename(path)
    text = message_text(read_records(path))
    assert re.match(r"Received: from helo\.example \(\S+ \[127\.0\.0\.1\]\)\n"
                    r"\tby mail\.example\.com \(Postfix\) with SMTP id %s\n"
                    r"\tfor <postmaster>; .*\n" % qid, text)
    assert "\nMessage-ID: <abc@example>\n" in text
    assert "\nFrom: MAILER-DAEMON\n" in text
    inst.wait_log(r"%s: message-id=<abc@example>" % qid)


def test_remote_client_no_header_rewrite(started):
    """127.0.0.2 is neither in mynetworks nor an inet_interfaces address."""
    inst = started
    before = queue_files(inst)
    _send(inst, "a@example.com", ["root@mail.example.com"],
          b"To: root\r\nSubject: x\r\n\r\nx\r\n", src="127.0.0.2")
    (path,) = _new_files(inst, before)
    text = message_text(read_records(path))
    assert "\nTo: root\n" in text
    assert "Message-Id:" not in text and "\nDate:" not in text


def test_relay_denied_logged(started):
    inst = started
    out = dialogue.run(inst.smtp_port, "127.0.0.2",
                       ["EHLO client.example", "MAIL FROM:<a@example.com>",
                        "RCPT TO:<someone@elsewhere.example>", "QUIT"])
    assert "S: 454 4.7.1 <someone@elsewhere.example>: Relay access denied" in out
    inst.wait_log(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.2\]: 454 4\.7\.1 "
                  r"<someone@elsewhere\.example>: Relay access denied; "
                  r"from=<a@example\.com> to=<someone@elsewhere\.example> proto=ESMTP "
                  r"helo=<client\.example>")
    inst.wait_log(r"disconnect from \S+\[127\.0\.0\.2\] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4")


SMUGGLE = [
    b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r", b"\n.\r",
    b"\r\n\x00.\r\n",
]


@pytest.mark.parametrize("sep", SMUGGLE, ids=[repr(s) for s in SMUGGLE])
def test_smuggling_is_one_message(started, sep):
    inst = started
    before = queue_files(inst)
    s = socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=10)
    f = s.makefile("rb")
    f.readline()
    payload = (b"EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<root>\r\nDATA\r\n"
               b"Subject: one\r\n\r\nfirst" + sep +
               b"MAIL FROM:<evil@example.com>\r\nRCPT TO:<root>\r\nDATA\r\nSubject: two\r\n\r\nsmuggled\r\n"
               b".\r\nQUIT\r\n")
    s.sendall(payload)
    replies = []
    while True:
        line = f.readline()
        if not line:
            break
        replies.append(line.decode())
    s.close()
    new = _new_files(inst, before)
    assert len(new) == 1, replies
    text = message_text(read_records(new[0]))
    assert "smuggled" in text and "Subject: one" in text
    assert sum(1 for r in replies if r.startswith("250 2.0.0 Ok: queued")) == 1


def test_size_limit_while_receiving(started):
    inst = started
    before = queue_files(inst)
    big = b"x" * 100 + b"\r\n"
    out = []
    s = socket.create_connection(("127.0.0.1", inst.limits_port), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<root>\r\nDATA\r\n")
    for _ in range(4):
        out.append(f.readline())
    s.sendall(big * 50 + b".\r\nQUIT\r\n")
    out.append(f.readline())
    out.append(f.readline())
    assert out[-2] == b"552 5.3.4 Error: message file too big\r\n"
    assert out[-1] == b"221 2.0.0 Bye\r\n"
    assert _new_files(inst, before) == []


def test_huge_line_costs_bounded_memory(started):
    """A 64 MB command line without LF: truncated and skipped, the session goes on."""
    inst = started
    s = socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    chunk = b"A" * (1 << 20)
    for _ in range(64):
        s.sendall(chunk)
    s.sendall(b"\r\nNOOP\r\nQUIT\r\n")
    assert f.readline() == b"500 5.5.2 Error: command not recognized\r\n"
    assert f.readline() == b"250 2.0.0 Ok\r\n"
    assert f.readline() == b"221 2.0.0 Bye\r\n"
    s.close()


def test_huge_data_line_is_bounded(started):
    """A 20 MB line inside DATA: stored as fragments, stopped by message_size_limit."""
    inst = started
    s = socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<root>\r\nDATA\r\n")
    for _ in range(4):
        f.readline()
    chunk = b"B" * (1 << 20)
    for _ in range(20):
        s.sendall(chunk)
    s.sendall(b"\r\n.\r\nQUIT\r\n")
    assert f.readline() == b"552 5.3.4 Error: message file too big\r\n"
    assert f.readline() == b"221 2.0.0 Bye\r\n"


def test_timeout(started):
    inst = started
    s = socket.create_connection(("127.0.0.1", inst.timeout_port), timeout=30)
    f = s.makefile("rb")
    assert f.readline().startswith(b"220 ")
    assert f.readline() == b"421 4.4.2 mail.example.com Error: timeout exceeded\r\n"
    assert f.readline() == b""
    inst.wait_log(r"timeout after CONNECT from \S+\[127\.0\.0\.1\]")


def test_connection_count_limit(started):
    """mynetworks is exempt; a stranger (127.0.0.2) gets at most 2 sessions."""
    inst = started
    socks = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", inst.smtp_port))
        s.settimeout(10)
        assert s.makefile("rb").readline().startswith(b"220 ")
        socks.append(s)
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", inst.smtp_port))
    s.settimeout(10)
    assert s.makefile("rb").readline() == \
        b"421 4.7.0 mail.example.com Error: too many connections from 127.0.0.2\r\n"
    for x in socks + [s]:
        x.close()
    inst.wait_log(r"warning: Connection concurrency limit exceeded: 3 from \S+\[127\.0\.0\.2\] for service")


def test_pipelining_swaks(started):
    inst = started
    before = queue_files(inst)
    r = subprocess.run(["swaks", "--pipeline", "--server", "127.0.0.1", "--port",
                        str(inst.smtp_port), "--from", "a@example.com", "--to", "root@localhost",
                        "--helo", "client.example", "--body", "pipelined"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 Ok: queued as" in r.stdout
    (path,) = _new_files(inst, before)
    assert "pipelined" in message_text(read_records(path))


def test_pipelined_burst_many_messages(started):
    """Several transactions written in one burst: every reply in order."""
    inst = started
    before = queue_files(inst)
    s = socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    burst = b"EHLO x\r\n"
    for i in range(5):
        burst += (b"MAIL FROM:<a@example.com>\r\nRCPT TO:<root>\r\nDATA\r\nSubject: %d\r\n\r\nm\r\n.\r\n" % i)
    burst += b"QUIT\r\n"
    s.sendall(burst)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    lines = [l for l in data.decode().split("\r\n") if l and not l.startswith("250-")]
    assert sum(1 for l in lines if l.startswith("250 2.0.0 Ok: queued as")) == 5
    assert lines[-1] == "221 2.0.0 Bye"
    assert len(_new_files(inst, before)) == 5


def test_pipelined_burst_then_eof(started):
    """The client half-closes right after a pipelined burst ending in QUIT:
    every command already sent is still answered (each message only after
    its durable commit), and the session ends by QUIT, not as a lost
    connection."""
    inst = started
    before = queue_files(inst)
    mark = inst.log_mark()
    s = socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    burst = b"EHLO x\r\n"
    for i in range(3):
        burst += (b"MAIL FROM:<a@example.com>\r\nRCPT TO:<root>\r\nDATA\r\nSubject: %d\r\n\r\nm\r\n.\r\n" % i)
    burst += b"QUIT\r\n"
    s.sendall(burst)
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    lines = [l for l in data.decode().split("\r\n") if l and not l.startswith("250-")]
    assert sum(1 for l in lines if l.startswith("250 2.0.0 Ok: queued as")) == 3, lines
    assert lines[-1] == "221 2.0.0 Bye"
    assert len(_new_files(inst, before)) == 3
    inst.wait_log(r"disconnect from \S+ ehlo=1 mail=3 rcpt=3 data=3 quit=1 commands=11",
                  since=mark)
    assert "lost connection" not in inst.log()[mark:]


def test_smtplib_bdat_like_chunking(started):
    inst = started
    before = queue_files(inst)
    out = dialogue.run(inst.smtp_port, "127.0.0.1",
                       ["EHLO x", "MAIL FROM:<a@example.com>", "RCPT TO:<root>",
                        "~BDAT 14", "=Subject: c\r\n\r\n", "~BDAT 6 LAST", "=body\r\n", "QUIT"])
    assert "S: 250 2.0.0 Ok: 14 bytes" in out
    assert any(l.startswith("S: 250 2.0.0 Ok: 20 bytes queued as") for l in out)
    (path,) = _new_files(inst, before)
    text = message_text(read_records(path))
    assert "\nSubject: c\n" in text and text.endswith("\n\nbody\n")


def test_pflogsumm_summarizes(started):
    inst = started
    _send(inst, "pf@example.com", ["root"], b"Subject: pf\r\n\r\nx\r\n")
    inst.wait_log(r"client=")
    time.sleep(0.2)
    r = subprocess.run([shutil.which("pflogsumm") or "/usr/sbin/pflogsumm",  # not on a user's PATH
                        "--syslog-name=postfix", inst.maillog_path],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.search(r"^\s+(\d+)\s+received", r.stdout, re.M)
    assert m and int(m.group(1)) >= 3, r.stdout
    m = re.search(r"^\s+(\d+)\s+rejected", r.stdout, re.M)
    assert m and int(m.group(1)) >= 1, r.stdout
    assert "Relay access denied" in r.stdout


def test_error_sleep_then_continue():
    """After smtpd_soft_error_limit errors, replies are delayed, not stopped."""
    from postern import free_port
    port = free_port()
    inst = make_instance(extra_master="127.0.0.1:%d inet n - n - - smtpd "
                         "-o smtpd_soft_error_limit=1 -o smtpd_error_sleep_time=1s\n" % port)
    try:
        inst.start()
        out = dialogue.run(port, "127.0.0.1", ["FOO", "BAR", "NOOP", "QUIT"])
        assert out[1:] == ["C: FOO", "S: 500 5.5.2 Error: command not recognized",
                           "C: BAR", "S: 500 5.5.2 Error: command not recognized",
                           "C: NOOP", "S: 250 2.0.0 Ok", "C: QUIT", "S: 221 2.0.0 Bye"]
    finally:
        inst.stop()
        inst.cleanup()


def test_hopcount_limit(started):
    """Postfix 3.7 says the same to 51 Received: headers (hopcount_limit = 50)."""
    inst = started
    before = queue_files(inst)
    body = b"".join(b"Received: from x%d by y\r\n" % i for i in range(51)) + b"Subject: hops\r\n\r\nx\r\n"
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port)
    s.ehlo("x")
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail("a@example.com", ["root"], body)
    assert (e.value.smtp_code, e.value.smtp_error) == (554, b"5.4.0 Error: too many hops")
    s.quit()
    assert _new_files(inst, before) == []
