/*
 * dict_utf8 - UTF-8 support for tables (smtputf8_enable = yes).
 *
 * With DICT_FLAG_UTF8 (dict_open3 adds it when smtputf8_enable = yes, unless
 * DICT_FLAG_NO_UTF8), keys must be valid UTF-8 (an invalid lookup key is
 * "not found", with Postfix's warning; an invalid source line is skipped)
 * and fixed tables fold keys with Unicode lower-casing instead of ASCII's.
 * Folding uses the C library's towlower() in the C.UTF-8 locale (simple
 * case mapping; Postfix uses ICU's full case folding, which differs for a
 * few characters such as U+00DF sharp s).
 */
#ifndef POSTERN_DICT_UTF8_H
#define POSTERN_DICT_UTF8_H

#include "vstr.h"

/* Strict UTF-8 (no overlongs, surrogates, or code points past U+10FFFF). */
extern int dict_utf8_valid(const char *);
/* Lower-case buf: Unicode rules if utf8, else ASCII. */
extern void dict_utf8_fold(VSTR *buf, int utf8);
/* Is smtputf8_enable on (main.cf)? Cached after the first call. */
extern int dict_utf8_conf_enabled(void);

#endif
