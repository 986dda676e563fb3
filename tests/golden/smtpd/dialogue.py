"""Run an SMTP dialogue scenario (scenarios.py) and return the transcript.

A line starting with "~" is sent (with CRLF) without waiting for a reply;
"=" sends the rest, with Python escapes (\\r, \\n), as raw bytes and waits."""
import socket
import time

def _reply(f):
    rep = []
    while True:
        try:
            line = f.readline()
        except ConnectionResetError:
            # The server closed first and our next command reached the
            # closed socket: the kernel answers with RST, and whether the
            # read sees the FIN (EOF) or the RST depends on timing. Both
            # mean the server hung up.
            line = b""
        if not line:
            rep.append("<EOF>")
            break
        line = line.decode("latin-1").rstrip("\r\n")
        rep.append(line)
        if len(line) < 4 or line[3] != "-":
            break
    return rep

def run(port, src, lines, host="127.0.0.1", timeout=20):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((host, port))
    f = s.makefile("rb")
    out = ["S: " + r for r in _reply(f)]
    pending = 0
    for line in lines:
        nowait = line.startswith("~")
        raw = line.startswith("=")
        text = line[1:] if nowait or raw else line
        out.append(("R: " if raw else "C: ") + text)
        data = text.encode("latin-1")
        if raw:
            data = data.decode("unicode_escape").encode("latin-1")
        else:
            data += b"\r\n"
        try:
            s.sendall(data)
        except OSError:
            out.append("S: <EOF>")
            break
        if nowait:
            continue
        rep = _reply(f)
        out += ["S: " + r for r in rep]
        if rep[-1] == "<EOF>":
            break
    s.close()
    return out
