/* attr - IPC attribute lists; see attr.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "mem.h"
#include "msg.h"
#include "vstr.h"

ATTR_LIST *attr_list_alloc(void)
{
    ATTR_LIST *al = xcalloc(1, sizeof(*al));

    al->cap = 16;
    al->names = xmalloc(al->cap * sizeof(char *));
    al->values = xmalloc(al->cap * sizeof(char *));
    return (al);
}

void    attr_list_reset(ATTR_LIST *al)
{
    for (size_t i = 0; i < al->count; i++) {
	free(al->names[i]);
	free(al->values[i]);
    }
    al->count = 0;
}

void    attr_list_free(ATTR_LIST *al)
{
    if (al == 0)
	return;
    attr_list_reset(al);
    free(al->names);
    free(al->values);
    free(al);
}

static void attr_list_addn(ATTR_LIST *al, const char *name, size_t nlen,
			           char *value)
{
    if (al->count == al->cap) {
	al->cap *= 2;
	al->names = xrealloc(al->names, al->cap * sizeof(char *));
	al->values = xrealloc(al->values, al->cap * sizeof(char *));
    }
    al->names[al->count] = xstrndup(name, nlen);
    al->values[al->count] = value;
    al->count++;
}

void    attr_list_add(ATTR_LIST *al, const char *name, const char *value)
{
    attr_list_addn(al, name, strlen(name), xstrdup(value ? value : ""));
}

void    attr_list_addf(ATTR_LIST *al, const char *name, const char *fmt,...)
{
    VSTR   *buf = vstr_alloc(64);
    va_list ap;

    va_start(ap, fmt);
    (void) vstr_vfmt_append(buf, fmt, ap);
    va_end(ap);
    attr_list_addn(al, name, strlen(name), vstr_export(buf));
}

void    attr_list_addl(ATTR_LIST *al, const char *name, long value)
{
    attr_list_addf(al, name, "%ld", value);
}

const char *attr_list_get(const ATTR_LIST *al, const char *name)
{
    for (size_t i = 0; i < al->count; i++)
	if (strcmp(al->names[i], name) == 0)
	    return (al->values[i]);
    return (0);
}

long    attr_list_get_long(const ATTR_LIST *al, const char *name, long def, int *ok)
{
    const char *v = attr_list_get(al, name);
    char   *end;
    long    n;

    if (v == 0)
	return (def);
    errno = 0;
    n = strtol(v, &end, 10);
    if (*v == 0 || *end != 0 || errno != 0) {
	if (ok)
	    *ok = 0;
	return (-1);
    }
    return (n);
}

static int attr_name_ok(const char *name, size_t len)
{
    if (len == 0)
	return (0);
    for (size_t i = 0; i < len; i++) {
	unsigned char c = name[i];

	if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	      || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
	    return (0);
    }
    return (1);
}

void    attr_encode(VSTR *out, const ATTR_LIST *al)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < al->count; i++) {
	if (!attr_name_ok(al->names[i], strlen(al->names[i])))
	    msg_panic("attr_encode: bad attribute name \"%s\"", al->names[i]);
	(void) vstr_cat(out, al->names[i]);
	(void) vstr_addch(out, '=');
	for (const unsigned char *cp = (unsigned char *) al->values[i]; *cp; cp++) {
	    if (*cp < 0x20 || *cp == '%' || *cp == 0x7f) {
		(void) vstr_addch(out, '%');
		(void) vstr_addch(out, hex[*cp >> 4]);
		(void) vstr_addch(out, hex[*cp & 15]);
	    } else
		(void) vstr_addch(out, *cp);
	}
	(void) vstr_addch(out, '\n');
    }
    (void) vstr_addch(out, '\n');
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
	return (c - '0');
    if (c >= 'A' && c <= 'F')
	return (c - 'A' + 10);
    if (c >= 'a' && c <= 'f')
	return (c - 'a' + 10);
    return (-1);
}

int     attr_parse_line(ATTR_LIST *al, const char *line, size_t len, size_t max_count)
{
    const char *eq;
    VSTR   *val;

    if (len > 0 && line[len - 1] == '\r')
	len--;
    if (len == 0)
	return (1);
    if (al->count >= max_count || len > ATTR_MAX_LINE)
	return (-1);
    if ((eq = memchr(line, '=', len)) == 0 || !attr_name_ok(line, eq - line))
	return (-1);
    val = vstr_alloc(len - (eq - line));
    for (const char *cp = eq + 1; cp < line + len; cp++) {
	if (*cp == '%') {
	    int     hi, lo;

	    if (line + len - cp < 3) {
		vstr_free(val);
		return (-1);
	    }
	    if ((hi = hexval(cp[1])) < 0 || (lo = hexval(cp[2])) < 0 || (hi == 0 && lo == 0)) {
		vstr_free(val);
		return (-1);
	    }
	    (void) vstr_addch(val, hi * 16 + lo);
	    cp += 2;
	} else if (*cp == 0) {
	    vstr_free(val);
	    return (-1);
	} else
	    (void) vstr_addch(val, *cp);
    }
    attr_list_addn(al, line, eq - line, vstr_export(val));
    return (0);
}

struct ATTR_STREAM {
    int     fd;
    int     timeout;
    char    buf[8192];
    size_t  pos;
    size_t  end;
};

ATTR_STREAM *attr_stream_open(int fd, int timeout)
{
    ATTR_STREAM *as = xcalloc(1, sizeof(*as));

    as->fd = fd;
    as->timeout = timeout;
    return (as);
}

void    attr_stream_free(ATTR_STREAM *as)
{
    free(as);
}

int     attr_stream_fd(const ATTR_STREAM *as)
{
    return (as->fd);
}

static int attr_wait(ATTR_STREAM *as, short events, time_t deadline)
{
    struct pollfd pfd;
    int     n;

    for (;;) {
	int     ms = -1;

	if (as->timeout > 0) {
	    time_t  now = time(0);

	    if (now >= deadline) {
		errno = ETIMEDOUT;
		return (-1);
	    }
	    ms = (int) (deadline - now) * 1000;
	}
	pfd.fd = as->fd;
	pfd.events = events;
	pfd.revents = 0;
	if ((n = poll(&pfd, 1, ms)) > 0)
	    return (0);
	if (n < 0 && errno != EINTR)
	    return (-1);
    }
}

int     attr_write(ATTR_STREAM *as, const ATTR_LIST *al)
{
    VSTR   *out = vstr_alloc(1024);
    size_t  done = 0;
    time_t  deadline = time(0) + as->timeout;
    int     ret = 0;

    attr_encode(out, al);
    while (done < vstr_len(out)) {
	ssize_t n = send(as->fd, vstr_str(out) + done, vstr_len(out) - done,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n > 0) {
	    done += n;
	    continue;
	}
	if (n < 0 && errno == ENOTSOCK)
	    n = write(as->fd, vstr_str(out) + done, vstr_len(out) - done);
	if (n > 0) {
	    done += n;
	    continue;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
	    if (attr_wait(as, POLLOUT, deadline) < 0) {
		ret = -1;
		break;
	    }
	    continue;
	}
	ret = -1;
	break;
    }
    vstr_free(out);
    return (ret);
}

int     attr_read(ATTR_STREAM *as, ATTR_LIST *al, size_t max_count)
{
    VSTR   *line = vstr_alloc(256);
    time_t  deadline = time(0) + as->timeout;
    int     ret = -1;

    vstr_set_limit(line, ATTR_MAX_LINE + 2);
    attr_list_reset(al);
    for (;;) {
	if (as->pos == as->end) {
	    ssize_t n;

	    /* A socket: read what is there, wait only when nothing is. */
	    n = recv(as->fd, as->buf, sizeof(as->buf), MSG_DONTWAIT);
	    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (attr_wait(as, POLLIN, deadline) < 0)
		    break;
		continue;
	    }
	    if (n < 0 && errno == ENOTSOCK) {
		if (as->timeout > 0 && attr_wait(as, POLLIN, deadline) < 0)
		    break;
		n = read(as->fd, as->buf, sizeof(as->buf));
	    }
	    if (n < 0 && (errno == EINTR || errno == EAGAIN))
		continue;
	    if (n <= 0) {
		if (n == 0)
		    errno = EPIPE;
		break;
	    }
	    as->pos = 0;
	    as->end = n;
	}
	{
	    char   *start = as->buf + as->pos;
	    char   *nl = memchr(start, '\n', as->end - as->pos);
	    size_t  take = nl ? (size_t) (nl - start) : as->end - as->pos;
	    int     st;

	    if (vstr_append(line, start, take) < 0) {
		errno = EMSGSIZE;
		break;
	    }
	    as->pos += take + (nl ? 1 : 0);
	    if (nl == 0)
		continue;
	    st = attr_parse_line(al, vstr_str(line), vstr_len(line), max_count);
	    vstr_reset(line);
	    if (st < 0) {
		errno = EPROTO;
		break;
	    }
	    if (st == 1) {
		ret = 0;
		break;
	    }
	}
    }
    vstr_free(line);
    return (ret);
}

int     attr_unix_connect(const char *path, int timeout)
{
    struct sockaddr_un sun;
    int     fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
	errno = ENAMETOOLONG;
	return (-1);
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
	return (-1);
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
	int     saved = errno;

	(void) close(fd);
	errno = saved;
	return (-1);
    }
    (void) timeout;
    return (fd);
}
