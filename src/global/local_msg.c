/* local_msg - load a queued message for local delivery; see local_deliver.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "htable.h"
#include "local_deliver.h"
#include "mem.h"
#include "msg.h"
#include "rec_type.h"
#include "record.h"
#include "stringops.h"

#define LOCAL_REC_LIMIT		(1 << 20)	/* one record */
#define LOCAL_MSG_LIMIT		((size_t) 1 << 30)

/* Collect Delivered-To: values of the primary header section. */
static void scan_delivered(LOCAL_MSG *msg)
{
    const char *cp = vstr_str(msg->text);
    const char *end = cp + vstr_len(msg->text);

    while (cp < end && *cp != '\n') {
	const char *nl = memchr(cp, '\n', (size_t) (end - cp));
	const char *eol = nl ? nl : end;

	/* Header name: printable chars up to ':'. A non-header line ends it. */
	if (*cp != ' ' && *cp != '\t') {
	    const char *colon = memchr(cp, ':', (size_t) (eol - cp));

	    if (colon == 0)
		break;
	    if (colon - cp == 12 && strncasecmp(cp, "Delivered-To", 12) == 0) {
		char   *val = xstrndup(colon + 1, (size_t) (eol - colon - 1));

		trim(val);
		lowercase(val);
		argv_add(msg->delivered_to, val);
		free(val);
	    }
	}
	cp = nl ? nl + 1 : end;
    }
}

static void msg_clear(LOCAL_MSG *msg)
{
    memset(msg, 0, sizeof(*msg));
    msg->text = vstr_alloc(4096);
    vstr_set_limit(msg->text, LOCAL_MSG_LIMIT);
    msg->delivered_to = argv_alloc(2);
    msg->rcpt = argv_alloc(2);
    msg->orcpt = argv_alloc(2);
    msg->queue_id = xstrdup("");
    msg->sender = xstrdup("");
    msg->client_name = xstrdup("");
    msg->client_addr = xstrdup("");
    msg->client_helo = xstrdup("");
    msg->client_proto = xstrdup("");
    msg->sasl_method = xstrdup("");
    msg->sasl_username = xstrdup("");
    msg->sasl_sender = xstrdup("");
    msg->log_ident = xstrdup("");
    msg->encoding = xstrdup("");
    msg->dsn_envid = xstrdup("");
    msg->dsn_ret = 0;
}

static void replace(char **dst, const char *val)
{
    free(*dst);
    *dst = xstrdup(val);
}

void    local_msg_init(LOCAL_MSG *msg, const char *queue_id, const char *sender,
		               const char *text, size_t len)
{
    msg_clear(msg);
    replace(&msg->queue_id, queue_id);
    replace(&msg->sender, sender);
    msg->arrival = time((time_t *) 0);
    vstr_append(msg->text, text, len);
    scan_delivered(msg);
}

