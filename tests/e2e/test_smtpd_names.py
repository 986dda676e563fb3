"""Client name lookups run in smtpd's event loop: a session whose DNS
lookup hangs does not hold up the others (one smtpd process serves both)."""
import socket

from postern import Instance, free_port


def test_slow_lookup_does_not_block_other_sessions():
    # A "DNS server" that never answers.
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", free_port()))
    inst = Instance(main_cf={"myhostname": "mail.example.com", "mail_name": "Postfix",
                             "postern_dns_servers": "127.0.0.1:%d" % dns.getsockname()[1],
                             "postern_dns_timeout": "5s", "postern_dns_tries": "1"},
                    hostname="mail.example.com")
    try:
        inst.start()
        slow = socket.socket()
        slow.bind(("127.0.0.9", 0))      # not in the hosts file: asks the silent server
        slow.connect(("127.0.0.1", inst.smtp_port))
        slow.settimeout(30)
        fast = socket.create_connection(("127.0.0.1", inst.smtp_port), timeout=30)
        # 127.0.0.1 is answered from the hosts file: greeted while the other waits.
        assert fast.makefile("rb").readline() == b"220 mail.example.com ESMTP Postfix\r\n"
        assert "connect from unknown[127.0.0.9]" not in inst.log()
        assert len(inst.children("smtpd")) == 1
        # The slow one is greeted once its lookup times out, as "unknown".
        assert slow.makefile("rb").readline() == b"220 mail.example.com ESMTP Postfix\r\n"
        inst.wait_log(r"connect from unknown\[127\.0\.0\.9\]")
        fast.close()
        slow.close()
    finally:
        inst.stop()
        inst.cleanup()
        dns.close()
