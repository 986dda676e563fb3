/*
 * fuzz_postlogd - libFuzzer target: postlogd's handling of received log
 * datagrams (src/postlogd/postlogd_dgram.c). Any local process can send
 * to the postlog socket, so the bytes are untrusted. The input is split
 * into datagrams at each 0xff byte (at most MSG_LOG_BATCH_MAX bytes each,
 * as recv() truncates); the output written to the log file must be lines
 * of at most MSG_LOG_LINE_MAX bytes without control characters but TAB.
 *
 * FUZZ_OBJS: src/postlogd/postlogd_dgram.o
 */
#include <sys/mman.h>

#include "fuzz_common.h"
#include "msg_log.h"
#include "postlogd/postlogd.h"

static void fz_check(int fd)
{
    static char buf[POSTLOGD_BATCH * 4];
    off_t   end = lseek(fd, 0, SEEK_END);
    ssize_t n;
    size_t  line = 0;

    if (end > (off_t) sizeof(buf))
	abort();
    n = pread(fd, buf, (size_t) end, 0);
    if (n != end)
	abort();
    for (ssize_t i = 0; i < n; i++) {
	unsigned char c = (unsigned char) buf[i];

	if (c == '\n') {
	    if (line == 0)
		abort();			/* empty line written */
	    line = 0;
	    continue;
	}
	if (c < 32 && c != '\t')
	    abort();				/* control character written */
	if (++line > MSG_LOG_LINE_MAX)
	    abort();				/* line over the limit */
    }
    if (line != 0)
	abort();				/* unterminated line */
    if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) != 0)
	abort();				/* (postlogd itself uses O_APPEND) */
}

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    const uint8_t *cp = data, *end = data + size;

    if (fd < 0) {
	fuzz_quiet("postlogd");
	if ((fd = memfd_create("fuzz_postlogd", 0)) < 0)
	    abort();
    }
    if (size > 3 * POSTLOGD_BATCH)
	return (0);
    while (cp < end) {
	const uint8_t *sep = memchr(cp, 0xff, (size_t) (end - cp));
	size_t  n = sep ? (size_t) (sep - cp) : (size_t) (end - cp);

	postlogd_datagram((const char *) cp, n > MSG_LOG_BATCH_MAX ? MSG_LOG_BATCH_MAX : n, fd);
	cp += n + (sep != 0);
    }
    postlogd_flush(fd);
    if (lseek(fd, 0, SEEK_END) > 0)
	fz_check(fd);
    return (0);
}
