/*
 * smtpd_policy_dns - DNS-based restrictions: domain existence (with null
 * MX), MX backup, RBL/RHSBL black and white lists, all through the
 * session's DNS cache (asynchronous lookups: see smtpd_policy.c).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "dns_lookup.h"
#include "htable.h"
#include "mac_expand.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "pol_cidr.h"
#include "pol_maps.h"
#include "pol_match.h"
#include "resolve_class.h"
#include "smtpd_policy.h"
#include "smtpd_policy_int.h"
#include "stringops.h"
#include "vstr.h"

/*
 * DNS through the session cache.
 */
typedef struct DNS_WAIT {
    SMTPD_POLICY *p;
    char   *key;
} DNS_WAIT;

/* One asynchronous lookup (DNS, policy service) is done: resume or free. */
void    spol_lookup_done(SMTPD_POLICY *p)
{
    if (--p->dns_inflight == 0) {
	if (p->released)
	    smtpd_policy_free(p);
	else if (p->dns_done)
	    p->dns_done(p, p->dns_done_context);
    }
}

static void spol_dns_answer(const DNS_REPLY *r, void *ctx)
{
    DNS_WAIT *w = ctx;
    SMTPD_POLICY *p = w->p;
    DNS_CACHED *c = htable_find(p->dns_cache, w->key);

    if (c) {
	c->status = r->status;
	c->rr = argv_alloc(r->rr ? r->rr->argc + 1 : 1);
	for (size_t i = 0; r->rr && i < r->rr->argc; i++)
	    argv_add(c->rr, r->rr->argv[i]);
	c->inflight = 0;
    }
    free(w->key);
    free(w);
    spol_lookup_done(p);
}

/* Returns the cached answer, or NULL when a lookup is in flight. */
DNS_CACHED *spol_dns_get(SMTPD_POLICY *p, const char *name, int type)
{
    VSTR   *key = vstr_alloc(64);
    DNS_CACHED *c;

    vstr_fmt(key, "%d:%s", type, name);
    vstr_lower(key);
    if ((c = htable_find(p->dns_cache, vstr_str(key))) != 0) {
	vstr_free(key);
	if (c->inflight) {
	    p->evaluating_pending = 1;
	    return (0);
	}
	return (c);
    }
    c = xcalloc(1, sizeof(*c));
    htable_enter(p->dns_cache, vstr_str(key), c);
    if (p->event_base == 0) {
	DNS_REPLY r;

	dns_lookup_sync(name, type, &r);
	c->status = r.status;
	c->rr = r.rr;
	vstr_free(key);
	return (c);
    } else {
	DNS_WAIT *w = xcalloc(1, sizeof(*w));

	w->p = p;
	w->key = vstr_export(key);
	c->inflight = 1;
	p->dns_inflight++;
	p->evaluating_pending = 1;
	dns_lookup_async(p->event_base, name, type, spol_dns_answer, w);
	/* A synchronous failure report may have completed it already. */
	return (c->inflight ? 0 : c);
    }
}

/*
 * permit_mx_backup, as Postfix 3.7's smtpd: a lookup that fails does not
 * just "not permit", it turns a later reject into 450 4.4.4 (the
 * DEFER_IF_REJECT of docs/policy.md). The MX host's addresses are what
 * getaddrinfo() would give Postfix: A, and AAAA unless inet_protocols is
 * ipv4 only.
 */
#define MXB_PENDING	(-1)

typedef struct MXB_HOST {
    const char *name;
    long    pref;
    DNS_CACHED *a4;
    DNS_CACHED *a6;			/* NULL: IPv4 only */
} MXB_HOST;

static int mxb_want_ipv6(void)
{
    const char *proto = mail_conf_str("inet_protocols");

    return (strstr(proto, "all") != 0 || strstr(proto, "ipv6") != 0);
}

/* Look up a host's addresses: 0 done, MXB_PENDING. */
static int mxb_host_addrs(SMTPD_POLICY *p, MXB_HOST *h, int ipv6)
{
    if (h->a4 == 0 && (h->a4 = spol_dns_get(p, h->name, DNS_T_A)) == 0)
	return (MXB_PENDING);
    if (ipv6 && h->a6 == 0 && (h->a6 = spol_dns_get(p, h->name, DNS_T_AAAA)) == 0)
	return (MXB_PENDING);
    return (0);
}

