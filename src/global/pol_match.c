/*
 * pol_match - domain and name/address pattern lists (see pol_match.h).
 *
 * The rules follow Postfix 3.7's match lists, checked against Debian's
 * Postfix (docs/policy.md, "Match lists"):
 *
 * Parsing. Patterns are separated by commas and white space; "{...}" stays
 * one pattern. A pattern that starts with '#' ends the string (the rest of
 * the line) with "warning: PARAM: comment at end of line is not supported:
 * # REST". Each '!' flips the result of what follows; "!" alone is fatal
 * ("PARAM: no pattern after '!'"). "/file/name" is replaced by the patterns
 * of the file (lines that start with '#' are skipped), and a '!' before it
 * applies to every one of them. A file that cannot be opened logs "error:
 * open file PATH: REASON" and acts as a table "non-existent:PATH" that
 * fails every lookup. "type:name" (not starting with '[') is a table; a
 * table that cannot be opened logs "error: REASON" and fails every lookup.
 *
 * Matching, pattern by pattern, first match wins (a negated match returns
 * "no match"); for each pattern the client name is tried, then (address
 * lists) the address. Names, including "unknown", are compared without
 * case: "example.com" matches itself, and in a parameter listed in
 * parent_domain_matches_subdomains also its subdomains; otherwise
 * ".example.com" matches the subdomains. A table is searched for the name,
 * then (fixed-string tables only) its parent domains ("example.com" or
 * ".example.com" by the same rule), then for the address. An address
 * pattern is "1.2.3.4", "[1.2.3.4]", "net/len", "[net]/len", "[net/len]";
 * a bad net/mask is found when a client address of its family reaches it:
 * "warning: PARAM: bad mask length in ..." and the result is an error, as
 * is a failed table ("warning: TABLE is unavailable. REASON" + "warning:
 * PARAM: TABLE: table lookup problem").
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dict.h"
#include "mail_conf.h"
#include "maps.h"
#include "mem.h"
#include "msg.h"
#include "pol_cidr.h"
#include "pol_match.h"
#include "stringops.h"
#include "vstr.h"

#define PAT_STRING	1
#define PAT_TABLE	2

#define PM_FILE_DEPTH	20		/* /file nesting limit */
#define PM_LINE_MAX	(1024 * 1024)	/* bytes per line of a /file */

typedef struct PAT {
    int     kind;
    int     negate;
    char   *text;			/* STRING: lower case; TABLE: as written */
    MAPS   *maps;			/* TABLE: the one table (NULL: no file) */
    char   *reason;			/* TABLE: why it cannot be used */
    int     cidr;			/* STRING: 0 not parsed, 1 ok, -1 bad */
    POL_CIDR net;
    char   *cidr_err;
} PAT;

struct POL_MATCH_LIST {
    char   *param;
    int     flags;
    int     parent;
    PAT    *pats;
    size_t  count;
};

