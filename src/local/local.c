/*
 * local - the local delivery agent (Postfix's local(8)).
 *
 * Takes delivery requests from qmgr (docs/delivery-protocol.md) and
 * delivers each recipient with the delivery core in
 * src/global/local_deliver.[ch]: aliases, .forward, mailbox (mbox or
 * Maildir), files, commands, forwarding. See docs/local.md.
 *
 * One queue recipient may expand to many deliveries (an alias, a list);
 * each is logged on its own line (to=<leaf>, orig_to=<recipient>) and
 * recorded in bounce/defer/trace logs, and the queue recipient is marked
 * done only when none of them was deferred (Postfix's semantics: a
 * deferred list member makes the whole recipient retry).
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attr.h"
#include "deliver_request.h"
#include "dsn_log.h"
#include "local_deliver.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "mem.h"
#include "msg.h"
#include "resolve.h"
#include "rec_type.h"

typedef struct LOCAL_CTX {
    DELIVER_REQUEST *req;
    RECIPIENT *rcpt;
} LOCAL_CTX;

/*
 * The agent runs as root; per-message logs must belong to mail_owner (qmgr
 * and showq read them), so they are written with its privileges.
 */
static int local_log_append(DELIVER_REQUEST *req, const char *queue, RECIPIENT *r,
			            const char *dsn, const char *action, const char *text)
{
    DSN     d = {.status = dsn, .reason = text, .action = action};
    static struct passwd *owner;
    static int owner_looked;
    int     rc;
    int     switched = 0;

    if (getuid() == 0 && geteuid() == 0) {
	if (!owner_looked) {
	    struct passwd *pw = getpwnam(mail_conf_str("mail_owner"));

	    owner_looked = 1;
	    if (pw) {
		owner = xmalloc(sizeof(*owner));
		*owner = *pw;
	    }
	}
	if (owner && setegid(owner->pw_gid) == 0) {
	    if (seteuid(owner->pw_uid) == 0)
		switched = 1;
	    else if (setegid(0) < 0)
		msg_fatal("restore group privileges: %m");
	}
    }
    /* Trace records read "delivery via local: TEXT" (deliver_request.c). */
    rc = deliver_log_entry(req, queue, r, "local", &d, action);
    if (switched && (seteuid(0) < 0 || setegid(0) < 0))
	msg_fatal("restore root privileges: %m");
    return rc;
}

/* Postfix's delivery log line for one delivered leaf. */
static void local_log(DELIVER_REQUEST *req, RECIPIENT *r, const char *dsn,
		              const char *status, const char *text)
{
    DSN     d = {.status = dsn, .reason = text};

    deliver_log_status(req, r, "local", &d, status);
}

