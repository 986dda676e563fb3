/*
 * DNS-based policy checks against a real DNS server on loopback: dnsmasq
 * (Debian's dnsmasq-base) serving its own test zone on 127.0.0.1:26053,
 * found through postern_dns_servers. Covers the c-ares wrapper (sync and
 * inside a libevent loop) and reject_unknown_{sender,recipient}_domain
 * (incl. null MX), reject_unknown_helo_hostname, reject_rbl_client,
 * reject_rhsbl_sender, permit_dnswl_client, with the engine's asynchronous
 * (pending/resume) mode.
 */
#include <event2/event.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "dns_lookup.h"
#include "mail_conf.h"
#include "msg.h"
#include "pol_maps.h"
#include "resolve_class.h"
#include "smtpd_policy.h"

/* A free UDP port for the test server (26053 and up: this test's own range). */
static char dns_port[16] = "26053";

static pid_t dns_pid;
static char dir[128];

static const char *zone =
"port=%s\n"
"listen-address=127.0.0.1\n"
"bind-interfaces\n"
"no-resolv\n"
"no-hosts\n"
"server=/test/\n"
"host-record=exists.test,192.0.2.10\n"
"mx-host=mxonly.test,mail.exists.test,10\n"
"host-record=mail.exists.test,192.0.2.12\n"
"host-record=helo.test,192.0.2.11\n"
"mx-host=nullmx.test,.,0\n"
"host-record=2.0.0.127.rbl.test,127.0.0.2\n"
"txt-record=2.0.0.127.rbl.test,\"Listed for testing\"\n"
"host-record=3.0.0.127.rbl.test,127.0.0.2\n"
"host-record=bad.test.rhsbl.test,127.0.0.2\n"
"host-record=9.0.0.127.wl.test,127.0.0.5\n"
"mx-host=backup.test,primary.backup.test,10\n"
"mx-host=backup.test,mx.example.com.test,20\n"
"host-record=primary.backup.test,192.0.2.20\n"
"host-record=mx.example.com.test,127.0.0.1\n"
"mx-host=notus.test,primary.backup.test,10\n"
"mx-host=weprimary.test,mx.example.com.test,5\n"
"mx-host=weprimary.test,primary.backup.test,10\n"
"mx-host=twoprim.test,primary.backup.test,10\n"
"mx-host=twoprim.test,other.twoprim.test,10\n"
"mx-host=twoprim.test,mx.example.com.test,20\n"
"host-record=other.twoprim.test,198.51.100.21\n";

static void write_file(const char *path, const char *text)
{
    FILE   *fp = fopen(path, "w");

    if (fp == 0)
	msg_fatal("open %s: %m", path);
    fputs(text, fp);
    fclose(fp);
}

static int dns_up(void)
{
    DNS_REPLY r;

    for (int i = 0; i < 50; i++) {
	dns_lookup_sync("exists.test", DNS_T_A, &r);
	if (r.status == DNS_OK) {
	    dns_reply_free(&r);
	    return (1);
	}
	dns_reply_free(&r);
	usleep(100000);
    }
    return (0);
}

static void pick_port(void)
{
    for (int port = 26053; port < 26100; port++) {
	int     fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin;
	int     ok;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short) port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0;
	close(fd);
	if (ok) {
	    snprintf(dns_port, sizeof(dns_port), "%d", port);
	    return;
	}
    }
}

static int setup(void **state)
{
    char    path[256];
    char    text[2048];

    if (access("/usr/sbin/dnsmasq", X_OK) != 0)
	return (0);
    snprintf(dir, sizeof(dir), "/tmp/postern-dns-test.%d", (int) getpid());
    mkdir(dir, 0755);
    snprintf(path, sizeof(path), "%s/dnsmasq.conf", dir);
    pick_port();
    snprintf(text, sizeof(text), zone, dns_port);
    write_file(path, text);
    if ((dns_pid = fork()) == 0) {
	char    pidf[256];

	snprintf(pidf, sizeof(pidf), "%s/dnsmasq.pid", dir);
	execl("/usr/sbin/dnsmasq", "dnsmasq", "-k", "-C", path, "-x", pidf, (char *) 0);
	_exit(127);
    }
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    snprintf(text, sizeof(text),
	       "compatibility_level = 3.6\n"
	       "myhostname = mx.example.com\n"
	       "mydomain = example.com\n"
	       "mydestination = $myhostname, localhost, example.com\n"
	       "inet_interfaces = 127.0.0.1\n"
	       "mynetworks = 127.0.0.1/32\n"
	       "postern_dns_servers = 127.0.0.1:%s\n"
	       "postern_dns_timeout = 2s\n"
	       "smtpd_delay_reject = no\n", dns_port);
    write_file(path, text);
    mail_conf_set_dir(dir);
    mail_conf_read();
    if (!dns_up())
	fail_msg("dnsmasq did not answer on 127.0.0.1:%s", dns_port);
    return (0);
}