int     pol_parent_matches_subdomains(const char *param)
{
    const char *v = mail_conf_str("parent_domain_matches_subdomains");
    char   *buf = xstrdup(v ? v : "");
    char   *bp = buf;
    char   *item;
    int     found = 0;

    while ((item = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
	if (strcmp(item, param) == 0) {
	    found = 1;
	    break;
	}
    free(buf);
    return (found);
}

static PAT *add_pat(POL_MATCH_LIST *lp, int kind, int negate, const char *text)
{
    PAT    *p;

    lp->pats = xrealloc(lp->pats, (lp->count + 1) * sizeof(PAT));
    p = lp->pats + lp->count++;
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->negate = negate;
    p->text = xstrdup(text);
    return (p);
}

static void parse_patterns(POL_MATCH_LIST *lp, char *buf, int negate, int depth);

static void add_file(POL_MATCH_LIST *lp, const char *path, int negate, int depth)
{
    FILE   *fp;
    VSTR   *line;
    int     c;
    int     lineno = 0;

    if (depth >= PM_FILE_DEPTH)
	msg_fatal("%s: file nesting too deep: %s", lp->param, path);
    if ((fp = fopen(path, "r")) == 0) {
	VSTR   *spec = vstr_alloc(64);
	VSTR   *why = vstr_alloc(64);
	PAT    *p;

	vstr_fmt(why, "open file %s: %s", path, strerror(errno));
	msg_error("%s", vstr_str(why));
	vstr_fmt(spec, "non-existent:%s", path);
	p = add_pat(lp, PAT_TABLE, negate, vstr_str(spec));
	p->reason = vstr_export(why);
	vstr_free(spec);
	return;
    }
    line = vstr_alloc(256);
    vstr_set_limit(line, PM_LINE_MAX);
    do {
	vstr_truncate(line, 0);
	while ((c = getc(fp)) != EOF) {
	    if (vstr_addch(line, c) < 0)
		msg_fatal("%s: file %s, line %d: line too long", lp->param, path, lineno + 1);
	    if (c == '\n')
		break;
	}
	if (vstr_len(line) == 0)
	    break;
	lineno++;
	if (vstr_str(line)[0] != '#') {
	    char   *copy = xstrdup(vstr_str(line));

	    parse_patterns(lp, copy, negate, depth + 1);
	    free(copy);
	}
    } while (c != EOF);
    if (ferror(fp))
	msg_fatal("%s: read file %s: %s", lp->param, path, strerror(errno));
    fclose(fp);
    vstr_free(line);
}

static void add_table(POL_MATCH_LIST *lp, const char *spec, int negate)
{
    PAT    *p = add_pat(lp, PAT_TABLE, negate, spec);
    const char *why;

    /*
     * As Postfix: no case folding of the table's keys (a texthash key in
     * capitals never matches); the name and address looked up are in lower
     * case.
     */
    p->maps = maps_create(lp->param, spec, DICT_FLAG_DEFAULT & ~DICT_FLAG_FOLD_FIX);
    /* maps_create logged "error: REASON". */
    if ((why = maps_open_error(p->maps)) != 0)
	p->reason = xstrdup(why);
}

/* Parse a modifiable string of patterns. */
static void parse_patterns(POL_MATCH_LIST *lp, char *buf, int negate, int depth)
{
    char   *bp = buf;
    char   *item;

    while ((item = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0) {
	int     neg = negate;

	if (*item == '#') {
	    msg_warn("%s: comment at end of line is not supported: %s %s",
		     lp->param, item, bp);
	    break;
	}
	for (; *item == '!'; item++)
	    neg = !neg;
	if (*item == 0)
	    msg_fatal("%s: no pattern after '!'", lp->param);
	if (*item == '/')
	    add_file(lp, item, neg, depth);
	else if (*item != '[' && strchr(item, ':') != 0)
	    add_table(lp, item, neg);
	else
	    lowercase(add_pat(lp, PAT_STRING, neg, item)->text);
    }
}

POL_MATCH_LIST *pol_match_list_create(const char *param, const char *value, int flags)
{
    POL_MATCH_LIST *lp = xcalloc(1, sizeof(*lp));
    char   *buf = xstrdup(value ? value : "");

    lp->param = xstrdup(param);
    lp->flags = flags;
    lp->parent = pol_parent_matches_subdomains(param);
    parse_patterns(lp, buf, 0, 0);
    free(buf);
    return (lp);
}

int     pol_match_domain(const char *name, const char *pat, int parent_ok)
{
    size_t  nl = strlen(name), pl = strlen(pat);

    if (strcasecmp(name, pat) == 0)
	return (1);
    if (nl <= pl || strcasecmp(name + nl - pl, pat) != 0)
	return (0);
    if (parent_ok)
	/* "example.com" matches "x.example.com" ("." before it) */
	return (name[nl - pl - 1] == '.');
    /* ".example.com" matches "x.example.com" */
    return (*pat == '.');
}

/* A table pattern failed: Postfix's two warnings. */
static int table_error(POL_MATCH_LIST *lp, PAT *p)
{
    if (p->reason)
	msg_warn("%s is unavailable. %s", p->text, p->reason);
    msg_warn("%s: %s: table lookup problem", lp->param, p->text);
    return (-1);
}

/* 1 found, 0 not, -1 error */
static int table_find(POL_MATCH_LIST *lp, PAT *p, const char *key, int flags)
{
    if (p->reason) {
	if (flags & DICT_FLAG_FIXED)		/* not searched for parents */
	    return (0);
	return (table_error(lp, p));
    }
    if (maps_find(p->maps, key, flags) != 0)
	return (1);
    if (p->maps->error != DICT_ERR_NONE)
	return (table_error(lp, p));
    return (0);
}

static int match_name(POL_MATCH_LIST *lp, PAT *p, const char *name)
{
    const char *entry;
    const char *next;
    int     rc;

    if (p->kind == PAT_STRING)
	return (pol_match_domain(name, p->text, lp->parent));
    /* The name, then (fixed-string tables only) its parent domains. */
    for (entry = name; *entry != 0; entry = next) {
	if ((rc = table_find(lp, p, entry, entry == name ? 0 : DICT_FLAG_FIXED)) != 0)
	    return (rc);
	if ((next = strchr(entry + 1, '.')) == 0)
	    break;
	if (lp->parent)
	    next += 1;
    }
    return (0);
}

#define V4_CHARS	"0123456789."
#define V6_CHARS	V4_CHARS "abcdefABCDEF:"

static int match_addr(POL_MATCH_LIST *lp, PAT *p, const char *addr)
{
    const char *pat = p->text;
    size_t  alen = strlen(addr);

    if (*addr == 0 || addr[strspn(addr, V6_CHARS)] != 0)
	return (0);
    if (p->kind == PAT_TABLE)
	return (table_find(lp, p, addr, 0));
    if (strcasecmp(addr, pat) == 0)
	return (1);
    if (pat[0] == '[' && strncasecmp(addr, pat + 1, alen) == 0
	&& strcmp(pat + 1 + alen, "]") == 0)
	return (1);
    /* Only net/mask and IPv6 patterns of the client's family go on. */
    if (!strchr(addr, ':') != !strchr(pat, ':')
	|| pat[strcspn(pat, ":/")] == 0
	|| pat[strspn(pat, V4_CHARS)] == 0
	|| pat[strspn(pat, V6_CHARS "[]/")] != 0)
	return (0);
    if (p->cidr == 0) {
	VSTR   *why = vstr_alloc(64);

	if (pol_cidr_parse(pat, &p->net, why) == 0)
	    p->cidr = 1;
	else {
	    p->cidr = -1;
	    p->cidr_err = vstr_export(why);
	    why = 0;
	}
	if (why)
	    vstr_free(why);
    }
    if (p->cidr < 0) {
	msg_warn("%s: %s", lp->param, p->cidr_err);
	return (-1);
    }
    return (pol_cidr_match(&p->net, addr));
}

/* A lower-case copy of text, in buf when it fits, else allocated. */
static char *pm_fold(char *buf, size_t size, const char *text)
{
    size_t  len = strlen(text ? text : "");
    char   *copy = len < size ? buf : xmalloc(len + 1);

    memcpy(copy, text ? text : "", len + 1);
    return (lowercase(copy));
}

int     pol_match_list_match(POL_MATCH_LIST *lp, const char *name, const char *addr)
{
    char    nbuf[256];
    char    abuf[64];
    char   *lname;
    char   *laddr;
    int     rc = 0;

    /*
     * Postfix compares folded strings; a v4-mapped client is an IPv4 one.
     * Whole strings: a domain from RCPT TO may be long, and a name cut
     * short could end in a listed domain.
     */
    if (addr && strncasecmp(addr, "::ffff:", 7) == 0 && strchr(addr + 7, '.')
	&& addr[7 + strspn(addr + 7, V4_CHARS)] == 0)
	addr += 7;
    lname = pm_fold(nbuf, sizeof(nbuf), name);
    laddr = pm_fold(abuf, sizeof(abuf), addr);

    for (size_t i = 0; i < lp->count; i++) {
	PAT    *p = lp->pats + i;
	int     m;

	m = (lp->flags & POL_MATCH_NAME) ? match_name(lp, p, lname) : 0;
	if (m == 0 && (lp->flags & POL_MATCH_ADDR))
	    m = match_addr(lp, p, laddr);
	if (m != 0) {
	    rc = m < 0 ? -1 : p->negate ? 0 : 1;
	    break;
	}
    }
    if (lname != nbuf)
	free(lname);
    if (laddr != abuf)
	free(laddr);
    return (rc);
}

/*
 * One list per parameter and process, parsed again only when the value
 * changes (Postfix parses each list once per process).
 */
typedef struct PM_CACHE {
    char   *param;
    char   *value;
    int     flags;
    POL_MATCH_LIST *list;
    struct PM_CACHE *next;
} PM_CACHE;

static PM_CACHE *pm_cache;

POL_MATCH_LIST *pol_match_list_cached(const char *param, int flags)
{
    const char *value = mail_conf_str(param);
    PM_CACHE *cp;

    if (value == 0)
	value = "";
    for (cp = pm_cache; cp; cp = cp->next)
	if (strcmp(cp->param, param) == 0 && cp->flags == flags)
	    break;
    if (cp == 0) {
	cp = xcalloc(1, sizeof(*cp));
	cp->param = xstrdup(param);
	cp->flags = flags;
	cp->next = pm_cache;
	pm_cache = cp;
    }
    if (cp->value == 0 || strcmp(cp->value, value) != 0) {
	if (cp->list)
	    pol_match_list_free(cp->list);
	free(cp->value);
	cp->value = xstrdup(value);
	cp->list = pol_match_list_create(param, value, flags);
    }
    return (cp->list);
}

void    pol_match_list_free(POL_MATCH_LIST *lp)
{
    for (size_t i = 0; i < lp->count; i++) {
	free(lp->pats[i].text);
	free(lp->pats[i].reason);
	free(lp->pats[i].cidr_err);
	if (lp->pats[i].maps)
	    maps_free(lp->pats[i].maps);
    }
    free(lp->pats);
    free(lp->param);
    free(lp);
}
