/*
 * cleanup - the queue-file writer, a library linked into smtpd and pickup.
 *
 * In Postfix, cleanup is a separate daemon; in postern it is a library so
 * that a message costs no extra IPC hop. A CLEANUP object writes one queue
 * file in the incoming queue (docs/queue-format.md):
 *
 *	cl = cleanup_open(flags)		create incoming/ID (mode 0600)
 *	cleanup_fullname/sender/attr()		envelope
 *	cleanup_rcpt()				per recipient (deduplicated)
 *	cleanup_content()			per content line (N) or fragment (L)
 *	cleanup_finish()			X, extracted recipients, E, 0700
 *	... make it durable: qcommit_add(cleanup_fd(cl), ...) or cleanup_sync()
 *	cleanup_free()
 *
 * cleanup_abort() removes an unfinished file. Message headers are
 * processed here: address completion (myorigin, append_at_myorigin,
 * append_dot_mydomain) in the envelope always and in headers for local
 * submissions (CLEANUP_FLAG_LOCAL), message_drop_headers, missing
 * Message-Id:/Date:/From: for local submissions (or with
 * always_add_missing_headers), recipient extraction for sendmail -t
 * (CLEANUP_FLAG_EXTRACT), duplicate recipient removal, the
 * message_size_limit, and the "ID: message-id=<...>" log line.
 *
 * Hooks for content inspection and address rewriting (issue 5) are
 * cleanup_header_hook (once per complete logical header) and
 * cleanup_addr_hook (once per envelope or header address).
 */
#ifndef POSTERN_CLEANUP_H
#define POSTERN_CLEANUP_H
#include <sys/time.h>

#include "vstr.h"

struct ARGV;

#define CLEANUP_FLAG_EXTRACT	(1<<0)	/* recipients from To/Cc/Bcc */
#define CLEANUP_FLAG_LOCAL	(1<<1)	/* local submission: header rewriting, missing headers */

/* Status bits (cleanup_status, cleanup_finish). */
#define CLEANUP_STAT_OK		0
#define CLEANUP_STAT_BAD	(1<<0)	/* internal or input error */
#define CLEANUP_STAT_WRITE	(1<<1)	/* queue file write error */
#define CLEANUP_STAT_SIZE	(1<<2)	/* message_size_limit exceeded */
#define CLEANUP_STAT_CONT	(1<<3)	/* content rejected (by a hook) */
#define CLEANUP_STAT_HOPS	(1<<4)	/* too many Received: headers */
#define CLEANUP_STAT_RCPT	(1<<5)	/* no recipients */
#define CLEANUP_STAT_DEFER	(1<<6)	/* try again later (e.g. alias expansion) */

/* Address classes for cleanup_addr_hook. */
#define CLEANUP_ADDR_SENDER	1	/* envelope sender */
#define CLEANUP_ADDR_RCPT	2	/* envelope recipient */
#define CLEANUP_ADDR_HDR_FROM	3	/* sender-class header */
#define CLEANUP_ADDR_HDR_RCPT	4	/* recipient-class header */

typedef struct CLEANUP CLEANUP;

/* Return 0 to keep the header (possibly edited), 1 to drop it, or set *status. */
extern int (*cleanup_header_hook) (CLEANUP *, VSTR *header, int *status);
extern void (*cleanup_addr_hook) (CLEANUP *, int addr_class, VSTR *addr);

/*
 * Policy hooks (src/global/cleanup_policy.c installs them; docs/policy.md):
 * rcpt_expand: the final list of recipients for one (virtual aliases), or
 * NULL for "just this one"; body: every content line after the primary
 * headers (the hook writes its output with cleanup_body_write; data NULL
 * at the end of the message); attr: every cleanup_attr; finish: before the
 * extracted segment is written; free: per-message policy state. The
 * policy state lives in *cleanup_policy_slot(cl).
 */
