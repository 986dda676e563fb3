/*
 * master - postern's supervisor daemon.
 *
 * Usage: master [-c config_dir] [-d] [-s] [-t] [-v] [-w]
 *
 *   -c DIR  configuration directory (else $MAIL_CONFIG, /etc/postfix)
 *   -d      stay in the foreground (no fork, no new session)
 *   -s      like -d, for `postfix start-fg`: also keeps stdin/stdout/stderr
 *   -t      test: exit 0 when master is NOT running, 1 when it is
 *   -v      verbose logging (also passed on to services)
 *   -w      (daemon mode) wait until the new master has opened its
 *           listeners; exit status tells whether it started
 *
 * Signals: SIGHUP re-reads main.cf and master.cf (listeners whose address
 * did not change stay open; running processes finish their clients and
 * exit, new ones start from the new configuration). SIGTERM stops: every
 * child gets SIGTERM, master waits for them (at most 10s, then SIGKILL) and
 * exits. SIGQUIT aborts: children get SIGKILL, master exits at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail_conf.h"
#include "mail_owner.h"
#include "maillog_client.h"
#include "master.h"
#include "mem.h"
#include "msg.h"
#include "msg_log.h"
#include "safe_file.h"
#include "vstr.h"

struct event_base *master_base;
int     master_is_root;
uid_t   master_owner_uid;
gid_t   master_owner_gid;
gid_t   master_setgid_gid;
int     master_stopping;

static int master_ready_fd = -1;		/* -w: tell the waiting parent */
static const char *master_pid_path = "pid/master.pid";

static int master_startup_done;

/* With -w, fatal startup errors are shown by the waiting postfix command. */
static void master_startup_stderr(int level, const char *text)
{
    if (!master_startup_done && level >= MSG_FATAL)
	fprintf(stderr, "%s: %s: %s\n", msg_log_tag(), msg_severity_name(level), text);
}

static void master_usage(void)
{
    msg_fatal("usage: master [-c config_dir] [-d] [-s] [-t] [-v] [-w]");
}

/* 1 if a master holds the lock on pid/master.pid. */
static int master_running(void)
{
    int     fd = open(master_pid_path, O_RDONLY | O_CLOEXEC);
    int     running = 0;

    if (fd < 0)
	return (0);
    if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
	running = 1;
    (void) close(fd);
    return (running);
}

