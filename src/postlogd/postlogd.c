/*
 * postlogd - the postlog service: writes maillog_file for every process.
 *
 * master.cf: postlog unix-dgram n - n - 1 postlogd
 *
 * Processes that log while maillog_file is set send each formatted log line
 * ("Mon DD HH:MM:SS host tag[pid]: text") as one datagram to
 * $queue_directory/public/$postlog_service_name. postlogd runs with the
 * privileges master gave it (root for a root instance: unpriv = n), so
 * services running as mail_owner can log to a file they cannot open.
 * A datagram holds one line, or several newline-terminated lines (clients
 * that batch, see msg_log_socket_batch; at most MSG_LOG_BATCH_MAX bytes).
 * Each line is bounded (MSG_LOG_LINE_MAX), stripped of a trailing CR and
 * control characters become '?'. Lines are collected while
 * more datagrams are queued (up to POSTLOGD_BATCH bytes) and appended with
 * one write(2) before postlogd waits again, so a burst of N lines costs one
 * write instead of N; every line is written before postlogd sleeps, so a
 * reader never waits for a line that postlogd has received. postlogd exits
 * when master closes the status channel (reload, stop) or on SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail_conf.h"
#include "master_args.h"
#include "mail_server.h"
#include "maillog_client.h"
#include "msg.h"
#include "msg_log.h"
#include "postlogd.h"
#include "stringops.h"

static volatile sig_atomic_t postlogd_done;

static void postlogd_sig(int sig)
{
    postlogd_done = 1;
}

static void usage(void)
{
    msg_fatal("usage: postlogd -n SERVICE -t unix-dgram [-c DIR] [-v] [-o name=value]");
}

int     main(int argc, char **argv)
{
    int     ch, log_fd, nfds = 0;
    const char *env, *file;
    char    buf[MSG_LOG_BATCH_MAX + 2];
    struct pollfd pfd[2];
    struct sigaction sa;

    msg_init(argv[0], isatty(2));
    argc = master_args_config(argc, argv);	/* "-c DIR" by hand; "-c" from master */
    while ((ch = getopt(argc, argv, "cn:o:t:uvlz")) != -1) {
	switch (ch) {
	case 'c':				/* chroot: not done by postern */
	    break;
	case 'o':{
		char   *name, *value;
		const char *err = split_nameval(optarg, &name, &value);

		if (err)
		    msg_fatal("bad -o option: %s", err);
		mail_conf_override(name, value);
		break;
	    }
	case 'v':
	    msg_verbose++;
	    break;
	case 'n':
	case 't':
	case 'u':
	case 'l':
	case 'z':
	    break;
	default:
	    usage();
	}
    }
    mail_conf_read();
    maillog_client_init("postlogd", MAILLOG_DIRECT);
    file = mail_conf_str("maillog_file");
    if (*file == 0) {
	/* Keep running and discard: exiting would make master respawn us. */
	msg_warn("maillog_file is not set: discarding log records sent to the %s service",
		 mail_conf_str("postlog_service_name"));
	log_fd = -1;
    } else if ((log_fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644)) < 0)
	msg_fatal("open %s: %m", file);
    if ((env = getenv("POSTERN_LISTEN_FDS")) == 0 || strcmp(env, "1") != 0)
	msg_fatal("postlogd: expected one unix-dgram listener from master");
    pfd[nfds].fd = MAIL_SERVER_LISTEN_FD;
    pfd[nfds++].events = POLLIN;
    if (fcntl(MAIL_SERVER_STATUS_FD, F_GETFD) >= 0) {
	pfd[nfds].fd = MAIL_SERVER_STATUS_FD;
	pfd[nfds++].events = POLLIN;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = postlogd_sig;
    (void) sigaction(SIGTERM, &sa, 0);
    (void) signal(SIGPIPE, SIG_IGN);
    (void) fcntl(MAIL_SERVER_LISTEN_FD, F_SETFL, O_NONBLOCK);
    while (!postlogd_done) {
	if (poll(pfd, (nfds_t) nfds, -1) < 0) {
	    if (errno == EINTR)
		continue;
	    msg_fatal("poll: %m");
	}
	if (nfds > 1 && pfd[1].revents) {
	    /* master closed the channel: drain what is queued, then exit. */
	    postlogd_done = 1;
	}
	for (;;) {
	    ssize_t n = recv(MAIL_SERVER_LISTEN_FD, buf, sizeof(buf) - 1, MSG_DONTWAIT | MSG_TRUNC);

	    if (n < 0)
		break;
	    if (n > (ssize_t) sizeof(buf) - 1)
		n = (ssize_t) sizeof(buf) - 1;
	    postlogd_datagram(buf, (size_t) n, log_fd);
	}
	postlogd_flush(log_fd);
    }
    postlogd_flush(log_fd);
    exit(0);
}
