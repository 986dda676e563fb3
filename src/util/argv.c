/* argv - growable string array; see argv.h. */
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"
#include "vstr.h"

ARGV   *argv_alloc(size_t len)
{
    ARGV   *ap = xmalloc(sizeof(*ap));

    ap->cap = len < 4 ? 4 : len;
    ap->argv = xmalloc((ap->cap + 1) * sizeof(char *));
    ap->argc = 0;
    ap->argv[0] = 0;
    return (ap);
}

void    argv_free(ARGV *ap)
{
    if (ap == 0)
	return;
    for (size_t i = 0; i < ap->argc; i++)
	free(ap->argv[i]);
    free(ap->argv);
    free(ap);
}

static void argv_grow(ARGV *ap)
{
    if (ap->argc >= ap->cap) {
	ap->cap *= 2;
	ap->argv = xrealloc(ap->argv, (ap->cap + 1) * sizeof(char *));
    }
}

void    argv_add(ARGV *ap, const char *s)
{
    argv_grow(ap);
    ap->argv[ap->argc++] = xstrdup(s);
    ap->argv[ap->argc] = 0;
}

void    argv_addn(ARGV *ap, const char *s, size_t n)
{
    argv_grow(ap);
    ap->argv[ap->argc++] = xstrndup(s, n);
    ap->argv[ap->argc] = 0;
}

void    argv_insert(ARGV *ap, size_t where, const char *s)
{
    if (where > ap->argc)
	msg_panic("argv_insert: bad position %zu", where);
    argv_grow(ap);
    memmove(ap->argv + where + 1, ap->argv + where, (ap->argc - where + 1) * sizeof(char *));
    ap->argv[where] = xstrdup(s);
    ap->argc++;
}

void    argv_delete(ARGV *ap, size_t where, size_t count)
{
    if (where > ap->argc || count > ap->argc - where)
	msg_panic("argv_delete: bad range %zu+%zu", where, count);
    for (size_t i = where; i < where + count; i++)
	free(ap->argv[i]);
    memmove(ap->argv + where, ap->argv + where + count,
	    (ap->argc - where - count + 1) * sizeof(char *));
    ap->argc -= count;
}

void    argv_truncate(ARGV *ap, size_t len)
{
    while (ap->argc > len)
	free(ap->argv[--ap->argc]);
    ap->argv[ap->argc] = 0;
}

void    argv_split_append(ARGV *ap, const char *str, const char *delims)
{
    const char *cp = str;
    size_t  n;

    for (;;) {
	cp += strspn(cp, delims);
	if (*cp == 0)
	    break;
	n = strcspn(cp, delims);
	argv_addn(ap, cp, n);
	cp += n;
    }
}

ARGV   *argv_split(const char *str, const char *delims)
{
    ARGV   *ap = argv_alloc(8);

    argv_split_append(ap, str, delims);
    return (ap);
}

char   *argv_join(const ARGV *ap, const char *sep)
{
    VSTR   *vp = vstr_alloc(64);

    for (size_t i = 0; i < ap->argc; i++) {
	if (i > 0)
	    (void) vstr_cat(vp, sep);
	(void) vstr_cat(vp, ap->argv[i]);
    }
    return (vstr_export(vp));
}
