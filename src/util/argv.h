/* argv - a growable, NULL-terminated array of strings. */
#ifndef POSTERN_ARGV_H
#define POSTERN_ARGV_H
#include <stddef.h>

typedef struct ARGV {
    char  **argv;			/* NULL-terminated */
    size_t  argc;
    size_t  cap;
} ARGV;

extern ARGV *argv_alloc(size_t);
extern void argv_free(ARGV *);
extern void argv_add(ARGV *, const char *);	/* copies */
extern void argv_addn(ARGV *, const char *, size_t);
extern void argv_insert(ARGV *, size_t where, const char *);
extern void argv_delete(ARGV *, size_t where, size_t count);
extern void argv_truncate(ARGV *, size_t);
extern ARGV *argv_split(const char *, const char *delims);
extern void argv_split_append(ARGV *, const char *, const char *delims);
extern char *argv_join(const ARGV *, const char *sep);	/* caller frees */

#endif
