/*
 * maildir - Maildir delivery; see maildir.h.
 *
 * Per message: an unnamed file in tmp/ (O_TMPFILE, so no directory entry
 * is made and removed, and a crash leaves nothing behind in tmp/), write,
 * fsync, fstat for the inode, link it into new/ under its final name;
 * then one fsync of new/ for all the messages of the call. Where
 * O_TMPFILE or /proc/self/fd is not available, the file is created as
 * tmp/NAME, linked and removed, as the Maildir specification describes.
 * new/ is opened once per call and used through its descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "mail_copy.h"
#include "maildir.h"
#include "mem.h"
#include "safe_file.h"
#include "stringops.h"

#define MD_CHUNK 32			/* files written before their fsyncs */

static int maildir_tmpfile_ok = 1;	/* O_TMPFILE + /proc link usable */

/* Postfix's mapping: try again, file system full, mailbox full, else def. */
const char *mbox_dsn(int err, const char *def)
{
    return err == EAGAIN || err == ESTALE ? "4.2.0" : err == ENOSPC ? "4.3.0" :
	err == EDQUOT || err == EFBIG ? "5.2.2" : def;
}

void    maildir_use_tmpfile(int on)
{
    maildir_tmpfile_ok = on;
}

static void host_part(VSTR *out)
{
    static char host[256];
    static char quoted[1024];
    const char *cp;
    size_t  n = 0;

    if (quoted[0] == 0) {
	if (gethostname(host, sizeof(host)) < 0)
	    safe_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = 0;
	for (cp = host; *cp && n + 5 < sizeof(quoted); cp++) {
	    if (*cp == '/' || *cp == ':') {
		memcpy(quoted + n, *cp == '/' ? "\\057" : "\\072", 4);
		n += 4;
	    } else {
		quoted[n++] = *cp;
	    }
	}
	quoted[n] = 0;
    }
    vstr_cat(out, quoted);
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
	return 0;
    return -1;
}

/* One delivery's failure: dsn, why, errno; always -1. */
static int fail(MAILDIR_MSG *m, int err, const char *def_dsn, const char *fmt, const char *what)
{
    safe_strlcpy(m->dsn, def_dsn ? mbox_dsn(err, def_dsn) : "4.3.0", sizeof(m->dsn));
    vstr_fmt(m->why, fmt, what, strerror(err));
    m->status = -1;
    m->err = err;
    return -1;
}

/*
 * Create DIR (mkdir -p) and DIR/{tmp,new,cur}; 0 or -1 with m's why
 * ("create maildir file WHAT: reason", as Postfix words a failed create).
 */
static int maildir_create(const char *dir, size_t dlen, MAILDIR_MSG *m, const char *what)
{
    static const char *subs[] = {"tmp", "new", "cur"};
    VSTR   *sub = vstr_alloc(200);
    size_t  i;
    int     ret = 0;

    vstr_ncpy(sub, dir, dlen);
    if (mkdir_p(vstr_str(sub), 0700) < 0) {
	ret = fail(m, errno, "5.2.0", "create maildir file %s: %s", what);
    } else {
	for (i = 0; i < 3; i++) {
	    vstr_ncpy(sub, dir, dlen);
	    vstr_fmt_append(sub, "/%s", subs[i]);
	    if (make_dir(vstr_str(sub)) < 0) {
		ret = fail(m, errno, "5.2.0", "create maildir file %s: %s", what);
		break;
	    }
	}
    }
    vstr_free(sub);
    return ret;
}

/*
 * Postfix's tmp/ name, SECONDS.PPID.HOST (for the named fallback and for
 * messages). One process has at most one such file at a time: each is
 * linked and removed before the next is made.
 */
static void tmp_name(VSTR *out, const char *dir, size_t dlen, const struct timeval *tv,
		             unsigned long count)
{
    static long pid;

    (void) count;
    if (pid == 0)
	pid = (long) getpid();
    vstr_ncpy(out, dir, dlen);
    vstr_fmt_append(out, "/tmp/%ld.P%ld.", (long) tv->tv_sec, pid);
    host_part(out);
}

/*
 * First half of one message: create its file (unnamed in tmp/ where the
 * system allows) and write it. Returns the descriptor, or -1 with m's
 * failure set. With *named set, the file is tmp/NAME (in tmp) and must be
 * finished (md_finish) before the next one is made: the tmp/ names of one
 * second and process are alike. An unnamed file's writeback is started at
 * once, so that the files of one call go to disk together and the fsyncs
 * that follow find the block and inode bitmaps they share already written.
 */
