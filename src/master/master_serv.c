/* master_serv - master.cf services and their listeners; see master.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "argv.h"
#include "mail_conf.h"
#include "mail_server.h"
#include "master.h"
#include "master_conf.h"
#include "master_inproc.h"
#include "mem.h"
#include "msg.h"
#include "msg_log.h"
#include "stringops.h"
#include "vstr.h"

MASTER_SERV *master_services;

/* Listening socket helpers. */

static int listen_unix(const char *path, int sock_type)
{
    struct sockaddr_un sun;
    int     fd;

    if (strlen(path) >= sizeof(sun.sun_path))
	msg_fatal("unix-domain name too long: %s", path);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, sock_type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
	msg_fatal("socket: %m");
    if (unlink(path) < 0 && errno != ENOENT)
	msg_fatal("remove %s: %m", path);
    if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0)
	msg_fatal("bind: %s: %m", path);
    if (chmod(path, 0666) < 0)
	msg_fatal("chmod socket %s: %m", path);
    if (master_is_root && chown(path, master_owner_uid, master_owner_gid) < 0)
	msg_fatal("chown socket %s: %m", path);
    if (sock_type == SOCK_STREAM && listen(fd, 100) < 0)
	msg_fatal("listen: %m");
    return (fd);
}

static int listen_fifo(const char *path)
{
    struct stat st;
    int     fd;

    if (unlink(path) < 0 && errno != ENOENT)
	msg_fatal("remove %s: %m", path);
    if (mkfifo(path, 0622) < 0)
	msg_fatal("mkfifo: %s: %m", path);
    if ((fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
	msg_fatal("open %s: %m", path);
    if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
	msg_fatal("%s: not a fifo", path);
    (void) fchmod(fd, 0622);
    if (master_is_root && fchown(fd, master_owner_uid, master_owner_gid) < 0)
	msg_fatal("chown fifo %s: %m", path);
    return (fd);
}

static int listen_inet(const char *host, const char *port_name, int family, int optional)
{
    struct addrinfo hints, *res;
    int     port = master_inet_port(port_name);
    char    portbuf[16];
    int     fd, err, on = 1;

    if (port < 0)
	msg_fatal("unknown service: %s/tcp", port_name);
    (void) snprintf(portbuf, sizeof(portbuf), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = family;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((err = getaddrinfo(host, portbuf, &hints, &res)) != 0)
	msg_fatal("host/service %s/%s not found: %s", host, portbuf, gai_strerror(err));
    if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
	if (optional) {
	    msg_warn("socket %s: %m -- skipping this address", host);
	    freeaddrinfo(res);
	    return (-1);
	}
	msg_fatal("socket: %m");
    }
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (res->ai_family == AF_INET6)
	(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
	if (optional && errno == EADDRNOTAVAIL) {
	    msg_warn("bind %s port %d: %m -- skipping this address", host, port);
	    (void) close(fd);
	    freeaddrinfo(res);
	    return (-1);
	}
	msg_fatal("bind %s port %d: %m", host, port);
    }
    if (listen(fd, 100) < 0)
	msg_fatal("listen: %m");
    freeaddrinfo(res);
    return (fd);
}

/* Is host:port (as listen_inet would resolve it) already one of serv's listeners? */
static int serv_has_address(MASTER_SERV *serv, const char *host, const char *port_name,
			            int family)
{
    struct addrinfo hints, *res;
    char    portbuf[16];
    int     port = master_inet_port(port_name);
    int     found = 0;

    if (port < 0)
	return (0);
    (void) snprintf(portbuf, sizeof(portbuf), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = family;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(host, portbuf, &hints, &res) != 0)
	return (0);				/* listen_inet reports it */
    for (int i = 0; i < serv->nlisten && !found; i++) {
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(serv->listen_fd[i], (struct sockaddr *) &ss, &len) == 0
	    && len == res->ai_addrlen && memcmp(&ss, res->ai_addr, len) == 0)
	    found = 1;
    }
    freeaddrinfo(res);
    return (found);
}

/*
 * One host of an inet service: "" (all addresses) and "loopback-only"
 * become the wildcard or loopback address of each enabled protocol.
 */
static void listen_inet_host(MASTER_SERV *serv, const char *host, const char *port)
{
    const char *protos = mail_conf_str("inet_protocols");
    int     v4 = strstr(protos, "ipv4") != 0 || strcmp(protos, "all") == 0;
    int     v6 = strstr(protos, "ipv6") != 0 || strcmp(protos, "all") == 0;
    const char *a4 = 0, *a6 = 0;
    int     fd;

    if (*host == 0) {
	a4 = "0.0.0.0";
	a6 = "::";
    } else if (strcmp(host, "loopback-only") == 0) {
	a4 = "127.0.0.1";
	a6 = "::1";
    }
    if (a4 == 0) {
	int     family = v4 && !v6 ? AF_INET : v6 && !v4 ? AF_INET6 : AF_UNSPEC;

	/* An address named twice (127.0.0.1, localhost) is bound once, as Postfix. */
	if (serv_has_address(serv, host, port, family))
	    return;
	fd = listen_inet(host, port, family, 0);
	serv->listen_fd[serv->nlisten++] = fd;
	return;
    }
    if (v4 && serv->nlisten < MAIL_SERVER_MAX_LISTEN)
	serv->listen_fd[serv->nlisten++] = listen_inet(a4, port, AF_INET, 0);
    /* IPv6 is optional when IPv4 is on: hosts without IPv6 still work. */
    if (v6 && serv->nlisten < MAIL_SERVER_MAX_LISTEN
	&& (fd = listen_inet(a6, port, AF_INET6, v4)) >= 0)
	serv->listen_fd[serv->nlisten++] = fd;
}

/* Listener identity, to keep listeners across reloads. */
static char *serv_endpoints(const MASTER_ENT *ent)
{
    VSTR   *vp = vstr_alloc(64);

    if (ent->type == MASTER_TYPE_INET) {
	ARGV   *ep = master_inet_endpoints(ent, mail_conf_str("inet_interfaces"));

	for (size_t i = 0; i + 1 < ep->argc; i += 2) {
	    int     port = master_inet_port(ep->argv[i + 1]);

	    (void) vstr_fmt_append(vp, "%s:%d ", ep->argv[i], port);
	}
	argv_free(ep);
    } else {
	(void) vstr_fmt(vp, "%s/%s", ent->private_ ? "private" : "public", ent->name);
    }
    return (vstr_export(vp));
}

static void serv_listen_cb(evutil_socket_t fd, short what, void *arg)
{
    MASTER_SERV *serv = arg;

    if (serv->avail > 0 || serv->throttled || serv->missing
	|| (serv->max_proc > 0
	    && serv->total + master_retired_count(serv->key) >= serv->max_proc)) {
	master_serv_update_watch(serv);
	return;
    }
    master_spawn(serv);
}

void    master_serv_update_watch(MASTER_SERV *serv)
{
    int     want = !master_stopping && !serv->missing && !serv->throttled
    && serv->avail == 0 && (serv->max_proc == 0
		|| serv->total + master_retired_count(serv->key) < serv->max_proc);

    if (want == serv->watching)
	return;
    for (int i = 0; i < serv->nlisten; i++) {
	if (want)
	    event_add(serv->listen_ev[i], 0);
	else
	    event_del(serv->listen_ev[i]);
    }
    serv->watching = want;
}

static void serv_unthrottle_cb(evutil_socket_t fd, short what, void *arg)
{
    MASTER_SERV *serv = arg;

    serv->throttled = 0;
    master_serv_update_watch(serv);
}

void    master_serv_throttle(MASTER_SERV *serv)
{
    struct timeval tv = {mail_conf_time("service_throttle_time"), 0};

    serv->throttled = 1;
    if (serv->throttle_ev == 0)
	serv->throttle_ev = evtimer_new(master_base, serv_unthrottle_cb, serv);
    evtimer_add(serv->throttle_ev, &tv);
    master_serv_update_watch(serv);
}

/* Wakeup: poke the service through its own listener, as a client would. */
static void serv_wakeup_cb(evutil_socket_t unused, short what, void *arg)
{
    MASTER_SERV *serv = arg;
    struct timeval tv = {serv->wakeup, 0};
    int     fd;

    if (!serv->missing && serv->sock_path && (serv->used || !serv->wakeup_if_used)) {
	if (serv->type == MASTER_TYPE_FIFO) {
	    if ((fd = open(serv->sock_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		(void) write(fd, "W", 1);
		(void) close(fd);
	    }
	} else if (serv->type == MASTER_TYPE_UNIX || serv->type == MASTER_TYPE_PASS) {
	    struct sockaddr_un sun;

	    memset(&sun, 0, sizeof(sun));
	    sun.sun_family = AF_UNIX;
	    safe_strlcpy(sun.sun_path, serv->sock_path, sizeof(sun.sun_path));
	    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) >= 0) {
		if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0)
		    (void) write(fd, "W", 1);
		(void) close(fd);
	    }
	}
    }
    evtimer_add(serv->wakeup_ev, &tv);
}

