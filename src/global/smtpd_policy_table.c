/*
 * smtpd_policy_table - access(5) tables (search orders and results) and
 * recipient validation (reject_unlisted_{sender,recipient}).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "dict.h"
#include "dns_lookup.h"
#include "mail_addr_find.h"
#include "maps.h"
#include "htable.h"
#include "mac_expand.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "pol_cidr.h"
#include "pol_maps.h"
#include "pol_match.h"
#include "resolve.h"
#include "resolve_class.h"
#include "smtpd_policy.h"
#include "smtpd_policy_int.h"
#include "stringops.h"
#include "vstr.h"

/*
 * Access tables.
 */
int     spol_table_result(SMTPD_POLICY *p, const char *table, const char *value,
			        const char *reply_name, const char *reply_class)
{
    char   *buf = xstrdup(value);
    char   *cmd = buf;
    char   *text;
    size_t  cl;
    int     rc = CHK_DUNNO;
    VSTR   *vp = vstr_alloc(128);

    while (isspace((unsigned char) *cmd))
	cmd++;
    cl = strcspn(cmd, " \t");
    text = cmd + cl;
    if (*text)
	*text++ = 0;
    while (isspace((unsigned char) *text))
	text++;
    trimblanks(text, strlen(text))[0] = 0;

#define IS(word) (strcasecmp(cmd, (word)) == 0)

    if (IS("OK")) {
	rc = CHK_OK;
    } else if (IS("DUNNO")) {
	rc = CHK_DUNNO;
    } else if (IS("REJECT") || IS("DEFER")) {
	int     defer = IS("DEFER");
	int     code = (int) mail_conf_int(defer ? "access_map_defer_code" : "access_map_reject_code");
	char    dsn[16];

	safe_strlcpy(dsn, defer ? "4.7.1" : "5.7.1", sizeof(dsn));
	if (spol_dsn_valid(text)) {
	    size_t  dl = strcspn(text, " ");

	    snprintf(dsn, sizeof(dsn), "%.*s", (int) dl, text);
	    text += dl;
	    while (*text == ' ')
		text++;
	}
	rc = spol_check_reject(p, code, dsn, "<%s>: %s rejected: %s", reply_name, reply_class,
			  *text ? text : "Access denied");
    } else if (IS("DEFER_IF_REJECT") || IS("DEFER_IF_PERMIT")) {
	int     if_permit = IS("DEFER_IF_PERMIT");

	vstr_fmt(vp, "<%s>: %s rejected: %s", reply_name, reply_class,
		 *text ? text : "Service unavailable");
	if (if_permit)
	    spol_record_defer(p, &p->defer_if_permit, &p->defer_if_permit_reply,
			 (int) mail_conf_int("defer_code"), "4.7.1", vstr_str(vp));
	else
	    spol_record_defer(p, &p->defer_if_reject, &p->defer_if_reject_reply,
			 (int) mail_conf_int("defer_code"), "4.7.1", vstr_str(vp));
    } else if (IS("HOLD") || IS("DISCARD")) {
	int     hold = IS("HOLD");

	if (*text)
	    vstr_fmt(vp, "<%s>: %s %s", reply_name, reply_class, text);
	else
	    vstr_fmt(vp, "<%s>: %s triggers %s action", reply_name, reply_class, hold ? "HOLD" : "DISCARD");
	spol_log_event(p, hold ? "hold" : "discard", vstr_str(vp));
	p->action_flags |= hold ? SMTPD_ACT_HOLD : SMTPD_ACT_DISCARD;
	rc = hold ? CHK_DUNNO : CHK_OK;
    } else if (IS("REDIRECT") || IS("FILTER")) {
	int     redirect = IS("REDIRECT");

	if (*text == 0 || (!redirect && strchr(text, ':') == 0)) {
	    rc = spol_config_error(p, redirect ? "access table: REDIRECT needs an address: %s"
			      : "access table: FILTER needs transport:destination: %s", value);
	} else {
	    vstr_fmt(vp, "<%s>: %s triggers %s %s", reply_name, reply_class,
		     redirect ? "REDIRECT" : "FILTER", text);
	    spol_log_event(p, redirect ? "redirect" : "filter", vstr_str(vp));
	    smtpd_policy_set(redirect ? &p->redirect : &p->filter, text);
	}
    } else if (IS("PREPEND")) {
	const char *colon = strchr(text, ':');

	if (*text == 0 || colon == 0 || colon == text) {
	    rc = spol_config_error(p, "access table: PREPEND needs a header line: %s", value);
	} else {
	    if (p->prepend == 0)
		p->prepend = argv_alloc(2);
	    argv_add(p->prepend, text);
	}
    } else if (IS("WARN") || IS("INFO")) {
	spol_log_event(p, IS("WARN") ? "warn" : "info", text);
    } else if (IS("BCC")) {
	/* not supported by postern yet: ignored */
    } else if (strlen(cmd) == 3 && alldig(cmd)) {
	int     code = atoi(cmd);
	char    dsn[16];

	if (*text == 0) {
	    rc = CHK_DUNNO;
	} else if (code >= 400 && code <= 599) {
	    safe_strlcpy(dsn, code < 500 ? "4.7.1" : "5.7.1", sizeof(dsn));
	    if (spol_dsn_valid(text)) {
		size_t  dl = strcspn(text, " ");

		snprintf(dsn, sizeof(dsn), "%.*s", (int) dl, text);
		dsn[0] = cmd[0];
		text += dl;
		while (*text == ' ')
		    text++;
	    }
	    rc = spol_check_reject(p, code, dsn, "<%s>: %s rejected: %s", reply_name, reply_class,
			      *text ? text : "Access denied");
	} else
	    rc = spol_config_error(p, "access table: bad numerical code: %s", value);
    } else {
	/* A restriction list (restriction names or classes). */
	if (p->depth > MAX_DEPTH) {
	    rc = spol_config_error(p, "access table result nesting too deep: %s", value);
	} else {
	    p->depth++;
	    rc = spol_generic_checks(p, value, reply_name, reply_class);
	    p->depth--;
	}
    }
    vstr_free(vp);
    free(buf);
    return (rc);
}

