/*
 * pol_cidr - IPv4/IPv6 address and network matching for the policy code
 * (mynetworks, cidr: tables, [address] literals).
 *
 * pol_cidr_parse("192.168.0.0/16", &net, why) accepts an address, an
 * address/len, and the bracketed forms "[::1]", "[2001:db8::]/32" (the
 * form Postfix accepts in mynetworks; also "[net/len]"). Errors carry
 * Postfix's texts: "bad mask value in", "bad mask length in", "bad network
 * value in", "bad address pattern:", "missing ']' character after", and
 * "non-null host address bits in ..., perhaps you should use ... instead".
 */
#ifndef POSTERN_POL_CIDR_H
#define POSTERN_POL_CIDR_H

#include "vstr.h"

typedef struct POL_CIDR {
    int     family;			/* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned char mask[16];
    int     len;			/* prefix length */
} POL_CIDR;

/* 0 on success; -1 with a reason in why (may be NULL). */
extern int pol_cidr_parse(const char *text, POL_CIDR *, VSTR *why);
/* Parse a plain address (no brackets, no length); 0 or -1. */
extern int pol_addr_parse(const char *text, int *family, unsigned char addr[16]);
extern int pol_cidr_match(const POL_CIDR *, const char *addr);
extern int pol_cidr_match_bin(const POL_CIDR *, int family, const unsigned char addr[16]);
/* Does text look like an address or network pattern (digit, ':' or '[')? */
extern int pol_cidr_looks_numeric(const char *text);

#endif
