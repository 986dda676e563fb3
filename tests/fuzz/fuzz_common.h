/*
 * fuzz_common.h - helpers shared by the libFuzzer targets (header only).
 *
 * fuzz_instance(main_cf_extra) makes a scratch configuration and queue
 * directory once per process: /tmp/postern-fuzz.PID/{main.cf,queue/...},
 * with MAIL_CONFIG pointing there, every queue subdirectory created, and
 * fuzz_enter()/fuzz_leave() around each input chdir into the queue
 * directory as the daemons are, and back (libFuzzer opens the files named
 * on its command line relative to the original directory).
 * Lines in main_cf_extra (main.cf syntax) are appended to main.cf.
 * fuzz_write_file() writes bytes to a file under the scratch directory.
 */
#ifndef POSTERN_FUZZ_COMMON_H
#define POSTERN_FUZZ_COMMON_H
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail_conf.h"
#include "msg.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[256];
static int fuzz_cwd = -1;

static inline void fuzz_quiet(const char *progname)
{
    msg_init(progname, 0);
    msg_stderr_enable(getenv("FUZZ_VERBOSE") != 0);
}

static inline int fuzz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    (void) remove(path);
    return (0);
}

/* At exit: remove the scratch directory (kept after a crash). */
static inline void fuzz_remove_dir(void)
{
    if (fuzz_dir[0] && getenv("FUZZ_KEEP_QUEUE") == 0)
	(void) nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fuzz_instance(const char *progname, const char *extra)
{
    static const char *const dirs[] = {
	"queue", "queue/incoming", "queue/active", "queue/deferred", "queue/hold",
	"queue/corrupt", "queue/maildrop", "queue/defer", "queue/bounce", "queue/trace",
	"queue/saved", "queue/public", "queue/private", "queue/pid", "data", "mail", 0,
    };
    char    path[512];
    FILE   *fp;

    fuzz_quiet(progname);
    (void) signal(SIGPIPE, SIG_IGN);	/* as every daemon (mail_server.c) */
    snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/postern-fuzz.%ld", (long) getpid());
    (void) mkdir(fuzz_dir, 0755);
    atexit(fuzz_remove_dir);
    for (int i = 0; dirs[i]; i++) {
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, dirs[i]);
	(void) mkdir(path, 0755);
    }
    snprintf(path, sizeof(path), "%s/main.cf", fuzz_dir);
    if ((fp = fopen(path, "w")) == 0)
	abort();
    fprintf(fp, "queue_directory = %s/queue\n"
	    "data_directory = %s/data\n"
	    "myhostname = mx.postern.test\n"
	    "mydomain = postern.test\n"
	    "mynetworks = 127.0.0.0/8\n"
	    "inet_interfaces = 127.0.0.1\n"
	    "hash_queue_depth = 1\n"
	    "alias_maps =\n"
	    "%s\n", fuzz_dir, fuzz_dir, extra ? extra : "");
    fclose(fp);
    setenv("MAIL_CONFIG", fuzz_dir, 1);
    mail_conf_set_dir(fuzz_dir);
    mail_conf_read();
    if ((fuzz_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
	abort();
}

static inline void fuzz_enter(void)
{
    char    path[512];

    snprintf(path, sizeof(path), "%s/queue", fuzz_dir);
    if (chdir(path) < 0)
	abort();
}

static inline void fuzz_leave(void)
{
    if (fchdir(fuzz_cwd) < 0)
	abort();
}

/* Write data to DIR/name (name relative to the scratch directory). */
static inline const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    int     fd;

    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
	abort();
    if (size > 0 && write(fd, data, size) != (ssize_t) size)
	abort();
    close(fd);
    return (path);
}

/* Remove every plain file in DIR/sub (one level, hashed subdirs too). */
static inline void fuzz_empty_dir(const char *sub)
{
    char    path[512];
    DIR    *d;
    struct dirent *e;

    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, sub);
    if ((d = opendir(path)) == 0)
	return;
    while ((e = readdir(d)) != 0) {
	char    p[1024];
	struct stat st;

	if (e->d_name[0] == '.')
	    continue;
	snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
	if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
	    char    s[600];

	    snprintf(s, sizeof(s), "%s/%s", sub, e->d_name);
	    fuzz_empty_dir(s);
	} else {
	    (void) unlink(p);
	}
    }
    closedir(d);
}
#endif
