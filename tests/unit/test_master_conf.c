/* Unit tests for src/global/master_conf: fields, defaults, -o, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "master_conf.h"
#include "msg.h"

static MASTER_CONF *parse(const char *text, int flags)
{
    return (master_conf_parse("/x/master.cf", text, strlen(text),
			      flags | MASTER_CONF_FLAG_NOFATAL));
}

static void test_basic_fields(void **state)
{
    MASTER_CONF *mc = parse("# comment\n"
			    "smtp      inet  n       -       y       -       -       smtpd\n"
			    "pickup    unix  n       -       y       60      1       pickup\n"
			    "tlsmgr    unix  -       -       y       1000?   1       tlsmgr\n", 0);

    assert_non_null(mc);
    assert_int_equal(mc->count, 3);
    assert_string_equal(mc->ent[0]->name, "smtp");
    assert_int_equal(mc->ent[0]->type, MASTER_TYPE_INET);
    assert_int_equal(mc->ent[0]->private_, 0);
    assert_int_equal(mc->ent[0]->unpriv, 1);
    assert_int_equal(mc->ent[0]->chroot, 1);
    assert_int_equal(mc->ent[0]->wakeup, 0);
    assert_int_equal(mc->ent[0]->maxproc, -1);
    assert_string_equal(mc->ent[0]->command, "smtpd");
    assert_int_equal(mc->ent[0]->line, 2);
    assert_int_equal(mc->ent[1]->wakeup, 60);
    assert_int_equal(mc->ent[1]->maxproc, 1);
    assert_int_equal(mc->ent[2]->wakeup, 1000);
    assert_int_equal(mc->ent[2]->wakeup_if_used, 1);
    assert_int_equal(mc->ent[2]->private_, 1);
    assert_int_equal(mc->ent[2]->chroot, 1);
    master_conf_free(mc);
}

static void test_overrides(void **state)
{
    MASTER_CONF *mc = parse("submission inet n - y - - smtpd\n"
			    "  -o syslog_name=postfix/submission\n"
			    "# interior comment\n"
			    "  -o { smtpd_tls_security_level = encrypt }\n"
			    "  -v -oa=b -o {c = d e} arg -o not=override\n", 0);
    MASTER_ENT *ent;
    char   *text;

    assert_non_null(mc);
    assert_int_equal(mc->count, 1);
    ent = mc->ent[0];
    assert_int_equal(ent->ov_names->argc, 4);
    assert_string_equal(ent->ov_names->argv[0], "syslog_name");
    assert_string_equal(ent->ov_values->argv[0], "postfix/submission");
    assert_string_equal(ent->ov_names->argv[1], "smtpd_tls_security_level");
    assert_string_equal(ent->ov_values->argv[1], "encrypt");
    assert_string_equal(ent->ov_names->argv[3], "c");
    assert_string_equal(ent->ov_values->argv[3], "d e");
    assert_int_equal(ent->verbose, 1);
    assert_string_equal(ent->args->argv[ent->first_arg], "arg");
    text = master_ent_command_text(ent);
    assert_string_equal(text, "smtpd -o syslog_name=postfix/submission -o "
			"smtpd_tls_security_level=encrypt -v -o a=b -o {c=d e} arg -o not=override");
    free(text);
    master_conf_free(mc);
}

static void test_errors_master(void **state)
{
    assert_null(parse("foo unix - -\n", 0));
    assert_string_equal(master_conf_error(), "/x/master.cf: line 1: missing \"chroot\" field");
    assert_null(parse("\n\nbar bogus - - - - - x\n", 0));
    assert_string_equal(master_conf_error(), "/x/master.cf: line 3: bad transport type: bogus");
    assert_null(parse("baz unix x - - - - x\n", 0));
    assert_string_equal(master_conf_error(), "/x/master.cf: line 1: field \"private\": bad value: \"x\"");
    assert_null(parse("q unix - - - abc - x\n", 0));
    assert_string_equal(master_conf_error(), "/x/master.cf: line 1: field \"wakeup_time\": bad value: \"abc\"");
    assert_null(parse("q unix - - - - -1 x\n", 0));
    assert_string_equal(master_conf_error(), "/x/master.cf: line 1: field \"max_proc\": bad value: \"-1\"");
    assert_null(parse("q inet - - - - - x\n", 0));
    assert_string_equal(master_conf_error(), "/x/master.cf: line 1: inet service cannot be private");
    assert_null(parse("[::1:25 inet n - - - - x\n", 0));
    assert_string_equal(master_conf_error(), "/x/master.cf: line 1: missing \"]\" in \"[::1:25\"");
    assert_null(parse("1.2.3:99999 inet n - - - - x\n", 0));
    assert_string_equal(master_conf_error(),
	"/x/master.cf: line 1: valid hostname or network address required in \"1.2.3:99999\"");
    assert_null(parse("foo unix - - - - -\n", 0));
    assert_string_equal(master_conf_error(), "/x/master.cf: line 1: missing \"command\" field");
}

static char last_warning[512];

static void capture(int level, const char *text)
{
    if (level == MSG_WARN)
	snprintf(last_warning, sizeof(last_warning), "%s", text);
}

/* Texts of Debian's master for a repeated inet service. */
static void test_duplicates(void **state)
{
    MASTER_CONF *mc;

    last_warning[0] = 0;
    mc = parse("127.0.0.1:2525 inet n - n - - a\n127.0.0.1:2525 inet n - n - - b\n", 0);
    assert_int_equal(mc->count, 1);
    assert_string_equal(mc->ent[0]->command, "b");
    assert_string_equal(last_warning, "duplicate master.cf entry for service \"127.0.0.1:2525\" "
			"([127.0.0.1]:2525) -- using the last entry");
    master_conf_free(mc);
    mc = parse("2525 inet n - n - - a\n2525 inet n - n - - b\n", 0);
    assert_string_equal(last_warning, "duplicate master.cf entry for service \"2525\" "
			"(2525) -- using the last entry");
    master_conf_free(mc);
    /* postconf lists both. */
    mc = parse("2525 inet n - n - - a\n2525 inet n - n - - b\n", MASTER_CONF_STYLE_POSTCONF);
    assert_int_equal(mc->count, 2);
    master_conf_free(mc);
}

