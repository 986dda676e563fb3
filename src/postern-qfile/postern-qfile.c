/*
 * postern-qfile - write complete queue files directly (test and bench tool).
 *
 * postern-qfile [-c config_dir] [-q queue] [-f sender] [-t arrival_time]
 *	[-a name=value]... [-N notify_mask] [-O orig_rcpt] [-n count]
 *	recipient... < message
 *
 * Writes count (default 1) queue files with the message read from stdin
 * into queue (default incoming) and prints each queue ID. This is not
 * cleanup: no header processing. Used by tests and bench/queue.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mem.h"
#include "msg.h"
#include "qfile.h"
#include "vstr.h"

int     main(int argc, char **argv)
{
    const char *queue = MAIL_QUEUE_INCOMING;
    const char *sender = "";
    const char *orig = 0;
    ARGV   *attrs = argv_alloc(4);
    long    count = 1, when = 0;
    int     notify = 0, ch;
    VSTR   *content = vstr_alloc(4096), *id = vstr_alloc(32);
    char    buf[8192];
    ssize_t n;
    QFILE_POST post;

    msg_init("postern-qfile", 1);
    while ((ch = getopt(argc, argv, "a:c:f:n:N:O:q:t:")) != -1) {
	switch (ch) {
	case 'a':
	    argv_add(attrs, optarg);
	    break;
	case 'c':
	    mail_conf_set_dir(optarg);
	    break;
	case 'f':
	    sender = optarg;
	    break;
	case 'n':
	    count = atol(optarg);
	    break;
	case 'N':
	    notify = atoi(optarg);
	    break;
	case 'O':
	    orig = optarg;
	    break;
	case 'q':
	    queue = optarg;
	    break;
	case 't':
	    when = atol(optarg);
	    break;
	default:
	    msg_fatal("usage: postern-qfile [-c dir] [-q queue] [-f sender] [-t time] [-a name=value] [-N notify] [-O orig] [-n count] rcpt...");
	}
    }
    if (optind >= argc)
	msg_fatal("no recipients");
    mail_conf_read();
    mail_queue_chdir();
    while ((n = read(0, buf, sizeof(buf))) > 0)
	if (vstr_append(content, buf, n) < 0)
	    msg_fatal("message too large");
    memset(&post, 0, sizeof(post));
    post.arrival.tv_sec = when;
    post.sender = sender;
    post.attrs = (const char *const *) attrs->argv;
    post.rcpts = (const char *const *) argv + optind;
    {
	int     nr = argc - optind;
	const char **origs = xcalloc(nr + 1, sizeof(char *));
	int    *notes = xcalloc(nr + 1, sizeof(int));

	for (int i = 0; i < nr; i++) {
	    origs[i] = orig;
	    notes[i] = notify;
	}
	post.orig_rcpts = origs;
	post.notify = notes;
	post.content = vstr_str(content);
	post.content_len = vstr_len(content);
	for (long i = 0; i < count; i++) {
	    if (qfile_post(queue, &post, id) < 0)
		msg_fatal("write queue file: %m");
	    printf("%s\n", vstr_str(id));
	}
	free(origs);
	free(notes);
    }
    return (0);
}
