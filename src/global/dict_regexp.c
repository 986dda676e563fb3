/*
 * dict_regexp - regexp: (POSIX extended regular expressions, regexp_table(5))
 * and pcre: (PCRE2, pcre_table(5)) tables.
 *
 * Source: one rule per logical line:
 *	/pattern/flags result		first matching rule wins
 *	!/pattern/flags result		matches when the pattern does not
 *	if /pattern/flags		rules up to the matching endif apply
 *	endif				only when the pattern matches
 * Any non-space character may serve as delimiter instead of '/'. The
 * result may refer to captured text with $1, ${1}, $(1); $$ is a '$'.
 * Bad rules are reported ("regexp map FILE, line N: ...") and skipped.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dict.h"
#include "dict_src.h"
#include "mem.h"
#include "msg.h"

enum { RULE_MATCH, RULE_IF, RULE_ENDIF };

typedef struct {
    int     kind;
    int     negate;
    regex_t re;				/* regexp: */
    pcre2_code *pcre;			/* pcre: */
    char   *result;
    size_t  skip_to;			/* IF: index after the matching ENDIF */
    int     lineno;
} RE_RULE;

typedef struct {
    DICT    dict;
    int     is_pcre;
    RE_RULE *rules;
    size_t  nrules;
    VSTR   *result;
    pcre2_match_data *md;
} DICT_RE;

#define RE_MAX_SUB	100

static const char *re_label(int is_pcre)
{
    return (is_pcre ? "pcre" : "regexp");
}

/*
 * At a '$' in a result: "$$" stands for '$' (return 0); "$name", "${name}",
 * "$(name)" return 1 with the name. -1: no closing brace ("truncated macro
 * reference"); -2: no name ("empty macro name"), as Postfix's parser says.
 * *cpp is advanced past what was parsed.
 */
static int re_parse_ref(const char **cpp, char *name, size_t size)
{
    const char *cp = *cpp + 1;
    const char *end;
    size_t  len;

    if (*cp == '$') {
	*cpp = cp + 1;
	return (0);
    }
    if (*cp == '{' || *cp == '(') {
	if ((end = strchr(cp + 1, *cp == '{' ? '}' : ')')) == 0)
	    return (-1);
	len = (size_t) (end - cp - 1);
	cp++;
	*cpp = end + 1;
    } else {
	for (len = 0; isalnum((unsigned char) cp[len]) || cp[len] == '_'; len++)
	     /* void */ ;
	*cpp = cp + len;
    }
    if (len == 0)
	return (-2);
    if (len >= size)
	len = size - 1;
    memcpy(name, cp, len);
    name[len] = 0;
    return (1);
}

/*
 * Check the $n references of a rule's result, as Postfix does: every name
 * must be a number from 1 up. *maxref gets the largest. -1: bad (warned).
 */
static int re_check_result(DICT_RE *dr, const char *res, int lineno, int *maxref)
{
    const char *label = re_label(dr->is_pcre);
    const char *cp = res;
    char    name[32];
    int     n;

    *maxref = 0;
    while ((cp = strchr(cp, '$')) != 0) {
	int     rc = re_parse_ref(&cp, name, sizeof(name));

	if (rc < 0) {
	    msg_warn("%s: \"%s\"", rc == -1 ? "truncated macro reference" : "empty macro name",
		     res);
	    return (-1);
	}
	if (rc == 0)
	    continue;
	if (name[0] == 0 || name[strspn(name, "0123456789")] != 0) {
	    msg_warn("%s map %s, line %d: non-numeric replacement index \"%s\"",
		     label, dr->dict.name, lineno, name);
	    return (-1);
	}
	n = strlen(name) > 4 ? 10000 : atoi(name);
	if (n < 1) {
	    msg_warn("%s map %s, line %d: %s replacement index \"%s\"", label,
		     dr->dict.name, lineno, dr->is_pcre ? "out of range" : "out-of-range", name);
	    return (-1);
	}
	if (n > *maxref)
	    *maxref = n;
    }
    return (0);
}

/* Expand $n in the rule's result (already checked). */
static const char *re_expand(DICT_RE *dr, const char *res, const char *key,
			             const size_t *starts, const size_t *ends, int nsub)
{
    const char *cp = res;
    char    name[32];

    vstr_reset(dr->result);
    while (*cp) {
	int     n;

	if (*cp != '$') {
	    (void) vstr_addch(dr->result, *cp++);
	    continue;
	}
	if (re_parse_ref(&cp, name, sizeof(name)) <= 0) {	/* "$$" (checked) */
	    (void) vstr_addch(dr->result, '$');
	    continue;
	}
	n = atoi(name);
	if (n <= nsub && starts[n] != (size_t) -1 && ends[n] >= starts[n])
	    (void) vstr_append(dr->result, key + starts[n], ends[n] - starts[n]);
    }
    return (vstr_str(dr->result));
}

