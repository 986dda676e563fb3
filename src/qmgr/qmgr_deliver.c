/*
 * qmgr_deliver - delivery requests to delivery agents, event-driven.
 *
 * Write the request on a kept connection to private/<transport> or a new
 * one, read the reply (docs/delivery-protocol.md), keep the connection
 * when the agent offers it (keep=1). A failed connect or a lost connection
 * defers the entry's recipients ("mail transport unavailable") and
 * throttles the transport; a kept connection that the agent closed before
 * it read the request is retried once on a new connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "attr.h"
#include "deliver_request.h"
#include "dsn_log.h"
#include "mail_server.h"
#include "mem.h"
#include "msg.h"
#include "qmgr.h"
#include "vstr.h"

#define QMGR_REPLY_LIMIT	65536
#define QMGR_CONN_IDLE		2	/* close a kept connection idle this long */

/*
 * A connection to one agent process. It carries one request at a time
 * (d != 0) and, when the agent said keep=1, waits in its transport's idle
 * list for the next one. Its read event stays registered for its whole
 * life: a reply, or (idle) the agent closing it.
 */
typedef struct QMGR_DELIVERY QMGR_DELIVERY;

struct QMGR_CONN {
    QMGR_TRANSPORT *transport;
    int     fd;
    struct event *ev;			/* EV_READ | EV_PERSIST */
    struct event *wev;			/* request did not fit: wait to write */
    QMGR_DELIVERY *d;			/* current request, 0 = idle */
    int     reused;			/* carried a request before */
    time_t  idle_since;
    QMGR_CONN *next;			/* idle list */
};

struct QMGR_DELIVERY {
    QMGR_ENTRY *entry;
    QMGR_CONN *conn;
    VSTR   *out;
    size_t  out_done;
    VSTR   *in;
};

static void conn_read(evutil_socket_t fd, short what, void *arg);
static void conn_write(evutil_socket_t fd, short what, void *arg);
static void delivery_send(QMGR_DELIVERY *d);

static void conn_close(QMGR_CONN *c)
{
    event_free(c->ev);
    if (c->wev)
	event_free(c->wev);
    (void) close(c->fd);
    free(c);
}

static void conn_unidle(QMGR_CONN *c)
{
    QMGR_CONN **pp;

    for (pp = &c->transport->idle; *pp; pp = &(*pp)->next)
	if (*pp == c) {
	    *pp = c->next;
	    break;
	}
    c->next = 0;
}

/* A new connection to private/<transport>; 0 with errno set on failure. */
static QMGR_CONN *conn_open(QMGR_TRANSPORT *t, VSTR *why)
{
    struct sockaddr_un sun;
    QMGR_CONN *c;
    int     fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    (void) vstr_fmt(why, "private/%s", t->name);
    if (vstr_len(why) >= sizeof(sun.sun_path) || strchr(t->name, '/') != 0) {
	(void) vstr_cpy(why, "bad transport name");
	return (0);
    }
    memcpy(sun.sun_path, vstr_str(why), vstr_len(why) + 1);
    /* Blocking connect: local and immediate unless the backlog is full. */
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0
	|| connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
	int     saved = errno;

	if (fd >= 0)
	    (void) close(fd);
	errno = saved;
	(void) vstr_fmt(why, "connect to transport private/%s: %m", t->name);
	return (0);
    }
    (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c = xcalloc(1, sizeof(*c));
    c->transport = t;
    c->fd = fd;
    c->ev = event_new(mail_server_base(), fd, EV_READ | EV_PERSIST, conn_read, c);
    (void) event_priority_set(c->ev, 0);
    event_add(c->ev, 0);
    return (c);
}

static void delivery_free(QMGR_DELIVERY *d)
{
    vstr_free(d->out);
    vstr_free(d->in);
    free(d);
}

