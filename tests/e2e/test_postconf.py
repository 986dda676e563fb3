"""postconf: golden transcripts captured from real Postfix 3.7, plus live checks.

The golden cases live in tests/golden/postconf/CASE/ (main.cf, master.cf,
commands, expected); tests/golden/postconf/regen.py rewrites the expected
transcripts from Debian's /usr/sbin/postconf. Lines that legitimately
differ (postern's identity: mail_name, mail_version, mail_release_date,
daemon_directory, process_id and values expanded from them; this host's
myhostname/mydomain/mynetworks defaults) are filtered from both sides, as
tests/lib/postconf_golden.py documents. Everything else must match byte for
byte: stdout, the set of stderr lines, the exit status, and the edited
main.cf/master.cf.
"""
import difflib
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import postconf_golden  # noqa: E402
import postern  # noqa: E402

GOLDEN = os.path.join(TOP, "tests", "golden", "postconf")
POSTCONF = postern.bin_path("postconf")
REAL = "/usr/sbin/postconf"


def run(*args, env=None):
    e = dict(os.environ)
    e.pop("MAIL_CONFIG", None)
    e.update(env or {})
    return subprocess.run([POSTCONF] + list(args), capture_output=True, text=True,
                          env=e, timeout=60)


@pytest.mark.parametrize("case", postconf_golden.cases(GOLDEN))
def test_golden(case):
    case_dir = os.path.join(GOLDEN, case)
    with open(os.path.join(case_dir, "expected")) as f:
        expected = f.read()
    got = postconf_golden.run_case(POSTCONF, case_dir)
    if got != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                            "expected (Postfix)", "postern", n=2))
        pytest.fail("postconf transcript differs for case %s:\n%s" % (case, diff[:20000]))


def _scratch(main_cf, master_cf=""):
    d = tempfile.mkdtemp(prefix="pct-")
    with open(os.path.join(d, "main.cf"), "w") as f:
        f.write(main_cf)
    with open(os.path.join(d, "master.cf"), "w") as f:
        f.write(master_cf)
    return d


def test_defaults_equal_postfix_base():
    """postconf -d with empty files: every default equals Postfix 3.7's."""
    d = _scratch("")
    try:
        r = run("-c", d, "-d")
        assert r.returncode == 0, r.stderr
        got = dict(l.split(" =", 1) for l in r.stdout.splitlines())
        # postern's own parameters (postern_*) have no Postfix counterpart.
        got = {n: v for n, v in got.items() if not n.startswith("postern_")}
        with open(os.path.join(TOP, "tests", "golden", "postfix", "postconf-d-base.txt")) as f:
            want = dict(l.rstrip("\n").split(" =", 1) for l in f)
        assert sorted(got) == sorted(want)
        skip = postconf_golden.IDENTITY | postconf_golden.MACHINE | {"config_directory"}
        bad = [n for n in want if n not in skip and got[n] != want[n]]
        assert bad == []
    finally:
        shutil.rmtree(d)


@pytest.mark.skipif(not os.path.exists(REAL), reason="Debian's postfix not installed")
@pytest.mark.parametrize("main_cf", ["", "mydomain = example.net\n",
                                     "myhostname = a.b.example\n",
                                     "mynetworks_style = host\n",
                                     "mynetworks_style = class\n",
                                     "inet_interfaces = 127.0.0.1\n"])
def test_machine_defaults_live(main_cf):
    """myhostname/mydomain/mynetworks computed like the installed Postfix on this host."""
    d = _scratch(main_cf, "smtp inet n - n - - smtpd\n")
    try:
        for flags in (["-d"], ["-x"], []):
            args = ["-c", d] + flags + ["myhostname", "mydomain", "mynetworks"]
            want = subprocess.run([REAL] + args, capture_output=True, text=True).stdout
            assert run(*args).stdout == want, (main_cf, flags)
    finally:
        shutil.rmtree(d)


STOCK = [("/usr/share/postfix/main.cf.dist", "/etc/postfix/master.cf"),
         ("/etc/postfix/main.cf", "/etc/postfix/master.cf"),
         (os.path.join(GOLDEN, "debian-stock", "main.cf"),
          os.path.join(GOLDEN, "debian-stock", "master.cf"))]


