/*
 * maps - a list of tables from a main.cf parameter ("$alias_maps",
 * "hash:/etc/aliases, lmdb:/etc/postfix/more"), searched in order.
 *
 * maps_find() returns the value from the first table that has the key.
 * When a table fails (dict->error != 0), the search stops and maps->error
 * is set: the caller must treat the lookup as failed (defer, 4XX), never as
 * "not found". With flags DICT_FLAG_FIXED, only fixed-string tables are
 * searched (partial keys such as "user" or "@domain" are never given to
 * regexp:, pcre:, cidr: tables). An empty key is never found.
 *
 * A table that cannot be opened logs "error: REASON" here (as Postfix's
 * daemons do) and makes a surrogate (see dict.h): every lookup through it
 * fails with DICT_ERR_CONFIG and logs "TYPE:NAME is unavailable. REASON".
 * maps->error_dict is the table that failed the last maps_find.
 * Tables are shared in a process, as in Postfix: the same "type:name" with
 * the same flags in several maps is opened (and its open error logged)
 * once; maps_free() closes it with its last user.
 * maps_open_error() tells commands, which should exit instead.
 */
#ifndef POSTERN_MAPS_H
#define POSTERN_MAPS_H

#include "dict.h"

typedef struct MAPS {
    char   *title;			/* parameter name, for messages */
    DICT  **dicts;
    size_t  count;
    int     error;			/* DICT_ERR_* of the last maps_find */
    DICT   *error_dict;			/* the table that failed it, or NULL */
} MAPS;

extern MAPS *maps_create(const char *title, const char *map_names, int dict_flags);
extern const char *maps_find(MAPS *, const char *key, int flags);
extern void maps_free(MAPS *);
/* The reason the first unopenable table failed, or NULL. */
extern const char *maps_open_error(MAPS *);

#endif
