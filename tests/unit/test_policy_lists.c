/*
 * mynetworks in all its forms (CIDR list, negation, [IPv6], /file/name,
 * type:table, host name patterns), domain lists with parent-domain rules,
 * address classes and source-route resolution, address quoting.
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
#include "pol_cidr.h"
#include "pol_match.h"
#include "resolve_class.h"
#include "smtpd_policy.h"
#include "vstr.h"

#include "unit_support.h"

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/postern-lists-test.%d", (int) getpid());
    mkdir(dir, 0755);
    write_file("main.cf",
	       "compatibility_level = 3.6\n"
	       "myhostname = mx.example.com\n"
	       "mydomain = example.com\n"
	       "mydestination = $myhostname, localhost, example.com\n"
	       "inet_interfaces = 127.0.0.1\n"
	       "relay_domains = relay.example, texthash:${config_directory}/relay\n"
	       "virtual_alias_domains = valias.example\n"
	       "virtual_mailbox_domains = /dev/null, vmbox.example\n");
    write_file("relay", "tablerelay.example x\n");
    write_file("nets", "# trusted networks\n10.1.0.0/16 [2001:db8::]/32\n  192.0.2.128/25 # tail comment\n");
    write_file("nets.cidr", "198.51.100.0/24 OK\n");
    mail_conf_set_dir(dir);
    mail_conf_read();
    return (0);
}

static int mynet(const char *value, const char *name, const char *addr)
{
    POL_MATCH_LIST *l = pol_match_list_create("mynetworks", value, POL_MATCH_NAME | POL_MATCH_ADDR);
    int     rc = pol_match_list_match(l, name, addr);

    pol_match_list_free(l);
    return (rc);
}

static void test_mynetworks_forms(void **state)
{
    char    spec[512];

    assert_int_equal(mynet("127.0.0.0/8 [::1]/128", "unknown", "127.0.0.9"), 1);
    assert_int_equal(mynet("127.0.0.0/8 [::1]/128", "unknown", "::1"), 1);
    assert_int_equal(mynet("127.0.0.0/8 [::1]/128", "unknown", "192.0.2.1"), 0);
    /* negation: first match wins */
    assert_int_equal(mynet("!127.0.0.9, 127.0.0.0/8", "unknown", "127.0.0.9"), 0);
    assert_int_equal(mynet("!127.0.0.9, 127.0.0.0/8", "unknown", "127.0.0.8"), 1);
    /* IPv4-mapped IPv6 clients match IPv4 networks */
    assert_int_equal(mynet("127.0.0.0/8", "unknown", "::ffff:127.0.0.1"), 1);
    /* /file/name with comments */
    snprintf(spec, sizeof(spec), "%s/nets", dir);
    assert_int_equal(mynet(spec, "unknown", "10.1.2.3"), 1);
    assert_int_equal(mynet(spec, "unknown", "2001:db8::5"), 1);
    assert_int_equal(mynet(spec, "unknown", "192.0.2.200"), 1);
    assert_int_equal(mynet(spec, "unknown", "192.0.2.1"), 0);
    /* type:table */
    snprintf(spec, sizeof(spec), "cidr:%s/nets.cidr", dir);
    assert_int_equal(mynet(spec, "unknown", "198.51.100.7"), 1);
    assert_int_equal(mynet(spec, "unknown", "198.51.101.7"), 0);
    /*
     * host name patterns match the client name; mynetworks is in
     * parent_domain_matches_subdomains, so "domain" matches subdomains and
     * ".domain" nothing (as Postfix 3.7; tests/golden/matchlist)
     */
    assert_int_equal(mynet("trusted.example", "a.trusted.example", "192.0.2.1"), 1);
    assert_int_equal(mynet(".trusted.example", "a.trusted.example", "192.0.2.1"), 0);
    assert_int_equal(mynet("trusted.example", "unknown", "192.0.2.1"), 0);
}

static int domlist(const char *param, const char *value, const char *domain)
{
    POL_MATCH_LIST *l = pol_match_list_create(param, value, POL_MATCH_NAME);
    int     rc = pol_match_list_match(l, domain, 0);

    pol_match_list_free(l);
    return (rc);
}

/*
 * Domain lists (relay_domains, mydestination ...) with negation, /file and
 * tables; the expectations are what Postfix 3.7 answered for the same
 * relay_domains (permit_auth_destination), with relay_domains in
 * parent_domain_matches_subdomains (its default) and without.
 */
