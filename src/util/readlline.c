/* readlline - logical configuration lines; see readlline.h. */
#include <stdio.h>
#include <string.h>

#include "readlline.h"

VSTR   *readline_bounded(VSTR *buf, FILE *fp, size_t limit, int *truncated)
{
    int     ch;
    int     got = 0;

    vstr_reset(buf);
    if (truncated)
	*truncated = 0;
    while ((ch = getc(fp)) != EOF) {
	got = 1;
	if (ch == '\n')
	    break;
	if (vstr_len(buf) < limit)
	    (void) vstr_addch(buf, ch);
	else if (truncated)
	    *truncated = 1;
    }
    return (got ? buf : 0);
}

static int skip_line(const char *s)
{
    s += strspn(s, " \t\r\f\v");
    return (*s == 0 || *s == '#');
}

VSTR   *readlline(VSTR *buf, FILE *fp, int *last_line, int *first_line)
{
    VSTR   *line = vstr_alloc(256);
    int     ch;

    vstr_reset(buf);
    for (;;) {
	if (vstr_len(buf) > 0) {
	    /* Look ahead: only white space or a comment/blank continues. */
	    ch = getc(fp);
	    if (ch == EOF)
		break;
	    (void) ungetc(ch, fp);
	    if (ch != ' ' && ch != '\t' && ch != '#' && ch != '\n' && ch != '\r')
		break;
	}
	if (readline_bounded(line, fp, READLLINE_LIMIT, (int *) 0) == 0)
	    break;
	*last_line += 1;
	if (skip_line(vstr_str(line)))
	    continue;
	if (vstr_len(buf) == 0 && first_line)
	    *first_line = *last_line;
	if (vstr_len(buf) + vstr_len(line) <= READLLINE_LIMIT)
	    (void) vstr_append(buf, vstr_str(line), vstr_len(line));
	vstr_trim_right(buf);
    }
    vstr_free(line);
    return (vstr_len(buf) > 0 ? buf : 0);
}
