/* mail_server - service skeleton; see mail_server.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "argv.h"
#include "mail_conf.h"
#include "mail_owner.h"
#include "mail_server.h"
#include "master_args.h"
#include "maillog_client.h"
#include "mem.h"
#include "msg.h"
#include "msg_log.h"
#include "stringops.h"

static struct event_base *ms_base;
static const MAIL_SERVER_CB *ms_cb;
static const char *ms_service = "";
static const char *ms_type = "unix";
static int ms_standalone;
static int ms_clients;
static int ms_busy_reported;
static int ms_draining;
static int ms_status_fd = -1;
static struct event *ms_listen_ev[MAIL_SERVER_MAX_LISTEN];
static int ms_listen_fd[MAIL_SERVER_MAX_LISTEN];
static int ms_nlisten;
static struct event *ms_idle_ev;
static struct event *ms_log_ev;
static long ms_max_idle;

struct event_base *mail_server_base(void)
{
    return (ms_base);
}

const char *mail_server_service_name(void)
{
    return (ms_service);
}

const char *mail_server_service_type(void)
{
    return (ms_type);
}

int     mail_server_standalone(void)
{
    return (ms_standalone);
}

void    mail_server_stop(void)
{
    if (ms_cb && ms_cb->on_exit)
	ms_cb->on_exit();
    event_base_loopbreak(ms_base);
}

static void ms_status(char ch)
{
    if (ms_status_fd >= 0 && write(ms_status_fd, &ch, 1) < 0 && errno != EAGAIN)
	ms_status_fd = -1;
}

static void ms_idle_arm(void)
{
    struct timeval tv = {ms_max_idle, 0};

    if (ms_idle_ev && ms_max_idle > 0)
	evtimer_add(ms_idle_ev, &tv);
}

void    mail_server_client_begin(void)
{
    int     limit = ms_cb->max_clients > 0 ? ms_cb->max_clients : 1;

    ms_clients++;
    if (ms_idle_ev)
	evtimer_del(ms_idle_ev);
    if (ms_clients >= limit && !ms_busy_reported) {
	ms_status('B');
	ms_busy_reported = 1;
	/* Stop accepting until a client leaves. */
	for (int i = 0; i < ms_nlisten; i++)
	    if (ms_listen_ev[i])
		event_del(ms_listen_ev[i]);
    }
}

void    mail_server_client_end(void)
{
    int     limit = ms_cb->max_clients > 0 ? ms_cb->max_clients : 1;

    if (ms_clients > 0)
	ms_clients--;
    if (ms_draining && ms_clients == 0) {
	mail_server_stop();
	return;
    }
    if (ms_clients < limit && ms_busy_reported) {
	ms_busy_reported = 0;
	ms_status('I');
	for (int i = 0; i < ms_nlisten; i++)
	    if (ms_listen_ev[i])
		event_add(ms_listen_ev[i], 0);
    }
    if (ms_clients == 0)
	ms_idle_arm();
}

static void ms_idle_cb(evutil_socket_t fd, short what, void *arg)
{
    if (ms_clients == 0) {
	if (msg_verbose)
	    msg_info("idle timeout -- exiting");
	mail_server_stop();
    }
}

static void ms_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    int     fd;

    if (strcmp(ms_type, "fifo") == 0) {
	char    buf[256];
	ssize_t n;

	while ((n = read(lfd, buf, sizeof(buf))) > 0)
	    if (ms_cb->on_trigger)
		ms_cb->on_trigger(buf, n);
	if (ms_cb->on_wakeup)
	    ms_cb->on_wakeup(ms_service);
	return;
    }
    fd = accept4(lfd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
	    && errno != ECONNABORTED)
	    msg_warn("accept connection: %m");
	return;
    }
    if (ms_cb->wakeup_on_accept && !ms_cb->on_accept) {
	char    buf[256];

	/* A trigger: read what is there now, then close. */
	(void) read(fd, buf, sizeof(buf));
	(void) close(fd);
	if (ms_cb->on_wakeup)
	    ms_cb->on_wakeup(ms_service);
	return;
    }
    if (ms_cb->on_accept)
	ms_cb->on_accept(fd, ms_service);
    else
	(void) close(fd);
}

