/* qfile - queue file envelope reader and writer; see qfile.h. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argv.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mem.h"
#include "msg.h"
#include "qfile.h"
#include "rec_type.h"
#include "record.h"
#include "safe_file.h"
#include "vstr.h"

#define QFILE_VERSION	REC_QUEUE_VERSION

/* Size record offsets beyond this are damage: their sums stay in a long. */
#define QFILE_OFFSET_MAX	(LONG_MAX / 4)

void    qfile_info_free(QFILE_INFO *info)
{
    free(info->sender);
    free(info->fullname);
    if (info->attrs)
	argv_free(info->attrs);
    for (size_t i = 0; i < info->nrcpt; i++) {
	free(info->rcpt[i].address);
	free(info->rcpt[i].orig_addr);
	free(info->rcpt[i].dsn_orcpt);
    }
    free(info->rcpt);
    free(info->filter);
    free(info->redirect);
    memset(info, 0, sizeof(*info));
}

const char *qfile_attr(const QFILE_INFO *info, const char *name)
{
    size_t  len = strlen(name);

    for (size_t i = 0; info->attrs && i < info->attrs->argc; i++)
	if (strncmp(info->attrs->argv[i], name, len) == 0 && info->attrs->argv[i][len] == '=')
	    return (info->attrs->argv[i] + len + 1);
    return (0);
}

static int parse_tv(const char *s, struct timeval *tv)
{
    long    sec, usec = 0;
    char   *end;

    errno = 0;
    sec = strtol(s, &end, 10);
    if (end == s || errno)
	return (-1);
    if (*end == ' ')
	usec = strtol(end + 1, &end, 10);
    tv->tv_sec = sec;
    tv->tv_usec = (usec >= 0 && usec < 1000000) ? usec : 0;
    return (0);
}

