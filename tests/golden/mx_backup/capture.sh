#!/bin/sh
# Capture Postfix 3.7's RCPT replies and smtpd warnings for permit_mx_backup
# with failing DNS lookups (tests/e2e/test_policy_mx_backup.py), as root.
# Postfix resolves through /etc/resolv.conf (port 53), so everything runs in
# a private network and mount namespace (unshare -n -m): its own loopback,
# dnsmasq on 127.0.0.1:53 serving zone.conf, servfail.py on :5353 (fail.test),
# a bind-mounted resolv.conf. CONF: a scratch Postfix config directory with
# inet_interfaces = 127.0.0.1, inet_protocols = ipv4, mynetworks = 127.0.0.1/32,
# myhostname = mx.example.com, smtpd_peername_lookup = no, smtpd on
# 127.0.0.1:PORT, maillog_file = LOG, smtpd_relay_restrictions =
# permit_mx_backup, reject_unauth_destination. Output: pf-replies.txt, pf-log.txt.
# Usage: capture.sh CONF PORT LOG
set -e
here=$(cd "$(dirname "$0")" && pwd)
conf=$1 port=$2 log=$3
tmp=$(mktemp -d)
sed -e 's/@PORT@/53/' -e 's/@FAILPORT@/5353/' "$here/zone.conf" > "$tmp/zone.conf"
echo "nameserver 127.0.0.1" > "$tmp/resolv.conf"
: > "$here/pf-replies.txt"; : > "$here/pf-log.txt"
grep -v '^#' "$here/cases.txt" | while IFS='	' read -r nets rcpts; do
    [ "$nets" = - ] && nets=
    postconf -c "$conf" -e "permit_mx_backup_networks = $(echo "$nets" | sed "s|@CONF@|$conf|")"
    mark=$(wc -l < "$log")
    unshare -n -m --propagation private sh -c "
        ip link set lo up
        mount --bind $tmp/resolv.conf /etc/resolv.conf
        python3 $here/servfail.py 5353 & sf=\$!
        dnsmasq -k -C $tmp/zone.conf -x $tmp/dnsmasq.pid & dm=\$!
        sleep 1; postfix -c $conf start >/dev/null 2>&1; sleep 2
        python3 - $port $rcpts <<'PY'
import smtplib, sys
s = smtplib.SMTP(timeout=60, source_address=('127.0.0.9', 0))
s.connect('127.0.0.1', int(sys.argv[1])); s.ehlo('client.test'); s.mail('<a@exists.test>')
for r in sys.argv[2:]:
    c, m = s.rcpt('<%s>' % r)
    print('%s\t%s\t%d %s' % ('${nets:--}', r, c, m.decode()))
s.quit()
PY
        postfix -c $conf stop >/dev/null 2>&1; kill \$dm \$sf; sleep 1" >> "$here/pf-replies.txt"
    tail -n +$((mark + 1)) "$log" | grep 'smtpd\[' | grep -v 'connect from\|client=\|reject: RCPT' \
        | sed -e 's/^.* postfix\/smtpd\[[0-9]*\]: //' -e "s|$conf|@CONF@|g" >> "$here/pf-log.txt"
done
sed -i "s|$conf|@CONF@|g" "$here/pf-replies.txt"
rm -rf "$tmp"
