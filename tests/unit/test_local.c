/*
 * Unit tests for the local delivery core: mail_copy formats, local-part
 * quoting, sysexits mapping, pipe_command, maildir_deliver, mbox_open
 * locking and truncation, lock-style parsing, local_verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>
#include <cmocka.h>

#include "local_deliver.h"
#include "mail_conf.h"
#include "mail_copy.h"
#include "maildir.h"
#include "mbox_lock.h"
#include "pipe_command.h"
#include "rec_type.h"
#include "record.h"
#include "sys_exits.h"
#include "vstr.h"

static const char text[] = "Subject: hi\n\nFrom me\n>From you\nx From y\n";

static void test_mbox_format(void **state)
{
    VSTR   *out = vstr_alloc(10);
    MAIL_COPY_INFO info = {"a@b.example", "orig@x", "User@X", 1615302896, text, sizeof(text) - 1};

    setenv("TZ", "UTC", 1);
    tzset();
    mail_copy_format(out, &info, MAIL_COPY_MBOX);
    assert_string_equal(vstr_str(out),
			"From a@b.example  Tue Mar  9 15:14:56 2021\n"
			"Return-Path: <a@b.example>\n"
			"X-Original-To: orig@x\n"
			"Delivered-To: user@x\n"
			"Subject: hi\n\n>From me\n>From you\nx From y\n\n");
    mail_copy_format(out, &info, MAIL_COPY_MAILDIR);
    assert_string_equal(vstr_str(out),
			"Return-Path: <a@b.example>\nX-Original-To: orig@x\n"
			"Delivered-To: user@x\nSubject: hi\n\nFrom me\n>From you\nx From y\n");
    info.sender = "";
    mail_copy_format(out, &info, MAIL_COPY_COMMAND);
    assert_true(strncmp(vstr_str(out), "From MAILER-DAEMON  Tue Mar  9 15:14:56 2021\n"
			"Return-Path: <>\n", 61) == 0);
    /* A message without a final newline gets one. */
    info.text = "abc";
    info.text_len = 3;
    mail_copy_format(out, &info, MAIL_COPY_QUOTE);
    assert_string_equal(vstr_str(out), "abc\n");
    vstr_free(out);
}

static void test_quote_local(void **state)
{
    VSTR   *out = vstr_alloc(10);

    quote_822_local(out, "joe.user@example.com");
    assert_string_equal(vstr_str(out), "joe.user@example.com");
    quote_822_local(out, "joe user@example.com");
    assert_string_equal(vstr_str(out), "\"joe user\"@example.com");
    quote_822_local(out, "a..b@x");
    assert_string_equal(vstr_str(out), "\"a..b\"@x");
    quote_822_local(out, "");
    assert_string_equal(vstr_str(out), "");
    vstr_free(out);
}

static void test_sys_exits(void **state)
{
    assert_string_equal(sys_exits_detail(67)->text, "user unknown");
    assert_string_equal(sys_exits_detail(67)->dsn, "5.1.1");
    assert_string_equal(sys_exits_detail(75)->dsn, "4.3.0");
    assert_true(sys_exits_softerror(75));
    assert_false(sys_exits_softerror(64));
    assert_null(sys_exits_detail(2));
}

static int run(const char *command, long limit, VSTR *why, char *dsn)
{
    PIPE_CMD cmd;

    memset(&cmd, 0, sizeof(cmd));
    cmd.command = command;
    cmd.uid = getuid();
    cmd.gid = getgid();
    cmd.time_limit = limit;
    cmd.input = text;
    cmd.input_len = sizeof(text) - 1;
    return pipe_command(&cmd, why, dsn);
}

static void test_pipe_command(void **state)
{
    VSTR   *why = vstr_alloc(10);
    char    dsn[8];

    assert_int_equal(run("cat >/dev/null", 10, why, dsn), PIPE_STAT_OK);
    assert_int_equal(run("exit 75", 10, why, dsn), PIPE_STAT_DEFER);
    assert_string_equal(vstr_str(why), "temporary failure");
    assert_int_equal(run("echo oops; exit 67", 10, why, dsn), PIPE_STAT_BOUNCE);
    assert_string_equal(vstr_str(why), "user unknown. Command output: oops ");
    assert_string_equal(dsn, "5.1.1");
    assert_int_equal(run("exit 3", 10, why, dsn), PIPE_STAT_BOUNCE);
    assert_string_equal(vstr_str(why), "Command died with status 3: \"exit 3\"");
    assert_int_equal(run("echo 4.2.2 full; exit 1", 10, why, dsn), PIPE_STAT_DEFER);
    assert_string_equal(dsn, "4.2.2");
    assert_int_equal(run("kill -9 $$", 10, why, dsn), PIPE_STAT_DEFER);
    assert_string_equal(vstr_str(why), "Command died with signal 9: \"kill -9 $$\"");
    /* The command does not read its input: not an error. */
    assert_int_equal(run("true", 10, why, dsn), PIPE_STAT_OK);
    assert_int_equal(run("sleep 5", 1, why, dsn), PIPE_STAT_BOUNCE);
    assert_string_equal(vstr_str(why), "Command time limit exceeded: \"sleep 5\"");
    vstr_free(why);
}

