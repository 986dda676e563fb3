/*
 * msg_log - log lines in Postfix's format: "Mon DD HH:MM:SS host tag[pid]: text".
 *
 * Three sinks, any combination, each registered as a msg output (msg.h):
 *
 * msg_log_syslog()  syslog(3) with the tag and LOG_PID; syslog adds the
 *                   time stamp and host name itself.
 * msg_log_file()    append each line with one write(2) to a file opened
 *                   O_APPEND (the maillog_file; "/dev/stdout" works).
 * msg_log_socket()  send each formatted line as one datagram to a
 *                   unix-domain datagram socket (postlogd's). When the
 *                   send fails and a fallback file was given, the line is
 *                   appended to that file directly instead (if this process
 *                   may open it); otherwise the line is dropped.
 *
 * Severity prefixes are as in Postfix: info has none, others "warning: ",
 * "error: ", "fatal: ", "panic: ". The host is the first label of the name
 * given to msg_log_set_host(). The tag may be changed at any time (e.g. when
 * a service learns its syslog_name).
 */
#ifndef POSTERN_MSG_LOG_H
#define POSTERN_MSG_LOG_H
#include <stddef.h>
#include <time.h>

#include "vstr.h"

#define MSG_LOG_LINE_MAX	4096	/* longest line written or accepted */

extern void msg_log_set_tag(const char *tag);
extern const char *msg_log_tag(void);
extern void msg_log_set_host(const char *host);

/* 0 ok, -1 unknown facility name ("mail", "local0", ...). */
extern int msg_log_syslog(const char *facility);
/* 0 ok, -1 (errno set) when the file cannot be opened. */
extern int msg_log_file(const char *path);
/* Always succeeds; fallback_file may be NULL. */
extern void msg_log_socket(const char *socket_path, const char *fallback_file);

/*
 * Batching for the socket sink (event-driven daemons): after
 * msg_log_socket_batch(arm), lines are collected (each sanitized as postlogd
 * would, newline-terminated) into one datagram of at most
 * MSG_LOG_BATCH_MAX bytes. arm() is called when the first line of a batch
 * is collected; the caller then calls msg_log_flush() soon (mail_server
 * does it at the end of the current event-loop turn). Lines of severity
 * fatal/panic, fork(), exit() and a full batch flush at once.
 */
#define MSG_LOG_BATCH_MAX	16384
extern void msg_log_socket_batch(void (*arm)(void));
extern void msg_log_flush(void);

/* Append a line formatted elsewhere to the msg_log_file() file; -1 if none. */
extern int msg_log_file_raw(const char *line, size_t len);

/* Format one line (no newline) into buf; returns buf's text. */
extern const char *msg_log_format(VSTR *buf, time_t when, const char *host,
				          const char *tag, long pid, int level,
				          const char *text);
/* Append one already formatted line plus newline to fd (single write). */
extern int msg_log_write_line(int fd, const char *line, size_t len);

#endif
