/* deliver_request - delivery request protocol; see deliver_request.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attr.h"
#include "deliver_request.h"
#include "dsn_log.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "mem.h"
#include "msg.h"
#include "rec_type.h"
#include "record.h"
#include "vstr.h"

#define DELIVER_REQUEST_TIMEOUT	100	/* seconds to read a request */

/* ---- qmgr side ---- */

void    deliver_request_add_rcpt(ATTR_LIST *al, const RECIPIENT *r)
{
    attr_list_addl(al, "rcpt_offset", r->offset);
    if (r->orig_addr && *r->orig_addr)
	attr_list_add(al, "rcpt_orig", r->orig_addr);
    if (r->dsn_orcpt && *r->dsn_orcpt)
	attr_list_add(al, "rcpt_orcpt", r->dsn_orcpt);
    if (r->dsn_notify)
	attr_list_addl(al, "rcpt_notify", r->dsn_notify);
    attr_list_add(al, "rcpt_address", r->address);
}

/* ---- agent side ---- */

static int parse_tv(const char *v, struct timeval *tv)
{
    char   *end;
    long    sec, usec = 0;

    tv->tv_sec = tv->tv_usec = 0;
    if (v == 0)
	return (0);
    errno = 0;
    sec = strtol(v, &end, 10);
    if (errno || end == v)
	return (-1);
    if (*end == '.') {
	char   *s = end + 1;

	usec = strtol(s, &end, 10);
	if (errno || end == s || usec < 0 || usec > 999999)
	    return (-1);
    }
    if (*end)
	return (-1);
    tv->tv_sec = sec;
    tv->tv_usec = usec;
    return (0);
}

static char *sdup(const ATTR_LIST *al, const char *name)
{
    const char *v = attr_list_get(al, name);

    return (xstrdup(v ? v : ""));
}

void    deliver_request_free(DELIVER_REQUEST *req)
{
    if (req == 0)
	return;
    free(req->transport);
    free(req->queue_name);
    free(req->queue_id);
    free(req->nexthop);
    free(req->encoding);
    free(req->sender);
    free(req->dsn_envid);
    free(req->client_name);
    free(req->client_addr);
    free(req->client_port);
    free(req->helo_name);
    free(req->protocol_name);
    free(req->sasl_username);
    free(req->sasl_method);
    free(req->sasl_sender);
    free(req->log_ident);
    for (size_t i = 0; i < req->rcpt_count; i++) {
	free(req->rcpt[i].address);
	free(req->rcpt[i].orig_addr);
	free(req->rcpt[i].dsn_orcpt);
    }
    free(req->rcpt);
    if (req->fp)
	(void) fclose(req->fp);
    free(req);
}