static void delivery_lost(QMGR_DELIVERY *d, const char *why)
{
    QMGR_ENTRY *e = d->entry;

    msg_warn("private/%s: %s", e->queue->transport->name, why);
    e->queue->transport->dead_until = time(0) + 60;
    if (d->conn)
	conn_close(d->conn);
    delivery_free(d);
    for (QMGR_ENTRY *x = e; x; x = x->batch_next)
	x->msg->logs = DSN_LOG_ALL;		/* the agent may have written any */
    qmgr_entry_done(e, -1, "mail transport unavailable");
}

/*
 * The agent closed a kept connection before it read our request (it went
 * idle, reached max_use, drains, or took a new client): our send fails
 * with EPIPE, or the read with ECONNRESET, before any reply byte. The
 * agent never saw the request, so it goes out again on a new connection;
 * this is no delivery failure. (A connection the agent closes after it
 * read the request reads as end-of-file: that is a lost delivery.)
 */
static int delivery_retry(QMGR_DELIVERY *d, int err)
{
    QMGR_CONN *c = d->conn;
    VSTR   *why;

    if (!c->reused || vstr_len(d->in) > 0 || (err != EPIPE && err != ECONNRESET))
	return (0);
    if (msg_verbose)
	msg_info("private/%s: kept connection closed by the agent; new connection",
		 c->transport->name);
    conn_close(c);
    d->conn = 0;
    d->out_done = 0;
    why = vstr_alloc(128);
    if ((d->conn = conn_open(d->entry->queue->transport, why)) == 0) {
	QMGR_ENTRY *e = d->entry;

	msg_warn("%s", vstr_str(why));
	vstr_free(why);
	e->queue->transport->dead_until = time(0) + 60;
	delivery_free(d);
	for (QMGR_ENTRY *x = e; x; x = x->batch_next)
	    x->msg->logs = DSN_LOG_ALL;
	qmgr_entry_done(e, -1, "mail transport unavailable");
	return (1);
    }
    vstr_free(why);
    d->conn->d = d;
    delivery_send(d);
    return (1);
}

/* Reply attributes at most: status, reason, logs, keep, batch_limit, 2 per message. */
#define QMGR_REPLY_ATTRS	(8 + 2 * DELIVER_BATCH_MAX)

static void delivery_reply(QMGR_DELIVERY *d, const char *end)
{
    ATTR_LIST *al = attr_list_alloc();
    const char *cp = vstr_str(d->in), *nl;
    int     st = 0, ok = 1, keep;
    long    status, logs, limit;
    long    mst[DELIVER_BATCH_MAX], mlogs[DELIVER_BATCH_MAX];
    size_t  nst = 0, nlogs = 0, count = 0, k;
    char   *reason;
    QMGR_ENTRY *e = d->entry, *x;
    QMGR_CONN *c = d->conn;

    while (cp <= end + 1 && (nl = strchr(cp, '\n')) != 0) {
	st = attr_parse_line(al, cp, nl - cp, QMGR_REPLY_ATTRS);
	cp = nl + 1;
	if (st != 0)
	    break;
    }
    if (st != 1) {
	attr_list_free(al);
	delivery_lost(d, "malformed reply");
	return;
    }
    status = attr_list_get_long(al, "status", -1, &ok);
    /* An agent that does not say which logs it wrote may have written any. */
    logs = attr_list_get_long(al, "logs", DSN_LOG_ALL, &ok);
    keep = (int) attr_list_get_long(al, "keep", 0, &ok);
    /* An agent that takes several messages per request says so. */
    limit = attr_list_get_long(al, DELIVER_BATCH_LIMIT, 1, &ok);
    reason = attr_list_get(al, "reason") ? xstrdup(attr_list_get(al, "reason")) : 0;
    for (k = 0; k < al->count; k++) {
	char   *ep;

	if (strcmp(al->names[k], "message_status") == 0 && nst < DELIVER_BATCH_MAX) {
	    mst[nst] = strtol(al->values[k], &ep, 10);
	    if (*al->values[k] == 0 || *ep || mst[nst] < 0)
		ok = 0;
	    nst++;
	} else if (strcmp(al->names[k], "message_logs") == 0 && nlogs < DELIVER_BATCH_MAX) {
	    mlogs[nlogs] = strtol(al->values[k], &ep, 10);
	    if (*al->values[k] == 0 || *ep)
		ok = 0;
	    nlogs++;
	}
    }
    attr_list_free(al);
    if (!ok || status < 0) {
	free(reason);
	delivery_lost(d, "malformed reply status");
	return;
    }
    for (x = e; x; x = x->batch_next)
	count++;
    c->transport->batch_limit = limit > 1 ? (int) (limit < DELIVER_BATCH_MAX ? limit : DELIVER_BATCH_MAX) : 1;
    /* Anything after the reply would be a protocol error: don't keep it. */
    if (keep == 1 && cp == vstr_end(d->in)) {
	c->d = 0;
	c->reused = 1;
	c->idle_since = time(0);
	c->next = c->transport->idle;
	c->transport->idle = c;
    } else
	conn_close(c);
    delivery_free(d);
    /* Which logs exist, per message; without message_logs, logs= for all. */
    for (x = e, k = 0; x; x = x->batch_next, k++)
	x->msg->logs |= (int) ((nlogs == count ? mlogs[k] : logs) & DSN_LOG_ALL);
    qmgr_batch_done(e, (int) status, reason, nst == count ? mst : 0, nst);
    free(reason);
}

