/* resolve - the address resolver; see resolve.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "htable.h"
#include "mail_addr_find.h"
#include "mail_conf.h"
#include "maps.h"
#include "mem.h"
#include "msg.h"
#include "resolve.h"
#include "stringops.h"
#include "vstr.h"

/* Default table lookup: the dict layer, one MAPS per distinct table list. */
static char *resolve_err_spec;		/* "type:name" of the last failed table */

static char *resolve_maps_lookup(const char *tables, const char *key, int *err)
{
    static HTABLE *cache;
    MAPS   *maps;
    const char *v;

    if (cache == 0)
	cache = htable_create(8);
    if ((maps = htable_find(cache, tables)) == 0) {
	maps = maps_create("resolve", tables, DICT_FLAG_DEFAULT);
	htable_enter(cache, tables, maps);
    }
    v = maps_find(maps, key, (*key == '.' || strchr(key, '@') == 0) ? DICT_FLAG_FIXED : 0);
    if (v)
	return (xstrdup(v));
    if (maps->error) {
	*err = 1;
	free(resolve_err_spec);
	resolve_err_spec = maps->error_dict ? xstrdup(dict_spec(maps->error_dict)) : 0;
    }
    return (0);
}

char   *(*resolve_table_lookup) (const char *tables, const char *key, int *err) = resolve_maps_lookup;

void    resolve_reply_init(RESOLVE_REPLY *r)
{
    r->transport = vstr_alloc(16);
    r->nexthop = vstr_alloc(64);
    r->recipient = vstr_alloc(64);
    r->flags = 0;
}

void    resolve_reply_free(RESOLVE_REPLY *r)
{
    vstr_free(r->transport);
    vstr_free(r->nexthop);
    vstr_free(r->recipient);
}

const char *resolve_class_name(int flags)
{
    if (flags & RESOLVE_CLASS_LOCAL)
	return ("local");
    if (flags & RESOLVE_CLASS_ALIAS)
	return ("virtual alias");
    if (flags & RESOLVE_CLASS_VIRTUAL)
	return ("virtual mailbox");
    if (flags & RESOLVE_CLASS_RELAY)
	return ("relay");
    return ("default");
}