static int mxb_has(const DNS_CACHED *c)
{
    return (c && c->status == DNS_OK && c->rr && c->rr->argc > 0);
}

/* getaddrinfo()'s text for a host without addresses, or NULL. */
static const char *mxb_host_error(const MXB_HOST *h)
{
    int     s4 = h->a4->status, s6 = h->a6 ? h->a6->status : DNS_NOTFOUND;

    if (mxb_has(h->a4) || mxb_has(h->a6))
	return (0);
    if (s4 == DNS_RETRY || s4 == DNS_INVALID || (h->a6 && (s6 == DNS_RETRY || s6 == DNS_INVALID)))
	return ("Temporary failure in name resolution");
    if (s4 == DNS_NOTFOUND && (h->a6 == 0 || s6 == DNS_NOTFOUND))
	return ("Name or service not known");
    return ("No address associated with hostname");
}

static int mxb_is_us(const MXB_HOST *h)
{
    const DNS_CACHED *c[2] = {h->a4, h->a6};

    for (int k = 0; k < 2; k++)
	for (size_t j = 0; mxb_has(c[k]) && j < c[k]->rr->argc; j++)
	    if (resolve_own_address(c[k]->rr->argv[j]))
		return (1);
    return (0);
}

/* The first DEFER_IF_REJECT reason of this evaluation wins (as Postfix). */
static void mxb_defer(VSTR **why, const char *reply_name, const char *reply_class,
		              const char *fmt, const char *a1, const char *a2)
{
    if (*why)
	return;
    *why = vstr_alloc(128);
    vstr_fmt(*why, "<%s>: %s rejected: ", reply_name, reply_class);
    vstr_fmt_append(*why, fmt, a1, a2);
}

/* permit_mx_backup_networks: every address of every primary MX host. */
static int mxb_primaries_listed(SMTPD_POLICY *p, MXB_HOST *hosts, size_t n, long best,
				        VSTR **why, const char *reply_name,
				        const char *reply_class)
{
    /* Parsed once per process and value: errors are logged once. */
    POL_MATCH_LIST *ml = pol_match_list_cached("permit_mx_backup_networks",
					       POL_MATCH_NAME | POL_MATCH_ADDR);

    for (size_t i = 0; i < n && hosts[i].pref == best; i++) {
	const DNS_CACHED *c[2] = {hosts[i].a4, hosts[i].a6};
	const char *err = mxb_host_error(hosts + i);

	if (err) {
	    mxb_defer(why, reply_name, reply_class,
		      "Unable to look up mail exchanger host %s: %s", hosts[i].name, err);
	    return (0);
	}
	for (int k = 0; k < 2; k++) {
	    for (size_t j = 0; mxb_has(c[k]) && j < c[k]->rr->argc; j++) {
		int     m = pol_match_list_match(ml, hosts[i].name, c[k]->rr->argv[j]);

		if (m < 0) {
		    msg_warn("all_auth_mx_addr: permit_mx_backup_networks lookup error"
			     " for address %s for %s", c[k]->rr->argv[j], hosts[i].name);
		    mxb_defer(why, reply_name, reply_class,
			      "Unable to verify host %s as mail exchanger%s", hosts[i].name, "");
		    return (0);
		}
		if (m == 0)
		    return (0);
	    }
	}
    }
    return (1);
}

