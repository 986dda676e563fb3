/*
 * smtpd_policy - SMTP access policy engine (see smtpd_policy.h).
 *
 * Evaluation is deterministic and restartable: a check that needs DNS
 * looks in the session's DNS cache; on a miss it starts a lookup and the
 * whole stage answers SMTPD_POLICY_PENDING. Log lines are buffered and only
 * emitted when a stage completes, so a restarted evaluation logs once.
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

const char SMTPD_POLICY_PENDING[] = "(pending)";




/*
 * Session object.
 */
SMTPD_POLICY *smtpd_policy_create(void)
{
    SMTPD_POLICY *p = xcalloc(1, sizeof(*p));

    p->client_name = xstrdup("unknown");
    p->reverse_name = xstrdup("unknown");
    p->client_addr = xstrdup("unknown");
    p->client_port = xstrdup("unknown");
    p->client_name_status = SMTPD_PEER_PERM;
    p->reverse_name_status = SMTPD_PEER_PERM;
    p->protocol = xstrdup("SMTP");
    p->pending_logs = argv_alloc(2);
    p->dns_cache = htable_create(16);
    return (p);
}

void    spol_dns_cached_free(void *ptr)
{
    DNS_CACHED *c = ptr;

    if (c->rr)
	argv_free(c->rr);
    free(c);
}

void    smtpd_policy_set(char **field, const char *value)
{
    free(*field);
    *field = value ? xstrdup(value) : 0;
}

void    smtpd_policy_reset_transaction(SMTPD_POLICY *p)
{
    smtpd_policy_set(&p->sender, 0);
    smtpd_policy_set(&p->recipient, 0);
    smtpd_policy_set(&p->redirect, 0);
    smtpd_policy_set(&p->filter, 0);
    if (p->prepend)
	argv_free(p->prepend);
    p->prepend = 0;
    p->action_flags = 0;
    p->rcpt_count = 0;
}

void    smtpd_policy_free(SMTPD_POLICY *p)
{
    smtpd_policy_reset_transaction(p);
    free(p->client_name);
    free(p->reverse_name);
    free(p->client_addr);
    free(p->client_port);
    free(p->helo);
    free(p->protocol);
    free(p->sasl_username);
    free(p->reply);
    free(p->defer_if_reject_reply);
    free(p->defer_if_permit_reply);
    for (int i = 0; i < 3; i++)
	free(p->saved_defer_if_permit[i]);
    argv_free(p->pending_logs);
    htable_free(p->dns_cache, spol_dns_cached_free);
    spol_policy_cache_free(p);
    /* In-flight DNS callbacks keep a pointer: smtpd must not free a
     * session with lookups in flight (it waits for dns_done). */
    free(p);
}

/*
 * Logging, buffered per evaluation.
 */
void    spol_log_event(SMTPD_POLICY *p, const char *what, const char *text)
{
    VSTR   *vp = vstr_alloc(256);

    vstr_fmt(vp, "%s: %s: %s from %s[%s]: %s;", p->queue_id ? p->queue_id : "NOQUEUE",
	     what, p->stage, p->client_name, p->client_addr, text);
    if (p->sender) {
	char   *ext = smtpd_policy_addr_external(p->sender);

	vstr_fmt_append(vp, " from=<%s>", ext);
	free(ext);
    }
    if (p->recipient && strcmp(p->stage, "MAIL") != 0 && strcmp(p->stage, "ETRN") != 0) {
	char   *ext = smtpd_policy_addr_external(p->recipient);

	vstr_fmt_append(vp, " to=<%s>", ext);
	free(ext);
    }
    vstr_fmt_append(vp, " proto=%s", p->protocol);
    if (p->helo)
	vstr_fmt_append(vp, " helo=<%s>", p->helo);
    argv_add(p->pending_logs, vstr_str(vp));
    vstr_free(vp);
}

void    smtpd_policy_log(SMTPD_POLICY *p, const char *what, const char *stage,
			         const char *text)
{
    const char *save = p->stage;

    p->stage = stage;
    spol_log_event(p, what, text);
    p->stage = save;
    msg_info("%s", p->pending_logs->argv[p->pending_logs->argc - 1]);
    argv_truncate(p->pending_logs, p->pending_logs->argc - 1);
}

void    smtpd_policy_release(SMTPD_POLICY *p)
{
    if (p->dns_inflight > 0)
	p->released = 1;
    else
	smtpd_policy_free(p);
}

static void logs_flush(SMTPD_POLICY *p, int emit)
{
    if (emit)
	for (size_t i = 0; i < p->pending_logs->argc; i++)
	    msg_info("%s", p->pending_logs->argv[i]);
    argv_truncate(p->pending_logs, 0);
}

/*
 * Replies.
 */
int     spol_dsn_valid(const char *t)
{
    /* "d.ddd.ddd" followed by space or end */
    if (!(t[0] == '2' || t[0] == '4' || t[0] == '5') || t[1] != '.')
	return (0);
    t += 2;
    for (int part = 0; part < 2; part++) {
	int     n = 0;

	while (isdigit((unsigned char) *t) && n < 3) {
	    t++;
	    n++;
	}
	if (n == 0)
	    return (0);
	if (part == 0) {
	    if (*t != '.')
		return (0);
	    t++;
	}
    }
    return (*t == 0 || *t == ' ' ? (int) 1 : 0);
}