static void test_maildir(void **state)
{
    char    dir[] = "/tmp/test_maildir.XXXXXX";
    VSTR   *path = vstr_alloc(10);
    VSTR   *name = vstr_alloc(10);
    VSTR   *why = vstr_alloc(10);
    char    dsn[8];
    char    buf[100];
    int     fd;
    ssize_t n;

    assert_non_null(mkdtemp(dir));
    vstr_fmt(path, "%s/Maildir/", dir);
    assert_int_equal(maildir_deliver(vstr_str(path), "abc\n", 4, 0, name, why, dsn), 0);
    assert_non_null(strstr(vstr_str(name), "/Maildir/new/"));
    fd = open(vstr_str(name), O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    assert_int_equal(n, 4);
    /* Over the size limit: 5.2.2, nothing left behind. */
    assert_int_equal(maildir_deliver(vstr_str(path), "abcdef\n", 7, 5, 0, why, dsn), -1);
    assert_string_equal(dsn, "5.2.2");
    vstr_fmt(path, "rm -rf %s", dir);
    assert_int_equal(system(vstr_str(path)), 0);
    vstr_free(path);
    vstr_free(name);
    vstr_free(why);
}

static void test_mbox_lock(void **state)
{
    char    dir[] = "/tmp/test_mbox.XXXXXX";
    VSTR   *path = vstr_alloc(10);
    VSTR   *why = vstr_alloc(10);
    char    dsn[8];
    MBOX   *mp;
    MBOX   *mp2;
    pid_t   pid;
    int     status;

    assert_int_equal(mbox_lock_mask("fcntl, dotlock"), MBOX_FCNTL_LOCK | MBOX_DOT_LOCK);
    assert_int_equal(mbox_lock_mask("flock"), MBOX_FLOCK_LOCK);
    assert_non_null(mkdtemp(dir));
    vstr_fmt(path, "%s/user", dir);
    mbox_lock_attempts = 1;
    mp = mbox_open(vstr_str(path), 0600, (uid_t) -1, (gid_t) -1,
		   MBOX_FCNTL_LOCK | MBOX_DOT_LOCK, "5.2.0", why, dsn);
    assert_non_null(mp);
    /* The dot-lock excludes a second opener in this process. */
    mp2 = mbox_open(vstr_str(path), 0600, (uid_t) -1, (gid_t) -1,
		    MBOX_DOT_LOCK, "5.2.0", why, dsn);
    assert_null(mp2);
    assert_string_equal(dsn, "4.2.0");
    /* The fcntl lock excludes another process. */
    pid = fork();
    if (pid == 0) {
	VSTR   *w = vstr_alloc(10);
	char    d[8];
	MBOX   *m = mbox_open(vstr_str(path), 0600, (uid_t) -1, (gid_t) -1,
			      MBOX_FCNTL_LOCK, "5.2.0", w, d);

	_exit(m == 0 && strcmp(d, "4.2.0") == 0 ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 0);
    mbox_release(mp);
    vstr_fmt(why, "%s.lock", vstr_str(path));
    assert_int_equal(access(vstr_str(why), F_OK), -1);
    /* Symlinks are refused. */
    vstr_fmt(why, "%s/link", dir);
    assert_int_equal(symlink(vstr_str(path), vstr_str(why)), 0);
    mp = mbox_open(vstr_str(why), 0600, (uid_t) -1, (gid_t) -1, 0, "5.2.0", path, dsn);
    assert_null(mp);
    assert_string_equal(dsn, "5.2.0");
    vstr_fmt(path, "rm -rf %s", dir);
    assert_int_equal(system(vstr_str(path)), 0);
    vstr_free(path);
    vstr_free(why);
    mbox_lock_attempts = 20;
}

typedef struct RESULT {
    int     count;
    char    text[10][200];
} RESULT;

static int collect(void *ctx, int stat, const LOCAL_RCPT *leaf, const char *dsn, const char *t)
{
    RESULT *r = ctx;

    if (r->count < 10)
	snprintf(r->text[r->count++], 200, "%d %s %s %s", stat, leaf->address, dsn, t);
    return 0;
}

static void test_local_verify(void **state)
{
    char    dir[] = "/tmp/test_lverify.XXXXXX";
    VSTR   *buf = vstr_alloc(10);
    RESULT  res;
    LOCAL_REPORT rep = {collect, 0, &res};
    FILE   *fp;

    assert_non_null(mkdtemp(dir));
    vstr_fmt(buf, "%s/main.cf", dir);
    fp = fopen(vstr_str(buf), "w");
    fprintf(fp, "alias_maps = texthash:%s/aliases\nmyhostname = h.example\n"
	    "mydestination = $myhostname, localhost\n", dir);
    fclose(fp);
    vstr_fmt(buf, "%s/aliases", dir);
    fp = fopen(vstr_str(buf), "w");
    /* texthash: postmap syntax, "key value" */
    fprintf(fp, "# comment\nlist a@far.example,\n  \"|cat\", /tmp/f.mail\nloop loop2\nloop2 loop\n");
    fclose(fp);
    mail_conf_set_dir(dir);
    mail_conf_read();
    local_deliver_init();
    memset(&res, 0, sizeof(res));
    assert_int_equal(local_verify("list@h.example", &rep), 0);
    assert_int_equal(res.count, 3);
    assert_string_equal(res.text[0], "0 a@far.example 2.0.0 forwards to a@far.example");
    assert_string_equal(res.text[1], "0 list@h.example 2.0.0 delivers to command: cat");
    assert_string_equal(res.text[2], "0 list@h.example 2.0.0 delivers to file: /tmp/f.mail");
    memset(&res, 0, sizeof(res));
    local_verify("no-such-user-here@h.example", &rep);
    assert_int_equal(res.count, 1);
    assert_string_equal(res.text[0],
	  "2 no-such-user-here@h.example 5.1.1 unknown user: \"no-such-user-here\"");
    memset(&res, 0, sizeof(res));
    local_verify("loop@h.example", &rep);
    assert_int_equal(res.count, 1);
    assert_string_equal(res.text[0],
			"2 loop2@h.example 5.4.6 alias database loop for loop2");
    vstr_fmt(buf, "rm -rf %s", dir);
    assert_int_equal(system(vstr_str(buf)), 0);
    vstr_free(buf);
}

static void test_local_msg_load(void **state)
{
    char    path[] = "/tmp/test_lmsg.XXXXXX";
    int     fd = mkstemp(path);
    FILE   *fp = fdopen(fd, "w");
    LOCAL_MSG msg;
    VSTR   *why = vstr_alloc(10);

    rec_fputs(fp, REC_TYPE_VERSION, "postern-queue 1");
    rec_fputs(fp, REC_TYPE_TIME, "1615302896 0");
    rec_fputs(fp, REC_TYPE_FROM, "a@b");
    rec_fputs(fp, REC_TYPE_ATTR, "log_client_address=10.0.0.1");
    rec_fputs(fp, REC_TYPE_ORCP, "Orig@X");
    rec_fputs(fp, REC_TYPE_RCPT, "u@x");
    rec_fputs(fp, REC_TYPE_RCPT, "v@x");
    rec_fputs(fp, REC_TYPE_MESG, "");
    rec_fputs(fp, REC_TYPE_NORM, "Delivered-To: Someone@Else");
    rec_fputs(fp, REC_TYPE_CONT, "Subject: long ");
    rec_fputs(fp, REC_TYPE_NORM, "line");
    rec_fputs(fp, REC_TYPE_NORM, "");
    rec_fputs(fp, REC_TYPE_NORM, "Delivered-To: not@header");
    rec_fputs(fp, REC_TYPE_XTRA, "");
    rec_fputs(fp, REC_TYPE_END, "");
    fclose(fp);
    assert_int_equal(local_msg_load(&msg, path, why), 0);
    assert_string_equal(msg.sender, "a@b");
    assert_int_equal(msg.arrival, 1615302896);
    assert_string_equal(msg.client_addr, "10.0.0.1");
    assert_int_equal(msg.rcpt->argc, 2);
    assert_string_equal(msg.orcpt->argv[0], "Orig@X");
    assert_string_equal(msg.orcpt->argv[1], "");
    assert_string_equal(vstr_str(msg.text),
	"Delivered-To: Someone@Else\nSubject: long line\n\nDelivered-To: not@header\n");
    assert_int_equal(msg.delivered_to->argc, 1);
    assert_string_equal(msg.delivered_to->argv[0], "someone@else");
    local_msg_free(&msg);
    /* A file without its end record is refused. */
    fp = fopen(path, "w");
    rec_fputs(fp, REC_TYPE_VERSION, "postern-queue 1");
    rec_fputs(fp, REC_TYPE_MESG, "");
    fclose(fp);
    assert_int_equal(local_msg_load(&msg, path, why), -1);
    assert_non_null(strstr(vstr_str(why), "premature end of queue file"));
    local_msg_free(&msg);
    unlink(path);
    vstr_free(why);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_mbox_format),
	cmocka_unit_test(test_quote_local),
	cmocka_unit_test(test_sys_exits),
	cmocka_unit_test(test_pipe_command),
	cmocka_unit_test(test_maildir),
	cmocka_unit_test(test_mbox_lock),
	cmocka_unit_test(test_local_verify),
	cmocka_unit_test(test_local_msg_load),
    };

    return cmocka_run_group_tests(tests, 0, 0);
}
