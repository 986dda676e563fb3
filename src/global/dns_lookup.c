/* dns_lookup - c-ares queries, synchronous and inside libevent (see dns_lookup.h). */
#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "argv.h"
#include "dns_lookup.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "vstr.h"

#define DNS_MAX_NAME	1025

static int ares_ready;

static void dns_library_init(void)
{
    if (!ares_ready) {
	int     rc = ares_library_init(ARES_LIB_INIT_ALL);

	if (rc != ARES_SUCCESS)
	    msg_fatal("c-ares library init: %s", ares_strerror(rc));
	ares_ready = 1;
    }
}

/* Configure a channel from main.cf. */
static int channel_init(ares_channel *chan, struct ares_options *opt, int optmask)
{
    int     rc;
    const char *servers = mail_conf_str("postern_dns_servers");
    long    timeout = mail_conf_time("postern_dns_timeout");
    long    tries = mail_conf_int("postern_dns_tries");

    dns_library_init();
    opt->timeout = (int) (timeout > 0 ? timeout * 1000 : 5000);
    opt->tries = (int) (tries > 0 ? tries : 2);
    optmask |= ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    if ((rc = ares_init_options(chan, opt, optmask)) != ARES_SUCCESS) {
	msg_warn("c-ares init: %s", ares_strerror(rc));
	return (-1);
    }
    if (servers && *servers) {
	VSTR   *csv = vstr_alloc(64);

	/* c-ares wants commas; main.cf lists may use white space too. */
	for (const char *cp = servers; *cp; cp++)
	    vstr_addch(csv, (*cp == ' ' || *cp == '\t') ? ',' : *cp);
	if ((rc = ares_set_servers_ports_csv(*chan, vstr_str(csv))) != ARES_SUCCESS)
	    msg_warn("postern_dns_servers = %s: %s", servers, ares_strerror(rc));
	vstr_free(csv);
    }
    return (0);
}

const char *dns_status_text(int status)
{
    switch (status) {
    case DNS_OK:
	return ("ok");
    case DNS_NOTFOUND:
	return ("Host not found");
    case DNS_NODATA:
	return ("No address associated with hostname");
    case DNS_RETRY:
	return ("Host not found, try again");
    default:
	return ("Malformed or unexpected name server reply");
    }
}

const char *dns_type_name(int type)
{
    switch (type) {
    case DNS_T_A:
	return ("A");
    case DNS_T_AAAA:
	return ("AAAA");
    case DNS_T_MX:
	return ("MX");
    case DNS_T_TXT:
	return ("TXT");
    case DNS_T_PTR:
	return ("PTR");
    default:
	return ("?");
    }
}

int     dns_reverse_name(const char *addr, const char *suffix, char *buf, size_t len)
{
    unsigned char a[16];
    VSTR   *vp = vstr_alloc(80);
    int     rc = 0;

    if (inet_pton(AF_INET, addr, a) == 1) {
	vstr_fmt(vp, "%u.%u.%u.%u", a[3], a[2], a[1], a[0]);
    } else if (inet_pton(AF_INET6, addr, a) == 1) {
	for (int i = 15; i >= 0; i--)
	    vstr_fmt_append(vp, "%s%x.%x", i == 15 ? "" : ".", a[i] & 0xf, a[i] >> 4);
    } else
	rc = -1;
    if (rc == 0 && suffix && *suffix)
	vstr_fmt_append(vp, ".%s", suffix);
    if (rc == 0 && vstr_len(vp) + 1 > len)
	rc = -1;
    if (rc == 0)
	memcpy(buf, vstr_str(vp), vstr_len(vp) + 1);
    vstr_free(vp);
    return (rc);
}

