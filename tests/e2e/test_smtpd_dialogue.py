"""smtpd replies compared with Debian's Postfix 3.7 (tests/golden/smtpd)."""
import os
import re

import pytest

from smtpd_util import make_instance, HERE
import dialogue
import scenarios

GOLDEN = os.path.join(HERE, "..", "golden", "smtpd")


@pytest.fixture(scope="module")
def inst():
    i = make_instance()
    i.start()
    yield i
    i.stop()
    i.cleanup()


def _normalize(text):
    return re.sub(r"queued as [0-9A-Za-z]+", "queued as QUEUEID", text)


@pytest.mark.parametrize("name,svc,src,lines", scenarios.SCENARIOS,
                         ids=[s[0] for s in scenarios.SCENARIOS])
def test_dialogue_matches_postfix(inst, name, svc, src, lines):
    port = {"main": inst.smtp_port, "limits": inst.limits_port, "discard": inst.discard_port}[svc]
    got = _normalize("\n".join(dialogue.run(port, src, lines)) + "\n")
    with open(os.path.join(GOLDEN, name + ".txt")) as f:
        want = f.read()
    assert got == want


def test_discard_ehlo_logged(inst):
    dialogue.run(inst.discard_port, "127.0.0.1", ["EHLO x", "QUIT"])
    inst.wait_log(r"smtpd\[\d+\]: discarding EHLO keywords: PIPELINING DSN CHUNKING")
