/*
 * anvil - connection and rate counters shared by all smtpd processes, as
 * Postfix's anvil(8): master.cf "anvil unix - - n - 1 anvil".
 *
 * One process serves every client over long-lived unix-stream
 * connections. Requests and replies are attribute lists (src/global/attr.h):
 *
 *	request=connect ident=SERVICE:ADDR   -> status=0 count=N rate=N
 *	request=disconnect ident=...         -> status=0
 *	request=message|recipient|newtls|auth ident=...  -> status=0 rate=N
 *	request=newtls_report ident=...      -> status=0 rate=N (no increment)
 *	request=lookup ident=...             -> status=0 count rate message
 *	                                        recipient newtls auth
 *
 * Rates count events since the start of the current anvil_rate_time_unit
 * window. A client's connects are remembered per stream, so when an smtpd
 * process goes away its connections are no longer counted. Every
 * anvil_status_update_time (and at exit) the maxima since the last report
 * are logged as Postfix's "statistics: max ..." lines, then reset.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "attr.h"
#include "htable.h"
#include "mail_conf.h"
#include "mail_server.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"
#include "vstr.h"

#define ANVIL_MAX_LINE	1024		/* request line bound */
#define ANVIL_MAX_ATTRS	8		/* attributes per request */
#define ANVIL_MAX_IDENT	300		/* ident length bound */
#define ANVIL_MAX_OUTPUT	65536	/* replies a client has not read yet */

typedef struct {
    int     count;			/* concurrent connections */
    int     rate;			/* connections in this window */
    int     mail;			/* MAIL commands in this window */
    int     rcpt;			/* RCPT commands in this window */
    int     ntls;			/* new TLS sessions */
    int     auth;			/* AUTH commands */
    time_t  start;			/* window start */
} ANVIL_REMOTE;

typedef struct {
    struct bufferevent *bev;
    HTABLE *local;			/* ident -> connects by this stream */
    ATTR_LIST *req;
} ANVIL_CLIENT;

/* Maxima since the last report. */
typedef struct {
    const char *label;
    int     value;
    char    ident[ANVIL_MAX_IDENT + 1];
    time_t  when;
} ANVIL_MAX;

enum {
    MAX_CONN_RATE, MAX_CONN_COUNT, MAX_MAIL, MAX_RCPT, MAX_NTLS, MAX_AUTH, MAX_COUNT
};

static ANVIL_MAX anvil_max[MAX_COUNT] = {
    {.label = "connection rate"}, {.label = "connection count"},
    {.label = "message rate"}, {.label = "recipient rate"},
    {.label = "newtls rate"}, {.label = "auth rate"},
};
static int anvil_max_cache;
static time_t anvil_max_cache_time;

static HTABLE *anvil_remotes;
static long anvil_time_unit;
static struct event *anvil_status_ev;
static struct event *anvil_sweep_ev;

static void anvil_note_max(int which, int value, const char *ident)
{
    ANVIL_MAX *m = anvil_max + which;

    if (value > m->value) {
	m->value = value;
	safe_strlcpy(m->ident, ident, sizeof(m->ident));
	m->when = time((time_t *) 0);
    }
}

static void anvil_status_dump(void)
{
    char    when[32];

    for (int i = 0; i < MAX_COUNT; i++) {
	ANVIL_MAX *m = anvil_max + i;

	if (m->value <= 0)
	    continue;
	safe_strlcpy(when, ctime(&m->when) + 4, 16);
	if (i == MAX_CONN_COUNT)
	    msg_info("statistics: max %s %d for (%s) at %s", m->label, m->value, m->ident, when);
	else
	    msg_info("statistics: max %s %d/%lds for (%s) at %s", m->label, m->value,
		     anvil_time_unit, m->ident, when);
	m->value = 0;
    }
    if (anvil_max_cache > 0) {
	safe_strlcpy(when, ctime(&anvil_max_cache_time) + 4, 16);
	msg_info("statistics: max cache size %d at %s", anvil_max_cache, when);
	anvil_max_cache = 0;
    }
}

static void anvil_status_cb(evutil_socket_t fd, short what, void *arg)
{
    anvil_status_dump();
}

/* Forget remotes with no connection whose window has ended. */
static void anvil_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    time_t  now = time((time_t *) 0);
    HTABLE_ENT **list = htable_list(anvil_remotes, 0), **ht;

    for (ht = list; *ht; ht++) {
	ANVIL_REMOTE *r = (*ht)->value;

	if (r->count == 0 && r->start + anvil_time_unit <= now)
	    htable_delete(anvil_remotes, (*ht)->key, free);
    }
    free(list);
}

