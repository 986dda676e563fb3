/* safe_file - durable, atomic file replacement; see safe_file.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "safe_file.h"
#include "vstr.h"

int     fsync_dir(const char *dir)
{
    int     fd;
    int     ret;

    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
	return (-1);
    ret = fsync(fd);
    (void) close(fd);
    return (ret);
}

const char *fsync_mountinfo_path = "/proc/self/mountinfo";

/* The file system type of device dev from /proc/self/mountinfo, or "". */
static void fs_type_of(dev_t dev, char *type, size_t size)
{
    char    line[4096];
    unsigned maj, mnr;
    const char *sep;
    FILE   *fp;
    int     whole = 1;

    type[0] = 0;
    if ((fp = fopen(fsync_mountinfo_path, "re")) == 0)
	return;
    while (fgets(line, sizeof(line), fp)) {
	int     this_whole = whole;

	/* A line longer than the buffer: skip its continuation. */
	whole = strchr(line, '\n') != 0;
	if (!this_whole)
	    continue;
	if (sscanf(line, "%*d %*d %u:%u", &maj, &mnr) != 2
	    || maj != major(dev) || mnr != minor(dev)
	    || (sep = strstr(line, " - ")) == 0)
	    continue;
	sep += 3;
	size_t  n = strcspn(sep, " \n");

	/* The type ends with a blank; cut at the buffer's end, it is unknown. */
	if (sep[n] == ' ' && n < size) {
	    memcpy(type, sep, n);
	    type[n] = 0;
	}
	break;
    }
    (void) fclose(fp);
}

int     fsync_covers_name(dev_t dev)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static dev_t last_dev;
    static int last = -1;
    char    type[64];
    int     ret;

    pthread_mutex_lock(&lock);
    if (last < 0 || last_dev != dev) {
	fs_type_of(dev, type, sizeof(type));
	last = strcmp(type, "ext4") == 0;
	last_dev = dev;
    }
    ret = last;
    pthread_mutex_unlock(&lock);
    return (ret);
}

int     fsync_name_of(int fd, const char *path)
{
    struct stat st;

    if (fstat(fd, &st) == 0 && fsync_covers_name(st.st_dev))
	return (0);
    return (fsync_dir_of(path));
}

int     fsync_dir_of(const char *path)
{
    VSTR   *dir = vstr_alloc(strlen(path) + 2);
    const char *slash = strrchr(path, '/');
    int     ret;

    if (slash == 0)
	(void) vstr_cpy(dir, ".");
    else if (slash == path)
	(void) vstr_cpy(dir, "/");
    else
	(void) vstr_ncpy(dir, path, (size_t) (slash - path));
    ret = fsync_dir(vstr_str(dir));
    vstr_free(dir);
    return (ret);
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *cp = data;

    while (len > 0) {
	ssize_t n = write(fd, cp, len);

	if (n < 0) {
	    if (errno == EINTR)
		continue;
	    return (-1);
	}
	cp += n;
	len -= (size_t) n;
    }
    return (0);
}

int     safe_file_replace(const char *path, const void *data, size_t len, mode_t mode)
{
    VSTR   *tmp = vstr_alloc(strlen(path) + 32);
    int     fd;
    int     saved;

    (void) vstr_fmt(tmp, "%s.tmp.%ld", path, (long) getpid());
    if ((fd = open(vstr_str(tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
	goto fail;
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
	saved = errno;
	(void) close(fd);
	(void) unlink(vstr_str(tmp));
	errno = saved;
	goto fail;
    }
    if (close(fd) < 0 || rename(vstr_str(tmp), path) < 0) {
	saved = errno;
	(void) unlink(vstr_str(tmp));
	errno = saved;
	goto fail;
    }
    vstr_free(tmp);
    return (fsync_dir_of(path));

fail:
    saved = errno;
    vstr_free(tmp);
    errno = saved;
    return (-1);
}

int     read_file_bounded(const char *path, VSTR *buf, size_t limit)
{
    int     fd;
    char    chunk[8192];
    ssize_t n;

    vstr_reset(buf);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
	return (-1);
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
	if (n < 0) {
	    if (errno == EINTR)
		continue;
	    goto bad;
	}
	if (vstr_len(buf) + (size_t) n > limit || vstr_append(buf, chunk, (size_t) n) < 0) {
	    errno = EFBIG;
	    goto bad;
	}
    }
    (void) close(fd);
    return (0);
bad:
    {
	int     saved = errno;

	(void) close(fd);
	errno = saved;
    }
    return (-1);
}

int     mkdir_p(const char *path, mode_t mode)
{
    char    buf[PATH_MAX];
    char   *cp;

    if (strlen(path) >= sizeof(buf)) {
	errno = ENAMETOOLONG;
	return (-1);
    }
    memcpy(buf, path, strlen(path) + 1);
    for (cp = buf + 1; *cp; cp++) {
	if (*cp == '/') {
	    *cp = 0;
	    if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return (-1);
	    *cp = '/';
	}
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
	return (-1);
    return (0);
}