/* Is one of the domain's backup MX hosts us? (1 yes, 0 no, -1 pending) */
int     spol_mx_backup_ok(SMTPD_POLICY *p, const char *domain, const char *reply_name,
			          const char *reply_class)
{
    DNS_CACHED *mx = spol_dns_get(p, domain, DNS_T_MX);
    MXB_HOST *hosts;
    size_t  n = 0;
    long    best;
    int     ipv6 = mxb_want_ipv6();
    int     result = 0, found = 0;
    VSTR   *why = 0;

    if (mx == 0)
	return (MXB_PENDING);
    if (mx->status == DNS_NOTFOUND || mx->status == DNS_NODATA)
	return (0);
    if (mx->status != DNS_OK) {
	mxb_defer(&why, reply_name, reply_class,
		  "Unable to look up mail exchanger information: %s%s",
		  dns_status_text(mx->status), "");
	spol_record_defer(p, &p->defer_if_reject, &p->defer_if_reject_reply,
			  450, "4.4.4", vstr_str(why));
	vstr_free(why);
	return (0);
    }
    /* Hosts by preference (stable: answer order within one preference). */
    hosts = xcalloc(mx->rr->argc + 1, sizeof(*hosts));
    for (size_t i = 0; i < mx->rr->argc; i++) {
	const char *host = strchr(mx->rr->argv[i], ' ');
	long    pref = atol(mx->rr->argv[i]);
	size_t  at = n;

	if (host == 0 || strcmp(++host, ".") == 0)
	    continue;
	while (at > 0 && hosts[at - 1].pref > pref) {
	    hosts[at] = hosts[at - 1];
	    at--;
	}
	hosts[at].name = host;
	hosts[at].pref = pref;
	hosts[at].a4 = hosts[at].a6 = 0;
	n++;
    }
    if (n == 0)
	goto out;
    best = hosts[0].pref;

    /*
     * Primaries, then the others, until a host is us: one of the primaries
     * (Postfix does not back itself up) or a backup. A host whose
     * addresses cannot be looked up is skipped with a DEFER_IF_REJECT.
     */
    for (size_t i = 0; i < n && !found; i++) {
	const char *err;

	if (mxb_host_addrs(p, hosts + i, ipv6) == MXB_PENDING) {
	    result = MXB_PENDING;
	    goto out;
	}
	if ((err = mxb_host_error(hosts + i)) != 0)
	    mxb_defer(&why, reply_name, reply_class,
		      "Unable to look up mail exchanger host %s: %s", hosts[i].name, err);
	else if (mxb_is_us(hosts + i))
	    found = (hosts[i].pref == best) ? -1 : 1;
    }
    if (found <= 0)
	goto out;
    if (*mail_conf_str("permit_mx_backup_networks")) {
	/* Primaries were all looked up above (none of them is us). */
	result = mxb_primaries_listed(p, hosts, n, best, &why, reply_name, reply_class);
    } else
	result = 1;

out:
    if (result != MXB_PENDING && why != 0)
	spol_record_defer(p, &p->defer_if_reject, &p->defer_if_reject_reply,
			  450, "4.4.4", vstr_str(why));
    if (why)
	vstr_free(why);
    free(hosts);
    return (result);
}

/*
 * Domain existence (reject_unknown_{sender,recipient}_domain).
 * Returns DNS_OK, DNS_NOTFOUND (no MX/A/AAAA), DNS_RETRY, 100 (null MX), -1 pending.
 */
#define DOMAIN_NULLMX	100

static int spol_domain_exists(SMTPD_POLICY *p, const char *domain)
{
    DNS_CACHED *mx = spol_dns_get(p, domain, DNS_T_MX);
    DNS_CACHED *a, *aaaa;

    if (mx == 0)
	return (-1);
    if (mx->status == DNS_OK) {
	if (mx->rr->argc == 1 && strcmp(mx->rr->argv[0], "0 .") == 0)
	    return (DOMAIN_NULLMX);
	return (DNS_OK);
    }
    if (mx->status == DNS_RETRY)
	return (DNS_RETRY);
    if (mx->status == DNS_NOTFOUND)
	return (DNS_NOTFOUND);
    if ((a = spol_dns_get(p, domain, DNS_T_A)) == 0)
	return (-1);
    if (a->status == DNS_OK)
	return (DNS_OK);
    if ((aaaa = spol_dns_get(p, domain, DNS_T_AAAA)) == 0)
	return (-1);
    if (aaaa->status == DNS_OK)
	return (DNS_OK);
    if (a->status == DNS_RETRY || aaaa->status == DNS_RETRY)
	return (DNS_RETRY);
    return (DNS_NOTFOUND);
}

int     spol_tempfail_action(SMTPD_POLICY *p, const char *param, int code, const char *dsn,
			           const char *text)
{
    const char *action = mail_conf_str(param);

    if (strcmp(action, "defer") == 0)
	return (spol_check_reject(p, code, dsn, "%s", text));
    if (strcmp(action, "defer_if_permit") == 0) {
	spol_record_defer(p, &p->defer_if_permit, &p->defer_if_permit_reply, code, dsn, text);
	return (CHK_DUNNO);
    }
    return (CHK_DUNNO);
}

