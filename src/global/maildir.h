/*
 * maildir - deliver one message into a Maildir (tmp -> new), as the
 * Maildir specification and Postfix's local agent do: create tmp/, new/
 * and cur/ when missing, write tmp/NAME (mode 0600), fsync it, link it
 * to new/NAME, remove tmp/NAME, fsync new/. NAME is
 * "SECONDS.VdevIinoMusec.HOST" (device and inode of the tmp file in hex,
 * as Postfix writes it); HOST is the system host name with '/' and ':'
 * written as \057 and \072.
 *
 * Returns 0, or -1 with errno, *dsn and why set ("4.2.0"/"4.3.1" try
 * again, "5.2.2" size limit, "5.2.0" other permanent problems).
 */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <sys/types.h>

#include "vstr.h"

/* size_limit 0 = unlimited. new_name (may be NULL) gets the new/ path. */
extern int maildir_deliver(const char *dir, const char *data, size_t len,
		               long size_limit, VSTR *new_name, VSTR *why, char *dsn);
/* The DSN for a write error (EFBIG 5.2.2, ENOSPC 4.3.1, EDQUOT 4.2.2 ...). */
extern const char *mbox_dsn(int err, const char *def);

#endif
