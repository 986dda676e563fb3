/*
 * master_inproc - master.cf services whose work postern does inside other
 * processes, and the one warning about services whose program is missing.
 *
 * Postfix runs cleanup(8), trivial-rewrite(8), bounce(8) and proxymap(8)
 * as services; in postern the same work is a library used in-process
 * (cleanup in smtpd/pickup, the resolver in smtpd/qmgr, notices in qmgr,
 * proxy: tables opened directly). Their stock master.cf entries are fine:
 * master and "postfix check" stay silent about them. Every other service
 * whose program is not in daemon_directory is reported in a single warning
 * (MASTER_MISSING), and master leaves it disabled.
 */
#ifndef POSTERN_MASTER_INPROC_H
#define POSTERN_MASTER_INPROC_H

#include "master_conf.h"
#include "vstr.h"

/* NULL, or which processes do the work of program COMMAND. */
extern const char *master_inproc(const char *command);

/* Collect services with a missing program, then warn once (if any). */
typedef struct MASTER_MISSING {
    VSTR   *list;
    int     count;
} MASTER_MISSING;

extern void master_missing_init(MASTER_MISSING *);
extern void master_missing_add(MASTER_MISSING *, const MASTER_ENT *);
extern void master_missing_warn(MASTER_MISSING *, const char *daemon_dir);	/* and free */

#endif
