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
    port = inst.smtp_port if svc == "main" else inst.limits_port
    got = _normalize("\n".join(dialogue.run(port, src, lines)) + "\n")
    with open(os.path.join(GOLDEN, name + ".txt")) as f:
        want = f.read()
    assert got == want
