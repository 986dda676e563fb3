/*
 * showq - the queue listing service (Postfix's showq(8)).
 *
 * Listens on public/showq (world-accessible) and runs as mail_owner, so
 * ordinary users get mailq/postqueue -p output without access to the
 * queue directory. Protocol: see src/global/showq.h.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "mail_queue.h"
#include "mail_server.h"
#include "msg.h"
#include "showq.h"

static void showq_accept(int fd, const char *service)
{
    char    req[8];
    ssize_t n;
    FILE   *out;
    int     format = SHOWQ_FORMAT_TEXT;

    mail_server_client_begin();
    (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    {
	struct timeval tv = {10, 0};

	(void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    n = read(fd, req, sizeof(req));
    if (n > 0 && req[0] == SHOWQ_FORMAT_JSON)
	format = SHOWQ_FORMAT_JSON;
    if ((out = fdopen(fd, "w")) == 0) {
	(void) close(fd);
    } else {
	(void) showq_list(out, format);
	(void) fclose(out);
    }
    mail_server_client_end();
}

static void showq_pre_init(const char *service, int argc, char **argv)
{
    mail_queue_chdir();
}

int     main(int argc, char **argv)
{
    static const MAIL_SERVER_CB cb = {
	.pre_init = showq_pre_init,
	.on_accept = showq_accept,
	.max_clients = 1,
	.idle_exit = 1,
    };

    mail_server_main(argc, argv, &cb);
}