/* One lookup; 1 found (*rc set), 0 not found, -1 lookup error (*rc set). */
static int spol_access_lookup(SMTPD_POLICY *p, POL_MAPS *maps, const char *key, int flags,
			         const char *reply_name, const char *reply_class, int *rc)
{
    const char *v = pol_maps_find(maps, key, flags);

    if (v) {
	char   *copy = xstrdup(v);

	*rc = spol_table_result(p, pol_maps_title(maps), copy, reply_name, reply_class);
	free(copy);
	return (1);
    }
    if (pol_maps_error(maps)) {
	/* Postfix: the table and key, then 4.3.5 (configuration) or 4.3.0. */
	msg_warn("%s lookup error for \"%s\"", pol_maps_error_spec(maps), key);
	if (pol_maps_error(maps) == POL_MAPS_ERR_CONFIG)
	    *rc = spol_lookup_config(p, reply_name, reply_class);
	else
	    *rc = spol_lookup_retry(p, reply_name);
	return (-1);
    }
    return (0);
}

/* Domain and parent domains (parent: smtpd_access_maps rules). */
int     spol_check_domain_access(SMTPD_POLICY *p, POL_MAPS *maps, const char *domain,
				       int first_flags, const char *reply_name,
				       const char *reply_class, int *found)
{
    int     rc = CHK_DUNNO;
    int     parent = pol_parent_matches_subdomains("smtpd_access_maps");
    VSTR   *key;
    const char *cp;

    *found = 0;
    if (spol_access_lookup(p, maps, domain, first_flags, reply_name, reply_class, &rc) != 0) {
	*found = 1;
	return (rc);
    }
    if (*domain == '[')
	return (rc);
    key = vstr_alloc(64);
    for (cp = strchr(domain, '.'); cp && cp[1]; cp = strchr(cp + 1, '.')) {
	if (parent)
	    vstr_cpy(key, cp + 1);
	else
	    vstr_cpy(key, cp);
	if (spol_access_lookup(p, maps, vstr_str(key), POL_MAPS_FIXED_ONLY, reply_name, reply_class, &rc) != 0) {
	    *found = 1;
	    break;
	}
    }
    vstr_free(key);
    return (rc);
}

static int spol_check_addr_access(SMTPD_POLICY *p, POL_MAPS *maps, const char *addr,
			             const char *reply_name, const char *reply_class, int *found)
{
    int     rc = CHK_DUNNO;
    char   *buf = xstrdup(addr);
    char   *cp;
    int     v6 = strchr(buf, ':') != 0;

    *found = 0;
    if (spol_access_lookup(p, maps, buf, 0, reply_name, reply_class, &rc) != 0) {
	*found = 1;
	free(buf);
	return (rc);
    }
    /* Network prefixes: 1.2.3, 1.2, 1 (IPv6: fields after ':'). */
    while ((cp = strrchr(buf, v6 ? ':' : '.')) != 0) {
	*cp = 0;
	if (*buf == 0)
	    break;
	if (spol_access_lookup(p, maps, buf, POL_MAPS_FIXED_ONLY, reply_name, reply_class, &rc) != 0) {
	    *found = 1;
	    break;
	}
    }
    free(buf);
    return (rc);
}

