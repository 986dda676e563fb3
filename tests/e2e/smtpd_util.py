"""Helpers for the smtpd/cleanup/sendmail tests: an Instance whose SMTP
service mirrors the scratch Postfix that recorded tests/golden/smtpd."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "golden", "smtpd"))

from postern import Instance, free_port, wait_until, bin_path  # noqa: E402

LIMITS = ("-o message_size_limit=1000 -o smtpd_recipient_limit=2 -o smtpd_hard_error_limit=4"
          " -o smtpd_soft_error_limit=2 -o smtpd_error_sleep_time=0 -o smtpd_junk_command_limit=3"
          " -o disable_vrfy_command=yes -o line_length_limit=600")

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
127.0.0.1:%(limits)d inet n - n - - smtpd %(opts)s
127.0.0.1:%(discard)d inet n - n - - smtpd -o smtpd_discard_ehlo_keywords=pipelining,dsn,chunking
pickup unix n - n 60 1 pickup
postlog unix-dgram n - n - 1 postlogd
anvil unix - - n - 1 anvil
"""


def make_instance(extra_main=None, extra_master=""):
    limits_port = free_port()
    discard_port = free_port()
    params = {
        "myhostname": "mail.example.com",
        "mydomain": "example.com",
        "mail_name": "Postfix",
        "mynetworks": "127.0.0.1/32",
        "smtpd_error_sleep_time": "0",
    }
    if extra_main:
        params.update(extra_main)
    inst = Instance(main_cf=params,
                    master_cf=MASTER_CF % {"limits": limits_port, "discard": discard_port,
                                           "opts": LIMITS} + extra_master)
    aliases = os.path.join(inst.dir, "aliases")
    with open(aliases, "w") as f:
        f.write("postmaster: root\nops535m: adm,ftp\n")
    inst.set_params(alias_maps="hash:" + aliases, alias_database="hash:" + aliases)
    import subprocess
    subprocess.run([bin_path("postalias"), "-c", inst.dir, "hash:" + aliases], check=True,
                   capture_output=True)
    inst.limits_port = limits_port
    inst.discard_port = discard_port
    return inst


def queue_files(inst, queue="incoming"):
    out = []
    top = os.path.join(inst.queue_dir, queue)
    for dirpath, _, files in os.walk(top):
        for f in files:
            out.append(os.path.join(dirpath, f))
    return sorted(out)


def read_records(path):
    """Parse a queue file into [(type, bytes)] (docs/queue-format.md)."""
    data = open(path, "rb").read()
    recs, pos = [], 0
    while pos < len(data):
        t = chr(data[pos]); pos += 1
        n, shift = 0, 0
        while True:
            b = data[pos]; pos += 1
            n |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                break
        recs.append((t, data[pos:pos + n]))
        pos += n
    return recs


def message_text(recs):
    """The message content (M..X) with LF line ends."""
    out, inside = [], False
    for t, d in recs:
        if t == "M":
            inside = True
        elif t == "X":
            break
        elif inside and t in "NL":
            out.append(d + (b"\n" if t == "N" else b""))
    return b"".join(out).decode("latin-1")


def envelope(recs, types):
    return [d.decode("latin-1") for t, d in recs if t in types]
