/*
 * dict_build - helpers for building a table file atomically.
 *
 * A table built by postmap/postalias is written to "FILE.tmp.PID",
 * made durable (fsync), then renamed over FILE and the directory synced:
 * readers see the old or the new table, never a half-built one. Temporary
 * files are removed when the program dies with msg_fatal().
 */
#ifndef POSTERN_DICT_BUILD_H
#define POSTERN_DICT_BUILD_H
#include <sys/types.h>

/* Permissions for new table files (postmap: the source file's; -p: 0644). */
extern void dict_build_set_mode(mode_t mode);
/* "path.tmp.PID"; caller frees. */
extern char *dict_build_temp_name(const char *path);
/* Remove this temporary file if we die (msg_fatal). */
extern void dict_build_remember(const char *tmp);
extern void dict_build_forget(const char *tmp);
/* fchmod, fsync, rename tmp -> path, fsync directory; fatal on error. */
extern void dict_build_finish(int fd, const char *tmp, const char *path);

#endif
