/* resolve_class - address classes and source-route aware resolution (see resolve_class.h). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "argv.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "pol_cidr.h"
#include "pol_match.h"
#include "resolve_class.h"
#include "stringops.h"
#include "vstr.h"

typedef struct CLASS_LISTS {
    char   *key;			/* the parameter values they were built from */
    POL_MATCH_LIST *mydest;
    POL_MATCH_LIST *alias;
    POL_MATCH_LIST *virt;
    POL_MATCH_LIST *relay;
    ARGV   *own;			/* our addresses, binary as text */
} CLASS_LISTS;

static CLASS_LISTS *lists;

static void own_add(ARGV *own, int family, const void *a)
{
    char    text[INET6_ADDRSTRLEN];

    if (inet_ntop(family, a, text, sizeof(text)) != 0)
	argv_add(own, text);
}

static void own_add_interfaces(ARGV *own, int loopback_only)
{
    struct ifaddrs *ifa, *ip;

    if (getifaddrs(&ifa) < 0) {
	msg_warn("getifaddrs: %m");
	return;
    }
    for (ip = ifa; ip; ip = ip->ifa_next) {
	if (ip->ifa_addr == 0)
	    continue;
	if (ip->ifa_addr->sa_family == AF_INET) {
	    struct in_addr *a = &((struct sockaddr_in *) ip->ifa_addr)->sin_addr;

	    if (!loopback_only || (ntohl(a->s_addr) >> 24) == 127)
		own_add(own, AF_INET, a);
	} else if (ip->ifa_addr->sa_family == AF_INET6) {
	    struct in6_addr *a = &((struct sockaddr_in6 *) ip->ifa_addr)->sin6_addr;

	    if (!loopback_only || IN6_IS_ADDR_LOOPBACK(a))
		own_add(own, AF_INET6, a);
	}
    }
    freeifaddrs(ifa);
}

