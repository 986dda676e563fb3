/* dict_build - atomic table file builds; see dict_build.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argv.h"
#include "dict_build.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "vstr.h"

static mode_t build_mode = 0644;
static ARGV *build_temps;
static int build_cleanup_set;

void    dict_build_set_mode(mode_t mode)
{
    build_mode = mode & 07777;
}

char   *dict_build_temp_name(const char *path)
{
    VSTR   *buf = vstr_alloc(strlen(path) + 24);

    (void) vstr_fmt(buf, "%s.tmp.%ld", path, (long) getpid());
    return (vstr_export(buf));
}

static void build_cleanup(void)
{
    if (build_temps)
	for (size_t i = 0; i < build_temps->argc; i++)
	    (void) unlink(build_temps->argv[i]);
}

void    dict_build_remember(const char *tmp)
{
    if (build_temps == 0)
	build_temps = argv_alloc(2);
    argv_add(build_temps, tmp);
    if (!build_cleanup_set) {
	build_cleanup_set = 1;
	msg_cleanup_set(build_cleanup);
    }
}

void    dict_build_forget(const char *tmp)
{
    if (tmp == 0 || build_temps == 0)
	return;
    for (size_t i = 0; i < build_temps->argc; i++)
	if (strcmp(build_temps->argv[i], tmp) == 0) {
	    argv_delete(build_temps, i, 1);
	    return;
	}
}

void    dict_build_finish(int fd, const char *tmp, const char *path)
{
    int     my_fd = -1;

    if (fd < 0 && (fd = my_fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0)
	msg_fatal("open %s: %m", tmp);
    if (fchmod(fd, build_mode) < 0)
	msg_warn("fchmod %s: %s", tmp, strerror(errno));
    if (fsync(fd) < 0)
	msg_fatal("fsync %s: %s", tmp, strerror(errno));
    if (my_fd >= 0)
	(void) close(my_fd);
    if (rename(tmp, path) < 0)
	msg_fatal("rename %s to %s: %s", tmp, path, strerror(errno));
    dict_build_forget(tmp);
    if (fsync_dir_of(path) < 0)
	msg_warn("fsync directory of %s: %s", path, strerror(errno));
}