static void ms_status_cb(evutil_socket_t fd, short what, void *arg)
{
    char    buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
	/* master went away or reloads: drain. */
	event_del((struct event *) arg);
	ms_status_fd = -1;
	ms_draining = 1;
	for (int i = 0; i < ms_nlisten; i++)
	    if (ms_listen_ev[i])
		event_del(ms_listen_ev[i]);
	if (ms_clients == 0 || ms_cb->exit_on_reload)
	    mail_server_stop();
    }
}

/*
 * Log lines sent to postlogd during one event-loop turn go out as one
 * datagram at its end (msg_log_socket_batch): with many sessions in one
 * process this saves a sendto(2) and a postlogd wakeup per line.
 */
static void ms_log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    msg_log_flush();
}

static void ms_log_arm(void)
{
    event_active(ms_log_ev, EV_TIMEOUT, 1);
}

static void ms_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    if (msg_verbose)
	msg_info("received signal %d -- exiting", (int) sig);
    if (ms_cb->on_exit)
	ms_cb->on_exit();
    exit(0);
}

int     mail_server_listen(const char *endpoint, int backlog)
{
    int     fd;
    int     on = 1;

    if (strncmp(endpoint, "unix:", 5) == 0) {
	struct sockaddr_un sun;
	const char *path = endpoint + 5;

	if (strlen(path) >= sizeof(sun.sun_path))
	    msg_fatal("unix-domain name too long: %s", path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
	    msg_fatal("socket: %m");
	(void) unlink(path);
	if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0)
	    msg_fatal("bind %s: %m", path);
    } else {
	char   *copy = xstrdup(endpoint);
	char   *host = copy, *port;
	struct addrinfo hints, *res;
	int     err;

	if (*host == '[') {
	    host++;
	    if ((port = strchr(host, ']')) == 0)
		msg_fatal("bad endpoint: %s", endpoint);
	    *port++ = 0;
	    if (*port == ':')
		port++;
	} else if ((port = strrchr(host, ':')) != 0) {
	    *port++ = 0;
	} else {
	    port = host;
	    host = "127.0.0.1";
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((err = getaddrinfo(*host ? host : 0, port, &hints, &res)) != 0)
	    msg_fatal("%s: %s", endpoint, gai_strerror(err));
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
	    msg_fatal("socket: %m");
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0)
	    msg_fatal("bind %s: %m", endpoint);
	freeaddrinfo(res);
	free(copy);
    }
    if (listen(fd, backlog) < 0)
	msg_fatal("listen %s: %m", endpoint);
    return (fd);
}


