/*
 * cleanup_policy - what cleanup does to a message on an administrator's
 * orders (docs/policy.md):
 *
 *  - address rewriting: canonical_maps, sender_canonical_maps,
 *    recipient_canonical_maps (each with its _classes), masquerade_domains
 *    (with !exceptions), masquerade_exceptions, masquerade_classes;
 *  - virtual_alias_maps expansion: recursive, one-to-many, with
 *    virtual_alias_recursion_limit and virtual_alias_expansion_limit;
 *  - content checks: header_checks, mime_header_checks,
 *    nested_header_checks, body_checks (body_checks_size_limit), MIME
 *    aware, with REJECT, WARN, INFO, HOLD, DISCARD, IGNORE, REPLACE,
 *    PREPEND, REDIRECT, FILTER, DUNNO, OK, and Postfix's log lines.
 *
 * cleanup_policy_init() installs the cleanup hooks (cleanup.h); smtpd and
 * pickup call it once at start-up. The functions below are also usable on
 * their own (tests, postmap-style tools).
 */
#ifndef POSTERN_CLEANUP_POLICY_H
#define POSTERN_CLEANUP_POLICY_H

#include "argv.h"
#include "vstr.h"

extern void cleanup_policy_init(void);

/* Canonical mapping and masquerading for one address of a class
 * (CLEANUP_ADDR_*). Returns 0, or -1 when a table lookup failed. */
extern int cleanup_policy_rewrite(VSTR *addr, int addr_class);

/* One canonical-style table, applied until the address stops changing. */
struct MAPS;
extern int cleanup_policy_map11(struct MAPS *, VSTR *addr);

/* Masquerade one address (no class check). */
extern void cleanup_policy_masquerade(VSTR *addr);

/*
 * Virtual alias expansion. Returns the final recipients (at least one), or
 * NULL with *why set ("unreasonable ... -- message not accepted, try again
 * later") when a limit was hit or a lookup failed.
 */
extern ARGV *cleanup_policy_virtual(const char *addr, VSTR *why);

/* REDIRECT / FILTER decided elsewhere (smtpd access tables): recorded at finish. */
struct CLEANUP;
extern void cleanup_policy_redirect(struct CLEANUP *, const char *addr);
extern void cleanup_policy_filter(struct CLEANUP *, const char *transport_dest);

/* Content check actions. */
#define CP_ACT_DUNNO	0
#define CP_ACT_OK	1
#define CP_ACT_REJECT	2
#define CP_ACT_WARN	3
#define CP_ACT_INFO	4
#define CP_ACT_HOLD	5
#define CP_ACT_DISCARD	6
#define CP_ACT_IGNORE	7
#define CP_ACT_REPLACE	8
#define CP_ACT_PREPEND	9
#define CP_ACT_REDIRECT	10
#define CP_ACT_FILTER	11
#define CP_ACT_UNKNOWN	12

/* Parse a header/body_checks result "ACTION text"; *text points into value. */
extern int cleanup_policy_action(const char *value, const char **text);

#endif
