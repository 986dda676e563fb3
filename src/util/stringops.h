/* stringops - small string helpers (no mail knowledge). */
#ifndef POSTERN_STRINGOPS_H
#define POSTERN_STRINGOPS_H
#include <stddef.h>

#define BLANKS		" \t"
#define SPACES		" \t\r\n"
#define CHARS_COMMA_SP	", \t\r\n"

/* Destructive tokenizer: returns next token, advances *bufp, NULL at end. */
extern char *mystrtok(char **bufp, const char *delims);
/*
 * Like mystrtok, but {...} groups (with nesting) are one token, as in
 * Postfix's configuration lists. With strip_braces, the outer braces and
 * the white space just inside them are removed.
 */
extern char *mystrtok_cw(char **bufp, const char *delims, int strip_braces);
extern char *lowercase(char *);
extern char *uppercase(char *);
extern char *trimblanks(char *string, size_t len);	/* returns end */
extern char *trim(char *);		/* strip leading+trailing space in place */
extern int alldig(const char *);
extern int allprint(const char *);
/* Split "name = value": returns 0 and pointers into buf, or an error text. */
extern const char *split_nameval(char *buf, char **name, char **value);
/* Parse an unsigned decimal number with bounds; 0 on success, -1 on error. */
extern int parse_ulong(const char *, unsigned long max, unsigned long *result);
extern size_t safe_strlcpy(char *dst, const char *src, size_t size);

#endif