DELIVER_REQUEST *deliver_request_parse(const ATTR_LIST *al, const char **why)
{
    DELIVER_REQUEST *req = xcalloc(1, sizeof(*req));
    int     ok = 1;
    size_t  cap = 0;
    RECIPIENT *cur = 0;

    *why = 0;
    req->transport = sdup(al, "transport");
    req->queue_name = sdup(al, "queue_name");
    req->queue_id = sdup(al, "queue_id");
    req->nexthop = sdup(al, "nexthop");
    req->encoding = sdup(al, "encoding");
    req->sender = sdup(al, "sender");
    req->dsn_envid = sdup(al, "envelope_id");
    req->client_name = sdup(al, "client_name");
    req->client_addr = sdup(al, "client_address");
    req->client_port = sdup(al, "client_port");
    req->helo_name = sdup(al, "helo_name");
    req->protocol_name = sdup(al, "protocol_name");
    req->sasl_username = sdup(al, "sasl_username");
    req->sasl_method = sdup(al, "sasl_method");
    req->sasl_sender = sdup(al, "sasl_sender");
    req->log_ident = sdup(al, "log_ident");
    req->data_offset = attr_list_get_long(al, "data_offset", -1, &ok);
    req->data_size = attr_list_get_long(al, "data_size", 0, &ok);
    req->content_length = attr_list_get_long(al, "content_length", 0, &ok);
    req->smtputf8 = (int) attr_list_get_long(al, "smtputf8", 0, &ok);
    req->dsn_ret = (int) attr_list_get_long(al, "ret_flags", 0, &ok);
    req->flags = (int) attr_list_get_long(al, "flags", 0, &ok);
    if (parse_tv(attr_list_get(al, "arrival_time"), &req->arrival_time) < 0
	|| parse_tv(attr_list_get(al, "active_time"), &req->active_time) < 0)
	ok = 0;
    if (!ok) {
	*why = "malformed numeric attribute";
	goto bad;
    }
    if (!mail_queue_id_ok(req->queue_id) || strchr(req->queue_name, '/')
	|| *req->queue_name == 0 || *req->queue_name == '.') {
	*why = "bad queue name or queue ID";
	goto bad;
    }
    if (req->data_offset <= 0) {
	*why = "missing data_offset";
	goto bad;
    }
    for (size_t i = 0; i < al->count; i++) {
	const char *n = al->names[i], *v = al->values[i];

	if (strcmp(n, "rcpt_offset") == 0) {
	    char   *end;

	    if (req->rcpt_count == cap) {
		cap = cap ? 2 * cap : 8;
		req->rcpt = xrealloc(req->rcpt, cap * sizeof(*req->rcpt));
	    }
	    cur = req->rcpt + req->rcpt_count++;
	    memset(cur, 0, sizeof(*cur));
	    cur->offset = strtol(v, &end, 10);
	    if (*v == 0 || *end || cur->offset <= 0) {
		*why = "bad rcpt_offset";
		goto bad;
	    }
	} else if (strncmp(n, "rcpt_", 5) == 0) {
	    if (cur == 0) {
		*why = "recipient attribute before rcpt_offset";
		goto bad;
	    }
	    if (strcmp(n, "rcpt_orig") == 0 && cur->orig_addr == 0)
		cur->orig_addr = xstrdup(v);
	    else if (strcmp(n, "rcpt_orcpt") == 0 && cur->dsn_orcpt == 0)
		cur->dsn_orcpt = xstrdup(v);
	    else if (strcmp(n, "rcpt_notify") == 0)
		cur->dsn_notify = atoi(v);
	    else if (strcmp(n, "rcpt_address") == 0 && cur->address == 0)
		cur->address = xstrdup(v);
	}
    }
    for (size_t i = 0; i < req->rcpt_count; i++) {
	RECIPIENT *r = req->rcpt + i;

	if (r->address == 0) {
	    *why = "recipient without rcpt_address";
	    goto bad;
	}
	if (r->orig_addr == 0)
	    r->orig_addr = xstrdup("");
	if (r->dsn_orcpt == 0)
	    r->dsn_orcpt = xstrdup("");
    }
    if (req->rcpt_count == 0) {
	*why = "no recipients";
	goto bad;
    }
    return (req);
bad:
    for (size_t i = 0; i < req->rcpt_count; i++) {
	if (req->rcpt[i].orig_addr == 0)
	    req->rcpt[i].orig_addr = xstrdup("");
	if (req->rcpt[i].dsn_orcpt == 0)
	    req->rcpt[i].dsn_orcpt = xstrdup("");
	if (req->rcpt[i].address == 0)
	    req->rcpt[i].address = xstrdup("");
    }
    deliver_request_free(req);
    return (0);
}

static void reply_full(int fd, int status, const char *reason, int logs, int keep)
{
    ATTR_STREAM *as = attr_stream_open(fd, DELIVER_REQUEST_TIMEOUT);
    ATTR_LIST *al = attr_list_alloc();

    attr_list_addl(al, "status", status);
    if (reason)
	attr_list_add(al, "reason", reason);
    attr_list_addl(al, "logs", logs);
    if (keep)
	attr_list_addl(al, "keep", 1);
    (void) attr_write(as, al);
    attr_list_free(al);
    attr_stream_free(as);
}

static void reply(int fd, int status, const char *reason)
{
    reply_full(fd, status, reason, 0, 0);
}

/*
 * Parse one message's attributes and open its queue file (O_RDWR). 0 with
 * *why set when the request is bad or the file cannot be opened.
 */
