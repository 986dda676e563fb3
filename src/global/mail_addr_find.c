/* mail_addr_find - address search orders; see mail_addr_find.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "dict.h"
#include "htable.h"
#include "mail_addr_find.h"
#include "mail_conf.h"
#include "maps.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"
#include "vstr.h"

#define FULL	0
#define PARTIAL	DICT_FLAG_FIXED

static int default_is_local(const char *domain);
static MAIL_ADDR_LOCAL_FN local_fn = default_is_local;

void    mail_addr_set_local_fn(MAIL_ADDR_LOCAL_FN fn)
{
    local_fn = fn ? fn : default_is_local;
}

int     mail_addr_domain_is_local(const char *domain)
{
    return (local_fn(domain));
}

/*
 * A main.cf domain list ($mydestination, $inet_interfaces, ...): literal
 * names plus tables, parsed once per value and cached.
 */
typedef struct {
    char   *value;
    ARGV   *names;			/* literal entries */
    MAPS   *maps;			/* "type:name" entries */
} LIST_CACHE;

static int list_has(const char *param, const char *name)
{
    static HTABLE *cache;
    const char *val = mail_conf_str(param);
    LIST_CACHE *lc;

    if (val == 0)
	val = "";
    if (cache == 0)
	cache = htable_create(8);
    if ((lc = htable_find(cache, param)) == 0 || strcmp(lc->value, val) != 0) {
	char   *copy = xstrdup(val);
	char   *bp = copy;
	char   *tok;
	VSTR   *tables = vstr_alloc(64);

	if (lc == 0) {
	    lc = xcalloc(1, sizeof(*lc));
	    htable_enter(cache, param, lc);
	} else {
	    free(lc->value);
	    argv_free(lc->names);
	    maps_free(lc->maps);
	}
	lc->value = xstrdup(val);
	lc->names = argv_alloc(4);
	while ((tok = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0) {
	    if (strchr(tok, ':') && tok[0] != '[' && tok[0] != '/')
		(void) vstr_fmt_append(tables, "%s%s", vstr_len(tables) ? ", " : "", tok);
	    else
		argv_add(lc->names, tok);
	}
	lc->maps = maps_create(param, vstr_str(tables), DICT_FLAG_DEFAULT);
	vstr_free(tables);
	free(copy);
    }
    for (size_t i = 0; i < lc->names->argc; i++)
	if (strcasecmp(lc->names->argv[i], name) == 0)
	    return (1);
    return (maps_find(lc->maps, name, 0) != 0);
}

static int default_is_local(const char *domain)
{
    char   *d = xstrdup(domain);
    size_t  len = strlen(d);
    int     local;

    if (len > 0 && d[len - 1] == '.')
	d[len - 1] = 0;
    if (d[0] == '[') {
	/* [address]: one of our interfaces. */
	char   *end = strchr(d, ']');
	const char *ifs = mail_conf_str("inet_interfaces");

	if (end)
	    *end = 0;
	local = strcmp(d + 1, "127.0.0.1") == 0 || strcmp(d + 1, "::1") == 0
	    || (ifs && strcmp(ifs, "all") == 0)
	    || list_has("inet_interfaces", d + 1) || list_has("proxy_interfaces", d + 1);
    } else {
	const char *origin = mail_conf_str("myorigin");

	local = (origin && strcasecmp(origin, d) == 0) || list_has("mydestination", d);
    }
    free(d);
    return (local);
}

int     mail_pdms(const char *feature)
{
    const char *val = mail_conf_str("parent_domain_matches_subdomains");
    char   *copy = xstrdup(val ? val : "");
    char   *bp = copy;
    char   *tok;
    int     found = 0;

    while (!found && (tok = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
	if (strcmp(tok, feature) == 0)
	    found = 1;
    free(copy);
    return (found);
}

int     mail_addr_split_ext(const char *localpart, const char *delims)
{
    size_t  len = strlen(localpart);
    size_t  pos;

    if (delims == 0 || *delims == 0 || len == 0)
	return (-1);
    /* Postfix: with '-', owner-list and list-request are not split. */
    if (strchr(delims, '-')
	&& (strncasecmp(localpart, "owner-", 6) == 0
	    || (len > 8 && strcasecmp(localpart + len - 8, "-request") == 0)))
	return (-1);
    pos = strcspn(localpart, delims);
    if (pos == 0 || pos >= len)
	return (-1);
    return ((int) pos);
}

/* Parsed address: local part, extension, domain. */
typedef struct {
    VSTR   *at_domain;		/* "@domain", or empty */
    VSTR   *local;			/* local part with extension */
    VSTR   *base;			/* local part without extension */
    VSTR   *ext;			/* delimiter + extension, or empty */
    VSTR   *domain;			/* without '@'; empty if none */
    int     has_domain;
    VSTR   *key;
} ADDR_PARTS;

static void addr_parts_init(ADDR_PARTS *ap, const char *address)
{
    const char *at = strrchr(address, '@');
    const char *delims = mail_conf_str("recipient_delimiter");
    int     pos;

    ap->at_domain = vstr_alloc(64);
    ap->local = vstr_alloc(64);
    ap->base = vstr_alloc(64);
    ap->ext = vstr_alloc(16);
    ap->domain = vstr_alloc(64);
    ap->key = vstr_alloc(64);
    if (at) {
	(void) vstr_ncpy(ap->local, address, (size_t) (at - address));
	(void) vstr_cpy(ap->domain, at + 1);
	ap->has_domain = 1;
    } else {
	(void) vstr_cpy(ap->local, address);
	ap->has_domain = 0;
    }
    /* "quoted local part": work with the internal (unquoted) form. */
    if (vstr_len(ap->local) >= 2 && vstr_str(ap->local)[0] == '"'
	&& vstr_last(ap->local) == '"') {
	VSTR   *in = vstr_alloc(vstr_len(ap->local));
	const char *cp = vstr_str(ap->local) + 1;
	const char *end = vstr_end(ap->local) - 1;

	for (; cp < end; cp++) {
	    if (*cp == '\\' && cp + 1 < end)
		cp++;
	    (void) vstr_addch(in, *cp);
	}
	(void) vstr_cpy(ap->local, vstr_str(in));
	vstr_free(in);
    }
    (void) vstr_cpy(ap->base, vstr_str(ap->local));
    if ((pos = mail_addr_split_ext(vstr_str(ap->local), delims)) > 0) {
	vstr_truncate(ap->base, (size_t) pos);
	(void) vstr_cpy(ap->ext, vstr_str(ap->local) + pos);
    }
}

static void addr_parts_free(ADDR_PARTS *ap)
{
    vstr_free(ap->at_domain);
    vstr_free(ap->local);
    vstr_free(ap->base);
    vstr_free(ap->ext);
    vstr_free(ap->domain);
    vstr_free(ap->key);
}

#define HAS_EXT(ap)	(vstr_len((ap)->ext) > 0)

/* Look up one key; on a hit, set *extp per with_ext. -1 error, 0 miss, 1 hit. */
static int try_key(MAPS *maps, const char *key, int flags, const char **result,
		           ADDR_PARTS *ap, int stripped, char **extp)
{
    const char *v = maps_find(maps, key, flags);

    if (v) {
	*result = v;
	if (extp)
	    *extp = (stripped && HAS_EXT(ap)) ? xstrdup(vstr_str(ap->ext)) : 0;
	return (1);
    }
    return (maps->error ? -1 : 0);
}

/* Does a local part need quotes in its external (RFC 5322) form? */
static int local_needs_quotes(const char *local)
{
    size_t  len = strlen(local);

    if (len == 0)
	return (0);
    if (local[0] == '.' || local[len - 1] == '.' || strstr(local, ".."))
	return (1);
    for (const char *cp = local; *cp; cp++)
	if ((unsigned char) *cp < 32 || *cp == 127 || strchr("()<>@,;:\\\"[] ", *cp))
	    return (1);
    return (0);
}

/*
 * Look up local+suffix as Postfix does: the external (quoted) form of the
 * local part first, then the internal form when it differs.
 */
static int try_local(MAPS *maps, ADDR_PARTS *ap, const char *local, const char *suffix,
		             int flags, int stripped, const char **result, char **extp)
{
    int     rc;

    if (local_needs_quotes(local)) {
	(void) vstr_cpy(ap->key, "\"");
	for (const char *cp = local; *cp; cp++) {
	    if (*cp == '"' || *cp == '\\')
		(void) vstr_addch(ap->key, '\\');
	    (void) vstr_addch(ap->key, *cp);
	}
	(void) vstr_fmt_append(ap->key, "\"%s", suffix);
	if ((rc = try_key(maps, vstr_str(ap->key), flags, result, ap, stripped, extp)) != 0)
	    return (rc);
    }
    (void) vstr_fmt(ap->key, "%s%s", local, suffix);
    return (try_key(maps, vstr_str(ap->key), flags, result, ap, stripped, extp));
}

#define TRY_LOCAL(local, suffix, flags, stripped) do { \
	int _rc = try_local(maps, &ap, (local), (suffix), (flags), (stripped), \
			    &result, extp); \
	if (_rc != 0) goto done; } while (0)

#define TRY(key, flags, stripped) do { \
	int _rc = try_key(maps, (key), (flags), &result, &ap, (stripped), extp); \
	if (_rc != 0) goto done; } while (0)

static const char *domain_search(MAPS *maps, const char *domain, int strategy,
				         int flags, int *status)
{
    static VSTR *saved;
    const char *name = domain;
    const char *next;
    const char *v = 0;
    VSTR   *key = vstr_alloc(64);

    *status = 0;
    (void) vstr_cpy(key, domain);
    for (;;) {
	if ((v = maps_find(maps, vstr_str(key), flags)) != 0) {
	    *status = 1;
	    break;
	}
	if (maps->error) {
	    *status = -1;
	    break;
	}
	if (!(strategy & (MA_FIND_PDMS | MA_FIND_PDDMDS)))
	    break;
	if ((next = strchr(name + 1, '.')) == 0 || next[1] == 0)
	    break;
	name = next;
	(void) vstr_cpy(key, (strategy & MA_FIND_PDMS) ? next + 1 : next);
	flags = PARTIAL;
    }
    if (*status == 1) {
	if (saved == 0)
	    saved = vstr_alloc(64);
	(void) vstr_cpy(saved, v);
	v = vstr_str(saved);
    }
    vstr_free(key);
    return (*status == 1 ? v : 0);
}

const char *mail_addr_find_strategy(MAPS *maps, const char *address, char **extp,
				            int strategy)
{
    ADDR_PARTS ap;
    const char *result = 0;
    int     is_local;

    if (extp)
	*extp = 0;
    maps->error = 0;
    addr_parts_init(&ap, address);

    (void) vstr_fmt(ap.at_domain, "%s%s", ap.has_domain ? "@" : "", vstr_str(ap.domain));
    if (strategy & MA_FIND_FULL)
	TRY_LOCAL(vstr_str(ap.local), vstr_str(ap.at_domain), FULL, 0);
    if ((strategy & MA_FIND_NOEXT) && HAS_EXT(&ap) && ap.has_domain)
	TRY_LOCAL(vstr_str(ap.base), vstr_str(ap.at_domain), PARTIAL, 1);
    is_local = !ap.has_domain || mail_addr_domain_is_local(vstr_str(ap.domain));
    if ((strategy & MA_FIND_LOCALPART_IF_LOCAL) && is_local) {
	if (ap.has_domain || !(strategy & MA_FIND_FULL))
	    TRY_LOCAL(vstr_str(ap.local), "", PARTIAL, 0);
	if (HAS_EXT(&ap))
	    TRY_LOCAL(vstr_str(ap.base), "", PARTIAL, 1);
    }
    if ((strategy & MA_FIND_DOMAIN) && ap.has_domain) {
	int     status;
	const char *v = domain_search(maps, vstr_str(ap.domain), strategy, PARTIAL, &status);

	if (status != 0) {
	    result = v;
	    if (extp && status > 0 && HAS_EXT(&ap))
		*extp = xstrdup(vstr_str(ap.ext));
	    goto done;
	}
    }
    if ((strategy & MA_FIND_LOCALPART_AT)
	|| ((strategy & MA_FIND_LOCALPART_AT_IF_LOCAL) && is_local)) {
	TRY_LOCAL(vstr_str(ap.local), "@", PARTIAL, 0);
	if (HAS_EXT(&ap))
	    TRY_LOCAL(vstr_str(ap.base), "@", PARTIAL, 1);
    }
    if ((strategy & MA_FIND_AT_DOMAIN) && ap.has_domain) {
	(void) vstr_fmt(ap.key, "@%s", vstr_str(ap.domain));
	TRY(vstr_str(ap.key), PARTIAL, 1);
    }
done:
    addr_parts_free(&ap);
    if (maps->error)
	return (0);
    return (result);
}

const char *mail_addr_find(MAPS *maps, const char *address, char **extp)
{
    return (mail_addr_find_strategy(maps, address, extp, MA_FIND_DEFAULT));
}

const char *mail_access_find(MAPS *maps, const char *address, const char *feature)
{
    int     strategy = MA_FIND_FULL | MA_FIND_NOEXT | MA_FIND_DOMAIN | MA_FIND_LOCALPART_AT;

    strategy |= mail_pdms(feature) ? MA_FIND_PDMS : MA_FIND_PDDMDS;
    return (mail_addr_find_strategy(maps, address, (char **) 0, strategy));
}

const char *mail_domain_find(MAPS *maps, const char *domain, const char *feature)
{
    int     status;

    maps->error = 0;
    return (domain_search(maps, domain, mail_pdms(feature) ? MA_FIND_PDMS : MA_FIND_PDDMDS,
			  FULL, &status));
}

const char *mail_transport_find(MAPS *maps, const char *address)
{
    int     strategy = MA_FIND_FULL | MA_FIND_NOEXT | MA_FIND_DOMAIN;
    const char *v;

    strategy |= mail_pdms("transport_maps") ? MA_FIND_PDMS : MA_FIND_PDDMDS;
    if (strchr(address, '@') == 0) {
	/* No domain: only the address itself and the wildcard. */
	if ((v = maps_find(maps, address, FULL)) != 0 || maps->error)
	    return (v);
    } else if ((v = mail_addr_find_strategy(maps, address, (char **) 0, strategy)) != 0
	       || maps->error) {
	return (v);
    }
    return (maps_find(maps, "*", PARTIAL));
}

const char *mail_alias_find(MAPS *maps, const char *localpart, char **extp)
{
    const char *delims = mail_conf_str("recipient_delimiter");
    const char *v;
    int     pos;

    if (extp)
	*extp = 0;
    if ((v = maps_find(maps, localpart, FULL)) != 0 || maps->error)
	return (v);
    if ((pos = mail_addr_split_ext(localpart, delims)) > 0) {
	char   *base = xstrndup(localpart, (size_t) pos);

	v = maps_find(maps, base, PARTIAL);
	free(base);
	if (v && extp)
	    *extp = xstrdup(localpart + pos);
    }
    return (v);
}

const char *mail_hostaddr_find(MAPS *maps, const char *addr)
{
    VSTR   *key = vstr_alloc(64);
    const char *v;
    char   *cp;
    int     sep = strchr(addr, ':') ? ':' : '.';
    int     flags = FULL;

    (void) vstr_cpy(key, addr);
    for (;;) {
	if ((v = maps_find(maps, vstr_str(key), flags)) != 0 || maps->error)
	    break;
	if ((cp = strrchr(vstr_str(key), sep)) == 0)
	    break;
	vstr_truncate(key, (size_t) (cp - vstr_str(key)));
	/* IPv6 "::" compression: drop the empty field too. */
	while (vstr_len(key) > 0 && vstr_last(key) == sep)
	    vstr_truncate(key, vstr_len(key) - 1);
	if (vstr_len(key) == 0)
	    break;
	flags = PARTIAL;
    }
    if (v) {
	static VSTR *saved;

	if (saved == 0)
	    saved = vstr_alloc(64);
	(void) vstr_cpy(saved, v);
	v = vstr_str(saved);
    }
    vstr_free(key);
    return (v);
}
