/*
 * pol_maps - lists of lookup tables for the policy code (see pol_maps.h).
 *
 * Built-in table types: inline:{k=v, ...}, static:value, texthash:/file,
 * cidr:/file, regexp:/file, pcre:/file. Fixed-string keys are folded to
 * lower case. Pattern tables support "/re/flags result", "!/re/ result",
 * flags i (toggle case: default insensitive) and $n substitution.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "htable.h"
#include "mem.h"
#include "msg.h"
#include "pol_cidr.h"
#include "pol_maps.h"
#include "readlline.h"
#include "stringops.h"
#include "vstr.h"

#define TBL_FIXED	1
#define TBL_CIDR	2
#define TBL_PCRE	3
#define TBL_REGEXP	4
#define TBL_STATIC	5
#define TBL_BROKEN	6

typedef struct PAT_RULE {
    int     negate;
    pcre2_code *pcre;			/* pcre: */
    regex_t *re;			/* regexp: */
    char   *value;
    struct PAT_RULE *next;
} PAT_RULE;

typedef struct CIDR_RULE {
    POL_CIDR net;
    char   *value;
    struct CIDR_RULE *next;
} CIDR_RULE;

struct POL_TABLE {
    char   *spec;
    int     kind;
    HTABLE *fixed;			/* TBL_FIXED */
    char   *static_value;
    PAT_RULE *rules;
    CIDR_RULE *cidr;
    VSTR   *result;
};

struct POL_MAPS {
    char   *title;
    POL_TABLE **tables;
    size_t  count;
    int     error;
};

static POL_TABLE *table_new(const char *spec, int kind)
{
    POL_TABLE *tp = xcalloc(1, sizeof(*tp));

    tp->spec = xstrdup(spec);
    tp->kind = kind;
    tp->result = vstr_alloc(64);
    return (tp);
}

static POL_TABLE *table_broken(const char *spec, const char *why)
{
    POL_TABLE *tp = table_new(spec, TBL_BROKEN);

    msg_warn("%s: table lookups will fail: %s", spec, why);
    return (tp);
}

static void fixed_enter(POL_TABLE *tp, const char *key, const char *value)
{
    char   *k = lowercase(xstrdup(key));
    char   *old = htable_find(tp->fixed, k);

    free(old);
    htable_enter(tp->fixed, k, xstrdup(value));
    free(k);
}

/* Split "key value" (white space); returns 0 or -1. */
static int split_kv(char *line, char **key, char **value)
{
    char   *cp = line;

    while (*cp && !isspace((unsigned char) *cp))
	cp++;
    if (*cp == 0)
	return (-1);
    *cp++ = 0;
    while (isspace((unsigned char) *cp))
	cp++;
    *key = line;
    *value = cp;
    return (*cp ? 0 : -1);
}

static POL_TABLE *open_inline(const char *spec, const char *name)
{
    POL_TABLE *tp = table_new(spec, TBL_FIXED);
    char   *buf;
    char   *bp;
    char   *item;
    size_t  n = strlen(name);

    tp->fixed = htable_create(16);
    if (n < 2 || name[0] != '{' || name[n - 1] != '}') {
	pol_table_close(tp);
	return (table_broken(spec, "syntax error: expected {...}"));
    }
    buf = xstrndup(name + 1, n - 2);
    bp = buf;
    while ((item = mystrtok_cw(&bp, CHARS_COMMA_SP, 1)) != 0) {
	char   *eq = strchr(item, '=');

	if (eq == 0) {
	    free(buf);
	    pol_table_close(tp);
	    return (table_broken(spec, "missing '=' after attribute name"));
	}
	*eq = 0;
	fixed_enter(tp, trim(item), trim(eq + 1));
    }
    free(buf);
    return (tp);
}

static FILE *open_source(const char *spec, const char *path, POL_TABLE **broken)
{
    FILE   *fp = fopen(path, "r");
    VSTR   *why;

    if (fp == 0) {
	why = vstr_alloc(64);
	vstr_fmt(why, "open %s: %s", path, strerror(errno));
	*broken = table_broken(spec, vstr_str(why));
	vstr_free(why);
    }
    return (fp);
}

