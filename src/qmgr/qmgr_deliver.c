/*
 * qmgr_deliver - one delivery request to a delivery agent, event-driven.
 *
 * Connect to private/<transport>, write the request, read one reply
 * (docs/delivery-protocol.md). A failed connect or a lost connection
 * defers the entry's recipients ("mail transport unavailable") and
 * throttles the transport.
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
#include "mail_server.h"
#include "mem.h"
#include "msg.h"
#include "qmgr.h"
#include "vstr.h"

#define QMGR_REPLY_LIMIT	65536

typedef struct QMGR_DELIVERY {
    QMGR_ENTRY *entry;
    int     fd;
    struct event *ev;
    VSTR   *out;
    size_t  out_done;
    VSTR   *in;
} QMGR_DELIVERY;

static void delivery_free(QMGR_DELIVERY *d)
{
    if (d->ev)
	event_free(d->ev);
    if (d->fd >= 0)
	(void) close(d->fd);
    vstr_free(d->out);
    vstr_free(d->in);
    free(d);
}

static void delivery_lost(QMGR_DELIVERY *d, const char *why)
{
    QMGR_ENTRY *e = d->entry;

    msg_warn("private/%s: %s", e->queue->transport->name, why);
    e->queue->transport->dead_until = time(0) + 60;
    delivery_free(d);
    qmgr_entry_done(e, -1, "mail transport unavailable");
}

static void delivery_read(evutil_socket_t fd, short what, void *arg)
{
    QMGR_DELIVERY *d = arg;
    char    buf[4096];
    ssize_t n;
    const char *end;

    n = read(d->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
	return;
    if (n <= 0) {
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
    {
	ATTR_LIST *al = attr_list_alloc();
	const char *cp = vstr_str(d->in), *nl;
	int     st = 0, ok = 1;
	long    status;
	char   *reason;
	QMGR_ENTRY *e = d->entry;

	while (cp <= end + 1 && (nl = strchr(cp, '\n')) != 0) {
	    st = attr_parse_line(al, cp, nl - cp, 64);
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
	reason = attr_list_get(al, "reason") ? xstrdup(attr_list_get(al, "reason")) : 0;
	attr_list_free(al);
	if (!ok || status < 0) {
	    free(reason);
	    delivery_lost(d, "malformed reply status");
	    return;
	}
	delivery_free(d);
	qmgr_entry_done(e, (int) status, reason);
	free(reason);
    }
}

static void delivery_write(evutil_socket_t fd, short what, void *arg)
{
    QMGR_DELIVERY *d = arg;

    while (d->out_done < vstr_len(d->out)) {
	ssize_t n = send(d->fd, vstr_str(d->out) + d->out_done,
			 vstr_len(d->out) - d->out_done, MSG_NOSIGNAL);

	if (n > 0) {
	    d->out_done += n;
	    continue;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
	    return;				/* wait for writability */
	delivery_lost(d, "write request: connection lost");
	return;
    }
    event_free(d->ev);
    d->ev = event_new(mail_server_base(), d->fd, EV_READ | EV_PERSIST, delivery_read, d);
    (void) event_priority_set(d->ev, 0);
    event_add(d->ev, 0);
}

static void request_build(QMGR_ENTRY *e, VSTR *out)
{
    QMGR_MESSAGE *m = e->msg;
    QFILE_INFO *i = &m->info;
    ATTR_LIST *al = attr_list_alloc();
    const char *v;

    attr_list_add(al, "transport", e->queue->transport->name);
    attr_list_add(al, "queue_name", "active");
    attr_list_add(al, "queue_id", m->id);
    attr_list_addl(al, "data_offset", i->data_offset);
    attr_list_addl(al, "data_size", i->content_size);
    attr_list_addl(al, "content_length", i->content_length);
    attr_list_add(al, "nexthop", e->queue->nexthop);
    attr_list_add(al, "encoding", (v = qfile_attr(i, "encoding")) ? v : "");
    attr_list_add(al, "smtputf8", (v = qfile_attr(i, "smtputf8")) ? v : "0");
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
    LOGATTR("sasl_username", "sasl_username");
    for (size_t k = 0; k < e->nrcpt; k++) {
	QFILE_RCPT *r = i->rcpt + e->rcpt[k];
	RECIPIENT rc = {.offset = r->offset,.address = r->address,
	    .orig_addr = r->orig_addr,.dsn_orcpt = r->dsn_orcpt,.dsn_notify = r->dsn_notify};

	deliver_request_add_rcpt(al, &rc);
    }
    attr_encode(out, al);
    attr_list_free(al);
}

void    qmgr_deliver_start(QMGR_ENTRY *e)
{
    QMGR_DELIVERY *d = xcalloc(1, sizeof(*d));
    VSTR   *path = vstr_alloc(64);
    struct sockaddr_un sun;

    d->entry = e;
    d->out = vstr_alloc(1024);
    d->in = vstr_alloc(128);
    vstr_set_limit(d->in, QMGR_REPLY_LIMIT);
    (void) vstr_fmt(path, "private/%s", e->queue->transport->name);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (vstr_len(path) >= sizeof(sun.sun_path)
	|| strchr(e->queue->transport->name, '/') != 0) {
	vstr_free(path);
	d->fd = -1;
	delivery_lost(d, "bad transport name");
	return;
    }
    memcpy(sun.sun_path, vstr_str(path), vstr_len(path) + 1);
    /* Blocking connect: local and immediate unless the backlog is full. */
    d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (d->fd < 0 || connect(d->fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
	VSTR   *why = vstr_alloc(128);

	(void) vstr_fmt(why, "connect to transport %s: %m", vstr_str(path));
	msg_warn("%s", vstr_str(why));
	vstr_free(why);
	vstr_free(path);
	e->queue->transport->dead_until = time(0) + 60;
	delivery_free(d);
	qmgr_entry_done(e, -1, "mail transport unavailable");
	return;
    }
    vstr_free(path);
    (void) fcntl(d->fd, F_SETFL, fcntl(d->fd, F_GETFL) | O_NONBLOCK);
    request_build(e, d->out);
    d->ev = event_new(mail_server_base(), d->fd, EV_WRITE | EV_PERSIST, delivery_write, d);
    (void) event_priority_set(d->ev, 0);
    event_add(d->ev, 0);
}
