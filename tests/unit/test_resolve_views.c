/*
 * The two views of address resolution agree: qmgr's resolve_addr()
 * (class + transport:nexthop) and the policy engine's resolve_policy_addr()
 * (class + final address after source routing) give the same class for a
 * table of addresses, and resolve_addr() routes to the domain the policy
 * view ends at. Also resolve_class() for the bare domain.
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

#include "mail_conf.h"
#include "msg.h"
#include "resolve.h"
#include "resolve_class.h"
#include "vstr.h"

#include "unit_support.h"

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/postern-resolve-views.%d", (int) getpid());
    mkdir(dir, 0755);
    write_file("main.cf",
	       "myhostname = mx.example.com\n"
	       "mydomain = example.com\n"
	       "myorigin = $myhostname\n"
	       "mydestination = $myhostname, localhost, example.com\n"
	       "inet_interfaces = 127.0.0.1\n"
	       "relay_domains = relay.example, texthash:${config_directory}/relay\n"
	       "virtual_alias_domains = valias.example\n"
	       "virtual_mailbox_domains = ${config_directory}/vmbox, vmbox.example\n"
	       "default_transport = smtp\n"
	       "relay_transport = relay\n");
    write_file("relay", "tablerelay.example x\n");
    write_file("vmbox", "filembox.example\n");
    mail_conf_set_dir(dir);
    mail_conf_read();
    resolve_class_reset();
    return (0);
}

static const struct {
    const char *addr;
    int     cls;			/* expected class */
    const char *transport;		/* expected qmgr transport */
    const char *nexthop;		/* expected qmgr nexthop */
} table[] = {
    {"user@mx.example.com", RESOLVE_CLASS_LOCAL, "local", "mx.example.com"},
    {"User@EXAMPLE.COM", RESOLVE_CLASS_LOCAL, "local", "mx.example.com"},
    {"user@example.com.", RESOLVE_CLASS_LOCAL, "local", "mx.example.com"},
    {"user", RESOLVE_CLASS_LOCAL, "local", "mx.example.com"},
    {"user@[127.0.0.1]", RESOLVE_CLASS_LOCAL, "local", "mx.example.com"},
    {"user@[127.0.0.2]", RESOLVE_CLASS_DEFAULT, "smtp", "[127.0.0.2]"},
    {"x@valias.example", RESOLVE_CLASS_ALIAS, "error", "5.1.1 User unknown in virtual alias table"},
    {"x@vmbox.example", RESOLVE_CLASS_VIRTUAL, "virtual", "vmbox.example"},
    {"x@filembox.example", RESOLVE_CLASS_VIRTUAL, "virtual", "filembox.example"},
    {"x@relay.example", RESOLVE_CLASS_RELAY, "relay", "relay.example"},
    {"x@sub.relay.example", RESOLVE_CLASS_RELAY, "relay", "sub.relay.example"},
    {"x@a.tablerelay.example", RESOLVE_CLASS_RELAY, "relay", "a.tablerelay.example"},
    {"x@sub.example.com", RESOLVE_CLASS_DEFAULT, "smtp", "sub.example.com"},
    {"x@example.org", RESOLVE_CLASS_DEFAULT, "smtp", "example.org"},
    /* source routing through a local domain: stripped, the rest resolved */
    {"user%example.org@example.com", RESOLVE_CLASS_DEFAULT, "smtp", "example.org"},
    {"example.org!user@example.com", RESOLVE_CLASS_DEFAULT, "smtp", "example.org"},
    {"user@example.org@[127.0.0.1]", RESOLVE_CLASS_DEFAULT, "smtp", "example.org"},
    {"user%relay.example@mx.example.com", RESOLVE_CLASS_RELAY, "relay", "relay.example"},
    {"user%mx.example.com@example.com", RESOLVE_CLASS_LOCAL, "local", "mx.example.com"},
    /* routing through a remote domain is not stripped */
    {"user%x.example@relay.example", RESOLVE_CLASS_RELAY, "relay", "relay.example"},
};

static void test_views_agree(void **state)
{
    RESOLVE_REPLY rr;
    VSTR   *final = vstr_alloc(64);

    resolve_reply_init(&rr);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
	int     pf = resolve_policy_addr(table[i].addr, final);
	const char *at = strrchr(vstr_str(final), '@');

	resolve_addr(table[i].addr, &rr);
	print_message("%s -> policy %#x %s, qmgr %#x %s:%s\n", table[i].addr, pf,
		      vstr_str(final), rr.flags, vstr_str(rr.transport), vstr_str(rr.nexthop));
	assert_int_equal(pf & RESOLVE_CLASS_MASK, table[i].cls);
	assert_int_equal(rr.flags & RESOLVE_CLASS_MASK, table[i].cls);
	assert_int_equal(pf & RESOLVE_FLAG_ROUTED, rr.flags & RESOLVE_FLAG_ROUTED);
	assert_false(rr.flags & (RESOLVE_FLAG_FAIL | RESOLVE_FLAG_ERROR));
	assert_string_equal(vstr_str(rr.transport), table[i].transport);
	assert_string_equal(vstr_str(rr.nexthop), table[i].nexthop);
	/* the bare-domain view too */
	assert_non_null(at);
	assert_int_equal(resolve_class(at + 1) & RESOLVE_CLASS_MASK, table[i].cls);
    }
    resolve_reply_free(&rr);
    vstr_free(final);
}

static void test_bad_literal_is_an_error(void **state)
{
    RESOLVE_REPLY rr;

    resolve_reply_init(&rr);
    resolve_addr("user@[127.0.0.1", &rr);
    assert_true(rr.flags & RESOLVE_FLAG_ERROR);
    assert_string_equal(vstr_str(rr.transport), "error");
    resolve_addr("", &rr);
    assert_true(rr.flags & RESOLVE_CLASS_LOCAL);
    resolve_reply_free(&rr);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_views_agree),
	cmocka_unit_test(test_bad_literal_is_an_error),
    };

    return (cmocka_run_group_tests(tests, setup, unit_teardown_dir));
}
