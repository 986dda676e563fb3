#!/usr/bin/python3
"""Regenerate the postconf goldens from REAL Postfix (Debian's postfix 3.7).

    tests/golden/postconf/regen.py [CASE...]

Runs /usr/sbin/postconf (or $REAL_POSTCONF) on every case's commands and
writes CASE/expected. Never edit an expected file by hand; change the case
and rerun this. See tests/lib/postconf_golden.py for the format and for
what is filtered (and why).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "lib"))
import postconf_golden  # noqa: E402

real = os.environ.get("REAL_POSTCONF", "/usr/sbin/postconf")
names = sys.argv[1:] or postconf_golden.cases(HERE)
for c in names:
    text = postconf_golden.run_case(real, os.path.join(HERE, c))
    with open(os.path.join(HERE, c, "expected"), "w") as f:
        f.write(text)
    print("wrote", c)
