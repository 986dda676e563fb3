/* postfix - the control command; postfix_check.c: check, set-permissions. */
#ifndef POSTERN_POSTFIX_H
#define POSTERN_POSTFIX_H

/* Create missing queue directories, warn about ownership/modes/files. */
extern void postfix_check(int programs);	/* programs: also missing programs */
/* Fatal when master.cf is bad (before reload). */
extern void postfix_check_syntax(void);
/* Fix ownership (root) and modes of the queue and data directories. */
extern void postfix_set_permissions(void);

#endif
