/*
 * postfix - control the mail system (postfix(1)).
 *
 * Usage: postfix [-Dv] [-c config_dir] command
 *
 * Commands: check, start, start-fg, stop, abort, reload, status, flush,
 * set-permissions, upgrade-configuration, logrotate. Messages use the
 * wording and tags of Postfix's postfix-script ("postfix/postfix-script:
 * starting the Postfix mail system"); they are logged (syslog or
 * maillog_file) and also printed on standard error.
 *
 * Unlike Postfix, an ordinary user may run this command: the instance then
 * runs wholly as that user (docs/instances.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail_conf.h"
#include "mail_queue.h"
#include "maillog_client.h"
#include "mem.h"
#include "msg.h"
#include "msg_log.h"
#include "postfix.h"
#include "stringops.h"
#include "vstr.h"

#define USAGE_TEXT "Usage: postfix start (or stop, reload, abort, flush, check, " \
	"status, set-permissions, upgrade-configuration, logrotate)"

static void postfix_stderr(int level, const char *text)
{
    if (level == MSG_INFO)
	fprintf(stderr, "%s: %s\n", msg_log_tag(), text);
    else
	fprintf(stderr, "%s: %s: %s\n", msg_log_tag(), msg_severity_name(level), text);
    fflush(stderr);
}

/* PID of the running master, or 0. */
static long master_pid(void)
{
    int     fd = open("pid/master.pid", O_RDONLY | O_CLOEXEC);
    char    buf[32];
    ssize_t n;
    long    pid = 0;

    if (fd < 0)
	return (0);
    if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
	(void) close(fd);
	return (0);
    }
    if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
	buf[n] = 0;
	pid = strtol(buf, 0, 10);
    }
    (void) close(fd);
    return (pid > 0 ? pid : 0);
}

static void must_run(long pid)
{
    if (pid == 0)
	msg_fatal("the Postfix mail system is not running");
}

static void wait_gone(void)
{
    /* Bounded: master gives its children 10s, then kills them. */
    for (int i = 0; i < 300 && master_pid() != 0; i++) {
	struct timespec ts = {0, 50 * 1000 * 1000};

	nanosleep(&ts, 0);
    }
}

static char *master_path(void)
{
    VSTR   *vp = vstr_alloc(64);

    (void) vstr_fmt(vp, "%s/master", mail_conf_str("daemon_directory"));
    return (vstr_export(vp));
}

/*
 * At start nothing runs yet: what a crash left in recycle/ (files claimed
 * by a process that was writing them, or pooled for reuse) is removed, so
 * a file is never reused across a restart. At reload (min_age 3600), only
 * claims of processes gone for an hour, as postsuper -p (Postfix runs
 * postsuper after a reload too). See docs/queue-format.md.
 */
static void postfix_recycle_purge(long min_age)
{
    VSTR   *dir = vstr_alloc(64);

    (void) vstr_fmt(dir, "%s/%s", mail_conf_str("queue_directory"), MAIL_QUEUE_RECYCLE);
    if (mail_queue_recycle_purge(vstr_str(dir), min_age) < 0)
	msg_warn("clean up %s: %m", vstr_str(dir));
    vstr_free(dir);
}

static void postfix_start(int foreground)
{
    char   *path = master_path();
    pid_t   pid;
    int     status;

    if (master_pid())
	msg_fatal("the Postfix mail system is already running");
    postfix_check(0);
    if (access(path, X_OK) < 0)
	msg_fatal("%s: %m", path);
    postfix_recycle_purge(-1);
    msg_info("starting the Postfix mail system");
    if (foreground) {
	char   *args[] = {path, "-s", msg_verbose ? "-v" : 0, 0};

	(void) setenv("MAIL_CONFIG", mail_conf_dir(), 1);	/* as postfix-script */

	execv(path, args);
	msg_fatal("exec %s: %m", path);
    }
    if ((pid = fork()) < 0)
	msg_fatal("fork: %m");
    if (pid == 0) {
	char   *args[] = {path, "-w", msg_verbose ? "-v" : 0, 0};

	(void) setenv("MAIL_CONFIG", mail_conf_dir(), 1);	/* ps shows "master -w" */

	execv(path, args);
	msg_fatal("exec %s: %m", path);
    }
    while (waitpid(pid, &status, 0) < 0)
	if (errno != EINTR)
	    msg_fatal("waitpid: %m");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
	msg_fatal("mail system startup failed");
    free(path);
}

static void postfix_signal(const char *what, int sig, int wait)
{
    long    pid = master_pid();

    must_run(pid);
    msg_info("%s the Postfix mail system", what);
    if (kill((pid_t) pid, sig) < 0)
	msg_fatal("kill %ld: %m", pid);
    if (wait)
	wait_gone();
}