static void serv_free(MASTER_SERV *serv, int close_listeners)
{
    for (int i = 0; i < serv->nlisten; i++) {
	if (serv->listen_ev && serv->listen_ev[i])
	    event_free(serv->listen_ev[i]);
	if (close_listeners)
	    (void) close(serv->listen_fd[i]);
    }
    if (close_listeners && serv->sock_path)
	(void) unlink(serv->sock_path);
    if (serv->throttle_ev)
	event_free(serv->throttle_ev);
    if (serv->wakeup_ev)
	event_free(serv->wakeup_ev);
    free(serv->listen_ev);
    free(serv->listen_fd);
    free(serv->name);
    free(serv->type_name);
    free(serv->key);
    free(serv->path);
    free(serv->sock_path);
    free(serv->endpoints);
    argv_free(serv->argv);
    free(serv);
}

/*
 * The child's command line, as Postfix's master(8) builds it (see
 * master_args.h): "qmgr -l -t unix -u", "smtpd -n smtp -t inet -u -c ...".
 * The configuration directory goes in $MAIL_CONFIG (spawn_environment).
 * The -o and -v options of master.cf follow in that order, then the other
 * arguments.
 */
static ARGV *serv_argv(const MASTER_ENT *ent)
{
    ARGV   *av = argv_alloc(16);
    VSTR   *vp = vstr_alloc(64);
    const char *base = strrchr(ent->command, '/');
    int     maxproc = master_ent_maxproc(ent);

    base = base ? base + 1 : ent->command;
    argv_add(av, ent->command);
    if (maxproc == 1)
	argv_add(av, "-l");
    else if (maxproc == 0)
	argv_add(av, "-z");
    if (strcmp(base, ent->name) != 0) {
	argv_add(av, "-n");
	argv_add(av, ent->name);
    }
    argv_add(av, "-t");
    argv_add(av, ent->type_name);
    if (msg_verbose)
	argv_add(av, "-v");
    if (ent->unpriv)
	argv_add(av, "-u");
    if (ent->chroot)
	argv_add(av, "-c");
    for (size_t i = 0; i < ent->ov_names->argc; i++) {
	(void) vstr_fmt(vp, "%s=%s", ent->ov_names->argv[i], ent->ov_values->argv[i]);
	argv_add(av, "-o");
	argv_add(av, vstr_str(vp));
    }
    for (int i = 0; i < ent->verbose; i++)
	argv_add(av, "-v");
    for (size_t i = ent->first_arg; i < ent->args->argc; i++)
	argv_add(av, ent->args->argv[i]);
    vstr_free(vp);
    return (av);
}