DELIVER_REQUEST *deliver_request_open(const ATTR_LIST *al, const char **why)
{
    DELIVER_REQUEST *req;
    VSTR   *path;

    if ((req = deliver_request_parse(al, why)) == 0) {
	msg_warn("bad delivery request: %s", *why);
	return (0);
    }
    (void) gettimeofday(&req->handoff_time, 0);
    path = vstr_alloc(64);
    (void) mail_queue_path(path, req->queue_name, req->queue_id);
    /* "e": O_CLOEXEC. The content is positioned on the first read. */
    if ((req->fp = fopen(vstr_str(path), "r+e")) == 0) {
	msg_warn("%s: open queue file %s: %m", req->queue_id, vstr_str(path));
	vstr_free(path);
	*why = "queue file unavailable";
	deliver_request_free(req);
	return (0);
    }
    /*
     * A shared lock while we deliver (Postfix's agents do the same): a qmgr
     * started meanwhile (postfix reload) sees it and skips the message
     * ("skipped, still being delivered") instead of delivering it again.
     */
    if (flock(fileno(req->fp), LOCK_SH) < 0)
	msg_warn("%s: shared lock %s: %m", req->queue_id, vstr_str(path));
    vstr_free(path);
    return (req);
}

/* Read one request list; 0 on end-of-file or a protocol error. */
static ATTR_LIST *dr_read_list(int fd)
{
    ATTR_STREAM *as;
    ATTR_LIST *al = attr_list_alloc();

    /* Our sockets may be non-blocking (mail_server); attr_read polls. */
    as = attr_stream_open(fd, DELIVER_REQUEST_TIMEOUT);
    if (attr_read(as, al, ATTR_MAX_COUNT) < 0) {
	if (errno != EPIPE)
	    msg_warn("read delivery request: %m");
	attr_stream_free(as);
	attr_list_free(al);
	return (0);
    }
    attr_stream_free(as);
    return (al);
}

DELIVER_REQUEST *deliver_request_read(int fd)
{
    ATTR_LIST *al;
    DELIVER_REQUEST *req;
    const char *why;

    if ((al = dr_read_list(fd)) == 0)
	return (0);
    /* Several messages (next_message): only for agents that serve batches. */
    if (attr_list_get(al, DELIVER_NEXT_MESSAGE) != 0) {
	why = "batched request not supported";
	msg_warn("bad delivery request: %s", why);
	attr_list_free(al);
	reply(fd, DEL_STAT_DEFER, why);
	return (0);
    }
    req = deliver_request_open(al, &why);
    attr_list_free(al);
    if (req == 0)
	reply(fd, DEL_STAT_DEFER, why);
    return (req);
}

/*
 * The delivery is over: release the shared lock before the reply. Once qmgr
 * has the reply it may remove the file, and a removed file goes to the
 * recycle pool, whose claimers skip (and drop) a file that someone still
 * locks (mail_queue_claim); the descriptor itself is closed later.
 */
static void dr_unlock(DELIVER_REQUEST *req)
{
    if (req && req->fp)
	(void) flock(fileno(req->fp), LOCK_UN);
}

void    deliver_request_done(int fd, DELIVER_REQUEST *req, int status)
{
    dr_unlock(req);
    reply_full(fd, status, 0, req->logs, 0);
    deliver_request_free(req);
    (void) close(fd);
}

/* ---- the request loop: one connection, many requests ---- */

typedef struct DR_CONN {
    int     fd;
    long    requests;			/* served on this connection */
    struct event *ev;			/* waiting for the next request */
    DELIVER_REQUEST_FN fn;
    DELIVER_BATCH_FN bfn;		/* or: several messages per request */
    size_t  limit;			/* messages per request (bfn) */
} DR_CONN;

static void dr_close(DR_CONN *c)
{
    if (c->ev)
	event_free(c->ev);
    (void) close(c->fd);
    free(c);
    mail_server_client_end();
}

static void dr_drop(void *ctx)
{
    dr_close((DR_CONN *) ctx);
}

static void dr_event(evutil_socket_t fd, short what, void *arg);

/*
 * One request of up to c->limit messages (docs/delivery-protocol.md,
 * "Batched requests"): split the list at next_message, parse and open each
 * message's queue file, deliver them with one call, and reply with the
 * request-wide status and logs plus message_status and message_logs per
 * message, in request order. A message whose segment is bad or whose queue
 * file cannot be opened gets message_status=1; the others go on. -1: the
 * connection is to be closed (end-of-file, protocol error).
 */
