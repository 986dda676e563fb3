/* stringops - small string helpers; see stringops.h. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stringops.h"

char   *mystrtok(char **bufp, const char *delims)
{
    char   *start = *bufp;
    char   *end;

    start += strspn(start, delims);
    if (*start == 0) {
	*bufp = start;
	return (0);
    }
    end = start + strcspn(start, delims);
    if (*end)
	*end++ = 0;
    *bufp = end;
    return (start);
}

char   *mystrtok_cw(char **bufp, const char *delims, int strip_braces)
{
    char   *start = *bufp;
    char   *cp;
    int     level = 0;

    start += strspn(start, delims);
    if (*start == 0) {
	*bufp = start;
	return (0);
    }
    for (cp = start; *cp; cp++) {
	if (*cp == '{')
	    level++;
	else if (*cp == '}' && level > 0)
	    level--;
	else if (level == 0 && strchr(delims, *cp))
	    break;
    }
    if (*cp)
	*cp++ = 0;
    *bufp = cp;
    if (strip_braces && *start == '{') {
	size_t  len = strlen(start);

	if (len >= 2 && start[len - 1] == '}') {
	    start[len - 1] = 0;
	    start++;
	    start += strspn(start, SPACES);
	    trimblanks(start, 0)[0] = 0;
	}
    }
    return (start);
}

char   *lowercase(char *s)
{
    for (char *cp = s; *cp; cp++)
	*cp = (char) tolower((unsigned char) *cp);
    return (s);
}

char   *uppercase(char *s)
{
    for (char *cp = s; *cp; cp++)
	*cp = (char) toupper((unsigned char) *cp);
    return (s);
}

char   *trimblanks(char *string, size_t len)
{
    char   *cp;

    if (len == 0)
	len = strlen(string);
    for (cp = string + len; cp > string && isspace((unsigned char) cp[-1]); cp--)
	 /* void */ ;
    return (cp);
}

char   *trim(char *s)
{
    char   *start = s + strspn(s, SPACES);

    *trimblanks(start, 0) = 0;
    if (start != s)
	memmove(s, start, strlen(start) + 1);
    return (s);
}

int     alldig(const char *s)
{
    if (*s == 0)
	return (0);
    for (; *s; s++)
	if (!isdigit((unsigned char) *s))
	    return (0);
    return (1);
}

int     allprint(const char *s)
{
    for (; *s; s++)
	if (!isprint((unsigned char) *s))
	    return (0);
    return (1);
}

const char *split_nameval(char *buf, char **name, char **value)
{
    char   *np;
    char   *ep;
    char   *vp;

    np = buf + strspn(buf, SPACES);
    if (*np == 0)
	return ("missing attribute name");
    ep = np + strcspn(np, " \t\r\n=");
    if (ep == np)
	return ("missing attribute name");
    vp = ep + strspn(ep, " \t\r\n");
    if (*vp != '=')
	return ("missing '=' after attribute name");
    *ep = 0;
    vp++;
    vp += strspn(vp, SPACES);
    *trimblanks(vp, 0) = 0;
    *name = np;
    *value = vp;
    return (0);
}

int     parse_ulong(const char *s, unsigned long max, unsigned long *result)
{
    char   *end;
    unsigned long v;

    if (!isdigit((unsigned char) *s))
	return (-1);
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
	return (-1);
    *result = v;
    return (0);
}

size_t  safe_strlcpy(char *dst, const char *src, size_t size)
{
    size_t  len = strlen(src);

    if (size > 0) {
	size_t  n = len < size - 1 ? len : size - 1;

	memcpy(dst, src, n);
	dst[n] = 0;
    }
    return (len);
}
