/* cleanup - queue file writer library; see cleanup.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "cleanup.h"
#include "htable.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "maillog_client.h"
#include "msg_log.h"
#include "mem.h"
#include "msg.h"
#include "rec_type.h"
#include "record.h"
#include "safe_file.h"
#include "stringops.h"

int     (*cleanup_header_hook) (CLEANUP *, VSTR *, int *);
void    (*cleanup_addr_hook) (CLEANUP *, int, VSTR *);
ARGV   *(*cleanup_rcpt_expand_hook) (CLEANUP *, const char *);
void    (*cleanup_body_hook) (CLEANUP *, int, const char *, size_t);
void    (*cleanup_attr_hook) (CLEANUP *, const char *, const char *);
void    (*cleanup_finish_hook) (CLEANUP *);
void    (*cleanup_free_hook) (CLEANUP *);

#define CL_FLUSH_SIZE	(64 * 1024)
#define CL_SIZE_FMT	REC_TYPE_SIZE_FORMAT

/* Header flags. */
#define HDR_SEEN_MSGID	(1<<0)
#define HDR_SEEN_DATE	(1<<1)
#define HDR_SEEN_FROM	(1<<2)
#define HDR_SEEN_RESENT	(1<<3)

struct CLEANUP {
    int     flags;
    int     fd;
    int     unnamed;			/* O_TMPFILE or claimed, not yet linked */
    int     claimed;			/* a recycled file, at claim path */
    VSTR   *claim;			/* recycle/c.PID.SEQ */
    off_t   claim_size;			/* its size when claimed */
    int     mode_ready;			/* its mode is already 0700 */
    int     status;
    VSTR   *id;
    VSTR   *path;
    VSTR   *buf;			/* pending output */
    off_t   offset;			/* file offset of buf's start */
    off_t   size_offset;		/* offset of the C record's data */
    off_t   data_offset;		/* offset of the M record */
    off_t   xtra_offset;		/* offset of the X record */
    struct timeval arrival;
    char   *sender;			/* completed envelope sender */
    char   *fullname;
    int     envelope_done;		/* W written */
    int     in_content;		/* M written */
    int     in_header;			/* still in the primary headers */
    int     hdr_seen;
    int     hops;			/* Received: headers seen */
    int     hdr_prev_cont;		/* last header fragment was 'L' */
    VSTR   *hdr;			/* current logical header */
    HTABLE *dups;			/* recipient duplicate filter */
    size_t  rcpt_count;
    long    content_length;		/* bytes as delivered (lines + LF) */
    int     smtputf8;			/* SMTPUTF8_FLAG_* (size record) */
    long    size_limit;
    long    hdr_limit;
    int     body_prev_cont;
    ARGV   *xrcpt;			/* extracted To/Cc/Bcc */
    ARGV   *xrcpt_resent;		/* extracted Resent-To/Cc/Bcc */
    ARGV   *drop_headers;
    char   *msgid_logged;
    void   *policy;			/* cleanup_policy.c state */
    char   *reply;			/* policy's end-of-data reply */
    char   *last_rcpt;
    int     hold;
    int     discard;
};

/* No byte with the high bit set (Postfix's SMTPUTF8 flags). */
static int cl_ascii(const char *s, size_t len)
{
    unsigned char acc = 0;

    for (size_t i = 0; i < len; i++)
	acc |= (unsigned char) s[i];
    return ((acc & 0x80) == 0);
}

static void cl_write(CLEANUP *cl, int type, const void *data, size_t len)
{
    if (cl->status & CLEANUP_STAT_WRITE)
	return;
    rec_encode(cl->buf, type, data, len);
    if (vstr_len(cl->buf) >= CL_FLUSH_SIZE) {
	const char *cp = vstr_str(cl->buf);
	size_t  left = vstr_len(cl->buf);

	while (left > 0) {
	    ssize_t n = write(cl->fd, cp, left);

	    if (n < 0) {
		if (errno == EINTR)
		    continue;
		msg_warn("%s: write queue file: %m", vstr_str(cl->id));
		cl->status |= CLEANUP_STAT_WRITE;
		return;
	    }
	    cp += n;
	    left -= (size_t) n;
	}
	cl->offset += (off_t) vstr_len(cl->buf);
	vstr_reset(cl->buf);
    }
}

static void cl_puts(CLEANUP *cl, int type, const char *str)
{
    cl_write(cl, type, str, strlen(str));
}

static off_t cl_tell(CLEANUP *cl)
{
    return (cl->offset + (off_t) vstr_len(cl->buf));
}

static int cl_flush(CLEANUP *cl)
{
    const char *cp = vstr_str(cl->buf);
    size_t  left = vstr_len(cl->buf);

    while (left > 0) {
	ssize_t n = write(cl->fd, cp, left);

	if (n < 0) {
	    if (errno == EINTR)
		continue;
	    return (-1);
	}
	cp += n;
	left -= (size_t) n;
    }
    cl->offset += (off_t) vstr_len(cl->buf);
    vstr_reset(cl->buf);
    return (0);
}

/*
 * The create time ('c' record) of the file a recycled inode last held:
 * its queue ID was made from that time and the same inode number.
 */
static int cl_old_ctime(int fd, struct timeval *tv)
{
    char    head[256];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    VSTR   *rec;
    size_t  pos = 0;
    int     type, found = 0;
    long    sec, usec;

    if (n <= 0)
	return (0);
    rec = vstr_alloc(64);
    for (int i = 0; i < 6 && !found; i++) {
	if ((type = rec_get_mem(head, (size_t) n, &pos, rec, 128)) < 0)
	    break;
	if (type == REC_TYPE_CTIME && sscanf(vstr_str(rec), "%ld %ld", &sec, &usec) == 2
	    && usec >= 0 && usec < 1000000) {
	    tv->tv_sec = (time_t) sec;
	    tv->tv_usec = (suseconds_t) usec;
	    found = 1;
	}
    }
    vstr_free(rec);
    return (found);
}

