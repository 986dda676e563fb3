/*
 * qmgr - the queue manager (Postfix's qmgr(8)); see docs/queue.md.
 *
 * Moves messages from incoming (and, when due, deferred) into active,
 * resolves each live recipient to transport:nexthop, groups recipients
 * per destination (at most <transport>_destination_recipient_limit per
 * request) and hands them to delivery agents with per-transport process
 * limits and per-destination concurrency windows. When a message's last
 * request is done: notices from the bounce/trace logs, then removal, or
 * deferred with backoff, or expiry ("returned to sender").
 *
 * Triggers on public/qmgr: 'A' or 'I' scan incoming, 'D' scan deferred
 * (due files), 'F' flush: forget dead destinations, retry all deferred.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounce.h"
#include "deliver_request.h"
#include "dsn_log.h"
#include "htable.h"
#include "mail_addr_find.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "master_conf.h"
#include "mem.h"
#include "msg.h"
#include "qfile.h"
#include "qmgr.h"
#include "rec_type.h"
#include "resolve.h"
#include "stringops.h"
#include "vstr.h"

/* C record qmgr_flags bits (docs/queue-format.md): 1 = force-expired (postsuper -e),
 * 2 = the sendmail -v delivery report was mailed after the first attempt. */
#define QMGR_FLAG_TRACE_SENT	2

static HTABLE *qmgr_messages;		/* active messages by queue ID */
static HTABLE *qmgr_transport_table;
static QMGR_TRANSPORT *qmgr_transports;
static long qmgr_active_count;
static long qmgr_active_limit;
static int qmgr_scan_pending;		/* this scan stopped at the active limit */
static int qmgr_more_incoming;		/* incoming: scan not finished */
static int qmgr_more_deferred;		/* deferred: 1 due files, 2 all (flush) */
static struct event *qmgr_sched_ev;
static struct event *qmgr_timer_ev;
static struct event *qmgr_incoming_ev;
static MASTER_CONF *qmgr_master_cf;	/* for each transport's maxproc */
static int qmgr_scan_budget;		/* activations left in this pass (0: no limit) */
static int qmgr_scan_more;		/* budget used up: continue later */

/* ---- parameters ---- */

long    qmgr_param_int(const char *transport, const char *suffix, const char *fallback)
{
    VSTR   *name = vstr_alloc(64);
    const char *raw;
    long    val;

    (void) vstr_fmt(name, "%s_%s", transport, suffix);
    if ((raw = mail_conf_explicit(vstr_str(name))) != 0
	|| ((raw = mail_conf_raw(vstr_str(name))) != 0)) {
	char   *ev = mail_conf_eval(raw);
	char   *end;

	val = strtol(ev, &end, 10);
	if (*ev == 0 || *end)
	    val = mail_conf_int(fallback);
	free(ev);
    } else
	val = mail_conf_int(fallback);
    vstr_free(name);
    return (val);
}