static POL_TABLE *open_texthash(const char *spec, const char *path)
{
    POL_TABLE *tp = 0;
    FILE   *fp = open_source(spec, path, &tp);
    VSTR   *line;
    int     last = 0, first;
    char   *k, *v;

    if (fp == 0)
	return (tp);
    tp = table_new(spec, TBL_FIXED);
    tp->fixed = htable_create(64);
    line = vstr_alloc(100);
    while (readlline(line, fp, &last, &first) != 0) {
	char   *buf = xstrdup(vstr_str(line));

	if (split_kv(buf, &k, &v) < 0) {
	    /* texthash: a key without value is an error, like postmap */
	    msg_warn("%s, line %d: expected format: key whitespace value", path, first);
	} else {
	    size_t  kl = strlen(k);

	    if (kl > 1 && k[kl - 1] == ':')	/* aliases-style "key: value" */
		k[kl - 1] = 0;
	    fixed_enter(tp, k, v);
	}
	free(buf);
    }
    vstr_free(line);
    fclose(fp);
    return (tp);
}

static POL_TABLE *open_cidr(const char *spec, const char *path)
{
    POL_TABLE *tp = 0;
    FILE   *fp = open_source(spec, path, &tp);
    VSTR   *line;
    VSTR   *why;
    CIDR_RULE **tail;
    int     last = 0, first;
    char   *k, *v;

    if (fp == 0)
	return (tp);
    tp = table_new(spec, TBL_CIDR);
    tail = &tp->cidr;
    line = vstr_alloc(100);
    why = vstr_alloc(100);
    while (readlline(line, fp, &last, &first) != 0) {
	char   *buf = xstrdup(vstr_str(line));
	POL_CIDR net;

	if (split_kv(buf, &k, &v) < 0) {
	    msg_warn("cidr map %s, line %d: need \"network/mask result\" -- ignoring this line",
		     path, first);
	} else if (pol_cidr_parse(k, &net, why) < 0) {
	    msg_warn("cidr map %s, line %d: %s: skipping this rule", path, first, vstr_str(why));
	} else {
	    CIDR_RULE *r = xcalloc(1, sizeof(*r));

	    r->net = net;
	    r->value = xstrdup(v);
	    *tail = r;
	    tail = &r->next;
	}
	free(buf);
    }
    vstr_free(line);
    vstr_free(why);
    fclose(fp);
    return (tp);
}

/* Parse "/pattern/flags value" or "!/pattern/flags value". */
static int parse_pattern_line(char *buf, int *negate, char **pattern, int *icase,
			              char **value)
{
    char   *cp = buf;
    int     delim;
    char   *end;

    *negate = 0;
    *icase = 1;
    if (*cp == '!') {
	*negate = 1;
	cp++;
    }
    delim = *cp;
    if (delim == 0 || isalnum(delim) || isspace(delim))
	return (-1);
    cp++;
    /* find the closing delimiter, honouring backslash escapes */
    for (end = cp; *end && *end != delim; end++)
	if (*end == '\\' && end[1])
	    end++;
    if (*end != delim)
	return (-1);
    *end++ = 0;
    *pattern = cp;
    for (; *end && !isspace((unsigned char) *end); end++) {
	switch (*end) {
	case 'i':
	    *icase = !*icase;
	    break;
	case 'm':
	case 'x':
	case 's':
	case 'U':
	case 'X':
	    break;
	default:
	    return (-1);
	}
    }
    while (isspace((unsigned char) *end))
	end++;
    *value = end;
    return (0);
}

static POL_TABLE *open_pattern(const char *spec, const char *path, int kind)
{
    POL_TABLE *tp = 0;
    FILE   *fp = open_source(spec, path, &tp);
    VSTR   *line;
    PAT_RULE **tail;
    int     last = 0, first;

    if (fp == 0)
	return (tp);
    tp = table_new(spec, kind);
    tail = &tp->rules;
    line = vstr_alloc(100);
    while (readlline(line, fp, &last, &first) != 0) {
	char   *buf = xstrdup(vstr_str(line));
	char   *pattern, *value;
	int     negate, icase;
	PAT_RULE *r;

	if (strncmp(buf, "if", 2) == 0 || strcmp(buf, "endif") == 0) {
	    msg_warn("%s map %s, line %d: if/endif are not supported here: ignoring this line",
		     kind == TBL_PCRE ? "pcre" : "regexp", path, first);
	    free(buf);
	    continue;
	}
	if (parse_pattern_line(buf, &negate, &pattern, &icase, &value) < 0) {
	    msg_warn("%s map %s, line %d: no closing regexp delimiter \"%c\": ignoring this rule",
		     kind == TBL_PCRE ? "pcre" : "regexp", path, first, *buf);
	    free(buf);
	    continue;
	}
	r = xcalloc(1, sizeof(*r));
	r->negate = negate;
	r->value = xstrdup(value);
	if (kind == TBL_PCRE) {
	    int     err;
	    PCRE2_SIZE off;

	    r->pcre = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED,
				    icase ? PCRE2_CASELESS : 0, &err, &off, 0);
	    if (r->pcre == 0) {
		PCRE2_UCHAR ebuf[256];

		pcre2_get_error_message(err, ebuf, sizeof(ebuf));
		msg_warn("pcre map %s, line %d: error in regex at offset %d: %s",
			 path, first, (int) off, (char *) ebuf);
		free(r->value);
		free(r);
		free(buf);
		continue;
	    }
	} else {
	    int     err;

	    r->re = xmalloc(sizeof(regex_t));
	    if ((err = regcomp(r->re, pattern, REG_EXTENDED | (icase ? REG_ICASE : 0))) != 0) {
		char    ebuf[256];

		regerror(err, r->re, ebuf, sizeof(ebuf));
		msg_warn("regexp map %s, line %d: %s", path, first, ebuf);
		free(r->re);
		free(r->value);
		free(r);
		free(buf);
		continue;
	    }
	}
	*tail = r;
	tail = &r->next;
	free(buf);
    }
    vstr_free(line);
    fclose(fp);
    return (tp);
}