/*
 * The queue ID of a recycled inode. IDs of files in the queue cannot
 * collide (each holds its own inode), but a short ID is only microseconds
 * + inode: make sure it differs from the ID of the message that used this
 * inode last (its per-message logs are removed right after the rename).
 */
static void cl_recycled_id(CLEANUP *cl, int fd, ino_t ino)
{
    struct timeval old_tv;
    VSTR   *old = 0;

    if (cl_old_ctime(fd, &old_tv)) {
	old = vstr_alloc(32);
	mail_queue_make_id(old, ino, &old_tv);
    }
    for (;;) {
	mail_queue_make_id(cl->id, ino, &cl->arrival);
	if (old == 0 || strcmp(vstr_str(old), vstr_str(cl->id)) != 0)
	    break;
	(void) gettimeofday(&cl->arrival, 0);
    }
    if (old)
	vstr_free(old);
}

/*
 * Create the queue file. A recycled inode when recycle/ has one
 * (mail_queue_claim: renamed to a name private to this process, mode
 * 0600, its blocks zeroed (unwritten) or freed; overwritten from offset 0
 * and truncated to its length in cleanup_finish), else
 * unnamed (O_TMPFILE). Either way it gets its name
 * incoming/ID only in cleanup_finish(), once complete, so that a partial
 * file never appears in the queue at all. The queue ID is Postfix's, from
 * the inode number and the time. Falls back to mail_queue_create() (named
 * at once, mode 0600 until complete) where O_TMPFILE is not supported.
 */
static int cl_create(CLEANUP *cl)
{
    int     fd;
    struct stat st;

    (void) gettimeofday(&cl->arrival, 0);
    if ((fd = mail_queue_claim(cl->claim, &st)) >= 0) {
	cl_recycled_id(cl, fd, st.st_ino);

	/*
	 * Make the old bytes unreadable before writing. Blocks overwritten
	 * in place are not ordered against the rename into incoming/ on a
	 * journaled file system: after a power loss before the fsync the
	 * named file could hold old bytes. FALLOC_FL_ZERO_RANGE over whole
	 * blocks keeps them allocated but unwritten (they read as zeros);
	 * ext4 marks them written only after our data is on disk. Where that
	 * is not supported, truncate to 0 (new blocks are written before the
	 * metadata that points to them, data=ordered, as for a new file).
	 * See docs/queue-format.md.
	 */
	{
	    off_t   blk = st.st_blksize > 0 ? (off_t) st.st_blksize : 4096;
	    off_t   len = (st.st_size + blk - 1) / blk * blk;
	    int     ok = 1;

	    cl->claim_size = st.st_size;
	    cl->mode_ready = ((st.st_mode & 07777) == 0700);
	    if (len > 0
		&& fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, len) < 0) {
		ok = (ftruncate(fd, 0) == 0);
		cl->claim_size = 0;
	    }
	    if (ok) {
		(void) mail_queue_path(cl->path, MAIL_QUEUE_INCOMING, vstr_str(cl->id));
		cl->unnamed = 1;
		cl->claimed = 1;
		return (fd);
	    }
	}
	msg_warn("truncate %s: %m", vstr_str(cl->claim));
	(void) close(fd);
	(void) unlink(vstr_str(cl->claim));
	(void) gettimeofday(&cl->arrival, 0);
    }
    if ((fd = open(MAIL_QUEUE_INCOMING, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) >= 0) {
	if (fstat(fd, &st) < 0)
	    msg_fatal("fstat queue file: %m");
	mail_queue_make_id(cl->id, st.st_ino, &cl->arrival);
	(void) mail_queue_path(cl->path, MAIL_QUEUE_INCOMING, vstr_str(cl->id));
	cl->unnamed = 1;
	return (fd);
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
	return (-1);
    return (mail_queue_create(MAIL_QUEUE_INCOMING, 0600, cl->id, cl->path));
}

/* The hashed directory of cl->path (incoming/ or hold/), made on demand. */
static int cl_mkdir_for(CLEANUP *cl)
{
    const char *path = vstr_str(cl->path);
    VSTR   *dir;
    int     ret;

    if (strchr(path, '/') == strrchr(path, '/')) {
	errno = ENOENT;
	return (-1);				/* not hashed */
    }
    dir = vstr_alloc(64);
    (void) vstr_ncpy(dir, path, (size_t) (strrchr(path, '/') - path));
    ret = mkdir_p(vstr_str(dir), 0700);
    vstr_free(dir);
    return (ret);
}

/* Give a claimed (recycled) queue file its name: never over another. */
static int cl_link_claimed(CLEANUP *cl)
{
    const char *from = vstr_str(cl->claim), *to = vstr_str(cl->path);

    /*
     * Drop the claim's exclusive lock before the file gets its queue name.
     * The lock kept out a writer that opened the file under its old queue
     * name (postsuper -e checks under the lock that the name still refers
     * to this file, and that name is long gone). Held on, it would make
     * qmgr skip the new message as "still being delivered" (qmgr_activate)
     * for as long as this process keeps the file open.
     */
    (void) flock(cl->fd, LOCK_UN);
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0
	&& (errno != ENOENT || access(from, F_OK) < 0 || cl_mkdir_for(cl) < 0
	    || renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0))
	return (-1);
    cl->claimed = 0;
    cl->unnamed = 0;

    return (0);
}

