"""Helpers for the seed acceptance tests (tests/e2e/test_seeds_NNN.py).

The seeds are the documents users try first (/work/shared/seeds/): two
university labs, two sets of lecture notes and a blog post. Each test replays
what a user does there against a scratch postern instance and asserts what the
user sees; expected texts were taken from Debian's Postfix 3.7 doing the same
(with postern's own name where Postfix shows its mail_name).
"""
import os
import pwd
import re
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, HERE)

import postern  # noqa: E402
from postern import wait_until  # noqa: E402

ME = pwd.getpwuid(os.getuid()).pw_name
QID = r"[0-9A-F]{6,}"


def instance(make_instance, hostname="mx.postern.test", aliases=None, **params):
    """A started-later instance with an aliases file in its directory."""
    main = {"alias_maps": "hash:$config_directory/aliases",
            "alias_database": "hash:$config_directory/aliases"}
    main.update(params)
    inst = make_instance(main_cf=main, hostname=hostname)
    write_aliases(inst, aliases or "postmaster: root\n")
    return inst


def write_aliases(inst, text):
    path = os.path.join(inst.dir, "aliases")
    with open(path, "w") as f:
        f.write(text)
    r = inst.cmd("newaliases")
    assert r.returncode == 0, r.stderr
    return path


class Session:
    """A line-oriented SMTP client that shows what nc(1) would show."""

    def __init__(self, port, host="127.0.0.1", source=None):
        self.sock = socket.create_connection((host, port), timeout=20,
                                             source_address=(source, 0) if source else None)
        self.f = self.sock.makefile("rwb", buffering=0)
        self.banner = self.reply()

    def reply(self):
        lines = []
        while True:
            line = self.f.readline().decode()
            if not line:
                break
            lines.append(line.rstrip("\r\n"))
            if len(line) < 4 or line[3] != "-":
                break
        return "\n".join(lines)

    def cmd(self, text):
        self.f.write((text + "\r\n").encode())
        return self.reply()

    def send(self, raw):
        self.f.write(raw.encode())

    def data(self, message):
        """DATA + message (\\n line ends) + '.'; returns (354 reply, final reply)."""
        r354 = self.cmd("DATA")
        body = "".join(("." + l if l.startswith(".") else l) + "\r\n"
                       for l in message.split("\n"))
        self.send(body + ".\r\n")
        return r354, self.reply()

    def close(self):
        try:
            self.f.close()
        finally:
            self.sock.close()


def local_log(inst, n, timeout=20):
    """Wait for n delivery lines of local/error/discard agents; return them."""
    pat = re.compile(r"postfix/(local|error|retry|discard|qmgr)\[\d+\]: %s: to=<" % QID)

    def lines():
        return [l for l in inst.log_lines() if pat.search(l) and "status=" in l]
    wait_until(lambda: len(lines()) >= n, timeout=timeout, what="%d delivery log lines" % n)
    return lines()


def sendmail(inst, *args, input=""):
    return inst.cmd("sendmail", *args, input=input)


def queue_ids(inst):
    out = inst.cmd("mailq").stdout
    return re.findall(r"^(%s)[*!]?\s" % QID, out, re.M)


def mbox(inst, user=ME):
    with open(os.path.join(inst.mail_dir, user)) as f:
        return f.read()