int     local_msg_load(LOCAL_MSG *msg, const char *path, VSTR *why)
{
    FILE   *fp;
    VSTR   *buf = vstr_alloc(256);
    int     type;
    int     in_content = 0;
    int     prev = 0;
    int     saw_end = 0;
    const char *slash;
    char   *pending_orcpt = 0;
    size_t  nalloc = 0;
    long    off;

    msg_clear(msg);
    slash = strrchr(path, '/');
    replace(&msg->queue_id, slash ? slash + 1 : path);
    if ((fp = fopen(path, "r")) == 0) {
	vstr_fmt(why, "open %s: %s", path, strerror(errno));
	vstr_free(buf);
	return -1;
    }
    for (;;) {
	off = ftell(fp);
	type = rec_get(fp, buf, LOCAL_REC_LIMIT);
	if (type == REC_EOF || type == REC_ERROR)
	    break;
	if (in_content) {
	    if (type == REC_TYPE_NORM || type == REC_TYPE_CONT) {
		vstr_append(msg->text, vstr_str(buf), vstr_len(buf));
		if (type == REC_TYPE_NORM)
		    vstr_addch(msg->text, '\n');
		prev = type;
		continue;
	    }
	    if (type == REC_TYPE_XTRA) {
		if (prev == REC_TYPE_CONT)
		    vstr_addch(msg->text, '\n');
		in_content = 0;
		continue;
	    }
	    continue;
	}
	switch (type) {
	case REC_TYPE_VERSION:
	    if (strcmp(vstr_str(buf), REC_QUEUE_VERSION) != 0
		&& strcmp(vstr_str(buf), REC_QUEUE_VERSION_1) != 0) {
		vstr_fmt(why, "%s: unsupported queue file version \"%s\"", path, vstr_str(buf));
		goto bad;
	    }
	    break;
	case REC_TYPE_TIME:
	    msg->arrival = atol(vstr_str(buf));
	    break;
	case REC_TYPE_FROM:
	    replace(&msg->sender, vstr_str(buf));
	    break;
	case REC_TYPE_ATTR:{
		char   *name = vstr_str(buf);
		char   *eq = strchr(name, '=');

		if (eq == 0)
		    break;
		*eq++ = 0;
		if (strcmp(name, MAIL_ATTR_LOG_CLIENT_NAME) == 0)
		    replace(&msg->client_name, eq);
		else if (strcmp(name, MAIL_ATTR_LOG_CLIENT_ADDR) == 0)
		    replace(&msg->client_addr, eq);
		else if (strcmp(name, MAIL_ATTR_LOG_HELO_NAME) == 0)
		    replace(&msg->client_helo, eq);
		else if (strcmp(name, MAIL_ATTR_LOG_PROTO_NAME) == 0)
		    replace(&msg->client_proto, eq);
		else if (strcmp(name, MAIL_ATTR_SASL_METHOD) == 0)
		    replace(&msg->sasl_method, eq);
		else if (strcmp(name, MAIL_ATTR_SASL_USERNAME) == 0)
		    replace(&msg->sasl_username, eq);
		else if (strcmp(name, MAIL_ATTR_SASL_SENDER) == 0)
		    replace(&msg->sasl_sender, eq);
		else if (strcmp(name, MAIL_ATTR_LOG_IDENT) == 0)
		    replace(&msg->log_ident, eq);
		else if (strcmp(name, MAIL_ATTR_ENCODING) == 0)
		    replace(&msg->encoding, eq);
		else if (strcmp(name, MAIL_ATTR_DSN_ENVID) == 0)
		    replace(&msg->dsn_envid, eq);
		else if (strcmp(name, MAIL_ATTR_DSN_RET) == 0)
		    msg->dsn_ret = atoi(eq);
		break;
	    }
	case REC_TYPE_ORCP:
	    free(pending_orcpt);
	    pending_orcpt = xstrdup(vstr_str(buf));
	    break;
	case REC_TYPE_RCPT:
	    argv_add(msg->rcpt, vstr_str(buf));
	    argv_add(msg->orcpt, pending_orcpt ? pending_orcpt : "");
	    if (msg->rcpt->argc > nalloc) {
		nalloc = nalloc ? nalloc * 2 : 8;
		msg->rcpt_offset = xrealloc(msg->rcpt_offset, nalloc * sizeof(long));
	    }
	    msg->rcpt_offset[msg->rcpt->argc - 1] = off;
	    free(pending_orcpt);
	    pending_orcpt = 0;
	    break;
	case REC_TYPE_DONE:
	case REC_TYPE_DRCP:
	    free(pending_orcpt);
	    pending_orcpt = 0;
	    break;
	case REC_TYPE_MESG:
	    in_content = 1;
	    prev = 0;
	    break;
	case REC_TYPE_END:
	    saw_end = 1;
	    break;
	default:
	    break;
	}
	if (saw_end)
	    break;
    }
    if (!saw_end) {
	vstr_fmt(why, "%s: %s", path, type == REC_ERROR ? "corrupt queue file record" :
		 "premature end of queue file");
	goto bad;
    }
    fclose(fp);
    free(pending_orcpt);
    vstr_free(buf);
    scan_delivered(msg);
    return 0;

bad:
    fclose(fp);
    free(pending_orcpt);
    vstr_free(buf);
    return -1;
}

void    local_msg_scan(LOCAL_MSG *msg)
{
    argv_truncate(msg->delivered_to, 0);
    scan_delivered(msg);
}

void    local_msg_free(LOCAL_MSG *msg)
{
    free(msg->queue_id);
    free(msg->sender);
    vstr_free(msg->text);
    argv_free(msg->delivered_to);
    argv_free(msg->rcpt);
    argv_free(msg->orcpt);
    free(msg->rcpt_offset);
    free(msg->client_name);
    free(msg->client_addr);
    free(msg->client_helo);
    free(msg->client_proto);
    free(msg->sasl_method);
    free(msg->sasl_username);
    free(msg->sasl_sender);
    free(msg->log_ident);
    free(msg->encoding);
    free(msg->dsn_envid);
    if (msg->dup)
	htable_free(msg->dup, 0);
    memset(msg, 0, sizeof(*msg));
}
