/*
 * dict_sock - network table clients.
 *
 * socketmap:inet:HOST:PORT:NAME, socketmap:unix:PATH:NAME (socketmap_table(5)):
 *	request netstring "NAME KEY", reply netstring "OK value", "NOTFOUND ",
 *	"TEMP reason", "TIMEOUT reason" or "PERM reason".
 * tcp:HOST:PORT (tcp_table(5)): request "get KEY\n", reply "200 value\n"
 *	(found), "500 text\n" (not found), "400 text\n" (error); characters
 *	outside 33..126 and '%' are sent and received as %XX.
 *
 * One connection is kept open and reopened once when it fails. Every wait
 * is bounded (DICT_SOCK_TIMEOUT) and every reply is bounded in size.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dict.h"
#include "mem.h"
#include "msg.h"

#define DICT_SOCK_TIMEOUT	10000	/* ms */
#define DICT_SOCK_MAX_REPLY	100000

typedef struct {
    DICT    dict;
    int     is_tcp;
    int     is_unix;
    char   *host;			/* or unix path */
    char   *port;
    char   *mapname;			/* socketmap name */
    int     fd;
    VSTR   *req;
    VSTR   *reply;
    VSTR   *result;
} DICT_SOCK;

static int sock_connect(DICT_SOCK *ds)
{
    int     fd = -1;

    if (ds->is_unix) {
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(ds->host) >= sizeof(sun.sun_path)) {
	    errno = ENAMETOOLONG;
	    return (-1);
	}
	memcpy(sun.sun_path, ds->host, strlen(ds->host) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
	    return (-1);
	if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
	    int     err = errno;

	    (void) close(fd);
	    errno = err;
	    return (-1);
	}
	return (fd);
    } else {
	struct addrinfo hints, *res, *ai;
	int     rc;
	int     err = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(ds->host, ds->port, &hints, &res)) != 0) {
	    msg_warn("%s:%s: look up %s:%s: %s", ds->dict.type, ds->dict.name,
		     ds->host, ds->port, gai_strerror(rc));
	    errno = EHOSTUNREACH;
	    return (-1);
	}
	for (ai = res; ai; ai = ai->ai_next) {
	    if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
		continue;
	    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		break;
	    err = errno;
	    (void) close(fd);
	    fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
	    errno = err;
	return (fd);
    }
}

static int sock_wait(int fd, short ev)
{
    struct pollfd p;
    int     rc;

    p.fd = fd;
    p.events = ev;
    while ((rc = poll(&p, 1, DICT_SOCK_TIMEOUT)) < 0 && errno == EINTR)
	 /* retry */ ;
    if (rc == 0)
	errno = ETIMEDOUT;
    return (rc > 0 ? 0 : -1);
}

static int sock_write(int fd, const char *buf, size_t len)
{
    while (len > 0) {
	ssize_t n;

	if (sock_wait(fd, POLLOUT) < 0)
	    return (-1);
	if ((n = send(fd, buf, len, MSG_NOSIGNAL)) < 0) {
	    if (errno == EINTR)
		continue;
	    return (-1);
	}
	buf += n;
	len -= (size_t) n;
    }
    return (0);
}

/* Read one byte; -1 on error/EOF/timeout. */
static int sock_getc(int fd)
{
    unsigned char ch;
    ssize_t n;

    if (sock_wait(fd, POLLIN) < 0)
	return (-1);
    while ((n = read(fd, &ch, 1)) < 0 && errno == EINTR)
	 /* retry */ ;
    if (n <= 0) {
	if (n == 0)
	    errno = ECONNRESET;
	return (-1);
    }
    return (ch);
}

/* tcp: read a reply line into ds->reply; socketmap: read a netstring. */
static int sock_read_reply(DICT_SOCK *ds)
{
    int     ch;

    vstr_reset(ds->reply);
    if (ds->is_tcp) {
	while ((ch = sock_getc(ds->fd)) != '\n') {
	    if (ch < 0 || vstr_len(ds->reply) >= DICT_SOCK_MAX_REPLY)
		return (-1);
	    (void) vstr_addch(ds->reply, ch);
	}
	if (vstr_len(ds->reply) > 0 && vstr_last(ds->reply) == '\r')
	    vstr_truncate(ds->reply, vstr_len(ds->reply) - 1);
	return (0);
    } else {
	size_t  len = 0;
	int     digits = 0;

	while ((ch = sock_getc(ds->fd)) != ':') {
	    if (ch < 0 || !isdigit(ch) || ++digits > 7)
		return (-1);
	    len = len * 10 + (size_t) (ch - '0');
	}
	if (digits == 0 || len > DICT_SOCK_MAX_REPLY)
	    return (-1);
	while (len-- > 0) {
	    if ((ch = sock_getc(ds->fd)) < 0)
		return (-1);
	    (void) vstr_addch(ds->reply, ch);
	}
	return (sock_getc(ds->fd) == ',' ? 0 : -1);
    }
}

