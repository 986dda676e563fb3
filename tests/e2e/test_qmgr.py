"""qmgr: scheduling, backoff, expiry and bounces, hold/release, requeue,
corrupt files, crash recovery, notices (parsed with Python's email package)."""
import email
import email.policy
import os
import re
import signal
import time

import pytest

import queue_lib


@pytest.fixture
def q():
    inst = queue_lib.Instance()
    yield inst
    inst.close()


def sent_lines(inst):
    return re.findall(r"(\w+): to=<([^>]*)>.*status=sent", inst.log())


def notice(inst, qid):
    """The content of queue file qid, as an email.message."""
    r = inst.run("postcat", "-bhq", qid, check=True)
    return email.message_from_bytes(r.stdout, policy=email.policy.default)


def queued_ids(inst, queue):
    return inst.files(queue)


def test_delivery_logs_and_removal(q):
    q.start_agents("discard")
    ids = q.qfile(["a@remote.test", "b@other.test", "c@mx.example.test"], sender="s@example.org")
    q.start_qmgr()
    q.wait(lambda: "%s: removed" % ids[0] in q.log())
    log = q.log()
    assert re.search(r"%s: from=<s@example.org>, size=\d+, nrcpt=3 \(queue active\)" % ids[0], log)
    for rc, relay_reason in (("a@remote.test", "remote.test"), ("b@other.test", "other.test"),
                             ("c@mx.example.test", "local")):
        assert re.search(r"%s: to=<%s>, relay=none, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, "
                         r"dsn=2\.0\.0, status=sent \(%s\)" % (ids[0], re.escape(rc), relay_reason), log)
    assert q.files("incoming") == q.files("active") == q.files("deferred") == []


def test_many_messages_all_delivered_once(q):
    q.set(default_destination_recipient_limit="2")
    q.start_agents("discard")
    ids = q.qfile(["x%d@d%d.test" % (i, i % 3) for i in range(5)], count=30)
    q.start_qmgr()
    q.wait(lambda: q.log().count(": removed") == 30, what="30 removed")
    sent = sent_lines(q)
    assert len(sent) == 150 and len(set(sent)) == 150


def test_deferral_backoff_and_retry(q):
    q.set(default_transport="retry:4.4.1 Host unreachable for test",
          minimal_backoff_time="100s", maximal_backoff_time="200s", queue_run_delay="1s")
    q.start("error", "retry")
    [qid] = q.qfile(["far@far.test"])
    q.start_qmgr()
    q.wait(lambda: q.files("deferred") == [qid])
    log = q.log()
    assert re.search(r"%s: to=<far@far.test>, relay=none, .*dsn=4\.4\.1, status=deferred "
                     r"\(Host unreachable for test\)" % qid, log)
    path = os.path.join(q.queue, "deferred", qid[0], qid)
    due = os.stat(path).st_mtime - time.time()
    assert 90 < due <= 101            # minimal_backoff_time: next attempt in 100s
    r = q.run("postqueue", "-p")
    assert "(Host unreachable for test)" in r.stdout.decode()
    # not retried before it is due ...
    time.sleep(1.5)
    assert q.log().count("status=deferred") == 1
    # ... but postqueue -i makes it due now
    q.run("postqueue", "-i", qid, check=True)
    q.wait(lambda: q.log().count("status=deferred") == 2, what="second attempt")
    # and postqueue -f retries everything
    q.wait(lambda: q.files("deferred") == [qid])
    q.run("postqueue", "-f", check=True)
    q.wait(lambda: q.log().count("status=deferred") == 3, what="third attempt")


