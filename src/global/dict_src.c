/* dict_src - table source files; see dict_src.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dict_src.h"
#include "dict_utf8.h"
#include "mem.h"
#include "msg.h"

DICT_SRC *dict_src_open(const char *path, FILE *fp)
{
    DICT_SRC *src = xcalloc(1, sizeof(*src));

    src->fp = fp;
    src->path = xstrdup(path);
    src->line = vstr_alloc(256);
    src->phys = vstr_alloc(256);
    vstr_set_limit(src->line, DICT_SRC_LIMIT);
    vstr_set_limit(src->phys, DICT_SRC_LIMIT);
    return (src);
}

void    dict_src_close(DICT_SRC *src)
{
    if (src->fp && src->fp != stdin)
	(void) fclose(src->fp);
    free(src->path);
    vstr_free(src->line);
    vstr_free(src->phys);
    free(src);
}

/* Read one physical line into src->phys; 0 at EOF. */
static int src_phys(DICT_SRC *src)
{
    int     ch;
    int     got = 0;

    vstr_reset(src->phys);
    while ((ch = getc(src->fp)) != EOF) {
	got = 1;
	if (ch == '\n')
	    break;
	(void) vstr_addch(src->phys, ch);	/* bounded: excess dropped */
    }
    if (got)
	src->last_line++;
    vstr_trim_right(src->phys);
    return (got);
}

static int src_skip(const char *s)
{
    s += strspn(s, " \t\r\f\v");
    return (*s == 0 || *s == '#');
}

char   *dict_src_read(DICT_SRC *src)
{
    int     bad;

    for (;;) {
	/* Find the first line of a logical line. */
	if (!src->have_phys) {
	    do {
		if (!src_phys(src))
		    return (0);
	    } while (src_skip(vstr_str(src->phys)));
	}
	src->have_phys = 0;
	bad = isspace((unsigned char) vstr_str(src->phys)[0]);
	if (bad) {
	    /* Postfix quotes at most 30 characters. */
	    if (vstr_len(src->phys) > 30)
		msg_warn("%s: logical line must not start with whitespace: \"%.30s...\"",
			 src->path, vstr_str(src->phys));
	    else
		msg_warn("%s: logical line must not start with whitespace: \"%s\"",
			 src->path, vstr_str(src->phys));
	}
	(void) vstr_cpy(src->line, vstr_str(src->phys));
	src->lineno = src->last_line;
	/* Continuation lines. */
	while (src_phys(src)) {
	    const char *s = vstr_str(src->phys);

	    if (src_skip(s))
		continue;
	    if (!isspace((unsigned char) s[0])) {
		src->have_phys = 1;
		break;
	    }
	    (void) vstr_append(src->line, s, vstr_len(src->phys));
	}
	if (!bad)
	    return (vstr_str(src->line));
    }
}

int     dict_src_split(char *line, char **key, char **value)
{
    char   *cp = line;
    int     quoted = 0;

    /* The key ends at white space outside "..." (quotes stay in the key). */
    for (; *cp; cp++) {
	if (quoted) {
	    if (*cp == '\\' && cp[1])
		cp++;
	    else if (*cp == '"')
		quoted = 0;
	} else if (*cp == '"') {
	    quoted = 1;
	} else if (*cp == ' ' || *cp == '\t' || *cp == '\r' || *cp == '\n') {
	    break;
	}
    }
    if (quoted)
	return (DICT_SRC_UNBALANCED);
    *key = line;
    if (*cp == 0)
	return (-1);
    *cp++ = 0;
    cp += strspn(cp, " \t\r\n");
    if (*cp == 0)
	return (-1);
    *value = cp;
    return (0);
}

/*
 * Postfix shows control characters and malformed UTF-8 in a quoted source
 * line as '?' (valid multi-byte characters stay).
 */
const char *dict_src_printable(VSTR *buf, const char *text)
{
    const unsigned char *s = (const unsigned char *) text;

    vstr_reset(buf);
    while (*s) {
	if (*s < 32 || *s == 127) {
	    (void) vstr_addch(buf, '?');
	    s++;
	} else if (*s < 0x80) {
	    (void) vstr_addch(buf, *s++);
	} else {
	    char    one[5];
	    size_t  n = (*s >= 0xf0) ? 4 : (*s >= 0xe0) ? 3 : (*s >= 0xc0) ? 2 : 1;
	    size_t  i;

	    for (i = 0; i < n && s[i]; i++)
		one[i] = (char) s[i];
	    one[i] = 0;
	    if (i == n && n > 1 && dict_utf8_valid(one)) {
		(void) vstr_append(buf, one, n);
		s += n;
	    } else {
		(void) vstr_addch(buf, '?');
		s++;
	    }
	}
    }
    return (vstr_str(buf));
}

/*
 * aliases(5): name, optionally in double quotes, then ':' then the value.
 * Postfix keeps the value text as written (trimmed).
 */
