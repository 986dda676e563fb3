/*
 * unit_support - helpers shared by the cmocka unit tests (include after
 * <cmocka.h>). Each test file keeps its scratch directory in `dir`.
 */
#ifndef POSTERN_UNIT_SUPPORT_H
#define POSTERN_UNIT_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>

#include "msg.h"
#include "vstr.h"

static char dir[128];

/* Write text to dir/name (a main.cf, a table source, ...). */
static inline void write_file(const char *name, const char *text)
{
    char    path[256];
    FILE   *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* cmocka group teardown: remove the scratch directory. */
static inline int unit_teardown_dir(void **state)
{
    char    cmd[300];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
	msg_warn("cannot remove %s", dir);
    return (0);
}

/* The whole content of a file (fails the test when it cannot be opened). */
static inline char *read_whole_file(const char *path)
{
    FILE   *fp = fopen(path, "r");
    VSTR   *vp = vstr_alloc(4096);
    char    buf[4096];
    size_t  n;

    if (fp == 0)
	fail_msg("open %s", path);
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
	vstr_append(vp, buf, n);
    fclose(fp);
    return (vstr_export(vp));
}

#endif
