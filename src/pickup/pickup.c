/*
 * pickup - move locally submitted mail from maildrop into the incoming queue.
 *
 * Scans $queue_directory/maildrop at start, when poked through its
 * service socket (postdrop, master's wakeup timer) and every 60 seconds.
 * Each complete maildrop file (mode 0700, last record E; see
 * docs/queue-format.md) is checked record by record (maildrop is written
 * by untrusted users) and handed to the cleanup library, which writes a
 * durable incoming queue file with the Received: header
 * "by HOST (mail_name, from userid UID)", the missing headers, sendmail -t
 * recipient extraction and address completion. Only after that file is
 * on stable storage is the maildrop file removed. Logs
 * "ID: uid=UID from=<sender>" as Postfix does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "argv.h"
#include "cleanup.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "mem.h"
#include "msg.h"
#include "qcommit.h"
#include "rec_type.h"
#include "cleanup_policy.h"
#include "pickup.h"
#include "record.h"
#include "safe_file.h"
#include "stringops.h"

static struct event *pickup_timer;

static void pickup_scan(void)
{
    DIR    *dir;
    struct dirent *de;
    ARGV   *names = argv_alloc(16);
    int     moved = 0;

    if ((dir = opendir(MAIL_QUEUE_MAILDROP)) == 0) {
	msg_warn("opendir %s: %m", MAIL_QUEUE_MAILDROP);
	argv_free(names);
	return;
    }
    while ((de = readdir(dir)) != 0)
	if (mail_queue_id_ok(de->d_name))
	    argv_add(names, de->d_name);
    closedir(dir);
    for (size_t i = 0; i < names->argc; i++)
	if (pickup_file(names->argv[i]) == PICKUP_OK)
	    moved++;
    argv_free(names);
    if (moved)
	qcommit_notify_qmgr();
}

static void pickup_wakeup(const char *service)
{
    pickup_scan();
}

static void pickup_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct timeval tv = {60, 0};

    pickup_scan();
    evtimer_add(pickup_timer, &tv);
}

static void pickup_post_init(const char *service, int argc, char **argv)
{
    struct timeval tv = {0, 0};

    mail_queue_chdir();
    cleanup_policy_init();		/* canonical, virtual, header/body checks */
    pickup_timer = evtimer_new(mail_server_base(), pickup_timer_cb, 0);
    evtimer_add(pickup_timer, &tv);		/* scan at start */
}

int     main(int argc, char **argv)
{
    static const MAIL_SERVER_CB cb = {
	.post_init = pickup_post_init,
	.on_wakeup = pickup_wakeup,
	.wakeup_on_accept = 1,
	.max_clients = 1,
    };

    mail_server_main(argc, argv, &cb);
}