static int teardown(void **state)
{
    char    cmd[300];

    if (dns_pid > 0) {
	kill(dns_pid, SIGTERM);
	waitpid(dns_pid, 0, 0);
    }
    dns_lookup_shutdown();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (*dir && system(cmd) != 0)
	msg_warn("cannot remove %s", dir);
    return (0);
}

#define NEED_DNS() do { if (dns_pid <= 0) skip(); } while (0)

static void test_sync_lookups(void **state)
{
    DNS_REPLY r;

    NEED_DNS();
    assert_int_equal(dns_lookup_sync("exists.test", DNS_T_A, &r), DNS_OK);
    assert_string_equal(r.rr->argv[0], "192.0.2.10");
    dns_reply_free(&r);
    assert_int_equal(dns_lookup_sync("mxonly.test", DNS_T_MX, &r), DNS_OK);
    assert_string_equal(r.rr->argv[0], "10 mail.exists.test");
    dns_reply_free(&r);
    assert_int_equal(dns_lookup_sync("nullmx.test", DNS_T_MX, &r), DNS_OK);
    assert_string_equal(r.rr->argv[0], "0 .");
    dns_reply_free(&r);
    assert_int_equal(dns_lookup_sync("2.0.0.127.rbl.test", DNS_T_TXT, &r), DNS_OK);
    assert_string_equal(r.rr->argv[0], "Listed for testing");
    dns_reply_free(&r);
    assert_int_equal(dns_lookup_sync("nope.test", DNS_T_A, &r), DNS_NOTFOUND);
    dns_reply_free(&r);
    assert_int_equal(dns_lookup_sync("exists.test", DNS_T_MX, &r), DNS_NODATA);
    dns_reply_free(&r);
}

static int async_count;
static void async_cb(const DNS_REPLY *r, void *ctx)
{
    char  **got = ctx;

    *got = r->status == DNS_OK ? strdup(r->rr->argv[0]) : strdup(dns_status_text(r->status));
    async_count++;
}

static void test_async_lookups(void **state)
{
    struct event_base *base;
    char   *a = 0, *mx = 0, *nx = 0;

    NEED_DNS();
    base = event_base_new();
    async_count = 0;
    dns_lookup_async(base, "exists.test", DNS_T_A, async_cb, &a);
    dns_lookup_async(base, "mxonly.test", DNS_T_MX, async_cb, &mx);
    dns_lookup_async(base, "nope.test", DNS_T_A, async_cb, &nx);
    while (async_count < 3)
	event_base_loop(base, EVLOOP_ONCE);
    assert_string_equal(a, "192.0.2.10");
    assert_string_equal(mx, "10 mail.exists.test");
    assert_string_equal(nx, "Host not found");
    free(a);
    free(mx);
    free(nx);
    dns_lookup_shutdown();
    event_base_free(base);
}

static void set(const char *name, const char *value)
{
    mail_conf_override(name, value);
    pol_maps_cache_flush();
    resolve_class_reset();
}

static const char *mail_from(SMTPD_POLICY *p, const char *sender)
{
    smtpd_policy_reset_transaction(p);
    return (smtpd_policy_mail(p, sender));
}

