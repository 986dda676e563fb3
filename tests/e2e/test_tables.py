"""End-to-end tests for postmap, postalias, newaliases and the network
table clients (socketmap:, tcp:) against servers on loopback."""
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import threading

import pytest

import postern

REAL_POSTMAP = "/usr/sbin/postmap"
PORT_RANGE = (21000, 21999)


@pytest.fixture
def tdir():
    d = tempfile.mkdtemp(prefix="tables-e2e-")
    os.chmod(d, 0o755)
    conf = os.path.join(d, "conf")
    os.mkdir(conf)
    with open(os.path.join(conf, "main.cf"), "w") as f:
        f.write("alias_database = hash:%s/aliases, lmdb:%s/aliases2\n" % (d, d))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def run(tdir, prog, *args, stdin=None, preexec=None, argv0=None):
    env = dict(os.environ, MAIL_CONFIG=os.path.join(tdir, "conf"))
    path = postern.bin_path(prog)
    p = subprocess.run([argv0 or path] + list(args), executable=path,
                       input=stdin.encode() if isinstance(stdin, str) else stdin,
                       cwd=tdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, preexec_fn=preexec)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def write(tdir, name, text, mode=None):
    path = os.path.join(tdir, name)
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)
    return path


def test_query_exit_status_and_multiple_tables(tdir):
    write(tdir, "a", "k1 from-a\n")
    write(tdir, "b", "k1 from-b\nk2 from-b\n")
    assert run(tdir, "postmap", "a", "lmdb:b")[0] == 0
    assert run(tdir, "postmap", "-q", "k1", "hash:a", "lmdb:b")[:2] == (0, "from-a\n")
    assert run(tdir, "postmap", "-q", "k2", "hash:a", "lmdb:b")[:2] == (0, "from-b\n")
    rc, out, err = run(tdir, "postmap", "-q", "k3", "hash:a", "lmdb:b")
    assert (rc, out, err) == (1, "", "")
    rc, out, _ = run(tdir, "postmap", "-q", "-", "hash:a", "lmdb:b", stdin="k2\nk3\nk1\n")
    assert (rc, out) == (0, "k2\tfrom-b\nk1\tfrom-a\n")


def test_berkeley_db_file_gets_clear_message(tdir):
    """A .db left by Postfix (Berkeley DB) is refused with the command to run."""
    if not os.path.exists(REAL_POSTMAP):
        pytest.skip("Debian's postfix is not installed")
    write(tdir, "access", "example.com OK\n")
    env = dict(os.environ, MAIL_CONFIG=os.path.join(tdir, "conf"))
    subprocess.run([REAL_POSTMAP, "hash:access"], cwd=tdir, env=env, check=True)
    rc, out, err = run(tdir, "postmap", "-q", "example.com", "hash:access")
    assert rc == 1
    assert "postmap: fatal: open database access.db: Berkeley DB format" in err
    assert 'rebuild the table with "postmap hash:access"' in err
    # After rebuilding with postern, it works.
    assert run(tdir, "postmap", "hash:access")[0] == 0
    assert run(tdir, "postmap", "-q", "example.com", "hash:access")[:2] == (0, "OK\n")


def test_lmdb_and_cdb_files_interchangeable_with_postfix(tdir):
    """postern's lmdb: and cdb: files are the same format as Postfix's."""
    if not os.path.exists(REAL_POSTMAP):
        pytest.skip("Debian's postfix is not installed")
    write(tdir, "t", "Key value one\nother two\n")
    assert run(tdir, "postmap", "lmdb:t", "cdb:t")[0] == 0
    env = dict(os.environ, MAIL_CONFIG=os.path.join(tdir, "conf"))
    for t in ("lmdb", "cdb"):
        p = subprocess.run([REAL_POSTMAP, "-q", "key", "%s:t" % t], cwd=tdir, env=env,
                           stdout=subprocess.PIPE)
        assert p.stdout == b"value one\n"
    # And the other way round: postern reads what Postfix built.
    write(tdir, "u", "Key2 from postfix\n")
    subprocess.run([REAL_POSTMAP, "lmdb:u", "cdb:u"], cwd=tdir, env=env, check=True)
    for t in ("lmdb", "cdb"):
        assert run(tdir, "postmap", "-q", "KEY2", "%s:u" % t)[:2] == (0, "from postfix\n")
    assert run(tdir, "postmap", "-s", "lmdb:u")[:2] == (0, "key2\tfrom postfix\n")


