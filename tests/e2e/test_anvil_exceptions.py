"""smtpd_client_event_limit_exceptions is a Postfix match list: "!pattern"
(first match wins), /file/name, type:table lookups, networks. With
smtpd_client_connection_count_limit = 1, a second concurrent session from a
limited client gets 421; from an exempt one, 220. Loopback addresses
127.0.0.x are the different clients.

What Postfix 3.7 does with these lists (which entry wins, what a missing file
does to the clients that reach it, the error and warning lines) was checked on
a scratch Debian Postfix; the matcher's own golden test is
tests/golden/matchlist/namadr.{scn,out}."""
import os
import socket

import pytest

from postern import Instance

HOST = "mail.example.com"


def make(**params):
    p = {"myhostname": HOST, "mail_name": "Postfix", "mynetworks": "127.0.0.1/32",
         "smtpd_error_sleep_time": "0", "alias_maps": "", "local_recipient_maps": "",
         "mydestination": HOST, "smtpd_client_connection_count_limit": "1"}
    p.update(params)
    master = ("127.0.0.1:{port} inet n - n - - smtpd\n"
              "postlog unix-dgram n - n - 1 postlogd\n"
              "anvil unix - - n - 1 anvil\n")
    return Instance(main_cf=p, master_cf=master, hostname=HOST)


def connect(port, src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(10)
    return s, s.makefile("rb")


def second_greeting(port, src):
    """Hold one session from src, open another: its first reply line."""
    a = connect(port, src)
    assert a[1].readline().startswith(b"220 ")
    b = connect(port, src)
    line = b[1].readline().decode().rstrip("\r\n")
    for s, f in (a, b):
        f.close()
        s.close()
    return line


@pytest.fixture
def inst():
    made = []

    def _make(files, **kw):
        i = make(**kw)
        for name, text in files.items():
            with open(os.path.join(i.dir, name), "w") as f:
                f.write(text)
        made.append(i)
        i.start()
        return i
    yield _make
    for i in made:
        i.stop()
        i.cleanup()


EXEMPT = "220 %s ESMTP Postfix" % HOST


def limited(addr):
    return "421 4.7.0 %s Error: too many connections from %s" % (HOST, addr)


def test_negation_file_and_tables(inst):
    i = inst({"exempt.list": "# clients that may open many sessions\n"
                             "127.0.0.5 127.0.0.6, # two per line, then a comment\n"
                             "!127.0.0.9\n",
              "exempt.cidr": "127.0.0.7/32 any value\n",
              "exempt.th": "127.0.0.8 any value\n"},
             smtpd_client_event_limit_exceptions=(
                 "!127.0.0.3, 127.0.0.2/31, ${config_directory}/exempt.list, "
                 "cidr:${config_directory}/exempt.cidr, texthash:${config_directory}/exempt.th, "
                 "127.0.0.9"))
    port = i.smtp_port
    # 127.0.0.2/31 exempts .2 and .3, but "!127.0.0.3" comes first
    assert second_greeting(port, "127.0.0.2") == EXEMPT
    assert second_greeting(port, "127.0.0.3") == limited("127.0.0.3")
    # listed in the /file (two patterns on one line), by cidr: and texthash:
    assert second_greeting(port, "127.0.0.5") == EXEMPT
    assert second_greeting(port, "127.0.0.6") == EXEMPT
    assert second_greeting(port, "127.0.0.7") == EXEMPT
    assert second_greeting(port, "127.0.0.8") == EXEMPT
    # "!127.0.0.9" in the file wins over the later "127.0.0.9"
    assert second_greeting(port, "127.0.0.9") == limited("127.0.0.9")
    # not listed at all
    assert second_greeting(port, "127.0.0.4") == limited("127.0.0.4")
    i.wait_log(r"smtpd\[\d+\]: warning: Connection concurrency limit exceeded: 2 from "
               r"\S+\[127\.0\.0\.3\] for service 127\.0\.0\.1:%d" % port)
    # the comment after the patterns is reported as Postfix does
    i.wait_log(r"smtpd\[\d+\]: warning: smtpd_client_event_limit_exceptions: comment at end "
               r"of line is not supported: # two per line, then a comment\?")


def test_xclient_hosts_are_exempt(inst):
    """Postfix 3.7 exempts the clients in smtpd_authorized_xclient_hosts from
    the limits even when the exception list is empty (checked on a scratch
    Postfix); postern does the same."""
    i = inst({}, smtpd_client_event_limit_exceptions="",
             smtpd_authorized_xclient_hosts="127.0.0.6")
    assert second_greeting(i.smtp_port, "127.0.0.6") == EXEMPT
    assert second_greeting(i.smtp_port, "127.0.0.7") == limited("127.0.0.7")


def test_missing_file_and_bad_table(inst):
    """A file or table that cannot be opened logs an error when smtpd starts;
    a client that reaches it in the list is not exempt (Postfix: lookup
    error), one matched before it is."""
    i = inst({}, smtpd_client_event_limit_exceptions=(
        "127.0.0.2, ${config_directory}/missing, bogus:table, 127.0.0.4"))
    port = i.smtp_port
    d = i.dir
    assert second_greeting(port, "127.0.0.2") == EXEMPT
    assert second_greeting(port, "127.0.0.4") == limited("127.0.0.4")
    i.wait_log(r"smtpd\[\d+\]: error: open file %s/missing: No such file or directory" % d)
    i.wait_log(r"smtpd\[\d+\]: error: unsupported dictionary type: bogus")
    i.wait_log(r"smtpd\[\d+\]: warning: non-existent:%s/missing is unavailable\. open file "
               r"%s/missing: No such file or directory" % (d, d))
    i.wait_log(r"smtpd\[\d+\]: warning: smtpd_client_event_limit_exceptions: "
               r"non-existent:%s/missing: table lookup problem" % d)


def test_bang_without_pattern_is_fatal(inst):
    i = inst({}, smtpd_client_event_limit_exceptions="127.0.0.2, !")
    s = socket.create_connection(("127.0.0.1", i.smtp_port), timeout=10)
    s.close()
    i.wait_log(r"smtpd\[\d+\]: fatal: smtpd_client_event_limit_exceptions: "
               r"no pattern after '!'")
