/*
 * test_qfile - queue file versions (docs/queue-format.md): a version 1
 * file (five-field size record counted from M, SMTPUTF8 as an attribute)
 * and a version 2 file (Postfix 3.7's six fields, counted from the record
 * after M) of the same message read the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "mail_conf.h"
#include "qfile.h"
#include "rec_type.h"
#include "record.h"
#include "safe_file.h"
#include "vstr.h"

/* Write one message; version 1 or 2. data_fix: added to the content offset. */
static long write_qfile(FILE *fp, int version, long data_fix)
{
    long    size_off, m_off, x_off;
    char    buf[128];

    rewind(fp);
    if (ftruncate(fileno(fp), 0) != 0)
	fail();
    rec_fputs(fp, REC_TYPE_VERSION, version == 1 ? REC_QUEUE_VERSION_1 : REC_QUEUE_VERSION);
    size_off = ftell(fp);
    snprintf(buf, sizeof(buf), REC_TYPE_SIZE_FORMAT, 0L, 0L, 0L, 0L, 0L, 0L);
    rec_fputs(fp, REC_TYPE_SIZE, version == 1 ? buf + 16 : buf);	/* 5 or 6 fields */
    rec_fputs(fp, REC_TYPE_TIME, "1615302896 0");
    rec_fputs(fp, REC_TYPE_FROM, "a@b");
    if (version == 1)
	rec_fputs(fp, REC_TYPE_ATTR, "smtputf8=1");
    rec_fputs(fp, REC_TYPE_ORCP, "Orig@X");
    rec_fputs(fp, REC_TYPE_RCPT, "u@x");
    rec_fputs(fp, REC_TYPE_RCPT, "v@x");
    m_off = ftell(fp);
    rec_fputs(fp, REC_TYPE_MESG, "");
    rec_fputs(fp, REC_TYPE_NORM, "Subject: s");
    rec_fputs(fp, REC_TYPE_NORM, "");
    rec_fputs(fp, REC_TYPE_NORM, "body");
    x_off = ftell(fp);
    rec_fputs(fp, REC_TYPE_XTRA, "");
    rec_fputs(fp, REC_TYPE_END, "");
    if (version == 1)
	snprintf(buf, sizeof(buf), "%15ld %15ld %15ld %15ld %15ld", x_off - m_off, m_off,
		 2L, 0L, 22L);
    else
	snprintf(buf, sizeof(buf), REC_TYPE_SIZE_FORMAT, x_off - m_off - 2, m_off + 2 + data_fix,
		 2L, 0L, x_off - m_off - 2, (long) SMTPUTF8_FLAG_REQUESTED);
    fseek(fp, size_off + 2, SEEK_SET);
    fputs(buf, fp);
    fflush(fp);
    return (m_off);
}

static void test_versions_read_alike(void **state)
{
    FILE   *fp = tmpfile();
    VSTR   *why = vstr_alloc(10);
    QFILE_INFO v1, v2;
    long    m1, m2;

    (void) state;
    m1 = write_qfile(fp, 1, 0);
    assert_int_equal(qfile_read(fp, &v1, why), 0);
    m2 = write_qfile(fp, 2, 0);
    assert_int_equal(qfile_read(fp, &v2, why), 0);
    assert_int_equal(v1.version, 1);
    assert_int_equal(v2.version, 2);
    /* In memory both count from the M record. */
    assert_int_equal(v1.data_offset, m1);
    assert_int_equal(v2.data_offset, m2);
    assert_int_equal(v1.content_size, v2.content_size);
    assert_int_equal(v2.content_size, 2 + 12 + 2 + 6);
    assert_int_equal(v1.rcpt_count, 2);
    assert_int_equal(v2.rcpt_count, 2);
    assert_int_equal(v1.smtputf8, SMTPUTF8_FLAG_REQUESTED);
    assert_int_equal(v2.smtputf8, SMTPUTF8_FLAG_REQUESTED);
    assert_int_equal(v1.nrcpt, 2);
    assert_int_equal(v2.nrcpt, 2);
    assert_true(v1.complete && v2.complete);
    qfile_info_free(&v1);
    qfile_info_free(&v2);
    /* A content offset that does not follow the M record: corrupt. */
    write_qfile(fp, 2, 1);
    assert_int_equal(qfile_read(fp, &v2, why), -1);
    assert_non_null(strstr(vstr_str(why), "size record says"));
    qfile_info_free(&v2);
    fclose(fp);
    vstr_free(why);
}