static int re_rule_match(DICT_RE *dr, RE_RULE *r, const char *key, size_t *starts,
		            size_t *ends, int *nsub)
{
    *nsub = 0;
    if (!dr->is_pcre) {
	regmatch_t pm[RE_MAX_SUB];
	size_t  n = r->re.re_nsub + 1 < RE_MAX_SUB ? r->re.re_nsub + 1 : RE_MAX_SUB;
	int     rc = regexec(&r->re, key, n, pm, 0);

	if (rc == REG_NOMATCH)
	    return (0);
	if (rc != 0) {
	    char    buf[256];

	    (void) regerror(rc, &r->re, buf, sizeof(buf));
	    msg_warn("regexp map %s, line %d: %s", dr->dict.name, r->lineno, buf);
	    return (0);
	}
	for (size_t i = 0; i < n; i++) {
	    starts[i] = pm[i].rm_so < 0 ? (size_t) -1 : (size_t) pm[i].rm_so;
	    ends[i] = pm[i].rm_eo < 0 ? (size_t) -1 : (size_t) pm[i].rm_eo;
	}
	*nsub = (int) n - 1;
	return (1);
    } else {
	int     rc = pcre2_match(r->pcre, (PCRE2_SPTR) key, PCRE2_ZERO_TERMINATED, 0, 0,
				 dr->md, 0);
	PCRE2_SIZE *ov;

	if (rc == PCRE2_ERROR_NOMATCH)
	    return (0);
	if (rc < 0) {
	    PCRE2_UCHAR buf[256];

	    (void) pcre2_get_error_message(rc, buf, sizeof(buf));
	    msg_warn("pcre map %s, line %d: matching error: %s", dr->dict.name,
		     r->lineno, (char *) buf);
	    return (0);
	}
	ov = pcre2_get_ovector_pointer(dr->md);
	{
	    uint32_t ncap = pcre2_get_ovector_count(dr->md);

	    if (ncap > RE_MAX_SUB)
		ncap = RE_MAX_SUB;
	    for (uint32_t i = 0; i < ncap; i++) {
		starts[i] = (i < (uint32_t) rc && ov[2 * i] != PCRE2_UNSET) ? ov[2 * i] : (size_t) -1;
		ends[i] = (i < (uint32_t) rc && ov[2 * i + 1] != PCRE2_UNSET) ? ov[2 * i + 1] : (size_t) -1;
	    }
	    *nsub = (int) ncap - 1;
	}
	return (1);
    }
}

static const char *re_lookup(DICT *d, const char *key)
{
    DICT_RE *dr = (DICT_RE *) d;
    size_t  starts[RE_MAX_SUB];
    size_t  ends[RE_MAX_SUB];
    int     nsub;
    size_t  i = 0;

    while (i < dr->nrules) {
	RE_RULE *r = &dr->rules[i];
	int     m;

	if (r->kind == RULE_ENDIF) {
	    i++;
	    continue;
	}
	m = re_rule_match(dr, r, key, starts, ends, &nsub) != r->negate;
	if (r->kind == RULE_IF) {
	    i = m ? i + 1 : r->skip_to;
	    continue;
	}
	if (m) {
	    if (r->negate)
		nsub = -1;
	    return (re_expand(dr, r->result, key, starts, ends, nsub));
	}
	i++;
    }
    return (0);
}

static void re_close(DICT *d)
{
    DICT_RE *dr = (DICT_RE *) d;

    for (size_t i = 0; i < dr->nrules; i++) {
	RE_RULE *r = &dr->rules[i];

	if (r->kind != RULE_ENDIF) {
	    if (dr->is_pcre)
		pcre2_code_free(r->pcre);
	    else
		regfree(&r->re);
	}
	free(r->result);
    }
    free(dr->rules);
    if (dr->md)
	pcre2_match_data_free(dr->md);
    vstr_free(dr->result);
    dict_free(d);
}

/*
 * Parse "[!]/pattern/flags" at *cpp; compile into r. 0 ok, -1 warned.
 */