static int qmgr_list_has(const char *param, const char *word)
{
    char   *list = xstrdup(mail_conf_str(param));
    char   *bp = list, *item;
    int     found = 0;

    while ((item = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
	if (strcmp(item, word) == 0)
	    found = 1;
    free(list);
    return (found);
}

static QMGR_TRANSPORT *qmgr_transport(const char *name)
{
    QMGR_TRANSPORT *t;

    if ((t = htable_find(qmgr_transport_table, name)) != 0)
	return (t);
    t = xcalloc(1, sizeof(*t));
    t->name = xstrdup(name);
    t->queues = htable_create(16);
    t->proc_limit = (int) qmgr_param_int(name, "process_limit", "default_process_limit");
    /* As Postfix: the master.cf maxproc of the service ("0": unlimited). */
    if (qmgr_master_cf) {
	MASTER_ENT *ent = master_conf_find(qmgr_master_cf, name, "unix");

	if (ent) {
	    int     mp = master_ent_maxproc(ent);

	    t->proc_limit = mp > 0 ? mp : 1000;
	}
    }
    t->dest_limit = (int) qmgr_param_int(name, "destination_concurrency_limit",
				      "default_destination_concurrency_limit");
    t->rcpt_limit = (int) qmgr_param_int(name, "destination_recipient_limit",
				      "default_destination_recipient_limit");
    if (t->proc_limit <= 0)
	t->proc_limit = 1;
    if (t->rcpt_limit <= 0)
	t->rcpt_limit = 1000000;
    t->deferred = qmgr_list_has("defer_transports", name);
    t->next = qmgr_transports;
    qmgr_transports = t;
    htable_enter(qmgr_transport_table, name, t);
    return (t);
}

/*
 * The name of a recipient's destination queue (Postfix's rule, qmgr(8) and
 * postconf(5) <transport>_destination_recipient_limit): normally the
 * nexthop. When the transport takes one recipient per delivery (local's
 * default), each recipient gets its own queue, named localpart@nexthop
 * without the recipient_delimiter extension, so that the
 * <transport>_destination_concurrency_limit applies per recipient: mail for
 * one slow mailbox cannot hold up deliveries to the others, and address
 * extensions or equivalent domains get no extra delivery slots. The error
 * and retry transports always use the nexthop (their "reason").
 */
static void qmgr_queue_name(VSTR *name, QMGR_TRANSPORT *t, const char *recipient,
			            const char *nexthop)
{
    if (t->rcpt_limit == 1 && strcmp(t->name, "error") != 0 && strcmp(t->name, "retry") != 0) {
	const char *at = strrchr(recipient, '@');
	size_t  len = at ? (size_t) (at - recipient) : strlen(recipient);
	const char *delims = mail_conf_str("recipient_delimiter");
	const char *dbs = mail_conf_str("double_bounce_sender");
	int     pos;

	(void) vstr_ncpy(name, recipient, len);
	/* Addresses Postfix never splits, then its owner-/-request rule. */
	if (delims && *delims && strcasecmp(vstr_str(name), "postmaster") != 0
	    && strcasecmp(vstr_str(name), "mailer-daemon") != 0
	    && !(dbs && strcasecmp(vstr_str(name), dbs) == 0)
	    && (pos = mail_addr_split_ext(vstr_str(name), delims)) > 0)
	    vstr_truncate(name, (size_t) pos);
	(void) vstr_fmt_append(name, "@%s", nexthop);
    } else
	(void) vstr_cpy(name, nexthop);
    vstr_lower(name);
}

static QMGR_QUEUE *qmgr_queue(QMGR_TRANSPORT *t, const char *name, const char *nexthop)
{
    QMGR_QUEUE *q;

    if ((q = htable_find(t->queues, name)) == 0) {
	q = xcalloc(1, sizeof(*q));
	q->name = xstrdup(name);
	q->nexthop = xstrdup(nexthop);
	q->transport = t;
	q->window = (int) mail_conf_int("initial_destination_concurrency");
	if (q->window <= 0)
	    q->window = 1;
	if (t->dest_limit > 0 && q->window > t->dest_limit)
	    q->window = t->dest_limit;
	q->next = t->list;
	t->list = q;
	htable_enter(t->queues, q->name, q);
    }
    return (q);
}

/* Forget a destination with nothing to do (keeps scheduling O(busy)). */
static void qmgr_queue_unlink(QMGR_QUEUE *q)
{
    QMGR_TRANSPORT *t = q->transport;
    QMGR_QUEUE **pp;

    for (pp = &t->list; *pp; pp = &(*pp)->next)
	if (*pp == q) {
	    *pp = q->next;
	    break;
	}
    if (t->rr == q)
	t->rr = q->next;
    htable_delete(t->queues, q->name, 0);
    free(q->name);
    free(q->nexthop);
    free(q->dead_reason);
    free(q->dead_status);
    free(q);
}

/* ---- deferring recipients without an agent ---- */

static void qmgr_defer_rcpts(QMGR_MESSAGE *m, size_t *idx, size_t n, const char *relay,
			             const char *status, const char *reason)
{
    DELIVER_REQUEST req;
    DSN     dsn = {.status = status,.reason = reason};

    memset(&req, 0, sizeof(req));
    req.queue_id = m->id;
    req.arrival_time = m->info.arrival;
    req.active_time = m->active_time;
    (void) gettimeofday(&req.handoff_time, 0);
    req.flags = m->flags & ~DEL_REQ_FLAG_VERIFY;
    for (size_t k = 0; k < n; k++) {
	QFILE_RCPT *r = m->info.rcpt + idx[k];
	RECIPIENT rc = {.offset = r->offset,.address = r->address,
	.orig_addr = r->orig_addr,.dsn_orcpt = r->dsn_orcpt,.dsn_notify = r->dsn_notify};

	(void) deliver_defer(&req, &rc, relay, &dsn);
    }
    m->logs |= req.logs;
    m->deferred = 1;
}

void    qmgr_defer_entry(QMGR_ENTRY *e, const char *status, const char *reason)
{
    qmgr_defer_rcpts(e->msg, e->rcpt, e->nrcpt, "none", status, reason);
}

/*
 * IDs of messages outside active whose defer/bounce/trace logs may exist.
 * A message activated from incoming whose ID is not here has no log
 * (it is new), so qmgr neither reads nor removes any for it unless this
 * delivery wrote one (m->logs). Filled at start from the log directories
 * and with the files requeued from active (a previous qmgr's agents may
 * still write their logs); then when a message leaves active with logs
 * (postsuper -r may move it from deferred back to incoming). Messages
 * from deferred are always assumed to have logs. When the table has
 * grown much since it was built (IDs of messages removed by postsuper),
 * it is built again from the directories.
 */
static HTABLE *qmgr_logs_ids;
static size_t qmgr_logs_rebuild_at;

static void qmgr_logs_scan(const char *dir, int depth)
{
    DIR    *dp;
    struct dirent *de;
    VSTR   *sub;

    if ((dp = opendir(dir)) == 0)
	return;
    sub = vstr_alloc(64);
    while ((de = readdir(dp)) != 0) {
	if (de->d_name[0] == '.')
	    continue;
	if (depth > 0 && strlen(de->d_name) == 1) {
	    (void) vstr_fmt(sub, "%s/%s", dir, de->d_name);
	    qmgr_logs_scan(vstr_str(sub), depth - 1);
	} else if (mail_queue_id_ok(de->d_name))
	    (void) htable_enter(qmgr_logs_ids, de->d_name, (void *) 1);
    }
    closedir(dp);
    vstr_free(sub);
}

static void qmgr_logs_build(void)
{
    static const char *const logs[] = {MAIL_QUEUE_DEFER, MAIL_QUEUE_BOUNCE, MAIL_QUEUE_TRACE, 0};

    if (qmgr_logs_ids)
	htable_free(qmgr_logs_ids, 0);
    qmgr_logs_ids = htable_create(64);
    for (const char *const *q = logs; *q; q++)
	qmgr_logs_scan(*q, mail_queue_hashed(*q) ? (int) mail_conf_int("hash_queue_depth") : 0);
    qmgr_logs_rebuild_at = 2 * qmgr_logs_ids->used + 10000;
}

static void qmgr_logs_note(const char *id)
{
    if (htable_find(qmgr_logs_ids, id) == 0) {
	(void) htable_enter(qmgr_logs_ids, id, (void *) 1);
	if (qmgr_logs_ids->used > qmgr_logs_rebuild_at)
	    qmgr_logs_build();
    }
}

static void qmgr_logs_forget(const char *id)
{
    htable_delete(qmgr_logs_ids, id, 0);
}

/* ---- message completion ---- */

static void qmgr_message_free(QMGR_MESSAGE *m)
{
    htable_delete(qmgr_messages, m->id, 0);
    if (m->fp)
	(void) fclose(m->fp);
    qfile_info_free(&m->info);
    free(m->id);
    free(m);
    qmgr_active_count--;
    /* Refill in batches: one directory pass per quarter of the limit. */
    if ((qmgr_more_incoming || qmgr_more_deferred)
	&& qmgr_active_count <= qmgr_active_limit - (qmgr_active_limit + 3) / 4)
	event_active(qmgr_incoming_ev, EV_TIMEOUT, 0);
}

/* Remove the logs that may exist (m->logs), and forget the message's ID. */
static void qmgr_remove_logs(QMGR_MESSAGE *m)
{
    if (m->logs & DSN_LOG_DEFER)
	(void) dsn_log_remove(MAIL_QUEUE_DEFER, m->id);
    if (m->logs & DSN_LOG_BOUNCE)
	(void) dsn_log_remove(MAIL_QUEUE_BOUNCE, m->id);
    if (m->logs & DSN_LOG_TRACE)
	(void) dsn_log_remove(MAIL_QUEUE_TRACE, m->id);
    m->logs = 0;
    qmgr_logs_forget(m->id);
}

static void qmgr_remove(QMGR_MESSAGE *m)
{
    if (mail_queue_remove(MAIL_QUEUE_ACTIVE, m->id) < 0 && errno != ENOENT)
	msg_warn("%s: remove active/%s: %m", m->id, m->id);
    qmgr_remove_logs(m);
    msg_info("%s: removed", m->id);
}

static int qmgr_notify(QMGR_MESSAGE *m, const char *queue, int kind)
{
    DSN_ENTRY *e;
    long    n;
    int     ret = 0;

    if ((m->logs & dsn_log_bit(queue)) == 0)
	return (0);				/* never written */
    n = dsn_log_read(queue, m->id, &e);
    if (n < 0) {
	msg_warn("%s: read %s log: %m", m->id, queue);
	return (-1);
    }
    if (n > 0) {
	ret = bounce_notify(m->id, m->fp, &m->info, kind, e, n);
	event_active(qmgr_incoming_ev, EV_TIMEOUT, 0);	/* pick up the notice */
    }
    dsn_log_free(e, n);
    if (ret == 0 && kind != BOUNCE_DELAYED) {
	(void) dsn_log_remove(queue, m->id);
	m->logs &= ~dsn_log_bit(queue);
    }
    return (ret);
}

/* Rewrite the C record's qmgr_flags field (4th, fixed width) in place. */
static void qmgr_set_flags(QMGR_MESSAGE *m, long flags)
{
    char    buf[32];

    if (m->info.size_offset <= 0 || m->fp == 0)
	return;
    (void) snprintf(buf, sizeof(buf), "%15ld", flags % 1000000000000000L);
    if (pwrite(fileno(m->fp), buf, 15, m->info.size_offset + 2 + 48) != 15
	|| fsync(fileno(m->fp)) < 0)
	msg_warn("%s: update queue file flags: %m", m->id);
    else
	m->info.qmgr_flags = flags;
}

static void qmgr_set_warn(QMGR_MESSAGE *m, long value)
{
    char    buf[16];

    if (m->info.warn_offset <= 0 || m->fp == 0)
	return;
    (void) snprintf(buf, sizeof(buf), "%15ld", value);
    if (pwrite(fileno(m->fp), buf, 15, m->info.warn_offset + 2) != 15)
	msg_warn("%s: update warning time: %m", m->id);
}

static FILE *qmgr_open(QMGR_MESSAGE *m)
{
    VSTR   *path = vstr_alloc(64);
    FILE   *fp = fopen(mail_queue_path(path, MAIL_QUEUE_ACTIVE, m->id), "r+");

    if (fp == 0 && errno != ENOENT)
	msg_warn("%s: open %s: %m", m->id, vstr_str(path));
    vstr_free(path);
    return (fp);
}

static void qmgr_message_done(QMGR_MESSAGE *m)
{
    time_t  now = time(0);
    int     null_sender = (*m->info.sender == 0);
    long    lifetime = mail_conf_time(null_sender ? "bounce_queue_lifetime"
				      : "maximal_queue_lifetime");
    int     notify_trace = (m->flags & (DEL_REQ_FLAG_VERIFY | DEL_REQ_FLAG_RECORD)) ?
    BOUNCE_VERIFY : BOUNCE_SUCCESS;

    /*
     * Every recipient done and no notice to send: remove the file without
     * opening it (the common case: no log was written either).
     */
    if (!m->deferred && (m->logs & (DSN_LOG_BOUNCE | DSN_LOG_TRACE)) == 0) {
	if (mail_queue_remove(MAIL_QUEUE_ACTIVE, m->id) < 0) {
	    if (errno == ENOENT) {
		msg_info("%s: queue file removed during delivery", m->id);
		m->logs = DSN_LOG_ALL;
		qmgr_remove_logs(m);
		qmgr_message_free(m);
		return;
	    }
	    msg_warn("%s: remove active/%s: %m", m->id, m->id);
	}
	qmgr_remove_logs(m);
	msg_info("%s: removed", m->id);
	qmgr_message_free(m);
	return;
    }
    /* The queue file is open only while we work on it (fd economy). */
    if ((m->fp = qmgr_open(m)) == 0 && errno == ENOENT) {
	msg_info("%s: queue file removed during delivery", m->id);
	m->logs = DSN_LOG_ALL;
	qmgr_remove_logs(m);
	qmgr_message_free(m);
	return;
    }
    if (m->fp == 0) {
	m->deferred = 1;			/* cannot read it now: try later */
	goto defer;
    }
    /* Failed recipients: non-delivery notification now. */
    if (qmgr_notify(m, MAIL_QUEUE_BOUNCE, BOUNCE_FAILED) < 0)
	m->deferred = 1;
    if (!m->deferred || (m->flags & DEL_REQ_FLAG_VERIFY)) {
	(void) qmgr_notify(m, MAIL_QUEUE_TRACE, notify_trace);
	qmgr_remove(m);
	qmgr_message_free(m);
	return;
    }
    /* sendmail -v: the report covers the first delivery attempt only. */
    if ((m->flags & DEL_REQ_FLAG_RECORD) && qmgr_notify(m, MAIL_QUEUE_TRACE, notify_trace) == 0)
	qmgr_set_flags(m, m->info.qmgr_flags | QMGR_FLAG_TRACE_SENT);
    /* Deferred: give up, warn, or retry later. */
    if (now - m->info.arrival.tv_sec > lifetime || (m->info.qmgr_flags & 1)) {
	DSN_ENTRY *e;
	long    n = dsn_log_read(MAIL_QUEUE_DEFER, m->id, &e);

	if (n > 0)
	    event_active(qmgr_incoming_ev, EV_TIMEOUT, 0);
	if (n > 0 && bounce_notify(m->id, m->fp, &m->info, BOUNCE_FAILED, e, n) < 0) {
	    dsn_log_free(e, n);
	    goto defer;
	}
	dsn_log_free(e, n);
	msg_info("%s: from=<%s>, status=%s, returned to sender", m->id, m->info.sender,
		 (m->info.qmgr_flags & 1) ? "force-expired" : "expired");
	(void) qmgr_notify(m, MAIL_QUEUE_TRACE, notify_trace);
	qmgr_remove(m);
	qmgr_message_free(m);
	return;
    }
    {
	/* W: 0 = not set (use arrival + delay_warning_time), -1 = sent. */
	long    dwt = mail_conf_time("delay_warning_time");
	long    warn = m->info.warn_time ? m->info.warn_time
	: (dwt > 0 ? m->info.arrival.tv_sec + dwt : 0);

	if (warn > 0 && now >= warn
	    && qmgr_notify(m, MAIL_QUEUE_DEFER, BOUNCE_DELAYED) == 0)
	    qmgr_set_warn(m, -1);
    }
defer:
    {
	long    delay = now - m->info.arrival.tv_sec;
	long    minb = mail_conf_time("minimal_backoff_time");
	long    maxb = mail_conf_time("maximal_backoff_time");
	struct timeval tv[2];
	VSTR   *path = vstr_alloc(64);

	if (delay > maxb)
	    delay = maxb;
	if (delay < minb)
	    delay = minb;
	tv[0].tv_sec = tv[1].tv_sec = now + delay;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	(void) fflush(m->fp);
	if (utimes(mail_queue_path(path, MAIL_QUEUE_ACTIVE, m->id), tv) < 0 && errno != ENOENT)
	    msg_warn("%s: set next attempt time: %m", m->id);
	if (mail_queue_rename(m->id, MAIL_QUEUE_ACTIVE, MAIL_QUEUE_DEFERRED) < 0) {
	    if (errno == ENOENT)
		msg_info("%s: queue file removed during delivery", m->id);
	    else
		msg_warn("%s: move to deferred: %m", m->id);
	}
	if (m->logs)
	    qmgr_logs_note(m->id);
	vstr_free(path);
    }
    qmgr_message_free(m);
}

static void qmgr_message_unref(QMGR_MESSAGE *m)
{
    if (--m->refcount == 0)
	qmgr_message_done(m);
}

/* ---- entries ---- */

static void qmgr_entry_free(QMGR_ENTRY *e)
{
    free(e->rcpt);
    free(e);
}

/*
 * One request is finished: it held one busy slot of its queue and of its
 * transport, however many messages (entries, linked by batch_next) it
 * carried, and the concurrency window feedback is applied once, from the
 * OR of the messages' results. Then each entry is finished with its own
 * result: mst[i] when the agent gave one per message (n = the number of
 * entries), else status for every entry. status < 0: no usable reply, every
 * entry is deferred here.
 */
void    qmgr_batch_done(QMGR_ENTRY *first, int status, const char *reason,
			        const long *mst, size_t n)
{
    QMGR_QUEUE *q = first->queue;
    QMGR_TRANSPORT *t = q->transport;
    QMGR_ENTRY *e, *next;
    size_t  count = 0, k;
    int     all = 0;

    for (e = first; e; e = e->batch_next)
	count++;
    if (mst == 0 || n != count || status < 0)
	n = 0;
    for (k = 0; k < n; k++)
	all |= (int) (mst[k] & (DEL_STAT_DEFER | DEL_STAT_SITE_FAIL));
    if (n == 0)
	all = status;
    q->busy--;
    t->busy--;
    for (e = first, k = 0; e; e = e->batch_next, k++) {
	QMGR_MESSAGE *m = e->msg;
	int     st = n ? (int) mst[k] : status;

	if (st < 0) {
	    /* No usable reply: the agent did not get to these recipients. */
	    qmgr_defer_entry(e, "4.3.0", reason ? reason : "mail transport unavailable");
	} else if (st & DEL_STAT_DEFER) {
	    m->deferred = 1;
	    if (st & DEL_STAT_SITE_FAIL) {
		DSN_ENTRY *de;
		long    nd = dsn_log_read(MAIL_QUEUE_DEFER, m->id, &de);

		if (nd > 0) {
		    free(q->dead_reason);
		    free(q->dead_status);
		    q->dead_reason = xstrdup(de[nd - 1].reason);
		    q->dead_status = xstrdup(de[nd - 1].status);
		}
		dsn_log_free(de, nd);
	    }
	}
    }
    /* Window feedback: once per request. */
    if (all < 0) {
	q->window = 1;
    } else if (all & DEL_STAT_DEFER) {
	if (all & DEL_STAT_SITE_FAIL) {
	    q->fails++;
	    q->window = 1;
	    if (q->fails >= 2 && q->busy == 0)
		q->dead_until = time(0) + mail_conf_time("queue_run_delay");
	} else if (reason && q->window > 1)
	    q->window--;
    } else {
	q->fails = 0;
	if (q->window < t->dest_limit || t->dest_limit == 0)
	    q->window++;
    }
    for (e = first; e; e = next) {
	QMGR_MESSAGE *m = e->msg;

	next = e->batch_next;
	qmgr_entry_free(e);
	qmgr_message_unref(m);
    }
    qmgr_schedule_soon();
}

void    qmgr_entry_done(QMGR_ENTRY *e, int status, const char *reason)
{
    qmgr_batch_done(e, status, reason, 0, 0);
}

static void qmgr_queue_append(QMGR_QUEUE *q, QMGR_ENTRY *e)
{
    e->next = 0;
    if (q->tail)
	q->tail->next = e;
    else
	q->head = e;
    q->tail = e;
    q->todo++;
}

/* ---- scheduling ---- */

static struct event *qmgr_tick_ev;

/*
 * Batched requests (docs/delivery-protocol.md): when the transport's agent
 * takes several messages per request (it said batch_limit=N in a reply),
 * the request for entry e carries more entries from the head of the same
 * queue - with local_destination_recipient_limit = 1, messages for the
 * same recipient. It never waits for more mail, and it takes at most:
 * the agent's limit and QMGR_BATCH_MAX messages; QMGR_BATCH_BYTES of
 * content; share = ceil(todo / free slots) entries, so that a short
 * backlog is spread over every free delivery slot (parallel as before)
 * and only a long one makes full batches. Address probes and sendmail -bv
 * always go alone, and so does a message already in the batch (several
 * entries of one message).
 */
#define QMGR_BATCH_MAX		32
#define QMGR_BATCH_BYTES	(8L << 20)

static void qmgr_batch_more(QMGR_QUEUE *q, QMGR_ENTRY *e, long share)
{
    QMGR_TRANSPORT *t = q->transport;
    long    limit = t->batch_limit < QMGR_BATCH_MAX ? t->batch_limit : QMGR_BATCH_MAX;
    long    bytes = e->msg->info.content_length;
    long    nb = 1;
    QMGR_ENTRY *last = e, *x, *y;

    if (share < limit)
	limit = share;
    if (e->msg->flags & DEL_REQ_FLAG_VERIFY)
	return;
    while (nb < limit && (x = q->head) != 0) {
	if (x->msg->flags & DEL_REQ_FLAG_VERIFY)
	    break;
	if (bytes + x->msg->info.content_length > QMGR_BATCH_BYTES)
	    break;
	for (y = e; y; y = y->batch_next)
	    if (y->msg == x->msg)
		break;
	if (y)
	    break;
	q->head = x->next;
	if (q->head == 0)
	    q->tail = 0;
	q->todo--;
	bytes += x->msg->info.content_length;
	x->batch_next = 0;
	last->batch_next = x;
	last = x;
	nb++;
    }
}

static void qmgr_schedule(evutil_socket_t fd, short what, void *arg)
{
    static time_t last_housekeeping;
    time_t  now = time(0);
    int     housekeeping = (now != last_housekeeping);

    /*
     * Housekeeping (at most once a second, so that a scheduling pass costs
     * O(busy destinations), not O(all destinations)): defer what waits for
     * dead or deferred transports and dead destinations, forget idle
     * destinations. The pick loop below skips dead ones meanwhile.
     */
    last_housekeeping = now;
    for (QMGR_TRANSPORT *t = qmgr_transports; t; t = t->next) {
	QMGR_QUEUE *qnext;

	for (QMGR_QUEUE *q = housekeeping || t->deferred ? t->list : 0; q; q = qnext) {
	    qnext = q->next;
	    if (q->head == 0 && q->busy == 0 && q->dead_until <= now) {
		qmgr_queue_unlink(q);
		continue;
	    }
	    /* Dead destination or transport: defer what waits there. */
	    int     dead_q = q->dead_until > now;
	    int     dead_t = t->dead_until > now;

	    while ((dead_q || dead_t || t->deferred) && q->head) {
		QMGR_ENTRY *e = q->head;
		VSTR   *why = vstr_alloc(128);

		q->head = e->next;
		if (q->head == 0)
		    q->tail = 0;
		q->todo--;
		if (t->deferred)
		    (void) vstr_cpy(why, "deferred transport");
		else if (dead_t)
		    (void) vstr_cpy(why, "mail transport unavailable");
		else
		    (void) vstr_fmt(why, "delivery temporarily suspended: %s",
				    q->dead_reason ? q->dead_reason : "destination unavailable");
		qmgr_defer_entry(e, t->deferred ? "4.3.2" : dead_t ? "4.3.0" :
			       (q->dead_status ? q->dead_status : "4.4.1"), vstr_str(why));
		vstr_free(why);
		{
		    QMGR_MESSAGE *m = e->msg;

		    qmgr_entry_free(e);
		    qmgr_message_unref(m);
		}
	    }
	}
	/* Round robin over destinations within the process limit. */
	while (t->busy < t->proc_limit && t->dead_until <= now) {
	    QMGR_QUEUE *start = t->rr ? t->rr : t->list, *q = start;
	    QMGR_QUEUE *pick = 0;

	    if (q == 0)
		break;
	    do {
		if (q->head && q->busy < q->window && q->dead_until <= now) {
		    pick = q;
		    break;
		}
		q = q->next ? q->next : t->list;
	    } while (q != start);
	    if (pick == 0)
		break;
	    t->rr = pick->next ? pick->next : t->list;
	    {
		QMGR_ENTRY *e = pick->head;

		pick->head = e->next;
		if (pick->head == 0)
		    pick->tail = 0;
		/* Before taking the slot: what waits, per free slot. */
		long    free_slots = pick->window - pick->busy;
		long    share = free_slots > 0 ? (pick->todo + free_slots - 1) / free_slots : 1;

		pick->todo--;
		pick->busy++;
		t->busy++;
		e->batch_next = 0;
		qmgr_batch_more(pick, e, share);
		qmgr_deliver_start(e);
	    }
	}
    }
}

static void qmgr_tick(evutil_socket_t fd, short what, void *arg)
{
    struct timeval tv = {1, 0};

    qmgr_schedule(-1, 0, 0);
    for (QMGR_TRANSPORT *t = qmgr_transports; t; t = t->next)
	if (t->idle)
	    qmgr_deliver_sweep(t, time(0));
    evtimer_add(qmgr_tick_ev, &tv);
}

void    qmgr_schedule_soon(void)
{
    event_active(qmgr_sched_ev, EV_TIMEOUT, 0);
}

/* ---- activation ---- */

static void qmgr_corrupt(const char *queue, const char *id, const char *why)
{
    msg_warn("%s: queue file %s/%s: %s", id, queue, id, why);
    msg_warn("saving corrupt file \"%s\" from queue \"%s\" to queue \"%s\"",
	     id, queue, MAIL_QUEUE_CORRUPT);
    if (mail_queue_rename(id, queue, MAIL_QUEUE_CORRUPT) < 0 && errno != ENOENT)
	msg_warn("%s: save corrupt file queue %s id %s: %m", id, queue, id);
}

/*
 * header/body_checks and access-table actions recorded by cleanup (docs/
 * queue-format.md), applied as Postfix 3.7's qmgr does (checked against it):
 * REDIRECT replaces the recipients with its address, delivered once, logged
 * with the first recipient as orig_to; FILTER sends every recipient to
 * "transport:nexthop" without resolving it; an empty nexthop means
 * $default_filter_nexthop, else the recipient's domain.
 */
static void qmgr_redirect_rcpt(QFILE_RCPT *r, const char *addr)
{
    if (strcmp(r->address, addr) == 0)
	return;
    if (r->orig_addr == 0 || *r->orig_addr == 0) {
	free(r->orig_addr);
	r->orig_addr = r->address;
    } else
	free(r->address);
    r->address = xstrdup(addr);
}

static void qmgr_filter_reply(const char *filter, const char *rcpt, RESOLVE_REPLY *rr)
{
    const char *colon = strchr(filter, ':');
    const char *at;

    rr->flags = 0;
    (void) vstr_cpy(rr->recipient, rcpt);
    if (colon == 0) {
	(void) vstr_cpy(rr->transport, filter);
	colon = "";
    } else
	(void) vstr_ncpy(rr->transport, filter, (size_t) (colon++ - filter));
    if (*colon == 0)
	colon = mail_conf_str("default_filter_nexthop");
    if (*colon == 0 && (at = strrchr(rcpt, '@')) != 0)
	colon = at + 1;
    if (*colon == 0)
	colon = mail_conf_str("myhostname");
    (void) vstr_cpy(rr->nexthop, colon);
    if (vstr_last(rr->nexthop) == '.')
	vstr_truncate(rr->nexthop, vstr_len(rr->nexthop) - 1);
    if (vstr_len(rr->transport) == 0)
	(void) vstr_cpy(rr->transport, "error");
}

/*
 * A stream to read a queue file from. One that fits in QMGR_READ_BUF (most
 * do) is read with one read(2) and parsed from memory: stdio would add an
 * fcntl, an fstat, lseeks and a read per 4 KiB. fd is closed either way
 * (with the stream when it is read through stdio).
 */
#define QMGR_READ_BUF	(64 * 1024)

static FILE *qmgr_fdopen_read(int fd)
{
    static char *buf;
    ssize_t n;
    FILE   *fp;

    if (buf == 0)
	buf = xmalloc(QMGR_READ_BUF);
    while ((n = read(fd, buf, QMGR_READ_BUF)) < 0 && errno == EINTR)
	 /* void */ ;
    if (n > 0 && n < QMGR_READ_BUF && (fp = fmemopen(buf, (size_t) n, "r")) != 0) {
	(void) close(fd);
	return (fp);
    }
    if (lseek(fd, 0, SEEK_SET) < 0 || (fp = fdopen(fd, "r")) == 0) {
	(void) close(fd);
	return (0);
    }
    return (fp);
}

/* Returns 1 when the file was moved into active, else 0. */
static int qmgr_activate(const char *queue, const char *id)
{
    int     activated = 0;
    QMGR_MESSAGE *m;
    VSTR   *path = vstr_alloc(64), *why = vstr_alloc(64);
    RESOLVE_REPLY rr;
    int     redirected;
    HTABLE *pending;
    VSTR   *qname = vstr_alloc(64);
    int     fd;
    FILE   *fp;
    const char *tf;

    if (htable_find(qmgr_messages, id))
	goto out;
    /* Read it where it is; only a readable file moves into active. */
    (void) mail_queue_path(path, queue, id);
    if ((fd = open(vstr_str(path), O_RDONLY | O_CLOEXEC)) < 0) {
	if (errno != ENOENT)
	    msg_warn("%s: open %s: %m", id, vstr_str(path));
	goto out;
    }
    /*
     * A delivery agent of a previous qmgr (before postfix reload) may still
     * work on it: it holds a shared lock. Leave the file where it is, as
     * Postfix does; the next scan takes it, with what the agent marked done.
     */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
	if (errno == EWOULDBLOCK)
	    msg_info("%s: skipped, still being delivered", id);
	else
	    msg_warn("%s: lock %s: %m", id, vstr_str(path));
	(void) close(fd);
	goto out;
    }
    m = xcalloc(1, sizeof(*m));
    m->id = xstrdup(id);
    fp = qmgr_fdopen_read(fd);
    if (fp == 0 || qfile_read(fp, &m->info, why) < 0
	|| (m->info.maildrop && vstr_cpy(why, "maildrop file outside the maildrop queue") == 0)) {
	if (fp)
	    (void) fclose(fp);
	qmgr_corrupt(queue, id, vstr_len(why) ? vstr_str(why) : "unreadable");
	qfile_info_free(&m->info);
	free(m->id);
	free(m);
	goto out;
    }
    (void) fclose(fp);
    if (mail_queue_rename(id, queue, MAIL_QUEUE_ACTIVE) < 0) {
	if (errno != ENOENT)
	    msg_warn("%s: move %s/%s to active: %m", id, queue, id);
	qfile_info_free(&m->info);
	free(m->id);
	free(m);
	goto out;
    }
    (void) gettimeofday(&m->active_time, 0);
    m->refcount = 1;
    if ((tf = qfile_attr(&m->info, "trace_flags")) != 0)
	m->flags = atoi(tf) & (DEL_REQ_FLAG_VERIFY | DEL_REQ_FLAG_RECORD);
    if (m->info.qmgr_flags & QMGR_FLAG_TRACE_SENT)	/* -v report already mailed */
	m->flags &= ~DEL_REQ_FLAG_RECORD;
    htable_enter(qmgr_messages, m->id, m);
    qmgr_active_count++;
    /* A new message has no logs; others may have any. */
    m->logs = (strcmp(queue, MAIL_QUEUE_INCOMING) == 0
	       && htable_find(qmgr_logs_ids, id) == 0) ? 0 : DSN_LOG_ALL;
    /* Fresh attempt: the previous attempt's deferral reasons go. */
    if (m->logs & DSN_LOG_DEFER) {
	(void) dsn_log_remove(MAIL_QUEUE_DEFER, id);
	m->logs &= ~DSN_LOG_DEFER;
    }
    msg_info("%s: from=<%s>, size=%ld, nrcpt=%ld (queue active)", id, m->info.sender,
	     m->info.content_length, (long) m->info.nrcpt);

    resolve_reply_init(&rr);
    pending = htable_create(8);
    redirected = 0;
    for (size_t i = 0; i < m->info.nrcpt; i++) {
	QFILE_RCPT *r = m->info.rcpt + i;
	QMGR_TRANSPORT *t;
	QMGR_QUEUE *q;
	QMGR_ENTRY *e;

	if (r->done)
	    continue;
	if (m->info.qmgr_flags & 1) {		/* postsuper -e */
	    qmgr_defer_rcpts(m, &i, 1, "none", "4.7.0", "message is administratively expired");
	    continue;
	}
	if (m->info.redirect) {
	    /* All recipients become one address: deliver it once (Postfix). */
	    if (redirected++)
		continue;
	    qmgr_redirect_rcpt(r, m->info.redirect);
	}
	if (m->info.filter)
	    qmgr_filter_reply(m->info.filter, r->address, &rr);
	else
	    resolve_addr(r->address, &rr);
	if (rr.flags & RESOLVE_FLAG_FAIL) {
	    qmgr_defer_rcpts(m, &i, 1, "none", "4.3.0", "address resolver failure");
	    continue;
	}
	t = qmgr_transport(vstr_str(rr.transport));
	qmgr_queue_name(qname, t, vstr_str(rr.recipient), vstr_str(rr.nexthop));
	q = qmgr_queue(t, vstr_str(qname), vstr_str(rr.nexthop));
	/* Fill the open entry for this destination up to the recipient limit. */
	{
	    VSTR   *key = vstr_alloc(64);

	    (void) vstr_fmt(key, "%s:%s", t->name, q->name);
	    e = htable_find(pending, vstr_str(key));
	    if (e == 0 || e->nrcpt >= (size_t) t->rcpt_limit) {
		e = xcalloc(1, sizeof(*e));
		e->msg = m;
		e->queue = q;
		m->refcount++;
		qmgr_queue_append(q, e);
		htable_enter(pending, vstr_str(key), e);
	    }
	    vstr_free(key);
	}
	e->rcpt = xrealloc(e->rcpt, (e->nrcpt + 1) * sizeof(size_t));
	e->rcpt[e->nrcpt++] = i;
    }
    htable_free(pending, 0);
    vstr_free(qname);
    resolve_reply_free(&rr);
    qmgr_message_unref(m);
    qmgr_schedule_soon();
    activated = 1;
out:
    vstr_free(path);
    vstr_free(why);
    return (activated);
}

/* ---- queue scans ---- */

static void qmgr_scan_dir(const char *queue, const char *dir, int depth, int all, time_t now)
{
    DIR    *dp;
    struct dirent *de;
    VSTR   *sub = vstr_alloc(64);

    if ((dp = opendir(dir)) == 0) {
	if (errno != ENOENT)
	    msg_warn("open queue directory %s: %m", dir);
	vstr_free(sub);
	return;
    }
    while ((de = readdir(dp)) != 0) {
	struct stat st;

	if (de->d_name[0] == '.')
	    continue;
	if (qmgr_scan_more)
	    break;
	if (qmgr_active_count >= qmgr_active_limit) {
	    qmgr_scan_pending = 1;
	    break;
	}
	(void) vstr_fmt(sub, "%s/%s", dir, de->d_name);
	if (depth > 0 && strlen(de->d_name) == 1) {
	    qmgr_scan_dir(queue, vstr_str(sub), depth - 1, all, now);
	    continue;
	}
	if (!mail_queue_id_ok(de->d_name))
	    continue;
	if (stat(vstr_str(sub), &st) < 0 || !S_ISREG(st.st_mode))
	    continue;
	if (strcmp(queue, MAIL_QUEUE_INCOMING) == 0 && !(st.st_mode & S_IXUSR)) {
	    /* Being written; abandoned if older than an hour. */
	    if (now - st.st_mtime > 3600)
		qmgr_corrupt(queue, de->d_name, "incomplete queue file older than one hour");
	    continue;
	}
	if (strcmp(queue, MAIL_QUEUE_DEFERRED) == 0 && !all && st.st_mtime > now)
	    continue;
	if (qmgr_activate(queue, de->d_name) && qmgr_scan_budget > 0
	    && --qmgr_scan_budget == 0)
	    qmgr_scan_more = 1;
    }
    closedir(dp);
    vstr_free(sub);
}

/*
 * Scan a queue, activating at most QMGR_SCAN_SLICE files per call. A scan
 * cut short (slice used up, or the active limit) is remembered per queue
 * and continued by the incoming event: it has the lowest priority and the
 * agents' replies the highest, so a stream of new mail (one 'A' trigger per
 * message) or a flush of a large deferred queue never holds up the dispatch
 * of deliveries; between slices the next requests go out.
 */
#define QMGR_SCAN_SLICE	64

static void qmgr_scan(const char *queue, int all)
{
    long    depth = mail_queue_hashed(queue) ? mail_conf_int("hash_queue_depth") : 0;
    int     incoming = strcmp(queue, MAIL_QUEUE_INCOMING) == 0;

    qmgr_scan_pending = 0;
    qmgr_scan_more = 0;
    qmgr_scan_budget = QMGR_SCAN_SLICE;
    qmgr_scan_dir(queue, queue, (int) depth, all, time(0));
    qmgr_scan_budget = 0;
    if (qmgr_scan_pending || qmgr_scan_more) {
	if (incoming)
	    qmgr_more_incoming = 1;
	else if (qmgr_more_deferred < (all ? 2 : 1))
	    qmgr_more_deferred = all ? 2 : 1;
	if (qmgr_scan_more)
	    event_active(qmgr_incoming_ev, EV_TIMEOUT, 0);
    } else if (incoming)
	qmgr_more_incoming = 0;
    else if (all || qmgr_more_deferred < 2)
	qmgr_more_deferred = 0;
    qmgr_scan_more = 0;
}

static void qmgr_incoming_cb(evutil_socket_t fd, short what, void *arg)
{
    qmgr_scan(MAIL_QUEUE_INCOMING, 0);
    if (qmgr_more_deferred && qmgr_active_count < qmgr_active_limit)
	qmgr_scan(MAIL_QUEUE_DEFERRED, qmgr_more_deferred == 2);
}

static void qmgr_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct timeval tv = {mail_conf_time("queue_run_delay"), 0};

    qmgr_scan(MAIL_QUEUE_INCOMING, 0);
    qmgr_scan(MAIL_QUEUE_DEFERRED, 0);
    if (tv.tv_sec <= 0)
	tv.tv_sec = 1;
    evtimer_add(qmgr_timer_ev, &tv);
}