int     mail_server_main(int argc, char **argv, const MAIL_SERVER_CB *cb)
{
    ARGV   *standalone = argv_alloc(2);
    int     unpriv = 0;
    int     ch;
    const char *env;
    struct event *sig_term, *sig_int, *status_ev = 0;

    ms_cb = cb;
    msg_init(argv[0], isatty(2));
    (void) signal(SIGPIPE, SIG_IGN);
    opterr = 0;
    argc = master_args_config(argc, argv);	/* "-c DIR" by hand; "-c" from master */
    while ((ch = getopt(argc, argv, "cn:o:S:t:uvlz")) != -1) {
	switch (ch) {
	case 'c':				/* chroot: not done by postern */
	    break;
	case 'n':
	    ms_service = optarg;
	    break;
	case 'o':{
		char   *copy = xstrdup(optarg), *name, *value;
		const char *err = split_nameval(copy, &name, &value);

		if (err)
		    msg_fatal("bad -o option: %s: %s", optarg, err);
		/* Applied after main.cf is read (overrides win anyway). */
		mail_conf_override(name, value);
		free(copy);
		break;
	    }
	case 'S':
	    argv_add(standalone, optarg);
	    break;
	case 't':
	    ms_type = optarg;
	    break;
	case 'u':
	    unpriv = 1;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	case 'l':
	case 'z':
	    break;
	default:
	    msg_fatal("invalid option: -%c", optopt);
	}
    }
    mail_conf_read();
    if (*ms_service == 0)			/* no -n: the program's name */
	ms_service = msg_progname();
    /* $service_name and $process_name, as in Postfix (-o syslog_name=...). */
    mail_conf_override("service_name", ms_service);
    mail_conf_override("process_name", msg_progname());
    maillog_client_init(msg_progname(), MAILLOG_FALLBACK);
    ms_max_idle = mail_conf_time("max_idle");

    if (standalone->argc > 0) {
	ms_standalone = 1;
	for (size_t i = 0; i < standalone->argc && ms_nlisten < MAIL_SERVER_MAX_LISTEN; i++)
	    ms_listen_fd[ms_nlisten++] = mail_server_listen(standalone->argv[i], 1024);
	if (strcmp(ms_type, "fifo") == 0)
	    ms_type = "unix";
    } else if ((env = getenv("POSTERN_LISTEN_FDS")) != 0) {
	unsigned long n;

	if (parse_ulong(env, MAIL_SERVER_MAX_LISTEN, &n) < 0)
	    msg_fatal("bad POSTERN_LISTEN_FDS value: %s", env);
	for (unsigned long i = 0; i < n; i++)
	    ms_listen_fd[ms_nlisten++] = MAIL_SERVER_LISTEN_FD + (int) i;
	if (fcntl(MAIL_SERVER_STATUS_FD, F_GETFD) >= 0)
	    ms_status_fd = MAIL_SERVER_STATUS_FD;
    }
    if (ms_standalone && cb->stderr_standalone)
	msg_stderr_enable(1);
    if (cb->pre_init)
	cb->pre_init(ms_service, argc - optind, argv + optind);
    if (unpriv || (standalone->argc > 0 && geteuid() == 0 && !cb->privileged))
	mail_owner_drop_privileges();

    {
	/*
	 * Changelist: the enable/disable pairs a bufferevent makes for each
	 * reply (write on, write off, read on ...) are merged into at most one
	 * epoll_ctl per descriptor per loop turn (smtpd made 18 per message
	 * without it). Safe here: no two events watch dup()ed descriptors.
	 */
	struct event_config *cfg = event_config_new();

	if (cfg == 0)
	    msg_fatal("event_config_new failed");
	(void) event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	ms_base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (ms_base == 0 && (ms_base = event_base_new()) == 0)
	    msg_fatal("event_base_new failed");
    }
    for (int i = 0; i < ms_nlisten; i++) {
	int     fd = ms_listen_fd[i];

	(void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	(void) fcntl(fd, F_SETFD, FD_CLOEXEC);
	ms_listen_ev[i] = event_new(ms_base, fd, EV_READ | EV_PERSIST, ms_accept_cb, 0);
	event_add(ms_listen_ev[i], 0);
    }
    if (ms_status_fd >= 0) {
	(void) fcntl(ms_status_fd, F_SETFL, fcntl(ms_status_fd, F_GETFL) | O_NONBLOCK);
	(void) fcntl(ms_status_fd, F_SETFD, FD_CLOEXEC);
	status_ev = event_new(ms_base, ms_status_fd, EV_READ | EV_PERSIST, ms_status_cb, event_self_cbarg());
	event_add(status_ev, 0);
    }
    sig_term = evsignal_new(ms_base, SIGTERM, ms_signal_cb, 0);
    sig_int = evsignal_new(ms_base, SIGINT, ms_signal_cb, 0);
    evsignal_add(sig_term, 0);
    evsignal_add(sig_int, 0);
    if (cb->idle_exit && !ms_standalone) {
	ms_idle_ev = evtimer_new(ms_base, ms_idle_cb, 0);
	ms_idle_arm();
    }
    if (cb->post_init)
	cb->post_init(ms_service, argc - optind, argv + optind);
    argv_free(standalone);
    if ((ms_log_ev = event_new(ms_base, -1, 0, ms_log_flush_cb, 0)) != 0)
	msg_log_socket_batch(ms_log_arm);
    (void) event_base_dispatch(ms_base);
    exit(0);
}
