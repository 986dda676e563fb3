"""DNS-based restrictions through the real smtpd, against a local DNS server.

dnsmasq (Debian's dnsmasq-base) serves a test zone on 127.0.0.1:PORT;
postern's resolver is pointed at it with postern_dns_servers. The lookups
run inside smtpd's event loop: a command whose check needs DNS is answered
when the answers are in, and pipelined commands behind it keep their order.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))

from postern import Instance, free_port, wait_until  # noqa: E402

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"

ZONE = """\
port={port}
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
server=/test/
host-record=exists.test,192.0.2.10
mx-host=mxonly.test,mail.exists.test,10
host-record=mail.exists.test,192.0.2.12
host-record=helo.test,192.0.2.11
mx-host=nullmx.test,.,0
host-record=2.0.0.127.rbl.test,127.0.0.2
txt-record=2.0.0.127.rbl.test,"Listed for testing"
server=/0.0.127.in-addr.arpa/
host-record=good.test,127.0.0.8
ptr-record=7.0.0.127.in-addr.arpa,badfwd.test
host-record=forged.test,192.0.2.99
ptr-record=5.0.0.127.in-addr.arpa,forged.test
ptr-record=9.0.0.127.in-addr.arpa,192.0.2.1
ptr-record=10.0.0.127.in-addr.arpa,bad-.test
"""

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
postlog unix-dgram n - n - 1 postlogd
"""


