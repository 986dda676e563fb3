#!/bin/sh
# Capture Postfix 3.7's `postcat -oq` of the messages in send.py
# (tests/e2e/test_postcat_size.py). Needs a scratch Postfix instance
# (postfix -c CONF) on 127.0.0.1:PORT with mynetworks = 127.0.0.0/8,
# myhostname = pf.g2.test and defer_transports = smtp (mail stays queued).
# Usage: capture.sh CONF PORT OUTDIR
set -e
conf=$1 port=$2 out=$3
postsuper -c "$conf" -d ALL >/dev/null 2>&1 || true
python3 "$(dirname "$0")/send.py" "$port"
sleep 2
for id in $(postqueue -c "$conf" -j | python3 -c 'import json,sys
for l in sys.stdin: print(json.loads(l)["queue_id"])'); do
    name=$(postcat -c "$conf" -hq "$id" | sed -n 's/^Subject: \([a-z0-9-]*\).*/\1/p')
    postcat -c "$conf" -oq "$id" > "$out/pf-$name.txt"
done
