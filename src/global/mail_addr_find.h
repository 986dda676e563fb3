/*
 * mail_addr_find - address lookups with the search orders of the Postfix
 * manuals (virtual(5), canonical(5), access(5), transport(5), aliases(5)).
 *
 * With recipient_delimiter "+" and address "user+ext@domain":
 *   canonical/virtual (MA_FIND_DEFAULT):
 *	user+ext@domain, user@domain, user+ext, user (the last two only when
 *	domain is local: $myorigin, $mydestination, $inet_interfaces,
 *	$proxy_interfaces), @domain
 *   access (mail_access_find):
 *	user+ext@domain, user@domain, domain, parent domains (as "parent" or
 *	".parent" per parent_domain_matches_subdomains), user+ext@, user@
 *   transport (mail_transport_find):
 *	user+ext@domain, user@domain, domain, parent domains, "*"
 *   aliases (mail_alias_find): user+ext, user
 * Only the first key (the address exactly as given) is looked up in
 * pattern tables (regexp:, pcre:, cidr:); every other key is partial and
 * goes to fixed-string tables only. recipient_delimiter may list several
 * characters (any one of them splits); with delimiter '-', "owner-x" and
 * "x-request" are not split.
 *
 * On success the value is returned; *extp (if extp != NULL) receives a
 * copy of the unmatched extension including its delimiter ("+ext") when the
 * match was on a key without it, else NULL (caller frees). On "not found"
 * or failure NULL is returned: maps->error says which (a failure must make
 * the caller defer, never treat the address as unknown).
 */
#ifndef POSTERN_MAIL_ADDR_FIND_H
#define POSTERN_MAIL_ADDR_FIND_H

#include "maps.h"

#define MA_FIND_FULL			(1<<0)
#define MA_FIND_NOEXT			(1<<1)
#define MA_FIND_LOCALPART_IF_LOCAL	(1<<2)
#define MA_FIND_LOCALPART_AT_IF_LOCAL	(1<<3)
#define MA_FIND_AT_DOMAIN		(1<<4)
#define MA_FIND_DOMAIN			(1<<5)
#define MA_FIND_PDMS			(1<<6)	/* parents as "example.com" */
#define MA_FIND_PDDMDS			(1<<7)	/* parents as ".example.com" */
#define MA_FIND_LOCALPART_AT		(1<<8)

#define MA_FIND_DEFAULT	(MA_FIND_FULL | MA_FIND_NOEXT | MA_FIND_LOCALPART_IF_LOCAL \
			 | MA_FIND_AT_DOMAIN)

extern const char *mail_addr_find_strategy(MAPS *, const char *address, char **extp,
					           int strategy);
extern const char *mail_addr_find(MAPS *, const char *address, char **extp);
/* feature: the parameter name looked up in parent_domain_matches_subdomains. */
extern const char *mail_access_find(MAPS *, const char *address, const char *feature);
extern const char *mail_transport_find(MAPS *, const char *address);
extern const char *mail_alias_find(MAPS *, const char *localpart, char **extp);
/* Host name and its parent domains (access(5) host name patterns). */
extern const char *mail_domain_find(MAPS *, const char *domain, const char *feature);
/* Host address 1.2.3.4, 1.2.3, 1.2, 1 (IPv6: truncated at ':'). */
extern const char *mail_hostaddr_find(MAPS *, const char *addr);

/* Does parent_domain_matches_subdomains list this feature? */
extern int mail_pdms(const char *feature);
/* Split local part at recipient_delimiter: returns offset of delimiter or -1. */
extern int mail_addr_split_ext(const char *localpart, const char *delims);
/* Is this domain local? Replaceable by the address-resolution code. */
typedef int (*MAIL_ADDR_LOCAL_FN) (const char *domain);
extern void mail_addr_set_local_fn(MAIL_ADDR_LOCAL_FN);
extern int mail_addr_domain_is_local(const char *domain);

#endif