int     dict_src_split_alias(char *line, char **key, char **value)
{
    char   *cp = line;
    char   *out;

    if (*cp == '"') {
	/* "quoted name": backslash escapes the next character. */
	out = ++cp;
	*key = out;
	while (*cp && *cp != '"') {
	    if (*cp == '\\' && cp[1])
		cp++;
	    *out++ = *cp++;
	}
	if (*cp != '"')
	    return (-1);
	cp++;
	*out = 0;
	cp += strspn(cp, " \t");
	if (*cp != ':')
	    return (-1);
	cp++;
    } else {
	*key = cp;
	cp += strcspn(cp, ":");
	if (*cp != ':')
	    return (-1);
	*cp++ = 0;
	for (out = cp - 1; out > *key && (out[-1] == ' ' || out[-1] == '\t'); out--)
	    out[-1] = 0;
    }
    cp += strspn(cp, " \t\r\n");
    *value = cp;
    return (0);
}

/*
 * Alias values are stored the way Postfix's postalias stores them: the
 * text is split into RFC 822 tokens and written back out, so that white
 * space is normalized (", " between list elements, one space between
 * words, none around operators), comments and quoted strings are kept,
 * and a backslash-escaped character loses its backslash.
 */
enum { TOK_ATOM = 256, TOK_QSTRING, TOK_COMMENT, TOK_DOMLIT };

typedef struct {
    int     type;
    VSTR   *text;
} ALIAS_TOK;

#define ALIAS_OPERATORS	"<>@,;:.|]"

static int alias_tok_word(int type)
{
    return (type == TOK_ATOM || type == TOK_QSTRING || type == TOK_COMMENT
	    || type == TOK_DOMLIT);
}

void    dict_src_alias_value(VSTR *out, const char *value)
{
    ALIAS_TOK *toks = 0;
    size_t  ntok = 0;
    size_t  cap = 0;
    const char *cp = value;
    int     ch;

    while ((ch = (unsigned char) *cp) != 0) {
	ALIAS_TOK *t;

	if (isspace(ch)) {
	    cp++;
	    continue;
	}
	if (ntok == cap) {
	    cap = cap ? 2 * cap : 16;
	    toks = xrealloc(toks, cap * sizeof(*toks));
	}
	t = &toks[ntok++];
	t->text = vstr_alloc(16);
	if (ch == '(') {			/* comment, nested, raw */
	    int     level = 0;

	    t->type = TOK_COMMENT;
	    while ((ch = (unsigned char) *cp) != 0) {
		(void) vstr_addch(t->text, ch);
		cp++;
		if (ch == '\\' && *cp) {
		    (void) vstr_addch(t->text, *cp++);
		    continue;
		}
		if (ch == '(')
		    level++;
		else if (ch == ')' && --level == 0)
		    break;
	    }
	} else if (ch == '"') {			/* quoted string, unescaped */
	    t->type = TOK_QSTRING;
	    cp++;
	    while ((ch = (unsigned char) *cp) != 0 && ch != '"') {
		if (ch == '\\' && cp[1])
		    ch = (unsigned char) *++cp;
		(void) vstr_addch(t->text, ch);
		cp++;
	    }
	    if (*cp == '"')
		cp++;
	} else if (ch == '[') {			/* domain literal, raw */
	    t->type = TOK_DOMLIT;
	    while ((ch = (unsigned char) *cp) != 0) {
		(void) vstr_addch(t->text, ch);
		cp++;
		if (ch == ']')
		    break;
	    }
	    if (vstr_last(t->text) != ']')	/* Postfix closes it */
		(void) vstr_addch(t->text, ']');
	} else if (strchr(ALIAS_OPERATORS, ch)) {
	    t->type = ch;
	    cp++;
	} else if (ch == ')') {			/* stray: kept as is */
	    t->type = ch;
	    cp++;
	} else {				/* atom; \c is a literal c */
	    t->type = TOK_ATOM;
	    while ((ch = (unsigned char) *cp) != 0 && !isspace(ch)
		   && !strchr(ALIAS_OPERATORS "()\"[", ch)) {
		if (ch == '\\') {
		    if (cp[1] == 0) {		/* a trailing backslash is dropped */
			cp++;
			break;
		    }
		    ch = (unsigned char) *++cp;
		}
		(void) vstr_addch(t->text, ch);
		cp++;
	    }
	    if (vstr_len(t->text) == 0)
		vstr_free(toks[--ntok].text);
	}
    }
    vstr_reset(out);
    for (size_t i = 0; i < ntok; i++) {
	ALIAS_TOK *t = &toks[i];
	const char *s = vstr_str(t->text);

	switch (t->type) {
	case TOK_ATOM:
	    if (s[strcspn(s, "()<>@,;:\\\".[]%!| \t\r\n")] == 0) {
		(void) vstr_cat(out, s);
		break;
	    }
	    __attribute__((fallthrough));	/* needs quotes */
	case TOK_QSTRING:
	    (void) vstr_addch(out, '"');
	    for (; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == '\r' || *s == '\n')
		    (void) vstr_addch(out, '\\');
		(void) vstr_addch(out, *s);
	    }
	    (void) vstr_addch(out, '"');
	    break;
	case TOK_COMMENT:
	case TOK_DOMLIT:
	    (void) vstr_cat(out, s);
	    break;
	default:
	    (void) vstr_addch(out, t->type);
	    break;
	}
	/* After a comma always (even at the end, as Postfix does). */
	if (t->type == ',' || (i + 1 < ntok && (toks[i + 1].type == '<'
			    || (alias_tok_word(t->type) && alias_tok_word(toks[i + 1].type)))))
	    (void) vstr_addch(out, ' ');
    }
    for (size_t i = 0; i < ntok; i++)
	vstr_free(toks[i].text);
    free(toks);
}