def test_give_up_returns_to_sender(q):
    q.set(default_transport="retry:4.4.1 Host unreachable for test",
          maximal_queue_lifetime="60s", relay_domains="sender.test",
          relay_transport="hold-me")
    q.start("error", "retry")
    old = int(time.time()) - 3600
    [qid] = q.qfile(["far@far.test"], sender="s@sender.test", args=["-t", str(old)])
    q.start_qmgr()
    q.wait(lambda: "%s: removed" % qid in q.log())
    log = q.log()
    m = re.search(r"%s: sender non-delivery notification: (\w+)" % qid, log)
    assert m
    assert "%s: from=<s@sender.test>, status=expired, returned to sender" % qid in log
    assert "%s: removed" % qid in log
    bounce_id = m.group(1)
    # the notice to s@sender.test waits (transport hold-me does not exist)
    q.wait(lambda: bounce_id in q.files("deferred"))
    msg = notice(q, bounce_id)
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg.get_content_type() == "multipart/report"
    parts = list(msg.iter_parts())
    report = parts[1]
    assert report.get_content_type() == "message/delivery-status"
    r = q.run("postcat", "-eq", bounce_id).stdout.decode()
    assert "sender: \n" in r and "recipient: s@sender.test" in r


def test_bounce_is_rfc3464_like_postfix(q):
    q.set(local_transport="error:5.1.1 unknown user: \"nosuch\"",
          default_transport="retry:4.4.1 Host unreachable for test")
    q.start("error")
    q.start("error", "retry")
    body = "Subject: test bounce\nFrom: sender@remote.test\nTo: nosuch@mx.example.test\n\nHello body line.\n"
    [qid] = q.qfile(["nosuch@mx.example.test"], sender="sender@remote.test", body=body)
    q.start_qmgr()
    q.wait(lambda: "sender non-delivery notification" in q.log())
    log = q.log()
    assert re.search(r"%s: to=<nosuch@mx.example.test>, relay=none, .*dsn=5\.1\.1, "
                     r"status=bounced \(unknown user: \"nosuch\"\)" % qid, log)
    bid = re.search(r"sender non-delivery notification: (\w+)", log).group(1)
    q.wait(lambda: bid in q.files("deferred"))
    raw = q.run("postcat", "-bhq", bid).stdout.decode()
    msg = email.message_from_string(raw, policy=email.policy.default)
    assert msg["From"] == "Mail Delivery System <MAILER-DAEMON@mx.example.test>"
    assert msg["To"] == "sender@remote.test"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert msg.get_boundary().startswith(qid + ".")
    notif, report, orig = list(msg.iter_parts())
    assert notif["Content-Description"] == "Notification"
    text = notif.get_content()
    assert "I'm sorry to have to inform you that your message could not\n" \
           "be delivered to one or more recipients. It's attached below." in text
    assert '<nosuch@mx.example.test>: unknown user: "nosuch"' in text
    assert report.get_content_type() == "message/delivery-status"
    groups = report.get_payload()
    assert groups[0]["Reporting-MTA"] == "dns; mx.example.test"
    assert groups[0]["X-Postfix-Queue-ID"] == qid
    assert groups[0]["X-Postfix-Sender"] == "rfc822; sender@remote.test"
    assert groups[1]["Final-Recipient"] == "rfc822; nosuch@mx.example.test"
    assert groups[1]["Action"] == "failed"
    assert groups[1]["Status"] == "5.1.1"
    assert groups[1]["Diagnostic-Code"] == 'X-Postfix; unknown user: "nosuch"'
    assert orig["Content-Description"] == "Undelivered Message"
    assert orig.get_content_type() == "message/rfc822"
    inner = orig.get_payload()[0]
    assert inner["Subject"] == "test bounce"
    assert inner["Return-Path"] == "<sender@remote.test>"
    # Postfix's notification text part, line for line (host name aside)
    gold = open(os.path.join(queue_lib.TOP, "tests/golden/queue/pf-bounce-postcat.txt")).read()
    gtext = gold.split("Content-Transfer-Encoding: 8bit\n\n", 2)[1].split("\n--")[0]
    assert text.rstrip("\n") == gtext.replace("pf.example.test", "mx.example.test").rstrip("\n")


