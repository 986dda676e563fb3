#!/usr/bin/env python3
"""Answer every DNS query on 127.0.0.1:PORT (UDP) with SERVFAIL (dnsmasq
forwards fail.test here: lookups that fail with a temporary error)."""
import socket
import sys


def serve(sock):
    while True:
        try:
            q, addr = sock.recvfrom(512)
        except OSError:                 # closed: the test is over
            return
        if len(q) < 12:
            continue
        # same ID and question; QR, RD copied, RA, RCODE 2; no records
        sock.sendto(q[:2] + bytes([0x80 | (q[2] & 0x01), 0x82]) + q[4:6] + bytes(6) + q[12:], addr)


if __name__ == "__main__":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    serve(s)
