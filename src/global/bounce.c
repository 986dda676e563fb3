/* bounce - delivery status notifications; see bounce.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounce.h"
#include "deliver_request.h"
#include "dsn_log.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "maillog_as.h"
#include "mem.h"
#include "msg.h"
#include "qfile.h"
#include "rec_type.h"
#include "record.h"
#include "stringops.h"
#include "vstr.h"

typedef struct BOUNCE_CTX {
    const char *id;			/* original queue ID */
    FILE   *fp;
    const QFILE_INFO *info;
    int     kind;
    int     postmaster;			/* postmaster copy */
    int     headers_only;
    const DSN_ENTRY *entries;
    long    count;
    const char *to;
    time_t  now;
} BOUNCE_CTX;

const char *bounce_mail_date(VSTR *buf, time_t when)
{
    struct tm tm;
    char    date[64], zone[16];
    long    off;

    (void) localtime_r(&when, &tm);
    (void) strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S", &tm);
    (void) strftime(zone, sizeof(zone), "%Z", &tm);
    off = tm.tm_gmtoff / 60;
    (void) vstr_fmt(buf, "%s %c%02ld%02ld (%s)", date, off < 0 ? '-' : '+',
		    labs(off) / 60, labs(off) % 60, zone);
    return (vstr_str(buf));
}

/* Fold a DSN field line at white space to at most 78 columns. */
static void fold_line(VSTR *out, const char *line)
{
    const char *cp = line;
    size_t  width = 78;

    while (strlen(cp) > width) {
	const char *brk = 0;

	for (const char *p = cp + 1; p <= cp + width; p++)
	    if (*p == ' ')
		brk = p;
	if (brk == 0)
	    break;
	(void) vstr_append(out, cp, brk - cp);
	(void) vstr_cat(out, "\n    ");
	cp = brk + 1;
	width = 74;
    }
    (void) vstr_cat(out, cp);
    (void) vstr_addch(out, '\n');
}