static int md_write(const char *dir, size_t dlen, MAILDIR_MSG *m, long size_limit,
		            VSTR *tmp, VSTR *newp, int *dir_made, struct timeval *tv,
		            int *named)
{
    static unsigned long count;
    int     fd = -1;
    int     err;

    *named = !maildir_tmpfile_ok;
    m->status = -1;
    m->err = 0;
    if (size_limit > 0 && m->len > (size_t) size_limit) {
	errno = EFBIG;
	return fail(m, EFBIG, "5.3.0", "error writing message%s: %s", "");
    }
    gettimeofday(tv, 0);
    ++count;
    if (!*named) {
	vstr_ncpy(tmp, dir, dlen);
	vstr_cat(tmp, "/tmp");
	fd = open(vstr_str(tmp), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && !*dir_made) {
	    tmp_name(newp, dir, dlen, tv, count);
	    if (maildir_create(dir, dlen, m, vstr_str(newp)) < 0)
		return -1;
	    *dir_made = 1;
	    fd = open(vstr_str(tmp), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	}
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
	    *named = 1;				/* no O_TMPFILE on this file system */
	else if (fd < 0) {
	    err = errno;
	    tmp_name(tmp, dir, dlen, tv, count);
	    return fail(m, err, "5.2.0", "create maildir file %s: %s", vstr_str(tmp));
	}
    }
    tmp_name(tmp, dir, dlen, tv, count);
    if (*named) {
	fd = open(vstr_str(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && !*dir_made) {
	    if (maildir_create(dir, dlen, m, vstr_str(tmp)) < 0)
		return -1;
	    *dir_made = 1;
	    fd = open(vstr_str(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
	    return fail(m, errno, "5.2.0", "create maildir file %s: %s", vstr_str(tmp));
    }
    if (mail_copy_write(fd, m->data, m->len) < 0) {
	err = errno;
	close(fd);
	if (*named)
	    unlink(vstr_str(tmp));
	return fail(m, err, "5.3.0", "error writing message%s: %s", "");
    }
    if (!*named)
	(void) sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);	/* a hint */
    return fd;
}

static int maildir_one(const char *dir, size_t dlen, int newfd, MAILDIR_MSG *m,
		               long size_limit, VSTR *tmp, VSTR *newp, int *dir_made);

/*
 * Second half: fsync the file written by md_write, link it into new/
 * (newfd) and close it; no fsync of new/. 0, or -1 with m's failure set.
 */
static int md_finish(const char *dir, size_t dlen, int newfd, MAILDIR_MSG *m, int fd,
		             int named, const struct timeval *tv, long size_limit,
		             VSTR *tmp, VSTR *newp, int *dir_made)
{
    struct stat st;
    char    proc[64];
    int     err;
    const char *base;

    if (fsync(fd) < 0 || fstat(fd, &st) < 0) {
	err = errno;
	close(fd);
	if (named)
	    unlink(vstr_str(tmp));
	return fail(m, err, "5.3.0", "error writing message%s: %s", "");
    }
    vstr_ncpy(newp, dir, dlen);
    vstr_fmt_append(newp, "/new/%ld.V%lxI%lxM%ld.", (long) tv->tv_sec,
		    (unsigned long) st.st_dev, (unsigned long) st.st_ino, (long) tv->tv_usec);
    host_part(newp);
    base = vstr_str(newp) + dlen + 5;
    if (named) {
	if (close(fd) < 0) {
	    err = errno;
	    unlink(vstr_str(tmp));
	    return fail(m, err, "5.3.0", "error writing message%s: %s", "");
	}
	fd = -1;
	if (linkat(AT_FDCWD, vstr_str(tmp), newfd, base, 0) < 0
	    && renameat(AT_FDCWD, vstr_str(tmp), newfd, base) < 0) {
	    err = errno;
	    unlink(vstr_str(tmp));
	    return fail(m, err, "4.2.0", "create maildir file %s: %s", vstr_str(newp));
	}
	unlink(vstr_str(tmp));
    } else {
	(void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, newfd, base, AT_SYMLINK_FOLLOW) < 0) {
	    err = errno;
	    /* Without /proc: as root, by descriptor; else named from now on. */
	    if (err == ENOENT && access("/proc/self/fd", X_OK) < 0) {
		if (linkat(fd, "", newfd, base, AT_EMPTY_PATH) == 0)
		    goto linked;
		maildir_tmpfile_ok = 0;
		close(fd);
		return maildir_one(dir, dlen, newfd, m, size_limit, tmp, newp, dir_made);
	    }
	    close(fd);
	    return fail(m, err, "4.2.0", "create maildir file %s: %s", vstr_str(newp));
	}
linked:
	if (close(fd) < 0) {
	    err = errno;
	    (void) unlinkat(newfd, base, 0);
	    return fail(m, err, "5.3.0", "error writing message%s: %s", "");
	}
    }
    m->status = 0;
    return 0;
}

/*
 * Write, fsync and link one message into new/ (newfd); no fsync of new/.
 * *dir_made is set once the Maildir was created by us.
 */
static int maildir_one(const char *dir, size_t dlen, int newfd, MAILDIR_MSG *m,
		               long size_limit, VSTR *tmp, VSTR *newp, int *dir_made)
{
    struct timeval tv;
    int     named;
    int     fd;

    if ((fd = md_write(dir, dlen, m, size_limit, tmp, newp, dir_made, &tv, &named)) < 0)
	return -1;
    return md_finish(dir, dlen, newfd, m, fd, named, &tv, size_limit, tmp, newp, dir_made);
}

static int open_new(const char *dir, size_t dlen, VSTR *buf)
{
    vstr_ncpy(buf, dir, dlen);
    vstr_cat(buf, "/new");
    return open(vstr_str(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Copy the first message's failure to the others. */
static void fail_all_like(MAILDIR_MSG *msgs, size_t n)
{
    size_t  i;

    for (i = 1; i < n; i++) {
	msgs[i].status = -1;
	msgs[i].err = msgs[0].err;
	safe_strlcpy(msgs[i].dsn, msgs[0].dsn, sizeof(msgs[i].dsn));
	vstr_cpy(msgs[i].why, vstr_str(msgs[0].why));
    }
}

size_t  maildir_deliver_many(const char *dir, MAILDIR_MSG *msgs, size_t n, long size_limit)
{
    VSTR   *tmp = vstr_alloc(200);
    VSTR   *newp = vstr_alloc(200);
    VSTR  **names;
    size_t  dlen = strlen(dir);
    size_t  i, k;
    size_t  done = 0;
    int     newfd;
    int     dir_made = 0;
    int     err;

    while (dlen > 1 && dir[dlen - 1] == '/')
	dlen--;
    names = n ? xcalloc(n, sizeof(*names)) : 0;
    for (i = 0; i < n; i++) {
	msgs[i].status = -1;
	msgs[i].err = 0;
	safe_strlcpy(msgs[i].dsn, "4.3.0", sizeof(msgs[i].dsn));
	vstr_reset(msgs[i].why);
	names[i] = vstr_alloc(200);
    }
    if (n == 0)
	goto out;
    if ((newfd = open_new(dir, dlen, newp)) < 0 && errno == ENOENT) {
	struct timeval tv;

	/* Postfix names the tmp/ file it could not create. */
	gettimeofday(&tv, 0);
	tmp_name(tmp, dir, dlen, &tv, 0);
	if (maildir_create(dir, dlen, msgs, vstr_str(tmp)) < 0) {
	    fail_all_like(msgs, n);
	    goto out;
	}
	dir_made = 1;
	newfd = open_new(dir, dlen, newp);
    }
    if (newfd < 0) {
	(void) fail(msgs, errno, "5.2.0", "create maildir file %s: %s", vstr_str(newp));
	fail_all_like(msgs, n);
	goto out;
    }
    /*
     * Write up to MD_CHUNK files, then fsync and link each: one write-out
     * of the metadata blocks the files share instead of one per file.
     */
    for (i = 0; i < n; i += k) {
	int     fds[MD_CHUNK];
	struct timeval tvs[MD_CHUNK];
	size_t  j;
	int     named;

	for (k = 0; k < MD_CHUNK && i + k < n; k++) {
	    fds[k] = md_write(dir, dlen, msgs + i + k, size_limit, tmp, names[i + k],
			      &dir_made, tvs + k, &named);
	    if (fds[k] >= 0 && named) {		/* one tmp/NAME at a time */
		if (md_finish(dir, dlen, newfd, msgs + i + k, fds[k], named, tvs + k,
			      size_limit, tmp, names[i + k], &dir_made) == 0)
		    done++;
		fds[k] = -1;
	    }
	}
	for (j = 0; j < k; j++)
	    if (fds[j] >= 0 && md_finish(dir, dlen, newfd, msgs + i + j, fds[j], 0, tvs + j,
					 size_limit, tmp, names[i + j], &dir_made) == 0)
		done++;
    }
    /* One fsync of new/ makes every link above durable. */
    if (done > 0 && fsync(newfd) < 0) {
	err = errno;
	vstr_ncpy(tmp, dir, dlen);
	vstr_cat(tmp, "/new");
	for (i = 0; i < n; i++) {
	    if (msgs[i].status != 0)
		continue;
	    /* The name is in new/ but not durable: take it back. */
	    (void) unlink(vstr_str(names[i]));
	    (void) fail(msgs + i, err, "4.3.0", "error writing message%s: %s", "");
	}
	done = 0;
    }
    close(newfd);
    for (i = 0; i < n; i++)
	if (msgs[i].status == 0 && msgs[i].new_name)
	    vstr_cpy(msgs[i].new_name, vstr_str(names[i]));
out:
    for (i = 0; i < n; i++)
	vstr_free(names[i]);
    free(names);
    vstr_free(tmp);
    vstr_free(newp);
    return done;
}

int     maildir_deliver(const char *dir, const char *data, size_t len,
			        long size_limit, VSTR *new_name, VSTR *why, char *dsn)
{
    MAILDIR_MSG m;
    VSTR   *name = vstr_alloc(200);

    memset(&m, 0, sizeof(m));
    m.data = data;
    m.len = len;
    m.new_name = name;
    m.why = why;
    (void) maildir_deliver_many(dir, &m, 1, size_limit);
    if (m.status == 0 && new_name)
	vstr_cpy(new_name, vstr_str(name));
    if (m.status != 0) {
	safe_strlcpy(dsn, m.dsn, 8);
	errno = m.err;
    }
    vstr_free(name);
    return m.status;
}