def test_delay_warning(q):
    q.set(default_transport="retry:4.4.1 Host unreachable for test",
          delay_warning_time="1s", relay_domains="sender.test", relay_transport="hold-me")
    q.start("error", "retry")
    [qid] = q.qfile(["far@far.test"], sender="s@sender.test", args=["-t", str(int(time.time()) - 10)])
    q.start_qmgr()
    q.wait(lambda: "sender delay notification" in q.log())
    nid = re.search(r"%s: sender delay notification: (\w+)" % qid, q.log()).group(1)
    q.wait(lambda: nid in q.files("deferred"))
    msg = notice(q, nid)
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    notif, report, hdrs = list(msg.iter_parts())
    assert "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #" in notif.get_content()
    assert "It will be retried until it is 5 day(s) old." in notif.get_content()
    g = report.get_payload()
    assert g[1]["Action"] == "delayed" and g[1]["Status"] == "4.4.1"
    assert "Will-Retry-Until" in g[1]
    assert hdrs.get_content_type() == "text/rfc822-headers"
    assert hdrs["Content-Description"] == "Undelivered Message Headers"
    # only once
    q.run("postqueue", "-f")
    time.sleep(1)
    assert q.log().count("sender delay notification") == 1


def test_success_dsn(q):
    q.set(relay_domains="sender.test", relay_transport="hold-me")
    q.start_agents("discard")
    [qid] = q.qfile(["ok@remote.test"], sender="s@sender.test", args=["-N", "2"])
    q.start_qmgr()
    q.wait(lambda: "sender delivery status notification" in q.log())
    nid = re.search(r"%s: sender delivery status notification: (\w+)" % qid, q.log()).group(1)
    q.wait(lambda: nid in q.files("deferred"))
    msg = notice(q, nid)
    assert msg["Subject"] == "Successful Mail Delivery Report"
    notif, report, hdrs = list(msg.iter_parts())
    assert "Your message was successfully delivered to the destination(s)" in notif.get_content()
    assert report.get_payload()[1]["Action"] == "delivered"
    assert hdrs["Content-Description"] == "Message Headers"


def test_verify_report(q):
    q.set(relay_domains="sender.test", relay_transport="hold-me",
          local_transport="error:5.1.1 unknown user")
    q.start_agents("discard", "error")
    [qid] = q.qfile(["ok@remote.test", "nosuch@mx.example.test"], sender="s@sender.test",
                    args=["-a", "trace_flags=512"])
    q.start_qmgr()
    q.wait(lambda: "sender delivery status notification" in q.log())
    log = q.log()
    assert "to=<ok@remote.test>, relay=none" in log and "status=deliverable (remote.test)" in log
    assert "status=undeliverable (unknown user)" in log
    assert "status=sent" not in log and "status=bounced" not in log
    nid = re.search(r"delivery status notification: (\w+)", log).group(1)
    q.wait(lambda: nid in q.files("deferred"))
    msg = notice(q, nid)
    assert msg["Subject"] == "Mail Delivery Status Report"
    notif, report, hdrs = list(msg.iter_parts())
    assert "Enclosed is the mail delivery report that you requested." in notif.get_content()
    actions = [g["Action"] for g in report.get_payload()[1:]]
    assert sorted(actions) == ["deliverable", "undeliverable"]


def test_soft_bounce(q):
    q.set(local_transport="error:5.1.1 unknown user", soft_bounce="yes")
    q.start("error")
    [qid] = q.qfile(["nosuch@mx.example.test"])
    q.start_qmgr()
    q.wait(lambda: q.files("deferred") == [qid])
    assert "dsn=4.1.1, status=SOFTBOUNCE (unknown user)" in q.log()  # as Postfix 3.7
    assert "notification" not in q.log()


