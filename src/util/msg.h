/*
 * msg - diagnostics with Postfix's severities and line format.
 *
 * msg_info    informational (logged, not printed to stderr by commands
 *             unless verbose or stderr is the only output)
 * msg_warn    "warning: text"
 * msg_error   "error: text"  (counted; msg_error_count())
 * msg_fatal   "fatal: text", then exit(1): bad configuration or environment
 * msg_panic   "panic: text", then abort(): our own bug
 *
 * Output goes to every registered output. msg_init() registers stderr as
 * "progname: severity: text" (the format of Postfix's commands). The
 * logging module (src/util/msg_log.c) adds syslog or a maillog file in the
 * "Mon DD HH:MM:SS host syslog_name/service[pid]: text" format.
 */
#ifndef POSTERN_MSG_H
#define POSTERN_MSG_H
#include <stdarg.h>

enum msg_level { MSG_INFO, MSG_WARN, MSG_ERROR, MSG_FATAL, MSG_PANIC };

typedef void (*MSG_OUTPUT_FN) (int level, const char *text);

extern void msg_init(const char *progname, int to_stderr);
extern const char *msg_progname(void);
extern void msg_output_add(MSG_OUTPUT_FN);
extern void msg_stderr_enable(int);		/* on/off */
extern void msg_cleanup_set(void (*)(void));	/* run before fatal exit */
extern int msg_verbose;
extern const char *msg_severity_name(int level);	/* "warning" etc., "" for info */

extern void msg_info(const char *,...) __attribute__((format(printf, 1, 2)));
extern void msg_warn(const char *,...) __attribute__((format(printf, 1, 2)));
extern void msg_error(const char *,...) __attribute__((format(printf, 1, 2)));
extern void msg_fatal(const char *,...) __attribute__((format(printf, 1, 2), noreturn));
extern void msg_fatal_status(int, const char *,...) __attribute__((format(printf, 2, 3), noreturn));
extern void msg_panic(const char *,...) __attribute__((format(printf, 1, 2), noreturn));
extern void msg_vprintf(int level, const char *, va_list);
extern int msg_error_count(void);

#endif