/* Turn a c-ares status and answer into a DNS_REPLY. */
static void reply_fill(DNS_REPLY *r, int status, int type, unsigned char *abuf, int alen)
{
    char    text[INET6_ADDRSTRLEN];

    r->rr = argv_alloc(4);
    r->type = type;
    switch (status) {
    case ARES_SUCCESS:
	break;
    case ARES_ENOTFOUND:
	r->status = DNS_NOTFOUND;
	return;
    case ARES_ENODATA:
	r->status = DNS_NODATA;
	return;
    case ARES_EFORMERR:
    case ARES_EBADRESP:
    case ARES_EBADNAME:
	r->status = DNS_INVALID;
	return;
    default:
	r->status = DNS_RETRY;
	return;
    }
    r->status = DNS_OK;
    switch (type) {
    case DNS_T_A:{
	    struct ares_addrttl at[32];
	    int     n = 32;

	    if (ares_parse_a_reply(abuf, alen, 0, at, &n) != ARES_SUCCESS) {
		r->status = DNS_NODATA;
		break;
	    }
	    for (int i = 0; i < n; i++)
		if (inet_ntop(AF_INET, &at[i].ipaddr, text, sizeof(text)))
		    argv_add(r->rr, text);
	    break;
	}
    case DNS_T_AAAA:{
	    struct ares_addr6ttl at[32];
	    int     n = 32;

	    if (ares_parse_aaaa_reply(abuf, alen, 0, at, &n) != ARES_SUCCESS) {
		r->status = DNS_NODATA;
		break;
	    }
	    for (int i = 0; i < n; i++)
		if (inet_ntop(AF_INET6, &at[i].ip6addr, text, sizeof(text)))
		    argv_add(r->rr, text);
	    break;
	}
    case DNS_T_MX:{
	    struct ares_mx_reply *mx = 0;
	    VSTR   *vp = vstr_alloc(64);
	    int     rc = ares_parse_mx_reply(abuf, alen, &mx);

	    if (rc != ARES_SUCCESS) {
		r->status = rc == ARES_ENODATA ? DNS_NODATA : DNS_INVALID;
	    } else {
		for (struct ares_mx_reply *m = mx; m; m = m->next) {
		    vstr_fmt(vp, "%u %s", m->priority, *m->host ? m->host : ".");
		    argv_add(r->rr, vstr_str(vp));
		}
		ares_free_data(mx);
	    }
	    vstr_free(vp);
	    break;
	}
    case DNS_T_TXT:{
	    struct ares_txt_ext *txt = 0;
	    VSTR   *vp = vstr_alloc(64);
	    int     rc = ares_parse_txt_reply_ext(abuf, alen, &txt);

	    vstr_set_limit(vp, 65536);
	    if (rc != ARES_SUCCESS) {
		r->status = rc == ARES_ENODATA ? DNS_NODATA : DNS_INVALID;
	    } else {
		for (struct ares_txt_ext *t = txt; t; t = t->next) {
		    if (t->record_start && vstr_len(vp)) {
			argv_add(r->rr, vstr_str(vp));
			vstr_reset(vp);
		    }
		    vstr_append(vp, t->txt, t->length);
		}
		if (txt)
		    argv_add(r->rr, vstr_str(vp));
		ares_free_data(txt);
	    }
	    vstr_free(vp);
	    break;
	}
    case DNS_T_PTR:{
	    struct hostent *he = 0;

	    if (ares_parse_ptr_reply(abuf, alen, "", 0, AF_INET, &he) != ARES_SUCCESS) {
		r->status = DNS_NODATA;
		break;
	    }
	    argv_add(r->rr, he->h_name);
	    for (int i = 0; he->h_aliases && he->h_aliases[i]; i++)
		argv_add(r->rr, he->h_aliases[i]);
	    ares_free_hostent(he);
	    break;
	}
    }
    if (r->status == DNS_OK && r->rr->argc == 0)
	r->status = DNS_NODATA;
}

static int name_ok(const char *name)
{
    size_t  n = strlen(name);

    return (n > 0 && n < DNS_MAX_NAME);
}

/*
 * Synchronous lookups: a private channel, polled until done.
 */
typedef struct SYNC_CTX {
    DNS_REPLY *reply;
    int     done;
} SYNC_CTX;

static void sync_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    SYNC_CTX *sc = arg;

    reply_fill(sc->reply, status, sc->reply->type, abuf, alen);
    sc->done = 1;
}

