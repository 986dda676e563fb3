/* Unit tests for the queue manager's libraries: attr lists, the delivery
 * request parser, the resolver's address classes, delay formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "attr.h"
#include "deliver_request.h"
#include "dict.h"
#include "mail_addr_find.h"
#include "mail_conf.h"
#include "maps.h"
#include "resolve.h"
#include "vstr.h"

static void test_attr_roundtrip(void **state)
{
    ATTR_LIST *al = attr_list_alloc(), *back = attr_list_alloc();
    VSTR   *wire = vstr_alloc(64);
    const char *cp, *nl;
    int     st = 0;

    attr_list_add(al, "sender", "a%b\nc\r\td");
    attr_list_addl(al, "size", 42);
    attr_list_add(al, "empty", "");
    attr_encode(wire, al);
    assert_string_equal(vstr_str(wire), "sender=a%25b%0Ac%0D%09d\nsize=42\nempty=\n\n");
    for (cp = vstr_str(wire); (nl = strchr(cp, '\n')) != 0; cp = nl + 1)
	if ((st = attr_parse_line(back, cp, nl - cp, 10)) != 0)
	    break;
    assert_int_equal(st, 1);
    assert_string_equal(attr_list_get(back, "sender"), "a%b\nc\r\td");
    assert_int_equal(attr_list_get_long(back, "size", 0, 0), 42);
    assert_string_equal(attr_list_get(back, "empty"), "");
    assert_null(attr_list_get(back, "missing"));
    attr_list_free(al);
    attr_list_free(back);
    vstr_free(wire);
}

static void test_attr_bad_input(void **state)
{
    ATTR_LIST *al = attr_list_alloc();

    assert_int_equal(attr_parse_line(al, "noequals", 8, 10), -1);
    assert_int_equal(attr_parse_line(al, "bad name=x", 10, 10), -1);
    assert_int_equal(attr_parse_line(al, "a=%0", 4, 10), -1);
    assert_int_equal(attr_parse_line(al, "a=%00", 5, 10), -1);
    assert_int_equal(attr_parse_line(al, "a=%zz", 5, 10), -1);
    assert_int_equal(attr_parse_line(al, "a=1", 3, 1), 0);
    assert_int_equal(attr_parse_line(al, "b=2", 3, 1), -1);	/* count bound */
    attr_list_free(al);
}

static void test_attr_stream(void **state)
{
    int     sv[2];
    ATTR_LIST *al = attr_list_alloc(), *in = attr_list_alloc();
    ATTR_STREAM *a, *b;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    a = attr_stream_open(sv[0], 5);
    b = attr_stream_open(sv[1], 5);
    for (int i = 0; i < 1000; i++)
	attr_list_addl(al, "n", i);
    assert_int_equal(attr_write(a, al), 0);
    assert_int_equal(attr_read(b, in, 2000), 0);
    assert_int_equal(in->count, 1000);
    assert_string_equal(in->values[999], "999");
    assert_int_equal(attr_write(a, al), 0);
    assert_int_equal(attr_read(b, in, 10), -1);	/* too many */
    close(sv[0]);
    close(sv[1]);
    attr_stream_free(a);
    attr_stream_free(b);
    attr_list_free(al);
    attr_list_free(in);
}

static void test_request_parse(void **state)
{
    ATTR_LIST *al = attr_list_alloc();
    DELIVER_REQUEST *req;
    const char *why;
    RECIPIENT r1 = {.offset = 100,.address = "a@x",.orig_addr = "A@x",.dsn_orcpt = "",.dsn_notify = 2};
    RECIPIENT r2 = {.offset = 200,.address = "b@x",.orig_addr = "",.dsn_orcpt = "rfc822;b@x"};

    attr_list_add(al, "queue_name", "active");
    attr_list_add(al, "queue_id", "ABC123");
    attr_list_add(al, "data_offset", "77");
    attr_list_add(al, "sender", "");
    attr_list_add(al, "arrival_time", "1700000000.5");
    deliver_request_add_rcpt(al, &r1);
    deliver_request_add_rcpt(al, &r2);
    req = deliver_request_parse(al, &why);
    assert_non_null(req);
    assert_int_equal(req->rcpt_count, 2);
    assert_string_equal(req->rcpt[0].orig_addr, "A@x");
    assert_int_equal(req->rcpt[0].dsn_notify, 2);
    assert_int_equal(req->rcpt[1].offset, 200);
    assert_string_equal(req->rcpt[1].dsn_orcpt, "rfc822;b@x");
    assert_int_equal(req->arrival_time.tv_usec, 5);
    deliver_request_free(req);
    /* a queue ID with a slash is refused */
    attr_list_reset(al);
    attr_list_add(al, "queue_name", "active");
    attr_list_add(al, "queue_id", "../etc");
    attr_list_add(al, "data_offset", "77");
    deliver_request_add_rcpt(al, &r1);
    assert_null(deliver_request_parse(al, &why));
    attr_list_free(al);
}

static void test_fmt_delay(void **state)
{
    VSTR   *b = vstr_alloc(16);

    assert_string_equal(deliver_fmt_delay(b, 0.004), "0");
    assert_string_equal(deliver_fmt_delay(b, 0.13), "0.13");
    assert_string_equal(deliver_fmt_delay(b, 0.1), "0.1");
    assert_string_equal(deliver_fmt_delay(b, 1.23), "1.2");
    assert_string_equal(deliver_fmt_delay(b, 2.0), "2");
    assert_string_equal(deliver_fmt_delay(b, 2460.4), "2460");
    vstr_free(b);
}

