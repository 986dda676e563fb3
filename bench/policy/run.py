#!/usr/bin/python3
"""Cost of the SMTP policy and cleanup checks: smtp-source into postern's smtpd,
once with empty restriction lists and no checks, once with a typical policy
(access tables, relay control, header_checks, canonical and virtual maps).

    POSTERN_BUILD=build /usr/bin/python3 bench/policy/run.py [messages] [sessions]
"""
import os
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
from postern import Instance  # noqa: E402

MASTER_CF = "127.0.0.1:{port} inet n - n - - smtpd\npostlog unix-dgram n - n - 1 postlogd\n"

BASE = {"myhostname": "mx.example.com", "mydomain": "example.com",
        "mydestination": "$myhostname, localhost, example.com", "mynetworks": "127.0.0.1/32",
        "local_recipient_maps": "", "smtpd_peername_lookup": "no"}

POLICY = {
    "smtpd_client_restrictions": "check_client_access cidr:{d}/clients",
    "smtpd_helo_restrictions": "reject_invalid_helo_hostname, check_helo_access texthash:{d}/senders",
    "smtpd_sender_restrictions": "reject_non_fqdn_sender, check_sender_access texthash:{d}/senders",
    "smtpd_recipient_restrictions": "reject_non_fqdn_recipient, check_recipient_access texthash:{d}/rcpts, permit_mynetworks, reject_unauth_destination",
    "header_checks": "pcre:{d}/header_checks",
    "body_checks": "pcre:{d}/body_checks",
    "canonical_maps": "texthash:{d}/canonical",
    "virtual_alias_maps": "texthash:{d}/virtual",
    "masquerade_domains": "example.com",
}


def run(policy, messages, sessions):
    inst = Instance(main_cf=BASE, master_cf=None)
    inst.write_master_cf(MASTER_CF.format(port=inst.smtp_port))
    d = inst.dir
    if policy:
        files = {
            "clients": "192.0.2.0/24 REJECT\n",
            "senders": "".join("spam%d@example.net REJECT\n" % i for i in range(1000)),
            "rcpts": "".join("gone%d@example.com REJECT\n" % i for i in range(1000)),
            "header_checks": "".join("/^Subject: .*spamword%d/ REJECT\n" % i for i in range(100)),
            "body_checks": "".join("/viagra%d/ REJECT\n" % i for i in range(100)),
            "canonical": "".join("u%d@example.com c%d@example.com\n" % (i, i) for i in range(1000)),
            "virtual": "".join("v%d@example.com b@example.com\n" % i for i in range(1000)),
        }
        for name, body in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(body)
        inst.set_params(**{k: v.format(d=d) for k, v in POLICY.items()})
    try:
        inst.start()
        t0 = time.time()
        subprocess.run(["/usr/sbin/smtp-source", "-c", "-s", str(sessions), "-m", str(messages),
                        "-f", "sender@example.com", "-t", "b@example.com",
                        "127.0.0.1:%d" % inst.smtp_port], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.time() - t0
    finally:
        inst.stop()
        inst.cleanup()


if __name__ == "__main__":
    m = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    s = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    plain = run(False, m, s)
    policy = run(True, m, s)
    print("messages=%d sessions=%d  no policy: %.2fs (%.0f msg/s)  policy: %.2fs (%.0f msg/s)"
          % (m, s, plain, m / plain, policy, m / policy))