static int dr_serve_batch(DR_CONN *c, long max_use, int *keep)
{
    ATTR_LIST *al, *seg[DELIVER_BATCH_MAX];
    DELIVER_REQUEST *reqs[DELIVER_BATCH_MAX];
    int     mstat[DELIVER_BATCH_MAX];
    size_t  nseg = 0, i;
    int     status = 0, logs = 0;
    ATTR_STREAM *as;
    ATTR_LIST *rl;
    const char *why;

    if ((al = dr_read_list(c->fd)) == 0)
	return (-1);
    for (i = 0; i < al->count; i++)
	if (strcmp(al->names[i], DELIVER_NEXT_MESSAGE) == 0 && ++nseg >= c->limit)
	    break;
    if (nseg >= c->limit) {
	why = "too many messages in one request";
	msg_warn("bad delivery request: %s (limit %zu)", why, c->limit);
	attr_list_free(al);
	reply(c->fd, DEL_STAT_DEFER, why);
	return (-1);
    }
    nseg = 0;
    seg[nseg++] = attr_list_alloc();
    for (i = 0; i < al->count; i++) {
	if (strcmp(al->names[i], DELIVER_NEXT_MESSAGE) == 0) {
	    seg[nseg++] = attr_list_alloc();
	    continue;
	}
	attr_list_add(seg[nseg - 1], al->names[i], al->values[i]);
    }
    attr_list_free(al);
    for (i = 0; i < nseg; i++) {
	reqs[i] = deliver_request_open(seg[i], &why);
	attr_list_free(seg[i]);
	mstat[i] = reqs[i] ? DEL_STAT_OK : DEL_STAT_DEFER;
    }
    c->bfn(reqs, nseg, mstat);
    *keep = (max_use <= 0 || ++c->requests < max_use) && !mail_server_draining();
    rl = attr_list_alloc();
    for (i = 0; i < nseg; i++) {
	status |= mstat[i];
	logs |= reqs[i] ? reqs[i]->logs : 0;
    }
    attr_list_addl(rl, "status", status);
    attr_list_addl(rl, "logs", logs);
    if (*keep)
	attr_list_addl(rl, "keep", 1);
    attr_list_addl(rl, DELIVER_BATCH_LIMIT, (long) c->limit);
    if (nseg > 1) {
	for (i = 0; i < nseg; i++) {
	    attr_list_addl(rl, "message_status", mstat[i]);
	    attr_list_addl(rl, "message_logs", reqs[i] ? reqs[i]->logs : 0);
	}
    }
    for (i = 0; i < nseg; i++)
	dr_unlock(reqs[i]);
    as = attr_stream_open(c->fd, DELIVER_REQUEST_TIMEOUT);
    (void) attr_write(as, rl);
    attr_stream_free(as);
    attr_list_free(rl);
    for (i = 0; i < nseg; i++)
	deliver_request_free(reqs[i]);
    return (0);
}

static void dr_serve(DR_CONN *c)
{
    static long max_idle = -1;
    static long max_use = -1;
    DELIVER_REQUEST *req;
    struct timeval tv;
    int     status, keep;

    /*
     * max_use counts connections (mail_server_use at accept, Postfix's
     * definition); a kept connection carries at most max_use requests, so
     * a process serves a bounded number of requests before it exits.
     */
    if (max_use < 0)
	max_use = mail_conf_int("max_use");
    if (c->bfn) {
	if (dr_serve_batch(c, max_use, &keep) < 0) {
	    dr_close(c);			/* closed, or a bad request */
	    return;
	}
    } else {
	if ((req = deliver_request_read(c->fd)) == 0) {
	    dr_close(c);			/* closed, or a bad request */
	    return;
	}
	status = c->fn(req);
	keep = (max_use <= 0 || ++c->requests < max_use) && !mail_server_draining();
	dr_unlock(req);
	reply_full(c->fd, status, 0, req->logs, keep);
	deliver_request_free(req);
    }
    if (!keep) {
	dr_close(c);
	return;
    }
    if (max_idle < 0)
	max_idle = mail_conf_time("max_idle");
    tv.tv_sec = max_idle > 0 ? max_idle : 100;
    tv.tv_usec = 0;
    /* Persistent: re-adding only restarts the timer (no epoll_ctl). */
    if (c->ev == 0)
	c->ev = event_new(mail_server_base(), c->fd, EV_READ | EV_PERSIST, dr_event, c);
    event_add(c->ev, &tv);
    mail_server_client_idle(dr_drop, c);	/* may close c at once */
}

