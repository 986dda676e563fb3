/*
 * test_mail_server - the service skeleton under master, end to end.
 *
 * Without arguments (tests/run): a cmocka test of the skeleton's endpoint
 * parsing. With service arguments ("-n NAME -t TYPE ..."), it is a
 * mail_server service that tests/e2e/test_mail_server.py runs from
 * master.cf: each client gets "msd SERVICE PID", every line is echoed,
 * each connection is logged ("connect from client" via msg_info, so the tag
 * shows syslog_name), "exit N" exits with status N. One client at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <cmocka.h>

#include "mail_conf.h"
#include "mail_server.h"
#include "msg.h"

static void msd_accept(int fd, const char *service)
{
    FILE   *fp;
    char    line[512];

    /* This test service blocks while serving: let SIGTERM end it then. */
    (void) signal(SIGTERM, SIG_DFL);
    mail_server_client_begin();
    msg_info("connect from client (%s)", mail_conf_str("smtpd_banner"));
    (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if ((fp = fdopen(fd, "r+")) == 0) {
	(void) close(fd);
	mail_server_client_end();
	return;
    }
    setvbuf(fp, 0, _IONBF, 0);
    fprintf(fp, "msd %s %ld\n", service, (long) getpid());
    while (fgets(line, sizeof(line), fp)) {
	if (strncmp(line, "exit ", 5) == 0)
	    exit(atoi(line + 5));
	fputs(line, fp);
    }
    (void) fclose(fp);
    msg_info("disconnect from client");
    mail_server_client_end();
}

static void msd_wakeup(const char *service)
{
    msg_info("wakeup");
}

static void test_listen_endpoint(void **state)
{
    int     fd = mail_server_listen("127.0.0.1:0", 5);

    assert_true(fd >= 0);
    (void) close(fd);
}

int     main(int argc, char **argv)
{
    static const MAIL_SERVER_CB cb = {
	.on_accept = msd_accept,
	.max_clients = 1,
    };
    static const MAIL_SERVER_CB cb_trigger = {
	.on_wakeup = msd_wakeup,
	.wakeup_on_accept = 1,
	.max_clients = 1,
    };
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_listen_endpoint),
    };

    /* Run by master ("[-l|-z] [-n NAME] -t TYPE ..."): service mode. */
    for (int i = 1; i < argc; i++) {
	if (strcmp(argv[i], "-t") == 0) {
	    for (int j = 1; j < argc; j++)
		if (strcmp(argv[j], "trigger") == 0)
		    mail_server_main(argc, argv, &cb_trigger);
	    mail_server_main(argc, argv, &cb);
	}
    }
    return (cmocka_run_group_tests(tests, 0, 0));
}
