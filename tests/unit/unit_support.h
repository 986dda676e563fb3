/*
 * unit_support - helpers shared by the cmocka unit tests (include after
 * <cmocka.h>). Each test file keeps its scratch directory in `dir`.
 */
#ifndef POSTERN_UNIT_SUPPORT_H
#define POSTERN_UNIT_SUPPORT_H

#include <stdio.h>

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

#endif
