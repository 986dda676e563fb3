/*
 * maildir - deliver messages into a Maildir, as the Maildir specification
 * and Postfix's local agent do: create DIR, tmp/, new/ and cur/ when
 * missing; per message a file in tmp/ (mode 0600; unnamed with O_TMPFILE
 * where the system has it, else tmp/NAME), written and fsynced, linked
 * into new/NAME; then new/ is fsynced once for all the messages of the
 * call before any of them counts as delivered. NAME is
 * "SECONDS.VdevIinoMusec.HOST" (device and inode of the file in hex, as
 * Postfix writes it); HOST is the system host name with '/' and ':'
 * written as \057 and \072. A failed message leaves nothing behind.
 *
 * Failures carry errno, a DSN and a text without prefix, as Postfix's:
 * "create maildir file PATH: REASON" when the file cannot be created or
 * linked (4.2.0 unless mbox_dsn says otherwise), "error writing message:
 * REASON" when it cannot be written or synced (5.3.0 unless mbox_dsn says
 * otherwise: ENOSPC 4.3.0, EFBIG for the size limit 5.2.2).
 */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <sys/types.h>

#include "vstr.h"

/* size_limit 0 = unlimited. new_name (may be NULL) gets the new/ path. */
extern int maildir_deliver(const char *dir, const char *data, size_t len,
		               long size_limit, VSTR *new_name, VSTR *why, char *dsn);

/* One message of maildir_deliver_many(). */
typedef struct MAILDIR_MSG {
    const char *data;			/* in: the formatted message */
    size_t  len;
    VSTR   *why;			/* in: required; out: failure text */
    VSTR   *new_name;			/* in: NULL or a VSTR for the new/ path */
    int     status;			/* out: 0 delivered, -1 not */
    int     err;			/* out: errno of the failure */
    char    dsn[8];			/* out: DSN of the failure */
} MAILDIR_MSG;

/*
 * Deliver n messages to one Maildir with one fsync of new/ (each file is
 * fsynced before its link). Each message succeeds or fails on its own;
 * when the final fsync of new/ fails, every linked file is removed again
 * and all fail with "4.3.0". Returns the number delivered.
 */
extern size_t maildir_deliver_many(const char *dir, MAILDIR_MSG *msgs, size_t n,
				           long size_limit);

/* Postfix's DSN for an errno: EAGAIN/ESTALE 4.2.0, ENOSPC 4.3.0, EDQUOT/EFBIG 5.2.2, else def. */
extern const char *mbox_dsn(int err, const char *def);

/* Tests: 0 forces the named tmp/NAME path (as without O_TMPFILE). */
extern void maildir_use_tmpfile(int on);

#endif
