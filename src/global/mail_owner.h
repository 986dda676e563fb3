/*
 * mail_owner - the $mail_owner account: look it up (with Postfix's fatal
 * texts for an unknown or privileged account) and drop root privileges to
 * it. One implementation for master, the service skeleton and the
 * commands that work on the queue as its owner.
 */
#ifndef POSTERN_MAIL_OWNER_H
#define POSTERN_MAIL_OWNER_H
#include <pwd.h>

extern const struct passwd *mail_owner_lookup(void);	/* fatal on error */
extern void mail_owner_drop_privileges(void);		/* no-op unless root */

#endif