static void sock_disconnect(DICT_SOCK *ds)
{
    if (ds->fd >= 0) {
	(void) close(ds->fd);
	ds->fd = -1;
    }
}

static void tcp_encode(VSTR *out, const char *s)
{
    for (; *s; s++) {
	unsigned char ch = (unsigned char) *s;

	if (ch <= 32 || ch > 126 || ch == '%')
	    (void) vstr_fmt_append(out, "%%%02X", ch);
	else
	    (void) vstr_addch(out, ch);
    }
}

static int hexval(int ch)
{
    if (isdigit(ch))
	return (ch - '0');
    ch = tolower(ch);
    return (ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1);
}

static void tcp_decode(VSTR *out, const char *s)
{
    vstr_reset(out);
    for (; *s; s++) {
	int     hi, lo;

	if (*s == '%' && (hi = hexval((unsigned char) s[1])) >= 0
	    && (lo = hexval((unsigned char) s[2])) >= 0) {
	    (void) vstr_addch(out, hi * 16 + lo);
	    s += 2;
	} else
	    (void) vstr_addch(out, *s);
    }
}

static const char *sock_lookup(DICT *d, const char *key)
{
    DICT_SOCK *ds = (DICT_SOCK *) d;
    const char *r;

    vstr_reset(ds->req);
    if (ds->is_tcp) {
	(void) vstr_cat(ds->req, "get ");
	tcp_encode(ds->req, key);
	(void) vstr_addch(ds->req, '\n');
    } else {
	(void) vstr_fmt(ds->req, "%zu:%s %s,", strlen(ds->mapname) + 1 + strlen(key),
			ds->mapname, key);
    }
    for (int attempt = 0; attempt < 2; attempt++) {
	if (ds->fd < 0 && (ds->fd = sock_connect(ds)) < 0) {
	    int     err = errno;

	    /* Postfix's texts. */
	    if (ds->is_tcp) {
		msg_warn("connect to TCP map %s:%s: %s", ds->host, ds->port, strerror(err));
	    } else {
		msg_warn("connect to %s%s%s: %s", ds->host, ds->is_unix ? "" : ":",
			 ds->is_unix ? "" : ds->port, strerror(err));
		msg_warn("table %s:%s lookup error: %s", d->type, d->name, strerror(err));
	    }
	    d->error = DICT_ERR_RETRY;
	    return (0);
	}
	if (sock_write(ds->fd, vstr_str(ds->req), vstr_len(ds->req)) == 0
	    && sock_read_reply(ds) == 0)
	    break;
	sock_disconnect(ds);
	if (attempt == 1) {
	    msg_warn("%s:%s: no usable reply for \"%s\"", d->type, d->name, key);
	    d->error = DICT_ERR_RETRY;
	    return (0);
	}
    }
    r = vstr_str(ds->reply);
    if (ds->is_tcp) {
	if (strncmp(r, "200 ", 4) == 0 || strcmp(r, "200") == 0) {
	    tcp_decode(ds->result, r[3] ? r + 4 : "");
	    return (vstr_str(ds->result));
	}
	if (strncmp(r, "500", 3) == 0)
	    return (0);
	/* 400: a server-side error; Postfix logs nothing, the caller fails. */
	if (strncmp(r, "400", 3) != 0)
	    msg_warn("%s:%s: malformed reply: \"%.100s\"", d->type, d->name, r);
	d->error = DICT_ERR_RETRY;
	return (0);
    }
    if (strncmp(r, "OK ", 3) == 0 || strcmp(r, "OK") == 0) {
	(void) vstr_cpy(ds->result, r[2] ? r + 3 : "");
	return (vstr_str(ds->result));
    }
    if (strncmp(r, "NOTFOUND", 8) == 0 && (r[8] == 0 || r[8] == ' '))
	return (0);
    if (strncmp(r, "TEMP", 4) == 0 || strncmp(r, "TIMEOUT", 7) == 0
	|| strncmp(r, "PERM", 4) == 0) {
	const char *text = strchr(r, ' ');

	msg_warn("%s:%s socketmap server %s error: %.100s", d->type, d->name,
		 r[0] == 'P' ? "permanent" : "temporary", text ? text + 1 : "");
	d->error = r[0] == 'P' ? DICT_ERR_CONFIG : DICT_ERR_RETRY;
	return (0);
    }
    msg_warn("%s:%s: malformed reply: \"%.100s\"", d->type, d->name, r);
    d->error = DICT_ERR_RETRY;
    return (0);
}

