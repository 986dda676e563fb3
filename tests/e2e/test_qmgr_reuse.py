"""Kept delivery-agent connections (docs/delivery-protocol.md).

qmgr writes the next request on a connection the agent offered to keep
(reply keep=1). A kept connection that the agent closes before it read the
request is retried on a new connection (no deferral); one it closes after
reading the request, without a reply, is a lost delivery (deferred). A fake
agent (a Python thread on private/discard) shows the connections; real
agents show the same by their log lines. No timing assertions.
"""
import os
import re
import select
import signal
import smtplib
import socket
import sys
import threading

import pytest

import queue_lib

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from postern import BIN, Instance, wait_until  # noqa: E402


@pytest.fixture
def q():
    inst = queue_lib.Instance()
    yield inst
    inst.close()


class FakeAgent:
    """Serves private/discard. mode: 'keep' (keep=1 after every reply),
    'close-unread' (keep=1, then close once the next request arrived, without
    reading it), 'die-after-read' (keep=1 for the first request; the second
    one is read and the connection closed without a reply)."""

    def __init__(self, q, mode):
        self.mode = mode
        self.path = os.path.join(q.queue, "private", "discard")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.listen(16)
        self.conns = 0
        self.requests = []          # (connection number, queue_id, rcpt)
        self.lock = threading.Lock()
        self.stop = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stop:
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if not r:
                continue
            c, _ = self.sock.accept()
            with self.lock:
                self.conns += 1
                n = self.conns
            threading.Thread(target=self.serve, args=(c, n), daemon=True).start()

    def read_request(self, f):
        attrs = {}
        for line in f:
            line = line.rstrip(b"\n")
            if not line:
                return attrs
            k, _, v = line.partition(b"=")
            attrs.setdefault(k.decode(), v.decode())
        return None

    def serve(self, c, n):
        f = c.makefile("rb")
        served = 0
        try:
            while True:
                if served and self.mode == "close-unread":
                    select.select([c], [], [], 30)      # the next request is there
                    return                              # close without reading it
                req = self.read_request(f)
                if req is None:
                    return
                if served and self.mode == "die-after-read":
                    return                              # read it, no reply
                with self.lock:
                    self.requests.append((n, req["queue_id"], req["rcpt_address"]))
                served += 1
                c.sendall(b"status=0\nlogs=0\nkeep=1\n\n")
        finally:
            f.close()
            c.close()


def three_rcpts(q):
    # three destinations, one agent process: three requests, one at a time
    q.set(default_process_limit="1")
    return q.qfile(["a@one.test", "b@two.test", "c@three.test"])


def test_one_connection_carries_the_requests(q):
    [qid] = three_rcpts(q)
    agent = FakeAgent(q, "keep")
    q.start_qmgr()
    q.wait(lambda: "%s: removed" % qid in q.log())
    assert sorted(r[2] for r in agent.requests) == ["a@one.test", "b@two.test", "c@three.test"]
    assert {r[0] for r in agent.requests} == {1}
    assert agent.conns == 1
    assert "warning" not in q.log()


def test_kept_connection_closed_by_agent_is_retried(q):
    [qid] = three_rcpts(q)
    agent = FakeAgent(q, "close-unread")
    q.start_qmgr()
    q.wait(lambda: "%s: removed" % qid in q.log())
    # each request was answered once, each on a new connection; nothing deferred
    assert sorted(r[2] for r in agent.requests) == ["a@one.test", "b@two.test", "c@three.test"]
    assert len({r[0] for r in agent.requests}) == 3
    log = q.log()
    assert "status=deferred" not in log and "warning" not in log
    assert q.files("deferred") == []


def test_agent_dying_after_reading_request_defers(q):
    [qid] = three_rcpts(q)
    agent = FakeAgent(q, "die-after-read")
    q.start_qmgr()
    q.wait(lambda: q.files("deferred") == [qid])
    log = q.log()
    # the first request was answered; the second may have been delivered
    # before the agent died: it is deferred, never silently sent again
    assert len(agent.requests) == 1
    assert re.search(r"warning: private/discard: unexpected end of reply", log)
    assert re.search(r"%s: to=<[^>]+>, relay=none, .*status=deferred "
                     r"\(mail transport unavailable\)" % qid, log)