/* Ask qmgr to flush: trigger bytes on its public endpoint. */
static void postfix_flush(void)
{
    VSTR   *path = vstr_alloc(64);
    struct sockaddr_un sun;
    int     fd, ok = 0;
    struct stat st;

    (void) vstr_fmt(path, "public/%s", "qmgr");
    if (stat(vstr_str(path), &st) == 0 && S_ISFIFO(st.st_mode)) {
	if ((fd = open(vstr_str(path), O_WRONLY | O_NONBLOCK)) >= 0) {
	    ok = (write(fd, "FW", 2) == 2);
	    (void) close(fd);
	}
    } else if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0) {
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	safe_strlcpy(sun.sun_path, vstr_str(path), sizeof(sun.sun_path));
	if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0)
	    ok = (write(fd, "FW", 2) == 2);
	(void) close(fd);
    }
    vstr_free(path);
    if (!ok || master_pid() == 0) {
	msg_log_set_tag("postqueue");
	msg_fatal("Cannot flush mail queue - mail system is down");
    }
}

/* Rename maillog_file with maillog_file_rotate_suffix; postlogd reopens. */
static void postfix_logrotate(void)
{
    const char *file = mail_conf_str("maillog_file");
    char    suffix[128];
    time_t  now = time(0);
    struct tm tm;
    VSTR   *vp;
    long    pid = master_pid();

    if (*file == 0)
	msg_fatal("logrotate: maillog_file is not set");
    (void) localtime_r(&now, &tm);
    if (strftime(suffix, sizeof(suffix), mail_conf_str("maillog_file_rotate_suffix"), &tm) == 0)
	msg_fatal("logrotate: bad maillog_file_rotate_suffix");
    vp = vstr_alloc(64);
    (void) vstr_fmt(vp, "%s.%s", file, suffix);
    if (rename(file, vstr_str(vp)) < 0 && errno != ENOENT)
	msg_fatal("rename %s to %s: %m", file, vstr_str(vp));
    msg_info("rotated %s to %s", file, vstr_str(vp));
    vstr_free(vp);
    if (pid)
	(void) kill((pid_t) pid, SIGHUP);
}

int     main(int argc, char **argv)
{
    int     ch;
    const char *cmd;
    char   *tag;
    const char *qdir;

    msg_init("postfix", 0);
    msg_output_add(postfix_stderr);
    msg_log_set_tag("postfix");
    while ((ch = getopt(argc, argv, "c:Dv")) != -1) {
	switch (ch) {
	case 'c':
	    mail_conf_set_dir(optarg);
	    (void) setenv("MAIL_CONFIG", optarg, 1);
	    break;
	case 'D':
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	default:
	    msg_fatal("usage: postfix [-c config_dir] [-Dv] command");
	}
    }
    {
	/* We chdir to the queue: a relative config directory must not break. */
	char   *abs = realpath(mail_conf_dir(), 0);

	if (abs) {
	    mail_conf_set_dir(abs);
	    free(abs);
	}
    }
    mail_conf_read();
    maillog_client_init(0, MAILLOG_FALLBACK);
    qdir = mail_conf_str("queue_directory");
    if (chdir(qdir) < 0)
	msg_fatal("chdir(%s): %m", qdir);
    {
	struct stat st;

	/* An ordinary user controls only an instance of their own. */
	if (geteuid() != 0 && stat(".", &st) == 0 && st.st_uid != geteuid()) {
	    msg_error("to submit mail, use the Postfix sendmail command");
	    msg_fatal("the postfix command is reserved for the superuser");
	}
    }
    tag = maillog_client_tag("postfix-script");
    msg_log_set_tag(tag);
    free(tag);
    cmd = optind < argc ? argv[optind] : "";
    if (optind + 1 < argc && strcmp(cmd, "start") != 0)
	msg_fatal("unknown command: '%s'. " USAGE_TEXT, cmd);

    if (strcmp(cmd, "start") == 0) {
	postfix_start(0);
    } else if (strcmp(cmd, "start-fg") == 0) {
	postfix_start(1);
    } else if (strcmp(cmd, "stop") == 0) {
	postfix_signal("stopping", SIGTERM, 1);
    } else if (strcmp(cmd, "abort") == 0) {
	postfix_signal("aborting", SIGQUIT, 1);
    } else if (strcmp(cmd, "reload") == 0) {
	must_run(master_pid());
	postfix_check_syntax();			/* a bad master.cf would stop master */
	postfix_signal("refreshing", SIGHUP, 0);
	postfix_recycle_purge(3600);
    } else if (strcmp(cmd, "status") == 0) {
	long    pid = master_pid();

	if (pid == 0) {
	    msg_info("the Postfix mail system is not running");
	    exit(1);
	}
	msg_info("the Postfix mail system is running: PID: %ld", pid);
    } else if (strcmp(cmd, "check") == 0) {
	postfix_check(1);
    } else if (strcmp(cmd, "set-permissions") == 0) {
	postfix_set_permissions();
    } else if (strcmp(cmd, "flush") == 0) {
	postfix_flush();
    } else if (strcmp(cmd, "upgrade-configuration") == 0) {
	/* Nothing to upgrade: postern reads Postfix 3.7 files as they are. */
    } else if (strcmp(cmd, "logrotate") == 0) {
	postfix_logrotate();
    } else {
	msg_fatal("unknown command: '%s'. " USAGE_TEXT, cmd);
    }
    exit(0);
}
