/*
 * qfile - read a queue file's envelope; write complete queue files.
 *
 * qfile_read() parses a queue file (docs/queue-format.md) with bounded
 * records: envelope records, the content position (the content itself is
 * skipped), recipients after X, and the final E record. Everything qmgr,
 * showq, postsuper and postcat need to know about a message.
 *
 * qfile_post() writes a complete queue file in one go (mode 0600 while
 * written, E record, fchmod 0700, fsync file and directory): used for
 * notices that qmgr generates (bounces, delay warnings, DSNs) and by the
 * test tool postern-qfile. It is not the cleanup service: no header
 * processing, no address rewriting.
 */
#ifndef POSTERN_QFILE_H
#define POSTERN_QFILE_H
#include <stdio.h>
#include <sys/time.h>

#include "argv.h"
#include "vstr.h"

#define QFILE_REC_LIMIT	(1024 * 1024)	/* largest envelope record */

typedef struct QFILE_RCPT {
    long    offset;			/* offset of the R (or D) record */
    int     done;			/* D record: already finished */
    char   *address;
    char   *orig_addr;			/* "" if none */
    char   *dsn_orcpt;			/* "" if none */
    int     dsn_notify;
} QFILE_RCPT;

typedef struct QFILE_INFO {
    /* In memory for all versions: counted from the M record. */
    long    content_size;		/* M up to X */
    long    data_offset;		/* offset of the M record */
    long    rcpt_count;
    long    qmgr_flags;
    long    content_length;
    long    smtputf8;			/* SMTPUTF8_FLAG_* (rec_type.h) */
    int     version;			/* queue file format: 1 or 2 */
    long    size_offset;		/* offset of the C record */
    struct timeval arrival;
    struct timeval ctime;
    char   *sender;			/* "" = <> */
    char   *fullname;
    ARGV   *attrs;			/* "name=value" */
    long    warn_time;
    long    warn_offset;		/* offset of the W record, 0 if none */
    QFILE_RCPT *rcpt;
    size_t  nrcpt;
    int     complete;			/* E record seen */
    char   *filter;			/* '>' record "transport:nexthop", or NULL */
    char   *redirect;			/* '<' record address, or NULL */
    int     maildrop;			/* a "postern-maildrop 1" file (postdrop's
					 * format: no C/T records; content_length
					 * computed) - qmgr refuses these */
} QFILE_INFO;

/*
 * Read fp from its start. Returns 0, or -1 with a reason in why (the
 * file is corrupt: unknown version, bad record, missing E ...).
 */
extern int qfile_read(FILE *fp, QFILE_INFO *info, VSTR *why);
extern void qfile_info_free(QFILE_INFO *info);
/* Value of attribute name, or NULL. */
extern const char *qfile_attr(const QFILE_INFO *info, const char *name);

typedef struct QFILE_POST {
    struct timeval arrival;		/* 0 = now */
    const char *sender;
    const char *fullname;		/* NULL = none */
    const char *const *attrs;		/* "name=value", NULL-terminated, or NULL */
    const char *const *rcpts;		/* NULL-terminated */
    const char *const *orig_rcpts;	/* parallel to rcpts, or NULL */
    const int *notify;			/* parallel to rcpts, or NULL */
    const char *content;		/* message: header + body, LF lines */
    size_t  content_len;
    /* Or, when content is NULL: generate it once the queue ID is known. */
    void    (*content_fn) (void *ctx, const char *queue_id, VSTR *out);
    void   *ctx;
} QFILE_POST;

/* Write a complete queue file into queue; 0 with id set, or -1 (errno). */
extern int qfile_post(const char *queue, const QFILE_POST *, VSTR *id);

#endif