static void serv_open_listeners(MASTER_SERV *serv, const MASTER_ENT *ent)
{
    serv->listen_fd = xcalloc(MAIL_SERVER_MAX_LISTEN, sizeof(int));
    switch (ent->type) {
    case MASTER_TYPE_INET:{
	    ARGV   *ep = master_inet_endpoints(ent, mail_conf_str("inet_interfaces"));

	    for (size_t i = 0; i + 1 < ep->argc && serv->nlisten < MAIL_SERVER_MAX_LISTEN; i += 2)
		listen_inet_host(serv, ep->argv[i], ep->argv[i + 1]);
	    argv_free(ep);
	    break;
	}
    case MASTER_TYPE_UNIX:
    case MASTER_TYPE_PASS:
	serv->listen_fd[serv->nlisten++] = listen_unix(serv->sock_path, SOCK_STREAM);
	break;
    case MASTER_TYPE_UNIX_DGRAM:
	serv->listen_fd[serv->nlisten++] = listen_unix(serv->sock_path, SOCK_DGRAM);
	break;
    case MASTER_TYPE_FIFO:
	serv->listen_fd[serv->nlisten++] = listen_fifo(serv->sock_path);
	break;
    }
}

static void serv_arm(MASTER_SERV *serv)
{
    serv->listen_ev = xcalloc((size_t) serv->nlisten + 1, sizeof(struct event *));
    for (int i = 0; i < serv->nlisten; i++)
	serv->listen_ev[i] = event_new(master_base, serv->listen_fd[i],
				       EV_READ | EV_PERSIST, serv_listen_cb, serv);
    serv->watching = 0;
    master_serv_update_watch(serv);

    if (serv->wakeup > 0 && serv->type != MASTER_TYPE_INET
	&& serv->type != MASTER_TYPE_UNIX_DGRAM) {
	struct timeval now = {0, 0};

	serv->wakeup_ev = evtimer_new(master_base, serv_wakeup_cb, serv);
	evtimer_add(serv->wakeup_ev, &now);
    }
}