/* LOCAL_REPORT callback: log and record one outcome; never marks done. */
static int local_status(void *context, int stat, const LOCAL_RCPT *leaf,
			        const char *dsn, const char *text)
{
    LOCAL_CTX *ctx = context;
    DELIVER_REQUEST *req = ctx->req;
    RECIPIENT r = *ctx->rcpt;
    char    soft[16];
    const char *defer_status = "deferred";

    r.address = (char *) leaf->address;
    r.orig_addr = (char *) (leaf->orig_rcpt ? leaf->orig_rcpt : "");
    /* Inside an alias or .forward expansion: NOTIFY without SUCCESS, ORCPT of a list reset. */
    r.dsn_notify = leaf->dsn_notify;
    r.dsn_orcpt = (char *) (leaf->dsn_orcpt ? leaf->dsn_orcpt : "");
    if (stat == LOCAL_STAT_EXPANDED || stat == LOCAL_STAT_EXPANDED_LIST) {
	/* A success DSN for the expanded alias: a trace record, no log line. */
	if (!(req->flags & DEL_REQ_FLAG_VERIFY) && (r.dsn_notify & DSN_NOTIFY_SUCCESS))
	    (void) local_log_append(req, MAIL_QUEUE_TRACE, &r, dsn,
				    stat == LOCAL_STAT_EXPANDED ? "expanded" : "delivered", text);
	return 0;
    }
    if (req->flags & DEL_REQ_FLAG_VERIFY) {
	const char *st = stat == LOCAL_STAT_SENT ? "deliverable" : "undeliverable";

	local_log(req, &r, dsn, st, text);
	return local_log_append(req, MAIL_QUEUE_TRACE, &r, dsn, st, text) < 0 ? -1 : 0;
    }
    if (stat == LOCAL_STAT_BOUNCE && mail_conf_bool("soft_bounce")) {
	snprintf(soft, sizeof(soft), "4%s", dsn + 1);
	dsn = soft;
	stat = LOCAL_STAT_DEFER;
	defer_status = "SOFTBOUNCE";		/* Postfix's log status */
    }
    switch (stat) {
    case LOCAL_STAT_SENT:
	local_log(req, &r, dsn, "sent", text);
	if ((req->flags & DEL_REQ_FLAG_RECORD) || (r.dsn_notify & DSN_NOTIFY_SUCCESS))
	    (void) local_log_append(req, MAIL_QUEUE_TRACE, &r, dsn, "delivered", text);
	return 0;
    case LOCAL_STAT_BOUNCE:
	local_log(req, &r, dsn, "bounced", text);
	if (req->flags & DEL_REQ_FLAG_RECORD)
	    (void) local_log_append(req, MAIL_QUEUE_TRACE, &r, dsn, "failed", text);
	if (local_log_append(req, MAIL_QUEUE_BOUNCE, &r, dsn, "failed", text) < 0) {
	    (void) local_log_append(req, MAIL_QUEUE_DEFER, &r, dsn, "delayed", text);
	    return -1;
	}
	return 0;
    default:
	local_log(req, &r, dsn, defer_status, text);
	if (req->flags & DEL_REQ_FLAG_RECORD)
	    (void) local_log_append(req, MAIL_QUEUE_TRACE, &r, dsn, "delayed", text);
	(void) local_log_append(req, MAIL_QUEUE_DEFER, &r, dsn, "delayed", text);
	return -1;
    }
}

/*
 * mailbox_transport / fallback_transport: hand the recipient to that
 * master.cf service with a one-recipient delivery request (same queue
 * file and recipient offset: that agent logs and marks it done).
 */
static int local_pass(void *context, const char *transport, const LOCAL_RCPT *leaf, VSTR *why)
{
    LOCAL_CTX *ctx = context;
    DELIVER_REQUEST *req = ctx->req;
    ATTR_LIST *al = attr_list_alloc();
    ATTR_LIST *reply = attr_list_alloc();
    ATTR_STREAM *st;
    RECIPIENT r = *ctx->rcpt;
    VSTR   *path = vstr_alloc(100);
    VSTR   *service = vstr_alloc(100);
    const char *colon = strchr(transport, ':');
    int     fd;
    int     ok;
    long    status;

    vstr_ncpy(service, transport, colon ? (size_t) (colon - transport) : strlen(transport));
    vstr_fmt(path, "private/%s", vstr_str(service));
    r.address = (char *) leaf->address;
    attr_list_add(al, "transport", vstr_str(service));
    attr_list_add(al, "queue_name", req->queue_name);
    attr_list_add(al, "queue_id", req->queue_id);
    attr_list_addl(al, "data_offset", req->data_offset);
    attr_list_addl(al, "data_size", req->data_size);
    attr_list_addl(al, "content_length", req->content_length);
    attr_list_add(al, "nexthop", colon && colon[1] ? colon + 1 : req->nexthop);
    attr_list_add(al, "sender", req->sender);
    attr_list_add(al, "envelope_id", req->dsn_envid);
    attr_list_addl(al, "ret_flags", req->dsn_ret);
    attr_list_add(al, "encoding", req->encoding);
    attr_list_addl(al, "smtputf8", req->smtputf8);
    attr_list_addl(al, "flags", req->flags);
    attr_list_addf(al, "arrival_time", "%ld.%06ld", (long) req->arrival_time.tv_sec,
		   (long) req->arrival_time.tv_usec);
    attr_list_addf(al, "active_time", "%ld.%06ld", (long) req->active_time.tv_sec,
		   (long) req->active_time.tv_usec);
    attr_list_add(al, "client_name", req->client_name);
    attr_list_add(al, "client_address", req->client_addr);
    attr_list_add(al, "client_port", req->client_port);
    attr_list_add(al, "helo_name", req->helo_name);
    attr_list_add(al, "protocol_name", req->protocol_name);
    attr_list_add(al, "sasl_method", req->sasl_method);
    attr_list_add(al, "sasl_username", req->sasl_username);
    attr_list_add(al, "sasl_sender", req->sasl_sender);
    attr_list_add(al, "log_ident", req->log_ident);
    deliver_request_add_rcpt(al, &r);
    status = 1;
    if ((fd = attr_unix_connect(vstr_str(path), 30)) < 0) {
	vstr_fmt(why, "connect to %s: %s", vstr_str(path), strerror(errno));
    } else {
	st = attr_stream_open(fd, 3600);
	if (attr_write(st, al) < 0 || attr_read(st, reply, 100) < 0) {
	    vstr_fmt(why, "lost connection with %s", vstr_str(path));
	} else {
	    status = attr_list_get_long(reply, "status", 1, &ok);
	    if (status != 0)
		vstr_fmt(why, "deferred by %s", vstr_str(service));
	}
	/* That agent wrote this message's logs: qmgr must know which. */
	ok = 1;
	req->logs |= (int) attr_list_get_long(reply, "logs", DSN_LOG_ALL, &ok);
	if (!ok)
	    req->logs |= DSN_LOG_ALL;
	attr_stream_free(st);
	close(fd);
    }
    attr_list_free(al);
    attr_list_free(reply);
    vstr_free(path);
    vstr_free(service);
    return status == 0 ? 0 : -1;
}

