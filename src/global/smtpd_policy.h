/*
 * smtpd_policy - the SMTP server's access policy: Postfix's restriction
 * lists (smtpd_{client,helo,sender,relay,recipient,data,end_of_data,etrn}_
 * restrictions), smtpd_delay_reject, smtpd_restriction_classes, access(5)
 * tables, relay control, DNS-based checks, soft_bounce; reply texts and
 * reject log lines as Postfix words them. See docs/policy.md.
 *
 * smtpd owns one SMTPD_POLICY per session and fills in what it knows
 * (client, helo, protocol, sasl user, ...). Per command it calls
 *
 *     reply = smtpd_policy_rcpt(p, "user@example.com");
 *
 * which returns NULL (go ahead), a full reply line ("554 5.7.1 <...>:
 * Relay access denied"), or SMTPD_POLICY_PENDING: DNS lookups were started
 * in p->event_base; when they are done p->dns_done(p, p->dns_done_context)
 * is called and smtpd calls the same function again with the same
 * arguments (answers are cached for the session, so the evaluation then
 * completes). Without an event base, lookups are synchronous.
 *
 * Rejections, warnings and the HOLD/DISCARD/REDIRECT/FILTER/WARN/INFO
 * actions are logged (msg_info) in Postfix's format, e.g.
 *   NOQUEUE: reject: RCPT from unknown[127.0.0.9]: 554 5.7.1 <x@y>: Relay
 *   access denied; from=<a@b> to=<x@y> proto=ESMTP helo=<h>
 * Actions meant for the message (HOLD, DISCARD, REDIRECT, FILTER, PREPEND)
 * are left in action_flags/redirect/filter/prepend for cleanup;
 * smtpd_policy_reset_transaction() clears them for the next MAIL.
 */
#ifndef POSTERN_SMTPD_POLICY_H
#define POSTERN_SMTPD_POLICY_H

#include "argv.h"

#define SMTPD_PEER_OK	2		/* name/address lookup succeeded */
#define SMTPD_PEER_TEMP	4		/* temporary failure */
#define SMTPD_PEER_PERM	5		/* permanent failure */

#define SMTPD_ACT_HOLD		(1<<0)
#define SMTPD_ACT_DISCARD	(1<<1)

extern const char SMTPD_POLICY_PENDING[];

struct event_base;
struct HTABLE;

typedef struct SMTPD_POLICY SMTPD_POLICY;

struct SMTPD_POLICY {
    /* Facts, set by smtpd (strings are copied by the setters below). */
    char   *client_name;		/* verified name, or "unknown" */
    char   *reverse_name;		/* PTR name, or "unknown" */
    char   *client_addr;
    char   *client_port;
    int     client_name_status;		/* SMTPD_PEER_* */
    int     reverse_name_status;
    char   *helo;			/* NULL before HELO/EHLO */
    char   *protocol;			/* "SMTP" or "ESMTP" */
    char   *sasl_username;		/* NULL unless authenticated */
    char   *sender;			/* NULL before MAIL; "" for <> */
    char   *recipient;			/* current (or last) recipient */
    int     rcpt_count;			/* recipients accepted in this transaction */
    int     pipelining_violation;	/* client sent before our reply */
    const char *queue_id;		/* NULL: "NOQUEUE" in logs */
    struct event_base *event_base;	/* NULL: synchronous DNS */
    int     unlisted_skip_local;	/* smtpd checks local recipients itself */
    void    (*dns_done) (SMTPD_POLICY *, void *);
    void   *dns_done_context;

    /* Results for the message (cleanup), per transaction. */
    int     action_flags;		/* SMTPD_ACT_* */
    char   *redirect;			/* REDIRECT address */
    char   *filter;			/* FILTER transport:destination */
    ARGV   *prepend;			/* PREPEND header lines */
    int     sleep_seconds;		/* "sleep N": delay this reply */

    /* Internal state. */
    char   *reply;			/* the last reply */
    ARGV   *pending_logs;		/* emitted when an evaluation completes */
    struct HTABLE *dns_cache;
    int     dns_inflight;
    int     evaluating_pending;		/* a lookup was started this round */
    int     warn_if_reject;
    int     defer_if_reject;
    char   *defer_if_reject_reply;
    int     defer_if_permit;
    char   *defer_if_permit_reply;
    char   *saved_defer_if_permit[3];	/* client, helo, sender (no delay_reject) */
    const char *stage;			/* "RCPT" etc., for logs */
    int     depth;
    int     released;			/* free when dns_inflight drops to 0 */
    struct HTABLE *policy_cache;	/* check_policy_service answers */
};

extern SMTPD_POLICY *smtpd_policy_create(void);
extern void smtpd_policy_free(SMTPD_POLICY *);
/* Free now, or when the DNS lookups still in flight have answered. */
extern void smtpd_policy_release(SMTPD_POLICY *);
/* Log "QID: what: STAGE from name[addr]: text; from=<> to=<> proto= helo=<>" now. */
extern void smtpd_policy_log(SMTPD_POLICY *, const char *what, const char *stage,
			             const char *text);
extern void smtpd_policy_set(char **field, const char *value);
extern void smtpd_policy_reset_transaction(SMTPD_POLICY *);

/* Per-stage checks; see above. */
extern const char *smtpd_policy_client(SMTPD_POLICY *);
extern const char *smtpd_policy_helo(SMTPD_POLICY *, const char *helo);
extern const char *smtpd_policy_mail(SMTPD_POLICY *, const char *sender);
extern const char *smtpd_policy_rcpt(SMTPD_POLICY *, const char *recipient);
extern const char *smtpd_policy_vrfy(SMTPD_POLICY *, const char *address);
extern const char *smtpd_policy_data(SMTPD_POLICY *);
extern const char *smtpd_policy_eod(SMTPD_POLICY *);
extern const char *smtpd_policy_etrn(SMTPD_POLICY *, const char *domain);

/* Is the client in $mynetworks? (1, 0, -1 lookup failure) */
extern int smtpd_policy_mynetworks(SMTPD_POLICY *);

/*
 * Configuration check for startup: warns about unknown restrictions and
 * returns the number found (smtpd may exit with a fatal error).
 */
extern int smtpd_policy_validate(void);
/* smtpd start: open the restriction lists' access tables (as Postfix). */
extern void smtpd_policy_open_tables(void);
/* 0, or -1: no working relay restriction (Postfix's smtpd refuses to start). */
extern int smtpd_policy_relay_check(void);

/* Address helpers shared with smtpd: strip <>, source route, quotes. */
extern char *smtpd_policy_addr_internal(const char *arg);	/* caller frees */
/* Internal form to external (RFC 5321 quoting of the local part); caller frees. */
extern char *smtpd_policy_addr_external(const char *addr);

/* Hostname syntax as Postfix checks HELO names (valid_hostname). */
extern int smtpd_valid_hostname(const char *name);
extern int smtpd_valid_hostaddr(const char *addr);

#endif
