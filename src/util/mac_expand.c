/* mac_expand - $name expansion; see mac_expand.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mac_expand.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"

#define MAC_DEPTH_LIMIT	100

typedef struct MAC_STATE {
    MAC_LOOKUP_FN lookup;
    void   *context;
    int     status;
    const char *why;
} MAC_STATE;

static void mac_expand_rec(MAC_STATE *, VSTR *, const char *, int depth);

static int is_name_char(int ch)
{
    return (isalnum(ch) || ch == '_');
}

/* Find the matching close bracket for *open, honouring nesting. */
static const char *mac_match(const char *open, int oc, int cc)
{
    int     level = 0;
    const char *cp;

    for (cp = open; *cp; cp++) {
	if (*cp == oc)
	    level++;
	else if (*cp == cc && --level == 0)
	    return (cp);
    }
    return (0);
}

static void mac_error(MAC_STATE *st, const char *why)
{
    if (!(st->status & MAC_ERROR))
	st->why = why;
    st->status |= MAC_ERROR;
}

/* Expand the value of a name into out. */
static void mac_expand_name(MAC_STATE *st, VSTR *out, const char *name, int depth)
{
    const char *value = st->lookup(name, st->context);

    if (value == 0) {
	st->status |= MAC_UNDEF;
	return;
    }
    mac_expand_rec(st, out, value, depth + 1);
}

/* Strip "{ text }" to "text" when the text is one brace group. */
static char *mac_strip_group(char *text)
{
    char   *cp = text + strspn(text, SPACES);
    char   *end;

    if (*cp == '{') {
	end = (char *) mac_match(cp, '{', '}');
	if (end && end[1 + strspn(end + 1, SPACES)] == 0) {
	    *end = 0;
	    cp++;
	    cp += strspn(cp, SPACES);
	    *trimblanks(cp, 0) = 0;
	    return (cp);
	}
    }
    return (text);
}

/* Parse one {group} at *cpp; returns malloc'ed inner text or NULL. */
static char *mac_take_group(const char **cpp)
{
    const char *cp = *cpp + strspn(*cpp, SPACES);
    const char *end;
    char   *inner;

    if (*cp != '{' || (end = mac_match(cp, '{', '}')) == 0)
	return (0);
    inner = xstrndup(cp + 1, (size_t) (end - cp - 1));
    *cpp = end + 1;
    return (inner);
}

static int mac_numeric(const char *s, long *out)
{
    char   *end;

    if (*s == 0)
	return (0);
    *out = strtol(s, &end, 10);
    return (*end == 0);
}

int     mac_compat_level_cmp(const char *a, const char *b)
{
    for (int i = 0; i < 3; i++) {
	long    x = strtol(a, (char **) &a, 10);
	long    y = strtol(b, (char **) &b, 10);

	if (x != y)
	    return (x < y ? -1 : 1);
	if (*a == '.')
	    a++;
	if (*b == '.')
	    b++;
    }
    return (0);
}

/* ${{a} op {b} ? {t} : {f}} - body points just after "${". */
static void mac_relational(MAC_STATE *st, VSTR *out, const char *body, int depth)
{
    static const char *ops[] = {"<=level", ">=level", "<level", ">level",
	"==", "!=", "<=", ">=", "<", ">", 0};
    const char *cp = body;
    char   *left = 0, *right = 0, *iftrue = 0, *iffalse = 0;
    const char *op = 0;
    VSTR   *lv = vstr_alloc(32), *rv = vstr_alloc(32);
    int     truth = 0;

    if ((left = mac_take_group(&cp)) == 0) {
	mac_error(st, "malformed relational expression");
	goto done;
    }
    cp += strspn(cp, SPACES);
    for (int i = 0; ops[i]; i++) {
	if (strncmp(cp, ops[i], strlen(ops[i])) == 0) {
	    op = ops[i];
	    cp += strlen(op);
	    break;
	}
    }
    if (op == 0 || (right = mac_take_group(&cp)) == 0) {
	mac_error(st, "malformed relational expression");
	goto done;
    }
    cp += strspn(cp, SPACES);
    if (*cp == '?') {
	cp++;
	if ((iftrue = mac_take_group(&cp)) == 0) {
	    mac_error(st, "malformed relational expression");
	    goto done;
	}
	cp += strspn(cp, SPACES);
    }
    if (*cp == ':') {
	cp++;
	if ((iffalse = mac_take_group(&cp)) == 0) {
	    mac_error(st, "malformed relational expression");
	    goto done;
	}
	cp += strspn(cp, SPACES);
    }
    if (*cp != 0) {
	mac_error(st, "malformed relational expression");
	goto done;
    }
    mac_expand_rec(st, lv, left, depth + 1);
    mac_expand_rec(st, rv, right, depth + 1);
    if (strcmp(op, "==") == 0) {
	truth = strcmp(vstr_str(lv), vstr_str(rv)) == 0;
    } else if (strcmp(op, "!=") == 0) {
	truth = strcmp(vstr_str(lv), vstr_str(rv)) != 0;
    } else if (strstr(op, "level")) {
	int     cmp = mac_compat_level_cmp(vstr_str(lv), vstr_str(rv));

	truth = op[0] == '<' ? (op[1] == '=' ? cmp <= 0 : cmp < 0)
	    : (op[1] == '=' ? cmp >= 0 : cmp > 0);
    } else {
	long    l, r;

	if (!mac_numeric(vstr_str(lv), &l) || !mac_numeric(vstr_str(rv), &r)) {
	    mac_error(st, "non-numeric operand in relational expression");
	    goto done;
	}
	truth = op[0] == '<' ? (op[1] == '=' ? l <= r : l < r)
	    : (op[1] == '=' ? l >= r : l > r);
    }
    if (truth && iftrue)
	mac_expand_rec(st, out, iftrue, depth + 1);
    else if (!truth && iffalse)
	mac_expand_rec(st, out, iffalse, depth + 1);
done:
    free(left);
    free(right);
    free(iftrue);
    free(iffalse);
    vstr_free(lv);
    vstr_free(rv);
}

