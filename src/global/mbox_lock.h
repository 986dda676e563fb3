/*
 * mbox_lock - open and lock a UNIX mailbox (or an external file) for
 * appending, as Postfix's mbox_open(): kernel locks (fcntl, flock) and, or
 * a dot-lock file, per mailbox_delivery_lock.
 *
 * mbox_lock_mask("fcntl, dotlock") parses a lock-style list (fatal on an
 * unknown name). mbox_open() opens PATH for append, creating it (mode,
 * then fchown to uid/gid when uid != -1) if missing, refuses symlinks,
 * non-regular files and multiply-linked files, then locks it.
 * On failure it returns NULL with a reason in why and a DSN status in dsn
 * ("4.2.0" try again, "5.2.0" permanent).
 */
#ifndef POSTERN_MBOX_LOCK_H
#define POSTERN_MBOX_LOCK_H

#include <sys/stat.h>
#include <sys/types.h>

#include "vstr.h"

#define MBOX_FLOCK_LOCK		(1<<0)
#define MBOX_FCNTL_LOCK		(1<<1)
#define MBOX_DOT_LOCK		(1<<2)
#define MBOX_DOT_LOCK_MAY_FAIL	(1<<3)	/* dotlock errors are not fatal */

typedef struct MBOX {
    int     fd;
    char   *path;
    char   *lock_file;			/* dotlock path, or NULL */
    int     locked;			/* kernel lock style held */
    struct stat st;			/* after open */
} MBOX;

extern int mbox_lock_mask(const char *list);
extern const char *mbox_lock_names(void);	/* "flock\nfcntl\ndotlock\n" */
extern MBOX *mbox_open(const char *path, mode_t mode, uid_t uid, gid_t gid,
		               int lock_mask, const char *def_dsn, VSTR *why, char *dsn);
extern void mbox_release(MBOX *);
/* Tunables (deliver_lock_attempts, deliver_lock_delay, stale_lock_time). */
extern int mbox_lock_attempts;
extern int mbox_lock_delay;
extern int mbox_stale_lock_time;

#endif
