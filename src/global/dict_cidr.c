/*
 * dict_cidr - cidr: tables (cidr_table(5)): IPv4 and IPv6 network/mask
 * patterns, first match wins, "!" negation, if/endif blocks. The lookup key
 * is an address; anything else is not found.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dict.h"
#include "dict_src.h"
#include "mem.h"
#include "msg.h"

enum { CIDR_MATCH, CIDR_IF, CIDR_ENDIF };

typedef struct {
    int     kind;
    int     negate;
    int     family;			/* AF_INET, AF_INET6 */
    unsigned char net[16];
    unsigned char mask[16];
    char   *result;
    size_t  skip_to;
    int     lineno;
} CIDR_RULE;

typedef struct {
    DICT    dict;
    CIDR_RULE *rules;
    size_t  nrules;
} DICT_CIDR;

static int cidr_parse_addr(const char *text, int *family, unsigned char *addr)
{
    char    buf[INET6_ADDRSTRLEN + 4];
    size_t  len = strlen(text);

    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
	if (len - 2 >= sizeof(buf))
	    return (-1);
	memcpy(buf, text + 1, len - 2);
	buf[len - 2] = 0;
	text = buf;
	if (strchr(text, ':') == 0)
	    return (-1);
    }
    if (strchr(text, ':')) {
	*family = AF_INET6;
	return (inet_pton(AF_INET6, text, addr) == 1 ? 0 : -1);
    }
    *family = AF_INET;
    /* inet_pton accepts only dotted quads, as Postfix does. */
    return (inet_pton(AF_INET, text, addr) == 1 ? 0 : -1);
}

static int cidr_match(const CIDR_RULE *r, int family, const unsigned char *addr)
{
    size_t  n = family == AF_INET ? 4 : 16;

    if (family != r->family)
	return (0);
    for (size_t i = 0; i < n; i++)
	if ((addr[i] & r->mask[i]) != r->net[i])
	    return (0);
    return (1);
}

static const char *cidr_lookup(DICT *d, const char *key)
{
    DICT_CIDR *dc = (DICT_CIDR *) d;
    unsigned char addr[16];
    int     family;
    size_t  i = 0;

    if (cidr_parse_addr(key, &family, addr) < 0)
	return (0);
    while (i < dc->nrules) {
	CIDR_RULE *r = &dc->rules[i];
	int     m;

	if (r->kind == CIDR_ENDIF) {
	    i++;
	    continue;
	}
	/* A rule of the other address family never applies, negated or not. */
	if (r->family != family) {
	    i = (r->kind == CIDR_IF) ? r->skip_to : i + 1;
	    continue;
	}
	m = cidr_match(r, family, addr) != r->negate;
	if (r->kind == CIDR_IF) {
	    i = m ? i + 1 : r->skip_to;
	    continue;
	}
	if (m)
	    return (r->result);
	i++;
    }
    return (0);
}

static void cidr_close(DICT *d)
{
    DICT_CIDR *dc = (DICT_CIDR *) d;

    for (size_t i = 0; i < dc->nrules; i++)
	free(dc->rules[i].result);
    free(dc->rules);
    dict_free(d);
}

/* Parse "[!]addr[/len]"; 0 ok, -1 warned. */
static int cidr_parse_pattern(const char *map, int lineno, char *pat, CIDR_RULE *r)
{
    char   *slash;
    unsigned long len;
    size_t  nbytes;
    char   *end;

    r->negate = 0;
    while (*pat == '!') {
	r->negate = !r->negate;
	pat++;
    }
    if ((slash = strchr(pat, '/')) != 0)
	*slash = 0;
    if (cidr_parse_addr(pat, &r->family, r->net) < 0) {
	if (slash)
	    *slash = '/';
	msg_warn("cidr map %s, line %d: bad address pattern: \"%s\": skipping this rule",
		 map, lineno, pat);
	return (-1);
    }
    nbytes = r->family == AF_INET ? 4 : 16;
    if (slash) {
	*slash = '/';
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (!isdigit((unsigned char) slash[1]) || *end || errno || len > nbytes * 8) {
	    msg_warn("cidr map %s, line %d: bad mask length in \"%s\": skipping this rule",
		     map, lineno, pat);
	    return (-1);
	}
    } else {
	len = nbytes * 8;
    }
    memset(r->mask, 0, sizeof(r->mask));
    for (size_t i = 0; i < nbytes; i++) {
	if (len >= 8 * (i + 1))
	    r->mask[i] = 0xff;
	else if (len > 8 * i)
	    r->mask[i] = (unsigned char) (0xff << (8 - (len - 8 * i)));
    }
    for (size_t i = 0; i < nbytes; i++) {
	if ((r->net[i] & r->mask[i]) != r->net[i]) {
	    unsigned char fixed[16];
	    char    buf[INET6_ADDRSTRLEN];

	    for (size_t j = 0; j < nbytes; j++)
		fixed[j] = r->net[j] & r->mask[j];
	    (void) inet_ntop(r->family, fixed, buf, sizeof(buf));
	    msg_warn("cidr map %s, line %d: non-null host address bits in \"%s\", "
		     "perhaps you should use \"%s%s%s/%lu\" instead: skipping this rule",
		     map, lineno, pat, r->family == AF_INET6 && pat[0] == '[' ? "[" : "",
		     buf, r->family == AF_INET6 && pat[0] == '[' ? "]" : "", len);
	    return (-1);
	}
    }
    return (0);
}