def test_defer_transports_and_missing_transport(q):
    q.set(defer_transports="discard", relay_domains="admin.test", relay_transport="autoreply")
    q.start_agents("discard")
    [a] = q.qfile(["x@remote.test"])
    [b] = q.qfile(["y@admin.test"])
    q.start_qmgr()
    q.wait(lambda: sorted(q.files("deferred")) == sorted([a, b]))
    log = q.log()
    assert "%s: to=<x@remote.test>, relay=none" % a in log and "status=deferred (deferred transport)" in log
    assert "warning: connect to transport private/autoreply" in log
    assert "status=deferred (mail transport unavailable)" in log
    # an administrator adds the service: the next run reaches it
    q.set(defer_transports="")
    q.stop("qmgr")
    q.start("discard", "autoreply")
    q.start_qmgr()
    q.run("postqueue", "-f", check=True)
    q.wait(lambda: re.search(r"to=<y@admin.test>, relay=none.*status=sent", q.log()),
           what="delivered after adding the service")


def test_hold_and_release(q):
    q.start_agents("discard")
    [qid] = q.qfile(["x@remote.test"], queue="hold")
    q.start_qmgr()
    time.sleep(1)
    assert q.files("hold") == [qid] and "status=sent" not in q.log()
    assert "%s!" % qid in q.run("postqueue", "-p").stdout.decode()
    r = q.run("postsuper", "-H", qid)
    assert r.stderr.decode() == "postsuper: %s: released from hold\npostsuper: Released from hold: 1 message\n" % qid
    q.run("postqueue", "-f")
    q.wait(lambda: "%s: removed" % qid in q.log())


def test_requeue(q):
    q.set(default_transport="retry:4.4.1 Host unreachable for test",
          minimal_backoff_time="1000s", maximal_backoff_time="2000s")
    q.start("error", "retry")
    [qid] = q.qfile(["x@remote.test"])
    q.start_qmgr()
    q.wait(lambda: q.files("deferred") == [qid])
    r = q.run("postsuper", "-r", qid)
    assert r.stderr.decode() == "postsuper: %s: requeued\npostsuper: Requeued: 1 message\n" % qid
    q.trigger(b"A")
    q.wait(lambda: q.log().count("status=deferred") == 2, what="retried after requeue")


def test_corrupt_files_are_kept(q):
    q.start_agents("discard")
    bad = os.path.join(q.queue, "incoming", "ABCDE12345")
    with open(bad, "wb") as f:
        f.write(b"garbage, not a queue file\n")
    os.chmod(bad, 0o700)
    stale = os.path.join(q.queue, "incoming", "ABCDE12346")
    with open(stale, "wb") as f:
        f.write(b"V\x0fpostern-queue 1")
    os.chmod(stale, 0o600)
    old = time.time() - 7200
    os.utime(stale, (old, old))
    fresh = os.path.join(q.queue, "incoming", "ABCDE12347")
    with open(fresh, "wb") as f:
        f.write(b"V\x0fpostern-queue 1")
    os.chmod(fresh, 0o600)
    [good] = q.qfile(["x@remote.test"])
    if os.geteuid() == 0:
        import pwd
        pw = pwd.getpwnam("postfix")
        for p in (bad, stale, fresh):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    q.start_qmgr()
    q.wait(lambda: "%s: removed" % good in q.log())
    q.wait(lambda: sorted(q.files("corrupt")) == ["ABCDE12345", "ABCDE12346"])
    assert q.files("incoming") == ["ABCDE12347"]        # still being written
    log = q.log()
    assert 'warning: saving corrupt file "ABCDE12345" from queue "incoming" to queue "corrupt"' in log
    assert 'warning: saving corrupt file "ABCDE12346" from queue "incoming" to queue "corrupt"' in log
    assert "warning: ABCDE12345: queue file incoming/ABCDE12345: unknown queue file format" in log


