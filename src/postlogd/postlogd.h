/*
 * postlogd.h - the postlog service's datagram handling (postlogd_dgram.c),
 * separate from the socket loop so that tests/fuzz/fuzz_postlogd.c can
 * feed it bytes.
 */
#ifndef POSTERN_POSTLOGD_H
#define POSTERN_POSTLOGD_H
#include <stddef.h>

#define POSTLOGD_BATCH	65536		/* bytes collected before a write */

/*
 * Add the lines of one received datagram (n bytes) to the output batch:
 * each line bounded by MSG_LOG_LINE_MAX, trailing CRs stripped, control
 * characters other than TAB replaced by '?', empty lines dropped; the
 * batch is written to log_fd when it reaches POSTLOGD_BATCH. log_fd < 0:
 * discard.
 */
extern void postlogd_datagram(const char *buf, size_t n, int log_fd);
/* Write the batch to log_fd (append) and empty it. */
extern void postlogd_flush(int log_fd);
#endif