int     spol_reject_unknown_address(SMTPD_POLICY *p, const char *addr, const char *reply_class,
				          int is_sender)
{
    const char *domain;
    VSTR   *res;
    int     flags;
    int     st;
    VSTR   *text;
    int     rc = CHK_DUNNO;

    if (addr == 0 || *addr == 0 || (domain = spol_addr_domain(addr)) == 0 || *domain == 0)
	return (CHK_DUNNO);
    if (*domain == '[')
	return (CHK_DUNNO);
    res = vstr_alloc(64);
    flags = resolve_policy_addr(addr, res);
    vstr_free(res);
    if (flags & RESOLVE_CLASS_FINAL)
	return (CHK_DUNNO);
    if ((st = spol_domain_exists(p, domain)) < 0)
	return (CHK_PENDING);
    text = vstr_alloc(64);
    if (st == DOMAIN_NULLMX) {
	vstr_fmt(text, "<%s>: %s rejected: Domain %s does not accept mail (nullMX)",
		 addr, reply_class, domain);
	rc = is_sender ? spol_check_reject(p, 550, "5.7.27", "%s", vstr_str(text))
	    : spol_check_reject(p, 556, "5.1.10", "%s", vstr_str(text));
    } else if (st == DNS_NOTFOUND) {
	vstr_fmt(text, "<%s>: %s rejected: Domain not found", addr, reply_class);
	rc = spol_check_reject(p, (int) mail_conf_int("unknown_address_reject_code"),
			  is_sender ? "4.1.8" : "4.1.2", "%s", vstr_str(text));
    } else if (st == DNS_RETRY) {
	vstr_fmt(text, "<%s>: %s rejected: Domain not found", addr, reply_class);
	rc = spol_tempfail_action(p, "unknown_address_tempfail_action", 450, "4.4.3", vstr_str(text));
    }
    vstr_free(text);
    return (rc);
}

/*
 * DNS black/white lists.
 */
static int rbl_expand_ctx_dummy;

typedef struct RBL_VARS {
    const char *code, *class, *what, *domain, *reason, *client_name, *client_addr, *helo;
    const char *sender, *recipient;
} RBL_VARS;

static const char *spol_rbl_lookup(const char *name, void *ctx)
{
    RBL_VARS *v = ctx;

    if (strcmp(name, "rbl_code") == 0)
	return (v->code);
    if (strcmp(name, "rbl_class") == 0)
	return (v->class);
    if (strcmp(name, "rbl_what") == 0)
	return (v->what);
    if (strcmp(name, "rbl_domain") == 0)
	return (v->domain);
    if (strcmp(name, "rbl_reason") == 0 || strcmp(name, "rbl_txt") == 0)
	return (v->reason);
    if (strcmp(name, "client_name") == 0)
	return (v->client_name);
    if (strcmp(name, "client_address") == 0)
	return (v->client_addr);
    if (strcmp(name, "helo_name") == 0)
	return (v->helo);
    if (strcmp(name, "sender") == 0)
	return (v->sender);
    if (strcmp(name, "recipient") == 0)
	return (v->recipient);
    return (mail_conf_raw(name));
}

/* Does an A answer match the filter ("" = any 127/8, else a list of addresses). */
static int spol_rbl_match(const DNS_CACHED *a, const char *filter)
{
    if (a->status != DNS_OK)
	return (0);
    for (size_t i = 0; i < a->rr->argc; i++) {
	const char *addr = a->rr->argv[i];

	if (filter == 0 || *filter == 0)
	    return (1);
	if (strcmp(filter, addr) == 0)
	    return (1);
	/* 127.0.0.[2..10] style ranges and netmasks are accepted as CIDR */
	if (strchr(filter, '/')) {
	    POL_CIDR net;

	    if (pol_cidr_parse(filter, &net, 0) == 0 && pol_cidr_match(&net, addr))
		return (1);
	}
    }
    return (0);
}

