#!/usr/bin/python3
"""Record real Postfix's replies to tests/golden/smtpd/*.txt.

Usage: tools/capture-smtpd-golden.py MAINPORT LIMITSPORT DISCARDPORT
against a scratch Debian Postfix 3.7 instance with myhostname =
mail.example.com, mail_name = Postfix, mynetworks = 127.0.0.1/32,
alias ops535m, and a second smtpd service with the "limits" overrides
listed in scenarios.py, and a third with smtpd_discard_ehlo_keywords.
"""
import os, re, sys
here = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "smtpd")
sys.path.insert(0, here)
import dialogue, scenarios
ports = {"main": int(sys.argv[1]), "limits": int(sys.argv[2]),
         "discard": int(sys.argv[3]) if len(sys.argv) > 3 else 0}
for name, svc, src, lines in scenarios.SCENARIOS:
    out = dialogue.run(ports[svc], src, lines)
    text = "\n".join(out) + "\n"
    text = re.sub(r"queued as [0-9A-Za-z]+", "queued as QUEUEID", text)
    with open(os.path.join(here, name + ".txt"), "w") as fp:
        fp.write(text)
    print("==", name); print(text)
