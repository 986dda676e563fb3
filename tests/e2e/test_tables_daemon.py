"""A running daemon (smtpd) picks up a table rebuilt with postmap, without a
restart or reload, and defers while a table it needs is missing."""
import os
import smtplib
import time

import postern

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
postlog unix-dgram n - n - 1 postlogd
"""


def rcpt_reply(port, rcpt):
    s = smtplib.SMTP("127.0.0.1", port, timeout=20)
    try:
        s.ehlo("client.example")
        s.mail("sender@example.com")
        code, msg = s.rcpt(rcpt)
        return code, msg.decode()
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def test_smtpd_sees_rebuilt_access_table():
    inst = postern.Instance(main_cf={
        "inet_interfaces": "127.0.0.1", "inet_protocols": "ipv4",
        "myhostname": "mx.example.com", "mydestination": "example.com",
        "local_recipient_maps": "", "smtpd_peername_lookup": "no",
    }, master_cf=None)
    inst.write_master_cf(MASTER_CF)
    access = os.path.join(inst.dir, "access")
    inst.set_params(smtpd_recipient_restrictions="check_recipient_access hash:%s, permit"
                    % access)
    try:
        # The table does not exist yet: the daemon defers (4XX), never accepts.
        inst.start()
        code, msg = rcpt_reply(inst.smtp_port, "blocked@example.com")
        assert 400 <= code < 500, (code, msg)
        with open(access, "w") as f:
            f.write("blocked@example.com REJECT first version\n")
        inst.cmd("postmap", "-c", inst.dir, "hash:" + access, check=True)
        time.sleep(1.2)                 # the daemon checks a table at most once a second
        assert rcpt_reply(inst.smtp_port, "blocked@example.com") == \
            (554, "5.7.1 <blocked@example.com>: Recipient address rejected: first version")
        with open(access, "w") as f:
            f.write("blocked@example.com REJECT second version\n")
        inst.cmd("postmap", "-c", inst.dir, "hash:" + access, check=True)
        time.sleep(1.2)
        assert rcpt_reply(inst.smtp_port, "blocked@example.com") == \
            (554, "5.7.1 <blocked@example.com>: Recipient address rejected: second version")
    finally:
        inst.stop()
        inst.cleanup()
