/*
 * local_deliver - the local(8) delivery core, usable without the daemon:
 * alias expansion (alias_maps, owner-NAME, :include:, "/file", "|command",
 * \user, nesting, duplicate elimination), ~/.forward per forward_path,
 * recipient_delimiter extensions, passwd lookup, mailbox_command, mbox in
 * mail_spool_directory or home_mailbox (mbox or Maildir), luser_relay,
 * Delivered-To: loop detection, deliveries as the recipient.
 *
 * The caller (the local daemon, a test driver, sendmail -bv/VRFY through
 * local_verify) loads a message (local_msg_load) and calls
 * local_deliver() per recipient; each final outcome (one per delivered
 * leaf: mailbox, file, command, forwarded address, bounce) is reported
 * through the LOCAL_REPORT callback with the status Postfix would log.
 * local_deliver() returns 0 when the queue recipient is finished (sent or
 * bounced and the bounce recorded), -1 when it must be tried again.
 */
#ifndef POSTERN_LOCAL_DELIVER_H
#define POSTERN_LOCAL_DELIVER_H

#include <sys/types.h>
#include <time.h>

#include "argv.h"
#include "vstr.h"

/* A queued message as the local agent needs it. */
typedef struct LOCAL_MSG {
    char   *queue_id;
    char   *sender;			/* "" for <> */
    time_t  arrival;
    VSTR   *text;			/* header + body, LF-terminated lines */
    ARGV   *delivered_to;		/* Delivered-To: values, lower case */
    char   *client_name;		/* log_client_name etc. ("" if none) */
    char   *client_addr;
    char   *client_helo;
    char   *client_proto;
    char   *sasl_method;
    char   *sasl_username;
    char   *sasl_sender;
    char   *log_ident;			/* first queue ID of forwarded mail ("" if none) */
    char   *encoding;
    char   *dsn_envid;			/* DSN ENVID ("" if none) */
    int     dsn_ret;			/* DSN RET (0, or DSN_RET_FULL/HDRS values 1/2) */
    /* Recipients from the file (used by the stand-alone driver). */
    ARGV   *rcpt;			/* R records, in order */
    ARGV   *orcpt;			/* matching O records ("" if none) */
    long   *rcpt_offset;		/* file offsets of the R records */
    /* Duplicate filter, shared by all recipients of one delivery request. */
    struct HTABLE *dup;
} LOCAL_MSG;

/* One recipient to deliver (and, in reports, one delivered leaf). */
typedef struct LOCAL_RCPT {
    const char *address;
    const char *orig_rcpt;		/* as received ("" if none) */
    long    offset;			/* R record offset in the queue file */
    int     dsn_notify;
    const char *dsn_orcpt;
} LOCAL_RCPT;

#define LOCAL_STAT_SENT		0
#define LOCAL_STAT_DEFER	1
#define LOCAL_STAT_BOUNCE	2
/*
 * Trace-only outcomes (no log line): an alias or .forward was expanded and
 * the recipient asked for NOTIFY=SUCCESS. Postfix reports one success DSN
 * for the expanded address ("alias expanded"): action "expanded", or
 * "delivered" for a mailing list (an owner- alias replaced the sender).
 */
#define LOCAL_STAT_EXPANDED	3
#define LOCAL_STAT_EXPANDED_LIST 4

typedef struct LOCAL_REPORT {
    /*
     * One final outcome: stat LOCAL_STAT_*, dsn ("2.0.0"), text ("delivered
     * to mailbox"). For LOCAL_STAT_SENT with a "forwarded" outcome the
     * text is "forwarded as QUEUEID". Return 0 when recorded; -1 turns a
     * bounce into a deferral (the bounce could not be recorded).
     */
    int     (*status) (void *ctx, int stat, const LOCAL_RCPT *leaf,
		               const char *dsn, const char *text);
    /*
     * Hand a recipient to another transport (mailbox_transport,
     * fallback_transport): return 0 when accepted. NULL: defer.
     */
    int     (*pass) (void *ctx, const char *transport, const LOCAL_RCPT *leaf,
		             VSTR *why);
    void   *ctx;
} LOCAL_REPORT;

#define LOCAL_FLAG_VERIFY	(1<<0)	/* report where mail would go, deliver nothing */

/* Load a queue file (postern format); 0, or -1 with why. */
extern int local_msg_load(LOCAL_MSG *, const char *path, VSTR *why);
/* Build a message from memory (tests, verification). */
extern void local_msg_init(LOCAL_MSG *, const char *queue_id, const char *sender,
			           const char *text, size_t len);
extern void local_msg_free(LOCAL_MSG *);
/* After msg->text was filled by the caller: find its Delivered-To: headers. */
extern void local_msg_scan(LOCAL_MSG *);

/* Read configuration (main.cf values); call again after a reload. */
extern void local_deliver_init(void);
/* The agent's master.cf service name: addresses that resolve to it are delivered in-process. */
extern void local_deliver_service(const char *name);
extern int local_deliver(LOCAL_MSG *, const LOCAL_RCPT *, const LOCAL_REPORT *, int flags);

/*
 * Several deliveries in one pass (local_batch.c): each job is delivered
 * as by local_deliver() and gets its return value in status, but the
 * Maildir and mbox deliveries of all jobs are written at the end (earlier
 * once 16 MB of formatted text is waiting), together per Maildir and user
 * with one fsync of new/ (each file is fsynced as always), or per mailbox
 * under one lock with one fsync; each is reported through its own job's
 * callback only once on stable storage. The jobs' messages, recipients
 * and reports must stay valid for the whole call.
 */
typedef struct LOCAL_JOB {
    LOCAL_MSG *msg;
    const LOCAL_RCPT *rcpt;
    const LOCAL_REPORT *rep;
    int     status;			/* out: 0 finished, -1 try again */
} LOCAL_JOB;

extern void local_deliver_many(LOCAL_JOB *, size_t n, int flags);

/*
 * Address verification (sendmail -bv, VRFY, the verify service): where
 * would mail for ADDR go? Each leaf is reported through rep->status with
 * LOCAL_STAT_SENT and texts like "delivers to mailbox", "delivers to
 * file: /path", "delivers to command: cmd", "forwards to addr", or
 * LOCAL_STAT_BOUNCE with "unknown user: \"name\"".
 */
extern int local_verify(const char *addr, const LOCAL_REPORT *rep);

#endif
