/*
 * mail_trigger - wake up a service such as qmgr: write a few request bytes
 * to $queue_directory/public/NAME or private/NAME, whether master made it
 * a unix stream socket (connect, write, close) or a FIFO (Postfix's
 * master.cf "qmgr fifo": open non-blocking, write, close).
 * qmgr's requests: "A"/"I" new mail in incoming, "D" scan deferred,
 * "F" flush (retry all deferred mail now).
 */
#ifndef POSTERN_MAIL_TRIGGER_H
#define POSTERN_MAIL_TRIGGER_H

/* path: absolute or relative to the cwd; 0, or -1 with errno. */
extern int mail_trigger(const char *path, const char *request);

#endif
