"""Per-recipient queue file records (NOTIFY, ORCPT, original recipient) as
Postfix 3.7's cleanup writes them, shown by postcat -e.

tests/golden/orcpt/pf-*.txt are `postcat -eq` of messages received by Debian's
Postfix 3.7.11 (myhostname pf.q1.test, defer_transports = smtp so they stay
in the deferred queue): pf-smtp-postcat.txt over SMTP (a: nothing; b:
NOTIFY=SUCCESS ORCPT=rfc822;orig-b@remote.test; c: NOTIFY=NEVER),
pf-sendmail-postcat.txt from `sendmail -f snd@ext.test -N success,delay
x@remote.test Y@Remote.Test z`. Postfix derives ORCPT "rfc822;" + the
completed address when the client gave none, and always writes the original
recipient.
"""
import os
import re
import smtplib
import time

import postern

GOLD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden", "orcpt")
RCPT_RE = re.compile(r"^(named_attribute: (notify_flags|dsn_orig_rcpt)=|original_recipient: |recipient: )")


def rcpt_lines(text):
    return [ln for ln in text.splitlines() if RCPT_RE.match(ln)]


def gold(name):
    return rcpt_lines(open(os.path.join(GOLD, name)).read())


def queued(inst, n):
    def ids():
        out = inst.cmd("postqueue", "-p").stdout
        return [ln.split()[0].rstrip("*!") for ln in out.splitlines()
                if re.match(r"^[0-9A-F]{6,}", ln)]
    postern.wait_until(lambda: len(ids()) >= n, 20)
    return ids()


def start(instance):
    instance.set_params(defer_transports="smtp", relayhost="[127.0.0.1]:9",
                        myhostname="pf.q1.test", mydestination="localhost",
                        mynetworks="127.0.0.0/8")
    instance.start()


def test_smtp_orcpt_records_match_postfix(instance):
    start(instance)
    s = smtplib.SMTP("127.0.0.1", instance.smtp_port, timeout=30)
    s.ehlo("c.test")
    s.mail("<snd@ext.test>")
    assert s.rcpt("<a@remote.test>")[0] == 250
    assert s.rcpt("<b@remote.test>", ["NOTIFY=SUCCESS", "ORCPT=rfc822;orig-b@remote.test"])[0] == 250
    assert s.rcpt("<c@remote.test>", ["NOTIFY=NEVER"])[0] == 250
    assert s.data(b"Subject: t\r\n\r\nhello\r\n")[0] == 250
    s.quit()
    [qid] = queued(instance, 1)
    postern.wait_until(lambda: "deferred transport" in instance.log(), 20)
    mine = instance.cmd("postcat", "-eq", qid).stdout
    assert rcpt_lines(mine) == gold("pf-smtp-postcat.txt")


def test_sendmail_orcpt_records_match_postfix(instance):
    start(instance)
    instance.cmd("sendmail", "-f", "snd@ext.test", "-N", "success,delay",
                 "x@remote.test", "Y@Remote.Test", "z", input="Subject: s\n\nbody\n", check=True)
    [qid] = queued(instance, 1)
    postern.wait_until(lambda: "deferred transport" in instance.log(), 20)
    mine = instance.cmd("postcat", "-eq", qid).stdout
    assert rcpt_lines(mine) == gold("pf-sendmail-postcat.txt")


def test_bounce_original_recipient_from_derived_orcpt(instance):
    """sendmail -f snd@ext.test nosuchuser: Postfix 3.7's non-delivery notice says
    "Original-Recipient: rfc822;nosuchuser@pf.q1.test" (the derived ORCPT, not
    the bare "nosuchuser" given on the command line)."""
    start(instance)
    instance.set_params(mydestination="pf.q1.test, localhost", alias_maps="", alias_database="")
    instance.reload()
    instance.cmd("sendmail", "-f", "snd@ext.test", "nosuchuser", input="Subject: s\n\nbody\n",
                 check=True)
    m = instance.wait_log(r"sender non-delivery notification: (\w+)")
    bid = m.group(1)
    postern.wait_until(lambda: "%s: to=<snd@ext.test>" % bid in instance.log(), 20)
    text = instance.cmd("postcat", "-bq", bid).stdout
    assert "Final-Recipient: rfc822; nosuchuser@pf.q1.test\n" \
           "Original-Recipient: rfc822;nosuchuser@pf.q1.test\n" in text, text
