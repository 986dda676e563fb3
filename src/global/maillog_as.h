/*
 * maillog_as - log one info line under another Postfix program's name.
 *
 * Work that Postfix does in separate daemons happens in-process in postern
 * (notices in qmgr, cleanup of forwarded mail in local); its log lines carry
 * the tag Postfix's would ("postfix/bounce[PID]: ...", "postfix/cleanup[PID]:
 * ..."), $syslog_name/PROG, with this process's ID.
 */
#ifndef POSTERN_MAILLOG_AS_H
#define POSTERN_MAILLOG_AS_H

extern void maillog_as(const char *prog, const char *fmt,...)
		__attribute__((format(printf, 2, 3)));

#endif
