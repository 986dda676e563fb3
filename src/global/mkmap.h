/*
 * mkmap - build a table from its source file, as postmap and postalias do.
 *
 * mkmap_build("hash", "/etc/postfix/access", MKMAP_POSTMAP, flags) reads
 * the source (postmap's "key whitespace value" format, or aliases(5) for
 * MKMAP_ALIAS), writes the indexed file atomically (temporary file, fsync,
 * rename), and warns about bad lines and duplicates exactly as Postfix
 * does. Fatal errors (no source file, type that cannot be built) exit.
 *
 * mkmap_update_stdin() is "postmap -i": entries from standard input are
 * added to the existing table in place (under an exclusive lock).
 */
#ifndef POSTERN_MKMAP_H
#define POSTERN_MKMAP_H

#include <stdio.h>

#include "vstr.h"

#define MKMAP_POSTMAP	0
#define MKMAP_ALIAS	1
#define MKMAP_RHS_FILE	(1<<4)	/* or'ed in: -F, values name files (base64) */

/* Options (bit mask). */
#define MKMAP_OPT_NO_PERM_INHERIT	(1<<0)	/* -p */
#define MKMAP_OPT_KEEP_ROOT		(1<<1)	/* -o */

extern int mkmap_can_build(const char *type);
extern void mkmap_build(const char *type, const char *path, int syntax,
			        int dict_flags, int options);
extern void mkmap_update_stdin(const char *type, const char *path, int syntax,
			               int dict_flags);
/* Parse one entry from a source stream and store it; used by both. */
extern void mkmap_load(void *dict, FILE *fp, const char *src_name, int syntax);

/* -F: read the files a value names, joined by newlines, base64-encoded. */
extern int mkmap_file_value(VSTR *out, const char *value, VSTR *why);
/* Decode base64 (-F output); -1 when it is not valid base64. */
extern int mkmap_base64_decode(VSTR *out, const char *in);

/*
 * alias_rebuild_all() - what newaliases (sendmail -bi, sendmail -I) does:
 * rebuild every table listed in $alias_database. Requires mail_conf_read().
 * Returns the number of tables rebuilt.
 */
extern int alias_rebuild_all(void);

#endif
