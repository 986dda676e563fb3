/*
 * Unit tests for src/global/mail_conf and mail_params: main.cf syntax
 * (continuations, comments, duplicates, leading white space), typed
 * access with Postfix's bad-value texts, and the parameter table itself
 * (every numeric, time and boolean default is valid for its type).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "mac_expand.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "msg.h"
#include "vstr.h"

static char dir[64];

static void write_main(const char *text)
{
    char    path[128];
    FILE   *fp;

    snprintf(path, sizeof(path), "%s/main.cf", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Run fn in a child; return its stderr text (static) and exit status. */
static const char *in_child(void (*fn)(void), int *status)
{
    static char buf[4096];
    int     fds[2];
    pid_t   pid;
    ssize_t n, got = 0;

    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) == 0) {
	dup2(fds[1], 2);
	close(fds[0]);
	fn();
	_exit(0);
    }
    close(fds[1]);
    while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t) got)) > 0)
	got += n;
    buf[got] = 0;
    close(fds[0]);
    waitpid(pid, status, 0);
    return (buf);
}

static void read_conf(void)
{
    mail_conf_set_dir(dir);
    mail_conf_read();
}

static void test_syntax(void **state)
{
    write_main("# comment\n"
	       "myorigin = one\n"
	       "   two   three\n"
	       "# interior comment does not end the entry\n"
	       "\n"
	       "\tfour\n"
	       "relayhost=[x]\n"
	       "mydomain =   example.com   \n"
	       "empty =\n");
    read_conf();
    assert_string_equal(mail_conf_explicit("myorigin"), "one   two   three\tfour");
    assert_string_equal(mail_conf_explicit("relayhost"), "[x]");
    assert_string_equal(mail_conf_explicit("mydomain"), "example.com");
    assert_string_equal(mail_conf_explicit("empty"), "");
    assert_null(mail_conf_explicit("nosuch"));
    assert_string_equal(mail_conf_names()[0], "myorigin");
    assert_string_equal(mail_conf_str("myorigin"), "one   two   three\tfour");
}

static void test_expansion(void **state)
{
    write_main("myhostname = mail.example.com\n"
	       "a = $myhostname ${mydomain} $(myorigin)\n"
	       "b = ${nosuch?{x}:{y}} ${myhostname?{x}:{y}} ${nosuch:z} $$dollar\n"
	       "c = ${{$compatibility_level} <level {2} ? {old} : {new}}\n"
	       "compatibility_level = 3.6\n");
    read_conf();
    assert_string_equal(mail_conf_str("mydomain"), "example.com");
    assert_string_equal(mail_conf_str("a"), "mail.example.com example.com mail.example.com");
    assert_string_equal(mail_conf_str("b"), "y x z $dollar");
    assert_string_equal(mail_conf_str("c"), "new");
    /* Defaults that depend on the compatibility level. */
    assert_int_equal(mail_conf_bool("append_dot_mydomain"), 0);
    assert_string_equal(mail_conf_str("mynetworks_style"), "host");
}

static void dup_child(void)
{
    write_main("relayhost = a\nrelayhost = b\n  x = 1\n");
    read_conf();
    fprintf(stderr, "value=%s\n", mail_conf_explicit("relayhost"));
}

static void test_duplicates(void **state)
{
    int     status;
    const char *err = in_child(dup_child, &status);
    char    want[512];

    snprintf(want, sizeof(want), "test_mail_conf: warning: %s/main.cf, line 2: "
	     "overriding earlier entry: relayhost=a\nvalue=b  x = 1\n", dir);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_string_equal(err, want);
}

static void lead_child(void)
{
    write_main("  x = 1\ny = 2\n");
    read_conf();
}

static void test_leading_space(void **state)
{
    int     status;
    const char *err = in_child(lead_child, &status);
    char    want[512];

    snprintf(want, sizeof(want), "test_mail_conf: warning: %s/main.cf: logical line "
	     "must not start with whitespace: \"  x = 1\"\n", dir);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_string_equal(err, want);
}

static void noeq_child(void)
{
    write_main("a = 1\nab\n");
    read_conf();
}

static void noname_child(void)
{
    write_main("= 1\n");
    read_conf();
}

static void test_syntax_errors(void **state)
{
    int     status;
    char    want[512];
    const char *err = in_child(noeq_child, &status);

    snprintf(want, sizeof(want), "test_mail_conf: fatal: %s/main.cf, line 2: "
	     "missing '=' after attribute name: \"ab\"\n", dir);
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_string_equal(err, want);
    err = in_child(noname_child, &status);
    snprintf(want, sizeof(want), "test_mail_conf: fatal: %s/main.cf, line 1: "
	     "missing attribute name: \"= 1\"\n", dir);
    assert_string_equal(err, want);
}

static const char *bad_text;

