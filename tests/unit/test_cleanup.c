/* test_cleanup - address lists, address completion, dates (cleanup library). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#include <cmocka.h>

#include "argv.h"
#include "cleanup.h"
#include "mail_conf.h"
#include "rec_type.h"
#include "vstr.h"

static int setup(void **state)
{
    static char dir[] = "/tmp/test_cleanup.XXXXXX";
    char    path[256];
    FILE   *fp;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    fp = fopen(path, "w");
    fprintf(fp, "myhostname = mail.example.com\nmydomain = example.com\n"
	    "append_dot_mydomain = yes\n");
    fclose(fp);
    mail_conf_set_dir(dir);
    mail_conf_read();
    return (0);
}

static void check_list(const char *value, const char *want_out, const char *want_addrs)
{
    ARGV   *addrs = argv_alloc(4);
    VSTR   *out = vstr_alloc(64);
    char   *joined;

    cleanup_addr_list(value, addrs, out, 1);
    assert_string_equal(vstr_str(out), want_out);
    joined = argv_join(addrs, "|");
    assert_string_equal(joined, want_addrs);
    free(joined);
    argv_free(addrs);
    vstr_free(out);
}

static void test_addr_list(void **state)
{
    check_list(" root, bob", " root@mail.example.com, bob@mail.example.com", "root|bob");
    check_list(" Test User <alice>", " Test User <alice@mail.example.com>", "alice");
    check_list(" \"Doe, John\" <j@x.example>, k (Kay)",
	       " \"Doe, John\" <j@x.example>, k@mail.example.com (Kay)", "j@x.example|k");
    check_list(" friends: a, b@host;", " friends: a@mail.example.com, b@host.example.com;",
	       "a|b@host");
    check_list(" undisclosed-recipients:;", " undisclosed-recipients:;", "");
    check_list(" <@relay.example:u@d.example>", " <@relay.example:u@d.example>", "u@d.example");
}

static void test_complete(void **state)
{
    VSTR   *v = vstr_alloc(64);

    vstr_cpy(v, "root");
    cleanup_complete_addr(v);
    assert_string_equal(vstr_str(v), "root@mail.example.com");
    vstr_cpy(v, "u@host");
    cleanup_complete_addr(v);
    assert_string_equal(vstr_str(v), "u@host.example.com");
    vstr_cpy(v, "u@[10.0.0.1]");
    cleanup_complete_addr(v);
    assert_string_equal(vstr_str(v), "u@[10.0.0.1]");
    vstr_cpy(v, "");
    cleanup_complete_addr(v);
    assert_string_equal(vstr_str(v), "");
    vstr_free(v);
}

static void test_mail_date(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    /* Postfix pads the day of month with a space (%e). */
    assert_string_equal(mail_date(1794009600), "Sat,  7 Nov 2026 00:00:00 +0000 (UTC)");
    assert_string_equal(mail_date(1795304581), "Sat, 21 Nov 2026 23:43:01 +0000 (UTC)");
}

/*
 * A recycled queue file is rewritten under the claim's exclusive lock,
 * which is gone once the file has its queue name: qmgr takes a message
 * only if it can lock it (a locked one is "still being delivered"), and
 * smtpd keeps the file open until the session's commit is done.
 */
static void test_recycled_file_unlocked_once_named(void **state)
{
    char    qdir[] = "/tmp/test_cleanup_q.XXXXXX";
    char    cwd[1024];
    struct stat pooled, named;
    CLEANUP *cl;
    int     fd;

    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_non_null(mkdtemp(qdir));
    assert_int_equal(chdir(qdir), 0);
    assert_int_equal(mkdir("incoming", 0700), 0);
    assert_int_equal(mkdir("recycle", 0700), 0);
    fd = open("recycle/r.0", O_CREAT | O_WRONLY, 0700);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "old message bytes\n", 18), 18);
    assert_int_equal(fstat(fd, &pooled), 0);
    close(fd);

    cl = cleanup_open(0);
    assert_non_null(cl);
    cleanup_sender(cl, "a@example.com");
    cleanup_rcpt(cl, "b@example.com", 0, 0);
    cleanup_content(cl, REC_TYPE_NORM, "Subject: x", 10);
    cleanup_content(cl, REC_TYPE_NORM, "", 0);
    cleanup_content(cl, REC_TYPE_NORM, "body", 4);
    assert_int_equal(cleanup_finish(cl), 0);
    assert_int_equal(stat(cleanup_path(cl), &named), 0);
    assert_int_equal(named.st_ino, pooled.st_ino);	/* the recycled inode */
    fd = open(cleanup_path(cl), O_RDONLY);
    assert_true(fd >= 0);
    /* cl still has the file open: no lock of its own may remain. */
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    close(fd);
    cleanup_free(cl);
    assert_int_equal(chdir(cwd), 0);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_addr_list),
	cmocka_unit_test(test_complete),
	cmocka_unit_test(test_mail_date),
	cmocka_unit_test(test_recycled_file_unlocked_once_named),
    };

    return (cmocka_run_group_tests(tests, setup, 0));
}