static void field(VSTR *out, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void field(VSTR *out, const char *fmt,...)
{
    VSTR   *tmp = vstr_alloc(128);
    va_list ap;

    va_start(ap, fmt);
    (void) vstr_vfmt_append(tmp, fmt, ap);
    va_end(ap);
    fold_line(out, vstr_str(tmp));
    vstr_free(tmp);
}

static const char *subject(const BOUNCE_CTX *bc)
{
    switch (bc->kind) {
    case BOUNCE_FAILED:
	return (bc->postmaster == 1 ? "Postmaster Copy: Undelivered Mail"
		: "Undelivered Mail Returned to Sender");
    case BOUNCE_DELAYED:
	return (bc->postmaster ? "Postmaster Warning: Delayed Mail"
		: "Delayed Mail (still being retried)");
    case BOUNCE_SUCCESS:
	return ("Successful Mail Delivery Report");
    default:
	return ("Mail Delivery Status Report");
    }
}

static void notification_text(VSTR *out, const BOUNCE_CTX *bc)
{
    const char *host = mail_conf_str("myhostname");

    (void) vstr_fmt_append(out, "This is the mail system at host %s.\n\n", host);
    switch (bc->kind) {
    case BOUNCE_FAILED:
	(void) vstr_cat(out,
			"I'm sorry to have to inform you that your message could not\n"
			"be delivered to one or more recipients. It's attached below.\n\n"
			"For further assistance, please send mail to postmaster.\n\n"
			"If you do so, please include this problem report. You can\n"
			"delete your own text from the attached returned message.\n\n");
	break;
    case BOUNCE_DELAYED:
	(void) vstr_fmt_append(out,
			       "####################################################################\n"
			       "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
			       "####################################################################\n\n"
			       "Your message could not be delivered for more than %ld hour(s).\n"
			       "It will be retried until it is %ld day(s) old.\n\n"
			       "For further assistance, please send mail to postmaster.\n\n"
			       "If you do so, please include this problem report. You can\n"
			       "delete your own text from the attached returned message.\n\n",
			       mail_conf_time("delay_warning_time") / 3600,
			       mail_conf_time(*bc->info->sender ? "maximal_queue_lifetime"
					      : "bounce_queue_lifetime") / 86400);
	break;
    case BOUNCE_SUCCESS:
	(void) vstr_cat(out,
			"Your message was successfully delivered to the destination(s)\n"
			"listed below. If the message was delivered to mailbox you will\n"
			"receive no further notifications. Otherwise you may still receive\n"
			"notifications of mail delivery errors from other systems.\n\n");
	break;
    default:
	(void) vstr_cat(out, "Enclosed is the mail delivery report that you requested.\n\n");
	break;
    }
    (void) vstr_cat(out, "                   The mail system\n");
    for (long i = 0; i < bc->count; i++) {
	const DSN_ENTRY *e = bc->entries + i;

	(void) vstr_addch(out, '\n');
	if (*e->orig_rcpt && strcasecmp(e->orig_rcpt, e->recipient) != 0)
	    (void) vstr_fmt_append(out, "<%s> (expanded from <%s>): %s\n",
				   e->recipient, e->orig_rcpt, e->reason);
	else
	    (void) vstr_fmt_append(out, "<%s>: %s\n", e->recipient, e->reason);
    }
}

static void delivery_report(VSTR *out, const BOUNCE_CTX *bc)
{
    const char *host = mail_conf_str("myhostname");
    const char *envid = qfile_attr(bc->info, "envelope_id");
    VSTR   *date = vstr_alloc(64);

    field(out, "Reporting-MTA: dns; %s", host);
    if (envid && *envid)			/* Postfix's order */
	field(out, "Original-Envelope-Id: %s", envid);
    field(out, "X-Postfix-Queue-ID: %s", bc->id);
    field(out, "X-Postfix-Sender: rfc822; %s", bc->info->sender);
    field(out, "Arrival-Date: %s", bounce_mail_date(date, bc->info->arrival.tv_sec));
    for (long i = 0; i < bc->count; i++) {
	const DSN_ENTRY *e = bc->entries + i;
	const char *action = e->action;

	if (bc->kind == BOUNCE_FAILED)
	    action = "failed";
	else if (bc->kind == BOUNCE_DELAYED)
	    action = "delayed";
	(void) vstr_addch(out, '\n');
	field(out, "Final-Recipient: rfc822; %s", e->recipient);
	if (*e->orcpt)
	    field(out, "Original-Recipient: %s", e->orcpt);
	else
	    field(out, "Original-Recipient: rfc822;%s", *e->orig_rcpt ? e->orig_rcpt : e->recipient);
	field(out, "Action: %s", action);
	field(out, "Status: %s", e->status);
	if (*e->mtype && *e->mname)
	    field(out, "Remote-MTA: %s; %s", e->mtype, e->mname);
	if (*e->dtype && *e->dtext)
	    field(out, "Diagnostic-Code: %s; %s", e->dtype, e->dtext);
	else
	    field(out, "Diagnostic-Code: X-Postfix; %s", e->reason);
	if (bc->kind == BOUNCE_DELAYED) {
	    time_t  until = bc->info->arrival.tv_sec
	    + mail_conf_time(*bc->info->sender ? "maximal_queue_lifetime"
			     : "bounce_queue_lifetime");

	    field(out, "Will-Retry-Until: %s", bounce_mail_date(date, until));
	}
    }
    vstr_free(date);
}

/* Append the original message (headers only if asked) from the queue file. */
static void original(VSTR *out, const BOUNCE_CTX *bc, int headers_only)
{
    DELIVER_REQUEST req;
    VSTR   *line = vstr_alloc(256);
    int     st;

    memset(&req, 0, sizeof(req));
    req.fp = bc->fp;
    req.data_offset = bc->info->data_offset;
    (void) vstr_fmt_append(out, "Return-Path: <%s>\n", bc->info->sender);
    while ((st = deliver_read_line(&req, line, 1 << 20)) > 0) {
	if (headers_only && vstr_len(line) == 0)
	    break;
	/* Keep MIME boundaries of ours unambiguous: never emit a bare "--BOUNDARY" line. */
	(void) vstr_append(out, vstr_str(line), vstr_len(line));
	(void) vstr_addch(out, '\n');
    }
    if (st < 0)
	(void) vstr_cat(out, "\n[queue file content unreadable]\n");
    vstr_free(line);
}

/* The notice's Message-Id: value (without <>): YYYYMMDDhhmmss.NEWID@$myhostname. */
static const char *notice_message_id(VSTR *out, const BOUNCE_CTX *bc, const char *new_id)
{
    struct tm tm;
    char    stamp[32];

    (void) localtime_r(&bc->now, &tm);
    (void) strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    (void) vstr_fmt(out, "%s.%s@%s", stamp, new_id, mail_conf_str("myhostname"));
    return (vstr_str(out));
}

static void build_notice(void *ctx, const char *new_id, VSTR *out)
{
    BOUNCE_CTX *bc = ctx;
    const char *host = mail_conf_str("myhostname");
    VSTR   *date = vstr_alloc(64), *boundary = vstr_alloc(64), *msgid = vstr_alloc(64);
    int     headers_only;

    (void) vstr_fmt(boundary, "%s.%ld/%s", bc->id, (long) bc->now, host);
    (void) vstr_fmt_append(out, "Received: by %s (%s)\n\tid %s; %s\n", host,
			   mail_conf_str("mail_name"), new_id,
			   bounce_mail_date(date, bc->now));
    (void) vstr_fmt_append(out, "Date: %s\n", vstr_str(date));
    /* The sender address is completed with $myorigin, as cleanup does in Postfix. */
    (void) vstr_fmt_append(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\n",
			   mail_conf_str("myorigin"));
    (void) vstr_fmt_append(out, "Subject: %s\n", subject(bc));
    (void) vstr_fmt_append(out, "To: %s\n", bc->to);
    (void) vstr_cat(out, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n");
    (void) vstr_fmt_append(out, "Content-Type: multipart/report; report-type=delivery-status;\n"
			   "\tboundary=\"%s\"\n", vstr_str(boundary));
    (void) vstr_cat(out, "Content-Transfer-Encoding: 8bit\n");
    (void) vstr_fmt_append(out, "Message-Id: <%s>\n\n", notice_message_id(msgid, bc, new_id));
    (void) vstr_cat(out, "This is a MIME-encapsulated message.\n\n");

    (void) vstr_fmt_append(out, "--%s\n", vstr_str(boundary));
    (void) vstr_cat(out, "Content-Description: Notification\n"
		    "Content-Type: text/plain; charset=utf-8\n"
		    "Content-Transfer-Encoding: 8bit\n\n");
    notification_text(out, bc);
    (void) vstr_fmt_append(out, "\n--%s\n", vstr_str(boundary));
    (void) vstr_cat(out, "Content-Description: Delivery report\n"
		    "Content-Type: message/delivery-status\n\n");
    delivery_report(out, bc);
    (void) vstr_fmt_append(out, "\n--%s\n", vstr_str(boundary));
    headers_only = bc->headers_only;
    if (bc->kind == BOUNCE_FAILED && !headers_only) {
	(void) vstr_cat(out, "Content-Description: Undelivered Message\n"
			"Content-Type: message/rfc822\n"
			"Content-Transfer-Encoding: 8bit\n\n");
    } else {
	(void) vstr_fmt_append(out, "Content-Description: %s\n",
			       bc->kind == BOUNCE_FAILED || bc->kind == BOUNCE_DELAYED ?
			       "Undelivered Message Headers" : "Message Headers");
	(void) vstr_cat(out, "Content-Type: text/rfc822-headers\n"
			"Content-Transfer-Encoding: 8bit\n\n");
	headers_only = 1;
    }
    original(out, bc, headers_only);
    (void) vstr_fmt_append(out, "\n--%s--\n", vstr_str(boundary));
    vstr_free(date);
    vstr_free(boundary);
    vstr_free(msgid);
}

static int post_notice(BOUNCE_CTX *bc, const char *sender, VSTR *new_id)
{
    QFILE_POST post;
    const char *rcpts[2] = {bc->to, 0};
    const char *attrs[] = {"log_message_origin=local", "trace_flags=0", 0};

    memset(&post, 0, sizeof(post));
    post.sender = sender;
    post.attrs = attrs;
    post.rcpts = rcpts;
    post.content_fn = build_notice;
    post.ctx = bc;
    if (qfile_post(MAIL_QUEUE_INCOMING, &post, new_id) < 0) {
	msg_warn("%s: cannot write notification: %m", bc->id);
	return (-1);
    }
    {
	VSTR   *msgid = vstr_alloc(64);

	maillog_as("cleanup", "%s: message-id=<%s>", vstr_str(new_id),
		      notice_message_id(msgid, bc, vstr_str(new_id)));
	vstr_free(msgid);
    }
    return (0);
}

static int notify_class(const char *name)
{
    char   *list = xstrdup(mail_conf_str("notify_classes"));
    char   *bp = list, *item;
    int     found = 0;

    while ((item = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
	if (strcasecmp(item, name) == 0)
	    found = 1;
    free(list);
    return (found);
}

int     bounce_notify(const char *id, FILE *fp, const QFILE_INFO *info, int kind,
		              const DSN_ENTRY *entries, long count)
{
    BOUNCE_CTX bc;
    VSTR   *new_id = vstr_alloc(32);
    const char *dbl = mail_conf_str("double_bounce_sender");
    int     ret = 0;
    int     ret_hdrs;
    const char *ret_flags = qfile_attr(info, "ret_flags");

    if (count <= 0) {
	vstr_free(new_id);
	return (0);
    }
    memset(&bc, 0, sizeof(bc));
    bc.id = id;
    bc.fp = fp;
    bc.info = info;
    bc.kind = kind;
    bc.entries = entries;
    bc.count = count;
    bc.now = time(0);
    ret_hdrs = (ret_flags && (atoi(ret_flags) & DSN_RET_HDRS))
	|| info->content_length > mail_conf_int("bounce_size_limit");

    if (*info->sender && strcasecmp(info->sender, dbl) != 0) {
	/* To the sender. */
	bc.to = info->sender;
	bc.headers_only = ret_hdrs;
	if (post_notice(&bc, "", new_id) < 0)
	    ret = -1;
	else
	    maillog_as("bounce", "%s: sender %s notification: %s", id,
		     kind == BOUNCE_FAILED ? "non-delivery" :
		     kind == BOUNCE_DELAYED ? "delay" : "delivery status",
		     vstr_str(new_id));
	/* Postmaster copies. */
	if (ret == 0 && ((kind == BOUNCE_FAILED && notify_class("bounce"))
			 || (kind == BOUNCE_DELAYED && notify_class("delay")))) {
	    bc.to = mail_conf_str(kind == BOUNCE_FAILED ? "bounce_notice_recipient"
				  : "delay_notice_recipient");
	    bc.postmaster = 1;
	    bc.headers_only = 1;
	    if (post_notice(&bc, dbl, new_id) == 0)
		maillog_as("bounce", "%s: postmaster %s notification: %s", id,
			 kind == BOUNCE_FAILED ? "non-delivery" : "delay",
			 vstr_str(new_id));
	}
    } else if (kind == BOUNCE_FAILED && strcasecmp(info->sender, dbl) != 0
	       && notify_class("2bounce")) {
	/* Undeliverable notification: the double bounce goes to postmaster. */
	bc.to = mail_conf_str("2bounce_notice_recipient");
	bc.postmaster = 2;
	if (post_notice(&bc, dbl, new_id) < 0)
	    ret = -1;
	else
	    maillog_as("bounce", "%s: postmaster non-delivery notification: %s", id,
			  vstr_str(new_id));
    }
    /* else: an undeliverable <> message is dropped silently, as Postfix does. */
    vstr_free(new_id);
    return (ret);
}