def test_crash_recovery_sigkill(q):
    q.set(default_destination_recipient_limit="1")
    q.start_agents("discard")
    q.qfile(["r%d@d%d.test" % (i, i % 7) for i in range(20)], count=40)
    q.start_qmgr()
    q.wait(lambda: 30 < len(sent_lines(q)), what="some deliveries")
    q.stop("qmgr", signal.SIGKILL)
    # a second crash right after the restart
    q.start_qmgr()
    time.sleep(0.2)
    q.stop("qmgr", signal.SIGKILL)
    q.start_qmgr()
    # (not the count of "removed" lines: a SIGKILL between a file's unlink and
    # its "removed" line loses that line, as it would in Postfix)
    q.wait(lambda: len(set(sent_lines(q))) == 800 and not q.files("active")
           and not q.files("incoming"), what="all delivered", timeout=60)
    sent = sent_lines(q)
    counts = {}
    for k in sent:
        counts[k] = counts.get(k, 0) + 1
    assert len(counts) == 800                       # nothing lost
    # each recipient at most once more per crash
    assert max(counts.values()) <= 3


def test_hand_removed_files(q):
    q.set(default_transport="retry:4.4.1 Host unreachable for test")
    q.start("error", "retry")
    ids = q.qfile(["x@remote.test"], count=3)
    q.start_qmgr()
    q.wait(lambda: len(q.files("deferred")) == 3)
    # seed 000: remove a message and its log by hand
    victim = ids[0]
    os.unlink(os.path.join(q.queue, "deferred", victim[0], victim))
    os.unlink(os.path.join(q.queue, "defer", victim[0], victim))
    out = q.run("postqueue", "-p").stdout.decode()
    assert victim not in out and "in 2 Requests." in out
    q.run("postqueue", "-f")
    q.wait(lambda: q.log().count("status=deferred") >= 5)
    assert "warning" not in q.log().replace("warning: connect", "")


def test_double_bounce(q):
    q.set(local_transport="error:5.1.1 unknown user")
    q.start("error")
    [qid] = q.qfile(["nosuch@mx.example.test"], sender="")
    q.start_qmgr()
    q.wait(lambda: "%s: removed" % qid in q.log())
    # Postfix 3.7 logs nothing more (checked): no notice, just "removed"
    assert "notification" not in q.log()
    assert q.files("incoming") == [] and q.files("deferred") == []


def test_double_bounce_to_postmaster(q):
    q.set(local_transport="error:5.1.1 unknown user", notify_classes="2bounce",
          **{"2bounce_notice_recipient": "pm@admin.test"},
          default_transport="retry:4.4.1 Host unreachable for test")
    q.start("error")
    q.start("error", "retry")
    [qid] = q.qfile(["nosuch@mx.example.test"], sender="")
    q.start_qmgr()
    q.wait(lambda: "postmaster non-delivery notification" in q.log())
    nid = re.search(r"postmaster non-delivery notification: (\w+)", q.log()).group(1)
    q.wait(lambda: nid in q.files("deferred"))
    env = q.run("postcat", "-eq", nid).stdout.decode()
    assert "sender: double-bounce\n" in env and "recipient: pm@admin.test" in env


