/*
 * smtpd_policy_service - check_policy_service: Postfix's SMTP access policy
 * delegation protocol (SMTPD_POLICY_README). A request of "name=value"
 * lines and an empty line goes to the server (inet:host:port, unix:/path,
 * or unix:private/name relative to the queue directory); the answer
 * "action=..." and an empty line is used like an access(5) table result.
 *
 * Inside smtpd the query runs in the event loop (the stage answers
 * SMTPD_POLICY_PENDING and is evaluated again when the answer is in, like
 * DNS); answers are cached per session and request. A server that cannot
 * be reached or answers nonsense gets $smtpd_policy_service_default_action
 * ("451 4.3.5 Server configuration problem").
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "htable.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "smtpd_policy.h"
#include "smtpd_policy_int.h"
#include "stringops.h"
#include "vstr.h"

#define PS_MAX_REPLY	4096

typedef struct PS_ENTRY {
    int     done;
    char   *action;			/* NULL: failed */
} PS_ENTRY;

typedef struct PS_QUERY {
    SMTPD_POLICY *p;
    char   *key;
    struct bufferevent *bev;
} PS_QUERY;

static void ps_entry_free(void *ptr)
{
    PS_ENTRY *e = ptr;

    free(e->action);
    free(e);
}

void    spol_policy_cache_free(SMTPD_POLICY *p)
{
    if (p->policy_cache)
	htable_free(p->policy_cache, ps_entry_free);
    p->policy_cache = 0;
}

static void ps_attr(VSTR *req, const char *name, const char *value)
{
    vstr_fmt_append(req, "%s=%s\n", name, value ? value : "");
}

static void ps_request(SMTPD_POLICY *p, VSTR *req)
{
    char    count[32];

    snprintf(count, sizeof(count), "%d", p->rcpt_count);
    vstr_reset(req);
    ps_attr(req, "request", "smtpd_access_policy");
    ps_attr(req, "protocol_state", p->stage);
    ps_attr(req, "protocol_name", p->protocol);
    ps_attr(req, "helo_name", p->helo);
    ps_attr(req, "queue_id", p->queue_id && strcmp(p->queue_id, "NOQUEUE") ? p->queue_id : "");
    ps_attr(req, "sender", p->sender);
    ps_attr(req, "recipient", strcmp(p->stage, "MAIL") ? p->recipient : "");
    ps_attr(req, "recipient_count", count);
    ps_attr(req, "client_address", p->client_addr);
    ps_attr(req, "client_name", p->client_name);
    ps_attr(req, "reverse_client_name", p->reverse_name);
    ps_attr(req, "instance", "");
    ps_attr(req, "sasl_method", "");
    ps_attr(req, "sasl_username", p->sasl_username);
    ps_attr(req, "sasl_sender", "");
    ps_attr(req, "size", "0");
    ps_attr(req, "ccert_subject", "");
    ps_attr(req, "ccert_issuer", "");
    ps_attr(req, "ccert_fingerprint", "");
    ps_attr(req, "encryption_protocol", "");
    ps_attr(req, "encryption_cipher", "");
    ps_attr(req, "encryption_keysize", "0");
    ps_attr(req, "etrn_domain", strcmp(p->stage, "ETRN") ? "" : p->recipient);
    ps_attr(req, "stress", "");
    ps_attr(req, "client_port", p->client_port);
    ps_attr(req, "policy_context", "");
    ps_attr(req, "compatibility_level", mail_conf_str("compatibility_level"));
    ps_attr(req, "mail_version", mail_conf_str("mail_version"));
    vstr_addch(req, '\n');
}

/* "action=..." from a reply buffer; NULL if malformed. */
static char *ps_parse(const char *reply)
{
    const char *cp = reply;

    while (*cp && *cp != '\n') {
	const char *nl = strchr(cp, '\n');
	size_t  n = nl ? (size_t) (nl - cp) : strlen(cp);

	if (n > 7 && strncmp(cp, "action=", 7) == 0)
	    return (xstrndup(cp + 7, n - 7));
	cp += n + (nl != 0);
    }
    return (0);
}

/* Socket address of "inet:host:port", "unix:/path", "unix:private/x". */
static int ps_connect_addr(const char *server, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (strncmp(server, "unix:", 5) == 0 || *server == '/' || strncmp(server, "private/", 8) == 0) {
	struct sockaddr_un *sun = (struct sockaddr_un *) ss;
	const char *path = strncmp(server, "unix:", 5) == 0 ? server + 5 : server;
	VSTR   *full = vstr_alloc(64);

	if (*path != '/')
	    vstr_fmt(full, "%s/%s", mail_conf_str("queue_directory"), path);
	else
	    vstr_cpy(full, path);
	if (vstr_len(full) >= sizeof(sun->sun_path)) {
	    vstr_free(full);
	    return (-1);
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, vstr_str(full), vstr_len(full) + 1);
	vstr_free(full);
	*len = sizeof(*sun);
	return (0);
    } else {
	const char *hp = strncmp(server, "inet:", 5) == 0 ? server + 5 : server;
	char   *host = xstrdup(hp);
	char   *port = strrchr(host, ':');
	struct addrinfo hints, *res;
	int     rc;

	if (port == 0) {
	    free(host);
	    return (-1);
	}
	*port++ = 0;
	if (*host == '[') {
	    memmove(host, host + 1, strlen(host));
	    host[strcspn(host, "]")] = 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(*host ? host : "127.0.0.1", port, &hints, &res);
	free(host);
	if (rc != 0)
	    return (-1);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
    }
}

/* Synchronous query (no event loop: tests, commands). */
static char *ps_query_sync(const char *server, const char *request)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int     fd;
    VSTR   *buf = vstr_alloc(256);
    char   *action = 0;
    int     timeout_ms = (int) mail_conf_time("smtpd_policy_service_timeout") * 1000;

    if (ps_connect_addr(server, &ss, &len) < 0
	|| (fd = socket(ss.ss_family, SOCK_STREAM, 0)) < 0) {
	vstr_free(buf);
	return (0);
    }
    if (connect(fd, (struct sockaddr *) &ss, len) == 0
	&& write(fd, request, strlen(request)) == (ssize_t) strlen(request)) {
	for (;;) {
	    struct pollfd pfd = {fd, POLLIN, 0};
	    char    tmp[512];
	    ssize_t n;

	    if (poll(&pfd, 1, timeout_ms) <= 0 || (n = read(fd, tmp, sizeof(tmp))) <= 0)
		break;
	    if (vstr_append(buf, tmp, (size_t) n) < 0 || vstr_len(buf) > PS_MAX_REPLY)
		break;
	    if (strstr(vstr_str(buf), "\n\n")) {
		action = ps_parse(vstr_str(buf));
		break;
	    }
	}
    }
    close(fd);
    vstr_free(buf);
    return (action);
}