POL_TABLE *pol_table_open(const char *spec)
{
    const char *colon = strchr(spec, ':');
    char   *type;
    const char *name;
    POL_TABLE *tp;

    if (colon == 0 || colon == spec)
	return (table_broken(spec, "need \"type:name\""));
    type = xstrndup(spec, (size_t) (colon - spec));
    name = colon + 1;
    if (strcmp(type, "inline") == 0)
	tp = open_inline(spec, name);
    else if (strcmp(type, "static") == 0) {
	tp = table_new(spec, TBL_STATIC);
	tp->static_value = xstrdup(name);
    } else if (strcmp(type, "texthash") == 0)
	tp = open_texthash(spec, name);
    else if (strcmp(type, "cidr") == 0)
	tp = open_cidr(spec, name);
    else if (strcmp(type, "pcre") == 0)
	tp = open_pattern(spec, name, TBL_PCRE);
    else if (strcmp(type, "regexp") == 0)
	tp = open_pattern(spec, name, TBL_REGEXP);
    else
	tp = table_broken(spec, "unsupported dictionary type");
    free(type);
    return (tp);
}

int     pol_table_is_pattern(const POL_TABLE *tp)
{
    return (tp->kind == TBL_PCRE || tp->kind == TBL_REGEXP || tp->kind == TBL_CIDR);
}

/* Expand $n / ${n} in a pattern-table result. */
static const char *subst(POL_TABLE *tp, const char *value, const char *key,
			         const size_t *ov, int nsub)
{
    vstr_reset(tp->result);
    for (const char *cp = value; *cp; cp++) {
	if (*cp == '$' && (isdigit((unsigned char) cp[1]) || (cp[1] == '{' && isdigit((unsigned char) cp[2])))) {
	    int     n;
	    int     brace = cp[1] == '{';

	    cp += brace ? 2 : 1;
	    n = *cp - '0';
	    if (brace) {
		while (isdigit((unsigned char) cp[1]))
		    n = n * 10 + (*++cp - '0');
		if (cp[1] == '}')
		    cp++;
	    }
	    if (n < nsub && ov[2 * n] != (size_t) -1)
		vstr_append(tp->result, key + ov[2 * n], ov[2 * n + 1] - ov[2 * n]);
	} else if (*cp == '$' && cp[1] == '$') {
	    vstr_addch(tp->result, '$');
	    cp++;
	} else
	    vstr_addch(tp->result, *cp);
    }
    return (vstr_str(tp->result));
}