/* what_kind: 0 client address, 1 client name, 2 sender domain, 3 helo, 4 recipient domain. */
int     spol_check_rbl(SMTPD_POLICY *p, const char *arg, int what_kind, int permit)
{
    char   *dom = xstrdup(arg);
    char   *filter = strchr(dom, '=');
    char    qname[1100];
    const char *what = 0;
    const char *cls = NAME_CLIENT;
    DNS_CACHED *a, *txt;
    int     rc = CHK_DUNNO;

    if (filter)
	*filter++ = 0;
    switch (what_kind) {
    case 0:
	what = p->client_addr;
	if (dns_reverse_name(what, dom, qname, sizeof(qname)) < 0)
	    what = 0;
	break;
    case 1:
	if (strcmp(p->client_name, "unknown") != 0)
	    what = p->client_name;
	break;
    case 2:
	cls = NAME_SENDER;
	if (p->sender && *p->sender)
	    what = spol_addr_domain(p->sender);
	break;
    case 3:
	cls = NAME_HELO;
	what = p->helo;
	break;
    case 4:
	cls = NAME_RCPT;
	if (p->recipient && *p->recipient)
	    what = spol_addr_domain(p->recipient);
	break;
    }
    if (what == 0 || *what == 0 || (what_kind > 0 && *what == '[')) {
	free(dom);
	return (CHK_DUNNO);
    }
    if (what_kind > 0)
	snprintf(qname, sizeof(qname), "%s.%s", what, dom);
    if ((a = spol_dns_get(p, qname, DNS_T_A)) == 0) {
	free(dom);
	return (CHK_PENDING);
    }
    if (spol_rbl_match(a, filter)) {
	if (permit) {
	    free(dom);
	    return (CHK_OK);
	}
	if ((txt = spol_dns_get(p, qname, DNS_T_TXT)) == 0) {
	    free(dom);
	    return (CHK_PENDING);
	} else {
	    RBL_VARS v;
	    VSTR   *out = vstr_alloc(128);
	    char    code[8];
	    const char *why;
	    const char *text;
	    int     icode;

	    memset(&v, 0, sizeof(v));
	    snprintf(code, sizeof(code), "%ld", mail_conf_int("maps_rbl_reject_code"));
	    v.code = code;
	    v.class = cls;
	    /* As Postfix: the whole sender/recipient address is shown. */
	    v.what = what_kind == 2 ? p->sender : what_kind == 4 ? p->recipient : what;
	    v.domain = dom;
	    v.reason = (txt->status == DNS_OK && txt->rr->argc) ? txt->rr->argv[0] : "";
	    v.client_name = p->client_name;
	    v.client_addr = p->client_addr;
	    v.helo = p->helo ? p->helo : "";
	    v.sender = p->sender ? p->sender : "";
	    v.recipient = p->recipient ? p->recipient : "";
	    (void) rbl_expand_ctx_dummy;
	    {
		/* rbl_reply_maps: a template per list domain, else default_rbl_reply. */
		const char *tmpl = 0;
		const char *maps = mail_conf_str("rbl_reply_maps");

		if (*maps)
		    tmpl = pol_maps_find(pol_maps_cached("rbl_reply_maps", maps), dom, 0);
		mac_expand(out, tmpl ? tmpl : mail_conf_raw("default_rbl_reply"),
			   spol_rbl_lookup, &v, &why);
	    }
	    text = vstr_str(out);
	    icode = atoi(text);
	    if (icode >= 400 && icode <= 599 && text[3] == ' ')
		text += 4;
	    else
		icode = (int) mail_conf_int("maps_rbl_reject_code");
	    if (spol_dsn_valid(text)) {
		char    d[16];
		size_t  dl = strcspn(text, " ");

		snprintf(d, sizeof(d), "%.*s", (int) dl, text);
		text += dl;
		while (*text == ' ')
		    text++;
		rc = spol_check_reject(p, icode, d, "%s", text);
	    } else
		rc = spol_check_reject(p, icode, icode < 500 ? "4.7.1" : "5.7.1", "%s", text);
	    vstr_free(out);
	}
    } else if (a->status == DNS_RETRY && !permit) {
	/* Postfix logs and skips a list that does not answer. */
	msg_warn("%s: RBL lookup error: %s", qname, dns_status_text(a->status));
    }
    free(dom);
    return (rc);
}

