"""mynetworks as a Postfix match list, through the real smtpd and
permit_mynetworks: negation (first match wins), /file/name, texthash: and
negated cidr: tables, and an entry that cannot be used. The replies are those
Debian's Postfix 3.7 gave for the same kinds of lists (permit: 250, no match:
554 from the final reject, lookup error: 451). The matcher itself is checked
pattern by pattern against Postfix in tests/golden/matchlist/."""
import os
import socket

from postern import Instance

HOST = "mail.example.com"
OK = "250 2.1.5 Ok"
DENIED = "554 5.7.1 <c@d.test>: Recipient address rejected: Access denied"
TEMPFAIL = "451 4.3.0 <c@d.test>: Temporary lookup failure"


def rcpt_reply(port, src, rcpt="c@d.test"):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(10)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline().decode().rstrip("\r\n")
            if len(line) < 4 or line[3] != "-":
                return line
    reply()
    for cmd in ("HELO client.example", "MAIL FROM:<a@b.test>", "RCPT TO:<%s>" % rcpt):
        s.sendall(cmd.encode() + b"\r\n")
        last = reply()
    s.sendall(b"QUIT\r\n")
    f.close()
    s.close()
    return last


def test_mynetworks_forms_through_smtpd():
    i = Instance(main_cf={
        "myhostname": HOST, "mydestination": HOST, "alias_maps": "",
        "smtpd_error_sleep_time": "0", "smtpd_client_connection_count_limit": "0",
        "smtpd_relay_restrictions": "permit",
        "smtpd_recipient_restrictions": "permit_mynetworks, reject",
        "mynetworks": "!127.0.0.3, 127.0.0.2/31, ${config_directory}/nets, "
                      "texthash:${config_directory}/nets.th, "
                      "!cidr:${config_directory}/no.cidr, 127.0.0.8/29, bogus:table"},
        master_cf="127.0.0.1:{port} inet n - n - - smtpd\n"
                  "postlog unix-dgram n - n - 1 postlogd\n", hostname=HOST)
    try:
        for name, text in (("nets", "# local hosts\n127.0.0.4 127.0.0.5\n"),
                           ("nets.th", "127.0.0.6 any\n"),
                           ("no.cidr", "127.0.0.9/32 any\n")):
            with open(os.path.join(i.dir, name), "w") as f:
                f.write(text)
        i.start()
        port = i.smtp_port
        got = {a: rcpt_reply(port, "127.0.0.%d" % a) for a in (2, 3, 4, 5, 6, 9, 10, 7)}
        assert got == {2: OK, 3: DENIED, 4: OK, 5: OK, 6: OK, 9: DENIED, 10: OK, 7: TEMPFAIL}
        i.wait_log(r"smtpd\[\d+\]: error: unsupported dictionary type: bogus")
        i.wait_log(r"smtpd\[\d+\]: warning: bogus:table is unavailable\. "
                   r"unsupported dictionary type: bogus")
        i.wait_log(r"smtpd\[\d+\]: warning: mynetworks: bogus:table: table lookup problem")
    finally:
        i.stop()
        i.cleanup()


def _prefix(n):
    """n bytes of 60-byte labels joined by dots (no dot at either end)."""
    out = ""
    while len(out) < n:
        out += ("." if out else "") + "a" * 60
    out = out[:n]
    return out[:-1] + "b" if out.endswith(".") else out


def test_long_recipient_domain_is_matched_whole():
    """relay_domains is matched against the whole domain: one whose first 1024
    bytes end in ".relay.example" is still not a relay domain (an open relay
    before the fix)."""
    i = Instance(main_cf={
        "myhostname": HOST, "mydestination": HOST, "alias_maps": "",
        "smtpd_error_sleep_time": "0", "smtpd_client_connection_count_limit": "0",
        "mynetworks": "127.0.0.1/32", "relay_domains": "relay.example",
        "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
        "smtpd_recipient_restrictions": "permit"},
        master_cf="127.0.0.1:{port} inet n - n - - smtpd\n"
                  "postlog unix-dgram n - n - 1 postlogd\n", hostname=HOST)
    try:
        i.start()
        port = i.smtp_port
        tail = ".relay.example"
        evil = "x@" + _prefix(1024 - len(tail)) + tail + ".evil.example"
        got = rcpt_reply(port, "127.0.0.5", evil)
        assert got == "554 5.7.1 <%s>: Relay access denied" % evil
        good = "x@" + _prefix(1100) + tail
        assert rcpt_reply(port, "127.0.0.5", good) == "250 2.1.5 Ok"
    finally:
        i.stop()
        i.cleanup()
