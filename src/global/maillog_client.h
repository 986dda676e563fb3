/*
 * maillog_client - where a postern program's log lines go (main.cf driven).
 *
 * maillog_client_init(name, flags) is called once main.cf has been read.
 * The tag is "$syslog_name/NAME" (or "$syslog_name" when NAME is NULL), the
 * host the first label of $myhostname.
 *
 * - maillog_file empty: syslog(3) with $syslog_facility.
 * - maillog_file set: it must start with one of $maillog_file_prefixes
 *   (else fatal, as in Postfix). Then:
 *   MAILLOG_DIRECT   append to the file directly (master, postlogd);
 *   default          send each line to the postlog service, the unix-dgram
 *                    socket $queue_directory/public/$postlog_service_name;
 *   MAILLOG_FALLBACK also append directly when the postlog service is not
 *                    reachable and this process may open the file (the
 *                    postfix and postlog commands, services run by the
 *                    instance owner).
 */
#ifndef POSTERN_MAILLOG_CLIENT_H
#define POSTERN_MAILLOG_CLIENT_H

#define MAILLOG_DIRECT		(1<<0)
#define MAILLOG_FALLBACK	(1<<1)

extern void maillog_client_init(const char *name, int flags);
/* Tag for NAME as maillog_client_init computes it; caller frees. */
extern char *maillog_client_tag(const char *name);
/* Path of the postlog socket; caller frees. */
extern char *maillog_client_socket(void);

#endif