/*
 * A size record with absurd numbers (a damaged or hostile file) is "bad
 * size record" for both versions, not arithmetic past LONG_MAX (the asan
 * build traps signed overflow).
 */
static void test_size_record_bounds(void **state)
{
    static const char *const recs[][2] = {
	{REC_QUEUE_VERSION, "9223372036854775807             200               1               0               0               0"},
	{REC_QUEUE_VERSION, "            100 9223372036854775807               1               0               0               0"},
	{REC_QUEUE_VERSION_1, "9223372036854775807             200               1               0               0"},
	{REC_QUEUE_VERSION_1, "            100 9223372036854775806               1               0               0"},
    };
    VSTR   *why = vstr_alloc(10);

    (void) state;
    for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
	FILE   *fp = tmpfile();
	QFILE_INFO info;

	rec_fputs(fp, REC_TYPE_VERSION, recs[i][0]);
	rec_fputs(fp, REC_TYPE_SIZE, recs[i][1]);
	rec_fputs(fp, REC_TYPE_TIME, "1615302896 0");
	rec_fputs(fp, REC_TYPE_FROM, "a@b");
	rec_fputs(fp, REC_TYPE_RCPT, "u@x");
	rec_fputs(fp, REC_TYPE_MESG, "");
	rec_fputs(fp, REC_TYPE_NORM, "body");
	rec_fputs(fp, REC_TYPE_XTRA, "");
	rec_fputs(fp, REC_TYPE_END, "");
	fflush(fp);
	assert_int_equal(qfile_read(fp, &info, why), -1);
	assert_string_equal(vstr_str(why), "bad size record");
	qfile_info_free(&info);
	fclose(fp);
    }
    vstr_free(why);
}

/*
 * qfile_post (bounce notices): when the directory entry of the new file
 * cannot be made durable (here: the directory fsync of a file system not
 * known to cover it fails, incoming/ unreadable to the writer), the post
 * fails and leaves no file, so that the caller keeps what it would
 * otherwise consider notified. Runs as an unprivileged user (root: uid
 * 65534 in a child), since root reads any directory.
 */
static void test_post_unsynced_name_fails(void **state)
{
    char    dir[] = "/tmp/postern-unit-XXXXXX";
    char    path[256];
    FILE   *fp;
    pid_t   pid;
    int     status;

    (void) state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    assert_non_null(fp = fopen(path, "w"));
    fclose(fp);
    snprintf(path, sizeof(path), "%s/mountinfo", dir);	/* no file system known */
    assert_non_null(fp = fopen(path, "w"));
    fclose(fp);
    snprintf(path, sizeof(path), "%s/incoming", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    if (geteuid() == 0) {
	assert_int_equal(chown(dir, 65534, 65534), 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
    }
    if ((pid = fork()) == 0) {
	static const char *const rcpts[] = {"u@example.com", 0};
	QFILE_POST post;
	VSTR   *id = vstr_alloc(32);
	DIR    *dp;
	struct dirent *de;
	int     left = 0;
	int     rc;

	if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
	    _exit(3);
	if (chdir(dir) < 0)
	    _exit(3);
	mail_conf_set_dir(dir);
	mail_conf_read();
	snprintf(path, sizeof(path), "%s/mountinfo", dir);
	fsync_mountinfo_path = path;
	memset(&post, 0, sizeof(post));
	post.sender = "";
	post.rcpts = rcpts;
	post.content = "Subject: x\n\nbody\n";
	post.content_len = strlen(post.content);
	(void) chmod("incoming", 0300);		/* write and search, no read */
	rc = qfile_post("incoming", &post, id);
	(void) chmod("incoming", 0700);
	if ((dp = opendir("incoming")) == 0)
	    _exit(3);
	while ((de = readdir(dp)) != 0)
	    left += de->d_name[0] != '.';
	closedir(dp);
	_exit(rc == 0 ? 1 : left ? 2 : 0);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    snprintf(path, sizeof(path), "rm -rf %s", dir);
    assert_int_equal(system(path), 0);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_versions_read_alike),
	cmocka_unit_test(test_size_record_bounds),
	cmocka_unit_test(test_post_unsynced_name_fails),
    };

    return cmocka_run_group_tests(tests, 0, 0);
}