static void qmgr_flush(void)
{
    for (QMGR_TRANSPORT *t = qmgr_transports; t; t = t->next) {
	t->dead_until = 0;
	for (QMGR_QUEUE *q = t->list; q; q = q->next) {
	    q->dead_until = 0;
	    q->fails = 0;
	}
    }
    qmgr_scan(MAIL_QUEUE_INCOMING, 0);
    qmgr_scan(MAIL_QUEUE_DEFERRED, 1);
}

static void qmgr_trigger(const char *buf, ssize_t n)
{
    int     incoming = 0, deferred = 0, flush = 0;

    for (ssize_t i = 0; i < n; i++) {
	switch (buf[i]) {
	case 'A':
	case 'I':
	    incoming = 1;
	    break;
	case 'D':
	    deferred = 1;
	    break;
	case 'F':
	    flush = 1;
	    break;
	}
    }
    if (flush)
	qmgr_flush();
    else {
	if (incoming)
	    event_active(qmgr_incoming_ev, EV_TIMEOUT, 0);
	if (deferred)
	    qmgr_scan(MAIL_QUEUE_DEFERRED, 0);
    }
}

static void qmgr_trigger_read(evutil_socket_t fd, short what, void *arg)
{
    char    buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EAGAIN || errno == EINTR) && !(what & EV_TIMEOUT))
	return;
    event_free((struct event *) arg);
    (void) close(fd);
    mail_server_client_end();
    if (n > 0)
	qmgr_trigger(buf, n);
}