static int re_parse_pattern(DICT_RE *dr, char **cpp, RE_RULE *r, int lineno)
{
    char   *cp = *cpp;
    const char *map = dr->dict.name;
    const char *label = re_label(dr->is_pcre);
    char    delim;
    char   *pat;
    int     cflags = REG_EXTENDED | REG_ICASE;
    uint32_t pflags = PCRE2_CASELESS;

    cp += strspn(cp, " \t");
    r->negate = 0;
    while (*cp == '!') {
	r->negate = !r->negate;
	cp++;
	cp += strspn(cp, " \t");
    }
    if ((delim = *cp) == 0 || isspace((unsigned char) delim)) {
	msg_warn("%s map %s, line %d: no regexp: skipping this rule", label, map, lineno);
	return (-1);
    }
    pat = ++cp;
    while (*cp && *cp != delim) {
	if (*cp == '\\' && cp[1])
	    cp++;
	cp++;
    }
    if (*cp != delim) {
	msg_warn("%s map %s, line %d: no closing regexp delimiter \"%c\": %s this rule",
		 label, map, lineno, delim, dr->is_pcre ? "ignoring" : "skipping");
	return (-1);
    }
    *cp++ = 0;
    /* Flags. */
    while (*cp && !isspace((unsigned char) *cp)) {
	int     ch = *cp++;

	if (!dr->is_pcre) {
	    switch (ch) {
	    case 'i':
		cflags ^= REG_ICASE;
		break;
	    case 'x':
		cflags ^= REG_EXTENDED;
		break;
	    case 'm':
		cflags ^= REG_NEWLINE;
		break;
	    default:
		msg_warn("regexp map %s, line %d: unknown regexp option \"%c\": skipping this rule",
			 map, lineno, ch);
		return (-1);
	    }
	} else {
	    switch (ch) {
	    case 'i':
		pflags ^= PCRE2_CASELESS;
		break;
	    case 'm':
		pflags ^= PCRE2_MULTILINE;
		break;
	    case 's':
		pflags ^= PCRE2_DOTALL;
		break;
	    case 'x':
		pflags ^= PCRE2_EXTENDED;
		break;
	    case 'A':
		pflags ^= PCRE2_ANCHORED;
		break;
	    case 'E':
		pflags ^= PCRE2_DOLLAR_ENDONLY;
		break;
	    case 'U':
		pflags ^= PCRE2_UNGREEDY;
		break;
	    case 'X':
		msg_warn("pcre map %s, line %d: ignoring obsolete regexp option \"X\"",
			 map, lineno);
		break;
	    default:
		msg_warn("pcre map %s, line %d: unknown regexp option \"%c\": skipping this rule",
			 map, lineno, ch);
		return (-1);
	    }
	}
    }
    *cpp = cp;
    if (!dr->is_pcre) {
	int     rc = regcomp(&r->re, pat, cflags);

	if (rc != 0) {
	    char    buf[256];

	    (void) regerror(rc, &r->re, buf, sizeof(buf));
	    msg_warn("regexp map %s, line %d: %s", map, lineno, buf);
	    return (-1);
	}
    } else {
	int     err;
	PCRE2_SIZE off;

	r->pcre = pcre2_compile((PCRE2_SPTR) pat, PCRE2_ZERO_TERMINATED, pflags, &err, &off, 0);
	if (r->pcre == 0) {
	    PCRE2_UCHAR buf[256];

	    (void) pcre2_get_error_message(err, buf, sizeof(buf));
	    msg_warn("pcre map %s, line %d: error in regex at offset %zu: %s",
		     map, lineno, (size_t) off, (char *) buf);
	    return (-1);
	}
	(void) pcre2_jit_compile(r->pcre, PCRE2_JIT_COMPLETE);
    }
    return (0);
}

static void re_free_pattern(DICT_RE *dr, RE_RULE *r)
{
    if (dr->is_pcre)
	pcre2_code_free(r->pcre);
    else
	regfree(&r->re);
}

static size_t re_nsub(DICT_RE *dr, RE_RULE *r)
{
    if (!dr->is_pcre)
	return (r->re.re_nsub);
    {
	uint32_t n = 0;

	(void) pcre2_pattern_info(r->pcre, PCRE2_INFO_CAPTURECOUNT, &n);
	return (n);
    }
}