/*
 * Remove a file that has no queue name: a claim goes back to recycle/,
 * after its fd (and with it the flock) is closed.
 */
static void cl_remove_unlinked(CLEANUP *cl)
{
    if (cl->fd >= 0) {
	(void) close(cl->fd);
	cl->fd = -1;
    }
    if (cl->claimed) {
	if (mail_queue_recycle_path(vstr_str(cl->claim)) < 0
	    && unlink(vstr_str(cl->claim)) < 0 && errno != ENOENT)
	    msg_warn("remove %s: %m", vstr_str(cl->claim));
	cl->claimed = 0;
    }
}

/* Give an unnamed queue file its name. */
static int cl_link(CLEANUP *cl)
{
    char    proc[64];

    if (!cl->unnamed)
	return (0);
    if (cl->claimed)
	return (cl_link_claimed(cl));
    if (linkat(cl->fd, "", AT_FDCWD, vstr_str(cl->path), AT_EMPTY_PATH) < 0) {
	(void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", cl->fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, vstr_str(cl->path), AT_SYMLINK_FOLLOW) < 0) {
	    if (errno == ENOENT && cl_mkdir_for(cl) == 0) {
		if (linkat(AT_FDCWD, proc, AT_FDCWD, vstr_str(cl->path), AT_SYMLINK_FOLLOW) == 0) {
		    cl->unnamed = 0;
		    return (0);
		}
	    }
	    return (-1);
	}
    }
    cl->unnamed = 0;
    return (0);
}