def test_permissions_inherited_from_source(tdir):
    write(tdir, "t", "k v\n", mode=0o640)
    assert run(tdir, "postmap", "t")[0] == 0
    assert stat.S_IMODE(os.stat(os.path.join(tdir, "t.db")).st_mode) == 0o640
    assert run(tdir, "postmap", "-p", "cdb:t")[0] == 0
    assert stat.S_IMODE(os.stat(os.path.join(tdir, "t.cdb")).st_mode) == 0o644


def _as_nobody():
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)


def test_unreadable_files(tdir):
    write(tdir, "secret", "k v\n", mode=0o600)
    assert run(tdir, "postmap", "secret")[0] == 0
    os.chmod(os.path.join(tdir, "secret.db"), 0o600)
    os.chmod(os.path.join(tdir, "conf", "main.cf"), 0o644)
    write(tdir, "re", "/x/ y\n", mode=0o600)
    cases = [
        (["-q", "k", "hash:secret"], "postmap: fatal: open database secret.db: Permission denied\n"),
        (["-q", "k", "texthash:secret"], "postmap: fatal: open database secret: Permission denied\n"),
        (["-q", "k", "regexp:re"], "postmap: fatal: open re: Permission denied\n"),
        (["secret"], "postmap: fatal: open secret: Permission denied\n"),
    ]
    for args, expected in cases:
        rc, out, err = run(tdir, "postmap", *args, preexec=_as_nobody)
        if os.geteuid() != 0 and err == "":
            pytest.skip("running as a user who can read everything")
        assert (rc, err) == (1, expected)


def test_newaliases_and_sendmail_bi(tdir):
    write(tdir, "aliases", "Root: admin, ops\npostmaster: root\nbad line\n")
    write(tdir, "aliases2", "other: x\n")
    rc, out, err = run(tdir, "sendmail", argv0="newaliases")
    assert rc == 0, err
    assert err == "newaliases: warning: %s/aliases, line 3: need name:value pair\n" % tdir
    assert run(tdir, "postalias", "-q", "root", "hash:aliases")[:2] == (0, "admin, ops\n")
    assert run(tdir, "postalias", "-q", "other", "lmdb:aliases2")[:2] == (0, "x\n")
    write(tdir, "aliases", "root: changed\n")
    assert run(tdir, "sendmail", "-bi")[0] == 0
    assert run(tdir, "postalias", "-q", "root", "hash:aliases")[1] == "changed\n"
    write(tdir, "aliases", "root: again\n")
    assert run(tdir, "sendmail", "-I", "-C", os.path.join(tdir, "conf", "main.cf"))[0] == 0
    assert run(tdir, "postalias", "-q", "root", "hash:aliases")[1] == "again\n"
    # The sendmail alias entries Postfix adds.
    rc, out, _ = run(tdir, "postalias", "-s", "hash:aliases")
    keys = [l.split("\t")[0] for l in out.splitlines()]
    assert sorted(keys) == ["@:", "YP_LAST_MODIFIED:", "YP_MASTER_NAME:", "root:"]