static void qmgr_accept(int fd, const char *service)
{
    struct event *ev;
    struct timeval tv = {10, 0};
    char    buf[256];
    ssize_t n;

    /* The trigger bytes are usually there already: no event needed. */
    if ((n = read(fd, buf, sizeof(buf))) >= 0 || (errno != EAGAIN && errno != EINTR)) {
	(void) close(fd);
	if (n > 0)
	    qmgr_trigger(buf, n);
	return;
    }
    mail_server_client_begin();
    ev = event_new(mail_server_base(), fd, EV_READ | EV_PERSIST, qmgr_trigger_read,
		   event_self_cbarg());
    event_add(ev, &tv);
}

static int qmgr_fifo_triggered;

static void qmgr_fifo_trigger(const char *buf, ssize_t len)
{
    qmgr_trigger(buf, len);
    qmgr_fifo_triggered = 1;
}

static void qmgr_wakeup(const char *service)
{
    /* A fifo wakeup whose bytes were already handled needs no more. */
    if (!qmgr_fifo_triggered)
	event_active(qmgr_incoming_ev, EV_TIMEOUT, 0);
    qmgr_fifo_triggered = 0;
}

/* ---- start-up ---- */

static void qmgr_requeue_active(void)
{
    DIR    *dp;
    struct dirent *de;

    if ((dp = opendir(MAIL_QUEUE_ACTIVE)) == 0)
	return;
    while ((de = readdir(dp)) != 0) {
	if (!mail_queue_id_ok(de->d_name))
	    continue;
	if (mail_queue_rename(de->d_name, MAIL_QUEUE_ACTIVE, MAIL_QUEUE_INCOMING) < 0
	    && errno != ENOENT)
	    msg_warn("%s: requeue active/%s: %m", de->d_name, de->d_name);
	qmgr_logs_note(de->d_name);		/* its delivery may write logs yet */
    }
    closedir(dp);
}