static void bad_child(void)
{
    write_main(bad_text);
    read_conf();
    if (strncmp(bad_text, "smtpd_timeout", 13) == 0 || strncmp(bad_text, "in_flow", 7) == 0)
	(void) mail_conf_time(strncmp(bad_text, "in_flow", 7) == 0 ? "in_flow_delay" : "smtpd_timeout");
    else if (strncmp(bad_text, "biff", 4) == 0)
	(void) mail_conf_bool("biff");
    else
	(void) mail_conf_int(strncmp(bad_text, "line", 4) == 0 ? "line_length_limit" :
			     "default_process_limit");
}

/* Texts taken from Postfix 3.7's daemons (smtpd) reading the same values. */
static void test_bad_values(void **state)
{
    static const char *cases[][2] = {
	{"smtpd_timeout = xyz\n", "fatal: parameter smtpd_timeout: bad time value or unit: xyz\n"},
	{"smtpd_timeout = 10x\n", "fatal: parameter smtpd_timeout: bad time value or unit: 10x\n"},
	{"smtpd_timeout = -1s\n", "fatal: parameter smtpd_timeout: bad time value or unit: -1s\n"},
	{"smtpd_timeout = 0\n", "fatal: invalid smtpd_timeout: 0 (min 1)\n"},
	{"in_flow_delay = 11s\n", "fatal: invalid in_flow_delay: 11 (max 10)\n"},
	{"biff = maybe\n", "fatal: bad boolean configuration: biff = maybe\n"},
	{"biff = 1\n", "fatal: bad boolean configuration: biff = 1\n"},
	{"default_process_limit = abc\n", "fatal: bad numerical configuration: default_process_limit = abc\n"},
	{"default_process_limit = 10k\n", "fatal: bad numerical configuration: default_process_limit = 10k\n"},
	{"default_process_limit = 0\n", "fatal: invalid default_process_limit parameter value 0 < 1\n"},
	{"line_length_limit = 1\n", "fatal: invalid line_length_limit parameter value 1 < 512\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	int     status;
	const char *err;
	char    want[512];

	bad_text = cases[i][0];
	err = in_child(bad_child, &status);
	snprintf(want, sizeof(want), "test_mail_conf: %s", cases[i][1]);
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_string_equal(err, want);
    }
}

static void test_good_values(void **state)
{
    write_main("smtpd_timeout = 5w\nbiff = YES\nqueue_run_delay = 300\n"
	       "maximal_queue_lifetime = 2\nin_flow_delay = 10s\n");
    read_conf();
    assert_int_equal(mail_conf_time("smtpd_timeout"), 5 * 7 * 86400);
    assert_int_equal(mail_conf_bool("biff"), 1);
    assert_int_equal(mail_conf_time("queue_run_delay"), 300);
    assert_int_equal(mail_conf_time("maximal_queue_lifetime"), 2 * 86400);	/* unit d */
    assert_int_equal(mail_conf_time("in_flow_delay"), 10);
}

/* Every declared default is valid for its declared type (compat level 3.6). */
static void test_param_table(void **state)
{
    write_main("compatibility_level = 3.6\nmyhostname = mail.example.com\n");
    read_conf();
    for (int i = 0; i < mail_param_count; i++) {
	const PARAM_DEF *p = &mail_param_table[i];

	assert_ptr_equal(mail_param_find(p->name), p);
	assert_null(strchr(p->name, ' '));
	if (p->flags & PF_DYNAMIC)
	    continue;
	switch (p->type) {
	case PT_INT:
	    (void) mail_conf_int(p->name);
	    break;
	case PT_TIME:
	    assert_non_null(strchr("smhdw", p->unit[0]));
	    (void) mail_conf_time(p->name);
	    break;
	case PT_BOOL:
	    (void) mail_conf_bool(p->name);
	    break;
	default:
	    (void) mail_conf_str(p->name);
	}
    }
    assert_int_equal(mail_conf_int("default_process_limit"), 100);
    assert_int_equal(mail_conf_time("smtpd_timeout"), 300);
    assert_string_equal(mail_conf_default("mail_name"), "postern");
    assert_string_equal(mail_conf_default("config_directory"), "/etc/postfix");
    assert_string_equal(mail_conf_str("config_directory"), dir);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_syntax),
	cmocka_unit_test(test_expansion),
	cmocka_unit_test(test_duplicates),
	cmocka_unit_test(test_leading_space),
	cmocka_unit_test(test_syntax_errors),
	cmocka_unit_test(test_bad_values),
	cmocka_unit_test(test_good_values),
	cmocka_unit_test(test_param_table),
    };
    char    tmpl[] = "/tmp/test_mail_conf.XXXXXX";
    int     rc;

    msg_init("test_mail_conf", 1);
    if (mkdtemp(tmpl) == 0)
	return (1);
    snprintf(dir, sizeof(dir), "%s", tmpl);
    rc = cmocka_run_group_tests(tests, 0, 0);
    {
	char    path[128];

	snprintf(path, sizeof(path), "%s/main.cf", dir);
	unlink(path);
	rmdir(dir);
    }
    return (rc);
}