static void dr_event(evutil_socket_t fd, short what, void *arg)
{
    DR_CONN *c = arg;

    mail_server_client_busy(c);
    if (what & EV_TIMEOUT) {
	dr_close(c);
	return;
    }
    dr_serve(c);
}

void    deliver_request_serve_batch(int fd, DELIVER_BATCH_FN fn, size_t limit)
{
    DR_CONN *c = xcalloc(1, sizeof(*c));

    if (limit < 1 || limit > DELIVER_BATCH_MAX)
	msg_panic("deliver_request_serve_batch: bad limit %zu", limit);
    c->fd = fd;
    c->bfn = fn;
    c->limit = limit;
    mail_server_client_begin();
    (void) mail_server_use();
    dr_serve(c);
}

void    deliver_request_serve(int fd, DELIVER_REQUEST_FN fn)
{
    DR_CONN *c = xcalloc(1, sizeof(*c));

    c->fd = fd;
    c->fn = fn;
    mail_server_client_begin();
    (void) mail_server_use();
    dr_serve(c);
}

int     deliver_content_rewind(DELIVER_REQUEST *req)
{
    req->content_state = 0;
    return (fseek(req->fp, req->data_offset, SEEK_SET));
}

int     deliver_read_line(DELIVER_REQUEST *req, VSTR *buf, size_t limit)
{
    VSTR   *rec = vstr_alloc(256);
    int     type;

    vstr_reset(buf);
    if (req->content_state == 0) {
	if (fseek(req->fp, req->data_offset, SEEK_SET) < 0
	    || rec_get(req->fp, rec, 0) != REC_TYPE_MESG) {
	    vstr_free(rec);
	    return (-1);
	}
	req->content_state = 1;
    }
    if (req->content_state == 2) {
	vstr_free(rec);
	return (0);
    }
    for (;;) {
	type = rec_get(req->fp, rec, limit);
	if (type == REC_TYPE_XTRA) {
	    req->content_state = 2;
	    vstr_free(rec);
	    return (vstr_len(buf) ? 1 : 0);
	}
	if (type != REC_TYPE_NORM && type != REC_TYPE_CONT) {
	    vstr_free(rec);
	    return (-1);
	}
	if (vstr_len(buf) + vstr_len(rec) <= limit)
	    (void) vstr_append(buf, vstr_str(rec), vstr_len(rec));
	if (type == REC_TYPE_NORM)
	    break;
    }
    vstr_free(rec);
    return (1);
}

/* ---- results ---- */

const char *deliver_fmt_delay(VSTR *buf, double x)
{
    vstr_reset(buf);
    if (x < 0)
	x = 0;
    if (x >= 10)
	(void) vstr_fmt(buf, "%.0f", x);
    else if (x >= 1)
	(void) vstr_fmt(buf, "%.1f", x);
    else if (x >= 0.01)
	(void) vstr_fmt(buf, "%.2f", x);
    else
	(void) vstr_fmt(buf, "0");
    /* "1.0" -> "1", "0.10" -> "0.1" */
    if (strchr(vstr_str(buf), '.')) {
	while (vstr_last(buf) == '0')
	    vstr_truncate(buf, vstr_len(buf) - 1);
	if (vstr_last(buf) == '.')
	    vstr_truncate(buf, vstr_len(buf) - 1);
    }
    return (vstr_str(buf));
}

static double tv_diff(const struct timeval *a, const struct timeval *b)
{
    return ((a->tv_sec - b->tv_sec) + (a->tv_usec - b->tv_usec) / 1e6);
}

