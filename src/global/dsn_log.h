/*
 * dsn_log - per-message delivery status logs: defer/<ID>, bounce/<ID>,
 * trace/<ID> (hashed per hash_queue_names like the queues).
 *
 * Each entry is one attr.h list appended with a single write (O_APPEND)
 * and fsync'ed before the writer goes on:
 *
 *	recipient= orig_rcpt= offset= notify= orcpt= status= action=
 *	reason= relay= dtype= dtext= mtype= mname= time=
 *
 * Writers: delivery agents (deliver_defer/deliver_bounce/deliver_sent),
 * qmgr. Readers: qmgr's notice generation (bounce.c), showq (the
 * deferral reason that mailq prints), postcat -e is not affected.
 */
#ifndef POSTERN_DSN_LOG_H
#define POSTERN_DSN_LOG_H
#include <time.h>

#include "vstr.h"

typedef struct DSN_ENTRY {
    char   *recipient;
    char   *orig_rcpt;
    long    offset;
    int     notify;
    char   *orcpt;
    char   *status;
    char   *action;
    char   *reason;
    char   *relay;
    char   *dtype;
    char   *dtext;
    char   *mtype;
    char   *mname;
    time_t  time;
} DSN_ENTRY;

/* Append one entry to queue/<id>; 0 or -1 (warning logged). */
extern int dsn_log_append(const char *queue, const char *id, const DSN_ENTRY *);
/*
 * Read all entries of queue/<id>. Returns the count (0 if the file does
 * not exist), *entries set (free with dsn_log_free); -1 if unreadable.
 * Malformed entries are skipped with a warning.
 */
extern long dsn_log_read(const char *queue, const char *id, DSN_ENTRY **entries);
extern void dsn_log_free(DSN_ENTRY *entries, long count);
extern int dsn_log_remove(const char *queue, const char *id);

/*
 * One bit per log, for "which logs may exist for this message": qmgr keeps
 * such a mask per message so that it neither reads nor unlinks logs that
 * were never written; delivery agents report the logs they appended in
 * their reply (attribute "logs", docs/delivery-protocol.md).
 */
#define DSN_LOG_DEFER	1
#define DSN_LOG_BOUNCE	2
#define DSN_LOG_TRACE	4
#define DSN_LOG_ALL	(DSN_LOG_DEFER | DSN_LOG_BOUNCE | DSN_LOG_TRACE)
/* The bit of MAIL_QUEUE_DEFER, _BOUNCE or _TRACE; DSN_LOG_ALL if unknown. */
extern int dsn_log_bit(const char *queue);

#endif
