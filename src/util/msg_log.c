/* msg_log - log lines in Postfix's format; see msg_log.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"
#include "msg_log.h"
#include "stringops.h"
#include "vstr.h"

static char *log_tag;
static char *log_host;
static int log_syslog_on;
static int log_syslog_fac = LOG_MAIL;
static int log_file_fd = -1;
static char *log_sock_path;
static char *log_fallback_path;
static int log_sock_fd = -1;
static int log_fallback_fd = -1;
static VSTR *log_buf;

void    msg_log_set_tag(const char *tag)
{
    free(log_tag);
    log_tag = xstrdup(tag);
    if (log_syslog_on) {
	closelog();
	openlog(log_tag, LOG_PID | LOG_NDELAY, log_syslog_fac);
    }
}

const char *msg_log_tag(void)
{
    return (log_tag ? log_tag : msg_progname());
}

void    msg_log_set_host(const char *host)
{
    const char *dot = strchr(host, '.');

    free(log_host);
    log_host = dot ? xstrndup(host, (size_t) (dot - host)) : xstrdup(host);
}

static const char *log_hostname(void)
{
    char    name[256];

    if (log_host == 0) {
	if (gethostname(name, sizeof(name) - 1) < 0)
	    safe_strlcpy(name, "localhost", sizeof(name));
	name[sizeof(name) - 1] = 0;
	msg_log_set_host(name);
    }
    return (log_host);
}

const char *msg_log_format(VSTR *buf, time_t when, const char *host,
			           const char *tag, long pid, int level,
			           const char *text)
{
    char    stamp[32];
    struct tm tm;

    (void) localtime_r(&when, &tm);
    if (strftime(stamp, sizeof(stamp), "%b %d %H:%M:%S", &tm) == 0)
	stamp[0] = 0;
    vstr_set_limit(buf, MSG_LOG_LINE_MAX);
    if (vstr_fmt(buf, "%s %s %s[%ld]: %s%s%s", stamp, host, tag, pid,
		 msg_severity_name(level), level == MSG_INFO ? "" : ": ", text) < 0) {
	/* Too long: keep what fits. */
	(void) vstr_fmt(buf, "%s %s %s[%ld]: ", stamp, host, tag, pid);
	(void) vstr_cat(buf, msg_severity_name(level));
	if (level != MSG_INFO)
	    (void) vstr_cat(buf, ": ");
	(void) vstr_append(buf, text, MSG_LOG_LINE_MAX - vstr_len(buf) - 1);
    }
    return (vstr_str(buf));
}

int     msg_log_write_line(int fd, const char *line, size_t len)
{
    char   *copy = xmalloc(len + 1);
    ssize_t n;

    memcpy(copy, line, len);
    copy[len] = '\n';
    do {
	n = write(fd, copy, len + 1);
    } while (n < 0 && errno == EINTR);
    free(copy);
    return (n == (ssize_t) (len + 1) ? 0 : -1);
}

/*
 * The pid is asked once per process, not once per line (getpid(2) is a real
 * system call): the cache is dropped in the child of every fork.
 */
static pid_t log_pid;

static char log_batch[MSG_LOG_BATCH_MAX];
static size_t log_batch_len;
static void (*log_batch_arm)(void);
static pthread_t log_batch_thread;	/* the one that may batch */
static pthread_mutex_t log_batch_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_pid_forget(void)
{
    log_pid = 0;
    log_batch_len = 0;			/* the parent sends those lines */
    (void) pthread_mutex_init(&log_batch_lock, 0);
}

static void log_fork_prepare(void)
{
    msg_log_flush();
}

static long log_getpid(void)
{
    static int registered;

    if (!registered) {
	registered = 1;
	(void) pthread_atfork(log_fork_prepare, 0, log_pid_forget);
    }
    if (log_pid == 0)
	log_pid = getpid();
    return ((long) log_pid);
}

static const char *log_line(int level, const char *text)
{
    if (log_buf == 0)
	log_buf = vstr_alloc(256);
    return (msg_log_format(log_buf, time((time_t *) 0), log_hostname(),
			   msg_log_tag(), log_getpid(), level, text));
}

/* syslog sink */

static const struct {
    const char *name;
    int     value;
}       log_facilities[] = {
    {"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}, {"auth", LOG_AUTH},
    {"authpriv", LOG_AUTHPRIV}, {0, 0},
};

static void log_syslog_out(int level, const char *text)
{
    static const int prio[] = {LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT, LOG_CRIT};

    if (level == MSG_INFO)
	syslog(prio[level], "%s", text);
    else
	syslog(prio[level], "%s: %s", msg_severity_name(level), text);
}

int     msg_log_syslog(const char *facility)
{
    int     fac = -1;

    for (int i = 0; log_facilities[i].name; i++)
	if (strcasecmp(log_facilities[i].name, facility) == 0)
	    fac = log_facilities[i].value;
    if (fac < 0)
	return (-1);
    log_syslog_fac = fac;
    openlog(msg_log_tag(), LOG_PID | LOG_NDELAY, fac);
    if (!log_syslog_on)
	msg_output_add(log_syslog_out);
    log_syslog_on = 1;
    return (0);
}

/* file sink */

static int log_open_file(const char *path)
{
    return (open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644));
}