static void log_result(DELIVER_REQUEST *req, RECIPIENT *r, const char *relay,
		               const DSN *dsn, const char *status)
{
    struct timeval now, arrival = req->arrival_time, active = req->active_time;
    VSTR   *d = vstr_alloc(16), *a = vstr_alloc(16), *b = vstr_alloc(16);
    VSTR   *c = vstr_alloc(16), *e = vstr_alloc(16), *orig = vstr_alloc(64);
    double  dc = 0, dd;

    (void) gettimeofday(&now, 0);
    if (arrival.tv_sec == 0)
	arrival = req->handoff_time;
    if (active.tv_sec == 0)
	active = req->handoff_time;
    if (req->conn_time.tv_sec) {
	dc = tv_diff(&req->conn_time, &req->handoff_time);
	dd = tv_diff(&now, &req->conn_time);
    } else
	dd = tv_diff(&now, &req->handoff_time);
    if (r->orig_addr && *r->orig_addr && strcmp(r->orig_addr, r->address) != 0)
	(void) vstr_fmt(orig, "orig_to=<%s>, ", r->orig_addr);
    msg_info("%s: to=<%s>, %srelay=%s, delay=%s, delays=%s/%s/%s/%s, dsn=%s, status=%s (%s)",
	     req->queue_id, r->address, vstr_str(orig), relay,
	     deliver_fmt_delay(d, tv_diff(&now, &arrival)),
	     deliver_fmt_delay(a, tv_diff(&active, &arrival)),
	     deliver_fmt_delay(b, tv_diff(&req->handoff_time, &active)),
	     deliver_fmt_delay(c, dc), deliver_fmt_delay(e, dd),
	     dsn->status, status, dsn->reason ? dsn->reason : "");
    vstr_free(d);
    vstr_free(a);
    vstr_free(b);
    vstr_free(c);
    vstr_free(e);
    vstr_free(orig);
}

static int log_append(DELIVER_REQUEST *req, const char *queue, RECIPIENT *r,
		              const char *relay, const DSN *dsn, const char *action)
{
    DSN_ENTRY e;
    VSTR   *via = 0;
    int     rc;

    memset(&e, 0, sizeof(e));
    /*
     * Postfix's trace records (success DSNs, sendmail -v/-bv reports) say
     * which agent delivered: "delivery via local: delivered to mailbox";
     * not when there is none (qmgr's own deferrals, relay=none).
     */
    if (strcmp(queue, MAIL_QUEUE_TRACE) == 0 && relay && *relay && strcmp(relay, "none") != 0) {
	via = vstr_alloc(100);
	(void) vstr_fmt(via, "delivery via %s: %s", relay, dsn->reason ? dsn->reason : "");
    }
    e.recipient = r->address;
    e.orig_rcpt = r->orig_addr;
    e.offset = r->offset;
    e.notify = r->dsn_notify;
    e.orcpt = r->dsn_orcpt;
    e.status = (char *) dsn->status;
    e.action = (char *) (dsn->action ? dsn->action : action);
    e.reason = via ? vstr_str(via) : (char *) (dsn->reason ? dsn->reason : "");
    e.relay = (char *) relay;
    e.dtype = (char *) dsn->dtype;
    e.dtext = (char *) dsn->dtext;
    e.mtype = (char *) dsn->mtype;
    e.mname = (char *) dsn->mname;
    e.time = time(0);
    req->logs |= dsn_log_bit(queue);		/* even if it fails half-way */
    rc = dsn_log_append(queue, req->queue_id, &e);
    if (via)
	vstr_free(via);
    return (rc);
}

int     deliver_completed(DELIVER_REQUEST *req, RECIPIENT *r)
{
    char    d = REC_TYPE_DONE;
    char    cur;
    int     fd = fileno(req->fp);

    /* Only overwrite an R record: never a byte we don't expect. */
    if (pread(fd, &cur, 1, r->offset) != 1) {
	msg_warn("%s: read recipient record at %ld: %m", req->queue_id, r->offset);
	return (-1);
    }
    if (cur == REC_TYPE_DONE)
	return (0);
    if (cur != REC_TYPE_RCPT) {
	msg_warn("%s: no recipient record at offset %ld", req->queue_id, r->offset);
	return (-1);
    }
    /*
     * No fsync: the mark survives a crash of any process (it is in the
     * page cache); only an operating-system crash can lose it, and then
     * the recipient is delivered once more - Postfix's guarantee too.
     */
    if (pwrite(fd, &d, 1, r->offset) != 1) {
	msg_warn("%s: update recipient record: %m", req->queue_id);
	return (-1);
    }
    return (0);
}

static int verify_mode(DELIVER_REQUEST *req, RECIPIENT *r, const char *relay,
		               const DSN *dsn, const char *status, const char *action)
{
    log_result(req, r, relay, dsn, status);
    if (log_append(req, MAIL_QUEUE_TRACE, r, relay, dsn, action) < 0)
	return (DEL_STAT_DEFER);
    return (deliver_completed(req, r) < 0 ? DEL_STAT_DEFER : DEL_STAT_OK);
}

