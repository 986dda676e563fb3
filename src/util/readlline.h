/*
 * readlline - read one logical line from a configuration-style file.
 *
 * A logical line starts with non-white-space text; every following line
 * that starts with white space continues it (the newline is dropped, the
 * leading white space kept). Blank lines and lines whose first non-space
 * character is '#' are skipped and do not end a logical line. Trailing
 * white space (and CR) is removed.
 *
 * *last_line is the caller's running count of physical lines read (start
 * at 0); *first_line receives the number of the logical line's first
 * physical line, for "file, line N" warnings. A logical line is bounded
 * at READLLINE_LIMIT bytes; excess is dropped and *truncated set.
 *
 * Returns buf, or NULL at end of file.
 */
#ifndef POSTERN_READLLINE_H
#define POSTERN_READLLINE_H
#include <stdio.h>

#include "vstr.h"

#define READLLINE_LIMIT	(1 << 20)

extern VSTR *readlline(VSTR *buf, FILE *fp, int *last_line, int *first_line);
/* Read one physical line (without the newline), bounded; NULL at EOF. */
extern VSTR *readline_bounded(VSTR *buf, FILE *fp, size_t limit, int *truncated);

#endif
