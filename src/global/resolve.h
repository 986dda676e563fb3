/*
 * resolve - the address resolver (Postfix's trivial-rewrite "resolve").
 *
 * resolve_addr("user@example.com", &reply) decides the address class and
 * the transport:nexthop that delivers it, as Postfix documents it
 * (ADDRESS_CLASS_README):
 *
 *   local          domain in $mydestination, or [literal] of a local
 *                  interface: $local_transport (nexthop: its own, else
 *                  $myhostname)
 *   virtual alias  domain in $virtual_alias_domains (an address still in
 *                  such a domain after alias expansion is unknown):
 *                  error:5.1.1 User unknown in virtual alias table
 *   virtual mbox   domain in $virtual_mailbox_domains: $virtual_transport
 *   relay          domain in $relay_domains: $relay_transport, nexthop
 *                  $relayhost or the domain
 *   default        anything else: $default_transport, nexthop $relayhost
 *                  or the domain
 *
 * A "transport:nexthop" setting with an empty nexthop keeps the class's
 * nexthop. $transport_maps (when the table layer is available) overrides
 * per address / domain / .parent / "*", trying the address without its
 * $recipient_delimiter extension too. Transport names are NOT checked here:
 * qmgr connects to private/<transport>, so any master.cf service works.
 *
 * The address class and source routing ('@', '%', '!' in the local part of
 * a local address) are decided by resolve_policy_addr() (resolve_class.c),
 * the same code smtpd's relay and recipient checks use, so qmgr and smtpd
 * can never disagree about where an address goes. The reply's recipient is
 * the address as given (trailing dot removed); transport_maps are searched
 * with the routed (final) address.
 */
#ifndef POSTERN_RESOLVE_H
#define POSTERN_RESOLVE_H

#include "vstr.h"

/* Class and flag bits: one definition, shared with the policy view. */
#include "resolve_class.h"

typedef struct RESOLVE_REPLY {
    VSTR   *transport;
    VSTR   *nexthop;
    VSTR   *recipient;			/* the address, normalized */
    int     flags;			/* RESOLVE_CLASS_* | RESOLVE_FLAG_* */
} RESOLVE_REPLY;

extern void resolve_reply_init(RESOLVE_REPLY *);
extern void resolve_reply_free(RESOLVE_REPLY *);
extern void resolve_addr(const char *addr, RESOLVE_REPLY *);
/* Class name for reports: "local", "virtual alias", ... */
extern const char *resolve_class_name(int flags);
/* Is domain (lower case) matched by the domain list in parameter param? */
extern int resolve_domain_in(const char *param, const char *domain);
/*
 * resolve_local("example.com"): is this domain (no '@'; "[1.2.3.4]" allowed,
 * trailing dot ignored) delivered here, by the same rules resolve_addr()
 * uses for the local class ($mydestination with domain-list semantics, or
 * an address literal of $inet_interfaces/$proxy_interfaces: resolve_class())?
 * Postfix's resolve_local().
 * resolve_install_local() makes the table library's address search orders
 * (mail_addr_find: "user" keys only for local domains) use it, plus
 * $myorigin as virtual(5)/canonical(5) document; programs that route mail
 * with this resolver (qmgr, local) call it at start-up.
 */
extern int resolve_local(const char *domain);
extern void resolve_install_local(void);

/*
 * Optional table lookup hook (set by programs that link the table
 * layer): look key up in the table list value; returns a malloc'ed value,
 * NULL when not found; sets *err on a temporary failure.
 */
extern char *(*resolve_table_lookup) (const char *tables, const char *key, int *err);

#endif
