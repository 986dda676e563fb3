/* qmgr - the queue manager: internal interfaces (see docs/queue.md). */
#ifndef POSTERN_QMGR_H
#define POSTERN_QMGR_H
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "htable.h"
#include "qfile.h"
#include "vstr.h"

typedef struct QMGR_MESSAGE QMGR_MESSAGE;
typedef struct QMGR_ENTRY QMGR_ENTRY;
typedef struct QMGR_QUEUE QMGR_QUEUE;
typedef struct QMGR_TRANSPORT QMGR_TRANSPORT;
typedef struct QMGR_CONN QMGR_CONN;

struct QMGR_MESSAGE {
    char   *id;
    FILE   *fp;
    QFILE_INFO info;
    struct timeval active_time;
    int     refcount;			/* entries not finished, +1 while loading */
    int     deferred;			/* some recipient deferred */
    int     flags;			/* DEL_REQ_FLAG_* from trace_flags */
    int     logs;			/* DSN_LOG_* of logs that may exist */
};

struct QMGR_ENTRY {
    QMGR_MESSAGE *msg;
    QMGR_QUEUE *queue;
    size_t *rcpt;			/* indexes into msg->info.rcpt */
    size_t  nrcpt;
    QMGR_ENTRY *next;
};

struct QMGR_QUEUE {
    char   *name;			/* nexthop, or localpart@nexthop (lower case) */
    char   *nexthop;
    QMGR_TRANSPORT *transport;
    QMGR_ENTRY *head, *tail;		/* to do */
    long    todo;
    int     busy;
    int     window;			/* current concurrency limit */
    int     fails;			/* consecutive failed deliveries */
    time_t  dead_until;
    char   *dead_status;
    char   *dead_reason;
    QMGR_QUEUE *next;
};

struct QMGR_TRANSPORT {
    char   *name;
    HTABLE *queues;
    QMGR_QUEUE *list;
    QMGR_QUEUE *rr;			/* round-robin cursor */
    int     busy;
    int     proc_limit;
    int     dest_limit;
    int     rcpt_limit;
    int     deferred;			/* in defer_transports */
    time_t  dead_until;
    QMGR_CONN *idle;			/* kept agent connections, idle */
    QMGR_TRANSPORT *next;
};

#define QMGR_PRIORITIES	3		/* libevent: 0 = delivery replies first */

/* qmgr_deliver.c */
extern void qmgr_deliver_start(QMGR_ENTRY *);
extern void qmgr_deliver_sweep(QMGR_TRANSPORT *, time_t now);
/* qmgr.c */
extern void qmgr_entry_done(QMGR_ENTRY *, int status, const char *reason);
extern void qmgr_defer_entry(QMGR_ENTRY *, const char *status, const char *reason);
extern void qmgr_schedule_soon(void);
extern long qmgr_param_int(const char *transport, const char *suffix, const char *fallback);

#endif
