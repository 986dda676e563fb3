/*
 * postdrop - put a message from the sendmail command into the maildrop queue.
 *
 *	postdrop [-rv] [-c config_dir]
 *
 * Reads a maildrop record stream (docs/queue-format.md, "Maildrop files")
 * on standard input, checks every record, and writes it to a new file
 * maildrop/ID: mode 0644 while being written, then E, fsync, mode 0744
 * (as Postfix: pickup, running as mail_owner, must read it; the
 * directory is not listable by others), fsync of the directory. Then it pokes the pickup service
 * ($queue_directory/public/pickup). Installed setgid $setgid_group so
 * that the maildrop directory need not be world-writable. Exit status 0
 * means the message is on stable storage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "mail_conf.h"
#include "mail_queue.h"
#include "maillog_client.h"
#include "msg.h"
#include "rec_type.h"
#include "record.h"
#include "safe_file.h"
#include "vstr.h"

static VSTR *pd_path;
static int pd_fd = -1;

static void pd_cleanup(void)
{
    if (pd_fd >= 0 && pd_path && vstr_len(pd_path)) {
	(void) unlink(vstr_str(pd_path));
	pd_fd = -1;
    }
}

static void pd_sig(int sig)
{
    pd_cleanup();
    _exit(EX_TEMPFAIL);
}

static void pd_trigger_pickup(void)
{
    struct sockaddr_un sun;
    int     fd;
    static const char path[] = "public/pickup";
    struct stat st;

    if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
	if ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0) {
	    (void) write(fd, "W", 1);
	    (void) close(fd);
	}
	return;
    }
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
	return;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, sizeof(path));
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0)
	(void) write(fd, "W", 1);
    (void) close(fd);
}

int     main(int argc, char **argv)
{
    int     ch, type, prev = 0;
    VSTR   *id, *buf, *out;
    FILE   *in = stdin;
    size_t  limit;
    int     seen_end = 0, stage = 0, print_id = 0;	/* 0 envelope, 1 content, 2 extracted */

    msg_init("postdrop", 1);
    umask(022);
    while ((ch = getopt(argc, argv, "c:rvQ")) != -1) {
	switch (ch) {
	case 'c':
	    mail_conf_set_dir(optarg);
	    break;
	case 'r':
	    break;
	case 'Q':				/* postern: print the queue ID (sendmail -bs) */
	    print_id = 1;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	default:
	    msg_fatal_status(EX_USAGE, "usage: postdrop [-rvQ] [-c config_dir]");
	}
    }
    mail_conf_read();
    maillog_client_init("postdrop", MAILLOG_FALLBACK);
    mail_queue_chdir();
    limit = (size_t) mail_conf_int("line_length_limit") + 4096;
    if (limit < (size_t) mail_conf_int("header_size_limit"))
	limit = (size_t) mail_conf_int("header_size_limit");

    signal(SIGHUP, pd_sig);
    signal(SIGINT, pd_sig);
    signal(SIGTERM, pd_sig);
    signal(SIGPIPE, SIG_IGN);
    msg_cleanup_set(pd_cleanup);

    id = vstr_alloc(32);
    pd_path = vstr_alloc(64);
    if ((pd_fd = mail_queue_create(MAIL_QUEUE_MAILDROP, 0644, id, pd_path)) < 0)
	msg_fatal_status(EX_TEMPFAIL, "create file %s/%s: %m", mail_conf_str("queue_directory"),
			 MAIL_QUEUE_MAILDROP);
    buf = vstr_alloc(256);
    out = vstr_alloc(65536);

    /* Copy records, allowing only what sendmail may say, in order. */
    while (!seen_end) {
	type = rec_get(in, buf, limit);
	if (type < 0) {
	    msg_warn("uid=%ld: unexpected EOF in data, record type %d length %ld",
		     (long) getuid(), type, (long) vstr_len(buf));
	    pd_cleanup();
	    exit(EX_TEMPFAIL);
	}
	switch (type) {
	case REC_TYPE_VERSION:
	case REC_TYPE_FULL:
	case REC_TYPE_FROM:
	case REC_TYPE_ATTR:
	case REC_TYPE_DSN_NOTIFY:
	case REC_TYPE_RCPT:
	    if (stage == 1)
		goto bad;
	    break;
	case REC_TYPE_MESG:
	    if (stage != 0)
		goto bad;
	    stage = 1;
	    break;
	case REC_TYPE_NORM:
	case REC_TYPE_CONT:
	    if (stage != 1)
		goto bad;
	    break;
	case REC_TYPE_XTRA:
	    if (stage != 1)
		goto bad;
	    stage = 2;
	    break;
	case REC_TYPE_END:
	    if (stage != 2)
		goto bad;
	    seen_end = 1;
	    break;
	default:
	    goto bad;
	}
	rec_encode(out, type, vstr_str(buf), vstr_len(buf));
	if (vstr_len(out) >= 60000 || seen_end) {
	    if (write(pd_fd, vstr_str(out), vstr_len(out)) != (ssize_t) vstr_len(out))
		msg_fatal_status(EX_TEMPFAIL, "write %s: %m", vstr_str(pd_path));
	    vstr_reset(out);
	}
	prev = type;
    }
    (void) prev;
    if (fchmod(pd_fd, 0744) < 0 || fsync(pd_fd) < 0 || fsync_name_of(pd_fd, vstr_str(pd_path)) < 0)
	msg_fatal_status(EX_TEMPFAIL, "%s: %m", vstr_str(pd_path));
    (void) close(pd_fd);
    pd_fd = -1;
    pd_trigger_pickup();
    if (print_id)
	printf("%s\n", vstr_str(id));
    exit(0);

bad:
    msg_warn("uid=%ld: unexpected record type: %d", (long) getuid(), type);
    pd_cleanup();
    exit(EX_DATAERR);
}