def test_logs_are_pflogsumm_correct(q):
    """Our delivery log lines, with the syslog prefix the maillog module adds,
    give pflogsumm the right numbers."""
    import shutil
    import subprocess
    pflogsumm = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"  # not on a user's PATH
    if not os.path.exists(pflogsumm):
        pytest.skip("pflogsumm not installed")
    q.set(local_transport="error:5.1.1 unknown user",
          relay_domains="slow.test", relay_transport="retry:4.4.1 slow")
    q.start_agents("discard", "error")
    q.start("error", "retry")
    q.qfile(["a@remote.test", "b@remote.test"], count=3)            # 6 delivered
    q.qfile(["nosuch@mx.example.test"], sender="s@slow.test")       # 1 bounced
    q.qfile(["x@slow.test"], count=2)                                # 2 deferred
    q.start_qmgr()
    q.wait(lambda: q.log().count("status=sent") == 6 and q.log().count("status=bounced") == 1
           and q.log().count("status=deferred") >= 3)
    q.stop("qmgr")
    lines = []
    for l in q.log().splitlines():
        prog, _, text = l.partition(": ")
        lines.append("Nov 21 23:00:00 mx postfix/%s[4242]: %s" % (prog, text))
    r = subprocess.run([pflogsumm, "--problems-first"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True)
    out = r.stdout
    assert re.search(r"^\s+6\s+delivered$", out, re.M), out
    assert re.search(r"^\s+1\s+bounced$", out, re.M), out
    assert re.search(r"^\s+\d+\s+deferred\s+\(\s*\d+\s+deferrals\s*\)$", out, re.M), out


def test_transport_maps(q):
    tm = os.path.join(q.etc, "transport")
    with open(tm, "w") as f:
        f.write("special@remote.test error:5.7.1 go away\n"
                "ok.test discard:from-table\n"
                ".sub.test discard\n")
    q.set(transport_maps="texthash:" + tm, recipient_delimiter="+")
    q.start_agents("discard", "error")
    [qid] = q.qfile(["special+ext@remote.test", "a@ok.test", "b@x.sub.test", "c@remote.test"])
    q.start_qmgr()
    q.wait(lambda: "%s: removed" % qid in q.log())
    log = q.log()
    assert "to=<special+ext@remote.test>, relay=none" in log and "dsn=5.7.1, status=bounced (go away)" in log
    assert re.search(r"to=<a@ok.test>, relay=none.*status=sent \(from-table\)", log)
    assert re.search(r"to=<b@x.sub.test>, relay=none.*status=sent \(x.sub.test\)", log)
    assert re.search(r"to=<c@remote.test>, relay=none.*status=sent \(remote.test\)", log)


def test_large_queue_with_few_file_descriptors(q):
    """qmgr keeps no queue file open while a message waits: 300 active
    messages with 64 file descriptors are fine."""
    q.set(default_process_limit="10")
    q.start_agents("discard")
    q.qfile(["x@a.test"], count=300, queue="deferred")
    q.start("qmgr", "qmgr", os.path.join(q.queue, "public", "qmgr"), nofile=64)
    q.wait(lambda: q.log().count(": removed") == 300, what="300 removed", timeout=60)
    assert "warning" not in q.log()


def test_dead_destination_is_throttled(q):
    """An agent that reports the destination itself failing (status 3) gets
    at most two requests; the rest waits: 'delivery temporarily suspended'."""
    import socket
    import threading
    q.set(relay_domains="down.test", relay_transport="deadsite",
          initial_destination_concurrency="1", default_destination_recipient_limit="1",
          queue_run_delay="300s", minimal_backoff_time="300s", maximal_backoff_time="600s")
    path = os.path.join(q.queue, "private", "deadsite")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(16)
    seen = []

    def agent():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            data = b""
            while not data.endswith(b"\n\n"):
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
            attrs = [l.split("=", 1) for l in data.decode().splitlines() if "=" in l]
            qid = [v for k, v in attrs if k == "queue_id"][0]
            seen.append(qid)
            d = os.path.join(q.queue, "defer", qid[0])
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, qid), "a") as f:
                for k, v in attrs:
                    if k == "rcpt_address":
                        f.write("recipient=%s\nstatus=4.4.1\naction=delayed\n"
                                "reason=Host down for test\n\n" % v)
            c.sendall(b"status=3\n\n")
            c.close()

    t = threading.Thread(target=agent, daemon=True)
    t.start()
    ids = q.qfile(["u@down.test"], count=5)
    q.start_qmgr()
    q.wait(lambda: len(q.files("deferred")) == 5, what="all deferred")
    srv.close()
    assert len(seen) == 2
    log = q.log()
    assert log.count("status=deferred (delivery temporarily suspended: Host down for test)") == 3
    assert re.search(r"dsn=4\.4\.1, status=deferred \(delivery temporarily suspended", log)


