"""postlogd: datagrams holding several newline-terminated log lines.

Event-driven daemons collect the log lines of one event-loop turn into one
datagram (msg_log_socket_batch); postlogd must write each line on its own,
bounded and with control characters shown as '?', exactly as for
one-line datagrams.
"""
import os
import socket


def test_multi_line_datagram(instance):
    instance.start()
    path = os.path.join(instance.queue_dir, "public", "postlog")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"Nov 22 01:02:03 mx postfix/t1[7]: first\n"
             b"Nov 22 01:02:03 mx postfix/t1[7]: sec\x01ond\r\n"
             b"Nov 22 01:02:03 mx postfix/t1[7]: third\n", path)
    s.sendto(b"Nov 22 01:02:03 mx postfix/t2[8]: single", path)
    s.close()
    instance.wait_log(r"postfix/t2\[8\]: single$")
    lines = [l for l in instance.log_lines() if "postfix/t" in l]
    assert lines == ["Nov 22 01:02:03 mx postfix/t1[7]: first",
                     "Nov 22 01:02:03 mx postfix/t1[7]: sec?ond",
                     "Nov 22 01:02:03 mx postfix/t1[7]: third",
                     "Nov 22 01:02:03 mx postfix/t2[8]: single"]
    instance.stop()