CLEANUP *cleanup_open(int flags)
{
    CLEANUP *cl = xcalloc(1, sizeof(*cl));
    char    tbuf[128];
    char   *names, *bp, *name;

    cl->flags = flags;
    cl->id = vstr_alloc(32);
    cl->path = vstr_alloc(64);
    cl->claim = vstr_alloc(32);
    if ((cl->fd = cl_create(cl)) < 0) {
	int     saved = errno;

	vstr_free(cl->id);
	vstr_free(cl->path);
	vstr_free(cl->claim);
	free(cl);
	errno = saved;
	return (0);
    }
    cl->buf = vstr_alloc(CL_FLUSH_SIZE + 1024);
    cl->hdr = vstr_alloc(256);
    cl->dups = htable_create(16);
    cl->xrcpt = argv_alloc(4);
    cl->xrcpt_resent = argv_alloc(1);
    cl->in_header = 1;
    cl->size_limit = mail_conf_int("message_size_limit");
    cl->hdr_limit = mail_conf_int("header_size_limit");
    vstr_set_limit(cl->hdr, (size_t) (cl->hdr_limit > 0 ? cl->hdr_limit : 102400));
    cl->drop_headers = argv_alloc(4);
    names = xstrdup(mail_conf_str("message_drop_headers"));
    bp = names;
    while ((name = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
	argv_add(cl->drop_headers, lowercase(name));
    free(names);

    cl_puts(cl, REC_TYPE_VERSION, REC_QUEUE_VERSION);
    (void) snprintf(tbuf, sizeof(tbuf), CL_SIZE_FMT, 0L, 0L, 0L, 0L, 0L, 0L);
    /* Type byte + one length byte (95 < 128): data starts 2 bytes in. */
    cl->size_offset = cl_tell(cl) + 2;
    cl_puts(cl, REC_TYPE_SIZE, tbuf);
    (void) snprintf(tbuf, sizeof(tbuf), "%ld %ld", (long) cl->arrival.tv_sec,
		    (long) cl->arrival.tv_usec);
    cl_puts(cl, REC_TYPE_TIME, tbuf);
    cl_puts(cl, REC_TYPE_CTIME, tbuf);
    return (cl);
}

const char *cleanup_queue_id(CLEANUP *cl)
{
    return (vstr_str(cl->id));
}

const char *cleanup_path(CLEANUP *cl)
{
    return (vstr_str(cl->path));
}

int     cleanup_fd(CLEANUP *cl)
{
    return (cl->fd);
}

int     cleanup_status(CLEANUP *cl)
{
    return (cl->status);
}

size_t  cleanup_rcpt_count(CLEANUP *cl)
{
    return (cl->rcpt_count);
}

long    cleanup_content_size(CLEANUP *cl)
{
    return (cl->content_length);
}

const struct timeval *cleanup_arrival(CLEANUP *cl)
{
    return (&cl->arrival);
}

/* Envelope address completion: myorigin, append_dot_mydomain. */
void    cleanup_complete_addr(VSTR *addr)
{
    const char *at;

    if (vstr_len(addr) == 0)
	return;
    if ((at = strrchr(vstr_str(addr), '@')) == 0) {
	char   *s = vstr_str(addr);
	char   *cp;

	/* Source routing in an address without domain, as Postfix: */
	if (mail_conf_bool("swap_bangpath") && (cp = strchr(s, '!')) != 0 && cp > s && cp[1]) {
	    /* "host!user" becomes "user@host" */
	    VSTR   *t = vstr_alloc(vstr_len(addr) + 1);

	    (void) vstr_cpy(t, cp + 1);
	    (void) vstr_addch(t, '@');
	    (void) vstr_append(t, s, (size_t) (cp - s));
	    (void) vstr_cpy(addr, vstr_str(t));
	    vstr_free(t);
	    return;
	}
	if (mail_conf_bool("allow_percent_hack") && (cp = strrchr(s, '%')) != 0 && cp > s && cp[1]) {
	    *cp = '@';				/* "user%domain" becomes "user@domain" */
	    return;
	}
	if (mail_conf_bool("append_at_myorigin"))
	    (void) vstr_fmt_append(addr, "@%s", mail_conf_str("myorigin"));
	return;
    }
    if (at[1] != 0 && at[1] != '[' && strchr(at + 1, '.') == 0
	&& mail_conf_bool("append_dot_mydomain"))
	(void) vstr_fmt_append(addr, ".%s", mail_conf_str("mydomain"));
}

void    cleanup_fullname(CLEANUP *cl, const char *name)
{
    free(cl->fullname);
    cl->fullname = xstrdup(name);
    cl_puts(cl, REC_TYPE_FULL, name);
}

void    cleanup_sender(CLEANUP *cl, const char *addr)
{
    VSTR   *v = vstr_alloc(64);

    (void) vstr_cpy(v, addr);
    cleanup_complete_addr(v);
    if (cleanup_addr_hook)
	cleanup_addr_hook(cl, CLEANUP_ADDR_SENDER, v);
    free(cl->sender);
    cl->sender = xstrdup(vstr_str(v));
    if (!cl_ascii(cl->sender, vstr_len(v)))
	cl->smtputf8 |= SMTPUTF8_FLAG_SENDER;
    cl_puts(cl, REC_TYPE_FROM, cl->sender);
    vstr_free(v);
}

void  **cleanup_policy_slot(CLEANUP *cl)
{
    return (&cl->policy);
}

const char *cleanup_sender_addr(CLEANUP *cl)
{
    return (cl->sender);
}

const char *cleanup_last_rcpt(CLEANUP *cl)
{
    return (cl->last_rcpt);
}

int     cleanup_is_local(CLEANUP *cl)
{
    return ((cl->flags & CLEANUP_FLAG_LOCAL) != 0);
}

void    cleanup_set_status(CLEANUP *cl, int status, const char *reply)
{
    cl->status |= status;
    if (reply && cl->reply == 0)
	cl->reply = xstrdup(reply);
}

void    cleanup_hold(CLEANUP *cl)
{
    cl->hold = 1;
}

void    cleanup_discard(CLEANUP *cl)
{
    cl->discard = 1;
}

const char *cleanup_reply(CLEANUP *cl, int status)
{
    if (cl && cl->reply && (status & (CLEANUP_STAT_CONT | CLEANUP_STAT_DEFER)))
	return (cl->reply);
    return (cleanup_strerror(status));
}

void    cleanup_record(CLEANUP *cl, int type, const char *text)
{
    cl_puts(cl, type, text);
}

void    cleanup_attr(CLEANUP *cl, const char *name, const char *value)
{
    VSTR   *v;

    /* As Postfix: SMTPUTF8 is a size record field, not an attribute. */
    if (strcmp(name, MAIL_ATTR_SMTPUTF8) == 0) {
	if (atoi(value) != 0)
	    cl->smtputf8 |= SMTPUTF8_FLAG_REQUESTED;
	return;
    }
    v = vstr_alloc(64);

    (void) vstr_fmt(v, "%s=%s", name, value);
    cl_write(cl, REC_TYPE_ATTR, vstr_str(v), vstr_len(v));
    vstr_free(v);
    if (cleanup_attr_hook)
	cleanup_attr_hook(cl, name, value);
}

static void cl_envelope_end(CLEANUP *cl)
{
    char    tbuf[32];

    if (cl->envelope_done)
	return;
    cl->envelope_done = 1;
    (void) snprintf(tbuf, sizeof(tbuf), "%15ld", 0L);
    cl_puts(cl, REC_TYPE_WARN, tbuf);
}

static void cl_rcpt_write_one(CLEANUP *, const char *, const char *, const char *, int);

/* Write one recipient (or its virtual alias expansion) unless a duplicate. */
static void cl_rcpt_write(CLEANUP *cl, const char *orig, const char *dsn_orcpt, int notify)
{
    VSTR   *v = vstr_alloc(64);
    VSTR   *derived = vstr_alloc(64);
    ARGV   *list;

    (void) vstr_cpy(v, orig);
    cleanup_complete_addr(v);
    /* Postfix's cleanup derives an ORCPT from the completed address when none was given. */
    if (dsn_orcpt == 0 || *dsn_orcpt == 0) {
	(void) vstr_fmt(derived, "rfc822;%s", vstr_str(v));
	dsn_orcpt = vstr_str(derived);
    }
    if (cleanup_addr_hook)
	cleanup_addr_hook(cl, CLEANUP_ADDR_RCPT, v);
    if (cleanup_rcpt_expand_hook && (list = cleanup_rcpt_expand_hook(cl, vstr_str(v))) != 0) {
	for (size_t i = 0; i < list->argc; i++)
	    cl_rcpt_write_one(cl, orig, list->argv[i], dsn_orcpt, notify);
	argv_free(list);
    } else
	cl_rcpt_write_one(cl, orig, vstr_str(v), dsn_orcpt, notify);
    vstr_free(v);
    vstr_free(derived);
}

static void cl_rcpt_write_one(CLEANUP *cl, const char *orig, const char *final,
			              const char *dsn_orcpt, int notify)
{
    VSTR   *v = vstr_alloc(64);
    VSTR   *key = vstr_alloc(64);

    (void) vstr_cpy(v, final);
    /* Duplicate: same final recipient, same original, same DSN request. */
    (void) vstr_fmt(key, "%s%c%s%c%d%c%s", vstr_str(v), 0, orig, 0, notify, 0,
		    dsn_orcpt ? dsn_orcpt : "");
    for (size_t i = 0; i < vstr_len(key); i++)
	if (key->data[i] == 0)
	    key->data[i] = '\n';
    if (htable_find(cl->dups, vstr_str(key)) == 0) {
	htable_enter(cl->dups, vstr_str(key), (void *) 1);
	/* Postfix's order: NOTIFY, ORCPT, original recipient, recipient. */
	if (notify) {
	    char    nbuf[16];

	    (void) snprintf(nbuf, sizeof(nbuf), "%d", notify);
	    cl_puts(cl, REC_TYPE_DSN_NOTIFY, nbuf);
	}
	if (dsn_orcpt && *dsn_orcpt)
	    cl_puts(cl, REC_TYPE_DSN_ORCPT, dsn_orcpt);
	cl_puts(cl, REC_TYPE_ORCP, orig);
	cl_write(cl, REC_TYPE_RCPT, vstr_str(v), vstr_len(v));
	cl->rcpt_count++;
	free(cl->last_rcpt);
	cl->last_rcpt = xstrdup(vstr_str(v));
    }
    vstr_free(v);
    vstr_free(key);
}

void    cleanup_rcpt(CLEANUP *cl, const char *rcpt, const char *dsn_orcpt, int notify)
{
    if (cl->in_content)
	msg_panic("cleanup_rcpt: recipient after content");
    cl_envelope_end(cl);
    cl_rcpt_write(cl, rcpt, dsn_orcpt, notify);
}

/* Header names whose value is an address list. */
static const char *const cl_addr_hdrs[] = {
    "from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-sender",
    "resent-reply-to", "resent-to", "resent-cc", "resent-bcc", "return-receipt-to",
    "errors-to", "disposition-notification-to", 0,
};

/* header_sender or header_recipient (canonical/masquerade classes). */
static int cl_hdr_addr_class(const char *name)
{
    static const char *const senders[] = {"from", "sender", "resent-from", "resent-sender",
	"errors-to", "return-receipt-to", "disposition-notification-to", 0};

    for (int i = 0; senders[i]; i++)
	if (strcmp(name, senders[i]) == 0)
	    return (CLEANUP_ADDR_HDR_FROM);
    return (CLEANUP_ADDR_HDR_RCPT);
}

static int cl_is_addr_hdr(const char *name)
{
    for (int i = 0; cl_addr_hdrs[i]; i++)
	if (strcmp(name, cl_addr_hdrs[i]) == 0)
	    return (1);
    return (0);
}

/* Write a header (may contain "\n" continuation breaks) as N records. */
static void cl_out_header(CLEANUP *cl, const char *text, size_t len)
{
    const char *cp = text, *end = text + len, *nl;

    if ((cl->smtputf8 & SMTPUTF8_FLAG_HEADER) == 0 && !cl_ascii(text, len))
	cl->smtputf8 |= SMTPUTF8_FLAG_HEADER;
    while (cp <= end) {
	nl = memchr(cp, '\n', (size_t) (end - cp));
	if (nl == 0)
	    nl = end;
	cl_write(cl, REC_TYPE_NORM, cp, (size_t) (nl - cp));
	cl->content_length += (long) (nl - cp) + 1;
	cp = nl + 1;
    }
}

void    cleanup_header_write(CLEANUP *cl, const char *text)
{
    cl_out_header(cl, text, strlen(text));
}

/*
 * Postfix's cleanup daemon logs the message-id line; the cleanup library
 * logs it under the same name ("postfix/cleanup[pid]") for log parsers.
 */
static void cl_log_msgid(CLEANUP *cl, const char *value)
{
    static char *cleanup_tag;
    char   *saved;

    if (cl->msgid_logged != 0)
	return;
    cl->msgid_logged = xstrdup(value);
    if (cleanup_tag == 0)
	cleanup_tag = maillog_client_tag("cleanup");
    saved = xstrdup(msg_log_tag() ? msg_log_tag() : "");
    msg_log_set_tag(cleanup_tag);
    msg_info("%s: message-id=%s", vstr_str(cl->id), value);
    msg_log_set_tag(saved);
    free(saved);
}

static void cl_header_done(CLEANUP *cl)
{
    char   *colon;
    char    name[64];
    size_t  nlen;
    const char *value;
    int     status = 0;

    if (vstr_len(cl->hdr) == 0)
	return;
    colon = memchr(vstr_str(cl->hdr), ':', vstr_len(cl->hdr));
    nlen = colon ? (size_t) (colon - vstr_str(cl->hdr)) : 0;
    if (colon == 0 || nlen >= sizeof(name)) {
	cl_out_header(cl, vstr_str(cl->hdr), vstr_len(cl->hdr));
	vstr_reset(cl->hdr);
	return;
    }
    memcpy(name, vstr_str(cl->hdr), nlen);
    name[nlen] = 0;
    lowercase(name);
    value = colon + 1;

    if (cleanup_header_hook && cleanup_header_hook(cl, cl->hdr, &status)) {
	cl->status |= status;
	vstr_reset(cl->hdr);
	return;
    }
    cl->status |= status;
    if (strcmp(name, "message-id") == 0) {
	char   *v = xstrdup(value);

	cl->hdr_seen |= HDR_SEEN_MSGID;
	for (char *cp = v; *cp; cp++)
	    if (*cp == '\n' || *cp == '\t')
		*cp = ' ';
	cl_log_msgid(cl, trim(v));
	free(v);
    } else if (strcmp(name, "date") == 0) {
	cl->hdr_seen |= HDR_SEEN_DATE;
    } else if (strcmp(name, "from") == 0) {
	cl->hdr_seen |= HDR_SEEN_FROM;
    } else if (strncmp(name, "resent-", 7) == 0) {
	cl->hdr_seen |= HDR_SEEN_RESENT;
    } else if (strcmp(name, "received") == 0 || strcmp(name, "delivered-to") == 0) {
	if (++cl->hops > mail_conf_int("hopcount_limit"))
	    cl->status |= CLEANUP_STAT_HOPS;
    }
    if (cl_is_addr_hdr(name)) {
	int     rewrite = (cl->flags & CLEANUP_FLAG_LOCAL) ? 1
	    : *mail_conf_str("remote_header_rewrite_domain") ? 2 : 0;
	ARGV   *list = 0;

	if ((cl->flags & CLEANUP_FLAG_EXTRACT)
	    && (strcmp(name, "to") == 0 || strcmp(name, "cc") == 0 || strcmp(name, "bcc") == 0))
	    list = cl->xrcpt;
	else if ((cl->flags & CLEANUP_FLAG_EXTRACT)
		 && (strcmp(name, "resent-to") == 0 || strcmp(name, "resent-cc") == 0
		     || strcmp(name, "resent-bcc") == 0))
	    list = cl->xrcpt_resent;
	if (rewrite || list) {
	    VSTR   *out = vstr_alloc(vstr_len(cl->hdr) + 64);
	    char   *val = xstrndup(value, vstr_len(cl->hdr) - nlen - 1);

	    cleanup_addr_list_hook(cl, cl_hdr_addr_class(name), val, list, out, rewrite);
	    if (rewrite) {
		vstr_truncate(cl->hdr, nlen + 1);
		(void) vstr_append(cl->hdr, vstr_str(out), vstr_len(out));
	    }
	    free(val);
	    vstr_free(out);
	}
    }
    for (size_t i = 0; i < cl->drop_headers->argc; i++) {
	if (strcmp(name, cl->drop_headers->argv[i]) == 0) {
	    vstr_reset(cl->hdr);
	    return;
	}
    }
    cl_out_header(cl, vstr_str(cl->hdr), vstr_len(cl->hdr));
    vstr_reset(cl->hdr);
}

const char *mail_date(time_t when)
{
    static char buf[128];
    struct tm lt, gmt;
    long    off;
    size_t  n;
    char    zone[32];

    localtime_r(&when, &lt);
    gmtime_r(&when, &gmt);
    off = (long) lt.tm_gmtoff / 60;
    n = strftime(buf, sizeof(buf), "%a, %e %b %Y %H:%M:%S ", &lt);
    if (strftime(zone, sizeof(zone), "%Z", &lt) == 0)
	zone[0] = 0;
    (void) snprintf(buf + n, sizeof(buf) - n, "%c%02ld%02ld (%s)", off < 0 ? '-' : '+',
		    labs(off) / 60, labs(off) % 60, zone);
    return (buf);
}

/* Quote a display name as Postfix does when it has specials. */
static void cl_quote_phrase(VSTR *out, const char *name)
{
    int     special = 0;

    for (const char *cp = name; *cp; cp++)
	if (strchr("()<>@,;:\\\".[]", *cp))
	    special = 1;
    if (!special) {
	(void) vstr_cat(out, name);
	return;
    }
    (void) vstr_addch(out, '"');
    for (const char *cp = name; *cp; cp++) {
	if (*cp == '"' || *cp == '\\')
	    (void) vstr_addch(out, '\\');
	(void) vstr_addch(out, *cp);
    }
    (void) vstr_addch(out, '"');
}

static void cl_headers_end(CLEANUP *cl)
{
    VSTR   *h;
    int     add;
    int     utf8_seen;

    cl_header_done(cl);
    cl->in_header = 0;
    /* Headers added here do not count for SMTPUTF8_FLAG_HEADER (as Postfix). */
    utf8_seen = cl->smtputf8 & SMTPUTF8_FLAG_HEADER;
    add = (cl->flags & CLEANUP_FLAG_LOCAL) || mail_conf_bool("always_add_missing_headers");
    h = vstr_alloc(128);
    if (!(cl->hdr_seen & HDR_SEEN_MSGID)) {
	if (add) {
	    char    stamp[32];
	    struct tm gmt;

	    gmtime_r(&cl->arrival.tv_sec, &gmt);
	    (void) strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &gmt);
	    (void) vstr_fmt(h, "<%s.%s@%s>", stamp, vstr_str(cl->id),
			    mail_conf_str("myhostname"));
	    cl_log_msgid(cl, vstr_str(h));
	    (void) vstr_fmt(h, "Message-Id: <%s.%s@%s>", stamp, vstr_str(cl->id),
			    mail_conf_str("myhostname"));
	    cl_out_header(cl, vstr_str(h), vstr_len(h));
	} else {
	    cl_log_msgid(cl, "<>");
	}
    }
    if (add && !(cl->hdr_seen & HDR_SEEN_DATE)) {
	(void) vstr_fmt(h, "Date: %s", mail_date(cl->arrival.tv_sec));
	cl_out_header(cl, vstr_str(h), vstr_len(h));
    }
    if (add && !(cl->hdr_seen & HDR_SEEN_FROM)) {
	const char *sender = cl->sender ? cl->sender : "";

	(void) vstr_cpy(h, "From: ");
	if (*sender == 0) {
	    (void) vstr_cat(h, "MAILER-DAEMON");
	} else if (cl->fullname && *cl->fullname
		   && strcmp(mail_conf_str("header_from_format"), "obsolete") != 0) {
	    cl_quote_phrase(h, cl->fullname);
	    (void) vstr_fmt_append(h, " <%s>", sender);
	} else if (cl->fullname && *cl->fullname) {
	    (void) vstr_fmt_append(h, "%s (%s)", sender, cl->fullname);
	} else {
	    (void) vstr_cat(h, sender);
	}
	cl_out_header(cl, vstr_str(h), vstr_len(h));
    }
    vstr_free(h);
    cl->smtputf8 = (cl->smtputf8 & ~SMTPUTF8_FLAG_HEADER) | utf8_seen;
}

static int cl_is_header_start(const char *data, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
	unsigned char ch = (unsigned char) data[i];

	if (ch == ':')
	    return (i > 0);
	if (ch <= ' ' || ch > '~')
	    return (0);
    }
    return (0);
}

