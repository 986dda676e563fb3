/* postlogd_dgram - one datagram to sanitized log lines; see postlogd.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "msg_log.h"
#include "postlogd.h"

static char postlogd_out[POSTLOGD_BATCH + MSG_LOG_LINE_MAX + 1];
static size_t postlogd_len;

void    postlogd_flush(int log_fd)
{
    size_t  off = 0;

    while (off < postlogd_len && log_fd >= 0) {
	ssize_t n = write(log_fd, postlogd_out + off, postlogd_len - off);

	if (n < 0 && errno == EINTR)
	    continue;
	if (n <= 0)
	    break;
	off += (size_t) n;
    }
    postlogd_len = 0;
}

void    postlogd_datagram(const char *buf, size_t n, int log_fd)
{
    const char *cp, *end, *nl;

    /* One line per datagram, or several newline-terminated ones. */
    for (cp = buf, end = buf + n; cp < end; cp = nl + 1) {
	size_t  len;

	if ((nl = memchr(cp, '\n', (size_t) (end - cp))) == 0)
	    nl = end;
	len = (size_t) (nl - cp);
	if (len > MSG_LOG_LINE_MAX)
	    len = MSG_LOG_LINE_MAX;
	while (len > 0 && cp[len - 1] == '\r')
	    len--;
	if (len == 0 || log_fd < 0)
	    continue;
	for (size_t i = 0; i < len; i++)
	    postlogd_out[postlogd_len++] =
		((unsigned char) cp[i] < 32 && cp[i] != '\t') ? '?' : cp[i];
	postlogd_out[postlogd_len++] = '\n';
	if (postlogd_len >= POSTLOGD_BATCH)
	    postlogd_flush(log_fd);
    }
}