def test_real_agent_killed_between_requests(q):
    q.start_agents("discard")
    [first] = q.qfile(["x@one.test"])
    q.start_qmgr()
    q.wait(lambda: "%s: removed" % first in q.log())
    # qmgr keeps the connection; the agent dies while idle, a new one starts
    q.stop("discard", signal.SIGKILL)
    q.start_agents("discard")
    [second] = q.qfile(["y@one.test"])
    q.trigger()
    q.wait(lambda: "%s: removed" % second in q.log())
    log = q.log()
    assert re.search(r"%s: to=<y@one.test>, .*status=sent" % second, log)
    assert "status=deferred" not in log and "warning" not in log


need_master = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, p)) for p in ("smtpd", "qmgr", "discard", "master")),
    reason="needs smtpd, qmgr, discard and master")


def discard_pids(inst):
    return re.findall(r"postfix/discard\[(\d+)\]: \w+: to=<[^>]*>.*status=sent", inst.log())


def warnings(inst):
    """Warnings about deliveries and agent processes."""
    return [l for l in inst.log_lines() if "warning:" in l
            and ("postfix/qmgr[" in l or "postfix/discard[" in l
                 or ("postfix/master[" in l and "services disabled" not in l
                     and "is not built yet" not in l))]


def send(inst, n, tag):
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    for i in range(n):
        s.sendmail("sender@example.org", ["%s%d@example.net" % (tag, i)],
                   "Subject: %d\r\n\r\nbody\r\n" % i)
    s.quit()


@need_master
def test_agent_max_use_bounds_requests():
    inst = Instance(main_cf={"default_transport": "discard", "local_transport": "discard",
                             "relay_transport": "discard", "max_use": "2"})
    try:
        inst.start()
        send(inst, 7, "u")
        wait_until(lambda: len(discard_pids(inst)) == 7, timeout=30)
        pids = discard_pids(inst)
        # max_use = 2 connections per process, 2 requests per kept connection:
        # a process serves at most 4 requests, then exits
        assert max(pids.count(p) for p in set(pids)) <= 4
        assert len(set(pids)) >= 2
        assert warnings(inst) == []
    finally:
        inst.stop()
        inst.cleanup()


@need_master
def test_reload_ends_agents_holding_kept_connections():
    inst = Instance(main_cf={"default_transport": "discard", "local_transport": "discard",
                             "relay_transport": "discard"})
    try:
        inst.start()
        send(inst, 1, "before")
        wait_until(lambda: len(discard_pids(inst)) == 1, timeout=30)
        [old] = discard_pids(inst)
        inst.reload()
        # the agent that held qmgr's kept connection drains and exits
        wait_until(lambda: not os.path.exists("/proc/%s" % old), timeout=30)
        send(inst, 1, "after")
        wait_until(lambda: len(discard_pids(inst)) == 2, timeout=30)
        assert warnings(inst) == []
    finally:
        inst.stop()
        inst.cleanup()


def listener_epoll_events(pid):
    """The epoll event masks registered for fd 6 (the first inherited listener)
    in the process's epoll instances, from /proc/PID/fdinfo."""
    out = []
    for fd in os.listdir("/proc/%s/fd" % pid):
        try:
            if "eventpoll" not in os.readlink("/proc/%s/fd/%s" % (pid, fd)):
                continue
            for line in open("/proc/%s/fdinfo/%s" % (pid, fd)):
                m = re.match(r"tfd:\s+(\d+)\s+events:\s+([0-9a-f]+)", line)
                if m and m.group(1) == "6":
                    out.append(int(m.group(2), 16))
        except OSError:
            pass
    return out


@need_master
def test_idle_agents_wait_exclusively_on_the_listener():
    """No thundering herd: each idle agent process registers the shared
    listening socket with EPOLLEXCLUSIVE, so a new connection wakes one of
    them, not all (the kernel's guarantee; here we check the registration)."""
    EPOLLEXCLUSIVE = 1 << 28
    inst = Instance(main_cf={"default_transport": "discard", "local_transport": "discard",
                             "relay_transport": "discard"})
    try:
        inst.start()
        send(inst, 3, "x")
        wait_until(lambda: len(discard_pids(inst)) == 3, timeout=30)
        pids = set(discard_pids(inst))
        # an idle agent (its kept connection idle or closed) listens again
        wait_until(lambda: all(listener_epoll_events(p) for p in pids), timeout=30)
        for p in pids:
            ev = listener_epoll_events(p)
            assert ev and all(e & EPOLLEXCLUSIVE for e in ev), (p, ev)
    finally:
        inst.stop()
        inst.cleanup()
