/*
 * error - the error/retry delivery agent (Postfix's error(8)).
 *
 * Every recipient of a request fails with the nexthop text of the
 * transport: "error:5.1.1 User unknown" bounces with dsn=5.1.1 and reason
 * "User unknown"; text without an X.Y.Z code bounces with 5.0.0. Run as
 * the "retry" service (master.cf "retry unix ... error"), recipients are
 * deferred instead (4.X.X). Logs "relay=none".
 */
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "deliver_request.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "msg.h"

static int error_retry_mode;

static int dsn_code(const char *s)
{
    /* X.Y.Z with X in 2,4,5, Y 1-3 digits, Z 1-3 digits, then space/end. */
    const char *cp = s;
    int     n;

    if (*cp != '2' && *cp != '4' && *cp != '5')
	return (0);
    cp++;
    for (int part = 0; part < 2; part++) {
	if (*cp++ != '.')
	    return (0);
	for (n = 0; isdigit((unsigned char) *cp); cp++)
	    n++;
	if (n < 1 || n > 3)
	    return (0);
    }
    if (*cp && *cp != ' ' && *cp != '\t')
	return (0);
    return ((int) (cp - s));
}

static int error_deliver(DELIVER_REQUEST *req)
{
    int     status = DEL_STAT_OK;
    char    code[16];
    const char *reason;
    int     n;

    if ((n = dsn_code(req->nexthop)) > 0) {
	(void) snprintf(code, sizeof(code), "%.*s", n, req->nexthop);
	reason = req->nexthop + n;
	while (*reason == ' ' || *reason == '\t')
	    reason++;
    } else {
	(void) snprintf(code, sizeof(code), "%s", error_retry_mode ? "4.0.0" : "5.0.0");
	reason = req->nexthop;
    }
    if (*reason == 0)
	reason = error_retry_mode ? "delivery temporarily suspended" : "unknown reason";
    if (error_retry_mode)
	code[0] = '4';
    for (size_t i = 0; i < req->rcpt_count; i++) {
	DSN     dsn = {.status = code,.reason = reason};

	if (error_retry_mode || code[0] == '4')
	    status |= deliver_defer(req, req->rcpt + i, "none", &dsn);
	else
	    status |= deliver_bounce(req, req->rcpt + i, "none", &dsn);
    }
    return (status);
}

static void error_accept(int fd, const char *service)
{
    deliver_request_serve(fd, error_deliver);
}

static void error_pre_init(const char *service, int argc, char **argv)
{
    error_retry_mode = (strcmp(service, "retry") == 0);
    mail_queue_chdir();
}

int     main(int argc, char **argv)
{
    static const MAIL_SERVER_CB cb = {
	.pre_init = error_pre_init,
	.stderr_standalone = 1,
	.on_accept = error_accept,
	.max_clients = 1,
	.idle_exit = 1,
    };

    mail_server_main(argc, argv, &cb);
}
