/*
 * pc_print - postconf's output lines.
 *
 * Values are printed as their white-space separated words joined by one
 * space (so continuation lines and runs of blanks in main.cf collapse, as
 * in Postfix). With -f, lines longer than 80 columns are folded at word
 * boundaries (also inside {} groups, as Postfix does); continuation lines
 * start with four spaces.
 */
#include <stdio.h>
#include <string.h>

#include "postconf.h"
#include "stringops.h"
#include "vstr.h"

#define PC_LINE_LIMIT	80

void    pc_print_words(VSTR *out, const char *head, const char *sep,
		               const char *value, int fold, const char *indent)
{
    size_t  line_start = vstr_len(out);
    size_t  indent_len = strlen(indent);
    int     need_space = (*head || *sep);
    const char *cp = value;

    (void) vstr_cat(out, head);
    (void) vstr_cat(out, sep);
    for (;;) {
	size_t  wlen, cur;
	const char *word;

	cp += strspn(cp, " \t\r\n\f\v");
	if (*cp == 0)
	    break;
	word = cp;
	wlen = strcspn(cp, " \t\r\n\f\v");
	cp += wlen;
	cur = vstr_len(out) - line_start;
	if (fold && cur > indent_len
	    && cur + (need_space ? 1 : 0) + wlen > PC_LINE_LIMIT) {
	    (void) vstr_addch(out, '\n');
	    line_start = vstr_len(out);
	    (void) vstr_cat(out, indent);
	} else if (need_space) {
	    (void) vstr_addch(out, ' ');
	}
	(void) vstr_append(out, word, wlen);
	need_space = 1;
    }
    (void) vstr_addch(out, '\n');
}

/* One "name = value" line (or name, or value, per -h/-H) on stdout. */
void    pc_print_line(const char *head, const char *sep, const char *value)
{
    VSTR   *out = vstr_alloc(256);

    pc_print_words(out, head, sep, value, pc_flags & PC_FLAG_FOLD, "    ");
    (void) fwrite(vstr_str(out), 1, vstr_len(out), stdout);
    vstr_free(out);
}