DICT   *dict_cidr_open(const char *name, int open_flags, int dict_flags)
{
    FILE   *fp;
    DICT_SRC *src;
    DICT_CIDR *dc;
    char   *line;
    size_t  cap = 0;
    size_t *if_stack = 0;
    size_t  if_depth = 0;
    size_t  if_cap = 0;

    if ((open_flags & O_ACCMODE) != O_RDONLY)
	return (dict_surrogate("cidr", name, open_flags, dict_flags,
			       "cidr:%s map requires O_RDONLY access mode", name));
    if ((fp = fopen(name, "r")) == 0)
	return (dict_surrogate("cidr", name, open_flags, dict_flags,
			       "open %s: %s", name, strerror(errno)));
    dc = (DICT_CIDR *) dict_alloc("cidr", name, sizeof(*dc));
    dc->dict.flags = (dict_flags & ~DICT_FLAG_FOLD_ANY) | DICT_FLAG_PATTERN;
    dc->dict.lookup = cidr_lookup;
    dc->dict.close = cidr_close;
    dict_watch_file(&dc->dict, name, fileno(fp));
    src = dict_src_open(name, fp);
    while ((line = dict_src_read(src)) != 0) {
	CIDR_RULE rule;
	int     lineno = src->lineno;
	char   *pat;
	char   *res;

	memset(&rule, 0, sizeof(rule));
	rule.lineno = lineno;
	if (strncasecmp(line, "endif", 5) == 0 && (line[5] == 0 || isspace((unsigned char) line[5]))) {
	    if (line[5 + strspn(line + 5, " \t")]) {
		msg_warn("cidr map %s, line %d: garbage after ENDIF: skipping this rule",
			 name, lineno);
		continue;
	    }
	    if (if_depth == 0) {
		msg_warn("cidr map %s, line %d: ignoring ENDIF without matching IF",
			 name, lineno);
		continue;
	    }
	    rule.kind = CIDR_ENDIF;
	    if_depth--;
	    dc->rules[if_stack[if_depth]].skip_to = dc->nrules + 1;
	} else if (strncasecmp(line, "if", 2) == 0 && isspace((unsigned char) line[2])) {
	    pat = line + 2;
	    pat += strspn(pat, " \t");
	    res = pat + strcspn(pat, " \t");
	    if (*res) {
		*res++ = 0;
		res += strspn(res, " \t");
		if (*res) {
		    msg_warn("cidr map %s, line %d: garbage after IF: skipping this rule",
			     name, lineno);
		    continue;
		}
	    }
	    rule.kind = CIDR_IF;
	    if (cidr_parse_pattern(name, lineno, pat, &rule) < 0)
		continue;
	    if (if_depth == if_cap) {
		if_cap = if_cap ? 2 * if_cap : 8;
		if_stack = xrealloc(if_stack, if_cap * sizeof(*if_stack));
	    }
	    if_stack[if_depth++] = dc->nrules;
	} else {
	    pat = line;
	    res = pat + strcspn(pat, " \t");
	    if (*res) {
		*res++ = 0;
		res += strspn(res, " \t");
	    }
	    rule.kind = CIDR_MATCH;
	    if (cidr_parse_pattern(name, lineno, pat, &rule) < 0)
		continue;
	    if (*res == 0) {
		msg_warn("cidr map %s, line %d: no lookup result: skipping this rule",
			 name, lineno);
		continue;
	    }
	    rule.result = xstrdup(res);
	}
	if (dc->nrules == cap) {
	    cap = cap ? 2 * cap : 16;
	    dc->rules = xrealloc(dc->rules, cap * sizeof(*dc->rules));
	}
	dc->rules[dc->nrules++] = rule;
    }
    while (if_depth > 0) {
	if_depth--;
	msg_warn("cidr map %s, line %d: IF has no matching ENDIF", name,
		 dc->rules[if_stack[if_depth]].lineno);
	dc->rules[if_stack[if_depth]].skip_to = dc->nrules;
    }
    free(if_stack);
    dict_src_close(src);
    return (&dc->dict);
}
