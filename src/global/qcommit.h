/*
 * qcommit - group commit: make queue files durable in batches.
 *
 * A finished queue file (cleanup_finish) is handed to qcommit_add() with
 * a completion callback. All files added during one event-loop turn join
 * the waiting batch; a round takes every waiting file at once and fsyncs
 * each file and each distinct directory once, concurrently (while a round
 * runs, the next batch accumulates: group commit). The event-loop thread
 * submits a round's fsyncs through io_uring; where io_uring is not
 * available, a committer thread and helper threads run them. When a round
 * is on stable storage, the callbacks run in the event-loop thread, in
 * order, with err = 0 (durable) or an errno value. Only then may the
 * caller acknowledge (SMTP 250). qmgr is then notified, at most once per
 * 10 ms (see qcommit_notify_qmgr). docs/smtpd.md explains why the fsyncs
 * suffice.
 */
#ifndef POSTERN_QCOMMIT_H
#define POSTERN_QCOMMIT_H
#include <event2/event.h>

typedef void (*QCOMMIT_FN) (void *context, int err);

extern void qcommit_init(struct event_base *base, int threads);
/* fd stays owned by the caller; dir is the file's directory (copied). */
extern void qcommit_add(int fd, const char *dir, QCOMMIT_FN fn, void *context);
/* Poke $queue_directory/public/qmgr with 'A' (if it exists; never blocks). */
extern void qcommit_notify_qmgr(void);

#endif
