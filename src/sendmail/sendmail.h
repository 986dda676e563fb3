/* sendmail - internal interfaces between sendmail.c and sendmail_smtp.c. */
#ifndef POSTERN_SENDMAIL_H
#define POSTERN_SENDMAIL_H
#include <stdio.h>
#include <sys/types.h>

#include "argv.h"

typedef struct SENDMAIL_ENV {
    const char *sender;
    const char *fullname;
    ARGV   *rcpt;
    int     extract;			/* -t */
    int     notify;			/* -N mask */
    int     ret;			/* -R: 1 full, 2 hdrs */
    const char *envid;			/* -V */
    const char *encoding;		/* -B */
    int     trace_flags;		/* -bv: 512 (verify), -v: 1024 (record) */
} SENDMAIL_ENV;

extern FILE *sendmail_postdrop_open(pid_t *pid, int want_id, int *id_fd);
extern int sendmail_postdrop_close(FILE *fp, pid_t pid);
extern void sendmail_envelope(FILE *fp, const SENDMAIL_ENV *env);
extern void sendmail_add_rcpts(ARGV *rcpt, const char *arg);
extern int sendmail_smtp(const SENDMAIL_ENV *defaults);

#endif