int     spol_check_namadr_access(SMTPD_POLICY *p, POL_MAPS *maps, const char *name,
			               const char *addr, const char *reply_name,
			               const char *reply_class)
{
    int     found;
    int     rc;

    if (name && strcmp(name, "unknown") != 0) {
	rc = spol_check_domain_access(p, maps, name, 0, reply_name, reply_class, &found);
	if (found)
	    return (rc);
    }
    if (addr && strcmp(addr, "unknown") != 0) {
	rc = spol_check_addr_access(p, maps, addr, reply_name, reply_class, &found);
	if (found)
	    return (rc);
    }
    return (CHK_DUNNO);
}

int     spol_check_mail_access(SMTPD_POLICY *p, POL_MAPS *maps, const char *addr,
			             const char *reply_name, const char *reply_class)
{
    VSTR   *res = vstr_alloc(64);
    int     flags;
    int     rc = CHK_DUNNO;
    const char *domain;
    int     found = 0;

    if (*addr == 0) {
	const char *nullkey = mail_conf_str("smtpd_null_access_lookup_key");

	if (spol_access_lookup(p, maps, nullkey, 0, reply_name, reply_class, &rc) == 0)
	    rc = CHK_DUNNO;
	vstr_free(res);
	return (rc);
    }
    flags = resolve_policy_addr(addr, res);
    if (flags & RESOLVE_FLAG_FAIL) {
	vstr_free(res);
	return (spol_lookup_retry(p, reply_name));
    }
    /* Full address. */
    if (spol_access_lookup(p, maps, vstr_str(res), 0, reply_name, reply_class, &rc) != 0) {
	vstr_free(res);
	return (rc);
    }
    /* Domain and parents. */
    if ((domain = spol_addr_domain(vstr_str(res))) != 0 && *domain) {
	rc = spol_check_domain_access(p, maps, domain, POL_MAPS_FIXED_ONLY, reply_name, reply_class, &found);
	if (found) {
	    vstr_free(res);
	    return (rc);
	}
    }
    /* user@ */
    if (domain) {
	VSTR   *key = vstr_alloc(64);

	vstr_append(key, vstr_str(res), (size_t) (domain - vstr_str(res)));
	if (spol_access_lookup(p, maps, vstr_str(key), POL_MAPS_FIXED_ONLY, reply_name, reply_class, &rc) == 0)
	    rc = CHK_DUNNO;
	vstr_free(key);
    }
    vstr_free(res);
    return (rc);
}


/*
 * Recipient validation (reject_unlisted_recipient, reject_unlisted_sender,
 * smtpd_reject_unlisted_recipient): is the address known in the tables of
 * its address class?
 */
typedef struct UNL_MAPS {
    const char *param;
    char   *value;
    MAPS   *maps;
} UNL_MAPS;

static UNL_MAPS unl_maps[] = {
    {"local_recipient_maps", 0, 0}, {"virtual_alias_maps", 0, 0},
    {"virtual_mailbox_maps", 0, 0}, {"relay_recipient_maps", 0, 0},
    {"canonical_maps", 0, 0}, {"recipient_canonical_maps", 0, 0},
    {"sender_canonical_maps", 0, 0}, {"relocated_maps", 0, 0}, {0, 0, 0},
};

static MAPS *unl_get(const char *param)
{
    for (UNL_MAPS *u = unl_maps; u->param; u++) {
	const char *v;

	if (strcmp(u->param, param) != 0)
	    continue;
	v = mail_conf_str(param);
	if (u->value == 0 || strcmp(u->value, v) != 0) {
	    if (u->maps)
		maps_free(u->maps);
	    free(u->value);
	    u->value = xstrdup(v);
	    u->maps = *v ? maps_create(param, v, DICT_FLAG_DEFAULT) : 0;
	}
	return (u->maps);
    }
    msg_panic("unl_get: %s", param);
}

