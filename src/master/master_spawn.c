/* master_spawn - child processes of master; see master.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argv.h"
#include "mail_conf.h"
#include "mail_server.h"
#include "master.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"
#include "vstr.h"

MASTER_PROC *master_procs;

int     master_retired_count(const char *key)
{
    int     n = 0;

    for (MASTER_PROC *p = master_procs; p; p = p->next)
	if (p->serv == 0 && strcmp(p->key, key) == 0)
	    n++;
    return (n);
}

int     master_proc_count(void)
{
    int     n = 0;

    for (MASTER_PROC *p = master_procs; p; p = p->next)
	n++;
    return (n);
}

static void proc_status_cb(evutil_socket_t fd, short what, void *arg)
{
    MASTER_PROC *proc = arg;
    char    buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n <= 0) {
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
	    /* The child closed its end; reaping does the rest. */
	    event_del(proc->status_ev);
	}
	return;
    }
    for (ssize_t i = 0; i < n; i++)
	master_proc_status(proc, buf[i]);
}

void    master_proc_status(MASTER_PROC *proc, int ch)
{
    MASTER_SERV *serv = proc->serv;

    switch (ch) {
    case 'B':
	if (proc->avail) {
	    proc->avail = 0;
	    proc->use_count++;
	    if (serv) {
		serv->avail--;
		master_serv_update_watch(serv);
	    }
	}
	break;
    case 'I':
	if (!proc->avail) {
	    proc->avail = 1;
	    if (serv) {
		serv->avail++;
		master_serv_update_watch(serv);
	    }
	}
	break;
    default:
	msg_warn("process %s pid %ld: bad status byte 0x%02x", proc->path,
		 (long) proc->pid, (unsigned char) ch);
	break;
    }
}

/* Environment for a child: import_environment, MAIL_CONFIG, listen fds. */
static void spawn_environment(int nlisten)
{
    ARGV   *imp = argv_split(mail_conf_str("import_environment"), CHARS_COMMA_SP);
    ARGV   *keep = argv_alloc(16);
    static const char *const debug_vars[] = {
	"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", 0,
    };
    char    num[32];

    for (size_t i = 0; i < imp->argc; i++) {
	char   *eq = strchr(imp->argv[i], '=');

	if (eq) {
	    argv_add(keep, imp->argv[i]);
	} else {
	    const char *v = getenv(imp->argv[i]);

	    if (v) {
		VSTR   *vp = vstr_alloc(64);

		(void) vstr_fmt(vp, "%s=%s", imp->argv[i], v);
		argv_add(keep, vstr_str(vp));
		vstr_free(vp);
	    }
	}
    }
    for (int i = 0; debug_vars[i]; i++) {
	const char *v = getenv(debug_vars[i]);

	if (v) {
	    VSTR   *vp = vstr_alloc(64);

	    (void) vstr_fmt(vp, "%s=%s", debug_vars[i], v);
	    argv_add(keep, vstr_str(vp));
	    vstr_free(vp);
	}
    }
    (void) clearenv();
    for (size_t i = 0; i < keep->argc; i++) {
	char   *eq = strchr(keep->argv[i], '=');

	*eq = 0;
	(void) setenv(keep->argv[i], eq + 1, 1);
    }
    (void) setenv("MAIL_CONFIG", mail_conf_dir(), 1);
    (void) snprintf(num, sizeof(num), "%d", nlisten);
    (void) setenv("POSTERN_LISTEN_FDS", num, 1);
}

/* In the child: move fds into place, exec. Never returns. */
static void spawn_child(MASTER_SERV *serv, int status_fd)
{
    int     hi = MAIL_SERVER_LISTEN_FD + serv->nlisten;
    int     tmp[MAIL_SERVER_MAX_LISTEN];
    sigset_t none;

    /* Default signal handling, nothing blocked. */
    for (int sig = 1; sig < NSIG; sig++)
	(void) signal(sig, SIG_DFL);
    sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, 0);

    /* Copy everything above the target range first, then into place. */
    for (int i = 0; i < serv->nlisten; i++)
	if ((tmp[i] = fcntl(serv->listen_fd[i], F_DUPFD, hi + 1)) < 0)
	    msg_fatal("master_spawn: dup listener: %m");
    if ((status_fd = fcntl(status_fd, F_DUPFD, hi + 1 + serv->nlisten)) < 0)
	msg_fatal("master_spawn: dup status: %m");
    if (dup2(status_fd, MAIL_SERVER_STATUS_FD) < 0)
	msg_fatal("master_spawn: dup2 status: %m");
    for (int i = 0; i < serv->nlisten; i++)
	if (dup2(tmp[i], MAIL_SERVER_LISTEN_FD + i) < 0)
	    msg_fatal("master_spawn: dup2 listener: %m");
    /* Close all but 0-2, the status fd and the listeners. */
    for (int fd = 3; fd < MAIL_SERVER_STATUS_FD; fd++)
	(void) close(fd);
    if (close_range((unsigned) hi, ~0U, 0) < 0)
	for (int fd = hi; fd < 65536; fd++)
	    (void) close(fd);
    for (int fd = MAIL_SERVER_STATUS_FD; fd < hi; fd++)
	(void) fcntl(fd, F_SETFD, 0);
    spawn_environment(serv->nlisten);
    execv(serv->path, serv->argv->argv);
    msg_fatal("master_spawn: exec %s: %m", serv->path);
}

