/*
 * sys_exits - <sysexits.h> exit statuses mapped to the DSN status and text
 * Postfix reports ("user unknown", 5.1.1 for EX_NOUSER, ...).
 */
#ifndef POSTERN_SYS_EXITS_H
#define POSTERN_SYS_EXITS_H

typedef struct SYS_EXITS_DETAIL {
    int     status;
    const char *dsn;			/* "5.1.1" */
    const char *text;			/* "user unknown" */
} SYS_EXITS_DETAIL;

/* NULL when status is not a sysexits code (64..78). */
extern const SYS_EXITS_DETAIL *sys_exits_detail(int status);
extern int sys_exits_softerror(int status);	/* EX_TEMPFAIL, EX_OSERR */

#endif
