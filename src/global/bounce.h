/*
 * bounce - delivery status notifications (RFC 3464 multipart/report), in
 * Postfix's layout and wording: non-delivery ("Undelivered Mail Returned
 * to Sender"), delay warnings ("Delayed Mail (still being retried)"),
 * success DSNs ("Successful Mail Delivery Report") and sendmail -bv/-v
 * reports ("Mail Delivery Status Report"), plus the postmaster copies
 * selected by notify_classes (bounce, 2bounce, delay).
 *
 * A library, called by qmgr in-process when a message's delivery attempt
 * is over: the notice is written straight into the incoming queue with
 * qfile_post() (null sender, From: MAILER-DAEMON) and qmgr picks it up.
 */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H
#include <stdio.h>

#include "dsn_log.h"
#include "qfile.h"

#define BOUNCE_FAILED	1		/* non-delivery notification */
#define BOUNCE_DELAYED	2		/* delay warning */
#define BOUNCE_SUCCESS	3		/* success DSN / sendmail -v report */
#define BOUNCE_VERIFY	4		/* sendmail -bv report */

/*
 * Send the notices of one kind for message id (fp: its open queue file,
 * info: its envelope) about these entries, to the sender and to the
 * postmaster as notify_classes says; logs "ID: sender non-delivery
 * notification: NEWID" etc. Returns 0, or -1 if a notice could not be
 * written (the caller keeps the logs and retries later).
 */
extern int bounce_notify(const char *id, FILE *fp, const QFILE_INFO *info, int kind,
			         const DSN_ENTRY *entries, long count);

/* RFC 2822 date with the zone name, as Postfix writes it. */
extern const char *bounce_mail_date(VSTR *buf, time_t when);

#endif
