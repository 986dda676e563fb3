/* vstr - the growable string type; see vstr.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "msg.h"
#include "vstr.h"

VSTR   *vstr_alloc(size_t initial)
{
    VSTR   *vp = xmalloc(sizeof(*vp));

    if (initial < 16)
	initial = 16;
    vp->data = xmalloc(initial);
    vp->data[0] = 0;
    vp->len = 0;
    vp->cap = initial;
    vp->limit = VSTR_DEFAULT_LIMIT;
    return (vp);
}

void    vstr_free(VSTR *vp)
{
    if (vp) {
	free(vp->data);
	free(vp);
    }
}

void    vstr_set_limit(VSTR *vp, size_t limit)
{
    vp->limit = limit > VSTR_DEFAULT_LIMIT ? VSTR_DEFAULT_LIMIT : limit;
}

/* vstr_space - make room for len more bytes plus the NUL */
static int vstr_space(VSTR *vp, size_t more)
{
    size_t  need;

    if (more > vp->limit || vp->len > vp->limit - more)
	return (-1);
    need = vp->len + more + 1;
    if (need > vp->cap) {
	size_t  ncap = vp->cap;

	while (ncap < need)
	    ncap = ncap < ((size_t) 1 << 40) ? ncap * 2 : need;
	vp->data = xrealloc(vp->data, ncap);
	vp->cap = ncap;
    }
    return (0);
}

int     vstr_append(VSTR *vp, const void *src, size_t len)
{
    if (vstr_space(vp, len) < 0)
	return (-1);
    if (len)
	memmove(vp->data + vp->len, src, len);
    vp->len += len;
    vp->data[vp->len] = 0;
    return (0);
}

int     vstr_cat(VSTR *vp, const char *src)
{
    return (vstr_append(vp, src, strlen(src)));
}

int     vstr_ncpy(VSTR *vp, const void *src, size_t len)
{
    if (len > vp->limit)
	return (-1);
    if (src >= (const void *) vp->data && src < (const void *) (vp->data + vp->cap)) {
	/* Copy from inside ourselves: shift down. */
	memmove(vp->data, src, len);
	vp->len = len;
	vp->data[len] = 0;
	return (0);
    }
    vp->len = 0;
    return (vstr_append(vp, src, len));
}

int     vstr_cpy(VSTR *vp, const char *src)
{
    return (vstr_ncpy(vp, src, strlen(src)));
}

int     vstr_addch(VSTR *vp, int ch)
{
    char    c = (char) ch;

    return (vstr_append(vp, &c, 1));
}

int     vstr_vfmt_append(VSTR *vp, const char *fmt, va_list ap)
{
    va_list ap2;
    int     n;

    va_copy(ap2, ap);
    n = vsnprintf(vp->data + vp->len, vp->cap - vp->len, fmt, ap2);
    va_end(ap2);
    if (n < 0)
	msg_panic("vstr_vfmt_append: bad format \"%s\"", fmt);
    if ((size_t) n >= vp->cap - vp->len) {
	if (vstr_space(vp, (size_t) n) < 0) {
	    vp->data[vp->len] = 0;
	    return (-1);
	}
	va_copy(ap2, ap);
	(void) vsnprintf(vp->data + vp->len, vp->cap - vp->len, fmt, ap2);
	va_end(ap2);
    } else if ((size_t) n > vp->limit - vp->len) {
	vp->data[vp->len] = 0;
	return (-1);
    }
    vp->len += (size_t) n;
    return (0);
}

int     vstr_fmt_append(VSTR *vp, const char *fmt,...)
{
    va_list ap;
    int     ret;

    va_start(ap, fmt);
    ret = vstr_vfmt_append(vp, fmt, ap);
    va_end(ap);
    return (ret);
}

int     vstr_fmt(VSTR *vp, const char *fmt,...)
{
    va_list ap;
    int     ret;

    vstr_reset(vp);
    va_start(ap, fmt);
    ret = vstr_vfmt_append(vp, fmt, ap);
    va_end(ap);
    return (ret);
}

void    vstr_reset(VSTR *vp)
{
    vp->len = 0;
    vp->data[0] = 0;
}

void    vstr_truncate(VSTR *vp, size_t len)
{
    if (len < vp->len) {
	vp->len = len;
	vp->data[len] = 0;
    }
}

char   *vstr_export(VSTR *vp)
{
    char   *data = vp->data;

    free(vp);
    return (data);
}

void    vstr_lower(VSTR *vp)
{
    for (size_t i = 0; i < vp->len; i++)
	vp->data[i] = (char) tolower((unsigned char) vp->data[i]);
}

void    vstr_trim_right(VSTR *vp)
{
    while (vp->len > 0 && isspace((unsigned char) vp->data[vp->len - 1]))
	vp->len--;
    vp->data[vp->len] = 0;
}
