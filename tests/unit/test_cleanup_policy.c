/*
 * cleanup_policy as a library: canonical mapping (recursive, @domain,
 * extensions), masquerading with exceptions, virtual alias expansion order
 * and limits, check table actions. The same behaviours are compared with
 * real Postfix end to end in tests/e2e/test_policy_cleanup.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "argv.h"
#include "cleanup.h"
#include "cleanup_policy.h"
#include "mail_conf.h"
#include "msg.h"
#include "vstr.h"

#include "unit_support.h"

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/postern-cpol-test.%d", (int) getpid());
    mkdir(dir, 0755);
    write_file("main.cf",
	       "compatibility_level = 3.6\n"
	       "myhostname = mx.example.com\n"
	       "mydomain = example.com\n"
	       "mydestination = $myhostname, localhost, example.com\n"
	       "recipient_delimiter = +\n"
	       "canonical_maps = texthash:${config_directory}/canonical\n"
	       "virtual_alias_maps = texthash:${config_directory}/virtual\n"
	       "virtual_alias_expansion_limit = 4\n"
	       "virtual_alias_recursion_limit = 3\n"
	       "masquerade_domains = !keep.example.com, example.com\n"
	       "masquerade_exceptions = root\n");
    write_file("canonical",
	       "joe@example.com joe.public@example.com\n"
	       "@old.example @new.example\n"
	       "a@example.com b@example.com\n"
	       "b@example.com c@example.com\n");
    write_file("virtual",
	       "list@example.com a@example.org, b@example.org, c@example.org\n"
	       "nested@example.com list@example.com, d@example.org\n"
	       "self@example.com self@example.com, copy@example.org\n"
	       "big@example.com 1@x.org 2@x.org 3@x.org 4@x.org 5@x.org\n"
	       "d1@example.com d2@example.com\nd2@example.com d3@example.com\n"
	       "d3@example.com d4@example.com\nd4@example.com d5@example.com\n"
	       "plain@example.com user\n");
    mail_conf_set_dir(dir);
    mail_conf_read();
    return (0);
}

static const char *rewrite(VSTR *v, const char *addr, int cls)
{
    vstr_cpy(v, addr);
    assert_int_equal(cleanup_policy_rewrite(v, cls), 0);
    return (vstr_str(v));
}

static void test_canonical_and_masquerade(void **state)
{
    VSTR   *v = vstr_alloc(64);

    assert_string_equal(rewrite(v, "joe@example.com", CLEANUP_ADDR_RCPT), "joe.public@example.com");
    assert_string_equal(rewrite(v, "joe+ext@example.com", CLEANUP_ADDR_RCPT),
			"joe.public+ext@example.com");
    assert_string_equal(rewrite(v, "x@old.example", CLEANUP_ADDR_RCPT), "x@new.example");
    /* recursive until stable */
    assert_string_equal(rewrite(v, "a@example.com", CLEANUP_ADDR_RCPT), "c@example.com");
    /* masquerading: senders and header classes, not envelope recipients */
    assert_string_equal(rewrite(v, "u@host.example.com", CLEANUP_ADDR_SENDER), "u@example.com");
    assert_string_equal(rewrite(v, "u@host.example.com", CLEANUP_ADDR_RCPT), "u@host.example.com");
    assert_string_equal(rewrite(v, "u@host.example.com", CLEANUP_ADDR_HDR_RCPT), "u@example.com");
    assert_string_equal(rewrite(v, "u@a.keep.example.com", CLEANUP_ADDR_SENDER),
			"u@a.keep.example.com");
    assert_string_equal(rewrite(v, "root@host.example.com", CLEANUP_ADDR_SENDER),
			"root@host.example.com");
    vstr_free(v);
}

static char *joined(ARGV *a)
{
    char   *j = argv_join(a, " ");

    argv_free(a);
    return (j);
}

static void test_virtual(void **state)
{
    VSTR   *why = vstr_alloc(64);
    char   *j;

    j = joined(cleanup_policy_virtual("nested@example.com", why));
    assert_string_equal(j, "a@example.org d@example.org b@example.org c@example.org");
    free(j);
    j = joined(cleanup_policy_virtual("self@example.com", why));
    assert_string_equal(j, "self@example.com copy@example.org");
    free(j);
    j = joined(cleanup_policy_virtual("plain@example.com", why));
    assert_string_equal(j, "user@mx.example.com");
    free(j);
    j = joined(cleanup_policy_virtual("nobody@example.com", why));
    assert_string_equal(j, "nobody@example.com");
    free(j);
    assert_null(cleanup_policy_virtual("big@example.com", why));
    assert_string_equal(vstr_str(why), "unreasonable virtual_alias_maps map expansion size for "
			"big@example.com -- message not accepted, try again later");
    assert_null(cleanup_policy_virtual("d1@example.com", why));
    assert_string_equal(vstr_str(why), "unreasonable virtual_alias_maps map nesting for "
			"d1@example.com -- message not accepted, try again later");
    vstr_free(why);
}

static void test_actions(void **state)
{
    const char *text;

    assert_int_equal(cleanup_policy_action("REJECT go away", &text), CP_ACT_REJECT);
    assert_string_equal(text, "go away");
    assert_int_equal(cleanup_policy_action("ignore", &text), CP_ACT_IGNORE);
    assert_int_equal(cleanup_policy_action("REPLACE X-New: 1", &text), CP_ACT_REPLACE);
    assert_string_equal(text, "X-New: 1");
    assert_int_equal(cleanup_policy_action("FILTER smtp:[127.0.0.1]:10025", &text), CP_ACT_FILTER);
    assert_int_equal(cleanup_policy_action("BOGUS x", &text), CP_ACT_UNKNOWN);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_canonical_and_masquerade),
	cmocka_unit_test(test_virtual),
	cmocka_unit_test(test_actions),
    };

    msg_init("test_cleanup_policy", 1);
    return (cmocka_run_group_tests(tests, setup, unit_teardown_dir));
}
