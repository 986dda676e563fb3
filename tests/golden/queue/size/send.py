#!/usr/bin/env python3
"""Submit the messages of tests/e2e/test_postcat_size.py to 127.0.0.1:PORT.
Used both for capturing the pf-*.txt files (Postfix 3.7) and by the test."""
import smtplib
import sys

UTF8_SENDER = "<sn\u00e9d@ext.test>".encode("utf8").decode("latin1")
MESSAGES = [
    # (name, sender, MAIL options, recipients, content)
    ("plain", "snd@ext.test", [], ["r@remote.test", "r2@remote.test"],
     b"Subject: plain\r\nFrom: a@b\r\n\r\nhello\r\nworld line two\r\n"),
    ("utf8-long", "snd@ext.test", ["SMTPUTF8"], ["r@remote.test"],
     ("Subject: utf8-long t\u00e9\r\nX-Long: " + "y" * 200 + "\r\n\r\nhello\r\n").encode("utf8")),
    ("utf8-ascii", "snd@ext.test", ["SMTPUTF8"], ["r@remote.test"],
     b"Subject: utf8-ascii\r\n\r\nhello\r\n"),
    ("header-8bit", "snd@ext.test", [], ["r@remote.test"],
     "Subject: header-8bit \u00e9\r\n\r\nhello\r\n".encode("utf8")),
    ("utf8-sender", UTF8_SENDER, ["SMTPUTF8"], ["r@remote.test"],
     b"Subject: utf8-sender\r\n\r\nhello\r\n"),
]


def send(port):
    for _name, sender, opts, rcpts, data in MESSAGES:
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
        s.ehlo("c.test")
        s.mail(sender, opts)
        for r in rcpts:
            s.rcpt(r)
        s.data(data)
        s.quit()


if __name__ == "__main__":
    send(int(sys.argv[1]))
