/*
 * Unit tests for local_deliver_many(): several messages for one alias
 * that delivers to a Maildir are written in one pass; each outcome is
 * reported to its own message's callback, only after the files are in
 * new/; loop detection and the size limit still apply per message; other
 * recipients of the same pass are delivered as by local_deliver(). mbox:
 * the messages of a pass are appended in order, one that would pass
 * mailbox_size_limit is bounced alone.
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
#include <pwd.h>
#include <cmocka.h>

#include "local_deliver.h"
#include "mail_conf.h"
#include "vstr.h"

typedef struct RESULT {
    int     count;
    char    text[4][300];
    const char *maildir;
    int     files_at_report;		/* files in new/ when the first report came */
} RESULT;

static int count_new(const char *maildir)
{
    char    path[512];
    DIR    *d;
    struct dirent *e;
    int     n = 0;

    snprintf(path, sizeof(path), "%snew", maildir);
    if ((d = opendir(path)) == 0)
	return 0;
    while ((e = readdir(d)) != 0)
	if (e->d_name[0] != '.')
	    n++;
    closedir(d);
    return n;
}

static int collect(void *ctx, int stat, const LOCAL_RCPT *leaf, const char *dsn, const char *t)
{
    RESULT *r = ctx;

    if (r->count == 0)
	r->files_at_report = count_new(r->maildir);
    if (r->count < 4)
	snprintf(r->text[r->count++], 300, "%d %s %s %s", stat, leaf->address, dsn, t);
    return 0;
}

/* Job i of a pass: text to rcpt_addr, its outcome collected in res[i]. */
static void job_init(LOCAL_JOB *job, LOCAL_MSG *msg, LOCAL_RCPT *rcpt, LOCAL_REPORT *rep,
		             RESULT *res, const char *text, const char *rcpt_addr,
		             const char *maildir)
{
    local_msg_init(msg, "QID", "s@example.org", text, strlen(text));
    memset(rcpt, 0, sizeof(*rcpt));
    rcpt->address = rcpt_addr;
    rcpt->orig_rcpt = "";
    memset(res, 0, sizeof(*res));
    res->maildir = maildir;
    rep->status = collect;
    rep->pass = 0;
    rep->ctx = res;
    job->msg = msg;
    job->rcpt = rcpt;
    job->rep = rep;
    job->status = 99;
}

static void test_many(void **state)
{
    char    dir[] = "/tmp/test_lbatch.XXXXXX";
    char    maildir[300];
    VSTR   *buf = vstr_alloc(10);
    const char *texts[4] = {
	"Subject: one\n\nbody one\n",
	"Delivered-To: md@h.example\nSubject: loop\n\nbody\n",
	"Subject: big\n\n" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	"Subject: four\n\nbody four\n",
    };
    LOCAL_MSG msg[4];
    LOCAL_RCPT rcpt[4];
    LOCAL_REPORT rep[4];
    RESULT  res[4];
    LOCAL_JOB jobs[4];
    FILE   *fp;
    int     i;

    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0777), 0);	/* as root, the alias runs as default_privs */
    snprintf(maildir, sizeof(maildir), "%s/Maildir/", dir);
    vstr_fmt(buf, "%s/main.cf", dir);
    fp = fopen(vstr_str(buf), "w");
    fprintf(fp, "alias_maps = texthash:%s/aliases\nmyhostname = h.example\n"
	    "mydestination = $myhostname, localhost\nmailbox_size_limit = 150\n", dir);
    fclose(fp);
    vstr_fmt(buf, "%s/aliases", dir);
    fp = fopen(vstr_str(buf), "w");
    fprintf(fp, "md %s\n", maildir);
    fclose(fp);
    mail_conf_set_dir(dir);
    mail_conf_read();
    local_deliver_init();

    for (i = 0; i < 4; i++)
	job_init(jobs + i, msg + i, rcpt + i, rep + i, res + i, texts[i], "md@h.example", maildir);
    local_deliver_many(jobs, 4, 0);
    for (i = 0; i < 4; i++) {
	assert_int_equal(jobs[i].status, 0);
	assert_int_equal(res[i].count, 1);
    }
    assert_string_equal(res[0].text[0], "0 md@h.example 2.0.0 delivered to maildir");
    assert_string_equal(res[1].text[0], "2 md@h.example 5.4.6 mail forwarding loop for md@h.example");
    assert_string_equal(res[2].text[0], "2 md@h.example 5.2.2 maildir delivery failed: "
			"error writing message: File too large");
    assert_string_equal(res[3].text[0], "0 md@h.example 2.0.0 delivered to maildir");
    /* Reported only once both files were in new/. */
    assert_int_equal(res[0].files_at_report, 2);
    assert_int_equal(count_new(maildir), 2);

    for (i = 0; i < 4; i++)
	local_msg_free(msg + i);
    vstr_fmt(buf, "rm -rf %s", dir);
    assert_int_equal(system(vstr_str(buf)), 0);
    vstr_free(buf);
}

