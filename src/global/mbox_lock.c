/* mbox_lock - mailbox open + locking; see mbox_lock.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "mbox_lock.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"

int     mbox_lock_attempts = 20;
int     mbox_lock_delay = 1;
int     mbox_stale_lock_time = 500;

int     mbox_lock_mask(const char *list)
{
    char   *copy = xstrdup(list);
    char   *bp = copy;
    char   *name;
    int     mask = 0;

    while ((name = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	if (strcmp(name, "flock") == 0)
	    mask |= MBOX_FLOCK_LOCK;
	else if (strcmp(name, "fcntl") == 0)
	    mask |= MBOX_FCNTL_LOCK;
	else if (strcmp(name, "dotlock") == 0)
	    mask |= MBOX_DOT_LOCK;
	else
	    msg_fatal("bad locking method \"%s\" in \"%s\"", name, list);
    }
    free(copy);
    return mask;
}

const char *mbox_lock_names(void)
{
    return "flock\nfcntl\ndotlock\n";
}

static void set_why(VSTR *why, char *dsn, const char *code, const char *text, int err)
{
    if (dsn)
	safe_strlcpy(dsn, code, 8);
    if (err)
	vstr_fmt(why, "%s: %s", text, strerror(err));
    else
	vstr_cpy(why, text);
}

/*
 * Lock waits: Postfix tries deliver_lock_attempts times, sleeping
 * deliver_lock_delay in between. We wait for the same total time, but poll
 * every millisecond (after 0.25 and 0.5ms), so a mailbox that another
 * delivery holds for a millisecond costs a millisecond, not a second.
 */
static long lock_budget_ms(void)
{
    long    n = mbox_lock_attempts > 1 ? mbox_lock_attempts - 1 : 0;

    return n * (long) mbox_lock_delay * 1000L;
}

static long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void lock_pause(long *step)
{
    struct timespec ts = {0, *step * 250000L};	/* 0.25ms, 0.5ms, then 1ms */

    nanosleep(&ts, 0);
    if (*step < 4)
	*step *= 2;
}

/* Dot-lock: create PATH.lock exclusively; remove stale locks. */
static int dot_lock(const char *lock_file, VSTR *why)
{
    int     fd;
    struct stat st;
    long    deadline = mono_ms() + lock_budget_ms();
    long    step = 1;

    for (;;) {
	if ((fd = open(lock_file, O_WRONLY | O_CREAT | O_EXCL, 0)) >= 0) {
	    close(fd);
	    return 0;
	}
	if (errno != EEXIST) {
	    vstr_fmt(why, "unable to create lock file %s: %s", lock_file, strerror(errno));
	    return -1;
	}
	if (stat(lock_file, &st) == 0 && time((time_t *) 0) > st.st_ctime + mbox_stale_lock_time)
	    if (unlink(lock_file) == 0)
		continue;
	if (mono_ms() >= deadline)
	    break;
	lock_pause(&step);
    }
    errno = EAGAIN;
    vstr_fmt(why, "unable to create lock file %s: %s", lock_file, "file exists");
    return -1;
}

static int kernel_lock(int fd, int style)
{
    long    deadline = mono_ms() + lock_budget_ms();
    long    step = 1;

    for (;;) {
	int     rc;

	if (style == MBOX_FCNTL_LOCK) {
	    struct flock fl;

	    memset(&fl, 0, sizeof(fl));
	    fl.l_type = F_WRLCK;
	    fl.l_whence = SEEK_SET;
	    rc = fcntl(fd, F_SETLK, &fl);
	} else {
	    rc = flock(fd, LOCK_EX | LOCK_NB);
	}
	if (rc == 0)
	    return 0;
	if (errno != EAGAIN && errno != EACCES && errno != EWOULDBLOCK)
	    return -1;
	if (mono_ms() >= deadline)
	    break;
	lock_pause(&step);
    }
    errno = EAGAIN;
    return -1;
}

MBOX   *mbox_open(const char *path, mode_t mode, uid_t uid, gid_t gid,
		          int lock_mask, const char *def_dsn, VSTR *why, char *dsn)
{
    MBOX   *mp;
    int     fd = -1;
    char   *lock_file = 0;
    struct stat st;
    VSTR   *tmp = vstr_alloc(100);

    /* Dot-lock first (it may be needed to create the file safely). */
    if (lock_mask & MBOX_DOT_LOCK) {
	VSTR   *lf = vstr_alloc(100);

	vstr_fmt(lf, "%s.lock", path);
	lock_file = vstr_export(lf);
	if (dot_lock(lock_file, tmp) < 0) {
	    if (errno == EAGAIN || !(lock_mask & MBOX_DOT_LOCK_MAY_FAIL)) {
		if (dsn)
		    safe_strlcpy(dsn, errno == EAGAIN ? "4.2.0" : def_dsn, 8);
		vstr_cpy(why, vstr_str(tmp));
		free(lock_file);
		vstr_free(tmp);
		return 0;
	    }
	    msg_warn("%s", vstr_str(tmp));
	    free(lock_file);
	    lock_file = 0;
	}
    }
    for (;;) {
	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
	    break;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd >= 0) {
	    if (uid != (uid_t) -1 && fchown(fd, uid, gid) < 0)
		msg_warn("cannot change ownership of %s: %s", path, strerror(errno));
	    break;
	}
	if (errno != EEXIST) {
	    set_why(why, dsn, def_dsn, "cannot create file exclusively", errno);
	    goto fail;
	}
    }
    if (fd < 0) {
	if (errno == ELOOP)
	    set_why(why, dsn, def_dsn, "file is a symbolic link", 0);
	else
	    set_why(why, dsn, def_dsn, "cannot open file", errno);
	goto fail;
    }
    if (fstat(fd, &st) < 0) {
	set_why(why, dsn, def_dsn, "cannot fstat file", errno);
	goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
	set_why(why, dsn, def_dsn, "file is not a regular file", 0);
	goto fail;
    }
    if (st.st_nlink > 1) {
	if (dsn)
	    safe_strlcpy(dsn, def_dsn, 8);
	vstr_fmt(why, "file has %lu hard links", (unsigned long) st.st_nlink);
	goto fail;
    }
    if (lock_mask & (MBOX_FCNTL_LOCK | MBOX_FLOCK_LOCK)) {
	int     style;

	for (style = MBOX_FLOCK_LOCK; style <= MBOX_FCNTL_LOCK; style <<= 1) {
	    if (!(lock_mask & style))
		continue;
	    if (kernel_lock(fd, style) < 0) {
		set_why(why, dsn, errno == EAGAIN ? "4.2.0" : def_dsn,
			"unable to lock for exclusive access", errno);
		goto fail;
	    }
	}
    }
    mp = xcalloc(1, sizeof(*mp));
    mp->fd = fd;
    mp->path = xstrdup(path);
    mp->lock_file = lock_file;
    mp->locked = lock_mask & (MBOX_FCNTL_LOCK | MBOX_FLOCK_LOCK);
    mp->st = st;
    vstr_free(tmp);
    return mp;

fail:
    if (fd >= 0)
	close(fd);
    if (lock_file) {
	unlink(lock_file);
	free(lock_file);
    }
    vstr_free(tmp);
    return 0;
}

void    mbox_release(MBOX *mp)
{
    /* Closing the descriptor drops fcntl/flock locks. */
    close(mp->fd);
    if (mp->lock_file) {
	if (unlink(mp->lock_file) < 0 && errno != ENOENT)
	    msg_warn("remove lock file %s: %s", mp->lock_file, strerror(errno));
	free(mp->lock_file);
    }
    free(mp->path);
    free(mp);
}