@pytest.mark.parametrize("main_cf,master_cf", STOCK)
def test_stock_files_read(main_cf, master_cf):
    """Debian's stock main.cf(.dist) and master.cf are read without a fatal error."""
    if not (os.path.exists(main_cf) and os.path.exists(master_cf)):
        pytest.skip("stock file not installed")
    d = tempfile.mkdtemp(prefix="pct-")
    try:
        shutil.copy(main_cf, os.path.join(d, "main.cf"))
        shutil.copy(master_cf, os.path.join(d, "master.cf"))
        for args in (["-n"], [], ["-M"], ["-F"], ["-P"], ["-x"]):
            r = run("-c", d, *args)
            assert r.returncode == 0, (args, r.stderr)
            assert "fatal" not in r.stderr
            assert r.stdout
    finally:
        shutil.rmtree(d)


def test_unknown_parameter_text():
    d = _scratch("myhostname = mail.example.com\n")
    try:
        r = run("-c", d, "nosuch")
        assert r.returncode == 0
        assert r.stderr == "postconf: warning: nosuch: unknown parameter\n"
        r = run("-c", d, "queue_directory")
        assert r.stdout == "queue_directory = /var/spool/postfix\n"
    finally:
        shutil.rmtree(d)


def test_mail_config_environment():
    d = _scratch("myorigin = example.com\n")
    try:
        r = run("-n", env={"MAIL_CONFIG": d})
        assert r.stdout == "config_directory = %s\nmyorigin = example.com\n" % d
    finally:
        shutil.rmtree(d)


def test_edit_is_atomic_and_keeps_mode():
    """-e rewrites main.cf through a temporary file and rename, keeping its mode."""
    d = _scratch("# c\nmyorigin = a\n")
    try:
        path = os.path.join(d, "main.cf")
        os.chmod(path, 0o640)
        ino = os.stat(path).st_ino
        r = run("-c", d, "-e", "myorigin=b", "relayhost=[x]")
        assert r.returncode == 0, r.stderr
        st = os.stat(path)
        assert st.st_mode & 0o7777 == 0o640
        assert st.st_ino != ino
        with open(path) as f:
            assert f.read() == "# c\nmyorigin = b\nrelayhost = [x]\n"
        assert [n for n in os.listdir(d) if n not in ("main.cf", "master.cf")] == []
    finally:
        shutil.rmtree(d)


def test_edit_file_without_final_newline():
    """Unlike Postfix (which glues the new entry to the last line), postern adds the newline."""
    d = _scratch("myorigin = a")
    try:
        assert run("-c", d, "-e", "relayhost=x").returncode == 0
        with open(os.path.join(d, "main.cf")) as f:
            assert f.read() == "myorigin = a\nrelayhost = x\n"
    finally:
        shutil.rmtree(d)


def test_fold_limits():
    """-f folds main.cf lines longer than 80 columns, master.cf lines at 80."""
    for n, lines in ((80, 1), (81, 2)):
        d = _scratch("myorigin = a " + "x" * (n - len("myorigin = a ")) + "\n")
        try:
            out = run("-c", d, "-nf", "myorigin").stdout
            assert len(out.splitlines()) == lines, out
        finally:
            shutil.rmtree(d)


def test_table_types():
    """-m lists the table types postern implements: Postfix's list minus memcache and nis."""
    r = run("-m")
    assert r.returncode == 0
    got = r.stdout.split()
    assert got == sorted(got)
    if os.path.exists(REAL):
        real = subprocess.run([REAL, "-m"], capture_output=True, text=True).stdout.split()
        assert set(got) <= set(real)
        assert set(real) - set(got) <= {"memcache", "nis", "mysql", "pgsql", "ldap", "sqlite"}


def test_lock_types():
    assert run("-l").stdout == "flock\nfcntl\ndotlock\n"


def test_params_def_is_generated():
    """src/global/mail_params.def is exactly what tools/gen_params.py makes (no hand edits)."""
    gen = subprocess.run([sys.executable, os.path.join(TOP, "tools", "gen_params.py"),
                          os.path.join(TOP, "tests", "golden", "postfix", "postconf-d-base.txt"),
                          os.path.join(TOP, "tools", "params-extra.txt")],
                         capture_output=True, text=True, check=True).stdout
    with open(os.path.join(TOP, "src", "global", "mail_params.def")) as f:
        assert f.read() == gen, ("mail_params.def differs from tools/gen_params.py output: "
                                 "edit tools/params-extra.txt or tools/params-postern.def "
                                 "and regenerate")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_edit_unwritable_directory():
    d = _scratch("a = 1\n")
    try:
        os.chmod(d, 0o555)
        r = run("-c", d, "-e", "a=2")
        assert r.returncode == 1
        assert r.stderr == "postconf: fatal: open %s/main.cf.tmp: Permission denied\n" % d
    finally:
        os.chmod(d, 0o755)
        shutil.rmtree(d)