/* Set p->reply to "code dsn text" with soft_bounce applied. */
void    spol_make_reply(SMTPD_POLICY *p, int code, const char *dsn, const char *text)
{
    VSTR   *vp = vstr_alloc(128);
    char    d[32];

    safe_strlcpy(d, dsn, sizeof(d));
    if (code >= 500 && mail_conf_bool("soft_bounce"))
	code -= 100;
    d[0] = (char) ('0' + code / 100);
    vstr_fmt(vp, "%d %s %s", code, d, text);
    free(p->reply);
    p->reply = vstr_export(vp);
}

/*
 * The one place a restriction rejects: warn_if_reject, defer_if_reject,
 * logging. Returns CHK_REJECT or CHK_DUNNO.
 */
int     spol_check_reject(SMTPD_POLICY *p, int code, const char *dsn, const char *fmt,...)
{
    VSTR   *text = vstr_alloc(128);
    va_list ap;
    int     warn = p->warn_if_reject;

    va_start(ap, fmt);
    vstr_vfmt_append(text, fmt, ap);
    va_end(ap);
    p->warn_if_reject = 0;
    spol_make_reply(p, code, dsn, vstr_str(text));
    vstr_free(text);
    if (p->reply[0] == '5' && p->defer_if_reject && p->defer_if_reject_reply) {
	free(p->reply);
	p->reply = xstrdup(p->defer_if_reject_reply);
    }
    if (warn) {
	spol_log_event(p, "reject_warning", p->reply);
	return (CHK_DUNNO);
    }
    spol_log_event(p, "reject", p->reply);
    return (CHK_REJECT);
}

void    spol_record_defer(SMTPD_POLICY *p, int *flag, char **slot, int code,
			         const char *dsn, const char *text)
{
    if (p->warn_if_reject) {		/* warn_if_reject applies to the next reject only */
	p->warn_if_reject = 0;
	return;
    }
    if (*flag)
	return;
    *flag = 1;
    spol_make_reply(p, code, dsn, text);
    free(*slot);
    *slot = xstrdup(p->reply);
}

int     spol_config_error(SMTPD_POLICY *p, const char *fmt, const char *arg)
{
    msg_warn(fmt, arg);
    spol_make_reply(p, 451, "4.3.5", "Server configuration error");
    spol_log_event(p, "reject", p->reply);
    return (CHK_REJECT);
}

/* A table that failed with a configuration error (e.g. could not be opened). */
int     spol_lookup_config(SMTPD_POLICY *p, const char *reply_name, const char *reply_class)
{
    VSTR   *vp = vstr_alloc(64);

    vstr_fmt(vp, "<%s>: %s rejected: Server configuration error", reply_name, reply_class);
    spol_make_reply(p, 451, "4.3.5", vstr_str(vp));
    vstr_free(vp);
    spol_log_event(p, "reject", p->reply);
    return (CHK_REJECT);
}

int     spol_lookup_retry(SMTPD_POLICY *p, const char *reply_name)
{
    VSTR   *vp = vstr_alloc(64);
    int     rc;

    vstr_fmt(vp, "<%s>: Temporary lookup failure", reply_name);
    spol_make_reply(p, 451, "4.3.0", vstr_str(vp));
    vstr_free(vp);
    spol_log_event(p, "reject", p->reply);
    rc = CHK_REJECT;
    return (rc);
}

/*
 * Address and name helpers.
 */
char   *smtpd_policy_addr_internal(const char *arg)
{
    VSTR   *vp = vstr_alloc(64);
    const char *cp = arg;
    size_t  n;
    int     inquote = 0;

    while (isspace((unsigned char) *cp))
	cp++;
    n = strlen(cp);
    while (n > 0 && isspace((unsigned char) cp[n - 1]))
	n--;
    if (n >= 2 && cp[0] == '<' && cp[n - 1] == '>') {
	cp++;
	n -= 2;
    }
    /* Strip a source route "@a,@b:" */
    if (n > 0 && cp[0] == '@') {
	const char *colon = memchr(cp, ':', n);

	if (colon) {
	    n -= (size_t) (colon + 1 - cp);
	    cp = colon + 1;
	}
    }
    /* Unquote: "a b"@c -> a b@c, backslash escapes taken literally */
    for (size_t i = 0; i < n; i++) {
	if (cp[i] == '"') {
	    inquote = !inquote;
	    continue;
	}
	if (cp[i] == '\\' && i + 1 < n) {
	    vstr_addch(vp, cp[++i]);
	    continue;
	}
	vstr_addch(vp, cp[i]);
    }
    return (vstr_export(vp));
}

char   *smtpd_policy_addr_external(const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t  ll = at ? (size_t) (at - addr) : strlen(addr);
    int     quote = 0;
    VSTR   *vp = vstr_alloc(64);

    for (size_t i = 0; i < ll; i++) {
	unsigned char ch = (unsigned char) addr[i];

	if (ch <= ' ' || ch >= 127 || strchr("()<>@,;:\\\"[]", ch)
	    || (ch == '.' && (i == 0 || i == ll - 1 || addr[i + 1] == '.'))) {
	    quote = 1;
	    break;
	}
    }
    if (quote) {
	vstr_addch(vp, '"');
	for (size_t i = 0; i < ll; i++) {
	    if (addr[i] == '"' || addr[i] == '\\')
		vstr_addch(vp, '\\');
	    vstr_addch(vp, addr[i]);
	}
	vstr_addch(vp, '"');
	if (at)
	    vstr_cat(vp, at);
    } else
	vstr_cpy(vp, addr);
    return (vstr_export(vp));
}

int     smtpd_valid_hostaddr(const char *addr)
{
    int     family;
    unsigned char bin[16];
    const char *a = addr;

    if (strncasecmp(a, "IPv6:", 5) == 0)
	a += 5;
    return (pol_addr_parse(a, &family, bin) == 0);
}

