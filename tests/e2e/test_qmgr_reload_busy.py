"""A message still being delivered when qmgr restarts (postfix reload).

The new qmgr moves active/ back to incoming/ at start-up, as Postfix's does.
A delivery agent of the old qmgr may still work on one of those files: the
agent holds a shared lock on it, and qmgr skips a locked file with "ID:
skipped, still being delivered" (Postfix 3.7's line, seen live on Debian's
Postfix with the same steps). Without that, the new qmgr delivered the
message a second time and logged the "deferred transport" line twice for its
deferred recipient (the duplicate seen by other helpers).
"""
import re
import smtplib

from postern import wait_until

SLOW = 6    # seconds the alias command runs: the window for the new qmgr


def send(inst, rcpts):
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    s.ehlo("c.test")
    s.mail("<snd@ext.test>")
    for r in rcpts:
        assert s.rcpt("<%s>" % r)[0] == 250
    code, msg = s.data(b"Subject: t\r\n\r\nhello\r\n")
    assert code == 250
    s.quit()
    return re.search(r"queued as (\w+)", msg.decode()).group(1)


def test_reload_skips_message_still_being_delivered(instance):
    with open(instance.dir + "/aliases", "w") as f:
        f.write('slow: "|/bin/sleep %d"\n' % SLOW)
    instance.set_params(defer_transports="smtp", myhostname="mx.q1.test",
                        mydestination="mx.q1.test, localhost", mynetworks="127.0.0.0/8",
                        alias_maps="lmdb:%s/aliases" % instance.dir,
                        alias_database="lmdb:%s/aliases" % instance.dir)
    instance.cmd("postalias", "lmdb:%s/aliases" % instance.dir, check=True)
    instance.start()
    qid = send(instance, ["slow@mx.q1.test", "r@remote.test"])
    instance.wait_log(qid + r": to=<r@remote\.test>.*status=deferred \(deferred transport\)")
    instance.reload()
    # Wakes the new qmgr while local still runs the command.
    other = send(instance, ["other@remote.test"])
    instance.wait_log(other + r": to=<other@remote\.test>.*deferred transport")
    instance.wait_log(qid + r": skipped, still being delivered")
    instance.wait_log(qid + r": to=<slow@mx\.q1\.test>.*status=sent", timeout=SLOW + 20)
    log = instance.log()
    assert len(re.findall(qid + r": to=<r@remote\.test>.*deferred transport", log)) == 1, log
    # The next scan takes it; what the agent marked done stays done.
    mark = len(log)
    instance.cmd("postqueue", "-f", check=True)
    instance.wait_log(qid + r": to=<r@remote\.test>.*deferred transport", since=mark)
    log = instance.log()
    assert len(re.findall(qid + r": to=<slow@mx\.q1\.test>.*status=sent", log)) == 1, log
    assert len(re.findall(qid + r": to=<r@remote\.test>.*deferred transport", log[mark:])) == 1