def test_postsuper_expire(q):
    q.set(default_transport="retry:4.4.1 Host unreachable for test",
          relay_domains="sender.test", relay_transport="hold-me")
    q.start("error", "retry")
    [qid] = q.qfile(["far@far.test"], sender="s@sender.test")
    q.start_qmgr()
    q.wait(lambda: qid in q.files("deferred"))
    r = q.run("postsuper", "-e", qid)
    assert r.stderr.decode() == "postsuper: %s: expired\npostsuper: Force-expired: 1 message\n" % qid
    assert '"forced_expire": true' in q.run("postqueue", "-j").stdout.decode()
    q.run("postqueue", "-f", check=True)
    q.wait(lambda: "%s: from=<s@sender.test>, status=force-expired, returned to sender" % qid in q.log())
    assert "dsn=4.7.0, status=deferred (message is administratively expired)" in q.log()


def test_many_destinations(q):
    q.start_agents("discard")
    q.qfile(["u%d@d%d.test" % (i, i) for i in range(400)], count=2)
    q.start_qmgr()
    q.wait(lambda: q.log().count(": removed") == 2, what="2 removed", timeout=60)
    assert len(set(sent_lines(q))) == 800


def test_master_cf_maxproc_limits_transport(q):
    """The transport's master.cf maxproc caps parallel requests (here 1)."""
    import socket
    import threading
    with open(os.path.join(q.etc, "master.cf"), "w") as f:
        f.write("slow      unix  -       -       n       -       1       discard\n")
    q.set(relay_domains="slow.test", relay_transport="slow",
          default_destination_recipient_limit="1")
    path = os.path.join(q.queue, "private", "slow")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(16)
    conns = []

    def accept():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            conns.append(c)

    threading.Thread(target=accept, daemon=True).start()
    q.qfile(["u%d@d%d.slow.test" % (i, i) for i in range(5)])
    q.start_qmgr()
    q.wait(lambda: len(conns) >= 1, what="a request")
    time.sleep(0.5)                  # room for (wrong) parallel requests
    n = len(conns)
    srv.close()
    for c in conns:
        c.close()
    assert n == 1


def test_postmaster_copy_of_bounce(q):
    q.set(local_transport="error:5.1.1 unknown user", notify_classes="bounce",
          bounce_notice_recipient="pm@admin.test",
          default_transport="retry:4.4.1 Host unreachable for test")
    q.start("error")
    q.start("error", "retry")
    [qid] = q.qfile(["nosuch@mx.example.test"], sender="s@sender.test")
    q.start_qmgr()
    q.wait(lambda: "postmaster non-delivery notification" in q.log())
    log = q.log()
    assert "%s: sender non-delivery notification" % qid in log
    pid = re.search(r"%s: postmaster non-delivery notification: (\w+)" % qid, log).group(1)
    q.wait(lambda: pid in q.files("deferred"))
    env = q.run("postcat", "-eq", pid).stdout.decode()
    assert "sender: double-bounce\n" in env and "recipient: pm@admin.test" in env
    msg = notice(q, pid)
    assert msg["Subject"] == "Postmaster Copy: Undelivered Mail"
    parts = list(msg.iter_parts())
    assert parts[2].get_content_type() == "text/rfc822-headers"


def test_postqueue_s(q):
    q.set(default_transport="retry:4.4.1 Host unreachable for test", relay_domains="stud.test",
          relay_transport="retry:4.4.1 backup MX holds it",
          minimal_backoff_time="1000s", maximal_backoff_time="2000s", queue_run_delay="300s")
    q.start("error", "retry")
    [a] = q.qfile(["u@stud.test"])
    [b] = q.qfile(["u@other.test"])
    q.start_qmgr()
    q.wait(lambda: sorted(q.files("deferred")) == sorted([a, b]))
    r = q.run("postqueue", "-s", "other.test")
    assert r.returncode != 0
    assert 'postqueue: fatal: Flush service is not configured for destination "other.test"' \
        in r.stderr.decode()
    q.run("postqueue", "-s", "stud.test", check=True)
    q.wait(lambda: q.log().count("to=<u@stud.test>") == 2, what="stud.test retried")
    time.sleep(0.3)
    assert q.log().count("to=<u@other.test>") == 1


