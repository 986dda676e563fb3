/* cleanup_addr - address lists in message headers; see cleanup.h. */
#include <string.h>

#include "argv.h"
#include "cleanup.h"
#include "mail_conf.h"
#include "mem.h"
#include "vstr.h"

/* Find the end of one list element starting at cp (a top-level ',' or ';'). */
static const char *ca_element_end(const char *cp, int *group_end)
{
    int     depth = 0, angle = 0, quote = 0;

    *group_end = 0;
    for (; *cp; cp++) {
	if (quote) {
	    if (*cp == '\\' && cp[1])
		cp++;
	    else if (*cp == '"')
		quote = 0;
	    continue;
	}
	if (*cp == '\\' && cp[1]) {
	    cp++;
	    continue;
	}
	if (*cp == '"' && depth == 0)
	    quote = 1;
	else if (*cp == '(')
	    depth++;
	else if (*cp == ')' && depth > 0)
	    depth--;
	else if (depth == 0 && *cp == '<')
	    angle = 1;
	else if (depth == 0 && *cp == '>')
	    angle = 0;
	else if (depth == 0 && !angle && (*cp == ',' || *cp == ';')) {
	    *group_end = (*cp == ';');
	    return (cp);
	}
    }
    return (cp);
}

/*
 * Locate the address inside one element [start, end): the text between a
 * top-level '<' and '>', or else the element without comments, group
 * display name and surrounding white space. Returns 0 if none.
 */
static int ca_locate(const char *start, const char *end, const char **as, const char **ae)
{
    const char *cp, *lt = 0, *gt = 0, *colon = 0;
    int     depth = 0, quote = 0;

    for (cp = start; cp < end; cp++) {
	if (quote) {
	    if (*cp == '\\' && cp + 1 < end)
		cp++;
	    else if (*cp == '"')
		quote = 0;
	    continue;
	}
	if (*cp == '"' && depth == 0)
	    quote = 1;
	else if (*cp == '(')
	    depth++;
	else if (*cp == ')' && depth > 0)
	    depth--;
	else if (depth == 0 && *cp == '<' && lt == 0)
	    lt = cp;
	else if (depth == 0 && *cp == '>' && lt && gt == 0)
	    gt = cp;
	else if (depth == 0 && *cp == ':' && lt == 0 && colon == 0)
	    colon = cp;
    }
    if (lt && gt) {
	*as = lt + 1;
	*ae = gt;
	/* Strip a source route "@a,@b:". */
	if (**as == '@') {
	    const char *c = memchr(*as, ':', (size_t) (*ae - *as));

	    if (c)
		*as = c + 1;
	}
	return (*ae > *as);
    }
    if (colon) {
	/* "display-name: addr" group start; a bare "a:b" is odd anyway. */
	start = colon + 1;
    }
    /* Bare address: skip white space and comments around it. */
    while (start < end && (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r'))
	start++;
    {
	const char *s = start, *e;

	depth = 0;
	quote = 0;
	for (e = s; e < end; e++) {
	    if (quote) {
		if (*e == '"')
		    quote = 0;
		continue;
	    }
	    if (*e == '"')
		quote = 1;
	    else if (*e == '(' || *e == ' ' || *e == '\t' || *e == '\n' || *e == '\r')
		break;
	}
	if (e == s)
	    return (0);
	*as = s;
	*ae = e;
	return (1);
    }
}

void    cleanup_addr_list(const char *value, ARGV *addrs, VSTR *out, int rewrite)
{
    cleanup_addr_list_hook(0, 0, value, addrs, out, rewrite);
}

void    cleanup_addr_list_hook(CLEANUP *cl, int addr_class, const char *value, ARGV *addrs,
			               VSTR *out, int rewrite)
{
    const char *cp = value, *end, *as, *ae;
    int     group_end;
    VSTR   *addr = vstr_alloc(64);

    vstr_reset(out);
    while (*cp) {
	end = ca_element_end(cp, &group_end);
	if (ca_locate(cp, end, &as, &ae)) {
	    (void) vstr_ncpy(addr, as, (size_t) (ae - as));
	    if (addrs)
		argv_add(addrs, vstr_str(addr));
	    (void) vstr_append(out, cp, (size_t) (as - cp));
	    if (rewrite == 1)
		cleanup_complete_addr(addr);
	    else if (rewrite == 2 && strchr(vstr_str(addr), '@') == 0 && vstr_len(addr) > 0)
		(void) vstr_fmt_append(addr, "@%s", mail_conf_str("remote_header_rewrite_domain"));
	    if (rewrite && cl && cleanup_addr_hook)
		cleanup_addr_hook(cl, addr_class, addr);
	    (void) vstr_append(out, vstr_str(addr), vstr_len(addr));
	    (void) vstr_append(out, ae, (size_t) (end - ae));
	} else {
	    (void) vstr_append(out, cp, (size_t) (end - cp));
	}
	if (*end == 0)
	    break;
	(void) vstr_addch(out, *end);
	cp = end + 1;
    }
    vstr_free(addr);
}
