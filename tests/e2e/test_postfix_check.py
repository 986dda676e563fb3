"""`postfix check` and `postfix set-permissions` findings on scratch instances."""
import os
import re
import stat
import struct

import postern

QUIET_MASTER_CF = "postlog   unix-dgram n  -       n       -       1       postlogd\n"
PFX = "postfix/postfix-script: warning: "


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# alias_maps inside the instance: a host's Berkeley DB /etc/aliases.db would be reported.
OWN_ALIASES = {"alias_maps": "hash:$config_directory/aliases"}


def test_check_creates_queue_directories(make_instance):
    inst = make_instance(master_cf=QUIET_MASTER_CF, main_cf=OWN_ALIASES)
    r = inst.postfix("check")
    assert r.stderr == ""
    q = inst.queue_dir
    for d in ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold",
              "incoming", "private", "saved", "trace"):
        assert mode(os.path.join(q, d)) == 0o700, d
    assert mode(os.path.join(q, "maildrop")) == 0o730
    assert mode(os.path.join(q, "public")) == 0o710
    assert os.path.isdir(inst.data_dir)
    if postern.IS_ROOT:
        import grp
        import pwd
        st = os.stat(os.path.join(q, "maildrop"))
        assert st.st_uid == pwd.getpwnam("postfix").pw_uid
        assert st.st_gid == grp.getgrnam("postdrop").gr_gid
        assert os.stat(os.path.join(q, "incoming")).st_uid == pwd.getpwnam("postfix").pw_uid


def private_command_directory(inst):
    """set-permissions makes $command_directory/postdrop and postqueue setgid:
    never let it touch the shared build."""
    d = os.path.join(inst.dir, "bin")
    os.makedirs(d, exist_ok=True)
    inst.set_params(command_directory=d)
    return d


def test_check_reports_modes_and_writable_files(make_instance):
    inst = make_instance(master_cf=QUIET_MASTER_CF)
    private_command_directory(inst)
    inst.postfix("check")
    incoming = os.path.join(inst.queue_dir, "incoming")
    os.chmod(incoming, 0o755)
    main_cf = os.path.join(inst.dir, "main.cf")
    os.chmod(main_cf, 0o664)
    r = inst.postfix("check")
    lines = r.stderr.splitlines()
    assert PFX + "wrong permissions %s: 0755 (expected 0700)" % incoming in lines
    assert PFX + "group or other writable: %s" % main_cf in lines
    # set-permissions repairs the queue; the config file is the admin's.
    inst.postfix("set-permissions")
    assert mode(incoming) == 0o700
    assert "wrong permissions" not in inst.postfix("check").stderr


def test_check_reports_ownership(make_instance):
    inst = make_instance(master_cf=QUIET_MASTER_CF)
    private_command_directory(inst)
    inst.postfix("check")
    hold = os.path.join(inst.queue_dir, "hold")
    if postern.IS_ROOT:
        os.chown(hold, 0, 0)
        r = inst.postfix("check")
        assert PFX + "not owned by postfix: %s" % hold in r.stderr.splitlines()
        inst.postfix("set-permissions")
        assert "not owned" not in inst.postfix("check").stderr
    else:
        # An ordinary user's instance: the user owns everything; nothing to report.
        assert "not owned" not in inst.postfix("check").stderr


def test_check_reports_missing_programs(instance):
    r = instance.postfix("check")
    assert PFX + "master.cf service pickup/unix: missing program: %s" % \
        os.path.join(postern.BIN, "pickup") in r.stderr.splitlines() \
        or os.path.exists(os.path.join(postern.BIN, "pickup"))


def test_stock_master_cf_one_warning_in_process_services_silent(make_instance):
    """The stock master.cf: cleanup, trivial-rewrite, bounce and proxymap run
    in-process in postern, so nothing is said about them; the services that
    are really missing are named in one warning (check and start alike)."""
    instance = make_instance(main_cf=OWN_ALIASES)
    r = instance.postfix("check")
    lines = r.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(PFX + "master.cf: services disabled, missing program in %s: "
                               % postern.BIN), lines
    assert "smtp/unix (smtp)" in lines[0] and "scache/unix (scache)" in lines[0]
    assert "anvil/unix" not in lines[0]            # built (src/anvil)
    for quiet in ("cleanup", "rewrite", "bounce", "defer", "trace", "proxymap", "proxywrite"):
        assert " %s/unix" % quiet not in lines[0], lines[0]
    mark = len(instance.log())
    instance.start()
    log = [l for l in instance.log()[mark:].splitlines() if "warning" in l]
    assert len(log) == 1 and re.search(r"postfix/master\[\d+\]: warning: master\.cf: services "
                                       r"disabled, missing program in ", log[0]), log
    assert lines[0].split(": master.cf: ")[1] == log[0].split(": master.cf: ")[1]