static void ps_finish(PS_QUERY *q, char *action)
{
    SMTPD_POLICY *p = q->p;
    PS_ENTRY *e = p->policy_cache ? htable_find(p->policy_cache, q->key) : 0;

    if (e) {
	e->done = 1;
	e->action = action;
    } else
	free(action);
    if (q->bev)
	bufferevent_free(q->bev);
    free(q->key);
    free(q);
    spol_lookup_done(p);
}

static void ps_read_cb(struct bufferevent *bev, void *arg)
{
    PS_QUERY *q = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t  n = evbuffer_get_length(in);
    struct evbuffer_ptr end;

    if (n > PS_MAX_REPLY) {
	ps_finish(q, 0);
	return;
    }
    end = evbuffer_search(in, "\n\n", 2, 0);
    if (end.pos >= 0) {
	char   *text = xmalloc((size_t) end.pos + 2);

	evbuffer_remove(in, text, (size_t) end.pos + 1);
	text[end.pos + 1] = 0;
	ps_finish(q, ps_parse(text));
	free(text);
    }
}

static void ps_event_cb(struct bufferevent *bev, short what, void *arg)
{
    PS_QUERY *q = arg;

    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF | BEV_EVENT_TIMEOUT))
	ps_finish(q, 0);
}

/* Start an event-loop query; -1 when it cannot even start (no callback then). */
static int ps_query_async(SMTPD_POLICY *p, const char *key, const char *server,
			          const char *request)
{
    PS_QUERY *q;
    struct sockaddr_storage ss;
    socklen_t len;
    struct timeval tmo = {mail_conf_time("smtpd_policy_service_timeout"), 0};
    struct bufferevent *bev;

    if (ps_connect_addr(server, &ss, &len) < 0) {
	msg_warn("check_policy_service %s: bad server address", server);
	return (-1);
    }
    if ((bev = bufferevent_socket_new(p->event_base, -1, BEV_OPT_CLOSE_ON_FREE)) == 0)
	return (-1);
    if (bufferevent_socket_connect(bev, (struct sockaddr *) &ss, (int) len) < 0) {
	bufferevent_free(bev);
	return (-1);
    }
    q = xcalloc(1, sizeof(*q));
    q->p = p;
    q->key = xstrdup(key);
    q->bev = bev;
    p->dns_inflight++;
    bufferevent_setcb(bev, ps_read_cb, 0, ps_event_cb, q);
    bufferevent_set_timeouts(bev, &tmo, &tmo);
    evbuffer_add(bufferevent_get_output(bev), request, strlen(request));
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    return (0);
}

int     spol_check_policy_service(SMTPD_POLICY *p, const char *server,
				          const char *reply_name, const char *reply_class)
{
    VSTR   *req = vstr_alloc(512);
    VSTR   *key = vstr_alloc(512);
    PS_ENTRY *e;
    int     rc;
    const char *action;

    ps_request(p, req);
    vstr_fmt(key, "%s\n%s", server, vstr_str(req));
    if (p->policy_cache == 0)
	p->policy_cache = htable_create(8);
    if ((e = htable_find(p->policy_cache, vstr_str(key))) == 0) {
	e = xcalloc(1, sizeof(*e));
	htable_enter(p->policy_cache, vstr_str(key), e);
	if (p->event_base == 0) {
	    e->action = ps_query_sync(server, vstr_str(req));
	    e->done = 1;
	} else if (ps_query_async(p, vstr_str(key), server, vstr_str(req)) < 0)
	    e->done = 1;			/* action NULL: default action */
    }
    vstr_free(req);
    vstr_free(key);
    if (!e->done) {
	p->evaluating_pending = 1;
	return (CHK_PENDING);
    }
    if ((action = e->action) == 0) {
	msg_warn("problem talking to server %s",
		 strncmp(server, "inet:", 5) == 0 ? server + 5 : server);
	action = mail_conf_str("smtpd_policy_service_default_action");
    }
    {
	char   *copy = xstrdup(action);

	rc = spol_table_result(p, server, copy, reply_name, reply_class);
	free(copy);
    }
    return (rc);
}
