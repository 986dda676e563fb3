/*
 * qflush - make deferred mail due now, for postqueue -s/-i and SMTP ETRN
 * (what Postfix's flush(8) service does for an administrator).
 *
 * qflush_due() gives every deferred message with an undelivered recipient
 * @site (case-insensitive), or the one message id, a modification time of
 * now, so that qmgr's next deferred-queue scan retries it; it returns how
 * many; the caller must be in the queue directory. qflush_due_depth()
 * with the depth from qflush_depth() (which reads main.cf) touches no
 * configuration or logging, so smtpd runs it in a thread off its event
 * loop. qflush_trigger() then asks qmgr for that scan
 * ('D' on public/qmgr): 0, or -1 when qmgr cannot be reached.
 */
#ifndef POSTERN_QFLUSH_H
#define POSTERN_QFLUSH_H

extern int qflush_due(const char *site, const char *id);
extern int qflush_depth(void);
extern int qflush_due_depth(int depth, const char *site, const char *id);
extern int qflush_trigger(const char *what);

#endif
