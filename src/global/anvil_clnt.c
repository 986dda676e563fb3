/* anvil_clnt - asynchronous anvil client; see anvil_clnt.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "anvil_clnt.h"
#include "attr.h"
#include "mem.h"
#include "msg.h"
#include "vstr.h"

#define ANVIL_CLNT_MAX_LINE	1024
#define ANVIL_CLNT_TIMEOUT	10	/* seconds without an answer: give up */

typedef struct ANVIL_CLNT_REQ {
    ANVIL_CLNT_CB cb;			/* NULL: nobody waits (disconnect) */
    void   *context;
    char   *wire;				/* the request, to send again once */
    int     retried;
    struct ANVIL_CLNT_REQ *next;
} ANVIL_CLNT_REQ;

static struct event_base *ac_base;
static char *ac_path;
static struct bufferevent *ac_bev;
static ANVIL_CLNT_REQ *ac_head, *ac_tail;	/* waiting for replies, in order */
static ANVIL_CLNT_REQ *ac_failed, *ac_failed_tail;	/* to be told FAIL */
static struct event *ac_fail_ev;
static ATTR_LIST *ac_reply;
static struct event *ac_timer;		/* oldest unanswered request */

static void ac_drop(const char *why);

static void ac_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    if (ac_head)
	ac_drop("Connection timed out");
}

/* (Re)arm the answer timer while requests wait, else stop it. */
static void ac_timer_arm(void)
{
    struct timeval tv = {ANVIL_CLNT_TIMEOUT, 0};

    if (ac_timer == 0)
	ac_timer = evtimer_new(ac_base, ac_timer_cb, 0);
    if (ac_head)
	evtimer_add(ac_timer, &tv);
    else
	evtimer_del(ac_timer);
}

void    anvil_clnt_init(struct event_base *base, const char *path)
{
    ac_base = base;
    free(ac_path);
    ac_path = xstrdup(path);
}

/* Report failures from the event loop. */
static void ac_fail_cb(evutil_socket_t fd, short what, void *arg)
{
    while (ac_failed) {
	ANVIL_CLNT_REQ *r = ac_failed;

	ac_failed = r->next;
	if (ac_failed == 0)
	    ac_failed_tail = 0;
	if (r->cb)
	    r->cb(ANVIL_STAT_FAIL, 0, 0, r->context);
	free(r->wire);
	free(r);
    }
}

static void ac_fail(ANVIL_CLNT_REQ *r)
{
    r->next = 0;
    if (ac_failed_tail)
	ac_failed_tail->next = r;
    else
	ac_failed = r;
    ac_failed_tail = r;
    if (ac_fail_ev == 0)
	ac_fail_ev = evtimer_new(ac_base, ac_fail_cb, 0);
    event_active(ac_fail_ev, EV_TIMEOUT, 1);
}

/* The stream is broken: everything in flight fails. */
static void ac_drop(const char *why)
{
    msg_warn("problem talking to server %s: %s", ac_path, why);
    if (ac_bev) {
	bufferevent_free(ac_bev);
	ac_bev = 0;
    }
    while (ac_head) {
	ANVIL_CLNT_REQ *r = ac_head;

	ac_head = r->next;
	ac_fail(r);
    }
    ac_tail = 0;
    if (ac_reply)
	attr_list_reset(ac_reply);
    ac_timer_arm();
}

static void ac_read_cb(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    char   *line;
    size_t  len;

    while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != 0) {
	int     st = len > ANVIL_CLNT_MAX_LINE ? -1 : attr_parse_line(ac_reply, line, len, 16);

	free(line);
	if (st < 0 || (st == 1 && ac_head == 0)) {
	    ac_drop("malformed reply");
	    return;
	}
	if (st == 1) {
	    ANVIL_CLNT_REQ *r = ac_head;
	    int     ok = 1;
	    long    status = attr_list_get_long(ac_reply, "status", -1, &ok);
	    long    count = attr_list_get_long(ac_reply, "count", 0, &ok);
	    long    rate = attr_list_get_long(ac_reply, "rate", 0, &ok);

	    if ((ac_head = r->next) == 0)
		ac_tail = 0;
	    ac_timer_arm();
	    attr_list_reset(ac_reply);
	    if (r->cb)
		r->cb(ok && status == 0 ? ANVIL_STAT_OK : ANVIL_STAT_FAIL,
		      (int) count, (int) rate, r->context);
	    free(r->wire);
	    free(r);
	}
    }
    if (evbuffer_get_length(in) > ANVIL_CLNT_MAX_LINE)
	ac_drop("malformed reply");
}

