#!/usr/bin/python3
"""Dump a (stopped) Postfix instance's queue as a state file for the golden
queue-tool tests: per message its queue, sender, recipients (done or not)
and content (postcat -bh). Usage: capture.py CONFIG_DIR > state.json"""
import json, os, subprocess, sys

conf = sys.argv[1]
j = subprocess.run(["postqueue", "-c", conf, "-j"], capture_output=True, text=True).stdout
state = []
for line in j.splitlines():
    m = json.loads(line)
    env = subprocess.run(["postcat", "-c", conf, "-eq", m["queue_id"]], capture_output=True, text=True).stdout
    rcpts = []
    for l in env.splitlines():
        if l.startswith("recipient: "):
            rcpts.append({"address": l[11:], "done": False})
        elif l.startswith("done_recipient: "):
            rcpts.append({"address": l[16:], "done": True})
    body = subprocess.run(["postcat", "-c", conf, "-bhq", m["queue_id"]], capture_output=True).stdout
    state.append({"queue": m["queue_name"], "id": m["queue_id"], "sender": m["sender"],
                  "arrival_time": m["arrival_time"], "size": m["message_size"],
                  "recipients": rcpts, "content": body.decode("utf-8", "replace")})
json.dump(state, sys.stdout, indent=1)
