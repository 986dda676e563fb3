/*
 * Unit tests for maildir.c: one and many messages into one Maildir, with
 * O_TMPFILE and with the named tmp/NAME path; the Maildir is created when
 * missing; names follow Postfix's SECONDS.VdevIinoMusec.HOST; failures
 * (size limit, full file system, unwritable directory) leave nothing in
 * new/ or tmp/, and the others of a batch are still delivered.
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
#include <unistd.h>
#include <dirent.h>
#include <cmocka.h>

#include "maildir.h"
#include "vstr.h"

static int count_dir(const char *dir, const char *sub)
{
    char    path[512];
    DIR    *d;
    struct dirent *e;
    int     n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    if ((d = opendir(path)) == 0)
	return -1;
    while ((e = readdir(d)) != 0)
	if (e->d_name[0] != '.')
	    n++;
    closedir(d);
    return n;
}

static void slurp(const char *path, char *buf, size_t len)
{
    int     fd = open(path, O_RDONLY);
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, buf, len - 1);
    assert_true(n >= 0);
    buf[n] = 0;
    close(fd);
}

static void rm_rf(const char *dir)
{
    char    cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Postfix's name: SECONDS.VdevIinoMusec.HOST, ino = the file's inode. */
static void check_name(const char *path)
{
    const char *base = strrchr(path, '/') + 1;
    struct stat st;
    char    want[128];
    long    sec, usec;
    unsigned long dev, ino;

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(sscanf(base, "%ld.V%lxI%lxM%ld.", &sec, &dev, &ino, &usec), 4);
    assert_int_equal(ino, (unsigned long) st.st_ino);
    assert_int_equal(dev, (unsigned long) st.st_dev);
    snprintf(want, sizeof(want), "%ld.V%lxI%lxM%ld.", sec, dev, ino, usec);
    assert_int_equal(strncmp(base, want, strlen(want)), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

/* One message of a batch: data in, why and new_name allocated. */
static void msg_init(MAILDIR_MSG *m, const char *data)
{
    memset(m, 0, sizeof(*m));
    m->data = data;
    m->len = strlen(data);
    m->why = vstr_alloc(10);
    m->new_name = vstr_alloc(10);
}

static void msg_free(MAILDIR_MSG *m)
{
    vstr_free(m->why);
    vstr_free(m->new_name);
}

static void many(int tmpfile)
{
    char    dir[] = "/tmp/test_maildir.XXXXXX";
    char    md[300];
    char    buf[100];
    MAILDIR_MSG m[3];
    VSTR   *why[3], *name[3];
    const char *data[3] = {"one\n", "two two\n", "three\n"};
    int     i;

    maildir_use_tmpfile(tmpfile);
    assert_non_null(mkdtemp(dir));
    snprintf(md, sizeof(md), "%s/deep/Maildir/", dir);
    for (i = 0; i < 3; i++) {
	msg_init(m + i, data[i]);
	why[i] = m[i].why;
	name[i] = m[i].new_name;
    }
    /* The middle one is over the limit: 5.2.2; the others go through. */
    m[1].len = 8;
    assert_int_equal(maildir_deliver_many(md, m, 3, 7), 2);
    assert_int_equal(m[0].status, 0);
    assert_int_equal(m[1].status, -1);
    assert_string_equal(m[1].dsn, "5.2.2");
    assert_string_equal(vstr_str(why[1]), "error writing message: File too large");
    assert_int_equal(m[2].status, 0);
    slurp(vstr_str(name[0]), buf, sizeof(buf));
    assert_string_equal(buf, "one\n");
    slurp(vstr_str(name[2]), buf, sizeof(buf));
    assert_string_equal(buf, "three\n");
    check_name(vstr_str(name[0]));
    check_name(vstr_str(name[2]));
    assert_string_not_equal(vstr_str(name[0]), vstr_str(name[2]));
    assert_int_equal(count_dir(md, "new"), 2);
    assert_int_equal(count_dir(md, "tmp"), 0);
    assert_int_equal(count_dir(md, "cur"), 0);
    for (i = 0; i < 3; i++)
	msg_free(m + i);
    rm_rf(dir);
    maildir_use_tmpfile(1);
}

/*
 * More messages than one write-ahead chunk (maildir.c writes up to 32
 * files before it fsyncs and links them): every one arrives, with its
 * own content and name, in order, whatever the chunk boundaries.
 */
static void test_many_chunks(void **state)
{
    enum {N = 75};
    char    dir[] = "/tmp/test_maildir.XXXXXX";
    char    md[300];
    char    buf[100];
    char    data[N][32];
    MAILDIR_MSG m[N];
    VSTR   *name[N];
    int     i;

    assert_non_null(mkdtemp(dir));
    snprintf(md, sizeof(md), "%s/Maildir/", dir);
    for (i = 0; i < N; i++) {
	snprintf(data[i], sizeof(data[i]), "message %d\n", i);
	msg_init(m + i, data[i]);
	name[i] = m[i].new_name;
    }
    m[40].len = 200;				/* one failure mid-chunk */
    assert_int_equal(maildir_deliver_many(md, m, N, 100), N - 1);
    for (i = 0; i < N; i++) {
	if (i == 40) {
	    assert_int_equal(m[i].status, -1);
	    assert_string_equal(m[i].dsn, "5.2.2");
	    continue;
	}
	assert_int_equal(m[i].status, 0);
	slurp(vstr_str(name[i]), buf, sizeof(buf));
	assert_string_equal(buf, data[i]);
	check_name(vstr_str(name[i]));
    }
    assert_int_equal(count_dir(md, "new"), N - 1);
    assert_int_equal(count_dir(md, "tmp"), 0);
    for (i = 0; i < N; i++)
	msg_free(m + i);
    rm_rf(dir);
}

static void test_many_tmpfile(void **state)
{
    many(1);
}

static void test_many_named(void **state)
{
    many(0);
}

static void test_one(void **state)
{
    char    dir[] = "/tmp/test_maildir.XXXXXX";
    char    md[300];
    char    buf[100];
    VSTR   *why = vstr_alloc(10);
    VSTR   *name = vstr_alloc(10);
    char    dsn[8];
    int     i;

    assert_non_null(mkdtemp(dir));
    snprintf(md, sizeof(md), "%s/Maildir", dir);
    for (i = 0; i < 2; i++) {
	maildir_use_tmpfile(i == 0);
	assert_int_equal(maildir_deliver(md, "abc\n", 4, 0, name, why, dsn), 0);
	slurp(vstr_str(name), buf, sizeof(buf));
	assert_string_equal(buf, "abc\n");
	check_name(vstr_str(name));
    }
    assert_int_equal(count_dir(md, "new"), 2);
    assert_int_equal(count_dir(md, "tmp"), 0);
    maildir_use_tmpfile(1);
    vstr_free(why);
    vstr_free(name);
    rm_rf(dir);
}

/*
 * Not root: a Maildir whose tmp/ we may not write: 5.2.0 "create maildir
 * file DIR/tmp/SEC.PPID.HOST: Permission denied" (Postfix 3.7's text and
 * status); then new/: 4.2.0. Nothing delivered or left behind.
 */
static void test_unwritable(void **state)
{
    char    dir[] = "/tmp/test_maildir.XXXXXX";
    char    md[300];
    char    sub[320];
    VSTR   *why;
    char    dsn[8];
    int     i;

    if (geteuid() == 0)
	skip();
    why = vstr_alloc(10);
    assert_non_null(mkdtemp(dir));
    snprintf(md, sizeof(md), "%s/Maildir", dir);
    assert_int_equal(maildir_deliver(md, "abc\n", 4, 0, 0, why, dsn), 0);
    snprintf(sub, sizeof(sub), "%s/tmp", md);
    assert_int_equal(chmod(sub, 0500), 0);
    for (i = 0; i < 2; i++) {
	maildir_use_tmpfile(i == 0);
	assert_int_equal(maildir_deliver(md, "def\n", 4, 0, 0, why, dsn), -1);
	assert_string_equal(dsn, "5.2.0");
	{
	    char    want[400];

	    snprintf(want, sizeof(want), "create maildir file %s/tmp/", md);
	    assert_int_equal(strncmp(vstr_str(why), want, strlen(want)), 0);
	    snprintf(want, sizeof(want), ".P%ld.", (long) getpid());
	    assert_non_null(strstr(vstr_str(why), want));
	    assert_non_null(strstr(vstr_str(why), ": Permission denied"));
	}
    }
    maildir_use_tmpfile(1);
    assert_int_equal(count_dir(md, "new"), 1);
    assert_int_equal(chmod(sub, 0700), 0);
    /* new/ not writable: the link fails ("create maildir file NEW", 4.2.0), nothing stays in tmp/. */
    snprintf(sub, sizeof(sub), "%s/new", md);
    assert_int_equal(chmod(sub, 0500), 0);
    for (i = 0; i < 2; i++) {
	maildir_use_tmpfile(i == 0);
	assert_int_equal(maildir_deliver(md, "ghi\n", 4, 0, 0, why, dsn), -1);
	assert_string_equal(dsn, "4.2.0");
	assert_int_equal(strncmp(vstr_str(why), "create maildir file ", 20), 0);
	assert_non_null(strstr(vstr_str(why), "/new/"));
	assert_non_null(strstr(vstr_str(why), ": Permission denied"));
	assert_int_equal(count_dir(md, "tmp"), 0);
    }
    maildir_use_tmpfile(1);
    assert_int_equal(chmod(sub, 0700), 0);
    assert_int_equal(count_dir(md, "new"), 1);
    vstr_free(why);
    rm_rf(dir);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_one),
	cmocka_unit_test(test_many_tmpfile),
	cmocka_unit_test(test_many_chunks),
	cmocka_unit_test(test_many_named),
	cmocka_unit_test(test_unwritable),
    };

    return cmocka_run_group_tests(tests, 0, 0);
}