int     smtpd_valid_hostname(const char *name)
{
    size_t  len = strlen(name);
    size_t  label = 0;
    int     non_numeric = 0;
    const char *cp;

    if (len == 0 || len > 255)
	return (0);
    for (cp = name; *cp; cp++) {
	int     ch = (unsigned char) *cp;

	if (ch == '.') {
	    if (label == 0 || cp[-1] == '-')
		return (0);
	    label = 0;
	    continue;
	}
	if (isalnum(ch) || ch == '_' || ch == '-') {
	    if (ch == '-' && label == 0)
		return (0);
	    if (!isdigit(ch))
		non_numeric = 1;
	    if (++label > 63)
		return (0);
	    continue;
	}
	return (0);
    }
    if (cp[-1] == '-')
	return (0);
    return (non_numeric);
}

const char *spol_addr_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return (at ? at + 1 : 0);
}

/*
 * mynetworks.
 */
int     smtpd_policy_mynetworks(SMTPD_POLICY *p)
{
    return (pol_match_list_match(pol_match_list_cached("mynetworks", POL_MATCH_NAME | POL_MATCH_ADDR),
				 p->client_name, p->client_addr));
}

/*
 * Relay control. *untrusted (when not null) is set for sender-specified
 * routing that allow_untrusted_routing does not allow.
 */
static int auth_destination(const char *rcpt, int *fail, int *untrusted)
{
    VSTR   *res = vstr_alloc(64);
    int     flags = resolve_policy_addr(rcpt, res);
    int     routed;

    vstr_free(res);
    *fail = (flags & RESOLVE_FLAG_FAIL) != 0;
    routed = !*fail && (flags & RESOLVE_FLAG_ROUTED) && !mail_conf_bool("allow_untrusted_routing");
    if (untrusted)
	*untrusted = routed;
    if (*fail || routed)
	return (0);
    return ((flags & (RESOLVE_CLASS_FINAL | RESOLVE_CLASS_RELAY)) != 0);
}

int     spol_permit_auth_destination(SMTPD_POLICY *p, const char *rcpt, int *fail)
{
    return (auth_destination(rcpt, fail, 0));
}

/*
 * Restriction classes.
 */
