/*
 * discard - the discard delivery agent (Postfix's discard(8)).
 *
 * Accepts delivery requests from qmgr (docs/delivery-protocol.md) and
 * reports every recipient as delivered without delivering anything,
 * logging "status=sent (REASON)", where REASON is the nexthop text of
 * the transport ("discard:silently" -> "silently"), or "discarded".
 */
#include <unistd.h>

#include "deliver_request.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "msg.h"

static int discard_deliver(DELIVER_REQUEST *req)
{
    int     status = DEL_STAT_OK;

    for (size_t i = 0; i < req->rcpt_count; i++) {
	DSN     dsn = {.status = "2.0.0",
	.reason = *req->nexthop ? req->nexthop : "discarded"};

	status |= deliver_sent(req, req->rcpt + i, "none", &dsn);
    }
    return (status);
}

static void discard_accept(int fd, const char *service)
{
    deliver_request_serve(fd, discard_deliver);
}

static void discard_pre_init(const char *service, int argc, char **argv)
{
    mail_queue_chdir();
}

int     main(int argc, char **argv)
{
    static const MAIL_SERVER_CB cb = {
	.pre_init = discard_pre_init,
	.stderr_standalone = 1,
	.on_accept = discard_accept,
	.max_clients = 1,
	.idle_exit = 1,
    };

    mail_server_main(argc, argv, &cb);
}