static int parent_matches(const char *param)
{
    char   *list = xstrdup(mail_conf_str("parent_domain_matches_subdomains"));
    char   *bp = list, *name;
    int     found = 0;

    while ((name = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
	if (strcmp(name, param) == 0)
	    found = 1;
    free(list);
    return (found);
}

/* Postfix domain_list semantics: name, .name, !name, type:table. */
int     resolve_domain_in(const char *param, const char *domain)
{
    char   *list = xstrdup(mail_conf_str(param));
    char   *bp = list, *item;
    int     parent = parent_matches(param);
    int     result = 0;

    while ((item = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	int     negate = 0;
	const char *d;

	while (*item == '!') {
	    negate = !negate;
	    item++;
	}
	lowercase(item);
	if (strchr(item, ':') != 0) {
	    /* A table: the domain is a key (parent domains too). */
	    int     err = 0;
	    int     hit = 0;

	    if (resolve_table_lookup) {
		char   *v = resolve_table_lookup(item, domain, &err);

		/* Parents: "example.com" (parent matching) or ".example.com". */
		for (d = strchr(domain, '.'); v == 0 && !err && d && d[1]; d = strchr(d + 1, '.'))
		    v = resolve_table_lookup(item, parent ? d + 1 : d, &err);
		if (v) {
		    hit = 1;
		    free(v);
		}
	    }
	    if (hit) {
		result = !negate;
		break;
	    }
	    continue;
	}
	if (*item == '/')
	    continue;			/* file lists: not supported here */
	if (strcmp(item, domain) == 0) {
	    result = !negate;
	    break;
	}
	if (*item == '.' || parent) {
	    const char *suffix = (*item == '.') ? item : 0;
	    size_t  dl = strlen(domain), il;

	    if (suffix == 0) {
		/* parent matches subdomains: "example.com" matches "x.example.com" */
		il = strlen(item);
		if (dl > il && domain[dl - il - 1] == '.' && strcmp(domain + dl - il, item) == 0) {
		    result = !negate;
		    break;
		}
	    } else {
		il = strlen(suffix);
		if (dl > il && strcmp(domain + dl - il, suffix) == 0) {
		    result = !negate;
		    break;
		}
	    }
	}
    }
    free(list);
    return (result);
}

/* The local class by the shared decision (resolve_class.c). */
int     resolve_local(const char *domain)
{
    VSTR   *d = vstr_alloc(64);
    int     local = 0;

    (void) vstr_cpy(d, domain);
    if (vstr_last(d) == '.')
	vstr_truncate(d, vstr_len(d) - 1);
    if (vstr_len(d) > 0)
	local = (resolve_class(vstr_str(d)) & RESOLVE_CLASS_LOCAL) != 0;
    vstr_free(d);
    return (local);
}

static int resolve_local_or_origin(const char *domain)
{
    const char *origin = mail_conf_str("myorigin");
    size_t  len = strlen(domain);

    if (origin && *origin && (strcasecmp(origin, domain) == 0
			      || (len > 0 && domain[len - 1] == '.'
				  && strlen(origin) == len - 1
				  && strncasecmp(origin, domain, len - 1) == 0)))
	return (1);
    return (resolve_local(domain));
}

void    resolve_install_local(void)
{
    mail_addr_set_local_fn(resolve_local_or_origin);
}

/* "transport:nexthop" -> transport, nexthop (kept if empty). */
static void split_transport(const char *value, RESOLVE_REPLY *r)
{
    const char *colon = strchr(value, ':');

    if (colon == 0) {
	if (*value)
	    (void) vstr_cpy(r->transport, value);
	return;
    }
    if (colon > value)
	(void) vstr_ncpy(r->transport, value, colon - value);
    if (colon[1])
	(void) vstr_cpy(r->nexthop, colon + 1);
}

static char *transport_lookup_key(const char *maps, const char *key, int *err)
{
    char   *v = resolve_table_lookup(maps, key, err);

    /* Postfix's trivial-rewrite: the table and key, then the parameter. */
    if (*err) {
	msg_warn("%s lookup error for \"%s\"", resolve_err_spec ? resolve_err_spec : maps, key);
	msg_warn("transport_maps lookup failure");
    }
    return (v);
}

static char *transport_lookup(const char *addr, const char *domain, int *err)
{
    const char *maps = mail_conf_str("transport_maps");
    char   *v;
    const char *d;

    if (*maps == 0 || resolve_table_lookup == 0)
	return (0);
    if ((v = transport_lookup_key(maps, addr, err)) != 0 || *err)
	return (v);
    /* user+ext@domain -> user@domain */
    {
	const char *delim = mail_conf_str("recipient_delimiter");
	const char *at = strrchr(addr, '@');

	if (*delim && at) {
	    size_t  n = strcspn(addr, delim);

	    if (addr + n < at) {
		VSTR   *k = vstr_alloc(64);

		(void) vstr_ncpy(k, addr, n);
		(void) vstr_cat(k, at);
		v = transport_lookup_key(maps, vstr_str(k), err);
		vstr_free(k);
		if (v || *err)
		    return (v);
	    }
	}
    }
    if (*domain == 0)
	return (0);
    if ((v = transport_lookup_key(maps, domain, err)) != 0 || *err)
	return (v);
    for (d = strchr(domain, '.'); d; d = strchr(d + 1, '.'))
	if ((v = transport_lookup_key(maps, d, err)) != 0 || *err)
	    return (v);
    return (transport_lookup_key(maps, "*", err));
}

void    resolve_addr(const char *addr, RESOLVE_REPLY *r)
{
    VSTR   *domain = vstr_alloc(64);
    VSTR   *final = vstr_alloc(64);
    const char *at;
    char   *tv = 0;
    int     err = 0;

    r->flags = 0;
    vstr_reset(r->transport);
    vstr_reset(r->nexthop);
    (void) vstr_cpy(r->recipient, addr);
    /* Strip a trailing dot from the domain. */
    if (vstr_last(r->recipient) == '.' && strchr(addr, '@'))
	vstr_truncate(r->recipient, vstr_len(r->recipient) - 1);

    if (*addr == 0) {
	/* the null address: local */
	r->flags |= RESOLVE_CLASS_LOCAL;
    } else {
	/* One decision for class and source routing: the policy view's. */
	r->flags |= resolve_policy_addr(vstr_str(r->recipient), final)
	    & (RESOLVE_CLASS_MASK | RESOLVE_FLAG_ERROR | RESOLVE_FLAG_FAIL | RESOLVE_FLAG_ROUTED);
	if ((at = strrchr(vstr_str(final), '@')) != 0)
	    (void) vstr_cpy(domain, at + 1);
	vstr_lower(domain);
	/* A malformed address literal cannot be delivered anywhere. */
	if (vstr_str(domain)[0] == '[') {
	    const char *end = strchr(vstr_str(domain), ']');

	    if (end == 0 || end[1] != 0 || end == vstr_str(domain) + 1)
		r->flags = (r->flags & ~RESOLVE_CLASS_MASK) | RESOLVE_FLAG_ERROR;
	}
    }
    if (vstr_len(final) == 0)
	(void) vstr_cpy(final, vstr_str(r->recipient));

    if (r->flags & RESOLVE_FLAG_ERROR) {
	(void) vstr_cpy(r->transport, "error");
	(void) vstr_cpy(r->nexthop, "5.1.3 bad address syntax");
    } else if (r->flags & RESOLVE_CLASS_LOCAL) {
	(void) vstr_cpy(r->nexthop, mail_conf_str("myhostname"));
	split_transport(mail_conf_str("local_transport"), r);
    } else if (r->flags & RESOLVE_CLASS_ALIAS) {
	(void) vstr_cpy(r->transport, "error");
	(void) vstr_cpy(r->nexthop, "5.1.1 User unknown in virtual alias table");
    } else if (r->flags & RESOLVE_CLASS_VIRTUAL) {
	(void) vstr_cpy(r->nexthop, vstr_str(domain));
	split_transport(mail_conf_str("virtual_transport"), r);
    } else {
	const char *relayhost = mail_conf_str("relayhost");

	(void) vstr_cpy(r->nexthop, *relayhost ? relayhost : vstr_str(domain));
	split_transport(mail_conf_str((r->flags & RESOLVE_CLASS_RELAY) ?
				      "relay_transport" : "default_transport"), r);
    }
    if (!(r->flags & RESOLVE_FLAG_ERROR)) {
	VSTR   *key = vstr_alloc(64);

	(void) vstr_cpy(key, vstr_str(final));
	vstr_lower(key);
	tv = transport_lookup(vstr_str(key), vstr_str(domain), &err);
	vstr_free(key);
	if (err)
	    r->flags |= RESOLVE_FLAG_FAIL;
	if (tv) {
	    split_transport(tv, r);
	    free(tv);
	}
    }
    if (vstr_len(r->transport) == 0)
	(void) vstr_cpy(r->transport, "error");
    vstr_free(final);
    vstr_free(domain);
}
