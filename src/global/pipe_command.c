/* pipe_command - external command delivery; see pipe_command.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sysexits.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"
#include "pipe_command.h"
#include "stringops.h"
#include "sys_exits.h"

#define PIPE_OUTPUT_LIMIT	2048	/* command output kept for the report */

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void child(const PIPE_CMD *cmd, int in_fd, int out_fd)
{
    ARGV   *args;
    ARGV   *envp = argv_alloc(10);
    char   *exp;
    char   *bp;
    char   *name;
    size_t  i;
    int     fd;

    setsid();
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
	_exit(EX_OSERR);
    for (fd = 3; fd < 256; fd++)
	close(fd);
    signal(SIGPIPE, SIG_DFL);
    if (geteuid() == 0 || getuid() == 0) {
	/* Become root fully first, then drop for good. */
	if (setuid(0) < 0 || setgid(cmd->gid) < 0 || setgroups(1, &cmd->gid) < 0
	    || setuid(cmd->uid) < 0) {
	    _exit(EX_OSERR);
	}
    }
    if (cmd->cwd && *cmd->cwd && chdir(cmd->cwd) < 0) {
	_exit(EX_TEMPFAIL);
    }
    argv_add(envp, "PATH=/usr/bin:/bin");
    exp = xstrdup(cmd->export_env ? cmd->export_env : "");
    bp = exp;
    while ((name = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	const char *val = getenv(name);
	VSTR   *vp;

	if (val == 0 || strcmp(name, "PATH") == 0)
	    continue;
	vp = vstr_alloc(100);
	vstr_fmt(vp, "%s=%s", name, val);
	argv_add(envp, vstr_str(vp));
	vstr_free(vp);
    }
    if (cmd->env)
	for (i = 0; i < cmd->env->argc; i++)
	    argv_add(envp, cmd->env->argv[i]);
    if (cmd->shell && *cmd->shell) {
	args = argv_split(cmd->shell, BLANKS);
	argv_add(args, "-c");
    } else {
	args = argv_alloc(4);
	argv_add(args, "/bin/sh");
	argv_add(args, "-c");
    }
    argv_add(args, cmd->command);
    execve(args->argv[0], args->argv, envp->argv);
    _exit(EX_OSERR);
}

/* Output text for a report: control characters become spaces. */
static void clean_output(VSTR *out)
{
    size_t  i;

    for (i = 0; i < out->len; i++)
	if (!isprint((unsigned char) out->data[i]))
	    out->data[i] = ' ';
}

/* Does the output start with an enhanced status code "d.ddd.ddd"? */
static int output_dsn(const char *text, char *dsn)
{
    const char *cp = text;
    size_t  n;

    while (*cp == ' ')
	cp++;
    if ((cp[0] != '2' && cp[0] != '4' && cp[0] != '5') || cp[1] != '.')
	return 0;
    n = 2;
    if (!isdigit((unsigned char) cp[n]))
	return 0;
    while (n < 6 && isdigit((unsigned char) cp[n]))
	n++;
    if (cp[n] != '.' || !isdigit((unsigned char) cp[n + 1]))
	return 0;
    n++;
    while (n < 12 && isdigit((unsigned char) cp[n]))
	n++;
    if (cp[n] != ' ' && cp[n] != 0)
	return 0;
    if (n >= 12)
	return 0;
    memcpy(dsn, cp, n);
    dsn[n] = 0;
    return 1;
}

int     pipe_command(const PIPE_CMD *cmd, VSTR *why, char *dsn)
{
    int     in_pipe[2];
    int     out_pipe[2];
    pid_t   pid;
    VSTR   *out = vstr_alloc(256);
    size_t  written = 0;
    long    deadline;
    int     timed_out = 0;
    int     status = 0;
    int     in_open = 1;
    int     out_open = 1;
    void    (*saved_pipe) (int);

    if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0) {
	safe_strlcpy(dsn, "4.3.0", 8);
	vstr_fmt(why, "create pipe: %s", strerror(errno));
	vstr_free(out);
	return PIPE_STAT_DEFER;
    }
    saved_pipe = signal(SIGPIPE, SIG_IGN);
    if ((pid = fork()) < 0) {
	safe_strlcpy(dsn, "4.3.0", 8);
	vstr_fmt(why, "fork: %s", strerror(errno));
	close(in_pipe[0]);
	close(in_pipe[1]);
	close(out_pipe[0]);
	close(out_pipe[1]);
	signal(SIGPIPE, saved_pipe);
	vstr_free(out);
	return PIPE_STAT_DEFER;
    }
    if (pid == 0)
	child(cmd, in_pipe[0], out_pipe[1]);
    close(in_pipe[0]);
    close(out_pipe[1]);
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    deadline = now_ms() + cmd->time_limit * 1000L;
    if (cmd->input_len == 0) {
	close(in_pipe[1]);
	in_open = 0;
    }
    while (out_open) {
	struct pollfd pfd[2];
	int     n = 0;
	int     in_idx = -1;
	long    left = deadline - now_ms();

	if (left <= 0) {
	    timed_out = 1;
	    kill(-pid, SIGKILL);
	    kill(pid, SIGKILL);
	    break;
	}
	pfd[n].fd = out_pipe[0];
	pfd[n].events = POLLIN;
	n++;
	if (in_open) {
	    in_idx = n;
	    pfd[n].fd = in_pipe[1];
	    pfd[n].events = POLLOUT;
	    n++;
	}
	if (poll(pfd, (nfds_t) n, (int) (left > 1000 ? 1000 : left)) < 0) {
	    if (errno == EINTR)
		continue;
	    break;
	}
	if (pfd[0].revents) {
	    char    buf[4096];
	    ssize_t got = read(out_pipe[0], buf, sizeof(buf));

	    if (got > 0) {
		size_t  room = out->len < PIPE_OUTPUT_LIMIT ? PIPE_OUTPUT_LIMIT - out->len : 0;

		vstr_append(out, buf, (size_t) got < room ? (size_t) got : room);
	    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
		out_open = 0;
	    }
	}
	if (in_idx >= 0 && pfd[in_idx].revents) {
	    ssize_t w = write(in_pipe[1], cmd->input + written, cmd->input_len - written);

	    if (w > 0)
		written += (size_t) w;
	    if ((w < 0 && errno != EAGAIN && errno != EINTR) || written >= cmd->input_len) {
		close(in_pipe[1]);
		in_open = 0;
	    }
	}
    }
    if (in_open)
	close(in_pipe[1]);
    close(out_pipe[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
	 /* void */ ;
    signal(SIGPIPE, saved_pipe);
    clean_output(out);
    vstr_trim_right(out);
    if (out->len)
	vstr_addch(out, ' ');			/* Postfix keeps the newline as a space */

    if (timed_out) {
	safe_strlcpy(dsn, "5.3.0", 8);
	vstr_fmt(why, "Command time limit exceeded: \"%s\"%s%s", cmd->command,
		 out->len ? ". Command output: " : "", vstr_str(out));
	vstr_free(out);
	return PIPE_STAT_BOUNCE;
    }
    if (WIFSIGNALED(status)) {
	safe_strlcpy(dsn, "4.3.0", 8);
	vstr_fmt(why, "Command died with signal %d: \"%s\"%s%s", WTERMSIG(status),
		 cmd->command, out->len ? ". Command output: " : "", vstr_str(out));
	vstr_free(out);
	return PIPE_STAT_DEFER;
    }
    if (WEXITSTATUS(status) == 0) {
	vstr_free(out);
	return PIPE_STAT_OK;
    } else {
	int     code = WEXITSTATUS(status);
	const SYS_EXITS_DETAIL *dp = sys_exits_detail(code);
	char    odsn[16];

	if (dp) {
	    safe_strlcpy(dsn, dp->dsn, 8);
	    vstr_fmt(why, "%s%s%s", dp->text, out->len ? ". Command output: " : "", vstr_str(out));
	} else {
	    safe_strlcpy(dsn, "5.3.0", 8);
	    vstr_fmt(why, "Command died with status %d: \"%s\"%s%s", code, cmd->command,
		     out->len ? ". Command output: " : "", vstr_str(out));
	}
	if (out->len && output_dsn(vstr_str(out), odsn) && odsn[0] != '2')
	    safe_strlcpy(dsn, odsn, 8);
	vstr_free(out);
	return dsn[0] == '4' ? PIPE_STAT_DEFER : PIPE_STAT_BOUNCE;
    }
}