int     qfile_read(FILE *fp, QFILE_INFO *info, VSTR *why)
{
    VSTR   *rec = vstr_alloc(256);
    char   *orig = 0, *orcpt = 0;
    int     notify = 0;
    int     type;
    int     in_content = 0, seen_x = 0, seen_size = 0;
    size_t  cap = 0;
    long    off;
    int     ret = -1;

    memset(info, 0, sizeof(*info));
    info->attrs = argv_alloc(8);
    info->sender = 0;
    vstr_reset(why);
    rewind(fp);
    if (rec_get(fp, rec, QFILE_REC_LIMIT) != REC_TYPE_VERSION
	|| ((info->version = (strcmp(vstr_str(rec), QFILE_VERSION) == 0 ? 2
			      : strcmp(vstr_str(rec), REC_QUEUE_VERSION_1) == 0 ? 1 : 0)) == 0
	    && !(info->maildrop = (strcmp(vstr_str(rec), "postern-maildrop 1") == 0)))) {
	(void) vstr_cpy(why, "unknown queue file format (no \"" QFILE_VERSION "\" record)");
	goto out;
    }
    for (;;) {
	off = ftell(fp);
	type = rec_get(fp, rec, in_content ? (1 << 30) : QFILE_REC_LIMIT);
	if (type == REC_EOF) {
	    (void) vstr_cpy(why, "premature end of queue file");
	    goto out;
	}
	if (type == REC_ERROR) {
	    (void) vstr_fmt(why, "bad or truncated record at offset %ld", off);
	    goto out;
	}
	if (in_content) {
	    if (type == REC_TYPE_NORM || type == REC_TYPE_CONT) {
		if (!seen_size)			/* maildrop: Postfix's CRLF size */
		    info->content_length += vstr_len(rec) + (type == REC_TYPE_NORM ? 2 : 0);
		continue;
	    }
	    if (type != REC_TYPE_XTRA) {
		(void) vstr_fmt(why, "unexpected record type '%c' in message content", type);
		goto out;
	    }
	    in_content = 0;
	    seen_x = 1;
	    continue;
	}
	switch (type) {
	case REC_TYPE_SIZE:
	    if (sscanf(vstr_str(rec), "%ld %ld %ld %ld %ld %ld", &info->content_size,
		       &info->data_offset, &info->rcpt_count, &info->qmgr_flags,
		       &info->content_length, &info->smtputf8) < 4
		|| info->data_offset <= REC_MESG_LEN || info->content_size < 0
		|| info->data_offset > QFILE_OFFSET_MAX || info->content_size > QFILE_OFFSET_MAX) {
		(void) vstr_cpy(why, "bad size record");
		goto out;
	    }
	    /* Version 2 counts from the record after M; in memory: from M. */
	    if (info->version >= 2) {
		info->data_offset -= REC_MESG_LEN;
		info->content_size += REC_MESG_LEN;
	    }
	    info->size_offset = off;
	    seen_size = 1;
	    break;
	case REC_TYPE_TIME:
	    (void) parse_tv(vstr_str(rec), &info->arrival);
	    break;
	case REC_TYPE_CTIME:
	    (void) parse_tv(vstr_str(rec), &info->ctime);
	    break;
	case REC_TYPE_FULL:
	    free(info->fullname);
	    info->fullname = xstrdup(vstr_str(rec));
	    break;
	case REC_TYPE_FROM:
	    free(info->sender);
	    info->sender = xstrdup(vstr_str(rec));
	    break;
	case REC_TYPE_ATTR:
	    if (strchr(vstr_str(rec), '=') != 0)
		argv_add(info->attrs, vstr_str(rec));
	    /* Version 1 kept SMTPUTF8 as an attribute. */
	    if (strncmp(vstr_str(rec), MAIL_ATTR_SMTPUTF8 "=", sizeof(MAIL_ATTR_SMTPUTF8)) == 0
		&& atoi(vstr_str(rec) + sizeof(MAIL_ATTR_SMTPUTF8)) != 0)
		info->smtputf8 |= SMTPUTF8_FLAG_REQUESTED;
	    break;
	case REC_TYPE_WARN:
	    info->warn_time = atol(vstr_str(rec));
	    info->warn_offset = off;
	    break;
	case REC_TYPE_ORCP:
	    free(orig);
	    orig = xstrdup(vstr_str(rec));
	    break;
	case REC_TYPE_DSN_ORCPT:
	    free(orcpt);
	    orcpt = xstrdup(vstr_str(rec));
	    break;
	case REC_TYPE_DSN_NOTIFY:
	    notify = atoi(vstr_str(rec));
	    break;
	case REC_TYPE_RCPT:
	case REC_TYPE_DONE:
	case REC_TYPE_DRCP:{
		QFILE_RCPT *r;

		if (info->nrcpt == cap) {
		    cap = cap ? cap * 2 : 8;
		    info->rcpt = xrealloc(info->rcpt, cap * sizeof(*info->rcpt));
		}
		r = info->rcpt + info->nrcpt++;
		r->offset = off;
		r->done = (type != REC_TYPE_RCPT);
		r->address = xstrdup(vstr_str(rec));
		r->orig_addr = orig ? orig : xstrdup("");
		r->dsn_orcpt = orcpt ? orcpt : xstrdup("");
		r->dsn_notify = notify;
		orig = orcpt = 0;
		notify = 0;
		break;
	    }
	case REC_TYPE_MESG:
	    if (seen_x) {
		(void) vstr_cpy(why, "duplicate message content");
		goto out;
	    }
	    if (seen_size && off != info->data_offset) {
		(void) vstr_fmt(why, "content at offset %ld, size record says %ld",
				off, info->data_offset);
		goto out;
	    }
	    /* Skip the content when the size record tells where X is. */
	    if (seen_size && info->content_size > 0
		&& fseek(fp, info->data_offset + info->content_size, SEEK_SET) == 0) {
		long    xoff = ftell(fp);

		if (rec_get(fp, rec, 16) == REC_TYPE_XTRA) {
		    seen_x = 1;
		    break;
		}
		(void) fseek(fp, off, SEEK_SET);
		(void) rec_get(fp, rec, QFILE_REC_LIMIT);
		(void) xoff;
	    }
	    in_content = 1;
	    break;
	case REC_TYPE_END:
	    if (!seen_x) {
		(void) vstr_cpy(why, "no message content");
		goto out;
	    }
	    if (info->sender == 0) {
		(void) vstr_cpy(why, "no sender record");
		goto out;
	    }
	    info->complete = 1;
	    ret = 0;
	    goto out;
	case REC_TYPE_XTRA:
	    (void) vstr_cpy(why, "extracted segment without content");
	    goto out;
	case REC_TYPE_FILT:			/* FILTER action: the last one wins */
	    free(info->filter);
	    info->filter = xstrdup(vstr_str(rec));
	    break;
	case REC_TYPE_RDR:			/* REDIRECT action: the last one wins */
	    free(info->redirect);
	    info->redirect = xstrdup(vstr_str(rec));
	    break;
	default:
	    /* Unknown/reserved envelope records are ignored (forward compat). */
	    break;
	}
    }
out:
    free(orig);
    free(orcpt);
    if (info->sender == 0)
	info->sender = xstrdup("");
    vstr_free(rec);
    return (ret);
}