static void test_resolve_classes(void **state)
{
    RESOLVE_REPLY rr;
    char    dir[] = "/tmp/postern-unit-XXXXXX";
    char    path[256];
    FILE   *fp;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    fp = fopen(path, "w");
    fprintf(fp, "myhostname = mx.example.com\nmydomain = example.com\n"
	    "mydestination = $myhostname, localhost\n"
	    "virtual_alias_domains = alias.example\n"
	    "virtual_mailbox_domains = mbox.example\n"
	    "relay_domains = relay.example\n");
    fclose(fp);
    mail_conf_set_dir(dir);
    mail_conf_read();
    resolve_reply_init(&rr);
    resolve_addr("user@MX.example.com", &rr);
    assert_true(rr.flags & RESOLVE_CLASS_LOCAL);
    assert_string_equal(vstr_str(rr.transport), "local");
    assert_string_equal(vstr_str(rr.nexthop), "mx.example.com");
    resolve_addr("user", &rr);
    assert_true(rr.flags & RESOLVE_CLASS_LOCAL);
    resolve_addr("x@alias.example", &rr);
    assert_string_equal(vstr_str(rr.transport), "error");
    assert_string_equal(vstr_str(rr.nexthop), "5.1.1 User unknown in virtual alias table");
    resolve_addr("x@mbox.example", &rr);
    assert_string_equal(vstr_str(rr.transport), "virtual");
    resolve_addr("x@sub.relay.example", &rr);	/* parent_domain_matches_subdomains */
    assert_true(rr.flags & RESOLVE_CLASS_RELAY);
    assert_string_equal(vstr_str(rr.transport), "relay");
    assert_string_equal(vstr_str(rr.nexthop), "sub.relay.example");
    resolve_addr("x@elsewhere.example.", &rr);
    assert_true(rr.flags & RESOLVE_CLASS_DEFAULT);
    assert_string_equal(vstr_str(rr.transport), "smtp");
    assert_string_equal(vstr_str(rr.nexthop), "elsewhere.example");
    resolve_addr("x@[127.0.0.1]", &rr);
    assert_true(rr.flags & RESOLVE_CLASS_LOCAL);
    resolve_reply_free(&rr);
    unlink(path);
    rmdir(dir);
}

/*
 * The table library's "is this domain local" hook: with the resolver's
 * version installed, the localpart keys of virtual(5)/canonical(5) lookups
 * are tried for exactly the domains qmgr delivers locally ($mydestination
 * with domain-list patterns), plus $myorigin. The built-in fallback only
 * compares names, so ".sub.example" style entries and "!" exclusions need
 * the resolver's version.
 */
static void test_resolve_local_hook(void **state)
{
    char    dir[] = "/tmp/postern-unit-XXXXXX";
    char    path[256];
    FILE   *fp;
    MAPS   *maps;
    RESOLVE_REPLY rr;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    fp = fopen(path, "w");
    fprintf(fp, "myhostname = mx.example.com\nmydomain = example.com\n"
	    "myorigin = origin.example\n"
	    "mydestination = $myhostname, !no.sub.example, .sub.example\n");
    fclose(fp);
    mail_conf_set_dir(dir);
    mail_conf_read();
    maps = maps_create("virtual_alias_maps", "inline:{ user=found }", DICT_FLAG_DEFAULT);
    resolve_install_local();
    /* resolve_local() agrees with the resolver's address classes. */
    assert_int_equal(resolve_local("mx.example.com"), 1);
    assert_int_equal(resolve_local("MX.Example.COM."), 1);
    assert_int_equal(resolve_local("a.sub.example"), 1);
    assert_int_equal(resolve_local("no.sub.example"), 0);
    assert_int_equal(resolve_local("sub.example"), 0);
    assert_int_equal(resolve_local("[127.0.0.1]"), 1);
    assert_int_equal(resolve_local("[192.0.2.99]"), 0);
    assert_int_equal(resolve_local("origin.example"), 0);	/* not in mydestination */
    resolve_reply_init(&rr);
    resolve_addr("user@a.sub.example", &rr);
    assert_true(rr.flags & RESOLVE_CLASS_LOCAL);
    resolve_addr("user@no.sub.example", &rr);
    assert_false(rr.flags & RESOLVE_CLASS_LOCAL);
    resolve_reply_free(&rr);
    /* The search order: "user" is tried only where the domain is local. */
    assert_non_null(mail_addr_find(maps, "user@a.sub.example", 0));
    assert_string_equal(mail_addr_find(maps, "user@A.Sub.Example", 0), "found");
    assert_non_null(mail_addr_find(maps, "user@[127.0.0.1]", 0));
    assert_non_null(mail_addr_find(maps, "user@origin.example", 0));
    assert_non_null(mail_addr_find(maps, "user@mx.example.com", 0));
    assert_null(mail_addr_find(maps, "user@no.sub.example", 0));
    assert_null(mail_addr_find(maps, "user@elsewhere.example", 0));
    assert_int_equal(mail_addr_domain_is_local("a.sub.example"), 1);
    assert_int_equal(mail_addr_domain_is_local("no.sub.example"), 0);
    mail_addr_set_local_fn(0);
    maps_free(maps);
    unlink(path);
    rmdir(dir);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_attr_roundtrip),
	cmocka_unit_test(test_attr_bad_input),
	cmocka_unit_test(test_attr_stream),
	cmocka_unit_test(test_request_parse),
	cmocka_unit_test(test_fmt_delay),
	cmocka_unit_test(test_resolve_classes),
	cmocka_unit_test(test_resolve_local_hook),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