/*
 * Mark finished recipients done in the queue file (R -> D). Every delivery
 * is already durable (fsynced) at this point. When some recipient was
 * deferred, the file stays in the queue and its D marks must survive a
 * crash: deliver_completed() (pwrite + fsync). When every recipient is
 * finished, qmgr removes the file as soon as it reads our reply; the marks
 * then only matter if the system crashes in between, and Postfix's
 * semantics (at most one more delivery) hold without an fsync per message.
 */
static int local_mark_done(DELIVER_REQUEST *req, const char *done, int status)
{
    int     fd = fileno(req->fp);
    size_t  i;

    for (i = 0; i < req->rcpt_count; i++) {
	RECIPIENT *r = req->rcpt + i;
	char    cur;

	if (!done[i])
	    continue;
	if (status != DEL_STAT_OK) {
	    if (deliver_completed(req, r) < 0)
		return DEL_STAT_DEFER;
	    continue;
	}
	if (pread(fd, &cur, 1, r->offset) != 1) {
	    msg_warn("%s: read recipient record at %ld: %m", req->queue_id, r->offset);
	    return DEL_STAT_DEFER;
	}
	if (cur == REC_TYPE_DONE)
	    continue;
	if (cur != REC_TYPE_RCPT) {
	    msg_warn("%s: no recipient record at offset %ld", req->queue_id, r->offset);
	    return DEL_STAT_DEFER;
	}
	cur = REC_TYPE_DONE;
	if (pwrite(fd, &cur, 1, r->offset) != 1) {
	    msg_warn("%s: update recipient record: %m", req->queue_id);
	    return DEL_STAT_DEFER;
	}
    }
    return DEL_STAT_OK;
}

static int local_req_load(DELIVER_REQUEST *, LOCAL_MSG *);