static void test_domain_lists(void **state)
{
    char    spec[512];
    static const struct {
	const char *domain;
	int     parent, noparent;
    } want[] = {
	{"relay.example", 1, 1},
	{"a.relay.example", 1, 0},
	{"sub.relay.example", 0, 0},
	{"x.sub.relay.example", 0, 0},
	{"other.example", 1, 1},
	{"x.other.example", 0, 0},
	{"tablerelay.example", 1, 1},
	{"a.tablerelay.example", 1, 0},
	{"dot.example", 0, 0},
	{"a.dot.example", 0, 1},
    };

    write_file("doms", "!x.other.example other.example # c\n");
    write_file("doms.th", "tablerelay.example x\n");
    snprintf(spec, sizeof(spec), "!sub.relay.example, relay.example, %s/doms, "
	     "texthash:%s/doms.th, .dot.example", dir, dir);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
	/* relay_domains is listed in parent_domain_matches_subdomains */
	if (domlist("relay_domains", spec, want[i].domain) != want[i].parent)
	    fail_msg("relay_domains (parent style): %s", want[i].domain);
	/* mydestination is not */
	if (domlist("mydestination", spec, want[i].domain) != want[i].noparent)
	    fail_msg("mydestination (no parent style): %s", want[i].domain);
    }
}

/*
 * A long domain (an RCPT TO domain is outside input) is compared whole: a
 * name whose first 1024 bytes end in a relay domain is not in that domain.
 */
static void test_long_names_are_not_cut(void **state)
{
    char    name[1400];
    size_t  pad = 1024 - strlen(".relay.example");

    memset(name, 'a', pad);
    snprintf(name + pad, sizeof(name) - pad, ".relay.example.evil.example");
    assert_int_equal(domlist("relay_domains", "relay.example", name), 0);
    assert_int_equal(domlist("mydestination", ".relay.example", name), 0);
    assert_int_equal(domlist("relay_domains", "relay.example", name + 1), 0);
    /* and a long name in the domain still matches */
    snprintf(name + pad, sizeof(name) - pad, ".relay.example");
    assert_int_equal(domlist("relay_domains", "relay.example", name), 1);
    memset(name, 'a', 1200);
    snprintf(name + 1200, sizeof(name) - 1200, ".relay.example");
    assert_int_equal(domlist("relay_domains", "relay.example", name), 1);
    /* names and addresses in address lists too */
    assert_int_equal(mynet("relay.example", name, "192.0.2.1"), 1);
    memset(name, 'a', 1200);
    snprintf(name + 1200, sizeof(name) - 1200, ".x");
    assert_int_equal(mynet("relay.example", name, "192.0.2.1"), 0);
}

static void test_cidr_errors(void **state)
{
    POL_CIDR c;
    VSTR   *why = vstr_alloc(64);

    assert_int_equal(pol_cidr_parse("1.2.3.4/24", &c, why), -1);
    assert_string_equal(vstr_str(why),
			"non-null host address bits in \"1.2.3.4/24\", perhaps you should use \"1.2.3.0/24\" instead");
    assert_int_equal(pol_cidr_parse("1.2.3.0/33", &c, why), -1);
    assert_int_equal(pol_cidr_parse("[2001:db8::]/32", &c, why), 0);
    assert_int_equal(c.len, 32);
    vstr_free(why);
}

static void test_domain_classes(void **state)
{
    assert_int_equal(resolve_class("example.com"), RESOLVE_CLASS_LOCAL);
    assert_int_equal(resolve_class("EXAMPLE.COM"), RESOLVE_CLASS_LOCAL);
    assert_int_equal(resolve_class("[127.0.0.1]"), RESOLVE_CLASS_LOCAL);
    assert_int_equal(resolve_class("[127.0.0.2]"), RESOLVE_CLASS_DEFAULT);
    assert_int_equal(resolve_class("valias.example"), RESOLVE_CLASS_ALIAS);
    assert_int_equal(resolve_class("vmbox.example"), RESOLVE_CLASS_VIRTUAL);
    assert_int_equal(resolve_class("relay.example"), RESOLVE_CLASS_RELAY);
    /* relay_domains is in parent_domain_matches_subdomains */
    assert_int_equal(resolve_class("sub.relay.example"), RESOLVE_CLASS_RELAY);
    assert_int_equal(resolve_class("tablerelay.example"), RESOLVE_CLASS_RELAY);
    assert_int_equal(resolve_class("a.tablerelay.example"), RESOLVE_CLASS_RELAY);
    /* mydestination is not */
    assert_int_equal(resolve_class("sub.example.com"), RESOLVE_CLASS_DEFAULT);
    assert_int_equal(resolve_class("example.org"), RESOLVE_CLASS_DEFAULT);
}