static void test_unknown_domain(void **state)
{
    SMTPD_POLICY *p;
    const char *r;

    NEED_DNS();
    set("smtpd_sender_restrictions", "reject_unknown_sender_domain");
    set("smtpd_recipient_restrictions", "reject_unknown_recipient_domain, permit");
    set("smtpd_relay_restrictions", "permit_auth_destination, permit");
    p = smtpd_policy_create();
    smtpd_policy_set(&p->client_addr, "127.0.0.9");
    smtpd_policy_helo(p, "client.test");
    assert_null(mail_from(p, "a@exists.test"));
    assert_null(mail_from(p, "a@mxonly.test"));
    assert_null(mail_from(p, "a@example.com"));		/* ours: no lookup */
    r = mail_from(p, "a@nope.test");
    assert_string_equal(r, "450 4.1.8 <a@nope.test>: Sender address rejected: Domain not found");
    r = mail_from(p, "a@nullmx.test");
    assert_string_equal(r, "550 5.7.27 <a@nullmx.test>: Sender address rejected: Domain nullmx.test does not accept mail (nullMX)");
    assert_null(mail_from(p, "a@exists.test"));
    r = smtpd_policy_rcpt(p, "b@nope.test");
    assert_string_equal(r, "450 4.1.2 <b@nope.test>: Recipient address rejected: Domain not found");
    r = smtpd_policy_rcpt(p, "b@nullmx.test");
    assert_string_equal(r, "556 5.1.10 <b@nullmx.test>: Recipient address rejected: Domain nullmx.test does not accept mail (nullMX)");
    assert_null(smtpd_policy_rcpt(p, "b@mxonly.test"));
    smtpd_policy_free(p);
    set("smtpd_sender_restrictions", "");
    set("smtpd_recipient_restrictions", "");
}

