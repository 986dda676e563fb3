"""Tables that cannot be opened, as Postfix 3.7 reports them.

tests/golden/tables/missing/*.out were captured from Debian's Postfix 3.7.11
with capture.sh in that directory: the replies to two RCPT commands and the
log lines, for a missing cidr: table in check_client_access, texthash: in
check_sender_access, hash: in check_recipient_access (451 4.3.5 "Server
configuration error") and hash: in transport_maps (451 4.3.0 "Temporary
lookup failure"). Postfix logs "error: open ..." once when the table is
opened, then "TABLE is unavailable. REASON" and "TABLE lookup error for KEY"
on every use. hash-shared.out: smtpd opens its restriction tables when it
starts (the error comes before "connect from"), and one table named in two
parameters is opened, and its error logged, once.
"""
import os
import re
import smtplib

GOLD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "golden", "tables", "missing")
PREFIX = re.compile(r"^\w{3} [ \d]\d [\d:]+ \S+ postfix/([\w-]+)\[\d+\]: ")

CASES = {
    "cidr-client": {"smtpd_client_restrictions": "check_client_access cidr:@DIR@/nocidr"},
    "texthash-sender": {"smtpd_sender_restrictions": "check_sender_access texthash:@DIR@/notext"},
    "hash-recipient": {"smtpd_recipient_restrictions":
                       "check_recipient_access hash:@DIR@/nors, permit_mynetworks, "
                       "reject_unauth_destination"},
    "hash-transport": {"transport_maps": "hash:@DIR@/notrans"},
    # one table in two parameters (three places): opened when smtpd starts,
    # its error logged once, before "connect from" (kept in this golden)
    "hash-shared": {"smtpd_sender_restrictions": "check_sender_access hash:@DIR@/nors",
                    "smtpd_recipient_restrictions":
                    "check_recipient_access hash:@DIR@/nors, check_recipient_access "
                    "hash:@DIR@/nors, permit_mynetworks, reject_unauth_destination"},
}
KEEP_CONNECT = ("hash-shared",)


def gold(name):
    replies, logs = [], []
    for ln in open(os.path.join(GOLD, name + ".out")).read().splitlines():
        if ln.startswith("RCPT "):
            replies.append(ln)
        elif ln:
            logs.append(ln.split(": ", 1)[1])     # without the program name
    return replies, logs


def drop_keys(lines, keep):
    """Drop Postfix's trivial-rewrite lookups of keys that postern's in-process
    resolver does not make (its "*" probes at start-up and the sender)."""
    out, i = [], 0
    while i < len(lines):
        m = None
        if "is unavailable" in lines[i] and i + 1 < len(lines):
            m = re.search(r'lookup error for "(.*)"$', lines[i + 1])
        if m and m.group(1) not in keep:
            i += 2
            if i < len(lines) and lines[i] == "warning: transport_maps lookup failure":
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return out


def run_case(make_instance, name):
    inst = make_instance()
    params = {"mynetworks": "127.0.0.0/8", "alias_maps": "", "alias_database": ""}
    for k, v in CASES[name].items():
        params[k] = v.replace("@DIR@", inst.dir)
    inst.set_params(**params)
    inst.start()
    mark = len(inst.log())
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    s.ehlo("c.test")
    s.mail("<snd@ext.test>")
    replies = []
    for r in ("a@remote.test", "b@remote.test"):
        code, msg = s.rcpt("<%s>" % r)
        replies.append("RCPT %s: %d %s" % (r, code, msg.decode()))
    s.quit()
    logs = []
    for ln in inst.log()[mark:].splitlines():
        m = PREFIX.match(ln)
        if not m or m.group(1) != "smtpd":
            continue
        text = ln[m.end():].replace(inst.dir, "@DIR@")
        if text.startswith("disconnect from ") or (
                text.startswith("connect from ") and name not in KEEP_CONNECT):
            continue
        logs.append(text)
    return replies, logs


def check(make_instance, name):
    want_replies, want_logs = gold(name)
    replies, logs = run_case(make_instance, name)
    assert replies == want_replies
    if name == "hash-transport":
        want_logs = drop_keys(want_logs, ("a@remote.test", "b@remote.test"))
    assert logs == want_logs
    assert sum(1 for ln in logs if ln.startswith("error: ")) == 1


def test_missing_cidr_client_access(make_instance):
    check(make_instance, "cidr-client")


def test_missing_texthash_sender_access(make_instance):
    check(make_instance, "texthash-sender")


def test_missing_hash_recipient_access(make_instance):
    check(make_instance, "hash-recipient")


def test_missing_hash_transport_maps(make_instance):
    check(make_instance, "hash-transport")


def test_missing_table_opened_at_start_once(make_instance):
    check(make_instance, "hash-shared")


def test_missing_hash_alias_maps(instance):
    """local(8) with alias_maps = hash:MISSING: Postfix 3.7's four lines
    (hash-alias.out, from `sendmail someone` on Debian's Postfix)."""
    want = open(os.path.join(GOLD, "hash-alias.out")).read().splitlines()
    instance.set_params(alias_maps="hash:%s/noalias" % instance.dir, myhostname="pf.q1.test",
                        mydestination="pf.q1.test, localhost")
    instance.start()
    instance.cmd("sendmail", "-f", "snd@ext.test", "someone", input="Subject: s\n\nbody\n",
                 check=True)
    instance.wait_log(r"alias database unavailable")
    got = []
    for ln in instance.log().splitlines():
        m = PREFIX.match(ln)
        if not m or m.group(1) != "local":
            continue
        text = ln[m.end():].replace(instance.dir, "@DIR@").replace("pf.q1.test", "@HOST@")
        text = re.sub(r"^[0-9A-F]{6,}: ", "QID: ", text)
        text = re.sub(r"delay=[\d.]+, delays=[\d./]+", "delay=D, delays=D", text)
        got.append("local: " + text)
    assert got == want


def test_restriction_class_tables_opened_expanded(make_instance):
    """A restriction class names its table through $parameters: the table
    smtpd opens when it starts is the expanded one (no "error: open" for a
    literal "$name" path), and the class uses it."""
    inst = make_instance()
    with open(os.path.join(inst.dir, "senders"), "w") as fp:
        fp.write("bad@ext.test REJECT listed\n")
    inst.set_params(mynetworks="127.0.0.0/8", alias_maps="", alias_database="",
                    sender_dir=inst.dir, smtpd_restriction_classes="from_check",
                    from_check="check_sender_access texthash:$sender_dir/senders",
                    smtpd_sender_restrictions="from_check")
    inst.start()
    mark = len(inst.log())
    s = smtplib.SMTP("127.0.0.1", inst.smtp_port, timeout=30)
    s.ehlo("c.test")
    s.mail("<bad@ext.test>")
    code, msg = s.rcpt("<a@remote.test>")
    s.quit()
    assert (code, msg.decode()) == (554, "5.7.1 <bad@ext.test>: Sender address rejected: listed")
    errors = [ln for ln in inst.log()[mark:].splitlines()
              if PREFIX.match(ln) and ("error:" in ln or "warning:" in ln)]
    assert errors == []
