/* mail_queue - queue names, IDs and paths; see mail_queue.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <stdlib.h>

#include "argv.h"
#include "mem.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "msg.h"
#include "safe_file.h"
#include "stringops.h"
#include "vstr.h"

const char *const mail_queue_names[] = {
    MAIL_QUEUE_MAILDROP, MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE,
    MAIL_QUEUE_DEFERRED, MAIL_QUEUE_HOLD, MAIL_QUEUE_CORRUPT,
    MAIL_QUEUE_DEFER, MAIL_QUEUE_BOUNCE, MAIL_QUEUE_TRACE,
    MAIL_QUEUE_FLUSH, MAIL_QUEUE_SAVED, 0,
};

int     mail_queue_id_ok(const char *id)
{
    size_t  len = strlen(id);

    if (len == 0 || len >= MAIL_QUEUE_ID_MAX)
	return (0);
    for (const char *cp = id; *cp; cp++)
	if (!isalnum((unsigned char) *cp))
	    return (0);
    return (1);
}

int     mail_queue_hashed(const char *queue)
{
    char   *names = xstrdup(mail_conf_str("hash_queue_names"));
    char   *bp = names, *name;
    int     found = 0;

    while ((name = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
	if (strcmp(name, queue) == 0) {
	    found = 1;
	    break;
	}
    free(names);
    return (found);
}

const char *mail_queue_dir(VSTR *buf, const char *queue, const char *id)
{
    (void) vstr_cpy(buf, queue);
    if (mail_queue_hashed(queue)) {
	long    depth = mail_conf_int("hash_queue_depth");
	size_t  idlen = strlen(id);
	/* Long IDs hash on the time-derived characters, like short ones. */
	for (long i = 0; i < depth && (size_t) i < idlen; i++)
	    (void) vstr_fmt_append(buf, "/%c", id[i]);
    }
    return (vstr_str(buf));
}

const char *mail_queue_path(VSTR *buf, const char *queue, const char *id)
{
    (void) mail_queue_dir(buf, queue, id);
    (void) vstr_fmt_append(buf, "/%s", id);
    return (vstr_str(buf));
}

/* Postfix's long-ID alphabet: digits and consonants; 'z' only in base 52. */
static void b52_append(VSTR *out, unsigned long value, int width, int base)
{
    static const char digits[] =
    "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjkmnpqrstvwxyz";
    char    tmp[32];
    int     n = 0;

    do {
	tmp[n++] = digits[value % (unsigned long) base];
	value /= (unsigned long) base;
    } while (value && n < (int) sizeof(tmp));
    while (n < width && n < (int) sizeof(tmp))
	tmp[n++] = '0';
    while (n > 0)
	(void) vstr_addch(out, tmp[--n]);
}

void    mail_queue_make_id(VSTR *id, ino_t ino, const struct timeval *tv)
{
    vstr_reset(id);
    if (mail_conf_bool("enable_long_queue_ids")) {
	/* 6 chars of seconds, 4 of microseconds, 'z', inode in base 51. */
	b52_append(id, (unsigned long) tv->tv_sec, 6, 52);
	b52_append(id, (unsigned long) tv->tv_usec, 4, 52);
	(void) vstr_addch(id, 'z');
	b52_append(id, (unsigned long) ino, 1, 51);
    } else {
	(void) vstr_fmt(id, "%05lX%lX", (unsigned long) tv->tv_usec, (unsigned long) ino);
    }
}

static int mkdir_for(const char *path)
{
    char   *copy = xstrdup(path);
    char   *slash = strrchr(copy, '/');
    int     ret = 0;

    if (slash) {
	*slash = 0;
	ret = mkdir_p(copy, 0700);
    }
    free(copy);
    return (ret);
}

int     mail_queue_create(const char *queue, mode_t mode, VSTR *id_out, VSTR *path_out)
{
    VSTR   *tmp = vstr_alloc(64);
    struct timeval tv;
    struct stat st;
    int     fd;
    int     count;

    for (count = 0; count < 100; count++) {
	(void) gettimeofday(&tv, 0);
	(void) vstr_fmt(tmp, "%s/%ld.%ld.%d", queue, (long) getpid(),
			(long) tv.tv_usec, count);
	if ((fd = open(vstr_str(tmp), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0) {
	    if (errno == EEXIST)
		continue;
	    vstr_free(tmp);
	    return (-1);
	}
	if (fstat(fd, &st) < 0)
	    msg_fatal("fstat %s: %m", vstr_str(tmp));
	for (;;) {
	    (void) gettimeofday(&tv, 0);
	    mail_queue_make_id(id_out, st.st_ino, &tv);
	    (void) mail_queue_path(path_out, queue, vstr_str(id_out));
	    if (access(vstr_str(path_out), F_OK) == 0)
		continue;			/* same inode+usec: try again */
	    if (rename(vstr_str(tmp), vstr_str(path_out)) == 0)
		break;
	    if (errno == ENOENT && mkdir_for(vstr_str(path_out)) == 0)
		continue;
	    {
		int     saved = errno;

		(void) close(fd);
		(void) unlink(vstr_str(tmp));
		vstr_free(tmp);
		errno = saved;
		return (-1);
	    }
	}
	vstr_free(tmp);
	return (fd);
    }
    vstr_free(tmp);
    errno = EEXIST;
    return (-1);
}

int     mail_queue_rename(const char *id, const char *from, const char *to)
{
    VSTR   *old = vstr_alloc(64), *new = vstr_alloc(64);
    int     ret;

    (void) mail_queue_path(old, from, id);
    (void) mail_queue_path(new, to, id);
    if ((ret = rename(vstr_str(old), vstr_str(new))) < 0 && errno == ENOENT
	&& access(vstr_str(old), F_OK) == 0 && mkdir_for(vstr_str(new)) == 0)
	ret = rename(vstr_str(old), vstr_str(new));
    vstr_free(old);
    vstr_free(new);
    return (ret);
}

int     mail_queue_unlink(const char *queue, const char *id)
{
    VSTR   *path = vstr_alloc(64);
    int     ret;

    ret = unlink(mail_queue_path(path, queue, id));
    vstr_free(path);
    return (ret);
}

int     mail_queue_remove(const char *queue, const char *id)
{
    VSTR   *path = vstr_alloc(64);
    int     ret;

    (void) mail_queue_path(path, queue, id);
    if (strcmp(queue, MAIL_QUEUE_ACTIVE) == 0 && mail_queue_recycle_enabled()
	&& mail_queue_recycle_path(vstr_str(path)) == 0) {
	vstr_free(path);
	return (0);
    }
    ret = unlink(vstr_str(path));
    vstr_free(path);
    return (ret);
}

void    mail_queue_chdir(void)
{
    const char *dir = mail_conf_str("queue_directory");

    if (chdir(dir) < 0)
	msg_fatal("chdir %s: %m", dir);
}