/* 1 found, 0 not found, -1 lookup failure. */
static int unl_find(const char *param, const char *addr)
{
    MAPS   *maps = unl_get(param);

    if (maps == 0)
	return (0);
    if (mail_addr_find(maps, addr, 0) != 0)
	return (1);
    return (maps->error ? -1 : 0);
}

/* Is addr "name@..." (case-insensitive)? Postfix never rejects these local parts. */
static int unl_local_part_is(const char *addr, const char *name)
{
    size_t  n = strlen(name);

    return (n > 0 && strncasecmp(addr, name, n) == 0 && addr[n] == '@');
}

int     spol_check_unlisted(SMTPD_POLICY *p, const char *addr, const char *reply_class,
			            int is_sender, int skip_local)
{
    VSTR   *res;
    int     flags;
    int     found;
    const char *table = 0;
    const char *code_param = 0;
    int     rc = CHK_DUNNO;

    if (addr == 0 || *addr == 0)
	return (CHK_DUNNO);
    res = vstr_alloc(64);
    flags = resolve_policy_addr(addr, res);
    /*
     * Postfix resolves the address with trivial-rewrite, transport_maps
     * included: a failing transport table defers it (4.3.0).
     */
    if (!(flags & RESOLVE_FLAG_FAIL) && *mail_conf_str("transport_maps")) {
	RESOLVE_REPLY rr;

	resolve_reply_init(&rr);
	resolve_addr(addr, &rr);
	flags |= rr.flags & RESOLVE_FLAG_FAIL;
	resolve_reply_free(&rr);
    }
    if (flags & RESOLVE_FLAG_FAIL) {
	vstr_free(res);
	return (spol_lookup_retry(p, addr));
    }
    /*
     * An address that canonical mapping or a virtual alias rewrites is
     * known, whatever its class (as Postfix's smtpd does).
     */
    if ((found = unl_find(is_sender ? "sender_canonical_maps" : "recipient_canonical_maps",
			  vstr_str(res))) == 0
	&& (found = unl_find("canonical_maps", vstr_str(res))) == 0)
	found = unl_find("virtual_alias_maps", vstr_str(res));
    if (found != 0) {
	vstr_free(res);
	return (found < 0 ? spol_lookup_retry(p, addr) : CHK_DUNNO);
    }
    /* relocated(5): "User has moved to NEW", before the class tables. */
    {
	MAPS   *reloc = unl_get("relocated_maps");
	const char *moved;

	if (reloc && (moved = mail_addr_find(reloc, vstr_str(res), 0)) != 0) {
	    rc = spol_check_reject(p, 550, "5.1.6", "<%s>: %s rejected: User has moved to %s",
				   addr, reply_class, moved);
	    vstr_free(res);
	    return (rc);
	}
	if (reloc && reloc->error) {
	    vstr_free(res);
	    return (spol_lookup_retry(p, addr));
	}
    }
    if (flags & RESOLVE_CLASS_LOCAL) {
	if (skip_local || *mail_conf_str("local_recipient_maps") == 0
	    || unl_local_part_is(vstr_str(res), mail_conf_str("double_bounce_sender"))
	    || unl_local_part_is(vstr_str(res), "MAILER-DAEMON")) {
	    vstr_free(res);
	    return (CHK_DUNNO);
	}
	found = unl_find("local_recipient_maps", vstr_str(res));
	table = "local recipient table";
	code_param = "unknown_local_recipient_reject_code";
    } else if (flags & RESOLVE_CLASS_ALIAS) {
	found = 0;
	table = "virtual alias table";
	code_param = "unknown_virtual_alias_reject_code";
    } else if (flags & RESOLVE_CLASS_VIRTUAL) {
	found = unl_find("virtual_mailbox_maps", vstr_str(res));
	table = "virtual mailbox table";
	code_param = "unknown_virtual_mailbox_reject_code";
    } else if (flags & RESOLVE_CLASS_RELAY) {
	if (*mail_conf_str("relay_recipient_maps") == 0) {
	    vstr_free(res);
	    return (CHK_DUNNO);
	}
	found = unl_find("relay_recipient_maps", vstr_str(res));
	table = "relay recipient table";
	code_param = "unknown_relay_recipient_reject_code";
    } else
	found = 1;
    if (found < 0)
	rc = spol_lookup_retry(p, addr);
    else if (found == 0)
	rc = spol_check_reject(p, (int) mail_conf_int(code_param), is_sender ? "5.1.0" : "5.1.1",
			       "<%s>: %s rejected: User unknown in %s", addr, reply_class, table);
    vstr_free(res);
    return (rc);
}
