/* mem - allocation that never returns NULL; see mem.h. */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "msg.h"

void   *xmalloc(size_t len)
{
    void   *p = malloc(len ? len : 1);

    if (p == 0)
	msg_fatal("out of memory allocating %zu bytes", len);
    return (p);
}

void   *xcalloc(size_t n, size_t len)
{
    void   *p = calloc(n ? n : 1, len ? len : 1);

    if (p == 0)
	msg_fatal("out of memory allocating %zu*%zu bytes", n, len);
    return (p);
}

void   *xrealloc(void *ptr, size_t len)
{
    void   *p = realloc(ptr, len ? len : 1);

    if (p == 0)
	msg_fatal("out of memory reallocating %zu bytes", len);
    return (p);
}

char   *xstrdup(const char *s)
{
    return (xmemdup(s, strlen(s) + 1));
}

char   *xstrndup(const char *s, size_t n)
{
    size_t  len = strnlen(s, n);
    char   *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = 0;
    return (p);
}

void   *xmemdup(const void *s, size_t n)
{
    void   *p = xmalloc(n);

    memcpy(p, s, n);
    return (p);
}