static int local_deliver_request(DELIVER_REQUEST *req)
{
    LOCAL_MSG msg;
    int     status = DEL_STAT_OK;
    size_t  i;

    if (local_req_load(req, &msg) < 0) {
	DSN     dsn = {.status = "4.3.0",.reason = "error reading message file"};

	status = deliver_defer_all(req, "local", &dsn);
    } else {
	char   *done = xcalloc(req->rcpt_count ? req->rcpt_count : 1, 1);

	for (i = 0; i < req->rcpt_count; i++) {
	    RECIPIENT *r = req->rcpt + i;
	    LOCAL_CTX ctx = {req, r};
	    LOCAL_REPORT rep = {local_status, local_pass, &ctx};
	    LOCAL_RCPT lr;

	    memset(&lr, 0, sizeof(lr));
	    lr.address = r->address;
	    lr.orig_rcpt = r->orig_addr;
	    lr.offset = r->offset;
	    lr.dsn_notify = r->dsn_notify;
	    lr.dsn_orcpt = r->dsn_orcpt;
	    if (local_deliver(&msg, &lr, &rep,
			  (req->flags & DEL_REQ_FLAG_VERIFY) ? LOCAL_FLAG_VERIFY : 0) < 0)
		status |= DEL_STAT_DEFER;
	    else
		done[i] = 1;
	}
	status |= local_mark_done(req, done, status);
	free(done);
    }
    local_msg_free(&msg);
    return (status);
}

/* Messages per request that local announces (qmgr sends at most 32). */
#define LOCAL_BATCH_LIMIT	DELIVER_BATCH_MAX

/* Replace a message attribute with a request's value ("" if none). */
static void local_set(char **dst, const char *src)
{
    free(*dst);
    *dst = xstrdup(src ? src : "");
}

/* Load the message text and the client attributes; -1 on a read error. */
static int local_req_load(DELIVER_REQUEST *req, LOCAL_MSG *msg)
{
    VSTR   *line;
    int     rc;

    local_msg_init(msg, req->queue_id, req->sender, "", 0);
    msg->arrival = req->arrival_time.tv_sec;
    local_set(&msg->client_name, req->client_name);
    local_set(&msg->client_addr, req->client_addr);
    local_set(&msg->client_helo, req->helo_name);
    local_set(&msg->client_proto, req->protocol_name);
    local_set(&msg->sasl_username, req->sasl_username);
    local_set(&msg->sasl_method, req->sasl_method);
    local_set(&msg->sasl_sender, req->sasl_sender);
    local_set(&msg->log_ident, req->log_ident);
    local_set(&msg->encoding, req->encoding);
    local_set(&msg->dsn_envid, req->dsn_envid);
    msg->dsn_ret = req->dsn_ret;
    line = vstr_alloc(1024);
    while ((rc = deliver_read_line(req, line, (size_t) 1 << 30)) > 0) {
	vstr_append(msg->text, vstr_str(line), vstr_len(line));
	vstr_addch(msg->text, '\n');
    }
    vstr_free(line);
    if (rc < 0)
	return (-1);
    local_msg_scan(msg);
    return (0);
}

/*
 * Several messages in one request (qmgr groups messages for one
 * recipient): one local_deliver_many() pass over every recipient of every
 * message, so the Maildir new/ directory is fsynced once per pass and an
 * mbox is locked and fsynced once. Every delivery is durable when the pass
 * returns; only then is each message's queue file marked (R -> D), message
 * by message, and its status computed. Each message logs its own lines.
 * A message that cannot be read is deferred alone. Address probes are never
 * batched by qmgr; one that comes in a batch all the same is delivered on
 * its own.
 */
