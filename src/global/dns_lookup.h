/*
 * dns_lookup - DNS queries through c-ares, for the policy checks (domain
 * existence, MX, client hostnames, DNSBL) and anything else that needs DNS.
 *
 * Servers: $postern_dns_servers (postern's own parameter: "ip[:port], ..."
 * e.g. "127.0.0.1:26053" for a test server); empty means the system's
 * resolv.conf. Timeouts: postern_dns_timeout per try, postern_dns_tries.
 *
 * Asynchronous use inside a libevent loop:
 *     dns_lookup_async(base, "example.com", DNS_T_MX, callback, context);
 * the callback runs from the event loop with a DNS_REPLY that it must not
 * keep. Synchronous convenience (commands, tests): dns_lookup_sync().
 *
 * DNS_REPLY.status: DNS_OK (answers in rr), DNS_NOTFOUND (NXDOMAIN),
 * DNS_NODATA (name exists, no record of that type), DNS_RETRY (timeout,
 * SERVFAIL, network: try later), DNS_INVALID (malformed reply or name).
 * Record texts in rr: A/AAAA the address, MX "preference host" (a null MX
 * is "0 ."), TXT the joined strings, PTR the name.
 */
#ifndef POSTERN_DNS_LOOKUP_H
#define POSTERN_DNS_LOOKUP_H

#include "argv.h"

#define DNS_T_A		1
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28

#define DNS_OK		0
#define DNS_NOTFOUND	1
#define DNS_NODATA	2
#define DNS_RETRY	3
#define DNS_INVALID	4

typedef struct DNS_REPLY {
    int     status;
    int     type;
    const char *name;
    ARGV   *rr;				/* record texts, see above */
} DNS_REPLY;

struct event_base;
typedef void (*DNS_CALLBACK) (const DNS_REPLY *, void *context);

extern void dns_lookup_async(struct event_base *, const char *name, int type,
			             DNS_CALLBACK, void *context);
extern int dns_lookup_sync(const char *name, int type, DNS_REPLY *reply);
extern void dns_reply_free(DNS_REPLY *);	/* for dns_lookup_sync results */
extern const char *dns_status_text(int status);
extern const char *dns_type_name(int type);

/* "1.2.3.4" -> "4.3.2.1" (IPv6: nibbles), for DNSBL and PTR names. */
extern int dns_reverse_name(const char *addr, const char *suffix, char *buf, size_t len);

/*
 * An SMTP client's names, as Postfix's smtpd finds them: the reverse name
 * (PTR, or the hosts file), and the verified name (the reverse name when
 * its forward lookup gives the address back). Status 2 found, 4 temporary
 * failure, 5 not found; names are "unknown" unless found. When the
 * reverse name does not resolve back to the address, warning is Postfix's
 * text for it ("hostname NAME does not resolve to address ADDR[: why]"),
 * for the caller to log; else NULL. Runs in the event loop; the callback
 * may run before dns_client_lookup() returns (hosts file).
 */
typedef void (*DNS_CLIENT_CB) (const char *name, int name_status, const char *reverse,
			               int reverse_status, const char *warning, void *context);
extern void dns_client_lookup(struct event_base *, const char *addr, DNS_CLIENT_CB, void *);

/* Drop channels (after a configuration change, or at exit for leak checks). */
extern void dns_lookup_shutdown(void);

#endif
