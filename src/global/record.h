/*
 * record - typed records, the unit of a queue file.
 *
 * A record is one type byte, its length as a base-128 varint (7 bits per
 * byte, least significant first, high bit set on all but the last byte),
 * then that many data bytes. See docs/queue-format.md for the record
 * types (rec_type.h) and their order in a queue file.
 */
#ifndef POSTERN_RECORD_H
#define POSTERN_RECORD_H
#include <stdio.h>
#include <sys/types.h>

#include "vstr.h"

#define REC_EOF		(-1)	/* clean end of file */
#define REC_ERROR	(-2)	/* I/O error, truncated or oversized record */

/* Append a record to a stdio stream; returns type, or REC_ERROR. */
extern int rec_put(FILE *fp, int type, const void *data, size_t len);
extern int rec_fputs(FILE *fp, int type, const char *str);
extern int rec_fprintf(FILE *fp, int type, const char *fmt,...) __attribute__((format(printf, 3, 4)));
/* Encode a record into a buffer (for batched writes). */
extern void rec_encode(VSTR *out, int type, const void *data, size_t len);

/*
 * Read the next record into buf (NUL-terminated, len in vstr_len);
 * records longer than limit fail with REC_ERROR. Returns the type,
 * REC_EOF or REC_ERROR.
 */
extern int rec_get(FILE *fp, VSTR *buf, size_t limit);
/* Same, from memory: *pos advances; returns type, REC_EOF, REC_ERROR. */
extern int rec_get_mem(const char *data, size_t len, size_t *pos, VSTR *buf, size_t limit);

#endif
