/*
 * mail_conf - main.cf: reading, $name expansion, typed access.
 *
 * Precedence for a name's raw value: -o override (mail_conf_override),
 * then main.cf, then the table default (mail_params.def; dynamic
 * defaults such as myhostname are computed on first use). Values are
 * expanded at time of use (mail_conf_str and friends), never when read.
 *
 * The configuration directory is, in order: mail_conf_set_dir() (the -c
 * option), $MAIL_CONFIG, DEF_CONFIG_DIR (/etc/postfix).
 */
#ifndef POSTERN_MAIL_CONF_H
#define POSTERN_MAIL_CONF_H

#include "htable.h"
#include "mail_params.h"

#ifndef DEF_CONFIG_DIR
#define DEF_CONFIG_DIR	"/etc/postfix"
#endif

extern void mail_conf_set_dir(const char *dir);
extern const char *mail_conf_dir(void);
extern void mail_conf_read(void);		/* fatal if main.cf unreadable */
extern int mail_conf_read_opt(int must_exist);	/* 0 ok, -1 missing */
extern void mail_conf_override(const char *name, const char *value);
extern const char *mail_conf_path(void);	/* DIR/main.cf */

/* Raw (unexpanded) value: override, main.cf, default; NULL if unknown. */
extern const char *mail_conf_raw(const char *name);
/* Raw value from main.cf (or override) only; NULL if not set there. */
extern const char *mail_conf_explicit(const char *name);
/* Default value text (as postconf -d prints it); NULL if unknown. */
extern const char *mail_conf_default(const char *name);
/* Expand a value's $names; caller frees. */
extern char *mail_conf_eval(const char *value);

/* Typed, expanded, validated access (fatal on a bad value). Cached. */
extern const char *mail_conf_str(const char *name);
extern long mail_conf_int(const char *name);
extern int mail_conf_bool(const char *name);
extern long mail_conf_time(const char *name);	/* seconds */

/* Parse a time value with a default unit; 0 ok, -1 bad. */
extern int conf_parse_time(const char *value, const char *unit, long *seconds);
extern int conf_parse_bool(const char *value, int *result);

/* main.cf as read: name -> value, and names in file order. */
extern HTABLE *mail_conf_table(void);
extern const char *const *mail_conf_names(void);	/* NULL-terminated */

#endif
