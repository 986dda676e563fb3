/*
 * mail_copy - write a queued message to a mailbox, file or pipe in the
 * format Postfix's local delivery agent uses: optional "From " envelope
 * line, Return-Path:, X-Original-To:, Delivered-To: headers, ">From "
 * quoting, and a trailing blank line (mbox).
 *
 * mail_copy_format() builds the bytes in memory (the caller then writes
 * them with one write loop and can truncate back on error);
 * mail_copy_write() writes a buffer fully to a descriptor.
 */
#ifndef POSTERN_MAIL_COPY_H
#define POSTERN_MAIL_COPY_H

#include <sys/types.h>
#include <time.h>

#include "vstr.h"

#define MAIL_COPY_QUOTE		(1<<0)	/* >From quoting */
#define MAIL_COPY_TOFILE	(1<<1)	/* fsync at the end */
#define MAIL_COPY_FROM		(1<<2)	/* "From sender  date" line */
#define MAIL_COPY_DELIVERED	(1<<3)	/* Delivered-To: */
#define MAIL_COPY_RETURN_PATH	(1<<4)	/* Return-Path: */
#define MAIL_COPY_BLANK		(1<<5)	/* append an empty line */
#define MAIL_COPY_ORIG_RCPT	(1<<6)	/* X-Original-To: */

/* UNIX mailbox file format. */
#define MAIL_COPY_MBOX	(MAIL_COPY_FROM | MAIL_COPY_QUOTE | MAIL_COPY_TOFILE | \
			 MAIL_COPY_DELIVERED | MAIL_COPY_RETURN_PATH | \
			 MAIL_COPY_BLANK | MAIL_COPY_ORIG_RCPT)
/* A Maildir file. */
#define MAIL_COPY_MAILDIR (MAIL_COPY_TOFILE | MAIL_COPY_DELIVERED | \
			   MAIL_COPY_RETURN_PATH | MAIL_COPY_ORIG_RCPT)
/* Input of an external command. */
#define MAIL_COPY_COMMAND (MAIL_COPY_FROM | MAIL_COPY_DELIVERED | \
			   MAIL_COPY_RETURN_PATH | MAIL_COPY_ORIG_RCPT)

typedef struct MAIL_COPY_INFO {
    const char *sender;			/* envelope sender, "" for <> */
    const char *orig_rcpt;		/* X-Original-To: (NULL or "" = none) */
    const char *delivered;		/* Delivered-To: */
    time_t  now;			/* for the "From " line */
    const char *text;			/* message: header + body, LF lines */
    size_t  text_len;
} MAIL_COPY_INFO;

extern void mail_copy_format(VSTR *out, const MAIL_COPY_INFO *, int flags);
/* Write all of buf; 0 or -1 with errno. */
extern int mail_copy_write(int fd, const char *buf, size_t len);
/* RFC 5321 local-part quoting of an address, as Postfix's quote_822_local. */
extern void quote_822_local(VSTR *out, const char *addr);

#endif