int     deliver_sent(DELIVER_REQUEST *req, RECIPIENT *r, const char *relay, const DSN *dsn)
{
    if (req->flags & DEL_REQ_FLAG_VERIFY)
	return (verify_mode(req, r, relay, dsn, "deliverable", "deliverable"));
    log_result(req, r, relay, dsn, "sent");
    if ((req->flags & DEL_REQ_FLAG_RECORD) || (r->dsn_notify & DSN_NOTIFY_SUCCESS))
	(void) log_append(req, MAIL_QUEUE_TRACE, r, relay, dsn, "delivered");
    return (deliver_completed(req, r) < 0 ? DEL_STAT_DEFER : DEL_STAT_OK);
}

/* Defer, logged with status=deferred, or SOFTBOUNCE for a soft-bounced failure. */
static int deliver_defer_as(DELIVER_REQUEST *req, RECIPIENT *r, const char *relay,
			            const DSN *dsn, const char *status)
{
    if (req->flags & DEL_REQ_FLAG_VERIFY)
	return (verify_mode(req, r, relay, dsn, "undeliverable", "undeliverable"));
    log_result(req, r, relay, dsn, status);
    if (req->flags & DEL_REQ_FLAG_RECORD)
	(void) log_append(req, MAIL_QUEUE_TRACE, r, relay, dsn, "delayed");
    (void) log_append(req, MAIL_QUEUE_DEFER, r, relay, dsn, "delayed");
    return (DEL_STAT_DEFER);
}

int     deliver_defer(DELIVER_REQUEST *req, RECIPIENT *r, const char *relay, const DSN *dsn)
{
    return (deliver_defer_as(req, r, relay, dsn, "deferred"));
}

int     deliver_bounce(DELIVER_REQUEST *req, RECIPIENT *r, const char *relay, const DSN *dsn)
{
    if (req->flags & DEL_REQ_FLAG_VERIFY)
	return (verify_mode(req, r, relay, dsn, "undeliverable", "undeliverable"));
    if (mail_conf_bool("soft_bounce")) {
	DSN     soft = *dsn;
	char    st[16];

	if (dsn->status && dsn->status[0] == '5') {
	    (void) snprintf(st, sizeof(st), "4%s", dsn->status + 1);
	    soft.status = st;
	    return (deliver_defer_as(req, r, relay, &soft, "SOFTBOUNCE"));
	}
	return (deliver_defer_as(req, r, relay, dsn, "SOFTBOUNCE"));
    }
    log_result(req, r, relay, dsn, "bounced");
    if (req->flags & DEL_REQ_FLAG_RECORD)
	(void) log_append(req, MAIL_QUEUE_TRACE, r, relay, dsn, "failed");
    if (log_append(req, MAIL_QUEUE_BOUNCE, r, relay, dsn, "failed") < 0)
	return (deliver_defer(req, r, relay, dsn));
    return (deliver_completed(req, r) < 0 ? DEL_STAT_DEFER : DEL_STAT_OK);
}

int     deliver_defer_all(DELIVER_REQUEST *req, const char *relay, const DSN *dsn)
{
    int     status = 0;

    for (size_t i = 0; i < req->rcpt_count; i++)
	status |= deliver_defer(req, req->rcpt + i, relay, dsn);
    return (status);
}

int     deliver_bounce_all(DELIVER_REQUEST *req, const char *relay, const DSN *dsn)
{
    int     status = 0;

    for (size_t i = 0; i < req->rcpt_count; i++)
	status |= deliver_bounce(req, req->rcpt + i, relay, dsn);
    return (status);
}

/*
 * For agents that expand one queue recipient into several deliveries
 * (local: aliases, lists, .forward): log and record one outcome without
 * marking the recipient done; the agent marks it when all are final.
 */
void    deliver_log_status(DELIVER_REQUEST *req, RECIPIENT *r, const char *relay,
			           const DSN *dsn, const char *status)
{
    log_result(req, r, relay, dsn, status);
}

int     deliver_log_entry(DELIVER_REQUEST *req, const char *queue, RECIPIENT *r,
			          const char *relay, const DSN *dsn, const char *action)
{
    return (log_append(req, queue, r, relay, dsn, action));
}
