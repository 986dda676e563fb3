/*
 * attr - the IPC attribute protocol between postern processes.
 *
 * One request or reply is an ordered list of name=value attributes. On the
 * wire (unix-domain stream sockets) each attribute is one line
 *
 *	name=value\n
 *
 * and an empty line ends the list. Names are [A-Za-z0-9_.-]+. In values,
 * the bytes '%', '\n', '\r', NUL and other control bytes are written as
 * %XX (two upper-case hex digits); readers decode them. Every read is
 * bounded: at most ATTR_MAX_LINE bytes per line (after encoding) and
 * max_count attributes per list; longer input is a protocol error, as is
 * a malformed line. Names may repeat (a delivery request repeats the
 * recipient attributes); lookups return the first match.
 *
 * Blocking I/O with a timeout goes through an ATTR_STREAM (buffered reads);
 * event-driven callers use attr_encode() and feed received lines to
 * attr_parse_line().
 */
#ifndef POSTERN_ATTR_H
#define POSTERN_ATTR_H
#include <stddef.h>

#include "vstr.h"

#define ATTR_MAX_LINE	65536		/* bytes per encoded line */
#define ATTR_MAX_COUNT	100000		/* default attributes per list */

typedef struct ATTR_LIST {
    size_t  count;
    size_t  cap;
    char  **names;
    char  **values;
} ATTR_LIST;

extern ATTR_LIST *attr_list_alloc(void);
extern void attr_list_free(ATTR_LIST *);
extern void attr_list_reset(ATTR_LIST *);
extern void attr_list_add(ATTR_LIST *, const char *name, const char *value);
extern void attr_list_addf(ATTR_LIST *, const char *name, const char *fmt,...)
	__attribute__((format(printf, 3, 4)));
extern void attr_list_addl(ATTR_LIST *, const char *name, long value);
/* First value of name, or NULL. */
extern const char *attr_list_get(const ATTR_LIST *, const char *name);
/* First value of name as a long; def when absent; -1 and *ok=0 if malformed. */
extern long attr_list_get_long(const ATTR_LIST *, const char *name, long def, int *ok);

/* Append the wire form of the list (including the closing empty line). */
extern void attr_encode(VSTR *out, const ATTR_LIST *);
/*
 * Feed one received line (without its '\n'). Returns 1 when the list is
 * complete (empty line), 0 when more lines are expected, -1 on a protocol
 * error (malformed line or more than max_count attributes).
 */
extern int attr_parse_line(ATTR_LIST *, const char *line, size_t len, size_t max_count);

/* Blocking stream with timeouts (seconds; 0 = none). */
typedef struct ATTR_STREAM ATTR_STREAM;
extern ATTR_STREAM *attr_stream_open(int fd, int timeout);
extern void attr_stream_free(ATTR_STREAM *);	/* does not close fd */
extern int attr_stream_fd(const ATTR_STREAM *);
/* Send a list; 0 or -1 (error/timeout; errno set). */
extern int attr_write(ATTR_STREAM *, const ATTR_LIST *);
/* Receive a list into (reset) attrs; 0, or -1 on EOF/error/timeout/bad input. */
extern int attr_read(ATTR_STREAM *, ATTR_LIST *, size_t max_count);

/* Connect to a unix-domain stream socket; fd or -1. */
extern int attr_unix_connect(const char *path, int timeout);

#endif