static void test_source_routes(void **state)
{
    VSTR   *res = vstr_alloc(64);
    int     f;

    /* stripping our own domain does not make an address "routed" ... */
    f = resolve_policy_addr("user%example.org@example.com", res);
    assert_string_equal(vstr_str(res), "user@example.org");
    assert_false(f & RESOLVE_FLAG_ROUTED);
    assert_true(f & RESOLVE_CLASS_DEFAULT);
    f = resolve_policy_addr("example.org!user@example.com", res);
    assert_string_equal(vstr_str(res), "user@example.org");
    assert_false(f & RESOLVE_FLAG_ROUTED);
    f = resolve_policy_addr("user@example.org@[127.0.0.1]", res);
    assert_string_equal(vstr_str(res), "user@example.org");
    assert_false(f & RESOLVE_FLAG_ROUTED);
    /* ... a remote destination with routing left in its local part is */
    f = resolve_policy_addr("user%x.example%y.example@example.com", res);
    assert_string_equal(vstr_str(res), "user%x.example@y.example");
    assert_true(f & RESOLVE_FLAG_ROUTED);
    assert_true(f & RESOLVE_CLASS_DEFAULT);
    f = resolve_policy_addr("user%x.example@relay.example", res);
    assert_true(f & RESOLVE_FLAG_ROUTED);
    assert_true(f & RESOLVE_CLASS_RELAY);
    f = resolve_policy_addr("user", res);
    assert_string_equal(vstr_str(res), "user@mx.example.com");
    assert_int_equal(f, RESOLVE_CLASS_LOCAL);
    f = resolve_policy_addr("user@example.org.", res);
    assert_string_equal(vstr_str(res), "user@example.org");
    assert_int_equal(f, RESOLVE_CLASS_DEFAULT);
    vstr_free(res);
}

static void test_address_forms(void **state)
{
    char   *a;

    a = smtpd_policy_addr_internal("<@a.example,@b.example:user@c.example>");
    assert_string_equal(a, "user@c.example");
    free(a);
    a = smtpd_policy_addr_internal("<\"victim@example.org\"@example.com>");
    assert_string_equal(a, "victim@example.org@example.com");
    free(a);
    a = smtpd_policy_addr_external("victim@example.org@example.com");
    assert_string_equal(a, "\"victim@example.org\"@example.com");
    free(a);
    a = smtpd_policy_addr_external("first.last@example.com");
    assert_string_equal(a, "first.last@example.com");
    free(a);
    assert_true(smtpd_valid_hostname("mx-1.example_x.com"));
    assert_false(smtpd_valid_hostname("-a.example"));
    assert_false(smtpd_valid_hostname("a..example"));
    assert_false(smtpd_valid_hostname("1.2.3.4"));
    assert_true(smtpd_valid_hostaddr("IPv6:2001:db8::1"));
}

static void test_relay_check(void **state)
{
    mail_conf_override("smtpd_relay_restrictions", "permit");
    mail_conf_override("smtpd_recipient_restrictions", "check_recipient_access inline:{a=reject}, permit");
    assert_int_equal(smtpd_policy_relay_check(), -1);
    mail_conf_override("smtpd_recipient_restrictions", "warn_if_reject reject_unauth_destination");
    assert_int_equal(smtpd_policy_relay_check(), -1);
    mail_conf_override("smtpd_recipient_restrictions", "permit_mynetworks, reject_unauth_destination");
    assert_int_equal(smtpd_policy_relay_check(), 0);
    mail_conf_override("smtpd_relay_restrictions", "permit_mynetworks, defer_unauth_destination");
    mail_conf_override("smtpd_recipient_restrictions", "");
    assert_int_equal(smtpd_policy_relay_check(), 0);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_mynetworks_forms),
	cmocka_unit_test(test_domain_lists),
	cmocka_unit_test(test_long_names_are_not_cut),
	cmocka_unit_test(test_cidr_errors),
	cmocka_unit_test(test_domain_classes),
	cmocka_unit_test(test_source_routes),
	cmocka_unit_test(test_address_forms),
	cmocka_unit_test(test_relay_check),
    };

    msg_init("test_policy_lists", 1);
    return (cmocka_run_group_tests(tests, setup, unit_teardown_dir));
}
