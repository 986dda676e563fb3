/* dsn_log - per-message delivery status logs; see dsn_log.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attr.h"
#include "dsn_log.h"
#include "mail_queue.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "vstr.h"

#define DSN_LOG_LIMIT	(64 * 1024 * 1024)

int     dsn_log_append(const char *queue, const char *id, const DSN_ENTRY *e)
{
    ATTR_LIST *al = attr_list_alloc();
    VSTR   *buf = vstr_alloc(512);
    VSTR   *path = vstr_alloc(64);
    int     fd, ret = 0;

#define ADD(n, v) attr_list_add(al, n, (v) ? (v) : "")
    ADD("recipient", e->recipient);
    ADD("orig_rcpt", e->orig_rcpt);
    attr_list_addl(al, "offset", e->offset);
    attr_list_addl(al, "notify", e->notify);
    ADD("orcpt", e->orcpt);
    ADD("status", e->status);
    ADD("action", e->action);
    ADD("reason", e->reason);
    ADD("relay", e->relay);
    ADD("dtype", e->dtype);
    ADD("dtext", e->dtext);
    ADD("mtype", e->mtype);
    ADD("mname", e->mname);
    attr_list_addl(al, "time", (long) (e->time ? e->time : time(0)));
    attr_encode(buf, al);
    (void) mail_queue_path(path, queue, id);
    if ((fd = open(vstr_str(path), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0
	&& errno == ENOENT) {
	VSTR   *dir = vstr_alloc(64);

	(void) mkdir_p(mail_queue_dir(dir, queue, id), 0700);
	vstr_free(dir);
	fd = open(vstr_str(path), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    }
    if (fd < 0) {
	msg_warn("open %s: %m", vstr_str(path));
	ret = -1;
    } else {
	if (write(fd, vstr_str(buf), vstr_len(buf)) != (ssize_t) vstr_len(buf)
	    || fsync(fd) < 0) {
	    msg_warn("write %s: %m", vstr_str(path));
	    ret = -1;
	}
	if (close(fd) < 0)
	    ret = -1;
    }
    attr_list_free(al);
    vstr_free(buf);
    vstr_free(path);
    return (ret);
}

static char *dup_attr(const ATTR_LIST *al, const char *name)
{
    const char *v = attr_list_get(al, name);

    return (xstrdup(v ? v : ""));
}

long    dsn_log_read(const char *queue, const char *id, DSN_ENTRY **entries)
{
    VSTR   *path = vstr_alloc(64);
    VSTR   *data = vstr_alloc(1024);
    ATTR_LIST *al = attr_list_alloc();
    DSN_ENTRY *list = 0;
    long    count = 0, cap = 0;
    const char *cp, *end, *nl;

    *entries = 0;
    (void) mail_queue_path(path, queue, id);
    if (read_file_bounded(vstr_str(path), data, DSN_LOG_LIMIT) < 0) {
	int     saved = errno;

	vstr_free(path);
	vstr_free(data);
	attr_list_free(al);
	if (saved == ENOENT)
	    return (0);
	errno = saved;
	return (-1);
    }
    cp = vstr_str(data);
    end = vstr_end(data);
    while (cp < end) {
	int     st;

	if ((nl = memchr(cp, '\n', end - cp)) == 0)
	    break;				/* partial last entry: ignore */
	st = attr_parse_line(al, cp, nl - cp, 64);
	cp = nl + 1;
	if (st < 0) {
	    msg_warn("%s: malformed entry skipped", vstr_str(path));
	    attr_list_reset(al);
	    /* skip to the next empty line */
	    while (cp < end && (nl = memchr(cp, '\n', end - cp)) != 0 && nl != cp)
		cp = nl + 1;
	    if (cp < end && *cp == '\n')
		cp++;
	    continue;
	}
	if (st == 1) {
	    DSN_ENTRY *e;

	    if (al->count == 0)
		continue;
	    if (count == cap) {
		cap = cap ? cap * 2 : 8;
		list = xrealloc(list, cap * sizeof(*list));
	    }
	    e = list + count++;
	    e->recipient = dup_attr(al, "recipient");
	    e->orig_rcpt = dup_attr(al, "orig_rcpt");
	    e->offset = attr_list_get_long(al, "offset", 0, 0);
	    e->notify = (int) attr_list_get_long(al, "notify", 0, 0);
	    e->orcpt = dup_attr(al, "orcpt");
	    e->status = dup_attr(al, "status");
	    e->action = dup_attr(al, "action");
	    e->reason = dup_attr(al, "reason");
	    e->relay = dup_attr(al, "relay");
	    e->dtype = dup_attr(al, "dtype");
	    e->dtext = dup_attr(al, "dtext");
	    e->mtype = dup_attr(al, "mtype");
	    e->mname = dup_attr(al, "mname");
	    e->time = (time_t) attr_list_get_long(al, "time", 0, 0);
	    attr_list_reset(al);
	}
    }
    vstr_free(path);
    vstr_free(data);
    attr_list_free(al);
    *entries = list;
    return (count);
}

void    dsn_log_free(DSN_ENTRY *list, long count)
{
    for (long i = 0; i < count; i++) {
	DSN_ENTRY *e = list + i;

	free(e->recipient);
	free(e->orig_rcpt);
	free(e->orcpt);
	free(e->status);
	free(e->action);
	free(e->reason);
	free(e->relay);
	free(e->dtype);
	free(e->dtext);
	free(e->mtype);
	free(e->mname);
    }
    free(list);
}

int     dsn_log_remove(const char *queue, const char *id)
{
    int     ret = mail_queue_remove(queue, id);

    return (ret < 0 && errno == ENOENT ? 0 : ret);
}

int     dsn_log_bit(const char *queue)
{
    if (strcmp(queue, MAIL_QUEUE_DEFER) == 0)
	return (DSN_LOG_DEFER);
    if (strcmp(queue, MAIL_QUEUE_BOUNCE) == 0)
	return (DSN_LOG_BOUNCE);
    if (strcmp(queue, MAIL_QUEUE_TRACE) == 0)
	return (DSN_LOG_TRACE);
    return (DSN_LOG_ALL);
}
