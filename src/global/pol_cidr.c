/* pol_cidr - address/network parsing and matching (see pol_cidr.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pol_cidr.h"
#include "stringops.h"

int     pol_addr_parse(const char *text, int *family, unsigned char addr[16])
{
    memset(addr, 0, 16);
    if (strchr(text, ':') != 0) {
	if (inet_pton(AF_INET6, text, addr) != 1)
	    return (-1);
	/* Treat IPv4-mapped IPv6 addresses as IPv4, as clients appear. */
	*family = AF_INET6;
	return (0);
    }
    if (inet_pton(AF_INET, text, addr) != 1)
	return (-1);
    *family = AF_INET;
    return (0);
}

int     pol_cidr_looks_numeric(const char *text)
{
    return (*text == '[' || isdigit((unsigned char) *text) || strchr(text, ':') != 0);
}

int     pol_cidr_parse(const char *text, POL_CIDR *cp, VSTR *why)
{
    char    buf[128];
    char   *slash;
    char   *a = buf;
    size_t  n = strlen(text);
    int     maxlen;
    unsigned long len;

    memset(cp, 0, sizeof(*cp));
    if (n == 0 || n >= sizeof(buf)) {
	if (why)
	    vstr_fmt(why, "bad address pattern: \"%s\"", text);
	return (-1);
    }
    memcpy(buf, text, n + 1);
    slash = strchr(buf, '/');
    if (slash)
	*slash++ = 0;
    if (*a == '[') {
	char   *end = strchr(a, ']');

	if (end == 0 || end[1] != 0) {
	    if (why)
		vstr_fmt(why, "bad address pattern: \"%s\"", text);
	    return (-1);
	}
	*end = 0;
	a++;
    }
    if (pol_addr_parse(a, &cp->family, cp->addr) < 0) {
	if (why)
	    vstr_fmt(why, "bad address pattern: \"%s\"", text);
	return (-1);
    }
    maxlen = cp->family == AF_INET ? 32 : 128;
    if (slash) {
	if (*slash == 0 || !alldig(slash) || parse_ulong(slash, (unsigned long) maxlen, &len) < 0) {
	    if (why)
		vstr_fmt(why, "bad net/mask pattern: \"%s\"", text);
	    return (-1);
	}
    } else
	len = maxlen;
    cp->len = (int) len;
    for (int i = 0; i < maxlen / 8; i++) {
	int     bits = (int) len - i * 8;

	cp->mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (unsigned char) (0xff << (8 - bits));
    }
    for (int i = 0; i < maxlen / 8; i++) {
	if (cp->addr[i] & ~cp->mask[i]) {
	    unsigned char net[16];
	    char    nbuf[INET6_ADDRSTRLEN];

	    for (int j = 0; j < 16; j++)
		net[j] = cp->addr[j] & cp->mask[j];
	    inet_ntop(cp->family, net, nbuf, sizeof(nbuf));
	    if (why)
		vstr_fmt(why, "non-null host address bits in \"%s\", perhaps you should use \"%s%s%s/%d\" instead",
			 text, *text == '[' ? "[" : "", nbuf, *text == '[' ? "]" : "", (int) len);
	    return (-1);
	}
    }
    return (0);
}

int     pol_cidr_match_bin(const POL_CIDR *cp, int family, const unsigned char addr[16])
{
    unsigned char v4[16];

    /* An IPv4-mapped IPv6 client matches IPv4 patterns. */
    if (family == AF_INET6 && cp->family == AF_INET
	&& memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
	memset(v4, 0, sizeof(v4));
	memcpy(v4, addr + 12, 4);
	addr = v4;
	family = AF_INET;
    }
    if (family != cp->family)
	return (0);
    for (int i = 0; i < (family == AF_INET ? 4 : 16); i++)
	if ((addr[i] & cp->mask[i]) != cp->addr[i])
	    return (0);
    return (1);
}

int     pol_cidr_match(const POL_CIDR *cp, const char *text)
{
    int     family;
    unsigned char addr[16];

    if (pol_addr_parse(text, &family, addr) < 0)
	return (0);
    return (pol_cidr_match_bin(cp, family, addr));
}
