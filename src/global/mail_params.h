/*
 * mail_params - the table of every main.cf parameter (mail_params.def).
 *
 * Each parameter is declared exactly once, in mail_params.def, with its
 * name, type, default (the text `postconf -d` prints), default time unit,
 * numeric bounds (min, max; enforced when PF_BMIN / PF_BMAX is set) and flags.
 */
#ifndef POSTERN_MAIL_PARAMS_H
#define POSTERN_MAIL_PARAMS_H

typedef enum { PT_STR, PT_INT, PT_BOOL, PT_TIME } PARAM_TYPE;

#define PF_DYNAMIC	(1<<0)	/* default computed at run time */
#define PF_RAW		(1<<1)	/* value is never $-expanded */
#define PF_IMPL		(1<<2)	/* implemented by postern */
#define PF_BMIN		(1<<3)	/* min is enforced */
#define PF_BMAX		(1<<4)	/* max is enforced */
#define PF_OWN		(1<<5)	/* postern's own (not Postfix's): left out of full
				 * postconf listings, shown when named or set */

typedef struct PARAM_DEF {
    const char *name;
    PARAM_TYPE type;
    const char *defval;
    const char *unit;		/* default time unit, TIME only */
    long    min;
    long    max;
    int     flags;
} PARAM_DEF;

extern const PARAM_DEF mail_param_table[];
extern const int mail_param_count;
extern const PARAM_DEF *mail_param_find(const char *name);

#endif