/* mbox: one lock and fsync for all; the size limit counts what the pass added. */
static void test_many_mbox(void **state)
{
    char    dir[] = "/tmp/test_lbatch.XXXXXX";
    char    rcptbuf[100];
    char    got[2000];
    VSTR   *buf = vstr_alloc(10);
    const char *texts[3] = {
	"Subject: one\n\nbody one\n",
	"Subject: two\n\n" "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n"
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n",
	"Subject: three\n\nbody three\n",
    };
    LOCAL_MSG msg[3];
    LOCAL_RCPT rcpt[3];
    LOCAL_REPORT rep[3];
    RESULT  res[3];
    LOCAL_JOB jobs[3];
    struct passwd *pw = geteuid() == 0 ? getpwnam("nobody") : getpwuid(geteuid());
    FILE   *fp;
    int     fd;
    ssize_t n;
    int     i;

    assert_non_null(pw);
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 01777), 0);
    vstr_fmt(buf, "%s/main.cf", dir);
    fp = fopen(vstr_str(buf), "w");
    fprintf(fp, "alias_maps =\nmyhostname = h.example\nmydestination = $myhostname\n"
	    "mail_spool_directory = %s\nmailbox_size_limit = 400\nforward_path =\n", dir);
    fclose(fp);
    mail_conf_set_dir(dir);
    mail_conf_read();
    local_deliver_init();
    snprintf(rcptbuf, sizeof(rcptbuf), "%s@h.example", pw->pw_name);
    for (i = 0; i < 3; i++)
	job_init(jobs + i, msg + i, rcpt + i, rep + i, res + i, texts[i], rcptbuf, dir);
    local_deliver_many(jobs, 3, 0);
    vstr_fmt(buf, "0 %s 2.0.0 delivered to mailbox", rcptbuf);
    assert_string_equal(res[0].text[0], vstr_str(buf));
    assert_string_equal(res[2].text[0], vstr_str(buf));
    vstr_fmt(buf, "2 %s 5.2.2 cannot update mailbox %s/%s for user %s. "
	     "error writing message: File too large", rcptbuf, dir, pw->pw_name, pw->pw_name);
    assert_string_equal(res[1].text[0], vstr_str(buf));
    for (i = 0; i < 3; i++)
	assert_int_equal(jobs[i].status, 0);
    vstr_fmt(buf, "%s/%s", dir, pw->pw_name);
    fd = open(vstr_str(buf), O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, got, sizeof(got) - 1);
    close(fd);
    assert_true(n > 0);
    got[n] = 0;
    assert_non_null(strstr(got, "body one\n\nFrom s@example.org "));
    assert_non_null(strstr(got, "body three\n\n"));
    assert_null(strstr(got, "Subject: two"));
    assert_int_equal(strncmp(got, "From s@example.org ", 19), 0);
    for (i = 0; i < 3; i++)
	local_msg_free(msg + i);
    vstr_fmt(buf, "rm -rf %s", dir);
    assert_int_equal(system(vstr_str(buf)), 0);
    vstr_free(buf);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_many),
	cmocka_unit_test(test_many_mbox),
    };

    return cmocka_run_group_tests(tests, 0, 0);
}
