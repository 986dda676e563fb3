/*
 * vstr - the one growable string type of postern.
 *
 * A VSTR always holds a NUL-terminated string (data[len] == 0), may hold
 * arbitrary bytes (including NUL) in data[0..len), and never grows past
 * its limit: every append that would exceed the limit fails with -1 and
 * leaves the string unchanged. The default limit is VSTR_DEFAULT_LIMIT;
 * callers reading from the outside world set an explicit, smaller one.
 *
 * Allocation failure is fatal (via msg_fatal), as everywhere in postern.
 */
#ifndef POSTERN_VSTR_H
#define POSTERN_VSTR_H

#include <stdarg.h>
#include <stddef.h>

#define VSTR_DEFAULT_LIMIT ((size_t)1 << 30)	/* 1 GiB hard ceiling */

typedef struct VSTR {
    char   *data;			/* always NUL-terminated */
    size_t  len;			/* bytes used, excluding the NUL */
    size_t  cap;			/* bytes allocated, including the NUL */
    size_t  limit;			/* maximal len */
} VSTR;

extern VSTR *vstr_alloc(size_t initial);
extern void vstr_free(VSTR *);
extern void vstr_set_limit(VSTR *, size_t limit);

/* All of these return 0 on success, -1 when the limit would be exceeded. */
extern int vstr_append(VSTR *, const void *, size_t);
extern int vstr_cat(VSTR *, const char *);
extern int vstr_cpy(VSTR *, const char *);
extern int vstr_ncpy(VSTR *, const void *, size_t);
extern int vstr_addch(VSTR *, int);
extern int vstr_fmt(VSTR *, const char *,...) __attribute__((format(printf, 2, 3)));
extern int vstr_fmt_append(VSTR *, const char *,...) __attribute__((format(printf, 2, 3)));
extern int vstr_vfmt_append(VSTR *, const char *, va_list);

extern void vstr_reset(VSTR *);
extern void vstr_truncate(VSTR *, size_t);
extern char *vstr_export(VSTR *);	/* take the buffer; frees the VSTR */
extern void vstr_lower(VSTR *);
extern void vstr_trim_right(VSTR *);	/* strip trailing white space */

#define vstr_str(vp)	((vp)->data)
#define vstr_len(vp)	((vp)->len)
#define vstr_end(vp)	((vp)->data + (vp)->len)
#define vstr_last(vp)	((vp)->len ? (unsigned char) (vp)->data[(vp)->len - 1] : -1)

#endif
