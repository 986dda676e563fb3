"""Golden tests for lookup tables: one runner for real Postfix and postern.

run_all(bindir) runs every case of tests/golden/tables/ with the postmap and
postalias programs of bindir, in a scratch directory, and returns
{file name: text}. `python3 tests/lib/tables_golden.py --regen` runs it with
Debian's Postfix (/usr/sbin) and writes the results as the expected files
(tests/golden/tables/expected/); tests/e2e/test_tables_golden.py runs it with
postern and compares.

Normalization (documented differences, see docs/tables.md):
- stderr lines are de-duplicated (Postfix opens some tables several times
  per command and repeats their warnings);
- `-s` output is sorted (Postfix's hash: order is Berkeley DB hash order);
- postalias's YP_LAST_MODIFIED / YP_MASTER_NAME values are masked.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(os.path.dirname(HERE), "golden", "tables")
EXPECTED = os.path.join(GOLDEN, "expected")

FIXED_TYPES = ["hash", "btree", "lmdb", "cdb"]


MIME_MSG = b"""From: a@b
Subject: top
 folded
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

preamble
--XX
Content-Type: text/plain
X-Part: one

part one body
--XX
Content-Type: multipart/alternative;
 boundary=inner

--inner
Content-Type: text/html

<p>html</p>
--inner--
--XX
Content-Type: message/rfc822

Subject: inner
From: c@d