static char *spol_restriction_class(const char *name)
{
    const char *classes = mail_conf_str("smtpd_restriction_classes");
    char   *buf = xstrdup(classes);
    char   *bp = buf;
    char   *item;
    char   *value = 0;

    while ((item = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	if (strcmp(item, name) == 0) {
	    const char *raw = mail_conf_explicit(name);

	    value = mail_conf_eval(raw ? raw : "");
	    break;
	}
    }
    free(buf);
    return (value);
}

/*
 * The restriction list interpreter.
 */
int     spol_generic_checks(SMTPD_POLICY *p, const char *list, const char *reply_name,
			          const char *reply_class)
{
    char   *buf = xstrdup(list);
    char   *bp = buf;
    char   *name;
    int     status = CHK_DUNNO;
    VSTR   *vp = vstr_alloc(128);

#define NEXT_ARG(arg) \
    do { \
	if (((arg) = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) == 0) { \
	    status = spol_config_error(p, "restriction %s needs an argument", name); \
	    goto done; \
	} \
    } while (0)

    while ((name = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0) {
	const char *arg;
	char   *cls;
	int     found = 0;
	int     warn_before = p->warn_if_reject;

	status = CHK_DUNNO;
	if (strcmp(name, "permit") == 0) {
	    status = CHK_OK;
	} else if (strcmp(name, "reject") == 0) {
	    status = spol_check_reject(p, (int) mail_conf_int("reject_code"), "5.7.1",
				  "<%s>: %s rejected: Access denied", reply_name, reply_class);
	} else if (strcmp(name, "defer") == 0) {
	    status = spol_check_reject(p, (int) mail_conf_int("defer_code"), "4.7.1",
				  "<%s>: %s rejected: Access denied", reply_name, reply_class);
	} else if (strcmp(name, "defer_if_permit") == 0) {
	    vstr_fmt(vp, "<%s>: %s rejected: defer_if_permit requested", reply_name, reply_class);
	    spol_record_defer(p, &p->defer_if_permit, &p->defer_if_permit_reply,
			 (int) mail_conf_int("defer_code"), "4.7.0", vstr_str(vp));
	} else if (strcmp(name, "defer_if_reject") == 0) {
	    vstr_fmt(vp, "<%s>: %s rejected: defer_if_reject requested", reply_name, reply_class);
	    spol_record_defer(p, &p->defer_if_reject, &p->defer_if_reject_reply,
			 (int) mail_conf_int("defer_code"), "4.7.0", vstr_str(vp));
	} else if (strcmp(name, "warn_if_reject") == 0) {
	    p->warn_if_reject = 1;
	    continue;
	} else if (strcmp(name, "reject_unauth_pipelining") == 0) {
	    if (p->pipelining_violation)
		status = spol_check_reject(p, 503, "5.5.0", "<%s>: %s rejected: Improper use of SMTP command pipelining",
				      reply_name, reply_class);
	} else if (strcmp(name, "permit_mynetworks") == 0) {
	    int     m = smtpd_policy_mynetworks(p);

	    if (m < 0)
		status = spol_lookup_retry(p, reply_name);
	    else if (m > 0)
		status = CHK_OK;
	} else if (strcmp(name, "permit_sasl_authenticated") == 0) {
	    if (p->sasl_username && *p->sasl_username)
		status = CHK_OK;
	} else if (strcmp(name, "permit_inet_interfaces") == 0) {
	    if (resolve_own_address(p->client_addr))
		status = CHK_OK;
	} else if (strcmp(name, "reject_unauth_destination") == 0
		   || strcmp(name, "defer_unauth_destination") == 0
		   || strcmp(name, "permit_auth_destination") == 0) {
	    int     fail = 0;
	    int     ok;

	    if (p->recipient == 0)
		continue;
	    ok = spol_permit_auth_destination(p, p->recipient, &fail);
	    if (fail)
		status = spol_lookup_retry(p, p->recipient);
	    else if (name[0] == 'p')
		status = ok ? CHK_OK : CHK_DUNNO;
	    else if (!ok) {
		int     code = (int) mail_conf_int("relay_domains_reject_code");

		if (name[0] == 'd')
		    code = 400 + code % 100;
		status = spol_check_reject(p, code, code < 500 ? "4.7.1" : "5.7.1",
				      "<%s>: Relay access denied", p->recipient);
	    }
	} else if (strcmp(name, "permit_mx_backup") == 0) {
	    const char *dom;
	    int     fail = 0;
	    int     untrusted = 0;

	    if (p->recipient == 0 || (dom = spol_addr_domain(p->recipient)) == 0 || *dom == '[')
		continue;
	    /* Never for sender-specified routing (postconf(5) "Safety"). */
	    if (auth_destination(p->recipient, &fail, &untrusted)) {
		status = CHK_OK;
	    } else if (!fail && !untrusted) {
		int     m = spol_mx_backup_ok(p, dom, reply_name, reply_class);

		if (m < 0)
		    status = CHK_PENDING;
		else if (m > 0)
		    status = CHK_OK;
	    }
	} else if (strcmp(name, "reject_invalid_helo_hostname") == 0
		   || strcmp(name, "reject_invalid_hostname") == 0) {
	    const char *h = p->helo;

	    if (h == 0)
		continue;
	    if (*h == '[') {
		size_t  n = strlen(h);
		char   *in = xstrndup(h + 1, n > 2 ? n - 2 : 0);

		if (h[n - 1] != ']' || !smtpd_valid_hostaddr(in))
		    status = spol_check_reject(p, (int) mail_conf_int("invalid_hostname_reject_code"), "5.5.2",
				  "<%s>: %s rejected: invalid ip address", h, NAME_HELO);
		free(in);
	    } else if (!smtpd_valid_hostname(h) && !smtpd_valid_hostaddr(h)) {
		status = spol_check_reject(p, (int) mail_conf_int("invalid_hostname_reject_code"), "5.5.2",
				      "<%s>: %s rejected: Invalid name", h, NAME_HELO);
	    }
	} else if (strcmp(name, "reject_non_fqdn_helo_hostname") == 0
		   || strcmp(name, "reject_non_fqdn_hostname") == 0) {
	    const char *h = p->helo;

	    if (h == 0 || *h == '[')
		continue;
	    if (!smtpd_valid_hostname(h) || strchr(h, '.') == 0)
		status = spol_check_reject(p, (int) mail_conf_int("non_fqdn_reject_code"), "5.5.2",
			   "<%s>: %s rejected: need fully-qualified hostname", h, NAME_HELO);
	} else if (strcmp(name, "reject_unknown_helo_hostname") == 0
		   || strcmp(name, "reject_unknown_hostname") == 0) {
	    const char *h = p->helo;
	    DNS_CACHED *c;
	    int     st = DNS_NOTFOUND;
	    int     types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_MX};

	    if (h == 0 || *h == '[' || smtpd_valid_hostaddr(h))
		continue;
	    for (int i = 0; i < 3; i++) {
		if ((c = spol_dns_get(p, h, types[i])) == 0) {
		    st = -1;
		    break;
		}
		if (c->status == DNS_OK) {
		    st = DNS_OK;
		    break;
		}
		if (c->status == DNS_RETRY)
		    st = DNS_RETRY;
		if (c->status == DNS_NOTFOUND)
		    break;
	    }
	    vstr_fmt(vp, "<%s>: %s rejected: Host not found", h, NAME_HELO);
	    if (st < 0)
		status = CHK_PENDING;
	    else if (st == DNS_NOTFOUND || st == DNS_NODATA)
		status = spol_check_reject(p, (int) mail_conf_int("unknown_hostname_reject_code"), "4.7.1",
				      "%s", vstr_str(vp));
	    else if (st == DNS_RETRY)
		status = spol_tempfail_action(p, "unknown_helo_hostname_tempfail_action", 450, "4.7.1", vstr_str(vp));
	} else if (strcmp(name, "reject_non_fqdn_sender") == 0
		   || strcmp(name, "reject_non_fqdn_recipient") == 0) {
	    int     snd = name[16] == 's';
	    const char *a = snd ? p->sender : p->recipient;
	    const char *d;

	    if (a == 0 || *a == 0)
		continue;
	    d = spol_addr_domain(a);
	    if (d == 0 || (*d != '[' && (!smtpd_valid_hostname(d) || strchr(d, '.') == 0)))
		status = spol_check_reject(p, (int) mail_conf_int("non_fqdn_reject_code"), "5.5.2",
				      "<%s>: %s rejected: need fully-qualified address",
				      a, snd ? NAME_SENDER : NAME_RCPT);
	} else if (strcmp(name, "reject_unknown_sender_domain") == 0) {
	    status = spol_reject_unknown_address(p, p->sender, NAME_SENDER, 1);
	} else if (strcmp(name, "reject_unknown_recipient_domain") == 0) {
	    status = spol_reject_unknown_address(p, p->recipient, NAME_RCPT, 0);
	} else if (strcmp(name, "reject_unknown_client_hostname") == 0
		   || strcmp(name, "reject_unknown_client") == 0
		   || strcmp(name, "reject_unknown_reverse_client_hostname") == 0) {
	    int     rev = strstr(name, "reverse") != 0;
	    int     st = rev ? p->reverse_name_status : p->client_name_status;

	    vstr_fmt(vp, "Client host rejected: cannot find your %shostname, [%s]",
		     rev ? "reverse " : "", p->client_addr);
	    if (st == SMTPD_PEER_PERM)
		status = spol_check_reject(p, (int) mail_conf_int("unknown_client_reject_code"), "4.7.25",
				      "%s", vstr_str(vp));
	    else if (st == SMTPD_PEER_TEMP)
		status = spol_check_reject(p, 450, "4.7.25", "%s", vstr_str(vp));
	} else if (strcmp(name, "reject_unlisted_sender") == 0) {
	    status = spol_check_unlisted(p, p->sender, NAME_SENDER, 1, 0);
	} else if (strcmp(name, "reject_unlisted_recipient") == 0) {
	    status = spol_check_unlisted(p, p->recipient, NAME_RCPT, 0, 0);
	} else if (strcmp(name, "reject_multi_recipient_bounce") == 0) {
	    if (p->sender && *p->sender == 0) {
		if (strcmp(p->stage, "RCPT") == 0 && p->rcpt_count > 0)
		    status = spol_check_reject(p, (int) mail_conf_int("multi_recipient_bounce_reject_code"),
					  "5.5.3", "<%s>: %s rejected: Multi-recipient bounce",
					  reply_name, reply_class);
		else if (strcmp(p->stage, "RCPT") != 0 && p->rcpt_count > 1)
		    status = spol_check_reject(p, (int) mail_conf_int("multi_recipient_bounce_reject_code"),
					  "5.5.3", "<%s>: %s rejected: Multi-recipient bounce",
					  reply_name, reply_class);
	    }
	} else if (strcmp(name, "reject_rbl_client") == 0 || strcmp(name, "reject_rbl") == 0) {
	    NEXT_ARG(arg);
	    status = spol_check_rbl(p, arg, 0, 0);
	} else if (strcmp(name, "permit_dnswl_client") == 0) {
	    NEXT_ARG(arg);
	    status = spol_check_rbl(p, arg, 0, 1);
	} else if (strcmp(name, "reject_rhsbl_client") == 0) {
	    NEXT_ARG(arg);
	    status = spol_check_rbl(p, arg, 1, 0);
	} else if (strcmp(name, "permit_rhswl_client") == 0) {
	    NEXT_ARG(arg);
	    status = spol_check_rbl(p, arg, 1, 1);
	} else if (strcmp(name, "reject_rhsbl_sender") == 0) {
	    NEXT_ARG(arg);
	    status = spol_check_rbl(p, arg, 2, 0);
	} else if (strcmp(name, "reject_rhsbl_helo") == 0) {
	    NEXT_ARG(arg);
	    status = spol_check_rbl(p, arg, 3, 0);
	} else if (strcmp(name, "reject_rhsbl_recipient") == 0) {
	    NEXT_ARG(arg);
	    status = spol_check_rbl(p, arg, 4, 0);
	} else if (strcmp(name, "check_client_access") == 0
		   || strcmp(name, "check_reverse_client_hostname_access") == 0) {
	    int     rev = name[6] == 'r';

	    NEXT_ARG(arg);
	    /* As Postfix: "<name[addr]>: Client host", "<name>: Unverified Client host" */
	    if (rev)
		vstr_cpy(vp, p->reverse_name);
	    else
		vstr_fmt(vp, "%s[%s]", p->client_name, p->client_addr);
	    status = spol_check_namadr_access(p, pol_maps_cached(name, arg),
					 rev ? p->reverse_name : p->client_name, p->client_addr,
					 vstr_str(vp), rev ? "Unverified Client host" : NAME_CLIENT);
	} else if (strcmp(name, "check_helo_access") == 0) {
	    NEXT_ARG(arg);
	    if (p->helo)
		status = spol_check_domain_access(p, pol_maps_cached(name, arg), p->helo, 0,
					     p->helo, NAME_HELO, &found);
	} else if (strcmp(name, "check_sender_access") == 0) {
	    NEXT_ARG(arg);
	    if (p->sender)
		status = spol_check_mail_access(p, pol_maps_cached(name, arg), p->sender,
					   p->sender, NAME_SENDER);
	} else if (strcmp(name, "check_recipient_access") == 0) {
	    NEXT_ARG(arg);
	    if (p->recipient)
		status = spol_check_mail_access(p, pol_maps_cached(name, arg), p->recipient,
					   p->recipient, NAME_RCPT);
	} else if (strcmp(name, "check_policy_service") == 0) {
	    NEXT_ARG(arg);
	    status = spol_check_policy_service(p, arg, reply_name, reply_class);
	} else if (strcmp(name, "sleep") == 0) {
	    unsigned long secs;

	    NEXT_ARG(arg);
	    if (parse_ulong(arg, 3600, &secs) < 0) {
		status = spol_config_error(p, "restriction sleep: bad time value: %s", arg);
	    } else
		p->sleep_seconds += (int) secs;
	} else if ((cls = spol_restriction_class(name)) != 0) {
	    if (p->depth > MAX_DEPTH) {
		status = spol_config_error(p, "restriction class nesting too deep: %s", name);
	    } else {
		p->depth++;
		status = spol_generic_checks(p, cls, reply_name, reply_class);
		p->depth--;
	    }
	    free(cls);
	} else {
	    status = spol_config_error(p, "unknown smtpd restriction: \"%s\"", name);
	}
	if (warn_before && p->warn_if_reject)	/* it did not reject: cancel */
	    p->warn_if_reject = 0;
	if (status != CHK_DUNNO)
	    break;
	if (p->evaluating_pending) {
	    status = CHK_PENDING;
	    break;
	}
    }
done:
    vstr_free(vp);
    free(buf);
    if (p->evaluating_pending && status != CHK_REJECT)
	status = CHK_PENDING;
    return (status);
}

/*
 * Stages.
 */
static void eval_begin(SMTPD_POLICY *p, const char *stage)
{
    p->stage = stage;
    p->evaluating_pending = 0;
    p->warn_if_reject = 0;
    p->defer_if_reject = 0;
    p->defer_if_permit = 0;
    p->depth = 0;
    p->sleep_seconds = 0;
    argv_truncate(p->pending_logs, 0);
}

/* Finish a stage: pending, reject, deferred permit, or accept. */
static const char *eval_end(SMTPD_POLICY *p, int status)
{
    if (status == CHK_PENDING || p->evaluating_pending) {
	logs_flush(p, 0);
	return (SMTPD_POLICY_PENDING);
    }
    if (status == CHK_REJECT) {
	logs_flush(p, 1);
	return (p->reply);
    }
    if (p->defer_if_permit && p->defer_if_permit_reply) {
	free(p->reply);
	p->reply = xstrdup(p->defer_if_permit_reply);
	spol_log_event(p, "reject", p->reply);
	logs_flush(p, 1);
	return (p->reply);
    }
    logs_flush(p, 1);
    return (0);
}

/* Without delay_reject: keep a stage's defer_if_permit for RCPT time. */
static const char *eval_end_save(SMTPD_POLICY *p, int status, int slot)
{
    if (status != CHK_PENDING && !p->evaluating_pending && status != CHK_REJECT
	&& p->defer_if_permit && p->defer_if_permit_reply) {
	smtpd_policy_set(&p->saved_defer_if_permit[slot], p->defer_if_permit_reply);
	p->defer_if_permit = 0;
    }
    return (eval_end(p, status));
}

/*
 * smtpd_relay_restrictions at compatibility_level < 1 and not set in
 * main.cf: Postfix uses its 3.x default anyway (and says so once).
 */
static const char *relay_restrictions(void)
{
    static int warned;
    const char *v = mail_conf_str("smtpd_relay_restrictions");

    if (*v == 0 && mail_conf_explicit("smtpd_relay_restrictions") == 0
	&& mac_compat_level_cmp(mail_conf_str("compatibility_level"), "1") < 0) {
	if (!warned++)
	    msg_info("using backwards-compatible default setting smtpd_relay_restrictions="
		     "(permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination)");
	return ("permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination");
    }
    return (v);
}

static int list_stage(SMTPD_POLICY *p, const char *param, const char *reply_name,
		              const char *reply_class)
{
    const char *list = strcmp(param, "smtpd_relay_restrictions") == 0 ?
    relay_restrictions() : mail_conf_str(param);
    int     st;

    if (*list == 0)
	return (CHK_DUNNO);
    st = spol_generic_checks(p, list, reply_name, reply_class);
    /* defer_if_reject/warn_if_reject do not carry over to the next list */
    p->warn_if_reject = 0;
    p->defer_if_reject = 0;
    return (st);
}

static int client_stage(SMTPD_POLICY *p)
{
    VSTR   *vp = vstr_alloc(64);
    int     st;

    vstr_fmt(vp, "%s[%s]", p->client_name, p->client_addr);
    st = list_stage(p, "smtpd_client_restrictions", vstr_str(vp), NAME_CLIENT);
    vstr_free(vp);
    return (st);
}

static int helo_stage(SMTPD_POLICY *p)
{
    if (p->helo == 0)
	return (CHK_DUNNO);
    return (list_stage(p, "smtpd_helo_restrictions", p->helo, NAME_HELO));
}

static int sender_stage(SMTPD_POLICY *p)
{
    if (p->sender == 0)
	return (CHK_DUNNO);
    return (list_stage(p, "smtpd_sender_restrictions", p->sender, NAME_SENDER));
}

/* Evaluate stages in order; stop at reject or pending. */
#define STAGE(expr) do { st = (expr); if (st == CHK_REJECT || st == CHK_PENDING) return (eval_end(p, st)); } while (0)

const char *smtpd_policy_client(SMTPD_POLICY *p)
{
    int     st;

    eval_begin(p, "CONNECT");
    if (mail_conf_bool("smtpd_delay_reject"))
	return (eval_end(p, CHK_DUNNO));
    STAGE(client_stage(p));
    return (eval_end_save(p, st, 0));
}

const char *smtpd_policy_helo(SMTPD_POLICY *p, const char *helo)
{
    int     st;

    smtpd_policy_set(&p->helo, helo);
    smtpd_policy_set(&p->saved_defer_if_permit[1], 0);
    eval_begin(p, "HELO");
    if (mail_conf_bool("smtpd_delay_reject"))
	return (eval_end(p, CHK_DUNNO));
    STAGE(helo_stage(p));
    return (eval_end_save(p, st, 1));
}

const char *smtpd_policy_mail(SMTPD_POLICY *p, const char *sender)
{
    int     st;

    smtpd_policy_set(&p->sender, sender);
    smtpd_policy_set(&p->recipient, 0);
    smtpd_policy_set(&p->saved_defer_if_permit[2], 0);
    eval_begin(p, "MAIL");
    if (mail_conf_bool("smtpd_delay_reject"))
	return (eval_end(p, CHK_DUNNO));
    STAGE(sender_stage(p));
    return (eval_end_save(p, st, 2));
}

static const char *rcpt_common(SMTPD_POLICY *, const char *, const char *);

const char *smtpd_policy_rcpt(SMTPD_POLICY *p, const char *recipient)
{
    return (rcpt_common(p, recipient, "RCPT"));
}

/* VRFY: the recipient checks, outside a mail transaction. */
const char *smtpd_policy_vrfy(SMTPD_POLICY *p, const char *address)
{
    const char *r;
    char   *save = p->sender;

    p->sender = 0;
    r = rcpt_common(p, address, "VRFY");
    p->sender = save;
    return (r);
}

static const char *rcpt_common(SMTPD_POLICY *p, const char *recipient, const char *stage)
{
    int     st;
    int     relay_first = mail_conf_bool("smtpd_relay_before_recipient_restrictions");
    const char *relay = relay_restrictions();
    const char *rcpt = mail_conf_str("smtpd_recipient_restrictions");

    smtpd_policy_set(&p->recipient, recipient);
    eval_begin(p, stage);
    if (mail_conf_bool("smtpd_delay_reject")) {
	STAGE(client_stage(p));
	STAGE(helo_stage(p));
	STAGE(sender_stage(p));
    }
    if (*relay == 0 && *rcpt == 0) {
	msg_warn("specify at least one working instance of: check_relay_domains, "
		 "reject_unauth_destination, reject, defer or defer_if_permit");
	spol_make_reply(p, 451, "4.3.5", "Server configuration error");
	spol_log_event(p, "reject", p->reply);
	return (eval_end(p, CHK_REJECT));
    }
    if (relay_first) {
	STAGE(list_stage(p, "smtpd_relay_restrictions", recipient, NAME_RCPT));
	STAGE(list_stage(p, "smtpd_recipient_restrictions", recipient, NAME_RCPT));
    } else {
	STAGE(list_stage(p, "smtpd_recipient_restrictions", recipient, NAME_RCPT));
	STAGE(list_stage(p, "smtpd_relay_restrictions", recipient, NAME_RCPT));
    }
    /* Implicit recipient (and sender) validation, after the restrictions. */
    if (mail_conf_bool("smtpd_reject_unlisted_sender"))
	STAGE(spol_check_unlisted(p, p->sender, NAME_SENDER, 1, p->unlisted_skip_local));
    if (mail_conf_bool("smtpd_reject_unlisted_recipient"))
	STAGE(spol_check_unlisted(p, recipient, NAME_RCPT, 0, p->unlisted_skip_local));
    if (!mail_conf_bool("smtpd_delay_reject") && !p->defer_if_permit) {
	for (int i = 0; i < 3; i++)
	    if (p->saved_defer_if_permit[i]) {
		p->defer_if_permit = 1;
		smtpd_policy_set(&p->defer_if_permit_reply, p->saved_defer_if_permit[i]);
		break;
	    }
    }
    return (eval_end(p, st));
}

const char *smtpd_policy_data(SMTPD_POLICY *p)
{
    int     st;

    eval_begin(p, "DATA");
    STAGE(list_stage(p, "smtpd_data_restrictions", "DATA", NAME_DATA));
    return (eval_end(p, st));
}

const char *smtpd_policy_eod(SMTPD_POLICY *p)
{
    int     st;

    eval_begin(p, "END-OF-MESSAGE");
    STAGE(list_stage(p, "smtpd_end_of_data_restrictions", "END-OF-MESSAGE", NAME_EOD));
    return (eval_end(p, st));
}

const char *smtpd_policy_etrn(SMTPD_POLICY *p, const char *domain)
{
    int     st;

    eval_begin(p, "ETRN");
    if (mail_conf_bool("smtpd_delay_reject")) {
	STAGE(client_stage(p));
	STAGE(helo_stage(p));
    }
    STAGE(list_stage(p, "smtpd_etrn_restrictions", domain, NAME_ETRN));
    return (eval_end(p, st));
}

/*
 * Startup validation: every name in every list must be known.
 */
static const char *const known[] = {
    "permit", "reject", "defer", "defer_if_permit", "defer_if_reject", "warn_if_reject",
    "reject_unauth_pipelining", "permit_mynetworks", "permit_sasl_authenticated",
    "permit_inet_interfaces", "reject_unauth_destination", "defer_unauth_destination",
    "permit_auth_destination", "permit_mx_backup", "reject_invalid_helo_hostname",
    "reject_invalid_hostname", "reject_non_fqdn_helo_hostname", "reject_non_fqdn_hostname",
    "reject_unknown_helo_hostname", "reject_unknown_hostname", "reject_non_fqdn_sender",
    "reject_non_fqdn_recipient", "reject_unknown_sender_domain",
    "reject_unknown_recipient_domain", "reject_unknown_client_hostname",
    "reject_unknown_client", "reject_unknown_reverse_client_hostname",
    "reject_unlisted_sender", "reject_unlisted_recipient", "reject_multi_recipient_bounce",
    0,
};
static const char *const known_arg[] = {
    "reject_rbl_client", "reject_rbl", "permit_dnswl_client", "reject_rhsbl_client",
    "permit_rhswl_client", "reject_rhsbl_sender", "reject_rhsbl_helo",
    "reject_rhsbl_recipient", "check_client_access", "check_reverse_client_hostname_access",
    "check_helo_access", "check_sender_access", "check_recipient_access",
    "sleep", "check_policy_service", 0,
};

static int validate_list(const char *param, const char *list)
{
    char   *buf = xstrdup(list);
    char   *bp = buf;
    char   *name;
    char   *cls;
    int     bad = 0;

    while ((name = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0) {
	int     ok = 0;

	for (int i = 0; known[i] && !ok; i++)
	    ok = strcmp(name, known[i]) == 0;
	for (int i = 0; known_arg[i] && !ok; i++)
	    if (strcmp(name, known_arg[i]) == 0) {
		ok = 1;
		if (mystrtok_cw(&bp, CHARS_COMMA_SP, 0) == 0) {
		    msg_warn("%s: restriction %s needs an argument", param, name);
		    bad++;
		}
	    }
	if (!ok && (cls = spol_restriction_class(name)) != 0) {
	    ok = 1;
	    free(cls);
	}
	if (!ok) {
	    msg_warn("%s: unknown smtpd restriction: \"%s\"", param, name);
	    bad++;
	}
    }
    free(buf);
    return (bad);
}

/*
 * Postfix refuses to start without a working relay restriction (one that is
 * not under warn_if_reject) in the relay or recipient restrictions.
 */
int     smtpd_policy_relay_check(void)
{
    static const char *const working[] = {"reject_unauth_destination",
	"defer_unauth_destination", "reject", "defer", "defer_if_permit",
    "check_relay_domains", 0};
    const char *lists[2];
    int     found = 0;

    lists[0] = relay_restrictions();
    lists[1] = mail_conf_str("smtpd_recipient_restrictions");
    for (int l = 0; l < 2 && !found; l++) {
	char   *buf = xstrdup(lists[l]);
	char   *bp = buf;
	char   *name;
	int     warn = 0;

	while (!found && (name = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0) {
	    if (strcmp(name, "warn_if_reject") == 0) {
		warn = 1;
		continue;
	    }
	    for (int i = 0; working[i] && !warn; i++)
		if (strcmp(name, working[i]) == 0)
		    found = 1;
	    for (int i = 0; known_arg[i]; i++)
		if (strcmp(name, known_arg[i]) == 0)
		    (void) mystrtok_cw(&bp, CHARS_COMMA_SP, 0);
	    warn = 0;
	}
	free(buf);
    }
    return (found ? 0 : -1);
}

/*
 * Open the access tables of all restriction lists and classes now, as
 * Postfix's smtpd does when it starts: an open error is logged then
 * (before "connect from"), once per table (maps.c shares tables), and the
 * per-command lookups find the tables in pol_maps_cached().
 */
static void open_list_tables(const char *list)
{
    static const char *const table_arg[] = {"check_client_access",
	"check_reverse_client_hostname_access", "check_helo_access",
    "check_sender_access", "check_recipient_access", 0};
    char   *buf = xstrdup(list);
    char   *bp = buf;
    char   *name;

    while ((name = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0) {
	for (int i = 0; known_arg[i]; i++) {
	    char   *arg;

	    if (strcmp(name, known_arg[i]) != 0)
		continue;
	    if ((arg = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) == 0)
		break;
	    for (int j = 0; table_arg[j]; j++)
		if (strcmp(name, table_arg[j]) == 0)
		    (void) pol_maps_cached(name, arg);
	    break;
	}
    }
    free(buf);
}

void    smtpd_policy_open_tables(void)
{
    const char *params[] = {"smtpd_client_restrictions", "smtpd_helo_restrictions",
	"smtpd_sender_restrictions", "smtpd_relay_restrictions",
	"smtpd_recipient_restrictions", "smtpd_etrn_restrictions",
    "smtpd_data_restrictions", "smtpd_end_of_data_restrictions", 0};
    char   *buf = xstrdup(mail_conf_str("smtpd_restriction_classes"));
    char   *bp = buf;
    char   *cls;

    for (int i = 0; params[i]; i++)
	open_list_tables(strcmp(params[i], "smtpd_relay_restrictions") == 0 ?
			 relay_restrictions() : mail_conf_str(params[i]));
    /* A class's value, as spol_restriction_class() evaluates it. */
    while ((cls = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	const char *raw = mail_conf_explicit(cls);

	if (raw != 0) {
	    char   *v = mail_conf_eval(raw);

	    open_list_tables(v);
	    free(v);
	}
    }
    free(buf);
}

int     smtpd_policy_validate(void)
{
    const char *params[] = {"smtpd_client_restrictions", "smtpd_helo_restrictions",
	"smtpd_sender_restrictions", "smtpd_relay_restrictions",
	"smtpd_recipient_restrictions", "smtpd_data_restrictions",
    "smtpd_end_of_data_restrictions", "smtpd_etrn_restrictions", 0};
    int     bad = 0;
    char   *buf = xstrdup(mail_conf_str("smtpd_restriction_classes"));
    char   *bp = buf;
    char   *cls;

    for (int i = 0; params[i]; i++)
	bad += validate_list(params[i], mail_conf_str(params[i]));
    while ((cls = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	const char *v = mail_conf_explicit(cls);

	if (v == 0) {
	    msg_warn("restriction class `%s' needs a definition", cls);
	    bad++;
	} else
	    bad += validate_list(cls, v);
    }
    free(buf);
    return (bad);
}
