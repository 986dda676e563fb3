"""permit_mx_backup with DNS lookups that fail, against Postfix 3.7's replies.

Postfix does not just "not permit" when it cannot look up the domain's MX
hosts or their addresses, or when permit_mx_backup_networks cannot be
searched: it turns a later reject into 450 4.4.4 with the reason
(DEFER_IF_REJECT). tests/golden/mx_backup/pf-replies.txt and pf-log.txt are
Debian Postfix 3.7.11's RCPT replies and smtpd warnings for the zone and
cases there (capture.sh); dnsmasq serves zone.conf and forwards fail.test to
servfail.py, which answers SERVFAIL.
"""
import os
import socket
import subprocess
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
GOLD = os.path.join(os.path.dirname(HERE), "golden", "mx_backup")
sys.path.insert(0, GOLD)

from postern import Instance, free_port, wait_until  # noqa: E402
from test_policy_dns import DNSMASQ, _dns_answers  # noqa: E402
import servfail  # noqa: E402


def cases():
    out = []
    for line in open(os.path.join(GOLD, "cases.txt")):
        if line.strip() and not line.startswith("#"):
            nets, rcpts = line.rstrip("\n").split("\t")
            out.append((nets, rcpts.split()))
    return out


def golden_replies():
    out = {}
    for line in open(os.path.join(GOLD, "pf-replies.txt")):
        nets, rcpt, reply = line.rstrip("\n").split("\t")
        out[(nets, rcpt)] = reply
    return out


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    if not os.path.exists(DNSMASQ):
        pytest.skip("dnsmasq not installed (Debian package dnsmasq-base)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    threading.Thread(target=servfail.serve, args=(sock,), daemon=True).start()
    port = free_port()
    d = tmp_path_factory.mktemp("dnsmasq")
    conf = d / "dnsmasq.conf"
    conf.write_text(open(os.path.join(GOLD, "zone.conf")).read()
                    .replace("@PORT@", str(port))
                    .replace("@FAILPORT@", str(sock.getsockname()[1])))
    proc = subprocess.Popen([DNSMASQ, "-k", "-C", str(conf), "-x", str(d / "pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _dns_answers(port), what="dnsmasq answering")
    yield port
    proc.terminate()
    proc.wait()
    sock.close()


def rcpts_replies(port, rcpts):
    s = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=("127.0.0.9", 0))
    f = s.makefile("r", encoding="latin-1", newline="\n")

    def reply():
        lines = []
        while True:
            ln = f.readline().rstrip("\r\n")
            lines.append(ln)
            if ln[3:4] != "-":
                return lines[-1][:3] + " " + " ".join(x[4:] for x in lines)

    def cmd(c):
        s.sendall(c.encode() + b"\r\n")
        return reply()
    reply()
    cmd("EHLO client.test")
    assert cmd("MAIL FROM:<a@exists.test>").startswith("250")
    out = [cmd("RCPT TO:<%s>" % r) for r in rcpts]
    cmd("QUIT")
    s.close()
    return out


def test_mx_backup_lookup_failures_match_postfix(dns):
    gold = golden_replies()
    inst = Instance(main_cf={
        "myhostname": "mx.example.com", "mydomain": "example.com",
        "mydestination": "$myhostname, localhost", "relay_domains": "",
        "mynetworks": "127.0.0.1/32", "local_recipient_maps": "",
        "inet_interfaces": "127.0.0.1", "inet_protocols": "ipv4",
        "smtpd_peername_lookup": "no", "smtpd_error_sleep_time": "0",
        "postern_dns_servers": "127.0.0.1:%d" % dns, "postern_dns_timeout": "2s",
        "smtpd_relay_restrictions": "permit_mx_backup, reject_unauth_destination",
        "smtpd_recipient_restrictions": "",
    })
    try:
        inst.start()
        for nets, rcpts in cases():
            value = "" if nets == "-" else nets.replace("@CONF@", inst.dir)
            inst.set_params(permit_mx_backup_networks=value)
            inst.reload()
            mark = inst.log_mark()
            got = rcpts_replies(inst.smtp_port, rcpts)
            assert got == [gold[(nets, r)] for r in rcpts], nets
            if nets.startswith("hash:"):
                want = [ln.rstrip("\n").replace("@CONF@", inst.dir)
                        for ln in open(os.path.join(GOLD, "pf-log.txt"))]
                wait_until(lambda: want[-1] in inst.log()[mark:], what="all_auth_mx_addr warning")
                text = inst.log()[mark:]
                for w in want:
                    assert w in text
                assert text.index(want[2]) < text.index(want[3])
    finally:
        inst.stop()
        inst.cleanup()