inner body
--XX--
epilogue
"""

# (program, arguments, standard input); run in order in one directory that
# holds "fixed" (postmap source, built as hash:, lmdb:, cdb:) and "aliases".
ERROR_CASES = [
    ("postmap", [], None),
    ("postalias", [], None),
    ("postmap", ["-q", "foo", "hash:missing"], None),
    ("postmap", ["-q", "foo", "lmdb:missing"], None),
    ("postmap", ["-q", "foo", "cdb:missing"], None),
    ("postmap", ["-q", "foo", "texthash:missing"], None),
    ("postmap", ["-q", "foo", "regexp:missing"], None),
    ("postmap", ["-q", "foo", "pcre:missing"], None),
    ("postmap", ["-q", "foo", "cidr:missing"], None),
    ("postmap", ["missing"], None),
    ("postmap", ["lmdb:missing"], None),
    ("postalias", ["missing"], None),
    ("postmap", ["regexp:fixed"], None),
    ("postmap", ["texthash:fixed"], None),
    ("postmap", ["-q", "foo", "bogus:fixed"], None),
    ("postmap", ["bogus:fixed"], None),
    ("postmap", ["hash:fixed"], None),
    ("postmap", ["-q", "foo", "fixed"], None),
    ("postmap", ["-q", "nothere", "fixed"], None),
    ("postmap", ["-q", "nothere", "hash:fixed", "lmdb:fixed"], None),
    ("postmap", ["-q", "-", "hash:fixed"], b""),
    ("postmap", ["-q", "-", "hash:fixed"], b"nothere\n"),
    ("postmap", ["-q", "foo", "fail:x"], None),
    ("postmap", ["-f", "-q", "FOO", "hash:fixed"], None),
    ("postmap", ["-s", "-q", "foo", "hash:fixed"], None),
    ("postmap", ["-d", "foo", "hash:fixed"], None),
    ("postmap", ["-d", "foo", "hash:fixed"], None),
    ("postmap", ["-q", "foo", "hash:fixed"], None),
    ("postmap", ["-d", "foo", "lmdb:fixed"], None),
    ("postmap", ["-d", "-", "lmdb:fixed"], b"baz\nnothere\n"),
    ("postmap", ["-q", "-", "lmdb:fixed"], b"foo\nbaz\nmulti\n"),
    ("postmap", ["-i", "hash:fixed"], b"new value\nMulti replaced?\nbad\n"),
    ("postmap", ["-q", "-", "hash:fixed"], b"new\nmulti\n"),
    ("postmap", ["-i", "-r", "hash:fixed"], b"multi replaced\n"),
    ("postmap", ["-q", "multi", "hash:fixed"], None),
    ("postmap", ["-i", "-w", "hash:fixed"], b"multi ignored\n"),
    ("postmap", ["-q", "multi", "hash:fixed"], None),
    ("postalias", ["-q", "root", "hash:aliases"], None),
    ("postalias", ["-q", "nothere", "hash:aliases"], None),
    ("postalias", ["-d", "root", "hash:aliases"], None),
    ("postalias", ["-q", "root", "hash:aliases"], None),
    ("postalias", ["-i", "hash:aliases"], b"root: x, y\nnocolon\n"),
    ("postalias", ["-q", "root", "hash:aliases"], None),
    ("postmap", ["-h", "-q", "-", "regexp:hc"],
     b"Subject: hello\n world\nFrom: x\n\nbody line\nsubject: in body\n"),
    ("postmap", ["-b", "-q", "-", "regexp:hc"],
     b"Subject: hello\n world\nFrom: x\n\nbody line\nsubject: in body\n"),
    ("postmap", ["-hb", "-q", "-", "regexp:hc"],
     b"Subject: hello\n world\nFrom: x\n\nbody line\nsubject: in body\n"),
    ("postmap", ["-s", "regexp:hc"], None),
    ("postmap", ["-s", "static:x"], None),
    ("postmap", ["-d", "x", "regexp:hc"], None),
    ("postmap", ["-d", "x", "texthash:fixed"], None),
    ("postmap", ["-i", "regexp:hc"], b""),
    ("postmap", ["-q", "root", "nis:mail.aliases"], None),
    ("postalias", ["-q", "root", "hash:aliases", "nis:mail.aliases"], None),
    ("postmap", ["-F", "lmdb:fsrc"], None),
    ("postmap", ["-F", "-s", "lmdb:fsrc"], None),
    ("postmap", ["-s", "lmdb:fsrc"], None),
    ("postmap", ["-F", "-q", "-", "lmdb:fsrc"], b"k2\nk1\nk3\n"),
    ("postmap", ["-F", "-i", "lmdb:fsrc"], b"k4 f2\nk5 nofile\n"),
    ("postmap", ["-F", "-q", "k4", "lmdb:fsrc"], None),
    ("postmap", ["-F", "-q", "k1", "texthash:th"], None),
    ("postmap", ["-F", "-s", "texthash:th"], None),
    ("postmap", ["-F", "-q", "k2", "inline:{k1=f1, {k2 = f1 f2}}"], None),
    ("postmap", ["-F", "-q", "k1", "inline:{k1=aGVsbG8K}"], None),
    ("postmap", ["-h", "-q", "foo", "regexp:hc"], None),
    ("postmap", ["-b", "fixed"], None),
    ("postmap", ["-m", "-s", "hash:fixed"], None),
    ("postmap", ["-m", "-q", "-", "regexp:all"], MIME_MSG),
    ("postmap", ["-h", "-q", "-", "regexp:all"], MIME_MSG),
    ("postmap", ["-b", "-q", "-", "regexp:all"], MIME_MSG),
    ("postmap", ["-m", "-h", "-q", "-", "regexp:all"], MIME_MSG),
    ("postmap", ["-m", "-b", "-q", "-", "regexp:all"], MIME_MSG),
    ("postmap", ["-q", "x", "environ:"], None),
    ("postmap", ["-q", "x", ":x"], None),
    ("postmap", ["-q", "x", "hash:"], None),
    ("postmap", ["hash:"], None),
    ("postmap", [":fixed"], None),
    ("postmap", [":missing"], None),
    ("postmap", ["bogus:missing"], None),
    ("postmap", ["regexp:missing"], None),
    ("postmap", ["-s", "hash:"], None),
    ("postmap", ["-q", "HOME", "environ:x"], None),
    ("postmap", ["-q", "k", "socketmap:unix:/nonexistent/socket:name"], None),
    ("postmap", ["-q", "k", "socketmap:bogus"], None),
    ("postmap", ["-q", "k", "socketmap:inet:x"], None),
    ("postmap", ["-q", "k", "socketmap:foo:bar:baz"], None),
    ("postmap", ["-N", "-q", "foo", "hash:fixed"], None),
    ("postmap", ["-n", "-q", "new", "hash:fixed"], None),
]


U8_QUERIES = "ключ\nКЛЮЧ\näBC\nok\nünïcödé\nÜNÏCÖDÉ\n".encode() + b"bad\xff\n"

UTF8_CASES = [
    ("postmap", ["lmdb:u8"], None),
    ("postmap", ["-s", "lmdb:u8"], None),
    ("postmap", ["-q", "-", "lmdb:u8"], U8_QUERIES),
    ("postmap", ["-q", "-", "texthash:u8"], U8_QUERIES),
    ("postmap", ["-u", "cdb:u8"], None),
    ("postmap", ["-u", "-q", "-", "cdb:u8"], U8_QUERIES),
    ("postmap", ["-q", "-", "cdb:u8"], U8_QUERIES),
    ("postmap", ["-q", "-", "inline:{ÄÖÜ=umlauts, {Ключ = значение}}"], "äöü\nключ\nКЛЮЧ\n".encode()),
    ("postalias", ["hash:u8"], None),
]


def _dedup(text):
    seen = set()
    out = []
    for line in text.splitlines():
        if line not in seen:
            seen.add(line)
            out.append(line)
    return "".join(l + "\n" for l in out)


def _mask(text):
    text = re.sub(r"(YP_LAST_MODIFIED:?\t)\d+", r"\1N", text)
    return re.sub(r"(YP_MASTER_NAME:?\t).*", r"\1HOST", text)


class Runner:
    def __init__(self, bindir, work, conf_name="conf", main_cf="# golden tests\n"):
        self.bindir = bindir
        self.work = work
        self.conf = os.path.join(work, conf_name)
        os.makedirs(self.conf, exist_ok=True)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main_cf)

    def run(self, prog, args, stdin=None):
        env = dict(os.environ)
        env["MAIL_CONFIG"] = self.conf
        env.pop("LANG", None)
        p = subprocess.run([os.path.join(self.bindir, prog), "-c", self.conf] + args,
                           input=stdin, cwd=self.work, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        # Program name as invoked; keep only the basename.
        return p.stdout.decode("utf-8", "replace"), _dedup(err), p.returncode

    def result(self, out, err, rc):
        return "rc=%d\n--- stdout\n%s--- stderr\n%s" % (rc, out, err)


def _copy(case, name, work, as_name=None):
    shutil.copy(os.path.join(GOLDEN, case, name), os.path.join(work, as_name or name))


def run_all(bindir):
    results = {}
    work = tempfile.mkdtemp(prefix="tables-golden-")
    try:
        r = Runner(bindir, work)
        # Fixed-string tables built by postmap.
        _copy("fixed", "source", work, "fixed")
        queries = open(os.path.join(GOLDEN, "fixed", "queries"), "rb").read()
        for t in FIXED_TYPES:
            out, err, rc = r.run("postmap", ["%s:fixed" % t])
            results["fixed.%s.build" % t] = r.result(out, err, rc)
            out, err, rc = r.run("postmap", ["-q", "-", "%s:fixed" % t], queries)
            results["fixed.%s.query" % t] = r.result(out, err, rc)
            if t != "cdb":
                out, err, rc = r.run("postmap", ["-s", "%s:fixed" % t])
                out = "".join(sorted(out.splitlines(True)))
                results["fixed.%s.show" % t] = r.result(out, err, rc)
        out, err, rc = r.run("postmap", ["-q", "-", "texthash:fixed"], queries)
        results["fixed.texthash.query"] = r.result(out, err, rc)
        out, err, rc = r.run("postmap", ["-f", "-q", "-", "texthash:fixed"], queries)
        results["fixed.texthash-f.query"] = r.result(out, err, rc)
        # A first line that starts with white space.
        _copy("fixed", "leading", work)
        q = open(os.path.join(GOLDEN, "fixed", "leading.queries"), "rb").read()
        out, err, rc = r.run("postmap", ["leading"])
        results["leading.build"] = r.result(out, err, rc)
        out, err, rc = r.run("postmap", ["-q", "-", "leading"], q)
        results["leading.query"] = r.result(out, err, rc)
        # Pattern tables.
        for t in ["regexp", "pcre", "cidr"]:
            _copy(t, "source", work, t)
            q = open(os.path.join(GOLDEN, t, "queries"), "rb").read()
            out, err, rc = r.run("postmap", ["-q", "-", "%s:%s" % (t, t)], q)
            results["%s.query" % t] = r.result(out, err, rc)
        # Aliases.
        _copy("alias", "source", work, "aliases")
        q = open(os.path.join(GOLDEN, "alias", "queries"), "rb").read()
        for t in ["hash", "lmdb", "cdb"]:
            out, err, rc = r.run("postalias", ["%s:aliases" % t])
            results["alias.%s.build" % t] = r.result(out, err, rc)
            out, err, rc = r.run("postalias", ["-q", "-", "%s:aliases" % t], q)
            results["alias.%s.query" % t] = r.result(out, err, rc)
        for t in ["hash", "lmdb"]:
            out, err, rc = r.run("postalias", ["-s", "%s:aliases" % t])
            out = _mask("".join(sorted(out.splitlines(True))))
            results["alias.%s.show" % t] = r.result(out, err, rc)
        # Table specifications without a file.
        q = open(os.path.join(GOLDEN, "spec", "queries"), "rb").read()
        specs = open(os.path.join(GOLDEN, "spec", "specs")).read().splitlines()
        text = ""
        for spec in specs:
            out, err, rc = r.run("postmap", ["-q", "-", spec], q)
            text += "=== %s\n%s" % (spec, r.result(out, err, rc))
        results["spec.query"] = text
        for name, text in (("f1", "hello\n"), ("f2", "world\n"),
                           ("fsrc", "k1 f1, f2\nk2 f1\nk3 missing\n"),
                           ("th", "k1 f1, f2\nk3 missing\n")):
            with open(os.path.join(work, name), "w") as f:
                f.write(text)
        with open(os.path.join(work, "hc"), "w") as f:
            f.write("/^subject:/ SUBJ\n/^body/ BODY\n")
        with open(os.path.join(work, "all"), "w") as f:
            f.write("/^/ MATCH\n")
        # Error paths and option handling (each command in sequence).
        text = ""
        for prog, args, stdin in ERROR_CASES:
            out, err, rc = r.run(prog, args, stdin)
            text += "=== %s %s\n%s" % (prog, " ".join(args), r.result(out, err, rc))
        results["errors"] = text
        # smtputf8_enable = yes: UTF-8 keys, Unicode case folding, -u, -U.
        u = Runner(bindir, work, "conf-utf8", "smtputf8_enable = yes\n")
        with open(os.path.join(work, "u8"), "wb") as f:
            f.write("КЛЮЧ v1\nÄbc v2\n".encode() + b"bad\xff v3\nok v4\n"
                    + "Ünïcödé Välüé\n".encode())
        text = ""
        for prog, args, stdin in UTF8_CASES:
            out, err, rc = u.run(prog, args, stdin)
            if "-s" in args:
                out = "".join(sorted(out.splitlines(True)))
            text += "=== %s %s\n%s" % (prog, " ".join(args), u.result(out, err, rc))
        results["utf8"] = text
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--regen":
        os.makedirs(EXPECTED, exist_ok=True)
        for name, text in run_all("/usr/sbin").items():
            with open(os.path.join(EXPECTED, name), "w") as f:
                f.write(text)
        print("wrote", EXPECTED)
    else:
        bindir = sys.argv[1]
        for name, text in sorted(run_all(bindir).items()):
            print("#####", name)
            print(text, end="")


if __name__ == "__main__":
    main()