/* The master daemon reads the leading digits of a wakeup time. */
static void test_wakeup_lenient(void **state)
{
    MASTER_CONF *mc = parse("a unix - - n 1m 1 x\nb unix - - n 10?? 1 x\n", 0);

    assert_non_null(mc);
    assert_int_equal(mc->ent[0]->wakeup, 1);
    assert_int_equal(mc->ent[1]->wakeup, 10);
    assert_int_equal(mc->ent[1]->wakeup_if_used, 1);
    master_conf_free(mc);
    assert_null(parse("a unix - - n 1m 1 x\n", MASTER_CONF_STYLE_POSTCONF));
    assert_string_equal(master_conf_error(), "invalid wakeup field \"1m\" in \"a unix - - n 1m 1 x\"");
}

static void test_errors_postconf(void **state)
{
    int     f = MASTER_CONF_STYLE_POSTCONF;

    assert_null(parse("x unix - - - - - x\nfoo unix - -\n", f));
    assert_string_equal(master_conf_error(), "file /x/master.cf: line 2: bad field count");
    assert_null(parse("bar bogus - - - - - x\n", f));
    assert_string_equal(master_conf_error(), "invalid type field \"bogus\" in \"bar bogus - - - - - x\"");
    assert_null(parse("q unix - - - 10?? - x\n", f));
    assert_string_equal(master_conf_error(), "invalid wakeup field \"10??\" in \"q unix - - - 10?? - x\"");
    /* postconf accepts what only the daemon rejects. */
    {
	MASTER_CONF *mc = parse("q inet - - - ? - x\n[::1:25 inet n - - - - x\n", f);

	assert_non_null(mc);
	master_conf_free(mc);
    }
}

static void test_inet_split(void **state)
{
    char   *host, *port;
    const char *why;

    assert_int_equal(master_inet_split("smtp", &host, &port, &why), 0);
    assert_null(host);
    assert_string_equal(port, "smtp");
    free(port);
    assert_int_equal(master_inet_split("127.0.0.1:2525", &host, &port, &why), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_string_equal(port, "2525");
    free(host), free(port);
    assert_int_equal(master_inet_split("[::1]:25", &host, &port, &why), 0);
    assert_string_equal(host, "::1");
    assert_string_equal(port, "25");
    free(host), free(port);
    assert_int_equal(master_inet_split("localhost:smtp", &host, &port, &why), 0);
    assert_string_equal(host, "localhost");
    free(host), free(port);
    assert_int_equal(master_inet_port("smtp"), 25);
    assert_int_equal(master_inet_port("2525"), 2525);
    assert_int_equal(master_inet_port("99999"), -1);
}

static void test_endpoints(void **state)
{
    MASTER_CONF *mc = parse("smtp inet n - n - - smtpd\n127.0.0.2:2525 inet n - n - - smtpd\n", 0);
    ARGV   *ep;

    ep = master_inet_endpoints(mc->ent[0], "127.0.0.1, [::1]");
    assert_int_equal(ep->argc, 4);
    assert_string_equal(ep->argv[0], "127.0.0.1");
    assert_string_equal(ep->argv[1], "smtp");
    assert_string_equal(ep->argv[2], "::1");
    argv_free(ep);
    ep = master_inet_endpoints(mc->ent[0], "all");
    assert_int_equal(ep->argc, 2);
    assert_string_equal(ep->argv[0], "");
    argv_free(ep);
    ep = master_inet_endpoints(mc->ent[0], "loopback-only");
    assert_int_equal(ep->argc, 4);		/* inet_protocols = all */
    assert_string_equal(ep->argv[0], "127.0.0.1");
    assert_string_equal(ep->argv[2], "::1");
    argv_free(ep);
    ep = master_inet_endpoints(mc->ent[1], "all");
    assert_string_equal(ep->argv[0], "127.0.0.2");
    assert_string_equal(ep->argv[1], "2525");
    argv_free(ep);
    master_conf_free(mc);
}

static void test_stock_file(void **state)
{
    MASTER_CONF *mc = master_conf_read("/etc/postfix/master.cf", MASTER_CONF_FLAG_NOFATAL);

    if (mc == 0 && strstr(master_conf_error(), "No such file"))
	skip();
    assert_non_null(mc);
    assert_non_null(master_conf_find(mc, "smtp", "inet"));
    assert_non_null(master_conf_find(mc, "postlog", "unix-dgram"));
    master_conf_free(mc);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_basic_fields),
	cmocka_unit_test(test_overrides),
	cmocka_unit_test(test_errors_master),
	cmocka_unit_test(test_errors_postconf),
	cmocka_unit_test(test_wakeup_lenient),
	cmocka_unit_test(test_duplicates),
	cmocka_unit_test(test_inet_split),
	cmocka_unit_test(test_endpoints),
	cmocka_unit_test(test_stock_file),
    };

    msg_init("test_master_conf", 1);
    msg_output_add(capture);
    return (cmocka_run_group_tests(tests, 0, 0));
}