static DICT *re_open(const char *type, int is_pcre, const char *name, int open_flags,
		             int dict_flags)
{
    FILE   *fp;
    DICT_SRC *src;
    DICT_RE *dr;
    char   *line;
    size_t  cap = 0;
    size_t *if_stack = 0;
    size_t  if_depth = 0;
    size_t  if_cap = 0;
    const char *label = re_label(is_pcre);

    if ((open_flags & O_ACCMODE) != O_RDONLY)
	return (dict_surrogate(type, name, open_flags, dict_flags,
			       "%s:%s map requires O_RDONLY access mode", type, name));
    if ((fp = fopen(name, "r")) == 0)
	return (dict_surrogate(type, name, open_flags, dict_flags,
			       "open %s: %s", name, strerror(errno)));
    dr = (DICT_RE *) dict_alloc(type, name, sizeof(*dr));
    dr->is_pcre = is_pcre;
    dr->result = vstr_alloc(100);
    dr->dict.flags = (dict_flags & ~DICT_FLAG_FOLD_FIX) | DICT_FLAG_PATTERN;
    dr->dict.lookup = re_lookup;
    dr->dict.close = re_close;
    dict_watch_file(&dr->dict, name, fileno(fp));
    src = dict_src_open(name, fp);
    while ((line = dict_src_read(src)) != 0) {
	RE_RULE rule;
	char   *cp = line;
	int     lineno = src->lineno;

	memset(&rule, 0, sizeof(rule));
	rule.lineno = lineno;
	if (strncasecmp(cp, "endif", 5) == 0 && (cp[5] == 0 || isspace((unsigned char) cp[5]))) {
	    if (if_depth == 0) {
		msg_warn("%s map %s, line %d: ignoring ENDIF without matching IF",
			 label, name, lineno);
		continue;
	    }
	    if (cp[5 + strspn(cp + 5, " \t")])
		msg_warn("%s map %s, line %d: ignoring extra text after ENDIF",
			 label, name, lineno);
	    rule.kind = RULE_ENDIF;
	    if_depth--;
	    dr->rules[if_stack[if_depth]].skip_to = dr->nrules + 1;
	} else if (strncasecmp(cp, "if", 2) == 0 && (isspace((unsigned char) cp[2]) || cp[2] == '!')) {
	    cp += 2;
	    rule.kind = RULE_IF;
	    if (re_parse_pattern(dr, &cp, &rule, lineno) < 0)
		continue;
	    if (cp[strspn(cp, " \t")]) {
		msg_warn("%s map %s, line %d: ignoring extra text after IF statement: \"%s\"",
			 label, name, lineno, cp + strspn(cp, " \t"));
	    }
	    if (if_depth == if_cap) {
		if_cap = if_cap ? 2 * if_cap : 8;
		if_stack = xrealloc(if_stack, if_cap * sizeof(*if_stack));
	    }
	    if_stack[if_depth++] = dr->nrules;
	} else {
	    int     maxref;

	    rule.kind = RULE_MATCH;
	    if (re_parse_pattern(dr, &cp, &rule, lineno) < 0)
		continue;
	    cp += strspn(cp, " \t");
	    if (*cp == 0)
		msg_warn("%s map %s, line %d: no replacement text: using empty string",
			 label, name, lineno);
	    if (re_check_result(dr, cp, lineno, &maxref) < 0) {
		msg_warn("%s map %s, line %d: bad replacement syntax: skipping this rule",
			 label, name, lineno);
		re_free_pattern(dr, &rule);
		continue;
	    }
	    if (maxref > 0 && rule.negate) {
		msg_warn("%s map %s, line %d: $number found in negative match replacement text: "
			 "skipping this rule", label, name, lineno);
		re_free_pattern(dr, &rule);
		continue;
	    }
	    if (maxref > 0 && ((size_t) maxref > re_nsub(dr, &rule)
			       || maxref >= RE_MAX_SUB)) {
		msg_warn("%s map %s, line %d: out of range replacement index \"%d\": "
			 "skipping this rule", label, name, lineno, maxref);
		re_free_pattern(dr, &rule);
		continue;
	    }
	    if (maxref > 0 && (dict_flags & DICT_FLAG_NO_REGSUB)) {
		msg_warn("%s map %s, line %d: regular expression substitution is not allowed: "
			 "skipping this rule", label, name, lineno);
		re_free_pattern(dr, &rule);
		continue;
	    }
	    rule.result = xstrdup(cp);
	}
	if (dr->nrules == cap) {
	    cap = cap ? 2 * cap : 16;
	    dr->rules = xrealloc(dr->rules, cap * sizeof(*dr->rules));
	}
	dr->rules[dr->nrules++] = rule;
    }
    while (if_depth > 0) {
	if_depth--;
	msg_warn("%s map %s, line %d: IF has no matching ENDIF", label, name,
		 dr->rules[if_stack[if_depth]].lineno);
	dr->rules[if_stack[if_depth]].skip_to = dr->nrules;
    }
    free(if_stack);
    dict_src_close(src);
    if (is_pcre)
	dr->md = pcre2_match_data_create(RE_MAX_SUB, 0);
    return (&dr->dict);
}

DICT   *dict_regexp_open(const char *name, int open_flags, int dict_flags)
{
    return (re_open("regexp", 0, name, open_flags, dict_flags));
}

DICT   *dict_pcre_open(const char *name, int open_flags, int dict_flags)
{
    return (re_open("pcre", 1, name, open_flags, dict_flags));
}