def test_check_warns_about_berkeley_db_tables(make_instance):
    """A .db file in Berkeley DB format (left by Postfix) cannot be read: check says
    so with the lookup code's text, which tells how to rebuild the table."""
    inst = make_instance(master_cf=QUIET_MASTER_CF,
                         main_cf={"alias_maps": "hash:$config_directory/aliases",
                                  "canonical_maps": "btree:$config_directory/canon, "
                                                    "hash:$config_directory/fine"})
    for name in ("aliases", "canon"):
        with open(os.path.join(inst.dir, name + ".db"), "wb") as f:
            f.write(b"\0" * 12 + struct.pack("<I", 0x061561) + b"\0" * 4080)
    with open(os.path.join(inst.dir, "fine"), "w") as f:
        f.write("a b\n")
    assert inst.cmd("postmap", os.path.join(inst.dir, "fine")).returncode == 0
    r = inst.postfix("check")
    d = inst.dir
    assert sorted(r.stderr.splitlines()) == [
        PFX + "btree:%s/canon is unavailable. open database %s/canon.db: Berkeley DB format "
        "(written by Postfix) is not supported; rebuild the table with \"postmap btree:%s/canon\""
        % (d, d, d),
        PFX + "hash:%s/aliases is unavailable. open database %s/aliases.db: Berkeley DB format "
        "(written by Postfix) is not supported; rebuild the table with \"postalias "
        "hash:%s/aliases\"" % (d, d, d)]
    # newaliases fixes it
    with open(os.path.join(d, "aliases"), "w") as f:
        f.write("postmaster: root\n")
    assert inst.cmd("newaliases").returncode == 0
    assert "aliases" not in inst.postfix("check").stderr


def test_check_bad_master_cf_is_fatal(make_instance):
    inst = make_instance(master_cf=QUIET_MASTER_CF + "smtp inet n - n\n")
    r = inst.postfix("check", check=False)
    assert r.returncode == 1
    assert "fatal: " in r.stderr and "master.cf: line 2" in r.stderr


def test_check_bad_main_cf_is_fatal(make_instance):
    inst = make_instance(master_cf=QUIET_MASTER_CF)
    with open(os.path.join(inst.dir, "main.cf"), "a") as f:
        f.write("this is not a parameter\n")
    r = inst.postfix("check", check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("postfix: fatal: %s/main.cf, line " % inst.dir), r.stderr


def test_check_missing_queue_directory_is_fatal(make_instance):
    inst = make_instance(master_cf=QUIET_MASTER_CF)
    os.rmdir(inst.queue_dir)
    r = inst.postfix("check", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == "postfix: fatal: chdir(%s): No such file or directory" % inst.queue_dir


def test_check_warns_without_postlog_service(make_instance):
    inst = make_instance(master_cf="echo unix - - n - - testd\n")
    inst.use_daemon_dir({"testd": postern.TESTD})
    r = inst.postfix("check")
    assert (PFX + 'maillog_file is set, but %s/master.cf has no "postlog unix-dgram" '
            '(postlogd) service: processes that cannot open %s will not log'
            % (inst.dir, inst.maillog_path)) in r.stderr.splitlines()


def test_set_permissions_setgid_commands(make_instance):
    inst = make_instance(master_cf=QUIET_MASTER_CF)
    d = private_command_directory(inst)
    for name in ("postdrop", "postqueue"):
        with open(os.path.join(d, name), "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(os.path.join(d, name), 0o755)
    inst.postfix("set-permissions")
    if postern.IS_ROOT:
        import grp
        for name in ("postdrop", "postqueue"):
            st = os.stat(os.path.join(d, name))
            assert stat.S_IMODE(st.st_mode) == 0o2755
            assert st.st_gid == grp.getgrnam("postdrop").gr_gid