void    cleanup_content(CLEANUP *cl, int type, const char *data, size_t len)
{
    if (!cl->in_content) {
	cl_envelope_end(cl);
	cl->data_offset = cl_tell(cl);
	cl_puts(cl, REC_TYPE_MESG, "");
	cl->in_content = 1;
    }
    if (cl->status & (CLEANUP_STAT_SIZE | CLEANUP_STAT_WRITE))
	return;
    if (cl->in_header) {
	if (cl->hdr_prev_cont) {
	    /* Continuation of an over-long header line. */
	    (void) vstr_append(cl->hdr, data, len);
	    cl->hdr_prev_cont = (type == REC_TYPE_CONT);
	    return;
	}
	if (len > 0 && (data[0] == ' ' || data[0] == '\t') && vstr_len(cl->hdr) > 0) {
	    (void) vstr_addch(cl->hdr, '\n');
	    (void) vstr_append(cl->hdr, data, len);
	    cl->hdr_prev_cont = (type == REC_TYPE_CONT);
	    return;
	}
	if (cl_is_header_start(data, len)) {
	    cl_header_done(cl);
	    (void) vstr_append(cl->hdr, data, len);
	    cl->hdr_prev_cont = (type == REC_TYPE_CONT);
	    return;
	}
	cl_headers_end(cl);
	/* No empty line between headers and body: supply one, as Postfix does. */
	if (len > 0) {
	    if (cleanup_body_hook)
		cleanup_body_hook(cl, REC_TYPE_NORM, "", 0);
	    else
		cleanup_body_write(cl, REC_TYPE_NORM, "", 0);
	}
    }
    if (cleanup_body_hook)
	cleanup_body_hook(cl, type, data, len);
    else
	cleanup_body_write(cl, type, data, len);
}

