/*
 * deliver_request - the delivery request protocol, qmgr -> delivery agents.
 *
 * Full description: docs/delivery-protocol.md. In short:
 *
 *   qmgr connects to $queue_directory/private/<transport> (the master.cf
 *   service named by the resolver's transport), writes a request (an
 *   attr.h list, see DELIVER_REQUEST below for the attribute names) and
 *   waits for the reply "status=N" (+ optional "reason=TEXT", "logs=BITS",
 *   "keep=1"). With keep=1 the agent waits for another request on the same
 *   connection; qmgr never has two requests outstanding on one connection.
 *
 *   The agent, for each recipient of the request, does exactly one of
 *
 *	deliver_sent()     delivered (or deliverable, for sendmail -bv);
 *			   marks the recipient done in the queue file
 *	deliver_bounce()   permanent failure: appends to bounce/<ID>, then
 *			   marks the recipient done (soft_bounce=yes turns
 *			   this into deliver_defer with a 4.X.X status)
 *	deliver_defer()    temporary failure: appends to defer/<ID>
 *
 *   each of which also logs Postfix's line
 *
 *	ID: to=<rcpt>, [orig_to=<orig>, ]relay=R, delay=D, delays=a/b/c/d,
 *	    dsn=X.Y.Z, status=sent|deliverable|bounced|deferred (reason)
 *
 *   and returns DEL_STAT_OK or DEL_STAT_DEFER; the agent ORs the results
 *   of all recipients and sends that as the reply (deliver_request_done).
 *   A request the agent cannot process at all (queue file gone, bad
 *   request) is answered with DEL_STAT_DEFER after deferring every
 *   recipient, or, if the queue file itself is unusable, with
 *   DEL_STAT_DEFER and reason=... (qmgr then defers the message).
 *
 * A minimal agent (see src/discard/discard.c):
 *
 *	static int deliver(DELIVER_REQUEST *req)
 *	{
 *	    int status = 0;
 *
 *	    for (size_t i = 0; i < req->rcpt_count; i++) {
 *		DSN dsn = { .status = "2.0.0", .reason = "delivered" };
 *		status |= deliver_sent(req, &req->rcpt[i], "none", &dsn);
 *	    }
 *	    return (status);
 *	}
 *	static void on_accept(int fd, const char *service)
 *	{
 *	    deliver_request_serve(fd, deliver);	(requests until closed)
 *	}
 *
 * Agents run with their working directory at $queue_directory
 * (mail_queue_chdir()), which deliver_request_read() relies on.
 */
#ifndef POSTERN_DELIVER_REQUEST_H
#define POSTERN_DELIVER_REQUEST_H
#include <stdio.h>
#include <sys/time.h>

#include "attr.h"
#include "vstr.h"

/* Reply status; OR-able. */
#define DEL_STAT_OK	0		/* every recipient finished */
#define DEL_STAT_DEFER	1		/* some recipient must be retried */
#define DEL_STAT_SITE_FAIL 2		/* with DEFER: the destination itself
					 * failed (no connection, timeout):
					 * qmgr throttles the destination */

/* Request flags (attribute "flags"); same bits as trace_flags in the queue file. */
#define DEL_REQ_FLAG_MTA_VRFY	(1<<8)	/* address probe: don't deliver */
#define DEL_REQ_FLAG_USR_VRFY	(1<<9)	/* sendmail -bv: report, don't deliver */
#define DEL_REQ_FLAG_RECORD	(1<<10)	/* sendmail -v: deliver and report */
#define DEL_REQ_FLAG_VERIFY	(DEL_REQ_FLAG_MTA_VRFY | DEL_REQ_FLAG_USR_VRFY)

/* DSN NOTIFY bits (queue file 'n' record, attribute rcpt_notify). */
#define DSN_NOTIFY_NEVER	1
#define DSN_NOTIFY_SUCCESS	2
#define DSN_NOTIFY_FAILURE	4
#define DSN_NOTIFY_DELAY	8
/* DSN RET (ret_flags). */
#define DSN_RET_FULL	1
#define DSN_RET_HDRS	2

