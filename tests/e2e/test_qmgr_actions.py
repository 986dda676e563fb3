"""qmgr honours the FILTER and REDIRECT actions that cleanup records in the
queue file (header_checks here; access tables use the same records):
REDIRECT sends the message once to one address instead of all recipients,
FILTER sends every recipient to transport:nexthop. Expected log lines are
what Postfix 3.7 logs for the same header_checks (checked with a scratch
instance: see docs/queue.md)."""
import os
import re
import smtplib

import pytest

from postern import BIN, Instance, wait_until  # noqa: E402

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, p)) for p in ("smtpd", "qmgr", "master", "discard")),
    reason="needs smtpd, qmgr, master, discard")


@pytest.fixture
def inst():
    i = Instance(main_cf={"default_transport": "discard",
                          "relay_domains": "hold.test", "relay_transport": "retry:4.4.1 no route",
                          "myorigin": "$myhostname", "local_recipient_maps": ""})
    hc = os.path.join(i.dir, "header_checks")
    with open(hc, "w") as f:
        f.write("/^Subject: redirect-me/ REDIRECT boss@far.test\n"
                "/^Subject: filter-me/ FILTER discard:scanner.test\n"
                "/^Subject: filter-host/ FILTER discard:\n")
    i.set_params(header_checks="regexp:" + hc)
    try:
        i.start()
        yield i
    finally:
        i.stop()
        i.cleanup()


def send(inst, rcpts, subject):
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    s.sendmail("s@example.org", rcpts, "Subject: %s\r\n\r\nbody\r\n" % subject)
    s.quit()


def delivered(inst):
    return re.findall(r"postfix/discard\[\d+\]: (\w+): to=<([^>]*)>(?:, orig_to=<([^>]*)>)?, "
                      r"relay=none, .*status=sent \(([^)]*)\)", inst.log())


def test_redirect_replaces_all_recipients(inst):
    send(inst, ["a@far.test", "b@other.test"], "redirect-me")
    wait_until(lambda: re.search(r"qmgr\[\d+\]: \w+: removed", inst.log()), what="removed")
    # Postfix 3.7: one delivery, the first recipient as orig_to
    assert [(to, orig, why) for _, to, orig, why in delivered(inst)] == \
        [("boss@far.test", "a@far.test", "far.test")], inst.log()
    assert "b@other.test" not in re.sub(r".*(cleanup|smtpd)\[.*\n", "", inst.log())


def test_filter_overrides_transport_and_nexthop(inst):
    # hold.test would go to retry: (deferred); the filter sends everything to discard:scanner.test
    send(inst, ["a@far.test", "x@hold.test"], "filter-me")
    wait_until(lambda: len(delivered(inst)) >= 2, what="two deliveries")
    got = sorted((to, why) for _, to, _, why in delivered(inst))
    assert got == [("a@far.test", "scanner.test"), ("x@hold.test", "scanner.test")], inst.log()
    assert "no route" not in inst.log()


def test_filter_without_nexthop_uses_recipient_domain(inst):
    send(inst, ["a@far.test"], "filter-host")
    wait_until(lambda: len(delivered(inst)) >= 1, what="delivery")
    assert [(to, why) for _, to, _, why in delivered(inst)] == [("a@far.test", "far.test")], inst.log()


def test_filter_without_nexthop_uses_default_filter_nexthop(inst):
    inst.set_params(default_filter_nexthop="scan.example")
    inst.reload()
    send(inst, ["a@far.test"], "filter-host")
    wait_until(lambda: len(delivered(inst)) >= 1, what="delivery")
    assert [(to, why) for _, to, _, why in delivered(inst)] == [("a@far.test", "scan.example")], inst.log()


def test_no_action_resolves_normally(inst):
    send(inst, ["a@far.test"], "plain")
    wait_until(lambda: len(delivered(inst)) >= 1, what="delivery")
    assert [(to, why) for _, to, _, why in delivered(inst)] == [("a@far.test", "far.test")]
