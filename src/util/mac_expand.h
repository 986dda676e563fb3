/*
 * mac_expand - expand $name, ${name}, $(name), ${name?value}, ${name:value},
 * ${name?{value}}, ${name:{value}}, $$, and the relational form
 * ${{text} op {text} ? {iftrue} : {iffalse}} with op one of == != < <= >= >
 * (numeric for the ordering operators) and <level <=level >=level >level
 * (compatibility-level comparison, major.minor.patch).
 *
 * The lookup callback returns the raw value of a name, or NULL when the
 * name is undefined. Looked-up values are expanded recursively. A name in
 * the result of ${name?value} is "defined" when its value is non-empty.
 *
 * Returns a bit mask: MAC_UNDEF (an undefined name was referenced; its
 * value expanded to the empty string) and MAC_ERROR (syntax error or
 * runaway recursion; *why describes the first error).
 */
#ifndef POSTERN_MAC_EXPAND_H
#define POSTERN_MAC_EXPAND_H

#include "vstr.h"

#define MAC_UNDEF	(1<<0)
#define MAC_ERROR	(1<<1)

typedef const char *(*MAC_LOOKUP_FN) (const char *name, void *context);

extern int mac_expand(VSTR *result, const char *pattern, MAC_LOOKUP_FN lookup,
		              void *context, const char **why);
/* Compare two compatibility levels ("3.6" vs "1"): <0, 0, >0. */
extern int mac_compat_level_cmp(const char *, const char *);

#endif