static void test_helo_and_lists(void **state)
{
    SMTPD_POLICY *p;

    NEED_DNS();
    set("smtpd_helo_restrictions", "reject_unknown_helo_hostname");
    set("smtpd_client_restrictions", "permit_dnswl_client wl.test, reject_rbl_client rbl.test");
    set("smtpd_sender_restrictions", "reject_rhsbl_sender rhsbl.test");
    p = smtpd_policy_create();
    smtpd_policy_set(&p->client_addr, "127.0.0.2");
    assert_string_equal(smtpd_policy_client(p),
			"554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using rbl.test; Listed for testing");
    smtpd_policy_set(&p->client_addr, "127.0.0.3");
    assert_string_equal(smtpd_policy_client(p),
			"554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked using rbl.test");
    /* rbl_reply_maps: a template for this list */
    {
	char    path[256];
	char    spec[300];
	FILE   *fp;

	snprintf(path, sizeof(path), "%s/rbl_reply", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("rbl.test $rbl_code 5.7.9 $rbl_what is listed at $rbl_domain\n", fp);
	fclose(fp);
	snprintf(spec, sizeof(spec), "texthash:%s", path);
	set("rbl_reply_maps", spec);
    }
    assert_string_equal(smtpd_policy_client(p),
			"554 5.7.9 127.0.0.3 is listed at rbl.test");
    set("rbl_reply_maps", "");
    smtpd_policy_set(&p->client_addr, "127.0.0.9");	/* whitelisted */
    assert_null(smtpd_policy_client(p));
    assert_null(smtpd_policy_helo(p, "helo.test"));
    assert_null(smtpd_policy_helo(p, "[127.0.0.1]"));
    assert_string_equal(smtpd_policy_helo(p, "nohost.test"),
			"450 4.7.1 <nohost.test>: Helo command rejected: Host not found");
    assert_string_equal(mail_from(p, "x@bad.test"),
			"554 5.7.1 Service unavailable; Sender address [x@bad.test] blocked using rhsbl.test");
    assert_null(mail_from(p, "x@exists.test"));
    smtpd_policy_free(p);
    set("smtpd_helo_restrictions", "");
    set("smtpd_client_restrictions", "");
    set("smtpd_sender_restrictions", "");
}

static void test_mx_backup(void **state)
{
    SMTPD_POLICY *p;

    NEED_DNS();
    set("smtpd_relay_restrictions", "permit_mx_backup, reject_unauth_destination");
    set("smtpd_recipient_restrictions", "permit");
    p = smtpd_policy_create();
    smtpd_policy_set(&p->client_addr, "127.0.0.9");
    smtpd_policy_helo(p, "client.test");
    mail_from(p, "a@exists.test");
    /* One MX host of backup.test has our address (127.0.0.1, inet_interfaces). */
    assert_null(smtpd_policy_rcpt(p, "b@backup.test"));
    assert_string_equal(smtpd_policy_rcpt(p, "b@notus.test"),
			"554 5.7.1 <b@notus.test>: Relay access denied");
    assert_string_equal(smtpd_policy_rcpt(p, "b@nope.test"),
			"554 5.7.1 <b@nope.test>: Relay access denied");
    /*
     * Sender-specified routing through a domain we back up is no relay
     * permission (postconf(5): permit_mx_backup "does not accept addresses
     * that have sender-specified routing information").
     */
    assert_string_equal(smtpd_policy_rcpt(p, "b@evil.test@backup.test"),
			"554 5.7.1 <b@evil.test@backup.test>: Relay access denied");
    assert_string_equal(smtpd_policy_rcpt(p, "b%evil.test@backup.test"),
			"554 5.7.1 <b%evil.test@backup.test>: Relay access denied");
    assert_string_equal(smtpd_policy_rcpt(p, "evil.test!b@backup.test"),
			"554 5.7.1 <evil.test!b@backup.test>: Relay access denied");
    /* we are the best MX: no backup relaying */
    assert_string_equal(smtpd_policy_rcpt(p, "b@weprimary.test"),
			"554 5.7.1 <b@weprimary.test>: Relay access denied");
    /* permit_mx_backup_networks: the primary (192.0.2.20) must be listed */
    set("permit_mx_backup_networks", "10.0.0.0/8");
    assert_string_equal(smtpd_policy_rcpt(p, "c@backup.test"),
			"554 5.7.1 <c@backup.test>: Relay access denied");
    set("permit_mx_backup_networks", "192.0.2.0/24");
    assert_null(smtpd_policy_rcpt(p, "c@backup.test"));
    /* As Postfix: every primary MX host (each address) must be listed. */
    assert_string_equal(smtpd_policy_rcpt(p, "c@twoprim.test"),
			"554 5.7.1 <c@twoprim.test>: Relay access denied");
    set("permit_mx_backup_networks", "192.0.2.0/24, 198.51.100.0/24");
    assert_null(smtpd_policy_rcpt(p, "d@twoprim.test"));
    set("permit_mx_backup_networks", "");
    smtpd_policy_free(p);
    set("smtpd_relay_restrictions", "");
    set("smtpd_recipient_restrictions", "");
}

/* The engine inside an event loop: PENDING, then resume when answers are in. */
static int resumed;
static void on_dns_done(SMTPD_POLICY *p, void *ctx)
{
    resumed++;
}

static void test_async_engine(void **state)
{
    struct event_base *base;
    SMTPD_POLICY *p;
    const char *r;

    NEED_DNS();
    set("smtpd_sender_restrictions", "reject_unknown_sender_domain");
    base = event_base_new();
    p = smtpd_policy_create();
    p->event_base = base;
    p->dns_done = on_dns_done;
    smtpd_policy_set(&p->client_addr, "127.0.0.9");
    smtpd_policy_helo(p, "client.test");
    r = smtpd_policy_mail(p, "a@nope.test");
    assert_ptr_equal(r, SMTPD_POLICY_PENDING);
    resumed = 0;
    while (resumed == 0)
	event_base_loop(base, EVLOOP_ONCE);
    r = smtpd_policy_mail(p, "a@nope.test");
    assert_string_equal(r, "450 4.1.8 <a@nope.test>: Sender address rejected: Domain not found");
    /* a@exists.test needs MX (no data) then A */
    smtpd_policy_reset_transaction(p);
    resumed = 0;
    while ((r = smtpd_policy_mail(p, "a@exists.test")) == SMTPD_POLICY_PENDING) {
	while (resumed == 0)
	    event_base_loop(base, EVLOOP_ONCE);
	resumed = 0;
    }
    assert_null(r);
    smtpd_policy_free(p);
    dns_lookup_shutdown();
    event_base_free(base);
    set("smtpd_sender_restrictions", "");
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_sync_lookups),
	cmocka_unit_test(test_async_lookups),
	cmocka_unit_test(test_unknown_domain),
	cmocka_unit_test(test_helo_and_lists),
	cmocka_unit_test(test_async_engine),
	cmocka_unit_test(test_mx_backup),
    };

    msg_init("test_policy_dns", 0);
    return (cmocka_run_group_tests(tests, setup, teardown));
}