void    master_spawn(MASTER_SERV *serv)
{
    int     pair[2];
    pid_t   pid;
    MASTER_PROC *proc;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
	msg_warn("socketpair: %m");
	master_serv_throttle(serv);
	return;
    }
    if ((pid = fork()) < 0) {
	msg_warn("master_spawn: fork: %m -- throttling");
	(void) close(pair[0]);
	(void) close(pair[1]);
	master_serv_throttle(serv);
	return;
    }
    if (pid == 0) {
	(void) close(pair[0]);
	spawn_child(serv, pair[1]);
    }
    (void) close(pair[1]);
    (void) fcntl(pair[0], F_SETFL, O_NONBLOCK);
    proc = xcalloc(1, sizeof(*proc));
    proc->pid = pid;
    proc->serv = serv;
    proc->path = xstrdup(serv->path);
    proc->key = xstrdup(serv->key);
    proc->status_fd = pair[0];
    proc->avail = 1;
    proc->status_ev = event_new(master_base, pair[0], EV_READ | EV_PERSIST,
				proc_status_cb, proc);
    event_add(proc->status_ev, 0);
    proc->next = master_procs;
    master_procs = proc;
    serv->total++;
    serv->avail++;
    serv->used = 1;
    if (msg_verbose)
	msg_info("spawn: %s pid %ld", serv->path, (long) pid);
    master_serv_update_watch(serv);
}

static void proc_detach(MASTER_PROC *proc)
{
    MASTER_SERV *serv = proc->serv;

    if (serv) {
	serv->total--;
	if (proc->avail)
	    serv->avail--;
	proc->serv = 0;
    }
    if (proc->status_ev) {
	event_free(proc->status_ev);
	proc->status_ev = 0;
    }
    if (proc->status_fd >= 0) {
	(void) close(proc->status_fd);
	proc->status_fd = -1;
    }
}

void    master_reap(void)
{
    pid_t   pid;
    int     status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
	MASTER_PROC **pp, *proc;
	MASTER_SERV *serv;
	int     startup_failure = 0;

	for (pp = &master_procs; (proc = *pp) != 0; pp = &proc->next)
	    if (proc->pid == pid)
		break;
	if (proc == 0)
	    continue;				/* not ours (e.g. daemonizing) */
	*pp = proc->next;
	/* Status bytes sent before it died count (e.g. it did serve). */
	if (proc->status_fd >= 0) {
	    char    buf[64];
	    ssize_t n;

	    while ((n = read(proc->status_fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
		    master_proc_status(proc, buf[i]);
	}
	serv = proc->serv;
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
	    msg_warn("process %s pid %ld exit status %d", proc->path,
		     (long) pid, WEXITSTATUS(status));
	    startup_failure = 1;
	} else if (WIFSIGNALED(status) && !master_stopping) {
	    msg_warn("process %s pid %ld killed by signal %d", proc->path,
		     (long) pid, WTERMSIG(status));
	    /* An administrator's kill is no startup failure. */
	    startup_failure = (WTERMSIG(status) != SIGKILL
			       && WTERMSIG(status) != SIGTERM);
	}
	proc_detach(proc);
	if (serv && startup_failure && proc->use_count == 0 && !serv->throttled
	    && !master_stopping) {
	    msg_warn("%s: bad command startup -- throttling", proc->path);
	    master_serv_throttle(serv);
	}
	if (serv) {
	    master_serv_update_watch(serv);
	} else if (!master_stopping) {
	    /* A retired process no longer counts against the new limit. */
	    for (MASTER_SERV *s = master_services; s; s = s->next)
		if (strcmp(s->key, proc->key) == 0)
		    master_serv_update_watch(s);
	}
	free(proc->path);
	free(proc->key);
	free(proc);
    }
}

void    master_retire_all(void)
{
    for (MASTER_PROC *proc = master_procs; proc; proc = proc->next) {
	MASTER_SERV *serv = proc->serv;

	proc_detach(proc);
	if (serv)
	    master_serv_update_watch(serv);
    }
}

void    master_signal_all(int sig)
{
    for (MASTER_PROC *proc = master_procs; proc; proc = proc->next)
	(void) kill(proc->pid, sig);
}
