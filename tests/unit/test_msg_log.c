/* Unit tests for src/util/msg_log (line format) and mac_expand's ${x?{a}:{b}}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "mac_expand.h"
#include "msg.h"
#include "msg_log.h"
#include "vstr.h"

static time_t local_time(int mon, int day, int h, int m, int s)
{
    struct tm tm = {0};

    tm.tm_year = 2026 - 1900;
    tm.tm_mon = mon;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = s;
    tm.tm_isdst = -1;
    return (mktime(&tm));
}

static void test_format_info_and_warning(void **state)
{
    VSTR   *vp = vstr_alloc(16);

    assert_string_equal(msg_log_format(vp, local_time(10, 21, 23, 26, 19), "mx",
				       "postfix/master", 5910, MSG_INFO,
				       "daemon started -- version 0.1, configuration /etc/postfix"),
	"Nov 21 23:26:19 mx postfix/master[5910]: daemon started -- version 0.1, "
			"configuration /etc/postfix");
    assert_string_equal(msg_log_format(vp, local_time(0, 5, 1, 2, 3), "h", "postfix/smtpd",
				       7, MSG_WARN, "x"),
			"Jan 05 01:02:03 h postfix/smtpd[7]: warning: x");
    assert_string_equal(msg_log_format(vp, local_time(0, 5, 1, 2, 3), "h", "t", 1,
				       MSG_FATAL, "y"),
			"Jan 05 01:02:03 h t[1]: fatal: y");
    vstr_free(vp);
}

static void test_format_long_text_is_bounded(void **state)
{
    VSTR   *vp = vstr_alloc(16);
    char   *big = malloc(3 * MSG_LOG_LINE_MAX);

    memset(big, 'a', 3 * MSG_LOG_LINE_MAX - 1);
    big[3 * MSG_LOG_LINE_MAX - 1] = 0;
    msg_log_format(vp, 0, "h", "t", 1, MSG_ERROR, big);
    assert_true(vstr_len(vp) <= MSG_LOG_LINE_MAX);
    assert_non_null(strstr(vstr_str(vp), "t[1]: error: aaaa"));
    free(big);
    vstr_free(vp);
}

static const char *lookup(const char *name, void *ctx)
{
    if (strcmp(name, "set") == 0)
	return ("yes");
    if (strcmp(name, "empty") == 0)
	return ("");
    return (0);
}

static void test_mac_expand_if_else(void **state)
{
    VSTR   *vp = vstr_alloc(16);

    assert_int_equal(mac_expand(vp, "${set?{A}:{B}}", lookup, 0, 0), 0);
    assert_string_equal(vstr_str(vp), "A");
    vstr_reset(vp);
    assert_int_equal(mac_expand(vp, "${unset?{A}:{B}}", lookup, 0, 0), 0);
    assert_string_equal(vstr_str(vp), "B");
    vstr_reset(vp);
    assert_int_equal(mac_expand(vp, "${empty?{$set}:{postfix}}", lookup, 0, 0), 0);
    assert_string_equal(vstr_str(vp), "postfix");
    vstr_reset(vp);
    assert_int_equal(mac_expand(vp, "${set?x}", lookup, 0, 0), 0);
    assert_string_equal(vstr_str(vp), "x");
    vstr_free(vp);
}

static int batch_arms;

static void batch_arm(void)
{
    batch_arms++;
}

/* Batched socket logging: one datagram per flush, lines sanitized. */
static void test_socket_batch(void **state)
{
    char    dir[] = "/tmp/test_msg_log.XXXXXX";
    char    path[64], buf[MSG_LOG_BATCH_MAX + 1];
    struct sockaddr_un sun;
    int     fd;
    ssize_t n;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/postlog", dir);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);

    msg_log_set_tag("postfix/test");
    msg_log_set_host("h.example");
    msg_log_socket(path, 0);
    msg_log_socket_batch(batch_arm);
    msg_info("one");
    msg_info("two\nthree");
    msg_warn("four");
    assert_int_equal(batch_arms, 1);
    assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
    msg_log_flush();
    n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = 0;
    assert_non_null(strstr(buf, "postfix/test["));
    assert_non_null(strstr(buf, "]: one\n"));
    assert_non_null(strstr(buf, "]: two?three\n"));
    assert_non_null(strstr(buf, "]: warning: four\n"));
    assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
    msg_log_socket_batch(0);
    msg_info("five");				/* unbatched: sent at once */
    n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = 0;
    assert_non_null(strstr(buf, "]: five"));
    close(fd);
    unlink(path);
    rmdir(dir);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_format_info_and_warning),
	cmocka_unit_test(test_format_long_text_is_bounded),
	cmocka_unit_test(test_mac_expand_if_else),
	cmocka_unit_test(test_socket_batch),
    };

    setenv("TZ", "UTC", 1);
    tzset();
    return (cmocka_run_group_tests(tests, 0, 0));
}
