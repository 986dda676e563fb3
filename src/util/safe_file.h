/*
 * safe_file - durable, atomic file replacement and small file helpers.
 *
 * safe_file_replace() writes data to "path.tmp.PID", fsyncs it, renames
 * it over path, and fsyncs the directory: readers see the old or the new
 * file, never a half-written one, and the result survives a crash.
 */
#ifndef POSTERN_SAFE_FILE_H
#define POSTERN_SAFE_FILE_H
#include <stddef.h>
#include <sys/types.h>

#include "vstr.h"

extern int safe_file_replace(const char *path, const void *data, size_t len, mode_t mode);
extern int fsync_dir_of(const char *path);	/* fsync the directory holding path */
extern int fsync_dir(const char *dir);

/*
 * 1 when, on the file system of device dev, fsync(2) of a file also makes
 * durable the directory entry that last named it (rename, link), so that
 * a separate fsync of the directory adds nothing; 0 otherwise or when
 * unknown. True of ext4: with a journal, the rename updated the file's
 * inode (ctime) in the transaction fsync commits; without one, ext4 writes
 * the directories of a new entry when the file is fsynced. The file
 * system type comes from /proc/self/mountinfo (cached per device).
 */
extern int fsync_covers_name(dev_t dev);
extern const char *fsync_mountinfo_path;	/* "/proc/self/mountinfo" (tests) */

/*
 * Make durable the directory entry of path, whose file (open as fd) was
 * fsynced after it got that name: nothing where fsync_covers_name() says
 * the fsync did it, else fsync_dir_of(path). 0, or -1 with errno.
 */
extern int fsync_name_of(int fd, const char *path);
/* Read a whole file (at most limit bytes) into buf; -1 with errno on error. */
extern int read_file_bounded(const char *path, VSTR *buf, size_t limit);
/* mkdir -p with mode; 0 or -1 with errno. */
extern int mkdir_p(const char *path, mode_t mode);

#endif
