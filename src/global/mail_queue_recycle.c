/*
 * mail_queue_recycle - reuse the inodes of finished queue files; see
 * mail_queue.h and docs/queue-format.md ("Inode recycling").
 *
 * recycle/ (mode 0700, mail_owner) holds two kinds of names, neither of
 * which can be a queue ID (they contain a '.'):
 *	r.N		a finished file waiting to be reused; N < the limit
 *			(postern_queue_recycle_limit), so the directory never
 *			holds more than that many of them
 *	c.PID.SEQ	a file claimed by process PID, being written
 * A producer (qmgr, through mail_queue_remove) renames a finished file to
 * a free slot r.N with RENAME_NOREPLACE, the free slots taken from a scan
 * of the directory; when a fresh scan finds none it unlinks the file as
 * before (the pool is full). A consumer
 * (cleanup) reads the directory, renames an r.N to its private c.PID.SEQ
 * (rename is atomic: of two racing processes one gets ENOENT and tries the
 * next name) and then writes it; cleanup renames it to incoming/ID only
 * when it is complete. A crash leaves only c.* (and r.*) names here, never
 * a partial file in a queue: `postfix start` empties the directory, and
 * `postsuper -p` and `postfix reload` remove c.* names older than an hour.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "msg.h"
#include "vstr.h"

#define RECYCLE_RESCAN_US 20000		/* min. gap between empty scans */
#define RECYCLE_FULL_US	5000		/* min. gap between full scans */

static long *recycle_free;		/* producer: slots free at last scan */
static size_t recycle_free_count;
static size_t recycle_free_next;
static struct timeval recycle_full;	/* last scan that found none free */
static int recycle_broken;		/* no RENAME_NOREPLACE here */
static int recycle_dir_made;

static ARGV *recycle_names;		/* consumer: r.N names last seen */
static size_t recycle_next;
static struct timeval recycle_scanned;	/* last scan that found nothing */
static unsigned long recycle_seq;

int     mail_queue_recycle_enabled(void)
{
    return (!recycle_broken && mail_conf_bool("postern_queue_recycle")
	    && mail_conf_int("postern_queue_recycle_limit") > 0);
}

static long recycle_elapsed_us(const struct timeval *since)
{
    struct timeval now;

    (void) gettimeofday(&now, 0);
    return ((long) (now.tv_sec - since->tv_sec) * 1000000L
	    + (long) (now.tv_usec - since->tv_usec));
}

/*
 * Producer: the slots r.0 .. r.(limit-1) that are free now, starting at a
 * process-dependent place. Consumers only empty slots, so a slot seen free
 * stays free unless another producer fills it (then rename says EEXIST).
 */
static void recycle_scan_free(long limit)
{
    unsigned char *used = calloc((size_t) limit, 1);
    DIR    *dp;
    struct dirent *de;
    size_t  start = (size_t) getpid() % (size_t) limit;

    if (used == 0)
	msg_fatal("out of memory");
    if ((dp = opendir(MAIL_QUEUE_RECYCLE)) != 0) {
	while ((de = readdir(dp)) != 0) {
	    char   *end;
	    unsigned long n;

	    if (de->d_name[0] != 'r' || de->d_name[1] != '.' || de->d_name[2] == 0)
		continue;
	    n = strtoul(de->d_name + 2, &end, 10);
	    if (*end == 0 && n < (unsigned long) limit)
		used[n] = 1;
	}
	(void) closedir(dp);
    }
    recycle_free = realloc(recycle_free, sizeof(*recycle_free) * (size_t) limit);
    if (recycle_free == 0)
	msg_fatal("out of memory");
    recycle_free_count = recycle_free_next = 0;
    for (long i = 0; i < limit; i++) {
	long    slot = (long) ((start + (size_t) i) % (size_t) limit);

	if (!used[slot])
	    recycle_free[recycle_free_count++] = slot;
    }
    free(used);
    if (recycle_free_count == 0)
	(void) gettimeofday(&recycle_full, 0);
}

int     mail_queue_recycle_path(const char *path)
{
    VSTR   *slot;
    long    limit = mail_conf_int("postern_queue_recycle_limit");
    int     ret = -1;
    int     saved = ENOSPC;
    int     scanned = 0;

    if (!mail_queue_recycle_enabled()) {
	errno = EPERM;
	return (-1);
    }
    if (!recycle_dir_made) {
	if (mkdir(MAIL_QUEUE_RECYCLE, 0700) < 0 && errno != EEXIST) {
	    saved = errno;
	    msg_warn("create directory %s: %m", MAIL_QUEUE_RECYCLE);
	    errno = saved;
	    return (-1);
	}
	recycle_dir_made = 1;
	recycle_free_count = recycle_free_next = 0;
    }
    slot = vstr_alloc(32);
    for (;;) {
	if (recycle_free_next >= recycle_free_count) {
	    /* Full a moment ago, or just now: unlink instead (the bound). */
	    if (scanned || (recycle_free_count == 0 && recycle_full.tv_sec
			    && recycle_elapsed_us(&recycle_full) >= 0
			    && recycle_elapsed_us(&recycle_full) < RECYCLE_FULL_US)) {
		saved = ENOSPC;
		break;
	    }
	    recycle_scan_free(limit);
	    scanned = 1;
	    continue;
	}
	if (recycle_free[recycle_free_next] >= limit) {	/* limit lowered */
	    recycle_free_next++;
	    continue;
	}
	(void) vstr_fmt(slot, MAIL_QUEUE_RECYCLE "/r.%ld", recycle_free[recycle_free_next++]);
	if (renameat2(AT_FDCWD, path, AT_FDCWD, vstr_str(slot), RENAME_NOREPLACE) == 0) {
	    ret = 0;
	    break;
	}
	saved = errno;
	if (errno == EEXIST)
	    continue;			/* another producer filled it */
	if (errno == EINVAL || errno == ENOSYS) {
	    /* This file system cannot refuse to replace: never recycle. */
	    msg_warn("rename %s: %m; queue file recycling disabled", path);
	    recycle_broken = 1;
	} else if (errno == ENOENT && access(path, F_OK) == 0)
	    recycle_dir_made = 0;		/* recycle/ was removed */
	break;
    }
    vstr_free(slot);
    if (ret < 0)
	errno = saved;
    return (ret);
}

