"""Golden tests for postconf: run a case's commands and compare with real Postfix.

A case is a directory tests/golden/postconf/CASE/ with
    main.cf, master.cf   the configuration (master.cf may be absent)
    commands             one postconf command line per line (shell words,
                         without "postconf" and without -c); "#" comments
    expected             the transcript of real Postfix 3.7 running them
                         (written by tests/golden/postconf/regen.py)

Each command runs in a fresh copy of the case directory (so -e edits start
from the case's files). The transcript records stdout, stderr (sorted and
de-duplicated: Postfix prints some warnings in hash-table order, and some
several times), the exit status, and, for editing commands, the resulting
main.cf and master.cf.

What legitimately differs between Postfix and postern is filtered out of
both sides, and nothing else:
  - the scratch directory's name (replaced by @DIR@);
  - lines of parameters that carry the implementation's identity or the
    process: mail_name, mail_version, mail_release_date, process_id,
    daemon_directory (postern's daemons live in $PREFIX/libexec/postern),
    and postern's own parameters (named postern_*, which Postfix lacks),
    and values derived from them when expanded with -x (smtpd_banner,
    postscreen_greet_banner, milter_macro_v, debugger_command);
  - lines of parameters whose defaults come from this machine
    (myhostname, mydomain, mynetworks) in outputs of -d and of full
    listings without -n, so that the goldens stay valid on another host;
    they are compared live against the installed Postfix by
    test_postconf.py. (Cases that use -x set myhostname explicitly.)
"""
import os
import re
import shlex
import shutil
import subprocess
import tempfile

IDENTITY = {"mail_name", "mail_version", "mail_release_date", "process_id",
            "daemon_directory"}
DERIVED = {"smtpd_banner", "postscreen_greet_banner", "milter_macro_v",
           "debugger_command"}
MACHINE = {"myhostname", "mydomain", "mynetworks"}
EDIT_RE = re.compile(r"^-[A-Za-z#]*[eX#]")


def is_edit(args):
    if not args:
        return False
    if EDIT_RE.match(args[0]):
        return True
    return "=" in args[-1] and not any(a.startswith("-") for a in args)


def _filter_line(line, args):
    m = re.match(r"^([A-Za-z0-9_-]+) =( |$)", line)
    if not m:
        return line
    name = m.group(1)
    if name in IDENTITY or name.startswith("postern_"):
        return None
    flags = "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("-o"))
    if name in DERIVED and "x" in flags:
        return None
    explicit_names = [a for i, a in enumerate(args)
                      if not a.startswith("-") and (i == 0 or args[i - 1] != "-o")]
    if name in MACHINE and ("d" in flags or (not explicit_names and "n" not in flags)):
        return None
    return line


def normalize(text, args, dirpath):
    text = text.replace(dirpath, "@DIR@")
    out = []
    for line in text.splitlines():
        kept = _filter_line(line, args)
        if kept is not None:
            out.append(kept)
    return out


def read_commands(case_dir):
    cmds = []
    with open(os.path.join(case_dir, "commands")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            cmds.append(shlex.split(line))
    return cmds


def run_case(postconf, case_dir):
    """Run every command of a case with the given postconf; return the transcript."""
    out = []
    for args in read_commands(case_dir):
        tmp = tempfile.mkdtemp(prefix="pcg-")
        try:
            d = os.path.join(tmp, "conf")
            os.mkdir(d)
            for name in ("main.cf", "master.cf"):
                src = os.path.join(case_dir, name)
                if os.path.exists(src):
                    shutil.copy(src, os.path.join(d, name))
            env = dict(os.environ)
            env.pop("MAIL_CONFIG", None)
            env["LC_ALL"] = "C"
            r = subprocess.run([postconf, "-c", d] + args, capture_output=True,
                               text=True, env=env, timeout=60)
            out.append("### postconf " + " ".join(shlex.quote(a) for a in args))
            out.append("--- stdout")
            out.extend(normalize(r.stdout, args, d))
            out.append("--- stderr")
            err = normalize(r.stderr.replace(postconf, "postconf"),
                            args, d)
            out.extend(sorted(set(err)))
            out.append("--- exit %d" % r.returncode)
            if is_edit(args):
                for name in ("main.cf", "master.cf"):
                    p = os.path.join(d, name)
                    if os.path.exists(p):
                        out.append("--- " + name)
                        with open(p) as f:
                            out.extend(f.read().splitlines())
        finally:
            shutil.rmtree(tmp)
    return "\n".join(out) + "\n"


def cases(golden_dir):
    return sorted(c for c in os.listdir(golden_dir)
                  if os.path.isfile(os.path.join(golden_dir, c, "commands")))
