/* pickup_file - one maildrop file into the incoming queue; see pickup.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "cleanup.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mem.h"
#include "msg.h"
#include "pickup.h"
#include "rec_type.h"
#include "record.h"

/* DSN attributes: Postfix's pickup/cleanup write them before the sender. */
static int pickup_dsn_attr(const char *attr)
{
    return (strncmp(attr, MAIL_ATTR_DSN_ENVID "=", sizeof(MAIL_ATTR_DSN_ENVID)) == 0
	    || strncmp(attr, MAIL_ATTR_DSN_RET "=", sizeof(MAIL_ATTR_DSN_RET)) == 0);
}

int     pickup_file(const char *name)
{
    VSTR   *path = vstr_alloc(64), *buf = vstr_alloc(256), *hdr = vstr_alloc(256);
    FILE   *fp;
    struct stat st;
    int     fd, type, status = PICKUP_OK, extract = 0, stage = 0;
    CLEANUP *cl = 0;
    ARGV   *rcpts = argv_alloc(4), *attrs = argv_alloc(4);
    char   *sender = 0, *fullname = 0;
    int     notify = 0;
    ARGV   *notifies = argv_alloc(4);
    size_t  limit = (size_t) mail_conf_int("line_length_limit") + 4096;

    if (limit < (size_t) mail_conf_int("header_size_limit"))
	limit = (size_t) mail_conf_int("header_size_limit");
    (void) vstr_fmt(path, "%s/%s", MAIL_QUEUE_MAILDROP, name);
    if ((fd = open(vstr_str(path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
	if (errno != ENOENT)
	    msg_warn("open %s: %m", vstr_str(path));
	status = PICKUP_RETRY;
	goto done;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
	(void) close(fd);
	status = PICKUP_BAD;
	goto done;
    }
    if ((st.st_mode & S_IXUSR) == 0) {
	/* Being written; an hour-old unfinished file is junk. */
	(void) close(fd);
	if (time((time_t *) 0) - st.st_mtime > 3600)
	    status = PICKUP_BAD;
	else
	    status = PICKUP_RETRY;
	goto done;
    }
    fp = fdopen(fd, "r");
    /* Envelope. */
    while ((type = rec_get(fp, buf, limit)) >= 0 && type != REC_TYPE_MESG) {
	switch (type) {
	case REC_TYPE_VERSION:
	    break;
	case REC_TYPE_FULL:
	    free(fullname);
	    fullname = xstrdup(vstr_str(buf));
	    break;
	case REC_TYPE_FROM:
	    free(sender);
	    sender = xstrdup(vstr_str(buf));
	    break;
	case REC_TYPE_ATTR:
	    if (strcmp(vstr_str(buf), "extract=1") == 0)
		extract = 1;
	    else if (strncmp(vstr_str(buf), MAIL_ATTR_DSN_ENVID "=", sizeof(MAIL_ATTR_DSN_ENVID)) == 0
		     || strncmp(vstr_str(buf), MAIL_ATTR_DSN_RET "=", sizeof(MAIL_ATTR_DSN_RET)) == 0
		     || strncmp(vstr_str(buf), MAIL_ATTR_ENCODING "=", sizeof(MAIL_ATTR_ENCODING)) == 0
		     || strncmp(vstr_str(buf), MAIL_ATTR_TRACE_FLAGS "=", sizeof(MAIL_ATTR_TRACE_FLAGS)) == 0)
		argv_add(attrs, vstr_str(buf));
	    break;
	case REC_TYPE_DSN_NOTIFY:
	    notify = atoi(vstr_str(buf)) & 15;
	    break;
	case REC_TYPE_RCPT:
	    argv_add(rcpts, vstr_str(buf));
	    {
		char    n[16];

		(void) snprintf(n, sizeof(n), "%d", notify);
		argv_add(notifies, n);
	    }
	    notify = 0;
	    break;
	default:
	    type = REC_ERROR;
	    break;
	}
	if (type == REC_ERROR)
	    break;
    }
    if (type != REC_TYPE_MESG || sender == 0) {
	msg_warn("%s: uid=%ld: bad maildrop file", name, (long) st.st_uid);
	fclose(fp);
	status = PICKUP_BAD;
	goto done;
    }
    if ((cl = cleanup_open(CLEANUP_FLAG_LOCAL | (extract ? CLEANUP_FLAG_EXTRACT : 0))) == 0) {
	msg_warn("create queue file: %m");
	fclose(fp);
	status = PICKUP_RETRY;
	goto done;
    }
    msg_info("%s: uid=%ld from=<%s>", cleanup_queue_id(cl), (long) st.st_uid, sender);
    /*
     * Postfix 3.7's record order (postcat -q of a sendmail submission):
     * envelope_id, ret_flags, rewrite_context, sender_fullname, sender,
     * then the other attributes (encoding, trace_flags).
     */
    for (int dsn = 1; dsn >= 0; dsn--) {
	for (size_t i = 0; i < attrs->argc; i++) {
	    char   *eq = strchr(attrs->argv[i], '=');

	    if (eq != 0 && pickup_dsn_attr(attrs->argv[i]) == dsn) {
		*eq = 0;
		cleanup_attr(cl, attrs->argv[i], eq + 1);
	    }
	}
	if (dsn) {
	    cleanup_attr(cl, MAIL_ATTR_RWR_CONTEXT, "local");
	    if (fullname)
		cleanup_fullname(cl, fullname);
	    cleanup_sender(cl, sender);
	}
    }
    for (size_t i = 0; i < rcpts->argc; i++) {
	cleanup_rcpt(cl, rcpts->argv[i], 0, atoi(notifies->argv[i]));
    }
    /* Our Received: header, as Postfix's pickup/cleanup write it. */
    (void) vstr_fmt(hdr, "Received: by %s (%s, from userid %ld)", mail_conf_str("myhostname"),
		    mail_conf_str("mail_name"), (long) st.st_uid);
    cleanup_content(cl, REC_TYPE_NORM, vstr_str(hdr), vstr_len(hdr));
    (void) vstr_fmt(hdr, "\tid %s; %s", cleanup_queue_id(cl), mail_date(cleanup_arrival(cl)->tv_sec));
    cleanup_content(cl, REC_TYPE_NORM, vstr_str(hdr), vstr_len(hdr));
    stage = 1;
    while ((type = rec_get(fp, buf, limit)) >= 0) {
	if (stage == 1 && (type == REC_TYPE_NORM || type == REC_TYPE_CONT)) {
	    cleanup_content(cl, type, vstr_str(buf), vstr_len(buf));
	} else if (stage == 1 && type == REC_TYPE_XTRA) {
	    stage = 2;
	} else if (stage == 2 && type == REC_TYPE_END) {
	    stage = 3;
	    break;
	} else {
	    break;
	}
    }
    fclose(fp);
    if (stage != 3) {
	msg_warn("%s: uid=%ld: bad maildrop file", name, (long) st.st_uid);
	cleanup_abort(cl);
	cl = 0;
	status = PICKUP_BAD;
	goto done;
    }
    {
	int     cst = cleanup_finish(cl);

	if (cst != CLEANUP_STAT_OK) {
	    const char *text = cleanup_strerror(cst);

	    /* Without a bounce service yet: log and drop, as a rejected message. */
	    msg_warn("%s: reject: %s; from=<%s>", cleanup_queue_id(cl), text + 10, sender);
	    cleanup_abort(cl);
	    cl = 0;
	    status = (cst & CLEANUP_STAT_WRITE) ? PICKUP_RETRY : PICKUP_OK;
	    goto done;
	}
	if (cleanup_sync(cl) < 0) {
	    cleanup_abort(cl);
	    cl = 0;
	    status = PICKUP_RETRY;
	    goto done;
	}
	cleanup_free(cl);
	cl = 0;
    }

done:
    if (status == PICKUP_OK) {
	if (unlink(vstr_str(path)) < 0 && errno != ENOENT)
	    msg_warn("remove %s: %m", vstr_str(path));
    } else if (status == PICKUP_BAD) {
	VSTR   *to = vstr_alloc(64);

	(void) vstr_fmt(to, "%s/%s", MAIL_QUEUE_CORRUPT, name);
	if (rename(vstr_str(path), vstr_str(to)) < 0 && errno != ENOENT)
	    msg_warn("rename %s to %s: %m", vstr_str(path), vstr_str(to));
	vstr_free(to);
    }
    vstr_free(path);
    vstr_free(buf);
    vstr_free(hdr);
    argv_free(rcpts);
    argv_free(attrs);
    argv_free(notifies);
    free(sender);
    free(fullname);
    return (status);
}

