/* pol_match - domain and name/address pattern lists (see pol_match.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "pol_cidr.h"
#include "pol_maps.h"
#include "pol_match.h"
#include "stringops.h"
#include "vstr.h"

#define PAT_NAME	1
#define PAT_TABLE	2
#define PAT_CIDR	3

typedef struct PAT {
    int     kind;
    int     negate;
    char   *name;			/* PAT_NAME: lower case */
    POL_MAPS *maps;			/* PAT_TABLE */
    POL_CIDR net;			/* PAT_CIDR */
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

static void add_pat(POL_MATCH_LIST *lp, const PAT *p)
{
    lp->pats = xrealloc(lp->pats, (lp->count + 1) * sizeof(PAT));
    lp->pats[lp->count++] = *p;
}

static void add_patterns(POL_MATCH_LIST *lp, const char *value, int depth);

static void add_file(POL_MATCH_LIST *lp, const char *path, int depth)
{
    FILE   *fp;
    VSTR   *buf;

    if (depth > 10) {
	msg_warn("%s: file nesting too deep: %s", lp->param, path);
	return;
    }
    if ((fp = fopen(path, "r")) == 0) {
	/* Postfix: fatal for a missing list file. */
	msg_fatal("open file %s: %s", path, strerror(errno));
    }
    buf = vstr_alloc(256);
    for (;;) {
	int     c = getc(fp);

	if (c == EOF)
	    break;
	if (c == '#') {			/* comment to end of line */
	    while ((c = getc(fp)) != EOF && c != '\n')
		 /* void */ ;
	    vstr_addch(buf, ' ');
	    continue;
	}
	if (vstr_addch(buf, c) < 0)
	    break;
    }
    fclose(fp);
    add_patterns(lp, vstr_str(buf), depth + 1);
    vstr_free(buf);
}

static void add_patterns(POL_MATCH_LIST *lp, const char *value, int depth)
{
    char   *buf = xstrdup(value ? value : "");
    char   *bp = buf;
    char   *item;

    while ((item = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0) {
	PAT     p;
	VSTR   *why;

	memset(&p, 0, sizeof(p));
	while (*item == '!') {
	    p.negate = !p.negate;
	    item++;
	}
	if (*item == 0)
	    continue;
	if (*item == '/') {
	    if (p.negate)
		msg_warn("%s: negation of a file pattern is not supported: !%s", lp->param, item);
	    add_file(lp, item, depth);
	    continue;
	}
	/* As Postfix: "type:name" unless bracketed (IPv6 must be in []). */
	if (*item != '[' && strchr(item, ':') != 0) {
	    p.kind = PAT_TABLE;
	    p.maps = pol_maps_create(lp->param, item, 0);
	    add_pat(lp, &p);
	    continue;
	}
	if ((lp->flags & POL_MATCH_ADDR) && pol_cidr_looks_numeric(item)) {
	    why = vstr_alloc(64);
	    if (pol_cidr_parse(item, &p.net, why) == 0) {
		p.kind = PAT_CIDR;
		add_pat(lp, &p);
	    } else
		msg_fatal("%s: %s", lp->param, vstr_str(why));
	    vstr_free(why);
	    continue;
	}
	p.kind = PAT_NAME;
	p.name = lowercase(xstrdup(item));
	add_pat(lp, &p);
    }
    free(buf);
}

POL_MATCH_LIST *pol_match_list_create(const char *param, const char *value, int flags)
{
    POL_MATCH_LIST *lp = xcalloc(1, sizeof(*lp));

    lp->param = xstrdup(param);
    lp->flags = flags;
    lp->parent = pol_parent_matches_subdomains(param);
    add_patterns(lp, value, 0);
    return (lp);
}

int     pol_match_domain(const char *name, const char *pat, int parent_ok)
{
    size_t  nl = strlen(name), pl = strlen(pat);

    if (*pat == '.') {
	/* ".example.com" matches subdomains only */
	return (nl > pl && strcasecmp(name + nl - pl, pat) == 0);
    }
    if (strcasecmp(name, pat) == 0)
	return (1);
    if (parent_ok && nl > pl && name[nl - pl - 1] == '.'
	&& strcasecmp(name + nl - pl, pat) == 0)
	return (1);
    return (0);
}

/* Table lookup of a hostname and its parent domains; 1, 0, -1. */
static int match_table_name(POL_MATCH_LIST *lp, POL_MAPS *maps, const char *name)
{
    VSTR   *key;
    const char *cp;
    int     rc = 0;

    if (pol_maps_find(maps, name, 0) != 0)
	return (1);
    if (pol_maps_error(maps))
	return (-1);
    key = vstr_alloc(64);
    for (cp = strchr(name, '.'); cp && cp[1]; cp = strchr(cp + 1, '.')) {
	if (lp->parent)
	    vstr_cpy(key, cp + 1);
	else
	    vstr_cpy(key, cp);
	if (pol_maps_find(maps, vstr_str(key), POL_MAPS_FIXED_ONLY) != 0) {
	    rc = 1;
	    break;
	}
	if (pol_maps_error(maps)) {
	    rc = -1;
	    break;
	}
    }
    vstr_free(key);
    return (rc);
}

int     pol_match_list_match(POL_MATCH_LIST *lp, const char *name, const char *addr)
{
    int     family = 0;
    unsigned char bin[16];
    int     have_addr = (addr && *addr && pol_addr_parse(addr, &family, bin) == 0);

    for (size_t i = 0; i < lp->count; i++) {
	PAT    *p = lp->pats + i;
	int     m = 0;

	switch (p->kind) {
	case PAT_NAME:
	    if (name && *name && strcmp(name, "unknown") != 0)
		m = pol_match_domain(name, p->name, lp->parent);
	    break;
	case PAT_CIDR:
	    if (have_addr)
		m = pol_cidr_match_bin(&p->net, family, bin);
	    break;
	case PAT_TABLE:
	    if (name && *name && (lp->flags & POL_MATCH_NAME)
		&& ((lp->flags & POL_MATCH_ADDR) == 0 || strcmp(name, "unknown") != 0))
		m = match_table_name(lp, p->maps, name);
	    if (m == 0 && have_addr) {
		if (pol_maps_find(p->maps, addr, 0) != 0)
		    m = 1;
		else if (pol_maps_error(p->maps))
		    m = -1;
	    }
	    if (m < 0) {
		msg_warn("%s: %s lookup error for \"%s\"", lp->param,
			 pol_maps_title(p->maps), name ? name : addr);
		return (-1);
	    }
	    break;
	}
	if (m > 0)
	    return (p->negate ? 0 : 1);
    }
    return (0);
}

void    pol_match_list_free(POL_MATCH_LIST *lp)
{
    for (size_t i = 0; i < lp->count; i++) {
	free(lp->pats[i].name);
	if (lp->pats[i].maps)
	    pol_maps_free(lp->pats[i].maps);
    }
    free(lp->pats);
    free(lp->param);
    free(lp);
}