static void own_add_list(ARGV *own, const char *value)
{
    char   *buf = xstrdup(value);
    char   *bp = buf;
    char   *item;

    while ((item = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	struct addrinfo hints, *res, *ai;
	size_t  n = strlen(item);

	if (strcasecmp(item, "all") == 0) {
	    own_add_interfaces(own, 0);
	    continue;
	}
	if (strcasecmp(item, "loopback-only") == 0) {
	    own_add_interfaces(own, 1);
	    continue;
	}
	if (*item == '[' && n > 2 && item[n - 1] == ']') {
	    item[n - 1] = 0;
	    item++;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(item, 0, &hints, &res) != 0) {
	    msg_warn("inet_interfaces/proxy_interfaces: host not found: %s", item);
	    continue;
	}
	for (ai = res; ai; ai = ai->ai_next) {
	    if (ai->ai_family == AF_INET)
		own_add(own, AF_INET, &((struct sockaddr_in *) ai->ai_addr)->sin_addr);
	    else if (ai->ai_family == AF_INET6)
		own_add(own, AF_INET6, &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr);
	}
	freeaddrinfo(res);
    }
    free(buf);
}

static void lists_free(CLASS_LISTS *lp)
{
    pol_match_list_free(lp->mydest);
    pol_match_list_free(lp->alias);
    pol_match_list_free(lp->virt);
    pol_match_list_free(lp->relay);
    argv_free(lp->own);
    free(lp->key);
    free(lp);
}

static CLASS_LISTS *get_lists(void)
{
    VSTR   *key = vstr_alloc(256);
    const char *names[] = {"mydestination", "virtual_alias_domains", "virtual_mailbox_domains",
    "relay_domains", "inet_interfaces", "proxy_interfaces", "parent_domain_matches_subdomains", 0};

    for (int i = 0; names[i]; i++)
	vstr_fmt_append(key, "%s\n", mail_conf_str(names[i]));
    if (lists && strcmp(lists->key, vstr_str(key)) == 0) {
	vstr_free(key);
	return (lists);
    }
    if (lists)
	lists_free(lists);
    lists = xcalloc(1, sizeof(*lists));
    lists->key = vstr_export(key);
    lists->mydest = pol_match_list_create("mydestination", mail_conf_str("mydestination"), POL_MATCH_NAME);
    lists->alias = pol_match_list_create("virtual_alias_domains", mail_conf_str("virtual_alias_domains"), POL_MATCH_NAME);
    lists->virt = pol_match_list_create("virtual_mailbox_domains", mail_conf_str("virtual_mailbox_domains"), POL_MATCH_NAME);
    lists->relay = pol_match_list_create("relay_domains", mail_conf_str("relay_domains"), POL_MATCH_NAME);
    lists->own = argv_alloc(8);
    own_add_list(lists->own, mail_conf_str("inet_interfaces"));
    own_add_list(lists->own, mail_conf_str("proxy_interfaces"));
    return (lists);
}

void    resolve_class_reset(void)
{
    if (lists)
	lists_free(lists);
    lists = 0;
}

int     resolve_own_address(const char *addr)
{
    CLASS_LISTS *lp = get_lists();
    int     fam, fam2;
    unsigned char a[16], b[16];

    if (pol_addr_parse(addr, &fam, a) < 0)
	return (0);
    for (size_t i = 0; i < lp->own->argc; i++)
	if (pol_addr_parse(lp->own->argv[i], &fam2, b) == 0 && fam == fam2
	    && memcmp(a, b, fam == AF_INET ? 4 : 16) == 0)
	    return (1);
    return (0);
}

/* Match one list; a lookup failure makes the result "fail". */
static int class_match(POL_MATCH_LIST *ml, const char *domain, int *fail)
{
    int     rc = pol_match_list_match(ml, domain, 0);

    if (rc < 0)
	*fail = 1;
    return (rc > 0);
}

static int class_of(const char *domain, int *fail)
{
    CLASS_LISTS *lp = get_lists();
    size_t  n = strlen(domain);

    if (n > 2 && domain[0] == '[' && domain[n - 1] == ']') {
	char   *a = xstrndup(domain + 1, n - 2);
	const char *bare = a;
	int     own;

	if (strncasecmp(bare, "ipv6:", 5) == 0)
	    bare += 5;
	own = resolve_own_address(bare);
	free(a);
	return (own ? RESOLVE_CLASS_LOCAL : RESOLVE_CLASS_DEFAULT);
    }
    if (class_match(lp->mydest, domain, fail))
	return (RESOLVE_CLASS_LOCAL);
    if (*mail_conf_str("virtual_alias_domains") && class_match(lp->alias, domain, fail))
	return (RESOLVE_CLASS_ALIAS);
    if (*mail_conf_str("virtual_mailbox_domains") && class_match(lp->virt, domain, fail))
	return (RESOLVE_CLASS_VIRTUAL);
    if (class_match(lp->relay, domain, fail))
	return (RESOLVE_CLASS_RELAY);
    return (RESOLVE_CLASS_DEFAULT);
}

int     resolve_class(const char *domain)
{
    int     fail = 0;
    int     cls = class_of(domain, &fail);

    return (fail ? (cls | RESOLVE_FLAG_FAIL) : cls);
}

/* Turn a domain-less local part into an address by source-route rules; 1 if changed. */
static int unroute_local(VSTR *addr)
{
    char   *s = vstr_str(addr);
    char   *cp;

    if (mail_conf_bool("allow_percent_hack") && (cp = strrchr(s, '%')) != 0) {
	*cp = '@';
	return (1);
    }
    if (mail_conf_bool("swap_bangpath") && (cp = strchr(s, '!')) != 0 && cp > s && cp[1]) {
	/* "host!user" becomes "user@host" */
	VSTR   *t = vstr_alloc(vstr_len(addr) + 2);

	vstr_cpy(t, cp + 1);
	vstr_addch(t, '@');
	vstr_append(t, s, (size_t) (cp - s));
	vstr_cpy(addr, vstr_str(t));
	vstr_free(t);
	return (1);
    }
    return (0);
}

static int has_routing(const char *local)
{
    return (strchr(local, '@') != 0
	    || (mail_conf_bool("allow_percent_hack") && strchr(local, '%') != 0)
	    || (mail_conf_bool("swap_bangpath") && strchr(local, '!') != 0));
}

int     resolve_policy_addr(const char *address, VSTR *result)
{
    int     flags = 0;
    int     fail = 0;
    int     loops = 0;
    int     cls;

    vstr_cpy(result, address);
    for (;;) {
	char   *s = vstr_str(result);
	char   *at;

	if (++loops > 100) {
	    flags |= RESOLVE_FLAG_ERROR;
	    break;
	}
	/* Strip trailing dots from the domain, as Postfix does. */
	while (vstr_len(result) > 1 && vstr_last(result) == '.' && strchr(s, '@'))
	    vstr_truncate(result, vstr_len(result) - 1);
	s = vstr_str(result);
	if ((at = strrchr(s, '@')) == 0) {
	    if (unroute_local(result))
		continue;
	    /* Unqualified: $myorigin is appended. */
	    if (*s == 0)
		break;
	    vstr_addch(result, '@');
	    vstr_cat(result, mail_conf_str("myorigin"));
	    continue;
	}
	if (at[1] == 0) {
	    vstr_truncate(result, (size_t) (at - s));
	    continue;
	}
	cls = class_of(at + 1, &fail);
	if (cls == RESOLVE_CLASS_LOCAL) {
	    VSTR   *local = vstr_alloc(64);

	    vstr_append(local, s, (size_t) (at - s));
	    if (has_routing(vstr_str(local))) {
		/* Strip our own domain and resolve the rest (not "routed" by itself). */
		vstr_cpy(result, vstr_str(local));
		vstr_free(local);
		if (strrchr(vstr_str(result), '@') == 0)
		    (void) unroute_local(result);
		continue;
	    }
	    vstr_free(local);
	} else {
	    /*
	     * A non-local destination whose local part still routes further
	     * ('@', '!' or '%', whatever swap_bangpath/allow_percent_hack say:
	     * the next hop may treat them differently) is "routed": its final
	     * destination is uncertain. Postfix 3.7 agrees (golden
	     * unlisted_local.scn: a route through our own domains to a local
	     * user is not routed).
	     */
	    if (memchr(s, '@', (size_t) (at - s)) || memchr(s, '!', (size_t) (at - s))
		|| memchr(s, '%', (size_t) (at - s)))
		flags |= RESOLVE_FLAG_ROUTED;
	}
	flags |= cls;
	break;
    }
    if (vstr_len(result) == 0)
	flags |= RESOLVE_CLASS_LOCAL;
    if (fail)
	flags |= RESOLVE_FLAG_FAIL;
    return (flags);
}