int     dns_lookup_sync(const char *name, int type, DNS_REPLY *reply)
{
    ares_channel chan;
    struct ares_options opt;
    SYNC_CTX sc;

    memset(reply, 0, sizeof(*reply));
    memset(&opt, 0, sizeof(opt));
    reply->type = type;
    reply->name = name;
    if (!name_ok(name)) {
	reply->rr = argv_alloc(1);
	reply->status = DNS_INVALID;
	return (reply->status);
    }
    if (channel_init(&chan, &opt, 0) < 0) {
	reply->rr = argv_alloc(1);
	reply->status = DNS_RETRY;
	return (reply->status);
    }
    sc.reply = reply;
    sc.done = 0;
    ares_query(chan, name, 1 /* class IN */, type, sync_cb, &sc);
    while (!sc.done) {
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	unsigned bits = (unsigned) ares_getsock(chan, socks, ARES_GETSOCK_MAXNUM);
	int     n = 0;
	struct timeval tv, *tvp;

	for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
	    int     rd = (bits & (1u << i)) != 0;
	    int     wr = (bits & (1u << (i + ARES_GETSOCK_MAXNUM))) != 0;

	    if (!rd && !wr)
		continue;
	    pfd[n].fd = socks[i];
	    pfd[n].events = (short) ((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
	    pfd[n].revents = 0;
	    n++;
	}
	if (n == 0 && sc.done)
	    break;
	tvp = ares_timeout(chan, 0, &tv);
	(void) poll(pfd, (nfds_t) n, tvp ? (int) (tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 1000);
	for (int i = 0; i < n; i++)
	    ares_process_fd(chan, (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) ? pfd[i].fd : ARES_SOCKET_BAD,
			    (pfd[i].revents & POLLOUT) ? pfd[i].fd : ARES_SOCKET_BAD);
	if (n == 0)
	    ares_process_fd(chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
    ares_destroy(chan);
    return (reply->status);
}

void    dns_reply_free(DNS_REPLY *reply)
{
    if (reply->rr)
	argv_free(reply->rr);
    reply->rr = 0;
}

/*
 * Asynchronous lookups: one channel per event base, its sockets watched
 * by libevent, a timer for c-ares' retransmissions.
 */
typedef struct ASYNC_SOCK {
    ares_socket_t fd;
    struct event *ev;
    struct ASYNC_SOCK *next;
} ASYNC_SOCK;

typedef struct ASYNC_CHAN {
    struct event_base *base;
    ares_channel chan;
    ASYNC_SOCK *socks;
    struct event *timer;
    int     pending;
    struct ASYNC_CHAN *next;
} ASYNC_CHAN;

typedef struct ASYNC_Q {
    ASYNC_CHAN *ac;
    DNS_CALLBACK cb;
    void   *context;
    char   *name;
    int     type;
} ASYNC_Q;

static ASYNC_CHAN *async_chans;

static void async_arm_timer(ASYNC_CHAN *ac)
{
    struct timeval tv, *tvp;

    if (ac->pending == 0) {
	evtimer_del(ac->timer);
	return;
    }
    tvp = ares_timeout(ac->chan, 0, &tv);
    if (tvp == 0) {
	tv.tv_sec = 1;
	tv.tv_usec = 0;
	tvp = &tv;
    }
    evtimer_add(ac->timer, tvp);
}

static void async_sock_event(evutil_socket_t fd, short what, void *arg)
{
    ASYNC_CHAN *ac = arg;

    ares_process_fd(ac->chan, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
		    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
    async_arm_timer(ac);
}

static void async_timer_event(evutil_socket_t fd, short what, void *arg)
{
    ASYNC_CHAN *ac = arg;

    ares_process_fd(ac->chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    async_arm_timer(ac);
}

static void async_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    ASYNC_CHAN *ac = data;
    ASYNC_SOCK **pp, *sp;

    for (pp = &ac->socks; (sp = *pp) != 0; pp = &sp->next)
	if (sp->fd == fd)
	    break;
    if (sp) {
	event_free(sp->ev);
	if (!readable && !writable) {
	    *pp = sp->next;
	    free(sp);
	    return;
	}
    } else {
	if (!readable && !writable)
	    return;
	sp = xcalloc(1, sizeof(*sp));
	sp->fd = fd;
	sp->next = ac->socks;
	ac->socks = sp;
    }
    sp->ev = event_new(ac->base, fd, (short) ((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0) | EV_PERSIST),
		       async_sock_event, ac);
    event_add(sp->ev, 0);
}

static ASYNC_CHAN *async_chan(struct event_base *base)
{
    ASYNC_CHAN *ac;
    struct ares_options opt;

    for (ac = async_chans; ac; ac = ac->next)
	if (ac->base == base)
	    return (ac);
    ac = xcalloc(1, sizeof(*ac));
    ac->base = base;
    memset(&opt, 0, sizeof(opt));
    opt.sock_state_cb = async_sock_state;
    opt.sock_state_cb_data = ac;
    if (channel_init(&ac->chan, &opt, ARES_OPT_SOCK_STATE_CB) < 0) {
	free(ac);
	return (0);
    }
    ac->timer = evtimer_new(base, async_timer_event, ac);
    ac->next = async_chans;
    async_chans = ac;
    return (ac);
}

static void async_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    ASYNC_Q *q = arg;
    DNS_REPLY r;

    memset(&r, 0, sizeof(r));
    r.name = q->name;
    reply_fill(&r, status, q->type, abuf, alen);
    q->ac->pending--;
    if (status != ARES_EDESTRUCTION)
	q->cb(&r, q->context);
    dns_reply_free(&r);
    free(q->name);
    free(q);
}

void    dns_lookup_async(struct event_base *base, const char *name, int type,
			         DNS_CALLBACK cb, void *context)
{
    ASYNC_CHAN *ac = name_ok(name) ? async_chan(base) : 0;
    ASYNC_Q *q;

    if (ac == 0) {
	DNS_REPLY r;

	/* Report failure right away (still from the caller's stack). */
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.type = type;
	r.status = name_ok(name) ? DNS_RETRY : DNS_INVALID;
	r.rr = argv_alloc(1);
	cb(&r, context);
	argv_free(r.rr);
	return;
    }
    q = xcalloc(1, sizeof(*q));
    q->ac = ac;
    q->cb = cb;
    q->context = context;
    q->name = xstrdup(name);
    q->type = type;
    ac->pending++;
    ares_query(ac->chan, name, 1 /* class IN */, type, async_cb, q);
    async_arm_timer(ac);
}

/*
 * Client names: reverse (ares_gethostbyaddr: hosts file, then DNS), then
 * forward confirmation (ares_gethostbyname of that name).
 */
typedef struct CLIENT_Q {
    ASYNC_CHAN *ac;
    DNS_CLIENT_CB cb;
    void   *context;
    int     family;
    unsigned char addr[16];
    char   *reverse;
    int     reverse_status;
    char    printable[64];		/* the address, as the caller gave it */
    char   *warning;			/* forward confirmation failed */
    struct event *ev;			/* to report failures from the loop */
} CLIENT_Q;

static int client_status(int ares_status)
{
    switch (ares_status) {
    case ARES_SUCCESS:
	return (2);
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_EBADNAME:
	return (5);
    default:
	return (4);
    }
}

static void client_done(CLIENT_Q *q, const char *name, int name_status)
{
    q->cb(name ? name : "unknown", name_status, q->reverse ? q->reverse : "unknown",
	  q->reverse_status, q->warning, q->context);
    if (q->ev)
	event_free(q->ev);
    free(q->warning);
    free(q->reverse);
    free(q);
}

static void client_forward_cb(void *arg, int status, int timeouts, struct hostent *he)
{
    CLIENT_Q *q = arg;
    int     ok = 0;

    q->ac->pending--;
    if (status == ARES_EDESTRUCTION) {
	free(q->reverse);
	free(q);
	return;
    }
    if (status == ARES_SUCCESS && he && he->h_addrtype == q->family)
	for (int i = 0; he->h_addr_list[i] && !ok; i++)
	    ok = memcmp(he->h_addr_list[i], q->addr, q->family == AF_INET ? 4 : 16) == 0;
    if (!ok) {
	/* Postfix's words (getaddrinfo's error texts). */
	const char *why = status == ARES_SUCCESS ? 0
	    : status == ARES_ENOTFOUND || status == ARES_EBADNAME ? "Name or service not known"
	    : status == ARES_ENODATA ? "No address associated with hostname"
	    : "Temporary failure in name resolution";
	VSTR   *w = vstr_alloc(128);

	vstr_fmt(w, "hostname %s does not resolve to address %s%s%s", q->reverse,
		 q->printable, why ? ": " : "", why ? why : "");
	q->warning = xstrdup(vstr_str(w));
	vstr_free(w);
    }
    if (ok)
	client_done(q, q->reverse, 2);
    else
	client_done(q, 0, status == ARES_SUCCESS ? 5 : client_status(status));
}

/*
 * Postfix's sanity checks of a name from a PTR lookup (its
 * sockaddr_to_hostname): a name that is an address, or that is not a
 * valid host name, is not the client's name (an attacker controls his
 * reverse zone, and a numeric or odd name could match access rules meant
 * for addresses). Returns 0, or 1 with Postfix's warning text in why.
 */
static int client_name_bad(const char *name, VSTR *why)
{
    unsigned char bin[16];
    size_t  label = 0;
    int     non_numeric = 0;
    const char *cp;

    if (inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1) {
	vstr_fmt(why, "numeric hostname: %s", name);
	return (1);
    }
    if (*name == 0) {
	vstr_fmt(why, "valid_hostname: empty hostname");
	return (1);
    }
    if (strlen(name) > 255) {
	vstr_fmt(why, "valid_hostname: bad length %d for %.100s...", (int) strlen(name), name);
	return (1);
    }
    for (cp = name; *cp; cp++) {
	int     ch = (unsigned char) *cp;

	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')
	    || (ch >= 'A' && ch <= 'Z') || ch == '_') {	/* ASCII only, as Postfix */
	    if (++label > 63) {
		vstr_fmt(why, "valid_hostname: hostname label too long: %.100s", name);
		return (1);
	    }
	    if (ch < '0' || ch > '9')
		non_numeric = 1;
	} else if (ch == '.') {
	    if (label == 0 || cp[1] == 0) {
		vstr_fmt(why, "valid_hostname: misplaced delimiter: %.100s", name);
		return (1);
	    }
	    label = 0;
	} else if (ch == '-') {
	    non_numeric = 1;
	    if (++label == 1 || cp[1] == 0 || cp[1] == '.') {
		vstr_fmt(why, "valid_hostname: misplaced hyphen: %.100s", name);
		return (1);
	    }
	} else {
	    vstr_fmt(why, "valid_hostname: invalid character %d(decimal): %.100s", ch, name);
	    return (1);
	}
    }
    if (!non_numeric) {
	vstr_fmt(why, "valid_hostname: numeric hostname: %.100s", name);
	return (1);
    }
    return (0);
}

static void client_reverse_cb(void *arg, int status, int timeouts, struct hostent *he)
{
    CLIENT_Q *q = arg;

    q->ac->pending--;
    if (status == ARES_EDESTRUCTION) {
	free(q);
	return;
    }
    q->reverse_status = client_status(status);
    if (status != ARES_SUCCESS || he == 0 || he->h_name == 0 || *he->h_name == 0) {
	if (q->reverse_status == 2)
	    q->reverse_status = 5;
	client_done(q, 0, q->reverse_status);
	return;
    }
    {
	VSTR   *why = vstr_alloc(100);

	if (client_name_bad(he->h_name, why)) {
	    /* As Postfix: name and reverse name unknown, permanently. */
	    q->warning = xstrdup(vstr_str(why));
	    vstr_free(why);
	    q->reverse_status = 5;
	    client_done(q, 0, 5);
	    return;
	}
	vstr_free(why);
    }
    q->reverse = xstrdup(he->h_name);
    {
	ASYNC_CHAN *ac = q->ac;			/* q may be gone when this returns */

	ac->pending++;
	ares_gethostbyname(ac->chan, q->reverse, q->family, client_forward_cb, q);
	async_arm_timer(ac);
    }
}

static void client_fail_event(evutil_socket_t fd, short what, void *arg)
{
    CLIENT_Q *q = arg;

    client_done(q, 0, q->reverse_status);
}

void    dns_client_lookup(struct event_base *base, const char *addr, DNS_CLIENT_CB cb,
			          void *context)
{
    CLIENT_Q *q = xcalloc(1, sizeof(*q));
    const char *a = strncmp(addr, "::ffff:", 7) == 0 && strchr(addr + 7, '.') ? addr + 7 : addr;

    q->cb = cb;
    q->context = context;
    q->reverse_status = 4;
    (void) snprintf(q->printable, sizeof(q->printable), "%s", a);
    if (inet_pton(AF_INET, a, q->addr) == 1)
	q->family = AF_INET;
    else if (inet_pton(AF_INET6, a, q->addr) == 1)
	q->family = AF_INET6;
    if (q->family == 0 || (q->ac = async_chan(base)) == 0) {
	q->reverse_status = q->family == 0 ? 5 : 4;
	q->ev = evtimer_new(base, client_fail_event, q);
	{
	    struct timeval tv = {0, 0};

	    evtimer_add(q->ev, &tv);
	}
	return;
    }
    {
	ASYNC_CHAN *ac = q->ac;			/* q may be gone when this returns */

	ac->pending++;
	ares_gethostbyaddr(ac->chan, q->addr, q->family == AF_INET ? 4 : 16, q->family,
			   client_reverse_cb, q);
	async_arm_timer(ac);
    }
}

void    dns_lookup_shutdown(void)
{
    ASYNC_CHAN *ac, *next;

    for (ac = async_chans; ac; ac = next) {
	next = ac->next;
	ares_destroy(ac->chan);			/* callbacks get ARES_EDESTRUCTION */
	while (ac->socks) {
	    ASYNC_SOCK *sp = ac->socks;

	    ac->socks = sp->next;
	    event_free(sp->ev);
	    free(sp);
	}
	event_free(ac->timer);
	free(ac);
    }
    async_chans = 0;
}