/* master_service_disable: service types, or name/type. */
static int serv_disabled(const MASTER_ENT *ent)
{
    ARGV   *list = argv_split(mail_conf_str("master_service_disable"), CHARS_COMMA_SP);
    VSTR   *key = vstr_alloc(64);
    int     off = 0;

    (void) vstr_fmt(key, "%s/%s", ent->name, ent->type_name);
    for (size_t i = 0; i < list->argc; i++)
	if (strcmp(list->argv[i], ent->type_name) == 0
	    || strcmp(list->argv[i], vstr_str(key)) == 0)
	    off = 1;
    argv_free(list);
    vstr_free(key);
    return (off);
}

/* Take over the listeners of an old service with the same endpoints. */
static MASTER_SERV *serv_steal(MASTER_SERV **oldp, const char *key, const char *endpoints)
{
    MASTER_SERV **pp, *old;

    for (pp = oldp; (old = *pp) != 0; pp = &old->next) {
	if (strcmp(old->key, key) == 0 && old->endpoints
	    && strcmp(old->endpoints, endpoints) == 0 && old->nlisten > 0) {
	    *pp = old->next;
	    return (old);
	}
    }
    return (0);
}

void    master_serv_load(void)
{
    VSTR   *path = vstr_alloc(64);
    MASTER_CONF *conf;
    MASTER_SERV *old = master_services, **tail = &master_services;
    const char *daemon_dir = mail_conf_str("daemon_directory");
    MASTER_MISSING missing;

    (void) vstr_fmt(path, "%s/master.cf", mail_conf_dir());
    conf = master_conf_read(vstr_str(path), MASTER_CONF_STYLE_MASTER);
    master_services = 0;
    master_missing_init(&missing);
    for (size_t i = 0; i < conf->count; i++) {
	MASTER_ENT *ent = conf->ent[i];
	MASTER_SERV *serv = xcalloc(1, sizeof(*serv)), *prev;
	VSTR   *vp = vstr_alloc(64);

	serv->name = xstrdup(ent->name);
	serv->type = ent->type;
	serv->type_name = xstrdup(ent->type_name);
	(void) vstr_fmt(vp, "%s/%s", ent->name, ent->type_name);
	serv->key = xstrdup(vstr_str(vp));
	(void) vstr_fmt(vp, "%s/%s", daemon_dir, ent->command);
	serv->path = xstrdup(vstr_str(vp));
	vstr_free(vp);
	serv->argv = serv_argv(ent);
	serv->max_proc = master_ent_maxproc(ent);
	if (serv->max_proc < 0)
	    serv->max_proc = 0;
	serv->wakeup = ent->wakeup;
	serv->wakeup_if_used = ent->wakeup_if_used;
	serv->endpoints = serv_endpoints(ent);
	serv->postlog = (ent->type == MASTER_TYPE_UNIX_DGRAM
			 && strcmp(ent->command, "postlogd") == 0);
	if (ent->type != MASTER_TYPE_INET)
	    serv->sock_path = xstrdup(serv->endpoints);
	if (serv_disabled(ent)) {
	    if (msg_verbose)
		msg_info("service %s disabled by master_service_disable", serv->key);
	    serv->missing = 1;
	} else if (access(serv->path, X_OK) < 0) {
	    const char *where = master_inproc(ent->command);

	    if (where == 0)
		master_missing_add(&missing, ent);
	    else if (msg_verbose)
		msg_info("service %s: done in-process by %s", serv->key, where);
	    serv->missing = 1;
	} else if ((prev = serv_steal(&old, serv->key, serv->endpoints)) != 0) {
	    /* Reload: the same listeners stay open, connections survive. */
	    for (int j = 0; prev->listen_ev && j < prev->nlisten; j++)
		event_free(prev->listen_ev[j]);
	    free(prev->listen_ev);
	    prev->listen_ev = 0;
	    serv->nlisten = prev->nlisten;
	    serv->listen_fd = prev->listen_fd;
	    prev->listen_fd = 0;
	    prev->nlisten = 0;
	    serv->used = prev->used;
	    free(prev->sock_path);
	    prev->sock_path = 0;
	    serv_free(prev, 0);
	} else {
	    serv_open_listeners(serv, ent);
	}
	*tail = serv;
	tail = &serv->next;
    }
    master_missing_warn(&missing, daemon_dir);
    /* Services gone from master.cf (or now disabled): close them. */
    while (old) {
	MASTER_SERV *next = old->next;
	int     shared = 0;

	for (MASTER_SERV *s = master_services; s; s = s->next)
	    if (!s->missing && old->sock_path && s->sock_path
		&& strcmp(s->sock_path, old->sock_path) == 0)
		shared = 1;
	if (shared) {
	    free(old->sock_path);
	    old->sock_path = 0;
	}
	serv_free(old, 1);
	old = next;
    }
    for (MASTER_SERV *s = master_services; s; s = s->next)
	serv_arm(s);
    master_conf_free(conf);
    vstr_free(path);
}

