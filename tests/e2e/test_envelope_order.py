"""Envelope record order of a sendmail submission, as Postfix 3.7 writes it.

tests/golden/queue/pf-sendmail-envelope-order.txt is `postcat -eq` of
`sendmail -F "Full Name" -f snd@ext.test -R hdrs -V envid-1 -B 8BITMIME
-N success r@remote.test` queued by Debian's Postfix 3.7.11: envelope_id,
ret_flags, rewrite_context, sender_fullname, sender, encoding, then the
recipient's records.
"""
import os
import re

import postern

GOLD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "golden", "queue", "pf-sendmail-envelope-order.txt")
KEEP = re.compile(r"^(named_attribute: (envelope_id|ret_flags|rewrite_context|encoding|"
                  r"notify_flags|dsn_orig_rcpt)=|sender_fullname: |sender: |"
                  r"original_recipient: |recipient: )")


def envelope(text):
    lines = text.split("*** MESSAGE CONTENTS")[0].splitlines()
    return [ln for ln in lines if KEEP.match(ln)]


def test_sendmail_envelope_order_matches_postfix(instance):
    instance.set_params(defer_transports="smtp", relayhost="[127.0.0.1]:9",
                        myhostname="pf.g2.test", mydestination="localhost")
    instance.start()
    instance.cmd("sendmail", "-F", "Full Name", "-f", "snd@ext.test", "-R", "hdrs",
                 "-V", "envid-1", "-B", "8BITMIME", "-N", "success", "r@remote.test",
                 input="Subject: sm\n\nbody\n", check=True)
    postern.wait_until(lambda: "deferred transport" in instance.log(), 20)
    out = instance.cmd("postqueue", "-p").stdout
    [qid] = [ln.split()[0].rstrip("*!") for ln in out.splitlines()
             if re.match(r"^[0-9A-F]{6,}", ln)]
    mine = instance.cmd("postcat", "-eq", qid).stdout
    gold = envelope(open(GOLD).read())
    assert gold[3:5] == ["sender_fullname: Full Name", "sender: snd@ext.test"]
    assert envelope(mine) == gold
