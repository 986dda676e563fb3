/* maildir - Maildir delivery; see maildir.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "mail_copy.h"
#include "maildir.h"
#include "safe_file.h"
#include "stringops.h"

const char *mbox_dsn(int err, const char *def)
{
    return err == EAGAIN ? "4.2.0" : err == ENOSPC ? "4.3.1" :
	err == EDQUOT ? "4.2.2" : err == EFBIG ? "5.2.2" : def;
}

static void host_part(VSTR *out)
{
    static char host[256];
    const char *cp;

    if (host[0] == 0) {
	if (gethostname(host, sizeof(host)) < 0)
	    safe_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = 0;
    }
    for (cp = host; *cp; cp++) {
	if (*cp == '/')
	    vstr_cat(out, "\\057");
	else if (*cp == ':')
	    vstr_cat(out, "\\072");
	else
	    vstr_addch(out, *cp);
    }
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
	return 0;
    return -1;
}

int     maildir_deliver(const char *dir, const char *data, size_t len,
			        long size_limit, VSTR *new_name, VSTR *why, char *dsn)
{
    VSTR   *tmp = vstr_alloc(200);
    VSTR   *newp = vstr_alloc(200);
    VSTR   *sub = vstr_alloc(200);
    static unsigned long count;
    struct timeval tv;
    struct stat st;
    int     fd = -1;
    int     err;
    int     ret = -1;
    const char *subs[] = {"tmp", "new", "cur"};
    size_t  i;
    size_t  dlen = strlen(dir);

    while (dlen > 1 && dir[dlen - 1] == '/')
	dlen--;
    if (size_limit > 0 && len > (size_t) size_limit) {
	errno = EFBIG;
	safe_strlcpy(dsn, "5.2.2", 8);
	vstr_fmt(why, "create maildir file: %s", strerror(EFBIG));
	goto done;
    }
    /* Create the Maildir when missing (mkdir -p for the top). */
    vstr_ncpy(sub, dir, dlen);
    vstr_cat(sub, "/new");
    if (access(vstr_str(sub), F_OK) == 0) {
	vstr_ncpy(sub, dir, dlen);
	vstr_cat(sub, "/tmp");
	if (access(vstr_str(sub), F_OK) == 0)
	    goto exists;			/* the common case: 2 syscalls */
    }
    vstr_ncpy(sub, dir, dlen);
    if (mkdir_p(vstr_str(sub), 0700) < 0) {
	err = errno;
	safe_strlcpy(dsn, mbox_dsn(err, "5.2.0"), 8);
	vstr_fmt(why, "create maildir %s: %s", vstr_str(sub), strerror(err));
	errno = err;
	goto done;
    }
    for (i = 0; i < 3; i++) {
	vstr_reset(sub);
	vstr_append(sub, dir, dlen);
	vstr_fmt_append(sub, "/%s", subs[i]);
	if (make_dir(vstr_str(sub)) < 0) {
	    err = errno;
	    safe_strlcpy(dsn, mbox_dsn(err, "5.2.0"), 8);
	    vstr_fmt(why, "create maildir %s: %s", vstr_str(sub), strerror(err));
	    errno = err;
	    goto done;
	}
    }
exists:
    /* Unique temporary name first, then the final name from its inode. */
    gettimeofday(&tv, 0);
    vstr_reset(tmp);
    vstr_append(tmp, dir, dlen);
    vstr_fmt_append(tmp, "/tmp/%ld.P%ldQ%lu.", (long) tv.tv_sec, (long) getpid(), ++count);
    host_part(tmp);
    if ((fd = open(vstr_str(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
	err = errno;
	safe_strlcpy(dsn, mbox_dsn(err, "5.2.0"), 8);
	vstr_fmt(why, "create maildir file %s: %s", vstr_str(tmp), strerror(err));
	errno = err;
	goto done;
    }
    if (mail_copy_write(fd, data, len) < 0 || fsync(fd) < 0 || fstat(fd, &st) < 0) {
	err = errno;
	safe_strlcpy(dsn, mbox_dsn(err, "4.3.0"), 8);
	vstr_fmt(why, "create maildir file %s: %s", vstr_str(tmp), strerror(err));
	close(fd);
	unlink(vstr_str(tmp));
	errno = err;
	goto done;
    }
    if (close(fd) < 0) {
	err = errno;
	safe_strlcpy(dsn, mbox_dsn(err, "4.3.0"), 8);
	vstr_fmt(why, "create maildir file %s: %s", vstr_str(tmp), strerror(err));
	unlink(vstr_str(tmp));
	errno = err;
	goto done;
    }
    vstr_reset(newp);
    vstr_append(newp, dir, dlen);
    vstr_fmt_append(newp, "/new/%ld.V%lxI%lxM%ld.", (long) tv.tv_sec,
		    (unsigned long) st.st_dev, (unsigned long) st.st_ino, (long) tv.tv_usec);
    host_part(newp);
    if (link(vstr_str(tmp), vstr_str(newp)) < 0 && rename(vstr_str(tmp), vstr_str(newp)) < 0) {
	err = errno;
	safe_strlcpy(dsn, mbox_dsn(err, "4.2.0"), 8);
	vstr_fmt(why, "link to %s: %s", vstr_str(newp), strerror(err));
	unlink(vstr_str(tmp));
	errno = err;
	goto done;
    }
    unlink(vstr_str(tmp));
    vstr_reset(sub);
    vstr_append(sub, dir, dlen);
    vstr_cat(sub, "/new");
    if (fsync_dir(vstr_str(sub)) < 0) {
	err = errno;
	safe_strlcpy(dsn, "4.3.0", 8);
	vstr_fmt(why, "fsync %s: %s", vstr_str(sub), strerror(err));
	unlink(vstr_str(newp));
	errno = err;
	goto done;
    }
    if (new_name)
	vstr_cpy(new_name, vstr_str(newp));
    ret = 0;

done:
    vstr_free(tmp);
    vstr_free(newp);
    vstr_free(sub);
    return ret;
}