void    cleanup_body_write(CLEANUP *cl, int type, const char *data, size_t len)
{
    if (cl->status & (CLEANUP_STAT_SIZE | CLEANUP_STAT_WRITE))
	return;
    cl_write(cl, type, data, len);
    cl->content_length += (long) len + (type == REC_TYPE_NORM);
    if (cl->size_limit > 0 && cl->content_length > cl->size_limit)
	cl->status |= CLEANUP_STAT_SIZE;
}

/* HOLD: the queue file's name in hold/ instead of incoming/. */
static void cl_path_to_hold(CLEANUP *cl)
{
    VSTR   *to = vstr_alloc(64);
    const char *path = vstr_str(cl->path);
    const char *in = strstr(path, MAIL_QUEUE_INCOMING "/");

    if (in) {
	vstr_append(to, path, (size_t) (in - path));
	vstr_cat(to, MAIL_QUEUE_HOLD);
	vstr_cat(to, in + strlen(MAIL_QUEUE_INCOMING));
	vstr_cpy(cl->path, vstr_str(to));
    }
    vstr_free(to);
}

/* HOLD, for a file that already has a name: move it to hold/, durably. */
static int cl_move_to_hold(CLEANUP *cl)
{
    VSTR   *to = vstr_alloc(64);
    const char *path = vstr_str(cl->path);
    const char *in = strstr(path, MAIL_QUEUE_INCOMING "/");
    int     rc = 0;

    if (in == 0) {
	vstr_free(to);
	return (0);
    }
    vstr_append(to, path, (size_t) (in - path));
    vstr_cat(to, MAIL_QUEUE_HOLD);
    vstr_cat(to, in + strlen(MAIL_QUEUE_INCOMING));
    if (rename(path, vstr_str(to)) < 0) {
	msg_warn("%s: move to %s: %m", vstr_str(cl->id), vstr_str(to));
	rc = -1;
    } else if (fsync(cl->fd) < 0 || fsync_name_of(cl->fd, vstr_str(to)) < 0) {
	msg_warn("%s: fsync %s: %m", vstr_str(cl->id), vstr_str(to));
	rc = -1;
    } else
	vstr_cpy(cl->path, vstr_str(to));
    vstr_free(to);
    return (rc);
}