def _dns_answers(port):
    """One A query for exists.test; True when dnsmasq answers it."""
    q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
         b"\x06exists\x04test\x00\x00\x01\x00\x01")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(q, ("127.0.0.1", port))
        return len(s.recv(512)) > 12
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture(scope="module")
def dns():
    if not os.path.exists(DNSMASQ):
        pytest.skip("dnsmasq not installed (Debian package dnsmasq-base)")
    port = free_port()
    d = os.path.join("/tmp", "postern-dnsmasq-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "dnsmasq.conf")
    with open(conf, "w") as f:
        f.write(ZONE.format(port=port))
    # dnsmasq binds UDP and TCP: the TCP port was free, hope for UDP too.
    proc = subprocess.Popen([DNSMASQ, "-k", "-C", conf, "-x", os.path.join(d, "pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _dns_answers(port), what="dnsmasq answering")
    yield port
    proc.terminate()
    proc.wait()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def inst(dns):
    i = Instance(main_cf={
        "myhostname": "mx.example.com", "mydomain": "example.com",
        "mydestination": "$myhostname, localhost, example.com",
        "mynetworks": "127.0.0.1/32", "local_recipient_maps": "",
        "smtpd_peername_lookup": "no", "smtpd_error_sleep_time": "0",
        "postern_dns_servers": "127.0.0.1:%d" % dns,
        "postern_dns_timeout": "2s",
        "smtpd_client_restrictions": "reject_rbl_client rbl.test",
        "smtpd_helo_restrictions": "reject_unknown_helo_hostname",
        "smtpd_sender_restrictions": "reject_unknown_sender_domain",
        "smtpd_recipient_restrictions": "reject_unknown_recipient_domain, permit",
        "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
        "relay_domains": "exists.test, mxonly.test, nope.test, nullmx.test",
    }, master_cf=None)
    i.write_master_cf(MASTER_CF.format(port=i.smtp_port))
    i.start()
    yield i
    i.stop()
    i.cleanup()


def dialog(port, src, lines, pipelined=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=20,
                                 source_address=(src, 0))
    f = s.makefile("r", encoding="latin-1", newline="\n")

    def reply():
        out = []
        while True:
            l = f.readline().rstrip("\r\n")
            out.append(l)
            if len(l) < 4 or l[3] != "-":
                return l if len(out) == 1 else out[-1]
    got = [reply()]
    if pipelined:
        s.sendall("".join(l + "\r\n" for l in lines).encode())
        got += [reply() for _ in lines]
    else:
        for l in lines:
            s.sendall((l + "\r\n").encode())
            got.append(reply())
    s.close()
    return got


def test_unknown_domains(inst):
    got = dialog(inst.smtp_port, "127.0.0.9", [
        "HELO helo.test",
        "MAIL FROM:<a@nope.test>",
        "RCPT TO:<b@exists.test>",
        "RSET",
        "MAIL FROM:<a@nullmx.test>",
        "RCPT TO:<b@exists.test>",
        "RSET",
        "MAIL FROM:<a@mxonly.test>",
        "RCPT TO:<b@nope.test>",
        "RCPT TO:<b@nullmx.test>",
        "RCPT TO:<b@exists.test>",
        "QUIT"])
    assert got[1:] == [
        "250 mx.example.com",
        "250 2.1.0 Ok",
        "450 4.1.8 <a@nope.test>: Sender address rejected: Domain not found",
        "250 2.0.0 Ok",
        "250 2.1.0 Ok",
        "550 5.7.27 <a@nullmx.test>: Sender address rejected: Domain nullmx.test does not accept mail (nullMX)",
        "250 2.0.0 Ok",
        "250 2.1.0 Ok",
        "450 4.1.2 <b@nope.test>: Recipient address rejected: Domain not found",
        "556 5.1.10 <b@nullmx.test>: Recipient address rejected: Domain nullmx.test does not accept mail (nullMX)",
        "250 2.1.5 Ok",
        "221 2.0.0 Bye"]
    inst.wait_log(re.escape(
        "NOQUEUE: reject: RCPT from unknown[127.0.0.9]: 450 4.1.8 <a@nope.test>: Sender address "
        "rejected: Domain not found; from=<a@nope.test> to=<b@exists.test> proto=SMTP "
        "helo=<helo.test>"))


def test_pipelined_order_kept(inst):
    """Commands sent in one packet behind a check that waits for DNS."""
    got = dialog(inst.smtp_port, "127.0.0.9", [
        "EHLO helo.test",
        "MAIL FROM:<a@exists.test>",
        "RCPT TO:<b@nope.test>",
        "RCPT TO:<c@mxonly.test>",
        "NOOP",
        "QUIT"], pipelined=True)
    assert got[1].startswith("250 ")
    assert got[2:] == [
        "250 2.1.0 Ok",
        "450 4.1.2 <b@nope.test>: Recipient address rejected: Domain not found",
        "250 2.1.5 Ok",
        "250 2.0.0 Ok",
        "221 2.0.0 Bye"]


def test_rbl_and_helo(inst):
    got = dialog(inst.smtp_port, "127.0.0.2", [
        "HELO nohost.test", "MAIL FROM:<a@exists.test>", "RCPT TO:<b@exists.test>", "QUIT"])
    assert got[3] == ("554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using "
                      "rbl.test; Listed for testing")
    got = dialog(inst.smtp_port, "127.0.0.9", [
        "HELO nohost.test", "MAIL FROM:<a@exists.test>", "RCPT TO:<b@exists.test>", "QUIT"])
    assert got[3] == "450 4.7.1 <nohost.test>: Helo command rejected: Host not found"


@pytest.fixture(scope="module")
def inst_names(dns):
    """smtpd looks up client names itself (smtpd_peername_lookup = yes)."""
    i = Instance(main_cf={
        "myhostname": "mx.example.com", "mydomain": "example.com",
        "mynetworks": "127.0.0.1/32", "smtpd_error_sleep_time": "0",
        "postern_dns_servers": "127.0.0.1:%d" % dns, "postern_dns_timeout": "2s",
        "smtpd_delay_reject": "no",
        "smtpd_client_restrictions": "reject_unknown_reverse_client_hostname, "
        "check_client_access inline:{ 127.0.0.7=reject_unknown_client_hostname }",
    }, master_cf=None)
    i.write_master_cf(MASTER_CF.format(port=i.smtp_port))
    i.start()
    yield i
    i.stop()
    i.cleanup()


def test_forged_client_name(inst_names):
    """The PTR name resolves, but not to the client's address: unknown, with
    Postfix's warning, logged again for a connection served from the cache."""
    for _ in range(2):
        mark = inst_names.log_mark()
        got = dialog(inst_names.smtp_port, "127.0.0.5", ["QUIT"])
        assert got[0].startswith("220 ")
        m = inst_names.wait_log(r"smtpd\[\d+\]: warning: hostname forged\.test does not "
                                r"resolve to address 127\.0\.0\.5$", since=mark)
        inst_names.wait_log(re.escape("connect from unknown[127.0.0.5]"), since=mark)


def test_numeric_or_malformed_ptr_name(inst_names):
    """A PTR name that is an address, or not a valid host name, is not the
    client's name (Postfix's sockaddr_to_hostname checks): unknown, with
    Postfix's warning, and no forward lookup of it."""
    for src, warning in (("127.0.0.9", "numeric hostname: 192.0.2.1"),
                         ("127.0.0.10", "valid_hostname: misplaced hyphen: bad-.test")):
        mark = inst_names.log_mark()
        got = dialog(inst_names.smtp_port, src, ["QUIT"])
        assert got[0] == ("450 4.7.25 Client host rejected: cannot find your reverse hostname, "
                          "[%s]" % src), got
        inst_names.wait_log(r"smtpd\[\d+\]: warning: %s$" % re.escape(warning), since=mark)
        inst_names.wait_log(re.escape("connect from unknown[%s]" % src), since=mark)


def test_client_names(inst_names):
    """Verified name, reverse name only, no name at all -- looked up in the event loop."""
    got = dialog(inst_names.smtp_port, "127.0.0.8", ["QUIT"])
    assert got[0].startswith("220 ")
    inst_names.wait_log(re.escape("connect from good.test[127.0.0.8]"))
    got = dialog(inst_names.smtp_port, "127.0.0.7", ["QUIT"])
    assert got[0] == "450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.7]"
    inst_names.wait_log(re.escape("connect from unknown[127.0.0.7]"))
    # Postfix's warning when the name does not resolve back (before "connect from")
    inst_names.wait_log(r"smtpd\[\d+\]: warning: hostname badfwd\.test does not resolve to "
                        r"address 127\.0\.0\.7: Name or service not known$")
    got = dialog(inst_names.smtp_port, "127.0.0.6", ["HELO x.test", "QUIT"])
    assert got[0] == ("450 4.7.25 Client host rejected: cannot find your reverse hostname, "
                      "[127.0.0.6]")
    assert got[1] == "503 5.7.0 Error: access denied for unknown[127.0.0.6]"