typedef struct RECIPIENT {
    long    offset;			/* queue-file offset of its R record */
    char   *address;			/* final recipient */
    char   *orig_addr;			/* original recipient ("" = same) */
    char   *dsn_orcpt;			/* DSN ORCPT "type;addr", or "" */
    int     dsn_notify;			/* DSN_NOTIFY_* mask, 0 = default */
} RECIPIENT;

typedef struct DELIVER_REQUEST {
    /* From the request (attribute names in quotes). */
    char   *transport;			/* "transport": master.cf service name */
    char   *queue_name;			/* "queue_name": normally "active" */
    char   *queue_id;			/* "queue_id" */
    long    data_offset;		/* "data_offset": offset of the M record */
    long    data_size;			/* "data_size": content bytes (M..X) */
    char   *nexthop;			/* "nexthop": resolver's nexthop */
    char   *encoding;			/* "encoding": 7bit, 8bitmime, or "" */
    int     smtputf8;			/* "smtputf8" */
    char   *sender;			/* "sender": envelope sender, "" = <> */
    char   *dsn_envid;			/* "envelope_id": DSN ENVID, or "" */
    int     dsn_ret;			/* "ret_flags": DSN_RET_*, 0 = default */
    int     flags;			/* "flags": DEL_REQ_FLAG_* */
    char   *client_name;		/* "client_name", "client_address", */
    char   *client_addr;		/* "client_port", "helo_name", */
    char   *client_port;		/* "protocol_name", "sasl_username": */
    char   *helo_name;			/* from the queue file's log_* attrs */
    char   *protocol_name;
    char   *sasl_username;
    char   *sasl_method;		/* "sasl_method", "sasl_sender", */
    char   *sasl_sender;
    char   *log_ident;			/* "log_ident": the first queue ID of
					 * forwarded mail ("" if none) */
    struct timeval arrival_time;	/* "arrival_time" sec.usec */
    struct timeval active_time;		/* "active_time": qmgr picked it up */
    long    content_length;		/* "content_length" (log size) */
    RECIPIENT *rcpt;			/* "rcpt_offset", "rcpt_orig",
					 * "rcpt_orcpt", "rcpt_notify",
					 * "rcpt_address", in that order, per
					 * recipient; rcpt_offset starts one */
    size_t  rcpt_count;
    /* Agent-side state. */
    struct timeval handoff_time;	/* when the agent received it */
    struct timeval conn_time;		/* agent sets: connection set up
					 * (delays "c"); 0 = no such phase */
    FILE   *fp;				/* the queue file, O_RDWR; read the
					 * content with deliver_read_line */
    int     content_state;		/* deliver_read_line() state */
    int     logs;			/* DSN_LOG_* bits of the logs appended
					 * for this request (reply "logs") */
} DELIVER_REQUEST;

/*
 * Delivery status of one recipient, RFC 3464 terms. status is "X.Y.Z".
 * action NULL: derived (delivered / failed / delayed). dtype/dtext:
 * Diagnostic-Code (e.g. "smtp", "550 5.1.1 <x>: unknown"); NULL = none.
 * mtype/mname: Remote-MTA (e.g. "dns", "mx.example.com"); NULL = none.
 */
typedef struct DSN {
    const char *status;
    const char *reason;
    const char *action;
    const char *dtype;
    const char *dtext;
    const char *mtype;
    const char *mname;
} DSN;

/* ---- qmgr side ---- */
/* Build a request list; recipients are added with deliver_request_add_rcpt. */
extern void deliver_request_add_rcpt(ATTR_LIST *, const RECIPIENT *);

/* ---- agent side ---- */
/*
 * Read one request from fd (blocking, with a timeout), open the queue
 * file and check it. Returns NULL (after logging a warning and, when
 * possible, replying DEL_STAT_DEFER) on a bad request or unusable file.
 */
extern DELIVER_REQUEST *deliver_request_read(int fd);
/* Reply status (and optional reason), free req, close fd. */
extern void deliver_request_done(int fd, DELIVER_REQUEST *req, int status);