/* Log lines still queued for postlogd: write them before the socket goes. */
static void serv_drain_postlog(MASTER_SERV *serv)
{
    char    buf[MSG_LOG_BATCH_MAX + 2];
    ssize_t n;

    for (int i = 0; i < serv->nlisten; i++) {
	while ((n = recv(serv->listen_fd[i], buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
	    /* One line, or several newline-terminated ones (batched). */
	    for (char *cp = buf, *end = buf + n, *nl; cp < end; cp = nl + 1) {
		size_t  len;

		if ((nl = memchr(cp, '\n', (size_t) (end - cp))) == 0)
		    nl = end;
		len = (size_t) (nl - cp);
		if (len > MSG_LOG_LINE_MAX)
		    len = MSG_LOG_LINE_MAX;
		while (len > 0 && cp[len - 1] == '\r')
		    len--;
		for (size_t j = 0; j < len; j++)
		    if ((unsigned char) cp[j] < 32 && cp[j] != '\t')
			cp[j] = '?';
		if (len > 0)
		    (void) msg_log_file_raw(cp, len);
	    }
	}
    }
}

/* postlogd runs from the start: log lines reach the file without delay. */
void    master_serv_start_eager(void)
{
    if (*mail_conf_str("maillog_file") == 0)	/* syslog: nobody needs it */
	return;
    for (MASTER_SERV *s = master_services; s; s = s->next)
	if (s->postlog && !s->missing && !s->throttled && s->nlisten > 0 && s->total == 0)
	    master_spawn(s);
}

void    master_serv_close_all(void)
{
    for (MASTER_SERV *s = master_services; s; s = s->next)
	if (s->postlog)
	    serv_drain_postlog(s);
    while (master_services) {
	MASTER_SERV *next = master_services->next;

	serv_free(master_services, 1);
	master_services = next;
    }
}