static void mac_expand_rec(MAC_STATE *st, VSTR *out, const char *pattern, int depth)
{
    const char *cp = pattern;

    if (depth > MAC_DEPTH_LIMIT) {
	mac_error(st, "unreasonable macro call nesting");
	return;
    }
    while (*cp) {
	if (*cp != '$') {
	    size_t  n = strcspn(cp, "$");

	    (void) vstr_append(out, cp, n);
	    cp += n;
	    continue;
	}
	cp++;
	if (*cp == '$') {
	    (void) vstr_addch(out, '$');
	    cp++;
	} else if (*cp == '{' || *cp == '(') {
	    int     oc = *cp, cc = oc == '{' ? '}' : ')';
	    const char *end = mac_match(cp, oc, cc);
	    char   *body;
	    char   *np;
	    size_t  nlen;

	    if (end == 0) {
		mac_error(st, "truncated macro reference");
		(void) vstr_cat(out, cp - 1);
		return;
	    }
	    body = xstrndup(cp + 1, (size_t) (end - cp - 1));
	    cp = end + 1;
	    np = body + strspn(body, SPACES);
	    if (*np == '{') {
		mac_relational(st, out, np, depth);
		free(body);
		continue;
	    }
	    nlen = 0;
	    while (is_name_char((unsigned char) np[nlen]))
		nlen++;
	    if (nlen == 0) {
		mac_error(st, "empty macro name");
		free(body);
		continue;
	    }
	    {
		char   *rest = np + nlen;
		char    name[256];
		const char *value;

		if (nlen >= sizeof(name)) {
		    mac_error(st, "macro name too long");
		    free(body);
		    continue;
		}
		memcpy(name, np, nlen);
		name[nlen] = 0;
		rest += strspn(rest, SPACES);
		if (*rest == 0) {
		    mac_expand_name(st, out, name, depth);
		} else if (*rest == '?' || *rest == ':') {
		    int     want_defined = (*rest == '?');
		    char   *text = 0, *elsetext = 0;
		    int     defined;

		    /* ${name?{value}:{value}}: both branches (Postfix >= 3.0). */
		    if (want_defined) {
			const char *gp = rest + 1;
			char   *t1 = mac_take_group(&gp), *t2 = 0;

			gp += strspn(gp, SPACES);
			if (t1 && *gp == ':') {
			    gp++;
			    t2 = mac_take_group(&gp);
			    if (t2 && gp[strspn(gp, SPACES)] == 0) {
				text = t1;
				elsetext = t2;
			    }
			}
			if (text == 0) {
			    free(t1);
			    free(t2);
			}
		    }
		    if (text == 0)
			text = mac_strip_group(rest + 1);

		    value = st->lookup(name, st->context);
		    defined = (value != 0 && *value != 0);
		    if (value != 0 && *value != 0 && strchr(value, '$')) {
			VSTR   *tmp = vstr_alloc(64);

			mac_expand_rec(st, tmp, value, depth + 1);
			defined = vstr_len(tmp) > 0;
			vstr_free(tmp);
		    }
		    if (defined == want_defined)
			mac_expand_rec(st, out, text, depth + 1);
		    else if (elsetext)
			mac_expand_rec(st, out, elsetext, depth + 1);
		    if (elsetext) {
			free(text);
			free(elsetext);
		    }
		} else {
		    mac_error(st, "unknown operator in macro expression");
		}
	    }
	    free(body);
	} else if (is_name_char((unsigned char) *cp)) {
	    char    name[256];
	    size_t  nlen = 0;

	    while (is_name_char((unsigned char) cp[nlen]))
		nlen++;
	    if (nlen >= sizeof(name)) {
		mac_error(st, "macro name too long");
		return;
	    }
	    memcpy(name, cp, nlen);
	    name[nlen] = 0;
	    cp += nlen;
	    mac_expand_name(st, out, name, depth);
	} else {
	    /* A '$' without a name (Postfix: "empty macro name"). */
	    mac_error(st, "empty macro name");
	    (void) vstr_addch(out, '$');
	}
    }
}

int     mac_expand(VSTR *result, const char *pattern, MAC_LOOKUP_FN lookup,
		           void *context, const char **why)
{
    MAC_STATE st;

    st.lookup = lookup;
    st.context = context;
    st.status = 0;
    st.why = 0;
    mac_expand_rec(&st, result, pattern, 0);
    if (why)
	*why = st.why;
    return (st.status);
}
