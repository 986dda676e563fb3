/*
 * pol_match - Postfix's pattern lists: domain lists (mydestination,
 * relay_domains, virtual_*_domains, masquerade_domains, ...) and
 * name/address lists (mynetworks, permit_mx_backup_networks, ...).
 *
 * A list is white space/comma separated patterns, each one of:
 *   domain.tld      matches the name; also subdomains when the list's
 *                   parameter is in parent_domain_matches_subdomains
 *   .domain.tld     matches subdomains (only when the parameter is not in
 *                   parent_domain_matches_subdomains, as in Postfix)
 *   /file/name      the patterns in that file ("!/file" negates each)
 *   type:table      a lookup of the name (then its parent domains), or of
 *                   the address; any value is a match
 *   !pattern        negation: a match ends the search with "no match"
 * and in address lists also: 1.2.3.4, 1.2.3.0/24, [::1], [2001:db8::]/32.
 * The exact rules and diagnostics are Postfix 3.7's (see pol_match.c).
 *
 * pol_match_list_create() logs Postfix's "error:" lines for files and
 * tables that cannot be opened (they then fail every match) and is fatal
 * for "!" without a pattern. pol_match_list_match() returns 1 (match),
 * 0 (no match) or -1 (a table failed or a bad net/mask was reached, after
 * Postfix's warnings: the caller defers, or for an exception list, does
 * not exempt).
 */
#ifndef POSTERN_POL_MATCH_H
#define POSTERN_POL_MATCH_H

#define POL_MATCH_NAME	(1<<0)		/* patterns match host/domain names */
#define POL_MATCH_ADDR	(1<<1)		/* patterns also match addresses */

typedef struct POL_MATCH_LIST POL_MATCH_LIST;

/* param: parameter name, for parent_domain_matches_subdomains and messages. */
extern POL_MATCH_LIST *pol_match_list_create(const char *param, const char *value, int flags);
extern int pol_match_list_match(POL_MATCH_LIST *, const char *name, const char *addr);
extern void pol_match_list_free(POL_MATCH_LIST *);

/* The list of main.cf parameter param, parsed once per value and process. */
extern POL_MATCH_LIST *pol_match_list_cached(const char *param, int flags);

/* Is param listed in $parent_domain_matches_subdomains? */
extern int pol_parent_matches_subdomains(const char *param);

/* Does "name" match domain pattern "pat" (with ".pat" and parent rules)? */
extern int pol_match_domain(const char *name, const char *pat, int parent_ok);

#endif
