#!/bin/sh
# policy_capture_dns.sh - capture DNS-based policy scenarios from real Postfix.
#
#   tools/policy_capture_dns.sh TEMPLATE_CONF_DIR tests/golden/policy/dns.scn ...
#
# Postfix resolves through the C library (/etc/resolv.conf, port 53), so this
# runs as root in a private network and mount namespace (unshare -n -m): its
# own loopback, dnsmasq on 127.0.0.1:53 serving the scenario's "dns" lines,
# /etc/resolv.conf bind-mounted to point there, and a scratch Postfix instance
# (copied from TEMPLATE_CONF_DIR: main.cf.base + master.cf with smtpd on
# 127.0.0.1:26025) — nothing leaves the namespace. postern's tests use
# postern_dns_servers instead (tests/e2e/test_policy_smtp.py).
set -eu
tmpl=$1; shift
top=$(cd "$(dirname "$0")/.." && pwd)
for scn in "$@"; do
    scn=$(cd "$(dirname "$scn")" && pwd)/$(basename "$scn")
    unshare -n -m sh -eu -c '
	top=$1 tmpl=$2 scn=$3
	ip link set lo up
	w=$(mktemp -d /tmp/pfdns.XXXXXX); chmod 755 "$w"
	mkdir -p "$w/conf" "$w/queue" "$w/data"; chown postfix "$w/data"
	cp "$tmpl/master.cf" "$w/conf/master.cf"
	grep -v "^\(queue_directory\|data_directory\|maillog_file\|maillog_file_prefixes\) *=" \
	    "$tmpl/main.cf.base" > "$w/conf/main.cf.base"
	printf "queue_directory = %s\ndata_directory = %s\nmaillog_file = %s\nmaillog_file_prefixes = %s\nsmtpd_peername_lookup = no\n" \
	    "$w/queue" "$w/data" "$w/maillog" "$w" >> "$w/conf/main.cf.base"
	cp "$w/conf/main.cf.base" "$w/conf/main.cf"
	{ echo "port=53"; echo "listen-address=127.0.0.1"; echo "bind-interfaces"
	  echo "no-resolv"; echo "no-hosts"; echo "server=/test/"
	  sed -n "s/^dns //p" "$scn"; } > "$w/dnsmasq.conf"
	dnsmasq -C "$w/dnsmasq.conf" -x "$w/dnsmasq.pid"
	echo "nameserver 127.0.0.1" > "$w/resolv.conf"
	mount --bind "$w/resolv.conf" /etc/resolv.conf
	touch "$w/maillog"
	postfix -c "$w/conf" start >/dev/null 2>&1
	sleep 2
	python3 "$top/tools/policy_capture.py" --postfix "$w/conf" --port 26025 --log "$w/maillog" "$scn"
	postfix -c "$w/conf" stop >/dev/null 2>&1 || true
	kill "$(cat "$w/dnsmasq.pid")" 2>/dev/null || true
	sleep 1
	rm -rf "$w"
    ' sh "$top" "$tmpl" "$scn"
done