int     qfile_post(const char *queue, const QFILE_POST *p, VSTR *id)
{
    VSTR   *path = vstr_alloc(64);
    VSTR   *buf = vstr_alloc(4096);
    VSTR   *tmp = vstr_alloc(128);
    struct timeval now, arr;
    int     fd, nrcpt = 0, saved;
    size_t  size_pos, data_off, x_off;
    long    content_length = 0;
    const char *cp, *end, *nl;
    VSTR   *generated = 0;

    (void) gettimeofday(&now, 0);
    arr = p->arrival.tv_sec ? p->arrival : now;
    if ((fd = mail_queue_create(queue, 0600, id, path)) < 0) {
	saved = errno;
	goto fail_noclose;
    }
    rec_encode(buf, REC_TYPE_VERSION, QFILE_VERSION, strlen(QFILE_VERSION));
    size_pos = vstr_len(buf);
    (void) vstr_fmt(tmp, REC_TYPE_SIZE_FORMAT, 0L, 0L, 0L, 0L, 0L, 0L);
    rec_encode(buf, REC_TYPE_SIZE, vstr_str(tmp), vstr_len(tmp));
    (void) vstr_fmt(tmp, "%ld %ld", (long) arr.tv_sec, (long) arr.tv_usec);
    rec_encode(buf, REC_TYPE_TIME, vstr_str(tmp), vstr_len(tmp));
    (void) vstr_fmt(tmp, "%ld %ld", (long) now.tv_sec, (long) now.tv_usec);
    rec_encode(buf, REC_TYPE_CTIME, vstr_str(tmp), vstr_len(tmp));
    if (p->fullname)
	rec_encode(buf, REC_TYPE_FULL, p->fullname, strlen(p->fullname));
    rec_encode(buf, REC_TYPE_FROM, p->sender, strlen(p->sender));
    for (const char *const *a = p->attrs; a && *a; a++)
	rec_encode(buf, REC_TYPE_ATTR, *a, strlen(*a));
    (void) vstr_fmt(tmp, "%15ld", 0L);	/* not set: qmgr uses delay_warning_time */
    rec_encode(buf, REC_TYPE_WARN, vstr_str(tmp), vstr_len(tmp));
    for (int i = 0; p->rcpts[i]; i++, nrcpt++) {
	const char *orig = p->rcpts[i];

	if (p->orig_rcpts && p->orig_rcpts[i] && *p->orig_rcpts[i])
	    orig = p->orig_rcpts[i];
	/* As Postfix's cleanup writes them: NOTIFY, derived ORCPT, original, recipient. */
	if (p->notify && p->notify[i]) {
	    (void) vstr_fmt(tmp, "%d", p->notify[i]);
	    rec_encode(buf, REC_TYPE_DSN_NOTIFY, vstr_str(tmp), vstr_len(tmp));
	}
	(void) vstr_fmt(tmp, "rfc822;%s", orig);
	rec_encode(buf, REC_TYPE_DSN_ORCPT, vstr_str(tmp), vstr_len(tmp));
	rec_encode(buf, REC_TYPE_ORCP, orig, strlen(orig));
	rec_encode(buf, REC_TYPE_RCPT, p->rcpts[i], strlen(p->rcpts[i]));
    }
    data_off = vstr_len(buf);
    rec_encode(buf, REC_TYPE_MESG, "", 0);
    if (p->content == 0 && p->content_fn) {
	VSTR   *gen = vstr_alloc(4096);

	p->content_fn(p->ctx, vstr_str(id), gen);
	generated = gen;
	cp = vstr_str(gen);
	end = vstr_end(gen);
    } else {
	cp = p->content;
	end = p->content + p->content_len;
    }
    while (cp < end) {
	size_t  len;

	nl = memchr(cp, '\n', end - cp);
	len = nl ? (size_t) (nl - cp) : (size_t) (end - cp);
	/* Long lines: L fragments of at most 64 KiB, then N. */
	while (len > 65536) {
	    rec_encode(buf, REC_TYPE_CONT, cp, 65536);
	    cp += 65536;
	    len -= 65536;
	}
	rec_encode(buf, REC_TYPE_NORM, cp, len);
	cp += len + (nl ? 1 : 0);
    }
    if (generated)
	vstr_free(generated);
    x_off = vstr_len(buf);
    rec_encode(buf, REC_TYPE_XTRA, "", 0);
    rec_encode(buf, REC_TYPE_END, "", 0);
    /* Patch the size record in place (fixed width); Postfix's fields. */
    content_length = (long) (x_off - data_off - REC_MESG_LEN);
    (void) vstr_fmt(tmp, REC_TYPE_SIZE_FORMAT, content_length,
		    (long) data_off + REC_MESG_LEN, (long) nrcpt, 0L, content_length, 0L);
    memcpy(vstr_str(buf) + size_pos + 2, vstr_str(tmp), vstr_len(tmp));
    {
	size_t  done = 0;

	while (done < vstr_len(buf)) {
	    ssize_t n = write(fd, vstr_str(buf) + done, vstr_len(buf) - done);

	    if (n <= 0) {
		if (n < 0 && errno == EINTR)
		    continue;
		saved = n < 0 ? errno : EIO;
		goto fail;
	    }
	    done += n;
	}
    }
    /* Not durable, not posted: the caller must not rely on it. */
    if (fchmod(fd, 0700) < 0 || fsync(fd) < 0 || fsync_name_of(fd, vstr_str(path)) < 0) {
	saved = errno;
	goto fail;
    }
    (void) close(fd);
    vstr_free(path);
    vstr_free(buf);
    vstr_free(tmp);
    return (0);
fail:
    (void) close(fd);
    (void) unlink(vstr_str(path));
fail_noclose:
    vstr_free(path);
    vstr_free(buf);
    vstr_free(tmp);
    errno = saved;
    return (-1);
}
