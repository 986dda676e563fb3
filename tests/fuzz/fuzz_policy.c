/*
 * fuzz_policy - libFuzzer target: replies of a policy server
 * (check_policy_service, smtpd_policy_service.c) and the action they
 * carry (OK, REJECT text, DEFER_IF_PERMIT, PREPEND, FILTER, HOLD,
 * REDIRECT, restriction names ... as for access tables). The input is
 * what the policy server answers to every query; a fixed SMTP session
 * (smtpd_harness.h) asks at each stage. The server is a thread of this
 * process on a unix socket.
 *
 * FUZZ_OBJS: src/smtpd/smtpd_proto.o src/smtpd/smtpd_check.o src/smtpd/smtpd_anvil.o src/smtpd/smtpd_etrn.o src/smtpd/smtpd_io.o
 */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "smtpd_harness.h"

static uint8_t fz_reply[4096];	/* a copy: the server may answer late */
static size_t fz_reply_len;
static pthread_mutex_t fz_lock = PTHREAD_MUTEX_INITIALIZER;
static int fz_listen = -1;
static char spath[300];

static void fz_unlink(void)
{
    (void) unlink(spath);
}

/* The policy server: read a request up to the empty line, answer, close. */
static void *fz_server(void *arg)
{
    (void) arg;
    for (;;) {
	int     fd = accept(fz_listen, 0, 0);
	char    buf[8192];
	size_t  got = 0;
	ssize_t n;

	if (fd < 0)
	    continue;
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
	    got += (size_t) n;
	    buf[got] = 0;
	    if (strstr(buf, "\n\n"))
		break;
	}
	pthread_mutex_lock(&fz_lock);
	if (fz_reply_len > 0 && write(fd, fz_reply, fz_reply_len) < 0)
	    /* client gone */ ;
	pthread_mutex_unlock(&fz_lock);
	close(fd);
    }
    return (0);
}

static const char fz_session_text[] =
    "EHLO client.example\r\n"
    "MAIL FROM:<sender@example.com> SIZE=100\r\n"
    "RCPT TO:<rcpt@postern.test>\r\n"
    "RCPT TO:<other@virt.test>\r\n"
    "DATA\r\n"
    "Subject: policy\r\n"
    "\r\n"
    "body\r\n"
    ".\r\n"
    "VRFY postmaster\r\n"
    "ETRN postern.test\r\n"
    "QUIT\r\n";

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;

    if (!init) {
	struct sockaddr_un sun;
	pthread_t tid;
	char    more[2048];

	snprintf(spath, sizeof(spath), "/tmp/postern-fuzz-policy.%ld", (long) getpid());
	(void) unlink(spath);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", spath);
	if ((fz_listen = socket(AF_UNIX, SOCK_STREAM, 0)) < 0
	    || bind(fz_listen, (struct sockaddr *) &sun, sizeof(sun)) < 0
	    || listen(fz_listen, 16) < 0)
	    abort();
	if (pthread_create(&tid, 0, fz_server, 0) != 0)
	    abort();
	snprintf(more, sizeof(more),
		 "smtpd_client_restrictions = check_policy_service unix:%s\n"
		 "smtpd_helo_restrictions = check_policy_service unix:%s\n"
		 "smtpd_sender_restrictions = check_policy_service unix:%s\n"
		 "smtpd_recipient_restrictions = check_policy_service unix:%s, permit_mynetworks, reject\n"
		 "smtpd_data_restrictions = check_policy_service unix:%s\n"
		 "smtpd_end_of_data_restrictions = check_policy_service unix:%s\n"
		 "smtpd_etrn_restrictions = check_policy_service unix:%s\n"
		 "smtpd_policy_service_timeout = 5s\n",
		 spath, spath, spath, spath, spath, spath, spath);
	fz_init(more);
	msg_verbose = getenv("FUZZ_VERBOSE") != 0;
	atexit(fz_unlink);
	init = 1;
    }
    if (size > 4096)
	return (0);
    pthread_mutex_lock(&fz_lock);
    memcpy(fz_reply, data, size);
    fz_reply_len = size;
    pthread_mutex_unlock(&fz_lock);
    fz_session((const uint8_t *) fz_session_text, sizeof(fz_session_text) - 1);
    return (0);
}