extern struct ARGV *(*cleanup_rcpt_expand_hook) (CLEANUP *, const char *rcpt);
extern void (*cleanup_body_hook) (CLEANUP *, int type, const char *data, size_t len);
extern void (*cleanup_attr_hook) (CLEANUP *, const char *name, const char *value);
extern void (*cleanup_finish_hook) (CLEANUP *);
extern void (*cleanup_free_hook) (CLEANUP *);
extern void **cleanup_policy_slot(CLEANUP *);
extern void cleanup_body_write(CLEANUP *, int type, const char *data, size_t len);
extern void cleanup_header_write(CLEANUP *, const char *text);	/* an extra header */
extern void cleanup_record(CLEANUP *, int type, const char *text);	/* any record */
extern const char *cleanup_sender_addr(CLEANUP *);		/* completed sender */
extern const char *cleanup_last_rcpt(CLEANUP *);
extern int cleanup_is_local(CLEANUP *);				/* CLEANUP_FLAG_LOCAL */
/* Actions decided by content checks. */
extern void cleanup_set_status(CLEANUP *, int status, const char *reply);	/* reply: "550 5.7.1 ..." */
extern void cleanup_hold(CLEANUP *);		/* file goes to the hold queue */
extern void cleanup_discard(CLEANUP *);	/* accepted, then removed */
/* The end-of-data reply for a status: the policy's text if it set one. */
extern const char *cleanup_reply(CLEANUP *, int status);

extern CLEANUP *cleanup_open(int flags);	/* NULL with errno */
extern const char *cleanup_queue_id(CLEANUP *);
extern const char *cleanup_path(CLEANUP *);
extern int cleanup_fd(CLEANUP *);
extern int cleanup_status(CLEANUP *);
extern size_t cleanup_rcpt_count(CLEANUP *);
extern long cleanup_content_size(CLEANUP *);
extern const struct timeval *cleanup_arrival(CLEANUP *);
extern void cleanup_fullname(CLEANUP *, const char *name);
extern void cleanup_sender(CLEANUP *, const char *addr);
extern void cleanup_attr(CLEANUP *, const char *name, const char *value);
/* rcpt: as received; dsn_orcpt ("type;addr"), or NULL: "rfc822;" + completed rcpt; notify mask or 0. */
extern void cleanup_rcpt(CLEANUP *, const char *rcpt, const char *dsn_orcpt, int notify);
/* One content line (type 'N') or a fragment of a long line (type 'L'). */
extern void cleanup_content(CLEANUP *, int type, const char *data, size_t len);
extern int cleanup_finish(CLEANUP *);	/* status; file complete when OK */
extern int cleanup_sync(CLEANUP *);	/* fsync file and directory */
extern void cleanup_abort(CLEANUP *);	/* remove the file and free */
extern void cleanup_free(CLEANUP *);	/* close (keeps the file) */
/* Postfix's reply text for a status: "250"-less, e.g. "552 5.3.4 Error: message file too big". */
extern const char *cleanup_strerror(int status);

/* Address completion (envelope rules): "user" -> "user@$myorigin" etc. */
extern void cleanup_complete_addr(VSTR *addr);
/*
 * Parse an address-list header value (after "Name:"): append each address
 * to addrs (when not NULL); when rewrite is set, write the value with every
 * address completed to out (else out is a copy).
 */
extern void cleanup_addr_list(const char *value, struct ARGV *addrs, VSTR *out, int rewrite);
/*
 * The same, with each address also given to cleanup_addr_hook (class
 * CLEANUP_ADDR_HDR_*). rewrite: 0 none, 1 complete as for local clients,
 * 2 remote client: only "user" -> "user@$remote_header_rewrite_domain".
 */
extern void cleanup_addr_list_hook(CLEANUP *, int addr_class, const char *value,
				           struct ARGV *addrs, VSTR *out, int rewrite);

/* RFC 2822 date as Postfix writes it: "Sat, 21 Nov 2026 23:33:01 +0000 (UTC)". */
extern const char *mail_date(time_t when);

#endif