static void qmgr_pre_init(const char *service, int argc, char **argv)
{
    mail_queue_chdir();
}

static void qmgr_post_init(const char *service, int argc, char **argv)
{
    struct timeval now = {0, 0};

    {
	VSTR   *mc = vstr_alloc(64);

	(void) vstr_fmt(mc, "%s/master.cf", mail_conf_dir());
	qmgr_master_cf = master_conf_read(vstr_str(mc), MASTER_CONF_STYLE_MASTER
				  | MASTER_CONF_FLAG_NOFATAL | MASTER_CONF_FLAG_MISSING_OK);
	vstr_free(mc);
    }
    resolve_install_local();			/* address search orders */
    qmgr_messages = htable_create(1024);
    qmgr_transport_table = htable_create(16);
    qmgr_active_limit = mail_conf_int("qmgr_message_active_limit");
    if (qmgr_active_limit <= 0)
	qmgr_active_limit = 20000;
    /* Priorities: 0 agents' replies, 1 default, 2 incoming scans. */
    if (event_base_priority_init(mail_server_base(), QMGR_PRIORITIES) < 0)
	msg_warn("cannot set event priorities");
    qmgr_sched_ev = event_new(mail_server_base(), -1, 0, qmgr_schedule, 0);
    qmgr_incoming_ev = event_new(mail_server_base(), -1, 0, qmgr_incoming_cb, 0);
    (void) event_priority_set(qmgr_incoming_ev, QMGR_PRIORITIES - 1);
    qmgr_timer_ev = evtimer_new(mail_server_base(), qmgr_timer_cb, 0);
    qmgr_tick_ev = evtimer_new(mail_server_base(), qmgr_tick, 0);
    {
	struct timeval one = {1, 0};

	evtimer_add(qmgr_tick_ev, &one);
    }
    for (const char *const *q = mail_queue_names; *q; q++)
	if (strcmp(*q, MAIL_QUEUE_MAILDROP) != 0)
	    (void) mkdir(*q, 0700);
    qmgr_logs_build();
    qmgr_requeue_active();
    evtimer_add(qmgr_timer_ev, &now);		/* first scan right away */
}

int     main(int argc, char **argv)
{
    static const MAIL_SERVER_CB cb = {
	.stderr_standalone = 1,
	.pre_init = qmgr_pre_init,
	.post_init = qmgr_post_init,
	.on_accept = qmgr_accept,
	.on_wakeup = qmgr_wakeup,
	.on_trigger = qmgr_fifo_trigger,
	.max_clients = 1000,
    };

    mail_server_main(argc, argv, &cb);
}