static ANVIL_REMOTE *anvil_remote(const char *ident)
{
    ANVIL_REMOTE *r = htable_find(anvil_remotes, ident);
    time_t  now = time((time_t *) 0);

    if (r == 0) {
	r = xcalloc(1, sizeof(*r));
	r->start = now;
	htable_enter(anvil_remotes, ident, r);
	if ((int) anvil_remotes->used > anvil_max_cache) {
	    anvil_max_cache = (int) anvil_remotes->used;
	    anvil_max_cache_time = now;
	}
    } else if (r->start + anvil_time_unit <= now) {
	/* A new window: rates start again from zero. */
	r->rate = r->mail = r->rcpt = r->ntls = r->auth = 0;
	r->start = now;
    }
    return (r);
}

static int anvil_incr(int *counter)
{
    if (*counter < INT_MAX)
	*counter += 1;
    return (*counter);
}

static void anvil_reply(ANVIL_CLIENT *cl, ATTR_LIST *rep)
{
    VSTR   *out = vstr_alloc(128);

    attr_encode(out, rep);
    bufferevent_write(cl->bev, vstr_str(out), vstr_len(out));
    vstr_free(out);
}

static void anvil_request(ANVIL_CLIENT *cl)
{
    const char *request = attr_list_get(cl->req, "request");
    const char *ident = attr_list_get(cl->req, "ident");
    ATTR_LIST *rep = attr_list_alloc();
    ANVIL_REMOTE *r;

    if (request == 0 || ident == 0 || *ident == 0 || strlen(ident) > ANVIL_MAX_IDENT) {
	msg_warn("unrecognized request: \"%s\", ignored", request ? request : "");
	attr_list_addl(rep, "status", -1);
    } else if (strcmp(request, "connect") == 0) {
	long    n = (long) htable_find(cl->local, ident);

	r = anvil_remote(ident);
	anvil_incr(&r->count);
	anvil_incr(&r->rate);
	htable_enter(cl->local, ident, (void *) (n + 1));
	anvil_note_max(MAX_CONN_COUNT, r->count, ident);
	anvil_note_max(MAX_CONN_RATE, r->rate, ident);
	attr_list_addl(rep, "status", 0);
	attr_list_addl(rep, "count", r->count);
	attr_list_addl(rep, "rate", r->rate);
    } else if (strcmp(request, "disconnect") == 0) {
	long    n = (long) htable_find(cl->local, ident);

	if (n > 0 && (r = htable_find(anvil_remotes, ident)) != 0) {
	    if (r->count > 0)
		r->count--;
	    if (n == 1)
		htable_delete(cl->local, ident, 0);
	    else
		htable_enter(cl->local, ident, (void *) (n - 1));
	}
	attr_list_addl(rep, "status", 0);
    } else if (strcmp(request, "lookup") == 0) {
	ANVIL_REMOTE zero;

	memset(&zero, 0, sizeof(zero));

	if ((r = htable_find(anvil_remotes, ident)) == 0)
	    r = &zero;
	attr_list_addl(rep, "status", 0);
	attr_list_addl(rep, "count", r->count);
	attr_list_addl(rep, "rate", r->rate);
	attr_list_addl(rep, "message", r->mail);
	attr_list_addl(rep, "recipient", r->rcpt);
	attr_list_addl(rep, "newtls", r->ntls);
	attr_list_addl(rep, "auth", r->auth);
    } else {
	static const struct {
	    const char *name;
	    size_t  offset;
	    int     max;
	    int     incr;
	}       rates[] = {
	    {"message", offsetof(ANVIL_REMOTE, mail), MAX_MAIL, 1},
	    {"recipient", offsetof(ANVIL_REMOTE, rcpt), MAX_RCPT, 1},
	    {"newtls", offsetof(ANVIL_REMOTE, ntls), MAX_NTLS, 1},
	    {"newtls_report", offsetof(ANVIL_REMOTE, ntls), MAX_NTLS, 0},
	    {"auth", offsetof(ANVIL_REMOTE, auth), MAX_AUTH, 1},
	};
	size_t  i;

	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
	    if (strcmp(request, rates[i].name) == 0)
		break;
	if (i == sizeof(rates) / sizeof(rates[0])) {
	    msg_warn("unrecognized request: \"%s\", ignored", request);
	    attr_list_addl(rep, "status", -1);
	} else {
	    int    *counter;

	    r = anvil_remote(ident);
	    counter = (int *) ((char *) r + rates[i].offset);
	    if (rates[i].incr)
		anvil_note_max(rates[i].max, anvil_incr(counter), ident);
	    attr_list_addl(rep, "status", 0);
	    attr_list_addl(rep, "rate", *counter);
	}
    }
    anvil_reply(cl, rep);
    attr_list_free(rep);
}