static void conn_read(evutil_socket_t fd, short what, void *arg)
{
    QMGR_CONN *c = arg;
    QMGR_DELIVERY *d = c->d;
    char    buf[4096];
    ssize_t n;
    const char *end;

    n = read(c->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
	return;
    if (d == 0) {
	/* Idle: the agent closed it (or talks out of turn). */
	conn_unidle(c);
	conn_close(c);
	return;
    }
    if (n <= 0) {
	if (n < 0 && delivery_retry(d, errno))
	    return;
	delivery_lost(d, n < 0 ? "read reply: error" : "unexpected end of reply");
	return;
    }
    if (vstr_append(d->in, buf, n) < 0) {
	delivery_lost(d, "reply too long");
	return;
    }
    /* Complete when an empty line ends the list. */
    if (vstr_len(d->in) == 1 && vstr_str(d->in)[0] == '\n')
	end = vstr_str(d->in);
    else if ((end = strstr(vstr_str(d->in), "\n\n")) == 0)
	return;
    delivery_reply(d, end);
}

static void delivery_send(QMGR_DELIVERY *d)
{
    QMGR_CONN *c = d->conn;

    while (d->out_done < vstr_len(d->out)) {
	ssize_t n = send(c->fd, vstr_str(d->out) + d->out_done,
			 vstr_len(d->out) - d->out_done, MSG_NOSIGNAL);

	if (n > 0) {
	    d->out_done += n;
	    continue;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
	    /* Wait for writability (a request larger than the buffer). */
	    if (c->wev == 0) {
		c->wev = event_new(mail_server_base(), c->fd, EV_WRITE | EV_PERSIST, conn_write, c);
		(void) event_priority_set(c->wev, 0);
	    }
	    event_add(c->wev, 0);
	    return;
	}
	if (n < 0 && d->out_done == 0 && delivery_retry(d, errno))
	    return;
	delivery_lost(d, "write request: connection lost");
	return;
    }
    if (c->wev)
	event_del(c->wev);
}

static void conn_write(evutil_socket_t fd, short what, void *arg)
{
    QMGR_CONN *c = arg;

    if (c->d)
	delivery_send(c->d);
    else
	event_del(c->wev);
}

/* Close kept connections that were not used for QMGR_CONN_IDLE seconds. */
void    qmgr_deliver_sweep(QMGR_TRANSPORT *t, time_t now)
{
    QMGR_CONN **pp = &t->idle, *c;

    while ((c = *pp) != 0) {
	if (now - c->idle_since >= QMGR_CONN_IDLE) {
	    *pp = c->next;
	    conn_close(c);
	} else
	    pp = &c->next;
    }
}

/* One message's attributes (after next_message=1 for a further one). */
static void request_add(ATTR_LIST *al, QMGR_ENTRY *e)
{
    QMGR_MESSAGE *m = e->msg;
    QFILE_INFO *i = &m->info;
    const char *v;

    attr_list_add(al, "transport", e->queue->transport->name);
    attr_list_add(al, "queue_name", "active");
    attr_list_add(al, "queue_id", m->id);
    attr_list_addl(al, "data_offset", i->data_offset);
    attr_list_addl(al, "data_size", i->content_size);
    attr_list_addl(al, "content_length", i->content_length);
    attr_list_add(al, "nexthop", e->queue->nexthop);
    attr_list_add(al, "encoding", (v = qfile_attr(i, "encoding")) ? v : "");
    attr_list_addl(al, "smtputf8", i->smtputf8);	/* size record (or v1 attribute) */
    attr_list_add(al, "sender", i->sender);
    attr_list_add(al, "envelope_id", (v = qfile_attr(i, "envelope_id")) ? v : "");
    attr_list_add(al, "ret_flags", (v = qfile_attr(i, "ret_flags")) && *v ? v : "0");
    attr_list_addl(al, "flags", m->flags);
    attr_list_addf(al, "arrival_time", "%ld.%06ld", (long) i->arrival.tv_sec, (long) i->arrival.tv_usec);
    attr_list_addf(al, "active_time", "%ld.%06ld", (long) m->active_time.tv_sec, (long) m->active_time.tv_usec);
#define LOGATTR(q, n) if ((v = qfile_attr(i, q)) != 0) attr_list_add(al, n, v)
    LOGATTR("log_client_name", "client_name");
    LOGATTR("log_client_address", "client_address");
    LOGATTR("log_client_port", "client_port");
    LOGATTR("log_helo_name", "helo_name");
    LOGATTR("log_protocol_name", "protocol_name");
    LOGATTR("sasl_method", "sasl_method");
    LOGATTR("sasl_username", "sasl_username");
    LOGATTR("sasl_sender", "sasl_sender");
    LOGATTR("log_ident", "log_ident");
    for (size_t k = 0; k < e->nrcpt; k++) {
	QFILE_RCPT *r = i->rcpt + e->rcpt[k];
	RECIPIENT rc = {.offset = r->offset,.address = r->address,
	    .orig_addr = r->orig_addr,.dsn_orcpt = r->dsn_orcpt,.dsn_notify = r->dsn_notify};

	deliver_request_add_rcpt(al, &rc);
    }
#undef LOGATTR
}

/* The request: the entry's message, then each batched one (batch_next). */
static void request_build(QMGR_ENTRY *e, VSTR *out)
{
    ATTR_LIST *al = attr_list_alloc();

    for (QMGR_ENTRY *x = e; x; x = x->batch_next) {
	if (x != e)
	    attr_list_add(al, DELIVER_NEXT_MESSAGE, "1");
	request_add(al, x);
    }
    attr_encode(out, al);
    attr_list_free(al);
}

void    qmgr_deliver_start(QMGR_ENTRY *e)
{
    QMGR_DELIVERY *d = xcalloc(1, sizeof(*d));
    QMGR_TRANSPORT *t = e->queue->transport;

    d->entry = e;
    d->out = vstr_alloc(1024);
    d->in = vstr_alloc(128);
    vstr_set_limit(d->in, QMGR_REPLY_LIMIT);
    /* The most recently used kept connection, else a new one. */
    if ((d->conn = t->idle) != 0) {
	t->idle = d->conn->next;
	d->conn->next = 0;
    } else {
	VSTR   *why = vstr_alloc(128);

	if ((d->conn = conn_open(t, why)) == 0) {
	    msg_warn("%s", vstr_str(why));
	    vstr_free(why);
	    t->dead_until = time(0) + 60;
	    delivery_free(d);
	    qmgr_entry_done(e, -1, "mail transport unavailable");
	    return;
	}
	vstr_free(why);
    }
    d->conn->d = d;
    request_build(e, d->out);
    delivery_send(d);
}