/*
 * The request loop of an agent, for its on_accept callback: serve the
 * requests of one connection, one at a time. For each request fn delivers
 * every recipient and returns the status to reply. After the reply the
 * connection is kept for the next request (reply attribute keep=1) unless
 * the process reached max_use or drains; while it waits, the process
 * counts as an idle client (mail_server_client_idle), and the connection
 * is closed when the client closes it, after max_idle, on drain, or when
 * a new client needs the process.
 */
typedef int (*DELIVER_REQUEST_FN) (DELIVER_REQUEST *req);
extern void deliver_request_serve(int fd, DELIVER_REQUEST_FN fn);

/*
 * Batched requests (docs/delivery-protocol.md): one request may carry up
 * to LIMIT (at most DELIVER_BATCH_MAX) messages, each after the first
 * starting with next_message=1. fn gets the n messages in request order;
 * reqs[i] is 0 for a message that could not be parsed or opened (status[i]
 * is then DEL_STAT_DEFER already). fn sets status[i] for each other one.
 * The reply announces batch_limit=LIMIT, so qmgr learns that it may batch.
 * deliver_request_read() (plain agents) refuses a batched request.
 */
#define DELIVER_BATCH_MAX	64
#define DELIVER_NEXT_MESSAGE	"next_message"
#define DELIVER_BATCH_LIMIT	"batch_limit"
typedef void (*DELIVER_BATCH_FN) (DELIVER_REQUEST **reqs, size_t n, int *status);
extern void deliver_request_serve_batch(int fd, DELIVER_BATCH_FN fn, size_t limit);
/* Parse one message's attributes and open its queue file (0: *why). */
extern DELIVER_REQUEST *deliver_request_open(const ATTR_LIST *, const char **why);
extern void deliver_request_free(DELIVER_REQUEST *req);
/* Parse a request from an attribute list (no queue file access). */
extern DELIVER_REQUEST *deliver_request_parse(const ATTR_LIST *, const char **why);

/*
 * Read the message content one line at a time (without the LF; long
 * lines joined, bounded by limit). Returns 1 with a line in buf, 0 at
 * the end of the content, -1 on a corrupt queue file. The first call
 * starts at data_offset (the M record).
 */
extern int deliver_read_line(DELIVER_REQUEST *, VSTR *buf, size_t limit);
/* Rewind the content to its start (for a second delivery pass). */
extern int deliver_content_rewind(DELIVER_REQUEST *);

/* Per-recipient results: see the top of this file. relay: "none",
 * "local", "host[addr]:port" ... as Postfix logs it. */
extern int deliver_sent(DELIVER_REQUEST *, RECIPIENT *, const char *relay, const DSN *);
extern int deliver_defer(DELIVER_REQUEST *, RECIPIENT *, const char *relay, const DSN *);
extern int deliver_bounce(DELIVER_REQUEST *, RECIPIENT *, const char *relay, const DSN *);
/* Mark a recipient done in the queue file ('R' -> 'D'; no fsync, see .c). 0 or -1. */
extern int deliver_completed(DELIVER_REQUEST *, RECIPIENT *);
/* Defer or bounce every recipient with the same reason; returns status. */
extern int deliver_defer_all(DELIVER_REQUEST *, const char *relay, const DSN *);
extern int deliver_bounce_all(DELIVER_REQUEST *, const char *relay, const DSN *);

/* Postfix's delay number format ("0.12", "1.2", "2460"). */
extern const char *deliver_fmt_delay(VSTR *buf, double seconds);

/*
 * Log Postfix's line for one outcome (status "sent", "bounced", ...) and
 * append one entry to queue/<ID> (MAIL_QUEUE_BOUNCE, _DEFER, _TRACE),
 * without marking the recipient done: for agents that expand one queue
 * recipient into several deliveries and mark it when all are final.
 */
extern void deliver_log_status(DELIVER_REQUEST *, RECIPIENT *, const char *relay,
			               const DSN *, const char *status);
extern int deliver_log_entry(DELIVER_REQUEST *, const char *queue, RECIPIENT *,
			             const char *relay, const DSN *, const char *action);

#endif