static void master_lock_pid(void)
{
    int     fd;
    char    buf[32];
    int     len;

    if ((fd = open(master_pid_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
	msg_fatal("open lock file %s: %m", master_pid_path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
	msg_fatal("open lock file %s: unable to set exclusive lock: %m", master_pid_path);
    len = snprintf(buf, sizeof(buf), "%*lu\n", 10, (unsigned long) getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t) len) != len)
	msg_fatal("write lock file %s: %m", master_pid_path);
    /* Keep fd open (and locked) for the life of master. */
}

static void master_owner(void)
{
    const struct passwd *pw;
    struct group *gr;
    const char *sgid = mail_conf_str("setgid_group");

    master_is_root = (geteuid() == 0);
    if (!master_is_root) {
	/* An ordinary user's instance: everything runs as that user. */
	master_owner_uid = geteuid();
	master_owner_gid = getegid();
	master_setgid_gid = getegid();
	return;
    }
    pw = mail_owner_lookup();
    master_owner_uid = pw->pw_uid;
    master_owner_gid = pw->pw_gid;
    if ((gr = getgrnam(sgid)) == 0)
	msg_fatal("file %s/main.cf: parameter setgid_group: unknown group name: %s",
		  mail_conf_dir(), sgid);
    if (gr->gr_gid == 0)
	msg_fatal("file %s/main.cf: parameter setgid_group: group %s has privileged group ID",
		  mail_conf_dir(), sgid);
    master_setgid_gid = gr->gr_gid;
}

/* pid, private and public under the queue directory, with Postfix's modes. */
static void master_dirs(void)
{
    static const struct {
	const char *name;
	mode_t  mode;
	int     owner;			/* 0 root, 1 mail_owner */
	int     group;			/* 0 owner's, 1 setgid_group */
    }       dirs[] = {
	{"pid", 0755, 0, 0},
	{"private", 0700, 1, 0},
	{"public", 0710, 1, 1},
    };

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
	if (mkdir(dirs[i].name, dirs[i].mode) < 0 && errno != EEXIST)
	    msg_fatal("mkdir %s: %m", dirs[i].name);
	if (master_is_root && dirs[i].owner
	    && chown(dirs[i].name, master_owner_uid,
		     dirs[i].group ? master_setgid_gid : master_owner_gid) < 0)
	    msg_fatal("chown %s: %m", dirs[i].name);
    }
}

static void master_sig_cb(evutil_socket_t sig, short what, void *arg)
{
    switch (sig) {
    case SIGCHLD:
	master_reap();
	if (master_stopping && master_proc_count() == 0)
	    event_base_loopbreak(master_base);
	break;
    case SIGHUP:
	mail_conf_read();
	maillog_client_init("master", MAILLOG_DIRECT);
	master_retire_all();
	master_serv_load();
	master_serv_start_eager();
	/* Logged when done: the new listeners are open. */
	msg_info("reload -- version %s, configuration %s",
		 mail_conf_str("mail_version"), mail_conf_dir());
	break;
    case SIGTERM:
    case SIGINT:
	msg_info("terminating on signal %d", (int) sig);
	master_stopping = 1;
	master_retire_all();
	master_serv_close_all();
	master_signal_all(SIGTERM);
	if (master_proc_count() == 0) {
	    event_base_loopbreak(master_base);
	} else {
	    struct timeval tv = {10, 0};

	    event_base_loopexit(master_base, &tv);
	}
	break;
    case SIGQUIT:
	msg_info("aborting on signal %d", (int) sig);
	master_stopping = 1;
	master_signal_all(SIGKILL);
	master_retire_all();
	master_serv_close_all();
	event_base_loopbreak(master_base);
	break;
    }
}

static void master_daemonize(int wait_for_child)
{
    int     pipefd[2];
    pid_t   pid;
    char    ch;
    int     fd;

    if (wait_for_child && pipe2(pipefd, O_CLOEXEC) < 0)
	msg_fatal("pipe: %m");
    if ((pid = fork()) < 0)
	msg_fatal("fork: %m");
    if (pid > 0) {
	if (!wait_for_child)
	    exit(0);
	(void) close(pipefd[1]);
	/* The child writes one byte when it is ready, or dies. */
	if (read(pipefd[0], &ch, 1) == 1)
	    exit(0);
	/* Failed: return only once it is gone (and its lock with it). */
	(void) waitpid(pid, 0, 0);
	exit(1);
    }
    if (wait_for_child) {
	(void) close(pipefd[0]);
	master_ready_fd = pipefd[1];
    }
    (void) setsid();
    if ((fd = open("/dev/null", O_RDWR)) >= 0) {
	(void) dup2(fd, 0);
	(void) dup2(fd, 1);
	if (!wait_for_child)		/* else: after startup, see main() */
	    (void) dup2(fd, 2);
	if (fd > 2)
	    (void) close(fd);
    }
}

int     main(int argc, char **argv)
{
    int     ch, foreground = 0, keep_stdio = 0, test_mode = 0, wait_mode = 0;
    struct event *sigs[6];
    static const int signums[] = {SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT};

    msg_init(argv[0], isatty(2));
    (void) umask(022);
    while ((ch = getopt(argc, argv, "c:dstvwDe:i")) != -1) {
	switch (ch) {
	case 'c':
	    mail_conf_set_dir(optarg);
	    break;
	case 'd':
	case 'i':
	    foreground = 1;
	    break;
	case 's':
	    foreground = keep_stdio = 1;
	    break;
	case 't':
	    test_mode = 1;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	case 'w':
	    wait_mode = 1;
	    break;
	case 'D':
	case 'e':
	    break;
	default:
	    master_usage();
	}
    }
    if (optind < argc)
	master_usage();
    {
	/* We chdir to the queue: a relative config directory must not break. */
	char   *abs = realpath(mail_conf_dir(), 0);

	if (abs) {
	    mail_conf_set_dir(abs);
	    free(abs);
	}
    }
    mail_conf_read();
    if (chdir(mail_conf_str("queue_directory")) < 0)
	msg_fatal("chdir(%s): %m", mail_conf_str("queue_directory"));
    if (test_mode)
	exit(master_running() ? 1 : 0);
    maillog_client_init("master", MAILLOG_DIRECT);
    master_owner();
    master_dirs();
    if (master_running())
	msg_fatal("the Postfix mail system is already running");
    if (!foreground) {
	if (wait_mode)				/* startup errors reach postfix(1) */
	    msg_output_add(master_startup_stderr);
	master_daemonize(wait_mode);
    }
    else if (!keep_stdio) {
	int     fd = open("/dev/null", O_RDONLY);

	if (fd >= 0 && fd != 0) {
	    (void) dup2(fd, 0);
	    (void) close(fd);
	}
    }
    (void) signal(SIGPIPE, SIG_IGN);
    master_lock_pid();
    if ((master_base = event_base_new()) == 0)
	msg_fatal("event_base_new failed");
    for (size_t i = 0; i < sizeof(signums) / sizeof(signums[0]); i++) {
	sigs[i] = evsignal_new(master_base, signums[i], master_sig_cb, 0);
	evsignal_add(sigs[i], 0);
    }
    master_serv_load();
    msg_info("daemon started -- version %s, configuration %s",
	     mail_conf_str("mail_version"), mail_conf_dir());
    if (master_ready_fd >= 0) {
	int     fd = open("/dev/null", O_WRONLY);

	(void) write(master_ready_fd, "", 1);
	(void) close(master_ready_fd);
	master_ready_fd = -1;
	master_startup_done = 1;
	if (fd >= 0) {
	    (void) dup2(fd, 2);
	    if (fd != 2)
		(void) close(fd);
	}
    }
    /* Only now: children must not inherit the caller's stderr (-w). */
    master_serv_start_eager();
    (void) event_base_dispatch(master_base);
    if (master_proc_count() > 0) {
	master_signal_all(SIGKILL);
	while (waitpid(-1, 0, 0) > 0 || errno == EINTR)
	     /* void */ ;
    }
    (void) unlink(master_pid_path);
    exit(0);
}