def test_bounce_matches_postfix_layout(q):
    """The whole non-delivery notice, line for line against the one Postfix
    3.7 wrote for the same failure (tests/golden/queue/pf-bounce-postcat.txt),
    with queue IDs, dates, host names and the returned message normalized."""
    q.set(local_transport='error:5.1.1 unknown user: "nosuch"', myhostname="pf.example.test",
          default_transport="retry:4.4.1 Host unreachable for test")
    q.start("error")
    q.start("error", "retry")
    [qid] = q.qfile(["nosuch@pf.example.test"], sender="sender@remote.test",
                    body="Subject: test bounce\nFrom: sender@remote.test\n\nHello body line.\n")
    q.start_qmgr()
    q.wait(lambda: "sender non-delivery notification" in q.log())
    bid = re.search(r"sender non-delivery notification: (\w+)", q.log()).group(1)
    q.wait(lambda: bid in q.files("deferred"))
    mine = q.run("postcat", "-bhq", bid).stdout.decode()
    gold = open(os.path.join(queue_lib.TOP, "tests/golden/queue/pf-bounce-postcat.txt")).read()
    gold = gold.split("*** MESSAGE CONTENTS deferred/E/E205CA72552 ***\n")[1].split("*** HEADER EXTRACTED")[0]

    def norm(text, ids):
        for i in ids:
            text = text.replace(i, "QID")
        text = re.sub(r"\w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)", "DATE", text)
        text = re.sub(r"<\d{14}\.QID@", "<STAMP.QID@", text)
        text = re.sub(r'QID\.\d+/', "QID.T/", text)
        # the returned message itself differs (Postfix's cleanup added headers)
        head, _, rest = text.partition("Content-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n")
        return head, rest.rsplit("\n--", 1)[1]
    assert norm(mine, [qid, bid]) == norm(gold, ["DC7EFA725C8", "E205CA72552"])


def test_delay_notice_matches_postfix_layout(q):
    reason = "connect to 127.0.0.1[127.0.0.1]:23999: Connection refused"
    q.set(myhostname="pf.example.test", delay_warning_time="2s",
          default_transport="retry:4.4.1 " + reason)
    q.start("error", "retry")
    [qid] = q.qfile(["someone@far.test"], sender="s2@remote.test",
                    args=["-t", str(int(time.time()) - 10)])
    q.start_qmgr()
    q.wait(lambda: "sender delay notification" in q.log())
    nid = re.search(r"sender delay notification: (\w+)", q.log()).group(1)
    q.wait(lambda: nid in q.files("deferred"))
    mine = q.run("postcat", "-bhq", nid).stdout.decode()
    gold = open(os.path.join(queue_lib.TOP, "tests/golden/queue/pf-delay-postcat.txt")).read()
    gold = gold.split("***\n", 2)[2].split("*** MESSAGE CONTENTS deferred/8/8BEEEA72013 ***\n")[-1]
    gold = gold.split("*** HEADER EXTRACTED")[0]

    def norm(text, ids):
        for i in ids:
            text = text.replace(i, "QID")
        text = re.sub(r"\w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)", "DATE", text)
        text = re.sub(r"<\d{14}\.QID@", "<STAMP.QID@", text)
        text = re.sub(r'QID\.\d+/', "QID.T/", text)
        head, _, rest = text.partition("Content-Type: text/rfc822-headers\nContent-Transfer-Encoding: 8bit\n\n")
        return head, rest.rsplit("\n--", 1)[1]
    assert norm(mine, [qid, nid]) == norm(gold, ["86C2BA72005", "8BEEEA72013"])


def test_orig_to_logged(q):
    q.start_agents("discard")
    [qid] = q.qfile(["user@remote.test"], args=["-O", "alias@mx.example.test"])
    q.start_qmgr()
    q.wait(lambda: "%s: removed" % qid in q.log())
    assert re.search(r"%s: to=<user@remote.test>, orig_to=<alias@mx.example.test>, relay=none, "
                     r"delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent "
                     r"\(remote.test\)" % qid, q.log())