static void local_deliver_batch(DELIVER_REQUEST **reqs, size_t n, int *status)
{
    LOCAL_MSG *msgs;
    int    *loaded;
    LOCAL_JOB *jobs;
    LOCAL_CTX *ctxs;
    LOCAL_REPORT *reps;
    LOCAL_RCPT *lrs;
    size_t *jmsg;
    size_t  i, j, njobs = 0;

    if (n == 1) {
	if (reqs[0])
	    status[0] = local_deliver_request(reqs[0]);
	return;
    }
    for (i = 0; i < n; i++)
	if (reqs[i])
	    njobs += reqs[i]->rcpt_count;
    msgs = xcalloc(n, sizeof(*msgs));
    loaded = xcalloc(n, sizeof(*loaded));
    jobs = xcalloc(njobs + 1, sizeof(*jobs));
    ctxs = xcalloc(njobs + 1, sizeof(*ctxs));
    reps = xcalloc(njobs + 1, sizeof(*reps));
    lrs = xcalloc(njobs + 1, sizeof(*lrs));
    jmsg = xcalloc(njobs + 1, sizeof(*jmsg));
    njobs = 0;
    for (i = 0; i < n; i++) {
	DELIVER_REQUEST *req = reqs[i];

	if (req == 0)
	    continue;
	if (req->flags & DEL_REQ_FLAG_VERIFY) {
	    status[i] = local_deliver_request(req);
	    continue;
	}
	loaded[i] = 1;
	if (local_req_load(req, msgs + i) < 0) {
	    DSN     dsn = {.status = "4.3.0",.reason = "error reading message file"};

	    status[i] = deliver_defer_all(req, "local", &dsn);
	    continue;
	}
	for (j = 0; j < req->rcpt_count; j++) {
	    RECIPIENT *r = req->rcpt + j;

	    ctxs[njobs].req = req;
	    ctxs[njobs].rcpt = r;
	    reps[njobs].status = local_status;
	    reps[njobs].pass = local_pass;
	    reps[njobs].ctx = ctxs + njobs;
	    lrs[njobs].address = r->address;
	    lrs[njobs].orig_rcpt = r->orig_addr;
	    lrs[njobs].offset = r->offset;
	    lrs[njobs].dsn_notify = r->dsn_notify;
	    lrs[njobs].dsn_orcpt = r->dsn_orcpt;
	    jobs[njobs].msg = msgs + i;
	    jobs[njobs].rcpt = lrs + njobs;
	    jobs[njobs].rep = reps + njobs;
	    jmsg[njobs] = i;
	    njobs++;
	}
    }
    if (msg_verbose) {
	VSTR   *ids = vstr_alloc(256);

	for (i = 0; i < n; i++)
	    (void) vstr_fmt_append(ids, " %s", reqs[i] ? reqs[i]->queue_id : "-");
	msg_info("batch of %zu messages, %zu recipients in one pass:%s", n, njobs, vstr_str(ids));
	vstr_free(ids);
    }
    if (njobs > 0)
	local_deliver_many(jobs, njobs, 0);
    /* Every delivery of the pass is durable now: mark message by message. */
    for (i = 0, j = 0; i < n; i++) {
	DELIVER_REQUEST *req = reqs[i];
	char   *done;
	size_t  k = 0;

	if (req == 0 || !loaded[i] || status[i] != DEL_STAT_OK) {
	    while (j < njobs && jmsg[j] == i)
		j++;
	    continue;
	}
	done = xcalloc(req->rcpt_count ? req->rcpt_count : 1, 1);
	for (; j < njobs && jmsg[j] == i; j++, k++) {
	    if (jobs[j].status < 0)
		status[i] |= DEL_STAT_DEFER;
	    else
		done[k] = 1;
	}
	status[i] |= local_mark_done(req, done, status[i]);
	free(done);
    }
    for (i = 0; i < n; i++)
	if (loaded[i])
	    local_msg_free(msgs + i);
    free(msgs);
    free(loaded);
    free(jobs);
    free(ctxs);
    free(reps);
    free(lrs);
    free(jmsg);
}

static void local_accept(int fd, const char *service)
{
    deliver_request_serve_batch(fd, local_deliver_batch, LOCAL_BATCH_LIMIT);
}

static void local_pre_init(const char *service, int argc, char **argv)
{
    if (mail_conf_int("mailbox_size_limit") > 0
	&& mail_conf_int("mailbox_size_limit") < mail_conf_int("message_size_limit"))
	msg_fatal("configuration error: mailbox_size_limit is smaller than message_size_limit");
    umask(077);				/* files made by commands: 0600 */
    local_deliver_init();
    resolve_install_local();			/* address search orders */
    local_deliver_service(service);
    mail_queue_chdir();
}

int     main(int argc, char **argv)
{
    static const MAIL_SERVER_CB cb = {
	.stderr_standalone = 1,
	.pre_init = local_pre_init,
	.on_accept = local_accept,
	.max_clients = 1,
	.idle_exit = 1,
	.privileged = 1,
    };

    mail_server_main(argc, argv, &cb);
}
