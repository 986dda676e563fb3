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

/*
 * Postfix's net/mask pattern rules and texts (checked against Postfix 3.7):
 * brackets are optional ("[addr]/len" or "[addr/len]") and left out of
 * messages; the mask is checked before the address.
 */
int     pol_cidr_parse(const char *text, POL_CIDR *cp, VSTR *why)
{
    char    buf[128];
    char   *pat = buf;
    char   *mask;
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
    if (*pat == '[') {
	char   *end = strchr(pat, ']');

	if (end == 0) {
	    if (why)
		vstr_fmt(why, "missing ']' character after \"%s\"", text);
	    return (-1);
	}
	pat++;
	memmove(end, end + 1, strlen(end + 1) + 1);
    }
    cp->family = strchr(pat, ':') ? AF_INET6 : AF_INET;
    maxlen = cp->family == AF_INET ? 32 : 128;
    if ((mask = strchr(pat, '/')) != 0) {
	*mask++ = 0;
	if (*mask == 0 || !alldig(mask)) {
	    if (why)
		vstr_fmt(why, "bad mask value in \"%s/%s\"", pat, mask);
	    return (-1);
	}
	if (parse_ulong(mask, (unsigned long) maxlen, &len) < 0) {
	    if (why)
		vstr_fmt(why, "bad mask length in \"%s/%s\"", pat, mask);
	    return (-1);
	}
	if (inet_pton(cp->family, pat, cp->addr) != 1) {
	    if (why)
		vstr_fmt(why, "bad network value in \"%s/%s\"", pat, mask);
	    return (-1);
	}
    } else {
	if (inet_pton(cp->family, pat, cp->addr) != 1) {
	    if (why)
		vstr_fmt(why, "bad address pattern: \"%s\"", pat);
	    return (-1);
	}
	len = maxlen;
    }
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
		vstr_fmt(why, "non-null host address bits in \"%s/%s\", perhaps you should use \"%s/%d\" instead",
			 pat, mask, nbuf, (int) len);
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