static int ac_open(void);

static void ac_event_cb(struct bufferevent *bev, short what, void *arg)
{
    ANVIL_CLNT_REQ *r;
    int     retried = 0;

    if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
	return;
    for (r = ac_head; r; r = r->next)
	retried |= r->retried;
    if (!retried) {
	/*
	 * anvil went away (it exits at "postfix reload"): reconnect quietly
	 * and send what is unanswered once more, as Postfix's client does.
	 */
	bufferevent_free(ac_bev);
	ac_bev = 0;
	if (ac_reply)
	    attr_list_reset(ac_reply);
	if (ac_head == 0)
	    return;
	if (ac_open() == 0) {
	    for (r = ac_head; r; r = r->next) {
		r->retried = 1;
		bufferevent_write(ac_bev, r->wire, strlen(r->wire));
	    }
	    return;
	}
	while (ac_head) {
	    r = ac_head;
	    ac_head = r->next;
	    ac_fail(r);
	}
	ac_tail = 0;
	return;
    }
    ac_drop(what & BEV_EVENT_EOF ? "Connection reset by peer"
	    : strerror(EVUTIL_SOCKET_ERROR() ? EVUTIL_SOCKET_ERROR() : EPIPE));
}

/* Open the stream if needed (non-blocking connect: never waits). */
static int ac_open(void)
{
    struct sockaddr_un sun;
    int     fd;

    if (ac_bev)
	return (0);
    if (ac_base == 0 || ac_path == 0)
	msg_panic("anvil_clnt: not initialized");
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(ac_path) >= sizeof(sun.sun_path)) {
	errno = ENAMETOOLONG;
	fd = -1;
    } else {
	memcpy(sun.sun_path, ac_path, strlen(ac_path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) >= 0
	    && connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
	    int     saved = errno;

	    (void) close(fd);
	    fd = -1;
	    errno = saved;
	}
    }
    if (fd < 0) {
	int     saved = errno;

	msg_warn("connect to %s: %s", ac_path, strerror(saved));
	msg_warn("problem talking to server %s: %s", ac_path, strerror(saved));
	return (-1);
    }
    if (ac_reply == 0)
	ac_reply = attr_list_alloc();
    ac_bev = bufferevent_socket_new(ac_base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(ac_bev, ac_read_cb, 0, ac_event_cb, 0);
    bufferevent_enable(ac_bev, EV_READ | EV_WRITE);
    return (0);
}

static void ac_request(const char *request, const char *service, const char *addr,
		               ANVIL_CLNT_CB cb, void *context)
{
    ANVIL_CLNT_REQ *r = xcalloc(1, sizeof(*r));
    ATTR_LIST *al;
    VSTR   *out;

    r->cb = cb;
    r->context = context;
    if (ac_open() < 0) {
	ac_fail(r);
	return;
    }
    al = attr_list_alloc();
    attr_list_add(al, "request", request);
    attr_list_addf(al, "ident", "%s:%s", service, addr);
    out = vstr_alloc(128);
    attr_encode(out, al);
    bufferevent_write(ac_bev, vstr_str(out), vstr_len(out));
    r->wire = xstrdup(vstr_str(out));
    vstr_free(out);
    attr_list_free(al);
    if (ac_tail)
	ac_tail->next = r;
    else
	ac_head = r;
    ac_tail = r;
    if (ac_timer == 0 || !evtimer_pending(ac_timer, 0))
	ac_timer_arm();
}

void    anvil_clnt_connect(const char *service, const char *addr, ANVIL_CLNT_CB cb, void *ctx)
{
    ac_request("connect", service, addr, cb, ctx);
}

void    anvil_clnt_disconnect(const char *service, const char *addr)
{
    /* Nothing to undo when the stream is down: anvil forgot this stream. */
    if (ac_bev)
	ac_request("disconnect", service, addr, 0, 0);
}

void    anvil_clnt_rate(const char *request, const char *service, const char *addr,
			        ANVIL_CLNT_CB cb, void *ctx)
{
    ac_request(request, service, addr, cb, ctx);
}

void    anvil_clnt_cancel(void *context)
{
    ANVIL_CLNT_REQ *r;

    for (r = ac_head; r; r = r->next)
	if (r->context == context)
	    r->cb = 0;
    for (r = ac_failed; r; r = r->next)
	if (r->context == context)
	    r->cb = 0;
}
