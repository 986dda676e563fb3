/*
 * postconf - internal interfaces of the postconf command.
 *
 * postconf.c      options and dispatch
 * pc_print.c      Postfix's output line format (word-normalized, -f folding)
 * pc_main.c       main.cf parameters: the known set, printing, unused checks
 * pc_edit.c       in-place edits of main.cf and master.cf (-e -X -# -Me ...)
 * pc_master.c     master.cf display (-M -F -P)
 */
#ifndef POSTERN_POSTCONF_H
#define POSTERN_POSTCONF_H

#include "argv.h"
#include "htable.h"
#include "master_conf.h"
#include "vstr.h"

/* Display flags. */
#define PC_FLAG_DEFAULT		(1<<0)	/* -d */
#define PC_FLAG_NONDEFAULT	(1<<1)	/* -n */
#define PC_FLAG_HIDE_NAME	(1<<2)	/* -h */
#define PC_FLAG_HIDE_VALUE	(1<<3)	/* -H */
#define PC_FLAG_EXPAND		(1<<4)	/* -x */
#define PC_FLAG_FOLD		(1<<5)	/* -f */

extern int pc_flags;

/* -C parameter classes. */
#define PC_CLASS_BUILTIN	(1<<0)
#define PC_CLASS_SERVICE	(1<<1)
#define PC_CLASS_USER		(1<<2)
#define PC_CLASS_ALL		(PC_CLASS_BUILTIN | PC_CLASS_SERVICE | PC_CLASS_USER)
extern int pc_classes;
extern char *pc_override_names[];
extern int pc_override_count;

/* pc_print.c */
extern void pc_print_line(const char *head, const char *sep, const char *value);
extern void pc_print_words(VSTR *out, const char *head, const char *sep,
			           const char *value, int fold, const char *indent);

/* pc_main.c */
extern MASTER_CONF *pc_master;		/* master.cf as read (may be empty) */
extern void pc_read_master(int must_exist);
extern void pc_main_init(void);
extern const char *pc_param_raw(const char *name, int *known);
extern void pc_show_params(char **names, int count);
extern void pc_check_unused(void);
extern void pc_check_undefined(void);
extern void pc_check_master_unused(void);
extern char *pc_expand(const char *value);

/* pc_master.c */
extern void pc_show_master_entries(char **names, int count);
extern void pc_show_master_fields(char **names, int count);
extern void pc_show_master_params(char **names, int count);
extern char *pc_master_format(const MASTER_ENT *);	/* -Mf / edit format */

/* pc_edit.c */
#define PC_EDIT_SET	1		/* -e name=value */
#define PC_EDIT_REMOVE	2		/* -X name */
#define PC_EDIT_COMMENT	3		/* -# name */
extern void pc_edit_main(int mode, char **args, int count);
extern void pc_edit_master_entries(int mode, char **args, int count);
extern void pc_edit_master_fields(char **args, int count);
extern void pc_edit_master_params(int mode, char **args, int count);

#endif
