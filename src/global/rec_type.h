/*
 * rec_type - queue file record types (docs/queue-format.md).
 *
 * Letters follow Postfix's record types where the meaning is the same,
 * so `postcat` output reads familiar.
 */
#ifndef POSTERN_REC_TYPE_H
#define POSTERN_REC_TYPE_H

#define REC_TYPE_VERSION 'V'	/* "postern-queue 2": first record */
#define REC_TYPE_SIZE	'C'	/* fixed-width sizes, updated in place */
#define REC_TYPE_TIME	'T'	/* arrival time: "sec usec" */
#define REC_TYPE_CTIME	'c'	/* create time: "sec usec" */
#define REC_TYPE_FULL	'F'	/* sender full name */
#define REC_TYPE_FROM	'S'	/* envelope sender ("" for <>) */
#define REC_TYPE_ATTR	'A'	/* named attribute "name=value" */
#define REC_TYPE_ORCP	'O'	/* original recipient (precedes its RCPT) */
#define REC_TYPE_DSN_ORCPT 'o'	/* DSN ORCPT "type;address" (precedes RCPT) */
#define REC_TYPE_DSN_NOTIFY 'n'	/* DSN NOTIFY mask, decimal (precedes RCPT) */
#define REC_TYPE_RCPT	'R'	/* live recipient */
#define REC_TYPE_DONE	'D'	/* recipient done: overwrites 'R' in place */
#define REC_TYPE_DRCP	'd'	/* recipient done (alternative, cleanup-time) */
#define REC_TYPE_WARN	'W'	/* delay warning time, fixed width */
#define REC_TYPE_MESG	'M'	/* start of message content */
#define REC_TYPE_NORM	'N'	/* content line, LF stripped */
#define REC_TYPE_CONT	'L'	/* content line fragment, no LF follows */
#define REC_TYPE_XTRA	'X'	/* start of extracted information */
#define REC_TYPE_RRTO	'r'	/* return-receipt / errors-to */
#define REC_TYPE_ERTO	'e'	/* errors-to */
#define REC_TYPE_PTR	'p'	/* pointer record (reserved) */
#define REC_TYPE_FILT	'>'	/* content filter "transport:destination" (extracted segment) */
#define REC_TYPE_RDR	'<'	/* REDIRECT address: replaces all recipients (extracted segment) */
#define REC_TYPE_END	'E'	/* end of file: a complete queue file */

/*
 * Queue file format versions (docs/queue-format.md). Version 2 has Postfix
 * 3.7's six-field size record: content segment size (X offset - content
 * offset), content offset (the record after M), recipient count, qmgr
 * flags, content length, SMTPUTF8 flags. Version 1 (still read) had five
 * fields and counted the content from the M record.
 */
#define REC_QUEUE_VERSION	"postern-queue 2"
#define REC_QUEUE_VERSION_1	"postern-queue 1"
#define REC_TYPE_SIZE_FORMAT	"%15ld %15ld %15ld %15ld %15ld %15ld"
#define REC_MESG_LEN		2	/* an M record: type byte + length 0 */

/* SMTPUTF8 flags (size record field 6), Postfix's values. */
#define SMTPUTF8_FLAG_REQUESTED	(1 << 0)	/* MAIL FROM ... SMTPUTF8 */
#define SMTPUTF8_FLAG_HEADER	(1 << 1)	/* a header has non-ASCII bytes */
#define SMTPUTF8_FLAG_SENDER	(1 << 2)	/* the sender has non-ASCII bytes */

/* Attribute names used in REC_TYPE_ATTR records. */
#define MAIL_ATTR_ENCODING	"encoding"	/* 7bit, 8bitmime */
#define MAIL_ATTR_SMTPUTF8	"smtputf8"	/* cleanup_attr(): sets the size record's flags;
						 * only version 1 files have it as a record */
#define MAIL_ATTR_DSN_ENVID	"envelope_id"
#define MAIL_ATTR_DSN_RET	"ret_flags"
#define MAIL_ATTR_RWR_CONTEXT	"rewrite_context"	/* local, remote */
#define MAIL_ATTR_LOG_CLIENT_NAME "log_client_name"
#define MAIL_ATTR_LOG_CLIENT_ADDR "log_client_address"
#define MAIL_ATTR_LOG_CLIENT_PORT "log_client_port"
#define MAIL_ATTR_LOG_HELO_NAME	"log_helo_name"
#define MAIL_ATTR_LOG_PROTO_NAME "log_protocol_name"
#define MAIL_ATTR_LOG_IDENT	"log_ident"
#define MAIL_ATTR_SASL_USERNAME	"sasl_username"
#define MAIL_ATTR_SASL_METHOD	"sasl_method"
#define MAIL_ATTR_SASL_SENDER	"sasl_sender"
#define MAIL_ATTR_TRACE_FLAGS	"trace_flags"

#endif
