"""Per-recipient concurrency for one-recipient transports (qmgr + local).

Postfix's rule (postconf(5) transport_destination_recipient_limit, qmgr(8)):
when a transport takes one recipient per delivery (local's default,
local_destination_recipient_limit = 1), the destination for concurrency
purposes is the recipient (localpart without its extension @ nexthop), not
the domain. So local_destination_concurrency_limit = 2 limits deliveries to
ONE user, and a user whose mailbox command hangs does not hold up the other
users of the domain.

No timing: the slow user's command blocks until the test creates a file.
"""
import glob
import os
import smtplib
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from postern import BIN, Instance, wait_until  # noqa: E402

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, p))
            for p in ("smtpd", "qmgr", "local", "master", "postalias")),
    reason="needs smtpd, qmgr, local, master and postalias")

BLOCK = """#!/bin/sh
# Record that a delivery started, then hold it until DIR/release exists.
mktemp "$1/started.XXXXXX" >/dev/null || exit 75
cat >/dev/null
while [ ! -e "$1/release" ]; do sleep 0.05; done
exit 0
"""


@pytest.fixture
def inst():
    i = Instance(main_cf={"alias_maps": "hash:$config_directory/aliases",
                          "alias_database": "hash:$config_directory/aliases",
                          "recipient_delimiter": "+",
                          "myorigin": "$myhostname"})
    i.work = os.path.join(i.dir, "work")
    os.makedirs(i.work)
    os.chmod(i.work, 0o1777)                 # commands run as default_privs
    script = os.path.join(i.dir, "block.sh")
    with open(script, "w") as f:
        f.write(BLOCK)
    os.chmod(script, 0o755)
    with open(os.path.join(i.dir, "aliases"), "w") as f:
        f.write('slow: "|%s %s"\nfast: %s/fast.mbox\nquick: %s/quick.mbox\n'
                % (script, i.work, i.work, i.work))
    r = i.cmd("postalias", "-c", i.dir, os.path.join(i.dir, "aliases"))
    assert r.returncode == 0, r.stderr
    yield i
    open(os.path.join(i.work, "release"), "w").close()
    i.stop()
    i.cleanup()


def started(inst):
    return len(glob.glob(os.path.join(inst.work, "started.*")))


def sent(inst, who=None):
    return [l for l in inst.log_lines() if "postfix/local[" in l and "status=sent" in l
            and (who is None or "to=<%s@" % who in l)]


def send(inst, rcpts):
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    for r in rcpts:
        s.sendmail("sender@example.org", [r], "Subject: to %s\r\n\r\nbody\r\n" % r)
    s.quit()


def test_slow_recipient_does_not_block_others(inst):
    inst.start()
    dom = "mx.postern.test"
    # Three messages for the slow user (one with an address extension: no
    # extra delivery slot for it), then two other users.
    send(inst, ["slow@%s" % dom, "slow+x@%s" % dom, "slow@%s" % dom])
    wait_until(lambda: started(inst) >= 2, timeout=30, what="two slow deliveries")
    send(inst, ["fast@%s" % dom, "quick@%s" % dom])
    # Other recipients of the same domain are delivered while slow is held
    # (with one window for the whole domain they would wait for it).
    wait_until(lambda: sent(inst, "fast") and sent(inst, "quick"), timeout=30,
               what="deliveries to fast and quick while slow is busy")
    assert os.path.getsize(os.path.join(inst.work, "fast.mbox")) > 0
    # local_destination_concurrency_limit = 2 is per recipient: the third
    # message for slow (slow+x shares slow's queue) has not started.
    assert started(inst) == 2
    assert sent(inst, "slow") == []
    open(os.path.join(inst.work, "release"), "w").close()
    wait_until(lambda: len(sent(inst, "slow")) + len(sent(inst, "slow+x")) == 3,
               timeout=30, what="slow deliveries after release")
    assert started(inst) == 3
    wait_until(lambda: not glob.glob(os.path.join(inst.queue_dir, "active", "*")),
               what="queue to empty")


def test_concurrency_limit_per_recipient_configurable(inst):
    """local_destination_concurrency_limit = 1: one delivery per user."""
    inst.set_params(local_destination_concurrency_limit="1")
    inst.start()
    dom = "mx.postern.test"
    send(inst, ["slow@%s" % dom, "slow@%s" % dom])
    wait_until(lambda: started(inst) >= 1, timeout=30, what="first slow delivery")
    send(inst, ["fast@%s" % dom])
    wait_until(lambda: sent(inst, "fast"), timeout=30, what="delivery to fast")
    assert started(inst) == 1
    open(os.path.join(inst.work, "release"), "w").close()
    wait_until(lambda: len(sent(inst, "slow")) == 2, timeout=30, what="slow deliveries")
