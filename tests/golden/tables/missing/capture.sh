#!/bin/sh
# Capture Postfix 3.7's replies and log lines for tables that cannot be
# opened (tests/e2e/test_table_unavailable.py). Needs a scratch Postfix
# instance (postfix -c CONF) listening on 127.0.0.1:PORT, with
# mynetworks = 127.0.0.0/8 and maillog_file = LOG. Table files live in CONF
# and do not exist; CONF is written as @DIR@ in the output.
# hash-alias.out: alias_maps = hash:CONF/noalias, `sendmail -f snd@ext.test someone`,
# the local(8) lines with queue ID, delays and myhostname normalized (by hand).
# Usage: capture.sh CONF PORT LOG OUTDIR
set -e
conf=$1 port=$2 log=$3 out=$4
run() {
    name=$1; shift
    postconf -c "$conf" -e "smtpd_client_restrictions =" "smtpd_sender_restrictions =" \
        "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination" \
        "transport_maps =" "$@"
    postfix -c "$conf" reload >/dev/null 2>&1; sleep 2
    mark=$(wc -l < "$log")
    python3 - "$port" > "$out/$name.out" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1])); s.ehlo("c.test")
s.mail("<snd@ext.test>")
for r in ("a@remote.test", "b@remote.test"):
    code, msg = s.rcpt("<%s>" % r)
    print("RCPT %s: %d %s" % (r, code, msg.decode()))
s.quit()
PY
    sleep 1
    tail -n +$((mark + 1)) "$log" | grep -v "${keep_connect:-connect from}\|postfix-script\|master\[" \
        | sed -e 's/^[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]* [^ ]* postfix\/\([a-z-]*\)\[[0-9]*\]: /\1: /' \
              -e "s|$conf|@DIR@|g" >> "$out/$name.out"
    sed -i "s|$conf|@DIR@|g" "$out/$name.out"
}
run cidr-client "smtpd_client_restrictions = check_client_access cidr:$conf/nocidr"
run texthash-sender "smtpd_sender_restrictions = check_sender_access texthash:$conf/notext"
run hash-recipient "smtpd_recipient_restrictions = check_recipient_access hash:$conf/nors, permit_mynetworks, reject_unauth_destination"
run hash-transport "transport_maps = hash:$conf/notrans"
# Opened when smtpd starts (error: before "connect from"), once per process
# although named in three places (two parameters).
keep_connect=disconnect
run hash-shared \
    "smtpd_sender_restrictions = check_sender_access hash:$conf/nors" \
    "smtpd_recipient_restrictions = check_recipient_access hash:$conf/nors, check_recipient_access hash:$conf/nors, permit_mynetworks, reject_unauth_destination"
unset keep_connect
