/*
 * dict_src - reading table source files (postmap, postalias, texthash).
 *
 * dict_src_read() returns the next logical line: a line that starts with
 * non-white-space text, joined with the following lines that start with
 * white space (their leading white space kept). Blank lines and lines
 * whose first non-space character is '#' are skipped and do not end a
 * logical line. A logical line that starts with white space is reported
 * ("FILE: logical line must not start with whitespace: \"text\"") and
 * skipped, as Postfix does. Each line is bounded (DICT_SRC_LIMIT).
 *
 * dict_src_split() splits "key whitespace value" in place (postmap's
 * format); dict_src_split_alias() splits aliases(5) "name: value".
 */
#ifndef POSTERN_DICT_SRC_H
#define POSTERN_DICT_SRC_H
#include <stdio.h>

#include "vstr.h"

#define DICT_SRC_LIMIT	(1 << 20)

typedef struct DICT_SRC {
    FILE   *fp;
    char   *path;			/* for messages */
    int     last_line;			/* physical lines read */
    int     lineno;			/* first line of the current logical line */
    VSTR   *line;			/* current logical line */
    VSTR   *phys;			/* look-ahead physical line */
    int     have_phys;
    int     phys_truncated;
} DICT_SRC;

extern DICT_SRC *dict_src_open(const char *path, FILE *fp);	/* fp may be stdin */
extern char *dict_src_read(DICT_SRC *);		/* NULL at EOF */
extern void dict_src_close(DICT_SRC *);		/* does not fclose stdin */

/*
 * "key whitespace value": 0 ok, -1 no value, DICT_SRC_UNBALANCED for a
 * '"' without its partner (the key may contain "quoted text", kept as is).
 * The caller warns; the line is copied first for the message if needed.
 */
#define DICT_SRC_UNBALANCED	(-2)
extern int dict_src_split(char *line, char **key, char **value);
/* text with control characters shown as '?' (for quoting a source line). */
extern const char *dict_src_printable(VSTR *buf, const char *text);
/* aliases(5) "name: value" with "quoted name": 0 ok, -1 bad. */
extern int dict_src_split_alias(char *line, char **key, char **value);

/* Normalize an alias value as postalias stores it (RFC 822 tokens). */
extern void dict_src_alias_value(VSTR *out, const char *value);

#endif
