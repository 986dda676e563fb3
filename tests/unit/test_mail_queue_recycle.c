/* test_mail_queue_recycle - the recycle/ pool: bound, claims, safety checks, purge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail_conf.h"
#include "mail_queue.h"
#include "vstr.h"
#include "unit_support.h"

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/test_recycle.XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_file("main.cf", "postern_queue_recycle_limit = 2\n");
    mail_conf_set_dir(dir);
    mail_conf_read();
    assert_int_equal(chdir(dir), 0);		/* the "queue directory" */
    assert_int_equal(mkdir("active", 0700), 0);
    return (0);
}

static void make_active(const char *id, const char *text)
{
    char    path[128];
    FILE   *fp;

    snprintf(path, sizeof(path), "active/%s", id);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, 0700), 0);	/* a finished queue file */
}

static int count_names(char kind)
{
    char    path[64];
    int     n = 0;

    for (int i = 0; i < 8; i++) {
	snprintf(path, sizeof(path), "recycle/%c.%d", kind, i);
	n += (access(path, F_OK) == 0);
    }
    return (n);
}

/* The pool holds at most the limit; beyond it files are unlinked. */
static void test_bound(void **state)
{
    make_active("A1", "one");
    make_active("A2", "two");
    make_active("A3", "three");
    assert_int_equal(mail_queue_remove("active", "A1"), 0);
    assert_int_equal(mail_queue_remove("active", "A2"), 0);
    assert_int_equal(mail_queue_remove("active", "A3"), 0);
    assert_int_equal(access("active/A1", F_OK) + access("active/A2", F_OK)
		     + access("active/A3", F_OK), -3);
    assert_int_equal(count_names('r'), 2);
    /* a missing file is still an error for the caller */
    errno = 0;
    assert_int_equal(mail_queue_remove("active", "NOPE"), -1);
    assert_int_equal(errno, ENOENT);
}

/*
 * A claim is a private name, locked, its mode kept (a finished queue
 * file's 0700: cleanup needs no fchmod); the pool empties.
 */
static void test_claim(void **state)
{
    VSTR   *claim = vstr_alloc(32);
    struct stat st;
    int     fd1, fd2, fd3, other;

    fd1 = mail_queue_claim(claim, &st);
    assert_true(fd1 >= 0);
    assert_non_null(strstr(vstr_str(claim), "recycle/c."));
    assert_int_equal(fstat(fd1, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    other = open(vstr_str(claim), O_RDONLY);
    assert_true(other >= 0);
    assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);	/* the claimer holds it */
    close(other);
    assert_int_equal(unlink(vstr_str(claim)), 0);
    fd2 = mail_queue_claim(claim, &st);
    assert_true(fd2 >= 0);
    assert_int_equal(unlink(vstr_str(claim)), 0);
    fd3 = mail_queue_claim(claim, &st);
    assert_int_equal(fd3, -1);			/* pool empty: caller creates */
    assert_int_equal(count_names('r'), 0);
    close(fd1);
    close(fd2);
    vstr_free(claim);
}

/* A pooled file with a second name (fsck after a crash) is never reused. */
static void test_second_name_refused(void **state)
{
    VSTR   *claim = vstr_alloc(32);
    struct stat st;
    int     fd;

    make_active("KEEP", "precious");
    assert_int_equal(link("active/KEEP", "recycle/r.0"), 0);
    usleep(25000);				/* past the empty-pool pause */
    fd = mail_queue_claim(claim, &st);
    assert_int_equal(fd, -1);
    assert_int_equal(access("active/KEEP", F_OK), 0);
    assert_int_equal(stat("active/KEEP", &st), 0);
    assert_int_equal(st.st_nlink, 1);		/* the pool name is gone */
    vstr_free(claim);
}

/* A file of another uid (only root can make one here) stays in the pool. */
static void test_other_uid_left_alone(void **state)
{
    VSTR   *claim = vstr_alloc(32);
    struct stat st;

    if (geteuid() != 0) {
	skip();
	return;
    }
    write_file("recycle/r.1", "someone else's");
    {
	char    path[256];

	snprintf(path, sizeof(path), "%s/recycle/r.1", dir);
	assert_int_equal(chown(path, 65534, 65534), 0);
    }
    usleep(25000);
    assert_int_equal(mail_queue_claim(claim, &st), -1);
    assert_int_equal(count_names('r'), 1);
    assert_int_equal(count_names('c'), 0);
    assert_int_equal(mail_queue_recycle_purge("recycle", -1), 1);
    vstr_free(claim);
}

/* postsuper -p: claims older than the age; postfix start: everything. */
static void test_purge(void **state)
{
    struct timespec old[2] = {{time(0) - 7200, 0}, {time(0) - 7200, 0}};
    write_file("recycle/c.1.1", "old claim");
    write_file("recycle/c.1.2", "new claim");
    write_file("recycle/r.1", "pooled");
    write_file("recycle/other", "not ours");
    {
	char    path[256];

	snprintf(path, sizeof(path), "%s/recycle/c.1.1", dir);
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    }
    assert_int_equal(mail_queue_recycle_purge("recycle", 3600), 1);
    assert_int_equal(access("recycle/c.1.1", F_OK), -1);
    assert_int_equal(access("recycle/c.1.2", F_OK), 0);
    assert_int_equal(mail_queue_recycle_purge("recycle", -1), 2);
    assert_int_equal(access("recycle/r.1", F_OK), -1);
    assert_int_equal(access("recycle/other", F_OK), 0);	/* unknown names stay */
    assert_int_equal(mail_queue_recycle_purge("no-such-dir", -1), 0);
}

/* Off: plain unlink, nothing pooled. */
static void test_off(void **state)
{
    write_file("main.cf", "postern_queue_recycle = no\n");
    mail_conf_read();
    make_active("B1", "x");
    assert_int_equal(mail_queue_remove("active", "B1"), 0);
    assert_int_equal(access("active/B1", F_OK), -1);
    assert_int_equal(count_names('r'), 0);
    assert_false(mail_queue_recycle_enabled());
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_bound),
	cmocka_unit_test(test_claim),
	cmocka_unit_test(test_second_name_refused),
	cmocka_unit_test(test_other_uid_left_alone),
	cmocka_unit_test(test_purge),
	cmocka_unit_test(test_off),
    };

    return (cmocka_run_group_tests(tests, setup, 0));
}