def test_rebuild_is_atomic_under_concurrency(tdir):
    """Readers never see a half-built table; concurrent builds don't corrupt it."""
    big_a = "".join("key%d a%d\n" % (i, i) for i in range(20000)) + "probe A\n"
    big_b = "".join("key%d b%d\n" % (i, i) for i in range(20000)) + "probe B\n"
    write(tdir, "a", big_a)
    write(tdir, "b", big_b)
    assert run(tdir, "postmap", "lmdb:a")[0] == 0
    shutil.copy(os.path.join(tdir, "a"), os.path.join(tdir, "t"))
    assert run(tdir, "postmap", "lmdb:t")[0] == 0
    env = dict(os.environ, MAIL_CONFIG=os.path.join(tdir, "conf"))
    postmap = postern.bin_path("postmap")
    script = ("for i in 1 2 3 4 5 6; do cp {s} t.src.$$ && mv t.src.$$ t && %s lmdb:t || exit 9; done"
              % postmap)
    writers = [subprocess.Popen(["sh", "-c", script.format(s=s)], cwd=tdir, env=env)
               for s in ("a", "b")]
    seen = set()
    while any(w.poll() is None for w in writers):
        p = subprocess.run([postmap, "-q", "-", "lmdb:t"], input=b"probe\nkey19999\n",
                           cwd=tdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.decode().splitlines()
        assert lines in (["probe\tA", "key19999\ta19999"], ["probe\tB", "key19999\tb19999"]), lines
        seen.add(lines[0])
    assert all(w.wait() == 0 for w in writers)
    rc, out, _ = run(tdir, "postmap", "-s", "lmdb:t")
    assert rc == 0 and len(out.splitlines()) == 20001
    assert not [f for f in os.listdir(tdir) if ".tmp." in f]


def test_cdb_sequence_and_proxy_environ_randmap(tdir):
    write(tdir, "t", "b 2\na 1\n")
    assert run(tdir, "postmap", "cdb:t")[0] == 0
    rc, out, _ = run(tdir, "postmap", "-s", "cdb:t")
    assert sorted(out.splitlines()) == ["a\t1", "b\t2"]
    assert run(tdir, "postmap", "-q", "a", "proxy:cdb:t")[:2] == (0, "1\n")
    os.environ["POSTERN_TEST_VAR"] = "env-value"
    os.environ["postern_test_lower"] = "lower-value"
    try:
        # Keys are case-folded (as in Postfix): upper-case names need -f.
        assert run(tdir, "postmap", "-q", "POSTERN_TEST_VAR", "environ:x")[0] == 1
        assert run(tdir, "postmap", "-f", "-q", "POSTERN_TEST_VAR", "environ:x")[:2] == \
            (0, "env-value\n")
        assert run(tdir, "postmap", "-q", "POSTERN_TEST_LOWER", "environ:x")[:2] == \
            (0, "lower-value\n")
    finally:
        del os.environ["POSTERN_TEST_VAR"]
        del os.environ["postern_test_lower"]
    for _ in range(5):
        rc, out, _ = run(tdir, "postmap", "-q", "any", "randmap:{one, two, {three four}}")
        assert rc == 0 and out in ("one\n", "two\n", "three four\n")


def test_unix_tables_match_postfix(tdir):
    if not os.path.exists(REAL_POSTMAP):
        pytest.skip("Debian's postfix is not installed")
    env = dict(os.environ, MAIL_CONFIG=os.path.join(tdir, "conf"))
    for spec, key in [("unix:passwd.byname", "root"), ("unix:group.byname", "root"),
                      ("unix:passwd.byname", "no-such-user-x")]:
        real = subprocess.run([REAL_POSTMAP, "-q", key, spec], env=env, stdout=subprocess.PIPE)
        rc, out, _ = run(tdir, "postmap", "-q", key, spec)
        assert (rc, out) == (real.returncode, real.stdout.decode())


class _Server(threading.Thread):
    """A one-connection-at-a-time socketmap or tcp table server."""

    def __init__(self, kind, table):
        super().__init__(daemon=True)
        self.kind = kind
        self.table = table
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = postern.free_port(*PORT_RANGE)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(5)
        self.requests = []

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                f = conn.makefile("rb")
                while True:
                    if self.kind == "tcp":
                        line = f.readline()
                        if not line:
                            break
                        req = line.decode().rstrip("\n")
                        self.requests.append(req)
                        key = req[4:]
                        if key == "broken":
                            conn.sendall(b"400 backend trouble\n")
                        elif key in self.table:
                            conn.sendall(("200 %s\n" % self.table[key]).encode())
                        else:
                            conn.sendall(b"500 not found\n")
                    else:
                        n = b""
                        while True:
                            c = f.read(1)
                            if not c or c == b":":
                                break
                            n += c
                        if not n:
                            break
                        data = f.read(int(n))
                        f.read(1)
                        req = data.decode()
                        self.requests.append(req)
                        name, _, key = req.partition(" ")
                        if key == "broken":
                            reply = "TEMP backend trouble"
                        elif key in self.table.get(name, {}):
                            reply = "OK " + self.table[name][key]
                        else:
                            reply = "NOTFOUND "
                        conn.sendall(b"%d:%s," % (len(reply), reply.encode()))

    def stop(self):
        self.sock.close()


def test_socketmap_client(tdir):
    srv = _Server("socketmap", {"users": {"alice": "alice@example.com", "x": "y z"}})
    srv.start()
    try:
        spec = "socketmap:inet:127.0.0.1:%d:users" % srv.port
        assert run(tdir, "postmap", "-q", "alice", spec)[:2] == (0, "alice@example.com\n")
        rc, out, _ = run(tdir, "postmap", "-q", "-", spec, stdin="x\nnobody\nalice\n")
        assert (rc, out) == (0, "x\ty z\nalice\talice@example.com\n")
        assert srv.requests[:2] == ["users alice", "users x"]
        rc, out, err = run(tdir, "postmap", "-q", "broken", spec)
        assert rc == 1 and "query error" in err and "backend trouble" in err
    finally:
        srv.stop()


def test_tcp_client(tdir):
    srv = _Server("tcp", {"a%20b": "value%20with%25", "plain": "v"})
    srv.start()
    try:
        spec = "tcp:127.0.0.1:%d" % srv.port
        assert run(tdir, "postmap", "-q", "a b", spec)[:2] == (0, "value with%\n")
        assert run(tdir, "postmap", "-q", "plain", spec)[:2] == (0, "v\n")
        assert run(tdir, "postmap", "-q", "nothing", spec)[0] == 1
        assert srv.requests[0] == "get a%20b"
        rc, out, err = run(tdir, "postmap", "-q", "broken", spec)
        assert rc == 1 and "query error" in err
    finally:
        srv.stop()


def test_unreachable_server_is_an_error_not_a_miss(tdir):
    port = postern.free_port(*PORT_RANGE)
    rc, out, err = run(tdir, "postmap", "-q", "k", "tcp:127.0.0.1:%d" % port)
    assert rc == 1 and "query error" in err and "Connection refused" in err


def test_lmdb_grows_past_lmdb_map_size(tdir):
    """Tables larger than lmdb_map_size are built and updated (the map grows)."""
    with open(os.path.join(tdir, "conf", "main.cf"), "a") as f:
        f.write("lmdb_map_size = 1048576\n")
    write(tdir, "t", "".join("key%d value-%d-%s\n" % (i, i, "x" * 40) for i in range(30000)))
    assert run(tdir, "postmap", "lmdb:t")[0] == 0
    more = "".join("more%d v%d-%s\n" % (i, i, "y" * 40) for i in range(30000))
    rc, out, err = run(tdir, "postmap", "-i", "lmdb:t", stdin=more)
    assert (rc, err) == (0, "")
    rc, out, _ = run(tdir, "postmap", "-q", "-", "lmdb:t", stdin="key29999\nmore29999\n")
    assert out == "key29999\tvalue-29999-%s\nmore29999\tv29999-%s\n" % ("x" * 40, "y" * 40)
    assert os.path.getsize(os.path.join(tdir, "t.lmdb")) > 1048576


def test_unwritable_directory(tdir):
    sub = os.path.join(tdir, "ro")
    os.mkdir(sub)
    write(tdir, "ro/src", "k v\n", mode=0o644)
    os.chmod(sub, 0o555)
    try:
        for t, suffix in (("hash", "db"), ("lmdb", "lmdb")):
            rc, out, err = run(tdir, "postmap", "%s:ro/src" % t, preexec=_as_nobody)
            assert (rc, err) == (1, "postmap: fatal: open database ro/src.%s: Permission denied\n"
                                 % suffix)
        assert os.listdir(sub) == ["src"]
    finally:
        os.chmod(sub, 0o755)


def test_network_tables_match_postfix(tdir):
    """Same requests on the wire, same results and texts as Postfix's clients
    (except the errno text Postfix appends to "query error")."""
    if not os.path.exists(REAL_POSTMAP):
        pytest.skip("Debian's postfix is not installed")
    import re
    env = dict(os.environ, MAIL_CONFIG=os.path.join(tdir, "conf"))
    cases = [("tcp", {"a%20b": "value%20with%25", "plain": "v"},
              ["a b", "plain", "nothing", "broken", "x%y\t"]),
             ("socketmap", {"users": {"alice": "alice@x", "x": "y z"}},
              ["alice", "x", "nobody", "broken"])]
    for kind, table, keys in cases:
        seen = []
        for prog in (REAL_POSTMAP, postern.bin_path("postmap")):
            srv = _Server(kind, table)
            srv.start()
            try:
                spec = ("tcp:127.0.0.1:%d" if kind == "tcp"
                        else "socketmap:inet:127.0.0.1:%d:users") % srv.port
                outs = []
                for k in keys:
                    p = subprocess.run([prog, "-q", k, spec], env=env, capture_output=True,
                                       text=True, timeout=30)
                    err = p.stderr.replace(str(srv.port), "PORT")
                    err = re.sub(r"query error: .*", "query error: X", err)
                    outs.append((k, p.returncode, p.stdout, err))
                seen.append((srv.requests, outs))
            finally:
                srv.stop()
        assert seen[0] == seen[1]


def test_root_builds_as_source_owner(tdir):
    """As root, postmap builds with the source owner's privileges (-o: keep root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    nobody = pwd.getpwnam("nobody")
    sub = os.path.join(tdir, "owned")
    os.mkdir(sub)
    os.chmod(sub, 0o777)
    src = write(tdir, "owned/src", "k v\n")
    os.chown(src, nobody.pw_uid, nobody.pw_gid)
    assert run(tdir, "postmap", "lmdb:owned/src")[0] == 0
    assert os.stat(src + ".lmdb").st_uid == nobody.pw_uid
    assert run(tdir, "postmap", "-o", "cdb:owned/src")[0] == 0
    assert os.stat(src + ".cdb").st_uid == 0


def test_database_older_than_source_warning(tdir):
    """Postfix's warning when the source was edited (over 100 s ago) after the build."""
    import time as _time
    write(tdir, "t", "k v\n")
    assert run(tdir, "postmap", "hash:t", "lmdb:t", "cdb:t")[0] == 0
    now = _time.time()
    for suffix in ("db", "lmdb", "cdb"):
        os.utime(os.path.join(tdir, "t." + suffix), (now - 300, now - 300))
    os.utime(os.path.join(tdir, "t"), (now - 200, now - 200))
    for t, suffix in (("hash", "db"), ("lmdb", "lmdb"), ("cdb", "cdb")):
        rc, out, err = run(tdir, "postmap", "-q", "k", "%s:t" % t)
        assert (rc, out, err) == (0, "v\n", "postmap: warning: database t.%s is older than "
                                  "source file t\n" % suffix)
    # Edited just now: a rebuild may be under way, no warning.
    os.utime(os.path.join(tdir, "t"), None)
    assert run(tdir, "postmap", "-q", "k", "hash:t") == (0, "v\n", "")