int     cleanup_finish(CLEANUP *cl)
{
    char    tbuf[128];
    size_t  tlen;
    int     in_buf;
    long    content_size;
    ARGV   *x;

    if (!cl->in_content)
	cleanup_content(cl, REC_TYPE_NORM, "", 0), cl->content_length = 0;
    if (cl->in_header)
	cl_headers_end(cl);
    else if (cleanup_body_hook)
	cleanup_body_hook(cl, REC_TYPE_NORM, 0, 0);	/* end of content */
    if (cl->size_limit > 0 && cl->content_length > cl->size_limit)
	cl->status |= CLEANUP_STAT_SIZE;
    cl->xtra_offset = cl_tell(cl);
    cl_puts(cl, REC_TYPE_XTRA, "");
    if (cleanup_finish_hook)
	cleanup_finish_hook(cl);
    x = cl->xrcpt_resent->argc ? cl->xrcpt_resent : cl->xrcpt;
    for (size_t i = 0; i < x->argc; i++)
	cl_rcpt_write(cl, x->argv[i], 0, 0);
    if (cl->rcpt_count == 0)
	cl->status |= CLEANUP_STAT_RCPT;
    if (cl->status != CLEANUP_STAT_OK)
	return (cl->status);
    cl_puts(cl, REC_TYPE_END, "");
    /*
     * Postfix's fields: content records from the one after M up to X; that
     * is also the message size (log size=, mailq), docs/queue-format.md.
     */
    content_size = (long) (cl->xtra_offset - cl->data_offset - REC_MESG_LEN);
    (void) snprintf(tbuf, sizeof(tbuf), CL_SIZE_FMT, content_size,
		    (long) cl->data_offset + REC_MESG_LEN, (long) cl->rcpt_count, 0L,
		    content_size, (long) cl->smtputf8);
    tlen = strlen(tbuf);
    /* Most messages are still in the buffer: fill in C there, no pwrite. */
    if ((in_buf = (cl->size_offset >= cl->offset
		   && cl->size_offset + (off_t) tlen <= cl_tell(cl))) != 0)
	memcpy(vstr_str(cl->buf) + (cl->size_offset - cl->offset), tbuf, tlen);
    if (cl_flush(cl) < 0) {
	msg_warn("%s: write queue file: %m", vstr_str(cl->id));
	return (cl->status |= CLEANUP_STAT_WRITE);
    }
    /* A recycled file: drop the (zeroed) rest past our end. */
    if (cl->claimed && cl->offset < cl->claim_size && ftruncate(cl->fd, cl->offset) < 0) {
	msg_warn("%s: truncate queue file: %m", vstr_str(cl->id));
	return (cl->status |= CLEANUP_STAT_WRITE);
    }
    /* Complete: mode 0700 (a recycled file may have it already). */
    if ((!in_buf && pwrite(cl->fd, tbuf, tlen, cl->size_offset) != (ssize_t) tlen)
	|| (!(cl->claimed && cl->mode_ready) && fchmod(cl->fd, 0700) < 0)) {
	msg_warn("%s: update queue file: %m", vstr_str(cl->id));
	return (cl->status |= CLEANUP_STAT_WRITE);
    }
    if (cl->discard) {
	/* DISCARD: accepted ("250"), and no queue file is left. */
	/* A claimed file goes back to recycle/ in cl_release(). */
	if (!cl->unnamed && unlink(vstr_str(cl->path)) < 0)
	    msg_warn("remove %s: %m", vstr_str(cl->path));
	return (cl->status);
    }
    if (cl->hold && cl->unnamed)
	cl_path_to_hold(cl);		/* link it into hold/ instead */
    else if (cl->hold && cl_move_to_hold(cl) < 0)
	return (cl->status |= CLEANUP_STAT_WRITE);
    if (cl_link(cl) < 0) {
	msg_warn("%s: link queue file %s: %m", vstr_str(cl->id), vstr_str(cl->path));
	return (cl->status |= CLEANUP_STAT_WRITE);
    }
    if (cl->hold && (fsync(cl->fd) < 0 || fsync_name_of(cl->fd, vstr_str(cl->path)) < 0)) {
	msg_warn("%s: fsync %s: %m", vstr_str(cl->id), vstr_str(cl->path));
	return (cl->status |= CLEANUP_STAT_WRITE);
    }
    return (cl->status);
}