/* Read recycle/ for r.N names, starting at a process-dependent place. */
static void recycle_scan(void)
{
    DIR    *dp;
    struct dirent *de;
    ARGV   *found = argv_alloc(16);
    size_t  start;

    if (recycle_names)
	argv_free(recycle_names);
    recycle_names = argv_alloc(16);
    recycle_next = 0;
    if ((dp = opendir(MAIL_QUEUE_RECYCLE)) != 0) {
	while ((de = readdir(dp)) != 0)
	    if (de->d_name[0] == 'r' && de->d_name[1] == '.')
		argv_add(found, de->d_name);
	(void) closedir(dp);
    }
    /* Rotate by pid, so that concurrent processes rarely race. */
    start = found->argc ? (size_t) getpid() % found->argc : 0;
    for (size_t i = 0; i < found->argc; i++)
	argv_add(recycle_names, found->argv[(start + i) % found->argc]);
    argv_free(found);
    if (recycle_names->argc == 0)
	(void) gettimeofday(&recycle_scanned, 0);
}

int     mail_queue_claim(VSTR *claim_path, struct stat *st)
{
    VSTR   *from;
    int     fd = -1;
    int     stat_ok;
    int     scanned = 0;

    if (!mail_queue_recycle_enabled())
	return (-1);
    from = vstr_alloc(32);
    for (;;) {
	if (recycle_next >= (recycle_names ? recycle_names->argc : 0)) {
	    long    elapsed = recycle_elapsed_us(&recycle_scanned);

	    /*
	     * Names used up (or taken by other processes): read the
	     * directory again, once per call, and not again soon after it
	     * was found empty.
	     */
	    if (scanned || (recycle_names && recycle_names->argc == 0
			    && elapsed >= 0 && elapsed < RECYCLE_RESCAN_US))
		break;
	    recycle_scan();
	    scanned = 1;
	    continue;
	}
	(void) vstr_fmt(from, MAIL_QUEUE_RECYCLE "/%s", recycle_names->argv[recycle_next++]);
	(void) vstr_fmt(claim_path, MAIL_QUEUE_RECYCLE "/c.%ld.%lu",
			(long) getpid(), recycle_seq++);
	if (rename(vstr_str(from), vstr_str(claim_path)) < 0)
	    continue;				/* taken by another process */
	fd = open(vstr_str(claim_path), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	stat_ok = (fd >= 0 && fstat(fd, st) == 0);

	/*
	 * Not ours to reuse (this process runs with another uid): put it
	 * back and leave the pool alone.
	 */
	if ((fd < 0 && errno == EACCES)
	    || (stat_ok && st->st_uid != geteuid())) {
	    if (fd >= 0)
		(void) close(fd);
	    fd = -1;
	    if (mail_queue_recycle_path(vstr_str(claim_path)) < 0)
		(void) unlink(vstr_str(claim_path));
	    break;
	}

	/*
	 * Only a plain file with no other name: a crash on a file system
	 * without a journal may leave a recycled file linked in a queue too
	 * (fsck counts both names); such a file is never reused. The
	 * exclusive flock, held until the fd is closed, keeps out a writer
	 * that opened the file under its old queue name (postsuper -e/-f:
	 * see set_expire); if that writer holds it, the file is not reused.
	 * Dropped files leave the pool.
	 */
	if (fd >= 0 && (!stat_ok || !S_ISREG(st->st_mode) || st->st_nlink != 1
			|| flock(fd, LOCK_EX | LOCK_NB) < 0)) {
	    (void) close(fd);
	    fd = -1;
	}
	if (fd >= 0)
	    break;
	(void) unlink(vstr_str(claim_path));
    }
    vstr_free(from);
    return (fd);
}

/* Is this a recycle/ name, and is it a claim (c.*)? */
static int recycle_name(const char *name, int *claim)
{
    if ((name[0] == 'r' || name[0] == 'c') && name[1] == '.' && name[2]) {
	*claim = (name[0] == 'c');
	return (1);
    }
    return (0);
}

long    mail_queue_recycle_purge(const char *dir, long min_age)
{
    int     dfd;
    DIR    *dp;
    struct dirent *de;
    long    count = 0;
    time_t  now = time(0);

    /* O_NOFOLLOW: a root caller never follows a symlink planted here. */
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
	return (errno == ENOENT ? 0 : -1);
    if ((dp = fdopendir(dfd)) == 0) {
	(void) close(dfd);
	return (-1);
    }
    while ((de = readdir(dp)) != 0) {
	struct stat st;
	int     claim;

	if (!recycle_name(de->d_name, &claim))
	    continue;
	if (min_age >= 0) {
	    /* postsuper -p: only claims left by a process long gone. */
	    if (!claim || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
		|| now - st.st_mtime <= min_age)
		continue;
	}
	if (unlinkat(dfd, de->d_name, 0) == 0)
	    count++;
	else if (errno != ENOENT)
	    msg_warn("remove %s/%s: %m", dir, de->d_name);
    }
    (void) closedir(dp);
    return (count);
}