const char *pol_table_get(POL_TABLE *tp, const char *key, int *error)
{
    *error = POL_MAPS_ERR_NONE;
    switch (tp->kind) {
    case TBL_BROKEN:
	*error = POL_MAPS_ERR_RETRY;
	return (0);
    case TBL_STATIC:
	return (tp->static_value);
    case TBL_FIXED:{
	    const char *v;

	    vstr_cpy(tp->result, key);
	    vstr_lower(tp->result);
	    v = htable_find(tp->fixed, vstr_str(tp->result));
	    return (v);
	}
    case TBL_CIDR:
	for (CIDR_RULE *r = tp->cidr; r; r = r->next)
	    if (pol_cidr_match(&r->net, key))
		return (r->value);
	return (0);
    case TBL_PCRE:
	for (PAT_RULE *r = tp->rules; r; r = r->next) {
	    pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->pcre, 0);
	    int     rc = pcre2_match(r->pcre, (PCRE2_SPTR) key, PCRE2_ZERO_TERMINATED, 0, 0, md, 0);
	    const char *res = 0;

	    if (rc >= 0 && !r->negate) {
		PCRE2_SIZE *pv = pcre2_get_ovector_pointer(md);
		size_t  ov[40];
		int     n = rc > 20 ? 20 : rc;

		for (int i = 0; i < 2 * n; i++)
		    ov[i] = pv[i] == PCRE2_UNSET ? (size_t) -1 : pv[i];
		res = subst(tp, r->value, key, ov, n);
	    } else if (rc == PCRE2_ERROR_NOMATCH && r->negate)
		res = subst(tp, r->value, key, 0, 0);
	    pcre2_match_data_free(md);
	    if (res)
		return (res);
	}
	return (0);
    case TBL_REGEXP:
	for (PAT_RULE *r = tp->rules; r; r = r->next) {
	    regmatch_t pm[10];
	    int     rc = regexec(r->re, key, 10, pm, 0);

	    if (rc == 0 && !r->negate) {
		size_t  ov[20];

		for (int i = 0; i < 10; i++) {
		    ov[2 * i] = pm[i].rm_so < 0 ? (size_t) -1 : (size_t) pm[i].rm_so;
		    ov[2 * i + 1] = pm[i].rm_eo < 0 ? (size_t) -1 : (size_t) pm[i].rm_eo;
		}
		return (subst(tp, r->value, key, ov, 10));
	    }
	    if (rc == REG_NOMATCH && r->negate)
		return (subst(tp, r->value, key, 0, 0));
	}
	return (0);
    }
    return (0);
}

void    pol_table_close(POL_TABLE *tp)
{
    if (tp->fixed)
	htable_free(tp->fixed, free);
    for (PAT_RULE *r = tp->rules, *n; r; r = n) {
	n = r->next;
	if (r->pcre)
	    pcre2_code_free(r->pcre);
	if (r->re) {
	    regfree(r->re);
	    free(r->re);
	}
	free(r->value);
	free(r);
    }
    for (CIDR_RULE *r = tp->cidr, *n; r; r = n) {
	n = r->next;
	free(r->value);
	free(r);
    }
    free(tp->static_value);
    vstr_free(tp->result);
    free(tp->spec);
    free(tp);
}

POL_MAPS *pol_maps_create(const char *title, const char *list, int flags)
{
    POL_MAPS *mp = xcalloc(1, sizeof(*mp));
    char   *buf = xstrdup(list ? list : "");
    char   *bp = buf;
    char   *item;

    mp->title = xstrdup(title);
    while ((item = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0) {
	mp->tables = xrealloc(mp->tables, (mp->count + 1) * sizeof(*mp->tables));
	mp->tables[mp->count++] = pol_table_open(item);
    }
    free(buf);
    return (mp);
}

const char *pol_maps_find(POL_MAPS *mp, const char *key, int flags)
{
    mp->error = 0;
    for (size_t i = 0; i < mp->count; i++) {
	int     err;
	const char *v;

	if ((flags & POL_MAPS_FIXED_ONLY) && pol_table_is_pattern(mp->tables[i]))
	    continue;
	if ((v = pol_table_get(mp->tables[i], key, &err)) != 0)
	    return (v);
	if (err) {
	    mp->error = err;
	    return (0);
	}
    }
    return (0);
}

int     pol_maps_error(const POL_MAPS *mp)
{
    return (mp->error);
}

const char *pol_maps_title(const POL_MAPS *mp)
{
    return (mp->title);
}

int     pol_maps_empty(const POL_MAPS *mp)
{
    return (mp->count == 0);
}

void    pol_maps_free(POL_MAPS *mp)
{
    for (size_t i = 0; i < mp->count; i++)
	pol_table_close(mp->tables[i]);
    free(mp->tables);
    free(mp->title);
    free(mp);
}

static HTABLE *maps_cache;

POL_MAPS *pol_maps_cached(const char *title, const char *list)
{
    VSTR   *key = vstr_alloc(64);
    POL_MAPS *mp;

    vstr_fmt(key, "%s\n%s", title, list);
    if (maps_cache == 0)
	maps_cache = htable_create(32);
    if ((mp = htable_find(maps_cache, vstr_str(key))) == 0) {
	mp = pol_maps_create(title, list, 0);
	htable_enter(maps_cache, vstr_str(key), mp);
    }
    vstr_free(key);
    return (mp);
}

static void maps_free_void(void *p)
{
    pol_maps_free(p);
}

void    pol_maps_cache_flush(void)
{
    if (maps_cache)
	htable_free(maps_cache, maps_free_void);
    maps_cache = 0;
}