/* The client went away: its connections no longer count. */
static void anvil_client_free(ANVIL_CLIENT *cl)
{
    HTABLE_ENT **list = htable_list(cl->local, 0), **ht;

    for (ht = list; *ht; ht++) {
	ANVIL_REMOTE *r = htable_find(anvil_remotes, (*ht)->key);
	long    n = (long) (*ht)->value;

	if (r)
	    r->count = r->count > n ? r->count - (int) n : 0;
    }
    free(list);
    htable_free(cl->local, 0);
    attr_list_free(cl->req);
    bufferevent_free(cl->bev);
    free(cl);
    mail_server_client_end();
}

static void anvil_read_cb(struct bufferevent *bev, void *arg)
{
    ANVIL_CLIENT *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t  len;
    char   *line;

    while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != 0) {
	int     st = len > ANVIL_MAX_LINE ? -1
	    : attr_parse_line(cl->req, line, len, ANVIL_MAX_ATTRS);

	free(line);
	if (st < 0) {
	    msg_warn("malformed request from client -- disconnecting");
	    anvil_client_free(cl);
	    return;
	}
	if (st == 1) {
	    anvil_request(cl);
	    attr_list_reset(cl->req);
	    /*
	     * A client that sends requests but does not read the replies:
	     * stop reading (and answering) until it has taken them, so that
	     * our output stays bounded. anvil_write_cb resumes.
	     */
	    if (evbuffer_get_length(bufferevent_get_output(bev)) > ANVIL_MAX_OUTPUT) {
		bufferevent_disable(bev, EV_READ);
		return;
	    }
	}
    }
    if (evbuffer_get_length(in) > ANVIL_MAX_LINE) {
	msg_warn("request line too long from client -- disconnecting");
	anvil_client_free(cl);
    }
}

/* Output drained below the low-water mark: resume reading if paused. */
static void anvil_write_cb(struct bufferevent *bev, void *arg)
{
    if (bufferevent_get_enabled(bev) & EV_READ)
	return;
    bufferevent_enable(bev, EV_READ);
    anvil_read_cb(bev, arg);			/* requests already buffered */
}

static void anvil_event_cb(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
	anvil_client_free((ANVIL_CLIENT *) arg);
}

static void anvil_accept(int fd, const char *service)
{
    ANVIL_CLIENT *cl = xcalloc(1, sizeof(*cl));

    mail_server_client_begin();
    cl->local = htable_create(8);
    cl->req = attr_list_alloc();
    cl->bev = bufferevent_socket_new(mail_server_base(), fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(cl->bev, anvil_read_cb, anvil_write_cb, anvil_event_cb, cl);
    bufferevent_setwatermark(cl->bev, EV_WRITE, ANVIL_MAX_OUTPUT / 2, 0);
    bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
}

static void anvil_post_init(const char *service, int argc, char **argv)
{
    struct timeval st = {mail_conf_time("anvil_status_update_time"), 0};
    struct timeval sw;

    anvil_time_unit = mail_conf_time("anvil_rate_time_unit");
    if (anvil_time_unit < 1)
	anvil_time_unit = 1;
    if (st.tv_sec < 1)
	st.tv_sec = 1;
    sw.tv_sec = anvil_time_unit;
    sw.tv_usec = 0;
    anvil_remotes = htable_create(256);
    anvil_status_ev = event_new(mail_server_base(), -1, EV_PERSIST, anvil_status_cb, 0);
    event_add(anvil_status_ev, &st);
    anvil_sweep_ev = event_new(mail_server_base(), -1, EV_PERSIST, anvil_sweep_cb, 0);
    event_add(anvil_sweep_ev, &sw);
}

static void anvil_exit(void)
{
    anvil_status_dump();
}

int     main(int argc, char **argv)
{
    static const MAIL_SERVER_CB cb = {
	.post_init = anvil_post_init,
	.on_accept = anvil_accept,
	.on_exit = anvil_exit,
	.max_clients = INT_MAX,			/* one process for everybody */
	.idle_exit = 1,
	.stderr_standalone = 1,
	/* Clients stay connected for good: on reload exit at once (as
	 * Postfix's anvil); smtpd reconnects to the new one. */
	.exit_on_reload = 1,
    };

    mail_server_main(argc, argv, &cb);
}
