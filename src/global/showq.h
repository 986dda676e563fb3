/*
 * showq - the mail queue listing (mailq = postqueue -p = sendmail -bp,
 * and postqueue -j), in Postfix's byte-exact formats.
 *
 * showq_list() reads the queue directly (needs mail_owner's access to
 * $queue_directory); the showq daemon (src/showq) runs it on behalf of
 * ordinary users who connect to public/showq. showq_report() is the
 * client used by postqueue and sendmail -bp: it asks the showq service
 * and, when the mail system is down and the caller can read the queue,
 * falls back to reading it directly (with Postfix's warning).
 *
 * Service protocol (public/showq): the client writes one line, "p" for
 * the text listing or "j" for JSON lines, and reads the listing until
 * the server closes the connection.
 */
#ifndef POSTERN_SHOWQ_H
#define POSTERN_SHOWQ_H
#include <stdio.h>

#define SHOWQ_FORMAT_TEXT	'p'
#define SHOWQ_FORMAT_JSON	'j'

/* List the queue to out in format; returns 0. */
extern int showq_list(FILE *out, int format);
/* The postqueue -p / -j / sendmail -bp client: 0 or exit status. */
extern int showq_report(FILE *out, int format);

#endif