int     cleanup_sync(CLEANUP *cl)
{
    if (fsync(cl->fd) < 0 || fsync_name_of(cl->fd, vstr_str(cl->path)) < 0) {
	msg_warn("%s: fsync queue file: %m", vstr_str(cl->id));
	cl->status |= CLEANUP_STAT_WRITE;
	return (-1);
    }
    return (0);
}

static void cl_release(CLEANUP *cl)
{
    if (cleanup_free_hook && cl->policy)
	cleanup_free_hook(cl);
    free(cl->reply);
    free(cl->last_rcpt);
    if (cl->claimed)
	cl_remove_unlinked(cl);			/* unfinished: back to recycle/ */
    if (cl->fd >= 0)
	(void) close(cl->fd);
    vstr_free(cl->id);
    vstr_free(cl->path);
    vstr_free(cl->claim);
    vstr_free(cl->buf);
    vstr_free(cl->hdr);
    htable_free(cl->dups, 0);
    argv_free(cl->xrcpt);
    argv_free(cl->xrcpt_resent);
    argv_free(cl->drop_headers);
    free(cl->sender);
    free(cl->fullname);
    free(cl->msgid_logged);
    free(cl);
}

void    cleanup_abort(CLEANUP *cl)
{
    /* A claimed file goes back to recycle/ in cl_release(). */
    if (!cl->unnamed && unlink(vstr_str(cl->path)) < 0 && errno != ENOENT)
	msg_warn("remove %s: %m", vstr_str(cl->path));
    cl_release(cl);
}

void    cleanup_free(CLEANUP *cl)
{
    cl_release(cl);
}

const char *cleanup_strerror(int status)
{
    if (status & CLEANUP_STAT_BAD)
	return ("451 4.3.0 Error: internal error");
    if (status & CLEANUP_STAT_WRITE)
	return ("451 4.3.0 Error: queue file write error");
    if (status & CLEANUP_STAT_SIZE)
	return ("552 5.3.4 Error: message file too big");
    if (status & CLEANUP_STAT_HOPS)
	return ("554 5.4.0 Error: too many hops");
    if (status & CLEANUP_STAT_CONT)
	return ("550 5.7.1 Error: content rejected");
    if (status & CLEANUP_STAT_RCPT)
	return ("554 5.5.1 Error: no recipients specified");
    return ("250 2.0.0 Ok");
}
