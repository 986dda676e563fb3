/*
 * resolve_class - which address class a destination belongs to, and the
 * policy view of address resolution (Postfix's trivial-rewrite "resolve"
 * as smtpd's relay checks see it).
 *
 * Classes (address_class_README): local ($mydestination, and [ip] literals
 * of $inet_interfaces / $proxy_interfaces), virtual alias
 * ($virtual_alias_domains), virtual mailbox ($virtual_mailbox_domains),
 * relay ($relay_domains), default (everything else).
 *
 * resolve_policy_addr() takes an address in internal (unquoted) form and
 * follows source routing the way Postfix does: a local destination with
 * '@', '%' (allow_percent_hack) or '!' (swap_bangpath) in its local part
 * is stripped and the rest resolved again; a result whose destination is
 * not local and whose local part still contains '@', '%' or '!' is marked
 * RESOLVE_FLAG_ROUTED (Postfix's rule). smtpd never relays routed mail for
 * strangers.
 *
 * resolve_own_address("1.2.3.4") tells whether an address is one of ours.
 */
#ifndef POSTERN_RESOLVE_CLASS_H
#define POSTERN_RESOLVE_CLASS_H

#include "vstr.h"

/* The one definition of the class/flag bits (resolve.h includes this). */
#define RESOLVE_CLASS_LOCAL	(1<<0)
#define RESOLVE_CLASS_ALIAS	(1<<1)
#define RESOLVE_CLASS_VIRTUAL	(1<<2)
#define RESOLVE_CLASS_RELAY	(1<<3)
#define RESOLVE_CLASS_DEFAULT	(1<<4)
#define RESOLVE_FLAG_ERROR	(1<<8)	/* bad address syntax */
#define RESOLVE_FLAG_FAIL	(1<<9)	/* table lookup failed: try later */
#define RESOLVE_CLASS_FINAL	(RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_ALIAS | RESOLVE_CLASS_VIRTUAL)
#define RESOLVE_CLASS_MASK	0x1f
#define RESOLVE_FLAG_ROUTED	(1<<10)	/* source routing was used */

/* Class of a domain (no '@'; "[1.2.3.4]" literals allowed). */
extern int resolve_class(const char *domain);
/* Resolve an internal-form address; result gets the final address. */
extern int resolve_policy_addr(const char *addr, VSTR *result);
/* Is this (bare) IP address one of inet_interfaces/proxy_interfaces? */
extern int resolve_own_address(const char *addr);
/* Forget cached lists after a configuration change (tests). */
extern void resolve_class_reset(void);

#endif