static void sock_close(DICT *d)
{
    DICT_SOCK *ds = (DICT_SOCK *) d;

    sock_disconnect(ds);
    free(ds->host);
    free(ds->port);
    free(ds->mapname);
    vstr_free(ds->req);
    vstr_free(ds->reply);
    vstr_free(ds->result);
    dict_free(d);
}

static DICT_SOCK *sock_alloc(const char *type, const char *name, int dict_flags)
{
    DICT_SOCK *ds = (DICT_SOCK *) dict_alloc(type, name, sizeof(*ds));

    ds->fd = -1;
    ds->req = vstr_alloc(100);
    ds->reply = vstr_alloc(100);
    ds->result = vstr_alloc(100);
    ds->dict.flags = dict_flags | DICT_FLAG_FIXED;
    ds->dict.lookup = sock_lookup;
    ds->dict.close = sock_close;
    return (ds);
}

/* "host:port" or "[v6addr]:port" */
static int sock_split_hostport(const char *text, char **host, char **port)
{
    const char *colon;

    if (text[0] == '[') {
	const char *end = strchr(text, ']');

	if (end == 0 || end[1] != ':' || end[2] == 0)
	    return (-1);
	*host = xstrndup(text + 1, (size_t) (end - text - 1));
	*port = xstrdup(end + 2);
	return (0);
    }
    if ((colon = strrchr(text, ':')) == 0 || colon == text || colon[1] == 0)
	return (-1);
    *host = xstrndup(text, (size_t) (colon - text));
    *port = xstrdup(colon + 1);
    return (0);
}

DICT   *dict_tcp_open(const char *name, int open_flags, int dict_flags)
{
    DICT_SOCK *ds;
    char   *host, *port;

    if ((open_flags & O_ACCMODE) != O_RDONLY)
	return (dict_surrogate("tcp", name, open_flags, dict_flags,
			       "tcp:%s map requires O_RDONLY access mode", name));
    if (sock_split_hostport(name, &host, &port) < 0)
	return (dict_surrogate("tcp", name, open_flags, dict_flags,
			       "tcp:%s: need \"tcp:host:port\"", name));
    ds = sock_alloc("tcp", name, dict_flags);
    ds->is_tcp = 1;
    ds->host = host;
    ds->port = port;
    return (&ds->dict);
}

DICT   *dict_socketmap_open(const char *name, int open_flags, int dict_flags)
{
    DICT_SOCK *ds;
    const char *last;
    char   *endpoint;
    char   *host = 0, *port = 0;
    int     is_unix;

    if ((open_flags & O_ACCMODE) != O_RDONLY)
	return (dict_surrogate("socketmap", name, open_flags, dict_flags,
			       "socketmap:%s map requires O_RDONLY access mode", name));
    /* Postfix's texts for a malformed name. */
    if ((last = strrchr(name, ':')) == 0 || last[1] == 0)
	return (dict_surrogate("socketmap", name, open_flags, dict_flags,
			       "socketmap requires server:socketmap argument"));
    if (memchr(name, ':', (size_t) (last - name)) == 0)
	return (dict_surrogate("socketmap", name, open_flags, dict_flags,
			       "need service transport:endpoint instead of \"%.*s\"",
			       (int) (last - name), name));
    if (strncmp(name, "inet:", 5) != 0 && strncmp(name, "unix:", 5) != 0)
	return (dict_surrogate("socketmap", name, open_flags, dict_flags,
			       "invalid transport name: %.*s in service: %.*s",
			       (int) strcspn(name, ":"), name, (int) (last - name), name));
    is_unix = strncmp(name, "unix:", 5) == 0;
    endpoint = xstrndup(name + 5, (size_t) (last - name - 5));
    if (is_unix) {
	host = endpoint;
	endpoint = 0;
    } else if (sock_split_hostport(endpoint, &host, &port) < 0) {
	free(endpoint);
	return (dict_surrogate("socketmap", name, open_flags, dict_flags,
			       "socketmap:%s: need \"inet:host:port:name\"", name));
    }
    free(endpoint);
    ds = sock_alloc("socketmap", name, dict_flags);
    ds->is_unix = is_unix;
    ds->host = host;
    ds->port = port;
    ds->mapname = xstrdup(last + 1);
    return (&ds->dict);
}