static void log_file_out(int level, const char *text)
{
    const char *line = log_line(level, text);

    (void) msg_log_write_line(log_file_fd, line, strlen(line));
}

int     msg_log_file(const char *path)
{
    int     fd;

    if ((fd = log_open_file(path)) < 0)
	return (-1);
    if (log_file_fd >= 0) {
	(void) close(log_file_fd);
	log_file_fd = fd;
	return (0);
    }
    log_file_fd = fd;
    msg_output_add(log_file_out);
    return (0);
}

int     msg_log_file_raw(const char *line, size_t len)
{
    if (log_file_fd < 0)
	return (-1);
    return (msg_log_write_line(log_file_fd, line, len));
}

/* socket sink */

static int log_sock_send(const char *line, size_t len)
{
    struct sockaddr_un sun;

    if (strlen(log_sock_path) >= sizeof(sun.sun_path)) {
	errno = ENAMETOOLONG;
	return (-1);
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, log_sock_path, strlen(log_sock_path) + 1);
    if (log_sock_fd < 0
	&& (log_sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
	return (-1);
    return (sendto(log_sock_fd, line, len, 0, (struct sockaddr *) &sun,
		   sizeof(sun)) == (ssize_t) len ? 0 : -1);
}

static void log_socket_line(const char *line, size_t len)
{
    if (log_sock_send(line, len) == 0)
	return;
    if (log_fallback_path == 0)
	return;
    if (log_fallback_fd < 0 && (log_fallback_fd = log_open_file(log_fallback_path)) < 0)
	return;
    (void) msg_log_write_line(log_fallback_fd, line, len);
}

/* Send the collected lines; called with log_batch_lock held. */
static void log_batch_send(void)
{
    const char *nl;

    if (log_batch_len == 0)
	return;
    if (log_sock_send(log_batch, log_batch_len) < 0 && log_fallback_path != 0) {
	/* One line at a time through the fallback file. */
	for (const char *cp = log_batch; cp < log_batch + log_batch_len; cp = nl + 1) {
	    nl = memchr(cp, '\n', (size_t) (log_batch + log_batch_len - cp));
	    log_socket_line(cp, (size_t) (nl - cp));
	}
    }
    log_batch_len = 0;
}

void    msg_log_flush(void)
{
    if (log_batch_arm == 0)
	return;
    (void) pthread_mutex_lock(&log_batch_lock);
    log_batch_send();
    (void) pthread_mutex_unlock(&log_batch_lock);
}

static void log_socket_out(int level, const char *text)
{
    const char *line = log_line(level, text);
    size_t  len = strlen(line);
    int     arm;

    if (log_batch_arm == 0 || !pthread_equal(pthread_self(), log_batch_thread)) {
	log_socket_line(line, len);
	return;
    }
    /* What postlogd does to a single datagram: bound, strip, sanitize. */
    if (len > MSG_LOG_LINE_MAX)
	len = MSG_LOG_LINE_MAX;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
	len--;
    if (len == 0)
	return;
    (void) pthread_mutex_lock(&log_batch_lock);
    if (log_batch_len + len + 1 > sizeof(log_batch))
	log_batch_send();
    arm = (log_batch_len == 0);
    for (size_t i = 0; i < len; i++)
	log_batch[log_batch_len++] =
	    ((unsigned char) line[i] < 32 && line[i] != '\t') ? '?' : line[i];
    log_batch[log_batch_len++] = '\n';
    if (level >= MSG_FATAL)
	log_batch_send();
    (void) pthread_mutex_unlock(&log_batch_lock);
    if (arm && log_batch_len > 0)
	log_batch_arm();
}

void    msg_log_socket_batch(void (*arm)(void))
{
    static int registered;

    if (!registered) {
	registered = 1;
	(void) atexit(msg_log_flush);
	(void) log_getpid();		/* registers the fork handlers */
    }
    if (arm == 0)
	msg_log_flush();
    log_batch_thread = pthread_self();
    log_batch_arm = arm;
}

void    msg_log_socket(const char *socket_path, const char *fallback_file)
{
    int     first = (log_sock_path == 0);

    free(log_sock_path);
    free(log_fallback_path);
    log_sock_path = xstrdup(socket_path);
    log_fallback_path = fallback_file ? xstrdup(fallback_file) : 0;
    if (log_fallback_fd >= 0) {
	(void) close(log_fallback_fd);
	log_fallback_fd = -1;
    }
    if (first)
	msg_output_add(log_socket_out);
}
